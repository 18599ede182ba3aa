//! The config JSON Schema: generated from the [`Config`] types, checked in as
//! `schemas/config.schema.json` for editors (Taplo / Even Better TOML), kept current by a test
//! (`SWITCHBOARD_BLESS=1 cargo test -p switchboard-config` rewrites it).

use serde_json::Value;

use crate::config::Config;

/// Where the checked-in schema lives, relative to the repository root.
pub const CONFIG_SCHEMA_PATH: &str = "schemas/config.schema.json";

/// The checked-in schema.
pub const CONFIG_SCHEMA: &str = include_str!("../../../schemas/config.schema.json");

/// Generates the config schema from the types.
pub fn generate_config_schema() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let mut schema = generator.into_root_schema_for::<Config>().to_value();
    drop_null(&mut schema);
    schema
}

/// The generated schema as the pretty-printed text that is checked in.
pub fn config_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&generate_config_schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// TOML has no null: an optional key is left out, so schemars' `null` alternatives for
/// `Option` fields only confuse editors.
fn drop_null(node: &mut Value) {
    match node {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if let [single] = types.as_slice() {
                    let single = single.clone();
                    map.insert("type".into(), single);
                }
            }
            if let Some(Value::Array(alternatives)) = map.get("anyOf") {
                let rest: Vec<&Value> = alternatives
                    .iter()
                    .filter(|a| a.get("type").is_none_or(|t| t != "null"))
                    .collect();
                if let [Value::Object(only)] = rest.as_slice() {
                    let only = only.clone();
                    map.remove("anyOf");
                    for (key, value) in only {
                        map.entry(key).or_insert(value);
                    }
                }
            }
            if map.get("default").is_some_and(Value::is_null) {
                map.remove("default");
            }
            map.values_mut().for_each(drop_null);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null),
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn checked_in_schema_is_up_to_date() {
        let generated = config_schema_text();
        if std::env::var_os("SWITCHBOARD_BLESS").is_some() {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../..")
                .join(CONFIG_SCHEMA_PATH);
            std::fs::write(&path, &generated).expect("write schema");
            return;
        }
        assert!(
            generated == CONFIG_SCHEMA,
            "{CONFIG_SCHEMA_PATH} is stale: run `SWITCHBOARD_BLESS=1 cargo test -p switchboard-config` and commit it"
        );
    }
}
