//! Hot reload: a notify watcher on the workflow directory and a thread that rescans after a
//! quiet period, so an editor's several writes (a temporary file, then a rename over the
//! workflow) make one rescan of the finished file.

use std::path::Path;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use notify::Watcher as _;

use crate::error::RegistryError;
use crate::registry::WorkflowRegistry;
use crate::status::ScanReport;

/// However busy the directory, a rescan is not put off longer than this many debounce
/// periods.
const MAX_DEBOUNCES: u32 = 10;

impl WorkflowRegistry {
    /// Rescans whenever a workflow file changes: at the first event, waits until `debounce`
    /// passes without another one (at most ten times `debounce`), then rescans once and calls
    /// `on_change` with the report if anything changed. Runs on its own thread until the
    /// returned watcher is dropped. A rescan is also done at once, for changes made since
    /// [`open`](Self::open).
    pub fn watch(
        self: Arc<Self>,
        debounce: Duration,
        on_change: impl Fn(&ScanReport) + Send + 'static,
    ) -> Result<RegistryWatcher, RegistryError> {
        let watch_error = |source| RegistryError::Watch {
            dir: self.dir().to_path_buf(),
            source,
        };
        let (events, received) = mpsc::channel::<()>();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if concerns_workflows(&event) {
                    // The receiver is gone only when the thread ended: nothing to tell.
                    let _ = events.send(());
                }
            })
            .map_err(watch_error)?;
        watcher
            .watch(self.dir(), notify::RecursiveMode::NonRecursive)
            .map_err(watch_error)?;

        let registry = self;
        std::thread::Builder::new()
            .name("workflow-watch".into())
            .spawn(move || {
                let rescan = || {
                    let report = registry.rescan();
                    if !report.is_empty() {
                        on_change(&report);
                    }
                };
                rescan();
                // Ends when the watcher, which owns the sender, is dropped.
                while received.recv().is_ok() {
                    let first = Instant::now();
                    while first.elapsed() < debounce * MAX_DEBOUNCES {
                        match received.recv_timeout(debounce) {
                            Ok(()) => continue,
                            Err(mpsc::RecvTimeoutError::Timeout) => break,
                            Err(mpsc::RecvTimeoutError::Disconnected) => return,
                        }
                    }
                    rescan();
                }
            })
            .map_err(RegistryError::Thread)?;
        Ok(RegistryWatcher { _watcher: watcher })
    }
}

/// Whether a file event may change a workflow. Reads are not changes (and a scan reads every
/// file it parses: passing them on would make each scan trigger the next); files other than
/// `*.yaml`/`*.yml` (editor swap and temporary files) do not matter until renamed to one,
/// and the rename names the workflow file.
fn concerns_workflows(event: &notify::Result<notify::Event>) -> bool {
    let Ok(event) = event else {
        // The watcher lost track (e.g. an overflow): a rescan finds out.
        return true;
    };
    if matches!(event.kind, notify::EventKind::Access(_)) {
        return false;
    }
    event.need_rescan() || event.paths.is_empty() || event.paths.iter().any(|p| is_workflow(p))
}

fn is_workflow(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

/// Keeps the workflow directory watched; dropping it stops the watcher and its thread.
pub struct RegistryWatcher {
    _watcher: notify::RecommendedWatcher,
}

impl std::fmt::Debug for RegistryWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryWatcher").finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::status::Status;
    use crate::testing::{Scratch, campaign};

    /// Polls `done` every 20 ms for up to 10 s.
    fn eventually(mut done: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if done() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        done()
    }

    #[test]
    fn an_editor_save_is_picked_up_and_dropping_the_watcher_stops_it() {
        let dir = Scratch::new("watch");
        dir.write("promo.yaml", campaign("promo", "first"));
        let registry = Arc::new(WorkflowRegistry::open(dir.path()).unwrap());
        let reports = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&reports);
        let watcher = Arc::clone(&registry)
            .watch(Duration::from_millis(50), move |report| {
                seen.lock().unwrap().push(report.clone());
            })
            .unwrap();

        // As editors save: a temporary file, then a rename over the workflow.
        dir.write(".promo.yaml.tmp", campaign("promo", "second"));
        std::fs::rename(
            dir.path().join(".promo.yaml.tmp"),
            dir.path().join("promo.yaml"),
        )
        .unwrap();
        assert!(
            eventually(|| registry.get("promo").and_then(|s| s.version) == Some(2)),
            "{:#?}",
            registry.list()
        );
        // A new file, and a broken edit.
        dir.write("other.yaml", campaign("other", "x"));
        assert!(eventually(|| registry.get("other").is_some()));
        dir.write("promo.yaml", "kind: campaign\nid: promo\nsteps: 3\n");
        assert!(eventually(|| registry
            .get("promo")
            .is_some_and(|s| s.status == Status::Invalid)));
        let reports = reports.lock().unwrap().clone();
        assert!(
            reports
                .iter()
                .any(|r| r.updated.iter().any(|c| c.version == 2))
        );
        assert!(
            reports.iter().all(|r| !r.is_empty()),
            "only changes are reported"
        );

        drop(watcher);
        // The thread ends with the watcher: it let go of its registry handle.
        assert!(eventually(|| Arc::strong_count(&registry) == 1));
    }
}
