//! What the store keeps of conversations: the conversation itself (state, queue, assignee,
//! the link to a campaign, guidance, saved fields), its timeline entries, and the consent log.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchboard_guidance::flow::PendingAsk;

use crate::records::{CampaignId, RecipientSeq};

/// Identifies a conversation.
pub type ConversationId = u64;

/// Where a conversation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationState {
    /// Waiting for an agent (in its queue, if routed).
    Open,
    /// An agent has it.
    Assigned,
    /// Done; a new inbound message reopens it.
    Closed,
}

impl ConversationState {
    /// The state's name, as in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationState::Open => "open",
            ConversationState::Assigned => "assigned",
            ConversationState::Closed => "closed",
        }
    }
}

/// The campaign recipient a conversation's contact replied as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignLink {
    /// The campaign.
    pub campaign: CampaignId,
    /// The recipient in it.
    pub recipient: RecipientSeq,
    /// The campaign's workflow id (conversation triggers match on it).
    pub workflow_id: String,
}

/// A suggestion shown to the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    /// The conversation workflow that made it.
    pub workflow: String,
    /// Guidance text.
    pub text: String,
    /// A saved answer the agent can send as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// Order, 1 first.
    pub rank: u32,
}

/// Re-routing planned for when no agent answers in time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    /// When it happens unless an agent replied since `since`.
    pub at: DateTime<Utc>,
    /// The queue it goes to.
    pub to: String,
    /// When the routing that planned it happened.
    pub since: DateTime<Utc>,
}

/// A conversation between one of our numbers and a contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationRecord {
    /// Its id.
    pub id: ConversationId,
    /// Our number.
    pub our_number: String,
    /// The contact's number.
    pub contact: String,
    /// The provider instance replies go out through (the one the contact wrote through, or
    /// the campaign's).
    pub provider: String,
    /// Where it is.
    pub state: ConversationState,
    /// The queue it is routed to.
    #[serde(default)]
    pub queue: Option<String>,
    /// The agent who has it.
    #[serde(default)]
    pub assignee: Option<String>,
    /// The campaign recipient the contact replied as (the latest).
    #[serde(default)]
    pub campaign: Option<CampaignLink>,
    /// Tags, sorted, each once.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Fields collected (`ask`, `save`).
    #[serde(default)]
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// Guidance for the latest inbound message, ranked.
    #[serde(default)]
    pub suggestions: Vec<Suggestion>,
    /// Things a person should look at (e.g. `possible-opt-out`), each once.
    #[serde(default)]
    pub flags: Vec<String>,
    /// A question waiting for the contact's answer.
    #[serde(default)]
    pub pending_ask: Option<PendingAsk>,
    /// Re-routing planned.
    #[serde(default)]
    pub escalation: Option<Escalation>,
    /// The contact's timezone (IANA name) for quiet hours, when known.
    #[serde(default)]
    pub timezone: Option<String>,
    /// When it began.
    pub created_at: DateTime<Utc>,
    /// The latest message or action.
    pub last_activity_at: DateTime<Utc>,
    /// The latest message from the contact.
    #[serde(default)]
    pub last_inbound_at: Option<DateTime<Utc>>,
    /// The latest reply by an agent.
    #[serde(default)]
    pub last_agent_reply_at: Option<DateTime<Utc>>,
}

impl ConversationRecord {
    /// Adds a tag (once).
    pub fn tag(&mut self, tag: &str) {
        if let Err(at) = self.tags.binary_search_by(|t| t.as_str().cmp(tag)) {
            self.tags.insert(at, tag.to_string());
        }
    }

    /// Adds a flag (once).
    pub fn flag(&mut self, flag: &str) {
        if !self.flags.iter().any(|f| f == flag) {
            self.flags.push(flag.to_string());
        }
    }
}

/// Who wrote an outbound conversation message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Author {
    /// A conversation workflow's `reply`.
    Flow {
        /// The workflow.
        workflow: String,
    },
    /// A conversation workflow's `ask` (the question, or its retry).
    Question {
        /// The workflow.
        workflow: String,
    },
    /// An agent.
    Agent {
        /// Who.
        agent: String,
    },
    /// The engine's compliance answers: opt-out and opt-in confirmations, the help text.
    Compliance,
}

impl Author {
    /// Whether the message goes out even to an opted-out number, and at once whatever the
    /// quiet hours: the engine's compliance answers only — the one confirmation of an opt-out
    /// and the answer to HELP, which carriers expect from every sender (an opt-in
    /// confirmation goes to a number that is no longer suppressed anyway).
    pub fn exempt_from_opt_out(&self) -> bool {
        matches!(self, Author::Compliance)
    }
}

/// What became of an outbound conversation message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboundStatus {
    /// Waiting for its turn (the sender's pace, or the contact's allowed hours).
    Queued,
    /// Handed to the provider, answer not recorded yet.
    Sending,
    /// Accepted by the provider.
    Sent,
    /// Delivered to the handset.
    Delivered,
    /// Failed.
    Failed,
    /// Not sent: the contact opted out before its turn.
    Suppressed,
    /// Interrupted by a crash; the provider could not confirm.
    Unknown,
}

impl OutboundStatus {
    /// Order of progress: a delivery receipt moves a status forward only.
    pub fn stage(self) -> u8 {
        match self {
            OutboundStatus::Queued => 0,
            OutboundStatus::Sending => 1,
            OutboundStatus::Unknown => 2,
            OutboundStatus::Sent => 3,
            OutboundStatus::Delivered | OutboundStatus::Failed | OutboundStatus::Suppressed => 4,
        }
    }
}

/// An outbound conversation message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundMessage {
    /// Who wrote it.
    pub author: Author,
    /// Its text.
    pub text: String,
    /// Media URLs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<String>,
    /// What became of it.
    pub status: OutboundStatus,
    /// When it is due to go out (later than written when quiet hours hold it).
    pub due_at: DateTime<Utc>,
    /// The provider's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Provider calls made (transient failures are retried).
    #[serde(default)]
    pub tries: u32,
}

/// One entry of a conversation's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EntryKind {
    /// A message from the contact.
    Inbound {
        /// Its text.
        text: String,
        /// The provider's id of it.
        provider_message_id: String,
        /// The keyword it was, if it was one (`STOP`, `HELP`, ...).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        keyword: Option<String>,
    },
    /// A campaign's message to the contact (its status lives with the campaign's message).
    Campaign {
        /// The campaign.
        campaign: CampaignId,
        /// The recipient.
        recipient: RecipientSeq,
        /// The message in the sequence.
        step_id: String,
        /// Instruction and attempt: the campaign message's key.
        pc: u32,
        /// The attempt.
        attempt: u32,
        /// The text sent.
        text: String,
    },
    /// A message we send in the conversation (automatic, question, agent, compliance).
    Outbound(OutboundMessage),
    /// An agent's note, seen by agents only.
    Note {
        /// Who.
        agent: String,
        /// The note.
        text: String,
    },
    /// Something that happened: routed, assigned, escalated, opted out, closed...
    Event {
        /// What, for people.
        text: String,
    },
}

/// A timeline entry with its place and time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// Its number in the conversation (increasing).
    pub seq: u64,
    /// When it was written.
    pub at: DateTime<Utc>,
    /// What it is.
    #[serde(flatten)]
    pub kind: EntryKind,
}

/// How a number got on or off the suppression list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentSource {
    /// The contact texted a keyword.
    Keyword,
    /// Someone used the API (or the CLI, which uses the API).
    Api,
    /// A suppression list import.
    Import,
    /// The provider said the number opted out (an error code or a webhook flag).
    Provider,
}

/// One opt-in or opt-out of a number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    /// The number.
    pub phone: String,
    /// `true` for an opt-out, `false` for an opt-in.
    pub opted_out: bool,
    /// When.
    pub at: DateTime<Utc>,
    /// How.
    pub how: ConsentSource,
    /// Who: the keyword's sender, the API token's label or agent, the imported file.
    pub who: String,
    /// Details: the keyword, the provider code, a note.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}
