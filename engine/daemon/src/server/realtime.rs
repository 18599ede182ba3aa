//! `/v1/realtime`: what the live campaigns are doing right now — per sender, the messages the
//! provider accepted in the last 10 seconds and the last minute; per campaign, its failures
//! in the last minute and its recent error codes; the engine's job queue.
//!
//! The figures come from the runtime's committed message events (`BusObserver` hands each
//! one to [`Realtime::observe`] on the engine thread), counted by a [`RateTracker`] in
//! per-second ring buckets. Time is the engine's [`Clock`], so a manual clock drives the
//! tests. A message event carries its sender number and, failed, its error: nothing is read
//! on the engine thread. The campaign's workflow lists its senders ([`SenderBook`]), so idle
//! ones show at 0. The counts live in memory: a restarted daemon starts them from zero.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use switchboard_model::Workflow;
use switchboard_model::campaign::Sender;
use switchboard_model::hash::fnv1a_64;
use switchboard_runtime::Clock;
use switchboard_runtime::events::RuntimeEvent;
use switchboard_runtime::lifecycle::CampaignState;
use switchboard_runtime::records::{CampaignId, MessageStatus};

use super::error::ApiResult;
use super::state::Shared;

/// Seconds of per-sender history (one bucket a second).
const RATE_SECONDS: usize = 60;
/// The short window of `last_10s_per_second`.
const SHORT_SECONDS: usize = 10;
/// Minutes an error code stays listed after it was last seen (one bucket a minute).
const ERROR_MINUTES: usize = 10;
/// Error codes listed per campaign (the least recently seen goes first).
const MAX_CODES: usize = 5;
/// Records between two sweeps of idle entries (the handler sweeps too).
const SWEEP_EVERY: u64 = 4_096;
/// Workflow texts whose senders are kept (a campaign pins one text; few differ).
const MAX_SOURCES: usize = 1_024;

/// `mutex`'s data, whatever panicked while holding it: every map here stays consistent
/// between two operations on it.
fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Counts per time bucket over the last `N` buckets of `width` seconds. A bucket remembers
/// which period it holds, so a stale one reads as empty without being cleared.
#[derive(Debug, Clone)]
struct Ring<const N: usize> {
    width: i64,
    periods: [i64; N],
    counts: [u64; N],
}

impl<const N: usize> Ring<N> {
    fn new(width: i64) -> Self {
        Self {
            width: width.max(1),
            periods: [i64::MIN; N],
            counts: [0; N],
        }
    }

    fn slot(&self, period: i64) -> usize {
        // N is small and positive: the remainder is in 0..N.
        usize::try_from(period.rem_euclid(N as i64)).unwrap_or_default()
    }

    /// One more at second `now`.
    fn add(&mut self, now: i64) {
        let period = now.div_euclid(self.width);
        let slot = self.slot(period);
        if self.periods[slot] != period {
            self.periods[slot] = period;
            self.counts[slot] = 0;
        }
        self.counts[slot] += 1;
    }

    /// The count of the last `buckets` buckets up to second `now` (the current one included).
    fn total(&self, now: i64, buckets: usize) -> u64 {
        let period = now.div_euclid(self.width);
        let oldest = period - buckets.min(N) as i64;
        self.periods
            .iter()
            .zip(&self.counts)
            .filter(|(p, _)| **p > oldest && **p <= period)
            .map(|(_, c)| c)
            .sum()
    }
}

/// One sender's recent pace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SenderRate {
    /// The sender number.
    pub sender: String,
    /// Messages the provider accepted in the last 10 seconds, per second.
    pub last_10s_per_second: f64,
    /// Messages the provider accepted in the last 60 seconds.
    pub last_minute: u64,
}

/// An error code a campaign met recently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecentError {
    /// The provider's (or Switchboard's) code.
    pub code: String,
    /// Its latest message.
    pub message: String,
    /// Failures with this code in the last 10 minutes.
    pub count: u64,
    /// The last one.
    pub last_at: DateTime<Utc>,
}

#[derive(Debug)]
struct CodeStat {
    code: String,
    message: String,
    last_at: DateTime<Utc>,
    minutes: Ring<ERROR_MINUTES>,
}

#[derive(Debug)]
struct CampaignErrors {
    seconds: Ring<RATE_SECONDS>,
    /// Most recently seen last.
    codes: Vec<CodeStat>,
}

#[derive(Debug, Default)]
struct Counts {
    /// Accepted messages by campaign, then sender.
    sent: HashMap<CampaignId, HashMap<String, Ring<RATE_SECONDS>>>,
    errors: HashMap<CampaignId, CampaignErrors>,
    records: u64,
}

impl Counts {
    /// Drops what has nothing left in its window.
    fn sweep(&mut self, now: i64) {
        self.sent.retain(|_, senders| {
            senders.retain(|_, ring| ring.total(now, RATE_SECONDS) > 0);
            !senders.is_empty()
        });
        self.errors.retain(|_, errors| {
            errors
                .codes
                .retain(|code| code.minutes.total(now, ERROR_MINUTES) > 0);
            !errors.codes.is_empty() || errors.seconds.total(now, RATE_SECONDS) > 0
        });
    }
}

/// Recent sends per (campaign, sender) and failures per campaign, on the engine's clock.
///
/// Concurrency: the engine thread records, request handlers read; one mutex, held for a few
/// map operations at a time.
#[derive(Debug)]
pub struct RateTracker {
    clock: Arc<dyn Clock>,
    counts: Mutex<Counts>,
}

impl RateTracker {
    /// An empty tracker reading time from `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            counts: Mutex::new(Counts::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        locked(&self.counts)
    }

    fn note_record(&self, counts: &mut Counts, now: i64) {
        counts.records += 1;
        if counts.records.is_multiple_of(SWEEP_EVERY) {
            counts.sweep(now);
        }
    }

    /// The provider accepted a message of `campaign` from `sender`, now.
    pub fn record_sent(&self, campaign: CampaignId, sender: &str) {
        let now = self.clock.now().timestamp();
        let mut counts = self.lock();
        let senders = counts.sent.entry(campaign).or_default();
        match senders.get_mut(sender) {
            Some(ring) => ring.add(now),
            None => {
                let mut ring = Ring::new(1);
                ring.add(now);
                senders.insert(sender.to_string(), ring);
            }
        }
        self.note_record(&mut counts, now);
    }

    /// A message of `campaign` failed, now, with `code`.
    pub fn record_error(&self, campaign: CampaignId, code: &str, message: &str) {
        let at = self.clock.now();
        let now = at.timestamp();
        let mut counts = self.lock();
        let errors = counts
            .errors
            .entry(campaign)
            .or_insert_with(|| CampaignErrors {
                seconds: Ring::new(1),
                codes: Vec::new(),
            });
        errors.seconds.add(now);
        let mut stat = match errors.codes.iter().position(|c| c.code == code) {
            Some(index) => errors.codes.remove(index),
            None => CodeStat {
                code: code.to_string(),
                message: String::new(),
                last_at: at,
                minutes: Ring::new(60),
            },
        };
        stat.message = message.to_string();
        stat.last_at = at;
        stat.minutes.add(now);
        errors.codes.push(stat);
        if errors.codes.len() > MAX_CODES {
            errors.codes.remove(0);
        }
        self.note_record(&mut counts, now);
    }

    /// The pace of each of `configured` senders of `campaign` (zero when idle), then of any
    /// other sender it was seen sending from.
    pub fn sender_rates(&self, campaign: CampaignId, configured: &[String]) -> Vec<SenderRate> {
        let now = self.clock.now().timestamp();
        let counts = self.lock();
        let seen = counts.sent.get(&campaign);
        let rate = |sender: &str| {
            let ring = seen.and_then(|senders| senders.get(sender));
            let short = ring.map_or(0, |r| r.total(now, SHORT_SECONDS));
            SenderRate {
                sender: sender.to_string(),
                last_10s_per_second: short as f64 / SHORT_SECONDS as f64,
                last_minute: ring.map_or(0, |r| r.total(now, RATE_SECONDS)),
            }
        };
        let mut rates: Vec<SenderRate> = configured.iter().map(|s| rate(s)).collect();
        let mut others: Vec<&String> = seen
            .into_iter()
            .flat_map(HashMap::keys)
            .filter(|s| !configured.contains(s))
            .collect();
        others.sort();
        rates.extend(others.into_iter().map(|s| rate(s)));
        rates
    }

    /// A campaign's failures in the last minute, and its recent error codes (the most
    /// recently seen first).
    pub fn errors(&self, campaign: CampaignId) -> (u64, Vec<RecentError>) {
        let now = self.clock.now().timestamp();
        let counts = self.lock();
        let Some(errors) = counts.errors.get(&campaign) else {
            return (0, Vec::new());
        };
        let recent = errors
            .codes
            .iter()
            .rev()
            .map(|stat| RecentError {
                code: stat.code.clone(),
                message: stat.message.clone(),
                count: stat.minutes.total(now, ERROR_MINUTES),
                last_at: stat.last_at,
            })
            .filter(|error| error.count > 0)
            .collect();
        (errors.seconds.total(now, RATE_SECONDS), recent)
    }

    /// Forgets what has nothing left in its window.
    pub fn sweep(&self) {
        let now = self.clock.now().timestamp();
        self.lock().sweep(now);
    }
}

/// The sender numbers of campaign workflows, parsed once per workflow text (a campaign pins
/// its text). Read from request handlers.
#[derive(Debug, Default)]
pub struct SenderBook {
    /// By the FNV hash of the workflow text.
    by_source: Mutex<HashMap<u64, Arc<[String]>>>,
}

impl SenderBook {
    /// The numbers a campaign workflow sends from, in the workflow's order (none when the
    /// text is not a valid campaign workflow).
    pub fn of_source(&self, source: &str) -> Arc<[String]> {
        let key = fnv1a_64(source.as_bytes());
        let cached = locked(&self.by_source).get(&key).cloned();
        if let Some(senders) = cached {
            return senders;
        }
        let senders: Arc<[String]> = senders_of(source).into();
        let mut by_source = locked(&self.by_source);
        if by_source.len() >= MAX_SOURCES {
            by_source.clear();
        }
        by_source.insert(key, senders.clone());
        senders
    }
}

/// The sender numbers of a campaign workflow's text.
fn senders_of(source: &str) -> Vec<String> {
    match switchboard_model::load_source("workflow", source).workflow {
        Some(Workflow::Campaign(campaign)) => match &campaign.sender {
            Sender::Number(number) => vec![number.to_string()],
            Sender::Pool(pool) => pool.pool.iter().map(ToString::to_string).collect(),
        },
        _ => Vec::new(),
    }
}

/// The live figures, and the campaigns' configured senders (idle ones are listed at 0).
#[derive(Debug)]
pub struct Realtime {
    /// The counts.
    pub tracker: RateTracker,
    /// Campaigns' sender numbers.
    pub senders: SenderBook,
}

impl Realtime {
    /// Counts on `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            tracker: RateTracker::new(clock),
            senders: SenderBook::default(),
        }
    }

    /// Counts one runtime event (called on the engine thread: the event carries the sender
    /// and the error, nothing is read).
    pub fn observe(&self, event: &RuntimeEvent) {
        match event {
            RuntimeEvent::Message {
                campaign,
                status: MessageStatus::Sent,
                from,
                ..
            } => self.tracker.record_sent(*campaign, from),
            RuntimeEvent::Message {
                campaign,
                status: MessageStatus::Failed,
                error,
                ..
            } => match error {
                Some(reason) => self
                    .tracker
                    .record_error(*campaign, &reason.code, &reason.message),
                None => self
                    .tracker
                    .record_error(*campaign, "failed", "the message failed"),
            },
            _ => {}
        }
    }
}

// ------------------------------------------------------------------------------ the API

/// `GET /v1/realtime` answer.
#[derive(Debug, Serialize)]
pub struct RealtimeView {
    /// When (the engine's clock).
    pub at: DateTime<Utc>,
    /// Jobs handed to the engine thread and not finished yet.
    pub queue_depth: usize,
    /// Campaigns sending, retrying, paused, or scheduled and due, by id.
    pub campaigns: Vec<LiveCampaign>,
}

/// A live campaign's figures.
#[derive(Debug, Serialize)]
pub struct LiveCampaign {
    /// Its id.
    pub id: CampaignId,
    /// Its name.
    pub name: String,
    /// Its lifecycle state.
    pub state: &'static str,
    /// The provider instance it sends through.
    pub provider: String,
    /// Recipients not in a final status yet.
    pub pending: u64,
    /// Its senders' pace.
    pub senders: Vec<SenderRate>,
    /// Failed messages in the last minute.
    pub errors_last_minute: u64,
    /// Error codes of the last 10 minutes, the most recently seen first (at most 5).
    pub recent_errors: Vec<RecentError>,
}

/// Whether a campaign in `state` counts as live at `now`.
fn is_live(state: CampaignState, scheduled_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    match state {
        CampaignState::Sending | CampaignState::Retrying | CampaignState::Paused => true,
        CampaignState::Scheduled => scheduled_at.is_some_and(|at| at <= now),
        _ => false,
    }
}

/// `GET /v1/realtime`.
pub async fn snapshot(State(state): State<Shared>) -> ApiResult<Json<RealtimeView>> {
    let now = state.clock.now();
    let realtime = &state.realtime;
    realtime.tracker.sweep();
    let mut campaigns = Vec::new();
    for record in state.store.campaigns()? {
        if !is_live(record.state, record.scheduled_at, now) {
            continue;
        }
        let pending = state
            .store
            .counters(record.id)?
            .into_iter()
            .filter(|(status, _)| !status.is_final())
            .map(|(_, count)| count)
            .sum();
        let configured = realtime.senders.of_source(&record.workflow_source);
        let (errors_last_minute, recent_errors) = realtime.tracker.errors(record.id);
        campaigns.push(LiveCampaign {
            id: record.id,
            name: record.name,
            state: record.state.as_str(),
            provider: record.provider,
            pending,
            senders: realtime.tracker.sender_rates(record.id, &configured),
            errors_last_minute,
            recent_errors,
        });
    }
    Ok(Json(RealtimeView {
        at: now,
        queue_depth: state.driver.queue_depth(),
        campaigns,
    }))
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use switchboard_runtime::ManualClock;
    use switchboard_runtime::records::Reason;

    use super::*;

    fn start() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    fn tracker() -> (RateTracker, ManualClock) {
        let clock = ManualClock::new(start());
        (RateTracker::new(Arc::new(clock.clone())), clock)
    }

    fn numbers(list: &[&str]) -> Vec<String> {
        list.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn rates_cover_the_last_ten_seconds_and_the_last_minute() {
        let (tracker, clock) = tracker();
        // 30 seconds at 2 a second.
        for _ in 0..30 {
            tracker.record_sent(1, "+14165550100");
            tracker.record_sent(1, "+14165550100");
            clock.advance(TimeDelta::seconds(1));
        }
        let rates = tracker.sender_rates(1, &numbers(&["+14165550100", "+14165550101"]));
        // Now is the 31st second, with nothing in it yet: 9 full seconds of the last 10.
        assert_eq!(
            rates,
            [
                SenderRate {
                    sender: "+14165550100".into(),
                    last_10s_per_second: 1.8,
                    last_minute: 60,
                },
                SenderRate {
                    sender: "+14165550101".into(),
                    last_10s_per_second: 0.0,
                    last_minute: 0,
                },
            ]
        );
        clock.advance(TimeDelta::seconds(45));
        let rates = tracker.sender_rates(1, &numbers(&["+14165550100"]));
        assert_eq!(rates[0].last_10s_per_second, 0.0);
        // Now is second 75: the minute holds seconds 16 to 75, so the sends of 16 to 29.
        assert_eq!(rates[0].last_minute, 28);
        clock.advance(TimeDelta::seconds(60));
        assert_eq!(
            tracker.sender_rates(1, &numbers(&["+14165550100"]))[0].last_minute,
            0
        );
    }

    #[test]
    fn a_bucket_reused_a_minute_later_starts_from_zero() {
        let (tracker, clock) = tracker();
        for _ in 0..5 {
            tracker.record_sent(1, "+1");
        }
        clock.advance(TimeDelta::seconds(60));
        tracker.record_sent(1, "+1");
        let rates = tracker.sender_rates(1, &[]);
        assert_eq!(rates[0].last_minute, 1);
    }

    #[test]
    fn campaigns_and_unlisted_senders_are_kept_apart() {
        let (tracker, _clock) = tracker();
        tracker.record_sent(1, "+1");
        tracker.record_sent(2, "+1");
        tracker.record_sent(2, "+2");
        let rates = tracker.sender_rates(2, &numbers(&["+2"]));
        let senders: Vec<(&str, u64)> = rates
            .iter()
            .map(|r| (r.sender.as_str(), r.last_minute))
            .collect();
        assert_eq!(senders, [("+2", 1), ("+1", 1)]);
        assert!(tracker.sender_rates(3, &[]).is_empty());
    }

    #[test]
    fn events_are_counted_under_their_sender_and_error_code() {
        let clock = ManualClock::new(start());
        let realtime = Realtime::new(Arc::new(clock.clone()));
        let event = |status, from: &str, error: Option<Reason>| RuntimeEvent::Message {
            campaign: 1,
            recipient: 0,
            step_id: "welcome".into(),
            status,
            provider_id: None,
            from: from.into(),
            error,
            at: start(),
        };
        realtime.observe(&event(MessageStatus::Sent, "+14165550101", None));
        realtime.observe(&event(MessageStatus::Sent, "+14165550101", None));
        realtime.observe(&event(MessageStatus::Delivered, "+14165550101", None));
        let unreachable = Reason {
            code: "30003".into(),
            message: "unreachable".into(),
        };
        realtime.observe(&event(
            MessageStatus::Failed,
            "+14165550102",
            Some(unreachable),
        ));
        realtime.observe(&event(MessageStatus::Failed, "+14165550102", None));
        let rates = realtime
            .tracker
            .sender_rates(1, &numbers(&["+14165550101", "+14165550102"]));
        let minute: Vec<(&str, u64)> = rates
            .iter()
            .map(|r| (r.sender.as_str(), r.last_minute))
            .collect();
        assert_eq!(minute, [("+14165550101", 2), ("+14165550102", 0)]);
        let (failed, recent) = realtime.tracker.errors(1);
        assert_eq!(failed, 2);
        let mut codes: Vec<&str> = recent.iter().map(|e| e.code.as_str()).collect();
        codes.sort_unstable();
        assert_eq!(codes, ["30003", "failed"]);
    }

    #[test]
    fn errors_count_per_minute_and_keep_the_last_codes() {
        let (tracker, clock) = tracker();
        tracker.record_error(1, "30003", "unreachable");
        clock.advance(TimeDelta::seconds(30));
        tracker.record_error(1, "21610", "unsubscribed");
        tracker.record_error(1, "30003", "unreachable handset");
        let (last_minute, recent) = tracker.errors(1);
        assert_eq!(last_minute, 3);
        let codes: Vec<(&str, u64, &str)> = recent
            .iter()
            .map(|e| (e.code.as_str(), e.count, e.message.as_str()))
            .collect();
        assert_eq!(
            codes,
            [
                ("30003", 2, "unreachable handset"),
                ("21610", 1, "unsubscribed")
            ]
        );
        assert_eq!(recent[0].last_at, start() + TimeDelta::seconds(30));

        clock.advance(TimeDelta::seconds(61));
        let (last_minute, recent) = tracker.errors(1);
        assert_eq!(last_minute, 0);
        assert_eq!(recent.len(), 2, "codes stay listed for 10 minutes");
        clock.advance(TimeDelta::minutes(11));
        tracker.sweep();
        assert_eq!(tracker.errors(1), (0, Vec::new()));
    }

    #[test]
    fn only_the_most_recent_codes_are_listed() {
        let (tracker, _clock) = tracker();
        for code in 0..8 {
            tracker.record_error(1, &code.to_string(), "failed");
        }
        let (last_minute, recent) = tracker.errors(1);
        assert_eq!(last_minute, 8);
        let codes: Vec<&str> = recent.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, ["7", "6", "5", "4", "3"]);
    }

    #[test]
    fn a_sweep_forgets_idle_senders_only() {
        let (tracker, clock) = tracker();
        tracker.record_sent(1, "+1");
        clock.advance(TimeDelta::seconds(59));
        tracker.record_sent(1, "+2");
        clock.advance(TimeDelta::seconds(2));
        tracker.sweep();
        let counts = tracker.lock();
        let senders: Vec<&String> = counts.sent[&1].keys().collect();
        assert_eq!(senders, ["+2"]);
    }

    #[test]
    fn live_means_sending_retrying_paused_or_due() {
        let now = start();
        let later = now + TimeDelta::minutes(5);
        assert!(is_live(CampaignState::Sending, None, now));
        assert!(is_live(CampaignState::Retrying, None, now));
        assert!(is_live(CampaignState::Paused, None, now));
        assert!(is_live(CampaignState::Scheduled, Some(now), now));
        assert!(!is_live(CampaignState::Scheduled, Some(later), now));
        assert!(!is_live(CampaignState::Draft, None, now));
        assert!(!is_live(CampaignState::Completed, None, now));
    }

    #[test]
    fn the_book_reads_a_single_number_and_a_pool() {
        let book = SenderBook::default();
        let head = "kind: campaign\nid: promo\nprovider: mock\n";
        let tail = "consent: { acknowledged: true }\nsteps:\n  - send: \"Hi\"\n";
        let single = format!("{head}sender: \"+14165550100\"\n{tail}");
        assert_eq!(&*book.of_source(&single), ["+14165550100"]);
        let pool = format!("{head}sender:\n  pool: [\"+14165550100\", \"+14165550101\"]\n{tail}");
        assert_eq!(&*book.of_source(&pool), ["+14165550100", "+14165550101"]);
        assert!(book.of_source("not: a workflow").is_empty());
    }
}
