//! What an import tells the operator: the error log (each rejected cell with row, column,
//! value, a stable reason code and a message), streamed as CSV or JSON, and a summary.
//!
//! Writers stream: an entry is written when its row is rejected, nothing is kept. Entries are
//! owned and (de)serialisable so a store can keep the log of an import for later download.

use std::collections::BTreeMap;
use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::row::{Reason, Recipient, Rejection};

/// Why the error log could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Writing the CSV log failed.
    #[error("writing the CSV error log: {0}")]
    Csv(#[from] csv::Error),
    /// Writing the JSON log failed.
    #[error("writing the JSON error log: {0}")]
    Json(#[from] serde_json::Error),
    /// The destination failed.
    #[error("writing the error log: {0}")]
    Io(#[from] std::io::Error),
}

/// One line of the error log, as written to CSV and JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorLogEntry {
    /// The rejected row.
    pub line: u64,
    /// The column at fault (empty for a whole row).
    pub column: String,
    /// The value at fault.
    pub value: String,
    /// Stable reason code, e.g. `phone_too_short`.
    pub code: String,
    /// The reason for a person.
    pub message: String,
    /// For a duplicate: the row of the first occurrence.
    pub first_line: Option<u64>,
    /// For a duplicate of a number on another list: that list.
    pub first_list: Option<String>,
}

impl From<&Rejection> for ErrorLogEntry {
    fn from(rejection: &Rejection) -> Self {
        let first = match &rejection.reason {
            Reason::Duplicate(first) => Some(first),
            _ => None,
        };
        Self {
            line: rejection.line,
            column: rejection.column.clone().unwrap_or_default(),
            value: rejection.value.clone(),
            code: rejection.reason.code().to_string(),
            message: rejection.reason.to_string(),
            first_line: first.map(|first| first.line),
            first_list: first.and_then(|first| first.list.clone()),
        }
    }
}

/// The error log as CSV, with a header row: `line,column,value,code,message,first_line,first_list`.
#[derive(Debug)]
pub struct CsvErrorLog<W: Write> {
    writer: csv::Writer<W>,
}

impl<W: Write> CsvErrorLog<W> {
    /// Writes to `destination`.
    pub fn new(destination: W) -> Self {
        Self {
            writer: csv::Writer::from_writer(destination),
        }
    }

    /// Appends the rejections of one row.
    pub fn write(&mut self, rejections: &[Rejection]) -> Result<(), ReportError> {
        for rejection in rejections {
            self.write_entry(&ErrorLogEntry::from(rejection))?;
        }
        Ok(())
    }

    /// Appends one entry (e.g. read back from a store).
    pub fn write_entry(&mut self, entry: &ErrorLogEntry) -> Result<(), ReportError> {
        self.writer.serialize(entry)?;
        Ok(())
    }

    /// Flushes and returns the destination.
    pub fn finish(self) -> Result<W, ReportError> {
        self.writer
            .into_inner()
            .map_err(|error| ReportError::Io(error.into_error()))
    }
}

/// The error log as one JSON array of entries, written incrementally.
#[derive(Debug)]
pub struct JsonErrorLog<W: Write> {
    destination: W,
    /// Whether an entry has been written (the next one needs a comma).
    written: bool,
}

impl<W: Write> JsonErrorLog<W> {
    /// Writes to `destination`.
    pub fn new(mut destination: W) -> Result<Self, ReportError> {
        destination.write_all(b"[")?;
        Ok(Self {
            destination,
            written: false,
        })
    }

    /// Appends the rejections of one row.
    pub fn write(&mut self, rejections: &[Rejection]) -> Result<(), ReportError> {
        for rejection in rejections {
            self.write_entry(&ErrorLogEntry::from(rejection))?;
        }
        Ok(())
    }

    /// Appends one entry (e.g. read back from a store).
    pub fn write_entry(&mut self, entry: &ErrorLogEntry) -> Result<(), ReportError> {
        self.destination
            .write_all(if self.written { b",\n  " } else { b"\n  " })?;
        serde_json::to_writer(&mut self.destination, entry)?;
        self.written = true;
        Ok(())
    }

    /// Closes the array, flushes and returns the destination.
    pub fn finish(mut self) -> Result<W, ReportError> {
        self.destination
            .write_all(if self.written { b"\n]\n" } else { b"]\n" })?;
        self.destination.flush()?;
        Ok(self.destination)
    }
}

/// The formats an error log can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorLogFormat {
    /// `line,column,value,code,message,first_line,first_list`, with a header row.
    Csv,
    /// One JSON array of entries.
    Json,
}

impl ErrorLogFormat {
    /// The format a file name asks for (`.json` → JSON, else CSV).
    pub fn of_path(path: &std::path::Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(extension) if extension.eq_ignore_ascii_case("json") => ErrorLogFormat::Json,
            _ => ErrorLogFormat::Csv,
        }
    }
}

/// An error log in either format.
#[derive(Debug)]
pub enum ErrorLog<W: Write> {
    /// As CSV (boxed: the CSV writer's buffers are large beside the JSON one).
    Csv(Box<CsvErrorLog<W>>),
    /// As JSON.
    Json(JsonErrorLog<W>),
}

impl<W: Write> ErrorLog<W> {
    /// Starts a log in `format` on `destination`.
    pub fn new(format: ErrorLogFormat, destination: W) -> Result<Self, ReportError> {
        Ok(match format {
            ErrorLogFormat::Csv => ErrorLog::Csv(Box::new(CsvErrorLog::new(destination))),
            ErrorLogFormat::Json => ErrorLog::Json(JsonErrorLog::new(destination)?),
        })
    }

    /// Appends one entry.
    pub fn write_entry(&mut self, entry: &ErrorLogEntry) -> Result<(), ReportError> {
        match self {
            ErrorLog::Csv(log) => log.write_entry(entry),
            ErrorLog::Json(log) => log.write_entry(entry),
        }
    }

    /// Ends the log and returns the destination.
    pub fn finish(self) -> Result<W, ReportError> {
        match self {
            ErrorLog::Csv(log) => (*log).finish(),
            ErrorLog::Json(log) => log.finish(),
        }
    }
}

/// Counts for the end of an import. `rows_read = imported + rejected + duplicates`: a
/// duplicate is counted apart from the rejected rows (it is also in the error log, code
/// `duplicate`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    /// Rows the importer produced (including unreadable ones).
    pub rows_read: u64,
    /// Recipients imported.
    pub imported: u64,
    /// Of those, landlines (imported, flagged).
    pub landlines: u64,
    /// Rows rejected for a reason other than being a duplicate.
    pub rejected: u64,
    /// Rejected cells by reason code (a row can have several).
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// Rows dropped as duplicates of an earlier row or a known list.
    pub duplicates: u64,
    /// Of the imported, numbers on the suppression list: imported as `opted_out`, never sent
    /// (counted by the caller that knows the list, see [`ImportSummary::record_opted_out`]).
    #[serde(default)]
    pub opted_out: u64,
}

impl ImportSummary {
    /// Counts the outcome of one row.
    pub fn record(&mut self, outcome: &Result<Recipient, Vec<Rejection>>) {
        match outcome {
            Ok(recipient) => self.record_imported(recipient),
            Err(rejections) => self.record_rejected(rejections),
        }
    }

    /// Counts an imported row.
    pub fn record_imported(&mut self, recipient: &Recipient) {
        self.rows_read += 1;
        self.imported += 1;
        if recipient.is_landline() {
            self.landlines += 1;
        }
    }

    /// Counts an imported number found on the suppression list.
    pub fn record_opted_out(&mut self) {
        self.opted_out += 1;
    }

    /// Counts a rejected row (its rejections, as returned by the normaliser).
    pub fn record_rejected(&mut self, rejections: &[Rejection]) {
        self.rows_read += 1;
        if rejections
            .iter()
            .any(|r| matches!(r.reason, Reason::Duplicate(_)))
        {
            self.duplicates += 1;
        } else {
            self.rejected += 1;
            for rejection in rejections {
                let code = rejection.reason.code();
                match self.rejected_by_reason.get_mut(code) {
                    Some(count) => *count += 1,
                    None => {
                        self.rejected_by_reason.insert(code.to_string(), 1);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedupe::FirstSeen;
    use crate::phone::PhoneRejection;

    fn rejections() -> Vec<Rejection> {
        vec![
            Rejection {
                line: 3,
                column: Some("Phone".into()),
                value: "555-1234".into(),
                reason: Reason::Phone(PhoneRejection::TooShort),
            },
            Rejection {
                line: 7,
                column: Some("Phone".into()),
                value: "416 555 1234".into(),
                reason: Reason::Duplicate(FirstSeen {
                    list: None,
                    line: 2,
                }),
            },
            Rejection::unreadable(9, "unterminated quote"),
        ]
    }

    #[test]
    fn the_csv_log_has_one_line_per_rejection() {
        let mut log = CsvErrorLog::new(Vec::new());
        log.write(&rejections()).expect("write");
        let csv = String::from_utf8(log.finish().expect("finish")).expect("utf-8");
        assert_eq!(
            csv,
            "line,column,value,code,message,first_line,first_list\n\
             3,Phone,555-1234,phone_too_short,phone number is too short,,\n\
             7,Phone,416 555 1234,duplicate,duplicate number: first seen on row 2,2,\n\
             9,,,row_unreadable,unreadable row: unterminated quote,,\n"
        );
    }

    #[test]
    fn the_json_log_is_an_array_of_entries() {
        let mut log = JsonErrorLog::new(Vec::new()).expect("start");
        let all = rejections();
        log.write(&all[..1]).expect("write");
        log.write(&all[1..]).expect("write");
        let json = String::from_utf8(log.finish().expect("finish")).expect("utf-8");
        let parsed: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(
            parsed[1],
            serde_json::json!({
                "line": 7, "column": "Phone", "value": "416 555 1234", "code": "duplicate",
                "message": "duplicate number: first seen on row 2",
                "first_line": 2, "first_list": null
            })
        );
        assert_eq!(parsed.as_array().map(Vec::len), Some(3));

        let empty = JsonErrorLog::new(Vec::new())
            .and_then(JsonErrorLog::finish)
            .expect("empty");
        assert_eq!(empty, b"[]\n");
    }

    #[test]
    fn the_summary_counts_rows_reasons_and_duplicates() {
        let mut summary = ImportSummary::default();
        let all = rejections();
        summary.record_rejected(&all[..1]);
        summary.record_rejected(&all[1..2]);
        summary.record_rejected(&all[2..]);
        assert_eq!(summary.rows_read, 3);
        assert_eq!(summary.rejected, 2);
        assert_eq!(summary.duplicates, 1);
        assert_eq!(
            serde_json::to_value(&summary).expect("json")["rejected_by_reason"],
            serde_json::json!({"phone_too_short": 1, "row_unreadable": 1})
        );
    }
}
