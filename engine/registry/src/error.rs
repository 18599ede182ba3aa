//! What can go wrong opening, querying or watching the registry.

use std::path::PathBuf;

/// A registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The workflow directory cannot be read.
    #[error("cannot read the workflow directory {}: {source}", dir.display())]
    ReadDir {
        /// The directory.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No file declares this workflow id.
    #[error("no workflow `{id}` in the workflow directory")]
    NotFound {
        /// The id asked for.
        id: String,
    },
    /// The workflow's file has never been valid, so there is no version to run.
    #[error("workflow `{id}` ({}) has never loaded: {first_error}", file.display())]
    NeverValid {
        /// The id asked for.
        id: String,
        /// Its file.
        file: PathBuf,
        /// The first error of the file, with its line and column.
        first_error: String,
    },
    /// The workflow's file was deleted: running campaigns keep their version, new ones may not
    /// start.
    #[error(
        "workflow `{id}` was removed ({} is gone): running campaigns keep their version, new campaigns cannot use it",
        file.display()
    )]
    Removed {
        /// The id asked for.
        id: String,
        /// The file it was loaded from.
        file: PathBuf,
    },
    /// The workflow was removed, and the file that declares it again is invalid: its old
    /// version stays retired until the file is fixed.
    #[error(
        "workflow `{id}` was removed, and {} which declares it again is invalid: {first_error}",
        file.display()
    )]
    Retired {
        /// The id asked for.
        id: String,
        /// The file declaring it again.
        file: PathBuf,
        /// The first error of the file, with its line and column.
        first_error: String,
    },
    /// A campaign was asked for on a workflow of another kind.
    #[error("workflow `{id}` is a {kind} workflow, not a campaign")]
    NotACampaign {
        /// The id asked for.
        id: String,
        /// Its kind.
        kind: &'static str,
    },
    /// The file watcher could not be started.
    #[error("cannot watch {}: {source}", dir.display())]
    Watch {
        /// The directory.
        dir: PathBuf,
        /// The watcher's error.
        source: notify::Error,
    },
    /// The watcher thread could not be started.
    #[error("cannot start the workflow watcher thread: {0}")]
    Thread(std::io::Error),
}
