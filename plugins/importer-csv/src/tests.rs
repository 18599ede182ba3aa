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
    let mut importer = CsvImporter::new(pairs(options));
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
fn rows_are_named_by_the_header_in_file_order() {
    assert_eq!(
        import("phone,name,tz\n+15550001,Ann,Europe/Paris\n 0612 , Bob ,\n"),
        [
            r#"2: phone="+15550001", name="Ann", tz="Europe/Paris""#,
            r#"3: phone=" 0612 ", name=" Bob ", tz="""#,
        ]
    );
}

#[test]
fn header_names_are_trimmed() {
    assert_eq!(
        import(" phone ,\" Name \"\r\n1,2\r\n"),
        [r#"2: phone="1", Name="2""#]
    );
}

#[test]
fn the_delimiter_is_sniffed_from_the_header() {
    let expected = [r#"2: a="1", b="2,5", c="x""#];
    assert_eq!(import("a,b,c\n1,\"2,5\",x\n"), expected);
    assert_eq!(import("a;b;c\n1;2,5;x\n"), expected);
    assert_eq!(import("a\tb\tc\n1\t2,5\tx\n"), expected);
    assert_eq!(import("a|b|c\n1|2,5|x\n"), expected);
    // Delimiters inside quotes do not count.
    assert_eq!(import("\"a,b,c\";d\n1;2\n"), [r#"2: a,b,c="1", d="2""#]);
    // No candidate at all: one column, comma-separated.
    assert_eq!(import("phone\n+1\n"), [r#"2: phone="+1""#]);
}

#[test]
fn the_delimiter_option_overrides_sniffing() {
    let input = b"a,b;c\n1,2;3\n";
    assert_eq!(import_with(&[], input), [r#"2: a="1", b;c="2;3""#]);
    assert_eq!(
        import_with(&[("delimiter", ";")], input),
        [r#"2: a,b="1,2", c="3""#]
    );
    assert_eq!(
        import_with(&[("delimiter", "tab")], b"a\tb\n1\t2\n"),
        [r#"2: a="1", b="2""#]
    );
    assert_eq!(
        import_with(&[("delimiter", "|")], b"a|b\n1|2\n"),
        [r#"2: a="1", b="2""#]
    );
}

#[test]
fn quote_option() {
    assert_eq!(
        import_with(&[("quote", "'")], b"a,b\n'1,2',\"x\"\n"),
        [r#"2: a="1,2", b="\"x\"""#]
    );
    assert_eq!(
        import_with(&[("quote", "none")], b"a\tb\n\"5\tinch\n"),
        [r#"2: a="\"5", b="inch""#]
    );
}

#[test]
fn a_byte_order_mark_is_skipped() {
    // Byte by byte, the mark arrives split over three chunks.
    assert_eq!(
        import("\u{feff}phone;name\n+1;Ann\n"),
        [r#"2: phone="+1", name="Ann""#]
    );
    assert_eq!(import("\u{feff}\"phone\"\n+1\n"), [r#"2: phone="+1""#]);
}

#[test]
fn every_line_end_and_correct_lines() {
    let expected = [r#"2: a="1", b="2""#, r#"3: a="3", b="4""#];
    assert_eq!(import("a,b\n1,2\n3,4\n"), expected);
    assert_eq!(import("a,b\r\n1,2\r\n3,4\r\n"), expected);
    assert_eq!(import("a,b\r1,2\r3,4\r"), expected);
    assert_eq!(import("a,b\n1,2\r\n3,4"), expected);
}

#[test]
fn quoted_fields_keep_delimiters_quotes_and_line_ends() {
    assert_eq!(
        import("id,note\r\n1,\"line one\r\nline \"\"two\"\", done\"\r\n2,\"a\nb\nc\"\r\n3,x\r\n"),
        [
            r#"2: id="1", note="line one\r\nline \"two\", done""#,
            r#"4: id="2", note="a\nb\nc""#,
            r#"7: id="3", note="x""#,
        ]
    );
}

#[test]
fn blank_lines_and_empty_records_are_skipped() {
    assert_eq!(
        import("\n\n  \na,b\n\n1,2\n,\n \t, \n\r\n3,4\n,,,\n"),
        [r#"6: a="1", b="2""#, r#"10: a="3", b="4""#]
    );
}

#[test]
fn header_only_files_give_no_rows() {
    assert!(import("a,b,c\n").is_empty());
    assert!(import("a,b,c").is_empty());
    assert!(import("a,b,c\r\n\r\n").is_empty());
}

#[test]
fn a_file_without_a_header_is_an_error() {
    let expected = ["1! no header row: the file is empty or blank"];
    assert_eq!(import(""), expected);
    assert_eq!(import("\n\r\n  \n"), expected);
    assert_eq!(import(",,\n"), expected);
    assert_eq!(import("\u{feff}"), expected);
}

#[test]
fn wrong_field_counts_are_errors_for_their_line() {
    assert_eq!(
        import("a,b,c\n1,2\n1,2,3,4\n1,2,3\n"),
        [
            "2! expected 3 fields (as in the header), found 2",
            "3! expected 3 fields (as in the header), found 4",
            r#"4: a="1", b="2", c="3""#,
        ]
    );
}

#[test]
fn trailing_delimiters_are_tolerated() {
    // On every line, as some spreadsheets export.
    assert_eq!(
        import("a,b,\n1,2,\n3,4,,\n"),
        [r#"2: a="1", b="2""#, r#"3: a="3", b="4""#]
    );
    // But data past the header's columns is not dropped silently.
    assert_eq!(
        import("a,b\n1,2,x\n"),
        ["2! expected 2 fields (as in the header), found 3"]
    );
}

#[test]
fn an_invalid_header_stops_the_import() {
    assert_eq!(
        import("phone,Name,NAME\n1,2,3\n4,5,6\n"),
        [
            r#"1! invalid header row: columns 2 and 3 have the same name "NAME" (names are compared without regard to case); nothing was imported"#
        ]
    );
    assert_eq!(
        import("\n\nphone,,tz\n1,2,3\n"),
        ["3! invalid header row: column 2 has no name; nothing was imported"]
    );
    assert_eq!(
        import_with(&[], b"phone,n\xE9\n1,2\n"),
        ["1! invalid header row: the name of column 2 is not valid UTF-8; nothing was imported"]
    );
}

#[test]
fn invalid_utf8_in_a_field_is_an_error_for_its_line() {
    assert_eq!(
        import_with(&[], b"phone,name\n1,Ren\xE9\n2,Ren\xC3\xA9\n"),
        [
            r#"2! field 2 ("name") is not valid UTF-8 (byte 4 of the field); save the file as UTF-8"#,
            r#"3: phone="2", name="René""#,
        ]
    );
}

#[test]
fn an_oversized_record_is_an_error_and_reading_resumes() {
    let options = [("max-record-bytes", "32")];
    let long = "x".repeat(40);
    let input = format!("a,b\n1,{long}\n2,ok\n3,\"{long}\n{long}\"\n4,\"unclosed\n5,x\n6,y\n");
    assert_eq!(
        import_with(&options, input.as_bytes()),
        [
            "2! record is longer than max-record-bytes (32 bytes); skipped",
            r#"3: a="2", b="ok""#,
            "4! record is longer than max-record-bytes (32 bytes); skipped through line 5 (an unclosed quote?)",
            r#"6: a="4", b="unclosed\n5,x\n6,y\n""#,
        ]
    );
    let unclosed = format!("a,b\n1,\"{long}\n2,x\n3,y\n");
    assert_eq!(
        import_with(&options, unclosed.as_bytes()),
        [
            "2! record is longer than max-record-bytes (32 bytes); skipped through line 4 (an unclosed quote?)"
        ]
    );
}

#[test]
fn an_oversized_header_stops_the_import() {
    let input = format!("{}\n1\n", "h".repeat(40));
    assert_eq!(
        import_with(&[("max-record-bytes", "32")], input.as_bytes()),
        [
            "1! invalid header row: the header row is longer than max-record-bytes (32 bytes); nothing was imported"
        ]
    );
}

#[test]
fn too_many_fields() {
    let header = (0..MAX_FIELDS + 1)
        .map(|i| format!("c{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let results = render(&run(
        &[],
        format!("{header}\n1\n").as_bytes(),
        [4096].into_iter().cycle(),
    ));
    assert_eq!(
        results,
        ["1! invalid header row: the header row has more than 1000 columns; nothing was imported"]
    );
    let row = format!("a,b\n{}x\n1,2\n", ",".repeat(MAX_FIELDS));
    assert_eq!(
        import(&row),
        ["2! more than 1000 fields; skipped", r#"3: a="1", b="2""#]
    );
}

#[test]
fn an_invalid_option_is_reported_once_for_line_1() {
    let options = [("delimiter", "::")];
    let mut importer = CsvImporter::new(pairs(&options));
    assert_eq!(
        render(&importer.push(b"a,b\n1,2\n")),
        [
            r#"1! invalid option delimiter: "::" is not one of ",", ";", "tab", "|" or "auto"; nothing was imported"#
        ]
    );
    assert!(importer.push(b"3,4\n").is_empty());
    assert!(importer.finish().is_empty());
    // Also when the file is empty.
    let mut importer = CsvImporter::new(pairs(&[("max-record-bytes", "0")]));
    assert_eq!(importer.finish().len(), 1);
}

#[test]
fn calls_after_finish_return_nothing() {
    let mut importer = CsvImporter::new(Vec::new());
    assert!(importer.push(b"a\n1\n").len() == 1);
    assert!(importer.finish().is_empty());
    assert!(importer.push(b"2\n").is_empty());
    assert!(importer.finish().is_empty());
}

/// Writes about `total` bytes of CSV, one piece at a time, without keeping
/// it: returns the rows written.
fn generate_csv(total: usize, chunk: usize, mut sink: impl FnMut(&[u8])) -> u64 {
    let mut pending = b"phone,name,note,tz\r\n".to_vec();
    let mut written = 0;
    let mut rows = 0;
    while written < total {
        rows += 1;
        let note = if rows % 100 == 0 {
            "\"two\r\nlines, \"\"quoted\"\"\"".to_string()
        } else {
            format!("note {rows}")
        };
        pending.extend_from_slice(
            format!("+1555{rows:07},Name {rows},{note},Europe/Paris\r\n").as_bytes(),
        );
        while pending.len() >= chunk {
            sink(&pending[..chunk]);
            written += chunk;
            pending.drain(..chunk);
        }
    }
    sink(&pending);
    rows
}

#[test]
fn memory_stays_flat_over_50_megabytes() {
    let mut importer = CsvImporter::new(Vec::new());
    let (mut rows, mut errors, mut last_line, mut most_buffered) = (0u64, 0u64, 0u64, 0usize);
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
    let written = generate_csv(50 << 20, 64 << 10, |chunk| {
        count(importer.push(chunk));
        most_buffered = most_buffered.max(importer.buffered_bytes());
    });
    count(importer.finish());
    assert_eq!(errors, 0);
    assert_eq!(rows, written);
    assert!(rows > 500_000, "{rows} rows");
    // One physical line per row, plus the header and a second line every
    // 100 rows.
    assert_eq!(
        last_line,
        1 + rows + rows / 100 - u64::from(rows % 100 == 0)
    );
    assert!(most_buffered <= 1024, "{most_buffered} bytes buffered");
}

#[test]
fn memory_stays_bounded_for_a_huge_record() {
    let mut importer = CsvImporter::new(pairs(&[("max-record-bytes", "65536")]));
    let mut results = importer.push(b"a,b\n1,\"");
    let chunk = vec![b'x'; 64 << 10];
    for _ in 0..160 {
        results.extend(importer.push(&chunk));
        assert!(importer.buffered_bytes() <= 65537 + (MAX_FIELDS + 1) * size_of::<usize>());
    }
    results.extend(importer.push(b"\"\n2,3\n"));
    results.extend(importer.finish());
    assert_eq!(
        render(&results),
        [
            "2! record is longer than max-record-bytes (65536 bytes); skipped",
            r#"3: a="2", b="3""#
        ]
    );
}

#[test]
fn manifest_describes_the_importer() {
    let manifest: toml::Table =
        toml::from_str(include_str!("../plugin.toml")).expect("plugin.toml is TOML");
    assert_eq!(manifest["name"].as_str(), Some("csv"));
    assert_eq!(manifest["kind"].as_str(), Some("importer"));
    assert_eq!(manifest["wit"].as_str(), Some("0.1.0"));
    assert_eq!(manifest["component"].as_str(), Some("importer_csv.wasm"));
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

/// Bytes that matter to CSV, and a few that do not.
fn csv_byte() -> impl Strategy<Value = u8> {
    prop::sample::select(vec![
        b'a', b'b', b' ', b',', b';', b'\t', b'|', b'"', b'\'', b'\r', b'\n', 0xEF, 0xBB, 0xBF,
        0xC3, 0xA9, 0xFF,
    ])
}

proptest! {
    #[test]
    fn results_do_not_depend_on_chunking(
        input in prop::collection::vec(csv_byte(), 0..400),
        sizes in prop::collection::vec(1usize..40, 1..50),
        cap in prop::sample::select(vec!["8", "24", "1048576"]),
        delimiter in prop::sample::select(vec!["auto", ";"]),
    ) {
        let options = [("max-record-bytes", cap), ("delimiter", delimiter)];
        let whole = render(&run(&options, &input, std::iter::once(input.len().max(1))));
        let pieces = render(&run(&options, &input, sizes.iter().copied().cycle()));
        prop_assert_eq!(&pieces, &whole);
        let bytewise = render(&run(&options, &input, std::iter::repeat(1)));
        prop_assert_eq!(&bytewise, &whole);
    }
}
