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

use switchboard_guidance::keywords::{self, KeywordSets};

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
            help_text: keywords::DEFAULT_HELP_TEXT.into(),
            opt_out_confirmation: keywords::DEFAULT_OPT_OUT_CONFIRMATION.into(),
            opt_in_confirmation: keywords::DEFAULT_OPT_IN_CONFIRMATION.into(),
            provider_opt_out_codes: keywords::DEFAULT_PROVIDER_OPT_OUT_CODES
                .map(String::from)
                .to_vec(),
        }
    }
}
