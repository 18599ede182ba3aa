//! The inbox: webhook events (delivery receipts, inbound replies) are written here durably as
//! they arrive, and applied by the engine in batches between its other work. A webhook is
//! answered once its events are in the inbox, never waiting on the engine: a provider that
//! calls back while the engine is still inside that very send (the mock does) is not blocked.
//!
//! A receipt can arrive before the engine has recorded the provider's answer it refers to
//! (the provider calls back within the send, or the daemon crashed in between and the
//! answer is still being reconciled). Such a receipt waits and is tried again later — after
//! 1 s, 5 s, 30 s, 2 min, 10 min — and is dropped as unknown only after that.
//!
//! Keys are `not-before instant · sequence`, so a drain reads only what is due, in arrival
//! order. Applying is idempotent (receipts move statuses forward only), so an event applied
//! just before a crash and applied again after it changes nothing the second time.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::delivery::DeliveryUpdate;
use crate::engine::{Runtime, RuntimeError};
use crate::records::{decode, encode};
use crate::store::{Changes, Store, StoreError, Table, instant_key};

/// Waits before an unmatched receipt is tried again, in order; then it is dropped.
const RETRY_AFTER_SECONDS: [i64; 5] = [1, 5, 30, 120, 600];

/// Something a provider's webhook told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InboxEvent {
    /// A delivery report on a message we sent.
    Receipt {
        /// The provider's id of the message.
        provider_id: String,
        /// What happened to it.
        update: DeliveryUpdate,
    },
    /// A message from a recipient.
    Reply {
        /// The provider's id of the inbound message.
        provider_message_id: String,
        /// Who sent it.
        from: String,
        /// Our number it was sent to.
        to: String,
        /// Its text.
        text: String,
    },
}

/// An event with when it arrived and how often it was tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxEntry {
    /// When the webhook brought it.
    pub received_at: DateTime<Utc>,
    /// Earlier tries (receipts for messages not known yet).
    pub tries: u32,
    /// The event.
    pub event: InboxEvent,
}

/// What one drain did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DrainReport {
    /// Receipts applied to a known message.
    pub receipts: usize,
    /// Replies applied.
    pub replies: usize,
    /// Recipients the replies resumed.
    pub resumed: usize,
    /// Receipts put back to wait for their message.
    pub deferred: usize,
    /// Receipts dropped: no such message even after every retry.
    pub dropped: usize,
}

impl DrainReport {
    /// Events taken off the inbox (applied or dropped).
    pub fn done(&self) -> usize {
        self.receipts + self.replies + self.dropped
    }
}

/// An inbox key and its entry (`None`: unreadable).
type DueEntry = (Vec<u8>, Option<InboxEntry>);

fn inbox_key(not_before: DateTime<Utc>, sequence: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&instant_key(not_before));
    key[8..].copy_from_slice(&sequence.to_be_bytes());
    key
}

impl Store {
    /// Writes webhook events to the inbox, in one transaction. Not flushed: the caller makes
    /// them durable (with [`Store::flush`], shared by concurrent webhooks) before answering.
    pub fn enqueue_inbox(
        &self,
        events: Vec<InboxEvent>,
        received_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut changes = Changes::new();
        for event in events {
            let entry = InboxEntry {
                received_at,
                tries: 0,
                event,
            };
            changes.put(
                Table::Inbox,
                &inbox_key(received_at, self.generate_id()?),
                encode(&entry),
            );
        }
        self.commit(changes)
    }

    /// Due inbox entries, oldest first, at most `limit`; `None` for one that cannot be read
    /// (damaged: it can never be applied).
    fn due_inbox(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<DueEntry>, StoreError> {
        let mut end = instant_key(now).to_vec();
        end.extend_from_slice(&[0xff; 8]);
        let keys = self
            .backend()
            .range_keys(Table::Inbox, &[0u8; 16], &end, limit)?;
        let mut due = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(bytes) = self.backend().get(Table::Inbox, &key)? {
                due.push((key, decode::<InboxEntry>(&bytes).ok()));
            }
        }
        Ok(due)
    }

    /// Entries waiting in the inbox (due or deferred).
    pub fn inbox_len(&self) -> Result<usize, StoreError> {
        let mut count = 0;
        for entry in self.backend().scan(Table::Inbox, &[]) {
            entry?;
            count += 1;
        }
        Ok(count)
    }
}

impl Runtime {
    /// Applies up to `limit` due inbox events: receipts to their messages, replies to the
    /// recipients waiting for them. Receipts for messages not recorded yet wait and are tried
    /// again later.
    pub fn drain_inbox(&mut self, limit: usize) -> Result<DrainReport, RuntimeError> {
        let now = self.clock.now();
        let mut report = DrainReport::default();
        let due = self.store.due_inbox(now, limit)?;
        if due.is_empty() {
            return Ok(report);
        }
        let mut done = Changes::new();
        for (key, entry) in due {
            done.remove(Table::Inbox, &key);
            let Some(entry) = entry else {
                report.dropped += 1;
                continue;
            };
            match &entry.event {
                InboxEvent::Receipt {
                    provider_id,
                    update,
                } => match self.apply_delivery(provider_id, update.clone())? {
                    Some(_) => report.receipts += 1,
                    None => match RETRY_AFTER_SECONDS.get(entry.tries as usize) {
                        Some(wait) => {
                            let retry = InboxEntry {
                                tries: entry.tries + 1,
                                ..entry.clone()
                            };
                            let at = now + TimeDelta::seconds(*wait);
                            done.put(
                                Table::Inbox,
                                &inbox_key(at, self.store.generate_id()?),
                                encode(&retry),
                            );
                            report.deferred += 1;
                        }
                        None => report.dropped += 1,
                    },
                },
                InboxEvent::Reply { from, text, .. } => {
                    report.replies += 1;
                    report.resumed += self.deliver_reply(from, text)?;
                }
            }
        }
        self.store.commit(done)?;
        Ok(report)
    }
}
