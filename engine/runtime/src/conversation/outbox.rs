//! Conversation messages on their way out (automatic replies, questions, agent replies,
//! compliance answers), and the other conversation wake-ups.
//!
//! A message is written `queued` with a wake-up at its due instant: now, or when the contact's
//! allowed hours open (quiet hours hold everything but the compliance answers, which
//! carriers expect at once). At its turn it is refused if the contact has opted out in the
//! meantime (`suppressed`; the opt-out confirmation itself is exempt), waits for the sender's
//! pace, then is marked `sending` durably before the provider call, and answered after it. A
//! wake-up that finds a message still `sending` means the daemon stopped inside that call:
//! it becomes `unknown`, never sent again blind. Transient failures are retried three times,
//! 30 s apart and longer; a provider error code that means "opted out" suppresses the number.
//! [`held_until`] is the quiet-hours hold, pure, shared with the API's reply warning.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use switchboard_model::window::TimeRange;

use super::inbound::Turn;
use super::records::{
    Author, ConsentRecord, ConsentSource, ConversationRecord, ConversationState, EntryKind,
    OutboundMessage, OutboundStatus, TimelineEntry,
};
use super::store::{Wake, WakeKind, timeline_key};
use crate::delivery::DeliveryUpdate;
use crate::engine::{Runtime, RuntimeError, account_key};
use crate::provider::SendOutcome;
use crate::records::Outbound;
use crate::send_window::{NextOpen, SendPolicy};
use crate::store::{Changes, same_timer};

/// Provider calls for one conversation message before it is failed.
const MAX_TRIES: u32 = 3;

/// Wait after a transient failure, times the try number.
const RETRY_AFTER: TimeDelta = TimeDelta::seconds(30);

/// Until when quiet hours hold a conversation message written at `now` to a contact: the
/// instant their allowed hours open, or `None` when it may go out at once.
///
/// `timezone` is the contact's (an IANA name; unknown or unparsable falls back to
/// `default_timezone`), `allowed_hours` the daemon's, in the contact's local time. The engine
/// uses it to set a queued message's `due_at`, the API to warn an agent before they reply:
/// one function, so the warning and the hold cannot disagree. Pure: the caller passes `now`.
pub fn held_until(
    timezone: Option<&str>,
    default_timezone: Tz,
    allowed_hours: TimeRange,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let tz = timezone
        .and_then(|name| name.parse().ok())
        .unwrap_or(default_timezone);
    match SendPolicy::new(None, None, allowed_hours).next_open(now, tz) {
        NextOpen::At(at) if at > now => Some(at),
        // Never cannot happen without a window; holding a message forever would hide it.
        NextOpen::At(_) | NextOpen::Now | NextOpen::Never => None,
    }
}

impl Runtime {
    /// Writes an outbound message into the turn's conversation, due now or when the contact's
    /// allowed hours open, and schedules its send.
    pub(crate) fn queue_outbound(
        &self,
        turn: &mut Turn,
        author: Author,
        text: String,
        media: Vec<String>,
    ) -> Result<TimelineEntry, RuntimeError> {
        let due_at = if author.exempt_from_opt_out() {
            turn.now
        } else {
            self.conversation_open_at(&turn.conversation, turn.now)
        };
        let entry = self.append(
            turn,
            EntryKind::Outbound(OutboundMessage {
                author,
                text,
                media,
                status: OutboundStatus::Queued,
                due_at,
                provider_id: None,
                error: None,
                tries: 0,
            }),
        )?;
        turn.changes.put_wake(&Wake {
            at: due_at,
            conversation: turn.conversation.id,
            kind: WakeKind::Send,
            seq: entry.seq,
        });
        Ok(entry)
    }

    /// When a message to the conversation's contact may go out: now, or when their allowed
    /// hours (the daemon's quiet hours, in their timezone) open.
    pub(crate) fn conversation_open_at(
        &self,
        conversation: &ConversationRecord,
        now: DateTime<Utc>,
    ) -> DateTime<Utc> {
        held_until(
            conversation.timezone.as_deref(),
            self.config.default_timezone,
            self.config.allowed_hours,
            now,
        )
        .unwrap_or(now)
    }

    /// Does the conversation wake-ups that are due: sends, escalations, question timeouts.
    /// Returns how many were done.
    pub fn conversation_tick(&mut self, limit: usize) -> Result<usize, RuntimeError> {
        let wakes = self.store.due_conversation_wakes(self.clock.now(), limit)?;
        for wake in &wakes {
            match wake.kind {
                WakeKind::Send => self.send_conversation_message(wake)?,
                WakeKind::Escalate | WakeKind::AskTimeout => self.conversation_wake(wake)?,
            }
        }
        Ok(wakes.len())
    }

    fn send_conversation_message(&mut self, wake: &Wake) -> Result<(), RuntimeError> {
        let mut done = Changes::new();
        done.remove_wake(wake);
        let Some(conversation) = self.store.conversation(wake.conversation)? else {
            return Ok(self.store.commit(done)?);
        };
        let key = timeline_key(&conversation.our_number, &conversation.contact, wake.seq);
        let Some(mut entry) = self.store.timeline_entry(&key)? else {
            return Ok(self.store.commit(done)?);
        };
        let EntryKind::Outbound(mut message) = entry.kind.clone() else {
            return Ok(self.store.commit(done)?);
        };
        let now = self.clock.now();
        match message.status {
            OutboundStatus::Queued => {}
            OutboundStatus::Sending => {
                message.status = OutboundStatus::Unknown;
                message.error = Some(
                    "interrupted by a restart inside the provider call; not sent again".into(),
                );
                return self.save_outbound(&conversation, entry, message, done, now);
            }
            _ => return Ok(self.store.commit(done)?),
        }
        if !message.author.exempt_from_opt_out()
            && self.store.is_suppressed(&conversation.contact)?
        {
            message.status = OutboundStatus::Suppressed;
            message.error = Some("the contact opted out before it went out".into());
            return self.save_outbound(&conversation, entry, message, done, now);
        }
        let account = account_key(&conversation.provider);
        let keys = [conversation.our_number.as_str(), account.as_str()];
        if let Err(retry) = self.pacer.try_acquire(&keys, 1, now) {
            // Refused messages queue up one emission interval apart, as campaign sends do,
            // instead of all waking at the same instant to be refused again but one.
            let at = self.pacer.queue_slot(&keys, 1, retry);
            done.put_wake(&Wake { at, ..wake.clone() });
            message.due_at = at;
            return self.save_outbound(&conversation, entry, message, done, now);
        }
        // (1) durable intent.
        message.status = OutboundStatus::Sending;
        message.tries += 1;
        entry.kind = EntryKind::Outbound(message.clone());
        let mut intent = Changes::new();
        intent.put_timeline(&conversation.our_number, &conversation.contact, &entry);
        self.store.commit(intent)?;
        self.store.flush()?;
        // (2) the provider.
        let outbound = Outbound {
            campaign: 0,
            recipient: wake.seq,
            pc: 0,
            attempt: message.tries,
            try_number: message.tries,
            step_id: "conversation".into(),
            variant: String::new(),
            provider: conversation.provider.clone(),
            from: conversation.our_number.clone(),
            to: conversation.contact.clone(),
            body: message.text.clone(),
            media: message.media.clone(),
            segments: switchboard_model::segments::segment_info(&message.text).segments,
            conversation: Some(conversation.id),
        };
        let outcome = self.provider.send(&outbound);
        // (3) the answer.
        match outcome {
            SendOutcome::Accepted { provider_id } => {
                message.status = OutboundStatus::Sent;
                done.put_conversation_receipt(&provider_id, &key);
                message.provider_id = Some(provider_id);
            }
            SendOutcome::Throttled { retry_after, code } => {
                let until = now + TimeDelta::from_std(retry_after).unwrap_or(RETRY_AFTER);
                self.pacer.throttle(&conversation.our_number, until);
                message.status = OutboundStatus::Queued;
                message.tries -= 1;
                message.due_at = until;
                message.error = Some(format!("throttled by the provider ({code})"));
                done.put_wake(&Wake {
                    at: until,
                    ..wake.clone()
                });
            }
            SendOutcome::Transient { code, message: why } if message.tries < MAX_TRIES => {
                let at = now + RETRY_AFTER * message.tries as i32;
                message.status = OutboundStatus::Queued;
                message.due_at = at;
                message.error = Some(format!("{code}: {why} (retrying)"));
                done.put_wake(&Wake { at, ..wake.clone() });
            }
            SendOutcome::Transient { code, message: why }
            | SendOutcome::Permanent { code, message: why } => {
                message.status = OutboundStatus::Failed;
                message.error = Some(format!("{code}: {why}"));
                self.provider_opt_out(&conversation.contact, &code, now, &mut done)?;
            }
        }
        self.save_outbound(&conversation, entry, message, done, now)
    }

    /// Writes the message back into its timeline entry, with the wake-up changes in `changes`,
    /// and announces its status when it changed.
    fn save_outbound(
        &self,
        conversation: &ConversationRecord,
        mut entry: TimelineEntry,
        message: OutboundMessage,
        mut changes: Changes,
        now: DateTime<Utc>,
    ) -> Result<(), RuntimeError> {
        let before = match &entry.kind {
            EntryKind::Outbound(stored) => Some(stored.status),
            _ => None,
        };
        let mut events = self.pending_events();
        if before != Some(message.status) {
            events.push(|| crate::events::RuntimeEvent::ConversationMessage {
                conversation: conversation.id,
                seq: entry.seq,
                status: message.status,
                at: now,
            });
        }
        entry.kind = EntryKind::Outbound(message);
        changes.put_timeline(&conversation.our_number, &conversation.contact, &entry);
        self.store.commit(changes)?;
        self.publish(events);
        Ok(())
    }

    /// A send to `phone` failed for good with `code`: when the code is one of the configured
    /// provider opt-out codes, the number is suppressed like a STOP, without a confirmation
    /// (the carrier has answered the contact).
    fn provider_opt_out(
        &self,
        phone: &str,
        code: &str,
        now: DateTime<Utc>,
        changes: &mut Changes,
    ) -> Result<(), RuntimeError> {
        let codes = &self.config.compliance.provider_opt_out_codes;
        if !codes.iter().any(|c| c == code) || self.store.is_suppressed(phone)? {
            return Ok(());
        }
        let record = ConsentRecord {
            phone: phone.to_string(),
            opted_out: true,
            at: now,
            how: ConsentSource::Provider,
            who: "provider".into(),
            detail: format!("provider error {code}"),
        };
        changes.record_consent(&record, self.store.generate_id()?);
        Ok(())
    }

    /// The conversation wake-ups due now other than sends: escalations and question timeouts.
    fn conversation_wake(&mut self, wake: &Wake) -> Result<(), RuntimeError> {
        let Some(conversation) = self.store.conversation(wake.conversation)? else {
            let mut changes = Changes::new();
            changes.remove_wake(wake);
            self.store.commit(changes)?;
            return Ok(());
        };
        let mut turn = self.turn(conversation, self.clock.now());
        turn.changes.remove_wake(wake);
        match wake.kind {
            WakeKind::Escalate => self.escalate(&mut turn, wake)?,
            WakeKind::AskTimeout => self.expire_question(&mut turn, wake)?,
            WakeKind::Send => {}
        }
        self.finish_turn(turn).map(drop)
    }

    fn escalate(&mut self, turn: &mut Turn, wake: &Wake) -> Result<(), RuntimeError> {
        let Some(escalation) = turn.conversation.escalation.clone() else {
            return Ok(());
        };
        if !same_timer(Some(escalation.at), wake.at) {
            return Ok(()); // a later routing replaced it
        }
        turn.conversation.escalation = None;
        let answered = turn
            .conversation
            .last_agent_reply_at
            .is_some_and(|at| at >= escalation.since);
        if answered || turn.conversation.state == ConversationState::Closed {
            return Ok(());
        }
        let from = turn.conversation.queue.clone().unwrap_or_default();
        turn.conversation.queue = Some(escalation.to.clone());
        turn.what = "escalated";
        self.note_event(
            turn,
            &format!(
                "escalated from {from} to {}: no agent replied in time",
                escalation.to
            ),
        )
    }

    fn expire_question(&mut self, turn: &mut Turn, wake: &Wake) -> Result<(), RuntimeError> {
        let Some(pending) = turn.conversation.pending_ask.clone() else {
            return Ok(());
        };
        // Compared as timer keys: the wake-up read back from its key has lost the finer part.
        if !same_timer(pending.expires_at, wake.at) {
            return Ok(()); // answered, or asked again since
        }
        turn.conversation.pending_ask = None;
        let input = self.flow_input(&turn.conversation)?;
        let message = input.message("", turn.now);
        let outcome = self.flows.expire(&pending, &message);
        self.note_event(
            turn,
            &format!("no answer to the question of {} in time", pending.workflow),
        )?;
        match outcome {
            Ok(outcome) => self.apply_outcome(turn, &pending.workflow, outcome),
            Err(error) => self.note_event(
                turn,
                &format!("the flow {} could not go on: {error}", pending.workflow),
            ),
        }
    }

    /// A campaign message's answer joins the timeline of its conversation (accepted and
    /// permanently failed ones: a throttled one is tried again); a provider code meaning "opted
    /// out" suppresses the number.
    pub(crate) fn note_campaign_message(
        &self,
        result: &crate::records::MessageRecord,
        outcome: &SendOutcome,
        now: DateTime<Utc>,
        changes: &mut Changes,
    ) -> Result<(), RuntimeError> {
        let outbound = &result.outbound;
        match outcome {
            SendOutcome::Accepted { .. } => {}
            SendOutcome::Permanent { code, .. } => {
                self.provider_opt_out(&outbound.to, code, now, changes)?;
            }
            SendOutcome::Transient { .. } | SendOutcome::Throttled { .. } => return Ok(()),
        }
        let entry = TimelineEntry {
            seq: self.store.generate_id()?,
            at: now,
            kind: EntryKind::Campaign {
                campaign: outbound.campaign,
                recipient: outbound.recipient,
                step_id: outbound.step_id.clone(),
                pc: outbound.pc,
                attempt: outbound.attempt,
                text: outbound.body.clone(),
            },
        };
        changes.put_timeline(&outbound.from, &outbound.to, &entry);
        Ok(())
    }

    /// A delivery receipt for a conversation message; `false` when the provider id is not one.
    pub(crate) fn conversation_receipt(
        &self,
        provider_id: &str,
        update: &DeliveryUpdate,
        changes: &mut Changes,
    ) -> Result<bool, RuntimeError> {
        let Some(key) = self.store.conversation_receipt(provider_id)? else {
            return Ok(false);
        };
        let Some(mut entry) = self.store.timeline_entry(&key)? else {
            return Ok(true);
        };
        if let EntryKind::Outbound(message) = &mut entry.kind {
            let status = update.status.outbound_status();
            if status.stage() > message.status.stage() {
                message.status = status;
                if status == OutboundStatus::Failed {
                    let reason = update.reason();
                    message.error = Some(format!("{}: {}", reason.code, reason.message));
                }
                changes.put(
                    crate::store::Table::Timeline,
                    &key,
                    crate::records::encode(&entry),
                );
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use switchboard_model::check::DEFAULT_ALLOWED_HOURS;

    use super::*;

    fn utc(hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 15, hour, minute, 0)
            .single()
            .expect("a valid instant")
    }

    #[test]
    fn inside_the_allowed_hours_nothing_is_held() {
        // 15:00 UTC is 10:00 in New York (EST): open.
        let now = utc(15, 0);
        let held = held_until(
            Some("America/New_York"),
            Tz::UTC,
            DEFAULT_ALLOWED_HOURS,
            now,
        );
        assert_eq!(held, None);
    }

    #[test]
    fn quiet_hours_hold_until_the_contacts_morning() {
        // 03:00 UTC is 22:00 the day before in New York: held until 08:00 EST = 13:00 UTC.
        let now = utc(3, 0);
        let held = held_until(
            Some("America/New_York"),
            Tz::UTC,
            DEFAULT_ALLOWED_HOURS,
            now,
        );
        assert_eq!(held, Some(utc(13, 0)));
    }

    #[test]
    fn an_unknown_or_missing_timezone_falls_back_to_the_default() {
        // 06:30 UTC is 07:30 in Paris (CET): held until 08:00 CET = 07:00 UTC.
        let now = utc(6, 30);
        let paris = chrono_tz::Europe::Paris;
        for timezone in [None, Some("Mars/Olympus_Mons")] {
            let held = held_until(timezone, paris, DEFAULT_ALLOWED_HOURS, now);
            assert_eq!(held, Some(utc(7, 0)), "timezone {timezone:?}");
        }
        // The contact's own timezone wins over the default: 06:30 UTC is 14:30 in Singapore.
        let held = held_until(Some("Asia/Singapore"), paris, DEFAULT_ALLOWED_HOURS, now);
        assert_eq!(held, None);
    }
}
