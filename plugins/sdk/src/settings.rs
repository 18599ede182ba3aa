//! Reading a plugin's settings: parsers for the usual kinds of values, and
//! [`Configured`], which keeps what a provider read (or why it is invalid)
//! and turns an invalid configuration into the errors its calls return.
//!
//! Every setting reaches a plugin as a string, through [`host::config`]. The
//! parsers take the value as the plugin read it (`None` when it is not set)
//! and the setting's key; their errors are `"{key}: ..."`, so the operator
//! knows which setting to fix. Numbers are parsed with surrounding white
//! space ignored, and errors quote the value as given.
//!
//! ```
//! use switchboard_plugin_sdk::settings;
//!
//! struct Settings {
//!     api_key: String,
//!     api_base_url: String,
//!     max_segments: u32,
//! }
//!
//! impl Settings {
//!     fn from_config(get: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
//!         let get = |key: &str| settings::trimmed(get(key));
//!         Ok(Settings {
//!             api_key: settings::required(get("api-key"), "api-key")?,
//!             api_base_url: settings::http_url(get("api-base-url"), "api-base-url")?
//!                 .unwrap_or_else(|| "https://api.acme.example".to_string()),
//!             max_segments: settings::positive_integer(get("max-segments"), "max-segments")?
//!                 .unwrap_or(10),
//!         })
//!     }
//! }
//!
//! let config = |key: &str| match key {
//!     "api-key" => Some("k3y".to_string()),
//!     "max-segments" => Some(" 0 ".to_string()),
//!     _ => None,
//! };
//! let error = Settings::from_config(config).err();
//! assert_eq!(
//!     error.as_deref(),
//!     Some("max-segments: \"0\" is not a whole number of at least 1")
//! );
//! ```
//!
//! [`host::config`]: crate::host::config

use crate::host::{self, MissingConfig};
use crate::{SendError, WebhookError};

/// The value trimmed, or `None` when it is blank: how most settings are
/// read (surrounding white space is a typo, and an empty value means "not
/// set").
pub fn trimmed(value: Option<String>) -> Option<String> {
    value
        .map(|text| text.trim().to_string())
        .filter(|text| !text.is_empty())
}

/// The value as given, or `None` when it is blank: for settings whose white
/// space is part of the value (free text, secrets).
pub fn non_blank(value: Option<String>) -> Option<String> {
    value.filter(|text| !text.trim().is_empty())
}

/// A setting that must be set; the error is [`MissingConfig`]'s message
/// (``setting `{key}` is not configured``).
pub fn required(value: Option<String>, key: &str) -> Result<String, String> {
    value.ok_or_else(|| {
        MissingConfig {
            key: key.to_string(),
        }
        .to_string()
    })
}

/// An `http://` or `https://` URL, without its trailing `/` (so that paths
/// can be appended with `format!("{url}/path")`).
pub fn http_url(value: Option<String>, key: &str) -> Result<Option<String>, String> {
    let Some(url) = value else { return Ok(None) };
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(Some(url.trim_end_matches('/').to_string()))
    } else {
        Err(format!("{key}: {url:?} is not an http(s) URL"))
    }
}

/// A whole number (`0` and up), such as a duration in milliseconds.
pub fn whole_number(value: Option<String>, key: &str) -> Result<Option<u64>, String> {
    value
        .map(|text| {
            text.trim()
                .parse::<u64>()
                .map_err(|_| format!("{key}: {text:?} is not a whole number"))
        })
        .transpose()
}

/// A whole number of at least 1, such as a count of segments.
pub fn positive_integer(value: Option<String>, key: &str) -> Result<Option<u32>, String> {
    value
        .map(|text| match text.trim().parse::<u32>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(format!(
                "{key}: {text:?} is not a whole number of at least 1"
            )),
        })
        .transpose()
}

/// A finite number above 0, such as a rate per second.
pub fn positive_number(value: Option<String>, key: &str) -> Result<Option<f64>, String> {
    value
        .map(|text| match text.trim().parse::<f64>() {
            Ok(n) if n.is_finite() && n > 0.0 => Ok(n),
            _ => Err(format!("{key}: {text:?} is not a positive number")),
        })
        .transpose()
}

/// A number from 0 to 1 (both included), such as a share of messages.
pub fn fraction(value: Option<String>, key: &str) -> Result<Option<f64>, String> {
    value
        .map(|text| match text.trim().parse::<f64>() {
            Ok(n) if (0.0..=1.0).contains(&n) => Ok(n),
            _ => Err(format!("{key}: {text:?} is not a number between 0 and 1")),
        })
        .transpose()
}

/// A provider's settings, read once when it is created, or why they are
/// invalid.
///
/// [`Provider::new`](crate::Provider::new) cannot fail, so a provider with
/// invalid settings is still created: it keeps the error, reports defaults
/// in `describe`, and refuses sends ([`Configured::for_send`]) and webhooks
/// ([`Configured::for_webhook`]) with it.
///
/// ```
/// use switchboard_plugin_sdk::SendError;
/// use switchboard_plugin_sdk::settings::Configured;
///
/// let broken: Configured<u32> = Configured::new(Err("api-key: not set".into()));
/// assert_eq!(broken.valid(), None);
/// assert_eq!(
///     broken.for_send(),
///     Err(SendError::permanent("config-invalid", "api-key: not set"))
/// );
/// assert_eq!(Configured::new(Ok(7)).for_send(), Ok(&7));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Configured<S> {
    settings: Result<S, String>,
}

impl<S> Configured<S> {
    /// Settings already read (tests build providers this way).
    pub fn new(settings: Result<S, String>) -> Self {
        Configured { settings }
    }

    /// Reads the settings with `read` from the host's [`host::config`], and
    /// logs an error (`"{plugin} provider: invalid settings: ..."`) when
    /// they are invalid. Call it from [`Provider::new`](crate::Provider::new):
    /// `Configured::from_host("acme", Settings::from_config)`.
    pub fn from_host(
        plugin: &str,
        read: impl FnOnce(fn(&str) -> Option<String>) -> Result<S, String>,
    ) -> Self {
        let settings = read(host::config);
        if let Err(why) = &settings {
            host::error(&format!("{plugin} provider: invalid settings: {why}"));
        }
        Configured::new(settings)
    }

    /// The settings, when they are valid.
    pub fn valid(&self) -> Option<&S> {
        self.settings.as_ref().ok()
    }

    /// The settings, or a permanent `config-invalid` error saying why they
    /// are invalid: retrying will not fix the configuration.
    pub fn for_send(&self) -> Result<&S, SendError> {
        self.settings
            .as_ref()
            .map_err(|why| SendError::permanent("config-invalid", why.clone()))
    }

    /// The settings, or an `unsupported` error (`"invalid settings: ..."`):
    /// a webhook cannot be checked without them.
    pub fn for_webhook(&self) -> Result<&S, WebhookError> {
        self.settings
            .as_ref()
            .map_err(|why| WebhookError::Unsupported(format!("invalid settings: {why}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(text: &str) -> Option<String> {
        Some(text.to_string())
    }

    #[test]
    fn blank_values_are_absent() {
        assert_eq!(trimmed(some("  ")), None);
        assert_eq!(trimmed(some(" a b ")), some("a b"));
        assert_eq!(trimmed(None), None);
        assert_eq!(non_blank(some(" \t")), None);
        assert_eq!(non_blank(some(" a ")), some(" a "));
    }

    #[test]
    fn required_names_the_missing_key() {
        assert_eq!(required(some("x"), "api-key"), Ok("x".to_string()));
        assert_eq!(
            required(None, "api-key"),
            Err("setting `api-key` is not configured".to_string())
        );
    }

    #[test]
    fn urls_lose_their_trailing_slash() {
        assert_eq!(
            http_url(some("https://a.example/base/"), "u"),
            Ok(some("https://a.example/base"))
        );
        assert_eq!(
            http_url(some("http://127.0.0.1:4010"), "u"),
            Ok(some("http://127.0.0.1:4010"))
        );
        assert_eq!(http_url(None, "u"), Ok(None));
        assert_eq!(
            http_url(some("ftp://x"), "api-base-url"),
            Err("api-base-url: \"ftp://x\" is not an http(s) URL".to_string())
        );
    }

    #[test]
    fn numbers_are_checked_and_errors_name_the_key() {
        assert_eq!(whole_number(some(" 0 "), "n"), Ok(Some(0)));
        assert_eq!(
            whole_number(some("-1"), "retry-after-ms"),
            Err("retry-after-ms: \"-1\" is not a whole number".to_string())
        );
        assert_eq!(positive_integer(some("3"), "n"), Ok(Some(3)));
        for bad in ["0", "-2", "1.5", "x"] {
            let error = positive_integer(some(bad), "max-segments").expect_err(bad);
            assert!(error.starts_with("max-segments: "), "{error}");
        }
        assert_eq!(positive_number(some(" 2.5"), "n"), Ok(Some(2.5)));
        for bad in ["0", "-1", "inf", "NaN", "fast"] {
            assert_eq!(
                positive_number(some(bad), "rate-per-second"),
                Err(format!("rate-per-second: {bad:?} is not a positive number"))
            );
        }
        assert_eq!(fraction(some("0"), "n"), Ok(Some(0.0)));
        assert_eq!(fraction(some(" 1.0 "), "n"), Ok(Some(1.0)));
        for bad in ["1.5", "-0.1", "abc", "NaN"] {
            assert_eq!(
                fraction(some(bad), "failure-rate"),
                Err(format!(
                    "failure-rate: {bad:?} is not a number between 0 and 1"
                ))
            );
        }
        assert_eq!(fraction(None, "n"), Ok(None));
    }

    #[test]
    fn configured_maps_invalid_settings_to_call_errors() {
        let broken: Configured<u8> = Configured::new(Err("max-segments: bad".into()));
        assert_eq!(broken.valid(), None);
        assert_eq!(
            broken.for_send(),
            Err(SendError::permanent("config-invalid", "max-segments: bad"))
        );
        assert_eq!(
            broken.for_webhook(),
            Err(WebhookError::Unsupported(
                "invalid settings: max-segments: bad".into()
            ))
        );
        let valid = Configured::new(Ok(4u8));
        assert_eq!(valid.valid(), Some(&4));
        assert_eq!(valid.for_send(), Ok(&4));
        assert_eq!(valid.for_webhook(), Ok(&4));
    }
}
