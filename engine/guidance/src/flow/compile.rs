//! A conversation workflow compiled for running: expressions compiled once against the names
//! the model's checker allows, templates parsed once, the trigger's regex and keywords
//! prepared, every suggestion's rank fixed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::TimeDelta;
use switchboard_model::check::CONVERSATION_SCOPE;
use switchboard_model::conversation::{
    ConversationStep, ConversationWorkflow, Reply, Route, Suggest,
};
use switchboard_model::expr::{ExprEngine, Expression};
use switchboard_model::path::FieldPath;
use switchboard_model::template::Template;

use super::FlowError;
use super::trigger::Trigger;
use switchboard_model::expr::variable_to_dynamic;

/// A compiled flow. Immutable once built; a new version is a new `Flow`.
#[derive(Debug)]
pub(super) struct Flow {
    pub(super) workflow: Arc<ConversationWorkflow>,
    pub(super) version: u64,
    pub(super) trigger: Trigger,
    pub(super) steps: Vec<Step>,
    /// Every name a step saves (`ask.save_as`, `save.field`): in every expression's scope.
    pub(super) saved_names: Vec<String>,
    /// Variables as template text.
    pub(super) text_variables: BTreeMap<String, String>,
    /// Variables as Rhai values (`vars`).
    pub(super) rhai_variables: rhai::Map,
}

/// One step, with where it is in the workflow (for [`super::Action::StepFailed`]).
#[derive(Debug)]
pub(super) struct Step {
    /// E.g. `steps[3].branch.then[0]`.
    pub(super) at: String,
    pub(super) kind: Kind,
}

#[derive(Debug)]
pub(super) enum Kind {
    Suggest(SuggestStep),
    Route {
        queue: String,
        escalate_after: Option<std::time::Duration>,
        escalate_to: Option<String>,
    },
    Reply {
        text: Template,
        media: Vec<String>,
    },
    Ask(AskStep),
    Save {
        field: String,
        value: Expression,
    },
    Tag(String),
    Branch {
        condition: Expression,
        then: Vec<Step>,
        otherwise: Vec<Step>,
    },
    Close,
}

#[derive(Debug)]
pub(super) struct SuggestStep {
    pub(super) text: Template,
    pub(super) answer: Option<Template>,
    pub(super) rank: u32,
    pub(super) when: Option<Expression>,
}

#[derive(Debug)]
pub(super) struct AskStep {
    pub(super) question: Template,
    pub(super) save_as: String,
    /// Compiled with `answer` in scope.
    pub(super) validate: Option<Expression>,
    pub(super) retry_text: Option<Template>,
    pub(super) attempts: u32,
    pub(super) timeout: Option<TimeDelta>,
}

impl Flow {
    pub(super) fn compile(
        engine: &ExprEngine,
        workflow: Arc<ConversationWorkflow>,
        version: u64,
    ) -> Result<Self, FlowError> {
        let mut saved = BTreeSet::new();
        switchboard_model::conversation::saved_names(&workflow.steps, &mut saved);
        let saved_names: Vec<String> = saved.into_iter().collect();
        let mut compiler = Compiler {
            engine,
            workflow: &workflow,
            scope: CONVERSATION_SCOPE
                .iter()
                .map(|name| name.to_string())
                .chain(saved_names.iter().cloned())
                .collect(),
            next_unranked: max_rank(&workflow.steps).saturating_add(1),
        };
        let trigger = Trigger::compile(&compiler, &workflow.trigger)?;
        let steps = compiler.steps(&workflow.steps, &FieldPath::root().key("steps"))?;
        let text_variables = workflow
            .variables
            .iter()
            .map(|(name, value)| (name.clone(), value.to_string()))
            .collect();
        let rhai_variables = workflow
            .variables
            .iter()
            .map(|(name, value)| (name.as_str().into(), variable_to_dynamic(value)))
            .collect();
        Ok(Self {
            workflow,
            version,
            trigger,
            steps,
            saved_names,
            text_variables,
            rhai_variables,
        })
    }
}

/// The `ask` at `path` (see [`super::PendingAsk::path`]), with its step.
pub(super) fn locate_ask<'s>(steps: &'s [Step], path: &[u32]) -> Option<(&'s Step, &'s AskStep)> {
    let (&index, rest) = path.split_first()?;
    let step = steps.get(usize::try_from(index).ok()?)?;
    match (&step.kind, rest) {
        (Kind::Ask(ask), []) => Some((step, ask)),
        (Kind::Branch { then, .. }, [0, rest @ ..]) => locate_ask(then, rest),
        (Kind::Branch { otherwise, .. }, [1, rest @ ..]) => locate_ask(otherwise, rest),
        _ => None,
    }
}

/// The highest explicit suggestion rank anywhere in the steps (0 when none has one).
fn max_rank(steps: &[ConversationStep]) -> u32 {
    steps
        .iter()
        .map(|step| match step {
            ConversationStep::Suggest(Suggest::Full(suggestion)) => suggestion.rank.unwrap_or(0),
            ConversationStep::Branch(branch) => {
                max_rank(&branch.then).max(max_rank(&branch.otherwise))
            }
            _ => 0,
        })
        .max()
        .unwrap_or(0)
}

pub(super) struct Compiler<'a> {
    engine: &'a ExprEngine,
    workflow: &'a ConversationWorkflow,
    /// Names every expression may use (`answer` is added for `ask.validate`).
    scope: Vec<String>,
    /// The rank of the next suggestion without one, in document order.
    next_unranked: u32,
}

impl Compiler<'_> {
    pub(super) fn error(&self, path: &FieldPath, message: impl Into<String>) -> FlowError {
        FlowError::Compile {
            workflow: self.workflow.id.clone(),
            path: path.to_string(),
            message: message.into(),
        }
    }

    pub(super) fn expression(
        &self,
        path: &FieldPath,
        source: &str,
        extra: &[&str],
    ) -> Result<Expression, FlowError> {
        let names: Vec<&str> = self
            .scope
            .iter()
            .map(String::as_str)
            .chain(extra.iter().copied())
            .collect();
        self.engine
            .compile(source, &names)
            .map_err(|error| self.error(path, format!("`{source}`: {}", error.message)))
    }

    fn template(&self, path: &FieldPath, text: &str) -> Result<Template, FlowError> {
        Template::parse(text).map_err(|error| self.error(path, error.to_string()))
    }

    fn steps(
        &mut self,
        steps: &[ConversationStep],
        path: &FieldPath,
    ) -> Result<Vec<Step>, FlowError> {
        steps
            .iter()
            .enumerate()
            .map(|(index, step)| {
                let path = path.index(index);
                Ok(Step {
                    kind: self.step(step, &path)?,
                    at: path.to_string(),
                })
            })
            .collect()
    }

    fn step(&mut self, step: &ConversationStep, path: &FieldPath) -> Result<Kind, FlowError> {
        Ok(match step {
            ConversationStep::Suggest(Suggest::Text(text)) => Kind::Suggest(SuggestStep {
                text: self.template(&path.key("suggest"), text)?,
                answer: None,
                rank: self.unranked(),
                when: None,
            }),
            ConversationStep::Suggest(Suggest::Full(suggestion)) => {
                let path = path.key("suggest");
                Kind::Suggest(SuggestStep {
                    text: self.template(&path.key("text"), &suggestion.text)?,
                    answer: suggestion
                        .answer
                        .as_deref()
                        .map(|answer| self.template(&path.key("answer"), answer))
                        .transpose()?,
                    rank: match suggestion.rank {
                        Some(rank) => rank,
                        None => self.unranked(),
                    },
                    when: suggestion
                        .when
                        .as_deref()
                        .map(|when| self.expression(&path.key("when"), when, &[]))
                        .transpose()?,
                })
            }
            ConversationStep::Route(Route::Queue(queue)) => Kind::Route {
                queue: queue.clone(),
                escalate_after: None,
                escalate_to: None,
            },
            ConversationStep::Route(Route::Full(route)) => Kind::Route {
                queue: route.queue.clone(),
                escalate_after: route.escalate_after.map(|after| after.to_std()),
                escalate_to: route.escalate_to.clone(),
            },
            ConversationStep::Reply(Reply::Text(text)) => Kind::Reply {
                text: self.template(&path.key("reply"), text)?,
                media: Vec::new(),
            },
            ConversationStep::Reply(Reply::Full(reply)) => Kind::Reply {
                text: self.template(&path.key("reply").key("text"), &reply.text)?,
                media: reply.media.clone(),
            },
            ConversationStep::Ask(ask) => {
                let path = path.key("ask");
                let timeout = match ask.timeout {
                    Some(timeout) => Some(
                        i64::try_from(timeout.as_seconds())
                            .ok()
                            .and_then(TimeDelta::try_seconds)
                            .ok_or_else(|| {
                                self.error(&path.key("timeout"), "timeout is too long")
                            })?,
                    ),
                    None => None,
                };
                Kind::Ask(AskStep {
                    question: self.template(&path.key("question"), &ask.question)?,
                    save_as: ask.save_as.clone(),
                    validate: ask
                        .validate
                        .as_deref()
                        .map(|validate| {
                            self.expression(&path.key("validate"), validate, &["answer"])
                        })
                        .transpose()?,
                    retry_text: ask
                        .retry_text
                        .as_deref()
                        .map(|retry| self.template(&path.key("retry_text"), retry))
                        .transpose()?,
                    attempts: ask.attempts,
                    timeout,
                })
            }
            ConversationStep::Save(save) => Kind::Save {
                field: save.field.clone(),
                value: self.expression(&path.key("save").key("value"), &save.value, &[])?,
            },
            ConversationStep::Tag(tag) => Kind::Tag(tag.clone()),
            ConversationStep::Branch(branch) => {
                let path = path.key("branch");
                Kind::Branch {
                    condition: self.expression(&path.key("if"), &branch.condition, &[])?,
                    then: self.steps(&branch.then, &path.key("then"))?,
                    otherwise: self.steps(&branch.otherwise, &path.key("else"))?,
                }
            }
            ConversationStep::Close => Kind::Close,
        })
    }

    fn unranked(&mut self) -> u32 {
        let rank = self.next_unranked;
        self.next_unranked = self.next_unranked.saturating_add(1);
        rank
    }
}
