//! Time, injected: the runtime never reads the wall clock itself, so tests drive days of
//! schedule in milliseconds and `simulate` runs a campaign on a virtual clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};

/// A source of the current instant.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The machine's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to; clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    /// Milliseconds since the Unix epoch; shared so a test and the engine see one time.
    millis: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            millis: Arc::new(AtomicI64::new(start.timestamp_millis())),
        }
    }

    /// Moves the clock to `instant` (never backwards: time in a schedule only moves forward).
    pub fn set(&self, instant: DateTime<Utc>) {
        self.millis
            .fetch_max(instant.timestamp_millis(), Ordering::SeqCst);
    }

    /// Moves the clock forward by `delta`.
    pub fn advance(&self, delta: TimeDelta) {
        self.millis
            .fetch_add(delta.num_milliseconds().max(0), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.millis.load(Ordering::SeqCst)).unwrap_or_default()
    }
}

/// A clock that runs `factor` times faster than the machine's, from `start` (the demo: a
/// campaign's hours of pacing and waits in seconds). Clones share the same time line.
#[derive(Debug, Clone)]
pub struct ScaledClock {
    start: DateTime<Utc>,
    began: std::time::Instant,
    factor: f64,
}

impl ScaledClock {
    /// A clock reading `start` now and running `factor` times faster (at least 1).
    pub fn new(start: DateTime<Utc>, factor: f64) -> Self {
        Self {
            start,
            began: std::time::Instant::now(),
            factor: if factor.is_finite() {
                factor.max(1.0)
            } else {
                1.0
            },
        }
    }

    /// How many times faster than real time it runs.
    pub fn factor(&self) -> f64 {
        self.factor
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = self.began.elapsed().as_secs_f64() * self.factor;
        let millis = (elapsed * 1_000.0).min(i64::MAX as f64 / 2.0) as i64;
        self.start + TimeDelta::milliseconds(millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_forward_and_is_shared() {
        let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let clock = ManualClock::new(start);
        let shared = clock.clone();
        clock.advance(TimeDelta::hours(2));
        assert_eq!(shared.now(), start + TimeDelta::hours(2));
        clock.set(start);
        assert_eq!(shared.now(), start + TimeDelta::hours(2), "never backwards");
    }

    #[test]
    fn scaled_clock_starts_at_its_start_and_runs_faster() {
        let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let clock = ScaledClock::new(start, 3_600.0);
        let first = clock.now();
        assert!(first >= start && first < start + TimeDelta::minutes(10));
        std::thread::sleep(std::time::Duration::from_millis(20));
        // 20 ms at 3,600 times is over a minute.
        assert!(clock.now() - first >= TimeDelta::seconds(60));
        assert_eq!(ScaledClock::new(start, f64::NAN).factor(), 1.0);
    }
}
