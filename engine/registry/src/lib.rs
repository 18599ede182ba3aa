//! The workflow directory, versioned and hot-reloaded: the daemon's single source of which
//! workflows exist and which version of each a new campaign runs.
//!
//! Every `*.yaml`/`*.yml` file is parsed and validated by `switchboard-model`. A workflow is
//! known by its `id`; for each the registry keeps the **last good version** (text, parsed
//! workflow, a version number and a content hash) and, when the file now on disk is broken,
//! its errors with their lines and columns. A broken edit never replaces the last good
//! version; a deleted file leaves its workflow `removed` (running campaigns keep their
//! version, new ones cannot start) until a file declares it again.
//!
//! # Layout
//! - [`registry`]: [`WorkflowRegistry`]: open, rescan, and the queries (list, get, the version
//!   for a new campaign, validation of a text).
//! - [`watch`]: [`WorkflowRegistry::watch`], the notify watcher with its debounce thread.
//! - [`status`]: what readers get: [`WorkflowVersion`], [`WorkflowStatus`], [`ScanReport`].
//! - `state`: the snapshot and the reconciliation of files into workflows (who owns an id,
//!   when a version number goes up, what a scan reports).
//! - `file`: one file: its stamp, reading it within the size limit, parsing it.
//! - [`hash`]: the stable content hash.
//! - [`error`]: what can go wrong ([`RegistryError`]).
#![deny(missing_docs)]

pub mod error;
mod file;
pub mod hash;
pub mod registry;
mod state;
pub mod status;
pub mod watch;

pub use error::RegistryError;
pub use file::MAX_FILE_BYTES;
pub use hash::ContentHash;
pub use registry::WorkflowRegistry;
pub use status::{
    InvalidChange, LoadedChange, ScanReport, Status, WorkflowKind, WorkflowStatus, WorkflowVersion,
};
pub use watch::RegistryWatcher;

#[cfg(test)]
pub(crate) mod testing {
    //! A scratch workflow directory for tests, removed when dropped.

    use std::path::{Path, PathBuf};

    /// A fresh, empty directory under the system temp dir.
    #[derive(Debug)]
    pub(crate) struct Scratch(PathBuf);

    impl Scratch {
        pub(crate) fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "switchboard-registry-{name}-{}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            Self(dir)
        }

        pub(crate) fn path(&self) -> &Path {
            &self.0
        }

        pub(crate) fn write(&self, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            path
        }

        pub(crate) fn remove(&self, name: &str) {
            let path = self.0.join(name);
            std::fs::remove_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A valid campaign workflow `id` whose message is `text`.
    pub(crate) fn campaign(id: &str, text: &str) -> String {
        format!(
            "kind: campaign\nid: {id}\nprovider: mock\nsender: \"+14165550100\"\nsteps:\n  - send: \"{text}\"\n"
        )
    }
}
