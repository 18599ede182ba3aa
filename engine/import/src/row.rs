//! One row of an import, as an importer plugin produces it (`line` and `(column, value)`
//! pairs), turned into a [`Recipient`] or the list of reasons it was rejected.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use switchboard_model::timezone::{Timezone, TimezoneError};

use crate::dedupe::{Deduper, FirstSeen};
use crate::headers::{HeaderMapping, Role, Slot};
use crate::phone::{self, NumberType, PhoneRejection, Region};
use crate::timezone::{TimezoneCache, TimezonePolicy, TimezoneSource};

/// A recipient ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipient {
    /// The row it came from (1-based, as the importer numbered it).
    pub line: u64,
    /// E.164, e.g. `+14165551234`.
    pub phone: String,
    /// Mobile, fixed line ...; filters use it.
    pub number_type: NumberType,
    /// The number's region (`CA`), `None` for non-geographic numbers.
    pub region: Option<&'static str>,
    /// The IANA timezone, if the row, its region or the list gave one.
    pub timezone: Option<Timezone>,
    /// Where the timezone came from.
    pub timezone_source: Option<TimezoneSource>,
    /// First or full name.
    pub name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Every other column, by snake_case key; usable in templates and Rhai.
    pub fields: BTreeMap<String, String>,
}

impl Recipient {
    /// Whether the number is known to be a landline (flagged, not rejected).
    pub fn is_landline(&self) -> bool {
        self.number_type.is_landline()
    }
}

/// Why a row (or one of its cells) was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    /// The phone cell.
    #[error(transparent)]
    Phone(PhoneRejection),
    /// The timezone cell is not an IANA name.
    #[error(transparent)]
    Timezone(TimezoneError),
    /// The number is already in this file or in a known list.
    #[error("duplicate number: first seen {}", describe_first(.0))]
    Duplicate(FirstSeen),
    /// A column not in the header row (a JSON line's extra key) takes a known key.
    #[error("column maps to the recipient field {0:?}, which another column already fills")]
    FieldClash(String),
    /// The importer could not read the row at all.
    #[error("unreadable row: {0}")]
    Unreadable(String),
}

fn describe_first(first: &FirstSeen) -> String {
    match &first.list {
        None => format!("on row {}", first.line),
        Some(list) => format!("on list {list:?}, row {}", first.line),
    }
}

impl Reason {
    /// The stable reason code reported in error logs and summaries.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::Phone(rejection) => rejection.code(),
            Reason::Timezone(_) => "timezone_invalid",
            Reason::Duplicate(_) => "duplicate",
            Reason::FieldClash(_) => "field_clash",
            Reason::Unreadable(_) => "row_unreadable",
        }
    }
}

/// A rejected row, or one rejected cell of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The row (1-based, as the importer numbered it).
    pub line: u64,
    /// The column at fault, as written in the file; `None` for the whole row.
    pub column: Option<String>,
    /// The value at fault, as written.
    pub value: String,
    /// Why.
    pub reason: Reason,
}

impl Rejection {
    /// A row the importer plugin could not parse (its `row-error`).
    pub fn unreadable(line: u64, message: impl Into<String>) -> Self {
        Self {
            line,
            column: None,
            value: String::new(),
            reason: Reason::Unreadable(message.into()),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "row {}", self.line)?;
        if let Some(column) = &self.column {
            write!(f, ", column {column:?}")?;
        }
        if !self.value.is_empty() {
            write!(f, ", value {:?}", self.value)?;
        }
        write!(f, ": {} [{}]", self.reason, self.reason.code())
    }
}

/// Settings of the list being imported into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListSettings {
    /// Region for numbers written without a country code.
    pub default_region: Region,
    /// How missing timezones are filled in.
    pub timezone: TimezonePolicy,
}

/// Turns rows into recipients for one import. Holds the header mapping, the numbers seen so
/// far (for duplicates) and a bounded cache of timezone values; nothing else, so memory does
/// not grow with the rows' contents.
#[derive(Debug)]
pub struct RowNormaliser {
    mapping: HeaderMapping,
    settings: ListSettings,
    deduper: Deduper,
    timezones: TimezoneCache,
}

impl RowNormaliser {
    /// Normalises rows mapped by `mapping` into a list with `settings`; duplicates are looked
    /// for within the file only.
    pub fn new(mapping: HeaderMapping, settings: ListSettings) -> Self {
        Self::with_deduper(mapping, settings, Deduper::new())
    }

    /// As [`new`](Self::new), with a deduper already seeded with the numbers of other lists.
    pub fn with_deduper(mapping: HeaderMapping, settings: ListSettings, deduper: Deduper) -> Self {
        Self {
            mapping,
            settings,
            deduper,
            timezones: TimezoneCache::new(),
        }
    }

    /// The header mapping in use.
    pub fn mapping(&self) -> &HeaderMapping {
        &self.mapping
    }

    /// Normalises one row. All the faults of a row are reported together; a duplicate is
    /// only looked for in a row that is otherwise valid (so a rejected row never shadows a
    /// later good one).
    pub fn normalise(
        &mut self,
        line: u64,
        cells: Vec<(String, String)>,
    ) -> Result<Recipient, Vec<Rejection>> {
        let mut phone_cell: Option<(String, String)> = None;
        let mut timezone_cell: Option<(String, String)> = None;
        let mut name = None;
        let mut last_name = None;
        let mut company = None;
        let mut fields = BTreeMap::new();
        let mut rejections = Vec::new();

        for (position, (column, value)) in cells.into_iter().enumerate() {
            match self.mapping.slot(position, &column) {
                Some(Slot::Role(Role::Phone)) => phone_cell = Some((column, value)),
                Some(Slot::Role(Role::Timezone)) => timezone_cell = Some((column, value)),
                Some(Slot::Role(Role::Name)) => name = non_empty(value),
                Some(Slot::Role(Role::LastName)) => last_name = non_empty(value),
                Some(Slot::Role(Role::Company)) => company = non_empty(value),
                Some(Slot::Field(key)) => {
                    fields.insert(key.clone(), value);
                }
                None => match self.mapping.extra_field_key(&column) {
                    Ok(key) if !fields.contains_key(&key) => {
                        fields.insert(key, value);
                    }
                    Ok(key) | Err(key) => rejections.push(Rejection {
                        line,
                        reason: Reason::FieldClash(key),
                        column: Some(column),
                        value,
                    }),
                },
            }
        }

        let (phone_column, raw_phone) = phone_cell.unwrap_or_else(|| {
            let column = self.mapping.column_of(Role::Phone).unwrap_or("phone");
            (column.to_string(), String::new())
        });
        let phone = phone::normalise(&raw_phone, self.settings.default_region)
            .map_err(|rejection| {
                rejections.push(Rejection {
                    line,
                    column: Some(phone_column.clone()),
                    value: raw_phone.clone(),
                    reason: Reason::Phone(rejection),
                });
            })
            .ok();

        let region = phone.as_ref().and_then(|p| p.region);
        let timezone = match self.timezones.resolve(
            timezone_cell.as_ref().map(|(_, value)| value.as_str()),
            region,
            &self.settings.timezone,
        ) {
            Ok(timezone) => timezone,
            Err(error) => {
                let (column, value) = timezone_cell.unwrap_or_default();
                rejections.push(Rejection {
                    line,
                    column: Some(column),
                    value,
                    reason: Reason::Timezone(error),
                });
                None
            }
        };

        let Some(phone) = phone.filter(|_| rejections.is_empty()) else {
            return Err(rejections);
        };
        if let Err(duplicate) = self.deduper.check(&phone.e164, line) {
            return Err(vec![Rejection {
                line,
                column: Some(phone_column),
                value: raw_phone,
                reason: Reason::Duplicate(duplicate.first),
            }]);
        }
        Ok(Recipient {
            line,
            phone: phone.e164,
            number_type: phone.number_type,
            region: phone.region,
            timezone: timezone.map(|t| t.timezone),
            timezone_source: timezone.map(|t| t.source),
            name,
            last_name,
            company,
            fields,
        })
    }
}

fn non_empty(value: String) -> Option<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        None
    } else if trimmed.len() == value.len() {
        Some(value)
    } else {
        Some(trimmed.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::HeaderOverrides;

    fn normaliser(headers: &[&str], infer_from_region: bool) -> RowNormaliser {
        let mapping = HeaderMapping::new(headers, &HeaderOverrides::new()).expect("mapping");
        RowNormaliser::new(
            mapping,
            ListSettings {
                default_region: "CA".parse().expect("region"),
                timezone: TimezonePolicy {
                    list_default: Some("America/Toronto".parse().expect("tz")),
                    infer_from_region,
                },
            },
        )
    }

    fn row(headers: &[&str], values: &[&str]) -> Vec<(String, String)> {
        headers
            .iter()
            .zip(values)
            .map(|(h, v)| (h.to_string(), v.to_string()))
            .collect()
    }

    const HEADERS: [&str; 5] = ["Phone Number", "First Name", "Company", "TZ", "Plan Tier"];

    #[test]
    fn a_good_row_becomes_a_recipient() {
        let mut rows = normaliser(&HEADERS, false);
        let recipient = rows
            .normalise(
                2,
                row(&HEADERS, &["(416) 555-1234", " Ada ", "", "", "gold"]),
            )
            .expect("valid");
        assert_eq!(recipient.phone, "+14165551234");
        assert_eq!(recipient.name.as_deref(), Some("Ada"));
        assert_eq!(recipient.company, None);
        assert_eq!(
            recipient.timezone.map(|tz| tz.to_string()).as_deref(),
            Some("America/Toronto")
        );
        assert_eq!(recipient.timezone_source, Some(TimezoneSource::ListDefault));
        assert_eq!(
            recipient.fields.get("plan_tier").map(String::as_str),
            Some("gold")
        );
        assert!(!recipient.is_landline());
    }

    #[test]
    fn landlines_are_flagged_and_the_region_zone_inferred() {
        let mut rows = normaliser(&HEADERS, true);
        let recipient = rows
            .normalise(2, row(&HEADERS, &["+33 1 42 68 53 00", "", "", "", ""]))
            .expect("valid");
        assert!(recipient.is_landline());
        assert_eq!(recipient.region, Some("FR"));
        assert_eq!(
            recipient.timezone.map(|tz| tz.to_string()).as_deref(),
            Some("Europe/Paris")
        );
        assert_eq!(recipient.timezone_source, Some(TimezoneSource::Region));
    }

    #[test]
    fn every_fault_of_a_row_is_reported_with_column_and_value() {
        let mut rows = normaliser(&HEADERS, false);
        let rejections = rows
            .normalise(5, row(&HEADERS, &["555-CALL", "Bo", "", "Mars/Base", ""]))
            .expect_err("invalid");
        let codes: Vec<_> = rejections.iter().map(|r| r.reason.code()).collect();
        assert_eq!(codes, ["phone_not_a_number", "timezone_invalid"]);
        assert_eq!(
            rejections[1].to_string(),
            "row 5, column \"TZ\", value \"Mars/Base\": unknown timezone \"Mars/Base\": \
             expected an IANA name such as America/Toronto [timezone_invalid]"
        );
        assert_eq!(rejections[0].column.as_deref(), Some("Phone Number"));
    }

    #[test]
    fn a_missing_phone_cell_is_rejected_as_missing() {
        let mut rows = normaliser(&HEADERS, false);
        let rejections = rows
            .normalise(3, vec![("First Name".into(), "Ada".into())])
            .expect_err("missing");
        assert_eq!(rejections[0].reason, Reason::Phone(PhoneRejection::Missing));
        assert_eq!(rejections[0].column.as_deref(), Some("Phone Number"));
    }

    #[test]
    fn duplicates_name_both_rows_and_the_first_wins() {
        let mut rows = normaliser(&HEADERS, false);
        assert!(rows.normalise(2, row(&HEADERS, &["4165551234"])).is_ok());
        // A rejected row with the same number does not count as an occurrence.
        assert!(
            rows.normalise(3, row(&HEADERS, &["4165551234", "", "", "Nowhere/Land"]))
                .is_err()
        );
        let rejections = rows
            .normalise(4, row(&HEADERS, &["+1 (416) 555-1234"]))
            .expect_err("duplicate");
        assert_eq!(
            rejections[0].to_string(),
            "row 4, column \"Phone Number\", value \"+1 (416) 555-1234\": duplicate number: \
             first seen on row 2 [duplicate]"
        );
    }

    #[test]
    fn duplicates_across_lists_use_a_seeded_deduper() {
        let mapping = HeaderMapping::new(&["phone"], &HeaderOverrides::new()).expect("mapping");
        let mut deduper = Deduper::new();
        deduper.seed("+14165551234", "vip", 9).expect("e164");
        let mut rows = RowNormaliser::with_deduper(
            mapping,
            ListSettings {
                default_region: "CA".parse().expect("region"),
                timezone: TimezonePolicy::default(),
            },
            deduper,
        );
        let rejections = rows
            .normalise(2, row(&["phone"], &["416 555 1234"]))
            .expect_err("duplicate");
        assert_eq!(
            rejections[0].reason.to_string(),
            "duplicate number: first seen on list \"vip\", row 9"
        );
    }

    #[test]
    fn json_lines_with_other_key_orders_and_extra_keys() {
        let mut rows = normaliser(&["phone", "city"], false);
        let recipient = rows
            .normalise(
                1,
                vec![
                    ("Postal Code".into(), "M5V".into()),
                    ("city".into(), "Toronto".into()),
                    ("phone".into(), "4165551234".into()),
                ],
            )
            .expect("valid");
        assert_eq!(recipient.fields.len(), 2);
        assert_eq!(recipient.fields["postal_code"], "M5V");
        let rejections = rows
            .normalise(
                2,
                vec![
                    ("phone".into(), "4165550000".into()),
                    ("City".into(), "x".into()),
                ],
            )
            .expect_err("clash");
        assert_eq!(rejections[0].reason.code(), "field_clash");
    }
}
