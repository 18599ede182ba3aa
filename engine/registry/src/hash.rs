//! A content hash that is the same on every machine and every Rust release (64-bit FNV-1a),
//! so it can be shown, logged and stored: `std`'s `DefaultHasher` promises neither.

use std::fmt;

use serde::{Serialize, Serializer};

/// The FNV-1a hash of a file's bytes, shown as 16 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContentHash(pub u64);

impl ContentHash {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    /// Hashes `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(bytes.iter().fold(Self::OFFSET_BASIS, |hash, byte| {
            (hash ^ u64::from(*byte)).wrapping_mul(Self::PRIME)
        }))
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
    fn matches_the_published_fnv1a_vectors() {
        // Test vectors from the FNV reference (draft-eastlake-fnv).
        assert_eq!(ContentHash::of(b"").0, 0xcbf2_9ce4_8422_2325);
        assert_eq!(ContentHash::of(b"a").0, 0xaf63_dc4c_8601_ec8c);
        assert_eq!(ContentHash::of(b"foobar").0, 0x8594_4171_f739_67e8);
        assert_eq!(ContentHash::of(b"a").to_string(), "af63dc4c8601ec8c");
    }
}
