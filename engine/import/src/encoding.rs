//! UTF-8 or nothing: a reader wrapper that checks an import file is UTF-8 as it streams past,
//! and, when it is not, says where and what it looks like instead (UTF-16, or Latin-1 /
//! Windows-1252 — what spreadsheet programs write when asked for "CSV" on many systems), so
//! the operator knows to re-save it as UTF-8. Nothing of a file that fails is imported: the
//! caller aborts the import on the error.

use std::io::Read;

/// Why a file is refused as not UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodingError {
    /// A UTF-16 byte order mark at the start.
    #[error(
        "the file is UTF-16 ({0}), not UTF-8: save it as \"CSV UTF-8\" (or UTF-8 text) and import it again"
    )]
    Utf16(&'static str),
    /// Bytes that are not UTF-8.
    #[error(
        "the file is not UTF-8: byte 0x{byte:02X} at line {line}, byte {column} of the line{guess}; save it as \"CSV UTF-8\" (or UTF-8 text) and import it again"
    )]
    NotUtf8 {
        /// The first offending byte.
        byte: u8,
        /// 1-based line.
        line: u64,
        /// 1-based byte position in the line.
        column: u64,
        /// What the bytes look like, e.g. ` (it looks like Latin-1 / Windows-1252: "é")`.
        guess: String,
    },
}

/// Wraps a reader; reading fails with [`std::io::ErrorKind::InvalidData`] carrying an
/// [`EncodingError`] at the first byte that is not UTF-8.
#[derive(Debug)]
pub struct Utf8Reader<R> {
    inner: R,
    /// Bytes of a sequence split across reads (at most 3).
    carry: Vec<u8>,
    line: u64,
    column: u64,
    started: bool,
}

impl<R: Read> Utf8Reader<R> {
    /// Checks `inner` as it is read.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            carry: Vec::new(),
            line: 1,
            column: 0,
            started: false,
        }
    }

    /// Checks `bytes` (preceded by the carried partial sequence); keeps an incomplete sequence
    /// at the end for the next read.
    fn check(&mut self, bytes: &[u8], at_end: bool) -> Result<(), EncodingError> {
        if !self.started && !bytes.is_empty() {
            self.started = true;
            if bytes.starts_with(&[0xFF, 0xFE]) {
                return Err(EncodingError::Utf16("little-endian"));
            }
            if bytes.starts_with(&[0xFE, 0xFF]) {
                return Err(EncodingError::Utf16("big-endian"));
            }
        }
        // Only a character split across reads (at most 3 bytes) is joined to the new bytes.
        let joined;
        let bytes = if self.carry.is_empty() {
            bytes
        } else {
            joined = [std::mem::take(&mut self.carry).as_slice(), bytes].concat();
            joined.as_slice()
        };
        let error = match std::str::from_utf8(bytes) {
            Ok(text) => {
                self.advance(text);
                return Ok(());
            }
            Err(error) => error,
        };
        let (valid, after) = bytes.split_at(error.valid_up_to());
        // Valid by construction: `valid_up_to` says so.
        self.advance(std::str::from_utf8(valid).unwrap_or_default());
        if error.error_len().is_none() && !at_end {
            // A character split across reads: finish it with the next one.
            self.carry = after.to_vec();
            return Ok(());
        }
        Err(EncodingError::NotUtf8 {
            byte: after.first().copied().unwrap_or_default(),
            line: self.line,
            column: self.column + 1,
            guess: guess(after),
        })
    }

    fn advance(&mut self, text: &str) {
        for byte in text.bytes() {
            if byte == b'\n' {
                self.line += 1;
                self.column = 0;
            } else {
                self.column += 1;
            }
        }
    }
}

/// What invalid bytes look like: Windows-1252 (a superset of Latin-1's printable range) when
/// the first one decodes to a letter or common symbol there.
fn guess(bytes: &[u8]) -> String {
    let Some(&byte) = bytes.first() else {
        return String::new();
    };
    match windows_1252(byte) {
        Some(decoded) => format!(" (it looks like Latin-1 / Windows-1252: {decoded:?})"),
        None => String::new(),
    }
}

/// The Windows-1252 character of a byte ≥ 0x80 that is a letter or a common symbol.
fn windows_1252(byte: u8) -> Option<char> {
    const HIGH: [char; 32] = [
        '€', '\0', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\0', 'Ž', '\0', '\0',
        '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\0', 'ž', 'Ÿ',
    ];
    let decoded = match byte {
        0x80..=0x9F => HIGH[usize::from(byte - 0x80)],
        0xA0..=0xFF => char::from(byte),
        _ => return None,
    };
    (decoded != '\0' && !decoded.is_control()).then_some(decoded)
}

impl<R: Read> Read for Utf8Reader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        let at_end = read == 0 && !buffer.is_empty();
        self.check(buffer.get(..read).unwrap_or_default(), at_end)
            .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error))?;
        Ok(read)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// Reads `input` through the checker in chunks of `size`.
    fn read_in_chunks(input: &[u8], size: usize) -> Result<Vec<u8>, EncodingError> {
        struct Chunked<'a>(&'a [u8], usize);
        impl Read for Chunked<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = self.1.min(out.len()).min(self.0.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut reader = Utf8Reader::new(Chunked(input, size));
        let mut all = Vec::new();
        match reader.read_to_end(&mut all) {
            Ok(_) => Ok(all),
            Err(error) => Err(*error
                .into_inner()
                .expect("inner")
                .downcast::<EncodingError>()
                .expect("an encoding error")),
        }
    }

    #[test]
    fn utf8_passes_whatever_the_chunking() {
        let input = "\u{feff}phone,name\n+14165550001,Zoë\n+14165550002,Łukasz 😀\n";
        for size in [1, 2, 3, 5, 64] {
            assert_eq!(
                read_in_chunks(input.as_bytes(), size).unwrap(),
                input.as_bytes()
            );
        }
    }

    #[test]
    fn latin1_is_refused_with_where_and_what() {
        let input = b"phone,name\n+14165550001,Zo\xEB\n";
        for size in [1, 4, 64] {
            let error = read_in_chunks(input, size).unwrap_err();
            assert_eq!(
                error,
                EncodingError::NotUtf8 {
                    byte: 0xEB,
                    line: 2,
                    column: 16,
                    guess: " (it looks like Latin-1 / Windows-1252: 'ë')".into(),
                },
                "chunks of {size}"
            );
            let text = error.to_string();
            assert!(text.contains("line 2") && text.contains("UTF-8"), "{text}");
        }
        // Windows-1252's curly quotes, common in exported spreadsheets.
        let quotes = read_in_chunks(b"name\n\x93Bob\x94\n", 64).unwrap_err();
        assert!(quotes.to_string().contains('“'), "{quotes}");
    }

    #[test]
    fn utf16_and_a_truncated_sequence_are_refused() {
        assert_eq!(
            read_in_chunks(b"\xFF\xFEp\0h\0", 64).unwrap_err(),
            EncodingError::Utf16("little-endian")
        );
        assert_eq!(
            read_in_chunks(b"\xFE\xFF\0p", 64).unwrap_err(),
            EncodingError::Utf16("big-endian")
        );
        // The file ends in the middle of a multi-byte character.
        let error = read_in_chunks("Zoë".as_bytes().split_last().unwrap().1, 1).unwrap_err();
        assert!(
            matches!(
                error,
                EncodingError::NotUtf8 {
                    line: 1,
                    column: 3,
                    ..
                }
            ),
            "{error:?}"
        );
    }
}
