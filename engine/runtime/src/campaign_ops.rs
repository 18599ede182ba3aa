//! Operator actions on campaigns: create (streamed), schedule, start, pause/resume, stop and
//! restart, retry failed, edit (draft only), duplicate, archive, delete. Each checks the
//! lifecycle first ([`crate::lifecycle`]) and commits the state with its effects.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::engine::{Loaded, Runtime, RuntimeError, compile_campaign};
use crate::lifecycle::{CampaignState, LifecycleAction, transition};
use crate::lists::initial_run;
use crate::records::{
    CampaignId, CampaignRecord, ListId, ListRecord, ListState, Phase, RecipientRecord,
    RecipientSeq, RecipientStatus,
};
use crate::store::Changes;

/// What a campaign is labelled with besides its name: where its workflow came from and tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CampaignLabels {
    /// The registry version of the workflow file.
    pub workflow_version: Option<u64>,
    /// Tags of its own (the workflow's tags are added to them).
    pub tags: Vec<String>,
    /// Who is responsible for it.
    pub owner: Option<String>,
}

/// The workflow's tags, then the campaign's own, each once.
fn merged_tags(workflow: &[String], own: &[String]) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for tag in workflow.iter().chain(own) {
        let tag = tag.trim();
        if !tag.is_empty() && !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_string());
        }
    }
    tags
}

impl Runtime {
    /// Creates a draft campaign with no recipients yet (lists are imported into it), labelled
    /// with its workflow's version and tags.
    pub fn create_campaign_labelled(
        &mut self,
        name: &str,
        workflow_source: &str,
        labels: CampaignLabels,
    ) -> Result<CampaignId, RuntimeError> {
        let no_starts = BTreeMap::new();
        self.create_with(
            name,
            workflow_source,
            labels,
            std::iter::empty(),
            |_| Vec::new(),
            &no_starts,
        )
    }

    /// Creates a draft campaign from a workflow text and its recipients (one list, named
    /// `initial`, when there are any).
    pub fn create_campaign(
        &mut self,
        name: &str,
        workflow_source: &str,
        recipients: impl IntoIterator<Item = (String, BTreeMap<String, String>)>,
    ) -> Result<CampaignId, RuntimeError> {
        let now = self.clock.now();
        let records = recipients
            .into_iter()
            .enumerate()
            .map(|(seq, (phone, fields))| Ok(RecipientRecord::new(seq as u64, phone, fields)));
        let no_starts = BTreeMap::new();
        self.create_with(
            name,
            workflow_source,
            CampaignLabels::default(),
            records,
            |count| {
                (count > 0)
                    .then(|| ListRecord {
                        id: 0,
                        name: "initial".into(),
                        source: "created with the campaign".into(),
                        state: ListState::Ready,
                        region: String::new(),
                        timezone: None,
                        infer_timezone: false,
                        start: None,
                        end: None,
                        imported_at: now,
                        first_seq: 0,
                        summary: switchboard_import::ImportSummary {
                            rows_read: count,
                            imported: count,
                            ..Default::default()
                        },
                    })
                    .into_iter()
                    .collect()
            },
            &no_starts,
        )
    }

    /// Creates a draft campaign whose recipients are `recipients` (seqs from 0, in order),
    /// streamed in chunks so memory stays flat whatever their number; `lists` gives the list
    /// records once the recipients are counted. Each run starts as its list says (asleep until
    /// the list's start, finished if the number is suppressed).
    fn create_with(
        &mut self,
        name: &str,
        workflow_source: &str,
        labels: CampaignLabels,
        recipients: impl Iterator<Item = Result<RecipientRecord, RuntimeError>>,
        lists: impl FnOnce(u64) -> Vec<ListRecord>,
        starts: &BTreeMap<ListId, DateTime<Utc>>,
    ) -> Result<CampaignId, RuntimeError> {
        let compiled = compile_campaign(&self.engine, workflow_source)?;
        let workflow = &compiled.0;
        let id = self.store.generate_id()?;
        let now = self.clock.now();
        let mut record = CampaignRecord {
            id,
            name: name.to_string(),
            workflow_id: workflow.id.clone(),
            provider: workflow.provider.clone(),
            workflow_source: workflow_source.to_string(),
            state: CampaignState::Draft,
            created_at: now,
            scheduled_at: None,
            started_at: None,
            recipients: 0,
            workflow_version: labels.workflow_version,
            tags: merged_tags(&workflow.tags, &labels.tags),
            owner: labels.owner,
        };
        let mut changes = Changes::new();
        for recipient in recipients {
            let recipient = recipient?;
            let opted_out = self.store.is_suppressed(&recipient.phone)?;
            let run = initial_run(opted_out, starts.get(&recipient.list).copied(), now);
            changes.add_recipient_with_run(id, &recipient, &run);
            record.recipients += 1;
            if record.recipients.is_multiple_of(10_000) {
                self.store.commit(std::mem::take(&mut changes))?;
            }
        }
        // The campaign appears only once all its recipients (and lists) are in.
        for list in lists(record.recipients) {
            changes.put_list(id, &list);
        }
        changes.put_campaign(&record);
        self.store.commit(changes)?;
        self.store.flush()?;
        self.load_compiled(record, compiled)?;
        self.announce_state(id);
        Ok(id)
    }

    pub(crate) fn loaded(&mut self, id: CampaignId) -> Result<&mut Loaded, RuntimeError> {
        self.campaigns
            .get_mut(&id)
            .ok_or(RuntimeError::NoCampaign(id))
    }

    pub(crate) fn set_state(
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

    /// Refuses to send for a workflow whose consent is not acknowledged.
    fn require_consent(&mut self, id: CampaignId) -> Result<(), RuntimeError> {
        let consent = &self.loaded(id)?.program.workflow.consent;
        if consent.as_ref().is_some_and(|c| c.acknowledged) {
            Ok(())
        } else {
            Err(RuntimeError::NoConsent(id))
        }
    }

    /// Starts a campaign now: every recipient is woken.
    pub fn start(&mut self, id: CampaignId) -> Result<(), RuntimeError> {
        self.require_consent(id)?;
        let mut changes = Changes::new();
        self.set_state(id, LifecycleAction::Start, &mut changes)?;
        let now = self.clock.now();
        let committed = self.loaded(id)?.record.recipients;
        // Every unfinished run, when it next needs attention (a list that starts later keeps
        // its recipients asleep until then). A sleeping run keeps its own timer's key — one
        // in the past fires at once — so no recipient ever has two timers.
        let wakes: Vec<(RecipientSeq, DateTime<Utc>)> = self
            .store
            .runs(id)
            .filter_map(Result::ok)
            // (Past the count: a list import not committed yet; it wakes its own.)
            .filter(|(seq, run)| *seq < committed && !run.is_done())
            .map(|(seq, run)| (seq, run.wake_at().unwrap_or(now)))
            .collect();
        self.store.commit(changes)?;
        self.announce_state(id);
        self.wake_all(id, &wakes)
    }

    fn wake_all(
        &mut self,
        id: CampaignId,
        wakes: &[(RecipientSeq, DateTime<Utc>)],
    ) -> Result<(), RuntimeError> {
        for chunk in wakes.chunks(10_000) {
            let mut changes = Changes::new();
            for (seq, at) in chunk {
                changes.wake(id, *seq, *at);
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
        self.announce_state(id);
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
        self.announce_state(id);
        Ok(state)
    }

    /// Restarts a stopped campaign: the schedule of every unfinished recipient is rebuilt.
    pub fn restart(&mut self, id: CampaignId) -> Result<CampaignState, RuntimeError> {
        let mut changes = Changes::new();
        let state = self.set_state(id, LifecycleAction::Restart, &mut changes)?;
        let now = self.clock.now();
        let committed = self.loaded(id)?.record.recipients;
        for entry in self.store.runs(id) {
            let (seq, run) = entry?;
            if seq >= committed {
                break; // a list import not committed yet
            }
            match run.phase {
                Phase::Done | Phase::Sending => {}
                // The run's own timer key (a list landed while stopped may have written it).
                _ => changes.wake(id, seq, run.wake_at().unwrap_or(now)),
            }
        }
        self.store.commit(changes)?;
        self.store.flush()?;
        self.announce_state(id);
        Ok(state)
    }

    /// Re-sends the failed messages of a finished campaign: failed recipients resume at the
    /// step that failed, with a fresh attempt count.
    pub fn retry_failed(&mut self, id: CampaignId) -> Result<CampaignState, RuntimeError> {
        let mut changes = Changes::new();
        let state = self.set_state(id, LifecycleAction::RetryFailed, &mut changes)?;
        let now = self.clock.now();
        let committed = self.loaded(id)?.record.recipients;
        for entry in self.store.runs(id) {
            let (seq, run) = entry?;
            if seq >= committed {
                break; // a list import not committed yet
            }
            // (Filtered recipients are skipped, not failed: they are never re-sent.)
            if run.status != RecipientStatus::Failed {
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
        self.announce_state(id);
        Ok(state)
    }

    /// Schedules a draft (or re-schedules a scheduled) campaign to start at `at`.
    pub fn schedule(&mut self, id: CampaignId, at: DateTime<Utc>) -> Result<(), RuntimeError> {
        self.require_consent(id)?;
        let mut changes = Changes::new();
        self.set_state(id, LifecycleAction::Schedule, &mut changes)?;
        let loaded = self.loaded(id)?;
        loaded.record.scheduled_at = Some(at);
        changes.put_campaign(&loaded.record);
        self.store.commit(changes)?;
        self.store.flush()?;
        self.announce_state(id);
        Ok(())
    }

    /// Edits a draft: its name, and/or the workflow text it will run.
    pub fn edit(
        &mut self,
        id: CampaignId,
        name: Option<&str>,
        workflow_source: Option<&str>,
    ) -> Result<(), RuntimeError> {
        self.edit_labelled(id, name, workflow_source.map(|source| (source, None)))
    }

    /// [`Runtime::edit`], with the registry version of a new workflow text.
    pub fn edit_labelled(
        &mut self,
        id: CampaignId,
        name: Option<&str>,
        workflow: Option<(&str, Option<u64>)>,
    ) -> Result<(), RuntimeError> {
        let mut record = self.loaded(id)?.record.clone();
        transition(record.state, LifecycleAction::Edit).map_err(|source| {
            RuntimeError::Lifecycle {
                campaign: id,
                source,
            }
        })?;
        let compiled = match workflow {
            Some((source, version)) => {
                let compiled = compile_campaign(&self.engine, source)?;
                // The old workflow's tags go, the campaign's own stay.
                let old_tags = &self.loaded(id)?.program.workflow.tags;
                let own: Vec<String> = record
                    .tags
                    .iter()
                    .filter(|t| !old_tags.contains(t))
                    .cloned()
                    .collect();
                record.tags = merged_tags(&compiled.0.tags, &own);
                record.workflow_id = compiled.0.id.clone();
                record.provider = compiled.0.provider.clone();
                record.workflow_source = source.to_string();
                record.workflow_version = version;
                Some(compiled)
            }
            None => None,
        };
        if let Some(name) = name {
            record.name = name.to_string();
        }
        let mut changes = Changes::new();
        changes.put_campaign(&record);
        self.store.commit(changes)?;
        self.store.flush()?;
        match compiled {
            Some(compiled) => self.load_compiled(record, compiled),
            None => self.load(record),
        }
    }

    /// A new draft with the same workflow, lists and recipients (fields, timezone, number
    /// type kept), with fresh runs and no messages.
    pub fn duplicate(&mut self, id: CampaignId, name: &str) -> Result<CampaignId, RuntimeError> {
        let original = &self.loaded(id)?.record;
        let source = original.workflow_source.clone();
        let labels = CampaignLabels {
            workflow_version: original.workflow_version,
            tags: original.tags.clone(),
            owner: original.owner.clone(),
        };
        self.refuse_if_importing(id)?;
        let lists = self.store.lists(id)?;
        let starts: BTreeMap<ListId, DateTime<Utc>> = lists
            .iter()
            .filter_map(|list| Some((list.id, list.start?)))
            .collect();
        let store = self.store.clone();
        let recipients = store
            .recipients(id)
            .map(|recipient| recipient.map_err(RuntimeError::from));
        let created = self.create_with(name, &source, labels, recipients, |_| lists, &starts)?;
        Ok(created)
    }

    /// Deletes a campaign that is not running, with all its data. Refused while a list is
    /// being imported into it.
    pub fn delete(&mut self, id: CampaignId) -> Result<(), RuntimeError> {
        let state = self.loaded(id)?.record.state;
        self.refuse_if_importing(id)?;
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
}
