//! The import options the JSON Lines importer reads, parsed and checked.
//!
//! Options come from the import request (not from the plugin instance's
//! settings); the manifest has no field for them, so `plugin.toml` lists them
//! in its comments and description. Blank values count as absent. Keys this
//! importer does not know are ignored (nothing checks them yet: a misspelt
//! key falls back to the default).

use switchboard_plugin_sdk::import::{
    DEFAULT_MAX_RECORD_BYTES, MAX_RECORD_BYTES_OPTION, parse_max_record_bytes,
};

/// The option keys this importer reads, as declared in `plugin.toml`.
pub const OPTION_KEYS: [&str; 1] = [MAX_RECORD_BYTES_OPTION];

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
            if key == MAX_RECORD_BYTES_OPTION {
                options.max_record_bytes = parse_max_record_bytes(value)?;
            }
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use switchboard_plugin_sdk::testing;

    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<Options, String> {
        Options::parse(&testing::pairs(pairs))
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
