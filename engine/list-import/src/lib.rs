//! Reading a recipient file into a campaign list, the whole pipeline:
//!
//! ```text
//! file ─► size limit ─► UTF-8 check ─► line length ─► importer plugin (CSV, JSONL, yours)
//!      ─► rows ─► Runtime list import (headers, E.164, timezone, duplicates, opted-out)
//!      ─► staged ─► committed whole, or discarded whole
//! ```
//!
//! The file is read in 64 KiB chunks and every stage streams: the file is never held whole,
//! and memory grows only with the set of distinct numbers (duplicate detection). A limit, an encoding error, a plugin failure or a store error stops the
//! import and nothing of it lands; a row that is merely invalid goes to the list's error log
//! ([`write_error_log`], CSV or JSON) and the import goes on.

use std::io::{ErrorKind, Read, Write};
use std::path::Path;

pub use switchboard_import::ErrorLogFormat;
use switchboard_import::report::ReportError;
use switchboard_import::{EncodingError, ErrorLog, LimitError, Utf8Reader};
use switchboard_plugin_host::bundled::{self, Bundled};
use switchboard_plugin_host::importer::CHUNK_BYTES;
use switchboard_plugin_host::{
    CheckedManifest, CompiledPlugin, ImportRow, ImporterPlugin, InstanceConfig, PluginError,
    PluginHost,
};
use switchboard_runtime::lists::{ListImport, ListImportError, NewList};
use switchboard_runtime::records::{CampaignId, ListId, ListRecord};
use switchboard_runtime::store::{Store, StoreError};
use switchboard_runtime::{Runtime, RuntimeError};

/// Why a file was not imported. Nothing of it landed.
#[derive(Debug, thiserror::Error)]
pub enum FileImportError {
    /// The file is not UTF-8.
    #[error(transparent)]
    Encoding(#[from] EncodingError),
    /// The file exceeds a limit (size, line length, rows, columns).
    #[error(transparent)]
    Limit(#[from] LimitError),
    /// The file has no bytes at all.
    #[error("the file is empty (0 bytes); nothing was imported")]
    Empty,
    /// The file could not be read.
    #[error("reading the file: {0}")]
    Read(#[source] std::io::Error),
    /// The importer plugin failed (trapped, ran out of time, answered garbage).
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// The runtime refused the list or the store failed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

impl FileImportError {
    /// The runtime's list import error, when the runtime refused or stopped the list (its
    /// header row, no rows, too many rows or columns, its campaign, the store): the error
    /// under [`FileImportError::Runtime`] and [`RuntimeError::List`].
    pub fn list_error(&self) -> Option<&ListImportError> {
        match self {
            FileImportError::Runtime(RuntimeError::List(error)) => Some(error),
            _ => None,
        }
    }
}

/// How far an import has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes of the file read.
    pub bytes: u64,
    /// The file's size, when known.
    pub total_bytes: Option<u64>,
    /// Rows read (valid or not).
    pub rows: u64,
}

/// The file formats the bundled importers read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Comma-, semicolon-, tab- or pipe-separated values with a header row.
    Csv,
    /// One JSON object per line.
    JsonLines,
}

impl FileFormat {
    /// The format a file name suggests (`.jsonl`/`.ndjson` → JSON lines, else CSV).
    pub fn of_path(path: &Path) -> Self {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("jsonl" | "ndjson") => FileFormat::JsonLines,
            _ => FileFormat::Csv,
        }
    }

    /// The bundled importer plugin for the format.
    pub fn bundled(self) -> Bundled {
        match self {
            FileFormat::Csv => bundled::IMPORTER_CSV,
            FileFormat::JsonLines => bundled::IMPORTER_JSONL,
        }
    }
}

/// Compiles and configures a bundled importer plugin.
pub fn bundled_importer(
    host: &PluginHost,
    format: FileFormat,
) -> Result<ImporterPlugin, PluginError> {
    let bundled = format.bundled();
    let manifest = CheckedManifest::parse("bundled importer plugin.toml", bundled.manifest)?;
    let compiled = CompiledPlugin::compile(host, manifest, bundled.component)?;
    ImporterPlugin::new(host, &compiled, &InstanceConfig::default())
}

/// A recipient file and how to read it.
#[derive(Debug)]
pub struct ListFile<'a, R> {
    /// The importer plugin that parses it.
    pub importer: &'a ImporterPlugin,
    /// The importer's options (e.g. `delimiter`).
    pub options: &'a [(String, String)],
    /// The file's bytes.
    pub input: R,
    /// Its size, when known (for progress).
    pub total_bytes: Option<u64>,
}

/// Imports `file` as a new list of `campaign`, reporting progress after every chunk. The
/// list lands whole (its valid rows, with its error log) or not at all.
pub fn import_file<R: Read>(
    runtime: &mut Runtime,
    campaign: CampaignId,
    list: NewList,
    file: ListFile<'_, R>,
    progress: &mut dyn FnMut(Progress),
) -> Result<ListRecord, FileImportError> {
    let limits = list.limits;
    let mut import = runtime.begin_list(campaign, list)?;
    let reader = limits.line_reader(Utf8Reader::new(limits.reader(file.input)));
    let fed = feed(
        &mut import,
        file.importer,
        file.options,
        reader,
        file.total_bytes,
        progress,
    );
    match fed {
        Ok(()) => Ok(runtime.commit_list(import)?),
        Err(error) => {
            runtime.abort_list(import)?;
            Err(error)
        }
    }
}

/// Streams the file through the importer into the list import.
fn feed(
    import: &mut ListImport,
    importer: &ImporterPlugin,
    options: &[(String, String)],
    mut reader: impl Read,
    total_bytes: Option<u64>,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), FileImportError> {
    let mut session = importer.open(options)?;
    let mut buffer = vec![0; CHUNK_BYTES];
    let mut bytes = 0u64;
    let mut rows = 0u64;
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            Err(error) => return Err(classify(error)),
        };
        bytes += read as u64;
        for row in session.push(&buffer[..read])? {
            push(import, row)?;
            rows += 1;
        }
        progress(Progress {
            bytes,
            total_bytes,
            rows,
        });
    }
    if bytes == 0 {
        return Err(FileImportError::Empty);
    }
    for row in session.finish()? {
        push(import, row)?;
        rows += 1;
    }
    progress(Progress {
        bytes,
        total_bytes,
        rows,
    });
    Ok(())
}

fn push(import: &mut ListImport, row: ImportRow) -> Result<(), FileImportError> {
    let outcome = match row {
        ImportRow::Row { line, fields } => import.push_row(line, fields),
        ImportRow::Error { line, message } => import.push_unreadable(line, &message),
    };
    outcome.map_err(|error| FileImportError::Runtime(error.into()))
}

/// A read error: a limit or an encoding error raised by the checking readers, else I/O.
fn classify(error: std::io::Error) -> FileImportError {
    if error.kind() != ErrorKind::InvalidData {
        return FileImportError::Read(error);
    }
    let Some(inner) = error.get_ref() else {
        return FileImportError::Read(error);
    };
    if let Some(limit) = inner.downcast_ref::<LimitError>() {
        return FileImportError::Limit(limit.clone());
    }
    if let Some(encoding) = inner.downcast_ref::<EncodingError>() {
        return FileImportError::Encoding(encoding.clone());
    }
    FileImportError::Read(error)
}

/// Why an error log could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ErrorLogError {
    /// Reading the log from the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing it failed.
    #[error(transparent)]
    Write(#[from] ReportError),
}

/// Writes the error log of a list import (every rejected row: line, column, value, reason;
/// duplicates with the row and list of the first occurrence). Returns the entries written.
pub fn write_error_log(
    store: &Store,
    campaign: CampaignId,
    list: ListId,
    format: ErrorLogFormat,
    destination: impl Write,
) -> Result<u64, ErrorLogError> {
    let mut log = ErrorLog::new(format, destination)?;
    let mut written = 0;
    for entry in store.rejections(campaign, list) {
        log.write_entry(&entry?)?;
        written += 1;
    }
    log.finish()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_follow_the_file_name() {
        assert_eq!(FileFormat::of_path(Path::new("a.CSV")), FileFormat::Csv);
        assert_eq!(FileFormat::of_path(Path::new("a.txt")), FileFormat::Csv);
        assert_eq!(
            FileFormat::of_path(Path::new("a.ndjson")),
            FileFormat::JsonLines
        );
        assert_eq!(
            ErrorLogFormat::of_path(Path::new("errors.JSON")),
            ErrorLogFormat::Json
        );
        assert_eq!(
            ErrorLogFormat::of_path(Path::new("errors.csv")),
            ErrorLogFormat::Csv
        );
    }

    #[test]
    fn limit_and_encoding_errors_are_told_apart_from_io() {
        let limit = std::io::Error::new(
            ErrorKind::InvalidData,
            LimitError::FileTooLarge { limit: 1 },
        );
        assert!(matches!(classify(limit), FileImportError::Limit(_)));
        let encoding = std::io::Error::new(ErrorKind::InvalidData, EncodingError::Utf16("x"));
        assert!(matches!(classify(encoding), FileImportError::Encoding(_)));
        let io = std::io::Error::other("disk");
        assert!(matches!(classify(io), FileImportError::Read(_)));
    }

    #[test]
    fn the_runtimes_list_error_is_reached_through_the_wrapping() {
        let rows = FileImportError::Runtime(
            ListImportError::Limit(LimitError::TooManyRows { limit: 1, line: 3 }).into(),
        );
        assert!(matches!(
            rows.list_error(),
            Some(ListImportError::Limit(LimitError::TooManyRows {
                limit: 1,
                line: 3
            }))
        ));
        let size = FileImportError::Limit(LimitError::FileTooLarge { limit: 1 });
        assert!(size.list_error().is_none());
        assert!(FileImportError::Empty.list_error().is_none());
    }
}
