//! What is wrong with a config file, said the way an operator can act on it:
//! `switchboard.toml:7:12: providers.mock.rate-limit.per-second: expected a positive number`.

use std::fmt;
use std::path::PathBuf;

/// A line and column in the config file, both from 1 (the column counts characters): the
/// workflow diagnostics' position.
pub use switchboard_model::diagnostic::Position;

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, as the operator named it.
    pub file: String,
    /// Where in the file; none when the key is not written in it (a default that conflicts
    /// with another setting).
    pub position: Option<Position>,
    /// The key path, e.g. `providers.mock.rate-limit.per-second` (empty for the document).
    pub key: String,
    /// Stable machine-readable code, e.g. `unknown-key`.
    pub code: &'static str,
    /// What is wrong, quoting the bad value (never a secret's).
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(position) = self.position {
            write!(f, ":{}:{}", position.line, position.column)?;
        }
        f.write_str(": ")?;
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

/// The configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file was read and is wrong; every problem found, one per line.
    #[error("{}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid {
        /// At least one.
        problems: Vec<Problem>,
    },
}

impl ConfigError {
    /// The problems, when the file was read (none for a read error).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Read { .. } => &[],
            ConfigError::Invalid { problems } => problems,
        }
    }
}
