//! Message templates: text with `{field}` placeholders filled from the recipient, and
//! `{field|default}` for a fallback when the recipient has no value.
//!
//! `{{` and `}}` write literal braces. A field with an empty value counts as missing: "Hi ,"
//! is never what an author meant.

use std::fmt;

/// Why a template text did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A `{` without its `}`.
    #[error(
        "unclosed placeholder starting at character {0}: add the closing }} or write {{{{ for a literal {{"
    )]
    Unclosed(usize),
    /// A `}` with no `{`.
    #[error("unmatched }} at character {0}: write }}}} for a literal }}")]
    Unmatched(usize),
    /// `{}` or `{|x}`.
    #[error("empty placeholder at character {0}: name a field, e.g. {{name}}")]
    EmptyField(usize),
    /// A name with characters that no field can have.
    #[error("invalid field name {0:?}: use letters, digits and _ (e.g. {{first_name}})")]
    BadFieldName(String),
}

/// A recipient had no value (or an empty one) for a field without default.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("recipient has no value for template field {{{0}}} and it has no default")]
pub struct MissingField(pub String);

/// One placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// The field name.
    pub field: String,
    /// What to write when the recipient has no value.
    pub default: Option<String>,
    /// Character offset of the `{` in the template text.
    pub offset: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(Placeholder),
}

/// A parsed template, ready to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

fn is_valid_field_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '.')
}

impl Template {
    /// Parses a template text.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let chars: Vec<char> = text.chars().collect();
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '{' if chars.get(i + 1) == Some(&'{') => {
                    literal.push('{');
                    i += 2;
                }
                '}' if chars.get(i + 1) == Some(&'}') => {
                    literal.push('}');
                    i += 2;
                }
                '}' => return Err(TemplateError::Unmatched(i)),
                '{' => {
                    let start = i;
                    let close = chars[i + 1..]
                        .iter()
                        .position(|&c| c == '}')
                        .map(|p| p + i + 1)
                        .ok_or(TemplateError::Unclosed(start))?;
                    let inner: String = chars[i + 1..close].iter().collect();
                    if inner.contains('{') {
                        return Err(TemplateError::Unclosed(start));
                    }
                    let (field, default) = match inner.split_once('|') {
                        Some((field, default)) => (field.trim(), Some(default.to_string())),
                        None => (inner.trim(), None),
                    };
                    if field.is_empty() {
                        return Err(TemplateError::EmptyField(start));
                    }
                    if !is_valid_field_name(field) {
                        return Err(TemplateError::BadFieldName(field.to_string()));
                    }
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Field(Placeholder {
                        field: field.to_string(),
                        default,
                        offset: start,
                    }));
                    i = close + 1;
                }
                c => {
                    literal.push(c);
                    i += 1;
                }
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Self { parts })
    }

    /// The placeholders, in order.
    pub fn placeholders(&self) -> impl Iterator<Item = &Placeholder> {
        self.parts.iter().filter_map(|part| match part {
            Part::Field(placeholder) => Some(placeholder),
            Part::Text(_) => None,
        })
    }

    /// Fills the placeholders; `lookup` answers a field's value for this recipient.
    pub fn render<'a>(
        &self,
        lookup: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<String, MissingField> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Field(placeholder) => {
                    match lookup(&placeholder.field).filter(|v| !v.trim().is_empty()) {
                        Some(value) => out.push_str(value),
                        None => match &placeholder.default {
                            Some(default) => out.push_str(default),
                            None => return Err(MissingField(placeholder.field.clone())),
                        },
                    }
                }
            }
        }
        Ok(out)
    }

    /// The text with every placeholder replaced by its default (or nothing): the shortest a
    /// rendered message can be, used to check length and encoding before any recipient exists.
    pub fn skeleton(&self) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Field(placeholder) => {
                    out.push_str(placeholder.default.as_deref().unwrap_or(""))
                }
            }
        }
        out
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Text(text) => f.write_str(&text.replace('{', "{{").replace('}', "}}"))?,
                Part::Field(Placeholder {
                    field,
                    default: Some(default),
                    ..
                }) => write!(f, "{{{field}|{default}}}")?,
                Part::Field(Placeholder {
                    field,
                    default: None,
                    ..
                }) => write!(f, "{{{field}}}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn render(template: &str, fields: &[(&str, &str)]) -> Result<String, MissingField> {
        let fields: HashMap<&str, &str> = fields.iter().copied().collect();
        Template::parse(template)
            .expect("valid template")
            .render(|name| fields.get(name).copied())
    }

    #[test]
    fn fills_fields_and_defaults() {
        assert_eq!(
            render(
                "Hi {name}, we have a special offer for {company}!",
                &[("name", "John Doe"), ("company", "Acme Corp")]
            ),
            Ok("Hi John Doe, we have a special offer for Acme Corp!".into())
        );
        assert_eq!(render("Hi {name|there}!", &[]), Ok("Hi there!".into()));
        assert_eq!(
            render("Hi {name|there}!", &[("name", "  ")]),
            Ok("Hi there!".into())
        );
        assert_eq!(render("Hi {name|}!", &[]), Ok("Hi !".into()));
    }

    #[test]
    fn a_missing_field_without_default_is_an_error() {
        assert_eq!(render("Hi {name}", &[]), Err(MissingField("name".into())));
        assert_eq!(
            render("Hi {name}", &[("name", "")]),
            Err(MissingField("name".into()))
        );
    }

    #[test]
    fn doubled_braces_are_literal() {
        assert_eq!(
            render("{{literal}} {x}", &[("x", "1")]),
            Ok("{literal} 1".into())
        );
        let template = Template::parse("a {{b}} {c|d}").expect("valid");
        assert_eq!(template.to_string(), "a {{b}} {c|d}");
    }

    #[test]
    fn reports_malformed_placeholders() {
        assert_eq!(Template::parse("Hi {name"), Err(TemplateError::Unclosed(3)));
        assert_eq!(
            Template::parse("Hi name}"),
            Err(TemplateError::Unmatched(7))
        );
        assert_eq!(Template::parse("Hi {}"), Err(TemplateError::EmptyField(3)));
        assert_eq!(
            Template::parse("Hi {first name}"),
            Err(TemplateError::BadFieldName("first name".into()))
        );
        assert_eq!(Template::parse("Hi {a{b}"), Err(TemplateError::Unclosed(3)));
    }

    #[test]
    fn skeleton_uses_defaults() {
        let template = Template::parse("Hi {name|there}, {company}!").expect("valid");
        assert_eq!(template.skeleton(), "Hi there, !");
        let fields: Vec<_> = template.placeholders().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["name", "company"]);
    }
}
