//! The limits of one list import: file size, line length, rows, columns. Exceeding one stops the import
//! and nothing is imported (the caller discards what it staged), with an error that says which
//! limit, its value, and where the file crossed it.

use std::io::Read;

/// Limits of one list import (configurable; the defaults are generous).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportLimits {
    /// Largest file, in bytes.
    pub max_file_bytes: u64,
    /// Most data rows (the header row not counted).
    pub max_rows: u64,
    /// Most columns (the importer contract carries at most 1,000 fields a row).
    pub max_columns: usize,
    /// Longest physical line, in bytes (line end not counted).
    pub max_line_bytes: u64,
}

impl Default for ImportLimits {
    fn default() -> Self {
        Self {
            max_file_bytes: 100 * 1024 * 1024,
            max_rows: 1_000_000,
            max_columns: 1_000,
            max_line_bytes: 1024 * 1024,
        }
    }
}

/// A limit the file exceeded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// The file is larger than `max_file_bytes`.
    #[error(
        "the file is larger than the {limit} bytes a list import accepts; nothing was imported"
    )]
    FileTooLarge {
        /// The limit.
        limit: u64,
    },
    /// More data rows than `max_rows`.
    #[error(
        "the file has more than {limit} rows (row {line} is past the limit); nothing was imported"
    )]
    TooManyRows {
        /// The limit.
        limit: u64,
        /// The line of the first row past it.
        line: u64,
    },
    /// A line longer than `max_line_bytes`.
    #[error(
        "line {line} is longer than the {limit} bytes a list import accepts per line; nothing was imported"
    )]
    LineTooLong {
        /// The limit.
        limit: u64,
        /// The line.
        line: u64,
    },
    /// More columns than `max_columns`.
    #[error(
        "line {line} has {found} columns, more than the {limit} a list import accepts; nothing was imported"
    )]
    TooManyColumns {
        /// The limit.
        limit: usize,
        /// How many.
        found: usize,
        /// Where.
        line: u64,
    },
}

impl ImportLimits {
    /// Counts rows and columns as they come; call for every row (data rows, not the header).
    pub fn counter(&self) -> RowCounter {
        RowCounter {
            limits: *self,
            rows: 0,
        }
    }

    /// Checks the header (or any row's) column count.
    pub fn check_columns(&self, line: u64, found: usize) -> Result<(), LimitError> {
        if found > self.max_columns {
            Err(LimitError::TooManyColumns {
                limit: self.max_columns,
                found,
                line,
            })
        } else {
            Ok(())
        }
    }

    /// Wraps a reader so reading past `max_file_bytes` fails with
    /// [`std::io::ErrorKind::InvalidData`] carrying [`LimitError::FileTooLarge`].
    pub fn reader<R: Read>(&self, inner: R) -> SizeLimitedReader<R> {
        SizeLimitedReader {
            inner,
            left: self.max_file_bytes,
            limit: self.max_file_bytes,
        }
    }
}

impl ImportLimits {
    /// Wraps a reader so reading a line longer than `max_line_bytes` fails with
    /// [`std::io::ErrorKind::InvalidData`] carrying [`LimitError::LineTooLong`].
    pub fn line_reader<R: Read>(&self, inner: R) -> LineLengthReader<R> {
        LineLengthReader {
            inner,
            limit: self.max_line_bytes,
            line: 1,
            length: 0,
        }
    }
}

/// A reader that refuses lines longer than a limit (physical lines: a quoted field's line
/// break counts as one, as every spreadsheet shows it).
#[derive(Debug)]
pub struct LineLengthReader<R> {
    inner: R,
    limit: u64,
    /// The current line (1-based) and its bytes so far, `\r` excluded.
    line: u64,
    length: u64,
}

impl<R: Read> Read for LineLengthReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        let mut rest = buffer.get(..read).unwrap_or_default();
        loop {
            let (segment, ended) = match rest.iter().position(|b| *b == b'\n') {
                Some(at) => (&rest[..at], Some(at)),
                None => (rest, None),
            };
            // Carriage returns are line-end bytes, not content.
            self.length += segment.iter().filter(|b| **b != b'\r').count() as u64;
            if self.length > self.limit {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    LimitError::LineTooLong {
                        limit: self.limit,
                        line: self.line,
                    },
                ));
            }
            match ended {
                Some(at) => {
                    self.line += 1;
                    self.length = 0;
                    rest = &rest[at + 1..];
                }
                None => return Ok(read),
            }
        }
    }
}

/// Counts the rows of one import against the limits.
#[derive(Debug, Clone)]
pub struct RowCounter {
    limits: ImportLimits,
    rows: u64,
}

impl RowCounter {
    /// Counts one data row at `line` with `columns` fields.
    pub fn count(&mut self, line: u64, columns: usize) -> Result<(), LimitError> {
        self.limits.check_columns(line, columns)?;
        self.rows += 1;
        if self.rows > self.limits.max_rows {
            return Err(LimitError::TooManyRows {
                limit: self.limits.max_rows,
                line,
            });
        }
        Ok(())
    }

    /// Rows counted so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }
}

/// A reader that refuses to read past a size.
#[derive(Debug)]
pub struct SizeLimitedReader<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: Read> Read for SizeLimitedReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        // Ask for one byte more than allowed, to tell "exactly at the limit" from "past it".
        let allowed = usize::try_from(self.left.saturating_add(1))
            .unwrap_or(usize::MAX)
            .min(buffer.len());
        let read = self.inner.read(&mut buffer[..allowed])?;
        if read as u64 > self.left {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                LimitError::FileTooLarge { limit: self.limit },
            ));
        }
        self.left -= read as u64;
        Ok(read)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn limits() -> ImportLimits {
        ImportLimits {
            max_file_bytes: 10,
            max_rows: 2,
            max_columns: 3,
            max_line_bytes: 4,
        }
    }

    fn line_error(input: &[u8], chunk: usize) -> Option<LimitError> {
        let mut reader = limits().line_reader(input);
        let mut buffer = vec![0; chunk];
        loop {
            match reader.read(&mut buffer) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(error) => {
                    return Some(
                        *error
                            .into_inner()
                            .unwrap()
                            .downcast::<LimitError>()
                            .unwrap(),
                    );
                }
            }
        }
    }

    #[test]
    fn a_line_past_the_limit_is_refused_with_its_number_in_any_chunking() {
        for chunk in [1, 2, 3, 64] {
            assert_eq!(
                line_error(b"abcd\r\nab\nabcd\n", chunk),
                None,
                "chunk {chunk}"
            );
            assert_eq!(
                line_error(b"ab\nabcd\nabcde\nx", chunk),
                Some(LimitError::LineTooLong { limit: 4, line: 3 }),
                "chunk {chunk}"
            );
            assert_eq!(
                line_error(b"abcd\nabcdefgh", chunk),
                Some(LimitError::LineTooLong { limit: 4, line: 2 }),
                "chunk {chunk}: the last line has no line end"
            );
        }
    }

    #[test]
    fn a_file_at_the_limit_passes_and_one_byte_more_fails() {
        let mut exact = Vec::new();
        limits()
            .reader(&[b'x'; 10][..])
            .read_to_end(&mut exact)
            .unwrap();
        assert_eq!(exact.len(), 10);
        let error = limits()
            .reader(&[b'x'; 11][..])
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        let limit = error
            .into_inner()
            .unwrap()
            .downcast::<LimitError>()
            .unwrap();
        assert_eq!(*limit, LimitError::FileTooLarge { limit: 10 });
        assert!(limit.to_string().contains("nothing was imported"));
    }

    #[test]
    fn rows_and_columns_are_counted() {
        let mut counter = limits().counter();
        counter.count(2, 3).unwrap();
        counter.count(3, 1).unwrap();
        assert_eq!(
            counter.count(5, 1),
            Err(LimitError::TooManyRows { limit: 2, line: 5 })
        );
        assert_eq!(
            limits().counter().count(2, 4),
            Err(LimitError::TooManyColumns {
                limit: 3,
                found: 4,
                line: 2
            })
        );
        assert_eq!(counter.rows(), 3);
        assert!(ImportLimits::default().max_file_bytes >= 100 * 1024 * 1024);
    }
}
