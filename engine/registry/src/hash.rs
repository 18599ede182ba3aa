//! A workflow file's content hash (64-bit FNV-1a, the same on every machine), shown, logged
//! and stored as 16 hex digits.

use std::fmt;

use serde::{Serialize, Serializer};

/// The FNV-1a hash of a file's bytes, shown as 16 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContentHash(pub u64);

impl ContentHash {
    /// Hashes `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(switchboard_model::hash::fnv1a_64(bytes))
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl Serialize for ContentHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_as_sixteen_hex_digits() {
        assert_eq!(ContentHash::of(b"a").to_string(), "af63dc4c8601ec8c");
    }
}
