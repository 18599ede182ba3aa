//! Recipient phone numbers: whatever a spreadsheet holds, normalised to E.164 with the
//! `phonenumber` crate and a default region per list, or rejected with the reason.
//!
//! Accepted shapes: local (`(416) 555-1234` with region CA), national with the country code
//! (`1-416-555-1234`, `14165551234`), international with `+`, `00` or the region's own
//! international prefix (`011 33 ...` from CA), and, when a number is not valid for the
//! default region, a leading country code without any prefix (`33142685300`).
//!
//! Facts about `phonenumber` 0.3 this module works around:
//! - it mis-parses international input when given a default region (`+33 1 42 68 53 00` with
//!   region CA strips CA's national prefix `1` and yields +3342685300), so international input
//!   is always parsed with no region;
//! - `parse` succeeds for numbers that cannot exist (`555-1234`), so validity is always checked
//!   (with `is_valid`'s rule, see `classify`);
//! - its metadata and regexes are built lazily, so [`warm_up`] pays that once, up front.

use std::fmt;
use std::str::FromStr;

use phonenumber::country::Id;
use phonenumber::metadata::DATABASE;
use phonenumber::{ParseError, PhoneNumber, Type};
use serde::Serialize;

use crate::classify::classify;

/// A region (ISO 3166 alpha-2, as `phonenumber` knows it) whose local formats are understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region(Id);

impl Region {
    /// The two-letter code, e.g. `CA`.
    pub fn code(self) -> &'static str {
        id_code(self.0)
    }

    fn id(self) -> Id {
        self.0
    }
}

fn id_code(id: Id) -> &'static str {
    // `Id: AsRef<str>` borrows from a `Copy` value; the variant names are 'static, so look
    // the code up in the metadata database, which lives for the whole program.
    DATABASE
        .by_id(id.as_ref())
        .map(|meta| meta.id())
        .unwrap_or("ZZ")
}

/// Why a default region was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown region {0:?}: expected a two-letter country code such as CA, US or FR")]
pub struct RegionError(pub String);

impl FromStr for Region {
    type Err = RegionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let upper = text.trim().to_ascii_uppercase();
        match upper.parse::<Id>() {
            Ok(id) if DATABASE.by_id(id.as_ref()).is_some() => Ok(Self(id)),
            _ => Err(RegionError(text.to_string())),
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What kind of line a number is, as far as its digits tell; filters use it (landlines
/// cannot receive SMS in most countries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberType {
    /// A mobile number.
    Mobile,
    /// A landline.
    FixedLine,
    /// Either; the digits cannot tell (all of North America).
    FixedLineOrMobile,
    /// Voice over IP.
    Voip,
    /// Freephone.
    TollFree,
    /// Premium rate.
    PremiumRate,
    /// Shared cost.
    SharedCost,
    /// A personal number routed to another line.
    PersonalNumber,
    /// A pager.
    Pager,
    /// A company's universal access number.
    Uan,
    /// Voicemail access.
    Voicemail,
    /// Any other kind.
    Unknown,
}

impl NumberType {
    /// The snake_case name used in filters and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            NumberType::Mobile => "mobile",
            NumberType::FixedLine => "fixed_line",
            NumberType::FixedLineOrMobile => "fixed_line_or_mobile",
            NumberType::Voip => "voip",
            NumberType::TollFree => "toll_free",
            NumberType::PremiumRate => "premium_rate",
            NumberType::SharedCost => "shared_cost",
            NumberType::PersonalNumber => "personal_number",
            NumberType::Pager => "pager",
            NumberType::Uan => "uan",
            NumberType::Voicemail => "voicemail",
            NumberType::Unknown => "unknown",
        }
    }

    /// Whether the number is known to be a landline (flagged at import).
    pub fn is_landline(self) -> bool {
        self == NumberType::FixedLine
    }
}

impl From<Type> for NumberType {
    fn from(kind: Type) -> Self {
        match kind {
            Type::Mobile => NumberType::Mobile,
            Type::FixedLine => NumberType::FixedLine,
            Type::FixedLineOrMobile => NumberType::FixedLineOrMobile,
            Type::Voip => NumberType::Voip,
            Type::TollFree => NumberType::TollFree,
            Type::PremiumRate => NumberType::PremiumRate,
            Type::SharedCost => NumberType::SharedCost,
            Type::PersonalNumber => NumberType::PersonalNumber,
            Type::Pager => NumberType::Pager,
            Type::Uan => NumberType::Uan,
            Type::Voicemail => NumberType::Voicemail,
            _ => NumberType::Unknown,
        }
    }
}

impl fmt::Display for NumberType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A valid number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NormalisedPhone {
    /// `+` and digits, e.g. `+14165551234`.
    pub e164: String,
    /// What kind of line it is.
    pub number_type: NumberType,
    /// The region the number belongs to (`CA`), `None` for non-geographic numbers.
    pub region: Option<&'static str>,
}

/// Why a phone value was rejected. Messages do not quote the value: the row-level
/// [`Rejection`](crate::row::Rejection) does, with the column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneRejection {
    /// The cell is empty.
    #[error("phone number is missing")]
    Missing,
    /// Letters or symbols that are not phone-number punctuation.
    #[error("not a phone number: only digits, spaces, + ( ) - . / are allowed")]
    NotANumber,
    /// Fewer digits than any number of its country.
    #[error("phone number is too short")]
    TooShort,
    /// More digits than any number of its country.
    #[error("phone number is too long")]
    TooLong,
    /// The country code does not exist.
    #[error("phone number has no valid country code")]
    InvalidCountryCode,
    /// The right length, but no such number exists in the region.
    #[error("phone number is not valid for region {region}")]
    InvalidForRegion {
        /// The region the number was read in (the default region, or the one of its country
        /// code).
        region: String,
    },
}

impl PhoneRejection {
    /// The stable reason code reported in error logs.
    pub fn code(&self) -> &'static str {
        match self {
            PhoneRejection::Missing => "phone_missing",
            PhoneRejection::NotANumber => "phone_not_a_number",
            PhoneRejection::TooShort => "phone_too_short",
            PhoneRejection::TooLong => "phone_too_long",
            PhoneRejection::InvalidCountryCode => "phone_invalid_country_code",
            PhoneRejection::InvalidForRegion { .. } => "phone_invalid_for_region",
        }
    }
}

/// Builds the `phonenumber` metadata and compiles the regexes of the most common regions, so
/// that the first rows of an import are not slower than the rest. Idempotent.
pub fn warm_up() {
    for example in [
        "+14165551234",
        "+12125551234",
        "+442071838750",
        "+447400123456",
        "+33142685300",
        "+33612345678",
        "+4930123456",
        "+61212345678",
        "+81312345678",
        "+525512345678",
    ] {
        let _ = normalise(example, Region(Id::CA));
    }
}

/// Normalises `raw` to E.164, reading local formats in `default_region`.
pub fn normalise(raw: &str, default_region: Region) -> Result<NormalisedPhone, PhoneRejection> {
    let dialled = Dialled::read(raw)?;
    if dialled.plus {
        return international(&dialled.digits);
    }
    if let Some(rest) = dialled.digits.strip_prefix("00") {
        return international(rest);
    }
    if let Some(rest) = strip_international_prefix(&dialled.digits, default_region) {
        return international(rest);
    }
    let local = parse(
        Some(default_region.id()),
        &dialled.digits,
        default_region.code(),
    );
    match local {
        Ok(phone) => Ok(phone),
        // A country code written without `+` or `00` (`33142685300` in a CA list).
        Err(reason) if dialled.digits.len() >= 11 && !dialled.digits.starts_with('0') => {
            international(&dialled.digits).map_err(|_| reason)
        }
        Err(reason) => Err(reason),
    }
}

/// The digits of a cell, and whether it started with `+`.
struct Dialled {
    plus: bool,
    digits: String,
}

impl Dialled {
    fn read(raw: &str) -> Result<Self, PhoneRejection> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(PhoneRejection::Missing);
        }
        let mut plus = false;
        let mut digits = String::with_capacity(text.len());
        for c in text.chars() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if digits.is_empty() && !plus => plus = true,
                ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' | '\t' => {}
                _ => return Err(PhoneRejection::NotANumber),
            }
        }
        if digits.is_empty() {
            return Err(PhoneRejection::NotANumber);
        }
        Ok(Self { plus, digits })
    }
}

/// The digits after the region's own international prefix (`011` in North America), if any.
fn strip_international_prefix(digits: &str, region: Region) -> Option<&str> {
    // Every international prefix starts with 0 except a few legacy ones; skip the regex for
    // the common case of a local number.
    if !digits.starts_with('0') {
        return None;
    }
    let meta = DATABASE.by_id(region.id().as_ref())?;
    let prefix = meta.international_prefix()?.find(digits)?;
    (prefix.start() == 0 && prefix.end() < digits.len()).then(|| &digits[prefix.end()..])
}

fn international(digits: &str) -> Result<NormalisedPhone, PhoneRejection> {
    let mut text = String::with_capacity(digits.len() + 1);
    text.push('+');
    text.push_str(digits);
    // No region: see the module doc.
    parse(None, &text, "")
}

fn parse(
    region: Option<Id>,
    text: &str,
    region_code: &str,
) -> Result<NormalisedPhone, PhoneRejection> {
    let number = phonenumber::parse(region, text).map_err(|error| match error {
        ParseError::NoNumber | ParseError::TooShortNsn | ParseError::TooShortAfterIdd => {
            PhoneRejection::TooShort
        }
        ParseError::TooLong | ParseError::MalformedInteger(_) => PhoneRejection::TooLong,
        ParseError::InvalidCountryCode => PhoneRejection::InvalidCountryCode,
    })?;
    // Validity is `phonenumber::is_valid`'s rule (a region found and a type other than
    // unknown), evaluated by `classify` on regexes compiled once: calling `is_valid` itself
    // thrashes `phonenumber`'s 100-entry regex cache on mixed-country files (North America
    // alone walks ~45 patterns), which recompiles regexes on almost every row. `classify`'s
    // tests check it agrees with `is_valid` on every region's example numbers and neighbours.
    let class = classify(&number);
    if class.number_type == NumberType::Unknown {
        return Err(invalid(&number, region_code));
    }
    Ok(NormalisedPhone {
        e164: format!("+{}{}", number.code().value(), number.national()),
        number_type: class.number_type,
        region: class.region,
    })
}

/// Why a parsed number is not valid: its length against its country's, else the region.
fn invalid(number: &PhoneNumber, region_code: &str) -> PhoneRejection {
    let code = number.code().value();
    let Some(meta) = DATABASE.by_code(&code).and_then(|m| m.into_iter().next()) else {
        return PhoneRejection::InvalidCountryCode;
    };
    let length = number.national().to_string().len() as u16;
    // The general descriptor's lengths are often empty in this metadata: gather them from
    // every kind of number.
    let descriptors = meta.descriptors();
    let kinds = crate::classify::NUMBER_KINDS;
    let all = std::iter::once(descriptors.general())
        .chain(kinds.into_iter().filter_map(|kind| descriptors.get(kind)));
    let (mut shortest, mut longest, mut local_only) = (u16::MAX, 0, false);
    for descriptor in all {
        for &possible in descriptor.possible_length() {
            shortest = shortest.min(possible);
            longest = longest.max(possible);
        }
        local_only |= descriptor.possible_local_length().contains(&length);
    }
    // A local-only length (555-1234 in North America) lacks its area code: too short.
    match length {
        _ if local_only || length < shortest => PhoneRejection::TooShort,
        _ if longest > 0 && length > longest => PhoneRejection::TooLong,
        _ => PhoneRejection::InvalidForRegion {
            region: if region_code.is_empty() {
                format!("+{code}")
            } else {
                region_code.to_string()
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca() -> Region {
        "CA".parse().expect("region")
    }

    fn e164(raw: &str, region: Region) -> Result<String, PhoneRejection> {
        normalise(raw, region).map(|phone| phone.e164)
    }

    #[test]
    fn local_and_national_formats_become_e164() {
        for raw in [
            "(416) 555-1234",
            "416-555-1234",
            "416.555.1234",
            "1-416-555-1234",
            "14165551234",
            "+1 416 555 1234",
            "011 1 416 555 1234",
            " 4165551234 ",
        ] {
            assert_eq!(e164(raw, ca()), Ok("+14165551234".into()), "{raw}");
        }
    }

    #[test]
    fn international_prefixes_are_read_without_the_default_region() {
        for raw in [
            "+33 1 42 68 53 00",
            "0033 1 42 68 53 00",
            "0033142685300",
            "011 33 1 42 68 53 00",
            "33142685300",
        ] {
            assert_eq!(e164(raw, ca()), Ok("+33142685300".into()), "{raw}");
        }
        let us: Region = "us".parse().expect("region");
        assert_eq!(e164("+44 20 7183 8750", us), Ok("+442071838750".into()));
        let gb: Region = "GB".parse().expect("region");
        assert_eq!(e164("020 7183 8750", gb), Ok("+442071838750".into()));
    }

    #[test]
    fn every_rejection_reason() {
        assert_eq!(e164("", ca()), Err(PhoneRejection::Missing));
        assert_eq!(e164("   ", ca()), Err(PhoneRejection::Missing));
        assert_eq!(e164("call me", ca()), Err(PhoneRejection::NotANumber));
        assert_eq!(e164("416-555-CALL", ca()), Err(PhoneRejection::NotANumber));
        assert_eq!(e164("+", ca()), Err(PhoneRejection::NotANumber));
        assert_eq!(e164("555-1234", ca()), Err(PhoneRejection::TooShort));
        assert_eq!(e164("12", ca()), Err(PhoneRejection::TooShort));
        assert_eq!(
            e164("+1 416 555 12345678", ca()),
            Err(PhoneRejection::TooLong)
        );
        assert_eq!(
            e164("+999 1234 5678", ca()),
            Err(PhoneRejection::InvalidCountryCode)
        );
        assert_eq!(
            e164("(200) 555-1234", ca()),
            Err(PhoneRejection::InvalidForRegion {
                region: "CA".into()
            })
        );
        assert_eq!(
            e164("+1 000 555 1234", ca()),
            Err(PhoneRejection::InvalidForRegion {
                region: "+1".into()
            })
        );
    }

    #[test]
    fn reason_codes_are_stable() {
        assert_eq!(PhoneRejection::Missing.code(), "phone_missing");
        assert_eq!(PhoneRejection::TooShort.code(), "phone_too_short");
        assert_eq!(
            PhoneRejection::InvalidForRegion {
                region: "CA".into()
            }
            .code(),
            "phone_invalid_for_region"
        );
    }

    #[test]
    fn number_type_and_region_are_kept() {
        let fixed = normalise("+33 1 42 68 53 00", ca()).expect("valid");
        assert_eq!(fixed.number_type, NumberType::FixedLine);
        assert!(fixed.number_type.is_landline());
        assert_eq!(fixed.region, Some("FR"));
        let mobile = normalise("+33 6 12 34 56 78", ca()).expect("valid");
        assert_eq!(mobile.number_type, NumberType::Mobile);
        let toronto = normalise("416 555 1234", ca()).expect("valid");
        assert_eq!(toronto.number_type, NumberType::FixedLineOrMobile);
        assert_eq!(toronto.region, Some("CA"));
        let new_york = normalise("212 555 1234", ca()).expect("valid");
        assert_eq!(new_york.region, Some("US"));
        let toll_free = normalise("1-800-555-1234", ca()).expect("valid");
        assert_eq!(toll_free.number_type, NumberType::TollFree);
    }

    #[test]
    fn regions_parse_case_insensitively_and_unknown_ones_are_refused() {
        assert_eq!("fr".parse::<Region>().map(Region::code), Ok("FR"));
        assert!("XX".parse::<Region>().is_err());
        assert!("Canada".parse::<Region>().is_err());
    }

    #[test]
    fn warm_up_is_idempotent() {
        warm_up();
        warm_up();
        assert!(normalise("+14165551234", ca()).is_ok());
    }
}
