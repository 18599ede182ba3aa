//! The import options the CSV importer reads, parsed and checked.
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
pub const OPTION_KEYS: [&str; 3] = ["delimiter", "quote", MAX_RECORD_BYTES_OPTION];

/// The delimiters `delimiter` accepts and sniffing chooses from, in order of
/// preference when the header has as many of two of them.
pub const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// The options of one import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The field delimiter; `None` to sniff it from the header line.
    pub delimiter: Option<u8>,
    /// The quote character; `None` when quotes are ordinary characters.
    pub quote: Option<u8>,
    /// Longest record accepted, in bytes as they are in the file.
    pub max_record_bytes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            delimiter: None,
            quote: Some(b'"'),
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
            match key.as_str() {
                "delimiter" => options.delimiter = parse_delimiter(value)?,
                "quote" => options.quote = parse_quote(value)?,
                MAX_RECORD_BYTES_OPTION => {
                    options.max_record_bytes = parse_max_record_bytes(value)?
                }
                _ => {}
            }
        }
        Ok(options)
    }
}

/// `,`, `;`, `|`, `tab` (or `\t`, or a tab character), or blank / `auto` to
/// sniff.
fn parse_delimiter(value: &str) -> Result<Option<u8>, String> {
    if value == "\t" {
        return Ok(Some(b'\t'));
    }
    match value.trim() {
        "" | "auto" => Ok(None),
        "," => Ok(Some(b',')),
        ";" => Ok(Some(b';')),
        "|" => Ok(Some(b'|')),
        other if other.eq_ignore_ascii_case("tab") || other == "\\t" => Ok(Some(b'\t')),
        _ => Err(format!(
            "delimiter: {value:?} is not one of \",\", \";\", \"tab\", \"|\" or \"auto\""
        )),
    }
}

/// `"` (the default), `'`, or `none`.
fn parse_quote(value: &str) -> Result<Option<u8>, String> {
    match value.trim() {
        "" | "\"" => Ok(Some(b'"')),
        "'" => Ok(Some(b'\'')),
        other if other.eq_ignore_ascii_case("none") => Ok(None),
        _ => Err(format!(
            "quote: {value:?} is not one of \"\\\"\", \"'\" or \"none\""
        )),
    }
}

#[cfg(test)]
mod tests {
    use switchboard_plugin_sdk::testing;

    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<Options, String> {
        Options::parse(&testing::pairs(pairs))
    }

    fn delimiter(value: &str) -> Option<u8> {
        parse(&[("delimiter", value)])
            .expect("valid delimiter")
            .delimiter
    }

    #[test]
    fn defaults() {
        assert_eq!(parse(&[]), Ok(Options::default()));
        assert_eq!(parse(&[("sheet", "2")]), Ok(Options::default()));
        assert_eq!(
            parse(&[("delimiter", " "), ("quote", ""), ("max-record-bytes", "")]),
            Ok(Options::default())
        );
    }

    #[test]
    fn delimiters() {
        assert_eq!(delimiter(","), Some(b','));
        assert_eq!(delimiter(" ; "), Some(b';'));
        assert_eq!(delimiter("|"), Some(b'|'));
        for tab in ["tab", "TAB", "\\t", "\t"] {
            assert_eq!(delimiter(tab), Some(b'\t'), "{tab:?}");
        }
        assert_eq!(delimiter("auto"), None);
    }

    #[test]
    fn quotes_and_caps() {
        let options = parse(&[("quote", "'"), ("max-record-bytes", " 4096 ")]).expect("valid");
        assert_eq!(options.quote, Some(b'\''));
        assert_eq!(options.max_record_bytes, 4096);
        assert_eq!(parse(&[("quote", "None")]).expect("valid").quote, None);
    }

    #[test]
    fn invalid_values_name_the_option() {
        for (key, value) in [
            ("delimiter", ":"),
            ("delimiter", ",,"),
            ("quote", "`"),
            ("max-record-bytes", "0"),
            ("max-record-bytes", "-5"),
            ("max-record-bytes", "1MB"),
            ("max-record-bytes", "67108865"),
        ] {
            let why = parse(&[(key, value)]).expect_err("invalid");
            assert!(why.starts_with(&format!("{key}: ")), "{why}");
        }
    }
}
