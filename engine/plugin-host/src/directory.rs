//! User plugins: one sub-directory each in the plugins directory, holding `plugin.toml` and
//! the component it names. A changed plugin is reloaded; a broken one is reported and the
//! previous version keeps serving; a removed one is unloaded. [`PluginDirectory::watch`]
//! rescans when files change (notify), after a short quiet period so a copy in progress is
//! not loaded half-written.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, mpsc};
use std::time::Duration;

use crate::host::PluginHost;
use crate::manifest::CheckedManifest;
use crate::plugin::CompiledPlugin;

/// Largest component file accepted, in bytes.
const MAX_COMPONENT_BYTES: u64 = 64 * 1024 * 1024;
/// Largest manifest accepted, in bytes.
const MAX_MANIFEST_BYTES: u64 = 256 * 1024;
/// Quiet time after the last file event before a rescan.
const SETTLE: Duration = Duration::from_millis(300);
/// Longest a stream of file events can postpone a rescan.
const MAX_SETTLE: Duration = Duration::from_secs(5);

/// A plugin loaded from the directory.
#[derive(Debug)]
pub struct LoadedPlugin {
    /// Its sub-directory.
    pub dir: PathBuf,
    /// The compiled plugin.
    pub compiled: CompiledPlugin,
    /// The manifest as read, and the component's size and modification time: when both are
    /// the same at the next scan, the plugin is not read or compiled again.
    manifest_text: Vec<u8>,
    component_stamp: Stamp,
}

/// A file's size and modification time.
type Stamp = (u64, Option<std::time::SystemTime>);

fn stamp(path: &Path) -> Option<Stamp> {
    let metadata = std::fs::symlink_metadata(path).ok()?;
    Some((metadata.len(), metadata.modified().ok()))
}

/// What a scan changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanReport {
    /// Plugins loaded for the first time (names).
    pub loaded: Vec<String>,
    /// Plugins whose files changed and that were loaded again.
    pub reloaded: Vec<String>,
    /// Plugins whose directory is gone.
    pub removed: Vec<String>,
    /// Directories that could not be loaded, and why (a previous version, if any, stays).
    pub failed: Vec<(PathBuf, String)>,
}

impl ScanReport {
    /// Whether anything changed or failed.
    pub fn is_empty(&self) -> bool {
        self.loaded.is_empty()
            && self.reloaded.is_empty()
            && self.removed.is_empty()
            && self.failed.is_empty()
    }
}

/// The user plugins directory.
#[derive(Debug)]
pub struct PluginDirectory {
    host: PluginHost,
    root: PathBuf,
    /// Names user plugins may not take (the bundled plugins').
    reserved: BTreeSet<String>,
    /// Loaded plugins by directory.
    loaded: RwLock<BTreeMap<PathBuf, Arc<LoadedPlugin>>>,
    /// Current problems by directory.
    problems: RwLock<BTreeMap<PathBuf, String>>,
    /// Scans done so far.
    scans: std::sync::atomic::AtomicU64,
}

impl PluginDirectory {
    /// Opens `root` and loads what is there. `reserved` are names taken by bundled plugins.
    pub fn open(
        host: &PluginHost,
        root: impl Into<PathBuf>,
        reserved: impl IntoIterator<Item = String>,
    ) -> (Self, ScanReport) {
        let directory = Self {
            host: host.clone(),
            root: root.into(),
            reserved: reserved.into_iter().collect(),
            loaded: RwLock::new(BTreeMap::new()),
            problems: RwLock::new(BTreeMap::new()),
            scans: std::sync::atomic::AtomicU64::new(0),
        };
        let report = directory.scan();
        (directory, report)
    }

    /// The plugin named `name`, if one is loaded.
    pub fn get(&self, name: &str) -> Option<Arc<LoadedPlugin>> {
        self.loaded.read().ok().and_then(|loaded| {
            loaded
                .values()
                .find(|plugin| plugin.compiled.manifest().manifest().name == name)
                .cloned()
        })
    }

    /// Directories that currently fail to load, and why.
    pub fn problems(&self) -> Vec<(PathBuf, String)> {
        self.problems.read().map_or_else(
            |_| Vec::new(),
            |problems| {
                problems
                    .iter()
                    .map(|(d, p)| (d.clone(), p.clone()))
                    .collect()
            },
        )
    }

    /// How many scans have run (the first one included).
    pub fn scan_count(&self) -> u64 {
        self.scans.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Looks at every sub-directory and loads what changed.
    pub fn scan(&self) -> ScanReport {
        self.scans
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut report = ScanReport::default();
        let mut present = BTreeSet::new();
        let mut dirs: Vec<PathBuf> = match std::fs::read_dir(&self.root) {
            Ok(entries) => entries
                .flatten()
                // Real sub-directories only: a symlink could point anywhere.
                .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
                .map(|entry| entry.path())
                .filter(|path| path.join("plugin.toml").exists())
                .collect(),
            Err(e) => {
                report.failed.push((
                    self.root.clone(),
                    format!("cannot read the plugins directory: {e}"),
                ));
                Vec::new()
            }
        };
        dirs.sort();
        for dir in dirs {
            present.insert(dir.clone());
            let previous = self.loaded.read().ok().and_then(|l| l.get(&dir).cloned());
            match self.load(&dir, previous.as_deref()) {
                Ok(None) => {}
                Ok(Some(plugin)) => {
                    let name = plugin.compiled.manifest().manifest().name.clone();
                    if previous.is_some() {
                        report.reloaded.push(name);
                    } else {
                        report.loaded.push(name);
                    }
                    if let Ok(mut loaded) = self.loaded.write() {
                        loaded.insert(dir.clone(), Arc::new(plugin));
                    }
                    if let Ok(mut problems) = self.problems.write() {
                        problems.remove(&dir);
                    }
                }
                Err(problem) => {
                    let kept = previous.map_or(String::new(), |p| {
                        format!(
                            " (version {} stays loaded)",
                            p.compiled.manifest().manifest().version
                        )
                    });
                    let problem = format!("{problem}{kept}");
                    report.failed.push((dir.clone(), problem.clone()));
                    if let Ok(mut problems) = self.problems.write() {
                        problems.insert(dir, problem);
                    }
                }
            }
        }
        if let Ok(mut loaded) = self.loaded.write() {
            let gone: Vec<PathBuf> = loaded
                .keys()
                .filter(|dir| !present.contains(*dir))
                .cloned()
                .collect();
            for dir in gone {
                if let Some(plugin) = loaded.remove(&dir) {
                    report
                        .removed
                        .push(plugin.compiled.manifest().manifest().name.clone());
                }
            }
        }
        if let Ok(mut problems) = self.problems.write() {
            problems.retain(|dir, _| present.contains(dir));
        }
        report
    }

    /// Loads one directory; `Ok(None)` when it is unchanged since `previous`.
    fn load(
        &self,
        dir: &Path,
        previous: Option<&LoadedPlugin>,
    ) -> Result<Option<LoadedPlugin>, String> {
        let manifest_path = dir.join("plugin.toml");
        let manifest_text = read_regular_file(&manifest_path, MAX_MANIFEST_BYTES)?;
        if let Some(previous) = previous
            && previous.manifest_text == manifest_text
            && stamp(&dir.join(&previous.compiled.manifest().manifest().component))
                == Some(previous.component_stamp)
        {
            return Ok(None);
        }
        let manifest = CheckedManifest::parse(
            &manifest_path.display().to_string(),
            &String::from_utf8_lossy(&manifest_text),
        )
        .map_err(|e| e.to_string())?;
        let component_path = dir.join(&manifest.manifest().component);
        let component_stamp = stamp(&component_path).unwrap_or_default();
        let wasm = read_regular_file(&component_path, MAX_COMPONENT_BYTES)?;
        let name = &manifest.manifest().name;
        if self.reserved.contains(name) {
            return Err(format!(
                "{}: the name `{name}` belongs to a bundled plugin; choose another",
                manifest_path.display()
            ));
        }
        let taken_by = self.loaded.read().ok().and_then(|loaded| {
            loaded
                .iter()
                .find(|(other, p)| {
                    other.as_path() != dir && &p.compiled.manifest().manifest().name == name
                })
                .map(|(other, _)| other.clone())
        });
        if let Some(other) = taken_by {
            return Err(format!(
                "{}: the name `{name}` is already used by {}",
                manifest_path.display(),
                other.display()
            ));
        }
        let compiled =
            CompiledPlugin::compile(&self.host, manifest, &wasm).map_err(|e| e.to_string())?;
        Ok(Some(LoadedPlugin {
            dir: dir.to_path_buf(),
            compiled,
            manifest_text,
            component_stamp,
        }))
    }

    /// Rescans whenever files under the directory change, calling `on_scan` with each report
    /// that is not empty. Watching stops when the returned watcher is dropped.
    pub fn watch(
        self: &Arc<Self>,
        on_scan: impl Fn(&ScanReport) + Send + 'static,
    ) -> Result<DirectoryWatcher, String> {
        use notify::Watcher as _;
        let (events, received) = mpsc::channel();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                // Reads are not changes, and the scan itself reads every file: passing them on
                // would make each scan trigger the next.
                if !matches!(&event, Ok(e) if matches!(e.kind, notify::EventKind::Access(_))) {
                    let _ = events.send(event);
                }
            })
            .map_err(|e| format!("watching {}: {e}", self.root.display()))?;
        watcher
            .watch(&self.root, notify::RecursiveMode::Recursive)
            .map_err(|e| format!("watching {}: {e}", self.root.display()))?;
        let directory = Arc::clone(self);
        std::thread::Builder::new()
            .name("plugin-watch".into())
            .spawn(move || {
                while received.recv().is_ok() {
                    // Let a copy in progress finish: rescan after a quiet period (but not
                    // later than MAX_SETTLE, however busy the directory is).
                    let first = std::time::Instant::now();
                    while first.elapsed() < MAX_SETTLE {
                        match received.recv_timeout(SETTLE) {
                            Ok(_) => continue,
                            Err(mpsc::RecvTimeoutError::Timeout) => break,
                            Err(mpsc::RecvTimeoutError::Disconnected) => return,
                        }
                    }
                    let report = directory.scan();
                    if !report.is_empty() {
                        on_scan(&report);
                    }
                }
            })
            .map_err(|e| format!("starting the plugin watcher: {e}"))?;
        Ok(DirectoryWatcher { _watcher: watcher })
    }
}

/// Keeps a directory watched; dropping it stops the watching.
pub struct DirectoryWatcher {
    _watcher: notify::RecommendedWatcher,
}

impl std::fmt::Debug for DirectoryWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectoryWatcher").finish_non_exhaustive()
    }
}

/// Reads a plugin file: a regular file (not a symlink, pipe or device), at most `max` bytes.
fn read_regular_file(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let named = |e: std::io::Error| format!("{}: {e}", path.display());
    let kind = std::fs::symlink_metadata(path).map_err(named)?.file_type();
    if !kind.is_file() {
        return Err(format!(
            "{}: not a regular file (symlinks, pipes and devices are refused)",
            path.display()
        ));
    }
    let file = std::fs::File::open(path).map_err(named)?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).map_err(named)?;
    if bytes.len() as u64 > max {
        return Err(format!(
            "{}: larger than the {max} bytes accepted",
            path.display()
        ));
    }
    Ok(bytes)
}
