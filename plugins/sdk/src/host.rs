//! The capabilities the host grants: HTTP, logging, settings and the clock.
//!
//! Each function calls into the engine. A denied capability comes back as an
//! error naming what is missing (for HTTP, [`HttpError::Denied`]); nothing
//! here touches the filesystem, sockets or the environment.
//!
//! Natively (in `cargo test`) there is no host: these functions panic.

use std::fmt;

use crate::SendError;
use crate::bindings::provider::switchboard::plugin::host as wit;

pub use wit::{HttpError, HttpRequest, HttpResponse, LogLevel};

/// Performs an HTTP request through the host. Only hosts listed in the
/// plugin's manifest (and allowed by the operator) can be reached.
///
/// A response is `Ok` whatever its status code; see
/// [`crate::http::send_error_for_status`] to classify failures.
pub fn fetch(request: &HttpRequest) -> Result<HttpResponse, HttpError> {
    wit::fetch(request)
}

/// Writes `message` to the engine's log at `level`. Never log secrets.
pub fn log(level: LogLevel, message: &str) {
    wit::log(level, message);
}

/// Logs at debug level.
pub fn debug(message: &str) {
    log(LogLevel::Debug, message);
}

/// Logs at info level.
pub fn info(message: &str) {
    log(LogLevel::Info, message);
}

/// Logs at warn level.
pub fn warn(message: &str) {
    log(LogLevel::Warn, message);
}

/// Logs at error level.
pub fn error(message: &str) {
    log(LogLevel::Error, message);
}

/// One setting of this plugin instance, as the operator configured it.
pub fn config(key: &str) -> Option<String> {
    wit::config_get(key)
}

/// One setting of this plugin instance; an error naming the key when it is
/// missing or blank.
pub fn require_config(key: &str) -> Result<String, MissingConfig> {
    match config(key) {
        Some(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(MissingConfig {
            key: key.to_string(),
        }),
    }
}

/// The engine's clock, in Unix epoch milliseconds.
pub fn now_ms() -> u64 {
    wit::now_ms()
}

/// A required setting is missing; see [`require_config`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingConfig {
    /// The setting's name.
    pub key: String,
}

impl fmt::Display for MissingConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "setting `{}` is not configured", self.key)
    }
}

impl std::error::Error for MissingConfig {}

impl From<MissingConfig> for SendError {
    /// A missing setting will not appear by retrying: permanent, code
    /// `config-missing`.
    fn from(missing: MissingConfig) -> Self {
        SendError::permanent("config-missing", missing.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_config_becomes_a_permanent_send_error() {
        let error = SendError::from(MissingConfig {
            key: "api-key".into(),
        });
        assert_eq!(
            error,
            SendError::permanent("config-missing", "setting `api-key` is not configured")
        );
    }
}
