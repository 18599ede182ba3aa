//! What the registry tells its readers: a loaded version, each workflow's status row, and
//! what a scan changed. Everything here is `Serialize` for the API.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use switchboard_model::{Diagnostic, Workflow};

use crate::hash::ContentHash;

/// One loaded version of a workflow. Immutable: a campaign holds the `Arc` it started with,
/// whatever happens to the file afterwards.
#[derive(Debug, Clone, Serialize)]
pub struct WorkflowVersion {
    /// The workflow id.
    pub id: String,
    /// From 1; goes up by one each time the file's bytes change to another valid content.
    pub version: u64,
    /// The hash of [`source`](Self::source).
    pub hash: ContentHash,
    /// The file it was loaded from.
    pub file: PathBuf,
    /// When this version was loaded.
    pub loaded_at: DateTime<Utc>,
    /// The file's text.
    #[serde(skip)]
    pub source: Arc<str>,
    /// The parsed, validated workflow.
    #[serde(skip)]
    pub workflow: Arc<Workflow>,
    /// Warnings of this version (it has no errors).
    pub warnings: Vec<Diagnostic>,
}

impl WorkflowVersion {
    /// Campaign or conversation.
    pub fn kind(&self) -> WorkflowKind {
        WorkflowKind::of(&self.workflow)
    }
}

/// The two kinds of workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkflowKind {
    /// `kind: campaign`
    Campaign,
    /// `kind: conversation`
    Conversation,
}

impl WorkflowKind {
    /// The kind of a parsed workflow.
    pub fn of(workflow: &Workflow) -> Self {
        match workflow {
            Workflow::Campaign(_) => Self::Campaign,
            Workflow::Conversation(_) => Self::Conversation,
        }
    }

    /// The kind a `kind:` value names, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "campaign" => Some(Self::Campaign),
            "conversation" => Some(Self::Conversation),
            _ => None,
        }
    }

    /// `campaign` or `conversation`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Campaign => "campaign",
            Self::Conversation => "conversation",
        }
    }
}

/// Where a workflow stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The file on disk is the loaded version.
    Loaded,
    /// The file on disk is invalid; the last good version, if any, is still the one in use.
    Invalid,
    /// The file is gone; the last good version serves running campaigns only.
    Removed,
}

/// One row of [`WorkflowRegistry::list`](crate::WorkflowRegistry::list): a workflow, or a file
/// whose id is taken by another file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkflowStatus {
    /// The workflow id; for a file that never parsed, its `id:` if readable, else the file stem.
    pub id: String,
    /// Campaign or conversation, when known.
    pub kind: Option<WorkflowKind>,
    /// Loaded, invalid or removed.
    pub status: Status,
    /// The version in use (the last good one); none if the file was never valid.
    pub version: Option<u64>,
    /// The hash of the version in use.
    pub hash: Option<ContentHash>,
    /// The file.
    pub file: PathBuf,
    /// Why the file on disk is not loaded, each with its line and column (empty unless
    /// `invalid`).
    pub errors: Vec<Diagnostic>,
    /// When the file was first seen in its current invalid state (`invalid` only).
    pub invalid_since: Option<DateTime<Utc>>,
    /// When this row last changed (version loaded, problem seen, file removed).
    pub updated_at: DateTime<Utc>,
}

/// A version that a scan loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadedChange {
    /// The workflow id.
    pub id: String,
    /// The version now in use.
    pub version: u64,
    /// Its file.
    pub file: PathBuf,
}

/// A file that a scan found invalid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InvalidChange {
    /// The workflow id the file claims (see [`WorkflowStatus::id`]).
    pub id: String,
    /// The file.
    pub file: PathBuf,
    /// The version that stays in use, if any.
    pub kept_version: Option<u64>,
    /// What is wrong, with lines and columns.
    pub errors: Vec<Diagnostic>,
}

/// What a scan changed. Empty when nothing did: scanning twice reports a change once.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScanReport {
    /// Workflows loaded for the first time, or revived by a file declaring them again.
    pub added: Vec<LoadedChange>,
    /// Workflows whose file changed to a new valid content: a new version.
    pub updated: Vec<LoadedChange>,
    /// Workflows whose file is valid again with the content of the version in use.
    pub recovered: Vec<LoadedChange>,
    /// Files that became invalid, or whose errors changed.
    pub invalid: Vec<InvalidChange>,
    /// Workflows whose file is gone (or now declares another id).
    pub removed: Vec<String>,
    /// The directory could not be read; nothing was changed.
    pub failed: Option<String>,
}

impl ScanReport {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.updated.is_empty()
            && self.recovered.is_empty()
            && self.invalid.is_empty()
            && self.removed.is_empty()
            && self.failed.is_none()
    }
}
