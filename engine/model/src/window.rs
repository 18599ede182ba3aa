//! Send windows: which hours of which weekdays a recipient may receive messages, in the
//! recipient's own timezone, plus the quiet-hours override.
//!
//! Written as `days: { mon-fri: "09:00-17:00", sat: "10:00-12:00, 13:00-15:00", sun: closed }`.
//! Days a window does not name are closed (the safe default: nobody is texted on a day the
//! author forgot). Ranges are half-open, `start <= t < end`, and never cross midnight; an
//! overnight window is written as two ranges on two days.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, Weekday};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::timezone::TimezoneSpec;

/// Why a time, range, day set or day's hours did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// Not `HH:MM`.
    #[error("invalid time {0:?}: expected HH:MM on a 24-hour clock (e.g. 09:00, 17:30)")]
    Time(String),
    /// Not `HH:MM-HH:MM`.
    #[error("invalid time range {0:?}: expected HH:MM-HH:MM (e.g. 09:00-17:00)")]
    Range(String),
    /// End at or before start.
    #[error("time range {0:?} ends before it starts")]
    EndBeforeStart(String),
    /// Ranges of one day overlap.
    #[error("time ranges {0:?} overlap")]
    Overlap(String),
    /// A day name we do not know.
    #[error(
        "invalid day {0:?}: expected mon, tue, wed, thu, fri, sat, sun, a range like mon-fri, or daily, weekdays, weekends"
    )]
    Day(String),
}

/// A time of day in minutes after midnight; `24:00` is allowed as the end of a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay {
    minutes: u16,
}

impl TimeOfDay {
    /// Midnight at the start of the day.
    pub const MIDNIGHT: TimeOfDay = TimeOfDay { minutes: 0 };
    /// Midnight at the end of the day (`24:00`).
    pub const END_OF_DAY: TimeOfDay = TimeOfDay { minutes: 24 * 60 };

    /// Builds a time from hours and minutes (`24:00` at most).
    pub const fn from_hm(hours: u16, minutes: u16) -> Option<Self> {
        if minutes >= 60 || hours > 24 || (hours == 24 && minutes > 0) {
            return None;
        }
        Some(Self {
            minutes: hours * 60 + minutes,
        })
    }

    /// Minutes after midnight.
    pub fn minutes(&self) -> u16 {
        self.minutes
    }

    /// As a chrono time; `24:00` has none.
    pub fn to_naive(&self) -> Option<chrono::NaiveTime> {
        chrono::NaiveTime::from_hms_opt(
            u32::from(self.minutes / 60),
            u32::from(self.minutes % 60),
            0,
        )
    }
}

impl FromStr for TimeOfDay {
    type Err = WindowError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || WindowError::Time(text.to_string());
        let (hours, minutes) = text.trim().split_once(':').ok_or_else(error)?;
        if hours.is_empty() || hours.len() > 2 || minutes.len() != 2 {
            return Err(error());
        }
        let hours: u16 = hours.parse().map_err(|_| error())?;
        let minutes: u16 = minutes.parse().map_err(|_| error())?;
        Self::from_hm(hours, minutes).ok_or_else(error)
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.minutes / 60, self.minutes % 60)
    }
}

/// A half-open range of the day, `start <= t < end`, with `start < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeRange {
    /// First minute inside.
    pub start: TimeOfDay,
    /// First minute outside.
    pub end: TimeOfDay,
}

impl TimeRange {
    /// Whether `time` (minutes after midnight) is inside.
    pub fn contains(&self, time: TimeOfDay) -> bool {
        self.start <= time && time < self.end
    }

    /// Whether this range lies entirely inside `other`.
    pub fn within(&self, other: &TimeRange) -> bool {
        other.start <= self.start && self.end <= other.end
    }
}

impl FromStr for TimeRange {
    type Err = WindowError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (start, end) = text
            .split_once('-')
            .ok_or_else(|| WindowError::Range(text.to_string()))?;
        let start: TimeOfDay = start
            .parse()
            .map_err(|_| WindowError::Range(text.to_string()))?;
        let end: TimeOfDay = end
            .parse()
            .map_err(|_| WindowError::Range(text.to_string()))?;
        if end <= start {
            return Err(WindowError::EndBeforeStart(text.trim().to_string()));
        }
        Ok(Self { start, end })
    }
}

impl fmt::Display for TimeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

/// The open hours of one day: `closed`, or one or more ranges separated by commas.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DayHours {
    ranges: Vec<TimeRange>,
}

impl DayHours {
    /// A day with no sending.
    pub fn closed() -> Self {
        Self { ranges: Vec::new() }
    }

    /// The open ranges, sorted, not overlapping; empty when closed.
    pub fn ranges(&self) -> &[TimeRange] {
        &self.ranges
    }

    /// Whether nothing is sent on this day.
    pub fn is_closed(&self) -> bool {
        self.ranges.is_empty()
    }
}

impl FromStr for DayHours {
    type Err = WindowError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.trim().eq_ignore_ascii_case("closed") {
            return Ok(Self::closed());
        }
        let mut ranges = text
            .split(',')
            .map(|part| part.trim().parse::<TimeRange>())
            .collect::<Result<Vec<_>, _>>()?;
        ranges.sort();
        if let Some(pair) = ranges.windows(2).find(|pair| pair[1].start < pair[0].end) {
            return Err(WindowError::Overlap(format!("{}, {}", pair[0], pair[1])));
        }
        Ok(Self { ranges })
    }
}

impl fmt::Display for DayHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ranges.is_empty() {
            return f.write_str("closed");
        }
        let parts: Vec<String> = self.ranges.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join(", "))
    }
}

/// A set of weekdays, written `mon`, `mon-fri`, `fri-mon` (wraps), `sat,sun`, `daily`,
/// `weekdays` or `weekends`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DaySet {
    text: String,
    /// Bit `n` set = `Weekday::num_days_from_monday() == n` included.
    bits: u8,
}

impl DaySet {
    /// The days in the set, Monday first.
    pub fn days(&self) -> impl Iterator<Item = Weekday> + '_ {
        (0..7u8)
            .filter(|n| self.bits & (1 << n) != 0)
            .filter_map(weekday_from_index)
    }

    /// Whether `day` is in the set.
    pub fn contains(&self, day: Weekday) -> bool {
        self.bits & (1 << day.num_days_from_monday()) != 0
    }

    /// The set as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

fn weekday_from_index(index: u8) -> Option<Weekday> {
    Weekday::try_from(index).ok()
}

fn parse_weekday(text: &str) -> Option<Weekday> {
    let day = match text {
        "mon" | "monday" => Weekday::Mon,
        "tue" | "tues" | "tuesday" => Weekday::Tue,
        "wed" | "wednesday" => Weekday::Wed,
        "thu" | "thur" | "thurs" | "thursday" => Weekday::Thu,
        "fri" | "friday" => Weekday::Fri,
        "sat" | "saturday" => Weekday::Sat,
        "sun" | "sunday" => Weekday::Sun,
        _ => return None,
    };
    Some(day)
}

impl FromStr for DaySet {
    type Err = WindowError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || WindowError::Day(text.to_string());
        let mut bits = 0u8;
        for part in text.split(',') {
            let part = part.trim().to_ascii_lowercase();
            bits |= match part.as_str() {
                "daily" | "everyday" => 0b111_1111,
                "weekdays" => 0b001_1111,
                "weekends" => 0b110_0000,
                _ => match part.split_once('-') {
                    Some((from, to)) => {
                        let from = parse_weekday(from.trim())
                            .ok_or_else(error)?
                            .num_days_from_monday();
                        let to = parse_weekday(to.trim())
                            .ok_or_else(error)?
                            .num_days_from_monday();
                        let mut range = 0u8;
                        let mut day = from;
                        loop {
                            range |= 1 << day;
                            if day == to {
                                break;
                            }
                            day = (day + 1) % 7;
                        }
                        range
                    }
                    None => {
                        1 << parse_weekday(&part)
                            .ok_or_else(error)?
                            .num_days_from_monday()
                    }
                },
            };
        }
        Ok(Self {
            text: text.to_string(),
            bits,
        })
    }
}

macro_rules! string_serde {
    ($type:ty, $name:literal, $format:literal, $description:literal, [$($example:literal),*]) => {
        impl serde::Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <String as serde::Deserialize>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl schemars::JsonSchema for $type {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "format": $format,
                    "description": $description,
                    "examples": [$($example),*]
                })
            }
        }
    };
}
pub(crate) use string_serde;

impl fmt::Display for DaySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

string_serde!(
    TimeOfDay,
    "TimeOfDay",
    "time-of-day",
    "A time of day, HH:MM on a 24-hour clock.",
    ["09:00", "17:30"]
);
string_serde!(
    DayHours,
    "DayHours",
    "day-hours",
    "The hours messages may be sent on these days: `closed`, or HH:MM-HH:MM ranges separated by commas.",
    ["09:00-17:00", "10:00-12:00, 13:00-15:00", "closed"]
);
string_serde!(
    TimeRange,
    "TimeRange",
    "time-range",
    "A range of the day, HH:MM-HH:MM, start included, end excluded.",
    ["08:00-21:00"]
);

/// When messages may be sent, in the recipient's local time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendWindow {
    /// Whose clock the window follows: a recipient field holding an IANA timezone, with a
    /// default for recipients without one.
    pub timezone: TimezoneSpec,
    /// Open hours per weekday. Keys: `mon`..`sun`, ranges like `mon-fri`, lists like `sat,sun`,
    /// or `daily`, `weekdays`, `weekends`. Values: `closed` or `HH:MM-HH:MM` ranges. Days not
    /// named are closed.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, DayHours>")]
    #[schemars(extend("propertyNames" = { "format": "day-set" }))]
    pub days: BTreeMap<String, DayHours>,
    /// No message is sent before this instant (RFC 3339 with offset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<DateTime<FixedOffset>>,
    /// Recipients not reached by this instant finish as `expired` (RFC 3339 with offset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<DateTime<FixedOffset>>,
}

/// The weekly open hours a window resolves to, Monday first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeeklyHours {
    days: [DayHours; 7],
}

/// A weekday named by two keys of one window.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{day} is given hours by both {first:?} and {second:?}")]
pub struct DayConflict {
    /// The day named twice.
    pub day: Weekday,
    /// The key that named it first.
    pub first: String,
    /// The key that named it again.
    pub second: String,
}

impl WeeklyHours {
    /// Resolves the `days` keys of a window; each weekday may be named by one key only.
    pub fn resolve(days: &BTreeMap<String, DayHours>) -> Result<Self, Vec<DayConflict>> {
        let mut resolved: [Option<(String, DayHours)>; 7] = Default::default();
        let mut conflicts = Vec::new();
        for (key, hours) in days {
            let Ok(set) = key.parse::<DaySet>() else {
                continue;
            };
            for day in set.days() {
                let slot = &mut resolved[day.num_days_from_monday() as usize];
                match slot {
                    Some((first, _)) => conflicts.push(DayConflict {
                        day,
                        first: first.clone(),
                        second: key.clone(),
                    }),
                    None => *slot = Some((key.clone(), hours.clone())),
                }
            }
        }
        if !conflicts.is_empty() {
            return Err(conflicts);
        }
        Ok(Self {
            days: resolved.map(|slot| {
                slot.map(|(_, hours)| hours)
                    .unwrap_or_else(DayHours::closed)
            }),
        })
    }

    /// Hours of `day`.
    pub fn on(&self, day: Weekday) -> &DayHours {
        &self.days[day.num_days_from_monday() as usize]
    }

    /// Whether every day is closed.
    pub fn is_always_closed(&self) -> bool {
        self.days.iter().all(DayHours::is_closed)
    }
}

/// How a workflow relates to the daemon's global quiet hours (default: sending only
/// 08:00–21:00 recipient local time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// Narrow the allowed hours further (intersected with the global ones), e.g. `10:00-19:00`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<TimeRange>,
    /// Send outside the global quiet hours (urgent, transactional notifications only).
    #[serde(default, rename = "override")]
    pub override_global: bool,
    /// Why the override is justified; required with `override: true` and kept for audits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(text: &str) -> TimeRange {
        text.parse().expect("valid range")
    }

    #[test]
    fn parses_times_and_ranges() {
        assert_eq!("09:05".parse::<TimeOfDay>().map(|t| t.minutes()), Ok(545));
        assert_eq!("24:00".parse::<TimeOfDay>(), Ok(TimeOfDay::END_OF_DAY));
        assert!("24:01".parse::<TimeOfDay>().is_err());
        assert!("9".parse::<TimeOfDay>().is_err());
        assert!("09:60".parse::<TimeOfDay>().is_err());
        assert_eq!(range("09:00-17:00").to_string(), "09:00-17:00");
        assert!(range("08:00-21:00").contains("20:59".parse().expect("time")));
        assert!(!range("08:00-21:00").contains("21:00".parse().expect("time")));
    }

    #[test]
    fn refuses_a_range_that_ends_before_it_starts() {
        assert_eq!(
            "17:00-09:00".parse::<TimeRange>(),
            Err(WindowError::EndBeforeStart("17:00-09:00".into()))
        );
        assert!(matches!(
            "09:00-09:00".parse::<TimeRange>(),
            Err(WindowError::EndBeforeStart(_))
        ));
    }

    #[test]
    fn parses_day_hours_with_several_ranges() {
        let hours: DayHours = "13:00-15:00, 10:00-12:00".parse().expect("hours");
        assert_eq!(hours.to_string(), "10:00-12:00, 13:00-15:00");
        assert!("Closed".parse::<DayHours>().expect("closed").is_closed());
        assert!(matches!(
            "10:00-13:00, 12:00-15:00".parse::<DayHours>(),
            Err(WindowError::Overlap(_))
        ));
    }

    #[test]
    fn parses_day_sets() {
        let days =
            |text: &str| -> Vec<Weekday> { text.parse::<DaySet>().expect("days").days().collect() };
        assert_eq!(days("mon-fri").len(), 5);
        assert_eq!(
            days("fri-mon"),
            vec![Weekday::Mon, Weekday::Fri, Weekday::Sat, Weekday::Sun]
        );
        assert_eq!(days("sat, sun"), vec![Weekday::Sat, Weekday::Sun]);
        assert_eq!(days("weekends"), vec![Weekday::Sat, Weekday::Sun]);
        assert_eq!(days("Daily").len(), 7);
        assert!("funday".parse::<DaySet>().is_err());
        assert!("mon-funday".parse::<DaySet>().is_err());
    }

    #[test]
    fn resolves_weekly_hours_and_reports_conflicts() {
        let mut days = BTreeMap::new();
        days.insert("mon-fri".to_string(), "09:00-17:00".parse().expect("hours"));
        days.insert("sat".to_string(), "10:00-14:00".parse().expect("hours"));
        let weekly = WeeklyHours::resolve(&days).expect("no conflict");
        assert_eq!(weekly.on(Weekday::Wed).to_string(), "09:00-17:00");
        assert!(weekly.on(Weekday::Sun).is_closed());

        days.insert("tue".to_string(), "closed".parse().expect("hours"));
        let conflicts = WeeklyHours::resolve(&days).expect_err("tue twice");
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].day, Weekday::Tue);
    }
}
