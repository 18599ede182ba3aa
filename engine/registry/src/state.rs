//! The registry's state — every file as last read, every workflow id with its last good
//! version — and [`State::reconcile`], which turns a new set of files into the next state and
//! the report of what changed.
//!
//! Ownership of an id: the file that held it keeps it, as long as it still claims it (even
//! while broken: its last good version is what runs). An id nobody held goes to the first
//! valid file claiming it, else the first file (by path). Every other claimant is a *stray*:
//! listed, invalid, with a `duplicate-id` error naming the owner. A broken file claims the id
//! it last loaded; failing that the `id:` it declares; failing that its file stem.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use switchboard_model::{Diagnostic, Severity};

use crate::file::{FileEntry, Outcome};
use crate::hash::ContentHash;
use crate::status::{
    InvalidChange, LoadedChange, ScanReport, Status, WorkflowKind, WorkflowStatus, WorkflowVersion,
};

/// A snapshot of the registry. Never edited once published: a scan builds the next one.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// Every workflow file in the directory, as last read.
    pub(crate) files: BTreeMap<PathBuf, FileEntry>,
    /// Workflows by id: the ones a file holds, and the removed ones with a last good version.
    pub(crate) workflows: BTreeMap<String, Entry>,
    /// Files whose id is held by another file.
    pub(crate) strays: BTreeMap<PathBuf, Stray>,
}

/// A workflow id and what the registry knows of it.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) id: String,
    /// The file holding the id (for a removed workflow: the one that last held it).
    pub(crate) file: PathBuf,
    /// Invariant: only ever replaced by a version loaded from a valid file.
    pub(crate) last_good: Option<Arc<WorkflowVersion>>,
    /// The file on disk is invalid: its errors, and when its bytes were first seen.
    pub(crate) problem: Option<(Vec<Diagnostic>, DateTime<Utc>)>,
    /// The kind the file declares, when it never loaded.
    pub(crate) kind_hint: Option<WorkflowKind>,
    pub(crate) removed: bool,
    /// Whether a new campaign may start on `last_good`. False for a removed workflow, and for
    /// one whose file came back broken after removal: the operator retired that version.
    pub(crate) startable: bool,
    pub(crate) updated_at: DateTime<Utc>,
}

/// A file claiming an id that another file holds.
#[derive(Debug, Clone)]
pub(crate) struct Stray {
    pub(crate) id: String,
    pub(crate) kind: Option<WorkflowKind>,
    pub(crate) errors: Vec<Diagnostic>,
    pub(crate) since: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
}

impl Entry {
    pub(crate) fn status(&self) -> WorkflowStatus {
        let status = if self.removed {
            Status::Removed
        } else if self.problem.is_some() {
            Status::Invalid
        } else {
            Status::Loaded
        };
        WorkflowStatus {
            id: self.id.clone(),
            kind: self
                .last_good
                .as_ref()
                .map(|version| version.kind())
                .or(self.kind_hint),
            status,
            version: self.last_good.as_ref().map(|v| v.version),
            hash: self.last_good.as_ref().map(|v| v.hash),
            file: self.file.clone(),
            errors: self
                .problem
                .as_ref()
                .map(|(errors, _)| errors.clone())
                .unwrap_or_default(),
            invalid_since: self.problem.as_ref().map(|(_, since)| *since),
            updated_at: self.updated_at,
        }
    }

    /// What a reader can see, for deciding whether the row changed.
    fn same_as(&self, other: &Entry) -> bool {
        let version = |e: &Entry| e.last_good.as_ref().map(|v| (v.version, v.hash));
        self.removed == other.removed
            && self.file == other.file
            && version(self) == version(other)
            && self.problem == other.problem
            && self.kind_hint == other.kind_hint
            && self.startable == other.startable
    }
}

impl Stray {
    pub(crate) fn status(&self, file: &Path) -> WorkflowStatus {
        WorkflowStatus {
            id: self.id.clone(),
            kind: self.kind,
            status: Status::Invalid,
            version: None,
            hash: None,
            file: file.to_path_buf(),
            errors: self.errors.clone(),
            invalid_since: Some(self.since),
            updated_at: self.updated_at,
        }
    }
}

impl State {
    /// The next state for the files now on disk, and what changed.
    pub(crate) fn reconcile(
        &self,
        files: BTreeMap<PathBuf, FileEntry>,
        now: DateTime<Utc>,
    ) -> (State, ScanReport) {
        // Which files claim which id; paths are visited in order, so candidates are sorted.
        let mut claims: BTreeMap<String, Vec<&Path>> = BTreeMap::new();
        for (path, file) in &files {
            claims
                .entry(self.claim(path, &file.outcome))
                .or_default()
                .push(path);
        }

        let mut workflows = BTreeMap::new();
        let mut strays = BTreeMap::new();
        for (id, candidates) in &claims {
            let previous = self.workflows.get(id);
            let held_by = previous
                .filter(|entry| !entry.removed)
                .map(|entry| entry.file.as_path())
                .filter(|file| candidates.contains(file));
            let valid = |path: &&Path| {
                files
                    .get(*path)
                    .is_some_and(|f| matches!(f.outcome, Outcome::Valid { .. }))
            };
            let Some(owner) = held_by
                .or_else(|| candidates.iter().copied().find(valid))
                .or_else(|| candidates.first().copied())
            else {
                continue;
            };
            let Some(owner_file) = files.get(owner) else {
                continue;
            };
            let mut entry = Self::entry(id, owner, owner_file, previous, now);
            entry.updated_at = match previous {
                Some(previous) if previous.same_as(&entry) => previous.updated_at,
                _ => now,
            };
            workflows.insert(id.clone(), entry);

            for stray_path in candidates.iter().filter(|path| **path != owner) {
                let Some(file) = files.get(*stray_path) else {
                    continue;
                };
                let mut stray = Self::stray(id, stray_path, owner, file);
                stray.updated_at = match self.strays.get(*stray_path) {
                    Some(old) if old.id == stray.id && old.errors == stray.errors => old.updated_at,
                    _ => now,
                };
                strays.insert(stray_path.to_path_buf(), stray);
            }
        }
        // Ids no file claims any more: removed, if they ever loaded.
        for (id, old) in &self.workflows {
            if workflows.contains_key(id) || old.last_good.is_none() {
                continue;
            }
            let mut entry = old.clone();
            entry.problem = None;
            entry.startable = false;
            if !old.removed {
                entry.removed = true;
                entry.updated_at = now;
            }
            workflows.insert(id.clone(), entry);
        }

        let next = State {
            files,
            workflows,
            strays,
        };
        let report = next.changes_since(self);
        (next, report)
    }

    /// The id a file claims (see the module doc).
    fn claim(&self, path: &Path, outcome: &Outcome) -> String {
        if let Outcome::Valid { workflow, .. } = outcome {
            return workflow.id().to_string();
        }
        let held = self
            .workflows
            .values()
            .find(|entry| !entry.removed && entry.file == path && entry.last_good.is_some());
        if let Some(entry) = held {
            return entry.id.clone();
        }
        if let Some(id) = outcome.declared_id() {
            return id.to_string();
        }
        path.file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The entry of `id` now that `owner` holds it; `updated_at` is set by the caller.
    fn entry(
        id: &str,
        owner: &Path,
        file: &FileEntry,
        previous: Option<&Entry>,
        now: DateTime<Utc>,
    ) -> Entry {
        let last_good = previous.and_then(|entry| entry.last_good.clone());
        let was_startable = previous.is_some_and(|entry| !entry.removed && entry.startable);
        let (last_good, problem, kind_hint, startable) = match &file.outcome {
            Outcome::Valid {
                workflow,
                source,
                warnings,
                ..
            } => {
                let hash = file.hash.unwrap_or(ContentHash(0));
                let version = match last_good {
                    // Same bytes, same version; only the path may have changed (a move).
                    Some(last) if last.hash == hash => {
                        if last.file == owner {
                            last
                        } else {
                            Arc::new(WorkflowVersion {
                                file: owner.to_path_buf(),
                                ..(*last).clone()
                            })
                        }
                    }
                    last => Arc::new(WorkflowVersion {
                        id: id.to_string(),
                        version: last.map_or(1, |last| last.version + 1),
                        hash,
                        file: owner.to_path_buf(),
                        loaded_at: now,
                        source: Arc::clone(source),
                        workflow: Arc::clone(workflow),
                        warnings: warnings.clone(),
                    }),
                };
                (Some(version), None, None, true)
            }
            Outcome::Invalid { kind, errors, .. } => (
                last_good,
                Some((errors.clone(), file.seen_at)),
                *kind,
                was_startable,
            ),
        };
        Entry {
            id: id.to_string(),
            file: owner.to_path_buf(),
            last_good,
            problem,
            kind_hint,
            removed: false,
            startable,
            updated_at: now,
        }
    }

    /// A file claiming `id`, which `owner` holds.
    fn stray(id: &str, path: &Path, owner: &Path, file: &FileEntry) -> Stray {
        let (kind, mut errors, id_position) = match &file.outcome {
            Outcome::Valid {
                workflow,
                id_position,
                ..
            } => (Some(WorkflowKind::of(workflow)), Vec::new(), *id_position),
            Outcome::Invalid {
                kind,
                errors,
                id_position,
                ..
            } => (*kind, errors.clone(), *id_position),
        };
        // A file that only claims the id by its stem does not declare it: no duplicate.
        if file.outcome.declared_id() == Some(id) {
            errors.push(Diagnostic {
                severity: Severity::Error,
                code: "duplicate-id",
                file: path.display().to_string(),
                position: id_position,
                path: "id".into(),
                message: format!(
                    "workflow id `{id}` is already used by {}; this file is not loaded",
                    owner.display()
                ),
                help: Some(
                    "workflow ids must be unique in the directory: the file that had the id first keeps it"
                        .into(),
                ),
            });
        }
        Stray {
            id: id.to_string(),
            kind,
            errors,
            since: file.seen_at,
            updated_at: file.seen_at,
        }
    }

    /// What differs between `before` and this state, for the operator.
    fn changes_since(&self, before: &State) -> ScanReport {
        let mut report = ScanReport::default();
        for (id, entry) in &self.workflows {
            let old = before.workflows.get(id);
            let old_version = old
                .filter(|old| !old.removed)
                .and_then(|old| old.last_good.as_ref())
                .map(|v| v.version);
            let loaded = |version: &WorkflowVersion| LoadedChange {
                id: id.clone(),
                version: version.version,
                file: entry.file.clone(),
            };
            if entry.removed {
                if old.is_some_and(|old| !old.removed) {
                    report.removed.push(id.clone());
                }
            } else if let Some((errors, _)) = &entry.problem {
                let errors_before = old
                    .filter(|old| !old.removed)
                    .and_then(|old| old.problem.as_ref())
                    .map(|(errors, _)| errors);
                if errors_before != Some(errors) {
                    report.invalid.push(InvalidChange {
                        id: id.clone(),
                        file: entry.file.clone(),
                        kept_version: entry.last_good.as_ref().map(|v| v.version),
                        errors: errors.clone(),
                    });
                }
            } else if let Some(version) = &entry.last_good {
                match old_version {
                    None => report.added.push(loaded(version)),
                    Some(before) if before != version.version => {
                        report.updated.push(loaded(version));
                    }
                    Some(_) if old.is_some_and(|old| old.problem.is_some()) => {
                        report.recovered.push(loaded(version));
                    }
                    Some(_) => {}
                }
            }
        }
        // A never-loaded file that is gone leaves the listing: say so.
        for (id, old) in &before.workflows {
            if !old.removed && !self.workflows.contains_key(id) {
                report.removed.push(id.clone());
            }
        }
        for (path, stray) in &self.strays {
            let same = before
                .strays
                .get(path)
                .is_some_and(|old| old.id == stray.id && old.errors == stray.errors);
            if !same {
                report.invalid.push(InvalidChange {
                    id: stray.id.clone(),
                    file: path.clone(),
                    kept_version: None,
                    errors: stray.errors.clone(),
                });
            }
        }
        report.removed.sort();
        report
    }

    /// Every row: one per workflow, one per stray file; by id, then file.
    pub(crate) fn rows(&self) -> Vec<WorkflowStatus> {
        let mut rows: Vec<WorkflowStatus> = self
            .workflows
            .values()
            .map(Entry::status)
            .chain(self.strays.iter().map(|(path, stray)| stray.status(path)))
            .collect();
        rows.sort_by(|a, b| (&a.id, &a.file).cmp(&(&b.id, &b.file)));
        rows
    }
}
