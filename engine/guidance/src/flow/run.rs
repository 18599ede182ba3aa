//! One run of a flow: steps into actions, from the start or from after a pending `ask`.

use std::fmt::Display;

use chrono::{DateTime, Utc};
use switchboard_model::expr::{ExprEngine, Expression};
use switchboard_model::template::Template;

use super::compile::{AskStep, Flow, Kind, Step, SuggestStep, locate_ask};
use super::values::Context;
use super::{Action, FlowError, Message, Outcome, PendingAsk};
use switchboard_model::expr::dynamic_to_json;

/// Whether the run goes on after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Continue,
    /// A `close`, or an `ask` now pending.
    Stop,
}

/// The state of one run. Nothing here outlives the call that made it: what must last is in
/// the actions (saved fields) and the pending ask.
#[derive(Debug)]
pub(super) struct Run<'r> {
    engine: &'r ExprEngine,
    flow: &'r Flow,
    now: DateTime<Utc>,
    /// The message text: the answer, when the run resumes after an `ask`.
    text: String,
    context: Context,
    actions: Vec<Action>,
    pending: Option<PendingAsk>,
}

impl<'r> Run<'r> {
    pub(super) fn new(engine: &'r ExprEngine, flow: &'r Flow, message: &Message<'_>) -> Self {
        Self {
            engine,
            flow,
            now: message.now,
            text: message.text.to_string(),
            context: Context::new(message),
            actions: Vec::new(),
            pending: None,
        }
    }

    pub(super) fn finish(self) -> Outcome {
        Outcome {
            actions: self.actions,
            pending: self.pending,
        }
    }

    /// Runs the flow from its first step.
    pub(super) fn start(&mut self) {
        let steps = &self.flow.steps;
        self.steps(steps, 0, &mut Vec::new());
    }

    /// Handles the contact's answer to `pending` (see [`super::FlowSet::answer`]).
    pub(super) fn answer(&mut self, pending: &PendingAsk) -> Result<(), FlowError> {
        let flow = self.flow;
        let (step, ask) =
            locate_ask(&flow.steps, &pending.path).ok_or_else(|| no_ask(flow, &pending.path))?;
        let at = step.at.as_str();
        let answer = self.text.clone();
        let valid = match &ask.validate {
            None => true,
            Some(validate) => {
                let mut scope = self.context.scope(flow, Some(&answer));
                match self.engine.eval_bool(validate, &mut scope) {
                    Ok(valid) => valid,
                    Err(error) => {
                        self.fail(at, expression_error(validate, error));
                        false
                    }
                }
            }
        };
        if valid {
            self.save(&ask.save_as, serde_json::Value::String(answer));
        } else {
            let used = pending.attempts_used.saturating_add(1);
            if used < ask.attempts {
                let retry = ask.retry_text.as_ref().unwrap_or(&ask.question);
                match self.render(retry) {
                    Ok(question) => {
                        self.actions.push(Action::Ask { question });
                        self.pending = Some(PendingAsk {
                            attempts_used: used,
                            expires_at: self.expiry(ask),
                            ..pending.clone()
                        });
                        return Ok(());
                    }
                    // Cannot ask again: give up as after the last attempt.
                    Err(error) => self.fail(at, error),
                }
            }
        }
        self.resume(&pending.path)
    }

    /// Runs the steps after the `ask` at `path`, then after each branch it sits in.
    pub(super) fn resume(&mut self, path: &[u32]) -> Result<(), FlowError> {
        let flow = self.flow;
        if locate_ask(&flow.steps, path).is_none() {
            return Err(no_ask(flow, path));
        }
        self.resume_in(&flow.steps, path, &mut Vec::new());
        Ok(())
    }

    /// `at` leads to an ask inside `steps` (checked by [`locate_ask`]).
    fn resume_in(&mut self, steps: &'r [Step], at: &[u32], path: &mut Vec<u32>) -> Next {
        let Some((&index, rest)) = at.split_first() else {
            return Next::Stop;
        };
        let position = usize::try_from(index).unwrap_or(usize::MAX);
        if let ([arm, rest @ ..], Some(step)) = (rest, steps.get(position))
            && let Kind::Branch {
                then, otherwise, ..
            } = &step.kind
        {
            let arm_steps = if *arm == 0 { then } else { otherwise };
            path.extend([index, *arm]);
            let next = self.resume_in(arm_steps, rest, path);
            path.truncate(path.len().saturating_sub(2));
            if next == Next::Stop {
                return Next::Stop;
            }
        }
        self.steps(steps, position.saturating_add(1), path)
    }

    /// Runs `steps[from..]`; `path` locates `steps` (a pending ask's path without the index).
    fn steps(&mut self, steps: &'r [Step], from: usize, path: &mut Vec<u32>) -> Next {
        for (index, step) in steps.iter().enumerate().skip(from) {
            path.push(u32::try_from(index).unwrap_or(u32::MAX));
            let next = self.step(step, path);
            path.pop();
            if next == Next::Stop {
                return Next::Stop;
            }
        }
        Next::Continue
    }

    /// Runs one step; `path` is its own position.
    fn step(&mut self, step: &'r Step, path: &mut Vec<u32>) -> Next {
        let at = step.at.as_str();
        match &step.kind {
            Kind::Suggest(suggest) => self.suggest(at, suggest),
            Kind::Route {
                queue,
                escalate_after,
                escalate_to,
            } => self.actions.push(Action::Route {
                queue: queue.clone(),
                escalate_after: *escalate_after,
                escalate_to: escalate_to.clone(),
            }),
            Kind::Reply { text, media } => match self.render(text) {
                Ok(text) => self.actions.push(Action::Reply {
                    text,
                    media: media.clone(),
                }),
                Err(error) => self.fail(at, error),
            },
            Kind::Ask(ask) => match self.render(&ask.question) {
                Ok(question) => {
                    self.actions.push(Action::Ask { question });
                    self.pending = Some(PendingAsk {
                        workflow: self.flow.workflow.id.clone(),
                        version: self.flow.version,
                        path: path.clone(),
                        save_as: ask.save_as.clone(),
                        attempts_used: 0,
                        expires_at: self.expiry(ask),
                    });
                    return Next::Stop;
                }
                // The question cannot be sent: nothing to wait for.
                Err(error) => self.fail(at, error),
            },
            Kind::Save { field, value } => match self.eval(value) {
                Ok(value) => self.save(field, value),
                Err(error) => self.fail(at, error),
            },
            Kind::Tag(tag) => self.actions.push(Action::Tag(tag.clone())),
            Kind::Branch {
                condition,
                then,
                otherwise,
            } => match self.eval_bool(condition) {
                Ok(holds) => {
                    let (arm, steps) = if holds { (0, then) } else { (1, otherwise) };
                    path.push(arm);
                    let next = self.steps(steps, 0, path);
                    path.pop();
                    return next;
                }
                Err(error) => self.fail(at, error),
            },
            Kind::Close => {
                self.actions.push(Action::Close);
                return Next::Stop;
            }
        }
        Next::Continue
    }

    fn suggest(&mut self, at: &str, suggest: &SuggestStep) {
        if let Some(when) = &suggest.when {
            match self.eval_bool(when) {
                Ok(true) => {}
                Ok(false) => return,
                Err(error) => return self.fail(at, error),
            }
        }
        let rendered = self.render(&suggest.text).and_then(|text| {
            let answer = suggest
                .answer
                .as_ref()
                .map(|answer| self.render(answer))
                .transpose()?;
            Ok((text, answer))
        });
        match rendered {
            Ok((text, answer)) => self.actions.push(Action::Suggest {
                workflow: self.flow.workflow.id.clone(),
                text,
                answer,
                rank: suggest.rank,
            }),
            Err(error) => self.fail(at, error),
        }
    }

    fn save(&mut self, field: &str, value: serde_json::Value) {
        self.context.save(field, value.clone());
        self.actions.push(Action::Save {
            field: field.to_string(),
            value,
        });
    }

    fn fail(&mut self, at: &str, error: impl Display) {
        self.actions.push(Action::StepFailed {
            workflow: self.flow.workflow.id.clone(),
            step: at.to_string(),
            error: error.to_string(),
        });
    }

    fn eval(&self, expression: &Expression) -> Result<serde_json::Value, String> {
        let mut scope = self.context.scope(self.flow, None);
        self.engine
            .eval(expression, &mut scope)
            .map(|value| dynamic_to_json(&value))
            .map_err(|error| expression_error(expression, error))
    }

    fn eval_bool(&self, expression: &Expression) -> Result<bool, String> {
        let mut scope = self.context.scope(self.flow, None);
        self.engine
            .eval_bool(expression, &mut scope)
            .map_err(|error| expression_error(expression, error))
    }

    fn render(&self, template: &Template) -> Result<String, String> {
        self.context.render(self.flow, template)
    }

    fn expiry(&self, ask: &AskStep) -> Option<DateTime<Utc>> {
        ask.timeout
            .and_then(|timeout| self.now.checked_add_signed(timeout))
    }
}

fn expression_error(expression: &Expression, error: impl Display) -> String {
    format!("`{}`: {error}", expression.source())
}

fn no_ask(flow: &Flow, path: &[u32]) -> FlowError {
    FlowError::NoAsk {
        workflow: flow.workflow.id.clone(),
        path: path.to_vec(),
    }
}
