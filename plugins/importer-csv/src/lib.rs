//! `csv`: an importer plugin that streams CSV files into rows.
//!
//! The file arrives in chunks of any size and is parsed as it comes with
//! `csv-core`; only the record being read is kept between chunks, so memory
//! stays flat however long the file is.
//!
//! # Format
//!
//! - The first non-blank record is the header: its trimmed fields name the
//!   columns. Trailing blank names (delimiters at the end of the line) are
//!   dropped. Any other blank name, a duplicate name (compared without regard
//!   to case) or a name that is not UTF-8 stops the import: one error for the
//!   header's line, then nothing more, whatever follows. The same happens to
//!   a header longer than `max-record-bytes`. A file with no header (empty,
//!   or only blank lines) gives one error, "no header row", for line 1.
//! - Every later record is a row: `(column name, raw value)` in file order.
//!   Values are returned exactly as in the file (unquoted, not trimmed):
//!   phone numbers, timezones and duplicates are the host's business.
//! - Records whose fields are all empty or whitespace (blank lines, `,,,`)
//!   are skipped.
//! - A record with fewer fields than the header is an error for its line;
//!   so is one with more, unless the extra fields are all empty (trailing
//!   delimiters), in which case they are dropped.
//! - A field that is not valid UTF-8 is an error for its line.
//! - `\r\n`, `\n` and a lone `\r` all end records (outside quotes) and
//!   lines; a quoted field may hold delimiters, line ends and doubled
//!   quotes. A UTF-8 byte order mark at the start is skipped.
//! - The `line` of a row or error is the 1-based physical line its record
//!   starts on, as a text editor numbers them.
//! - A record longer than `max-record-bytes` (as in the file, quotes and
//!   line end included) or with more than [`records::MAX_FIELDS`] fields is
//!   an error for its line; its data is not kept, and the next record is
//!   read normally (an unclosed quote makes the rest of the file one record).
//!
//! # Options
//!
//! Given with the import request and listed in `plugin.toml`'s comments and
//! description (see [`options`]):
//!
//! - `delimiter`: `,`, `;`, `tab` (also `\t`), `|`, or `auto` (the default):
//!   guess from the header line (the candidate found most often outside
//!   quotes; comma on a tie or when there is none);
//! - `quote`: `"` (the default), `'`, or `none` (quotes are ordinary
//!   characters);
//! - `max-record-bytes`: the longest record accepted, default 1048576 (1 MiB).
//!
//! An invalid option stops the import: the first call (`push` or `finish`)
//! returns one error for line 1 naming the option, and nothing follows.

pub mod header;
pub mod lines;
pub mod options;
pub mod records;
pub mod sniff;

#[cfg(target_arch = "wasm32")]
use switchboard_plugin_sdk as sdk;
use switchboard_plugin_sdk::import::{StreamImporter, StreamParser};
use switchboard_plugin_sdk::{Row, RowError, RowResult};

use crate::header::Header;
use crate::options::Options;
use crate::records::{Fields, MAX_FIELDS, Record, RecordReader, is_blank};
use crate::sniff::{HeaderScan, Scan};

/// The CSV importer: one per import. [`StreamImporter`] strips the byte
/// order mark and reports invalid options.
pub type CsvImporter = StreamImporter<CsvParser>;

/// The CSV parser of one import, with valid options.
#[derive(Debug)]
pub struct CsvParser {
    state: State,
}

/// Where the import is.
#[derive(Debug)]
enum State {
    /// Looking for the header line, to guess the delimiter from it.
    Scanning {
        scan: HeaderScan,
        delimiter: Option<u8>,
        quote: Option<u8>,
        max_record_bytes: usize,
    },
    /// Reading records; the first non-blank one is the header.
    Reading {
        records: Box<RecordReader>,
        header: Option<Header>,
    },
    /// Stopped by an invalid header, or between two states.
    Stopped,
}

/// What a record turns into.
enum Outcome {
    /// A row or an error for its line.
    Emit(RowResult),
    /// Nothing: a blank record, or the header.
    Skip,
    /// The import cannot go on: report this and stop.
    Stop(RowError),
}

impl StreamParser for CsvParser {
    fn with_options(options: &[(String, String)]) -> Result<Self, String> {
        let options = Options::parse(options)?;
        let state = State::Scanning {
            scan: HeaderScan::new(options.quote, options.max_record_bytes),
            delimiter: options.delimiter,
            quote: options.quote,
            max_record_bytes: options.max_record_bytes,
        };
        Ok(CsvParser { state })
    }

    fn consume(&mut self, input: &[u8], out: &mut Vec<RowResult>) {
        match &mut self.state {
            State::Scanning { scan, .. } => {
                if let Scan::Complete { consumed } = scan.scan(input) {
                    self.start_reading(out);
                    self.read(input.get(consumed..).unwrap_or_default(), false, out);
                }
            }
            State::Reading { .. } => self.read(input, false, out),
            State::Stopped => {}
        }
    }

    fn end(mut self, out: &mut Vec<RowResult>) {
        if let State::Scanning { scan, .. } = &self.state
            && scan.has_header()
        {
            self.start_reading(out);
        }
        if matches!(self.state, State::Reading { .. }) {
            self.read(&[], true, out);
        }
        let header_missing = match &self.state {
            State::Scanning { .. } => true,
            State::Reading { header, .. } => header.is_none(),
            State::Stopped => false,
        };
        if header_missing {
            out.push(RowResult::Error(error(
                1,
                "no header row: the file is empty or blank".into(),
            )));
        }
    }

    /// The header line while it is incomplete, then the record being read.
    fn buffered_bytes(&self) -> usize {
        match &self.state {
            State::Scanning { scan, .. } => scan.buffered_bytes(),
            State::Reading { records, .. } => records.buffered_bytes(),
            State::Stopped => 0,
        }
    }
}

impl CsvParser {
    /// Leaves the scan: picks the delimiter and reads the header line kept.
    fn start_reading(&mut self, out: &mut Vec<RowResult>) {
        let state = std::mem::replace(&mut self.state, State::Stopped);
        let State::Scanning {
            scan,
            delimiter,
            quote,
            max_record_bytes,
        } = state
        else {
            self.state = state;
            return;
        };
        let delimiter = delimiter.unwrap_or_else(|| scan.sniffed_delimiter());
        let (header_line, lines) = scan.into_parts();
        self.state = State::Reading {
            records: Box::new(RecordReader::new(delimiter, quote, max_record_bytes, lines)),
            header: None,
        };
        self.read(&header_line, false, out);
    }

    /// Reads records from `input` and turns them into rows and errors.
    fn read(&mut self, mut input: &[u8], at_end: bool, out: &mut Vec<RowResult>) {
        let State::Reading { records, header } = &mut self.state else {
            return;
        };
        while let Some(record) = records.next_record(&mut input, at_end) {
            match outcome(header, record) {
                Outcome::Emit(result) => out.push(result),
                Outcome::Skip => {}
                Outcome::Stop(why) => {
                    out.push(RowResult::Error(why));
                    self.state = State::Stopped;
                    return;
                }
            }
        }
    }
}

/// What `record` turns into, given the header so far.
fn outcome(header: &mut Option<Header>, record: Record<'_>) -> Outcome {
    match header {
        None => header_outcome(header, record),
        Some(names) => data_outcome(names, record),
    }
}

/// Before the header: the first non-blank record becomes the header, or
/// stops the import.
fn header_outcome(header: &mut Option<Header>, record: Record<'_>) -> Outcome {
    match record {
        Record::TooLong { line, limit, .. } => stop(
            line,
            format!("the header row is longer than max-record-bytes ({limit} bytes)"),
        ),
        Record::TooManyFields { line } => stop(
            line,
            format!("the header row has more than {MAX_FIELDS} columns"),
        ),
        Record::Fields { fields, .. } if fields.are_blank() => Outcome::Skip,
        Record::Fields { line, fields } => match Header::parse(fields) {
            Ok(parsed) => {
                *header = Some(parsed);
                Outcome::Skip
            }
            Err(why) => stop(line, why),
        },
    }
}

/// After the header: a row, an error for the record's line, or nothing for
/// a blank record.
fn data_outcome(header: &Header, record: Record<'_>) -> Outcome {
    let result = match record {
        Record::TooLong {
            line,
            end_line,
            limit,
        } => RowResult::Error(too_long(line, end_line, limit)),
        Record::TooManyFields { line } => RowResult::Error(error(
            line,
            format!("more than {MAX_FIELDS} fields; skipped"),
        )),
        Record::Fields { fields, .. } if fields.are_blank() => return Outcome::Skip,
        Record::Fields { line, fields } => {
            row(header, line, fields).unwrap_or_else(RowResult::Error)
        }
    };
    Outcome::Emit(result)
}

/// Stops the import at the header.
fn stop(line: u64, why: String) -> Outcome {
    Outcome::Stop(error(
        line,
        format!("invalid header row: {why}; nothing was imported"),
    ))
}

/// The error for a record longer than the cap.
fn too_long(line: u64, end_line: u64, limit: usize) -> RowError {
    let through = if end_line > line {
        format!(" through line {end_line} (an unclosed quote?)")
    } else {
        String::new()
    };
    error(
        line,
        format!("record is longer than max-record-bytes ({limit} bytes); skipped{through}"),
    )
}

/// The row for a data record, or why it has none.
fn row(header: &Header, line: u64, fields: Fields<'_>) -> Result<RowResult, RowError> {
    check_field_count(header, line, fields)?;
    let mut pairs = Vec::with_capacity(header.len());
    for (index, (name, value)) in header.names().iter().zip(fields.iter()).enumerate() {
        let value = std::str::from_utf8(value).map_err(|e| {
            error(
                line,
                format!(
                    "field {} ({name:?}) is not valid UTF-8 (byte {} of the field); save the file as UTF-8",
                    index + 1,
                    e.valid_up_to() + 1
                ),
            )
        })?;
        pairs.push((name.clone(), value.to_string()));
    }
    Ok(RowResult::Row(Row {
        line,
        fields: pairs,
    }))
}

/// Fails unless the record has as many fields as the header, not counting
/// empty fields past the header's last column.
fn check_field_count(header: &Header, line: u64, fields: Fields<'_>) -> Result<(), RowError> {
    let found = fields.len();
    let expected = header.len();
    let extra_data = fields.iter().skip(expected).any(|f| !is_blank(f));
    if found < expected || extra_data {
        return Err(error(
            line,
            format!("expected {expected} fields (as in the header), found {found}"),
        ));
    }
    Ok(())
}

fn error(line: u64, message: String) -> RowError {
    RowError { line, message }
}

// Only the WebAssembly build exports the component interface: the export
// names (`switchboard:plugin/importer@0.1.0#...`) cannot be linked into a
// native shared library, and natively the crate is a library for tests.
#[cfg(target_arch = "wasm32")]
sdk::export_importer!(CsvImporter);

#[cfg(test)]
mod tests;
