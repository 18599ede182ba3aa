//! Tests of the whole importer: every input is fed whole, byte by byte and
//! in random pieces, and must give the same results each way.

use proptest::prelude::*;

use super::*;
use crate::options::OPTION_KEYS;

fn pairs(options: &[(&str, &str)]) -> Vec<(String, String)> {
    options
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Sizes from 1 to `max`, drawn from a tiny deterministic generator
/// (xorshift64) seeded with `seed`.
fn chunk_sizes(seed: u64, max: usize) -> impl Iterator<Item = usize> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    std::iter::repeat_with(move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % max as u64) as usize + 1
    })
}

/// Feeds `input` in pieces of the given sizes, then finishes.
fn run(
    options: &[(&str, &str)],
    input: &[u8],
    sizes: impl Iterator<Item = usize>,
) -> Vec<RowResult> {
    let mut importer = JsonlImporter::new(pairs(options));
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

/// One line per result: `LINE: name="value", ...` or `LINE! message`.
fn render(results: &[RowResult]) -> Vec<String> {
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

/// Imports `input` whole, byte by byte and in random pieces; asserts that
/// every way gives the same results and returns them, rendered.
fn import_with(options: &[(&str, &str)], input: &[u8]) -> Vec<String> {
    let whole = render(&run(options, input, std::iter::once(input.len().max(1))));
    let bytewise = render(&run(options, input, std::iter::repeat(1)));
    assert_eq!(bytewise, whole, "byte by byte");
    for (seed, max) in [(1, 3), (2, 8), (3, 64), (4, 1000)] {
        let pieces = render(&run(options, input, chunk_sizes(seed, max)));
        assert_eq!(pieces, whole, "pieces of 1 to {max} bytes");
    }
    whole
}

fn import(input: &str) -> Vec<String> {
    import_with(&[], input.as_bytes())
}

#[test]
fn one_row_per_object_in_member_order() {
    assert_eq!(
        import(concat!(
            r#"{"phone": "+15550001", "name": "Ann", "age": 41, "vip": true, "tz": null}"#,
            "\n",
            r#"{"name":"Bob","phone":"0612 34"}"#,
            "\n",
        )),
        [
            r#"1: phone="+15550001", name="Ann", age="41", vip="true", tz="""#,
            r#"2: name="Bob", phone="0612 34""#,
        ]
    );
}

#[test]
fn blank_lines_crlf_and_a_missing_last_newline() {
    assert_eq!(
        import("\r\n{\"a\":1}\r\n  \r\n\n{\"a\":2}"),
        [r#"2: a="1""#, r#"5: a="2""#]
    );
}

#[test]
fn a_byte_order_mark_is_skipped() {
    // Byte by byte, the mark arrives split over three chunks.
    assert_eq!(import("\u{feff}{\"a\":1}\n"), [r#"1: a="1""#]);
    assert!(import("\u{feff}").is_empty());
}

#[test]
fn an_empty_file_gives_nothing() {
    assert!(import("").is_empty());
    assert!(import("\n\n").is_empty());
}

#[test]
fn bad_lines_are_errors_and_reading_goes_on() {
    assert_eq!(
        import_with(
            &[],
            b"[1]\n42\n{\"a\":\nphone,name\n{\"a\":{\"b\":1}}\n{\"a\":\"\xE9\"}\n{\"a\":1,\"A\":2}\n{\"a\":3}\n"
        ),
        [
            "1! invalid type: sequence, expected a JSON object at column 1",
            "2! invalid type: integer `42`, expected a JSON object at column 2",
            "3! EOF while parsing a value at column 5",
            "4! expected value at column 1",
            r#"5! field "a": nested values are not supported"#,
            "6! invalid unicode code point at column 7",
            r#"7! field "A" appears twice (names are compared without regard to case)"#,
            r#"8: a="3""#,
        ]
    );
}

#[test]
fn an_oversized_line_is_an_error_and_reading_resumes() {
    let long = format!("{{\"a\":\"{}\"}}", "x".repeat(40));
    let input = format!("{{\"a\":1}}\n{long}\n{{\"a\":2}}\n{long}");
    assert_eq!(
        import_with(&[("max-record-bytes", "32")], input.as_bytes()),
        [
            r#"1: a="1""#,
            "2! line is longer than max-record-bytes (32 bytes); skipped",
            r#"3: a="2""#,
            "4! line is longer than max-record-bytes (32 bytes); skipped",
        ]
    );
}

#[test]
fn an_invalid_option_is_reported_once_for_line_1() {
    let mut importer = JsonlImporter::new(pairs(&[("max-record-bytes", "lots")]));
    assert_eq!(
        render(&importer.push(b"{\"a\":1}\n")),
        [
            r#"1! invalid option max-record-bytes: "lots" is not a whole number from 1 to 67108864; nothing was imported"#
        ]
    );
    assert!(importer.push(b"{\"a\":2}\n").is_empty());
    assert!(importer.finish().is_empty());
    let mut importer = JsonlImporter::new(pairs(&[("max-record-bytes", "0")]));
    assert_eq!(importer.finish().len(), 1);
}

#[test]
fn calls_after_finish_return_nothing() {
    let mut importer = JsonlImporter::new(Vec::new());
    assert_eq!(importer.push(b"{\"a\":1}").len(), 0);
    assert_eq!(importer.finish().len(), 1);
    assert!(importer.push(b"\n{\"a\":2}\n").is_empty());
    assert!(importer.finish().is_empty());
}

#[test]
fn memory_stays_flat_over_50_megabytes() {
    let mut importer = JsonlImporter::new(Vec::new());
    let (mut rows, mut errors, mut last_line, mut most_buffered) = (0u64, 0u64, 0u64, 0usize);
    let mut pending = Vec::new();
    let (mut written, mut generated) = (0usize, 0u64);
    let chunk = 64 << 10;
    let mut count = |results: Vec<RowResult>| {
        for result in results {
            match result {
                RowResult::Row(row) => {
                    rows += 1;
                    last_line = row.line;
                }
                RowResult::Error(_) => errors += 1,
            }
        }
    };
    while written < 50 << 20 {
        generated += 1;
        pending.extend_from_slice(
            format!(
                "{{\"phone\":\"+1555{generated:07}\",\"name\":\"Name \\\"{generated}\\\"\",\"n\":{generated},\"tz\":\"Europe/Paris\"}}\r\n"
            )
            .as_bytes(),
        );
        while pending.len() >= chunk {
            count(importer.push(&pending[..chunk]));
            most_buffered = most_buffered.max(importer.buffered_bytes());
            written += chunk;
            pending.drain(..chunk);
        }
    }
    count(importer.push(&pending));
    count(importer.finish());
    assert_eq!(errors, 0);
    assert_eq!(rows, generated);
    assert_eq!(last_line, generated);
    assert!(rows > 500_000, "{rows} rows");
    assert!(most_buffered <= 1024, "{most_buffered} bytes buffered");
}

#[test]
fn memory_stays_bounded_for_a_huge_line() {
    let mut importer = JsonlImporter::new(pairs(&[("max-record-bytes", "65536")]));
    let mut results = importer.push(b"{\"a\":\"");
    let chunk = vec![b'x'; 64 << 10];
    for _ in 0..160 {
        results.extend(importer.push(&chunk));
        assert!(importer.buffered_bytes() <= 65536);
    }
    results.extend(importer.push(b"\"}\n{\"a\":2}\n"));
    results.extend(importer.finish());
    assert_eq!(
        render(&results),
        [
            "1! line is longer than max-record-bytes (65536 bytes); skipped",
            r#"2: a="2""#
        ]
    );
}

#[test]
fn manifest_describes_the_importer() {
    let manifest: toml::Table =
        toml::from_str(include_str!("../plugin.toml")).expect("plugin.toml is TOML");
    assert_eq!(manifest["name"].as_str(), Some("jsonl"));
    assert_eq!(manifest["kind"].as_str(), Some("importer"));
    assert_eq!(manifest["wit"].as_str(), Some("0.1.0"));
    assert_eq!(manifest["component"].as_str(), Some("importer_jsonl.wasm"));
    assert_eq!(
        manifest["version"].as_str(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    // The host's manifest type denies unknown keys: keep to the ones it has.
    let mut keys: Vec<&str> = manifest.keys().map(String::as_str).collect();
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
        ]
    );
    let settings: serde_json::Value = serde_json::from_str(
        manifest["settings-schema"]
            .as_str()
            .expect("settings-schema is a string"),
    )
    .expect("settings-schema is JSON");
    assert_eq!(settings["type"], "object");
    assert_eq!(settings["additionalProperties"], false);
    assert!(settings.get("properties").is_none());
    // There is no field for import options: the description names them.
    let description = manifest["description"].as_str().expect("a description");
    assert!(description.len() <= 1000);
    for key in OPTION_KEYS {
        assert!(description.contains(key), "{key} is not described");
    }
}

/// Bytes that matter to JSON Lines, and a few that do not.
fn jsonl_byte() -> impl Strategy<Value = u8> {
    prop::sample::select(vec![
        b'{', b'}', b'[', b']', b'"', b':', b',', b'a', b'1', b' ', b'\\', b'\r', b'\n', 0xEF,
        0xBB, 0xBF, 0xC3, 0xA9, 0xFF,
    ])
}

/// Short JSON Lines documents, made of valid and broken lines.
fn jsonl_text() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        prop::collection::vec(jsonl_byte(), 0..30),
        Just(b"{\"a\":1,\"b\":\"x\"}".to_vec()),
        Just(b"{\"a\":[1],\"b\":null}\r".to_vec()),
        Just(b"\xEF\xBB\xBF{\"x\":true}".to_vec()),
    ];
    prop::collection::vec(line, 0..12).prop_map(|lines| lines.join(&b'\n'))
}

proptest! {
    #[test]
    fn results_do_not_depend_on_chunking(
        input in jsonl_text(),
        sizes in prop::collection::vec(1usize..40, 1..50),
        cap in prop::sample::select(vec!["8", "20", "1048576"]),
    ) {
        let options = [("max-record-bytes", cap)];
        let whole = render(&run(&options, &input, std::iter::once(input.len().max(1))));
        let pieces = render(&run(&options, &input, sizes.iter().copied().cycle()));
        prop_assert_eq!(&pieces, &whole);
        let bytewise = render(&run(&options, &input, std::iter::repeat(1)));
        prop_assert_eq!(&bytewise, &whole);
    }
}
