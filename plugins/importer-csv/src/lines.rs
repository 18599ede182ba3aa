//! Physical line numbers, counted as text editors and spreadsheets count
//! them: `\r\n`, `\n` and a lone `\r` each end one line.

/// Whether `byte` ends a line (alone, or as part of `\r\n`).
pub fn is_line_end(byte: u8) -> bool {
    byte == b'\n' || byte == b'\r'
}

/// Counts lines in a stream of bytes, fed in pieces of any size.
#[derive(Clone, Debug)]
pub struct LineCounter {
    /// The 1-based line of the next byte.
    line: u64,
    /// The last byte was `\r`: a `\n` now completes the same line end.
    after_cr: bool,
}

impl Default for LineCounter {
    fn default() -> Self {
        LineCounter {
            line: 1,
            after_cr: false,
        }
    }
}

impl LineCounter {
    /// The 1-based line the next byte is on.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Counts one byte.
    pub fn advance(&mut self, byte: u8) {
        let starts_line_end = byte == b'\r' || (byte == b'\n' && !self.after_cr);
        self.line += u64::from(starts_line_end);
        self.after_cr = byte == b'\r';
    }

    /// Counts every byte of `bytes`.
    pub fn advance_all(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.advance(byte);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_after(pieces: &[&[u8]]) -> u64 {
        let mut counter = LineCounter::default();
        for piece in pieces {
            counter.advance_all(piece);
        }
        counter.line()
    }

    #[test]
    fn every_kind_of_line_end_counts_once() {
        assert_eq!(lines_after(&[b""]), 1);
        assert_eq!(lines_after(&[b"a\nb\r\nc\rd"]), 4);
        assert_eq!(lines_after(&[b"a\r", b"\nb"]), 2);
        assert_eq!(lines_after(&[b"\r\r\n\n"]), 4);
    }
}
