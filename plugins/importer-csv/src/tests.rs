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
    testing::import_every_way::<CsvImporter>(&[], input)
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
    assert_eq!(
        testing::import_every_way::<CsvImporter>(&[], input),
        [r#"2: a="1", b;c="2;3""#]
    );
    assert_eq!(
        testing::import_every_way::<CsvImporter>(&[("delimiter", ";")], input),
        [r#"2: a,b="1,2", c="3""#]
    );
    assert_eq!(
        testing::import_every_way::<CsvImporter>(&[("delimiter", "tab")], b"a\tb\n1\t2\n"),
        [r#"2: a="1", b="2""#]
    );
    assert_eq!(
        testing::import_every_way::<CsvImporter>(&[("delimiter", "|")], b"a|b\n1|2\n"),
        [r#"2: a="1", b="2""#]
    );
}

#[test]
fn quote_option() {
    assert_eq!(
        testing::import_every_way::<CsvImporter>(&[("quote", "'")], b"a,b\n'1,2',\"x\"\n"),
        [r#"2: a="1,2", b="\"x\"""#]
    );
    assert_eq!(
        testing::import_every_way::<CsvImporter>(&[("quote", "none")], b"a\tb\n\"5\tinch\n"),
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
        testing::import_every_way::<CsvImporter>(&[], b"phone,n\xE9\n1,2\n"),
        ["1! invalid header row: the name of column 2 is not valid UTF-8; nothing was imported"]
    );
}

#[test]
fn invalid_utf8_in_a_field_is_an_error_for_its_line() {
    assert_eq!(
        testing::import_every_way::<CsvImporter>(&[], b"phone,name\n1,Ren\xE9\n2,Ren\xC3\xA9\n"),
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
        testing::import_every_way::<CsvImporter>(&options, input.as_bytes()),
        [
            "2! record is longer than max-record-bytes (32 bytes); skipped",
            r#"3: a="2", b="ok""#,
            "4! record is longer than max-record-bytes (32 bytes); skipped through line 5 (an unclosed quote?)",
            r#"6: a="4", b="unclosed\n5,x\n6,y\n""#,
        ]
    );
    let unclosed = format!("a,b\n1,\"{long}\n2,x\n3,y\n");
    assert_eq!(
        testing::import_every_way::<CsvImporter>(&options, unclosed.as_bytes()),
        [
            "2! record is longer than max-record-bytes (32 bytes); skipped through line 4 (an unclosed quote?)"
        ]
    );
}

#[test]
fn an_oversized_header_stops_the_import() {
    let input = format!("{}\n1\n", "h".repeat(40));
    assert_eq!(
        testing::import_every_way::<CsvImporter>(&[("max-record-bytes", "32")], input.as_bytes()),
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
    let results = render_results(&testing::import_in_chunks::<CsvImporter>(
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
    let input = b"a,b\n1,2\n";
    testing::assert_options_refused::<CsvImporter>(
        &[("delimiter", "::")],
        input,
        r#"1! invalid option delimiter: "::" is not one of ",", ";", "tab", "|" or "auto"; nothing was imported"#,
    );
    // Also when the file is empty (the helper checks `finish` first too).
    testing::assert_options_refused::<CsvImporter>(
        &[("max-record-bytes", "0")],
        input,
        r#"1! invalid option max-record-bytes: "0" is not a whole number from 1 to 67108864; nothing was imported"#,
    );
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
fn generate_csv(total: usize, chunk: usize, sink: impl FnMut(&[u8])) -> u64 {
    let row = |number: u64| {
        let note = if number.is_multiple_of(100) {
            "\"two\r\nlines, \"\"quoted\"\"\"".to_string()
        } else {
            format!("note {number}")
        };
        format!("+1555{number:07},Name {number},{note},Europe/Paris\r\n")
    };
    testing::stream_records(total, chunk, b"phone,name,note,tz\r\n", row, sink)
}

#[test]
fn memory_stays_flat_over_50_megabytes() {
    let mut import = CountingImport::<CsvParser>::new(&[]);
    let written = generate_csv(50 << 20, 64 << 10, |chunk| import.push(chunk));
    import.finish();
    let rows = import.rows;
    assert_eq!(import.errors, 0);
    assert_eq!(rows, written);
    assert!(rows > 500_000, "{rows} rows");
    // One physical line per row, plus the header and a second line every
    // 100 rows.
    assert_eq!(
        import.last_row_line,
        1 + rows + rows / 100 - u64::from(rows.is_multiple_of(100))
    );
    import.assert_most_buffered(1024);
}

#[test]
fn memory_stays_bounded_for_a_huge_record() {
    let mut importer = CsvImporter::new(pairs(&[("max-record-bytes", "65536")]));
    let mut results = importer.push(b"a,b\n1,\"");
    let most_buffered = 65537 + (MAX_FIELDS + 1) * size_of::<usize>();
    results.extend(testing::push_repeatedly(
        &mut importer,
        &[b'x'; 64 << 10],
        160,
        most_buffered,
    ));
    results.extend(importer.push(b"\"\n2,3\n"));
    results.extend(importer.finish());
    assert_eq!(
        render_results(&results),
        [
            "2! record is longer than max-record-bytes (65536 bytes); skipped",
            r#"3: a="2", b="3""#
        ]
    );
}

#[test]
fn manifest_describes_the_importer() {
    Manifest::parse(include_str!("../plugin.toml")).assert_importer(
        "csv",
        "importer_csv.wasm",
        env!("CARGO_PKG_VERSION"),
        &OPTION_KEYS,
    );
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
        testing::assert_chunking_does_not_matter::<CsvImporter>(&options, &input, &sizes);
    }
}
