//! Phone numbers in E.164 form (`+14165550100`), checked with the `phonenumber` crate.
//!
//! Senders in a workflow must be written in E.164 already: a sender is configuration, not
//! data, and guessing its region would hide mistakes. (Recipient numbers are normalised from
//! local formats by the import, with a default region.)

use std::fmt;
use std::str::FromStr;

use crate::window::string_serde;

/// Why a number is not a valid E.164 number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Missing the leading `+` and country code.
    #[error(
        "phone number {0:?} is not in E.164 form: it must start with + and the country code (e.g. +14165550100)"
    )]
    NoPlus(String),
    /// Characters other than digits after the `+`.
    #[error(
        "phone number {0:?} is not in E.164 form: only digits may follow the + (write +14165550100, not +1 (416) 555-0100)"
    )]
    NotDigits(String),
    /// Parsed, but not a number that can exist.
    #[error("phone number {0:?} is not a valid number for its country")]
    Invalid(String),
}

/// A valid phone number in E.164 form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct E164(String);

impl E164 {
    /// The number, `+` and digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for E164 {
    type Err = PhoneError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let Some(digits) = text.strip_prefix('+') else {
            return Err(PhoneError::NoPlus(text.to_string()));
        };
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || digits.len() > 15 {
            return Err(PhoneError::NotDigits(text.to_string()));
        }
        // A `+` number is parsed with no region: a default region mis-parses some of them.
        let number =
            phonenumber::parse(None, text).map_err(|_| PhoneError::Invalid(text.to_string()))?;
        if !phonenumber::is_valid(&number) {
            return Err(PhoneError::Invalid(text.to_string()));
        }
        Ok(Self(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

string_serde!(
    E164,
    "E164",
    "e164",
    "A phone number in E.164 form: + then country code and number, digits only.",
    ["+14165550100", "+442071838750"]
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_e164_numbers() {
        assert_eq!(
            "+14165550100".parse::<E164>().map(|n| n.to_string()),
            Ok("+14165550100".into())
        );
        assert!("+33142685300".parse::<E164>().is_ok());
        assert!("+442071838750".parse::<E164>().is_ok());
    }

    #[test]
    fn refuses_local_formats_and_impossible_numbers() {
        assert!(matches!(
            "4165550100".parse::<E164>(),
            Err(PhoneError::NoPlus(_))
        ));
        assert!(matches!(
            "+1 (416) 555-0100".parse::<E164>(),
            Err(PhoneError::NotDigits(_))
        ));
        assert!(matches!(
            "+1555".parse::<E164>(),
            Err(PhoneError::Invalid(_))
        ));
        assert!(matches!(
            "+10005550100".parse::<E164>(),
            Err(PhoneError::Invalid(_))
        ));
    }
}
