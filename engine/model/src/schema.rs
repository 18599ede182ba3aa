//! The workflow JSON Schema: generated from the model types, checked in as
//! `schemas/workflow.schema.json`, and validated against with `jsonschema`.
//!
//! The checked-in file is what the loader embeds and what editors use; a test fails when it
//! is stale (`SWITCHBOARD_BLESS=1 cargo test -p switchboard-model` rewrites it).
//!
//! Raw `jsonschema` errors are written for schema authors ("is not valid under any of the
//! schemas listed in the 'oneOf' keyword"); [`SchemaValidator::validate`] turns them into
//! findings an operator can act on: the branch of a `oneOf` they meant, the unknown step kind
//! with a suggestion, the parser's own message for a bad duration or timezone.

use std::sync::LazyLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use crate::diagnostic::{Finding, did_you_mean};
use crate::path::{FieldPath, PathSegment};
use crate::workflow::{ID_PATTERN, NAME_PATTERN, Workflow};

/// The checked-in schema, embedded at build time.
pub const WORKFLOW_SCHEMA: &str = include_str!("../../../schemas/workflow.schema.json");

/// Where the checked-in schema lives, relative to the repository root.
pub const WORKFLOW_SCHEMA_PATH: &str = "schemas/workflow.schema.json";

/// Generates the workflow schema from the model types.
pub fn generate_workflow_schema() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let mut schema = generator.into_root_schema_for::<Workflow>().to_value();
    drop_null_alternatives(&mut schema);
    schema
}

/// schemars lets every `Option` field be `null`; in a workflow an absent field is written by
/// leaving it out, and `null` alternatives would turn each typo into an `anyOf` puzzle.
/// Map values keep theirs: `fields: { name: }` (a field with no settings) is meant.
fn drop_null_alternatives(node: &mut Value) {
    match node {
        Value::Object(map) => {
            if let Some(values) = map.get_mut("additionalProperties") {
                values
                    .as_object_mut()
                    .into_iter()
                    .flat_map(|m| m.values_mut())
                    .for_each(drop_null_alternatives);
                let kept = map.remove("additionalProperties");
                map.values_mut().for_each(drop_null_alternatives);
                if let Some(kept) = kept {
                    map.insert("additionalProperties".into(), kept);
                }
                return;
            }
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if let [single] = types.as_slice() {
                    let single = single.clone();
                    map.insert("type".into(), single);
                }
            }
            if let Some(Value::Array(alternatives)) = map.get("anyOf") {
                let rest: Vec<Value> = alternatives
                    .iter()
                    .filter(|a| a.get("type").is_none_or(|t| t != "null"))
                    .cloned()
                    .collect();
                if let [only] = rest.as_slice()
                    && let Value::Object(only) = only
                {
                    let only = only.clone();
                    map.remove("anyOf");
                    for (key, value) in only {
                        map.entry(key).or_insert(value);
                    }
                }
            }
            map.values_mut().for_each(drop_null_alternatives);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null_alternatives),
        _ => {}
    }
}

/// The generated schema as the pretty-printed text that is checked in.
pub fn workflow_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&generate_workflow_schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// Custom `format`s of the schema and the parser that decides each; the parser's error is the
/// message an operator sees.
type FormatCheck = fn(&str) -> Result<(), String>;

fn parse_check<T: std::str::FromStr>(text: &str) -> Result<(), String>
where
    T::Err: std::fmt::Display,
{
    text.parse::<T>()
        .map(|_| ())
        .map_err(|error| error.to_string())
}

const FORMATS: &[(&str, &str, FormatCheck)] = &[
    (
        "duration",
        "bad-duration",
        parse_check::<crate::duration::Duration>,
    ),
    (
        "time-of-day",
        "bad-time",
        parse_check::<crate::window::TimeOfDay>,
    ),
    (
        "time-range",
        "bad-window",
        parse_check::<crate::window::TimeRange>,
    ),
    (
        "day-hours",
        "bad-window",
        parse_check::<crate::window::DayHours>,
    ),
    (
        "day-set",
        "bad-window",
        parse_check::<crate::window::DaySet>,
    ),
    (
        "timezone",
        "unknown-timezone",
        parse_check::<crate::timezone::Timezone>,
    ),
    ("e164", "invalid-phone", parse_check::<crate::phone::E164>),
];

/// Validators for each workflow kind, built once from the embedded schema.
#[derive(Debug)]
pub struct SchemaValidator {
    schema: Value,
    campaign: Validator,
    conversation: Validator,
}

/// The embedded schema could not be used: a build defect, reported rather than panicking.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the embedded workflow schema is unusable: {0}")]
pub struct SchemaDefect(String);

static VALIDATOR: LazyLock<Result<SchemaValidator, SchemaDefect>> =
    LazyLock::new(SchemaValidator::build);

/// The shared validator.
pub fn validator() -> Result<&'static SchemaValidator, SchemaDefect> {
    VALIDATOR.as_ref().map_err(Clone::clone)
}

impl SchemaValidator {
    fn build() -> Result<Self, SchemaDefect> {
        let schema: Value =
            serde_json::from_str(WORKFLOW_SCHEMA).map_err(|e| SchemaDefect(e.to_string()))?;
        let for_definition = |name: &str| -> Result<Validator, SchemaDefect> {
            // Validate against one kind's definition: `kind` is dispatched on first, so errors
            // are about the kind the author wrote, not "matches neither campaign nor conversation".
            let mut rooted = schema.clone();
            if let Value::Object(map) = &mut rooted {
                map.remove("anyOf");
                map.insert("$ref".into(), Value::String(format!("#/$defs/{name}")));
            }
            let mut options = jsonschema::options().should_validate_formats(true);
            for (format, _, check) in FORMATS {
                let check = *check;
                options = options.with_format(*format, move |text: &str| check(text).is_ok());
            }
            options
                .build(&rooted)
                .map_err(|e| SchemaDefect(e.to_string()))
        };
        Ok(Self {
            campaign: for_definition("CampaignWorkflow")?,
            conversation: for_definition("ConversationWorkflow")?,
            schema,
        })
    }

    /// Validates a document; every problem becomes a finding.
    pub fn validate(&self, document: &Value) -> Vec<Finding> {
        let root = FieldPath::root();
        let Value::Object(map) = document else {
            return vec![
                Finding::error(
                    "wrong-type",
                    root,
                    format!(
                        "a workflow is a mapping of fields, found {}",
                        describe(document)
                    ),
                )
                .with_help("start with `kind: campaign` or `kind: conversation`"),
            ];
        };
        let validator = match map.get("kind") {
            Some(Value::String(kind)) if kind == "campaign" => &self.campaign,
            Some(Value::String(kind)) if kind == "conversation" => &self.conversation,
            Some(other) => {
                let wrong = other.as_str().unwrap_or_default();
                let help = did_you_mean(wrong, ["campaign", "conversation"])
                    .map(|kind| format!("did you mean `{kind}`?"))
                    .unwrap_or_else(|| "use `campaign` or `conversation`".into());
                return vec![
                    Finding::error(
                        "unknown-kind",
                        root.key("kind"),
                        format!("unknown kind {}", describe(other)),
                    )
                    .with_help(help),
                ];
            }
            None => {
                return vec![
                    Finding::error("missing-field", root, "missing required field `kind`")
                        .with_help("add `kind: campaign` or `kind: conversation`"),
                ];
            }
        };
        let mut findings = Vec::new();
        for error in validator.iter_errors(document) {
            self.translate(&error, &mut findings);
        }
        findings.dedup();
        findings
    }

    /// The schema object at a canonical schema location, e.g. `/$defs/Duration/format` → the
    /// Duration schema when `strip_keyword`.
    fn schema_at(&self, location: &str, strip_keyword: bool) -> Option<&Value> {
        let location = if strip_keyword {
            location.rsplit_once('/').map_or("", |(parent, _)| parent)
        } else {
            location
        };
        self.resolve(self.schema.pointer(location)?)
    }

    fn resolve<'a>(&'a self, node: &'a Value) -> Option<&'a Value> {
        match node.get("$ref").and_then(Value::as_str) {
            Some(reference) => self.schema.pointer(reference.trim_start_matches('#')),
            None => Some(node),
        }
    }

    fn translate(&self, error: &ValidationError<'_>, findings: &mut Vec<Finding>) {
        let path = FieldPath::from_json_pointer(error.instance_path().as_str());
        let instance = error.instance();
        let schema_location = error.schema_path().as_str();
        let finding = match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let allowed: Vec<&str> = self
                    .schema_at(schema_location, true)
                    .and_then(|schema| schema.get("properties"))
                    .and_then(Value::as_object)
                    .map(|properties| properties.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                for key in unexpected {
                    let help = did_you_mean(key, allowed.iter().copied())
                        .map(|name| format!("did you mean `{name}`?"))
                        .or_else(|| {
                            (!allowed.is_empty())
                                .then(|| format!("allowed here: {}", allowed.join(", ")))
                        });
                    findings.push(
                        Finding::error(
                            "unknown-field",
                            path.key(key),
                            format!("unknown field `{key}`"),
                        )
                        .at_key()
                        .with_optional_help(help),
                    );
                }
                return;
            }
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default();
                Finding::error(
                    "missing-field",
                    path,
                    format!("missing required field `{name}`"),
                )
                .at_key()
            }
            ValidationErrorKind::Type { kind } => {
                let expected = match kind {
                    TypeKind::Single(kind) => article(&kind.to_string()),
                    TypeKind::Multiple(kinds) => kinds
                        .iter()
                        .map(|kind| article(&kind.to_string()))
                        .collect::<Vec<_>>()
                        .join(" or "),
                };
                let help = self.schema_at(schema_location, true).and_then(example_help);
                Finding::error(
                    "wrong-type",
                    path,
                    format!("expected {expected}, found {}", describe(instance)),
                )
                .with_optional_help(help)
            }
            ValidationErrorKind::Format { format } => {
                let text = instance.as_str().unwrap_or_default();
                match FORMATS.iter().find(|(name, _, _)| name == format) {
                    Some((_, code, check)) => {
                        let message = check(text)
                            .err()
                            .unwrap_or_else(|| format!("invalid {format} {text:?}"));
                        Finding::error(code, path, message)
                    }
                    None => Finding::error(
                        "bad-format",
                        path,
                        format!("{} is not a valid {format}", describe(instance)),
                    ),
                }
            }
            ValidationErrorKind::Pattern { pattern } => {
                let what = if pattern == ID_PATTERN {
                    "id: use lowercase letters, digits, - and _ (at most 64, starting with a letter or digit)"
                } else if pattern == NAME_PATTERN {
                    "name: use letters, digits and _, not starting with a digit (e.g. first_name)"
                } else {
                    "value for this field"
                };
                Finding::error(
                    "bad-name",
                    path,
                    format!("{} is not a valid {}", describe(instance), what),
                )
            }
            ValidationErrorKind::Enum { options }
            | ValidationErrorKind::Constant {
                expected_value: options,
            } => {
                let options: Vec<String> = match &**options {
                    Value::Array(items) => items
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect(),
                    single => single
                        .as_str()
                        .map(|s| vec![s.to_string()])
                        .unwrap_or_default(),
                };
                let wrong = instance.as_str().unwrap_or_default();
                let help = did_you_mean(wrong, options.iter().map(String::as_str))
                    .map(|o| format!("did you mean `{o}`?"));
                Finding::error(
                    "unknown-value",
                    path,
                    format!(
                        "{} is not one of: {}",
                        describe(instance),
                        options.join(", ")
                    ),
                )
                .with_optional_help(help)
            }
            ValidationErrorKind::MinItems { limit } if *limit == 1 => {
                let name = last_key(&path);
                Finding::error(
                    "empty-list",
                    path,
                    format!("`{name}` is empty: give at least one item"),
                )
            }
            ValidationErrorKind::AnyOf { context }
            | ValidationErrorKind::OneOfNotValid { context } => {
                self.translate_alternatives(error, &path, context, findings);
                return;
            }
            ValidationErrorKind::PropertyNames { error: inner } => {
                let key = inner.instance().as_str().unwrap_or_default().to_string();
                let mut inner_findings = Vec::new();
                self.translate(inner, &mut inner_findings);
                for mut finding in inner_findings {
                    finding.path = path.key(&key);
                    finding.at_key = true;
                    findings.push(finding);
                }
                return;
            }
            _ => Finding::error("invalid-value", path, lowercase_first(&error.to_string())),
        };
        findings.push(finding);
    }

    /// A value matched none of several shapes: work out which one the author meant.
    fn translate_alternatives(
        &self,
        error: &ValidationError<'_>,
        path: &FieldPath,
        context: &[Vec<ValidationError<'static>>],
        findings: &mut Vec<Finding>,
    ) {
        let instance = error.instance();
        let branches: Vec<&Value> = self
            .schema_at(error.schema_path().as_str(), false)
            .and_then(Value::as_array)
            .map(|branches| branches.iter().filter_map(|b| self.resolve(b)).collect())
            .unwrap_or_default();
        // An enum of step kinds (`- send: ...`, `- stop`): each branch is an object with one
        // required key, or a list of bare names.
        if let Some(tags) = variant_tags(&branches) {
            let chosen = match &**instance {
                Value::Object(map) if map.len() == 1 => map
                    .keys()
                    .next()
                    .and_then(|key| tags.iter().position(|t| t.name == *key)),
                _ => None,
            };
            if let Some(tag_index) = chosen
                && let Some(errors) = context.get(tags[tag_index].branch)
            {
                for inner in errors {
                    self.translate(inner, findings);
                }
                return;
            }
            findings.push(unknown_variant(path, instance, &tags));
            return;
        }
        // Otherwise (a shorthand string or its full form): the branch whose errors go deepest,
        // and that did not fail on the value's type outright.
        let base_depth = path.segments().len();
        let best = context.iter().max_by_key(|errors| {
            let depth = errors
                .iter()
                .map(|e| {
                    FieldPath::from_json_pointer(e.instance_path().as_str())
                        .segments()
                        .len()
                })
                .max();
            let type_mismatch = errors.iter().any(|e| {
                matches!(
                    e.kind(),
                    ValidationErrorKind::Type { .. } | ValidationErrorKind::Constant { .. }
                ) && FieldPath::from_json_pointer(e.instance_path().as_str())
                    .segments()
                    .len()
                    == base_depth
            });
            (depth, !type_mismatch, std::cmp::Reverse(errors.len()))
        });
        let all_type_mismatches = context.iter().all(|errors| {
            errors
                .iter()
                .any(|e| matches!(e.kind(), ValidationErrorKind::Type { .. }))
                && errors.iter().all(|e| {
                    FieldPath::from_json_pointer(e.instance_path().as_str())
                        .segments()
                        .len()
                        == base_depth
                })
        });
        if all_type_mismatches {
            let expected: Vec<String> = branches
                .iter()
                .filter_map(|b| b.get("type").and_then(Value::as_str))
                .map(article)
                .collect();
            findings.push(Finding::error(
                "wrong-type",
                path.clone(),
                format!(
                    "expected {}, found {}",
                    expected.join(" or "),
                    describe(instance)
                ),
            ));
            return;
        }
        match best {
            Some(errors) => errors
                .iter()
                .for_each(|inner| self.translate(inner, findings)),
            None => findings.push(Finding::error(
                "invalid-value",
                path.clone(),
                lowercase_first(&error.to_string()),
            )),
        }
    }
}

/// A variant of an externally tagged enum in the schema: its name and which branch it is.
struct VariantTag {
    name: String,
    branch: usize,
    /// A bare name (`- stop`) rather than `name: value`.
    bare: bool,
}

fn variant_tags(branches: &[&Value]) -> Option<Vec<VariantTag>> {
    let mut tags = Vec::new();
    for (branch, schema) in branches.iter().enumerate() {
        let required = schema.get("required").and_then(Value::as_array);
        let names = schema.get("enum").and_then(Value::as_array);
        if let (Some(required), Some("object")) =
            (required, schema.get("type").and_then(Value::as_str))
        {
            let [name] = required.as_slice() else {
                return None;
            };
            tags.push(VariantTag {
                name: name.as_str()?.to_string(),
                branch,
                bare: false,
            });
        } else if let Some(constant) = schema.get("const").and_then(Value::as_str) {
            tags.push(VariantTag {
                name: constant.to_string(),
                branch,
                bare: true,
            });
        } else if let Some(names) = names {
            for name in names {
                tags.push(VariantTag {
                    name: name.as_str()?.to_string(),
                    branch,
                    bare: true,
                });
            }
        } else {
            return None;
        }
    }
    (tags.len() > 1).then_some(tags)
}

fn unknown_variant(path: &FieldPath, instance: &Value, tags: &[VariantTag]) -> Finding {
    let all: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
    let listing = format!("expected one of: {}", all.join(", "));
    match instance {
        Value::Object(map) if map.is_empty() => {
            Finding::error("unknown-step", path.clone(), "empty step").with_help(listing)
        }
        Value::Object(map) if map.len() > 1 && map.keys().all(|k| all.contains(&k.as_str())) => {
            let keys: Vec<&str> = map.keys().map(String::as_str).collect();
            Finding::error(
                "unknown-step",
                path.clone(),
                format!(
                    "one step can do one thing, found {} together",
                    keys.join(" and ")
                ),
            )
            .with_help("start each step with its own `- ` (check the indentation)")
        }
        Value::Object(map) => {
            let unknown = map
                .keys()
                .find(|k| !all.contains(&k.as_str()))
                .map(String::as_str)
                .unwrap_or_default();
            let help = did_you_mean(unknown, all.iter().copied())
                .map(|t| format!("did you mean `{t}`?"))
                .unwrap_or(listing);
            Finding::error(
                "unknown-step",
                path.key(unknown),
                format!("unknown step `{unknown}`"),
            )
            .at_key()
            .with_help(help)
        }
        Value::String(name) => match tags.iter().find(|t| t.name == *name) {
            Some(tag) if !tag.bare => Finding::error(
                "missing-value",
                path.clone(),
                format!("step `{name}` needs a value"),
            )
            .with_help(format!("write `{name}: ...`")),
            _ => {
                let help = did_you_mean(name, all.iter().copied())
                    .map(|t| format!("did you mean `{t}`?"))
                    .unwrap_or(listing);
                Finding::error(
                    "unknown-step",
                    path.clone(),
                    format!("unknown step `{name}`"),
                )
                .with_help(help)
            }
        },
        other => Finding::error(
            "wrong-type",
            path.clone(),
            format!("expected a step, found {}", describe(other)),
        )
        .with_help(listing),
    }
}

/// "e.g. 90s, 15m" from a schema's `examples`, to help with a wrong type.
fn example_help(schema: &Value) -> Option<String> {
    let examples: Vec<String> = schema
        .get("examples")?
        .as_array()?
        .iter()
        .filter_map(|e| e.as_str().map(|s| format!("`{s}`")))
        .collect();
    (!examples.is_empty()).then(|| format!("for example {}", examples.join(", ")))
}

fn last_key(path: &FieldPath) -> String {
    match path.segments().last() {
        Some(PathSegment::Key(key)) => key.clone(),
        _ => path.to_string(),
    }
}

fn article(kind: &str) -> String {
    match kind {
        "object" => "a mapping".into(),
        "array" => "a list".into(),
        "integer" => "a whole number".into(),
        "null" => "nothing".into(),
        other => format!("a {other}"),
    }
}

/// How a value reads in a message: `"15x"`, `90`, `a list`.
pub fn describe(value: &Value) -> String {
    match value {
        Value::Null => "nothing (null)".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("{s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_in_schema_is_up_to_date() {
        let generated = workflow_schema_text();
        if std::env::var_os("SWITCHBOARD_BLESS").is_some() {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../..")
                .join(WORKFLOW_SCHEMA_PATH);
            std::fs::write(&path, &generated).expect("write schema");
            return;
        }
        assert!(
            generated == WORKFLOW_SCHEMA,
            "{WORKFLOW_SCHEMA_PATH} is stale: run `SWITCHBOARD_BLESS=1 cargo test -p switchboard-model` and commit it"
        );
    }

    #[test]
    fn embedded_schema_builds() {
        assert!(validator().is_ok(), "{:?}", validator().err());
    }
}
