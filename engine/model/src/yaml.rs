//! YAML source → JSON value, with the line and column of every node.
//!
//! Two passes over the text, on purpose:
//! - `serde_norway` builds the value: it resolves `<<` merge keys (`apply_merge`) and refuses
//!   duplicate keys, which parsing straight into `serde_json::Value` would silently accept.
//! - `saphyr-parser`'s event stream records where each node starts, keyed by JSON Pointer, so
//!   a schema error (which names an instance path) is reported at its line and column.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, Span};
use serde_json::{Map, Number, Value};

use crate::diagnostic::Position;
use crate::path::FieldPath;

/// Why a YAML text could not become a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    /// What the parser said, lowercase, without its own position suffix.
    pub message: String,
    /// Where, when the parser knows.
    pub position: Option<Position>,
}

/// Where a node is in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeSpan {
    /// The start of the node's key, when the node is a mapping value.
    pub key: Option<Position>,
    /// The start of the node itself.
    pub value: Position,
}

/// Positions of the nodes of one document, by JSON Pointer.
#[derive(Debug, Clone, Default)]
pub struct SpanIndex {
    nodes: HashMap<String, NodeSpan>,
}

impl SpanIndex {
    /// The recorded span of exactly this path.
    pub fn get(&self, path: &FieldPath) -> Option<NodeSpan> {
        self.nodes.get(&path.to_json_pointer()).copied()
    }

    /// Best position for a finding at `path`: the key (when `at_key` and there is one), else
    /// the value; a path that is not in the source (a merged or defaulted value) falls back to
    /// its nearest ancestor that is.
    pub fn locate(&self, path: &FieldPath, at_key: bool) -> Position {
        let mut current = path.clone();
        loop {
            if let Some(span) = self.get(&current) {
                return match (at_key, span.key) {
                    (true, Some(key)) => key,
                    _ => span.value,
                };
            }
            if current.segments().is_empty() {
                return Position { line: 1, column: 1 };
            }
            current = current.parent();
        }
    }
}

/// A parsed document: its value and where each node is.
#[derive(Debug, Clone)]
pub struct Document {
    /// The document as JSON, merge keys applied.
    pub value: Value,
    /// Node positions.
    pub spans: SpanIndex,
}

/// Parses one YAML document.
pub fn parse(source: &str) -> Result<Document, YamlError> {
    // Spans first: its errors (syntax, duplicate keys) carry the exact position.
    let spans = index_spans(source)?;
    let value = parse_value(source)?;
    Ok(Document { value, spans })
}

fn parse_value(source: &str) -> Result<Value, YamlError> {
    let mut value: serde_norway::Value = serde_norway::from_str(source).map_err(|error| {
        let position = error.location().map(|location| Position {
            line: location.line(),
            column: location.column(),
        });
        YamlError {
            message: strip_position_suffix(&error.to_string()),
            position,
        }
    })?;
    value.apply_merge().map_err(|error| YamlError {
        message: format!(
            "invalid merge key: {}",
            strip_position_suffix(&error.to_string())
        ),
        position: None,
    })?;
    to_json(value)
}

/// serde_norway appends " at line L column C" to its messages; we print the position ourselves.
fn strip_position_suffix(message: &str) -> String {
    let trimmed = match message.find(" at line ") {
        Some(index) => &message[..index],
        None => message,
    };
    trimmed.to_string()
}

fn to_json(value: serde_norway::Value) -> Result<Value, YamlError> {
    use serde_norway::Value as Yaml;
    let unsupported = |what: &str| YamlError {
        message: what.to_string(),
        position: None,
    };
    Ok(match value {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Number(i.into())
            } else if let Some(u) = n.as_u64() {
                Value::Number(u.into())
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                Number::from_f64(f).map(Value::Number).ok_or_else(|| {
                    unsupported("numbers must be finite (.nan and .inf are not allowed)")
                })?
            }
        }
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => {
            Value::Array(items.into_iter().map(to_json).collect::<Result<_, _>>()?)
        }
        Yaml::Mapping(mapping) => {
            let mut object = Map::new();
            for (key, value) in mapping {
                let key = match key {
                    Yaml::String(s) => s,
                    Yaml::Number(n) => n.to_string(),
                    Yaml::Bool(b) => b.to_string(),
                    Yaml::Null => "null".to_string(),
                    _ => return Err(unsupported("mapping keys must be plain strings")),
                };
                object.insert(key, to_json(value)?);
            }
            Value::Object(object)
        }
        Yaml::Tagged(tagged) => {
            return Err(unsupported(&format!(
                "YAML tags such as `{}` are not supported",
                tagged.tag
            )));
        }
    })
}

/// One open collection while walking the event stream.
enum Frame {
    Mapping {
        path: FieldPath,
        pending_key: Option<(String, Position)>,
        keys: HashMap<String, Position>,
    },
    Sequence {
        path: FieldPath,
        next: usize,
    },
}

fn position_of(span: &Span) -> Position {
    Position {
        line: span.start.line(),
        column: span.start.col() + 1,
    }
}

fn index_spans(source: &str) -> Result<SpanIndex, YamlError> {
    let mut index = SpanIndex::default();
    let mut stack: Vec<Frame> = Vec::new();
    let mut documents = 0usize;
    let mut parser = Parser::new_from_str(source);
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|error| YamlError {
            message: error.info().to_string(),
            position: Some(Position {
                line: error.marker().line(),
                column: error.marker().col() + 1,
            }),
        })?;
        let here = position_of(&span);
        match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(YamlError {
                        message: "a workflow file holds exactly one document; found a second `---`"
                            .into(),
                        position: Some(here),
                    });
                }
            }
            Event::Scalar(text, ..) => {
                if let Some(Frame::Mapping {
                    pending_key, keys, ..
                }) = stack.last_mut()
                    && pending_key.is_none()
                {
                    if let Some(first) = keys.insert(text.to_string(), here) {
                        return Err(YamlError {
                            message: format!(
                                "duplicate key `{text}` (first at line {})",
                                first.line
                            ),
                            position: Some(here),
                        });
                    }
                    *pending_key = Some((text.into_owned(), here));
                    continue;
                }
                record_node(&mut index, &mut stack, here);
            }
            Event::Alias(_) => {
                record_node(&mut index, &mut stack, here);
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if let Some(Frame::Mapping {
                    pending_key: None, ..
                }) = stack.last()
                {
                    // A collection used as a mapping key: unsupported, serde_norway reports it.
                    stack.push(Frame::Mapping {
                        path: FieldPath::root().key("?"),
                        pending_key: None,
                        keys: HashMap::new(),
                    });
                    continue;
                }
                let path = record_node(&mut index, &mut stack, here);
                stack.push(match event {
                    Event::MappingStart(..) => Frame::Mapping {
                        path,
                        pending_key: None,
                        keys: HashMap::new(),
                    },
                    _ => Frame::Sequence { path, next: 0 },
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
            }
            _ => {}
        }
    }
    Ok(index)
}

/// Records a node that starts at `here` under the innermost open collection and returns its path.
fn record_node(index: &mut SpanIndex, stack: &mut [Frame], here: Position) -> FieldPath {
    let (path, key) = match stack.last_mut() {
        None => (FieldPath::root(), None),
        Some(Frame::Sequence { path, next }) => {
            let item = path.index(*next);
            *next += 1;
            (item, None)
        }
        Some(Frame::Mapping {
            path, pending_key, ..
        }) => match pending_key.take() {
            Some((key, key_position)) => (path.key(key), Some(key_position)),
            None => (path.clone(), None),
        },
    };
    index
        .nodes
        .entry(path.to_json_pointer())
        .or_insert(NodeSpan { key, value: here });
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: usize, column: usize) -> Position {
        Position { line, column }
    }

    #[test]
    fn records_key_and_value_positions() {
        let source = "kind: campaign\nsteps:\n  - send: hello\n  - delay: 15m\n";
        let document = parse(source).expect("valid yaml");
        let send = FieldPath::root().key("steps").index(0).key("send");
        assert_eq!(
            document.spans.get(&send),
            Some(NodeSpan {
                key: Some(pos(3, 5)),
                value: pos(3, 11)
            })
        );
        let delay = FieldPath::root().key("steps").index(1);
        assert_eq!(document.spans.locate(&delay, false), pos(4, 5));
        assert_eq!(document.value["steps"][1]["delay"], "15m");
    }

    #[test]
    fn unknown_paths_fall_back_to_their_nearest_ancestor() {
        let document = parse("a:\n  b: 1\n").expect("valid yaml");
        let missing = FieldPath::root().key("a").key("c").key("d");
        assert_eq!(document.spans.locate(&missing, true), pos(1, 1));
        assert_eq!(document.spans.locate(&missing, false), pos(2, 3));
    }

    #[test]
    fn applies_merge_keys() {
        let source = "base: &base\n  x: 1\nthing:\n  <<: *base\n  y: 2\n";
        let document = parse(source).expect("valid yaml");
        assert_eq!(document.value["thing"]["x"], 1);
        assert_eq!(document.value["thing"]["y"], 2);
    }

    #[test]
    fn refuses_duplicate_keys_with_a_position() {
        let error = parse("id: a\nid: b\n").expect_err("duplicate key");
        assert!(error.message.contains("duplicate"), "{}", error.message);
        assert_eq!(error.position.map(|p| p.line), Some(2));
    }

    #[test]
    fn reports_syntax_errors_with_a_position() {
        let error = parse("steps:\n  - send: \"unterminated\n").expect_err("syntax error");
        assert!(error.position.is_some(), "{error:?}");
    }

    #[test]
    fn refuses_a_second_document() {
        let error = parse("id: a\n---\nid: b\n").expect_err("two documents");
        assert!(error.message.contains("one"), "{}", error.message);
    }
}
