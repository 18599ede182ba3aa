//! Splits CSV input into records with `csv-core`, chunk by chunk.
//!
//! Only the record being read is buffered: its unquoted field data and the
//! end of each field. Both buffers are capped: a record longer than
//! `max-record-bytes` (counted as in the file, quotes and line end included)
//! or with more than [`MAX_FIELDS`] fields is read through to its end without
//! keeping its data, and reported as [`Record::TooLong`] or
//! [`Record::TooManyFields`]. `csv-core` finds the end where the file says,
//! so reading resumes at the next record even after quoted line ends.

use csv_core::{ReadRecordResult, Reader, ReaderBuilder};

use crate::lines::{LineCounter, is_line_end};

/// Most fields a record may have: the host refuses rows with more (it takes
/// them for a misbehaving plugin), so they are errors here.
pub const MAX_FIELDS: usize = 1_000;

/// Field data buffered for a record at first; it grows up to the cap.
const INITIAL_DATA_BYTES: usize = 256;

/// Field ends buffered for a record at first; it grows up to the cap.
const INITIAL_FIELDS: usize = 16;

/// A complete record.
#[derive(Debug)]
pub enum Record<'a> {
    /// A record within the limits.
    Fields {
        /// The 1-based line the record starts on.
        line: u64,
        /// Its fields, unquoted, as bytes.
        fields: Fields<'a>,
    },
    /// A record longer than `max-record-bytes`; its data was dropped.
    TooLong {
        /// The 1-based line the record starts on.
        line: u64,
        /// The line it ends on.
        end_line: u64,
        /// The `max-record-bytes` in force.
        limit: usize,
    },
    /// A record with more than [`MAX_FIELDS`] fields; its data was dropped.
    TooManyFields {
        /// The 1-based line the record starts on.
        line: u64,
    },
}

/// The fields of a record.
#[derive(Clone, Copy, Debug)]
pub struct Fields<'a> {
    /// Every field's data, one after the other.
    data: &'a [u8],
    /// Where each field ends in `data`.
    ends: &'a [usize],
}

impl<'a> Fields<'a> {
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there is no field (never the case for a parsed record).
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The fields, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let data = self.data;
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .map(move |(start, end)| data.get(start..end).unwrap_or_default())
    }

    /// Whether every field is empty or whitespace.
    pub fn are_blank(&self) -> bool {
        self.iter().all(is_blank)
    }
}

/// Whether a field is empty or ASCII whitespace only.
pub fn is_blank(field: &[u8]) -> bool {
    field.trim_ascii().is_empty()
}

/// Reads records from chunks of CSV.
#[derive(Debug)]
pub struct RecordReader {
    parser: Reader,
    max_record_bytes: usize,
    /// Lines of everything consumed so far.
    lines: LineCounter,
    /// Field data of the current record: `data[..data_len]` is filled.
    data: Vec<u8>,
    data_len: usize,
    /// Field ends of the current record: `ends[..ends_len]` is filled.
    ends: Vec<usize>,
    ends_len: usize,
    /// The current record has started (a byte other than a line end).
    in_record: bool,
    /// The line the current record starts on, and the line of its last byte.
    start_line: u64,
    end_line: u64,
    /// Bytes of the current record, as in the file.
    record_bytes: u64,
    /// Fields of the current record, kept or not.
    field_count: usize,
    /// The current record broke a limit: its data is being dropped.
    dropping: bool,
    /// The last call returned a record: clear it before reading on.
    returned: bool,
}

impl RecordReader {
    /// A reader for records separated by `delimiter` and quoted with `quote`,
    /// starting after the lines `lines` counted.
    pub fn new(
        delimiter: u8,
        quote: Option<u8>,
        max_record_bytes: usize,
        lines: LineCounter,
    ) -> Self {
        let parser = ReaderBuilder::new()
            .delimiter(delimiter)
            .quote(quote.unwrap_or(b'"'))
            .quoting(quote.is_some())
            .build();
        RecordReader {
            parser,
            max_record_bytes,
            lines,
            data: vec![0; INITIAL_DATA_BYTES.min(max_record_bytes + 1)],
            data_len: 0,
            ends: vec![0; INITIAL_FIELDS],
            ends_len: 0,
            in_record: false,
            start_line: 0,
            end_line: 0,
            record_bytes: 0,
            field_count: 0,
            dropping: false,
            returned: false,
        }
    }

    /// Reads the next complete record from `input`, advancing it past what
    /// was consumed. `None` when `input` is used up (the incomplete record
    /// is kept for the next call) or, once `at_end`, when there are no more
    /// records.
    pub fn next_record(&mut self, input: &mut &[u8], at_end: bool) -> Option<Record<'_>> {
        if self.returned {
            self.clear_record();
        }
        loop {
            if input.is_empty() && !at_end {
                return None;
            }
            let (result, consumed, data_len, ends_len) = self.parser.read_record(
                input,
                &mut self.data[self.data_len..],
                &mut self.ends[self.ends_len..],
            );
            let (done, rest) = input.split_at(consumed.min(input.len()));
            self.track(done);
            *input = rest;
            self.data_len += data_len;
            self.ends_len += ends_len;
            self.field_count += ends_len;
            self.enforce_limits();
            match result {
                ReadRecordResult::InputEmpty if at_end && input.is_empty() => return None,
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => self.grow_data(),
                ReadRecordResult::OutputEndsFull => self.grow_ends(),
                ReadRecordResult::Record => {
                    self.returned = true;
                    return Some(self.record());
                }
                ReadRecordResult::End => return None,
            }
        }
    }

    /// Counts lines and the current record's bytes in what was consumed.
    fn track(&mut self, consumed: &[u8]) {
        for &byte in consumed {
            if !self.in_record && !is_line_end(byte) {
                self.in_record = true;
                self.start_line = self.lines.line();
            }
            if self.in_record {
                self.record_bytes += 1;
                self.end_line = self.lines.line();
            }
            self.lines.advance(byte);
        }
    }

    /// Starts dropping the current record once it breaks a limit, and keeps
    /// its buffers empty from then on.
    fn enforce_limits(&mut self) {
        if self.record_bytes > self.max_record_bytes as u64 || self.field_count > MAX_FIELDS {
            self.dropping = true;
        }
        if self.dropping {
            self.data_len = 0;
            self.ends_len = 0;
        }
    }

    /// Makes room for more field data (never past the cap: more data than
    /// that means the record is too long anyway).
    fn grow_data(&mut self) {
        if self.dropping {
            return;
        }
        let cap = self.max_record_bytes + 1;
        if self.data.len() >= cap {
            self.dropping = true;
            self.data_len = 0;
            self.ends_len = 0;
            return;
        }
        let len = (self.data.len() * 2).clamp(1, cap);
        self.data.reserve_exact(len - self.data.len());
        self.data.resize(len, 0);
    }

    /// Makes room for more field ends (never past [`MAX_FIELDS`] + 1).
    fn grow_ends(&mut self) {
        if self.dropping {
            return;
        }
        let cap = MAX_FIELDS + 1;
        if self.ends.len() >= cap {
            self.dropping = true;
            self.data_len = 0;
            self.ends_len = 0;
            return;
        }
        let len = (self.ends.len() * 2).clamp(1, cap);
        self.ends.reserve_exact(len - self.ends.len());
        self.ends.resize(len, 0);
    }

    /// The record just completed.
    fn record(&self) -> Record<'_> {
        let line = self.start_line;
        if self.record_bytes > self.max_record_bytes as u64 {
            Record::TooLong {
                line,
                end_line: self.end_line,
                limit: self.max_record_bytes,
            }
        } else if self.dropping {
            Record::TooManyFields { line }
        } else {
            Record::Fields {
                line,
                fields: Fields {
                    data: &self.data[..self.data_len],
                    ends: &self.ends[..self.ends_len],
                },
            }
        }
    }

    /// Forgets the record returned last.
    fn clear_record(&mut self) {
        self.data_len = 0;
        self.ends_len = 0;
        self.in_record = false;
        self.record_bytes = 0;
        self.field_count = 0;
        self.dropping = false;
        self.returned = false;
    }

    /// Bytes held for the current record (buffer capacities).
    pub fn buffered_bytes(&self) -> usize {
        self.data.capacity() + self.ends.capacity() * size_of::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `input` in pieces of `size` bytes; renders every record.
    fn read(input: &[u8], size: usize, max_record_bytes: usize) -> Vec<String> {
        let mut reader =
            RecordReader::new(b',', Some(b'"'), max_record_bytes, LineCounter::default());
        let mut out = Vec::new();
        let mut render = |record: Record<'_>| match record {
            Record::Fields { line, fields } => {
                let fields: Vec<String> = fields
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect();
                out.push(format!("{line}: {}", fields.join("|")));
            }
            Record::TooLong { line, end_line, .. } => {
                out.push(format!("{line}-{end_line}: too long"))
            }
            Record::TooManyFields { line } => out.push(format!("{line}: too many")),
        };
        for mut piece in input.chunks(size.max(1)) {
            while let Some(record) = reader.next_record(&mut piece, false) {
                render(record);
            }
        }
        while let Some(record) = reader.next_record(&mut &[][..], true) {
            render(record);
        }
        out
    }

    fn read_all_ways(input: &[u8], max_record_bytes: usize) -> Vec<String> {
        let whole = read(input, input.len(), max_record_bytes);
        for size in [1, 2, 3, 7] {
            assert_eq!(
                read(input, size, max_record_bytes),
                whole,
                "pieces of {size}"
            );
        }
        whole
    }

    #[test]
    fn records_with_their_start_lines() {
        let input = b"a,b\r\n\r\n\"x\ny\",\"q\"\"q\"\r3,4\n5,6";
        assert_eq!(
            read_all_ways(input, 1024),
            ["1: a|b", "3: x\ny|q\"q", "5: 3|4", "6: 5|6"]
        );
    }

    #[test]
    fn an_oversized_record_is_dropped_and_reading_resumes() {
        let long = "x".repeat(100);
        let input = format!("a,b\n\"{long}\n{long}\",z\nc,d\n");
        assert_eq!(
            read_all_ways(input.as_bytes(), 64),
            ["1: a|b", "2-3: too long", "4: c|d"]
        );
        // Exactly at the cap is fine: 63 bytes and the line end.
        let fits = format!("{}\nok\n", "y".repeat(63));
        assert_eq!(read_all_ways(fits.as_bytes(), 64).len(), 2);
        let over = format!("{}\nok\n", "y".repeat(64));
        assert_eq!(
            read_all_ways(over.as_bytes(), 64),
            ["1-1: too long", "2: ok"]
        );
    }

    #[test]
    fn too_many_fields() {
        let input = format!("{}\nok\n", ",".repeat(MAX_FIELDS));
        assert_eq!(
            read_all_ways(input.as_bytes(), 1 << 20),
            ["1: too many", "2: ok"]
        );
        let input = format!("{}\nok\n", ",".repeat(MAX_FIELDS - 1));
        assert_eq!(read(input.as_bytes(), 4096, 1 << 20).len(), 2);
    }

    #[test]
    fn buffers_stay_within_the_caps() {
        let mut reader = RecordReader::new(b',', Some(b'"'), 1000, LineCounter::default());
        let mut input = &b"\""[..];
        assert!(reader.next_record(&mut input, false).is_none());
        let chunk = [b'a'; 4096];
        for _ in 0..100 {
            let mut piece = &chunk[..];
            assert!(reader.next_record(&mut piece, false).is_none());
            assert!(reader.buffered_bytes() <= 1001 + INITIAL_FIELDS * 8);
        }
    }
}
