//! The per-recipient state machine: apply one event (wake-up, reply, provider answer) to a
//! recipient's run, executing instructions until the run has to wait, and return the sends
//! to perform. No I/O: the caller commits the new run state (and the send intents) in one
//! transaction, then calls the provider — so a crash can never lose a transition or repeat
//! a send. Tested without tokio or sled.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use rhai::{Dynamic, Scope};
use switchboard_model::campaign::WaitUntilAt;
use switchboard_model::expr::{
    EvalError, ExprEngine, Expression, dynamic_to_json, json_to_dynamic,
};
use switchboard_model::segments::{MAX_MESSAGE_CHARS, segment_info};

use crate::pacing::Pacer;
use crate::program::{Instr, Program, SendInstr, choose_variant};
use crate::provider::SendOutcome;
use crate::records::{
    CampaignId, Outbound, Phase, Reason, RecipientRecord, RecipientStatus, RunState,
};
use crate::send_window::{NextOpen, SendPolicy};

/// What happened to a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A timer fired (or the campaign started).
    Wake,
    /// The recipient replied.
    Reply(String),
    /// The provider answered the pending send.
    SendResult(SendOutcome),
}

/// Everything about the campaign and the moment that a transition needs.
#[derive(Debug)]
pub struct Env<'a> {
    /// The instant of the event.
    pub now: DateTime<Utc>,
    /// The campaign.
    pub campaign: CampaignId,
    /// Rhai.
    pub engine: &'a ExprEngine,
    /// Send windows and quiet hours.
    pub policy: &'a SendPolicy,
    /// Rate limits.
    pub pacer: &'a mut Pacer,
    /// The recipient's timezone.
    pub timezone: Tz,
    /// The sender number for this recipient.
    pub sender: &'a str,
    /// The provider instance that sends the campaign's messages (the workflow's `provider`).
    pub provider: &'a str,
    /// The pacing key of the provider account.
    pub account: &'a str,
    /// Count segments, not messages, against rate limits.
    pub count_segments: bool,
    /// Whether the recipient's number is suppressed (opted out).
    pub suppressed: bool,
    /// When outreach to the recipient's list ends (nothing is sent from then on).
    pub list_end: Option<DateTime<Utc>>,
    /// Workflow variables as template text.
    pub variables: &'a BTreeMap<String, String>,
    /// Workflow variables as Rhai values (`vars`): numbers and flags keep their type.
    pub rhai_variables: &'a rhai::Map,
    /// Fields the workflow declares: absent ones are `""` in expressions (as an empty CSV
    /// cell is), so `recipient.company != ""` means what it says.
    pub declared_fields: &'a [String],
}

/// Applies `event` to `run`; returns the message to hand to the provider, if any.
pub fn apply(
    program: &Program,
    recipient: &RecipientRecord,
    run: &mut RunState,
    event: Event,
    env: &mut Env<'_>,
) -> Option<Outbound> {
    if run.is_done() {
        if let Event::Reply(_) = event {
            run.responded = true;
        }
        return None;
    }
    match event {
        Event::Wake => match run.phase {
            Phase::Sleeping { until } if until <= env.now => run.phase = Phase::Ready,
            Phase::WaitingReply { until } if until <= env.now => {
                // Timed out: the saved value stays `()`.
                run.pc += 1;
                run.phase = Phase::Ready;
            }
            Phase::Ready => {}
            _ => return None, // a stale or early timer
        },
        Event::Reply(text) => {
            run.responded = true;
            if !matches!(run.phase, Phase::WaitingReply { .. }) {
                return None;
            }
            if let Some(Instr::WaitReply {
                save_as: Some(name),
                ..
            }) = program.instrs.get(run.pc as usize)
            {
                run.vars
                    .insert(name.clone(), serde_json::Value::String(text));
            }
            run.pc += 1;
            run.phase = Phase::Ready;
        }
        Event::SendResult(outcome) => {
            if run.phase != Phase::Sending {
                return None;
            }
            let retry = match program.instrs.get(run.pc as usize) {
                Some(Instr::Send(send)) => send.retry.clone(),
                _ => crate::program::default_retry(),
            };
            if matches!(outcome, SendOutcome::Throttled { .. }) {
                run.throttles = run.throttles.saturating_add(1);
            } else {
                run.throttles = 0;
            }
            match outcome {
                SendOutcome::Accepted { .. } => {
                    run.sent += 1;
                    run.status = RecipientStatus::Sent;
                    run.attempt = 0;
                    run.pc += 1;
                    run.phase = Phase::Ready;
                }
                SendOutcome::Transient { code, message } => {
                    if run.attempt + 1 < retry.attempts {
                        run.attempt += 1;
                        let base = retry
                            .backoff
                            .as_seconds()
                            .saturating_mul(1 << (run.attempt - 1).min(20));
                        let cap = retry.max_backoff.map_or(u64::MAX, |m| m.as_seconds());
                        run.phase = Phase::Sleeping {
                            until: env.now + seconds(base.min(cap)),
                        };
                        run.status = RecipientStatus::Scheduled;
                        return None;
                    }
                    let attempts = retry.attempts;
                    finish(
                        run,
                        RecipientStatus::Failed,
                        Some(Reason {
                            code,
                            message: format!("{message} (after {attempts} attempts)"),
                        }),
                    );
                    return None;
                }
                SendOutcome::Throttled { retry_after, .. } => {
                    // A provider's retry-after is bounded: a wild value must neither overflow
                    // the clock nor park the sender for years.
                    let wait = TimeDelta::from_std(retry_after)
                        .unwrap_or(MAX_RETRY_AFTER)
                        .clamp(TimeDelta::zero(), MAX_RETRY_AFTER);
                    let until = env.now.checked_add_signed(wait).unwrap_or(env.now);
                    env.pacer.throttle(env.sender, until);
                    run.phase = Phase::Sleeping { until };
                    run.status = RecipientStatus::Scheduled;
                    return None;
                }
                SendOutcome::Permanent { code, message } => {
                    finish(run, RecipientStatus::Failed, Some(Reason { code, message }));
                    return None;
                }
            }
        }
    }
    execute(program, recipient, run, env)
}

/// Longest wait a throttled answer can impose on a sender.
const MAX_RETRY_AFTER: TimeDelta = TimeDelta::hours(1);

fn seconds(n: u64) -> TimeDelta {
    TimeDelta::seconds(i64::try_from(n).unwrap_or(i64::MAX / 1_000_000))
}

fn finish(run: &mut RunState, status: RecipientStatus, reason: Option<Reason>) {
    run.phase = Phase::Done;
    run.status = status;
    run.reason = reason;
}

/// Runs instructions from `pc` until the run waits, sends or ends.
fn execute(
    program: &Program,
    recipient: &RecipientRecord,
    run: &mut RunState,
    env: &mut Env<'_>,
) -> Option<Outbound> {
    // Jumps only go forward (the compiler emits no loops), so this ends; the bound is a guard.
    for _ in 0..=program.instrs.len() * 2 + 1 {
        let Some(instr) = program.instrs.get(run.pc as usize) else {
            let status = match run.status {
                RecipientStatus::Pending
                | RecipientStatus::Scheduled
                | RecipientStatus::Sending
                    if run.sent == 0 =>
                {
                    RecipientStatus::Skipped
                }
                RecipientStatus::Pending
                | RecipientStatus::Scheduled
                | RecipientStatus::Sending => RecipientStatus::Sent,
                other => other,
            };
            let reason =
                (status == RecipientStatus::Skipped && run.reason.is_none()).then(|| Reason {
                    code: "nothing-sent".into(),
                    message: "no send step applied to this recipient".into(),
                });
            finish(run, status, reason.or(run.reason.clone()));
            return None;
        };
        match instr {
            Instr::Filter(condition) => match eval_bool(program, condition, recipient, run, env) {
                Ok(true) => run.pc += 1,
                Ok(false) => {
                    let message = format!("filtered out by `{}`", condition.source());
                    finish(
                        run,
                        RecipientStatus::Skipped,
                        Some(Reason {
                            code: "filtered".into(),
                            message,
                        }),
                    );
                    return None;
                }
                Err(reason) => {
                    finish(run, RecipientStatus::Failed, Some(reason));
                    return None;
                }
            },
            Instr::Delay(secs) => {
                run.pc += 1;
                run.phase = Phase::Sleeping {
                    until: env.now + seconds(*secs),
                };
                run.status = RecipientStatus::Scheduled;
                return None;
            }
            Instr::WaitUntil(at) => {
                run.pc += 1;
                if let Some(until) = next_local(at, env.now, env.timezone) {
                    run.phase = Phase::Sleeping { until };
                    run.status = RecipientStatus::Scheduled;
                    return None;
                }
            }
            Instr::Send(send) => match send_step(program, send, recipient, run, env) {
                SendStep::Skip => run.pc += 1,
                SendStep::Wait => return None,
                SendStep::Send(outbound) => return Some(*outbound),
            },
            Instr::WaitReply { timeout, .. } => {
                run.phase = Phase::WaitingReply {
                    until: env.now + seconds(*timeout),
                };
                return None;
            }
            Instr::Save { field, value } => match eval(program, value, recipient, run, env) {
                Ok(value) => {
                    run.vars.insert(field.clone(), dynamic_to_json(&value));
                    run.pc += 1;
                }
                Err(reason) => {
                    finish(run, RecipientStatus::Failed, Some(reason));
                    return None;
                }
            },
            Instr::JumpUnless { condition, target } => {
                match eval_bool(program, condition, recipient, run, env) {
                    Ok(true) => run.pc += 1,
                    Ok(false) => run.pc = *target,
                    Err(reason) => {
                        finish(run, RecipientStatus::Failed, Some(reason));
                        return None;
                    }
                }
            }
            Instr::Jump(target) => run.pc = *target,
            Instr::Tag(tag) => {
                if !run.tags.contains(tag) {
                    run.tags.push(tag.clone());
                }
                run.pc += 1;
            }
            Instr::Stop => run.pc = u32::try_from(program.instrs.len()).unwrap_or(u32::MAX),
        }
    }
    finish(
        run,
        RecipientStatus::Failed,
        Some(Reason {
            code: "internal".into(),
            message: "step limit exceeded".into(),
        }),
    );
    None
}

enum SendStep {
    Skip,
    Wait,
    Send(Box<Outbound>),
}

fn send_step(
    program: &Program,
    send: &SendInstr,
    recipient: &RecipientRecord,
    run: &mut RunState,
    env: &mut Env<'_>,
) -> SendStep {
    if let Some(when) = &send.when {
        match eval_bool(program, when, recipient, run, env) {
            Ok(true) => {}
            Ok(false) => return SendStep::Skip,
            Err(reason) => {
                finish(run, RecipientStatus::Failed, Some(reason));
                return SendStep::Wait;
            }
        }
    }
    if env.suppressed {
        let reason = Reason {
            code: "opted-out".into(),
            message: "the number is on the suppression list".into(),
        };
        finish(run, RecipientStatus::OptedOut, Some(reason));
        return SendStep::Wait;
    }
    let variant = &send.variants
        [choose_variant(&send.variants, &recipient.phone).min(send.variants.len() - 1)];
    let body = match variant
        .template
        .render(|name| lookup_field(name, recipient, run, env))
    {
        Ok(body) => body,
        Err(missing) => {
            finish(
                run,
                RecipientStatus::Failed,
                Some(Reason {
                    code: "missing-field".into(),
                    message: missing.to_string(),
                }),
            );
            return SendStep::Wait;
        }
    };
    let info = segment_info(&body);
    if info.chars as usize > MAX_MESSAGE_CHARS {
        let message = format!(
            "rendered message is {} characters; the limit is {MAX_MESSAGE_CHARS}",
            info.chars
        );
        finish(
            run,
            RecipientStatus::Failed,
            Some(Reason {
                code: "message-too-long".into(),
                message,
            }),
        );
        return SendStep::Wait;
    }
    let next_open = match (env.policy.next_open(env.now, env.timezone), env.list_end) {
        (NextOpen::Now, Some(end)) if env.now >= end => NextOpen::Never,
        (NextOpen::At(at), Some(end)) if at >= end => NextOpen::Never,
        (next_open, _) => next_open,
    };
    match next_open {
        NextOpen::Now => {}
        NextOpen::At(until) => {
            run.phase = Phase::Sleeping { until };
            run.status = RecipientStatus::Scheduled;
            return SendStep::Wait;
        }
        NextOpen::Never => {
            let status = if run.sent == 0 {
                RecipientStatus::Expired
            } else {
                run.status
            };
            let message = format!(
                "the campaign (or the recipient's list) ended before message `{}` could be sent",
                send.id
            );
            finish(
                run,
                status,
                Some(Reason {
                    code: "expired".into(),
                    message,
                }),
            );
            return SendStep::Wait;
        }
    }
    let cost = if env.count_segments { info.segments } else { 1 };
    if let Err(retry_at) = env
        .pacer
        .try_acquire(&[env.sender, env.account], cost, env.now)
    {
        let until = env
            .pacer
            .queue_slot(&[env.sender, env.account], cost, retry_at);
        run.phase = Phase::Sleeping { until };
        run.status = RecipientStatus::Scheduled;
        return SendStep::Wait;
    }
    run.phase = Phase::Sending;
    run.status = RecipientStatus::Sending;
    SendStep::Send(Box::new(Outbound {
        campaign: env.campaign,
        recipient: recipient.seq,
        pc: run.pc,
        attempt: run.attempt,
        try_number: run.throttles.saturating_add(1),
        step_id: send.id.clone(),
        variant: variant.id.clone(),
        provider: env.provider.to_string(),
        from: env.sender.to_string(),
        to: recipient.phone.clone(),
        body,
        media: variant.media.clone(),
        segments: info.segments,
        conversation: None,
    }))
}

/// A template field: saved values first, then the recipient's columns, then workflow variables.
fn lookup_field<'a>(
    name: &str,
    recipient: &'a RecipientRecord,
    run: &'a RunState,
    env: &Env<'a>,
) -> Option<&'a str> {
    if let Some(value) = run.vars.get(name) {
        return value.as_str();
    }
    if name == "phone" {
        return Some(&recipient.phone);
    }
    recipient
        .fields
        .get(name)
        .map(String::as_str)
        .or_else(|| env.variables.get(name).map(String::as_str))
}

fn scope<'s>(
    recipient: &RecipientRecord,
    run: &RunState,
    env: &Env<'_>,
    program_saved: &[String],
) -> Scope<'s> {
    let mut fields = rhai::Map::new();
    for (key, value) in &recipient.fields {
        fields.insert(key.as_str().into(), value.clone().into());
    }
    for name in env.declared_fields {
        fields
            .entry(name.as_str().into())
            .or_insert_with(|| "".into());
    }
    fields.insert("phone".into(), recipient.phone.clone().into());
    // What the import learnt of the number, for filters (`recipient.landline`).
    let number_type = recipient.number_type.as_deref().unwrap_or("");
    fields
        .entry("number_type".into())
        .or_insert_with(|| number_type.into());
    fields
        .entry("landline".into())
        .or_insert_with(|| matches!(number_type, "fixed_line").into());
    let mut campaign = rhai::Map::new();
    campaign.insert("id".into(), Dynamic::from(env.campaign as i64));
    let mut scope = Scope::new();
    scope.push("recipient", fields);
    scope.push("vars", env.rhai_variables.clone());
    scope.push("campaign", campaign);
    for name in program_saved {
        let value = run.vars.get(name).map_or(Dynamic::UNIT, json_to_dynamic);
        scope.push_dynamic(name.as_str(), value);
    }
    scope
}

fn eval(
    program: &Program,
    expression: &Expression,
    recipient: &RecipientRecord,
    run: &RunState,
    env: &Env<'_>,
) -> Result<Dynamic, Reason> {
    // Every name the workflow saves is in scope (`()` until saved): the expressions were
    // compiled with strict variables against that list.
    let mut scope = scope(recipient, run, env, &program.saved_names);
    env.engine
        .eval(expression, &mut scope)
        .map_err(|e| expression_error(expression, &e))
}

fn eval_bool(
    program: &Program,
    expression: &Expression,
    recipient: &RecipientRecord,
    run: &RunState,
    env: &Env<'_>,
) -> Result<bool, Reason> {
    let mut scope = scope(recipient, run, env, &program.saved_names);
    env.engine
        .eval_bool(expression, &mut scope)
        .map_err(|e| expression_error(expression, &e))
}

fn expression_error(expression: &Expression, error: &EvalError) -> Reason {
    Reason {
        code: "expression-error".into(),
        message: format!("`{}`: {error}", expression.source()),
    }
}

/// The next instant (after `now`) when the recipient's clock shows `at`.
fn next_local(at: &WaitUntilAt, now: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
    let time = at.time.to_naive().unwrap_or(chrono::NaiveTime::MIN);
    let today = now.with_timezone(&tz).date_naive();
    if let Some(date) = at.date {
        let instant = crate::send_window::local_to_utc(tz, date, time);
        return (instant > now).then_some(instant);
    }
    (0..=8).find_map(|offset| {
        let date: NaiveDate = today.checked_add_days(chrono::Days::new(offset))?;
        if let Some(weekday) = at.weekday
            && date.weekday() != weekday.to_chrono()
        {
            return None;
        }
        let instant = crate::send_window::local_to_utc(tz, date, time);
        (instant > now).then_some(instant)
    })
}
