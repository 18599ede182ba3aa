//! Building blocks for importer plugins: the plumbing every streaming parser
//! needs around its format.
//!
//! - [`BomStripper`] removes the UTF-8 byte order mark that spreadsheet
//!   programs put at the start of exported files, even when it arrives split
//!   across chunks.
//! - [`parse_max_record_bytes`] reads the `max-record-bytes` import option
//!   (the cap on one record or line), with the error text the importers
//!   share.
//! - [`StreamImporter`] turns a [`StreamParser`] (the format-specific part)
//!   into an [`Importer`]: it strips the byte order mark, reports invalid
//!   options once for line 1, and ignores calls after `finish`.
//!
//! ```
//! use switchboard_plugin_sdk::import::{StreamImporter, StreamParser};
//! use switchboard_plugin_sdk::{Importer, Row, RowResult};
//!
//! /// Counts the bytes of the file, BOM excluded.
//! #[derive(Debug)]
//! struct ByteCounter(u64);
//!
//! impl StreamParser for ByteCounter {
//!     fn with_options(_options: &[(String, String)]) -> Result<Self, String> {
//!         Ok(ByteCounter(0))
//!     }
//!
//!     fn consume(&mut self, input: &[u8], _out: &mut Vec<RowResult>) {
//!         self.0 += input.len() as u64;
//!     }
//!
//!     fn end(self, out: &mut Vec<RowResult>) {
//!         out.push(RowResult::Row(Row { line: 1, fields: vec![("bytes".into(), self.0.to_string())] }));
//!     }
//!
//!     fn buffered_bytes(&self) -> usize {
//!         0
//!     }
//! }
//!
//! let mut importer = StreamImporter::<ByteCounter>::new(Vec::new());
//! assert!(importer.push(b"\xEF\xBB").is_empty());
//! assert!(importer.push(b"\xBFabc").is_empty());
//! let rows = importer.finish();
//! assert!(matches!(&rows[..], [RowResult::Row(row)] if row.fields[0].1 == "3"));
//! assert!(importer.finish().is_empty());
//! ```

use crate::{Importer, RowError, RowResult};

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

/// The key of the import option that caps one record (or line).
pub const MAX_RECORD_BYTES_OPTION: &str = "max-record-bytes";

/// Default cap on one record (or line): 1 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1 << 20;

/// Largest `max-record-bytes` accepted: 64 MiB.
pub const MAX_MAX_RECORD_BYTES: usize = 64 << 20;

/// Parses the value of the `max-record-bytes` import option: a whole number
/// of bytes, from 1 to [`MAX_MAX_RECORD_BYTES`], surrounding white space
/// ignored; blank means [`DEFAULT_MAX_RECORD_BYTES`]. The error names the
/// option: `max-record-bytes: "..." is not a whole number from 1 to ...`.
pub fn parse_max_record_bytes(value: &str) -> Result<usize, String> {
    let text = value.trim();
    if text.is_empty() {
        return Ok(DEFAULT_MAX_RECORD_BYTES);
    }
    match text.parse::<usize>() {
        Ok(bytes) if (1..=MAX_MAX_RECORD_BYTES).contains(&bytes) => Ok(bytes),
        _ => Err(format!(
            "{MAX_RECORD_BYTES_OPTION}: {value:?} is not a whole number from 1 to {MAX_MAX_RECORD_BYTES}"
        )),
    }
}

/// The format-specific part of an importer: a parser fed the file in pieces
/// of any size, without its byte order mark. [`StreamImporter`] drives it.
pub trait StreamParser: Sized {
    /// Creates the parser for one import from the import's options, or says
    /// which option is invalid and why, starting with the option's key
    /// (`delimiter: ... is not ...`).
    fn with_options(options: &[(String, String)]) -> Result<Self, String>;

    /// Parses the next piece of the file, pushing the rows and errors it
    /// completes to `out`. A piece may end anywhere, even inside a UTF-8
    /// character: keep the rest for later.
    fn consume(&mut self, input: &[u8], out: &mut Vec<RowResult>);

    /// Ends the file, pushing the remaining rows and errors to `out`.
    fn end(self, out: &mut Vec<RowResult>);

    /// Bytes of input held between calls; for tests of flat memory.
    fn buffered_bytes(&self) -> usize;
}

/// An [`Importer`] made of a [`StreamParser`]: strips a leading UTF-8 byte
/// order mark, turns invalid options into one error for line 1 (returned by
/// the first call, `push` or `finish`; nothing else is imported), and
/// returns nothing for calls after `finish`.
#[derive(Debug)]
pub struct StreamImporter<P> {
    bom: BomStripper,
    stage: Stage<P>,
}

/// Where a [`StreamImporter`] is.
#[derive(Debug)]
enum Stage<P> {
    /// Parsing the file.
    Parsing(P),
    /// Refused by an invalid option: the error, until reported.
    Refused(Option<RowError>),
    /// `finish` was called.
    Finished,
}

impl<P: StreamParser> StreamImporter<P> {
    /// An importer with the given import options.
    pub fn with_options(options: &[(String, String)]) -> Self {
        let stage = match P::with_options(options) {
            Ok(parser) => Stage::Parsing(parser),
            Err(why) => Stage::Refused(Some(RowError {
                line: 1,
                message: format!("invalid option {why}; nothing was imported"),
            })),
        };
        StreamImporter {
            bom: BomStripper::default(),
            stage,
        }
    }

    /// Bytes of input the parser holds between calls; for tests of flat
    /// memory.
    pub fn buffered_bytes(&self) -> usize {
        match &self.stage {
            Stage::Parsing(parser) => parser.buffered_bytes(),
            Stage::Refused(_) | Stage::Finished => 0,
        }
    }
}

impl<P: StreamParser + 'static> Importer for StreamImporter<P> {
    fn new(options: Vec<(String, String)>) -> Self {
        StreamImporter::with_options(&options)
    }

    fn push(&mut self, chunk: &[u8]) -> Vec<RowResult> {
        let mut out = Vec::new();
        match &mut self.stage {
            Stage::Parsing(parser) => {
                let (held, rest) = self.bom.strip(chunk);
                parser.consume(held, &mut out);
                parser.consume(rest, &mut out);
            }
            Stage::Refused(pending) => out.extend(pending.take().map(RowResult::Error)),
            Stage::Finished => {}
        }
        out
    }

    fn finish(&mut self) -> Vec<RowResult> {
        let mut out = Vec::new();
        match std::mem::replace(&mut self.stage, Stage::Finished) {
            Stage::Parsing(mut parser) => {
                parser.consume(self.bom.finish(), &mut out);
                parser.end(&mut out);
            }
            Stage::Refused(pending) => out.extend(pending.map(RowResult::Error)),
            Stage::Finished => {}
        }
        out
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

    #[test]
    fn max_record_bytes_values() {
        assert_eq!(parse_max_record_bytes(" "), Ok(DEFAULT_MAX_RECORD_BYTES));
        assert_eq!(parse_max_record_bytes(" 4096 "), Ok(4096));
        assert_eq!(parse_max_record_bytes("67108864"), Ok(MAX_MAX_RECORD_BYTES));
        assert_eq!(
            parse_max_record_bytes("lots"),
            Err(r#"max-record-bytes: "lots" is not a whole number from 1 to 67108864"#.into())
        );
        for value in ["0", "-1", "1k", "1MB", "67108865"] {
            let why = parse_max_record_bytes(value).expect_err("invalid");
            assert!(why.starts_with("max-record-bytes: "), "{why}");
        }
    }

    /// One row per piece consumed, its bytes as the field `piece`; refuses
    /// the option `fail`.
    #[derive(Debug)]
    struct Pieces;

    impl StreamParser for Pieces {
        fn with_options(options: &[(String, String)]) -> Result<Self, String> {
            match options.iter().find(|(key, _)| key == "fail") {
                Some((_, value)) => Err(format!("fail: {value:?} is refused")),
                None => Ok(Pieces),
            }
        }

        fn consume(&mut self, input: &[u8], out: &mut Vec<RowResult>) {
            out.push(RowResult::Row(crate::Row {
                line: 1,
                fields: vec![("piece".into(), String::from_utf8_lossy(input).into())],
            }));
        }

        fn end(self, out: &mut Vec<RowResult>) {
            out.push(RowResult::Row(crate::Row {
                line: 2,
                fields: vec![("end".into(), String::new())],
            }));
        }

        fn buffered_bytes(&self) -> usize {
            7
        }
    }

    /// The `piece` values, and `<end>` for the end.
    fn pieces(results: &[RowResult]) -> Vec<String> {
        results
            .iter()
            .map(|result| match result {
                RowResult::Row(row) if row.fields[0].0 == "end" => "<end>".to_string(),
                RowResult::Row(row) => row.fields[0].1.clone(),
                RowResult::Error(e) => format!("{}! {}", e.line, e.message),
            })
            .collect()
    }

    #[test]
    fn the_parser_sees_the_file_without_its_mark() {
        let mut importer = StreamImporter::<Pieces>::new(Vec::new());
        assert_eq!(importer.buffered_bytes(), 7);
        assert_eq!(pieces(&importer.push(b"\xEF\xBB")), ["", ""]);
        assert_eq!(pieces(&importer.push(b"\xBFa")), ["", "a"]);
        assert_eq!(pieces(&importer.finish()), ["", "<end>"]);
        assert_eq!(importer.buffered_bytes(), 0);
        assert!(importer.push(b"b").is_empty());
        assert!(importer.finish().is_empty());
        let mut importer = StreamImporter::<Pieces>::new(Vec::new());
        assert_eq!(pieces(&importer.push(b"\xEF")), ["", ""]);
        assert_eq!(pieces(&importer.finish()), ["\u{FFFD}", "<end>"]);
    }

    #[test]
    fn an_invalid_option_is_reported_once_for_line_1() {
        let options = vec![("fail".to_string(), "x".to_string())];
        let mut importer = StreamImporter::<Pieces>::new(options.clone());
        assert_eq!(importer.buffered_bytes(), 0);
        assert_eq!(
            pieces(&importer.push(b"a")),
            [r#"1! invalid option fail: "x" is refused; nothing was imported"#]
        );
        assert!(importer.push(b"b").is_empty());
        assert!(importer.finish().is_empty());
        let mut importer = StreamImporter::<Pieces>::new(options);
        assert_eq!(importer.finish().len(), 1);
        assert!(importer.finish().is_empty());
    }
}
