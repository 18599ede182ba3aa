//! A plugin's manifest (`plugin.toml`): who the plugin is, what kind, which WIT version it was
//! built against, which hosts it may call, and the JSON Schema of its instance settings.
//!
//! A manifest is checked against `schemas/plugin-manifest.schema.json` (generated from
//! [`Manifest`], checked in, kept current by a test), then its settings schema is compiled.
//! An operator's settings for an instance are validated against that schema before the plugin
//! is used; problems name the setting, never a secret's value (`writeOnly` properties).

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where the manifest schema is checked in, relative to the repository root.
pub const MANIFEST_SCHEMA_PATH: &str = "schemas/plugin-manifest.schema.json";

/// The checked-in manifest schema.
pub const MANIFEST_SCHEMA: &str = include_str!("../../../schemas/plugin-manifest.schema.json");

/// The WIT package versions this host can load.
pub const SUPPORTED_WIT: &[&str] = &["0.1.0"];

/// What a plugin does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PluginKind {
    /// Sends messages (world `provider-plugin`).
    Provider,
    /// Turns files into recipient rows (world `importer-plugin`).
    Importer,
}

impl std::fmt::Display for PluginKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Provider => "provider",
            Self::Importer => "importer",
        })
    }
}

/// The contents of a `plugin.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(title = "Switchboard plugin manifest (plugin.toml)")]
pub struct Manifest {
    /// The plugin's name: what the operator's configuration refers to.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,62}$"))]
    pub name: String,
    /// The plugin's version (semantic versioning).
    #[schemars(regex(pattern = r"^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$"))]
    pub version: String,
    /// Provider or importer.
    pub kind: PluginKind,
    /// The `switchboard:plugin` WIT package version the component was built against.
    #[schemars(extend("enum" = SUPPORTED_WIT))]
    pub wit: String,
    /// The component's file name, in the manifest's directory.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\.wasm$"))]
    pub component: String,
    /// What the plugin is, for people.
    #[schemars(length(min = 1, max = 1000))]
    pub description: String,
    /// Hosts the plugin may reach through `host.fetch` (`api.example.com`, `*.example.com`,
    /// optionally with `:port` or `:*`). The operator's configuration must grant them too.
    #[serde(default)]
    #[schemars(inner(regex(
        pattern = r"^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:([0-9]{1,5}|\*))?$"
    )))]
    pub allowed_hosts: Vec<String>,
    /// JSON Schema (draft 2020-12) of the instance settings, as JSON text. Every setting
    /// reaches the plugin as a string; `writeOnly: true` marks secrets.
    #[schemars(length(min = 2))]
    pub settings_schema: String,
}

/// The manifest schema, generated from [`Manifest`].
pub fn generate_manifest_schema() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    generator.into_root_schema_for::<Manifest>().to_value()
}

/// The generated schema as the pretty-printed text that is checked in.
pub fn manifest_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&generate_manifest_schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// A manifest or settings problem, naming the file (or plugin) and every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}: {}", problems.join("; "))]
pub struct ManifestError {
    /// The manifest file, or the plugin whose settings were checked.
    pub source_name: String,
    /// What is wrong, one line each.
    pub problems: Vec<String>,
}

impl ManifestError {
    fn one(source_name: &str, problem: impl Into<String>) -> Self {
        Self {
            source_name: source_name.to_string(),
            problems: vec![problem.into()],
        }
    }
}

/// A manifest that passed every check, with its settings schema compiled.
#[derive(Debug, Clone)]
pub struct CheckedManifest {
    manifest: Manifest,
    settings_schema: Value,
    settings_validator: std::sync::Arc<jsonschema::Validator>,
}

impl CheckedManifest {
    /// Reads and checks a `plugin.toml`.
    pub fn read(path: &Path) -> Result<Self, ManifestError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ManifestError::one(&name, format!("cannot read: {e}")))?;
        Self::parse(&name, &text)
    }

    /// Checks a manifest's text; `source_name` names it in errors.
    pub fn parse(source_name: &str, text: &str) -> Result<Self, ManifestError> {
        let document: toml::Value = toml::from_str(text)
            .map_err(|e| ManifestError::one(source_name, format!("not valid TOML: {e}")))?;
        let document = serde_json::to_value(document)
            .map_err(|e| ManifestError::one(source_name, format!("not representable: {e}")))?;
        let problems = manifest_validator()
            .map_err(|defect| ManifestError::one(source_name, defect))?
            .iter_errors(&document)
            .map(|error| {
                let at = error.instance_path().as_str().to_string();
                if at.is_empty() {
                    error.to_string()
                } else {
                    format!("{}: {error}", pointer_to_key(&at))
                }
            })
            .collect::<Vec<_>>();
        if !problems.is_empty() {
            return Err(ManifestError {
                source_name: source_name.to_string(),
                problems,
            });
        }
        let manifest: Manifest = serde_json::from_value(document)
            .map_err(|e| ManifestError::one(source_name, e.to_string()))?;
        Self::from_manifest(source_name, manifest)
    }

    /// Checks an already parsed manifest (its settings schema in particular).
    pub fn from_manifest(source_name: &str, manifest: Manifest) -> Result<Self, ManifestError> {
        if !SUPPORTED_WIT.contains(&manifest.wit.as_str()) {
            return Err(ManifestError::one(
                source_name,
                format!(
                    "wit: version {} is not supported by this host (supported: {})",
                    manifest.wit,
                    SUPPORTED_WIT.join(", ")
                ),
            ));
        }
        let settings_schema: Value = serde_json::from_str(&manifest.settings_schema)
            .map_err(|e| ManifestError::one(source_name, format!("settings-schema: {e}")))?;
        if settings_schema.get("type").and_then(Value::as_str) != Some("object") {
            return Err(ManifestError::one(
                source_name,
                "settings-schema: must describe an object (`\"type\": \"object\"`)",
            ));
        }
        // `validator_for` checks the schema against its meta-schema first.
        let settings_validator = jsonschema::validator_for(&settings_schema).map_err(|e| {
            ManifestError::one(
                source_name,
                format!("settings-schema is not a valid JSON Schema: {e}"),
            )
        })?;
        Ok(Self {
            manifest,
            settings_schema,
            settings_validator: std::sync::Arc::new(settings_validator),
        })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Whether a setting's value may be secret. Only a setting declared directly under
    /// `properties`, without `writeOnly: true` and without `$ref`, `allOf`, `anyOf` or
    /// `oneOf` (where a `writeOnly` could hide), counts as public.
    pub fn is_secret(&self, key: &str) -> bool {
        let Some(property) = self
            .settings_schema
            .pointer(&format!("/properties/{}", escape_pointer(key)))
        else {
            return true;
        };
        match property.get("writeOnly").and_then(Value::as_bool) {
            Some(write_only) => write_only,
            None => ["$ref", "allOf", "anyOf", "oneOf"]
                .iter()
                .any(|keyword| property.get(*keyword).is_some()),
        }
    }

    /// Checks an instance's settings against the settings schema. Problems name the setting;
    /// a secret's value never appears in them.
    pub fn check_settings(&self, settings: &BTreeMap<String, String>) -> Result<(), ManifestError> {
        let instance = Value::Object(
            settings
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        );
        let problems: Vec<String> = self
            .settings_validator
            .iter_errors(&instance)
            .map(|error| {
                let at = error.instance_path().as_str().to_string();
                let key = pointer_to_key(&at);
                if at.is_empty() {
                    // About the whole object: say which rule, never the object (it holds the
                    // secrets).
                    root_settings_problem(&error)
                } else if self.is_secret(&key) {
                    format!(
                        "setting `{key}` is not valid (secret: value not shown; see the plugin's settings schema)"
                    )
                } else {
                    format!("setting `{key}`: {error}")
                }
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ManifestError {
                source_name: format!("plugin {} settings", self.manifest.name),
                problems,
            })
        }
    }
}

/// A problem with the settings as a whole, without their values.
fn root_settings_problem(error: &jsonschema::ValidationError<'_>) -> String {
    use jsonschema::error::ValidationErrorKind;
    match error.kind() {
        ValidationErrorKind::Required { property } => {
            format!("missing required setting {property}")
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            format!("unknown setting(s): {}", unexpected.join(", "))
        }
        _ => {
            let rule = error
                .schema_path()
                .as_str()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string();
            format!("the settings do not satisfy the settings schema's `{rule}` rule")
        }
    }
}

/// `/allowed-hosts/0` → `allowed-hosts[0]`.
fn pointer_to_key(pointer: &str) -> String {
    let mut out = String::new();
    for part in pointer.split('/').skip(1) {
        let part = part.replace("~1", "/").replace("~0", "~");
        if part.chars().all(|c| c.is_ascii_digit()) && !out.is_empty() {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&part);
        }
    }
    out
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn manifest_validator() -> Result<&'static jsonschema::Validator, String> {
    static VALIDATOR: std::sync::LazyLock<Result<jsonschema::Validator, String>> =
        std::sync::LazyLock::new(|| {
            let schema: Value = serde_json::from_str(MANIFEST_SCHEMA)
                .map_err(|e| format!("{MANIFEST_SCHEMA_PATH} is not JSON: {e}"))?;
            jsonschema::validator_for(&schema)
                .map_err(|e| format!("{MANIFEST_SCHEMA_PATH} is not a valid schema: {e}"))
        });
    VALIDATOR.as_ref().map_err(Clone::clone)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn checked_in_schema_is_up_to_date() {
        let generated = manifest_schema_text();
        if std::env::var_os("SWITCHBOARD_BLESS").is_some() {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../..")
                .join(MANIFEST_SCHEMA_PATH);
            std::fs::write(&path, &generated).expect("write schema");
            return;
        }
        assert!(
            generated == MANIFEST_SCHEMA,
            "{MANIFEST_SCHEMA_PATH} is stale: run `SWITCHBOARD_BLESS=1 cargo test -p switchboard-plugin-host --lib` and commit it"
        );
    }

    const SCHEMA: &str = r#"{"type": "object", "additionalProperties": false, "required": ["token"],
        "properties": {"token": {"type": "string", "writeOnly": true, "minLength": 8},
                       "rate": {"type": "string", "pattern": "^[0-9]+$"}}}"#;

    fn manifest_text(extra: &str) -> String {
        format!(
            "name = \"acme\"\nversion = \"1.2.3\"\nkind = \"provider\"\nwit = \"0.1.0\"\n\
             component = \"acme.wasm\"\ndescription = \"Acme SMS\"\n\
             allowed-hosts = [\"api.acme.example\", \"*.acme.example:8443\"]\n\
             settings-schema = '''{SCHEMA}'''\n{extra}"
        )
    }

    #[test]
    fn a_good_manifest_is_accepted() {
        let checked = CheckedManifest::parse("acme/plugin.toml", &manifest_text("")).unwrap();
        assert_eq!(checked.manifest().name, "acme");
        assert_eq!(checked.manifest().kind, PluginKind::Provider);
        assert!(checked.is_secret("token"));
        assert!(!checked.is_secret("rate"));
    }

    #[test]
    fn bundled_mock_manifest_is_valid() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/provider-mock/plugin.toml");
        CheckedManifest::read(&path).unwrap();
    }

    #[test]
    fn manifest_problems_name_the_field() {
        let bad = manifest_text("")
            .replace("\"acme\"", "\"Acme Corp\"")
            .replace("acme.wasm", "../evil.wasm")
            .replace("\"provider\"", "\"sender\"");
        let error = CheckedManifest::parse("acme/plugin.toml", &bad).unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("acme/plugin.toml: "), "{text}");
        for field in ["name:", "component:", "kind:"] {
            assert!(text.contains(field), "{field} in {text}");
        }
        let unknown = CheckedManifest::parse("m", &manifest_text("colour = \"red\"")).unwrap_err();
        assert!(unknown.to_string().contains("colour"), "{unknown}");
        let host = manifest_text("").replace("api.acme.example", "https://api.acme.example/x");
        let error = CheckedManifest::parse("m", &host).unwrap_err();
        assert!(error.to_string().contains("allowed-hosts[0]"), "{error}");
        let toml_error = CheckedManifest::parse("m", "name = ").unwrap_err();
        assert!(
            toml_error.to_string().contains("not valid TOML"),
            "{toml_error}"
        );
    }

    #[test]
    fn wit_versions_and_settings_schemas_are_checked() {
        let future = manifest_text("").replace("wit = \"0.1.0\"", "wit = \"9.0.0\"");
        assert!(
            CheckedManifest::parse("m", &future)
                .unwrap_err()
                .to_string()
                .contains("wit")
        );
        let not_object = manifest_text("").replace(SCHEMA, r#"{"type": "string"}"#);
        assert!(
            CheckedManifest::parse("m", &not_object)
                .unwrap_err()
                .to_string()
                .contains("must describe an object")
        );
        let broken =
            manifest_text("").replace(SCHEMA, r#"{"type": "object", "minProperties": "x"}"#);
        assert!(
            CheckedManifest::parse("m", &broken)
                .unwrap_err()
                .to_string()
                .contains("not a valid JSON Schema")
        );
    }

    #[test]
    fn settings_are_checked_without_revealing_secrets() {
        let checked = CheckedManifest::parse("m", &manifest_text("")).unwrap();
        let settings = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        checked
            .check_settings(&settings(&[("token", "s3cr3t-token"), ("rate", "5")]))
            .unwrap();
        let error = checked
            .check_settings(&settings(&[
                ("token", "short"),
                ("rate", "fast"),
                ("colour", "red"),
            ]))
            .unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("plugin acme settings: "), "{text}");
        assert!(
            text.contains("setting `token` is not valid (secret"),
            "{text}"
        );
        assert!(!text.contains("short"), "secret leaked: {text}");
        assert!(text.contains("setting `rate`"), "{text}");
        assert!(text.contains("colour"), "{text}");
        let missing = checked.check_settings(&settings(&[])).unwrap_err();
        assert!(missing.to_string().contains("token"), "{missing}");
    }

    #[test]
    fn secrets_stay_hidden_behind_refs_and_whole_object_rules() {
        let schema = r##"{"type": "object", "minProperties": 2,
            "$defs": {"secret": {"type": "string", "writeOnly": true, "minLength": 8}},
            "properties": {"token": {"$ref": "#/$defs/secret"},
                           "region": {"type": "string", "writeOnly": false, "enum": ["us", "eu"]}}}"##;
        let checked =
            CheckedManifest::parse("m", &manifest_text("").replace(SCHEMA, schema)).unwrap();
        assert!(checked.is_secret("token"), "writeOnly behind a $ref");
        assert!(checked.is_secret("undeclared"));
        assert!(!checked.is_secret("region"));
        let settings: BTreeMap<String, String> =
            [("token".to_string(), "hunter2".to_string())].into();
        let text = checked.check_settings(&settings).unwrap_err().to_string();
        assert!(!text.contains("hunter2"), "secret leaked: {text}");
        assert!(text.contains("minProperties"), "{text}");
        let config = crate::plugin::InstanceConfig::with_settings([("token", "hunter2")]);
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
