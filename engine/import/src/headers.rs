//! Which column is the phone, the name, the timezone ...: the header row of an import mapped to
//! recipient roles and field keys.
//!
//! Spellings are compared after dropping case, spaces, underscores and dashes (`Phone Number`,
//! `phone_number` and `PHONE-NUMBER` are one spelling). Explicit overrides from the import
//! options (`phone=Mobile`) win over recognition. Every other column is kept as a recipient
//! field under a stable snake_case key (`First Name` → `first_name`, `zipCode` → `zip_code`).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

/// A column with a meaning for the engine, rather than a free field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// The recipient's phone number (required).
    Phone,
    /// First or full name.
    Name,
    /// Last name.
    LastName,
    /// Company or organisation.
    Company,
    /// IANA timezone.
    Timezone,
}

impl Role {
    /// Every role, in the order columns are assigned.
    pub const ALL: [Role; 5] = [
        Role::Phone,
        Role::Name,
        Role::LastName,
        Role::Company,
        Role::Timezone,
    ];

    /// The recipient key this role is known by in templates and the import options.
    pub fn key(self) -> &'static str {
        match self {
            Role::Phone => "phone",
            Role::Name => "name",
            Role::LastName => "last_name",
            Role::Company => "company",
            Role::Timezone => "timezone",
        }
    }

    /// Recognised spellings, compacted (lowercase, no space, `_` or `-`).
    fn spellings(self) -> &'static [&'static str] {
        match self {
            Role::Phone => &[
                "phone",
                "phonenumber",
                "phoneno",
                "number",
                "mobile",
                "mobilenumber",
                "mobilephone",
                "mobileno",
                "cell",
                "cellphone",
                "cellnumber",
                "cellular",
                "msisdn",
                "telephone",
                "telephonenumber",
                "tel",
                "sms",
                "smsnumber",
            ],
            Role::Name => &[
                "name",
                "firstname",
                "first",
                "fullname",
                "givenname",
                "forename",
                "contactname",
            ],
            Role::LastName => &["lastname", "last", "surname", "familyname"],
            Role::Company => &[
                "company",
                "companyname",
                "organization",
                "organisation",
                "org",
                "business",
                "businessname",
                "employer",
            ],
            Role::Timezone => &["timezone", "tz", "tzname", "ianatimezone"],
        }
    }

    fn recognises(self, header: &str) -> bool {
        let compact = compact(header);
        self.spellings().contains(&compact.as_str())
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl FromStr for Role {
    type Err = HeaderError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let compact = compact(text);
        Role::ALL
            .into_iter()
            .find(|role| compact == compact_key(role.key()))
            .ok_or_else(|| HeaderError::UnknownRole(text.to_string()))
    }
}

/// Why a header row cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// No column is the phone number.
    #[error(
        "no phone column: expected a column such as phone, phone_number, mobile or msisdn (or phone=COLUMN in the import options); headers found: {}",
        list(found)
    )]
    NoPhoneColumn {
        /// The headers of the file, as written.
        found: Vec<String>,
    },
    /// An override names a column the file does not have.
    #[error(
        "import option {role}={column:?}: no such column; headers found: {}",
        list(found)
    )]
    OverrideColumnMissing {
        /// The role being overridden.
        role: Role,
        /// The column named in the option.
        column: String,
        /// The headers of the file, as written.
        found: Vec<String>,
    },
    /// An override's left side is not a role.
    #[error("unknown column role {0:?}: expected phone, name, last_name, company or timezone")]
    UnknownRole(String),
    /// An override is not written `role=column`.
    #[error("import option {0:?} is not of the form role=column (e.g. phone=Mobile)")]
    MalformedOverride(String),
    /// Two columns would be stored under the same recipient key.
    #[error(
        "columns {first:?} and {second:?} both map to the recipient field {key:?}: rename one of them"
    )]
    KeyClash {
        /// The snake_case key both map to.
        key: String,
        /// The earlier column.
        first: String,
        /// The later column.
        second: String,
    },
}

fn list(headers: &[String]) -> String {
    if headers.is_empty() {
        return "(none)".to_string();
    }
    headers
        .iter()
        .map(|h| format!("{h:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Explicit `role → column` choices from the import options; they win over recognition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderOverrides {
    columns: BTreeMap<Role, String>,
}

impl HeaderOverrides {
    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses `column` for `role`.
    pub fn with(mut self, role: Role, column: impl Into<String>) -> Self {
        self.columns.insert(role, column.into());
        self
    }

    /// Parses `role=column` options (`phone=Mobile`, `timezone=Zone`).
    pub fn parse<'a>(options: impl IntoIterator<Item = &'a str>) -> Result<Self, HeaderError> {
        let mut overrides = Self::new();
        for option in options {
            let Some((role, column)) = option.split_once('=') else {
                return Err(HeaderError::MalformedOverride(option.to_string()));
            };
            let column = column.trim();
            if column.is_empty() {
                return Err(HeaderError::MalformedOverride(option.to_string()));
            }
            overrides = overrides.with(role.parse()?, column);
        }
        Ok(overrides)
    }
}

/// What one column of the file becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// A role column (phone, name ...).
    Role(Role),
    /// A free recipient field under this snake_case key.
    Field(String),
}

/// The header row of an import, resolved: each column's [`Slot`].
#[derive(Debug, Clone)]
pub struct HeaderMapping {
    /// Headers as written, in file order; `slots[i]` is what `headers[i]` becomes.
    headers: Vec<String>,
    slots: Vec<Slot>,
    /// Header → index, for rows whose columns are not in header order (JSON lines).
    index: HashMap<String, usize>,
}

impl HeaderMapping {
    /// Maps `headers` (in file order), applying `overrides` first. The first column that
    /// matches a role takes it; a later one is kept as a field.
    pub fn new<S: AsRef<str>>(
        headers: &[S],
        overrides: &HeaderOverrides,
    ) -> Result<Self, HeaderError> {
        let headers: Vec<String> = headers.iter().map(|h| h.as_ref().to_string()).collect();
        let mut roles: Vec<Option<Role>> = vec![None; headers.len()];

        for (role, column) in &overrides.columns {
            let position = headers
                .iter()
                .position(|h| h == column)
                .or_else(|| {
                    let wanted = compact(column);
                    headers.iter().position(|h| compact(h) == wanted)
                })
                .ok_or_else(|| HeaderError::OverrideColumnMissing {
                    role: *role,
                    column: column.clone(),
                    found: headers.clone(),
                })?;
            roles[position] = Some(*role);
        }
        for role in Role::ALL {
            if overrides.columns.contains_key(&role) {
                continue;
            }
            if let Some(position) =
                (0..headers.len()).find(|&i| roles[i].is_none() && role.recognises(&headers[i]))
            {
                roles[position] = Some(role);
            }
        }
        if !roles.contains(&Some(Role::Phone)) {
            return Err(HeaderError::NoPhoneColumn { found: headers });
        }

        // Role keys are reserved so that `{phone}` in a template is never ambiguous.
        let mut owners: HashMap<String, usize> = HashMap::new();
        for (i, role) in roles.iter().enumerate() {
            if let Some(role) = role {
                owners.insert(role.key().to_string(), i);
            }
        }
        let mut slots = Vec::with_capacity(headers.len());
        for (i, role) in roles.iter().enumerate() {
            let slot = match role {
                Some(role) => Slot::Role(*role),
                None => {
                    let key = field_key(&headers[i], i);
                    if let Some(&first) = owners.get(&key) {
                        let (first, second) = (first.min(i), first.max(i));
                        return Err(HeaderError::KeyClash {
                            key,
                            first: headers[first].clone(),
                            second: headers[second].clone(),
                        });
                    }
                    owners.insert(key.clone(), i);
                    Slot::Field(key)
                }
            };
            slots.push(slot);
        }
        let mut index = HashMap::with_capacity(headers.len());
        for (i, header) in headers.iter().enumerate() {
            index.entry(header.clone()).or_insert(i);
        }
        Ok(Self {
            headers,
            slots,
            index,
        })
    }

    /// The headers, as written.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The column holding `role`, if any.
    pub fn column_of(&self, role: Role) -> Option<&str> {
        self.slots
            .iter()
            .position(|slot| *slot == Slot::Role(role))
            .map(|i| self.headers[i].as_str())
    }

    /// What the cell at `position` of a row, under `column`, becomes. Fast path: a row in
    /// header order; otherwise (JSON lines) the column is looked up by name. `None` for a
    /// column the header row does not have.
    pub fn slot(&self, position: usize, column: &str) -> Option<&Slot> {
        if self.headers.get(position).is_some_and(|h| h == column) {
            return self.slots.get(position);
        }
        self.index.get(column).and_then(|&i| self.slots.get(i))
    }

    /// The field key a column not in the header row gets; `Err(key)` when that key is already
    /// taken by a column of the header row.
    pub fn extra_field_key(&self, column: &str) -> Result<String, String> {
        let key = field_key(column, self.headers.len());
        let taken = self.slots.iter().any(|slot| match slot {
            Slot::Role(role) => role.key() == key,
            Slot::Field(field) => *field == key,
        });
        if taken { Err(key) } else { Ok(key) }
    }
}

/// Lowercase without spaces, underscores or dashes: the form spellings are compared in.
fn compact(header: &str) -> String {
    header
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '\u{a0}' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

fn compact_key(key: &str) -> String {
    key.replace('_', "")
}

/// The stable snake_case key of a free column: `First Name` → `first_name`, `zipCode` →
/// `zip_code`, `E-mail` → `e_mail`. A header with no letter or digit becomes `column_N`
/// (1-based position).
pub fn field_key(header: &str, position: usize) -> String {
    let mut key = String::with_capacity(header.len());
    let mut previous: Option<char> = None;
    for c in header.trim().chars() {
        if c.is_alphanumeric() {
            let boundary = c.is_uppercase() && previous.is_some_and(|p| p.is_lowercase());
            if boundary && !key.is_empty() {
                key.push('_');
            }
            key.extend(c.to_lowercase());
        } else if !key.is_empty() && !key.ends_with('_') {
            key.push('_');
        }
        previous = Some(c);
    }
    while key.ends_with('_') {
        key.pop();
    }
    if key.is_empty() {
        format!("column_{}", position + 1)
    } else {
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The column of a two-column file `[other, header]` that takes `role`; `other` is the
    /// phone for every other role, since a file without one does not map.
    fn role_of(header: &str, role: Role) -> Option<String> {
        let other = if role == Role::Phone { "x" } else { "phone" };
        HeaderMapping::new(&[other, header], &HeaderOverrides::new())
            .ok()?
            .column_of(role)
            .map(str::to_string)
    }

    /// A compact spelling as people write it: cased, spaced, underscored, dashed, padded.
    fn variants(spelling: &str) -> Vec<String> {
        let capitalised = |word: &str| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        };
        let mut variants = vec![
            spelling.to_string(),
            spelling.to_uppercase(),
            capitalised(spelling),
            format!(" {spelling} "),
            format!("{spelling}."),
        ];
        // Every spelling is ASCII: any byte is a char boundary.
        if spelling.len() > 1 {
            let (head, tail) = spelling.split_at(spelling.len() / 2);
            for separator in [" ", "_", "-", "\u{a0}"] {
                variants.push(format!("{head}{separator}{tail}"));
                variants.push(format!(
                    "{}{separator}{}",
                    capitalised(head),
                    capitalised(tail)
                ));
                variants.push(format!("{head}{separator}{tail}").to_uppercase());
            }
        }
        variants
    }

    #[test]
    fn every_listed_spelling_of_every_role_is_recognised_whatever_its_case_and_spacing() {
        for role in Role::ALL {
            assert!(!role.spellings().is_empty(), "{role}");
            for spelling in role.spellings() {
                assert!(spelling.is_ascii(), "{role}: {spelling}");
                assert_eq!(compact(spelling), *spelling, "{role}: not compact");
                for header in variants(spelling) {
                    assert_eq!(
                        role_of(&header, role).as_deref(),
                        Some(header.as_str()),
                        "{role}: {header:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn no_spelling_belongs_to_two_roles() {
        for role in Role::ALL {
            for other in Role::ALL.into_iter().filter(|other| *other != role) {
                for spelling in role.spellings() {
                    assert!(
                        !other.spellings().contains(spelling),
                        "{spelling} is both {role} and {other}"
                    );
                }
            }
        }
    }

    #[test]
    fn recognises_columns_as_people_write_them() {
        // Real headers beyond the mechanical variants above: whole words split where people
        // split them, and the forms spreadsheets and CRMs export.
        for (role, header) in [
            (Role::Phone, "phone_number"),
            (Role::Phone, "Phone Number"),
            (Role::Phone, "PHONE-NUMBER"),
            (Role::Phone, "Number"),
            (Role::Phone, "mobile number"),
            (Role::Phone, "Mobile-Number"),
            (Role::Phone, "cell phone"),
            (Role::Phone, "CELL_PHONE"),
            (Role::Phone, "Tel."),
            (Role::Phone, " Phone "),
            (Role::Phone, "SMS-Number"),
            (Role::Name, "first_name"),
            (Role::Name, "First Name"),
            (Role::Name, "full name"),
            (Role::Name, "FIRST-NAME"),
            (Role::Name, "Given Name"),
            (Role::Name, "Contact_Name"),
            (Role::LastName, "last_name"),
            (Role::LastName, "Last Name"),
            (Role::LastName, "FAMILY-NAME"),
            (Role::Company, "Company Name"),
            (Role::Company, "business_name"),
            (Role::Timezone, "time_zone"),
            (Role::Timezone, "time zone"),
            (Role::Timezone, "Time-Zone"),
            (Role::Timezone, "tz_name"),
            (Role::Timezone, "IANA Timezone"),
        ] {
            assert_eq!(
                role_of(header, role).as_deref(),
                Some(header),
                "{role}: {header:?}"
            );
        }
    }

    #[test]
    fn other_columns_become_snake_case_fields() {
        let mapping = HeaderMapping::new(
            &[
                "Phone",
                "First Name",
                "zipCode",
                "Plan (2024)",
                "",
                "E-mail",
            ],
            &HeaderOverrides::new(),
        )
        .expect("mapping");
        assert_eq!(mapping.slot(0, "Phone"), Some(&Slot::Role(Role::Phone)));
        assert_eq!(mapping.slot(1, "First Name"), Some(&Slot::Role(Role::Name)));
        let fields: Vec<_> = (2..6)
            .map(|i| mapping.slot(i, &mapping.headers()[i].clone()).cloned())
            .collect();
        assert_eq!(
            fields,
            [
                Some(Slot::Field("zip_code".into())),
                Some(Slot::Field("plan_2024".into())),
                Some(Slot::Field("column_5".into())),
                Some(Slot::Field("e_mail".into())),
            ]
        );
    }

    #[test]
    fn first_matching_column_takes_the_role_and_later_ones_stay_fields() {
        let mapping =
            HeaderMapping::new(&["phone", "mobile"], &HeaderOverrides::new()).expect("mapping");
        assert_eq!(mapping.column_of(Role::Phone), Some("phone"));
        assert_eq!(
            mapping.slot(1, "mobile"),
            Some(&Slot::Field("mobile".into()))
        );
    }

    #[test]
    fn overrides_win_over_recognition() {
        let overrides = HeaderOverrides::parse(["phone=Mobile", "name = Contact"]).expect("parse");
        let mapping =
            HeaderMapping::new(&["Number", "Mobile", "Contact"], &overrides).expect("mapping");
        assert_eq!(mapping.column_of(Role::Phone), Some("Mobile"));
        assert_eq!(mapping.column_of(Role::Name), Some("Contact"));
        assert_eq!(
            mapping.slot(0, "Number"),
            Some(&Slot::Field("number".into()))
        );
        // Overrides also match insensitively.
        let overrides = HeaderOverrides::new().with(Role::Phone, "mobile");
        let mapping = HeaderMapping::new(&["Mobile"], &overrides).expect("mapping");
        assert_eq!(mapping.column_of(Role::Phone), Some("Mobile"));
    }

    #[test]
    fn bad_overrides_are_refused() {
        assert_eq!(
            HeaderOverrides::parse(["phone"]),
            Err(HeaderError::MalformedOverride("phone".into()))
        );
        assert_eq!(
            HeaderOverrides::parse(["email=Mail"]),
            Err(HeaderError::UnknownRole("email".into()))
        );
        let error = HeaderMapping::new(
            &["Number"],
            &HeaderOverrides::new().with(Role::Phone, "Cell"),
        )
        .expect_err("missing column");
        assert_eq!(
            error.to_string(),
            "import option phone=\"Cell\": no such column; headers found: \"Number\""
        );
    }

    #[test]
    fn clashing_keys_are_reported_with_both_columns() {
        let error = HeaderMapping::new(&["phone", "Zip Code", "zip_code"], &HeaderOverrides::new())
            .expect_err("clash");
        assert_eq!(
            error,
            HeaderError::KeyClash {
                key: "zip_code".into(),
                first: "Zip Code".into(),
                second: "zip_code".into(),
            }
        );
        // A free column may not take a role's key either.
        let error =
            HeaderMapping::new(&["Phone", "PHONE"], &HeaderOverrides::new()).expect_err("clash");
        assert!(matches!(error, HeaderError::KeyClash { ref key, .. } if key == "phone"));
    }

    #[test]
    fn a_file_without_a_phone_column_lists_its_headers() {
        let error =
            HeaderMapping::new(&["Name", "Email"], &HeaderOverrides::new()).expect_err("no phone");
        assert_eq!(
            error.to_string(),
            "no phone column: expected a column such as phone, phone_number, mobile or msisdn \
             (or phone=COLUMN in the import options); headers found: \"Name\", \"Email\""
        );
    }

    #[test]
    fn rows_out_of_header_order_are_looked_up_by_name() {
        let mapping =
            HeaderMapping::new(&["phone", "city"], &HeaderOverrides::new()).expect("mapping");
        assert_eq!(mapping.slot(0, "city"), Some(&Slot::Field("city".into())));
        assert_eq!(mapping.slot(5, "nope"), None);
        assert_eq!(
            mapping.extra_field_key("Postal Code"),
            Ok("postal_code".into())
        );
        assert_eq!(mapping.extra_field_key("City"), Err("city".into()));
    }
}
