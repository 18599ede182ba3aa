//! One workflow file: when it last changed on disk ([`Stamp`]), and what its bytes say
//! ([`Outcome`]). Reading and parsing happen here, outside the registry's lock.

use std::io::Read as _;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use switchboard_model::diagnostic::Position;
use switchboard_model::path::FieldPath;
use switchboard_model::{Diagnostic, Severity, Workflow};

use crate::hash::ContentHash;
use crate::status::WorkflowKind;

/// Largest workflow file parsed; a larger one is reported invalid unread.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// What a file's metadata says; when it is the same at the next scan, the file is not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    /// An editor's "write a temporary file, rename it over" gives a new inode even when the
    /// size and the modification time (coarse on some file systems) look the same.
    inode: u64,
}

impl Stamp {
    /// The stamp of `path` (following a symlink), or why there is none.
    pub(crate) fn of(path: &Path) -> std::io::Result<Self> {
        let metadata = std::fs::metadata(path)?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
        #[cfg(not(unix))]
        let inode = 0;
        Ok(Self {
            len: metadata.len(),
            modified: metadata.modified().ok(),
            inode,
        })
    }
}

/// A file as last read.
#[derive(Debug, Clone)]
pub(crate) struct FileEntry {
    /// Metadata when it was read.
    pub(crate) stamp: Stamp,
    /// Hash of the bytes read; none when they were not (too large, unreadable), so the file
    /// is looked at again at the next change.
    pub(crate) hash: Option<ContentHash>,
    /// What the bytes say.
    pub(crate) outcome: Outcome,
    /// When these bytes were first seen.
    pub(crate) seen_at: DateTime<Utc>,
}

/// What a file's bytes say.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// A valid workflow.
    Valid {
        workflow: Arc<Workflow>,
        source: Arc<str>,
        warnings: Vec<Diagnostic>,
        /// Where `id:` is, for a duplicate-id error.
        id_position: Position,
    },
    /// Not a valid workflow.
    Invalid {
        /// The `id:` of the document, when it can be read at all.
        id: Option<String>,
        /// The `kind:` of the document, when it names one.
        kind: Option<WorkflowKind>,
        /// Where `id:` is, for a duplicate-id error.
        id_position: Position,
        /// Error findings only.
        errors: Vec<Diagnostic>,
    },
}

impl Outcome {
    /// The id the file declares, if it can be read.
    pub(crate) fn declared_id(&self) -> Option<&str> {
        match self {
            Outcome::Valid { workflow, .. } => Some(workflow.id()),
            Outcome::Invalid { id, .. } => id.as_deref(),
        }
    }
}

/// What reading a file found.
#[derive(Debug)]
pub(crate) enum Read {
    /// The file is gone (deleted between the directory listing and the read).
    Vanished,
    /// The same bytes as before: the previous entry with the new stamp, not parsed again.
    Same(FileEntry),
    /// New bytes, parsed and validated.
    Changed(FileEntry),
}

/// Reads `path`, and parses it unless its bytes are those of `previous`.
pub(crate) fn read(
    path: &Path,
    stamp: Stamp,
    previous: Option<&FileEntry>,
    now: DateTime<Utc>,
) -> Read {
    let changed = |hash, outcome| {
        Read::Changed(FileEntry {
            stamp,
            hash,
            outcome,
            seen_at: now,
        })
    };
    if stamp.len > MAX_FILE_BYTES {
        return changed(None, too_large(path, stamp.len));
    }
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path)
        // One more byte than allowed: a file that grew since `stat` is still caught.
        .and_then(|file| file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes));
    match read {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Read::Vanished,
        Err(error) => changed(
            None,
            single_error(path, "unreadable", format!("cannot read the file: {error}")),
        ),
        Ok(_) if bytes.len() as u64 > MAX_FILE_BYTES => {
            changed(None, too_large(path, bytes.len() as u64))
        }
        Ok(_) => {
            let hash = ContentHash::of(&bytes);
            match previous {
                Some(previous) if previous.hash == Some(hash) => Read::Same(FileEntry {
                    stamp,
                    ..previous.clone()
                }),
                _ => changed(Some(hash), examine(path, bytes)),
            }
        }
    }
}

/// Parses and validates a file's bytes.
pub(crate) fn examine(path: &Path, bytes: Vec<u8>) -> Outcome {
    let label = path.display().to_string();
    let source = match String::from_utf8(bytes) {
        Ok(source) => source,
        Err(error) => {
            let before = &error.as_bytes()[..error.utf8_error().valid_up_to()];
            let line = before.iter().filter(|b| **b == b'\n').count() + 1;
            let column = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
            let mut outcome = single_error(path, "not-utf8", "the file is not UTF-8 text".into());
            if let Outcome::Invalid { errors, .. } = &mut outcome {
                for error in errors {
                    error.position = Position { line, column };
                    error.help = Some("save it as UTF-8".into());
                }
            }
            return outcome;
        }
    };
    let report = switchboard_model::load_source(&label, &source);
    let document = switchboard_model::yaml::parse(&source).ok();
    let id_position = document
        .as_ref()
        .map_or(Position { line: 1, column: 1 }, |d| {
            d.spans.locate(&FieldPath::root().key("id"), false)
        });
    match report.workflow {
        Some(workflow) => Outcome::Valid {
            workflow: Arc::new(workflow),
            source: source.into(),
            warnings: report.diagnostics,
            id_position,
        },
        None => {
            let field = |name: &str| {
                document
                    .as_ref()
                    .and_then(|d| d.value.get(name))
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            };
            Outcome::Invalid {
                id: field("id").filter(|id| !id.trim().is_empty()),
                kind: field("kind").and_then(|kind| WorkflowKind::from_name(&kind)),
                id_position,
                errors: report.errors().cloned().collect(),
            }
        }
    }
}

fn too_large(path: &Path, len: u64) -> Outcome {
    single_error(
        path,
        "too-large",
        format!(
            "the file is {len} bytes; workflow files are limited to {MAX_FILE_BYTES} bytes (1 MiB) and this one was not read"
        ),
    )
}

fn single_error(path: &Path, code: &'static str, message: String) -> Outcome {
    Outcome::Invalid {
        id: None,
        kind: None,
        id_position: Position { line: 1, column: 1 },
        errors: vec![Diagnostic {
            severity: Severity::Error,
            code,
            file: path.display().to_string(),
            position: Position { line: 1, column: 1 },
            path: String::new(),
            message,
            help: None,
        }],
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn binary_bytes_are_reported_with_their_position() {
        let outcome = examine(
            Path::new("w/bin.yaml"),
            b"kind: campaign\nid: \xff\xfe".to_vec(),
        );
        let Outcome::Invalid { errors, .. } = outcome else {
            panic!("binary file loaded");
        };
        assert_eq!(errors[0].code, "not-utf8");
        assert_eq!(errors[0].position, Position { line: 2, column: 5 });
    }

    #[test]
    fn an_invalid_file_still_names_its_id_and_kind() {
        let outcome = examine(
            Path::new("w/x.yaml"),
            b"kind: campaign\nid: spring\nsteps: 3\n".to_vec(),
        );
        let Outcome::Invalid {
            id,
            kind,
            id_position,
            errors,
        } = outcome
        else {
            panic!("invalid file loaded");
        };
        assert_eq!(id.as_deref(), Some("spring"));
        assert_eq!(kind, Some(WorkflowKind::Campaign));
        assert_eq!(id_position, Position { line: 2, column: 5 });
        assert!(!errors.is_empty());
        assert!(errors.iter().all(Diagnostic::is_error));
    }
}
