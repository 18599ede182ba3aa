//! Turns one line of JSON into the fields of a row.
//!
//! The line must hold one JSON object. Its members become fields in the
//! order they are written: strings as they are (unescaped), numbers and
//! booleans as their JSON text, exactly as written (`1.50` stays `1.50`),
//! `null` as an empty string. Arrays and objects as values, keys that are
//! blank (once trimmed) or that appear twice (compared without regard to
//! case), and objects with more than [`MAX_FIELDS`] members make the line
//! an error.

use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// Most members an object may have: the host refuses rows with more fields
/// (it takes them for a misbehaving plugin), so they are errors here.
pub const MAX_FIELDS: usize = 1_000;

/// The fields of the object on `line`: `Ok(None)` for a blank line, `Err`
/// with a message for the user otherwise.
pub fn parse_line(line: &[u8]) -> Result<Option<Vec<(String, String)>>, String> {
    if line.trim_ascii().is_empty() {
        return Ok(None);
    }
    let object: RawObject<'_> = serde_json::from_slice(line).map_err(|e| describe(&e))?;
    let mut seen = HashSet::with_capacity(object.0.len());
    let mut fields = Vec::with_capacity(object.0.len());
    for (key, raw) in object.0 {
        let name = field_name(&key, &mut seen)?;
        let value = field_value(&name, raw)?;
        fields.push((name, value));
    }
    Ok(Some(fields))
}

/// The trimmed `key`, unless it is blank or already in `seen`.
fn field_name(key: &str, seen: &mut HashSet<String>) -> Result<String, String> {
    let name = key.trim();
    if name.is_empty() {
        return Err(format!("field {key:?} has a blank name"));
    }
    if !seen.insert(name.to_lowercase()) {
        return Err(format!(
            "field {name:?} appears twice (names are compared without regard to case)"
        ));
    }
    Ok(name.to_string())
}

/// The value of field `name` as text.
fn field_value(name: &str, raw: &RawValue) -> Result<String, String> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => serde_json::from_str(text).map_err(|e| format!("field {name:?}: {e}")),
        Some(b'{' | b'[') => Err(format!("field {name:?}: nested values are not supported")),
        _ if text == "null" => Ok(String::new()),
        _ => Ok(text.to_string()),
    }
}

/// serde_json's message, with the position given as a column only (each
/// line is parsed alone, so serde's line is always 1; its column is 0 when
/// the error is found before the first byte is consumed).
fn describe(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    match message.strip_suffix(&position) {
        Some(bare) => format!("{bare} at column {}", error.column().max(1)),
        None => message,
    }
}

/// A JSON object's members in order, values kept as raw JSON text.
struct RawObject<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for RawObject<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ObjectVisitor(PhantomData))
    }
}

/// Collects the members of an object, up to [`MAX_FIELDS`].
struct ObjectVisitor<'de>(PhantomData<&'de ()>);

impl<'de> Visitor<'de> for ObjectVisitor<'de> {
    type Value = RawObject<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if members.len() == MAX_FIELDS {
                return Err(de::Error::custom(format!("more than {MAX_FIELDS} fields")));
            }
            let value: &'de RawValue = map.next_value()?;
            members.push((key, value));
        }
        Ok(RawObject(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(line: &str) -> Vec<(String, String)> {
        parse_line(line.as_bytes())
            .expect("valid line")
            .expect("not blank")
    }

    fn error(line: &[u8]) -> String {
        parse_line(line).expect_err("invalid line")
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn members_in_file_order_with_raw_scalars() {
        assert_eq!(
            fields(
                r#" {"to":"+1 555\u0020\"x\"", "n": 1.50, "big": 12345678901234567890123, "e": -1e3, "ok": true, "no": false, "none": null, "a": ""} "#
            ),
            pairs(&[
                ("to", "+1 555 \"x\""),
                ("n", "1.50"),
                ("big", "12345678901234567890123"),
                ("e", "-1e3"),
                ("ok", "true"),
                ("no", "false"),
                ("none", ""),
                ("a", ""),
            ])
        );
        assert_eq!(
            fields("{\"b\":1,\"a\":2}\r"),
            pairs(&[("b", "1"), ("a", "2")])
        );
        assert!(fields("{}").is_empty());
    }

    #[test]
    fn blank_lines_are_not_rows() {
        assert_eq!(parse_line(b""), Ok(None));
        assert_eq!(parse_line(b" \t\r"), Ok(None));
    }

    #[test]
    fn nested_values_are_errors() {
        assert_eq!(
            error(br#"{"a":1,"tags":["x"]}"#),
            r#"field "tags": nested values are not supported"#
        );
        assert_eq!(
            error(br#"{"who":{"name":"x"}}"#),
            r#"field "who": nested values are not supported"#
        );
    }

    #[test]
    fn anything_but_an_object_is_an_error() {
        assert_eq!(
            error(b"[1,2]"),
            "invalid type: sequence, expected a JSON object at column 1"
        );
        assert_eq!(
            error(b"\"phone\""),
            "invalid type: string \"phone\", expected a JSON object at column 7"
        );
        assert_eq!(error(b"phone,name"), "expected value at column 1");
        assert_eq!(
            error(br#"{"a":1"#),
            "EOF while parsing an object at column 6"
        );
        assert_eq!(
            error(br#"{"a":1} {"b":2}"#),
            "trailing characters at column 9"
        );
        assert_eq!(
            error(b"{\"a\":\"\xE9\"}"),
            "invalid unicode code point at column 7"
        );
    }

    #[test]
    fn bad_names_are_errors() {
        assert_eq!(
            error(br#"{"phone":1," Phone ":2}"#),
            r#"field "Phone" appears twice (names are compared without regard to case)"#
        );
        assert_eq!(error(br#"{" ":1}"#), r#"field " " has a blank name"#);
    }

    #[test]
    fn too_many_members() {
        let members: Vec<String> = (0..=MAX_FIELDS).map(|i| format!("\"k{i}\":0")).collect();
        let line = format!("{{{}}}", members.join(","));
        assert!(error(line.as_bytes()).starts_with("more than 1000 fields at column"));
        let members = &members[..MAX_FIELDS];
        let line = format!("{{{}}}", members.join(","));
        assert_eq!(fields(&line).len(), MAX_FIELDS);
    }
}
