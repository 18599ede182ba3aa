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
//! order (receipts of one drain are applied together, then its replies in order). Receipts
//! are idempotent (they move statuses forward only). An inbound message is taken once per
//! provider message id: a provider retrying its webhook does not deliver the reply twice.
//! A reply leaves the inbox in the transaction that writes it into its conversation, so a
//! crash or an error never applies it twice to the conversation (the campaign recipient it
//! resumes is committed just before: resumed once, as its waiter is gone by then). A reply
//! that fails is tried again later, like an unmatched receipt, then dropped. (Markers of
//! received ids are kept; pruning old ones is left to do.)

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
        /// The provider instance whose webhook brought it (replies go back through it).
        #[serde(default)]
        provider: String,
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

/// First byte of the markers of inbound messages already received: past every instant key,
/// so a drain never reads them.
const REPLY_MARKER: u8 = 0xff;

fn reply_marker(provider_message_id: &str) -> Vec<u8> {
    let mut key = vec![REPLY_MARKER];
    key.extend_from_slice(provider_message_id.as_bytes());
    key
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
        self.enqueue_inbox_batch([(received_at, events)])
    }

    /// Writes the events of many webhooks to the inbox, each with when it arrived, in one
    /// transaction (a writer gathering concurrent webhooks pays for one instead of one each).
    /// Not flushed, like [`Store::enqueue_inbox`].
    pub fn enqueue_inbox_batch(
        &self,
        webhooks: impl IntoIterator<Item = (DateTime<Utc>, Vec<InboxEvent>)>,
    ) -> Result<(), StoreError> {
        let mut changes = Changes::new();
        let mut taken = std::collections::HashSet::new();
        for (received_at, events) in webhooks {
            for event in events {
                // A provider retrying a webhook sends the same inbound message again: only the
                // first is applied (receipts need no such care: they only move statuses
                // forward). The retry may be in the same batch as the first.
                if let InboxEvent::Reply {
                    provider_message_id,
                    ..
                } = &event
                {
                    let marker = reply_marker(provider_message_id);
                    if !taken.insert(marker.clone())
                        || self.backend().get(Table::Inbox, &marker)?.is_some()
                    {
                        continue;
                    }
                    changes.put(Table::Inbox, &marker, encode(&received_at));
                }
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
        }
        self.commit(changes)
    }

    /// Due inbox entries, oldest first, at most `limit`; `None` for one that cannot be read
    /// (damaged: it can never be applied).
    fn due_inbox(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<DueEntry>, StoreError> {
        let mut end = instant_key(now).to_vec();
        end.extend_from_slice(&[0xff; 8]);
        // One ordered scan reads keys and values together; it stops at the first entry not
        // due yet (the reply markers sort after every instant key).
        let mut due = Vec::new();
        for entry in self.backend().scan(Table::Inbox, &[]) {
            let (key, bytes) = entry?;
            if key.as_slice() > end.as_slice() || due.len() >= limit {
                break;
            }
            due.push((key, decode::<InboxEntry>(&bytes).ok()));
        }
        Ok(due)
    }

    /// Entries waiting in the inbox (due or deferred).
    pub fn inbox_len(&self) -> Result<usize, StoreError> {
        let mut count = 0;
        for entry in self.backend().scan(Table::Inbox, &[]) {
            let (key, _) = entry?;
            if key.first() != Some(&REPLY_MARKER) {
                count += 1;
            }
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
        // Receipts are applied together (one transaction for the lot, taken off the inbox
        // with it); replies one by one, in order, after them, each taken off the inbox in
        // its own conversation's transaction.
        let mut receipts = Vec::new();
        let mut replies = Vec::new();
        for (key, entry) in due {
            let Some(entry) = entry else {
                done.remove(Table::Inbox, &key);
                report.dropped += 1;
                continue;
            };
            match &entry.event {
                InboxEvent::Receipt {
                    provider_id,
                    update,
                } => {
                    done.remove(Table::Inbox, &key);
                    receipts.push(((provider_id.clone(), update.clone()), entry));
                }
                InboxEvent::Reply { .. } => replies.push((key, entry)),
            }
        }
        let (reports, entries): (Vec<_>, Vec<_>) = receipts.into_iter().unzip();
        let answers = self.apply_deliveries(reports)?;
        for (answer, entry) in answers.into_iter().zip(entries) {
            if answer.is_some() {
                report.receipts += 1;
                continue;
            }
            match RETRY_AFTER_SECONDS.get(entry.tries as usize) {
                Some(wait) => {
                    let retry = InboxEntry {
                        tries: entry.tries + 1,
                        ..entry
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
            }
        }
        self.store.commit(done)?;
        for (key, entry) in replies {
            let InboxEvent::Reply {
                provider,
                provider_message_id,
                from,
                to,
                text,
            } = entry.event.clone()
            else {
                continue;
            };
            let mut taken = Changes::new();
            taken.remove(Table::Inbox, &key);
            let message = crate::conversation::inbound::InboundMessage {
                provider,
                provider_message_id,
                from,
                to,
                text,
            };
            match self.receive(message, taken) {
                Ok(inbound) => {
                    report.replies += 1;
                    report.resumed += inbound.resumed;
                }
                Err(error) => {
                    // Tried again later (and the replies after it still go through now);
                    // after the last try it is dropped. The caller logs the error.
                    let mut later = Changes::new();
                    later.remove(Table::Inbox, &key);
                    if let Some(wait) = RETRY_AFTER_SECONDS.get(entry.tries as usize) {
                        let retry = InboxEntry {
                            tries: entry.tries + 1,
                            ..entry
                        };
                        let at = now + TimeDelta::seconds(*wait);
                        later.put(
                            Table::Inbox,
                            &inbox_key(at, self.store.generate_id()?),
                            encode(&retry),
                        );
                    }
                    self.store.commit(later)?;
                    return Err(error);
                }
            }
        }
        Ok(report)
    }
}
