//! Campaign statistics beyond the per-status recipient counts: per-step message statistics,
//! the error codes of failed messages, how many recipients replied (and after which step they
//! replied or opted out), and the messages' activity minute by minute ([`activity`]). Exact
//! counters in the `counters` table, moved by [`crate::store::Changes`] in the same
//! transaction as the records they count.
//!
//! A message record counts once, under its current status: a receipt moves it from `sent`
//! to `delivered` or `failed`, and a record written over another under the same key (a
//! throttled try answered again, a failure being retried) takes the old one's count away.
//! So a step's statistics always equal a recount of its answered messages (intents still
//! with the provider are not counted). `segments` totals the segments of the messages the
//! provider accepted, whatever became of them since. Error codes count the failed messages
//! the same way (a failure without a reason counts as [`NO_CODE`]); the activity counters
//! too ([`activity`]). Replies and opt-outs count recipients: a run's
//! [`RunState::replied_after`] and [`RunState::opted_out_after`] name the step they are
//! credited to, and [`crate::store::Changes::put_run`] moves the counts with them.
//!
//! Every counter is derived from the records as they are written, and nothing rebuilds them:
//! campaigns that sent before a counter existed (error codes, replies and opt-outs per step,
//! activity) simply have none for their earlier messages and recipients, and report zeros.
//!
//! # Key layout (in `counters`, beside the status counts `campaign u64 · status u8`)
//! | key                                                  | counts                              |
//! |------------------------------------------------------|-------------------------------------|
//! | campaign u64 · 0xFE · step id · field u8             | one [`MessageStats`] field of a step |
//! | campaign u64 · 0xFD                                  | recipients who replied at least once |
//! | campaign u64 · 0xFC · step id length u32 · step id · error code | failed messages of a step with that code |
//! | campaign u64 · 0xFB · epoch minute u32 · field u8    | one [`activity::Activity`] field of a minute |
//! | campaign u64 · 0xFA · step id · field u8             | recipients who replied / opted out after a step |
//!
//! Status codes are small (see [`RecipientStatus::code`]), so no tag collides with a status
//! count (the const assert below guards it), and every key still starts with its campaign (a
//! delete removes them). The field is the last byte, so a step id of any bytes reads back;
//! error keys length-prefix the step id, so a code of any bytes reads back too. Activity
//! minutes are big-endian, so a campaign's minutes are in time order (a range is one scan).

pub mod activity;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::records::{
    CampaignId, MessageRecord, MessageStatus, RecipientSeq, RecipientStatus, RunState,
};
use crate::store::{Store, StoreError, Table, recipient_key};

/// What a campaign's messages of one step came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MessageStats {
    /// Accepted by the provider, with no delivery news since.
    pub sent: u64,
    /// Confirmed delivered to the handset.
    pub delivered: u64,
    /// Refused by the provider (every failed try counts) or reported undelivered.
    pub failed: u64,
    /// Interrupted by a crash; the provider could not tell whether it went out.
    pub unknown: u64,
    /// Segments of the messages the provider accepted.
    pub segments: u64,
}

impl std::ops::AddAssign for MessageStats {
    fn add_assign(&mut self, other: Self) {
        self.sent += other.sent;
        self.delivered += other.delivered;
        self.failed += other.failed;
        self.unknown += other.unknown;
        self.segments += other.segments;
    }
}

/// How many recipients reacted after a step's message (each recipient counts once, under
/// the last message accepted for it before it reacted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Reactions {
    /// Recipients whose first reply came after this step's message.
    pub replied: u64,
    /// Recipients who opted out after this step's message.
    pub opted_out: u64,
}

/// How many failed messages carried one error code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorCount {
    /// The provider's (or carrier's) error code.
    pub code: String,
    /// Failed messages with it.
    pub count: u64,
}

/// The code a failed message without a reason counts under.
pub const NO_CODE: &str = "unspecified";

/// Tag byte of per-step message counters (after the campaign id).
const MESSAGE_TAG: u8 = 0xFE;
/// Tag byte of the responded counter.
const RESPONDED_TAG: u8 = 0xFD;
/// Tag byte of the per-step error code counters.
const ERROR_TAG: u8 = 0xFC;
/// Tag byte of the per-minute activity counters ([`activity`]).
pub(crate) const ACTIVITY_TAG: u8 = 0xFB;
/// Tag byte of the per-step reply and opt-out counters.
const REACTION_TAG: u8 = 0xFA;
/// The lowest tag: every status code must stay below it.
const LOWEST_TAG: u8 = REACTION_TAG;

// Guards the layout: a status code must never be a tag.
const _: () = assert!(RecipientStatus::ALL.len() < LOWEST_TAG as usize);

/// One field of [`MessageStats`], as its key byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Sent = 0,
    Delivered = 1,
    Failed = 2,
    Unknown = 3,
    Segments = 4,
}

impl Field {
    fn from_code(code: u8) -> Option<Self> {
        [
            Field::Sent,
            Field::Delivered,
            Field::Failed,
            Field::Unknown,
            Field::Segments,
        ]
        .into_iter()
        .find(|field| *field as u8 == code)
    }

    fn slot(self, stats: &mut MessageStats) -> &mut u64 {
        match self {
            Field::Sent => &mut stats.sent,
            Field::Delivered => &mut stats.delivered,
            Field::Failed => &mut stats.failed,
            Field::Unknown => &mut stats.unknown,
            Field::Segments => &mut stats.segments,
        }
    }
}

/// One field of [`Reactions`], as its key byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reaction {
    Replied = 0,
    OptedOut = 1,
}

/// `campaign · tag`: the prefix of one kind of a campaign's counters.
pub(crate) fn tagged_prefix(campaign: CampaignId, tag: u8) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[..8].copy_from_slice(&campaign.to_be_bytes());
    key[8] = tag;
    key
}

/// `campaign · 0xFE · step id · field`.
fn message_key(campaign: CampaignId, step_id: &str, field: Field) -> Vec<u8> {
    let mut key = tagged_prefix(campaign, MESSAGE_TAG).to_vec();
    key.extend_from_slice(step_id.as_bytes());
    key.push(field as u8);
    key
}

/// `campaign · 0xFC · step id length · step id · code`.
fn error_key(campaign: CampaignId, step_id: &str, code: &str) -> Vec<u8> {
    let mut key = tagged_prefix(campaign, ERROR_TAG).to_vec();
    let length = u32::try_from(step_id.len()).unwrap_or(u32::MAX);
    key.extend_from_slice(&length.to_be_bytes());
    key.extend_from_slice(step_id.as_bytes());
    key.extend_from_slice(code.as_bytes());
    key
}

/// `campaign · 0xFA · step id · reaction`.
fn reaction_key(campaign: CampaignId, step_id: &str, reaction: Reaction) -> Vec<u8> {
    let mut key = tagged_prefix(campaign, REACTION_TAG).to_vec();
    key.extend_from_slice(step_id.as_bytes());
    key.push(reaction as u8);
    key
}

/// `campaign · 0xFD`: the responded counter.
pub(crate) fn responded_key(campaign: CampaignId) -> [u8; 9] {
    tagged_prefix(campaign, RESPONDED_TAG)
}

/// What one message record adds to its step's statistics.
fn contribution(message: &MessageRecord) -> impl Iterator<Item = (Field, i64)> {
    let status = match message.status {
        MessageStatus::Sending => None,
        MessageStatus::Sent => Some(Field::Sent),
        MessageStatus::Delivered => Some(Field::Delivered),
        MessageStatus::Failed => Some(Field::Failed),
        MessageStatus::Unknown => Some(Field::Unknown),
    };
    // A provider id is what acceptance leaves behind (a failure by receipt keeps it).
    let segments = message
        .provider_id
        .is_some()
        .then(|| (Field::Segments, i64::from(message.outbound.segments)));
    status.map(|field| (field, 1)).into_iter().chain(segments)
}

/// The error code a failed message counts under; `None` for any other.
fn failure_code(message: &MessageRecord) -> Option<&str> {
    (message.status == MessageStatus::Failed).then(|| {
        message
            .error
            .as_ref()
            .map_or(NO_CODE, |reason| reason.code.as_str())
    })
}

/// The counter deltas of writing `after` over `before` (the record its key held, if any):
/// step statistics, error codes and activity. Keys whose delta nets to zero are left out.
pub(crate) fn message_deltas(
    before: Option<&MessageRecord>,
    after: &MessageRecord,
) -> Vec<(Vec<u8>, i64)> {
    let mut deltas: BTreeMap<Vec<u8>, i64> = BTreeMap::new();
    let mut add = |message: &MessageRecord, sign: i64| {
        let o = &message.outbound;
        for (field, amount) in contribution(message) {
            *deltas
                .entry(message_key(o.campaign, &o.step_id, field))
                .or_default() += sign * amount;
        }
        if let Some(code) = failure_code(message) {
            *deltas
                .entry(error_key(o.campaign, &o.step_id, code))
                .or_default() += sign;
        }
        for key in activity::contribution(message) {
            *deltas.entry(key).or_default() += sign;
        }
    };
    if let Some(before) = before {
        add(before, -1);
    }
    add(after, 1);
    deltas
        .into_iter()
        .filter(|(_, delta)| *delta != 0)
        .collect()
}

/// What one run adds to its campaign's per-step reaction counts: one for the step its reply
/// is credited to, one for the step its opt-out is (none for an empty step: nothing had
/// been sent).
fn run_contribution(campaign: CampaignId, run: &RunState) -> impl Iterator<Item = Vec<u8>> {
    let replied = run
        .replied_after
        .as_deref()
        .filter(|step| run.responded && !step.is_empty())
        .map(|step| reaction_key(campaign, step, Reaction::Replied));
    let opted_out = run
        .opted_out_after
        .as_deref()
        .filter(|step| !step.is_empty())
        .map(|step| reaction_key(campaign, step, Reaction::OptedOut));
    replied.into_iter().chain(opted_out)
}

/// The reaction counter deltas of writing run `after` over `before` (none for a new run);
/// keys whose delta nets to zero are left out.
pub(crate) fn run_deltas(
    campaign: CampaignId,
    before: Option<&RunState>,
    after: &RunState,
) -> Vec<(Vec<u8>, i64)> {
    let mut deltas: BTreeMap<Vec<u8>, i64> = BTreeMap::new();
    for key in before
        .into_iter()
        .flat_map(|run| run_contribution(campaign, run))
    {
        *deltas.entry(key).or_default() -= 1;
    }
    for key in run_contribution(campaign, after) {
        *deltas.entry(key).or_default() += 1;
    }
    deltas
        .into_iter()
        .filter(|(_, delta)| *delta != 0)
        .collect()
}

/// Credits a reply or an opt-out that the transition from `before` to `after` brings (the
/// first reply; the run turning `opted_out`) to the step of the last message the provider
/// accepted for the recipient: read from the store, or `answered` when that is newer (a
/// provider answer not committed yet, in the same batch). Already credited runs keep their
/// step.
pub(crate) fn credit_reactions(
    store: &Store,
    campaign: CampaignId,
    seq: RecipientSeq,
    before: &RunState,
    after: &mut RunState,
    answered: Option<&MessageRecord>,
) -> Result<(), StoreError> {
    let replied = after.responded && !before.responded && after.replied_after.is_none();
    let opted_out = after.status == RecipientStatus::OptedOut
        && before.status != RecipientStatus::OptedOut
        && after.opted_out_after.is_none();
    if !(replied || opted_out) {
        return Ok(());
    }
    let step = store
        .last_sent_step(campaign, seq, answered)?
        .unwrap_or_default();
    if replied {
        after.replied_after = Some(step.clone());
    }
    if opted_out {
        after.opted_out_after = Some(step);
    }
    Ok(())
}

/// The `count` most frequent codes, most frequent first (ties by code).
pub fn top_errors(codes: &BTreeMap<String, u64>, count: usize) -> Vec<ErrorCount> {
    let mut all: Vec<ErrorCount> = codes
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(code, n)| ErrorCount {
            code: code.clone(),
            count: *n,
        })
        .collect();
    all.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.code.cmp(&b.code)));
    all.truncate(count);
    all
}

fn count(value: &[u8]) -> u64 {
    value.try_into().map_or(0, u64::from_be_bytes)
}

impl Store {
    /// A campaign's message statistics by step id (only steps with answered messages).
    pub fn message_stats(
        &self,
        campaign: CampaignId,
    ) -> Result<BTreeMap<String, MessageStats>, StoreError> {
        let prefix = tagged_prefix(campaign, MESSAGE_TAG);
        let mut stats: BTreeMap<String, MessageStats> = BTreeMap::new();
        for entry in self.backend().scan(Table::Counters, &prefix) {
            let (key, value) = entry?;
            let Some((code, step_id)) = key.get(prefix.len()..).and_then(<[u8]>::split_last) else {
                continue;
            };
            let Some(field) = Field::from_code(*code) else {
                continue;
            };
            let step = stats
                .entry(String::from_utf8_lossy(step_id).into_owned())
                .or_default();
            *field.slot(step) = count(&value);
        }
        Ok(stats)
    }

    /// A campaign's failed messages by step id, then by error code (only codes with some).
    pub fn error_counts(
        &self,
        campaign: CampaignId,
    ) -> Result<BTreeMap<String, BTreeMap<String, u64>>, StoreError> {
        let prefix = tagged_prefix(campaign, ERROR_TAG);
        let mut errors: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for entry in self.backend().scan(Table::Counters, &prefix) {
            let (key, value) = entry?;
            let n = count(&value);
            let rest = key.get(prefix.len()..).unwrap_or_default();
            let Some((length, rest)) = rest.split_first_chunk::<4>() else {
                continue;
            };
            let length = usize::try_from(u32::from_be_bytes(*length)).unwrap_or(usize::MAX);
            let (Some(step_id), Some(code)) = (rest.get(..length), rest.get(length..)) else {
                continue;
            };
            if n > 0 {
                errors
                    .entry(String::from_utf8_lossy(step_id).into_owned())
                    .or_default()
                    .insert(String::from_utf8_lossy(code).into_owned(), n);
            }
        }
        Ok(errors)
    }

    /// A campaign's replies and opt-outs by the step they came after (only steps with some).
    pub fn reactions(
        &self,
        campaign: CampaignId,
    ) -> Result<BTreeMap<String, Reactions>, StoreError> {
        let prefix = tagged_prefix(campaign, REACTION_TAG);
        let mut reactions: BTreeMap<String, Reactions> = BTreeMap::new();
        for entry in self.backend().scan(Table::Counters, &prefix) {
            let (key, value) = entry?;
            let Some((code, step_id)) = key.get(prefix.len()..).and_then(<[u8]>::split_last) else {
                continue;
            };
            let n = count(&value);
            if n == 0 {
                continue;
            }
            let step = reactions
                .entry(String::from_utf8_lossy(step_id).into_owned())
                .or_default();
            match *code {
                c if c == Reaction::Replied as u8 => step.replied = n,
                c if c == Reaction::OptedOut as u8 => step.opted_out = n,
                _ => {}
            }
        }
        Ok(reactions)
    }

    /// How many of a campaign's recipients replied at least once.
    pub fn responded(&self, campaign: CampaignId) -> Result<u64, StoreError> {
        Ok(self
            .backend()
            .get(Table::Counters, &responded_key(campaign))?
            .map_or(0, |value| count(&value)))
    }

    /// The step id of the last message the provider accepted for a recipient (the latest
    /// created; of those, the last in step order), considering `answered` too: a provider
    /// answer about to be committed with the caller's changes.
    pub(crate) fn last_sent_step(
        &self,
        campaign: CampaignId,
        seq: RecipientSeq,
        answered: Option<&MessageRecord>,
    ) -> Result<Option<String>, StoreError> {
        let mut latest: Option<MessageRecord> = None;
        let stored = self
            .scan_records::<MessageRecord>(Table::Messages, &recipient_key(campaign, seq))
            .map(|entry| entry.map(|(_, message)| message));
        let pending = answered
            .filter(|m| m.outbound.campaign == campaign && m.outbound.recipient == seq)
            .cloned()
            .map(Ok);
        for message in stored.chain(pending) {
            let message = message?;
            if message.provider_id.is_some()
                && latest
                    .as_ref()
                    .is_none_or(|l| message.created_at >= l.created_at)
            {
                latest = Some(message);
            }
        }
        Ok(latest.map(|m| m.outbound.step_id))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::records::{Outbound, Reason, RecipientRecord, RunState};
    use crate::store::Changes;

    /// A message of campaign 1, recipient 0 (also the activity tests' fixture).
    pub(super) fn message(step_id: &str, attempt: u32, status: MessageStatus) -> MessageRecord {
        let accepted = matches!(status, MessageStatus::Sent | MessageStatus::Delivered);
        MessageRecord {
            outbound: Outbound {
                campaign: 1,
                recipient: 0,
                pc: 0,
                attempt,
                try_number: 1,
                step_id: step_id.into(),
                variant: "main".into(),
                provider: "mock".into(),
                from: "+14165550100".into(),
                to: "+14165550001".into(),
                body: "hi".into(),
                media: Vec::new(),
                segments: 2,
                conversation: None,
            },
            status,
            provider_id: accepted.then(|| format!("SM{step_id}{attempt}")),
            error: None,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            answered_at: None,
            status_at: None,
        }
    }

    fn commit(store: &Store, write: impl FnOnce(&mut Changes)) {
        let mut changes = Changes::new();
        write(&mut changes);
        store.commit(changes).expect("commit");
    }

    #[test]
    fn counters_move_with_the_message_and_never_collide_with_status_counts() {
        let store = Store::temporary().expect("store");
        commit(&store, |c| {
            c.add_recipient(
                1,
                &RecipientRecord::new(0, "+14165550001".into(), BTreeMap::new()),
            )
        });
        let sent = message("welcome", 0, MessageStatus::Sent);
        commit(&store, |c| c.record_result(&sent, None));
        let mut delivered = sent.clone();
        delivered.status = MessageStatus::Delivered;
        commit(&store, |c| c.put_message(Some(&sent), &delivered));
        let mut undelivered = delivered.clone();
        undelivered.status = MessageStatus::Failed;
        undelivered.error = Some(Reason {
            code: "30003".into(),
            message: "unreachable".into(),
        });
        let other = message("follow-up", 0, MessageStatus::Unknown);
        commit(&store, |c| {
            c.put_message(Some(&delivered), &undelivered);
            c.record_result(&other, None);
        });
        let stats = store.message_stats(1).expect("stats");
        assert_eq!(
            stats,
            BTreeMap::from([
                (
                    "follow-up".to_string(),
                    MessageStats {
                        unknown: 1,
                        ..MessageStats::default()
                    }
                ),
                (
                    "welcome".to_string(),
                    MessageStats {
                        failed: 1,
                        segments: 2,
                        ..MessageStats::default()
                    }
                ),
            ])
        );
        assert_eq!(
            store.counters(1).expect("counters"),
            BTreeMap::from([(RecipientStatus::Pending, 1)])
        );
        assert!(store.message_stats(2).expect("stats").is_empty());
    }

    #[test]
    fn a_record_written_over_another_gives_its_count_back() {
        let store = Store::temporary().expect("store");
        let throttled = message("welcome", 0, MessageStatus::Failed);
        commit(&store, |c| c.record_result(&throttled, None));
        let accepted = message("welcome", 0, MessageStatus::Sent);
        commit(&store, |c| c.record_result(&accepted, Some(&throttled)));
        assert_eq!(
            store.message_stats(1).expect("stats").get("welcome"),
            Some(&MessageStats {
                sent: 1,
                segments: 2,
                ..MessageStats::default()
            })
        );
    }

    #[test]
    fn responded_counts_each_recipient_once() {
        let store = Store::temporary().expect("store");
        let before = RunState::new();
        let mut replied = before.clone();
        replied.responded = true;
        commit(&store, |c| {
            c.put_run(1, 0, "+14165550001", &before, &replied);
            c.put_run(1, 1, "+14165550002", &before, &replied);
        });
        // A second reply: the flag was already set.
        commit(&store, |c| {
            c.put_run(1, 0, "+14165550001", &replied, &replied)
        });
        assert_eq!(store.responded(1).expect("responded"), 2);
        assert_eq!(store.responded(2).expect("responded"), 0);
        assert!(store.counters(1).expect("counters").is_empty());
    }

    fn failed(step_id: &str, attempt: u32, code: &str) -> MessageRecord {
        let mut m = message(step_id, attempt, MessageStatus::Failed);
        m.error = Some(Reason {
            code: code.into(),
            message: "no".into(),
        });
        m
    }

    /// Step statistics, error codes by step, activity by minute.
    type Recount = (
        BTreeMap<String, MessageStats>,
        BTreeMap<String, BTreeMap<String, u64>>,
        BTreeMap<i64, activity::Activity>,
    );

    /// What the counters must say, recounted from the records as they stand.
    fn recount(records: &BTreeMap<(String, u32), MessageRecord>) -> Recount {
        let mut stats: BTreeMap<String, MessageStats> = BTreeMap::new();
        let mut errors: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        let mut minutes: BTreeMap<i64, activity::Activity> = BTreeMap::new();
        let minute = |at: Option<DateTime<Utc>>| at.map(|at| at.timestamp().div_euclid(60));
        for m in records.values() {
            let step = m.outbound.step_id.clone();
            let mut one = MessageStats::default();
            for (field, amount) in contribution(m) {
                *field.slot(&mut one) += amount as u64;
            }
            if one != MessageStats::default() {
                *stats.entry(step.clone()).or_default() += one;
            }
            if m.status == MessageStatus::Failed {
                let code = m.error.as_ref().map_or(NO_CODE, |r| r.code.as_str());
                *errors
                    .entry(step)
                    .or_default()
                    .entry(code.to_string())
                    .or_default() += 1;
            }
            if m.provider_id.is_some()
                && let Some(at) = minute(m.answered_at)
            {
                minutes.entry(at).or_default().sent += 1;
            }
            let settled = minute(m.status_at.or(m.answered_at));
            match (m.status, settled) {
                (MessageStatus::Delivered, Some(at)) => {
                    minutes.entry(at).or_default().delivered += 1
                }
                (MessageStatus::Failed, Some(at)) => minutes.entry(at).or_default().failed += 1,
                _ => {}
            }
        }
        (stats, errors, minutes)
    }

    #[test]
    fn counters_equal_a_recount_after_random_rewrites() {
        let store = Store::temporary().expect("store");
        let base = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let mut records: BTreeMap<(String, u32), MessageRecord> = BTreeMap::new();
        // A small deterministic generator: the same sequence every run.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        for round in 0..600 {
            let step = ["welcome", "reminder", "last"][next(3) as usize].to_string();
            let attempt = next(2) as u32;
            let at = |s: u64| Some(base + chrono::TimeDelta::seconds(s as i64));
            let mut after = match next(5) {
                0 => message(&step, attempt, MessageStatus::Sent),
                1 => message(&step, attempt, MessageStatus::Delivered),
                2 => failed(
                    &step,
                    attempt,
                    ["30003", "30005", "mock-blocked"][next(3) as usize],
                ),
                3 => message(&step, attempt, MessageStatus::Unknown),
                _ => {
                    let mut m = message(&step, attempt, MessageStatus::Failed);
                    m.provider_id = Some(format!("SM{round}"));
                    m
                }
            };
            after.answered_at = at(next(600));
            after.status_at = (next(2) == 0).then(|| at(600 + next(600))).flatten();
            let key = (step, attempt);
            let before = records.get(&key);
            commit(&store, |c| c.put_message(before, &after));
            records.insert(key, after);
        }
        let (stats, errors, minutes) = recount(&records);
        assert_eq!(store.message_stats(1).expect("stats"), stats);
        assert_eq!(store.error_counts(1).expect("errors"), errors);
        let read = store.activity(1, 0, i64::from(u32::MAX)).expect("activity");
        assert_eq!(read, minutes);
        let total = |f: fn(&activity::Activity) -> u64| read.values().map(f).sum::<u64>();
        assert_eq!(
            total(|a| a.failed),
            stats.values().map(|s| s.failed).sum::<u64>()
        );
        assert_eq!(
            total(|a| a.delivered),
            stats.values().map(|s| s.delivered).sum::<u64>()
        );
        assert!(store.counters(1).expect("counters").is_empty());
    }

    #[test]
    fn a_delivery_leaves_the_sent_minute_and_adds_its_own() {
        let store = Store::temporary().expect("store");
        let at = |s: i64| DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap_or_default();
        let mut sent = message("welcome", 0, MessageStatus::Sent);
        sent.answered_at = Some(at(59));
        commit(&store, |c| c.record_result(&sent, None));
        let mut delivered = sent.clone();
        delivered.status = MessageStatus::Delivered;
        delivered.status_at = Some(at(60));
        commit(&store, |c| c.put_message(Some(&sent), &delivered));
        let minute = 1_800_000_000 / 60;
        let read = store.activity(1, minute, minute + 1).expect("activity");
        assert_eq!(
            read,
            BTreeMap::from([
                (
                    minute,
                    activity::Activity {
                        sent: 1,
                        ..Default::default()
                    }
                ),
                (
                    minute + 1,
                    activity::Activity {
                        delivered: 1,
                        ..Default::default()
                    }
                ),
            ])
        );
        assert!(
            store
                .activity(1, minute + 2, minute + 9)
                .expect("activity")
                .is_empty()
        );
        assert!(store.activity(2, 0, i64::MAX).expect("activity").is_empty());
    }

    #[test]
    fn a_deleted_campaign_loses_every_counter() {
        let store = Store::temporary().expect("store");
        let mut refused = failed("welcome", 0, "30003");
        refused.answered_at = Some(DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default());
        let mut run = RunState::new();
        run.responded = true;
        run.replied_after = Some("welcome".into());
        commit(&store, |c| {
            c.record_result(&refused, None);
            c.put_run(1, 0, "+14165550001", &RunState::new(), &run);
        });
        assert!(!store.error_counts(1).expect("errors").is_empty());
        store.delete_campaign(1, &[]).expect("delete");
        assert!(store.message_stats(1).expect("stats").is_empty());
        assert!(store.error_counts(1).expect("errors").is_empty());
        assert!(store.reactions(1).expect("reactions").is_empty());
        assert!(
            store
                .activity(1, 0, i64::from(u32::MAX))
                .expect("activity")
                .is_empty()
        );
        assert_eq!(store.responded(1).expect("responded"), 0);
    }

    #[test]
    fn top_errors_are_by_count_then_code() {
        let codes = BTreeMap::from([
            ("b".to_string(), 3),
            ("a".to_string(), 3),
            ("c".to_string(), 9),
            ("d".to_string(), 0),
            ("e".to_string(), 1),
        ]);
        let top: Vec<(String, u64)> = top_errors(&codes, 3)
            .into_iter()
            .map(|e| (e.code, e.count))
            .collect();
        assert_eq!(top, [("c".into(), 9), ("a".into(), 3), ("b".into(), 3)]);
    }

    #[test]
    fn replies_and_opt_outs_are_credited_to_the_last_message_accepted_before() {
        let store = Store::temporary().expect("store");
        let at = |s: i64| DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap_or_default();
        let mut first = message("welcome", 0, MessageStatus::Delivered);
        first.created_at = at(0);
        let mut refused = failed("reminder", 0, "30003");
        refused.created_at = at(10);
        refused.outbound.pc = 1;
        commit(&store, |c| {
            c.record_result(&first, None);
            c.record_result(&refused, None);
        });
        let run = RunState::new();
        // Recipient 0 replies: the refused reminder was not sent, the welcome was.
        let mut replied = run.clone();
        replied.responded = true;
        credit_reactions(&store, 1, 0, &run, &mut replied, None).expect("credit");
        assert_eq!(replied.replied_after.as_deref(), Some("welcome"));
        // A provider answer not committed yet is the latest.
        let mut answered = message("reminder", 1, MessageStatus::Sent);
        answered.created_at = at(20);
        answered.outbound.pc = 1;
        let mut opted = replied.clone();
        opted.status = RecipientStatus::OptedOut;
        credit_reactions(&store, 1, 0, &replied, &mut opted, Some(&answered)).expect("credit");
        assert_eq!(opted.opted_out_after.as_deref(), Some("reminder"));
        // Recipient 1 was sent nothing: credited to no step.
        let mut silent = run.clone();
        silent.status = RecipientStatus::OptedOut;
        credit_reactions(&store, 1, 1, &run, &mut silent, None).expect("credit");
        assert_eq!(silent.opted_out_after.as_deref(), Some(""));
        commit(&store, |c| {
            c.put_run(1, 0, "+14165550001", &run, &replied);
            c.put_run(1, 1, "+14165550002", &run, &silent);
        });
        commit(&store, |c| {
            c.put_run(1, 0, "+14165550001", &replied, &opted)
        });
        // A later reply or a second opt-out credits nothing more.
        let mut again = opted.clone();
        credit_reactions(&store, 1, 0, &opted, &mut again, Some(&answered)).expect("credit");
        assert_eq!(again, opted);
        commit(&store, |c| c.put_run(1, 0, "+14165550001", &opted, &again));
        assert_eq!(
            store.reactions(1).expect("reactions"),
            BTreeMap::from([
                (
                    "reminder".to_string(),
                    Reactions {
                        replied: 0,
                        opted_out: 1
                    }
                ),
                (
                    "welcome".to_string(),
                    Reactions {
                        replied: 1,
                        opted_out: 0
                    }
                ),
            ])
        );
        assert_eq!(store.responded(1).expect("responded"), 1);
        // A run rewritten back (a retry, a repair) gives its counts back.
        commit(&store, |c| c.put_run(1, 0, "+14165550001", &opted, &run));
        assert!(store.reactions(1).expect("reactions").is_empty());
    }

    #[test]
    fn step_ids_of_any_bytes_read_back() {
        let store = Store::temporary().expect("store");
        let odd = message("a\u{0}\u{2}é", 0, MessageStatus::Sent);
        commit(&store, |c| c.record_result(&odd, None));
        assert_eq!(
            store
                .message_stats(1)
                .expect("stats")
                .keys()
                .collect::<Vec<_>>(),
            ["a\u{0}\u{2}é"]
        );
        let odd_failure = failed("a\u{0}\u{2}é", 1, "\u{0}x");
        commit(&store, |c| c.record_result(&odd_failure, None));
        assert_eq!(
            store.error_counts(1).expect("errors"),
            BTreeMap::from([(
                "a\u{0}\u{2}é".to_string(),
                BTreeMap::from([("\u{0}x".to_string(), 1)])
            )])
        );
    }
}
