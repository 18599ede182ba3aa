//! Helpers for a plugin's native unit tests (`cargo test`): settings from
//! `(key, value)` pairs, the values the host would pass ([`HttpResponse`],
//! [`WebhookRequest`], [`Message`]), fixture files, an assertion on webhook
//! signatures, and the plugin's [`Manifest`].
//!
//! Enabled by the cargo feature `testing`; a plugin turns it on for its tests
//! only:
//!
//! ```toml
//! [dev-dependencies]
//! switchboard-plugin-sdk = { workspace = true, features = ["testing"] }
//! ```
//!
//! The helpers never call the host, so they work natively, where there is
//! none. Like any test code they panic when something is wrong (a missing
//! fixture, a manifest that is not TOML).
//!
//! ```
//! use switchboard_plugin_sdk::testing;
//!
//! let config = testing::config_lookup(&[("api-key", "k3y")]);
//! assert_eq!(config("api-key").as_deref(), Some("k3y"));
//! assert_eq!(config("max-segments"), None);
//!
//! let response = testing::response(429, &[("Retry-After", "2")], "slow down");
//! assert_eq!(response.retry_after_ms(), Some(2_000));
//!
//! let request = testing::webhook_request("/webhooks/acme", &[("X-Token", "t")], "{}");
//! assert_eq!(request.header("x-token"), Some("t"));
//! ```

use std::collections::HashMap;
use std::fmt::Debug;
use std::path::Path;

use crate::http::HttpResponse;
use crate::{Message, WebhookError, WebhookRequest};

/// `(name, value)` pairs as owned strings, the form headers and form
/// parameters take.
pub fn pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// A stand-in for [`host::config`](crate::host::config) that answers from
/// `pairs` (`None` for any other key; a key given twice has its last value).
/// Pass it to a plugin's `Settings::from_config`-style reader.
pub fn config_lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let settings: HashMap<String, String> = self::pairs(pairs).into_iter().collect();
    move |key| settings.get(key).cloned()
}

/// A response with `status`, `headers` and `body`, as the host's `fetch`
/// returns it.
pub fn response(status: u16, headers: &[(&str, &str)], body: impl AsRef<[u8]>) -> HttpResponse {
    HttpResponse {
        status,
        headers: pairs(headers),
        body: body.as_ref().to_vec(),
    }
}

/// A `POST` webhook to `path`, without a query string, with `headers` and
/// `body`. Set the public fields to change the rest.
pub fn webhook_request(
    path: &str,
    headers: &[(&str, &str)],
    body: impl AsRef<[u8]>,
) -> WebhookRequest {
    WebhookRequest {
        method: "POST".into(),
        path: path.into(),
        query: String::new(),
        headers: pairs(headers),
        body: body.as_ref().to_vec(),
    }
}

/// A one-segment text message (no media) on its first try, whose id is
/// `id-{idempotency_key}`. Set the public fields to change the rest.
pub fn message(idempotency_key: &str, from: &str, to: &str, body: &str) -> Message {
    Message {
        id: format!("id-{idempotency_key}"),
        idempotency_key: idempotency_key.into(),
        from: from.into(),
        to: to.into(),
        body: body.into(),
        media: Vec::new(),
        segments: 1,
        try_number: 1,
    }
}

/// The text of the fixture file `tests/fixtures/{name}` of the crate in
/// `crate_dir`: pass `env!("CARGO_MANIFEST_DIR")`. The bytes are read as they
/// are (signed fixtures must not change). Panics when the file cannot be
/// read.
pub fn read_fixture(crate_dir: &str, name: &str) -> String {
    let path = Path::new(crate_dir)
        .join("tests")
        .join("fixtures")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("fixture {}: {error}", path.display()))
}

/// Asserts that a webhook was refused for its signature
/// ([`WebhookError::BadSignature`]).
#[track_caller]
pub fn assert_bad_signature<T: Debug>(result: Result<T, WebhookError>) {
    assert!(
        matches!(result, Err(WebhookError::BadSignature(_))),
        "{result:?}"
    );
}

/// A plugin's manifest (`plugin.toml`) with its settings schema parsed, to
/// check it against the code.
///
/// ```
/// use switchboard_plugin_sdk::testing::Manifest;
///
/// /// The settings the plugin reads.
/// const SETTING_KEYS: [&str; 2] = ["api-key", "max-segments"];
///
/// let manifest = Manifest::parse(
///     r#"
///     name = "acme"
///     version = "0.1.0"
///     kind = "provider"
///     component = "provider_acme.wasm"
///     settings-schema = '''
///     {"type": "object", "required": ["api-key"],
///      "properties": {"max-segments": {"type": "string"}, "api-key": {"type": "string"}}}
///     '''
///     "#,
/// );
/// // In a plugin: `include_str!("../plugin.toml")` and `env!("CARGO_PKG_VERSION")`.
/// manifest.assert_provider("acme", "0.1.0", &SETTING_KEYS);
/// assert_eq!(manifest.field("component"), Some("provider_acme.wasm"));
/// assert_eq!(manifest.settings_schema()["required"][0], "api-key");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    table: toml::Table,
    settings_schema: serde_json::Value,
}

impl Manifest {
    /// Parses a manifest's text. Panics when it is not TOML, or when its
    /// `settings-schema` is not a string of JSON.
    #[track_caller]
    pub fn parse(text: &str) -> Manifest {
        let table: toml::Table =
            toml::from_str(text).unwrap_or_else(|error| panic!("plugin.toml is not TOML: {error}"));
        let schema_text = table
            .get("settings-schema")
            .and_then(toml::Value::as_str)
            .unwrap_or_else(|| panic!("plugin.toml has no settings-schema string"));
        let settings_schema = serde_json::from_str(schema_text)
            .unwrap_or_else(|error| panic!("settings-schema is not JSON: {error}"));
        Manifest {
            table,
            settings_schema,
        }
    }

    /// A top-level string of the manifest (`name`, `kind`, `version`,
    /// `component`, ...).
    pub fn field(&self, key: &str) -> Option<&str> {
        self.table.get(key).and_then(toml::Value::as_str)
    }

    /// The settings schema (JSON Schema), parsed.
    pub fn settings_schema(&self) -> &serde_json::Value {
        &self.settings_schema
    }

    /// The setting keys the schema declares (its `properties`), sorted.
    /// Panics when it has no `properties` object.
    #[track_caller]
    pub fn declared_settings(&self) -> Vec<&str> {
        let properties = self.settings_schema["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("settings-schema has no properties"));
        let mut keys: Vec<&str> = properties.keys().map(String::as_str).collect();
        keys.sort_unstable();
        keys
    }

    /// Asserts what a provider's manifest must say: its `name`,
    /// `kind = "provider"`, the crate's `version`, and a settings schema that
    /// declares exactly `setting_keys` (in any order), the settings the plugin
    /// reads.
    #[track_caller]
    pub fn assert_provider(&self, name: &str, version: &str, setting_keys: &[&str]) {
        assert_eq!(self.field("name"), Some(name), "name");
        assert_eq!(self.field("kind"), Some("provider"), "kind");
        assert_eq!(self.field("version"), Some(version), "version");
        let mut read = setting_keys.to_vec();
        read.sort_unstable();
        assert_eq!(
            self.declared_settings(),
            read,
            "the settings the schema declares, and those the plugin reads"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_lookup_answers_from_pairs() {
        let config = config_lookup(&[("a", "1"), ("b", " 2 "), ("a", "3")]);
        assert_eq!(config("a").as_deref(), Some("3"));
        assert_eq!(config("b").as_deref(), Some(" 2 "));
        assert_eq!(config("c"), None);
    }

    #[test]
    fn builders_fill_every_field() {
        let response = response(201, &[("X-A", "1")], "ok");
        assert_eq!(response.status, 201);
        assert_eq!(response.header("x-a"), Some("1"));
        assert_eq!(response.text(), "ok");

        let request = webhook_request("/hook", &[], b"\x00\xff");
        assert_eq!(
            (
                request.method.as_str(),
                request.path.as_str(),
                request.query.as_str()
            ),
            ("POST", "/hook", "")
        );
        assert_eq!(request.body, [0x00, 0xff]);

        let message = message("k1", "+1", "+2", "hi");
        assert_eq!(message.id, "id-k1");
        assert_eq!(message.idempotency_key, "k1");
        assert_eq!((message.from.as_str(), message.to.as_str()), ("+1", "+2"));
        assert_eq!((message.segments, message.try_number), (1, 1));
    }

    #[test]
    fn missing_fixtures_panic_with_their_path() {
        let result = std::panic::catch_unwind(|| read_fixture(env!("CARGO_MANIFEST_DIR"), "none"));
        let panic = result.expect_err("no such fixture");
        let text = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(text.contains("tests/fixtures/none"), "{text}");
    }

    #[test]
    fn manifests_are_checked_against_the_settings_read() {
        let manifest = Manifest::parse(
            r#"
            name = "acme"
            version = "1.2.3"
            kind = "provider"
            settings-schema = '{"properties": {"b": {}, "a": {}}}'
            "#,
        );
        assert_eq!(manifest.declared_settings(), ["a", "b"]);
        assert_eq!(manifest.field("component"), None);
        manifest.assert_provider("acme", "1.2.3", &["b", "a"]);
        for (name, version, keys) in [
            ("other", "1.2.3", &["a", "b"][..]),
            ("acme", "1.0.0", &["a", "b"][..]),
            ("acme", "1.2.3", &["a"][..]),
            ("acme", "1.2.3", &["a", "b", "c"][..]),
        ] {
            let result = std::panic::catch_unwind(|| manifest.assert_provider(name, version, keys));
            assert!(result.is_err(), "{name} {version} {keys:?}");
        }
    }

    #[test]
    fn bad_signatures_pass_and_anything_else_fails() {
        assert_bad_signature::<()>(Err(WebhookError::BadSignature("x".into())));
        for other in [Ok(()), Err(WebhookError::Malformed("x".into()))] {
            assert!(std::panic::catch_unwind(|| assert_bad_signature(other)).is_err());
        }
    }
}
