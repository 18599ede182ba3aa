//! `switchboard validate`: loads workflow files with the model's loader and prints every
//! finding, as text for people or JSON for scripts.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::json;
use switchboard_model::{FileReport, Severity, load_path};

use crate::OutputFormat;

/// What validation concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every file is valid (warnings allowed).
    AllValid,
    /// At least one file is invalid.
    SomeInvalid,
}

impl Outcome {
    /// 0 when all valid, 1 otherwise.
    pub fn exit_code(self) -> ExitCode {
        match self {
            Outcome::AllValid => ExitCode::SUCCESS,
            Outcome::SomeInvalid => ExitCode::from(1),
        }
    }
}

/// Validates `paths` and prints the findings to stdout.
pub fn run(paths: &[PathBuf], format: OutputFormat) -> anyhow::Result<Outcome> {
    let mut reports: Vec<FileReport> = Vec::new();
    for path in paths {
        if !path.exists() {
            bail!("no such file or directory: {}", path.display());
        }
        let loaded = load_path(path).with_context(|| format!("loading {}", path.display()))?;
        if loaded.is_empty() && path.is_dir() {
            bail!("no workflow files (*.yaml, *.yml) in {}", path.display());
        }
        reports.extend(loaded);
    }
    let invalid = reports.iter().filter(|r| !r.is_valid()).count();
    let mut out = std::io::stdout().lock();
    match format {
        OutputFormat::Text => print_text(&mut out, &reports, invalid)?,
        OutputFormat::Json => print_json(&mut out, &reports, invalid)?,
    }
    Ok(if invalid == 0 {
        Outcome::AllValid
    } else {
        Outcome::SomeInvalid
    })
}

fn print_text(out: &mut impl Write, reports: &[FileReport], invalid: usize) -> anyhow::Result<()> {
    let mut warnings = 0;
    for report in reports {
        for diagnostic in &report.diagnostics {
            writeln!(out, "{diagnostic}")?;
            if diagnostic.severity == Severity::Warning {
                warnings += 1;
            }
        }
        if let Some(workflow) = &report.workflow {
            writeln!(
                out,
                "{}: ok ({} `{}`)",
                report.file,
                workflow.kind_name(),
                workflow.id()
            )?;
        }
    }
    let files = if reports.len() == 1 { "file" } else { "files" };
    writeln!(
        out,
        "{} {files} checked: {} valid, {invalid} invalid, {warnings} warning{}",
        reports.len(),
        reports.len() - invalid,
        if warnings == 1 { "" } else { "s" }
    )?;
    Ok(())
}

fn print_json(out: &mut impl Write, reports: &[FileReport], invalid: usize) -> anyhow::Result<()> {
    let files: Vec<_> = reports
        .iter()
        .map(|report| {
            json!({
                "file": report.file,
                "valid": report.is_valid(),
                "kind": report.workflow.as_ref().map(|w| w.kind_name()),
                "id": report.workflow.as_ref().map(|w| w.id()),
                "diagnostics": report.diagnostics,
            })
        })
        .collect();
    let summary = json!({
        "valid": invalid == 0,
        "files": files,
        "counts": { "files": reports.len(), "invalid": invalid },
    });
    serde_json::to_writer_pretty(&mut *out, &summary)?;
    writeln!(out)?;
    Ok(())
}
