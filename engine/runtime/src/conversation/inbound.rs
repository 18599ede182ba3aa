//! An inbound message's path through the engine, in order:
//!
//! 1. It joins the conversation of (our number, contact), created if new, reopened if closed.
//! 2. **Keywords.** A message that is exactly an opt-out word (STOP, STOPALL, UNSUBSCRIBE,
//!    CANCEL, END, QUIT and configured ones) suppresses the number at once, for every campaign
//!    (queued sends are refused when their turn comes), and the confirmation is sent once: a
//!    second STOP from a number already opted out gets none. START, UNSTOP, YES from an
//!    opted-out number resubscribe it (from anyone else they are ordinary messages: "YES" is
//!    also an answer to a campaign). HELP and INFO get the help text. A keyword message goes
//!    no further: it is not a campaign answer and starts no flow.
//! 3. A message that only mentions stopping ("please stop calling me at work") suppresses
//!    nothing; it is flagged `possible-opt-out` for the agent.
//! 4. **Campaign.** Recipients of running campaigns waiting for a reply from this contact to
//!    this number are resumed; the conversation is linked to the (latest) campaign recipient.
//! 5. **Flows.** A pending `ask` takes the message as its answer; otherwise every conversation
//!    workflow whose trigger matches runs, higher priority first.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use switchboard_guidance::flow::{Action, ConversationView, Message, Outcome, PendingAsk};
use switchboard_guidance::keywords::Keyword;

use super::records::{
    Author, CampaignLink, ConsentRecord, ConsentSource, ConversationRecord, ConversationState,
    EntryKind, Escalation, Suggestion, TimelineEntry,
};
use super::store::{Wake, WakeKind};
use crate::engine::{Runtime, RuntimeError};
use crate::events::Pending;
use crate::records::{CampaignId, RecipientSeq};
use crate::store::Changes;

/// A message from a contact, as a provider's webhook told it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    /// The provider instance whose webhook brought it (replies go back through it).
    pub provider: String,
    /// The provider's id of it.
    pub provider_message_id: String,
    /// The contact.
    pub from: String,
    /// Our number.
    pub to: String,
    /// Its text.
    pub text: String,
}

/// What an inbound message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundReport {
    /// The conversation it joined.
    pub conversation: u64,
    /// The keyword it was.
    pub keyword: Option<Keyword>,
    /// Campaign recipients it resumed.
    pub resumed: usize,
    /// Conversation workflows that ran.
    pub flows: Vec<String>,
}

/// What a flow sees of a conversation, owned, so a [`Message`] can borrow it.
pub(super) struct FlowInput {
    contact: Map<String, Value>,
    tags: Vec<String>,
    campaign_workflow: Option<String>,
    state: &'static str,
    queue: Option<String>,
    assignee: Option<String>,
}

impl FlowInput {
    pub(super) fn message<'a>(&'a self, text: &'a str, now: DateTime<Utc>) -> Message<'a> {
        Message {
            text,
            now,
            campaign_workflow: self.campaign_workflow.as_deref(),
            contact: &self.contact,
            conversation: ConversationView {
                state: self.state,
                queue: self.queue.as_deref(),
                assignee: self.assignee.as_deref(),
                tags: &self.tags,
            },
        }
    }
}

/// A conversation being changed, with what goes to the store and the live events.
pub(crate) struct Turn {
    pub(crate) conversation: ConversationRecord,
    pub(crate) changes: Changes,
    pub(crate) events: Pending,
    pub(crate) now: DateTime<Utc>,
    /// Why the conversation changed, for the live event.
    pub(crate) what: &'static str,
    /// The flow that routed it in this turn: flows run highest priority first, and a later
    /// (lower priority) flow's `route` does not override it.
    pub(crate) routed_by: Option<String>,
}

impl Runtime {
    /// Takes an inbound message through keywords, the campaign waiting for it and the
    /// conversation workflows (see the module doc).
    pub fn receive_message(
        &mut self,
        message: InboundMessage,
    ) -> Result<InboundReport, RuntimeError> {
        self.receive(message, Changes::new())
    }

    /// [`Runtime::receive_message`], with `also` committed in the same transaction as the
    /// conversation (the inbox takes the message off there: applied once, or not at all).
    pub(crate) fn receive(
        &mut self,
        message: InboundMessage,
        also: Changes,
    ) -> Result<InboundReport, RuntimeError> {
        let now = self.clock.now();
        let mut turn = self.begin_turn(&message.to, &message.from, &message.provider, now)?;
        turn.changes = also;
        turn.what = "inbound";
        let keyword = self.config.compliance.keywords.classify(&message.text);
        let suppressed = self.store.is_suppressed(&message.from)?;
        // START from someone who never opted out is an ordinary message ("YES" answers).
        let keyword = keyword.filter(|k| !matches!(k, Keyword::OptIn(_)) || suppressed);
        if turn.conversation.state == ConversationState::Closed {
            turn.conversation.state = ConversationState::Open;
            turn.conversation.assignee = None;
            self.note_event(&mut turn, "reopened by a new message from the contact")?;
        }
        let word = keyword.as_ref().map(|k| match k {
            Keyword::OptOut(w) | Keyword::OptIn(w) | Keyword::Help(w) => w.clone(),
        });
        self.append(
            &mut turn,
            EntryKind::Inbound {
                text: message.text.clone(),
                provider_message_id: message.provider_message_id.clone(),
                keyword: word,
            },
        )?;
        turn.conversation.last_inbound_at = Some(now);
        let mut report = InboundReport {
            conversation: turn.conversation.id,
            keyword: keyword.clone(),
            resumed: 0,
            flows: Vec::new(),
        };
        match &keyword {
            Some(Keyword::OptOut(word)) => self.opt_out_by_keyword(&mut turn, word, suppressed)?,
            Some(Keyword::OptIn(word)) => self.opt_in_by_keyword(&mut turn, word)?,
            Some(Keyword::Help(_)) => {
                let help = self.config.compliance.help_text.clone();
                self.queue_outbound(&mut turn, Author::Compliance, help, Vec::new())?;
            }
            None => {
                if self
                    .config
                    .compliance
                    .keywords
                    .mentions_opt_out(&message.text)
                {
                    turn.conversation.flag("possible-opt-out");
                    self.note_event(
                        &mut turn,
                        "the message mentions stopping; not an opt-out keyword, so nothing was \
                         suppressed: check with the contact",
                    )?;
                }
                let resumed = self.resume_campaign_waiters(&message, &mut turn)?;
                report.resumed = resumed;
                report.flows = self.run_flows(&mut turn, &message.text)?;
            }
        }
        self.finish_turn(turn)?;
        Ok(report)
    }

    /// Loads (or starts) the conversation of a pair for a change.
    pub(crate) fn begin_turn(
        &mut self,
        our_number: &str,
        contact: &str,
        provider: &str,
        now: DateTime<Utc>,
    ) -> Result<Turn, RuntimeError> {
        let conversation = match self.store.conversation_between(our_number, contact)? {
            Some(mut existing) => {
                if existing.provider.is_empty() {
                    existing.provider = provider.to_string();
                }
                existing
            }
            None => ConversationRecord {
                id: self.store.generate_id()?,
                our_number: our_number.to_string(),
                contact: contact.to_string(),
                provider: provider.to_string(),
                state: ConversationState::Open,
                queue: None,
                assignee: None,
                campaign: None,
                tags: Vec::new(),
                fields: Map::new(),
                suggestions: Vec::new(),
                flags: Vec::new(),
                pending_ask: None,
                escalation: None,
                timezone: None,
                created_at: now,
                last_activity_at: now,
                last_inbound_at: None,
                last_agent_reply_at: None,
            },
        };
        Ok(self.turn(conversation, now))
    }

    /// Commits a turn and announces it.
    /// Returns the conversation as committed.
    pub(crate) fn finish_turn(
        &mut self,
        mut turn: Turn,
    ) -> Result<ConversationRecord, RuntimeError> {
        turn.conversation.last_activity_at = turn.now;
        turn.changes.put_conversation(&turn.conversation);
        let conversation = &turn.conversation;
        turn.events.conversation(conversation, turn.what, turn.now);
        self.store.commit(turn.changes)?;
        self.publish(turn.events);
        Ok(turn.conversation)
    }

    /// A turn on a loaded conversation.
    pub(crate) fn turn(&self, conversation: ConversationRecord, now: DateTime<Utc>) -> Turn {
        Turn {
            conversation,
            changes: Changes::new(),
            events: self.pending_events(),
            now,
            what: "updated",
            routed_by: None,
        }
    }

    /// Adds a timeline entry to the turn's conversation.
    pub(crate) fn append(
        &self,
        turn: &mut Turn,
        kind: EntryKind,
    ) -> Result<TimelineEntry, RuntimeError> {
        let entry = TimelineEntry {
            seq: self.store.generate_id()?,
            at: turn.now,
            kind,
        };
        turn.changes.put_timeline(
            &turn.conversation.our_number,
            &turn.conversation.contact,
            &entry,
        );
        Ok(entry)
    }

    /// Adds an event line ("routed to sales") to the timeline.
    pub(crate) fn note_event(&self, turn: &mut Turn, text: &str) -> Result<(), RuntimeError> {
        self.append(
            turn,
            EntryKind::Event {
                text: text.to_string(),
            },
        )
        .map(drop)
    }

    fn opt_out_by_keyword(
        &mut self,
        turn: &mut Turn,
        word: &str,
        already: bool,
    ) -> Result<(), RuntimeError> {
        turn.conversation.pending_ask = None;
        turn.conversation.suggestions.clear();
        if already {
            self.note_event(
                turn,
                &format!("{word} again: the number was already opted out (no second confirmation)"),
            )?;
            return Ok(());
        }
        self.record_keyword_consent(turn, word, true)?;
        self.credit_campaign_opt_out(turn)?;
        turn.what = "opted_out";
        self.note_event(
            turn,
            &format!("opted out by texting {word}: suppressed for every campaign"),
        )?;
        let confirmation = self.config.compliance.opt_out_confirmation.clone();
        self.queue_outbound(turn, Author::Compliance, confirmation, Vec::new())?;
        Ok(())
    }

    /// Credits an opt-out by keyword to the campaign recipient the contact last got a campaign
    /// message as in this conversation (once per recipient, also after its last message; a
    /// recipient whose later send finds the number suppressed is credited by the engine
    /// instead): its run names the step, see [`crate::stats`].
    fn credit_campaign_opt_out(&self, turn: &mut Turn) -> Result<(), RuntimeError> {
        let Some((campaign, seq)) = self.latest_campaign_message(turn)? else {
            return Ok(());
        };
        // A deleted campaign's recipient is not credited: its counters are gone.
        if self.campaign(campaign).is_none() {
            return Ok(());
        }
        let (Some(recipient), Some(run)) = (
            self.store.recipient(campaign, seq)?,
            self.store.run(campaign, seq)?,
        ) else {
            return Ok(());
        };
        if run.opted_out_after.is_some() {
            return Ok(());
        }
        let mut next = run.clone();
        next.opted_out_after = Some(
            self.store
                .last_sent_step(campaign, seq, None)?
                .unwrap_or_default(),
        );
        turn.changes
            .put_run(campaign, seq, &recipient.phone, &run, &next);
        Ok(())
    }

    /// Logs the contact's keyword in the consent log, suppressing the number or taking it
    /// off the list.
    fn record_keyword_consent(
        &self,
        turn: &mut Turn,
        word: &str,
        opted_out: bool,
    ) -> Result<(), RuntimeError> {
        let record = ConsentRecord {
            phone: turn.conversation.contact.clone(),
            opted_out,
            at: turn.now,
            how: ConsentSource::Keyword,
            who: turn.conversation.contact.clone(),
            detail: word.to_string(),
        };
        turn.changes
            .record_consent(&record, self.store.generate_id()?);
        Ok(())
    }

    fn opt_in_by_keyword(&mut self, turn: &mut Turn, word: &str) -> Result<(), RuntimeError> {
        self.record_keyword_consent(turn, word, false)?;
        turn.what = "opted_in";
        self.note_event(turn, &format!("opted back in by texting {word}"))?;
        let confirmation = self.config.compliance.opt_in_confirmation.clone();
        self.queue_outbound(turn, Author::Compliance, confirmation, Vec::new())?;
        Ok(())
    }

    /// Resumes the running campaigns' recipients waiting for a reply from this contact to
    /// this number, and links the conversation to the latest one (or, with none waiting, to
    /// the campaign whose message the contact last got in this conversation).
    fn resume_campaign_waiters(
        &mut self,
        message: &InboundMessage,
        turn: &mut Turn,
    ) -> Result<usize, RuntimeError> {
        let resumed = self.deliver_reply_to(&message.from, &message.to, &message.text)?;
        let link = match resumed.iter().max() {
            Some(&(campaign, recipient)) => Some((campaign, recipient)),
            None => self.latest_campaign_message(turn)?,
        };
        if let Some((campaign, recipient)) = link {
            self.link_campaign(turn, campaign, recipient)?;
        }
        Ok(resumed.len())
    }

    fn latest_campaign_message(
        &self,
        turn: &Turn,
    ) -> Result<Option<(CampaignId, RecipientSeq)>, RuntimeError> {
        let timeline = self
            .store
            .timeline(&turn.conversation.our_number, &turn.conversation.contact)?;
        Ok(timeline.iter().rev().find_map(|entry| match entry.kind {
            EntryKind::Campaign {
                campaign,
                recipient,
                ..
            } => Some((campaign, recipient)),
            _ => None,
        }))
    }

    fn link_campaign(
        &self,
        turn: &mut Turn,
        campaign: CampaignId,
        recipient: RecipientSeq,
    ) -> Result<(), RuntimeError> {
        // The loaded campaign's record: no store read (a deleted campaign is not linked).
        let Some(record) = self.campaign(campaign) else {
            return Ok(());
        };
        if turn.conversation.provider.is_empty() {
            turn.conversation.provider = record.provider.clone();
        }
        let workflow_id = record.workflow_id.clone();
        if let Some(recipient_record) = self.store.recipient(campaign, recipient)? {
            let tz = self.recipient_timezone(campaign, &recipient_record);
            turn.conversation.timezone = Some(tz.name().to_string());
        }
        turn.conversation.campaign = Some(CampaignLink {
            campaign,
            recipient,
            workflow_id,
        });
        Ok(())
    }

    /// What flows see of a conversation.
    pub(super) fn flow_input(
        &self,
        conversation: &ConversationRecord,
    ) -> Result<FlowInput, RuntimeError> {
        Ok(FlowInput {
            contact: self.contact_fields(conversation)?,
            tags: conversation.tags.clone(),
            campaign_workflow: conversation
                .campaign
                .as_ref()
                .map(|link| link.workflow_id.clone()),
            state: conversation.state.as_str(),
            queue: conversation.queue.clone(),
            assignee: conversation.assignee.clone(),
        })
    }

    /// The contact fields flows see: the campaign recipient's columns, then saved fields.
    fn contact_fields(
        &self,
        conversation: &ConversationRecord,
    ) -> Result<Map<String, Value>, RuntimeError> {
        let mut fields = Map::new();
        if let Some(link) = &conversation.campaign
            && let Some(recipient) = self.store.recipient(link.campaign, link.recipient)?
        {
            for (name, value) in recipient.fields {
                fields.insert(name, Value::String(value));
            }
        }
        fields.insert("phone".into(), Value::String(conversation.contact.clone()));
        for (name, value) in &conversation.fields {
            fields.insert(name.clone(), value.clone());
        }
        Ok(fields)
    }

    /// Runs the conversation workflows on a message: the pending question takes it as its
    /// answer, otherwise every matching flow runs. Returns the flows that ran.
    fn run_flows(&mut self, turn: &mut Turn, text: &str) -> Result<Vec<String>, RuntimeError> {
        if self.flows.is_empty() && turn.conversation.pending_ask.is_none() {
            return Ok(Vec::new());
        }
        let input = self.flow_input(&turn.conversation)?;
        let message = input.message(text, turn.now);
        let mut outcomes: Vec<(String, Outcome)> = Vec::new();
        let mut errors = Vec::new();
        if let Some(pending) = turn.conversation.pending_ask.take() {
            match self.flows.answer(&pending, &message) {
                Ok(outcome) => outcomes.push((pending.workflow.clone(), outcome)),
                // The flow changed or went away since it asked: the message is a new one.
                Err(error) => errors.push(format!(
                    "the question of {} could not take the answer ({error}); treated as a new message",
                    pending.workflow
                )),
            }
        }
        if outcomes.is_empty() {
            turn.conversation.suggestions.clear();
            for flow in self.flows.matching(&message) {
                match self.flows.start(&flow, &message) {
                    Ok(outcome) => outcomes.push((flow, outcome)),
                    Err(error) => errors.push(format!("flow {flow} could not run: {error}")),
                }
            }
        }
        for error in errors {
            self.note_event(turn, &error)?;
        }
        let ran = outcomes.iter().map(|(flow, _)| flow.clone()).collect();
        for (flow, outcome) in outcomes {
            self.apply_outcome(turn, &flow, outcome)?;
        }
        Ok(ran)
    }

    /// Applies what a flow decided to the conversation.
    pub(crate) fn apply_outcome(
        &mut self,
        turn: &mut Turn,
        flow: &str,
        outcome: Outcome,
    ) -> Result<(), RuntimeError> {
        for action in outcome.actions {
            match action {
                Action::Suggest {
                    workflow,
                    text,
                    answer,
                    rank,
                } => {
                    turn.conversation.suggestions.push(Suggestion {
                        workflow,
                        text,
                        answer,
                        rank,
                    });
                    turn.conversation.suggestions.sort_by_key(|s| s.rank);
                }
                Action::Route {
                    queue,
                    escalate_after,
                    escalate_to,
                } => {
                    if let Some(first) = turn.routed_by.as_deref().filter(|f| *f != flow) {
                        let why = format!(
                            "{flow} would route to {queue}; {first} (higher priority) already routed it"
                        );
                        self.note_event(turn, &why)?;
                        continue;
                    }
                    turn.routed_by = Some(flow.to_string());
                    self.route(turn, &queue, &format!("routed to {queue} by {flow}"))?;
                    if let (Some(after), Some(to)) = (escalate_after, escalate_to) {
                        let at = turn.now
                            + chrono::TimeDelta::from_std(after).unwrap_or(chrono::TimeDelta::MAX);
                        turn.conversation.escalation = Some(Escalation {
                            at,
                            to,
                            since: turn.now,
                        });
                        turn.changes.put_wake(&Wake {
                            at,
                            conversation: turn.conversation.id,
                            kind: WakeKind::Escalate,
                            seq: 0,
                        });
                    }
                }
                Action::Reply { text, media } => {
                    let author = Author::Flow {
                        workflow: flow.to_string(),
                    };
                    self.queue_outbound(turn, author, text, media)?;
                }
                Action::Ask { question } => {
                    let author = Author::Question {
                        workflow: flow.to_string(),
                    };
                    self.queue_outbound(turn, author, question, Vec::new())?;
                }
                Action::Save { field, value } => {
                    turn.conversation.fields.insert(field, value);
                }
                Action::Tag(tag) => turn.conversation.tag(&tag),
                Action::Close => {
                    turn.conversation.state = ConversationState::Closed;
                    self.note_event(turn, &format!("closed by {flow}"))?;
                }
                Action::StepFailed {
                    workflow,
                    step,
                    error,
                } => {
                    self.note_event(turn, &format!("{workflow}, step {step}: {error}"))?;
                }
            }
        }
        if let Some(pending) = outcome.pending {
            self.await_answer(turn, pending);
        }
        Ok(())
    }

    /// Keeps a question pending, with its timeout.
    fn await_answer(&self, turn: &mut Turn, pending: PendingAsk) {
        if let Some(at) = pending.expires_at {
            turn.changes.put_wake(&Wake {
                at,
                conversation: turn.conversation.id,
                kind: WakeKind::AskTimeout,
                seq: 0,
            });
        }
        turn.conversation.pending_ask = Some(pending);
    }

    /// Puts the conversation in a queue.
    pub(crate) fn route(
        &self,
        turn: &mut Turn,
        queue: &str,
        why: &str,
    ) -> Result<(), RuntimeError> {
        if turn.conversation.queue.as_deref() != Some(queue) {
            turn.conversation.queue = Some(queue.to_string());
            turn.what = "routed";
            self.note_event(turn, why)?;
        }
        Ok(())
    }
}
