//! End-to-end tests of `switchboard validate`, driving the real binary.
//!
//! Golden files: every `tests/fixtures/invalid/NAME.yaml` has `NAME.expected`, the exact text
//! `switchboard validate` prints for it (file, line, column, path, message, help). Directories
//! under `tests/fixtures/` other than `invalid/` are validated whole, against
//! `tests/fixtures/NAME.expected`. Rewrite them after an intended change with
//! `SWITCHBOARD_BLESS=1 cargo test --test validate_cli`, then read the diff.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use support::{repo_root, switchboard};

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("utf-8 output")
}

fn check_golden(target: &str, expected_file: &Path) -> Result<(), String> {
    let output = switchboard(&["validate", target]);
    let actual = stdout(&output);
    if output.status.code() != Some(1) {
        return Err(format!(
            "{target}: expected exit 1 (invalid), got {:?}\n{actual}",
            output.status.code()
        ));
    }
    if std::env::var_os("SWITCHBOARD_BLESS").is_some() {
        std::fs::write(expected_file, &actual).map_err(|e| e.to_string())?;
        return Ok(());
    }
    let expected = std::fs::read_to_string(expected_file).map_err(|e| {
        format!(
            "{}: {e} (bless with SWITCHBOARD_BLESS=1)",
            expected_file.display()
        )
    })?;
    if actual != expected {
        return Err(format!(
            "{target}: output differs from {}\n--- expected\n{expected}--- actual\n{actual}",
            expected_file.display()
        ));
    }
    Ok(())
}

#[test]
fn every_broken_fixture_reports_its_golden_errors() {
    let dir = repo_root().join("tests/fixtures/invalid");
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures dir")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    fixtures.sort();
    assert!(
        fixtures.len() >= 25,
        "expected at least 25 broken fixtures, found {}",
        fixtures.len()
    );
    let failures: Vec<String> = fixtures
        .iter()
        .filter_map(|fixture| {
            let name = fixture.file_name().and_then(|n| n.to_str()).expect("name");
            check_golden(
                &format!("tests/fixtures/invalid/{name}"),
                &fixture.with_extension("expected"),
            )
            .err()
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} fixtures differ:\n\n{}",
        failures.len(),
        fixtures.len(),
        failures.join("\n")
    );
}

#[test]
fn duplicate_workflow_ids_in_a_directory_are_refused() {
    let expected = repo_root().join("tests/fixtures/duplicate-ids.expected");
    check_golden("tests/fixtures/duplicate-ids", &expected).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn golden_errors_name_file_line_and_column() {
    // Guards the golden files themselves: each names its fixture at a real line.
    let dir = repo_root().join("tests/fixtures/invalid");
    for entry in std::fs::read_dir(&dir).expect("fixtures dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "expected") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read golden");
        let fixture = std::fs::read_to_string(path.with_extension("yaml")).expect("fixture");
        let lines = fixture.lines().count().max(1);
        let first = text.lines().next().unwrap_or_default();
        let mut parts = first.splitn(4, ':');
        let (file, line) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        assert!(
            file.ends_with(".yaml"),
            "{}: first line names no file: {first}",
            path.display()
        );
        let line: usize = line
            .parse()
            .unwrap_or_else(|_| panic!("{}: no line number in {first}", path.display()));
        assert!(
            (1..=lines).contains(&line),
            "{}: line {line} outside the fixture",
            path.display()
        );
        assert!(
            first.contains("error["),
            "{}: first finding is not an error: {first}",
            path.display()
        );
    }
}

#[test]
fn every_example_workflow_is_valid() {
    let output = switchboard(&["validate", "workflows"]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    let ok = text.lines().filter(|line| line.contains(": ok (")).count();
    assert!(
        ok >= 7,
        "expected at least 7 example workflows, found {ok}:\n{text}"
    );
    assert!(!text.contains("error["), "{text}");
}

#[test]
fn examples_point_editors_at_the_schema() {
    for entry in std::fs::read_dir(repo_root().join("workflows")).expect("workflows dir") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read example");
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schemas/workflow.schema.json\n"),
            "{} does not start with the schema modeline",
            path.display()
        );
    }
}

#[test]
fn json_format_reports_each_file_and_finding() {
    let output = switchboard(&[
        "validate",
        "--format",
        "json",
        "tests/fixtures/invalid/09-unknown-template-field.yaml",
        "workflows/spring-promo.yaml",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("json output");
    assert_eq!(report["valid"], false);
    assert_eq!(report["counts"]["files"], 2);
    assert_eq!(report["counts"]["invalid"], 1);
    let broken = &report["files"][0];
    assert_eq!(broken["valid"], false);
    let finding = &broken["diagnostics"][0];
    assert_eq!(finding["code"], "unknown-template-field");
    assert_eq!(finding["line"], 10);
    assert_eq!(finding["path"], "steps[0].send");
    assert_eq!(finding["help"], "did you mean {company}?");
    assert_eq!(report["files"][1]["valid"], true);
    assert_eq!(report["files"][1]["id"], "spring-promo");
}

#[test]
fn usage_errors_exit_with_2() {
    assert_eq!(switchboard(&["validate"]).status.code(), Some(2));
    assert_eq!(
        switchboard(&["validate", "no/such/dir"]).status.code(),
        Some(2)
    );
    assert_eq!(
        switchboard(&["validate", "--format", "xml", "workflows"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        switchboard(&["validate", "schemas"]).status.code(),
        Some(2),
        "a directory without workflows"
    );
}

#[test]
fn schema_command_prints_the_checked_in_schema() {
    let output = switchboard(&["schema"]);
    assert_eq!(output.status.code(), Some(0));
    let checked_in =
        std::fs::read_to_string(repo_root().join("schemas/workflow.schema.json")).expect("schema");
    assert_eq!(stdout(&output), checked_in);
}
