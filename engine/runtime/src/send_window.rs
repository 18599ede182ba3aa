//! When a message may be sent to a recipient: the workflow's send window, narrowed by quiet
//! hours, on the recipient's own wall clock.
//!
//! # Semantics
//!
//! A [`SendPolicy`] is built once per campaign and asked per recipient, so everything that does
//! not depend on the recipient is folded in up front:
//!
//! - **Allowed hours of a local day** = that weekday's ranges from the window
//!   ([`WeeklyHours::resolve`]; every day, all day, when the workflow has no window)
//!   intersected with the quiet-hours range. The quiet-hours range is the daemon's global
//!   allowed hours (default [`DEFAULT_ALLOWED_HOURS`], 08:00-21:00), narrowed further by
//!   `quiet_hours.allowed`; with `quiet_hours.override: true` quiet hours do not apply at all
//!   and only the window does. `allowed` can only narrow, never widen: the global hours protect
//!   recipients from the daemon's side, and only an explicit, audited override lifts them.
//! - A window whose days conflict (validation refuses it, so only a bug gets here) is closed
//!   every day: sending nothing is the failure that wakes nobody up.
//! - Ranges are half-open, `[start, end)`, in wall-clock minutes; membership is decided on the
//!   minute, so 16:59:59 is inside 09:00-17:00 and 17:00:00 is not.
//! - The window's `start` and `end` are absolute instants: nothing is open before `start` or at
//!   and after `end`. Past `end` recipients expire, hence [`NextOpen::Never`].
//!
//! # Daylight saving time
//!
//! [`SendPolicy::is_open`] reads the recipient's wall clock, which is what "9 to 5" means to a
//! person. [`SendPolicy::next_open`] is the earliest instant at which `is_open` becomes true, so
//! it follows from the same definition and the DST rules fall out of it rather than being
//! special cases:
//!
//! - an opening time that exists once maps to that instant;
//! - one that exists twice (fall-back overlap) opens at the earlier instant, and if that has
//!   already passed, the wall clock may still walk back into the range: that is an opening too;
//! - one that does not exist (spring-forward gap, e.g. 02:30 when clocks jump 02:00 to 03:00)
//!   opens at the instant the clocks jump, 03:00 local, if the range is still open then; a range
//!   entirely inside the gap does not open that day at all.
//!
//! To find that instant the search walks UTC time in constant-offset stretches: within one,
//! local time is UTC plus a fixed offset, so each allowed range maps to one UTC interval and the
//! answer is the start of the first non-empty intersection. [`local_to_utc`] applies the same
//! rules to a single wall-clock reading, for callers that wait until a given local time.
//!
//! Everything here is pure: no I/O and no clock reads; the caller passes the instant. Both
//! questions are asked per recipient per send, so neither allocates: `is_open` is one offset
//! lookup and a scan of a day's ranges, `next_open` a few lookups per six hours searched.
//!
//! [`DEFAULT_ALLOWED_HOURS`]: switchboard_model::check::DEFAULT_ALLOWED_HOURS

use chrono::{
    DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Timelike, Utc,
    Weekday,
};
use chrono_tz::Tz;
use switchboard_model::window::{QuietHours, SendWindow, TimeOfDay, TimeRange, WeeklyHours};

const SECONDS_PER_DAY: i64 = 86_400;

/// How far past the first candidate instant `next_open` looks. The schedule is weekly, but a
/// weekday's only range can lie inside a spring-forward gap one week, so two weeks and a day
/// always reach the next real opening.
const LOOKAHEAD_SECONDS: i64 = 15 * SECONDS_PER_DAY;

/// The search samples the UTC offset at this stride and bisects where it changes. No timezone
/// changes its offset twice within six hours, so a stride holds at most one transition.
const OFFSET_STRIDE_SECONDS: i64 = 6 * 3_600;

const WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// When sends are allowed for one campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendPolicy {
    /// Allowed ranges per weekday, Monday first, window and quiet hours already intersected so
    /// per-recipient checks never redo it. Each day's ranges are sorted, disjoint and non-empty:
    /// `next_open` relies on the first hit being the earliest.
    days: [Vec<TimeRange>; 7],
    /// The window's bounds, converted from their written offsets once.
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
}

/// The answer of [`SendPolicy::next_open`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextOpen {
    /// Sending is allowed at the instant asked about.
    Now,
    /// Sending is first allowed at this later instant.
    At(DateTime<Utc>),
    /// Sending is never allowed again: the campaign has ended (or ends before the next opening),
    /// or nothing opens within two weeks, which for a weekly schedule means it never opens.
    Never,
}

impl SendPolicy {
    /// Builds the policy of one campaign.
    ///
    /// `window`: the workflow's send window (`None` = every day, all day, subject to quiet
    /// hours); `quiet`: the workflow's `quiet_hours` setting; `global_allowed`: the daemon's
    /// allowed hours in recipient local time (default
    /// [`DEFAULT_ALLOWED_HOURS`](switchboard_model::check::DEFAULT_ALLOWED_HOURS), 08:00-21:00).
    pub fn new(
        window: Option<&SendWindow>,
        quiet: Option<&QuietHours>,
        global_allowed: TimeRange,
    ) -> Self {
        // An inverted limit (start >= end) is how an empty intersection shows up; the per-range
        // intersection below then drops every range, which closes the campaign.
        let limit = match quiet {
            Some(quiet) if quiet.override_global => (TimeOfDay::MIDNIGHT, TimeOfDay::END_OF_DAY),
            Some(QuietHours {
                allowed: Some(allowed),
                ..
            }) => (
                global_allowed.start.max(allowed.start),
                global_allowed.end.min(allowed.end),
            ),
            _ => (global_allowed.start, global_allowed.end),
        };
        let all_day = [TimeRange {
            start: TimeOfDay::MIDNIGHT,
            end: TimeOfDay::END_OF_DAY,
        }];
        let weekly = window.map(|window| WeeklyHours::resolve(&window.days).ok());
        let days = WEEK.map(|day| {
            let ranges: &[TimeRange] = match &weekly {
                None => &all_day,
                Some(Some(weekly)) => weekly.on(day).ranges(),
                // Conflicting days: validation refuses them, and closed is the safe reading.
                Some(None) => &[],
            };
            let mut allowed: Vec<TimeRange> = ranges
                .iter()
                .map(|range| TimeRange {
                    start: range.start.max(limit.0),
                    end: range.end.min(limit.1),
                })
                .filter(|range| range.start < range.end)
                .collect();
            // DayHours keeps its ranges sorted already; sorting again keeps the invariant local
            // to this type instead of trusting another crate's.
            allowed.sort();
            allowed
        });
        Self {
            days,
            start: window
                .and_then(|window| window.start)
                .map(|at| at.with_timezone(&Utc)),
            end: window
                .and_then(|window| window.end)
                .map(|at| at.with_timezone(&Utc)),
        }
    }

    /// Whether a send at `at` is allowed for a recipient whose timezone is `tz`.
    pub fn is_open(&self, at: DateTime<Utc>, tz: Tz) -> bool {
        if !self.within_campaign(at) {
            return false;
        }
        let local = at.with_timezone(&tz);
        self.open_on(local.weekday(), local.hour() * 60 + local.minute())
    }

    /// The earliest instant at or after `at` when a send is allowed for a recipient whose
    /// timezone is `tz`.
    pub fn next_open(&self, at: DateTime<Utc>, tz: Tz) -> NextOpen {
        if self.is_open(at, tz) {
            return NextOpen::Now;
        }
        if self.days.iter().all(Vec::is_empty) {
            return NextOpen::Never;
        }
        let from = self.start.map_or(at, |start| start.max(at));
        if self.end.is_some_and(|end| from >= end) {
            return NextOpen::Never;
        }
        if from > at && self.is_open(from, tz) {
            return NextOpen::At(from);
        }
        // Openings fall on whole seconds (minute boundaries, offset transitions), so the search
        // runs on seconds; `from` itself is closed, so rounding it up loses nothing.
        let first = ceil_seconds(from);
        let mut last = first.saturating_add(LOOKAHEAD_SECONDS);
        if let Some(end) = self.end {
            last = last.min(ceil_seconds(end));
        }
        match self.first_open_second(tz, first, last) {
            Some(second) => {
                DateTime::from_timestamp(second, 0).map_or(NextOpen::Never, NextOpen::At)
            }
            None => NextOpen::Never,
        }
    }

    /// The campaign's start, before which nothing is sent.
    pub fn start(&self) -> Option<DateTime<Utc>> {
        self.start
    }

    /// The campaign's end, after which unsent recipients expire.
    pub fn end(&self) -> Option<DateTime<Utc>> {
        self.end
    }

    /// The allowed local hours of `day`, after quiet hours: sorted, disjoint, empty when closed.
    pub fn allowed_on(&self, day: Weekday) -> &[TimeRange] {
        &self.days[day.num_days_from_monday() as usize]
    }

    fn within_campaign(&self, at: DateTime<Utc>) -> bool {
        self.start.is_none_or(|start| at >= start) && self.end.is_none_or(|end| at < end)
    }

    fn open_on(&self, day: Weekday, minute: u32) -> bool {
        self.allowed_on(day).iter().any(|range| {
            u32::from(range.start.minutes()) <= minute && minute < u32::from(range.end.minutes())
        })
    }

    /// The first second in `[first, last)` (Unix seconds) whose wall clock in `tz` is in an
    /// allowed range, ignoring the campaign bounds (the caller clamps to them).
    fn first_open_second(&self, tz: Tz, first: i64, last: i64) -> Option<i64> {
        let mut stretch = first;
        let mut offset = offset_at(tz, stretch)?;
        while stretch < last {
            let stretch_end = stretch.saturating_add(OFFSET_STRIDE_SECONDS).min(last);
            // Past chrono's range there is no offset; the stretch keeps its own, which only
            // matters for instants nobody schedules.
            let end_offset = offset_at(tz, stretch_end).unwrap_or(offset);
            if end_offset == offset {
                if let Some(found) = self.first_in_stretch(stretch, stretch_end, offset) {
                    return Some(found);
                }
            } else {
                let switch = first_change(tz, stretch, stretch_end, offset);
                if let Some(found) = self.first_in_stretch(stretch, switch, offset) {
                    return Some(found);
                }
                let after = offset_at(tz, switch).unwrap_or(end_offset);
                if let Some(found) = self.first_in_stretch(switch, stretch_end, after) {
                    return Some(found);
                }
            }
            stretch = stretch_end;
            offset = end_offset;
        }
        None
    }

    /// The first second in `[from, to)` that is open, given that the UTC offset is `offset`
    /// seconds throughout, so local time is a plain shift of UTC.
    fn first_in_stretch(&self, from: i64, to: i64, offset: i64) -> Option<i64> {
        if from >= to {
            return None;
        }
        let (local_from, local_to) = (from + offset, to + offset);
        let first_day = local_from.div_euclid(SECONDS_PER_DAY);
        let last_day = (local_to - 1).div_euclid(SECONDS_PER_DAY);
        for day in first_day..=last_day {
            let midnight = day * SECONDS_PER_DAY;
            // Day 0 of the Unix epoch, 1970-01-01, was a Thursday (index 3 from Monday).
            let weekday = WEEK[(day + 3).rem_euclid(7) as usize];
            for range in self.allowed_on(weekday) {
                let open = (midnight + i64::from(range.start.minutes()) * 60).max(local_from);
                let close = (midnight + i64::from(range.end.minutes()) * 60).min(local_to);
                if open < close {
                    return Some(open - offset);
                }
            }
        }
        None
    }
}

/// The UTC instant at which a recipient in `tz` sees `date` `time` on the wall clock, by the
/// same rules as [`SendPolicy::next_open`]: a time that occurs twice (DST fall-back) is the
/// earlier instant; a time that does not occur (DST spring-forward gap) is the instant the clocks
/// jump, the first valid one after the gap.
pub fn local_to_utc(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let local = date.and_time(time);
    match tz.from_local_datetime(&local).earliest() {
        Some(instant) => instant.with_timezone(&Utc),
        None => gap_end(tz, local),
    }
}

/// The instant the clocks jump over `local`, a wall-clock reading that does not exist in `tz`.
fn gap_end(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let wall = local.and_utc().timestamp();
    // A day either side of a gap lies outside it and, transitions being months apart, on its
    // own side of it: those instants carry the offsets in force just before and after.
    let offsets = offset_at(tz, wall - SECONDS_PER_DAY).zip(offset_at(tz, wall + SECONDS_PER_DAY));
    let jump = offsets.and_then(|(before, after)| {
        if after <= before {
            return None;
        }
        // Read with the later offset, the wall time lies before the jump; read with the earlier
        // one, at or after it (otherwise it would exist). The jump is between the two.
        let switch = first_change(tz, wall - after, wall - before, before);
        DateTime::from_timestamp(switch, 0)
    });
    // Only an impossible tz table gets here; reading the wall time as UTC keeps the caller going
    // with an instant within a day of the intended one.
    jump.unwrap_or_else(|| local.and_utc())
}

/// The first second in `(from, to]` whose offset is not `offset`, given that `from` has `offset`
/// and `to` does not: a bisection, about 15 lookups for a six-hour stretch.
fn first_change(tz: Tz, mut from: i64, mut to: i64, offset: i64) -> i64 {
    while to - from > 1 {
        let middle = from + (to - from) / 2;
        if offset_at(tz, middle) == Some(offset) {
            from = middle;
        } else {
            to = middle;
        }
    }
    to
}

/// The UTC offset of `tz` at Unix second `second`, in seconds; `None` outside chrono's range.
fn offset_at(tz: Tz, second: i64) -> Option<i64> {
    let instant = DateTime::from_timestamp(second, 0)?;
    let offset = tz.offset_from_utc_datetime(&instant.naive_utc()).fix();
    Some(i64::from(offset.local_minus_utc()))
}

fn ceil_seconds(at: DateTime<Utc>) -> i64 {
    at.timestamp() + i64::from(at.timestamp_subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{Duration, FixedOffset};
    use proptest::prelude::*;
    use switchboard_model::check::DEFAULT_ALLOWED_HOURS;
    use switchboard_model::timezone::{Timezone, TimezoneSpec};

    use super::*;

    const NEW_YORK: Tz = chrono_tz::America::New_York;
    const LONDON: Tz = chrono_tz::Europe::London;
    const LORD_HOWE: Tz = chrono_tz::Australia::Lord_Howe;
    const KATHMANDU: Tz = chrono_tz::Asia::Kathmandu;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("RFC 3339 instant")
            .with_timezone(&Utc)
    }

    fn fixed(text: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(text).expect("RFC 3339 instant")
    }

    fn range(text: &str) -> TimeRange {
        text.parse().expect("time range")
    }

    fn window(days: &[(&str, &str)]) -> SendWindow {
        SendWindow {
            timezone: TimezoneSpec {
                field: "timezone".into(),
                default: Timezone(Tz::UTC),
            },
            days: days
                .iter()
                .map(|(key, hours)| (key.to_string(), hours.parse().expect("day hours")))
                .collect::<BTreeMap<_, _>>(),
            start: None,
            end: None,
        }
    }

    fn quiet(allowed: Option<&str>, override_global: bool) -> QuietHours {
        QuietHours {
            allowed: allowed.map(range),
            override_global,
            reason: override_global.then(|| "test".to_string()),
        }
    }

    /// A policy with the default global hours.
    fn policy(days: &[(&str, &str)], quiet: Option<QuietHours>) -> SendPolicy {
        SendPolicy::new(Some(&window(days)), quiet.as_ref(), DEFAULT_ALLOWED_HOURS)
    }

    /// A policy where only the window counts, for DST cases at night.
    fn night_policy(days: &[(&str, &str)]) -> SendPolicy {
        policy(days, Some(quiet(None, true)))
    }

    fn at(text: &str) -> NextOpen {
        NextOpen::At(utc(text))
    }

    #[test]
    fn weekdays_follow_the_window_and_unnamed_days_stay_closed() {
        // Sat is not named, so closed; Sun is closed explicitly. 2026-06-17 is a Wednesday.
        let policy = policy(&[("mon-fri", "09:00-17:00"), ("sun", "closed")], None);
        assert!(policy.is_open(utc("2026-06-17T09:00:00Z"), Tz::UTC));
        assert!(!policy.is_open(utc("2026-06-17T08:59:59Z"), Tz::UTC));
        assert!(policy.is_open(utc("2026-06-17T16:59:59Z"), Tz::UTC));
        assert!(!policy.is_open(utc("2026-06-17T17:00:00Z"), Tz::UTC));
        assert!(!policy.is_open(utc("2026-06-20T12:00:00Z"), Tz::UTC));
        assert_eq!(
            policy.next_open(utc("2026-06-17T12:00:00Z"), Tz::UTC),
            NextOpen::Now
        );
        // Wed after hours: Thu 09:00.
        assert_eq!(
            policy.next_open(utc("2026-06-17T17:00:00Z"), Tz::UTC),
            at("2026-06-18T09:00:00Z")
        );
        // Fri evening: Sat and Sun closed, so Mon 2026-06-22 09:00.
        assert_eq!(
            policy.next_open(utc("2026-06-19T17:30:00Z"), Tz::UTC),
            at("2026-06-22T09:00:00Z")
        );
        // Sub-second precision: 08:59:59.5 is closed and opens at 09:00:00 sharp.
        assert_eq!(
            policy.next_open(utc("2026-06-17T08:59:59.5Z"), Tz::UTC),
            at("2026-06-17T09:00:00Z")
        );
    }

    #[test]
    fn a_saturday_with_two_ranges_opens_twice() {
        // London in June is BST, UTC+1. 2026-06-20 is a Saturday.
        let policy = policy(&[("sat", "10:00-12:00, 13:00-15:00")], None);
        // 11:59 local is inside the first range.
        assert!(policy.is_open(utc("2026-06-20T10:59:00Z"), LONDON));
        // 12:30 local is the lunch gap: next is 13:00 BST = 12:00Z.
        assert!(!policy.is_open(utc("2026-06-20T11:30:00Z"), LONDON));
        assert_eq!(
            policy.next_open(utc("2026-06-20T11:30:00Z"), LONDON),
            at("2026-06-20T12:00:00Z")
        );
        // 15:00 local closes the day: next Saturday 10:00 BST = 09:00Z.
        assert_eq!(
            policy.next_open(utc("2026-06-20T14:00:00Z"), LONDON),
            at("2026-06-27T09:00:00Z")
        );
    }

    #[test]
    fn quiet_hours_narrow_the_window() {
        // Window 07:00-22:00 within global 08:00-21:00: the allowed hours are 08:00-21:00.
        let narrowed = policy(&[("daily", "07:00-22:00")], None);
        assert_eq!(narrowed.allowed_on(Weekday::Wed), [range("08:00-21:00")]);
        assert_eq!(
            narrowed.next_open(utc("2026-06-17T06:00:00Z"), Tz::UTC),
            at("2026-06-17T08:00:00Z")
        );
        assert!(narrowed.is_open(utc("2026-06-17T20:59:59Z"), Tz::UTC));
        assert_eq!(
            narrowed.next_open(utc("2026-06-17T21:00:00Z"), Tz::UTC),
            at("2026-06-18T08:00:00Z")
        );

        // The workflow narrows further to 10:00-19:00.
        let further = policy(
            &[("daily", "07:00-22:00")],
            Some(quiet(Some("10:00-19:00"), false)),
        );
        assert_eq!(further.allowed_on(Weekday::Sun), [range("10:00-19:00")]);
        assert_eq!(
            further.next_open(utc("2026-06-17T06:00:00Z"), Tz::UTC),
            at("2026-06-17T10:00:00Z")
        );

        // `allowed` cannot widen: 06:00-23:00 leaves the global 08:00-21:00.
        let wider = policy(
            &[("daily", "07:00-22:00")],
            Some(quiet(Some("06:00-23:00"), false)),
        );
        assert_eq!(wider.allowed_on(Weekday::Mon), [range("08:00-21:00")]);

        // Disjoint from the global hours: nothing is ever allowed.
        let disjoint = policy(
            &[("daily", "07:00-22:00")],
            Some(quiet(Some("21:00-23:00"), false)),
        );
        assert!(disjoint.allowed_on(Weekday::Mon).is_empty());
        assert_eq!(
            disjoint.next_open(utc("2026-06-17T06:00:00Z"), Tz::UTC),
            NextOpen::Never
        );

        // No window: the global hours alone, every day (2026-06-21 is a Sunday).
        let no_window = SendPolicy::new(None, None, DEFAULT_ALLOWED_HOURS);
        assert_eq!(
            no_window.next_open(utc("2026-06-21T03:00:00Z"), Tz::UTC),
            at("2026-06-21T08:00:00Z")
        );
    }

    #[test]
    fn an_override_lifts_quiet_hours() {
        let lifted = policy(&[("daily", "07:00-22:00")], Some(quiet(None, true)));
        assert_eq!(
            lifted.next_open(utc("2026-06-17T06:00:00Z"), Tz::UTC),
            at("2026-06-17T07:00:00Z")
        );
        assert!(lifted.is_open(utc("2026-06-17T21:30:00Z"), Tz::UTC));
        assert_eq!(
            lifted.next_open(utc("2026-06-17T22:00:00Z"), Tz::UTC),
            at("2026-06-18T07:00:00Z")
        );
        // `allowed` next to `override` is refused by validation; here the override wins.
        let both = policy(
            &[("daily", "07:00-22:00")],
            Some(quiet(Some("10:00-12:00"), true)),
        );
        assert_eq!(both.allowed_on(Weekday::Fri), [range("07:00-22:00")]);
        // No window and an override: always open.
        let always = SendPolicy::new(None, Some(&quiet(None, true)), DEFAULT_ALLOWED_HOURS);
        assert_eq!(
            always.next_open(utc("2026-06-17T03:00:00Z"), Tz::UTC),
            NextOpen::Now
        );
    }

    #[test]
    fn the_campaign_start_and_end_bound_the_window() {
        let mut window = window(&[("mon-fri", "09:00-17:00")]);
        // 12:00+02:00 is 10:00Z on Wed 2026-06-17; 11:00-04:00 is 15:00Z on Thu.
        window.start = Some(fixed("2026-06-17T12:00:00+02:00"));
        window.end = Some(fixed("2026-06-18T11:00:00-04:00"));
        let policy = SendPolicy::new(Some(&window), None, DEFAULT_ALLOWED_HOURS);
        assert_eq!(policy.start(), Some(utc("2026-06-17T10:00:00Z")));
        assert_eq!(policy.end(), Some(utc("2026-06-18T15:00:00Z")));
        // Tue noon is inside the hours but before the start; the start itself is open.
        assert!(!policy.is_open(utc("2026-06-16T12:00:00Z"), Tz::UTC));
        assert_eq!(
            policy.next_open(utc("2026-06-16T12:00:00Z"), Tz::UTC),
            at("2026-06-17T10:00:00Z")
        );
        // Wed after hours: Thu 09:00 is before the end.
        assert_eq!(
            policy.next_open(utc("2026-06-17T18:00:00Z"), Tz::UTC),
            at("2026-06-18T09:00:00Z")
        );
        // The end is exclusive.
        assert!(policy.is_open(utc("2026-06-18T14:59:59Z"), Tz::UTC));
        assert!(!policy.is_open(utc("2026-06-18T15:00:00Z"), Tz::UTC));
        assert_eq!(
            policy.next_open(utc("2026-06-18T15:00:00Z"), Tz::UTC),
            NextOpen::Never
        );

        // A start outside the hours (17:00Z Wed) waits for the next opening, Thu 09:00.
        window.start = Some(fixed("2026-06-17T19:00:00+02:00"));
        let late_start = SendPolicy::new(Some(&window), None, DEFAULT_ALLOWED_HOURS);
        assert_eq!(
            late_start.next_open(utc("2026-06-16T12:00:00Z"), Tz::UTC),
            at("2026-06-18T09:00:00Z")
        );

        // The next opening (Thu 09:00) is after the end (Thu 08:00): the recipient expires.
        window.start = None;
        window.end = Some(fixed("2026-06-18T08:00:00Z"));
        let early_end = SendPolicy::new(Some(&window), None, DEFAULT_ALLOWED_HOURS);
        assert_eq!(
            early_end.next_open(utc("2026-06-17T18:00:00Z"), Tz::UTC),
            NextOpen::Never
        );
    }

    #[test]
    fn conflicting_days_close_the_window() {
        // Wed is named twice; validation refuses this, the policy sends nothing.
        let policy = policy(&[("mon-fri", "09:00-17:00"), ("wed", "closed")], None);
        assert!(!policy.is_open(utc("2026-06-15T12:00:00Z"), Tz::UTC));
        assert_eq!(
            policy.next_open(utc("2026-06-15T12:00:00Z"), Tz::UTC),
            NextOpen::Never
        );
    }

    #[test]
    fn the_dst_transitions_used_below_are_real() {
        let offset = |tz: Tz, text: &str| offset_at(tz, utc(text).timestamp()).map(|s| s / 60);
        // New York: 2026-03-08 02:00 EST jumps to 03:00 EDT at 07:00Z.
        assert_eq!(offset(NEW_YORK, "2026-03-08T06:59:59Z"), Some(-300));
        assert_eq!(offset(NEW_YORK, "2026-03-08T07:00:00Z"), Some(-240));
        // 2026-11-01 02:00 EDT falls back to 01:00 EST at 06:00Z.
        assert_eq!(offset(NEW_YORK, "2026-11-01T05:59:59Z"), Some(-240));
        assert_eq!(offset(NEW_YORK, "2026-11-01T06:00:00Z"), Some(-300));
        // London: 01:00 GMT to 02:00 BST on 2026-03-29, back on 2026-10-25, both at 01:00Z.
        assert_eq!(offset(LONDON, "2026-03-29T00:59:59Z"), Some(0));
        assert_eq!(offset(LONDON, "2026-03-29T01:00:00Z"), Some(60));
        assert_eq!(offset(LONDON, "2026-10-25T00:59:59Z"), Some(60));
        assert_eq!(offset(LONDON, "2026-10-25T01:00:00Z"), Some(0));
        // Lord Howe: 02:00 +10:30 to 02:30 +11 on 2026-10-04 (15:30Z on the 3rd), and
        // 02:00 +11 back to 01:30 +10:30 on 2026-04-05 (15:00Z on the 4th).
        assert_eq!(offset(LORD_HOWE, "2026-10-03T15:29:59Z"), Some(630));
        assert_eq!(offset(LORD_HOWE, "2026-10-03T15:30:00Z"), Some(660));
        assert_eq!(offset(LORD_HOWE, "2026-04-04T14:59:59Z"), Some(660));
        assert_eq!(offset(LORD_HOWE, "2026-04-04T15:00:00Z"), Some(630));
        // Kathmandu: +05:45 all year.
        assert_eq!(offset(KATHMANDU, "2026-01-15T00:00:00Z"), Some(345));
        assert_eq!(offset(KATHMANDU, "2026-07-15T00:00:00Z"), Some(345));
        // All of these transitions fall on a Sunday.
        for day in [
            "2026-03-08",
            "2026-11-01",
            "2026-03-29",
            "2026-10-25",
            "2026-10-04",
            "2026-04-05",
        ] {
            let date: NaiveDate = day.parse().expect("date");
            assert_eq!(date.weekday(), Weekday::Sun, "{day}");
        }
    }

    #[test]
    fn new_york_spring_forward_opens_when_the_clocks_jump() {
        // 02:30 does not exist on 2026-03-08: the range opens at 03:00 EDT = 07:00Z.
        let policy = night_policy(&[("sun", "02:30-04:00")]);
        // From midnight EST (05:00Z).
        assert_eq!(
            policy.next_open(utc("2026-03-08T05:00:00Z"), NEW_YORK),
            at("2026-03-08T07:00:00Z")
        );
        assert!(!policy.is_open(utc("2026-03-08T06:59:59Z"), NEW_YORK));
        assert!(policy.is_open(utc("2026-03-08T07:00:00Z"), NEW_YORK));
        assert_eq!(
            local_to_utc(NEW_YORK, date("2026-03-08"), time("02:30")),
            utc("2026-03-08T07:00:00Z")
        );
        // A range entirely inside the gap never happens that day: next Sunday 02:15 EDT.
        let in_gap = night_policy(&[("sun", "02:15-02:45")]);
        assert_eq!(
            in_gap.next_open(utc("2026-03-08T05:00:00Z"), NEW_YORK),
            at("2026-03-15T06:15:00Z")
        );
    }

    #[test]
    fn new_york_fall_back_opens_at_the_first_pass() {
        // 01:30 happens at 05:30Z (EDT) and again at 06:30Z (EST): the first one counts.
        let policy = night_policy(&[("sun", "01:30-02:30")]);
        assert_eq!(
            policy.next_open(utc("2026-11-01T04:00:00Z"), NEW_YORK),
            at("2026-11-01T05:30:00Z")
        );
        assert_eq!(
            local_to_utc(NEW_YORK, date("2026-11-01"), time("01:30")),
            utc("2026-11-01T05:30:00Z")
        );
        // The wall clock passes 01:30-02:00 twice; 02:00-02:30 only once, in EST.
        assert!(policy.is_open(utc("2026-11-01T06:30:00Z"), NEW_YORK));
        assert!(policy.is_open(utc("2026-11-01T07:15:00Z"), NEW_YORK));
        assert!(!policy.is_open(utc("2026-11-01T07:30:00Z"), NEW_YORK));

        // After the first pass has gone by, the second pass is still an opening:
        // at 01:45 EDT (05:45Z) 01:30-01:40 has passed, and reopens at 01:30 EST (06:30Z).
        let short = night_policy(&[("sun", "01:30-01:40")]);
        assert_eq!(
            short.next_open(utc("2026-11-01T05:45:00Z"), NEW_YORK),
            at("2026-11-01T06:30:00Z")
        );
        // And the clocks falling back into the middle of a range open it: at 06:00Z the wall
        // clock goes from 01:59:59 EDT back to 01:00 EST, inside 00:30-01:40.
        let early = night_policy(&[("sun", "00:30-01:40")]);
        assert_eq!(
            early.next_open(utc("2026-11-01T05:45:00Z"), NEW_YORK),
            at("2026-11-01T06:00:00Z")
        );
    }

    #[test]
    fn london_transitions() {
        // 2026-03-29: 01:00 GMT jumps to 02:00 BST at 01:00Z; 01:30 is in the gap, so
        // 01:30-03:00 opens at 02:00 BST = 01:00Z.
        let spring = night_policy(&[("sun", "01:30-03:00")]);
        assert_eq!(
            spring.next_open(utc("2026-03-29T00:00:00Z"), LONDON),
            at("2026-03-29T01:00:00Z")
        );
        // 2026-10-25: 02:00 BST falls back to 01:00 GMT at 01:00Z; the first 01:30 is BST,
        // 00:30Z.
        let autumn = night_policy(&[("sun", "01:30-02:30")]);
        assert_eq!(
            autumn.next_open(utc("2026-10-25T00:00:00Z"), LONDON),
            at("2026-10-25T00:30:00Z")
        );
    }

    #[test]
    fn lord_howe_half_hour_transitions() {
        // 2026-10-04: 02:00 +10:30 jumps to 02:30 +11 at 15:30Z on the 3rd. 02:10 is in the
        // gap, so 02:10-03:00 opens at 02:30 +11 = 15:30Z. Asked at 23:30 Sat local (13:00Z).
        let spring = night_policy(&[("sun", "02:10-03:00")]);
        assert_eq!(
            spring.next_open(utc("2026-10-03T13:00:00Z"), LORD_HOWE),
            at("2026-10-03T15:30:00Z")
        );
        assert_eq!(
            local_to_utc(LORD_HOWE, date("2026-10-04"), time("02:10")),
            utc("2026-10-03T15:30:00Z")
        );
        // 02:05-02:25 is inside the gap: next Sunday 02:05 +11 = 15:05Z on Sat the 10th.
        let in_gap = night_policy(&[("sun", "02:05-02:25")]);
        assert_eq!(
            in_gap.next_open(utc("2026-10-03T13:00:00Z"), LORD_HOWE),
            at("2026-10-10T15:05:00Z")
        );
        // 2026-04-05: 02:00 +11 falls back to 01:30 +10:30 at 15:00Z on the 4th. 01:45 comes
        // first at +11, 14:45Z. Asked at 00:00 Sun local +11 (13:00Z).
        let autumn = night_policy(&[("sun", "01:45-03:00")]);
        assert_eq!(
            autumn.next_open(utc("2026-04-04T13:00:00Z"), LORD_HOWE),
            at("2026-04-04T14:45:00Z")
        );
    }

    #[test]
    fn kathmandu_quarter_hour_offset() {
        // +05:45: 09:00 local on Mon 2026-06-15 is 03:15Z; asked at 05:45 local (00:00Z).
        let policy = policy(&[("mon-fri", "09:00-17:00")], None);
        assert_eq!(
            policy.next_open(utc("2026-06-15T00:00:00Z"), KATHMANDU),
            at("2026-06-15T03:15:00Z")
        );
        // 16:59:59 local is 11:14:59Z; 17:00 local is 11:15Z.
        assert!(policy.is_open(utc("2026-06-15T11:14:59Z"), KATHMANDU));
        assert!(!policy.is_open(utc("2026-06-15T11:15:00Z"), KATHMANDU));
    }

    #[test]
    fn local_to_utc_of_an_ordinary_time() {
        // 12:00 EDT in June is 16:00Z.
        assert_eq!(
            local_to_utc(NEW_YORK, date("2026-06-17"), time("12:00")),
            utc("2026-06-17T16:00:00Z")
        );
    }

    fn date(text: &str) -> NaiveDate {
        text.parse().expect("date")
    }

    fn time(text: &str) -> NaiveTime {
        NaiveTime::parse_from_str(text, "%H:%M").expect("time")
    }

    // ---- Property tests ----

    const ZONES: [Tz; 5] = [NEW_YORK, LONDON, LORD_HOWE, KATHMANDU, Tz::UTC];
    const YEAR_2026: std::ops::Range<i64> = 1_767_225_600..1_798_761_600;
    const QUARTER: i64 = 15 * 60;

    fn quarter(q: u16) -> String {
        format!("{:02}:{:02}", q / 4, (q % 4) * 15)
    }

    /// Ranges on a quarter-hour grid: with every offset of `ZONES` a multiple of 15 minutes and
    /// every transition on a quarter hour, an opening always lands on a UTC quarter hour (or on
    /// the campaign start), so sampling those instants checks minimality exhaustively.
    fn day_hours() -> impl Strategy<Value = Option<String>> {
        let ranges = prop::collection::btree_set(0u16..=96, 0..=6).prop_map(|points| {
            let points: Vec<u16> = points.into_iter().collect();
            let parts: Vec<String> = points
                .chunks_exact(2)
                .map(|pair| format!("{}-{}", quarter(pair[0]), quarter(pair[1])))
                .collect();
            if parts.is_empty() {
                "closed".to_string()
            } else {
                parts.join(", ")
            }
        });
        prop_oneof![1 => Just(None), 4 => ranges.prop_map(Some)]
    }

    /// The 2026 DST transitions of `ZONES`.
    fn transitions() -> Vec<(Tz, DateTime<Utc>)> {
        [
            (NEW_YORK, "2026-03-08T07:00:00Z"),
            (NEW_YORK, "2026-11-01T06:00:00Z"),
            (LONDON, "2026-03-29T01:00:00Z"),
            (LONDON, "2026-10-25T01:00:00Z"),
            (LORD_HOWE, "2026-10-03T15:30:00Z"),
            (LORD_HOWE, "2026-04-04T15:00:00Z"),
        ]
        .map(|(tz, text)| (tz, utc(text)))
        .to_vec()
    }

    /// A timezone and an instant in 2026, half of the time within `spread` seconds of one of
    /// that zone's DST transitions, where the interesting cases are.
    fn zone_and_instant(spread: i64) -> impl Strategy<Value = (Tz, DateTime<Utc>)> {
        let anywhere =
            (prop::sample::select(ZONES.to_vec()), YEAR_2026).prop_map(|(tz, second)| {
                (
                    tz,
                    DateTime::from_timestamp(second, 0).expect("2026 instant"),
                )
            });
        let near = (prop::sample::select(transitions()), -spread..spread)
            .prop_map(|((tz, transition), delta)| (tz, transition + Duration::seconds(delta)));
        prop_oneof![anywhere, near]
    }

    fn time_range() -> impl Strategy<Value = TimeRange> {
        (0u16..96)
            .prop_flat_map(|start| (Just(start), start + 1..=96))
            .prop_map(|(start, end)| range(&format!("{}-{}", quarter(start), quarter(end))))
    }

    #[derive(Debug, Clone)]
    struct Case {
        window: Option<SendWindow>,
        quiet: Option<QuietHours>,
        global: TimeRange,
        at: DateTime<Utc>,
        tz: Tz,
    }

    fn case() -> impl Strategy<Value = Case> {
        let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let days = prop::array::uniform7(day_hours()).prop_map(move |hours| {
            names
                .iter()
                .zip(hours)
                .filter_map(|(name, hours)| Some((name.to_string(), hours?.parse().ok()?)))
                .collect::<BTreeMap<String, _>>()
        });
        let quiet =
            prop::option::of((prop::option::of(time_range()), any::<bool>())).prop_map(|quiet| {
                quiet.map(|(allowed, override_global)| QuietHours {
                    allowed,
                    override_global,
                    reason: None,
                })
            });
        let bounds = (
            prop::option::of(-3 * SECONDS_PER_DAY..5 * SECONDS_PER_DAY),
            prop::option::of(0..20 * SECONDS_PER_DAY),
        );
        (
            prop::option::weighted(0.85, (days, bounds)),
            quiet,
            time_range(),
            zone_and_instant(2 * SECONDS_PER_DAY),
        )
            .prop_map(|(window, quiet, global, (tz, at))| {
                let window = window.map(|(days, (start, end))| SendWindow {
                    timezone: TimezoneSpec {
                        field: "timezone".into(),
                        default: Timezone(tz),
                    },
                    days,
                    start: start.map(|s| (at + Duration::seconds(s)).fixed_offset()),
                    end: end.map(|s| (at + Duration::seconds(s)).fixed_offset()),
                });
                Case {
                    window,
                    quiet,
                    global,
                    at,
                    tz,
                }
            })
    }

    /// `is_open` restated from the model types, without the precomputed intersection.
    fn reference_is_open(case: &Case, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&case.tz);
        let minute = TimeOfDay::from_hm(local.hour() as u16, local.minute() as u16)
            .expect("a wall-clock minute");
        let (in_window, in_campaign) = match &case.window {
            None => (true, true),
            Some(window) => (
                WeeklyHours::resolve(&window.days).is_ok_and(|weekly| {
                    weekly
                        .on(local.weekday())
                        .ranges()
                        .iter()
                        .any(|r| r.contains(minute))
                }),
                window.start.is_none_or(|start| at >= start)
                    && window.end.is_none_or(|end| at < end),
            ),
        };
        let quiet_allows = match &case.quiet {
            Some(quiet) if quiet.override_global => true,
            quiet => {
                case.global.contains(minute)
                    && quiet
                        .as_ref()
                        .and_then(|q| q.allowed)
                        .is_none_or(|a| a.contains(minute))
            }
        };
        in_window && in_campaign && quiet_allows
    }

    /// Every instant in `[from, to)` where an opening could be: UTC quarter hours, the
    /// campaign start, and `to - 1s`.
    fn candidate_instants(
        case: &Case,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<DateTime<Utc>> {
        let first = from.timestamp().div_euclid(QUARTER) * QUARTER;
        let mut instants: Vec<DateTime<Utc>> = (0..)
            .map(|k| first + k * QUARTER)
            .take_while(|&second| second < to.timestamp())
            .filter_map(|second| DateTime::from_timestamp(second, 0))
            .filter(|&instant| instant >= from)
            .collect();
        instants.push(to - Duration::seconds(1));
        if let Some(start) = case.window.as_ref().and_then(|w| w.start) {
            instants.push(start.with_timezone(&Utc));
        }
        instants.retain(|&instant| from <= instant && instant < to);
        instants
    }

    fn build(case: &Case) -> SendPolicy {
        SendPolicy::new(case.window.as_ref(), case.quiet.as_ref(), case.global)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn is_open_matches_the_wall_clock_definition(case in case(), steps in prop::collection::vec(0..SECONDS_PER_DAY, 16)) {
            let policy = build(&case);
            for step in steps {
                let instant = case.at + Duration::seconds(step);
                prop_assert_eq!(policy.is_open(instant, case.tz), reference_is_open(&case, instant), "at {}", instant);
            }
        }

        #[test]
        fn next_open_is_the_first_open_instant(case in case()) {
            let policy = build(&case);
            let open_now = policy.is_open(case.at, case.tz);
            match policy.next_open(case.at, case.tz) {
                NextOpen::Now => prop_assert!(open_now),
                NextOpen::At(found) => {
                    prop_assert!(!open_now);
                    prop_assert!(found > case.at);
                    prop_assert!(policy.is_open(found, case.tz), "{} is not open", found);
                    for instant in candidate_instants(&case, case.at, found) {
                        prop_assert!(!policy.is_open(instant, case.tz), "{} is open before {}", instant, found);
                    }
                }
                NextOpen::Never => {
                    prop_assert!(!open_now);
                    // Nothing opens within the lookahead from the later of `at` and the start,
                    // nor before the end.
                    let from = policy.start().map_or(case.at, |start| start.max(case.at));
                    let mut to = from + Duration::seconds(LOOKAHEAD_SECONDS);
                    if let Some(end) = policy.end() {
                        to = to.min(end);
                    }
                    for instant in candidate_instants(&case, case.at, to) {
                        prop_assert!(!policy.is_open(instant, case.tz), "{} is open", instant);
                    }
                }
            }
        }

        #[test]
        fn local_to_utc_is_the_first_instant_showing_that_time(
            (tz, instant) in zone_and_instant(2 * SECONDS_PER_DAY),
            minutes in -180i64..180,
        ) {
            // A wall-clock reading on the minute; half of the time within three hours of the
            // reading at which a transition happens, so its gap or overlap gets visited.
            let near = transitions().into_iter().find(|&(zone, transition)| {
                zone == tz && (transition - instant).num_seconds().abs() <= 2 * SECONDS_PER_DAY
            });
            let wall = match near {
                Some((_, transition)) => {
                    let before = transition - Duration::seconds(1);
                    before.with_timezone(&tz).naive_local()
                        + Duration::seconds(1)
                        + Duration::minutes(minutes)
                }
                None => {
                    let local = instant.with_timezone(&tz).naive_local();
                    local - Duration::seconds(i64::from(local.second()))
                }
            };
            let found = local_to_utc(tz, wall.date(), wall.time());
            let shown = |instant: DateTime<Utc>| instant.with_timezone(&tz).naive_local();
            match tz.from_local_datetime(&wall).earliest() {
                // It exists: the earliest instant showing it.
                Some(earliest) => prop_assert_eq!(found, earliest.with_timezone(&Utc)),
                // It is in a gap: the clock jumps over it exactly at `found`.
                None => {
                    prop_assert!(shown(found) > wall, "{} shows {}", found, shown(found));
                    prop_assert!(shown(found - Duration::seconds(1)) < wall);
                }
            }
        }
    }
}
