//! The workflow document: one file, one workflow, of kind `campaign` or `conversation`, and
//! the pieces both kinds share (fields, variables, `save`, `branch`).
//!
//! The doc comments on these types are the user documentation: they become the descriptions
//! in `schemas/workflow.schema.json`, which editors show on hover.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::campaign::CampaignWorkflow;
use crate::conversation::ConversationWorkflow;

/// Pattern of workflow, step, queue and field identifiers.
pub const ID_PATTERN: &str = r"^[a-z0-9][a-z0-9_-]{0,63}$";
/// Pattern of names usable as template fields and Rhai variables.
pub const NAME_PATTERN: &str = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$";

/// A Switchboard workflow file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
#[schemars(title = "Switchboard workflow")]
pub enum Workflow {
    /// Sends messages to imported recipients, step by step.
    Campaign(Box<CampaignWorkflow>),
    /// Guides a human agent when a contact writes in.
    Conversation(Box<ConversationWorkflow>),
}

impl Workflow {
    /// The workflow's id.
    pub fn id(&self) -> &str {
        match self {
            Workflow::Campaign(campaign) => &campaign.id,
            Workflow::Conversation(conversation) => &conversation.id,
        }
    }

    /// `campaign` or `conversation`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Workflow::Campaign(_) => "campaign",
            Workflow::Conversation(_) => "conversation",
        }
    }
}

/// The `kind` of a campaign workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignKind {
    /// `kind: campaign`
    Campaign,
}

/// The `kind` of a conversation workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversationKind {
    /// `kind: conversation`
    Conversation,
}

/// A recipient or contact field the workflow relies on. When a workflow declares `fields`,
/// every template placeholder must be a declared field, a variable, a saved value or
/// `{phone}`, or carry a default (`{name|there}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// Import rejects rows without a value for this field.
    #[serde(default)]
    pub required: bool,
    /// What the field holds, for people reading the workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Declared fields: `fields: { name: {required: true}, company: }`.
pub type Fields = BTreeMap<String, Option<FieldSpec>>;

/// Workflow constants, usable in templates as `{name}` and in expressions as `vars.name`.
pub type Variables = BTreeMap<String, VariableValue>;

/// A variable's value: text, a number or a flag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum VariableValue {
    /// Text.
    Text(String),
    /// A number.
    Number(f64),
    /// true or false.
    Flag(bool),
}

impl std::fmt::Display for VariableValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VariableValue::Text(text) => f.write_str(text),
            VariableValue::Number(number) => write!(f, "{number}"),
            VariableValue::Flag(flag) => write!(f, "{flag}"),
        }
    }
}

/// Stores a computed value on the recipient or conversation, usable later in templates and
/// expressions under `field`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Save {
    /// The name to store the value under.
    #[schemars(regex(pattern = NAME_PATTERN))]
    pub field: String,
    /// A Rhai expression computing the value, e.g. `answer.to_upper().contains("YES")`.
    pub value: String,
}

/// Runs `then` when the condition holds, else `else`; both continue with the next step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
// Without the explicit bound, `#[serde(default)]` on `else` would demand `Step: Default`.
#[serde(deny_unknown_fields, bound(deserialize = "Step: Deserialize<'de>"))]
#[schemars(rename = "{Step}Branch")]
pub struct Branch<Step> {
    /// A Rhai condition.
    #[serde(rename = "if")]
    pub condition: String,
    /// Steps when the condition is true.
    #[schemars(length(min = 1))]
    pub then: Vec<Step>,
    /// Steps when the condition is false (none by default).
    #[serde(default, rename = "else", skip_serializing_if = "Vec::is_empty")]
    pub otherwise: Vec<Step>,
}

/// Where a retryable provider failure is retried, for transient errors (network, 5xx).
/// Throttling always waits for the provider's retry-after and does not use up attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts in total, the first one included.
    #[schemars(range(min = 1, max = 20))]
    pub attempts: u32,
    /// Wait before the second attempt; doubled for each further one.
    pub backoff: crate::duration::Duration,
    /// Longest wait between two attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_backoff: Option<crate::duration::Duration>,
}
