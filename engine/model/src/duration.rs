//! Durations as operators write them: `90s`, `15m`, `2h`, `3d`, or combined (`1h30m`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a duration did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Nothing to parse.
    #[error("empty duration")]
    Empty,
    /// A number without its unit, or an unknown unit.
    #[error(
        "invalid duration {0:?}: expected a number followed by s, m, h or d (e.g. 90s, 15m, 2h, 3d, 1h30m)"
    )]
    Malformed(String),
    /// Zero length where a wait is meant.
    #[error("duration {0:?} is zero")]
    Zero(String),
    /// Longer than a campaign can sensibly wait.
    #[error("duration {0:?} is longer than the maximum of 365d")]
    TooLong(String),
}

/// A length of time, whole seconds, between one second and a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration {
    seconds: u64,
}

/// The longest duration accepted: a wait longer than a year is a typo.
const MAX_SECONDS: u64 = 365 * 86_400;

impl Duration {
    /// A duration of whole seconds.
    pub fn from_seconds(seconds: u64) -> Self {
        Self { seconds }
    }

    /// Whole seconds.
    pub fn as_seconds(&self) -> u64 {
        self.seconds
    }

    /// As a standard-library duration.
    pub fn to_std(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.seconds)
    }
}

impl FromStr for Duration {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.is_empty() {
            return Err(DurationError::Empty);
        }
        let malformed = || DurationError::Malformed(text.to_string());
        let mut total: u64 = 0;
        let mut digits = String::new();
        for c in compact.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let unit = match c {
                's' => 1,
                'm' => 60,
                'h' => 3_600,
                'd' => 86_400,
                _ => return Err(malformed()),
            };
            if digits.is_empty() {
                return Err(malformed());
            }
            let amount: u64 = digits
                .parse()
                .map_err(|_| DurationError::TooLong(text.to_string()))?;
            total = amount
                .checked_mul(unit)
                .and_then(|part| total.checked_add(part))
                .ok_or_else(|| DurationError::TooLong(text.to_string()))?;
            digits.clear();
        }
        if !digits.is_empty() {
            return Err(malformed());
        }
        if total == 0 {
            return Err(DurationError::Zero(text.to_string()));
        }
        if total > MAX_SECONDS {
            return Err(DurationError::TooLong(text.to_string()));
        }
        Ok(Self { seconds: total })
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.seconds;
        for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
            if rest >= size {
                write!(f, "{}{unit}", rest / size)?;
                rest %= size;
            }
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "duration",
            "description": "A length of time: a number followed by s, m, h or d, optionally combined (90s, 15m, 2h, 3d, 1h30m).",
            "examples": ["90s", "15m", "2h", "3d"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seconds(text: &str) -> u64 {
        text.parse::<Duration>()
            .expect("valid duration")
            .as_seconds()
    }

    #[test]
    fn parses_each_unit_and_combinations() {
        assert_eq!(seconds("90s"), 90);
        assert_eq!(seconds("15m"), 900);
        assert_eq!(seconds("2h"), 7_200);
        assert_eq!(seconds("3d"), 259_200);
        assert_eq!(seconds("1h30m"), 5_400);
        assert_eq!(seconds(" 1h 30m "), 5_400);
    }

    #[test]
    fn refuses_malformed_zero_and_huge() {
        assert!(matches!(
            "15x".parse::<Duration>(),
            Err(DurationError::Malformed(_))
        ));
        assert!(matches!(
            "15".parse::<Duration>(),
            Err(DurationError::Malformed(_))
        ));
        assert!(matches!(
            "m".parse::<Duration>(),
            Err(DurationError::Malformed(_))
        ));
        assert!(matches!(
            "-5m".parse::<Duration>(),
            Err(DurationError::Malformed(_))
        ));
        assert!(matches!("".parse::<Duration>(), Err(DurationError::Empty)));
        assert!(matches!(
            "0s".parse::<Duration>(),
            Err(DurationError::Zero(_))
        ));
        assert!(matches!(
            "400d".parse::<Duration>(),
            Err(DurationError::TooLong(_))
        ));
        assert!(matches!(
            "99999999999999999999d".parse::<Duration>(),
            Err(DurationError::TooLong(_))
        ));
    }

    #[test]
    fn displays_in_canonical_form() {
        assert_eq!(Duration::from_seconds(5_400).to_string(), "1h30m");
        assert_eq!(Duration::from_seconds(90).to_string(), "1m30s");
    }
}
