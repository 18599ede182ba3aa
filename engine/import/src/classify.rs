//! The region and type of a parsed number, computed with `phonenumber`'s own metadata and
//! rules (its `source_for` and `number_type`) but with regexes compiled once per country code.
//!
//! Why: `phonenumber` 0.3 keeps its regexes in an LRU cache keyed by pattern text, so every
//! match hashes the pattern (North America's are kilobytes long) with SipHash, and asking for
//! the metadata, the type and the region repeats the region search each time. Profiling the
//! import bench put a third of the time in that hashing. Validity is `is_valid`'s rule (a region
//! found and a type other than unknown) evaluated here; a test checks this module agrees with
//! `phonenumber::is_valid` on every region's example numbers and their neighbours.

use std::sync::OnceLock;

use phonenumber::metadata::{DATABASE, Descriptor, Metadata};
use phonenumber::{PhoneNumber, Type};
use regex::{Regex, RegexBuilder};

use crate::phone::NumberType;

/// Every kind of number the metadata describes (besides the general descriptor).
pub(crate) const NUMBER_KINDS: [Type; 10] = [
    Type::FixedLine,
    Type::Mobile,
    Type::TollFree,
    Type::PremiumRate,
    Type::SharedCost,
    Type::PersonalNumber,
    Type::Voip,
    Type::Pager,
    Type::Uan,
    Type::Voicemail,
];

/// Country calling codes are at most three digits.
const CODES: usize = 1000;

/// The compiled regions of each calling code, built on first use. Lock-free once built.
static REGIONS: [OnceLock<Vec<CompiledRegion>>; CODES] = [const { OnceLock::new() }; CODES];

/// Where a valid number belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Classification {
    /// ISO region, `None` for non-geographic numbers (`001` in the metadata).
    pub region: Option<&'static str>,
    /// Its type; `Unknown` means not valid.
    pub number_type: NumberType,
}

/// Classifies `number` as `phonenumber` would (`metadata()` then `number_type()`).
pub(crate) fn classify(number: &PhoneNumber) -> Classification {
    let code = number.code().value();
    let national = number.national().to_string();
    let regions = regions_of(code);
    // The region and its number type, each type computed once (the regex walk is the cost).
    let found = if regions.len() == 1 {
        regions
            .first()
            .map(|region| (region, region.number_type(&national)))
    } else {
        regions
            .iter()
            .find_map(|region| match &region.leading_digits {
                Some(leading) => leading
                    .is_match(&national)
                    .then(|| (region, region.number_type(&national))),
                None => {
                    let number_type = region.number_type(&national);
                    (number_type != Type::Unknown).then_some((region, number_type))
                }
            })
    };
    match found {
        Some((region, number_type)) => Classification {
            region: region.geographic_id,
            number_type: number_type.into(),
        },
        None => Classification {
            region: None,
            number_type: NumberType::Unknown,
        },
    }
}

fn regions_of(code: u16) -> &'static [CompiledRegion] {
    let Some(slot) = REGIONS.get(usize::from(code)) else {
        return &[];
    };
    slot.get_or_init(|| {
        let ids = DATABASE.region(&code).unwrap_or_default();
        if ids.len() == 1 && ids[0] == "001" {
            // Non-geographic: `phonenumber` takes the first metadata of the code.
            return DATABASE
                .by_code(&code)
                .and_then(|metas| metas.into_iter().next())
                .map(CompiledRegion::new)
                .into_iter()
                .collect();
        }
        ids.iter()
            .filter_map(|id| DATABASE.by_id(*id))
            .map(CompiledRegion::new)
            .collect()
    })
}

#[derive(Debug)]
struct CompiledRegion {
    geographic_id: Option<&'static str>,
    leading_digits: Option<Regex>,
    general: Option<CompiledDescriptor>,
    /// In `phonenumber`'s order of precedence.
    special: [(Type, Option<CompiledDescriptor>); 8],
    fixed_line: Option<CompiledDescriptor>,
    mobile: Option<CompiledDescriptor>,
    fixed_line_is_mobile: bool,
}

impl CompiledRegion {
    fn new(meta: &'static Metadata) -> Self {
        let descriptors = meta.descriptors();
        let compile = |kind: Type| descriptors.get(kind).and_then(CompiledDescriptor::new);
        let id = meta.id();
        Self {
            geographic_id: (id.len() == 2 && id.bytes().all(|b| b.is_ascii_uppercase()))
                .then_some(id),
            leading_digits: meta
                .leading_digits()
                .and_then(|pattern| anchored(pattern.as_str())),
            general: CompiledDescriptor::new(descriptors.general()),
            special: [
                Type::PremiumRate,
                Type::TollFree,
                Type::SharedCost,
                Type::Voip,
                Type::PersonalNumber,
                Type::Pager,
                Type::Uan,
                Type::Voicemail,
            ]
            .map(|kind| (kind, compile(kind))),
            fixed_line: compile(Type::FixedLine),
            mobile: compile(Type::Mobile),
            fixed_line_is_mobile: descriptors.get(Type::FixedLine).map(pattern_of)
                == descriptors.get(Type::Mobile).map(pattern_of),
        }
    }

    /// `phonenumber`'s `validator::number_type`, step for step.
    fn number_type(&self, national: &str) -> Type {
        let matches =
            |d: &Option<CompiledDescriptor>| d.as_ref().is_some_and(|d| d.is_match(national));
        if !matches(&self.general) {
            return Type::Unknown;
        }
        for (kind, descriptor) in &self.special {
            if matches(descriptor) {
                return *kind;
            }
        }
        if matches(&self.fixed_line) {
            if self.fixed_line_is_mobile || matches(&self.mobile) {
                return Type::FixedLineOrMobile;
            }
            return Type::FixedLine;
        }
        if matches(&self.mobile) {
            return Type::Mobile;
        }
        Type::Unknown
    }
}

fn pattern_of(descriptor: &Descriptor) -> &str {
    descriptor.national_number().as_str()
}

#[derive(Debug)]
struct CompiledDescriptor {
    possible_length: Vec<u16>,
    regex: Regex,
}

impl CompiledDescriptor {
    fn new(descriptor: &Descriptor) -> Option<Self> {
        Some(Self {
            possible_length: descriptor.possible_length().to_vec(),
            regex: anchored(pattern_of(descriptor))?,
        })
    }

    /// `Descriptor::is_match`: a possible length, and a match starting at the first digit
    /// (not necessarily to the last). Anchoring the regex is the same test, cheaper.
    fn is_match(&self, national: &str) -> bool {
        if !self.possible_length.is_empty()
            && !self.possible_length.contains(&(national.len() as u16))
        {
            return false;
        }
        self.regex.is_match(national)
    }
}

/// The metadata patterns are written in extended mode, as `phonenumber` compiles them.
fn anchored(pattern: &str) -> Option<Regex> {
    RegexBuilder::new(&format!("^(?:{pattern})"))
        .ignore_whitespace(true)
        .build()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Agrees with `phonenumber` on region, type and validity, for the example number of
    /// every kind of every region and for neighbours of them (last digits changed, one digit
    /// more, one less), which exercises the invalid side too.
    #[test]
    fn agrees_with_phonenumber_on_every_region_example() {
        let kinds = NUMBER_KINDS;
        let mut checked = 0;
        for code in 1..CODES as u16 {
            for meta in DATABASE.by_code(&code).unwrap_or_default() {
                for kind in kinds {
                    let Some(example) = meta.descriptors().get(kind).and_then(|d| d.example())
                    else {
                        continue;
                    };
                    let mut variants = vec![example.to_string(), format!("{example}7")];
                    if example.len() > 4 {
                        variants.push(example[..example.len() - 1].to_string());
                        variants.push(format!("{}99", &example[..example.len() - 2]));
                        variants.push(format!("{}00", &example[..example.len() - 2]));
                    }
                    for national in variants {
                        let Ok(number) = phonenumber::parse(None, format!("+{code}{national}"))
                        else {
                            continue;
                        };
                        let ours = classify(&number);
                        let valid = phonenumber::is_valid(&number);
                        assert_eq!(
                            ours.number_type != NumberType::Unknown,
                            valid,
                            "+{code}{national}"
                        );
                        // `phonenumber`'s `number_type()` drops the national number's
                        // leading zeros (Italy) where `is_valid` keeps them; we follow
                        // `is_valid`, so compare types only without leading zeros.
                        if number.national().zeros() > 0 {
                            continue;
                        }
                        assert_eq!(
                            ours.number_type,
                            NumberType::from(number.number_type(&DATABASE)),
                            "+{code}{national}"
                        );
                        if valid {
                            let theirs = number.metadata(&DATABASE).map(|m| m.id());
                            assert_eq!(
                                ours.region,
                                theirs.filter(|id| *id != "001"),
                                "+{code}{national}"
                            );
                        }
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 3000, "only {checked} numbers checked");
    }
}
