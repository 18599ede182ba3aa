//! `jsonl`: an importer plugin that streams JSON Lines files into rows.
//!
//! The file arrives in chunks of any size; only the incomplete last line is
//! kept between chunks, so memory stays flat however long the file is.
//!
//! # Format
//!
//! - One JSON object per line (`\n`; `\r\n` works too, the `\r` being JSON
//!   whitespace). A UTF-8 byte order mark at the start is skipped, and so are
//!   blank lines. An empty file gives no rows and no error.
//! - Each object is a row: its members, in the order written, are the fields
//!   (see [`object`]): strings unescaped, numbers and booleans as their JSON
//!   text, `null` as an empty string. Values are otherwise raw: phone
//!   numbers, timezones and duplicates are the host's business.
//! - A line that is not an object (invalid JSON, an array, a scalar), an
//!   object with a nested value, a blank or repeated key, or more than
//!   [`object::MAX_FIELDS`] members is an error for that line, with serde's
//!   message; the next line is read normally.
//! - A line longer than `max-record-bytes` is an error for that line and is
//!   skipped without being kept.
//! - The `line` of a row or error is its 1-based line number.
//!
//! # Options
//!
//! Given with the import request and listed in `plugin.toml`'s comments and
//! description (see [`options`]):
//!
//! - `max-record-bytes`: the longest line accepted, default 1048576 (1 MiB).
//!
//! An invalid option stops the import: the first call (`push` or `finish`)
//! returns one error for line 1 naming the option, and nothing follows.

pub mod lines;
pub mod object;
pub mod options;

#[cfg(target_arch = "wasm32")]
use switchboard_plugin_sdk as sdk;
use switchboard_plugin_sdk::import::{StreamImporter, StreamParser};
use switchboard_plugin_sdk::{Row, RowError, RowResult};

use crate::lines::{Line, LineSplitter};
use crate::options::Options;

/// The JSON Lines importer: one per import. [`StreamImporter`] strips the
/// byte order mark and reports invalid options.
pub type JsonlImporter = StreamImporter<JsonlParser>;

/// The JSON Lines parser of one import, with valid options.
#[derive(Debug)]
pub struct JsonlParser {
    lines: LineSplitter,
    max_record_bytes: usize,
}

impl StreamParser for JsonlParser {
    fn with_options(options: &[(String, String)]) -> Result<Self, String> {
        let options = Options::parse(options)?;
        Ok(JsonlParser {
            lines: LineSplitter::new(options.max_record_bytes),
            max_record_bytes: options.max_record_bytes,
        })
    }

    fn consume(&mut self, input: &[u8], out: &mut Vec<RowResult>) {
        let limit = self.max_record_bytes;
        self.lines
            .push(input, |line| out.extend(result(line, limit)));
    }

    fn end(mut self, out: &mut Vec<RowResult>) {
        let limit = self.max_record_bytes;
        self.lines.finish(|line| out.extend(result(line, limit)));
    }

    /// The incomplete last line.
    fn buffered_bytes(&self) -> usize {
        self.lines.buffered_bytes()
    }
}

/// The row or error for a line; `None` for a blank line.
fn result(line: Line<'_>, max_record_bytes: usize) -> Option<RowResult> {
    match line {
        Line::TooLong { number } => Some(RowResult::Error(RowError {
            line: number,
            message: format!(
                "line is longer than max-record-bytes ({max_record_bytes} bytes); skipped"
            ),
        })),
        Line::Complete { number, text } => match object::parse_line(text) {
            Ok(None) => None,
            Ok(Some(fields)) => Some(RowResult::Row(Row {
                line: number,
                fields,
            })),
            Err(message) => Some(RowResult::Error(RowError {
                line: number,
                message,
            })),
        },
    }
}

// Only the WebAssembly build exports the component interface: the export
// names (`switchboard:plugin/importer@0.1.0#...`) cannot be linked into a
// native shared library, and natively the crate is a library for tests.
#[cfg(target_arch = "wasm32")]
sdk::export_importer!(JsonlImporter);

#[cfg(test)]
mod tests;
