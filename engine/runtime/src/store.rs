//! The durable store, on sled: one tree per concern, ordered big-endian keys, versioned
//! records ([`crate::records`]), and one transaction for everything that must agree.
//!
//! # Key layout
//! Integers are big-endian so byte order is numeric order; instants are milliseconds since the
//! epoch with the sign bit flipped (so negative instants still sort first).
//!
//! | tree          | key                                          | value              |
//! |---------------|----------------------------------------------|--------------------|
//! | `campaigns`   | campaign u64                                 | `CampaignRecord`   |
//! | `recipients`  | campaign u64 · seq u64                       | `RecipientRecord`  |
//! | `runs`        | campaign u64 · seq u64                       | `RunState`         |
//! | `timers`      | campaign u64 · due instant · seq u64         | empty              |
//! | `outbox`      | campaign u64 · seq u64 · pc u32 · attempt u32 | `MessageRecord` (intent) |
//! | `messages`    | campaign u64 · seq u64 · pc u32 · attempt u32 | `MessageRecord`    |
//! | `waiters`     | phone bytes · 0x00 · campaign u64            | seq u64            |
//! | `suppression` | phone bytes                                  | JSON note          |
//! | `counters`    | campaign u64 · status u8                     | count u64          |
//! | `counters`    | campaign u64 · 0xFE · step id · field u8     | count u64 ([`crate::stats`]) |
//! | `counters`    | campaign u64 · 0xFD                          | count u64 (responded) |
//! | `counters`    | campaign u64 · 0xFC/0xFB/0xFA · ...          | count u64 (errors, activity, replies and opt-outs by step: [`crate::stats`]) |
//! | `lists`       | campaign u64 · list u32                      | `ListRecord`       |
//! | `rejections`  | campaign u64 · list u32 · n u64              | `ErrorLogEntry`    |
//! | `receipts`    | provider message id bytes                    | `messages` key     |
//! | `inbox`       | not-before instant · seq u64 ([`crate::inbox`]) | `InboxEntry`    |
//! | `conversations` | conversation u64                           | `ConversationRecord` |
//! | `conversation_index` | our number · 0x00 · contact           | conversation u64   |
//! | `timeline`    | our number · 0x00 · contact · 0x00 · seq u64 | `TimelineEntry`    |
//! | `conversation_timers` | due instant · conversation u64 · kind u8 · seq u64 | empty |
//! | `conversation_receipts` | provider message id bytes          | `timeline` key     |
//! | `consent`     | phone · 0x00 · seq u64                       | `ConsentRecord`    |
//!
//! Ordering contracts: `timers` sorts a campaign's wake-ups by due time, so "what is due"
//! is one range scan from the campaign's first key up to `now`. `outbox` holds exactly the
//! intents whose result is not recorded: after a crash, it is the list to reconcile.
//! Recipients (and runs) with a seq at or past their campaign's `recipients` count belong to
//! a list import that has not committed: nothing counts or wakes them (see [`crate::lists`]).
//! `receipts` holds an entry for exactly the answered messages that carry a provider id
//! (written and removed with the message record), so a delivery receipt finds its message.
//!
//! Storage sits behind [`Backend`], a narrow key-value interface (get, prefix scan, bounded
//! range, atomic apply, flush): [`crate::sled_store`] implements it on sled; a distributed
//! database can implement it later without the runtime changing. [`Store`] is the typed layer
//! on top, the same for every backend.
//!
//! Group commit: the executor collects many recipients' transitions into one [`Changes`]
//! and [`Store::commit`] applies it in one transaction. Each recipient's transition (run,
//! timer, intent, message, counters) is inside that transaction, so it is atomic.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::sled_store::SledBackend;

use crate::records::{
    CampaignId, CampaignRecord, ListId, ListRecord, MessageRecord, Outbound, Phase,
    RecipientRecord, RecipientSeq, RecipientStatus, RecordError, RunState, decode, encode,
};
use crate::stats;
use switchboard_import::ErrorLogEntry;

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The storage engine reported an I/O or corruption error.
    #[error("store: {0}")]
    Backend(String),
    /// A record could not be decoded.
    #[error("store record {table}/{key}: {source}")]
    Record {
        /// The table.
        table: &'static str,
        /// The key, hex.
        key: String,
        /// What was wrong.
        source: RecordError,
    },
    /// The data directory is in use by another process.
    #[error("the data directory {0} is in use by another Switchboard process")]
    Locked(String),
}

/// The tables (sled trees) of the store, one per concern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    /// Campaign records.
    Campaigns,
    /// Imported recipients.
    Recipients,
    /// Per-recipient runs.
    Runs,
    /// Wake-ups, ordered by due time per campaign.
    Timers,
    /// Send intents awaiting their answer.
    Outbox,
    /// Answered messages.
    Messages,
    /// Who waits for a reply from which number.
    Waiters,
    /// Opted-out numbers.
    Suppression,
    /// Exact per-status counts.
    Counters,
    /// Recipient lists.
    Lists,
    /// The error log of each list import.
    Rejections,
    /// Provider message ids of answered messages, to their message (delivery receipts).
    Receipts,
    /// Webhook events received and not applied yet.
    Inbox,
    /// Conversations by id.
    Conversations,
    /// Conversation ids by (our number, contact).
    ConversationIndex,
    /// Conversation timelines, by (our number, contact).
    Timeline,
    /// Conversation wake-ups: messages to send, escalations, question timeouts.
    ConversationTimers,
    /// Provider message ids of conversation messages, to their timeline entry.
    ConversationReceipts,
    /// Every opt-in and opt-out, per number.
    Consent,
}

impl Table {
    /// Every table, in a fixed order (used for transactions).
    pub const ALL: [Table; 19] = [
        Table::Campaigns,
        Table::Recipients,
        Table::Runs,
        Table::Timers,
        Table::Outbox,
        Table::Messages,
        Table::Waiters,
        Table::Suppression,
        Table::Counters,
        Table::Lists,
        Table::Rejections,
        Table::Receipts,
        Table::Inbox,
        Table::Conversations,
        Table::ConversationIndex,
        Table::Timeline,
        Table::ConversationTimers,
        Table::ConversationReceipts,
        Table::Consent,
    ];

    /// The table's name (the sled tree's name).
    pub fn name(self) -> &'static str {
        match self {
            Table::Campaigns => "campaigns",
            Table::Recipients => "recipients",
            Table::Runs => "runs",
            Table::Timers => "timers",
            Table::Outbox => "outbox",
            Table::Messages => "messages",
            Table::Waiters => "waiters",
            Table::Suppression => "suppression",
            Table::Counters => "counters",
            Table::Lists => "lists",
            Table::Rejections => "rejections",
            Table::Receipts => "receipts",
            Table::Inbox => "inbox",
            Table::Conversations => "conversations",
            Table::ConversationIndex => "conversation_index",
            Table::Timeline => "timeline",
            Table::ConversationTimers => "conversation_timers",
            Table::ConversationReceipts => "conversation_receipts",
            Table::Consent => "consent",
        }
    }

    /// Position in [`Table::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

use Table::{Campaigns as CAMPAIGNS, Counters as COUNTERS, Messages as MESSAGES, Outbox as OUTBOX};
use Table::{Lists as LISTS, Receipts as RECEIPTS, Rejections as REJECTIONS};
use Table::{
    Recipients as RECIPIENTS, Runs as RUNS, Suppression as SUPPRESSION, Timers as TIMERS,
    Waiters as WAITERS,
};

/// Keys removed per transaction when a campaign or an import is deleted.
const REMOVE_CHUNK: usize = 10_000;

/// A key-value entry.
pub type Entry = (Vec<u8>, Vec<u8>);

/// One write of a [`Changes`]: a put (`Some(value)`) or a remove (`None`) of a key.
pub type Write = (Table, Vec<u8>, Option<Vec<u8>>);

/// What a storage engine must offer the runtime. Keys are ordered bytes (see the key layout
/// above); `apply` is atomic across tables.
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// One value.
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Every entry whose key starts with `prefix`, in key order.
    fn scan(
        &self,
        table: Table,
        prefix: &[u8],
    ) -> Box<dyn Iterator<Item = Result<Entry, StoreError>> + '_>;
    /// Up to `limit` keys in `start..=end`, in key order.
    fn range_keys(
        &self,
        table: Table,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError>;
    /// Applies every write and counter delta of `changes` atomically; when they hold a send
    /// intent, they are durable before this returns.
    fn apply(&self, changes: &Changes) -> Result<(), StoreError>;
    /// Makes every applied write durable.
    fn flush(&self) -> Result<(), StoreError>;
    /// A new unique id.
    fn generate_id(&self) -> Result<u64, StoreError>;
}

/// The typed store the runtime uses, over any [`Backend`].
#[derive(Debug, Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
}

pub(crate) fn instant_key(at: DateTime<Utc>) -> [u8; 8] {
    ((at.timestamp_millis() as u64) ^ (1 << 63)).to_be_bytes()
}

/// A wake-up instant as timer keys hold it: in milliseconds, rounded up, so that a timer never
/// fires before the wake-up it stands for (a run's wake-up may be finer: the system clock has
/// nanoseconds, and one that fired early would find nothing to do).
pub(crate) fn timer_instant(at: DateTime<Utc>) -> DateTime<Utc> {
    match at.timestamp_subsec_nanos() % 1_000_000 {
        0 => at,
        part => at
            .checked_add_signed(chrono::TimeDelta::nanoseconds(i64::from(1_000_000 - part)))
            .unwrap_or(at),
    }
}

/// Whether a run that wakes at `wake` is the one the timer keyed at `at` wakes. A timer read
/// back from its key has lost the wake-up's finer part, so they are compared as keys: compared
/// as instants, the run's own timer looks stale, and removing it leaves the run asleep for good.
pub(crate) fn same_timer(wake: Option<DateTime<Utc>>, at: DateTime<Utc>) -> bool {
    wake.is_some_and(|wake| instant_key(timer_instant(wake)) == instant_key(timer_instant(at)))
}

pub(crate) fn instant_from_key(bytes: &[u8]) -> Option<DateTime<Utc>> {
    let raw: [u8; 8] = bytes.try_into().ok()?;
    DateTime::from_timestamp_millis((u64::from_be_bytes(raw) ^ (1 << 63)) as i64)
}

/// `campaign · seq`.
pub fn recipient_key(campaign: CampaignId, seq: RecipientSeq) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&campaign.to_be_bytes());
    key[8..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// `campaign · due · seq`, `due` rounded up to the millisecond ([`timer_instant`]).
fn timer_key(campaign: CampaignId, due: DateTime<Utc>, seq: RecipientSeq) -> [u8; 24] {
    let mut key = [0u8; 24];
    key[..8].copy_from_slice(&campaign.to_be_bytes());
    key[8..16].copy_from_slice(&instant_key(timer_instant(due)));
    key[16..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// `campaign · seq · pc · attempt`.
fn message_key(campaign: CampaignId, seq: RecipientSeq, pc: u32, attempt: u32) -> [u8; 24] {
    let mut key = [0u8; 24];
    key[..16].copy_from_slice(&recipient_key(campaign, seq));
    key[16..20].copy_from_slice(&pc.to_be_bytes());
    key[20..].copy_from_slice(&attempt.to_be_bytes());
    key
}

/// `campaign · list`.
fn list_key(campaign: CampaignId, list: ListId) -> [u8; 12] {
    let mut key = [0u8; 12];
    key[..8].copy_from_slice(&campaign.to_be_bytes());
    key[8..].copy_from_slice(&list.to_be_bytes());
    key
}

/// `campaign · list · n` (rejections).
fn list_row_key(campaign: CampaignId, list: ListId, n: u64) -> [u8; 20] {
    let mut key = [0u8; 20];
    key[..12].copy_from_slice(&list_key(campaign, list));
    key[12..].copy_from_slice(&n.to_be_bytes());
    key
}

fn waiter_key(phone: &str, campaign: CampaignId) -> Vec<u8> {
    let mut key = phone.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&campaign.to_be_bytes());
    key
}

/// The key of a message record (in `messages`, `outbox`, and as a `receipts` value).
fn outbound_key(outbound: &Outbound) -> [u8; 24] {
    message_key(
        outbound.campaign,
        outbound.recipient,
        outbound.pc,
        outbound.attempt,
    )
}

fn counter_key(campaign: CampaignId, status: RecipientStatus) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[..8].copy_from_slice(&campaign.to_be_bytes());
    key[8] = status.code();
    key
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn record_error(table: Table, key: &[u8], source: RecordError) -> StoreError {
    StoreError::Record {
        table: table.name(),
        key: hex(key),
        source,
    }
}

/// A set of writes applied together by [`Store::commit`].
#[derive(Debug, Default)]
pub struct Changes {
    /// Puts (`Some`) and removes (`None`), in order.
    writes: Vec<Write>,
    counters: BTreeMap<Vec<u8>, i64>,
    /// Whether an intent is among the writes: the commit then flushes before returning, so
    /// no provider call happens for an intent that a crash could forget.
    has_intent: bool,
}

impl Changes {
    /// Nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.counters.is_empty()
    }

    /// The writes, in order: `(table, key, Some(value))` puts, `(table, key, None)` removes.
    pub fn writes(&self) -> &[Write] {
        &self.writes
    }

    /// Counter deltas by counter key (in [`Table::Counters`]).
    pub fn counter_deltas(&self) -> &BTreeMap<Vec<u8>, i64> {
        &self.counters
    }

    /// Whether the changes hold a send intent (and so must be durable on return).
    pub fn holds_intent(&self) -> bool {
        self.has_intent
    }

    pub(crate) fn put(&mut self, table: Table, key: &[u8], value: Vec<u8>) {
        self.writes.push((table, key.to_vec(), Some(value)));
    }

    pub(crate) fn remove(&mut self, table: Table, key: &[u8]) {
        self.writes.push((table, key.to_vec(), None));
    }

    /// Saves a campaign.
    pub fn put_campaign(&mut self, campaign: &CampaignRecord) {
        self.put(CAMPAIGNS, &campaign.id.to_be_bytes(), encode(campaign));
    }

    /// Adds a recipient and its (not started) run.
    pub fn add_recipient(&mut self, campaign: CampaignId, recipient: &RecipientRecord) {
        self.add_recipient_with_run(campaign, recipient, &RunState::new());
    }

    /// Adds a recipient with the run it starts with (a list's later start, an opted-out
    /// number), and the run's timer if it has one.
    pub fn add_recipient_with_run(
        &mut self,
        campaign: CampaignId,
        recipient: &RecipientRecord,
        run: &RunState,
    ) {
        self.stage_recipient(campaign, recipient, run);
        if let Some(at) = run.wake_at() {
            self.wake(campaign, recipient.seq, at);
        }
        self.count(campaign, run.status, 1);
        if run.responded {
            self.add_to_counter(stats::responded_key(campaign).to_vec(), 1);
        }
        for (counter, delta) in stats::run_deltas(campaign, None, run) {
            self.add_to_counter(counter, delta);
        }
    }

    /// Saves a list.
    pub fn put_list(&mut self, campaign: CampaignId, list: &ListRecord) {
        self.put(LISTS, &list_key(campaign, list.id), encode(list));
    }

    /// Removes a list record.
    pub fn remove_list(&mut self, campaign: CampaignId, list: ListId) {
        self.remove(LISTS, &list_key(campaign, list));
    }

    /// Writes an imported recipient and its first run, neither counted nor woken: they take
    /// part in the campaign when their list commits (which counts and wakes them).
    pub fn stage_recipient(
        &mut self,
        campaign: CampaignId,
        recipient: &RecipientRecord,
        run: &RunState,
    ) {
        let key = recipient_key(campaign, recipient.seq);
        self.put(RECIPIENTS, &key, encode(recipient));
        self.put(RUNS, &key, encode(run));
    }

    /// Adds `delta` to a campaign's count of `status`.
    pub fn add_to_count(&mut self, campaign: CampaignId, status: RecipientStatus, delta: i64) {
        self.count(campaign, status, delta);
    }

    /// Appends entry `n` of a list import's error log.
    pub fn add_rejection(
        &mut self,
        campaign: CampaignId,
        list: ListId,
        n: u64,
        entry: &ErrorLogEntry,
    ) {
        self.put(REJECTIONS, &list_row_key(campaign, list, n), encode(entry));
    }

    fn count(&mut self, campaign: CampaignId, status: RecipientStatus, delta: i64) {
        self.add_to_counter(counter_key(campaign, status).to_vec(), delta);
    }

    /// Adds `delta` to the counter `key` (in [`Table::Counters`]).
    pub(crate) fn add_to_counter(&mut self, key: Vec<u8>, delta: i64) {
        *self.counters.entry(key).or_default() += delta;
    }

    /// Saves a run's new state, keeping its timer, reply waiter and the campaign's counters
    /// (statuses, replies, the steps replies and opt-outs are credited to) in step with it.
    /// `before` is the state it replaces.
    pub fn put_run(
        &mut self,
        campaign: CampaignId,
        seq: RecipientSeq,
        phone: &str,
        before: &RunState,
        after: &RunState,
    ) {
        let key = recipient_key(campaign, seq);
        self.put(RUNS, &key, encode(after));
        if before.wake_at() != after.wake_at() {
            if let Some(old) = before.wake_at() {
                self.remove(TIMERS, &timer_key(campaign, old, seq));
            }
            if let Some(new) = after.wake_at() {
                self.put(TIMERS, &timer_key(campaign, new, seq), Vec::new());
            }
        }
        let waiting = |run: &RunState| matches!(run.phase, Phase::WaitingReply { .. });
        match (waiting(before), waiting(after)) {
            (false, true) => self.put(
                WAITERS,
                &waiter_key(phone, campaign),
                seq.to_be_bytes().to_vec(),
            ),
            (true, false) => self.remove(WAITERS, &waiter_key(phone, campaign)),
            _ => {}
        }
        if before.status != after.status {
            self.count(campaign, before.status, -1);
            self.count(campaign, after.status, 1);
        }
        if before.responded != after.responded {
            let delta = if after.responded { 1 } else { -1 };
            self.add_to_counter(stats::responded_key(campaign).to_vec(), delta);
        }
        for (counter, delta) in stats::run_deltas(campaign, Some(before), after) {
            self.add_to_counter(counter, delta);
        }
    }

    /// Schedules a run to be looked at (used when a campaign starts or resumes).
    pub fn wake(&mut self, campaign: CampaignId, seq: RecipientSeq, at: DateTime<Utc>) {
        self.put(TIMERS, &timer_key(campaign, at, seq), Vec::new());
    }

    /// Removes a timer.
    pub fn unwake(&mut self, campaign: CampaignId, seq: RecipientSeq, at: DateTime<Utc>) {
        self.remove(TIMERS, &timer_key(campaign, at, seq));
    }

    /// Records a send intent (before the provider is called) and its message.
    pub fn record_intent(&mut self, message: &MessageRecord) {
        let o = &message.outbound;
        let key = message_key(o.campaign, o.recipient, o.pc, o.attempt);
        // One write: the message lives in the outbox until its result moves it to `messages`
        // (writes per recipient are what bounds throughput on sled).
        self.put(OUTBOX, &key, encode(message));
        self.has_intent = true;
    }

    /// Records the provider's answer: the message is updated and the intent leaves the outbox.
    /// `replaced` is the answered record already under the message's key, if any (a try
    /// that was throttled, a failure being retried): [`Store::answered_message`] reads it.
    pub fn record_result(&mut self, message: &MessageRecord, replaced: Option<&MessageRecord>) {
        self.remove(OUTBOX, &outbound_key(&message.outbound));
        self.put_message(replaced, message);
    }

    /// Writes an answered message over `before` (what its key held, if anything), keeping the
    /// receipts index and the step's statistics in step with it.
    pub fn put_message(&mut self, before: Option<&MessageRecord>, after: &MessageRecord) {
        let key = outbound_key(&after.outbound);
        self.put(MESSAGES, &key, encode(after));
        let before_id = before.and_then(|m| m.provider_id.as_deref());
        if before_id != after.provider_id.as_deref() {
            if let Some(old) = before_id {
                self.remove(RECEIPTS, old.as_bytes());
            }
            if let Some(new) = &after.provider_id {
                self.put(RECEIPTS, new.as_bytes(), key.to_vec());
            }
        }
        for (counter, delta) in stats::message_deltas(before, after) {
            self.add_to_counter(counter, delta);
        }
    }

    /// Adds a number to the suppression list, with why (kept as the number's entry).
    pub fn suppress<T: serde::Serialize>(&mut self, phone: &str, note: &T) {
        self.put(SUPPRESSION, phone.as_bytes(), encode(note));
    }

    /// Removes a number from the suppression list.
    pub fn unsuppress(&mut self, phone: &str) {
        self.remove(SUPPRESSION, phone.as_bytes());
    }
}

impl Store {
    /// Opens (or creates) the sled store in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Ok(Self::with_backend(Arc::new(SledBackend::open(dir)?)))
    }

    /// Opens the store in `dir`, waiting up to `patience` for a previous instance to let go
    /// of it. sled releases its directory lock from a background thread once an instance is
    /// fully dropped, so a restart within the same process (or right after the previous
    /// process exits) may briefly see it locked; another live process keeps it locked, and
    /// that is still reported as [`StoreError::Locked`].
    pub fn open_waiting(dir: &Path, patience: std::time::Duration) -> Result<Self, StoreError> {
        let deadline = std::time::Instant::now() + patience;
        loop {
            match Self::open(dir) {
                Err(StoreError::Locked(_)) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }

    /// A sled store in a temporary directory, removed on drop (tests, `simulate`).
    pub fn temporary() -> Result<Self, StoreError> {
        Ok(Self::with_backend(Arc::new(SledBackend::temporary()?)))
    }

    /// A store over any backend.
    pub fn with_backend(backend: Arc<dyn Backend>) -> Self {
        Self { backend }
    }

    /// A new unique id (campaigns).
    pub fn generate_id(&self) -> Result<u64, StoreError> {
        self.backend.generate_id()
    }

    /// The storage engine (for the typed reads of other modules).
    pub(crate) fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    /// Makes every committed write durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.backend.flush()
    }

    /// Applies `changes` atomically; when they hold a send intent, durably.
    pub fn commit(&self, changes: Changes) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        self.backend.apply(&changes)
    }

    pub(crate) fn read<T: serde::de::DeserializeOwned>(
        &self,
        table: Table,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        match self.backend.get(table, key)? {
            None => Ok(None),
            Some(bytes) => decode(&bytes)
                .map(Some)
                .map_err(|source| record_error(table, key, source)),
        }
    }

    pub(crate) fn scan_records<'a, T: serde::de::DeserializeOwned>(
        &'a self,
        table: Table,
        prefix: &[u8],
    ) -> impl Iterator<Item = Result<(Vec<u8>, T), StoreError>> + use<'a, T> {
        self.backend.scan(table, prefix).map(move |entry| {
            let (key, value) = entry?;
            let record = decode(&value).map_err(|source| record_error(table, &key, source))?;
            Ok((key, record))
        })
    }

    /// Removes a campaign and everything keyed by it. The campaign record goes first (so the
    /// campaign disappears at once), then its data in chunks; `waiting` are the numbers its
    /// recipients were waiting on for a reply.
    pub fn delete_campaign(&self, id: CampaignId, waiting: &[String]) -> Result<(), StoreError> {
        let mut changes = Changes::new();
        changes.remove(CAMPAIGNS, &id.to_be_bytes());
        for phone in waiting {
            changes.remove(WAITERS, &waiter_key(phone, id));
        }
        self.commit(changes)?;
        // Before the messages: their provider ids are how their receipts are found.
        self.remove_receipts(id)?;
        for table in [
            RECIPIENTS, RUNS, TIMERS, OUTBOX, MESSAGES, COUNTERS, LISTS, REJECTIONS,
        ] {
            self.remove_prefix(table, &id.to_be_bytes())?;
        }
        self.flush()
    }

    /// Removes the receipts entries of a campaign's messages, in chunks.
    fn remove_receipts(&self, id: CampaignId) -> Result<(), StoreError> {
        let mut changes = Changes::new();
        let mut queued = 0;
        for entry in self.scan_records::<MessageRecord>(MESSAGES, &id.to_be_bytes()) {
            let (key, message) = entry?;
            let Some(provider_id) = message.provider_id else {
                continue;
            };
            // Only the entry that points here: another campaign's message with the same
            // provider id (a provider reusing ids) keeps its own.
            if self.backend.get(RECEIPTS, provider_id.as_bytes())? == Some(key) {
                changes.remove(RECEIPTS, provider_id.as_bytes());
                queued += 1;
            }
            if queued == REMOVE_CHUNK {
                self.commit(std::mem::take(&mut changes))?;
                queued = 0;
            }
        }
        self.commit(changes)
    }

    /// Removes every entry of `table` under `prefix`, in chunks.
    pub(crate) fn remove_prefix(&self, table: Table, prefix: &[u8]) -> Result<(), StoreError> {
        self.remove_chunks(table, || {
            self.backend
                .scan(table, prefix)
                .take(REMOVE_CHUNK)
                .map(|entry| entry.map(|(key, _)| key))
                .collect()
        })
    }

    /// Removes the keys `next_chunk` finds in `table`, one transaction per chunk, until it
    /// finds none.
    fn remove_chunks(
        &self,
        table: Table,
        mut next_chunk: impl FnMut() -> Result<Vec<Vec<u8>>, StoreError>,
    ) -> Result<(), StoreError> {
        loop {
            let keys = next_chunk()?;
            if keys.is_empty() {
                return Ok(());
            }
            let mut changes = Changes::new();
            for key in keys {
                changes.remove(table, &key);
            }
            self.commit(changes)?;
        }
    }

    /// Removes what a list import that did not commit wrote: its recipients and runs (seqs
    /// from `first_seq` on) and its error log.
    pub(crate) fn discard_import(
        &self,
        campaign: CampaignId,
        list: ListId,
        first_seq: RecipientSeq,
    ) -> Result<(), StoreError> {
        let (from, to) = (
            recipient_key(campaign, first_seq),
            recipient_key(campaign, RecipientSeq::MAX),
        );
        for table in [RECIPIENTS, RUNS] {
            self.remove_chunks(table, || {
                self.backend.range_keys(table, &from, &to, REMOVE_CHUNK)
            })?;
        }
        self.remove_prefix(REJECTIONS, &list_key(campaign, list))
    }

    /// A campaign's lists (every state), by id.
    pub fn lists(&self, campaign: CampaignId) -> Result<Vec<ListRecord>, StoreError> {
        self.scan_records(LISTS, &campaign.to_be_bytes())
            .map(|entry| entry.map(|(_, record)| record))
            .collect()
    }

    /// A list import's error log, in order.
    pub fn rejections(
        &self,
        campaign: CampaignId,
        list: ListId,
    ) -> impl Iterator<Item = Result<ErrorLogEntry, StoreError>> + '_ {
        self.scan_records(REJECTIONS, &list_key(campaign, list))
            .map(|entry| entry.map(|(_, record)| record))
    }

    /// Every recipient of a campaign, in seq order.
    pub fn recipients(
        &self,
        campaign: CampaignId,
    ) -> impl Iterator<Item = Result<RecipientRecord, StoreError>> + '_ {
        self.scan_records(RECIPIENTS, &campaign.to_be_bytes())
            .map(|entry| entry.map(|(_, record)| record))
    }

    /// A campaign.
    pub fn campaign(&self, id: CampaignId) -> Result<Option<CampaignRecord>, StoreError> {
        self.read(CAMPAIGNS, &id.to_be_bytes())
    }

    /// Every campaign, by id.
    pub fn campaigns(&self) -> Result<Vec<CampaignRecord>, StoreError> {
        self.scan_records(CAMPAIGNS, &[])
            .map(|entry| entry.map(|(_, record)| record))
            .collect()
    }

    /// A recipient.
    pub fn recipient(
        &self,
        campaign: CampaignId,
        seq: RecipientSeq,
    ) -> Result<Option<RecipientRecord>, StoreError> {
        self.read(RECIPIENTS, &recipient_key(campaign, seq))
    }

    /// A recipient's run.
    pub fn run(
        &self,
        campaign: CampaignId,
        seq: RecipientSeq,
    ) -> Result<Option<RunState>, StoreError> {
        self.read(RUNS, &recipient_key(campaign, seq))
    }

    /// The runs of a campaign, in recipient order.
    pub fn runs(
        &self,
        campaign: CampaignId,
    ) -> impl Iterator<Item = Result<(RecipientSeq, RunState), StoreError>> + '_ {
        self.scan_records(RUNS, &campaign.to_be_bytes())
            .map(|entry| {
                let (key, run) = entry?;
                let seq = key
                    .get(8..16)
                    .and_then(|b| b.try_into().ok())
                    .map_or(0, u64::from_be_bytes);
                Ok((seq, run))
            })
    }

    /// Up to `limit` wake-ups of a campaign due at or before `now`, earliest first.
    pub fn due(
        &self,
        campaign: CampaignId,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(DateTime<Utc>, RecipientSeq)>, StoreError> {
        let start = timer_key(campaign, DateTime::<Utc>::MIN_UTC, 0);
        // `now` rounded down: a timer keyed in the millisecond under way is not due yet.
        let mut end = [0xff; 24];
        end[..8].copy_from_slice(&campaign.to_be_bytes());
        end[8..16].copy_from_slice(&instant_key(now));
        self.backend
            .range_keys(TIMERS, &start, &end, limit)?
            .into_iter()
            .map(|key| {
                let due = key.get(8..16).and_then(instant_from_key).unwrap_or(now);
                let seq = key
                    .get(16..24)
                    .and_then(|b| b.try_into().ok())
                    .map_or(0, u64::from_be_bytes);
                Ok((due, seq))
            })
            .collect()
    }

    /// The earliest pending wake-up of a campaign.
    pub fn next_wake(&self, campaign: CampaignId) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self
            .backend
            .scan(TIMERS, &campaign.to_be_bytes())
            .next()
            .transpose()?
            .and_then(|(key, _)| key.get(8..16).and_then(instant_from_key)))
    }

    /// Intents with no recorded result: after a crash, the sends to reconcile.
    pub fn pending_intents(&self) -> Result<Vec<MessageRecord>, StoreError> {
        self.scan_records(OUTBOX, &[])
            .map(|entry| entry.map(|(_, message)| message))
            .collect()
    }

    /// A message: answered (in `messages`) or still awaiting its answer (in the outbox).
    pub fn message(
        &self,
        campaign: CampaignId,
        seq: RecipientSeq,
        pc: u32,
        attempt: u32,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let key = message_key(campaign, seq, pc, attempt);
        match self.read(MESSAGES, &key)? {
            Some(message) => Ok(Some(message)),
            None => self.read(OUTBOX, &key),
        }
    }

    /// An answered message (in `messages`; an intent still in the outbox is not one).
    pub fn answered_message(
        &self,
        outbound: &Outbound,
    ) -> Result<Option<MessageRecord>, StoreError> {
        self.read(MESSAGES, &outbound_key(outbound))
    }

    /// The answered message a provider id belongs to (delivery receipts).
    pub fn message_by_provider_id(
        &self,
        provider_id: &str,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let Some(key) = self.backend.get(RECEIPTS, provider_id.as_bytes())? else {
            return Ok(None);
        };
        let message: Option<MessageRecord> = self.read(MESSAGES, &key)?;
        // The index and the records change together; the check guards against a stale entry
        // (a delete cut short by a crash) answering for a message that is not this one.
        Ok(message.filter(|m| m.provider_id.as_deref() == Some(provider_id)))
    }

    /// A recipient's most recent answered message: the last one created (and of those, the
    /// last in step order). Keys alone cannot tell: a retried failure re-uses its step's key.
    pub fn latest_message(
        &self,
        campaign: CampaignId,
        seq: RecipientSeq,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let mut latest: Option<MessageRecord> = None;
        for entry in self.scan_records::<MessageRecord>(MESSAGES, &recipient_key(campaign, seq)) {
            let (_, message) = entry?;
            if latest
                .as_ref()
                .is_none_or(|l| message.created_at >= l.created_at)
            {
                latest = Some(message);
            }
        }
        Ok(latest)
    }

    /// Every answered message of a campaign, in (recipient, step, attempt) order.
    pub fn messages(
        &self,
        campaign: CampaignId,
    ) -> impl Iterator<Item = Result<MessageRecord, StoreError>> + '_ {
        self.scan_records(MESSAGES, &campaign.to_be_bytes())
            .map(|entry| entry.map(|(_, message)| message))
    }

    /// Every message of one recipient: the answered ones, then those still awaiting their
    /// answer, each in (step, attempt) order.
    pub fn recipient_messages(
        &self,
        campaign: CampaignId,
        seq: RecipientSeq,
    ) -> impl Iterator<Item = Result<MessageRecord, StoreError>> + '_ {
        let prefix = recipient_key(campaign, seq);
        self.scan_records(MESSAGES, &prefix)
            .chain(self.scan_records(OUTBOX, &prefix))
            .map(|entry| entry.map(|(_, message)| message))
    }

    /// Every campaign with a recipient waiting for a reply from `phone`.
    pub fn waiters_for(&self, phone: &str) -> Result<Vec<(CampaignId, RecipientSeq)>, StoreError> {
        let mut prefix = phone.as_bytes().to_vec();
        prefix.push(0);
        self.backend
            .scan(WAITERS, &prefix)
            .map(|entry| {
                let (key, value) = entry?;
                let campaign = key
                    .get(prefix.len()..)
                    .and_then(|b| b.try_into().ok())
                    .map_or(0, u64::from_be_bytes);
                let seq = value.as_slice().try_into().map_or(0, u64::from_be_bytes);
                Ok((campaign, seq))
            })
            .collect()
    }

    /// Whether a number is on the suppression list.
    pub fn is_suppressed(&self, phone: &str) -> Result<bool, StoreError> {
        Ok(self.backend.get(SUPPRESSION, phone.as_bytes())?.is_some())
    }

    /// Exact recipient counts by status.
    pub fn counters(
        &self,
        campaign: CampaignId,
    ) -> Result<BTreeMap<RecipientStatus, u64>, StoreError> {
        let mut counts = BTreeMap::new();
        for entry in self.backend.scan(COUNTERS, &campaign.to_be_bytes()) {
            let (key, value) = entry?;
            // (The campaign's other counters, [`crate::stats`], have codes no status has.)
            let status = match key.as_slice() {
                [_, _, _, _, _, _, _, _, code] => RecipientStatus::ALL.get(*code as usize).copied(),
                _ => None,
            };
            let count = value.as_slice().try_into().map_or(0, u64::from_be_bytes);
            if let Some(status) = status
                && count > 0
            {
                counts.insert(status, count);
            }
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::MessageStatus;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
    }

    fn recipient(seq: u64) -> RecipientRecord {
        RecipientRecord::new(seq, format!("+1416555{seq:04}"), BTreeMap::new())
    }

    #[test]
    fn timers_come_back_in_due_order_per_campaign() {
        let store = Store::temporary().expect("store");
        let mut changes = Changes::new();
        changes.wake(1, 7, at(30));
        changes.wake(1, 3, at(10));
        changes.wake(2, 1, at(0));
        changes.wake(1, 9, at(-5));
        store.commit(changes).expect("commit");
        let due = store.due(1, at(20), 10).expect("due");
        assert_eq!(due, vec![(at(-5), 9), (at(10), 3)]);
        assert_eq!(store.next_wake(1).expect("next"), Some(at(-5)));
    }

    #[test]
    fn a_run_transition_keeps_timers_waiters_and_counters_in_step() {
        let store = Store::temporary().expect("store");
        let mut changes = Changes::new();
        changes.add_recipient(1, &recipient(1));
        changes.add_recipient(1, &recipient(2));
        store.commit(changes).expect("commit");
        assert_eq!(
            store
                .counters(1)
                .expect("counters")
                .get(&RecipientStatus::Pending),
            Some(&2)
        );

        let before = store.run(1, 1).expect("read").expect("run");
        let mut waiting = before.clone();
        waiting.phase = Phase::WaitingReply { until: at(100) };
        waiting.status = RecipientStatus::Sent;
        let mut changes = Changes::new();
        changes.put_run(1, 1, "+14165550001", &before, &waiting);
        store.commit(changes).expect("commit");
        assert_eq!(store.due(1, at(100), 10).expect("due"), vec![(at(100), 1)]);
        assert_eq!(
            store.waiters_for("+14165550001").expect("waiters"),
            vec![(1, 1)]
        );
        let counts = store.counters(1).expect("counters");
        assert_eq!(
            (
                counts.get(&RecipientStatus::Pending),
                counts.get(&RecipientStatus::Sent)
            ),
            (Some(&1), Some(&1))
        );

        let mut done = waiting.clone();
        done.phase = Phase::Done;
        let mut changes = Changes::new();
        changes.put_run(1, 1, "+14165550001", &waiting, &done);
        store.commit(changes).expect("commit");
        assert!(store.due(1, at(1000), 10).expect("due").is_empty());
        assert!(
            store
                .waiters_for("+14165550001")
                .expect("waiters")
                .is_empty()
        );
    }

    #[test]
    fn intents_stay_in_the_outbox_until_their_result() {
        let store = Store::temporary().expect("store");
        let outbound = Outbound {
            campaign: 1,
            recipient: 1,
            pc: 0,
            attempt: 0,
            try_number: 1,
            step_id: "welcome".into(),
            variant: "main".into(),
            provider: "mock".into(),
            from: "+14165550100".into(),
            to: "+14165550001".into(),
            body: "hi".into(),
            media: Vec::new(),
            segments: 1,
            conversation: None,
        };
        let mut message = MessageRecord {
            outbound: outbound.clone(),
            status: MessageStatus::Sending,
            provider_id: None,
            error: None,
            created_at: at(0),
            answered_at: None,
            status_at: None,
        };
        let mut changes = Changes::new();
        changes.record_intent(&message);
        store.commit(changes).expect("commit");
        let pending = store.pending_intents().expect("outbox");
        assert_eq!(
            pending.iter().map(|m| &m.outbound).collect::<Vec<_>>(),
            vec![&outbound]
        );
        assert_eq!(
            store.message(1, 1, 0, 0).expect("read").map(|m| m.status),
            Some(MessageStatus::Sending)
        );
        message.status = MessageStatus::Sent;
        let mut changes = Changes::new();
        changes.record_result(&message, None);
        store.commit(changes).expect("commit");
        assert!(store.pending_intents().expect("outbox").is_empty());
        assert_eq!(
            store.message(1, 1, 0, 0).expect("read").map(|m| m.status),
            Some(MessageStatus::Sent)
        );
    }

    #[test]
    fn data_survives_reopening() {
        let dir =
            std::env::temp_dir().join(format!("switchboard-store-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let store = Store::open(&dir).expect("open");
            let mut changes = Changes::new();
            changes.add_recipient(5, &recipient(1));
            changes.suppress("+14165550009", &serde_json::json!({"how": "keyword"}));
            store.commit(changes).expect("commit");
            store.flush().expect("flush");
        }
        let store = Store::open(&dir).expect("reopen");
        assert!(store.recipient(5, 1).expect("read").is_some());
        assert!(store.is_suppressed("+14165550009").expect("read"));
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
