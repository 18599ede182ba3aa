//! Tests of the whole importer: every input is fed whole, byte by byte and
//! in random pieces, and must give the same results each way.

use proptest::prelude::*;

use super::*;
use crate::options::OPTION_KEYS;
use switchboard_plugin_sdk::Importer;
use switchboard_plugin_sdk::testing::{self, CountingImport, Manifest, pairs, render_results};

/// Imports `input` without options, every way (see
/// [`testing::import_every_way`]).
fn import(input: &str) -> Vec<String> {
    testing::import_every_way::<JsonlImporter>(&[], input)
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
        testing::import_every_way::<JsonlImporter>(
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
        testing::import_every_way::<JsonlImporter>(&[("max-record-bytes", "32")], input.as_bytes()),
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
    for (value, why) in [
        ("lots", r#""lots" is not a whole number from 1 to 67108864"#),
        ("0", r#""0" is not a whole number from 1 to 67108864"#),
    ] {
        testing::assert_options_refused::<JsonlImporter>(
            &[("max-record-bytes", value)],
            b"{\"a\":1}\n",
            &format!("1! invalid option max-record-bytes: {why}; nothing was imported"),
        );
    }
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
    let mut import = CountingImport::<JsonlParser>::new(&[]);
    let line = |n: u64| {
        format!(
            "{{\"phone\":\"+1555{n:07}\",\"name\":\"Name \\\"{n}\\\"\",\"n\":{n},\"tz\":\"Europe/Paris\"}}\r\n"
        )
    };
    let generated =
        testing::stream_records(50 << 20, 64 << 10, b"", line, |chunk| import.push(chunk));
    import.finish();
    assert_eq!(import.errors, 0);
    assert_eq!(import.rows, generated);
    assert_eq!(import.last_row_line, generated);
    assert!(import.rows > 500_000, "{} rows", import.rows);
    import.assert_most_buffered(1024);
}

#[test]
fn memory_stays_bounded_for_a_huge_line() {
    let mut importer = JsonlImporter::new(pairs(&[("max-record-bytes", "65536")]));
    let mut results = importer.push(b"{\"a\":\"");
    results.extend(testing::push_repeatedly(
        &mut importer,
        &[b'x'; 64 << 10],
        160,
        65536,
    ));
    results.extend(importer.push(b"\"}\n{\"a\":2}\n"));
    results.extend(importer.finish());
    assert_eq!(
        render_results(&results),
        [
            "1! line is longer than max-record-bytes (65536 bytes); skipped",
            r#"2: a="2""#
        ]
    );
}

#[test]
fn manifest_describes_the_importer() {
    Manifest::parse(include_str!("../plugin.toml")).assert_importer(
        "jsonl",
        "importer_jsonl.wasm",
        env!("CARGO_PKG_VERSION"),
        &OPTION_KEYS,
    );
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
        testing::assert_chunking_does_not_matter::<JsonlImporter>(&options, &input, &sizes);
    }
}
