//! Conversations: every message between one of our numbers and a contact — campaign sends,
//! replies, automatic answers, agent replies — lands in the conversation of that pair, with
//! its state (open → assigned → closed, reopened by a new inbound message), queue, assignee,
//! guidance and saved fields.
//!
//! - [`records`]: what is kept. [`store`]: keys and reads.
//! - [`inbound`]: an inbound message's path — opt-out keywords first (STOP, START, HELP and
//!   configured words: the number is suppressed across every campaign at once, confirmations
//!   are sent once), then the campaign recipient waiting for a reply, then the conversation
//!   workflows (suggest, route, reply, ask, save, tag, close).
//! - [`outbox`]: conversation messages go out through the provider, durable before the call,
//!   never to an opted-out number (the opt-out confirmation aside), never in the contact's
//!   quiet hours; escalations and question timeouts wake here too.
//! - [`agent`]: what an agent does: claim, assign, reply, note, close.
//! - [`consent`]: opt-ins and opt-outs by API and import; the suppression list.

pub mod agent;
pub mod consent;
pub mod inbound;
pub mod outbox;
pub mod records;
pub mod store;

use switchboard_guidance::keywords::KeywordSets;

pub use records::{
    ConsentRecord, ConsentSource, ConversationId, ConversationRecord, ConversationState, EntryKind,
    OutboundStatus, TimelineEntry,
};

/// Compliance answers and keywords, from the daemon's config.
#[derive(Debug, Clone)]
pub struct ComplianceConfig {
    /// Opt-out, opt-in and help words.
    pub keywords: KeywordSets,
    /// The answer to HELP.
    pub help_text: String,
    /// The confirmation of an opt-out (sent once).
    pub opt_out_confirmation: String,
    /// The confirmation of an opt-in (sent once).
    pub opt_in_confirmation: String,
    /// Provider error codes that mean "this number opted out" (Twilio 21610, Telnyx 40300):
    /// a send failing with one suppresses the number.
    pub provider_opt_out_codes: Vec<String>,
}

impl Default for ComplianceConfig {
    fn default() -> Self {
        Self {
            keywords: KeywordSets::default(),
            help_text: "Reply STOP to unsubscribe or START to resubscribe. Msg & data rates may \
                        apply."
                .into(),
            opt_out_confirmation: "You are unsubscribed and will receive no more messages. \
                                   Reply START to resubscribe."
                .into(),
            opt_in_confirmation: "You are resubscribed. Reply STOP to unsubscribe, HELP for help."
                .into(),
            provider_opt_out_codes: vec!["21610".into(), "40300".into()],
        }
    }
}

/// An agent operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConversationError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// No such conversation.
    #[error("no conversation {0}")]
    NotFound(ConversationId),
    /// The contact opted out: nothing may be sent to them.
    #[error("{0} opted out: no message may be sent to this number")]
    OptedOut(String),
    /// Another agent has the conversation.
    #[error("conversation {conversation} is assigned to {assignee}")]
    AssignedToOther {
        /// Which conversation.
        conversation: ConversationId,
        /// Who has it.
        assignee: String,
    },
    /// Empty text, or an empty agent name.
    #[error("{0}")]
    Invalid(String),
}
