//! `application/x-www-form-urlencoded` bodies: building them for provider
//! APIs and reading them from webhooks.
//!
//! Encoding follows the WHATWG URL standard: `*-._`, ASCII letters and
//! digits are kept, space becomes `+`, every other byte becomes `%XX`.

/// The `Content-Type` of a form body.
pub const CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// A form body under construction; fields keep their order and may repeat
/// (`MediaUrl=a&MediaUrl=b`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// An empty form.
    pub fn new() -> Self {
        Form::default()
    }

    /// Adds a field.
    pub fn field(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.pairs.push((name.into(), value.into()));
        self
    }

    /// Adds a field when `value` is `Some`.
    pub fn optional(self, name: impl Into<String>, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(value) => self.field(name, value),
            None => self,
        }
    }

    /// Adds one field per value, all with the same name.
    pub fn repeated<V: Into<String>>(
        mut self,
        name: &str,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        for value in values {
            self = self.field(name, value);
        }
        self
    }

    /// The fields, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The encoded body, e.g. `To=%2B15550001&Body=hello+world`.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        for (i, (name, value)) in self.pairs.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            encode_into(&mut out, name);
            out.push('=');
            encode_into(&mut out, value);
        }
        out
    }
}

/// Appends the form encoding of `text` to `out`.
fn encode_into(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in text.as_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(byte >> 4)]));
                out.push(char::from(HEX[usize::from(byte & 0x0f)]));
            }
        }
    }
}

/// Decodes a form body (or a query string) into name/value pairs, in order.
///
/// Lenient, as webhook input must be: empty segments are skipped, a `%` not
/// followed by two hex digits is kept as is, and invalid UTF-8 is replaced
/// with U+FFFD.
pub fn parse(input: &[u8]) -> Vec<(String, String)> {
    input
        .split(|&b| b == b'&')
        .filter(|segment| !segment.is_empty())
        .map(|segment| {
            let (name, value) = match segment.iter().position(|&b| b == b'=') {
                Some(eq) => (&segment[..eq], &segment[eq + 1..]),
                None => (segment, &segment[segment.len()..]),
            };
            (decode(name), decode(value))
        })
        .collect()
}

/// Decodes one form-encoded component.
fn decode(input: &[u8]) -> String {
    let mut bytes = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => bytes.push(b' '),
            b'%' => {
                let high = input
                    .get(i + 1)
                    .and_then(|&b| crate::signature::hex_digit(b));
                let low = input
                    .get(i + 2)
                    .and_then(|&b| crate::signature::hex_digit(b));
                if let (Some(high), Some(low)) = (high, low) {
                    bytes.push(high << 4 | low);
                    i += 2;
                } else {
                    bytes.push(b'%');
                }
            }
            other => bytes.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(name: &str, value: &str) -> (String, String) {
        (name.to_string(), value.to_string())
    }

    #[test]
    fn encodes_like_a_browser() {
        let form = Form::new()
            .field("To", "+1 555 0001")
            .field("Body", "Hi & bye = 100% ✓")
            .field("keep", "aZ09*-._~");
        assert_eq!(
            form.encode(),
            "To=%2B1+555+0001&Body=Hi+%26+bye+%3D+100%25+%E2%9C%93&keep=aZ09*-._%7E"
        );
    }

    #[test]
    fn optional_and_repeated_fields() {
        let form = Form::new()
            .optional("StatusCallback", None::<String>)
            .optional("From", Some("acme"))
            .repeated("MediaUrl", ["https://a/1", "https://a/2"]);
        assert_eq!(
            form.encode(),
            "From=acme&MediaUrl=https%3A%2F%2Fa%2F1&MediaUrl=https%3A%2F%2Fa%2F2"
        );
        assert_eq!(Form::new().encode(), "");
    }

    #[test]
    fn parse_round_trips_encode() {
        let form = Form::new()
            .field("a b", "c&d=e")
            .field("emoji", "✓")
            .field("empty", "");
        assert_eq!(parse(form.encode().as_bytes()), form.pairs());
    }

    #[test]
    fn parse_is_lenient() {
        assert_eq!(
            parse(b"a=1&&b&c=%zz%4&d=%41%"),
            vec![
                pair("a", "1"),
                pair("b", ""),
                pair("c", "%zz%4"),
                pair("d", "A%")
            ]
        );
        assert_eq!(parse(b"x=%FF"), vec![pair("x", "\u{FFFD}")]);
        assert!(parse(b"").is_empty());
    }
}
