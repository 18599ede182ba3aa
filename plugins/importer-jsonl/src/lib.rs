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
//! Given with the import request, declared in `options-schema` in
//! `plugin.toml` (see [`options`]):
//!
//! - `max-record-bytes`: the longest line accepted, default 1048576 (1 MiB).
//!
//! An invalid option stops the import: the first call (`push` or `finish`)
//! returns one error for line 1 naming the option, and nothing follows.

pub mod bom;
pub mod lines;
pub mod object;
pub mod options;

#[cfg(target_arch = "wasm32")]
use switchboard_plugin_sdk as sdk;
use switchboard_plugin_sdk::{Importer, Row, RowError, RowResult};

use crate::bom::BomStripper;
use crate::lines::{Line, LineSplitter};
use crate::options::Options;

/// The JSON Lines importer: one per import.
#[derive(Debug)]
pub struct JsonlImporter {
    bom: BomStripper,
    state: State,
}

/// Where the import is.
#[derive(Debug)]
enum State {
    /// Reading lines.
    Reading {
        lines: LineSplitter,
        max_record_bytes: usize,
    },
    /// Stopped by an invalid option: the error, until reported.
    Failed(Option<RowError>),
    /// `finish` was called.
    Finished,
}

impl JsonlImporter {
    /// An importer with the given import options.
    pub fn with_options(options: &[(String, String)]) -> Self {
        let state = match Options::parse(options) {
            Ok(options) => State::Reading {
                lines: LineSplitter::new(options.max_record_bytes),
                max_record_bytes: options.max_record_bytes,
            },
            Err(why) => State::Failed(Some(RowError {
                line: 1,
                message: format!("invalid option {why}; nothing was imported"),
            })),
        };
        JsonlImporter {
            bom: BomStripper::default(),
            state,
        }
    }

    /// Bytes of input held between calls (the incomplete last line); for
    /// tests of flat memory.
    pub fn buffered_bytes(&self) -> usize {
        match &self.state {
            State::Reading { lines, .. } => lines.buffered_bytes(),
            State::Failed(_) | State::Finished => 0,
        }
    }

    /// Parses the next piece of the file.
    fn consume(&mut self, input: &[u8], out: &mut Vec<RowResult>) {
        match &mut self.state {
            State::Reading {
                lines,
                max_record_bytes,
            } => {
                let limit = *max_record_bytes;
                lines.push(input, |line| out.extend(result(line, limit)));
            }
            State::Failed(pending) => out.extend(pending.take().map(RowResult::Error)),
            State::Finished => {}
        }
    }

    /// Ends the file.
    fn end(&mut self, out: &mut Vec<RowResult>) {
        match &mut self.state {
            State::Reading {
                lines,
                max_record_bytes,
            } => {
                let limit = *max_record_bytes;
                lines.finish(|line| out.extend(result(line, limit)));
            }
            State::Failed(pending) => out.extend(pending.take().map(RowResult::Error)),
            State::Finished => {}
        }
        self.state = State::Finished;
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

impl Importer for JsonlImporter {
    fn new(options: Vec<(String, String)>) -> Self {
        JsonlImporter::with_options(&options)
    }

    fn push(&mut self, chunk: &[u8]) -> Vec<RowResult> {
        let mut out = Vec::new();
        let (held, rest) = self.bom.strip(chunk);
        self.consume(held, &mut out);
        self.consume(rest, &mut out);
        out
    }

    fn finish(&mut self) -> Vec<RowResult> {
        let mut out = Vec::new();
        let held = self.bom.finish();
        self.consume(held, &mut out);
        self.end(&mut out);
        out
    }
}

// Only the WebAssembly build exports the component interface: the export
// names (`switchboard:plugin/importer@0.1.0#...`) cannot be linked into a
// native shared library, and natively the crate is a library for tests.
#[cfg(target_arch = "wasm32")]
sdk::export_importer!(JsonlImporter);

#[cfg(test)]
mod tests;
