//! [`WorkflowRegistry`]: the workflow directory as the daemon sees it — the last good version
//! of each workflow, what is wrong with the files on disk, and scans that bring it up to date.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use chrono::Utc;
use switchboard_model::FileReport;
use switchboard_model::diagnostic::Position;
use switchboard_model::loader::{LoadError, workflow_files};
use switchboard_model::{Diagnostic, Severity};

use crate::error::RegistryError;
use crate::file::{self, MAX_FILE_BYTES, Read, Stamp};
use crate::state::State;
use crate::status::{ScanReport, Status, WorkflowKind, WorkflowStatus, WorkflowVersion};

/// The workflows of one directory (`*.yaml`, `*.yml`, not recursive), versioned.
///
/// Concurrency: readers clone the current snapshot's `Arc` under a read lock held for a
/// pointer copy, so they never wait for a scan. A scan reads, parses and reconciles without
/// that lock and takes the write lock only to publish the next snapshot.
#[derive(Debug)]
pub struct WorkflowRegistry {
    dir: PathBuf,
    /// The published snapshot; replaced whole, never edited in place.
    state: RwLock<Arc<State>>,
    /// Held for a whole scan: scans run one at a time, so the snapshot a scan starts from is
    /// still the current one when it publishes its successor.
    scanning: Mutex<()>,
}

impl WorkflowRegistry {
    /// Opens `dir` and loads every workflow file in it. Broken files are listed with their
    /// errors; only an unreadable directory is an error.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, RegistryError> {
        let registry = Self {
            dir: dir.into(),
            state: RwLock::new(Arc::new(State::default())),
            scanning: Mutex::new(()),
        };
        registry.scan().map_err(|source| RegistryError::ReadDir {
            dir: registry.dir.clone(),
            source,
        })?;
        Ok(registry)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Brings the registry up to date with the directory and says what changed. Files whose
    /// size, modification time and inode are unchanged are not read; files whose bytes are
    /// unchanged are not parsed. An unreadable directory changes nothing (`failed` says why).
    pub fn rescan(&self) -> ScanReport {
        self.scan().unwrap_or_else(|error| ScanReport {
            failed: Some(format!(
                "cannot read the workflow directory {}: {error}",
                self.dir.display()
            )),
            ..ScanReport::default()
        })
    }

    fn scan(&self) -> Result<ScanReport, std::io::Error> {
        let _scanning = self.scanning.lock().unwrap_or_else(PoisonError::into_inner);
        let before = self.snapshot();
        let now = Utc::now();
        let paths = workflow_files(&self.dir).map_err(|LoadError::Read { source, .. }| source)?;

        // `None`: the stamp is unchanged, the previous entry stands.
        let mut reads = Vec::with_capacity(paths.len());
        for path in paths {
            let previous = before.files.get(&path);
            let Ok(stamp) = Stamp::of(&path) else {
                // Gone since the listing: absent, like a deleted file.
                continue;
            };
            if previous.is_some_and(|previous| previous.stamp == stamp) {
                reads.push((path, None));
                continue;
            }
            match file::read(&path, stamp, previous, now) {
                Read::Vanished => {}
                Read::Same(entry) | Read::Changed(entry) => reads.push((path, Some(entry))),
            }
        }
        // `reads` is sorted by path, as the listing is.
        let deleted = before
            .files
            .keys()
            .any(|path| reads.binary_search_by(|(p, _)| p.cmp(path)).is_err());
        let touched = reads.iter().any(|(_, entry)| entry.is_some());
        if !deleted && !touched {
            return Ok(ScanReport::default());
        }

        let mut files = BTreeMap::new();
        for (path, entry) in reads {
            let entry = match entry {
                Some(entry) => entry,
                None => match before.files.get(&path) {
                    Some(entry) => entry.clone(),
                    None => continue,
                },
            };
            files.insert(path, entry);
        }
        let (next, report) = before.reconcile(files, now);
        *self.state.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        Ok(report)
    }

    fn snapshot(&self) -> Arc<State> {
        Arc::clone(&self.state.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Every workflow, and every file whose id another file holds; by id, then file.
    pub fn list(&self) -> Vec<WorkflowStatus> {
        self.snapshot().rows()
    }

    /// The status of workflow `id`.
    pub fn get(&self, id: &str) -> Option<WorkflowStatus> {
        self.snapshot()
            .workflows
            .get(id)
            .map(|entry| entry.status())
    }

    /// The last good version of `id`, whatever its status (a removed workflow's too): what a
    /// running campaign that lost its handle would look up.
    pub fn last_good(&self, id: &str) -> Option<Arc<WorkflowVersion>> {
        self.snapshot()
            .workflows
            .get(id)
            .and_then(|entry| entry.last_good.clone())
    }

    /// The version a new campaign of workflow `id` starts with: the last good one. A file that
    /// is broken now does not stop it (its last good version is the one in use); a workflow
    /// that never loaded, was removed (even if a broken file declares it again), or is a
    /// conversation workflow does.
    pub fn get_for_new_campaign(&self, id: &str) -> Result<Arc<WorkflowVersion>, RegistryError> {
        let state = self.snapshot();
        let entry = state
            .workflows
            .get(id)
            .ok_or_else(|| RegistryError::NotFound { id: id.into() })?;
        let status = entry.status();
        let Some(version) = &entry.last_good else {
            let first_error = status
                .errors
                .first()
                .map_or_else(|| "no details".to_string(), one_line);
            return Err(RegistryError::NeverValid {
                id: id.into(),
                file: entry.file.clone(),
                first_error,
            });
        };
        if status.status == Status::Removed {
            return Err(RegistryError::Removed {
                id: id.into(),
                file: entry.file.clone(),
            });
        }
        if !entry.startable {
            return Err(RegistryError::Retired {
                id: id.into(),
                file: entry.file.clone(),
                first_error: status.errors.first().map_or_else(String::new, one_line),
            });
        }
        match version.kind() {
            WorkflowKind::Campaign => Ok(Arc::clone(version)),
            kind => Err(RegistryError::NotACampaign {
                id: id.into(),
                kind: kind.as_str(),
            }),
        }
    }

    /// Validates a workflow text without touching the registry (the API's validate
    /// endpoint); `name` is how findings name it. Texts over the file size limit are refused
    /// unparsed, as files are.
    pub fn validate_source(&self, name: &str, text: &str) -> FileReport {
        if text.len() as u64 > MAX_FILE_BYTES {
            return FileReport {
                file: name.to_string(),
                workflow: None,
                diagnostics: vec![Diagnostic {
                    severity: Severity::Error,
                    code: "too-large",
                    file: name.to_string(),
                    position: Position { line: 1, column: 1 },
                    path: String::new(),
                    message: format!(
                        "the text is {} bytes; workflow files are limited to {MAX_FILE_BYTES} bytes (1 MiB)",
                        text.len()
                    ),
                    help: None,
                }],
            };
        }
        switchboard_model::load_source(name, text)
    }
}

/// A diagnostic on one line (without its help).
fn one_line(diagnostic: &Diagnostic) -> String {
    let mut text = diagnostic.to_string();
    if let Some(end) = text.find('\n') {
        text.truncate(end);
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::ContentHash;
    use crate::testing::{Scratch, campaign};

    fn status(registry: &WorkflowRegistry, id: &str) -> WorkflowStatus {
        registry
            .get(id)
            .unwrap_or_else(|| panic!("no workflow {id}"))
    }

    #[test]
    fn loads_every_example_workflow() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows");
        let registry = WorkflowRegistry::open(&dir).unwrap();
        let rows = registry.list();
        let files = workflow_files(&dir).unwrap();
        assert_eq!(rows.len(), files.len());
        for row in &rows {
            assert_eq!(row.status, Status::Loaded, "{row:#?}");
            assert_eq!(row.version, Some(1));
            assert!(row.errors.is_empty());
        }
        // Ids come from the documents, not the file names.
        let opt_out = status(&registry, "possible-opt-out");
        assert!(opt_out.file.ends_with("help-and-opt-out.yaml"));
        assert_eq!(opt_out.kind, Some(WorkflowKind::Conversation));
        let promo = registry.get_for_new_campaign("spring-promo").unwrap();
        assert_eq!((promo.version, promo.kind()), (1, WorkflowKind::Campaign));
        assert!(promo.source.contains("id: spring-promo"));
        assert_eq!(promo.hash, ContentHash::of(promo.source.as_bytes()));
        // The API's JSON.
        let json = serde_json::to_value(&rows[0]).unwrap();
        for key in [
            "id",
            "kind",
            "status",
            "version",
            "file",
            "errors",
            "updated_at",
        ] {
            assert!(json.get(key).is_some(), "{key} missing in {json}");
        }
        assert!(
            registry.rescan().is_empty(),
            "a second scan finds nothing new"
        );
    }

    #[test]
    fn versions_go_up_only_when_the_valid_content_changes() {
        let dir = Scratch::new("versions");
        dir.write("promo.yaml", campaign("promo", "first"));
        let registry = WorkflowRegistry::open(dir.path()).unwrap();
        assert_eq!(status(&registry, "promo").version, Some(1));

        dir.write("promo.yaml", campaign("promo", "second"));
        let report = registry.rescan();
        assert_eq!(report.updated.len(), 1, "{report:#?}");
        assert_eq!(report.updated[0].version, 2);
        let v2 = registry.get_for_new_campaign("promo").unwrap();
        assert_eq!(v2.version, 2);

        // The same bytes again (a new mtime, maybe a new inode): no new version, no report.
        dir.write("promo.yaml", campaign("promo", "second"));
        assert!(registry.rescan().is_empty());
        assert_eq!(status(&registry, "promo").version, Some(2));
        assert!(Arc::ptr_eq(
            &v2,
            &registry.get_for_new_campaign("promo").unwrap()
        ));

        // A broken edit: v2 stays in use, the problem is reported with its line.
        let broken = campaign("promo", "second").replace("steps:", "stepz:");
        dir.write("promo.yaml", &broken);
        let report = registry.rescan();
        assert_eq!(report.invalid.len(), 1, "{report:#?}");
        assert_eq!(report.invalid[0].kept_version, Some(2));
        let row = status(&registry, "promo");
        assert_eq!((row.status, row.version), (Status::Invalid, Some(2)));
        let error = row
            .errors
            .iter()
            .find(|e| e.path == "stepz")
            .expect("an error at the misspelt key");
        assert_eq!((error.position.line, error.position.column), (5, 1));
        assert!(row.invalid_since.is_some());
        assert_eq!(registry.get_for_new_campaign("promo").unwrap().version, 2);
        assert!(
            registry.rescan().is_empty(),
            "the same problem is reported once"
        );

        // The fix is a new content: v3.
        dir.write("promo.yaml", campaign("promo", "third"));
        let report = registry.rescan();
        assert_eq!(report.updated.len(), 1, "{report:#?}");
        let row = status(&registry, "promo");
        assert_eq!((row.status, row.version), (Status::Loaded, Some(3)));
        assert!(row.errors.is_empty());

        // Broken, then back to exactly v3: recovered, no new version.
        dir.write("promo.yaml", &broken);
        registry.rescan();
        dir.write("promo.yaml", campaign("promo", "third"));
        let report = registry.rescan();
        assert_eq!(report.recovered.len(), 1, "{report:#?}");
        assert_eq!(status(&registry, "promo").version, Some(3));
    }

    #[test]
    fn a_file_that_never_loaded_has_no_version() {
        let dir = Scratch::new("never");
        dir.write("draft.yaml", "kind: campaign\nid: draft\nsteps: []\n");
        dir.write("garbage.yml", "{ not: [yaml");
        let registry = WorkflowRegistry::open(dir.path()).unwrap();
        let draft = status(&registry, "draft");
        assert_eq!((draft.status, draft.version), (Status::Invalid, None));
        assert_eq!(draft.kind, Some(WorkflowKind::Campaign));
        assert!(!draft.errors.is_empty());
        // No readable id: the file stem.
        let garbage = status(&registry, "garbage");
        assert_eq!(garbage.status, Status::Invalid);
        assert_eq!(garbage.errors[0].code, "yaml-syntax");

        let error = registry.get_for_new_campaign("draft").unwrap_err();
        assert!(matches!(error, RegistryError::NeverValid { .. }), "{error}");
        assert!(error.to_string().contains("draft.yaml:"), "{error}");
        let error = registry.get_for_new_campaign("nope").unwrap_err();
        assert_eq!(
            error.to_string(),
            "no workflow `nope` in the workflow directory"
        );

        // Fixed: version 1.
        dir.write("draft.yaml", campaign("draft", "hi"));
        let report = registry.rescan();
        assert_eq!(report.added.len(), 1, "{report:#?}");
        assert_eq!(status(&registry, "draft").version, Some(1));
    }

    #[test]
    fn a_deleted_file_is_removed_until_added_again() {
        let dir = Scratch::new("delete");
        dir.write("promo.yaml", campaign("promo", "first"));
        dir.write("other.yaml", campaign("other", "x"));
        let registry = WorkflowRegistry::open(dir.path()).unwrap();
        let running = registry.get_for_new_campaign("promo").unwrap();

        dir.remove("promo.yaml");
        let report = registry.rescan();
        assert_eq!(report.removed, vec!["promo".to_string()], "{report:#?}");
        let row = status(&registry, "promo");
        assert_eq!((row.status, row.version), (Status::Removed, Some(1)));
        let error = registry.get_for_new_campaign("promo").unwrap_err();
        assert!(matches!(error, RegistryError::Removed { .. }), "{error}");
        // A running campaign keeps its version.
        assert_eq!(running.version, 1);
        assert_eq!(registry.last_good("promo").unwrap().version, 1);
        assert!(registry.rescan().is_empty());

        // Re-added under another name with the same content: revived, same version.
        dir.write("promo-again.yaml", campaign("promo", "first"));
        let report = registry.rescan();
        assert_eq!(report.added.len(), 1, "{report:#?}");
        let revived = registry.get_for_new_campaign("promo").unwrap();
        assert_eq!(revived.version, 1);
        assert!(revived.file.ends_with("promo-again.yaml"));

        // Removed, then declared again by a broken file: the old version stays retired.
        dir.remove("promo-again.yaml");
        registry.rescan();
        dir.write("promo.yaml", "kind: campaign\nid: promo\nsteps: 3\n");
        registry.rescan();
        let row = status(&registry, "promo");
        assert_eq!((row.status, row.version), (Status::Invalid, Some(1)));
        let error = registry.get_for_new_campaign("promo").unwrap_err();
        assert!(matches!(error, RegistryError::Retired { .. }), "{error}");
        dir.write("promo.yaml", campaign("promo", "first"));
        registry.rescan();
        assert_eq!(registry.get_for_new_campaign("promo").unwrap().version, 1);
        dir.remove("promo.yaml");
        dir.write("promo-again.yaml", campaign("promo", "first"));
        registry.rescan();

        // Removed again and re-added changed: the next version.
        dir.remove("promo-again.yaml");
        registry.rescan();
        dir.write("promo.yaml", campaign("promo", "changed"));
        registry.rescan();
        assert_eq!(status(&registry, "promo").version, Some(2));

        // A never-valid file that is deleted leaves the listing.
        dir.write("broken.yaml", "kind: campaign\nid: broken\n");
        registry.rescan();
        assert!(registry.get("broken").is_some());
        dir.remove("broken.yaml");
        let report = registry.rescan();
        assert_eq!(report.removed, vec!["broken".to_string()]);
        assert!(registry.get("broken").is_none());
    }

    #[test]
    fn a_duplicate_id_is_refused_and_the_first_file_keeps_it() {
        let dir = Scratch::new("duplicates");
        dir.write("a.yaml", campaign("promo", "from a"));
        dir.write("b.yaml", campaign("promo", "from b"));
        let registry = WorkflowRegistry::open(dir.path()).unwrap();
        let rows = registry.list();
        assert_eq!(rows.len(), 2, "{rows:#?}");
        let owner = status(&registry, "promo");
        assert!(owner.file.ends_with("a.yaml"));
        assert_eq!(owner.status, Status::Loaded);
        let stray = rows.iter().find(|r| r.file.ends_with("b.yaml")).unwrap();
        assert_eq!((stray.status, stray.version), (Status::Invalid, None));
        let message = stray.errors[0].to_string();
        assert!(message.contains("b.yaml:2:5"), "{message}");
        assert!(message.contains("a.yaml"), "{message}");
        assert_eq!(stray.errors[0].code, "duplicate-id");

        // A later file declaring the id does not take it either, even when a sorts after.
        dir.write("0.yaml", campaign("promo", "from 0"));
        let report = registry.rescan();
        assert_eq!(report.invalid.len(), 1, "{report:#?}");
        assert!(report.invalid[0].file.ends_with("0.yaml"));
        assert!(status(&registry, "promo").file.ends_with("a.yaml"));

        // The owner gone, the next file takes the id: a new version (other content).
        dir.remove("a.yaml");
        let report = registry.rescan();
        assert_eq!(report.updated.len(), 1, "{report:#?}");
        let owner = status(&registry, "promo");
        assert!(owner.file.ends_with("0.yaml"), "{owner:#?}");
        assert_eq!(owner.version, Some(2));
        assert_eq!(registry.list().len(), 2);
    }

    #[test]
    fn a_broken_file_renaming_its_id_keeps_the_old_one_running() {
        let dir = Scratch::new("rename");
        dir.write("promo.yaml", campaign("promo", "x"));
        let registry = WorkflowRegistry::open(dir.path()).unwrap();
        dir.write("promo.yaml", "kind: campaign\nid: renamed\nsteps: 3\n");
        registry.rescan();
        let row = status(&registry, "promo");
        assert_eq!((row.status, row.version), (Status::Invalid, Some(1)));
        assert!(registry.get("renamed").is_none());
        // Valid with the new id: the old one is removed, the new one added.
        dir.write("promo.yaml", campaign("renamed", "x"));
        let report = registry.rescan();
        assert_eq!(report.removed, vec!["promo".to_string()]);
        assert_eq!(report.added[0].id, "renamed");
    }

    #[test]
    fn huge_and_binary_files_are_invalid_not_fatal() {
        let dir = Scratch::new("huge");
        let huge = format!(
            "{}\n# {}\n",
            campaign("huge", "x"),
            "x".repeat(MAX_FILE_BYTES as usize)
        );
        dir.write("huge.yaml", huge.as_bytes());
        dir.write("binary.yaml", [0u8, 159, 146, 150, 255, 0, 1, 2]);
        dir.write("fine.yaml", campaign("fine", "x"));
        let registry = WorkflowRegistry::open(dir.path()).unwrap();
        let huge = status(&registry, "huge");
        assert_eq!(huge.status, Status::Invalid);
        assert_eq!(huge.errors[0].code, "too-large");
        assert!(huge.errors[0].message.contains("1 MiB"));
        assert_eq!(status(&registry, "binary").errors[0].code, "not-utf8");
        assert_eq!(status(&registry, "fine").status, Status::Loaded);
        let report = registry.validate_source("api", &"#".repeat(MAX_FILE_BYTES as usize + 1));
        assert_eq!(report.diagnostics[0].code, "too-large");
    }

    #[test]
    fn validate_source_is_the_model_loader() {
        let dir = Scratch::new("validate");
        let registry = WorkflowRegistry::open(dir.path()).unwrap();
        assert!(
            registry
                .validate_source("x.yaml", &campaign("x", "hi"))
                .is_valid()
        );
        let report = registry.validate_source("x.yaml", "kind: campaign\nid: x\nsteps: 3\n");
        assert!(!report.is_valid());
        assert!(report.errors().all(|e| e.file == "x.yaml"));
        assert!(registry.list().is_empty(), "validating loads nothing");
    }

    #[test]
    fn conversation_workflows_do_not_start_campaigns_and_missing_dirs_fail() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows");
        let registry = WorkflowRegistry::open(&dir).unwrap();
        let error = registry
            .get_for_new_campaign("possible-opt-out")
            .unwrap_err();
        assert!(
            matches!(error, RegistryError::NotACampaign { .. }),
            "{error}"
        );

        let missing = WorkflowRegistry::open("/nonexistent/switchboard/workflows").unwrap_err();
        assert!(
            matches!(missing, RegistryError::ReadDir { .. }),
            "{missing}"
        );
    }
}
