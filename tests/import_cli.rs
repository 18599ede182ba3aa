//! End-to-end tests of `switchboard import`, driving the real binary (with the bundled CSV and
//! JSONL importer plugins) against a data directory, then reading that directory back.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use support::switchboard;

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("switchboard-import-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write fixture");
    path.display().to_string()
}

fn import(dir: &Path, args: &[&str]) -> Output {
    let data = dir.join("data").display().to_string();
    switchboard(&[&["import"], args, &["--data-dir", &data]].concat())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const WORKFLOW: &str = "workflows/spring-promo.yaml";

#[test]
fn an_excel_csv_lands_as_a_list_with_its_summary_and_error_log() {
    let dir = scratch("excel");
    let file = write(
        &dir,
        "march.csv",
        "\u{feff}Phone Number;First Name;Company\r\n(416) 555-0101;Ada;\"Acme; Inc\"\r\n555-1234;Short;\r\n1-416-555-0101;Again;\r\n+33 1 42 68 53 00;Paris;Louvre\r\n"
            .as_bytes(),
    );
    let errors = dir.join("errors.csv").display().to_string();
    let output = import(
        &dir,
        &[
            "spring",
            &file,
            "--workflow",
            WORKFLOW,
            "--region",
            "CA",
            "--errors",
            &errors,
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let summary = text(&output.stdout);
    assert!(summary.contains("list \"march\""), "{summary}");
    assert!(summary.contains("rows read           4"), "{summary}");
    assert!(
        summary.contains("imported            2   (1 landline, 0 opted out)"),
        "{summary}"
    );
    assert!(summary.contains("phone_too_short"), "{summary}");
    assert!(summary.contains("duplicates          1"), "{summary}");
    let log = std::fs::read_to_string(&errors).expect("error log");
    assert_eq!(
        log,
        "line,column,value,code,message,first_line,first_list\n\
         3,Phone Number,555-1234,phone_too_short,phone number is too short,,\n\
         4,Phone Number,1-416-555-0101,duplicate,duplicate number: first seen on row 2,2,\n"
    );

    // A second list: JSON lines, a duplicate of the first list reported with its list and row.
    let file = write(
        &dir,
        "april.jsonl",
        b"{\"mobile\": \"416-555-0101\", \"name\": \"Ada\"}\n{\"mobile\": \"647 555 0103\", \"name\": \"Cy\"}\n",
    );
    let errors = dir.join("april-errors.json").display().to_string();
    let output = import(
        &dir,
        &[
            "spring", &file, "--region", "CA", "--errors", &errors, "--output", "json",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json summary");
    assert_eq!(report["list"]["name"], "april");
    assert_eq!(report["summary"]["imported"], 1);
    assert_eq!(report["summary"]["duplicates"], 1);
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&errors).expect("log")).expect("json log");
    assert_eq!(log[0]["code"], "duplicate");
    assert_eq!(log[0]["first_list"], "march");
    assert_eq!(log[0]["first_line"], 2);

    // The same list name again is refused; nothing changes.
    let output = import(&dir, &["spring", &file, "--list", "march"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("already has a list named \"march\""));
}

#[test]
fn refused_files_import_nothing_and_say_why() {
    let dir = scratch("refused");
    let cases: [(&str, &[u8], &str); 4] = [
        ("latin1.csv", b"phone,name\n4165550102,Jos\xe9\n", "Latin-1"),
        ("empty.csv", b"", "the file is empty"),
        ("header.csv", b"phone,name\r\n", "no recipient rows"),
        ("nophone.csv", b"name,email\nAda,a@example.com\n", "email"),
    ];
    for (name, bytes, expected) in cases {
        let file = write(&dir, name, bytes);
        let output = import(&dir, &["spring", &file, "--workflow", WORKFLOW]);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{name}: {}",
            text(&output.stdout)
        );
        let stderr = text(&output.stderr);
        assert!(stderr.contains(expected), "{name}: {stderr}");
        assert!(
            stderr.contains(name),
            "{name}: the message names the file: {stderr}"
        );
    }
    // Nothing at all was imported, not even the draft made for the list: a campaign by that
    // name still does not exist.
    let file = write(&dir, "ok.csv", b"phone\n4165550101\n");
    let output = import(&dir, &["spring", &file]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("no campaign \"spring\""),
        "{}",
        text(&output.stderr)
    );

    // Too many rows for --max-rows: refused, the limit and the line named.
    let file = write(
        &dir,
        "big.csv",
        b"phone\n4165550101\n4165550102\n4165550103\n",
    );
    let output = import(
        &dir,
        &[
            "spring",
            &file,
            "--workflow",
            WORKFLOW,
            "--region",
            "CA",
            "--max-rows",
            "2",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("more than 2 rows (row 4"), "{stderr}");
}

#[test]
fn bad_options_are_usage_errors() {
    let dir = scratch("usage");
    let file = write(&dir, "l.csv", b"phone\n4165550101\n");
    for (args, expected) in [
        (vec!["--region", "XX"], "--region \"XX\""),
        (
            vec!["--timezone", "Mars/Olympus"],
            "--timezone \"Mars/Olympus\"",
        ),
        (vec!["--map", "phone"], "--map"),
    ] {
        let output = import(
            &dir,
            &[
                &["spring", file.as_str(), "--workflow", WORKFLOW],
                args.as_slice(),
            ]
            .concat(),
        );
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            text(&output.stderr).contains(expected),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }
}
