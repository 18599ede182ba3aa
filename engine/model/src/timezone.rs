//! IANA timezones (chrono-tz) and where a recipient's timezone comes from.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diagnostic::did_you_mean;
use crate::window::string_serde;

/// Why a timezone name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown timezone {name:?}: expected an IANA name such as America/Toronto{}", suggestion.as_ref().map(|s| format!(" (did you mean {s}?)")).unwrap_or_default())]
pub struct TimezoneError {
    /// The name as written.
    pub name: String,
    /// The closest known name, when it looks like a typo.
    pub suggestion: Option<String>,
}

/// A validated IANA timezone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timezone(pub chrono_tz::Tz);

impl FromStr for Timezone {
    type Err = TimezoneError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        // Exact IANA spelling first; then forgive case (`america/toronto`), which CSVs often have.
        if let Ok(tz) = name.parse::<chrono_tz::Tz>() {
            return Ok(Self(tz));
        }
        if let Ok(tz) = chrono_tz::Tz::from_str_insensitive(name.trim()) {
            return Ok(Self(tz));
        }
        let suggestion = did_you_mean(name, chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()))
            .map(str::to_string);
        Err(TimezoneError {
            name: name.to_string(),
            suggestion,
        })
    }
}

impl fmt::Display for Timezone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }
}

string_serde!(
    Timezone,
    "Timezone",
    "timezone",
    "An IANA timezone name (the tz database), e.g. America/Toronto.",
    ["America/Toronto", "Europe/London", "Asia/Kathmandu"]
);

/// Which timezone a recipient's local time is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimezoneSpec {
    /// The recipient field holding the IANA timezone (the import maps `tz`, `time_zone` ... to
    /// `timezone`).
    #[serde(default = "default_timezone_field")]
    pub field: String,
    /// The timezone of recipients whose field is empty.
    pub default: Timezone,
}

fn default_timezone_field() -> String {
    "timezone".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_iana_names_and_forgives_case() {
        assert_eq!(
            "America/Toronto"
                .parse::<Timezone>()
                .map(|tz| tz.to_string()),
            Ok("America/Toronto".into())
        );
        assert_eq!(
            "america/toronto"
                .parse::<Timezone>()
                .map(|tz| tz.to_string()),
            Ok("America/Toronto".into())
        );
        assert!("Asia/Kathmandu".parse::<Timezone>().is_ok());
    }

    #[test]
    fn suggests_the_closest_name_for_a_typo() {
        let error = "America/Toronot".parse::<Timezone>().expect_err("typo");
        assert_eq!(error.suggestion.as_deref(), Some("America/Toronto"));
        assert!(
            "Mars/Olympus"
                .parse::<Timezone>()
                .expect_err("unknown")
                .suggestion
                .is_none()
        );
    }
}
