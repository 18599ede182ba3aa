//! The import options the JSON Lines importer reads, parsed and checked.
//!
//! Options come from the import request (not from the plugin instance's
//! settings); they are declared, as JSON Schema, in `options-schema` in this
//! crate's `plugin.toml`. Blank values count as absent. Keys this importer
//! does not know are ignored: the host checks requests against the schema.

/// The option keys this importer reads, as declared in `plugin.toml`.
pub const OPTION_KEYS: [&str; 1] = ["max-record-bytes"];

/// Default cap on one line: 1 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1 << 20;

/// Largest `max-record-bytes` accepted: 64 MiB.
pub const MAX_MAX_RECORD_BYTES: usize = 64 << 20;

/// The options of one import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Longest line accepted, in bytes, its `\n` not included.
    pub max_record_bytes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
        }
    }
}

impl Options {
    /// Parses the options of an import request. The last value of a key
    /// given twice wins; unknown keys are ignored.
    pub fn parse(pairs: &[(String, String)]) -> Result<Options, String> {
        let mut options = Options::default();
        for (key, value) in pairs {
            if key == "max-record-bytes" {
                options.max_record_bytes = parse_max_record_bytes(value)?;
            }
        }
        Ok(options)
    }
}

/// A whole number of bytes, from 1 to [`MAX_MAX_RECORD_BYTES`].
fn parse_max_record_bytes(value: &str) -> Result<usize, String> {
    let text = value.trim();
    if text.is_empty() {
        return Ok(DEFAULT_MAX_RECORD_BYTES);
    }
    match text.parse::<usize>() {
        Ok(bytes) if (1..=MAX_MAX_RECORD_BYTES).contains(&bytes) => Ok(bytes),
        _ => Err(format!(
            "max-record-bytes: {value:?} is not a whole number from 1 to {MAX_MAX_RECORD_BYTES}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<Options, String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Options::parse(&pairs)
    }

    #[test]
    fn defaults_and_values() {
        assert_eq!(parse(&[]), Ok(Options::default()));
        assert_eq!(parse(&[("max-record-bytes", " ")]), Ok(Options::default()));
        assert_eq!(parse(&[("delimiter", ";")]), Ok(Options::default()));
        assert_eq!(
            parse(&[("max-record-bytes", "512")]),
            Ok(Options {
                max_record_bytes: 512
            })
        );
    }

    #[test]
    fn invalid_values_name_the_option() {
        for value in ["0", "-1", "1k", "67108865"] {
            let why = parse(&[("max-record-bytes", value)]).expect_err("invalid");
            assert!(why.starts_with("max-record-bytes: "), "{why}");
        }
    }
}
