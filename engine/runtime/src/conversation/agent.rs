//! What an agent does with a conversation: claim it, assign it, reply (through the provider,
//! with every compliance check: never to an opted-out number, held until the contact's
//! allowed hours open), add a note, close it.

use super::inbound::Turn;
use super::records::{
    Author, ConversationId, ConversationRecord, ConversationState, EntryKind, TimelineEntry,
};
use crate::engine::{Runtime, RuntimeError};

impl Runtime {
    /// Loads conversation `id`, lets `change` work on it, commits and announces it: the
    /// conversation as committed, and what `change` returned.
    fn change_conversation<T>(
        &mut self,
        id: ConversationId,
        change: impl FnOnce(&Self, &mut Turn) -> Result<T, RuntimeError>,
    ) -> Result<(ConversationRecord, T), RuntimeError> {
        let conversation = self
            .store
            .conversation(id)?
            .ok_or(RuntimeError::NoConversation(id))?;
        let mut turn = self.turn(conversation, self.clock.now());
        let answer = change(self, &mut turn)?;
        Ok((self.finish_turn(turn)?, answer))
    }

    /// The agent takes the conversation. Refused when another agent has it.
    pub fn claim_conversation(
        &mut self,
        id: ConversationId,
        agent: &str,
    ) -> Result<ConversationRecord, RuntimeError> {
        let agent = non_empty(agent, "agent")?;
        self.change_conversation(id, |runtime, turn| {
            if let Some(assignee) = &turn.conversation.assignee
                && assignee != agent
                && turn.conversation.state == ConversationState::Assigned
            {
                return Err(RuntimeError::AssignedToOther {
                    conversation: id,
                    assignee: assignee.clone(),
                });
            }
            runtime.give_to(turn, agent, &format!("claimed by {agent}"))
        })
        .map(|(record, ())| record)
    }

    /// Assigns the conversation to an agent (by a supervisor, or handing it over).
    pub fn assign_conversation(
        &mut self,
        id: ConversationId,
        agent: &str,
        by: &str,
    ) -> Result<ConversationRecord, RuntimeError> {
        let agent = non_empty(agent, "agent")?;
        self.change_conversation(id, |runtime, turn| {
            runtime.give_to(turn, agent, &format!("assigned to {agent} by {by}"))
        })
        .map(|(record, ())| record)
    }

    fn give_to(&self, turn: &mut Turn, agent: &str, why: &str) -> Result<(), RuntimeError> {
        turn.conversation.state = ConversationState::Assigned;
        turn.conversation.assignee = Some(agent.to_string());
        turn.what = "assigned";
        self.note_event(turn, why)
    }

    /// The agent's reply, sent through the provider. Refused for an opted-out contact; held
    /// until their allowed hours open during quiet hours (the entry's `due_at` says when).
    /// Replying to an unassigned conversation claims it; a closed one is reopened.
    pub fn agent_reply(
        &mut self,
        id: ConversationId,
        agent: &str,
        text: &str,
    ) -> Result<TimelineEntry, RuntimeError> {
        let agent = non_empty(agent, "agent")?;
        let text = non_empty(text, "text")?;
        self.change_conversation(id, |runtime, turn| {
            if runtime.store.is_suppressed(&turn.conversation.contact)? {
                return Err(RuntimeError::OptedOut(turn.conversation.contact.clone()));
            }
            if turn.conversation.assignee.is_none()
                || turn.conversation.state == ConversationState::Closed
            {
                runtime.give_to(turn, agent, &format!("claimed by {agent} (replied)"))?;
            }
            turn.conversation.last_agent_reply_at = Some(turn.now);
            // An agent answered: the planned escalation is moot (its wake-up finds none).
            turn.conversation.escalation = None;
            let author = Author::Agent {
                agent: agent.to_string(),
            };
            let entry = runtime.queue_outbound(turn, author, text.to_string(), Vec::new())?;
            turn.what = "agent_reply";
            Ok(entry)
        })
        .map(|(_, entry)| entry)
    }

    /// A note for the other agents (never sent to the contact).
    pub fn add_note(
        &mut self,
        id: ConversationId,
        agent: &str,
        text: &str,
    ) -> Result<TimelineEntry, RuntimeError> {
        let agent = non_empty(agent, "agent")?;
        let text = non_empty(text, "text")?;
        self.change_conversation(id, |runtime, turn| {
            turn.what = "note";
            runtime.append(
                turn,
                EntryKind::Note {
                    agent: agent.to_string(),
                    text: text.to_string(),
                },
            )
        })
        .map(|(_, entry)| entry)
    }

    /// Closes the conversation (its planned escalation and a flow's pending question end with
    /// it); a new message from the contact reopens it.
    pub fn close_conversation(
        &mut self,
        id: ConversationId,
        agent: &str,
    ) -> Result<ConversationRecord, RuntimeError> {
        let agent = non_empty(agent, "agent")?;
        self.change_conversation(id, |runtime, turn| {
            if turn.conversation.state == ConversationState::Closed {
                return Ok(());
            }
            turn.conversation.state = ConversationState::Closed;
            turn.conversation.escalation = None;
            // A flow's question ends with the conversation too: kept, the contact's next
            // message (which reopens it, as a new topic) would be taken as the answer, and its
            // timeout would run the rest of the flow — even automatic replies — in a
            // conversation the agent had closed.
            turn.conversation.pending_ask = None;
            turn.what = "closed";
            runtime.note_event(turn, &format!("closed by {agent}"))
        })
        .map(|(record, ())| record)
    }

    /// Starts (or continues) a conversation with a contact from one of our numbers, through a
    /// provider instance, for an agent to write first (nothing is sent yet).
    pub fn start_conversation(
        &mut self,
        our_number: &str,
        contact: &str,
        provider: &str,
    ) -> Result<ConversationRecord, RuntimeError> {
        let now = self.clock.now();
        let turn = self.begin_turn(our_number, contact, provider, now)?;
        self.finish_turn(turn)
    }
}

fn non_empty<'a>(value: &'a str, what: &str) -> Result<&'a str, RuntimeError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        Err(RuntimeError::InvalidInput(format!(
            "{what} must not be empty"
        )))
    } else {
        Ok(trimmed)
    }
}
