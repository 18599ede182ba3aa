//! Where things are in the config text: every key and value of the parsed document with its
//! byte span, so an error can be placed at a line and column (from a span, or from a key
//! path) and named by its key path (from a span).

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use crate::error::Position;

/// One key or array element of the document.
#[derive(Debug)]
struct Node {
    /// `providers.mock.rate-limit.per-second`, `api.tokens[1]`.
    path: String,
    /// The key as written; array elements have none.
    key: Option<Range<usize>>,
    /// The value; for a table opened by a `[header]`, the header.
    value: Range<usize>,
}

/// The spans of one document.
#[derive(Debug)]
pub(crate) struct SourceMap<'a> {
    text: &'a str,
    nodes: Vec<Node>,
}

impl<'a> SourceMap<'a> {
    /// Indexes a parsed document.
    pub(crate) fn new(text: &'a str, root: &DeTable<'_>) -> Self {
        let mut nodes = Vec::new();
        index_table(root, "", &mut nodes);
        Self { text, nodes }
    }

    /// A map with no nodes (for a document that did not parse).
    pub(crate) fn empty(text: &'a str) -> Self {
        Self {
            text,
            nodes: Vec::new(),
        }
    }

    /// The key path of the innermost key or value containing byte `offset`.
    pub(crate) fn path_at(&self, offset: usize) -> String {
        self.nodes
            .iter()
            .flat_map(|node| {
                [node.key.clone(), Some(node.value.clone())]
                    .into_iter()
                    .flatten()
                    .filter(|span| span.contains(&offset) || span.start == offset)
                    .map(move |span| (span.len(), node))
            })
            .min_by_key(|(len, node)| (*len, usize::MAX - node.path.len()))
            .map(|(_, node)| node.path.clone())
            .unwrap_or_default()
    }

    /// Where the value of `path` is written, or the nearest written ancestor's; none when
    /// nothing on the path is written.
    pub(crate) fn locate(&self, path: &str) -> Option<Position> {
        let mut path = path;
        loop {
            if let Some(node) = self.nodes.iter().find(|node| node.path == path) {
                return Some(self.position(node.value.start));
            }
            path = parent(path)?;
        }
    }

    /// Where the key of `path` is written (its value's place for an array element).
    pub(crate) fn locate_key(&self, path: &str) -> Option<Position> {
        let node = self.nodes.iter().find(|node| node.path == path)?;
        Some(self.position(node.key.as_ref().unwrap_or(&node.value).start))
    }

    /// The line and column of byte `offset`.
    pub(crate) fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line_start = before.rfind('\n').map_or(0, |at| at + 1);
        Position {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

/// `a.b[2]` → `a.b`, `a.b` → `a`, `a` → ``; none for the root.
fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    // Quoted keys may hold dots and brackets: find the last separator outside quotes.
    let mut quoted = false;
    let mut cut = 0;
    for (at, c) in path.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '.' | '[' if !quoted => cut = at,
            _ => {}
        }
    }
    Some(&path[..cut])
}

/// A key as it appears in a path: bare when TOML allows it, quoted otherwise.
pub(crate) fn key_segment(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

/// `prefix.key`, or `key` at the root.
pub(crate) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key_segment(key)
    } else {
        format!("{prefix}.{}", key_segment(key))
    }
}

fn index_table(table: &DeTable<'_>, prefix: &str, nodes: &mut Vec<Node>) {
    for (key, value) in table.iter() {
        let path = join(prefix, key.get_ref());
        nodes.push(Node {
            path: path.clone(),
            key: Some(key.span()),
            value: value.span(),
        });
        index_value(value.get_ref(), &path, nodes);
    }
}

fn index_value(value: &DeValue<'_>, path: &str, nodes: &mut Vec<Node>) {
    match value {
        DeValue::Table(table) => index_table(table, path, nodes),
        DeValue::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let path = format!("{path}[{index}]");
                nodes.push(Node {
                    path: path.clone(),
                    key: None,
                    value: item.span(),
                });
                index_value(item.get_ref(), &path, nodes);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const TEXT: &str = "listen = \"x\"\n\n[providers.\"my.mock\"]\nplugin = 'mock'\n[providers.\"my.mock\".rate-limit]\nper-second = 0\n[api]\ntokens = ['a', 'é', 'b']\n";

    #[test]
    fn finds_paths_and_positions() {
        let root = DeTable::parse(TEXT).unwrap();
        let map = SourceMap::new(TEXT, root.get_ref());
        let offset = TEXT.find("0\n").unwrap();
        assert_eq!(
            map.path_at(offset),
            "providers.\"my.mock\".rate-limit.per-second"
        );
        assert_eq!(
            map.locate("providers.\"my.mock\".rate-limit.per-second"),
            Some(Position {
                line: 6,
                column: 14
            })
        );
        // A key that is not written: its nearest written ancestor.
        assert_eq!(
            map.locate("providers.\"my.mock\".rate-limit.per-day"),
            Some(Position { line: 5, column: 1 })
        );
        assert_eq!(map.locate("data-dir"), None);
        assert_eq!(
            map.locate_key("providers.\"my.mock\".plugin"),
            Some(Position { line: 4, column: 1 })
        );
        // Columns count characters, not bytes.
        assert_eq!(
            map.locate("api.tokens[2]"),
            Some(Position {
                line: 8,
                column: 21
            })
        );
        assert_eq!(map.path_at(TEXT.find("'b'").unwrap()), "api.tokens[2]");
        assert_eq!(map.path_at(TEXT.find("[api]").unwrap()), "api");
    }
}
