//! A provider instance's settings: what its plugin reads with `config.get`. Written as text,
//! numbers or true/false (every value reaches the plugin as text); text may hold `${VARIABLE}`
//! references, resolved when the config is loaded.
//!
//! Settings often hold secrets (API keys, webhook signing keys): `Debug` shows only the keys,
//! and `Serialize` writes the values as they are written in the file (references, not what
//! they resolved to).

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::env::{EnvError, EnvLookup, interpolate};

/// One setting.
#[derive(Clone, PartialEq, Eq)]
struct Setting {
    /// As written (a number or flag in its text form).
    written: String,
    /// What the plugin gets: `written` with its references resolved.
    value: String,
    /// Written as text, so references apply (a number cannot hold one).
    text: bool,
}

/// The settings of one provider instance.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Settings {
    entries: BTreeMap<String, Setting>,
}

impl Settings {
    /// Builds settings from resolved values (for tests and embedded defaults).
    pub fn from_values<K: Into<String>, V: Into<String>>(
        values: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            entries: values
                .into_iter()
                .map(|(key, value)| {
                    let value = value.into();
                    let setting = Setting {
                        written: value.clone(),
                        value,
                        text: true,
                    };
                    (key.into(), setting)
                })
                .collect(),
        }
    }

    /// The value of `key`, references resolved.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(|s| s.value.as_str())
    }

    /// Keys and values (resolved), by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .map(|(key, setting)| (key.as_str(), setting.value.as_str()))
    }

    /// Keys and values (resolved), as the plugin host takes them.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    /// How many settings there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Resolves every text value's references; the key and error of each that fails.
    pub(crate) fn resolve(&mut self, env: EnvLookup<'_>) -> Vec<(String, EnvError)> {
        let mut failures = Vec::new();
        for (key, setting) in &mut self.entries {
            if !setting.text {
                continue;
            }
            match interpolate(&setting.written, env) {
                Ok(value) => setting.value = value,
                Err(error) => failures.push((key.clone(), error)),
            }
        }
        failures
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("keys", &self.entries.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Serialize for Settings {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(
            self.entries
                .iter()
                .map(|(key, setting)| (key, &setting.written)),
        )
    }
}

impl<'de> Deserialize<'de> for Settings {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries = BTreeMap::<String, Scalar>::deserialize(deserializer)?;
        Ok(Self {
            entries: entries
                .into_iter()
                .map(|(key, Scalar { text, is_text })| {
                    let setting = Setting {
                        written: text.clone(),
                        value: text,
                        text: is_text,
                    };
                    (key, setting)
                })
                .collect(),
        })
    }
}

/// A setting's value as written: text, a number or a flag, in text form.
struct Scalar {
    text: String,
    is_text: bool,
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl Visitor<'_> for ScalarVisitor {
            type Value = Scalar;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("text, a number or true/false")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Scalar, E> {
                Ok(Scalar {
                    text: value.to_string(),
                    is_text: true,
                })
            }

            fn visit_bool<E: de::Error>(self, value: bool) -> Result<Scalar, E> {
                Ok(Scalar {
                    text: value.to_string(),
                    is_text: false,
                })
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Scalar, E> {
                Ok(Scalar {
                    text: value.to_string(),
                    is_text: false,
                })
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Scalar, E> {
                Ok(Scalar {
                    text: value.to_string(),
                    is_text: false,
                })
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Scalar, E> {
                Ok(Scalar {
                    text: value.to_string(),
                    is_text: false,
                })
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

impl JsonSchema for Settings {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Settings".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "The plugin's settings (its manifest's settings schema says which). Text may use `${VARIABLE}` for values kept in the environment, such as secrets; `$${` writes a literal `${`.",
            "type": "object",
            "additionalProperties": { "type": ["string", "integer", "number", "boolean"] }
        })
    }
}
