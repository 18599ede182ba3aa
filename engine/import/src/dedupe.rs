//! Duplicate numbers: the first occurrence wins, later ones are reported with the row (and
//! list) of the first.
//!
//! Numbers are keyed by their E.164 digits packed in a `u64` (at most 15 digits, never a
//! leading zero) rather than a `String` each.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hasher};

/// Where a number was first seen.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FirstSeen {
    /// The list it belongs to; `None` for the file being imported.
    pub list: Option<String>,
    /// Its row (line) number there.
    pub line: u64,
}

/// A number seen before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// Where it was first seen.
    pub first: FirstSeen,
}

/// Why a number could not be remembered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an E.164 number (+ and 1 to 15 digits)")]
pub struct NotE164(pub String);

/// Remembers numbers; pre-seed it with the numbers of other lists to find duplicates across
/// lists.
#[derive(Debug, Default)]
pub struct Deduper {
    /// Packed E.164 digits → (line, list index + 1; 0 for the file being imported).
    seen: HashMap<u64, (u64, u32), BuildHasherDefault<NumberHasher>>,
    /// List names, interned: a seed of a million numbers names a handful of lists.
    lists: Vec<String>,
}

impl Deduper {
    /// Remembers nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of distinct numbers remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Remembers `e164` as already on `list` at `line` (an existing entry is kept).
    pub fn seed(&mut self, e164: &str, list: &str, line: u64) -> Result<(), NotE164> {
        let key = pack(e164)?;
        let list = match self.lists.iter().position(|known| known == list) {
            Some(i) => i,
            None => {
                self.lists.push(list.to_string());
                self.lists.len() - 1
            }
        };
        let list = u32::try_from(list + 1).unwrap_or(u32::MAX);
        self.seen.entry(key).or_insert((line, list));
        Ok(())
    }

    /// Records `e164` at `line` of the file being imported, or returns where it was first
    /// seen (the number is then not recorded again: the first occurrence wins).
    pub fn check(&mut self, e164: &str, line: u64) -> Result<(), Duplicate> {
        let Ok(key) = pack(e164) else {
            // Not E.164: nothing to compare with. Callers only pass normalised numbers.
            return Ok(());
        };
        match self.seen.entry(key) {
            Entry::Vacant(entry) => {
                entry.insert((line, 0));
                Ok(())
            }
            Entry::Occupied(entry) => {
                let (first_line, list) = *entry.get();
                let list = (list as usize)
                    .checked_sub(1)
                    .and_then(|i| self.lists.get(i))
                    .cloned();
                Err(Duplicate {
                    first: FirstSeen {
                        list,
                        line: first_line,
                    },
                })
            }
        }
    }
}

/// Hashes a packed number with one multiply (Fibonacci hashing): SipHash's protection against
/// chosen keys is not worth its cost here, and phone numbers are not adversarial keys that
/// could degrade the table more than a file of that size costs anyway.
#[derive(Debug, Default)]
struct NumberHasher(u64);

impl Hasher for NumberHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, value: u64) {
        // The high bits pick hashbrown's control byte, the low bits the bucket: mix both.
        let mixed = (self.0 ^ value).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = mixed ^ (mixed >> 32);
    }
}

/// `+14165551234` → 14165551234. E.164 digits never start with 0, so the packing is
/// one-to-one.
fn pack(e164: &str) -> Result<u64, NotE164> {
    let digits = e164
        .strip_prefix('+')
        .filter(|d| (1..=15).contains(&d.len()) && !d.starts_with('0'))
        .ok_or_else(|| NotE164(e164.to_string()))?;
    digits.parse().map_err(|_| NotE164(e164.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_occurrence_wins_and_both_rows_are_reported() {
        let mut deduper = Deduper::new();
        assert_eq!(deduper.check("+14165551234", 2), Ok(()));
        assert_eq!(deduper.check("+33142685300", 3), Ok(()));
        assert_eq!(
            deduper.check("+14165551234", 7),
            Err(Duplicate {
                first: FirstSeen {
                    list: None,
                    line: 2
                },
            })
        );
        // Still the first row after a third occurrence.
        let third = deduper.check("+14165551234", 9).expect_err("duplicate");
        assert_eq!(third.first.line, 2);
        assert_eq!(deduper.len(), 2);
    }

    #[test]
    fn seeded_numbers_name_their_list() {
        let mut deduper = Deduper::new();
        deduper.seed("+14165551234", "vip", 12).expect("e164");
        deduper.seed("+14165550000", "newsletter", 4).expect("e164");
        deduper.seed("+14165551234", "newsletter", 1).expect("e164");
        let duplicate = deduper.check("+14165551234", 2).expect_err("duplicate");
        assert_eq!(
            duplicate.first,
            FirstSeen {
                list: Some("vip".into()),
                line: 12
            }
        );
        assert_eq!(deduper.check("+14165550001", 3), Ok(()));
    }

    #[test]
    fn only_e164_numbers_are_seeded() {
        let mut deduper = Deduper::new();
        assert!(deduper.seed("4165551234", "vip", 1).is_err());
        assert!(deduper.seed("+0123", "vip", 1).is_err());
        assert!(deduper.seed("+1234567890123456", "vip", 1).is_err());
        assert!(deduper.is_empty());
    }
}
