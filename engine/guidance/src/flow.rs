//! Conversation workflows at run time: which flows a message triggers, and what their steps
//! say to do, as a list of [`Action`]s the runtime performs (and stores) itself.
//!
//! A run goes from the first step to the end, a `close`, or an `ask`. An `ask` leaves a
//! [`PendingAsk`] the runtime keeps with the conversation and hands back with the contact's
//! answer ([`FlowSet::answer`]) or when it times out ([`FlowSet::expire`]); the run then goes
//! on after the `ask`, out of any branches it sits in.
//!
//! Expressions see what the model's checker lets them use: `message` (`#{text, campaign}`),
//! `contact` (its fields; a field without a value is `()`), `conversation` (`#{state, queue,
//! assignee, tags}`; no queue or assignee is `()`), `vars` (the workflow's variables), every
//! name the flow saves (`()` until saved), and `answer` inside `ask.validate`. Templates fill
//! `{field}` from the contact's fields (saved ones included), then from the variables.
//!
//! A step that cannot run (a Rhai error, a template field without value) becomes
//! [`Action::StepFailed`] and the run goes on with the next step: the agent sees why, the
//! contact still gets the rest of the flow.

mod compile;
mod run;
#[cfg(test)]
mod tests;
mod trigger;
mod values;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchboard_model::conversation::ConversationWorkflow;
use switchboard_model::expr::ExprEngine;

use compile::Flow;
use run::Run;

/// What a flow sees of the inbound message and its conversation.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// The message text.
    pub text: &'a str,
    /// When the message is handled (pending asks expire relative to it).
    pub now: DateTime<Utc>,
    /// Workflow id of the campaign this message replies to, if any.
    pub campaign_workflow: Option<&'a str>,
    /// Contact fields: the campaign recipient's fields plus fields saved on the conversation
    /// (saved ones win).
    pub contact: &'a serde_json::Map<String, serde_json::Value>,
    /// The conversation the message landed in.
    pub conversation: ConversationView<'a>,
}

/// The conversation, as expressions see it (`conversation.state`, ...).
#[derive(Debug, Clone, Copy)]
pub struct ConversationView<'a> {
    /// `open`, `assigned` or `closed`.
    pub state: &'a str,
    /// The queue it is in, if any.
    pub queue: Option<&'a str>,
    /// The agent it is assigned to, if any.
    pub assignee: Option<&'a str>,
    /// Its tags.
    pub tags: &'a [String],
}

/// What one run of a flow asks the runtime to do.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// In step order.
    pub actions: Vec<Action>,
    /// The question the run waits on, when it stopped at an `ask`.
    pub pending: Option<PendingAsk>,
}

/// One effect of a flow, for the runtime to perform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Action {
    /// Guidance for the agent (templates rendered).
    Suggest {
        /// The flow it comes from.
        workflow: String,
        /// The guidance.
        text: String,
        /// A ready answer the agent can send with one click.
        answer: Option<String>,
        /// Display order, 1 first: the step's `rank`, or, for a suggestion without one, its
        /// position among the flow's unranked suggestions (document order, `then` before
        /// `else`) counted on from the flow's highest explicit rank. Ranks depend on the
        /// workflow only, never on which branches ran.
        rank: u32,
    },
    /// Put the conversation in a queue.
    Route {
        /// The queue.
        queue: String,
        /// Re-route when no agent replied within this time.
        escalate_after: Option<std::time::Duration>,
        /// Where to re-route.
        escalate_to: Option<String>,
    },
    /// Answer the contact automatically (the runtime applies opt-out and quiet hours).
    Reply {
        /// The rendered text.
        text: String,
        /// Media URLs.
        media: Vec<String>,
    },
    /// Send the contact a question: an `ask`'s question, or its retry text.
    Ask {
        /// The rendered question.
        question: String,
    },
    /// Store a value on the conversation's contact fields.
    Save {
        /// The field.
        field: String,
        /// The value.
        value: serde_json::Value,
    },
    /// Tag the conversation.
    Tag(String),
    /// Close the conversation.
    Close,
    /// A step could not run (a Rhai error, a template field without value): recorded for the
    /// agent; the flow went on with the next step.
    StepFailed {
        /// The flow.
        workflow: String,
        /// Where the step is, e.g. `steps[3].branch.then[0]`.
        step: String,
        /// What went wrong.
        error: String,
    },
}

/// A question waiting for the contact's answer. The runtime stores it with the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAsk {
    /// The flow.
    pub workflow: String,
    /// The flow's version when it asked: the path only means something in that version.
    pub version: u64,
    /// Where the `ask` is: its index in `steps`, and for an `ask` inside a branch, the
    /// branch's index, the arm (0 `then`, 1 `else`) and the index in that arm, and so on:
    /// `[2]` is `steps[2]`, `[3, 1, 0]` is `steps[3].branch.else[0]`.
    pub path: Vec<u32>,
    /// The field the answer is saved under.
    pub save_as: String,
    /// Answers already refused by `validate`.
    pub attempts_used: u32,
    /// When to stop waiting ([`FlowSet::expire`]); reset when the question is asked again.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Why a flow could not be loaded or run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlowError {
    /// A regex, expression or template of the workflow does not compile (validation should
    /// have caught it first).
    #[error("workflow {workflow}: {path}: {message}")]
    Compile {
        /// The workflow id.
        workflow: String,
        /// Where in the workflow, e.g. `steps[2].suggest.when`.
        path: String,
        /// What failed.
        message: String,
    },
    /// No flow with this id is loaded.
    #[error("no conversation workflow {0:?} is loaded")]
    UnknownFlow(String),
    /// The flow of a pending ask was removed, or replaced by another version.
    #[error("workflow {workflow:?} version {version} is no longer loaded")]
    Gone {
        /// The workflow id.
        workflow: String,
        /// The version the ask was made in.
        version: u64,
    },
    /// A pending ask's path does not lead to an `ask` step of its flow.
    #[error("workflow {workflow:?} has no ask at {path:?}")]
    NoAsk {
        /// The workflow id.
        workflow: String,
        /// The path of the pending ask.
        path: Vec<u32>,
    },
}

/// The loaded conversation workflows, compiled.
#[derive(Debug, Default)]
pub struct FlowSet {
    /// By workflow id. One version per id: replacing a flow strands its pending asks
    /// ([`FlowError::Gone`]).
    flows: BTreeMap<String, Flow>,
    /// Compiles and runs every flow's expressions.
    engine: ExprEngine,
}

impl FlowSet {
    /// No flows.
    pub fn new() -> Self {
        Self::default()
    }

    /// Compiles the workflow (regex, expressions, templates) and adds it, or replaces the
    /// loaded flow with this id. On error the loaded flow, if any, stays.
    pub fn insert(
        &mut self,
        workflow: Arc<ConversationWorkflow>,
        version: u64,
    ) -> Result<(), FlowError> {
        let flow = Flow::compile(&self.engine, workflow, version)?;
        self.flows.insert(flow.workflow.id.clone(), flow);
        Ok(())
    }

    /// Removes the flow with this id, if loaded.
    pub fn remove(&mut self, id: &str) {
        self.flows.remove(id);
    }

    /// How many flows are loaded.
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// Whether no flow is loaded.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Ids of the flows whose trigger holds for this message, higher `priority` first, then
    /// by id. A trigger's `when` that fails to evaluate does not hold.
    pub fn matching(&self, message: &Message<'_>) -> Vec<String> {
        let mut probe = trigger::Probe::new(message);
        let mut matched: Vec<&Flow> = self
            .flows
            .values()
            .filter(|flow| flow.trigger.holds(&self.engine, flow, &mut probe))
            .collect();
        // `flows` is ordered by id and the sort is stable.
        matched.sort_by_key(|flow| std::cmp::Reverse(flow.workflow.priority));
        matched
            .into_iter()
            .map(|flow| flow.workflow.id.clone())
            .collect()
    }

    /// Runs the flow from its first step until the end, a `close`, or an `ask` (which
    /// becomes [`Outcome::pending`]).
    pub fn start(&self, flow: &str, message: &Message<'_>) -> Result<Outcome, FlowError> {
        let flow = self
            .flows
            .get(flow)
            .ok_or_else(|| FlowError::UnknownFlow(flow.to_string()))?;
        let mut run = Run::new(&self.engine, flow, message);
        run.start();
        Ok(run.finish())
    }

    /// The contact answered a pending ask. A valid answer (`validate` over `answer` holds, or
    /// there is no `validate`) is saved under `save_as` and the run goes on after the ask. An
    /// invalid one is asked again (`retry_text`, else the question) with the ask pending
    /// again, until `attempts` answers were refused: then nothing is saved and the run goes
    /// on after the ask. A `validate` that fails to evaluate refuses the answer.
    pub fn answer(
        &self,
        pending: &PendingAsk,
        message: &Message<'_>,
    ) -> Result<Outcome, FlowError> {
        let flow = self.pending_flow(pending)?;
        let mut run = Run::new(&self.engine, flow, message);
        run.answer(pending)?;
        Ok(run.finish())
    }

    /// The pending ask timed out: the run goes on after the ask without saving anything.
    pub fn expire(
        &self,
        pending: &PendingAsk,
        message: &Message<'_>,
    ) -> Result<Outcome, FlowError> {
        let flow = self.pending_flow(pending)?;
        let mut run = Run::new(&self.engine, flow, message);
        run.resume(&pending.path)?;
        Ok(run.finish())
    }

    fn pending_flow(&self, pending: &PendingAsk) -> Result<&Flow, FlowError> {
        self.flows
            .get(&pending.workflow)
            .filter(|flow| flow.version == pending.version)
            .ok_or_else(|| FlowError::Gone {
                workflow: pending.workflow.clone(),
                version: pending.version,
            })
    }
}
