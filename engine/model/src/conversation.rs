//! `kind: conversation` — agent guidance: when a contact writes in, which flow applies
//! (trigger) and what the human agent should see and do (steps).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::workflow::{
    Branch, ConversationKind, Fields, ID_PATTERN, NAME_PATTERN, Save, Variables,
};

/// A conversation (agent guidance) workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationWorkflow {
    /// `conversation`.
    pub kind: ConversationKind,
    /// Unique id of the workflow: lowercase letters, digits, `-` and `_`.
    #[schemars(regex(pattern = ID_PATTERN))]
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What the flow is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When several flows match one message, higher priority runs first.
    #[serde(default)]
    pub priority: i32,
    /// Which inbound messages start this flow.
    pub trigger: Trigger,
    /// Contact fields the flow uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Fields>,
    /// Constants for templates and expressions (`vars.name`).
    #[serde(default, skip_serializing_if = "Variables::is_empty")]
    pub variables: Variables,
    /// What happens, in order.
    #[schemars(length(min = 1))]
    pub steps: Vec<ConversationStep>,
}

/// Which inbound messages start the flow. Every condition given must hold; give at least one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// Any of these words or phrases, whole words, case-insensitive.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// A regular expression the message text must match (Rust regex syntax; `(?i)` for
    /// case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// A Rhai condition over `message`, `contact` and `conversation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// Only replies to this campaign workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = ID_PATTERN))]
    pub campaign: Option<String>,
    /// Every inbound message (a catch-all; lowest priority flows usually).
    #[serde(default)]
    pub any: bool,
}

impl Trigger {
    /// Whether no condition at all is given.
    pub fn is_empty(&self) -> bool {
        self.keywords.is_empty()
            && self.regex.is_none()
            && self.when.is_none()
            && self.campaign.is_none()
            && !self.any
    }
}

/// One step of a conversation flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ConversationStep {
    /// Show the agent a suggestion (templated guidance).
    Suggest(Suggest),
    /// Put the conversation in a queue.
    Route(Route),
    /// Answer the contact automatically (through the provider; opt-out and quiet hours apply).
    Reply(Reply),
    /// Ask the contact a question, wait for the answer, check it and save it.
    Ask(Ask),
    /// Store a computed value on the conversation.
    Save(Save),
    /// Tag the conversation.
    Tag(String),
    /// Run steps conditionally.
    Branch(Branch<ConversationStep>),
    /// Close the conversation (a new inbound message reopens it).
    Close,
}

/// `suggest: "text"`, or the full form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Suggest {
    /// Guidance text for the agent.
    Text(String),
    /// Guidance with rank and condition.
    Full(Suggestion),
}

/// A suggestion for the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Suggestion {
    /// Guidance text (template).
    pub text: String,
    /// A saved answer the agent can send with one click (template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// Order among suggestions, 1 first (default: the order of the steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub rank: Option<u32>,
    /// Show only when this Rhai condition holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
}

/// `route: queue`, or the full form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Route {
    /// The queue.
    Queue(#[schemars(regex(pattern = ID_PATTERN))] String),
    /// Queue with escalation.
    Full(RouteTo),
}

/// A queue, and where the conversation goes when no agent answers in time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteTo {
    /// The queue.
    #[schemars(regex(pattern = ID_PATTERN))]
    pub queue: String,
    /// Re-route when no agent replied within this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_after: Option<Duration>,
    /// The queue to escalate to (required with `escalate_after`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = ID_PATTERN))]
    pub escalate_to: Option<String>,
}

/// `reply: "text"`, or the full form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Reply {
    /// Template text.
    Text(String),
    /// Text with media.
    Full(ReplyMessage),
}

/// An automatic reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyMessage {
    /// Template text.
    pub text: String,
    /// Media URLs (MMS), http or https.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub media: Vec<String>,
}

/// Collect a field from the contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ask {
    /// The question sent to the contact (template).
    pub question: String,
    /// Where the answer is saved.
    #[schemars(regex(pattern = NAME_PATTERN))]
    pub save_as: String,
    /// A Rhai condition over `answer` (the reply text); a failing answer is asked again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validate: Option<String>,
    /// Sent when an answer fails `validate` (template; default: the question again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_text: Option<String>,
    /// How many answers are tried before giving up (the saved value stays `()`).
    #[serde(default = "default_ask_attempts")]
    #[schemars(range(min = 1, max = 10))]
    pub attempts: u32,
    /// Stop waiting for an answer after this long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
}

fn default_ask_attempts() -> u32 {
    3
}

/// Names every `ask` and `save` of `steps` stores, anywhere (inside branches too): the fields
/// a conversation flow may read back.
pub fn saved_names(steps: &[ConversationStep], names: &mut std::collections::BTreeSet<String>) {
    for step in steps {
        match step {
            ConversationStep::Ask(ask) => {
                names.insert(ask.save_as.clone());
            }
            ConversationStep::Save(save) => {
                names.insert(save.field.clone());
            }
            ConversationStep::Branch(branch) => {
                saved_names(&branch.then, names);
                saved_names(&branch.otherwise, names);
            }
            _ => {}
        }
    }
}
