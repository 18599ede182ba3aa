//! Campaign statistics beyond the per-status recipient counts: per-step message statistics
//! and how many recipients replied. Exact counters in the `counters` table, moved by
//! [`crate::store::Changes`] in the same transaction as the records they count.
//!
//! A message record counts once, under its current status: a receipt moves it from `sent`
//! to `delivered` or `failed`, and a record written over another under the same key (a
//! throttled try answered again, a failure being retried) takes the old one's count away.
//! So a step's statistics always equal a recount of its answered messages (intents still
//! with the provider are not counted). `segments` totals the segments of the messages the
//! provider accepted, whatever became of them since.
//!
//! # Key layout (in `counters`, beside the status counts `campaign u64 · status u8`)
//! | key                                        | counts                                   |
//! |--------------------------------------------|------------------------------------------|
//! | campaign u64 · 0xFE · step id · field u8   | one [`MessageStats`] field of one step   |
//! | campaign u64 · 0xFD                        | recipients who replied at least once     |
//!
//! Status codes are small (see [`RecipientStatus::code`]), so neither collides with a status
//! count, and every key still starts with its campaign (a delete removes them). The field is
//! the last byte, so a step id of any bytes reads back.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::records::{CampaignId, MessageRecord, MessageStatus, RecipientStatus};
use crate::store::{Store, StoreError, Table};

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

/// Tag byte of per-step message counters (after the campaign id).
const MESSAGE_TAG: u8 = 0xFE;
/// Tag byte of the responded counter.
const RESPONDED_TAG: u8 = 0xFD;

// Guards the layout: a status code must never be a tag.
const _: () = assert!(RecipientStatus::ALL.len() < RESPONDED_TAG as usize);

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

/// `campaign · 0xFE`: the prefix of a campaign's message counters.
fn message_prefix(campaign: CampaignId) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[..8].copy_from_slice(&campaign.to_be_bytes());
    key[8] = MESSAGE_TAG;
    key
}

/// `campaign · 0xFE · step id · field`.
fn message_key(campaign: CampaignId, step_id: &str, field: Field) -> Vec<u8> {
    let mut key = message_prefix(campaign).to_vec();
    key.extend_from_slice(step_id.as_bytes());
    key.push(field as u8);
    key
}

/// `campaign · 0xFD`: the responded counter.
pub(crate) fn responded_key(campaign: CampaignId) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[..8].copy_from_slice(&campaign.to_be_bytes());
    key[8] = RESPONDED_TAG;
    key
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

/// The counter deltas of writing `after` over `before` (the record its key held, if any);
/// keys whose delta nets to zero are left out.
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

fn count(value: &[u8]) -> u64 {
    value.try_into().map_or(0, u64::from_be_bytes)
}

impl Store {
    /// A campaign's message statistics by step id (only steps with answered messages).
    pub fn message_stats(
        &self,
        campaign: CampaignId,
    ) -> Result<BTreeMap<String, MessageStats>, StoreError> {
        let prefix = message_prefix(campaign);
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

    /// How many of a campaign's recipients replied at least once.
    pub fn responded(&self, campaign: CampaignId) -> Result<u64, StoreError> {
        Ok(self
            .backend()
            .get(Table::Counters, &responded_key(campaign))?
            .map_or(0, |value| count(&value)))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::records::{Outbound, Reason, RecipientRecord, RunState};
    use crate::store::Changes;

    fn message(step_id: &str, attempt: u32, status: MessageStatus) -> MessageRecord {
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
    }
}
