//! Removes the UTF-8 byte order mark that spreadsheet programs put at the
//! start of exported files, even when it arrives split across chunks.

/// The UTF-8 encoding of U+FEFF.
const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// Strips one leading byte order mark from a stream of chunks.
///
/// While the first bytes could still be a byte order mark they are held back
/// (at most 2 bytes, always a prefix of the mark itself, so nothing is
/// copied); once they turn out not to be one they are handed back before the
/// rest of the chunk.
#[derive(Clone, Debug, Default)]
pub struct BomStripper {
    /// How many bytes of the mark have been seen so far.
    matched: usize,
    /// The start of the stream is settled: everything passes through.
    settled: bool,
}

impl BomStripper {
    /// Takes the next chunk and returns what to parse, in order: bytes held
    /// back from earlier chunks (empty unless they proved not to be a byte
    /// order mark), then the rest of this chunk.
    pub fn strip<'a>(&mut self, mut chunk: &'a [u8]) -> (&'static [u8], &'a [u8]) {
        while !self.settled {
            let Some((&byte, rest)) = chunk.split_first() else {
                return (&[], chunk);
            };
            if byte != BOM[self.matched] {
                self.settled = true;
                return (&BOM[..self.matched], chunk);
            }
            self.matched += 1;
            chunk = rest;
            self.settled = self.matched == BOM.len();
        }
        (&[], chunk)
    }

    /// Ends the stream: returns the bytes still held back (a file made of an
    /// incomplete byte order mark).
    pub fn finish(&mut self) -> &'static [u8] {
        if self.settled {
            return &[];
        }
        self.settled = true;
        &BOM[..self.matched]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `chunks` and returns everything passed on.
    fn stripped(chunks: &[&[u8]]) -> Vec<u8> {
        let mut stripper = BomStripper::default();
        let mut out = Vec::new();
        for chunk in chunks {
            let (held, rest) = stripper.strip(chunk);
            out.extend_from_slice(held);
            out.extend_from_slice(rest);
        }
        out.extend_from_slice(stripper.finish());
        out
    }

    #[test]
    fn strips_a_whole_or_split_mark() {
        assert_eq!(stripped(&[b"\xEF\xBB\xBFa,b"]), b"a,b");
        assert_eq!(stripped(&[b"\xEF", b"\xBB", b"\xBF", b"a"]), b"a");
        assert_eq!(stripped(&[b"", b"\xEF\xBB", b"\xBFa"]), b"a");
    }

    #[test]
    fn keeps_everything_else() {
        assert_eq!(stripped(&[b"a,b"]), b"a,b");
        assert_eq!(stripped(&[b"\xEF", b"\xBBx"]), b"\xEF\xBBx");
        assert_eq!(stripped(&[b"\xEF\xBB"]), b"\xEF\xBB");
        // Only the first mark is removed.
        assert_eq!(stripped(&[b"\xEF\xBB\xBF\xEF\xBB\xBF"]), b"\xEF\xBB\xBF");
        assert_eq!(stripped(&[b"a\xEF\xBB\xBF"]), b"a\xEF\xBB\xBF");
        assert_eq!(stripped(&[]), b"");
    }
}
