//! Field paths inside a workflow document (`steps[2].send.text`).
//!
//! Validation reports every problem at a path; the same path, as a JSON Pointer, finds the
//! node's line and column in the [`crate::yaml::SpanIndex`].

use std::fmt;

/// One step of a [`FieldPath`]: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathSegment {
    /// A key of a mapping.
    Key(String),
    /// A position in a sequence (0-based).
    Index(usize),
}

/// Where a value sits in a workflow document, from the root.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FieldPath(Vec<PathSegment>);

impl FieldPath {
    /// The document root.
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// This path extended by a mapping key.
    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut next = self.clone();
        next.0.push(PathSegment::Key(key.into()));
        next
    }

    /// This path extended by a sequence index.
    pub fn index(&self, index: usize) -> Self {
        let mut next = self.clone();
        next.0.push(PathSegment::Index(index));
        next
    }

    /// A path from its segments.
    pub fn from_segments(segments: Vec<PathSegment>) -> Self {
        Self(segments)
    }

    /// The segments from the root.
    pub fn segments(&self) -> &[PathSegment] {
        &self.0
    }

    /// The path without its last segment (the root stays the root).
    pub fn parent(&self) -> Self {
        let mut parent = self.clone();
        parent.0.pop();
        parent
    }

    /// Parses a JSON Pointer (RFC 6901) such as `/steps/2/send`. Segments made only of digits
    /// become indices: workflow mappings never use numeric keys where a sequence could be.
    pub fn from_json_pointer(pointer: &str) -> Self {
        let segments = pointer
            .split('/')
            .skip(1)
            .map(|raw| {
                let unescaped = raw.replace("~1", "/").replace("~0", "~");
                match unescaped.parse::<usize>() {
                    Ok(index) if !unescaped.is_empty() && !unescaped.starts_with('+') => {
                        PathSegment::Index(index)
                    }
                    _ => PathSegment::Key(unescaped),
                }
            })
            .collect();
        Self(segments)
    }

    /// The JSON Pointer (RFC 6901) of this path, used as the span index key.
    pub fn to_json_pointer(&self) -> String {
        let mut pointer = String::new();
        for segment in &self.0 {
            pointer.push('/');
            match segment {
                PathSegment::Key(key) => {
                    pointer.push_str(&key.replace('~', "~0").replace('/', "~1"))
                }
                PathSegment::Index(index) => pointer.push_str(&index.to_string()),
            }
        }
        pointer
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for segment in &self.0 {
            match segment {
                PathSegment::Key(key) => {
                    if !first {
                        f.write_str(".")?;
                    }
                    f.write_str(key)?;
                }
                PathSegment::Index(index) => write!(f, "[{index}]")?,
            }
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_keys_and_indices_like_an_operator_reads_them() {
        let path = FieldPath::root()
            .key("steps")
            .index(2)
            .key("send")
            .key("text");
        assert_eq!(path.to_string(), "steps[2].send.text");
        assert_eq!(path.to_json_pointer(), "/steps/2/send/text");
    }

    #[test]
    fn round_trips_json_pointers_with_escapes() {
        let path = FieldPath::root().key("a/b").key("c~d").index(0);
        let pointer = path.to_json_pointer();
        assert_eq!(pointer, "/a~1b/c~0d/0");
        assert_eq!(FieldPath::from_json_pointer(&pointer), path);
        assert_eq!(FieldPath::from_json_pointer(""), FieldPath::root());
    }
}
