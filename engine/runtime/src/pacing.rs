//! How fast sends go out: per sender number and per provider account.
//!
//! A [`Pacer`] holds [`Limits`] and recent grants for many keys. A key is a sender number
//! (`"+14165550100"`) or a provider account (`"account:twilio-main"`); the scheduler asks for
//! every key a send touches at once, typically `[sender, account]`.
//!
//! The module is pure: no I/O, no tokio, and it never reads the wall clock. The caller passes
//! `now` (the runtime's injectable clock), so pacing is tested with hand-written instants and
//! replays identically.
//!
//! # Guarantees
//!
//! For every key, over the sends it granted (a send of cost `c` is a message, `c = 1`, or its
//! segment count):
//!
//! - **`per_second = x`**: each key keeps a schedule of emission instants. A send of cost `c`
//!   is granted once the schedule's next instant `e` has come, and moves it to `e + c/x`: sends
//!   that run on time go out exactly `c/x` apart. A grant made late (the scheduler's tick came
//!   after `e`) keeps the schedule instead of restarting it from the late instant, as long as
//!   it is at most [`CATCH_UP`] late; otherwise (the key was idle) the schedule restarts at the
//!   grant, `t + c/x`. So over any span `[t_i, t_j]` between two grants the cost granted before
//!   `t_j` is at most `x · (t_j − t_i + CATCH_UP)`: the long-run rate is exactly `x`, and no two
//!   sends are closer than `c/x − CATCH_UP`. There is no other burst allowance: carriers meter
//!   a long code by the spacing between messages, not by a bucket that refills. Without the
//!   catch-up every tick that came a few milliseconds late would lose those milliseconds, and
//!   a fast sender would run at the tick rate instead of its limit.
//! - **`per_minute = n`**: in every window `(t - 60 s, t]` the granted cost is at most `n`. The
//!   window slides (a log of the grants still inside it, at most `n` entries); a fixed
//!   minute bucket would let `2n` through around a bucket boundary.
//! - **`per_day = n`**: the cost granted within one UTC calendar day is at most `n`.
//! - **throttle**: after [`Pacer::throttle`]`(key, until)` nothing is granted for the key before
//!   `until`; the provider told us so and a rejected send is wasted work.
//!
//! A send is granted only if every limit of every key it names allows it, and then it is
//! charged to all of them; otherwise nothing is charged and the refusal carries the earliest
//! instant at which the same send would be granted (provided nothing else is granted in the
//! meantime), so the scheduler sleeps exactly that long: one nanosecond earlier is refused.
//!
//! # Decisions
//!
//! - **Oversized sends.** A send whose cost exceeds a count limit (cost 5 with `per_minute: 3`)
//!   could never fit and would stall its recipient forever. It is granted when the window (the
//!   last 60 s, or the UTC day) holds no other grant, and it counts in full, so it keeps
//!   everything else out until it has left the window. This is the only way a window exceeds
//!   its limit, and then it holds that one send alone.
//! - **Invalid limits block the key** (`per_second` not finite or not above 0, a count of 0):
//!   nothing is granted for it until valid limits are set, and the retry-at is the end of
//!   time. A broken value may stall a sender; it must never unleash one on a carrier. The
//!   workflow schema already refuses such values; [`Limits::validate`] checks the others.
//! - **Cost 0** counts as 1: an empty message is still one segment on the carrier.
//! - **Time runs forward per key.** A `now` earlier than the key's latest grant (a clock
//!   stepped back) is refused until that grant's instant. Measuring windows in one direction
//!   is what makes the guarantees hold, and keeps the per-minute log sorted.
//! - **Throttles only grow.** A second, earlier `until` does not shorten a throttle.
//! - **Limit changes** apply from the next decision; history is kept, so a reload does not open
//!   a burst. Removing `per_minute` drops its log; adding one starts from an empty window.
//! - Resolution is the nanosecond (that of [`DateTime`]); emission intervals are rounded up.
//!
//! Sender pools: [`sticky_index`] (the same contact always maps to the same number, across
//! restarts and machines) and [`RoundRobin`] pick which number a send uses; pacing then applies
//! to that number.

use std::collections::{HashMap, VecDeque};
use std::fmt;

use chrono::{DateTime, NaiveTime, TimeDelta, Utc};
use switchboard_model::hash::fnv1a_64;

/// The sliding window of `per_minute`.
const MINUTE: TimeDelta = TimeDelta::seconds(60);

/// How late a `per_second` grant may be and still keep its key's emission schedule (see the
/// module doc): the scheduler's jitter (a tick that waited for a disk sync or a batch of
/// provider calls), not a burst allowance. At 1 message/s it lets two sends come 950 ms apart
/// after a late tick; at 300/s it lets a tick 50 ms late send the 15 that were due.
pub const CATCH_UP: TimeDelta = TimeDelta::milliseconds(50);

const NANOS_PER_SECOND: f64 = 1e9;

/// Pace limits of one key; `None` means "no limit of this kind". The default has no limits.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    /// At most this much cost per second, as a smooth emission interval: a send of cost `c`
    /// keeps the key busy for `c / per_second` seconds. Fractions allowed (0.5 = one every
    /// two seconds); must be finite and above 0.
    pub per_second: Option<f64>,
    /// At most this much cost in any 60-second window; at least 1.
    pub per_minute: Option<u32>,
    /// At most this much cost per UTC calendar day; at least 1.
    pub per_day: Option<u32>,
}

impl Limits {
    /// Whether the limits make sense: `per_second` finite and above 0, the counts at least 1.
    /// A [`Pacer`] grants nothing for a key whose limits do not.
    pub fn validate(&self) -> Result<(), InvalidLimits> {
        if let Some(x) = self.per_second
            && !(x.is_finite() && x > 0.0)
        {
            return Err(InvalidLimits::PerSecond(x));
        }
        if self.per_minute == Some(0) {
            return Err(InvalidLimits::PerMinuteZero);
        }
        if self.per_day == Some(0) {
            return Err(InvalidLimits::PerDayZero);
        }
        Ok(())
    }
}

/// Why a [`Limits`] value is invalid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InvalidLimits {
    /// `per_second` is zero, negative, NaN or infinite.
    PerSecond(f64),
    /// `per_minute` is 0: nothing could ever be sent.
    PerMinuteZero,
    /// `per_day` is 0: nothing could ever be sent.
    PerDayZero,
}

impl fmt::Display for InvalidLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidLimits::PerSecond(x) => {
                write!(f, "per_second must be a finite number above 0, got {x}")
            }
            InvalidLimits::PerMinuteZero => f.write_str("per_minute must be at least 1, got 0"),
            InvalidLimits::PerDayZero => f.write_str("per_day must be at least 1, got 0"),
        }
    }
}

impl std::error::Error for InvalidLimits {}

/// Paces sends for many keys (sender numbers, provider accounts). See the module doc for the
/// guarantees.
#[derive(Debug, Clone, Default)]
pub struct Pacer {
    /// Keys with limits or a throttle; a key missing here is unlimited and carries no state.
    keys: HashMap<String, KeyState>,
}

/// Limits and what has been granted for one key.
#[derive(Debug, Clone, Default)]
struct KeyState {
    limits: Limits,
    /// Nothing is granted before this instant. Only ever moves later.
    throttled_until: Option<DateTime<Utc>>,
    /// The latest grant: a decision earlier than this is refused, which keeps every record
    /// below in time order.
    last_grant: Option<DateTime<Utc>>,
    /// The next instant of the emission schedule (`per_second`): nothing is granted before it.
    next_emission: Option<DateTime<Utc>>,
    /// Grants that may still be inside the 60 s window, oldest first (`per_minute` = n). Pruned
    /// on every grant, so it holds at most n entries: each costs at least 1 and together they
    /// cost at most n, or it is a single oversized one. Empty while there is no `per_minute`.
    minute_log: VecDeque<(DateTime<Utc>, u32)>,
    /// The latest wake-up slot handed to a refused send (`per_second`): the next refused one
    /// waits one emission interval later, so refused sends queue up instead of all waking at
    /// the same instant and being refused again but one.
    queue_tail: Option<DateTime<Utc>>,
    /// The UTC day of the latest grant and the cost granted on it (`per_day`). Kept even
    /// without `per_day`: it is two words, and a limit added mid-day then sees the day's sends.
    day_used: Option<(chrono::NaiveDate, u64)>,
}

impl Pacer {
    /// A pacer with no keys: everything is unlimited until limits are set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set (or replace) the limits of `key`. Grants already made still count against the new
    /// limits. Limits that fail [`Limits::validate`] block the key until valid ones are set.
    pub fn set_limits(&mut self, key: &str, limits: Limits) {
        let state = self.keys.entry(key.to_owned()).or_default();
        state.limits = limits;
        if limits.per_minute.is_none() {
            // Without a limit the log would grow with every send; it is not needed.
            state.minute_log = VecDeque::new();
        }
    }

    /// The provider answered "throttled, retry after `until`": nothing is granted for `key`
    /// before `until`. An earlier `until` than a throttle already in force is ignored.
    pub fn throttle(&mut self, key: &str, until: DateTime<Utc>) {
        let state = self.keys.entry(key.to_owned()).or_default();
        state.throttled_until = Some(state.throttled_until.map_or(until, |t| t.max(until)));
    }

    /// Whether a send of `cost` for all `keys` would be granted at `now`, without charging it:
    /// `Ok(())`, or `Err(retry_at)` with the earliest instant (after `now`) at which it would be.
    pub fn check(&self, keys: &[&str], cost: u32, now: DateTime<Utc>) -> Result<(), DateTime<Utc>> {
        let cost = cost.max(1);
        let ready = distinct(keys)
            .filter_map(|key| self.keys.get(key))
            .map(|state| state.ready_at(cost, now))
            .fold(now, DateTime::max);
        if ready > now { Err(ready) } else { Ok(()) }
    }

    /// When a send refused with `ready` (its earliest grant, from [`Pacer::try_acquire`])
    /// should wake: `ready` for the first refused send, then one per-second emission interval
    /// after the previous refused send's slot, so a backlog wakes one by one at the limit's
    /// pace. Nothing is charged: a slot is a hint, and the grant is decided when it comes.
    pub fn queue_slot(&mut self, keys: &[&str], cost: u32, ready: DateTime<Utc>) -> DateTime<Utc> {
        let cost = cost.max(1);
        let mut slot = ready;
        for key in distinct(keys) {
            if let Some(state) = self.keys.get(key)
                && let Some(per_second) = state.limits.per_second
                && let Some(tail) = state.queue_tail
            {
                let interval = TimeDelta::nanoseconds(emission_interval_nanos(cost, per_second));
                slot = slot.max(add(tail, interval));
            }
        }
        for key in distinct(keys) {
            if let Some(state) = self.keys.get_mut(key)
                && state.limits.per_second.is_some()
            {
                state.queue_tail = Some(slot);
            }
        }
        slot
    }

    /// Take `cost` (1 per message, or its segment count) from every key in `keys` (typically
    /// `[sender, account]`), atomically: either every key grants and all are charged, or none
    /// is charged and the answer is the earliest instant at which this send would be granted.
    /// A key listed twice is charged once; keys without limits always grant.
    pub fn try_acquire(
        &mut self,
        keys: &[&str],
        cost: u32,
        now: DateTime<Utc>,
    ) -> Result<(), DateTime<Utc>> {
        self.check(keys, cost, now)?;
        let cost = cost.max(1);
        for key in distinct(keys) {
            if let Some(state) = self.keys.get_mut(key) {
                state.charge(cost, now);
            }
        }
        Ok(())
    }
}

impl KeyState {
    /// The earliest instant, at or after `now`, at which every limit of this key allows a send
    /// of `cost`. Each limit, once it allows a send, keeps allowing it as time passes (as long
    /// as nothing else is granted), so the latest of their instants is exact.
    fn ready_at(&self, cost: u32, now: DateTime<Utc>) -> DateTime<Utc> {
        if self.limits.validate().is_err() {
            return DateTime::<Utc>::MAX_UTC;
        }
        let mut ready = now;
        for t in [self.last_grant, self.throttled_until]
            .into_iter()
            .flatten()
        {
            ready = ready.max(t);
        }
        if self.limits.per_second.is_some()
            && let Some(t) = self.next_emission
        {
            ready = ready.max(t);
        }
        if let Some(n) = self.limits.per_minute {
            ready = ready.max(self.minute_ready_at(n, cost, now));
        }
        if let Some(n) = self.limits.per_day
            && let Some((day, used)) = self.day_used
            && day == now.date_naive()
            && !fits(used, cost, n)
        {
            ready = ready.max(next_utc_midnight(now));
        }
        ready
    }

    /// When enough of the window has slid past for `cost` to fit: the grant that has to leave
    /// last leaves 60 s after it was made.
    fn minute_ready_at(&self, limit: u32, cost: u32, now: DateTime<Utc>) -> DateTime<Utc> {
        let window_start = sub(now, MINUTE);
        let in_window = || self.minute_log.iter().filter(|(t, _)| *t > window_start);
        let mut used: u64 = in_window().map(|&(_, c)| u64::from(c)).sum();
        let mut ready = now;
        for &(t, c) in in_window() {
            if fits(used, cost, limit) {
                break;
            }
            used -= u64::from(c);
            ready = add(t, MINUTE);
        }
        ready
    }

    /// Record a grant the caller has checked with [`KeyState::ready_at`].
    fn charge(&mut self, cost: u32, now: DateTime<Utc>) {
        self.last_grant = Some(now);
        if self.throttled_until.is_some_and(|t| t <= now) {
            self.throttled_until = None;
        }
        let schedule = match self.next_emission {
            // On time, or late by no more than the catch-up: the schedule goes on.
            Some(due) if due >= sub(now, CATCH_UP) => due.min(now),
            // Idle (or no schedule yet): it restarts at this grant.
            _ => now,
        };
        self.next_emission = self.limits.per_second.map(|x| {
            add(
                schedule,
                TimeDelta::nanoseconds(emission_interval_nanos(cost, x)),
            )
        });
        if self.limits.per_minute.is_some() {
            let window_start = sub(now, MINUTE);
            while self
                .minute_log
                .front()
                .is_some_and(|(t, _)| *t <= window_start)
            {
                self.minute_log.pop_front();
            }
            self.minute_log.push_back((now, cost));
        }
        let today = now.date_naive();
        self.day_used = Some(match self.day_used {
            Some((day, used)) if day == today => (day, used.saturating_add(u64::from(cost))),
            _ => (today, u64::from(cost)),
        });
    }
}

/// Whether `cost` fits on top of `used` under `limit`; an oversized cost fits an empty window.
fn fits(used: u64, cost: u32, limit: u32) -> bool {
    used == 0 || used.saturating_add(u64::from(cost)) <= u64::from(limit)
}

/// How long a send of `cost` occupies a key limited to `per_second`, in nanoseconds, rounded
/// up so that `interval * per_second >= cost * 1e9` holds in `f64` arithmetic too: the
/// guarantee is then checkable with the same arithmetic.
fn emission_interval_nanos(cost: u32, per_second: f64) -> i64 {
    let target = f64::from(cost) * NANOS_PER_SECOND;
    let mut nanos = (target / per_second).ceil();
    // The division rounds to nearest, so the product can fall a hair short; step to the next
    // whole nanosecond (above 2^53 every f64 is whole, and `next_up` is the next one).
    while nanos * per_second < target {
        nanos = if nanos < 9_007_199_254_740_992.0 {
            nanos + 1.0
        } else {
            nanos.next_up()
        };
    }
    if nanos >= i64::MAX as f64 {
        i64::MAX
    } else {
        // Whole and in range: the conversion is exact.
        nanos as i64
    }
}

/// Each key of `keys` once, in order: a key listed twice is one key, charged once. A send names
/// two or three keys, so a quadratic scan beats allocating a set on every decision.
fn distinct<'a>(keys: &'a [&'a str]) -> impl Iterator<Item = &'a str> + 'a {
    keys.iter()
        .enumerate()
        .filter(|&(i, key)| !keys[..i].contains(key))
        .map(|(_, key)| *key)
}

/// `t + d`, or the last representable instant: a limit that far away means "never", and the
/// scheduler must not crash on it.
fn add(t: DateTime<Utc>, d: TimeDelta) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `t - d`, or the first representable instant.
fn sub(t: DateTime<Utc>, d: TimeDelta) -> DateTime<Utc> {
    t.checked_sub_signed(d).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The start of the UTC day after `now`'s.
fn next_utc_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    now.date_naive()
        .succ_opt()
        .map_or(DateTime::<Utc>::MAX_UTC, |day| {
            day.and_time(NaiveTime::MIN).and_utc()
        })
}

/// The pool index for `contact` under the sticky strategy: always below `pool_len`, except for
/// an empty pool, where it is 0 (index the pool with `get`).
///
/// Stable across restarts, machines and Rust versions: FNV-1a (64-bit) of the contact's bytes,
/// never std's randomly seeded hasher, so replies keep landing in one conversation. The index
/// comes from jump consistent hashing (Lamping and Veach, 2014) rather than `hash % len`:
/// when a number is appended to the pool only the contacts that move to the new number change
/// sender, instead of nearly all of them. Pass the contact in one canonical form (E.164).
pub fn sticky_index(contact: &str, pool_len: usize) -> usize {
    let buckets = i64::try_from(pool_len).unwrap_or(i64::MAX);
    let mut key = fnv1a_64(contact.as_bytes());
    let mut bucket: i64 = 0;
    let mut next: i64 = 0;
    while next < buckets {
        bucket = next;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        // The published algorithm's float step: the next bucket this key would jump to.
        let jump = (1u64 << 31) as f64 / ((key >> 33) + 1) as f64;
        next = ((bucket + 1) as f64 * jump) as i64;
    }
    // 0 <= bucket < pool_len (or 0 for an empty pool), so it converts.
    usize::try_from(bucket).unwrap_or(0)
}

/// Hands out pool indexes in turn, message by message (the round-robin strategy). One counter
/// per pool; it keeps turning when the pool's length changes.
#[derive(Debug, Clone, Default)]
pub struct RoundRobin {
    /// How many indexes have been handed out; wraps after `u64::MAX`.
    turn: u64,
}

impl RoundRobin {
    /// A counter that starts at index 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next index into a pool of `pool_len` numbers, or `None` for an empty pool (which
    /// does not advance the counter).
    pub fn next_index(&mut self, pool_len: usize) -> Option<usize> {
        let len = u64::try_from(pool_len).ok().filter(|&l| l > 0)?;
        let index = self.turn % len;
        self.turn = self.turn.wrapping_add(1);
        usize::try_from(index).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    const SENDER: &str = "+14165550100";
    const ACCOUNT: &str = "account:twilio-main";

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, 10, h, m, s)
            .single()
            .expect("valid test instant")
    }

    fn t0() -> DateTime<Utc> {
        at(12, 0, 0)
    }

    fn ms(n: i64) -> TimeDelta {
        TimeDelta::milliseconds(n)
    }

    fn secs(n: i64) -> TimeDelta {
        TimeDelta::seconds(n)
    }

    fn pacer(key: &str, limits: Limits) -> Pacer {
        let mut p = Pacer::new();
        p.set_limits(key, limits);
        p
    }

    fn per_second(x: f64) -> Limits {
        Limits {
            per_second: Some(x),
            ..Limits::default()
        }
    }

    fn per_minute(n: u32) -> Limits {
        Limits {
            per_minute: Some(n),
            ..Limits::default()
        }
    }

    fn per_day(n: u32) -> Limits {
        Limits {
            per_day: Some(n),
            ..Limits::default()
        }
    }

    #[test]
    fn refused_sends_queue_up_one_interval_apart() {
        let mut p = pacer("s", per_second(10.0));
        assert!(p.try_acquire(&["s"], 1, t0()).is_ok());
        let ready = p.try_acquire(&["s"], 1, t0()).expect_err("refused");
        let slots: Vec<_> = (0..3).map(|_| p.queue_slot(&["s"], 1, ready)).collect();
        assert_eq!(slots, vec![ready, ready + ms(100), ready + ms(200)]);
        // A key without a per-second limit adds no spacing.
        let mut unpaced = pacer("u", per_minute(5));
        assert_eq!(unpaced.queue_slot(&["u"], 1, t0()), t0());
        assert_eq!(unpaced.queue_slot(&["u"], 1, t0()), t0());
    }

    #[test]
    fn one_per_second_spaces_sends_one_second_apart() {
        let mut p = pacer(SENDER, per_second(1.0));
        assert_eq!(p.try_acquire(&[SENDER], 1, t0()), Ok(()));
        assert_eq!(
            p.try_acquire(&[SENDER], 1, t0() + ms(500)),
            Err(t0() + secs(1))
        );
        assert_eq!(p.try_acquire(&[SENDER], 1, t0() + secs(1)), Ok(()));
        assert_eq!(
            p.try_acquire(&[SENDER], 1, t0() + secs(1)),
            Err(t0() + secs(2))
        );
    }

    #[test]
    fn a_late_grant_keeps_the_schedule_and_an_idle_key_restarts_it() {
        let mut p = pacer(SENDER, per_second(10.0));
        assert_eq!(p.try_acquire(&[SENDER], 1, t0()), Ok(()));
        // The tick came 30 ms late: the next slot is still t0 + 200 ms, not 230 ms.
        assert_eq!(p.try_acquire(&[SENDER], 1, t0() + ms(130)), Ok(()));
        assert_eq!(
            p.try_acquire(&[SENDER], 1, t0() + ms(130)),
            Err(t0() + ms(200))
        );
        // A tick 50 ms late (the catch-up) sends what was due in that time at once.
        let mut p = pacer(SENDER, per_second(100.0));
        assert_eq!(p.try_acquire(&[SENDER], 1, t0()), Ok(()));
        let late = t0() + ms(10) + CATCH_UP;
        let granted = (0..20)
            .take_while(|_| p.try_acquire(&[SENDER], 1, late).is_ok())
            .count();
        assert_eq!(granted, 6, "the slots at 10, 20, 30, 40, 50 and 60 ms");
        // Idle for longer than the catch-up: no burst, the schedule restarts at the grant.
        let idle = late + secs(5);
        assert_eq!(p.try_acquire(&[SENDER], 1, idle), Ok(()));
        assert_eq!(p.try_acquire(&[SENDER], 1, idle), Err(idle + ms(10)));
    }

    #[test]
    fn half_per_second_is_one_every_two_seconds() {
        let mut p = pacer(SENDER, per_second(0.5));
        assert_eq!(p.try_acquire(&[SENDER], 1, t0()), Ok(()));
        assert_eq!(
            p.try_acquire(&[SENDER], 1, t0() + ms(1999)),
            Err(t0() + secs(2))
        );
        assert_eq!(p.try_acquire(&[SENDER], 1, t0() + secs(2)), Ok(()));
    }

    #[test]
    fn segments_occupy_the_emission_interval_per_unit_of_cost() {
        let mut p = pacer(SENDER, per_second(2.0));
        // Three segments at two per second: busy for 1.5 s.
        assert_eq!(p.try_acquire(&[SENDER], 3, t0()), Ok(()));
        assert_eq!(
            p.try_acquire(&[SENDER], 1, t0() + secs(1)),
            Err(t0() + ms(1500))
        );
        assert_eq!(p.try_acquire(&[SENDER], 1, t0() + ms(1500)), Ok(()));
    }

    #[test]
    fn a_third_per_second_rounds_the_interval_up_to_the_nanosecond() {
        let mut p = pacer(SENDER, per_second(3.0));
        assert_eq!(p.try_acquire(&[SENDER], 1, t0()), Ok(()));
        let third = TimeDelta::nanoseconds(333_333_334);
        assert_eq!(p.try_acquire(&[SENDER], 1, t0()), Err(t0() + third));
    }

    #[test]
    fn per_minute_refuses_the_fourth_until_the_first_leaves_the_window() {
        let mut p = pacer(SENDER, per_minute(3));
        for s in [0, 10, 20] {
            assert_eq!(p.try_acquire(&[SENDER], 1, t0() + secs(s)), Ok(()));
        }
        assert_eq!(
            p.try_acquire(&[SENDER], 1, t0() + secs(30)),
            Err(t0() + secs(60))
        );
        // The window is (t - 60 s, t]: at t0 + 60 s the grant made at t0 is out.
        assert_eq!(p.try_acquire(&[SENDER], 1, t0() + secs(60)), Ok(()));
        assert_eq!(
            p.try_acquire(&[SENDER], 1, t0() + secs(65)),
            Err(t0() + secs(70))
        );
    }

    #[test]
    fn per_minute_counts_segments() {
        let mut p = pacer(SENDER, per_minute(3));
        assert_eq!(p.try_acquire(&[SENDER], 2, t0()), Ok(()));
        assert_eq!(p.try_acquire(&[SENDER], 1, t0() + secs(1)), Ok(()));
        // 3 used; 2 more fit once the 2 segments sent at t0 have left, though 1 is still in.
        assert_eq!(
            p.try_acquire(&[SENDER], 2, t0() + secs(2)),
            Err(t0() + secs(60))
        );
        assert_eq!(p.try_acquire(&[SENDER], 2, t0() + secs(60)), Ok(()));
        assert_eq!(
            p.try_acquire(&[SENDER], 1, t0() + secs(60)),
            Err(t0() + secs(61))
        );
    }

    #[test]
    fn per_day_resets_at_utc_midnight() {
        let mut p = pacer(SENDER, per_day(2));
        let midnight = Utc
            .with_ymd_and_hms(2024, 3, 11, 0, 0, 0)
            .single()
            .expect("valid test instant");
        assert_eq!(p.try_acquire(&[SENDER], 1, at(23, 59, 0)), Ok(()));
        assert_eq!(p.try_acquire(&[SENDER], 1, at(23, 59, 30)), Ok(()));
        assert_eq!(p.try_acquire(&[SENDER], 1, at(23, 59, 59)), Err(midnight));
        assert_eq!(p.try_acquire(&[SENDER], 1, midnight), Ok(()));
        assert_eq!(p.try_acquire(&[SENDER], 1, midnight + secs(1)), Ok(()));
        assert_eq!(
            p.try_acquire(&[SENDER], 1, midnight + secs(2)),
            Err(midnight + TimeDelta::days(1))
        );
    }

    #[test]
    fn per_day_counts_segments() {
        let mut p = pacer(SENDER, per_day(5));
        assert_eq!(p.try_acquire(&[SENDER], 3, at(9, 0, 0)), Ok(()));
        assert_eq!(
            p.try_acquire(&[SENDER], 3, at(9, 0, 1)),
            Err(at(0, 0, 0) + TimeDelta::days(1))
        );
        assert_eq!(p.try_acquire(&[SENDER], 2, at(9, 0, 2)), Ok(()));
    }

    #[test]
    fn throttle_refuses_until_the_provider_says_and_never_shortens() {
        let mut p = Pacer::new();
        p.throttle(SENDER, t0() + secs(30));
        p.throttle(SENDER, t0() + secs(10));
        assert_eq!(p.try_acquire(&[SENDER], 1, t0()), Err(t0() + secs(30)));
        assert_eq!(
            p.try_acquire(&[SENDER], 1, t0() + secs(29)),
            Err(t0() + secs(30))
        );
        assert_eq!(p.try_acquire(&[SENDER], 1, t0() + secs(30)), Ok(()));
        // The throttled key was otherwise unlimited, and still is.
        assert_eq!(p.try_acquire(&[SENDER], 1, t0() + secs(30)), Ok(()));
    }

    #[test]
    fn a_refusing_account_leaves_the_sender_uncharged() {
        let mut p = pacer(SENDER, per_second(1.0));
        p.set_limits(ACCOUNT, per_minute(1));
        assert_eq!(p.try_acquire(&[SENDER, ACCOUNT], 1, t0()), Ok(()));
        assert_eq!(
            p.try_acquire(&[SENDER, ACCOUNT], 1, t0() + secs(2)),
            Err(t0() + secs(60))
        );
        // Had the refused attempt charged the sender, this would wait until t0 + 3 s.
        assert_eq!(p.try_acquire(&[SENDER], 1, t0() + secs(2)), Ok(()));
    }

    #[test]
    fn retry_at_is_the_latest_of_all_keys() {
        let mut p = pacer(SENDER, per_second(1.0));
        p.set_limits(ACCOUNT, per_minute(2));
        p.throttle("+14165550199", t0() + secs(5));
        assert_eq!(p.try_acquire(&[SENDER, ACCOUNT], 1, t0()), Ok(()));
        assert_eq!(
            p.try_acquire(&[SENDER, ACCOUNT], 1, t0()),
            Err(t0() + secs(1))
        );
        assert_eq!(p.try_acquire(&[ACCOUNT], 1, t0()), Ok(()));
        let keys = [SENDER, ACCOUNT, "+14165550199"];
        assert_eq!(
            p.try_acquire(&keys, 1, t0() + ms(100)),
            Err(t0() + secs(60))
        );
    }

    #[test]
    fn an_oversized_send_goes_alone_into_an_empty_window() {
        let mut p = pacer(SENDER, per_minute(3));
        assert_eq!(p.try_acquire(&[SENDER], 5, t0()), Ok(()));
        assert_eq!(
            p.try_acquire(&[SENDER], 1, t0() + secs(30)),
            Err(t0() + secs(60))
        );
        assert_eq!(p.try_acquire(&[SENDER], 1, t0() + secs(60)), Ok(()));
        // Not empty any more: the oversized send waits for the window to clear.
        assert_eq!(
            p.try_acquire(&[SENDER], 5, t0() + secs(61)),
            Err(t0() + secs(120))
        );
        assert_eq!(p.try_acquire(&[SENDER], 5, t0() + secs(120)), Ok(()));
    }

    #[test]
    fn an_oversized_send_takes_a_whole_day() {
        let mut p = pacer(SENDER, per_day(2));
        let tomorrow = at(0, 0, 0) + TimeDelta::days(1);
        assert_eq!(p.try_acquire(&[SENDER], 1, at(8, 0, 0)), Ok(()));
        assert_eq!(p.try_acquire(&[SENDER], 3, at(8, 0, 1)), Err(tomorrow));
        assert_eq!(p.try_acquire(&[SENDER], 3, tomorrow), Ok(()));
        assert_eq!(
            p.try_acquire(&[SENDER], 1, tomorrow + secs(1)),
            Err(tomorrow + TimeDelta::days(1))
        );
    }

    #[test]
    fn keys_without_limits_are_unlimited() {
        let mut p = pacer(SENDER, per_second(1.0));
        for _ in 0..1000 {
            assert_eq!(p.try_acquire(&[ACCOUNT, "+15550000000"], 4, t0()), Ok(()));
        }
        assert_eq!(p.try_acquire(&[], 1, t0()), Ok(()));
    }

    #[test]
    fn a_key_listed_twice_is_charged_once() {
        let mut p = pacer(SENDER, per_minute(2));
        assert_eq!(p.try_acquire(&[SENDER, SENDER], 1, t0()), Ok(()));
        assert_eq!(p.try_acquire(&[SENDER], 1, t0()), Ok(()));
        assert_eq!(p.try_acquire(&[SENDER], 1, t0()), Err(t0() + secs(60)));
    }

    #[test]
    fn cost_zero_counts_as_one_segment() {
        let mut p = pacer(SENDER, per_minute(1));
        assert_eq!(p.try_acquire(&[SENDER], 0, t0()), Ok(()));
        assert_eq!(p.try_acquire(&[SENDER], 0, t0()), Err(t0() + secs(60)));
    }

    #[test]
    fn a_clock_stepping_back_waits_for_the_latest_grant() {
        let mut p = pacer(SENDER, per_minute(10));
        assert_eq!(p.try_acquire(&[SENDER], 1, t0()), Ok(()));
        assert_eq!(p.try_acquire(&[SENDER], 1, t0() - secs(3600)), Err(t0()));
        assert_eq!(p.try_acquire(&[SENDER], 1, t0()), Ok(()));
    }

    #[test]
    fn check_does_not_charge() {
        let mut p = pacer(SENDER, per_minute(1));
        assert_eq!(p.check(&[SENDER], 1, t0()), Ok(()));
        assert_eq!(p.check(&[SENDER], 1, t0()), Ok(()));
        assert_eq!(p.try_acquire(&[SENDER], 1, t0()), Ok(()));
        assert_eq!(p.check(&[SENDER], 1, t0()), Err(t0() + secs(60)));
    }

    #[test]
    fn invalid_limits_block_the_key_until_valid_ones_are_set() {
        for (limits, reason) in [
            (per_second(0.0), InvalidLimits::PerSecond(0.0)),
            (per_second(-1.0), InvalidLimits::PerSecond(-1.0)),
            (
                per_second(f64::INFINITY),
                InvalidLimits::PerSecond(f64::INFINITY),
            ),
            (per_minute(0), InvalidLimits::PerMinuteZero),
            (per_day(0), InvalidLimits::PerDayZero),
        ] {
            assert_eq!(limits.validate(), Err(reason));
            let mut p = pacer(SENDER, limits);
            assert_eq!(
                p.try_acquire(&[SENDER, ACCOUNT], 1, t0()),
                Err(DateTime::<Utc>::MAX_UTC)
            );
            // Other keys are not affected, and valid limits unblock the key.
            assert_eq!(p.try_acquire(&[ACCOUNT], 1, t0()), Ok(()));
            p.set_limits(SENDER, per_minute(5));
            assert_eq!(p.try_acquire(&[SENDER], 1, t0()), Ok(()));
        }
        assert!(per_second(f64::NAN).validate().is_err());
        assert_eq!(
            InvalidLimits::PerSecond(-0.5).to_string(),
            "per_second must be a finite number above 0, got -0.5"
        );
    }

    #[test]
    fn the_minute_log_holds_at_most_the_limit() {
        let mut p = pacer(SENDER, per_minute(5));
        let mut now = t0();
        for _ in 0..500 {
            if let Err(retry) = p.try_acquire(&[SENDER], 1, now) {
                now = retry;
            }
            now += ms(700);
            let len = p.keys.get(SENDER).map_or(0, |s| s.minute_log.len());
            assert!(len <= 5, "{len} entries");
        }
        p.set_limits(SENDER, Limits::default());
        assert!(p.keys.get(SENDER).is_some_and(|s| s.minute_log.is_empty()));
    }

    #[test]
    fn tiny_rates_saturate_instead_of_overflowing() {
        let mut p = pacer(SENDER, per_second(f64::MIN_POSITIVE));
        assert_eq!(p.try_acquire(&[SENDER], 1, t0()), Ok(()));
        let retry = p.try_acquire(&[SENDER], 1, t0()).expect_err("far future");
        assert!(retry > t0() + TimeDelta::days(365 * 200));
    }

    #[test]
    fn sticky_index_is_stable_for_known_contacts() {
        // Pinned (computed with an independent implementation of FNV-1a and jump hash): a
        // change here moves contacts to another sender number mid-conversation.
        let cases = [
            ("+14165550100", [(1, 0), (3, 1), (5, 3), (10, 3), (100, 74)]),
            ("+14165550102", [(1, 0), (3, 2), (5, 2), (10, 7), (100, 10)]),
            (
                "+447700900123",
                [(1, 0), (3, 0), (5, 0), (10, 0), (100, 21)],
            ),
        ];
        for (contact, expected) in cases {
            for (len, index) in expected {
                assert_eq!(sticky_index(contact, len), index, "{contact} in {len}");
            }
            assert_eq!(sticky_index(contact, 0), 0);
        }
    }

    #[test]
    fn sticky_index_spreads_contacts_evenly() {
        let mut counts = [0usize; 4];
        for i in 0..1000 {
            counts[sticky_index(&format!("+1416555{i:04}"), 4)] += 1;
        }
        assert_eq!(counts, [260, 247, 255, 238]);
    }

    #[test]
    fn round_robin_takes_turns() {
        let mut rr = RoundRobin::new();
        let turns: Vec<_> = (0..7).map(|_| rr.next_index(3)).collect();
        assert_eq!(turns, [0, 1, 2, 0, 1, 2, 0].map(Some));
        assert_eq!(rr.next_index(0), None);
        assert_eq!(rr.next_index(3), Some(1));
    }

    // ---- property tests ----

    /// One step of a random scenario.
    #[derive(Debug, Clone)]
    enum Op {
        /// Advance the clock by this many milliseconds, then try a send.
        Send {
            advance_ms: i64,
            keys: KeySet,
            cost: u32,
        },
        /// Advance the clock, then the provider throttles a key for this many milliseconds.
        Throttle {
            advance_ms: i64,
            account: bool,
            for_ms: i64,
        },
    }

    #[derive(Debug, Clone, Copy)]
    enum KeySet {
        Sender,
        Account,
        Both,
    }

    impl KeySet {
        fn keys(self) -> &'static [&'static str] {
            match self {
                KeySet::Sender => &[SENDER],
                KeySet::Account => &[ACCOUNT],
                KeySet::Both => &[SENDER, ACCOUNT],
            }
        }
    }

    fn limits_strategy() -> impl Strategy<Value = Limits> {
        (
            prop::option::of(prop_oneof![
                Just(1.0),
                Just(0.5),
                Just(3.0),
                Just(1.0 / 3.0),
                0.05f64..20.0
            ]),
            prop::option::of(1u32..=12),
            prop::option::of(1u32..=30),
        )
            .prop_map(|(per_second, per_minute, per_day)| Limits {
                per_second,
                per_minute,
                per_day,
            })
    }

    fn advance_strategy() -> impl Strategy<Value = i64> {
        prop_oneof![
            3 => Just(0i64),
            4 => 0i64..120,
            6 => 0i64..3_000,
            3 => 0i64..90_000,
            1 => 0i64..6 * 3_600_000,
        ]
    }

    fn op_strategy() -> impl Strategy<Value = Op> {
        let keys = prop_oneof![
            Just(KeySet::Sender),
            Just(KeySet::Account),
            Just(KeySet::Both)
        ];
        prop_oneof![
            8 => (advance_strategy(), keys, 1u32..=4)
                .prop_map(|(advance_ms, keys, cost)| Op::Send { advance_ms, keys, cost }),
            1 => (advance_strategy(), any::<bool>(), 1i64..120_000)
                .prop_map(|(advance_ms, account, for_ms)| Op::Throttle { advance_ms, account, for_ms }),
        ]
    }

    /// Checks the guarantees on the grants of one key, independently of the implementation.
    fn assert_within_limits(
        limits: Limits,
        grants: &[(DateTime<Utc>, u32)],
    ) -> Result<(), TestCaseError> {
        if let Some(x) = limits.per_second {
            // Between any two grants, what was granted from the first up to (not including)
            // the second fits in the time between them plus the catch-up.
            let catch_up = CATCH_UP.num_nanoseconds().unwrap_or_default() as f64;
            for (i, (t1, _)) in grants.iter().enumerate() {
                let mut cost = 0u64;
                for (k, (t2, _)) in grants.iter().enumerate().skip(i + 1) {
                    cost += u64::from(grants[k - 1].1);
                    let gap = (*t2 - *t1).num_nanoseconds().unwrap_or(i64::MAX) as f64;
                    prop_assert!(
                        cost as f64 * NANOS_PER_SECOND <= x * (gap + catch_up) * (1.0 + 1e-12),
                        "per_second {x}: cost {cost} granted from {t1} to before {t2}"
                    );
                }
            }
        }
        if let Some(n) = limits.per_minute {
            for &(end, _) in grants {
                let window: Vec<_> = grants
                    .iter()
                    .filter(|(t, _)| *t > end - MINUTE && *t <= end)
                    .collect();
                let used: u64 = window.iter().map(|(_, c)| u64::from(*c)).sum();
                prop_assert!(
                    used <= u64::from(n) || window.len() == 1,
                    "per_minute {n}: {used} in the window ending {end}: {window:?}"
                );
            }
        }
        if let Some(n) = limits.per_day {
            let mut days: HashMap<chrono::NaiveDate, (u64, usize)> = HashMap::new();
            for (t, c) in grants {
                let day = days.entry(t.date_naive()).or_default();
                day.0 += u64::from(*c);
                day.1 += 1;
            }
            for (day, (used, count)) in days {
                prop_assert!(
                    used <= u64::from(n) || count == 1,
                    "per_day {n}: {used} in {count} sends on {day}"
                );
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn granted_sends_never_break_a_limit(
            sender_limits in limits_strategy(),
            account_limits in limits_strategy(),
            start_offset_s in 0i64..2 * 86_400,
            ops in prop::collection::vec(op_strategy(), 1..80),
        ) {
            let mut p = Pacer::new();
            p.set_limits(SENDER, sender_limits);
            p.set_limits(ACCOUNT, account_limits);
            // Start in the evening so that days change within a scenario.
            let mut now = at(22, 0, 0) + secs(start_offset_s);
            let mut grants: HashMap<&str, Vec<(DateTime<Utc>, u32)>> = HashMap::new();
            let mut throttled_until: HashMap<&str, DateTime<Utc>> = HashMap::new();

            for op in ops {
                match op {
                    Op::Throttle { advance_ms, account, for_ms } => {
                        now += ms(advance_ms);
                        let key = if account { ACCOUNT } else { SENDER };
                        let until = now + ms(for_ms);
                        p.throttle(key, until);
                        let latest = throttled_until.entry(key).or_insert(until);
                        *latest = (*latest).max(until);
                    }
                    Op::Send { advance_ms, keys, cost } => {
                        now += ms(advance_ms);
                        let keys = keys.keys();
                        match p.try_acquire(keys, cost, now) {
                            Ok(()) => {
                                for key in keys {
                                    grants.entry(key).or_default().push((now, cost));
                                    let until = throttled_until.get(key).copied();
                                    prop_assert!(
                                        until.is_none_or(|until| now >= until),
                                        "{key} granted at {now}, throttled until {until:?}"
                                    );
                                }
                            }
                            Err(retry) => {
                                prop_assert!(retry > now, "retry {retry} not after {now}");
                                // Sleeping until `retry` is enough, and exactly enough.
                                let mut later = p.clone();
                                prop_assert_eq!(later.try_acquire(keys, cost, retry), Ok(()));
                                let mut early = p.clone();
                                let just_before = retry - TimeDelta::nanoseconds(1);
                                prop_assert!(early.try_acquire(keys, cost, just_before).is_err());
                                // Nothing was charged: the state is what it was.
                                prop_assert_eq!(p.check(keys, cost, retry), Ok(()));
                            }
                        }
                    }
                }
            }

            for (key, limits) in [(SENDER, sender_limits), (ACCOUNT, account_limits)] {
                assert_within_limits(limits, grants.get(key).map_or(&[][..], Vec::as_slice))?;
            }
        }

        #[test]
        fn a_lone_sender_sleeping_until_retry_at_always_gets_through(
            limits in limits_strategy(),
            costs in prop::collection::vec(1u32..=4, 1..60),
        ) {
            let mut p = Pacer::new();
            p.set_limits(SENDER, limits);
            let mut now = at(23, 58, 0);
            let mut grants = Vec::new();
            for cost in costs {
                if let Err(retry) = p.try_acquire(&[SENDER], cost, now) {
                    prop_assert!(retry > now);
                    now = retry;
                    prop_assert_eq!(p.try_acquire(&[SENDER], cost, now), Ok(()));
                }
                grants.push((now, cost));
            }
            assert_within_limits(limits, &grants)?;
        }

        #[test]
        fn sticky_index_is_in_range_and_moves_only_to_a_new_number(
            contact in "\\+[1-9][0-9]{6,14}",
            len in 1usize..64,
        ) {
            let before = sticky_index(&contact, len);
            let after = sticky_index(&contact, len + 1);
            prop_assert!(before < len);
            prop_assert!(after == before || after == len);
        }
    }
}
