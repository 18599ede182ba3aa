//! A recipient's timezone: the row's own value (an IANA name, case-insensitive), else (when
//! enabled) the single zone of the phone number's region, else the list's default.

use std::collections::HashMap;

use chrono_tz::Tz;
use switchboard_model::timezone::{Timezone, TimezoneError};

/// How a missing timezone is filled in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimezonePolicy {
    /// The list's default timezone, used when the row has none.
    pub list_default: Option<Timezone>,
    /// When the row has none, use the zone of the number's region if it has exactly one
    /// (FR → Europe/Paris; never for CA, US, ...). Takes precedence over `list_default`: a
    /// French number in a Canadian list is better served by Paris than by Toronto.
    pub infer_from_region: bool,
}

/// Where a resolved timezone came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimezoneSource {
    /// The row's timezone column.
    Row,
    /// The single zone of the number's region.
    Region,
    /// The list's default.
    ListDefault,
}

/// A recipient's timezone and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedTimezone {
    /// The zone.
    pub timezone: Timezone,
    /// Where it came from.
    pub source: TimezoneSource,
}

/// Resolves the timezone of a row whose timezone cell holds `value` (empty or absent: none)
/// and whose number is in `region`. `Ok(None)` when nothing applies; an error only for a value
/// that is not an IANA name: a wrong value is rejected, never silently replaced.
pub fn resolve(
    value: Option<&str>,
    region: Option<&str>,
    policy: &TimezonePolicy,
) -> Result<Option<ResolvedTimezone>, TimezoneError> {
    if let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) {
        return Ok(Some(ResolvedTimezone {
            timezone: value.parse()?,
            source: TimezoneSource::Row,
        }));
    }
    if policy.infer_from_region
        && let Some(tz) = region.and_then(single_zone_of_region)
    {
        return Ok(Some(ResolvedTimezone {
            timezone: Timezone(tz),
            source: TimezoneSource::Region,
        }));
    }
    Ok(policy.list_default.map(|timezone| ResolvedTimezone {
        timezone,
        source: TimezoneSource::ListDefault,
    }))
}

/// Remembers how recent timezone values resolved: a file repeats a handful of values a million
/// times, and an invalid one costs a did-you-mean search over every zone name. Bounded: past
/// [`TimezoneCache::CAPACITY`] distinct values, new ones are parsed every time.
#[derive(Debug, Default)]
pub struct TimezoneCache {
    parsed: HashMap<String, Result<Timezone, TimezoneError>>,
}

impl TimezoneCache {
    /// Most distinct values remembered.
    pub const CAPACITY: usize = 1024;

    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// As [`resolve`], remembering the parse of `value`.
    pub fn resolve(
        &mut self,
        value: Option<&str>,
        region: Option<&str>,
        policy: &TimezonePolicy,
    ) -> Result<Option<ResolvedTimezone>, TimezoneError> {
        let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return resolve(None, region, policy);
        };
        let parsed = match self.parsed.get(value) {
            Some(parsed) => parsed.clone(),
            None => {
                let parsed = value.parse::<Timezone>();
                if self.parsed.len() < Self::CAPACITY {
                    self.parsed.insert(value.to_string(), parsed.clone());
                }
                parsed
            }
        };
        parsed.map(|timezone| {
            Some(ResolvedTimezone {
                timezone,
                source: TimezoneSource::Row,
            })
        })
    }
}

/// The only IANA zone of a region (ISO 3166 alpha-2), or `None` when it has several (CA, US,
/// AU, BR, RU, MX ...) or is not in the table.
pub fn single_zone_of_region(region: &str) -> Option<Tz> {
    SINGLE_ZONE_REGIONS
        .binary_search_by(|(code, _)| (*code).cmp(region))
        .ok()
        .map(|i| SINGLE_ZONE_REGIONS[i].1)
}

/// Regions with exactly one zone in the tz database's `zone.tab` (one line per country; the
/// zone named there, e.g. MC → Europe/Monaco, which chrono-tz links to Europe/Paris).
/// Left out because they have several: AQ AR AU BR CA CD CL CN CY DE EC ES FM GL ID KI KZ MH
/// MN MX MY NZ PF PG PS PT RU UA UM US UZ. Sorted by code (binary search; a test checks it).
/// Variants rather than names, so the compiler checks every zone exists.
const SINGLE_ZONE_REGIONS: &[(&str, Tz)] = &[
    ("AD", Tz::Europe__Andorra),
    ("AE", Tz::Asia__Dubai),
    ("AF", Tz::Asia__Kabul),
    ("AG", Tz::America__Antigua),
    ("AI", Tz::America__Anguilla),
    ("AL", Tz::Europe__Tirane),
    ("AM", Tz::Asia__Yerevan),
    ("AO", Tz::Africa__Luanda),
    ("AS", Tz::Pacific__Pago_Pago),
    ("AT", Tz::Europe__Vienna),
    ("AW", Tz::America__Aruba),
    ("AX", Tz::Europe__Mariehamn),
    ("AZ", Tz::Asia__Baku),
    ("BA", Tz::Europe__Sarajevo),
    ("BB", Tz::America__Barbados),
    ("BD", Tz::Asia__Dhaka),
    ("BE", Tz::Europe__Brussels),
    ("BF", Tz::Africa__Ouagadougou),
    ("BG", Tz::Europe__Sofia),
    ("BH", Tz::Asia__Bahrain),
    ("BI", Tz::Africa__Bujumbura),
    ("BJ", Tz::Africa__PortoNovo),
    ("BL", Tz::America__St_Barthelemy),
    ("BM", Tz::Atlantic__Bermuda),
    ("BN", Tz::Asia__Brunei),
    ("BO", Tz::America__La_Paz),
    ("BQ", Tz::America__Kralendijk),
    ("BS", Tz::America__Nassau),
    ("BT", Tz::Asia__Thimphu),
    ("BW", Tz::Africa__Gaborone),
    ("BY", Tz::Europe__Minsk),
    ("BZ", Tz::America__Belize),
    ("CC", Tz::Indian__Cocos),
    ("CF", Tz::Africa__Bangui),
    ("CG", Tz::Africa__Brazzaville),
    ("CH", Tz::Europe__Zurich),
    ("CI", Tz::Africa__Abidjan),
    ("CK", Tz::Pacific__Rarotonga),
    ("CM", Tz::Africa__Douala),
    ("CO", Tz::America__Bogota),
    ("CR", Tz::America__Costa_Rica),
    ("CU", Tz::America__Havana),
    ("CV", Tz::Atlantic__Cape_Verde),
    ("CW", Tz::America__Curacao),
    ("CX", Tz::Indian__Christmas),
    ("CZ", Tz::Europe__Prague),
    ("DJ", Tz::Africa__Djibouti),
    ("DK", Tz::Europe__Copenhagen),
    ("DM", Tz::America__Dominica),
    ("DO", Tz::America__Santo_Domingo),
    ("DZ", Tz::Africa__Algiers),
    ("EE", Tz::Europe__Tallinn),
    ("EG", Tz::Africa__Cairo),
    ("EH", Tz::Africa__El_Aaiun),
    ("ER", Tz::Africa__Asmara),
    ("ET", Tz::Africa__Addis_Ababa),
    ("FI", Tz::Europe__Helsinki),
    ("FJ", Tz::Pacific__Fiji),
    ("FK", Tz::Atlantic__Stanley),
    ("FO", Tz::Atlantic__Faroe),
    ("FR", Tz::Europe__Paris),
    ("GA", Tz::Africa__Libreville),
    ("GB", Tz::Europe__London),
    ("GD", Tz::America__Grenada),
    ("GE", Tz::Asia__Tbilisi),
    ("GF", Tz::America__Cayenne),
    ("GG", Tz::Europe__Guernsey),
    ("GH", Tz::Africa__Accra),
    ("GI", Tz::Europe__Gibraltar),
    ("GM", Tz::Africa__Banjul),
    ("GN", Tz::Africa__Conakry),
    ("GP", Tz::America__Guadeloupe),
    ("GQ", Tz::Africa__Malabo),
    ("GR", Tz::Europe__Athens),
    ("GS", Tz::Atlantic__South_Georgia),
    ("GT", Tz::America__Guatemala),
    ("GU", Tz::Pacific__Guam),
    ("GW", Tz::Africa__Bissau),
    ("GY", Tz::America__Guyana),
    ("HK", Tz::Asia__Hong_Kong),
    ("HN", Tz::America__Tegucigalpa),
    ("HR", Tz::Europe__Zagreb),
    ("HT", Tz::America__PortauPrince),
    ("HU", Tz::Europe__Budapest),
    ("IE", Tz::Europe__Dublin),
    ("IL", Tz::Asia__Jerusalem),
    ("IM", Tz::Europe__Isle_of_Man),
    ("IN", Tz::Asia__Kolkata),
    ("IO", Tz::Indian__Chagos),
    ("IQ", Tz::Asia__Baghdad),
    ("IR", Tz::Asia__Tehran),
    ("IS", Tz::Atlantic__Reykjavik),
    ("IT", Tz::Europe__Rome),
    ("JE", Tz::Europe__Jersey),
    ("JM", Tz::America__Jamaica),
    ("JO", Tz::Asia__Amman),
    ("JP", Tz::Asia__Tokyo),
    ("KE", Tz::Africa__Nairobi),
    ("KG", Tz::Asia__Bishkek),
    ("KH", Tz::Asia__Phnom_Penh),
    ("KM", Tz::Indian__Comoro),
    ("KN", Tz::America__St_Kitts),
    ("KP", Tz::Asia__Pyongyang),
    ("KR", Tz::Asia__Seoul),
    ("KW", Tz::Asia__Kuwait),
    ("KY", Tz::America__Cayman),
    ("LA", Tz::Asia__Vientiane),
    ("LB", Tz::Asia__Beirut),
    ("LC", Tz::America__St_Lucia),
    ("LI", Tz::Europe__Vaduz),
    ("LK", Tz::Asia__Colombo),
    ("LR", Tz::Africa__Monrovia),
    ("LS", Tz::Africa__Maseru),
    ("LT", Tz::Europe__Vilnius),
    ("LU", Tz::Europe__Luxembourg),
    ("LV", Tz::Europe__Riga),
    ("LY", Tz::Africa__Tripoli),
    ("MA", Tz::Africa__Casablanca),
    ("MC", Tz::Europe__Monaco),
    ("MD", Tz::Europe__Chisinau),
    ("ME", Tz::Europe__Podgorica),
    ("MF", Tz::America__Marigot),
    ("MG", Tz::Indian__Antananarivo),
    ("MK", Tz::Europe__Skopje),
    ("ML", Tz::Africa__Bamako),
    ("MM", Tz::Asia__Yangon),
    ("MO", Tz::Asia__Macau),
    ("MP", Tz::Pacific__Saipan),
    ("MQ", Tz::America__Martinique),
    ("MR", Tz::Africa__Nouakchott),
    ("MS", Tz::America__Montserrat),
    ("MT", Tz::Europe__Malta),
    ("MU", Tz::Indian__Mauritius),
    ("MV", Tz::Indian__Maldives),
    ("MW", Tz::Africa__Blantyre),
    ("MZ", Tz::Africa__Maputo),
    ("NA", Tz::Africa__Windhoek),
    ("NC", Tz::Pacific__Noumea),
    ("NE", Tz::Africa__Niamey),
    ("NF", Tz::Pacific__Norfolk),
    ("NG", Tz::Africa__Lagos),
    ("NI", Tz::America__Managua),
    ("NL", Tz::Europe__Amsterdam),
    ("NO", Tz::Europe__Oslo),
    ("NP", Tz::Asia__Kathmandu),
    ("NR", Tz::Pacific__Nauru),
    ("NU", Tz::Pacific__Niue),
    ("OM", Tz::Asia__Muscat),
    ("PA", Tz::America__Panama),
    ("PE", Tz::America__Lima),
    ("PH", Tz::Asia__Manila),
    ("PK", Tz::Asia__Karachi),
    ("PL", Tz::Europe__Warsaw),
    ("PM", Tz::America__Miquelon),
    ("PN", Tz::Pacific__Pitcairn),
    ("PR", Tz::America__Puerto_Rico),
    ("PW", Tz::Pacific__Palau),
    ("PY", Tz::America__Asuncion),
    ("QA", Tz::Asia__Qatar),
    ("RE", Tz::Indian__Reunion),
    ("RO", Tz::Europe__Bucharest),
    ("RS", Tz::Europe__Belgrade),
    ("RW", Tz::Africa__Kigali),
    ("SA", Tz::Asia__Riyadh),
    ("SB", Tz::Pacific__Guadalcanal),
    ("SC", Tz::Indian__Mahe),
    ("SD", Tz::Africa__Khartoum),
    ("SE", Tz::Europe__Stockholm),
    ("SG", Tz::Asia__Singapore),
    ("SH", Tz::Atlantic__St_Helena),
    ("SI", Tz::Europe__Ljubljana),
    ("SJ", Tz::Arctic__Longyearbyen),
    ("SK", Tz::Europe__Bratislava),
    ("SL", Tz::Africa__Freetown),
    ("SM", Tz::Europe__San_Marino),
    ("SN", Tz::Africa__Dakar),
    ("SO", Tz::Africa__Mogadishu),
    ("SR", Tz::America__Paramaribo),
    ("SS", Tz::Africa__Juba),
    ("ST", Tz::Africa__Sao_Tome),
    ("SV", Tz::America__El_Salvador),
    ("SX", Tz::America__Lower_Princes),
    ("SY", Tz::Asia__Damascus),
    ("SZ", Tz::Africa__Mbabane),
    ("TC", Tz::America__Grand_Turk),
    ("TD", Tz::Africa__Ndjamena),
    ("TF", Tz::Indian__Kerguelen),
    ("TG", Tz::Africa__Lome),
    ("TH", Tz::Asia__Bangkok),
    ("TJ", Tz::Asia__Dushanbe),
    ("TK", Tz::Pacific__Fakaofo),
    ("TL", Tz::Asia__Dili),
    ("TM", Tz::Asia__Ashgabat),
    ("TN", Tz::Africa__Tunis),
    ("TO", Tz::Pacific__Tongatapu),
    ("TR", Tz::Europe__Istanbul),
    ("TT", Tz::America__Port_of_Spain),
    ("TV", Tz::Pacific__Funafuti),
    ("TW", Tz::Asia__Taipei),
    ("TZ", Tz::Africa__Dar_es_Salaam),
    ("UG", Tz::Africa__Kampala),
    ("UY", Tz::America__Montevideo),
    ("VA", Tz::Europe__Vatican),
    ("VC", Tz::America__St_Vincent),
    ("VE", Tz::America__Caracas),
    ("VG", Tz::America__Tortola),
    ("VI", Tz::America__St_Thomas),
    ("VN", Tz::Asia__Ho_Chi_Minh),
    ("VU", Tz::Pacific__Efate),
    ("WF", Tz::Pacific__Wallis),
    ("WS", Tz::Pacific__Apia),
    ("YE", Tz::Asia__Aden),
    ("YT", Tz::Indian__Mayotte),
    ("ZA", Tz::Africa__Johannesburg),
    ("ZM", Tz::Africa__Lusaka),
    ("ZW", Tz::Africa__Harare),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn tz(name: &str) -> Timezone {
        name.parse().expect("timezone")
    }

    #[test]
    fn the_table_is_sorted_without_duplicates() {
        assert!(SINGLE_ZONE_REGIONS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn single_zone_regions_infer_their_zone_and_multi_zone_ones_nothing() {
        assert_eq!(single_zone_of_region("FR"), Some(Tz::Europe__Paris));
        assert_eq!(single_zone_of_region("GB"), Some(Tz::Europe__London));
        assert_eq!(single_zone_of_region("JP"), Some(Tz::Asia__Tokyo));
        for region in ["CA", "US", "AU", "BR", "RU", "MX", "ES", "DE", "ZZ", ""] {
            assert_eq!(single_zone_of_region(region), None, "{region}");
        }
    }

    #[test]
    fn the_row_value_wins_and_forgives_case() {
        let policy = TimezonePolicy {
            list_default: Some(tz("America/Toronto")),
            infer_from_region: true,
        };
        let resolved = resolve(Some(" america/vancouver "), Some("FR"), &policy)
            .expect("valid")
            .expect("some");
        assert_eq!(resolved.timezone, tz("America/Vancouver"));
        assert_eq!(resolved.source, TimezoneSource::Row);
    }

    #[test]
    fn a_missing_value_falls_back_to_the_region_then_the_list_default() {
        let inferring = TimezonePolicy {
            list_default: Some(tz("America/Toronto")),
            infer_from_region: true,
        };
        let fr = resolve(Some(""), Some("FR"), &inferring)
            .expect("valid")
            .expect("some");
        assert_eq!(
            (fr.timezone, fr.source),
            (tz("Europe/Paris"), TimezoneSource::Region)
        );
        let ca = resolve(None, Some("CA"), &inferring)
            .expect("valid")
            .expect("some");
        assert_eq!(
            (ca.timezone, ca.source),
            (tz("America/Toronto"), TimezoneSource::ListDefault)
        );

        let not_inferring = TimezonePolicy {
            infer_from_region: false,
            ..inferring
        };
        let fr = resolve(None, Some("FR"), &not_inferring)
            .expect("valid")
            .expect("some");
        assert_eq!(fr.source, TimezoneSource::ListDefault);
        assert_eq!(
            resolve(None, Some("CA"), &TimezonePolicy::default()),
            Ok(None)
        );
    }

    #[test]
    fn an_invalid_value_is_an_error_not_a_fallback() {
        let policy = TimezonePolicy {
            list_default: Some(tz("America/Toronto")),
            infer_from_region: true,
        };
        let error = resolve(Some("America/Toronot"), Some("FR"), &policy).expect_err("invalid");
        assert_eq!(error.suggestion.as_deref(), Some("America/Toronto"));
        assert!(resolve(Some("EST5EDT-ish"), None, &policy).is_err());
    }

    #[test]
    fn the_cache_answers_like_resolve() {
        let policy = TimezonePolicy {
            list_default: Some(tz("America/Toronto")),
            infer_from_region: true,
        };
        let mut cache = TimezoneCache::new();
        for _ in 0..2 {
            for (value, region) in [
                (Some("Mars/Base"), None),
                (Some(" europe/paris"), Some("CA")),
                (Some(""), Some("FR")),
                (None, Some("CA")),
            ] {
                assert_eq!(
                    cache.resolve(value, region, &policy),
                    resolve(value, region, &policy)
                );
            }
        }
    }
}
