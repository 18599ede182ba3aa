//! What the store keeps: campaigns, recipients, per-recipient runs, messages and send intents.
//!
//! Every record is encoded as one version byte followed by JSON (see [`encode`]): readable
//! with standard tools when debugging a data directory, and migratable by version.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::lifecycle::CampaignState;

/// The encoding version written today.
pub const RECORD_VERSION: u8 = 1;

/// A record could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Empty bytes.
    #[error("empty record")]
    Empty,
    /// Written by a newer Switchboard.
    #[error("record version {0} is newer than this build understands ({RECORD_VERSION})")]
    Version(u8),
    /// Corrupt JSON.
    #[error("corrupt record: {0}")]
    Json(#[from] serde_json::Error),
}

/// Encodes a record: version byte, then JSON.
pub fn encode<T: Serialize>(record: &T) -> Vec<u8> {
    let mut bytes = vec![RECORD_VERSION];
    // Serializing our own plain structs to a Vec cannot fail (no maps with non-string keys).
    if serde_json::to_writer(&mut bytes, record).is_err() {
        bytes.truncate(1);
        bytes.extend_from_slice(b"null");
    }
    bytes
}

/// Decodes a record written by [`encode`].
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, RecordError> {
    let (version, body) = bytes.split_first().ok_or(RecordError::Empty)?;
    if *version > RECORD_VERSION {
        return Err(RecordError::Version(*version));
    }
    Ok(serde_json::from_slice(body)?)
}

/// Identifies a campaign.
pub type CampaignId = u64;
/// Identifies a recipient within its campaign (import order).
pub type RecipientSeq = u64;

/// A campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignRecord {
    /// Its id.
    pub id: CampaignId,
    /// Display name.
    pub name: String,
    /// The workflow it runs.
    pub workflow_id: String,
    /// The provider instance its workflow sends through.
    #[serde(default)]
    pub provider: String,
    /// The workflow text it was pinned to when it started: a later edit of the file does not
    /// change a running campaign.
    pub workflow_source: String,
    /// Lifecycle state.
    pub state: CampaignState,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When a scheduled campaign starts.
    #[serde(default)]
    pub scheduled_at: Option<DateTime<Utc>>,
    /// When it started sending.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// How many recipients it has.
    pub recipients: u64,
    /// The version of the workflow file it was made from (the daemon's registry counts them).
    #[serde(default)]
    pub workflow_version: Option<u64>,
    /// Tags to find it by: its workflow's and its own.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Who is responsible for it (free text the operator gives; records written before
    /// owners existed have none).
    #[serde(default)]
    pub owner: Option<String>,
}

/// One imported recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientRecord {
    /// Import order within the campaign.
    pub seq: RecipientSeq,
    /// E.164 number.
    pub phone: String,
    /// Every imported column (template fields).
    pub fields: BTreeMap<String, String>,
    /// The list it was imported with.
    #[serde(default)]
    pub list: ListId,
    /// Its row in that list's file (its position when the list had no file).
    #[serde(default)]
    pub line: u64,
    /// The number's type (`mobile`, `fixed_line`, ...) when the import could tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_type: Option<String>,
    /// The IANA timezone the import resolved (its column, the number's region, the list's
    /// default), used when the workflow's timezone field is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

impl RecipientRecord {
    /// A recipient with only a number and fields (no list information).
    pub fn new(seq: RecipientSeq, phone: String, fields: BTreeMap<String, String>) -> Self {
        Self {
            seq,
            phone,
            fields,
            list: 0,
            line: seq + 1,
            number_type: None,
            timezone: None,
        }
    }
}

/// Identifies a list within its campaign.
pub type ListId = u32;

/// Where a list import stands. A list's recipients take part in the campaign only once it
/// has committed: it lands whole or not at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListState {
    /// Rows are being written past the campaign's recipient count; a crash now discards them.
    Importing,
    /// Committed; its recipients' wake-ups are being written (a crash now finishes them at the
    /// next start).
    Committing,
    /// Its recipients are part of the campaign.
    Ready,
}

/// A recipient list of a campaign: its settings, where its rows came from, what the import
/// found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListRecord {
    /// Its id within the campaign.
    pub id: ListId,
    /// Display name (unique within the campaign).
    pub name: String,
    /// The file it was imported from (a name, for people).
    pub source: String,
    /// Import state.
    pub state: ListState,
    /// Region for numbers written without a country code (ISO 3166 alpha-2).
    pub region: String,
    /// Timezone of recipients whose row names none.
    pub timezone: Option<String>,
    /// Whether a missing timezone is inferred from a number's region when it has one zone.
    pub infer_timezone: bool,
    /// Outreach to this list starts no earlier than this.
    pub start: Option<DateTime<Utc>>,
    /// Outreach to this list ends: its recipients not reached by then expire.
    pub end: Option<DateTime<Utc>>,
    /// When the import began.
    pub imported_at: DateTime<Utc>,
    /// The seq of its first recipient.
    pub first_seq: RecipientSeq,
    /// What the import found.
    pub summary: switchboard_import::ImportSummary,
}

/// A recipient's status, as operators see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientStatus {
    /// Not started yet.
    Pending,
    /// Waiting for a time (delay, window, pacing, reply).
    Scheduled,
    /// A message is with the provider.
    Sending,
    /// The provider accepted the last message.
    Sent,
    /// The carrier confirmed delivery.
    Delivered,
    /// A message failed permanently (or exhausted its retries), or the run failed.
    Failed,
    /// Filtered out, or nothing was sent.
    Skipped,
    /// The campaign ended before this recipient was reached.
    Expired,
    /// A send was interrupted by a crash and the provider could not confirm it.
    Unknown,
    /// The number is on the suppression list.
    OptedOut,
}

impl RecipientStatus {
    /// Every status, in display order.
    pub const ALL: [RecipientStatus; 10] = [
        RecipientStatus::Pending,
        RecipientStatus::Scheduled,
        RecipientStatus::Sending,
        RecipientStatus::Sent,
        RecipientStatus::Delivered,
        RecipientStatus::Failed,
        RecipientStatus::Skipped,
        RecipientStatus::Expired,
        RecipientStatus::Unknown,
        RecipientStatus::OptedOut,
    ];

    /// Stable byte for counter keys.
    pub fn code(self) -> u8 {
        Self::ALL
            .iter()
            .position(|s| *s == self)
            .map_or(u8::MAX, |p| p as u8)
    }

    /// Whether the runtime is done with a recipient in this status: everything but
    /// `pending`, `scheduled` and `sending`. (An operator's retry of failed recipients may
    /// still move a `failed` one back.)
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            RecipientStatus::Pending | RecipientStatus::Scheduled | RecipientStatus::Sending
        )
    }

    /// The status's name.
    pub fn as_str(self) -> &'static str {
        match self {
            RecipientStatus::Pending => "pending",
            RecipientStatus::Scheduled => "scheduled",
            RecipientStatus::Sending => "sending",
            RecipientStatus::Sent => "sent",
            RecipientStatus::Delivered => "delivered",
            RecipientStatus::Failed => "failed",
            RecipientStatus::Skipped => "skipped",
            RecipientStatus::Expired => "expired",
            RecipientStatus::Unknown => "unknown",
            RecipientStatus::OptedOut => "opted_out",
        }
    }
}

/// Why a recipient failed or was skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// Provider error code, or a Switchboard code (`missing-field`, `filtered`, ...).
    pub code: String,
    /// Human-readable.
    pub message: String,
}

/// What a run is doing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "phase")]
pub enum Phase {
    /// Execute the instruction at `pc` now.
    Ready,
    /// Wake at `until` and execute the instruction at `pc` (re-checking windows and pacing).
    Sleeping {
        /// When.
        until: DateTime<Utc>,
    },
    /// Waiting for a reply to the instruction at `pc` (a `wait_reply`), until the timeout.
    WaitingReply {
        /// The timeout.
        until: DateTime<Utc>,
    },
    /// An intent for the send at `pc` is recorded; the provider's answer is awaited.
    Sending,
    /// Finished.
    Done,
}

/// A recipient's durable execution state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// The instruction to run (or being waited on).
    pub pc: u32,
    /// What the run is doing.
    pub phase: Phase,
    /// Attempt number of the current send (0 = first).
    pub attempt: u32,
    /// Saved values (`save`, `wait_reply.save_as`).
    pub vars: BTreeMap<String, serde_json::Value>,
    /// Tags added.
    pub tags: Vec<String>,
    /// What operators see.
    pub status: RecipientStatus,
    /// Why it failed or was skipped.
    pub reason: Option<Reason>,
    /// Messages the provider accepted.
    pub sent: u32,
    /// Whether the recipient replied at least once.
    pub responded: bool,
    /// How often the provider throttled the current send (its next call is try `throttles + 1`).
    #[serde(default)]
    pub throttles: u32,
    /// Set with the first reply: the step id of the last message the provider had accepted
    /// for this recipient by then (empty when none had been), the step [`crate::stats`]
    /// credits the reply to. Runs that replied before it existed have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replied_after: Option<String>,
    /// Set when the recipient opts out while in the campaign (a send finds the number
    /// suppressed, or the recipient texts an opt-out word in reply to the campaign): the step
    /// id of the last message accepted for it by then (empty when none had been).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opted_out_after: Option<String>,
}

impl RunState {
    /// A run that has not started.
    pub fn new() -> Self {
        Self {
            pc: 0,
            phase: Phase::Ready,
            attempt: 0,
            vars: BTreeMap::new(),
            tags: Vec::new(),
            status: RecipientStatus::Pending,
            reason: None,
            sent: 0,
            responded: false,
            throttles: 0,
            replied_after: None,
            opted_out_after: None,
        }
    }

    /// When this run next needs attention from the scheduler.
    pub fn wake_at(&self) -> Option<DateTime<Utc>> {
        match self.phase {
            Phase::Sleeping { until } | Phase::WaitingReply { until } => Some(until),
            _ => None,
        }
    }

    /// Whether the run is finished.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }
}

impl Default for RunState {
    fn default() -> Self {
        Self::new()
    }
}

fn first_try() -> u32 {
    1
}

/// A message about to be handed to the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outbound {
    /// Which campaign.
    pub campaign: CampaignId,
    /// Which recipient.
    pub recipient: RecipientSeq,
    /// Which instruction.
    pub pc: u32,
    /// Which attempt.
    pub attempt: u32,
    /// Which call with this idempotency key: 1, then one more after each throttled answer.
    #[serde(default = "first_try")]
    pub try_number: u32,
    /// The message's id in the sequence.
    pub step_id: String,
    /// The A/B variant.
    pub variant: String,
    /// The provider instance that sends it (the workflow's `provider`, as named in the
    /// daemon's config): [`crate::provider::ProviderRouter`] dispatches on it. Empty in
    /// records written before routing existed.
    #[serde(default)]
    pub provider: String,
    /// Sender number.
    pub from: String,
    /// Recipient number.
    pub to: String,
    /// Rendered text.
    pub body: String,
    /// Media URLs.
    pub media: Vec<String>,
    /// SMS segments.
    pub segments: u32,
    /// The conversation of a conversation message (an automatic or agent reply): then
    /// `recipient` is its timeline entry and `attempt` its try, and `campaign` is 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<u64>,
}

impl Outbound {
    /// The idempotency key: (campaign, recipient, step, attempt). Providers that support it
    /// deduplicate on it; reconciliation looks messages up by it.
    pub fn idempotency_key(&self) -> String {
        if let Some(conversation) = self.conversation {
            return format!("sb-c{conversation}-{}-{}", self.recipient, self.attempt);
        }
        format!(
            "sb-{}-{}-{}-{}",
            self.campaign, self.recipient, self.pc, self.attempt
        )
    }
}

/// A message's delivery state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Intent recorded, provider not answered yet.
    Sending,
    /// Accepted by the provider.
    Sent,
    /// Delivered to the handset.
    Delivered,
    /// Failed.
    Failed,
    /// Interrupted by a crash; the provider could not confirm.
    Unknown,
}

/// A message and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    /// What was (to be) sent.
    pub outbound: Outbound,
    /// Its state.
    pub status: MessageStatus,
    /// The provider's id for it.
    pub provider_id: Option<String>,
    /// The provider's error.
    pub error: Option<Reason>,
    /// When the intent was recorded.
    pub created_at: DateTime<Utc>,
    /// When the provider answered.
    pub answered_at: Option<DateTime<Utc>>,
    /// When a delivery receipt last moved its status on (delivered, failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_with_their_version() {
        let run = RunState::new();
        let bytes = encode(&run);
        assert_eq!(bytes[0], RECORD_VERSION);
        assert_eq!(decode::<RunState>(&bytes).expect("decode"), run);
    }

    #[test]
    fn newer_or_corrupt_records_are_refused() {
        assert!(matches!(
            decode::<RunState>(&[9, b'{', b'}']),
            Err(RecordError::Version(9))
        ));
        assert!(matches!(
            decode::<RunState>(&[1, b'x']),
            Err(RecordError::Json(_))
        ));
        assert!(matches!(decode::<RunState>(&[]), Err(RecordError::Empty)));
    }

    #[test]
    fn only_waiting_and_sending_statuses_are_unfinished() {
        let unfinished: Vec<RecipientStatus> = RecipientStatus::ALL
            .into_iter()
            .filter(|s| !s.is_final())
            .collect();
        assert_eq!(
            unfinished,
            [
                RecipientStatus::Pending,
                RecipientStatus::Scheduled,
                RecipientStatus::Sending
            ]
        );
    }

    #[test]
    fn campaigns_written_before_owners_read_with_none() {
        let json = r#"{"id":1,"name":"n","workflow_id":"w","workflow_source":"","state":"draft",
            "created_at":"2026-01-01T00:00:00Z","recipients":0}"#;
        let record: CampaignRecord = serde_json::from_str(json).expect("an old record");
        assert_eq!(record.owner, None);
    }

    #[test]
    fn status_codes_are_stable() {
        assert_eq!(RecipientStatus::Pending.code(), 0);
        assert_eq!(RecipientStatus::OptedOut.code(), 9);
    }
}
