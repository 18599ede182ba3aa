//! The runtime driver: loads campaigns from the store, moves them through their lifecycle,
//! wakes due recipients, commits their transitions in groups, calls the provider after the
//! commit, and records the answers.
//!
//! Crash safety, in order: (1) a batch of transitions — with the send intents — is committed
//! and flushed; (2) only then is the provider called; (3) the answers are committed. A crash
//! between (1) and (3) leaves intents in the outbox; [`Runtime::open`] reconciles each by
//! provider lookup where the provider supports it, or marks it `unknown` — never re-sends it
//! blind.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use switchboard_model::Workflow;
use switchboard_model::campaign::{CampaignWorkflow, PoolStrategy, RateUnit, Sender};
use switchboard_model::check::DEFAULT_ALLOWED_HOURS;
use switchboard_model::expr::ExprEngine;
use switchboard_model::timezone::Timezone;
use switchboard_model::window::TimeRange;

use crate::clock::Clock;
use crate::executor::{Env, Event, apply};
use crate::lifecycle::{CampaignState, IllegalTransition, LifecycleAction, transition};
use crate::pacing::{Limits, Pacer, sticky_index};
use crate::program::{CompileError, Program};
use crate::provider::{Lookup, Provider, SendOutcome};
use crate::records::{
    CampaignId, CampaignRecord, MessageRecord, MessageStatus, Outbound, Phase, Reason,
    RecipientRecord, RecipientSeq, RecipientStatus, RunState,
};
use crate::send_window::SendPolicy;
use crate::store::{Changes, Store, StoreError};

/// A runtime operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The workflow text is not a valid campaign workflow.
    #[error("workflow is invalid: {0}")]
    InvalidWorkflow(String),
    /// The workflow did not compile.
    #[error(transparent)]
    Compile(#[from] CompileError),
    /// No such campaign.
    #[error("no campaign {0}")]
    NoCampaign(CampaignId),
    /// The lifecycle forbids the action.
    #[error("campaign {campaign}: {source}")]
    Lifecycle {
        /// Which campaign.
        campaign: CampaignId,
        /// Why.
        source: IllegalTransition,
    },
    /// The campaign cannot start without an opt-in acknowledgment.
    #[error("campaign {0} cannot start: its workflow has no `consent: {{ acknowledged: true }}`")]
    NoConsent(CampaignId),
}

/// Runtime settings from the daemon's config.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Global allowed hours, recipient local time (quiet hours are outside).
    pub allowed_hours: TimeRange,
    /// Timezone of recipients whose campaign has no window default and no timezone field.
    pub default_timezone: Tz,
    /// Recipients woken per campaign per tick: the group-commit size.
    pub batch_size: usize,
    /// Rate limits per provider account (provider instance name), on top of each sender's.
    pub account_limits: BTreeMap<String, Limits>,
    /// Provider calls made at once (for different sender numbers).
    pub send_concurrency: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            allowed_hours: DEFAULT_ALLOWED_HOURS,
            default_timezone: Tz::UTC,
            batch_size: 2_000,
            account_limits: BTreeMap::new(),
            send_concurrency: 8,
        }
    }
}

/// A running campaign's compiled pieces.
#[derive(Debug)]
struct Loaded {
    record: CampaignRecord,
    program: Arc<Program>,
    policy: SendPolicy,
    senders: Vec<String>,
    strategy: PoolStrategy,
    round_robin: usize,
    account: String,
    count_segments: bool,
    timezone_field: String,
    default_timezone: Tz,
    variables: BTreeMap<String, String>,
    declared_fields: Vec<String>,
}

impl Loaded {
    /// A recipient's timezone: their field when it names a valid zone, else the default.
    fn timezone_of(&self, recipient: &RecipientRecord) -> Tz {
        recipient
            .fields
            .get(&self.timezone_field)
            .and_then(|name| name.parse::<Timezone>().ok())
            .map_or(self.default_timezone, |tz| tz.0)
    }
}

/// What one [`Runtime::tick`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TickReport {
    /// Recipients whose run was advanced.
    pub woken: usize,
    /// Provider calls made.
    pub sends: usize,
}

/// The campaign runtime.
#[derive(Debug)]
pub struct Runtime {
    store: Store,
    clock: Arc<dyn Clock>,
    provider: Arc<dyn Provider>,
    engine: ExprEngine,
    config: RuntimeConfig,
    pacer: Pacer,
    campaigns: BTreeMap<CampaignId, Loaded>,
}

/// Parses and compiles a campaign workflow text.
fn compile_campaign(
    engine: &ExprEngine,
    source: &str,
) -> Result<(Arc<CampaignWorkflow>, Program), RuntimeError> {
    let report = switchboard_model::load_source("workflow", source);
    let workflow = match report.workflow {
        Some(Workflow::Campaign(campaign)) => Arc::new(*campaign),
        Some(Workflow::Conversation(_)) => {
            return Err(RuntimeError::InvalidWorkflow(
                "a conversation workflow cannot run as a campaign".into(),
            ));
        }
        None => {
            let errors: Vec<String> = report.errors().map(ToString::to_string).collect();
            return Err(RuntimeError::InvalidWorkflow(errors.join("; ")));
        }
    };
    let program = Program::compile(engine, workflow.clone())?;
    Ok((workflow, program))
}

impl Runtime {
    /// Opens the runtime on a store: loads every campaign and reconciles interrupted sends.
    pub fn open(
        store: Store,
        clock: Arc<dyn Clock>,
        provider: Arc<dyn Provider>,
        config: RuntimeConfig,
    ) -> Result<Self, RuntimeError> {
        let mut runtime = Self {
            store,
            clock,
            provider,
            engine: ExprEngine::new(),
            config,
            pacer: Pacer::new(),
            campaigns: BTreeMap::new(),
        };
        for record in runtime.store.campaigns()? {
            runtime.load(record)?;
        }
        runtime.restore_pacing()?;
        runtime.reconcile()?;
        Ok(runtime)
    }

    /// Rebuilds the rate limiters from today's sends, so a restart does not reset a sender's
    /// per-minute or per-day budget.
    fn restore_pacing(&mut self) -> Result<(), RuntimeError> {
        let now = self.clock.now();
        let since = now
            .date_naive()
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
            .min(now - chrono::TimeDelta::minutes(1));
        let mut sent: Vec<(DateTime<Utc>, String, String, u32)> = Vec::new();
        for loaded in self.campaigns.values() {
            if matches!(
                loaded.record.state,
                CampaignState::Draft | CampaignState::Archived
            ) {
                continue;
            }
            let id = loaded.record.id;
            let answered = self
                .store
                .messages(id)
                .filter_map(Result::ok)
                .filter(|m| m.status != MessageStatus::Failed);
            let pending = self
                .store
                .pending_intents()?
                .into_iter()
                .filter(|m| m.outbound.campaign == id);
            for message in answered.chain(pending).filter(|m| m.created_at >= since) {
                let cost = if loaded.count_segments {
                    message.outbound.segments
                } else {
                    1
                };
                sent.push((
                    message.created_at,
                    message.outbound.from,
                    loaded.account.clone(),
                    cost,
                ));
            }
        }
        sent.sort();
        for (at, sender, account, cost) in sent {
            // Replayed in time order; a refusal just means the budget was already spent.
            let _ = self.pacer.try_acquire(&[&sender, &account], cost, at);
        }
        Ok(())
    }

    fn load(&mut self, record: CampaignRecord) -> Result<(), RuntimeError> {
        let (workflow, program) = compile_campaign(&self.engine, &record.workflow_source)?;
        let policy = SendPolicy::new(
            workflow.window.as_ref(),
            workflow.quiet_hours.as_ref(),
            self.config.allowed_hours,
        );
        let (senders, strategy) = match &workflow.sender {
            Sender::Number(number) => (vec![number.to_string()], PoolStrategy::Sticky),
            Sender::Pool(pool) => (
                pool.pool.iter().map(ToString::to_string).collect(),
                pool.strategy,
            ),
        };
        if let Some(rate) = &workflow.rate {
            for sender in &senders {
                self.pacer.set_limits(
                    sender,
                    Limits {
                        per_second: rate.per_second,
                        per_minute: rate.per_minute,
                        per_day: rate.per_day,
                    },
                );
            }
        }
        if let Some(limits) = self.config.account_limits.get(&workflow.provider) {
            self.pacer
                .set_limits(&format!("account:{}", workflow.provider), *limits);
        }
        let (timezone_field, default_timezone) = match &workflow.window {
            Some(window) => (window.timezone.field.clone(), window.timezone.default.0),
            None => ("timezone".to_string(), self.config.default_timezone),
        };
        let loaded = Loaded {
            program: Arc::new(program),
            policy,
            senders,
            strategy,
            round_robin: 0,
            account: format!("account:{}", workflow.provider),
            count_segments: workflow
                .rate
                .as_ref()
                .is_some_and(|r| r.unit == RateUnit::Segments),
            timezone_field,
            default_timezone,
            variables: workflow
                .variables
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
            declared_fields: workflow
                .fields
                .iter()
                .flat_map(|fields| fields.keys().cloned())
                .collect(),
            record,
        };
        self.campaigns.insert(loaded.record.id, loaded);
        Ok(())
    }

    /// The store (read access for status queries).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Creates a draft campaign from a workflow text and its recipients.
    pub fn create_campaign(
        &mut self,
        name: &str,
        workflow_source: &str,
        recipients: impl IntoIterator<Item = (String, BTreeMap<String, String>)>,
    ) -> Result<CampaignId, RuntimeError> {
        let (workflow, _) = compile_campaign(&self.engine, workflow_source)?;
        let id = self.store.generate_id()?;
        let mut record = CampaignRecord {
            id,
            name: name.to_string(),
            workflow_id: workflow.id.clone(),
            workflow_source: workflow_source.to_string(),
            state: CampaignState::Draft,
            created_at: self.clock.now(),
            scheduled_at: None,
            started_at: None,
            recipients: 0,
        };
        // Streamed in chunks: memory stays flat whatever the list size.
        let mut changes = Changes::new();
        for (seq, (phone, fields)) in recipients.into_iter().enumerate() {
            changes.add_recipient(
                id,
                &RecipientRecord {
                    seq: seq as u64,
                    phone,
                    fields,
                },
            );
            record.recipients += 1;
            if record.recipients.is_multiple_of(10_000) {
                self.store.commit(std::mem::take(&mut changes))?;
            }
        }
        // The campaign appears only once all its recipients are in.
        changes.put_campaign(&record);
        self.store.commit(changes)?;
        self.store.flush()?;
        self.load(record)?;
        Ok(id)
    }

    fn loaded(&mut self, id: CampaignId) -> Result<&mut Loaded, RuntimeError> {
        self.campaigns
            .get_mut(&id)
            .ok_or(RuntimeError::NoCampaign(id))
    }

    fn set_state(
        &mut self,
        id: CampaignId,
        action: LifecycleAction,
        changes: &mut Changes,
    ) -> Result<CampaignState, RuntimeError> {
        let now = self.clock.now();
        let loaded = self.loaded(id)?;
        let next =
            transition(loaded.record.state, action).map_err(|source| RuntimeError::Lifecycle {
                campaign: id,
                source,
            })?;
        loaded.record.state = next;
        if next == CampaignState::Sending && loaded.record.started_at.is_none() {
            loaded.record.started_at = Some(now);
        }
        changes.put_campaign(&loaded.record);
        Ok(next)
    }

    /// Starts a campaign now: every recipient is woken.
    pub fn start(&mut self, id: CampaignId) -> Result<(), RuntimeError> {
        let consented = {
            let loaded = self.loaded(id)?;
            loaded
                .program
                .workflow
                .consent
                .as_ref()
                .is_some_and(|c| c.acknowledged)
        };
        if !consented {
            return Err(RuntimeError::NoConsent(id));
        }
        let mut changes = Changes::new();
        self.set_state(id, LifecycleAction::Start, &mut changes)?;
        let now = self.clock.now();
        let seqs: Vec<RecipientSeq> = self
            .store
            .runs(id)
            .filter_map(Result::ok)
            .filter(|(_, run)| !run.is_done())
            .map(|(seq, _)| seq)
            .collect();
        self.store.commit(changes)?;
        self.wake_all(id, &seqs, now)
    }

    fn wake_all(
        &mut self,
        id: CampaignId,
        seqs: &[RecipientSeq],
        at: DateTime<Utc>,
    ) -> Result<(), RuntimeError> {
        for chunk in seqs.chunks(10_000) {
            let mut changes = Changes::new();
            for seq in chunk {
                changes.wake(id, *seq, at);
            }
            self.store.commit(changes)?;
        }
        self.store.flush()?;
        Ok(())
    }

    /// Applies a lifecycle action that needs no per-recipient work (pause, resume, archive).
    pub fn act(
        &mut self,
        id: CampaignId,
        action: LifecycleAction,
    ) -> Result<CampaignState, RuntimeError> {
        match action {
            LifecycleAction::Start => {
                self.start(id)?;
                return Ok(CampaignState::Sending);
            }
            LifecycleAction::Stop => return self.stop(id),
            LifecycleAction::Restart => return self.restart(id),
            LifecycleAction::RetryFailed => return self.retry_failed(id),
            _ => {}
        }
        let mut changes = Changes::new();
        let state = self.set_state(id, action, &mut changes)?;
        self.store.commit(changes)?;
        self.store.flush()?;
        Ok(state)
    }

    /// Stops a campaign: every pending wake-up is cancelled (unsent messages will not go out).
    pub fn stop(&mut self, id: CampaignId) -> Result<CampaignState, RuntimeError> {
        let mut changes = Changes::new();
        let state = self.set_state(id, LifecycleAction::Stop, &mut changes)?;
        for (due, seq) in self.store.due(id, DateTime::<Utc>::MAX_UTC, usize::MAX)? {
            changes.unwake(id, seq, due);
        }
        self.store.commit(changes)?;
        self.store.flush()?;
        Ok(state)
    }

    /// Restarts a stopped campaign: the schedule of every unfinished recipient is rebuilt.
    pub fn restart(&mut self, id: CampaignId) -> Result<CampaignState, RuntimeError> {
        let mut changes = Changes::new();
        let state = self.set_state(id, LifecycleAction::Restart, &mut changes)?;
        let now = self.clock.now();
        for entry in self.store.runs(id) {
            let (seq, run) = entry?;
            match run.phase {
                Phase::Done | Phase::Sending => {}
                _ => changes.wake(id, seq, run.wake_at().unwrap_or(now).max(now)),
            }
        }
        self.store.commit(changes)?;
        self.store.flush()?;
        Ok(state)
    }

    /// Re-sends the failed messages of a finished campaign: failed recipients resume at the
    /// step that failed, with a fresh attempt count.
    pub fn retry_failed(&mut self, id: CampaignId) -> Result<CampaignState, RuntimeError> {
        let mut changes = Changes::new();
        let state = self.set_state(id, LifecycleAction::RetryFailed, &mut changes)?;
        let now = self.clock.now();
        for entry in self.store.runs(id) {
            let (seq, run) = entry?;
            if run.status != RecipientStatus::Failed
                || run.reason.as_ref().is_some_and(|r| r.code == "filtered")
            {
                continue;
            }
            let Some(recipient) = self.store.recipient(id, seq)? else {
                continue;
            };
            let mut retried = run.clone();
            retried.phase = Phase::Sleeping { until: now };
            retried.attempt = 0;
            retried.status = RecipientStatus::Scheduled;
            retried.reason = None;
            changes.put_run(id, seq, &recipient.phone, &run, &retried);
        }
        self.store.commit(changes)?;
        self.store.flush()?;
        Ok(state)
    }

    /// Schedules a draft (or re-schedules a scheduled) campaign to start at `at`.
    pub fn schedule(&mut self, id: CampaignId, at: DateTime<Utc>) -> Result<(), RuntimeError> {
        if !self
            .loaded(id)?
            .program
            .workflow
            .consent
            .as_ref()
            .is_some_and(|c| c.acknowledged)
        {
            return Err(RuntimeError::NoConsent(id));
        }
        let mut changes = Changes::new();
        self.set_state(id, LifecycleAction::Schedule, &mut changes)?;
        let loaded = self.loaded(id)?;
        loaded.record.scheduled_at = Some(at);
        changes.put_campaign(&loaded.record);
        self.store.commit(changes)?;
        self.store.flush()?;
        Ok(())
    }

    /// Edits a draft: its name, and/or the workflow text it will run.
    pub fn edit(
        &mut self,
        id: CampaignId,
        name: Option<&str>,
        workflow_source: Option<&str>,
    ) -> Result<(), RuntimeError> {
        let mut record = self.loaded(id)?.record.clone();
        transition(record.state, LifecycleAction::Edit).map_err(|source| {
            RuntimeError::Lifecycle {
                campaign: id,
                source,
            }
        })?;
        if let Some(source) = workflow_source {
            let (workflow, _) = compile_campaign(&self.engine, source)?;
            record.workflow_id = workflow.id.clone();
            record.workflow_source = source.to_string();
        }
        if let Some(name) = name {
            record.name = name.to_string();
        }
        let mut changes = Changes::new();
        changes.put_campaign(&record);
        self.store.commit(changes)?;
        self.store.flush()?;
        self.load(record)
    }

    /// A new draft with the same workflow and recipients (fresh runs, no messages).
    pub fn duplicate(&mut self, id: CampaignId, name: &str) -> Result<CampaignId, RuntimeError> {
        let source = self.loaded(id)?.record.workflow_source.clone();
        let mut recipients = Vec::new();
        for entry in self.store.runs(id) {
            let (seq, _) = entry?;
            if let Some(recipient) = self.store.recipient(id, seq)? {
                recipients.push((recipient.phone, recipient.fields));
            }
        }
        self.create_campaign(name, &source, recipients)
    }

    /// Deletes a campaign that is not running, with all its data.
    pub fn delete(&mut self, id: CampaignId) -> Result<(), RuntimeError> {
        let state = self.loaded(id)?.record.state;
        transition(state, LifecycleAction::Delete).map_err(|source| RuntimeError::Lifecycle {
            campaign: id,
            source,
        })?;
        let mut waiting = Vec::new();
        for entry in self.store.runs(id) {
            let (seq, run) = entry?;
            if matches!(run.phase, Phase::WaitingReply { .. })
                && let Some(recipient) = self.store.recipient(id, seq)?
            {
                waiting.push(recipient.phone);
            }
        }
        self.store.delete_campaign(id, &waiting)?;
        self.campaigns.remove(&id);
        Ok(())
    }

    /// Ids of campaigns currently sending.
    fn running(&self) -> Vec<CampaignId> {
        self.campaigns
            .values()
            .filter(|c| c.record.state.is_running())
            .map(|c| c.record.id)
            .collect()
    }

    /// The earliest wake-up among running campaigns.
    pub fn next_wake(&self) -> Result<Option<DateTime<Utc>>, RuntimeError> {
        let mut earliest: Option<DateTime<Utc>> = self
            .campaigns
            .values()
            .filter(|c| c.record.state == CampaignState::Scheduled)
            .filter_map(|c| c.record.scheduled_at)
            .min();
        for id in self.running() {
            if let Some(at) = self.store.next_wake(id)? {
                earliest = Some(earliest.map_or(at, |e| e.min(at)));
            }
        }
        Ok(earliest)
    }

    /// Does the work that is due now: one batch per running campaign.
    pub fn tick(&mut self) -> Result<TickReport, RuntimeError> {
        let now = self.clock.now();
        let mut report = TickReport::default();
        let due_to_start: Vec<CampaignId> = self
            .campaigns
            .values()
            .filter(|c| {
                c.record.state == CampaignState::Scheduled
                    && c.record.scheduled_at.is_some_and(|at| at <= now)
            })
            .map(|c| c.record.id)
            .collect();
        for id in due_to_start {
            self.start(id)?;
            report.woken += 1;
        }
        for id in self.running() {
            let due = self.store.due(id, now, self.config.batch_size)?;
            if due.is_empty() {
                self.complete_if_done(id)?;
                continue;
            }
            let events: Vec<(RecipientSeq, Event, Option<DateTime<Utc>>)> = due
                .into_iter()
                .map(|(at, seq)| (seq, Event::Wake, Some(at)))
                .collect();
            let (woken, sends) = self.process(id, events)?;
            report.woken += woken;
            report.sends += sends;
        }
        Ok(report)
    }

    /// A reply from `phone`: resumes every recipient waiting for one from that number.
    pub fn deliver_reply(&mut self, phone: &str, text: &str) -> Result<usize, RuntimeError> {
        let mut resumed = 0;
        for (campaign, seq) in self.store.waiters_for(phone)? {
            if self
                .campaigns
                .get(&campaign)
                .is_some_and(|c| c.record.state.is_running())
            {
                self.process(campaign, vec![(seq, Event::Reply(text.to_string()), None)])?;
                resumed += 1;
            }
        }
        Ok(resumed)
    }

    /// Applies events to runs of one campaign with group commit, then performs the sends.
    fn process(
        &mut self,
        id: CampaignId,
        events: Vec<(RecipientSeq, Event, Option<DateTime<Utc>>)>,
    ) -> Result<(usize, usize), RuntimeError> {
        let now = self.clock.now();
        let mut cache: HashMap<RecipientSeq, (RecipientRecord, RunState)> = HashMap::new();
        let mut changes = Changes::new();
        let mut sends: Vec<MessageRecord> = Vec::new();
        let woken = events.len();
        for (seq, event, timer) in events {
            if let Some(at) = timer {
                changes.unwake(id, seq, at);
            }
            let (Some(recipient), Some(run)) =
                (self.store.recipient(id, seq)?, self.store.run(id, seq)?)
            else {
                continue;
            };
            let mut next = run.clone();
            if let Some(outbound) = self.step(id, &recipient, &mut next, event, now, None)? {
                let intent = intent(outbound, now);
                changes.record_intent(&intent);
                sends.push(intent);
            }
            changes.put_run(id, seq, &recipient.phone, &run, &next);
            if timer.is_some() && next.wake_at() == timer {
                // The fired timer was removed above but the run still sleeps until then
                // (nothing to do yet): keep it.
                if let Some(at) = timer {
                    changes.wake(id, seq, at);
                }
            }
            cache.insert(seq, (recipient, next));
        }
        // (1) transitions and intents, durable before any provider call.
        self.store.commit(changes)?;
        let mut total_sends = 0;
        while !sends.is_empty() {
            total_sends += sends.len();
            // (2) the provider.
            let answers = send_all(
                self.provider.as_ref(),
                std::mem::take(&mut sends),
                self.config.send_concurrency,
            );
            // (3) the answers, and whatever the runs do next (maybe another message at once).
            let now = self.clock.now();
            let mut changes = Changes::new();
            for (sent, outcome) in answers {
                changes.record_result(&answered(&sent, &outcome, now));
                let outbound = sent.outbound;
                let Some((recipient, run)) = cache.get(&outbound.recipient).cloned() else {
                    continue;
                };
                let mut next = run.clone();
                if let Some(more) = self.step(
                    id,
                    &recipient,
                    &mut next,
                    Event::SendResult(outcome),
                    now,
                    Some(&outbound.from),
                )? {
                    let next_intent = intent(more, now);
                    changes.record_intent(&next_intent);
                    sends.push(next_intent);
                }
                changes.put_run(id, outbound.recipient, &recipient.phone, &run, &next);
                cache.insert(outbound.recipient, (recipient, next));
            }
            self.store.commit(changes)?;
        }
        Ok((woken, total_sends))
    }

    /// The timezone a recipient's local times are in (their field, else the campaign's default).
    pub fn recipient_timezone(&self, campaign: CampaignId, recipient: &RecipientRecord) -> Tz {
        self.campaigns
            .get(&campaign)
            .map_or(self.config.default_timezone, |loaded| {
                loaded.timezone_of(recipient)
            })
    }

    fn step(
        &mut self,
        id: CampaignId,
        recipient: &RecipientRecord,
        run: &mut RunState,
        event: Event,
        now: DateTime<Utc>,
        answered_from: Option<&str>,
    ) -> Result<Option<Outbound>, RuntimeError> {
        let suppressed = self.store.is_suppressed(&recipient.phone)?;
        let loaded = self
            .campaigns
            .get_mut(&id)
            .ok_or(RuntimeError::NoCampaign(id))?;
        // An answer concerns the number the message went from (a throttle is that number's).
        let sender = match answered_from {
            Some(from) => from.to_string(),
            None => {
                let index = match loaded.strategy {
                    PoolStrategy::Sticky => sticky_index(&recipient.phone, loaded.senders.len()),
                    PoolStrategy::RoundRobin => {
                        loaded.round_robin = loaded.round_robin.wrapping_add(1);
                        loaded.round_robin % loaded.senders.len().max(1)
                    }
                };
                loaded.senders.get(index).cloned().unwrap_or_default()
            }
        };
        let timezone = loaded.timezone_of(recipient);
        let loaded = &*loaded;
        let mut env = Env {
            now,
            campaign: id,
            engine: &self.engine,
            policy: &loaded.policy,
            pacer: &mut self.pacer,
            timezone,
            sender: &sender,
            account: &loaded.account,
            count_segments: loaded.count_segments,
            suppressed,
            variables: &loaded.variables,
            declared_fields: &loaded.declared_fields,
        };
        Ok(apply(&loaded.program, recipient, run, event, &mut env))
    }

    fn complete_if_done(&mut self, id: CampaignId) -> Result<(), RuntimeError> {
        if self.store.next_wake(id)?.is_some() {
            return Ok(());
        }
        let unfinished = self
            .store
            .runs(id)
            .filter_map(Result::ok)
            .any(|(_, run)| !run.is_done());
        if !unfinished {
            let mut changes = Changes::new();
            self.set_state(id, LifecycleAction::Complete, &mut changes)?;
            self.store.commit(changes)?;
            self.store.flush()?;
        }
        Ok(())
    }

    /// Runs until nothing is due before `until`, moving a manual clock from wake-up to
    /// wake-up with `advance` (tests and `simulate`).
    pub fn run_until(
        &mut self,
        until: DateTime<Utc>,
        mut advance: impl FnMut(DateTime<Utc>),
    ) -> Result<(), RuntimeError> {
        loop {
            let report = self.tick()?;
            if report.woken > 0 {
                continue;
            }
            match self.next_wake()? {
                Some(at) if at <= until => advance(at.max(self.clock.now())),
                _ => {
                    // One more tick lets finished campaigns complete.
                    self.tick()?;
                    return Ok(());
                }
            }
        }
    }

    /// The campaign record.
    pub fn campaign(&self, id: CampaignId) -> Option<&CampaignRecord> {
        self.campaigns.get(&id).map(|c| &c.record)
    }

    /// Intents left from before a crash: confirmed by provider lookup, or marked unknown.
    fn reconcile(&mut self) -> Result<(), RuntimeError> {
        let now = self.clock.now();
        for pending in self.store.pending_intents()? {
            let outbound = &pending.outbound;
            let id = outbound.campaign;
            let (Some(recipient), Some(run)) = (
                self.store.recipient(id, outbound.recipient)?,
                self.store.run(id, outbound.recipient)?,
            ) else {
                continue;
            };
            let mut changes = Changes::new();
            let mut next = run.clone();
            match self.provider.lookup(&outbound.idempotency_key()) {
                Some(Lookup::Found { provider_id }) => {
                    changes.record_result(&answered(
                        &pending,
                        &SendOutcome::Accepted { provider_id },
                        now,
                    ));
                    // The answer arrived after all: continue with the next step at the next tick.
                    next.sent += 1;
                    next.status = RecipientStatus::Sent;
                    next.attempt = 0;
                    next.pc += 1;
                    next.phase = Phase::Sleeping { until: now };
                }
                Some(Lookup::NotFound) => {
                    // The provider never got it: retry as a new attempt (a new idempotency key).
                    let mut message = answered(&pending, &SendOutcome::Transient { code: "interrupted".into(), message: "interrupted by a restart before the provider answered; the provider has no record of it".into() }, now);
                    message.status = MessageStatus::Failed;
                    changes.record_result(&message);
                    next.attempt += 1;
                    next.phase = Phase::Sleeping { until: now };
                    next.status = RecipientStatus::Scheduled;
                }
                None => {
                    let mut message = answered(
                        &pending,
                        &SendOutcome::Transient {
                            code: "unknown".into(),
                            message: String::new(),
                        },
                        now,
                    );
                    message.status = MessageStatus::Unknown;
                    message.error = Some(Reason { code: "unknown".into(), message: "interrupted by a restart before the provider answered; it may or may not have been sent".into() });
                    changes.record_result(&message);
                    next.phase = Phase::Done;
                    next.status = RecipientStatus::Unknown;
                    next.reason = message.error.clone();
                }
            }
            changes.put_run(id, outbound.recipient, &recipient.phone, &run, &next);
            self.store.commit(changes)?;
        }
        self.store.flush()?;
        Ok(())
    }
}

/// Calls the provider for every intent. Messages from different sender numbers go out
/// concurrently (each number has its own rate limit); one number's messages keep their order.
fn send_all(
    provider: &dyn Provider,
    intents: Vec<MessageRecord>,
    concurrency: usize,
) -> Vec<(MessageRecord, SendOutcome)> {
    let mut by_sender: BTreeMap<String, Vec<MessageRecord>> = BTreeMap::new();
    for intent in intents {
        by_sender
            .entry(intent.outbound.from.clone())
            .or_default()
            .push(intent);
    }
    let send_group = |group: Vec<MessageRecord>| -> Vec<(MessageRecord, SendOutcome)> {
        group
            .into_iter()
            .map(|intent| {
                let outcome = provider.send(&intent.outbound);
                (intent, outcome)
            })
            .collect()
    };
    if by_sender.len() < 2 || concurrency < 2 {
        return by_sender.into_values().flat_map(send_group).collect();
    }
    // Deal the sender groups out to at most `concurrency` workers.
    let mut lanes: Vec<Vec<Vec<MessageRecord>>> = (0..concurrency.min(by_sender.len()))
        .map(|_| Vec::new())
        .collect();
    let lane_count = lanes.len();
    for (index, group) in by_sender.into_values().enumerate() {
        lanes[index % lane_count].push(group);
    }
    std::thread::scope(|scope| {
        let workers: Vec<_> = lanes
            .into_iter()
            .map(|lane| {
                scope.spawn(move || lane.into_iter().flat_map(send_group).collect::<Vec<_>>())
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| match worker.join() {
                Ok(answers) => answers,
                // A provider that panics takes the whole engine down, as an in-line call would:
                // the intents are durable, so the restart reconciles them.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

/// A send intent, recorded before the provider call.
fn intent(outbound: Outbound, now: DateTime<Utc>) -> MessageRecord {
    MessageRecord {
        outbound,
        status: MessageStatus::Sending,
        provider_id: None,
        error: None,
        created_at: now,
        answered_at: None,
    }
}

/// The intent with the provider's answer.
fn answered(intent: &MessageRecord, outcome: &SendOutcome, now: DateTime<Utc>) -> MessageRecord {
    let (status, provider_id, error) = match outcome {
        SendOutcome::Accepted { provider_id } => {
            (MessageStatus::Sent, Some(provider_id.clone()), None)
        }
        SendOutcome::Transient { code, message } | SendOutcome::Permanent { code, message } => (
            MessageStatus::Failed,
            None,
            Some(Reason {
                code: code.clone(),
                message: message.clone(),
            }),
        ),
        SendOutcome::Throttled { code, retry_after } => (
            MessageStatus::Failed,
            None,
            Some(Reason {
                code: code.clone(),
                message: format!("throttled; retry after {}s", retry_after.as_secs()),
            }),
        ),
    };
    MessageRecord {
        outbound: intent.outbound.clone(),
        status,
        provider_id,
        error,
        created_at: intent.created_at,
        answered_at: Some(now),
    }
}
