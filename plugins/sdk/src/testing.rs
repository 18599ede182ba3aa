//! Helpers for a plugin's native unit tests (`cargo test`): settings from
//! `(key, value)` pairs, the values the host would pass ([`HttpResponse`],
//! [`WebhookRequest`], [`Message`]), fixture files, an assertion on webhook
//! signatures, and the plugin's [`Manifest`]. For importers: feeding a file
//! in chunks of any size ([`import_in_chunks`]), checking that the results
//! do not depend on the chunking ([`import_every_way`],
//! [`assert_chunking_does_not_matter`]), rendering them as text
//! ([`render_results`]), checking how invalid options are refused
//! ([`assert_options_refused`]) and that memory stays flat
//! ([`stream_records`], [`CountingImport`], [`push_repeatedly`]).
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
use crate::import::{StreamImporter, StreamParser};
use crate::{Importer, Message, RowResult, WebhookError, WebhookRequest};

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

/// The keys a [`recording_config_lookup`] was asked for, in first-asked order.
pub type AskedKeys = std::rc::Rc<std::cell::RefCell<Vec<String>>>;

/// Like [`config_lookup`], and remembers every key asked for: what a
/// plugin's settings reader really reads, for checking the manifest against.
pub fn recording_config_lookup(
    pairs: &[(&str, &str)],
) -> (impl Fn(&str) -> Option<String> + use<>, AskedKeys) {
    let answer = config_lookup(pairs);
    let asked = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let log = asked.clone();
    let lookup = move |key: &str| {
        let mut log = log.borrow_mut();
        if !log.iter().any(|k| k == key) {
            log.push(key.to_string());
        }
        answer(key)
    };
    (lookup, asked)
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

/// Sizes from 1 to `max`, endless, drawn from a tiny deterministic generator
/// (xorshift64) seeded with `seed`: chunk sizes for [`import_in_chunks`].
pub fn chunk_sizes(seed: u64, max: usize) -> impl Iterator<Item = usize> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    std::iter::repeat_with(move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % max as u64) as usize + 1
    })
}

/// Creates the importer `I` with `options`, pushes `input` to it in chunks
/// of the given sizes (the last one cut short; sizes left over are not
/// used), then finishes, and returns every result in order. `sizes` must not
/// run out before the input does, nor hold a 0.
///
/// ```
/// # use switchboard_plugin_sdk::{Importer, Row, RowResult};
/// # #[derive(Debug)]
/// # struct Bytes(u64);
/// # impl Importer for Bytes {
/// #     fn new(_: Vec<(String, String)>) -> Self { Bytes(0) }
/// #     fn push(&mut self, chunk: &[u8]) -> Vec<RowResult> { self.0 += chunk.len() as u64; vec![] }
/// #     fn finish(&mut self) -> Vec<RowResult> {
/// #         vec![RowResult::Row(Row { line: 1, fields: vec![("n".into(), self.0.to_string())] })]
/// #     }
/// # }
/// use switchboard_plugin_sdk::testing::{import_in_chunks, render_results};
///
/// let results = import_in_chunks::<Bytes>(&[], b"hello", std::iter::repeat(2));
/// assert_eq!(render_results(&results), [r#"1: n="5""#]);
/// ```
pub fn import_in_chunks<I: Importer>(
    options: &[(&str, &str)],
    input: &[u8],
    sizes: impl IntoIterator<Item = usize>,
) -> Vec<RowResult> {
    let mut importer = I::new(pairs(options));
    let mut results = Vec::new();
    let mut rest = input;
    for size in sizes {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        results.extend(importer.push(chunk));
        rest = tail;
    }
    results.extend(importer.finish());
    results
}

/// One line per result, to compare in assertions:
/// `LINE: name="value", ...` for a row, `LINE! message` for an error.
pub fn render_results(results: &[RowResult]) -> Vec<String> {
    results
        .iter()
        .map(|result| match result {
            RowResult::Row(row) => {
                let fields: Vec<String> = row
                    .fields
                    .iter()
                    .map(|(name, value)| format!("{name}={value:?}"))
                    .collect();
                format!("{}: {}", row.line, fields.join(", "))
            }
            RowResult::Error(e) => format!("{}! {}", e.line, e.message),
        })
        .collect()
}

/// The results of importing `input` in one chunk, rendered
/// ([`render_results`]).
fn import_whole<I: Importer>(options: &[(&str, &str)], input: &[u8]) -> Vec<String> {
    render_results(&import_in_chunks::<I>(
        options,
        input,
        std::iter::once(input.len().max(1)),
    ))
}

/// Imports `input` with the importer `I` whole, byte by byte and in pieces
/// of random sizes ([`chunk_sizes`]); asserts that every way gives the same
/// results and returns them, rendered ([`render_results`]).
#[track_caller]
pub fn import_every_way<I: Importer>(
    options: &[(&str, &str)],
    input: impl AsRef<[u8]>,
) -> Vec<String> {
    let input = input.as_ref();
    let whole = import_whole::<I>(options, input);
    let bytewise = render_results(&import_in_chunks::<I>(options, input, std::iter::repeat(1)));
    assert_eq!(bytewise, whole, "byte by byte");
    for (seed, max) in [(1, 3), (2, 8), (3, 64), (4, 1000)] {
        let pieces = render_results(&import_in_chunks::<I>(
            options,
            input,
            chunk_sizes(seed, max),
        ));
        assert_eq!(pieces, whole, "pieces of 1 to {max} bytes");
    }
    whole
}

/// Asserts that the importer `I` gives the same results for `input` pushed
/// whole, in chunks of `sizes` (repeated as needed; none may be 0) and byte
/// by byte: the body of a property test, with `input` and `sizes` drawn at
/// random.
#[track_caller]
pub fn assert_chunking_does_not_matter<I: Importer>(
    options: &[(&str, &str)],
    input: &[u8],
    sizes: &[usize],
) {
    let whole = import_whole::<I>(options, input);
    let pieces = render_results(&import_in_chunks::<I>(
        options,
        input,
        sizes.iter().copied().cycle(),
    ));
    assert_eq!(pieces, whole, "in chunks of {sizes:?} bytes");
    let bytewise = render_results(&import_in_chunks::<I>(options, input, std::iter::repeat(1)));
    assert_eq!(bytewise, whole, "byte by byte");
}

/// Asserts that the importer `I` refuses `options` as an importer should:
/// one error, rendered as `expected` ([`render_results`]), returned by the
/// first call whether it is `push` (of `input`) or `finish`, and nothing from
/// any later call.
#[track_caller]
pub fn assert_options_refused<I: Importer>(options: &[(&str, &str)], input: &[u8], expected: &str) {
    let mut importer = I::new(pairs(options));
    assert_eq!(
        render_results(&importer.push(input)),
        [expected],
        "first push"
    );
    assert!(importer.push(input).is_empty(), "a push after the error");
    assert!(importer.finish().is_empty(), "finish after the error");
    let mut importer = I::new(pairs(options));
    assert_eq!(
        render_results(&importer.finish()),
        [expected],
        "finish first"
    );
    assert!(importer.finish().is_empty(), "a second finish");
}

/// Pushes `chunk` to `importer` `times` times, asserting after each push
/// that it holds at most `most_buffered` bytes between calls; returns the
/// results. For tests that a huge record does not grow memory.
#[track_caller]
pub fn push_repeatedly<P: StreamParser + 'static>(
    importer: &mut StreamImporter<P>,
    chunk: &[u8],
    times: usize,
    most_buffered: usize,
) -> Vec<RowResult> {
    let mut results = Vec::new();
    for _ in 0..times {
        results.extend(importer.push(chunk));
        let buffered = importer.buffered_bytes();
        assert!(
            buffered <= most_buffered,
            "{buffered} bytes buffered, more than {most_buffered}"
        );
    }
    results
}

/// Streams about `total` bytes made of `header` then `record(1)`,
/// `record(2)`, ... to `sink` in chunks of `chunk` bytes (the last one
/// shorter), without keeping them: a large file for tests of flat memory.
/// Returns how many records were written.
pub fn stream_records(
    total: usize,
    chunk: usize,
    header: &[u8],
    mut record: impl FnMut(u64) -> String,
    mut sink: impl FnMut(&[u8]),
) -> u64 {
    let mut pending = header.to_vec();
    let (mut written, mut records) = (0, 0);
    while written < total {
        records += 1;
        pending.extend_from_slice(record(records).as_bytes());
        while pending.len() >= chunk {
            sink(&pending[..chunk]);
            written += chunk;
            pending.drain(..chunk);
        }
    }
    sink(&pending);
    records
}

/// A [`StreamImporter`] fed a large input piece by piece that keeps counts
/// of its results instead of the results, and the most bytes it held between
/// calls: for tests that memory stays flat however large the file.
#[derive(Debug)]
pub struct CountingImport<P> {
    importer: StreamImporter<P>,
    /// Rows returned so far.
    pub rows: u64,
    /// Errors returned so far.
    pub errors: u64,
    /// The `line` of the last row returned.
    pub last_row_line: u64,
    /// The most bytes the importer held after a push.
    pub most_buffered: usize,
}

impl<P: StreamParser + 'static> CountingImport<P> {
    /// An import with `options`, nothing pushed yet.
    pub fn new(options: &[(&str, &str)]) -> Self {
        CountingImport {
            importer: StreamImporter::new(pairs(options)),
            rows: 0,
            errors: 0,
            last_row_line: 0,
            most_buffered: 0,
        }
    }

    /// Pushes the next chunk and counts what it returns.
    pub fn push(&mut self, chunk: &[u8]) {
        let results = self.importer.push(chunk);
        self.count(results);
        self.most_buffered = self.most_buffered.max(self.importer.buffered_bytes());
    }

    /// Ends the input and counts what is returned.
    pub fn finish(&mut self) {
        let results = self.importer.finish();
        self.count(results);
    }

    /// Asserts that the importer never held more than `limit` bytes
    /// between calls.
    #[track_caller]
    pub fn assert_most_buffered(&self, limit: usize) {
        assert!(
            self.most_buffered <= limit,
            "{} bytes buffered, more than {limit}",
            self.most_buffered
        );
    }

    /// Adds `results` to the counts.
    fn count(&mut self, results: Vec<RowResult>) {
        for result in results {
            match result {
                RowResult::Row(row) => {
                    self.rows += 1;
                    self.last_row_line = row.line;
                }
                RowResult::Error(_) => self.errors += 1,
            }
        }
    }
}

/// A plugin's manifest (`plugin.toml`) with its settings schema parsed, to
/// check it against the code.
///
/// ```
/// use switchboard_plugin_sdk::testing::{Manifest, recording_config_lookup};
///
/// // The plugin's settings reader, run on a recording lookup: the keys it asks for.
/// let (lookup, asked) = recording_config_lookup(&[("api-key", "k")]);
/// let _ = (lookup("api-key"), lookup("max-segments"));
/// let asked = asked.borrow();
/// let setting_keys: Vec<&str> = asked.iter().map(String::as_str).collect();
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
/// manifest.assert_provider("acme", "0.1.0", &setting_keys);
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

    /// Asserts what an importer's manifest must say: its `name`,
    /// `kind = "importer"`, `wit = "0.1.0"`, its `component` file, the
    /// crate's `version`, only the
    /// keys the host's manifest type knows (it denies the others), a
    /// settings schema that allows no settings (everything comes with the
    /// import request), and a description of at most 1000 characters that
    /// names each of `option_keys`, the import options the plugin reads
    /// (the manifest has no field for them).
    #[track_caller]
    pub fn assert_importer(
        &self,
        name: &str,
        component: &str,
        version: &str,
        option_keys: &[&str],
    ) {
        assert_eq!(self.field("name"), Some(name), "name");
        assert_eq!(self.field("kind"), Some("importer"), "kind");
        assert_eq!(self.field("wit"), Some("0.1.0"), "wit");
        assert_eq!(self.field("component"), Some(component), "component");
        assert_eq!(self.field("version"), Some(version), "version");
        let mut keys: Vec<&str> = self.table.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "allowed-hosts",
                "component",
                "description",
                "kind",
                "name",
                "settings-schema",
                "version",
                "wit"
            ],
            "the manifest's keys (the host denies any other)"
        );
        assert_eq!(self.settings_schema["type"], "object", "settings-schema");
        assert_eq!(
            self.settings_schema["additionalProperties"], false,
            "settings-schema allows no settings"
        );
        assert!(
            self.settings_schema.get("properties").is_none(),
            "settings-schema declares no settings"
        );
        let description = self.field("description").expect("a description");
        assert!(
            description.len() <= 1000,
            "description of at most 1000 bytes"
        );
        for key in option_keys {
            assert!(description.contains(key), "{key} is not described");
        }
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

    /// An importer that returns one row per push, its chunk's length as the
    /// field `len`, and nothing on `finish`: its results depend on chunking.
    #[derive(Debug)]
    struct ChunkLengths;

    impl Importer for ChunkLengths {
        fn new(_options: Vec<(String, String)>) -> Self {
            ChunkLengths
        }

        fn push(&mut self, chunk: &[u8]) -> Vec<RowResult> {
            vec![RowResult::Row(crate::Row {
                line: 1,
                fields: vec![("len".into(), chunk.len().to_string())],
            })]
        }

        fn finish(&mut self) -> Vec<RowResult> {
            Vec::new()
        }
    }

    /// A parser that keeps everything and returns one row per `;`-ended
    /// record at the end, or an error for line 1 when `broken` is set.
    #[derive(Debug)]
    struct Records(Vec<u8>);

    impl StreamParser for Records {
        fn with_options(options: &[(String, String)]) -> Result<Self, String> {
            match options.first() {
                Some((key, value)) => Err(format!("{key}: {value:?} is not known")),
                None => Ok(Records(Vec::new())),
            }
        }

        fn consume(&mut self, input: &[u8], _out: &mut Vec<RowResult>) {
            self.0.extend_from_slice(input);
        }

        fn end(self, out: &mut Vec<RowResult>) {
            for (index, record) in self.0.split(|&b| b == b';').enumerate() {
                if !record.is_empty() {
                    out.push(RowResult::Row(crate::Row {
                        line: index as u64 + 1,
                        fields: vec![("r".into(), String::from_utf8_lossy(record).into())],
                    }));
                }
            }
            out.push(RowResult::Error(crate::RowError {
                line: 9,
                message: "end".into(),
            }));
        }

        fn buffered_bytes(&self) -> usize {
            self.0.len()
        }
    }

    #[test]
    fn chunk_sizes_stay_in_range_and_repeat_per_seed() {
        let sizes: Vec<usize> = chunk_sizes(7, 5).take(200).collect();
        assert!(sizes.iter().all(|size| (1..=5).contains(size)), "{sizes:?}");
        assert!((1..=5).all(|size| sizes.contains(&size)), "{sizes:?}");
        assert_eq!(sizes, chunk_sizes(7, 5).take(200).collect::<Vec<_>>());
    }

    #[test]
    fn imports_in_chunks_and_renders() {
        let results = import_in_chunks::<ChunkLengths>(&[], b"abcde", [2, 2, 2, 2]);
        assert_eq!(
            render_results(&results),
            [r#"1: len="2""#, r#"1: len="2""#, r#"1: len="1""#]
        );
        assert_eq!(
            render_results(&import_in_chunks::<StreamImporter<Records>>(
                &[],
                b"a;bc;",
                std::iter::repeat(1)
            )),
            [r#"1: r="a""#, r#"2: r="bc""#, "9! end"]
        );
    }

    #[test]
    fn chunking_checks_pass_or_fail() {
        assert_eq!(
            import_every_way::<StreamImporter<Records>>(&[], "x;y"),
            [r#"1: r="x""#, r#"2: r="y""#, "9! end"]
        );
        assert_chunking_does_not_matter::<StreamImporter<Records>>(&[], b"x;y;z", &[2, 1]);
        let every_way = std::panic::catch_unwind(|| import_every_way::<ChunkLengths>(&[], "ab"));
        assert!(every_way.is_err());
        let chunked = std::panic::catch_unwind(|| {
            assert_chunking_does_not_matter::<ChunkLengths>(&[], b"abc", &[2])
        });
        assert!(chunked.is_err());
    }

    #[test]
    fn refused_options_are_checked() {
        assert_options_refused::<StreamImporter<Records>>(
            &[("mode", "x")],
            b"a;",
            r#"1! invalid option mode: "x" is not known; nothing was imported"#,
        );
        let accepted = std::panic::catch_unwind(|| {
            assert_options_refused::<StreamImporter<Records>>(&[], b"a;", "1! no")
        });
        assert!(accepted.is_err());
    }

    #[test]
    fn memory_helpers_count_and_bound() {
        let mut import = CountingImport::<Records>::new(&[]);
        let written = stream_records(
            100,
            16,
            b"h;",
            |n| format!("{n:03};"),
            |chunk| {
                assert!(chunk.len() <= 16);
                import.push(chunk);
            },
        );
        assert_eq!(written, 28);
        import.finish();
        assert_eq!((import.rows, import.errors), (29, 1));
        assert_eq!(import.last_row_line, 29);
        import.assert_most_buffered(2 + 4 * 28);
        assert!(std::panic::catch_unwind(|| import.assert_most_buffered(2 + 4 * 28 - 1)).is_err());

        let mut importer = StreamImporter::<Records>::new(Vec::new());
        assert!(push_repeatedly(&mut importer, b"ab", 3, 6).is_empty());
        let mut importer = StreamImporter::<Records>::new(Vec::new());
        let too_much =
            std::panic::catch_unwind(move || push_repeatedly(&mut importer, b"ab", 3, 5));
        assert!(too_much.is_err());
    }

    /// The manifest of an importer named `lines`.
    const LINES_MANIFEST: &str = r#"
name = "lines"
version = "1.0.0"
kind = "importer"
wit = "0.1.0"
component = "importer_lines.wasm"
description = "Imports lines. Import options: max-record-bytes."
allowed-hosts = []
settings-schema = '{"type": "object", "additionalProperties": false}'
"#;

    #[test]
    fn importer_manifests_are_checked() {
        let manifest = Manifest::parse(LINES_MANIFEST);
        manifest.assert_importer(
            "lines",
            "importer_lines.wasm",
            "1.0.0",
            &["max-record-bytes"],
        );
        for (name, component, keys) in [
            ("other", "importer_lines.wasm", &["max-record-bytes"][..]),
            ("lines", "lines.wasm", &["max-record-bytes"][..]),
            ("lines", "importer_lines.wasm", &["delimiter"][..]),
        ] {
            let result = std::panic::catch_unwind(|| {
                manifest.assert_importer(name, component, "1.0.0", keys)
            });
            assert!(result.is_err(), "{name} {component} {keys:?}");
        }
    }
}
