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
use switchboard_model::expr::{ExprEngine, variable_to_dynamic};
use switchboard_model::timezone::Timezone;
use switchboard_model::window::TimeRange;

use switchboard_guidance::flow::FlowSet;

use crate::clock::Clock;
use crate::dispatch::{answered, intent, send_all};
use crate::events::Observer;
use crate::executor::{Env, Event, apply};
use crate::lifecycle::{CampaignState, IllegalTransition, LifecycleAction};
use crate::pacing::{Limits, Pacer, RoundRobin, sticky_index};
use crate::program::{CompileError, Program};
use crate::provider::Provider;
use crate::records::{
    CampaignId, CampaignRecord, ListId, ListRecord, ListState, MessageRecord, Outbound,
    RecipientRecord, RecipientSeq, RunState,
};
use crate::send_window::SendPolicy;
use crate::stats;
use crate::store::{Changes, Store, StoreError, same_timer};

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
    /// A list import was refused or stopped.
    #[error(transparent)]
    List(#[from] crate::lists::ListImportError),
    /// No such conversation.
    #[error("no conversation {0}")]
    NoConversation(u64),
    /// The contact opted out: nothing may be sent to them.
    #[error("{0} opted out: no message may be sent to this number")]
    OptedOut(String),
    /// Another agent has the conversation.
    #[error("conversation {conversation} is assigned to {assignee}")]
    AssignedToOther {
        /// Which conversation.
        conversation: u64,
        /// Who has it.
        assignee: String,
    },
    /// A caller's value is unusable (empty text, empty agent name).
    #[error("{0}")]
    InvalidInput(String),
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
    /// Recipients woken per campaign per tick, and rows per list-import transaction: the
    /// group-commit size.
    pub batch_size: usize,
    /// Rate limits per provider account (provider instance name), on top of each sender's.
    pub account_limits: BTreeMap<String, Limits>,
    /// Provider calls made at once (for different sender numbers).
    pub send_concurrency: usize,
    /// Reconcile sends interrupted by a crash when the store opens. Off for tools that open
    /// the store without the real provider (importing a list): the interrupted sends then
    /// wait in the outbox for the daemon, whose provider can look them up.
    pub reconcile_on_open: bool,
    /// Opt-out keywords and compliance answers.
    pub compliance: crate::conversation::ComplianceConfig,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            allowed_hours: DEFAULT_ALLOWED_HOURS,
            default_timezone: Tz::UTC,
            batch_size: 2_000,
            account_limits: BTreeMap::new(),
            send_concurrency: 8,
            reconcile_on_open: true,
            compliance: crate::conversation::ComplianceConfig::default(),
        }
    }
}

/// A running campaign's compiled pieces.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) record: CampaignRecord,
    pub(crate) program: Arc<Program>,
    pub(crate) policy: SendPolicy,
    pub(crate) senders: Vec<String>,
    pub(crate) strategy: PoolStrategy,
    pub(crate) round_robin: RoundRobin,
    /// The provider instance the workflow names.
    pub(crate) provider: String,
    pub(crate) account: String,
    pub(crate) count_segments: bool,
    pub(crate) timezone_field: String,
    pub(crate) default_timezone: Tz,
    pub(crate) variables: BTreeMap<String, String>,
    /// The same, typed, for expressions (built once: every expression's scope shares it).
    pub(crate) rhai_variables: rhai::Map,
    pub(crate) declared_fields: Vec<String>,
    /// The outreach end of each list that has one.
    pub(crate) list_ends: HashMap<ListId, DateTime<Utc>>,
}

impl Loaded {
    /// A recipient's timezone: their field when it names a valid zone, else the zone their
    /// import resolved (column, number's region, list default), else the campaign's default.
    fn timezone_of(&self, recipient: &RecipientRecord) -> Tz {
        let valid = |name: &String| name.parse::<Timezone>().ok();
        recipient
            .fields
            .get(&self.timezone_field)
            .and_then(valid)
            .or_else(|| recipient.timezone.as_ref().and_then(valid))
            .map_or(self.default_timezone, |tz| tz.0)
    }

    /// Remembers what the runtime needs of a ready list (its end).
    pub(crate) fn note_list(&mut self, list: &ListRecord) {
        match list.end {
            Some(end) => self.list_ends.insert(list.id, end),
            None => self.list_ends.remove(&list.id),
        };
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
    pub(crate) store: Store,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) provider: Arc<dyn Provider>,
    pub(crate) engine: ExprEngine,
    pub(crate) config: RuntimeConfig,
    pub(crate) pacer: Pacer,
    pub(crate) campaigns: BTreeMap<CampaignId, Loaded>,
    /// Who hears about what was committed ([`crate::events`]); none by default.
    pub(crate) observer: Option<Arc<dyn Observer>>,
    /// The conversation workflows that run on inbound messages.
    pub(crate) flows: Arc<FlowSet>,
}

/// The pacing key of a provider account (instance): its limits apply to every send through it,
/// on top of each sender number's.
pub(crate) fn account_key(provider: &str) -> String {
    format!("account:{provider}")
}

/// Parses and compiles a campaign workflow text.
pub(crate) fn compile_campaign(
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
            observer: None,
            flows: Arc::new(FlowSet::new()),
        };
        // Account limits hold for every send through the account, a conversation reply
        // included, not only once a campaign naming it is loaded.
        for (provider, limits) in &runtime.config.account_limits {
            runtime.pacer.set_limits(&account_key(provider), *limits);
        }
        for record in runtime.store.campaigns()? {
            runtime.load(record)?;
        }
        runtime.recover_lists()?;
        if runtime.config.reconcile_on_open {
            // The outbox is read once: what was in flight counts against today's budgets, and
            // is then reconciled.
            let pending = runtime.store.pending_intents()?;
            runtime.restore_pacing(&pending)?;
            runtime.reconcile(pending)?;
        }
        Ok(runtime)
    }

    pub(crate) fn load(&mut self, record: CampaignRecord) -> Result<(), RuntimeError> {
        let compiled = compile_campaign(&self.engine, &record.workflow_source)?;
        self.load_compiled(record, compiled)
    }

    /// Loads a campaign whose workflow (`record.workflow_source`) is already compiled.
    pub(crate) fn load_compiled(
        &mut self,
        record: CampaignRecord,
        (workflow, program): (Arc<CampaignWorkflow>, Program),
    ) -> Result<(), RuntimeError> {
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
        let account = account_key(&workflow.provider);
        let (timezone_field, default_timezone) = match &workflow.window {
            Some(window) => (window.timezone.field.clone(), window.timezone.default.0),
            None => ("timezone".to_string(), self.config.default_timezone),
        };
        let mut loaded = Loaded {
            program: Arc::new(program),
            policy,
            senders,
            strategy,
            round_robin: RoundRobin::new(),
            provider: workflow.provider.clone(),
            account,
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
            rhai_variables: workflow
                .variables
                .iter()
                .map(|(k, v)| (k.as_str().into(), variable_to_dynamic(v)))
                .collect(),
            declared_fields: workflow
                .fields
                .iter()
                .flat_map(|fields| fields.keys().cloned())
                .collect(),
            list_ends: HashMap::new(),
            record,
        };
        for list in self.store.lists(loaded.record.id)? {
            if list.state == ListState::Ready {
                loaded.note_list(&list);
            }
        }
        self.campaigns.insert(loaded.record.id, loaded);
        Ok(())
    }

    /// Replaces the conversation workflows (the daemon's registry after a load or reload).
    pub fn set_flows(&mut self, flows: Arc<FlowSet>) {
        self.flows = flows;
    }

    /// The store (read access for status queries).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Ids of campaigns currently sending.
    pub(crate) fn running(&self) -> Vec<CampaignId> {
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
        if let Some(at) = self.store.next_conversation_wake()? {
            earliest = Some(earliest.map_or(at, |e| e.min(at)));
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
        report.woken += self.conversation_tick(self.config.batch_size)?;
        Ok(report)
    }

    /// A reply from `phone`: resumes every recipient waiting for one from that number.
    pub fn deliver_reply(&mut self, phone: &str, text: &str) -> Result<usize, RuntimeError> {
        Ok(self.resume_waiters(phone, None, text)?.len())
    }

    /// A reply from `phone` to our number `to`: resumes the recipients waiting for one from
    /// that number in running campaigns that send from `to`. Returns who was resumed.
    pub fn deliver_reply_to(
        &mut self,
        phone: &str,
        to: &str,
        text: &str,
    ) -> Result<Vec<(CampaignId, RecipientSeq)>, RuntimeError> {
        self.resume_waiters(phone, Some(to), text)
    }

    fn resume_waiters(
        &mut self,
        phone: &str,
        to: Option<&str>,
        text: &str,
    ) -> Result<Vec<(CampaignId, RecipientSeq)>, RuntimeError> {
        let mut resumed = Vec::new();
        for (campaign, seq) in self.store.waiters_for(phone)? {
            if self.campaigns.get(&campaign).is_some_and(|c| {
                c.record.state.is_running() && to.is_none_or(|to| c.senders.iter().any(|s| s == to))
            }) {
                self.process(campaign, vec![(seq, Event::Reply(text.to_string()), None)])?;
                resumed.push((campaign, seq));
            }
        }
        Ok(resumed)
    }

    /// Applies events to runs of one campaign with group commit, then performs the sends.
    pub(crate) fn process(
        &mut self,
        id: CampaignId,
        events: Vec<(RecipientSeq, Event, Option<DateTime<Utc>>)>,
    ) -> Result<(usize, usize), RuntimeError> {
        let now = self.clock.now();
        let mut cache: HashMap<RecipientSeq, (RecipientRecord, RunState)> = HashMap::new();
        let mut changes = Changes::new();
        let mut announced = self.pending_events();
        let mut sends: Vec<MessageRecord> = Vec::new();
        let woken = events.len();
        for (seq, event, timer) in events {
            // A run is stepped once per batch: a second event for it (two timers) would start
            // from the same stored state and repeat its work.
            if let Some((_, stepped)) = cache.get(&seq) {
                if let Some(at) = timer
                    && !same_timer(stepped.wake_at(), at)
                {
                    changes.unwake(id, seq, at);
                }
                continue;
            }
            let (Some(recipient), Some(run)) =
                (self.store.recipient(id, seq)?, self.store.run(id, seq)?)
            else {
                if let Some(at) = timer {
                    changes.unwake(id, seq, at);
                }
                continue;
            };
            let mut next = run.clone();
            if let Some(outbound) = self.step(id, &recipient, &mut next, event, now, None)? {
                let intent = intent(outbound, now);
                changes.record_intent(&intent);
                announced.message(&intent, now);
                sends.push(intent);
            }
            stats::credit_reactions(&self.store, id, seq, &run, &mut next, None)?;
            changes.put_run(id, seq, &recipient.phone, &run, &next);
            announced.run(id, seq, &run, &next);
            // The fired timer is spent unless the run still sleeps until exactly then (put_run
            // already moved the run's own timer when its wake-up changed).
            if let Some(at) = timer
                && !same_timer(next.wake_at(), at)
            {
                changes.unwake(id, seq, at);
            }
            cache.insert(seq, (recipient, next));
        }
        // (1) transitions and intents, durable before any provider call.
        self.store.commit(changes)?;
        self.publish(announced);
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
            let mut announced = self.pending_events();
            for (sent, outcome) in answers {
                let result = answered(&sent, &outcome, now);
                let replaced = self.store.answered_message(&sent.outbound)?;
                changes.record_result(&result, replaced.as_ref());
                self.note_campaign_message(&result, &outcome, now, &mut changes)?;
                announced.message(&result, now);
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
                    announced.message(&next_intent, now);
                    sends.push(next_intent);
                }
                stats::credit_reactions(
                    &self.store,
                    id,
                    outbound.recipient,
                    &run,
                    &mut next,
                    Some(&result),
                )?;
                changes.put_run(id, outbound.recipient, &recipient.phone, &run, &next);
                announced.run(id, outbound.recipient, &run, &next);
                cache.insert(outbound.recipient, (recipient, next));
            }
            self.store.commit(changes)?;
            self.publish(announced);
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

    pub(crate) fn step(
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
                    PoolStrategy::RoundRobin => loaded
                        .round_robin
                        .next_index(loaded.senders.len())
                        .unwrap_or_default(),
                };
                loaded.senders.get(index).cloned().unwrap_or_default()
            }
        };
        let timezone = loaded.timezone_of(recipient);
        let loaded = &*loaded;
        let list_end = loaded.list_ends.get(&recipient.list).copied();
        let mut env = Env {
            now,
            campaign: id,
            engine: &self.engine,
            policy: &loaded.policy,
            pacer: &mut self.pacer,
            timezone,
            sender: &sender,
            provider: &loaded.provider,
            account: &loaded.account,
            count_segments: loaded.count_segments,
            suppressed,
            list_end,
            variables: &loaded.variables,
            rhai_variables: &loaded.rhai_variables,
            declared_fields: &loaded.declared_fields,
        };
        Ok(apply(&loaded.program, recipient, run, event, &mut env))
    }

    pub(crate) fn complete_if_done(&mut self, id: CampaignId) -> Result<(), RuntimeError> {
        let importing = self
            .store
            .lists(id)?
            .iter()
            .any(|list| list.state != ListState::Ready);
        // A store error is reported, not taken for an import under way.
        if self.store.next_wake(id)?.is_some() || importing {
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
            self.announce_state(id);
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
}
