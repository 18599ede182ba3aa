//! Finds the header line and, when the import names no delimiter, guesses
//! it from that line.
//!
//! Lines made only of whitespace before the header are skipped (and
//! counted). The header line is kept, at most `max-record-bytes + 1` bytes of
//! it, so that it can be parsed once the delimiter is known; the guess is the
//! candidate (comma, semicolon, tab, pipe) that occurs most often outside
//! quotes, the first in that order on a tie, and comma when none occurs.

use crate::lines::{LineCounter, is_line_end};
use crate::options::DELIMITERS;

/// Scans the start of the file for its header line.
#[derive(Debug)]
pub struct HeaderScan {
    /// The quote character, when quoting is on.
    quote: Option<u8>,
    /// Keep at most this many bytes plus one: a longer header is an error.
    max_record_bytes: usize,
    /// Counts the blank lines skipped before the header.
    lines: LineCounter,
    /// The header line so far, line end included once seen.
    header: Vec<u8>,
    /// Inside a quoted field of the header.
    in_quotes: bool,
    /// Occurrences of each of [`DELIMITERS`] outside quotes.
    counts: [usize; DELIMITERS.len()],
}

/// What [`HeaderScan::scan`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scan {
    /// Every byte was consumed and the header line is not complete yet.
    NeedMore,
    /// The header line is complete (or too long to keep); the first
    /// `consumed` bytes of the input went into it.
    Complete {
        /// Bytes of the input consumed.
        consumed: usize,
    },
}

impl HeaderScan {
    /// A scan for a file quoted with `quote`, whose records are at most
    /// `max_record_bytes` long.
    pub fn new(quote: Option<u8>, max_record_bytes: usize) -> Self {
        HeaderScan {
            quote,
            max_record_bytes,
            lines: LineCounter::default(),
            header: Vec::new(),
            in_quotes: false,
            counts: [0; DELIMITERS.len()],
        }
    }

    /// Consumes `input` up to the end of the header line.
    pub fn scan(&mut self, input: &[u8]) -> Scan {
        for (index, &byte) in input.iter().enumerate() {
            if self.take(byte) {
                return Scan::Complete {
                    consumed: index + 1,
                };
            }
        }
        Scan::NeedMore
    }

    /// Takes one byte; true once the header line is complete or too long.
    fn take(&mut self, byte: u8) -> bool {
        if self.header.is_empty() && is_line_end(byte) {
            self.lines.advance(byte);
            return false;
        }
        self.header.push(byte);
        if Some(byte) == self.quote {
            self.in_quotes = !self.in_quotes;
        } else if !self.in_quotes {
            if is_line_end(byte) {
                return self.end_line();
            }
            self.count_delimiter(byte);
        }
        self.header.len() > self.max_record_bytes
    }

    /// At the end of a line: true if it is the header, false (and the line
    /// is skipped) if it is blank.
    fn end_line(&mut self) -> bool {
        if self.has_header() {
            return true;
        }
        self.lines.advance_all(&self.header);
        self.header.clear();
        self.counts = [0; DELIMITERS.len()];
        false
    }

    fn count_delimiter(&mut self, byte: u8) {
        if let Some(index) = DELIMITERS.iter().position(|&d| d == byte) {
            self.counts[index] += 1;
        }
    }

    /// Whether the line kept so far has anything but whitespace: at the end
    /// of the input, whether there is a header at all.
    pub fn has_header(&self) -> bool {
        !self.header.iter().all(u8::is_ascii_whitespace)
    }

    /// The delimiter guessed from the header line.
    pub fn sniffed_delimiter(&self) -> u8 {
        let mut best = 0;
        for index in 1..DELIMITERS.len() {
            if self.counts[index] > self.counts[best] {
                best = index;
            }
        }
        DELIMITERS[best]
    }

    /// Bytes held: the header line so far.
    pub fn buffered_bytes(&self) -> usize {
        self.header.capacity()
    }

    /// The header line as kept, and the line count of what came before it.
    pub fn into_parts(self) -> (Vec<u8>, LineCounter) {
        (self.header, self.lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scans `input` in one piece; returns the bytes consumed (`None` if the
    /// header is incomplete), the guess, the kept header and its line.
    fn scan(input: &[u8]) -> (Option<usize>, u8, Vec<u8>, u64) {
        let mut scan = HeaderScan::new(Some(b'"'), 64);
        let consumed = match scan.scan(input) {
            Scan::NeedMore => None,
            Scan::Complete { consumed } => Some(consumed),
        };
        let delimiter = scan.sniffed_delimiter();
        let (header, lines) = scan.into_parts();
        (consumed, delimiter, header, lines.line())
    }

    #[test]
    fn guesses_the_commonest_delimiter_outside_quotes() {
        assert_eq!(scan(b"a,b,c\n").1, b',');
        assert_eq!(scan(b"a;b;c\n1,5;2,5;3\n").1, b';');
        assert_eq!(scan(b"a\tb,c\tx\n").1, b'\t');
        assert_eq!(scan(b"a|b|c\r\n").1, b'|');
        assert_eq!(scan(b"\"a;b;c\",d,e;f\n").1, b',');
        assert_eq!(scan(b"phone\n").1, b',');
        // A tie goes to the first of comma, semicolon, tab, pipe.
        assert_eq!(scan(b"a|b;c\n").1, b';');
    }

    #[test]
    fn skips_blank_lines_and_stops_after_the_header_line() {
        let (consumed, delimiter, header, line) = scan(b"\n \t\r\n\ra;b\r\n1;2\n");
        assert_eq!(consumed, Some(10));
        assert_eq!(delimiter, b';');
        assert_eq!(header, b"a;b\r");
        assert_eq!(line, 4);
    }

    #[test]
    fn a_quoted_line_end_does_not_end_the_header() {
        let (consumed, delimiter, header, _) = scan(b"\"a\nb\";c\nx");
        assert_eq!(consumed, Some(8));
        assert_eq!(delimiter, b';');
        assert_eq!(header, b"\"a\nb\";c\n");
    }

    #[test]
    fn stops_keeping_a_header_longer_than_the_cap() {
        let long = [b'x'; 100];
        let (consumed, _, header, _) = scan(&long);
        assert_eq!(consumed, Some(65));
        assert_eq!(header.len(), 65);
    }

    #[test]
    fn incomplete_and_blank_input() {
        assert_eq!(scan(b"a,b").0, None);
        let mut blank = HeaderScan::new(Some(b'"'), 64);
        assert_eq!(blank.scan(b"\n  \n\t"), Scan::NeedMore);
        assert!(!blank.has_header());
        let mut partial = HeaderScan::new(None, 64);
        assert_eq!(partial.scan(b"\"a"), Scan::NeedMore);
        assert!(partial.has_header());
    }
}
