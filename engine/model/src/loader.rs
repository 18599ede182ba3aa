//! Loading workflow files: YAML → schema → typed model → semantic checks, with every finding
//! placed at its file, line and column.
//!
//! A directory is loaded file by file (`*.yaml`, `*.yml`, not recursive); one broken file
//! never hides the others. Workflow ids must be unique across the directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::check::check_workflow;
use crate::diagnostic::{Diagnostic, Finding, Position, Severity};
use serde_json::Value;

use crate::path::FieldPath;
use crate::schema::validator;
use crate::workflow::Workflow;
use crate::yaml::{self, SpanIndex};

/// A file could not be read at all (as opposed to read and found invalid).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The path does not exist or cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path as given.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The outcome of loading one file.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// The file, as the operator named it.
    pub file: String,
    /// The workflow, when the file has no errors (it may have warnings).
    pub workflow: Option<Workflow>,
    /// Findings, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

impl FileReport {
    /// Whether the file loads.
    pub fn is_valid(&self) -> bool {
        self.workflow.is_some()
    }

    /// Error findings only.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }
}

/// Validates one workflow text; `file` is how findings name it.
pub fn load_source(file: &str, source: &str) -> FileReport {
    let place = |findings: Vec<Finding>, spans: &SpanIndex| -> Vec<Diagnostic> {
        let mut diagnostics: Vec<Diagnostic> = findings
            .into_iter()
            .map(|finding| Diagnostic {
                severity: finding.severity,
                code: finding.code,
                file: file.to_string(),
                position: spans.locate(&finding.path, finding.at_key),
                path: finding.path.to_string(),
                message: finding.message,
                help: finding.help,
            })
            .collect();
        diagnostics.sort_by_key(|d| (d.position, d.severity));
        diagnostics.dedup();
        diagnostics
    };
    let report = |workflow, diagnostics| FileReport {
        file: file.to_string(),
        workflow,
        diagnostics,
    };

    let empty = || {
        let finding = Finding::error(
            "empty-file",
            FieldPath::root(),
            "the file has no workflow in it",
        )
        .with_help("start with `kind: campaign` or `kind: conversation`");
        report(None, place(vec![finding], &SpanIndex::default()))
    };
    if source.trim().is_empty() {
        return empty();
    }
    let document = match yaml::parse(source) {
        Ok(document) => document,
        Err(error) => {
            let diagnostic = Diagnostic {
                severity: Severity::Error,
                code: "yaml-syntax",
                file: file.to_string(),
                position: error.position.unwrap_or(Position { line: 1, column: 1 }),
                path: String::new(),
                message: format!("invalid YAML: {}", error.message),
                help: None,
            };
            return report(None, vec![diagnostic]);
        }
    };
    if document.value.is_null() {
        return empty();
    }
    let schema = match validator() {
        Ok(schema) => schema,
        Err(defect) => {
            let finding = Finding::error("internal", FieldPath::root(), defect.to_string());
            return report(None, place(vec![finding], &document.spans));
        }
    };
    let mut schema_findings = schema.validate(&document.value);
    if !schema_findings.is_empty() {
        // Report the semantic problems of the parts that are well-formed too, so the author
        // sees every error of the file in one run.
        let repaired = repair(&document.value, &schema_findings);
        if schema.validate(&repaired).is_empty()
            && let Ok(workflow) = serde_json::from_value::<Workflow>(repaired)
        {
            // A mapping that lost an unknown (misspelt) field may now look incomplete: that is
            // the same mistake, already reported.
            let trimmed: Vec<FieldPath> = schema_findings
                .iter()
                .filter(|f| f.code == "unknown-field")
                .map(|f| f.path.parent())
                .collect();
            schema_findings.extend(
                check_workflow(&workflow)
                    .into_iter()
                    .filter(|f| !trimmed.contains(&f.path)),
            );
        }
        return report(None, place(schema_findings, &document.spans));
    }
    let workflow: Workflow = match serde_path_to_error::deserialize(&document.value) {
        Ok(workflow) => workflow,
        Err(error) => {
            // The schema is generated from these types, so this means they disagree: say where.
            let path = FieldPath::from_json_pointer(&format!(
                "/{}",
                error.path().to_string().replace('.', "/")
            ));
            let finding = Finding::error("invalid-value", path, error.into_inner().to_string());
            return report(None, place(vec![finding], &document.spans));
        }
    };
    let findings = check_workflow(&workflow);
    let valid = findings.iter().all(|f| f.severity != Severity::Error);
    report(valid.then_some(workflow), place(findings, &document.spans))
}

/// A copy of `document` with every schema-invalid part made neutral: an unknown field
/// removed, a broken step replaced by a harmless `tag`, a broken optional setting dropped, a
/// broken required one given a placeholder. Checks of the repaired copy find only problems of
/// the parts that were valid.
fn repair(document: &Value, findings: &[Finding]) -> Value {
    use crate::path::PathSegment;
    let mut repaired = document.clone();
    for finding in findings {
        let segments = finding.path.segments();
        if finding.code == "unknown-field"
            && let Some((PathSegment::Key(key), parent)) = segments.split_last()
            && let Some(Value::Object(map)) = repaired.pointer_mut(&pointer(parent))
        {
            map.remove(key);
            continue;
        }
        // The innermost enclosing step: `... steps|then|else [i]`.
        let step_end = segments.windows(2).rposition(|pair| {
            matches!(pair, [PathSegment::Key(list), PathSegment::Index(_)] if matches!(list.as_str(), "steps" | "then" | "else"))
        });
        if let Some(index) = step_end {
            if let Some(step) = repaired.pointer_mut(&pointer(&segments[..index + 2])) {
                *step = serde_json::json!({ "tag": "invalid-step" });
            }
            continue;
        }
        let Some(PathSegment::Key(top)) = segments.first() else {
            continue;
        };
        let placeholder = match top.as_str() {
            "id" | "provider" => serde_json::json!("invalid"),
            "sender" => serde_json::json!("+14165550100"),
            "trigger" => serde_json::json!({ "any": true }),
            "steps" => serde_json::json!([{ "tag": "invalid-step" }]),
            _ => Value::Null,
        };
        if let Value::Object(map) = &mut repaired {
            match placeholder {
                Value::Null => map.remove(top),
                value => map.insert(top.clone(), value),
            };
        }
    }
    repaired
}

fn pointer(segments: &[crate::path::PathSegment]) -> String {
    FieldPath::from_segments(segments.to_vec()).to_json_pointer()
}

/// Loads one file.
pub fn load_file(path: &Path) -> Result<FileReport, LoadError> {
    let label = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
        path: label.clone(),
        source,
    })?;
    match String::from_utf8(bytes) {
        Ok(source) => Ok(load_source(&label, &source)),
        Err(error) => {
            let before = &error.as_bytes()[..error.utf8_error().valid_up_to()];
            let line = before.iter().filter(|b| **b == b'\n').count() + 1;
            let column = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
            let diagnostic = Diagnostic {
                severity: Severity::Error,
                code: "not-utf8",
                file: label.clone(),
                position: Position { line, column },
                path: String::new(),
                message: "the file is not UTF-8 text".into(),
                help: Some("save it as UTF-8".into()),
            };
            Ok(FileReport {
                file: label,
                workflow: None,
                diagnostics: vec![diagnostic],
            })
        }
    }
}

/// The workflow files of a directory, sorted by name.
pub fn workflow_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let read_error = |source| LoadError::Read {
        path: dir.display().to_string(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        let is_yaml = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        );
        if is_yaml && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Loads a file, or every workflow file of a directory, and checks that ids are unique.
pub fn load_path(path: &Path) -> Result<Vec<FileReport>, LoadError> {
    let files = if path.is_dir() {
        workflow_files(path)?
    } else {
        vec![path.to_path_buf()]
    };
    let mut reports = files
        .iter()
        .map(|file| load_file(file))
        .collect::<Result<Vec<_>, _>>()?;
    check_unique_ids(&mut reports);
    Ok(reports)
}

/// A workflow id used by two files: the second one is refused, naming the first.
fn check_unique_ids(reports: &mut [FileReport]) {
    let mut first_file: BTreeMap<String, String> = BTreeMap::new();
    for report in reports.iter_mut() {
        let Some(workflow) = &report.workflow else {
            continue;
        };
        let id = workflow.id().to_string();
        match first_file.get(&id) {
            None => {
                first_file.insert(id, report.file.clone());
            }
            Some(first) => {
                let position = std::fs::read_to_string(&report.file)
                    .ok()
                    .and_then(|source| yaml::parse(&source).ok())
                    .map(|document| document.spans.locate(&FieldPath::root().key("id"), false))
                    .unwrap_or(Position { line: 1, column: 1 });
                report.diagnostics.push(Diagnostic {
                    severity: Severity::Error,
                    code: "duplicate-id",
                    file: report.file.clone(),
                    position,
                    path: "id".into(),
                    message: format!("workflow id `{id}` is already used by {first}"),
                    help: Some("workflow ids must be unique in a directory".into()),
                });
                report.workflow = None;
            }
        }
    }
}
