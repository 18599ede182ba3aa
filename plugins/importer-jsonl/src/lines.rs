//! Splits a stream of chunks into lines, keeping only the incomplete last
//! line between chunks, and never more than `max-record-bytes` of it.
//!
//! Lines end with `\n` (a `\r` before it is left to the JSON parser, which
//! takes it for whitespace). A line longer than the cap is reported once, as
//! soon as it is known to be too long, and skipped up to its end.

/// One line of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A line within the cap, without its `\n`.
    Complete {
        /// 1-based line number.
        number: u64,
        /// Its bytes.
        text: &'a [u8],
    },
    /// A line longer than the cap; its bytes were dropped.
    TooLong {
        /// 1-based line number.
        number: u64,
    },
}

/// Splits chunks into lines.
#[derive(Debug)]
pub struct LineSplitter {
    max_record_bytes: usize,
    /// The incomplete last line.
    pending: Vec<u8>,
    /// The 1-based number of the line being read.
    number: u64,
    /// The line being read is too long: drop it up to its end.
    dropping: bool,
}

impl LineSplitter {
    /// A splitter for lines of at most `max_record_bytes` bytes.
    pub fn new(max_record_bytes: usize) -> Self {
        LineSplitter {
            max_record_bytes,
            pending: Vec::new(),
            number: 1,
            dropping: false,
        }
    }

    /// Passes every line `input` completes (or finds too long) to `each`,
    /// and keeps the incomplete rest.
    pub fn push(&mut self, input: &[u8], mut each: impl FnMut(Line<'_>)) {
        let mut rest = input;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            self.end_line(&rest[..end], &mut each);
            rest = &rest[end + 1..];
        }
        self.keep(rest, &mut each);
    }

    /// Ends the input: passes the last line, if it had no `\n`.
    pub fn finish(&mut self, mut each: impl FnMut(Line<'_>)) {
        if !self.pending.is_empty() || self.dropping {
            self.end_line(&[], &mut each);
        }
    }

    /// Completes the current line with `tail`.
    fn end_line(&mut self, tail: &[u8], each: &mut impl FnMut(Line<'_>)) {
        let number = self.number;
        if self.dropping {
            self.dropping = false;
        } else if self.pending.len() + tail.len() > self.max_record_bytes {
            each(Line::TooLong { number });
            self.pending.clear();
        } else if self.pending.is_empty() {
            each(Line::Complete { number, text: tail });
        } else {
            self.extend_pending(tail);
            each(Line::Complete {
                number,
                text: &self.pending,
            });
            self.pending.clear();
        }
        self.number += 1;
    }

    /// Keeps the start of a line, unless that makes it too long.
    fn keep(&mut self, part: &[u8], each: &mut impl FnMut(Line<'_>)) {
        if self.dropping || part.is_empty() {
            return;
        }
        if self.pending.len() + part.len() > self.max_record_bytes {
            each(Line::TooLong {
                number: self.number,
            });
            self.pending.clear();
            self.dropping = true;
            return;
        }
        self.extend_pending(part);
    }

    /// Appends to the incomplete line, growing its buffer as a `Vec` does
    /// but never past the cap.
    fn extend_pending(&mut self, part: &[u8]) {
        let needed = self.pending.len() + part.len();
        if needed > self.pending.capacity() {
            let target = needed
                .max(self.pending.capacity() * 2)
                .min(self.max_record_bytes.max(needed));
            self.pending.reserve_exact(target - self.pending.len());
        }
        self.pending.extend_from_slice(part);
    }

    /// Bytes held: the incomplete line's buffer.
    pub fn buffered_bytes(&self) -> usize {
        self.pending.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits `input` in pieces of `size` bytes; renders every line.
    fn split(input: &[u8], size: usize, max: usize) -> Vec<String> {
        let mut splitter = LineSplitter::new(max);
        let mut out = Vec::new();
        let mut render = |line: Line<'_>| {
            out.push(match line {
                Line::Complete { number, text } => {
                    format!("{number}: {}", String::from_utf8_lossy(text))
                }
                Line::TooLong { number } => format!("{number}: too long"),
            });
        };
        for piece in input.chunks(size.max(1)) {
            splitter.push(piece, &mut render);
        }
        splitter.finish(&mut render);
        out
    }

    fn split_all_ways(input: &[u8], max: usize) -> Vec<String> {
        let whole = split(input, input.len(), max);
        for size in [1, 2, 3, 5] {
            assert_eq!(split(input, size, max), whole, "pieces of {size}");
        }
        whole
    }

    #[test]
    fn lines_and_their_numbers() {
        assert_eq!(
            split_all_ways(b"a\n\nbc\r\nd", 8),
            ["1: a", "2: ", "3: bc\r", "4: d"]
        );
        assert_eq!(split_all_ways(b"a\n", 8), ["1: a"]);
        assert!(split_all_ways(b"", 8).is_empty());
    }

    #[test]
    fn a_long_line_is_reported_once_and_skipped() {
        assert_eq!(
            split_all_ways(b"ok\n0123456789\nfine\n0123456789", 8),
            ["1: ok", "2: too long", "3: fine", "4: too long"]
        );
        // Exactly at the cap is fine.
        assert_eq!(split_all_ways(b"01234567\n", 8), ["1: 01234567"]);
    }

    #[test]
    fn the_buffer_never_exceeds_the_cap() {
        let mut splitter = LineSplitter::new(100);
        for _ in 0..1000 {
            splitter.push(&[b'x'; 33], |_| {});
            assert!(splitter.buffered_bytes() <= 100);
        }
    }
}
