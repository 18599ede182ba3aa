//! Validation findings an operator reads: where (file, line, column, field path), what, and
//! how to fix it.
//!
//! Every finding carries a stable `code` so scripts and the API can match on it while the
//! wording of `message` improves.

use std::fmt;

use serde::Serialize;

use crate::path::FieldPath;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The workflow cannot be loaded.
    Error,
    /// The workflow loads, but something is probably not what the author meant.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// A line and column in a source file, both 1-based as editors show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

/// One validation finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Stable machine-readable code, e.g. `unknown-field`.
    pub code: &'static str,
    /// The file, as the operator named it.
    pub file: String,
    /// Where in the file.
    #[serde(flatten)]
    pub position: Position,
    /// The field path inside the document, e.g. `steps[2].send.text` (empty for the root).
    pub path: String,
    /// What is wrong, quoting the bad value.
    pub message: String,
    /// How to fix it, when we can tell.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Diagnostic {
    /// Whether this finding prevents loading.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}[{}] ",
            self.file, self.position.line, self.position.column, self.severity, self.code
        )?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// A finding before it is placed in a file: what the checks produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Where in the document.
    pub path: FieldPath,
    /// Point at the key of `path` rather than its value (for "unknown field" and the like).
    pub at_key: bool,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

impl Finding {
    /// An error at the value of `path`.
    pub fn error(code: &'static str, path: FieldPath, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            path,
            at_key: false,
            message: message.into(),
            help: None,
        }
    }

    /// A warning at the value of `path`.
    pub fn warning(code: &'static str, path: FieldPath, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, path, message)
        }
    }

    /// Adds a fix suggestion.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a fix suggestion when there is one.
    pub fn with_optional_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    /// Points the finding at the key rather than the value.
    pub fn at_key(mut self) -> Self {
        self.at_key = true;
        self
    }
}

/// Closest candidate to `wrong` by edit distance, when it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    wrong: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let wrong_lower = wrong.to_lowercase();
    candidates
        .into_iter()
        .map(|candidate| {
            let distance = strsim::damerau_levenshtein(&wrong_lower, &candidate.to_lowercase());
            (distance, candidate)
        })
        .filter(|(distance, candidate)| {
            // One edit per three characters is a typo; more is a different word.
            *distance <= (candidate.chars().count().max(wrong.chars().count()) / 3).max(1)
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["send", "filter", "delay", "wait_reply"];
        assert_eq!(did_you_mean("sned", names), Some("send"));
        assert_eq!(did_you_mean("wait_replay", names), Some("wait_reply"));
        assert_eq!(did_you_mean("Delay", names), Some("delay"));
        assert_eq!(did_you_mean("banana", names), None);
    }

    #[test]
    fn renders_file_line_column_path_and_help() {
        let diagnostic = Diagnostic {
            severity: Severity::Error,
            code: "unknown-template-field",
            file: "workflows/promo.yaml".into(),
            position: Position {
                line: 14,
                column: 9,
            },
            path: "steps[2].send.text".into(),
            message: "unknown field {compnay}".into(),
            help: Some("did you mean {company}?".into()),
        };
        assert_eq!(
            diagnostic.to_string(),
            "workflows/promo.yaml:14:9: error[unknown-template-field] steps[2].send.text: \
             unknown field {compnay}\n  help: did you mean {company}?"
        );
    }
}
