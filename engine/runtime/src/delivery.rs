//! Delivery receipts: a provider's report on a message it accepted moves the message record
//! forward (sent → delivered or failed, never back), with its step's statistics; and the
//! recipient's status with it when that message is the recipient's latest news.
//!
//! Carriers retry webhooks and reports arrive out of order, so applying a receipt is
//! idempotent: a repeat, or a late `sent` after `delivered`, changes nothing.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::engine::{Runtime, RuntimeError};
use crate::events::Pending;
use crate::records::{
    CampaignId, MessageRecord, MessageStatus, Reason, RecipientSeq, RecipientStatus,
};
use crate::store::Changes;

/// What a provider reported about a message. (A provider's `queued` tells no more than the
/// acceptance did, and its `unknown` tells nothing: the caller drops those.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Handed to the carrier.
    Sent,
    /// Delivered to the handset.
    Delivered,
    /// The carrier could not deliver it.
    Undelivered,
    /// The provider failed to send it.
    Failed,
}

impl DeliveryStatus {
    /// The message status the report means: undelivered is failed.
    pub fn message_status(self) -> MessageStatus {
        match self {
            DeliveryStatus::Sent => MessageStatus::Sent,
            DeliveryStatus::Delivered => MessageStatus::Delivered,
            DeliveryStatus::Undelivered | DeliveryStatus::Failed => MessageStatus::Failed,
        }
    }

    /// The conversation message status the report means, as [`Self::message_status`].
    pub fn outbound_status(self) -> crate::conversation::OutboundStatus {
        use crate::conversation::OutboundStatus;
        match self.message_status() {
            MessageStatus::Delivered => OutboundStatus::Delivered,
            MessageStatus::Failed => OutboundStatus::Failed,
            _ => OutboundStatus::Sent,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Undelivered => "undelivered",
            DeliveryStatus::Failed => "failed",
        }
    }
}

/// A delivery report for one message, from a provider webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryUpdate {
    /// What happened.
    pub status: DeliveryStatus,
    /// The provider's (or carrier's) error code, for a failure.
    pub error_code: Option<String>,
    /// The provider's text, for a failure.
    pub error_message: Option<String>,
}

impl DeliveryUpdate {
    /// A report with no error.
    pub fn new(status: DeliveryStatus) -> Self {
        Self {
            status,
            error_code: None,
            error_message: None,
        }
    }

    /// Why the message failed, as recorded (the provider's words where it gave them).
    pub(crate) fn reason(&self) -> Reason {
        let status = self.status.as_str();
        Reason {
            code: self
                .error_code
                .clone()
                .unwrap_or_else(|| status.to_string()),
            message: self
                .error_message
                .clone()
                .unwrap_or_else(|| format!("the provider reported the message {status}")),
        }
    }
}

/// What a delivery report did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryApplied {
    /// The message's campaign.
    pub campaign: CampaignId,
    /// The message's recipient.
    pub recipient: RecipientSeq,
    /// The message's id in the sequence.
    pub step_id: String,
    /// The message's status now (unchanged when the report was old news).
    pub status: MessageStatus,
    /// Whether the report changed the message (false for a repeat or a late report).
    pub changed: bool,
    /// The recipient's new status, when the report changed it.
    pub recipient_status: Option<RecipientStatus>,
}

/// Which message a receipt was applied to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipted {
    /// A campaign's message.
    Campaign(DeliveryApplied),
    /// A conversation message (an automatic, agent or compliance reply).
    Conversation,
}

impl Receipted {
    /// What it did to a campaign message; `None` for a conversation message.
    pub fn campaign(self) -> Option<DeliveryApplied> {
        match self {
            Receipted::Campaign(applied) => Some(applied),
            Receipted::Conversation => None,
        }
    }
}

/// How far along a message is: a report only ever moves it to a later stage.
fn stage(status: MessageStatus) -> u8 {
    match status {
        MessageStatus::Sending => 0,
        // An unknown message that a receipt names did go out.
        MessageStatus::Sent | MessageStatus::Unknown => 1,
        MessageStatus::Delivered | MessageStatus::Failed => 2,
    }
}

impl Runtime {
    /// Applies a provider's delivery report for the message it knows as `provider_id`.
    /// `Ok(None)` when no message has that id (another system's message, or a deleted
    /// campaign's): the caller logs it. Works whatever the campaign's state: receipts keep
    /// coming after a campaign completes.
    pub fn apply_delivery(
        &mut self,
        provider_id: &str,
        update: DeliveryUpdate,
    ) -> Result<Option<Receipted>, RuntimeError> {
        let mut applied = self.apply_deliveries(vec![(provider_id.to_string(), update)])?;
        Ok(applied.pop().flatten())
    }

    /// Applies many reports at once, in as few transactions as their order allows (one,
    /// unless two reports concern the same recipient: then the first ones are committed
    /// before the next is read). Answers in the reports' order, as
    /// [`Runtime::apply_delivery`] does for one.
    pub fn apply_deliveries(
        &mut self,
        reports: Vec<(String, DeliveryUpdate)>,
    ) -> Result<Vec<Option<Receipted>>, RuntimeError> {
        let now = self.clock.now();
        let mut answers = Vec::with_capacity(reports.len());
        let mut changes = Changes::new();
        let mut events = self.pending_events();
        let mut touched: HashSet<(CampaignId, RecipientSeq)> = HashSet::new();
        for (provider_id, update) in reports {
            let Some(mut before) = self.store.message_by_provider_id(&provider_id)? else {
                let known = self.conversation_receipt(&provider_id, &update, &mut changes)?;
                answers.push(known.then_some(Receipted::Conversation));
                continue;
            };
            let recipient = (before.outbound.campaign, before.outbound.recipient);
            if !touched.insert(recipient) {
                // This recipient changed earlier in the batch: commit, then read afresh.
                self.store.commit(std::mem::take(&mut changes))?;
                self.publish(std::mem::replace(&mut events, self.pending_events()));
                touched.clear();
                touched.insert(recipient);
                match self.store.message_by_provider_id(&provider_id)? {
                    Some(fresh) => before = fresh,
                    None => {
                        answers.push(None);
                        continue;
                    }
                }
            }
            answers.push(Some(Receipted::Campaign(self.plan_delivery(
                &before,
                &update,
                now,
                &mut changes,
                &mut events,
            )?)));
        }
        self.store.commit(changes)?;
        self.publish(events);
        Ok(answers)
    }

    /// What one report changes, added to `changes`.
    fn plan_delivery(
        &self,
        before: &MessageRecord,
        update: &DeliveryUpdate,
        now: chrono::DateTime<chrono::Utc>,
        changes: &mut Changes,
        events: &mut Pending,
    ) -> Result<DeliveryApplied, RuntimeError> {
        let status = update.status.message_status();
        let mut applied = DeliveryApplied {
            campaign: before.outbound.campaign,
            recipient: before.outbound.recipient,
            step_id: before.outbound.step_id.clone(),
            status: before.status,
            changed: false,
            recipient_status: None,
        };
        if stage(status) <= stage(before.status) {
            return Ok(applied);
        }
        let mut after = before.clone();
        after.status = status;
        after.status_at = Some(now);
        if status == MessageStatus::Failed {
            after.error = Some(update.reason());
        }
        changes.put_message(Some(before), &after);
        events.message(&after, now);
        applied.recipient_status = self.follow_on_recipient(&after, update, changes, events)?;
        applied.status = status;
        applied.changed = true;
        Ok(applied)
    }

    /// Moves the recipient on with its message: only a run whose status is `sent`, and only
    /// for the run's latest message (news about an earlier one is not the recipient's).
    fn follow_on_recipient(
        &self,
        message: &MessageRecord,
        update: &DeliveryUpdate,
        changes: &mut Changes,
        events: &mut Pending,
    ) -> Result<Option<RecipientStatus>, RuntimeError> {
        let o = &message.outbound;
        let (Some(recipient), Some(run)) = (
            self.store.recipient(o.campaign, o.recipient)?,
            self.store.run(o.campaign, o.recipient)?,
        ) else {
            return Ok(None);
        };
        if run.status != RecipientStatus::Sent || !self.is_latest(message)? {
            return Ok(None);
        }
        let mut next = run.clone();
        match message.status {
            MessageStatus::Delivered => next.status = RecipientStatus::Delivered,
            MessageStatus::Failed => {
                next.status = RecipientStatus::Failed;
                next.reason = Some(update.reason());
            }
            _ => return Ok(None),
        }
        changes.put_run(o.campaign, o.recipient, &recipient.phone, &run, &next);
        events.run(o.campaign, o.recipient, &run, &next);
        Ok(Some(next.status))
    }

    /// Whether `message` is its recipient's most recent message.
    fn is_latest(&self, message: &MessageRecord) -> Result<bool, RuntimeError> {
        let o = &message.outbound;
        let key = |m: &MessageRecord| (m.outbound.pc, m.outbound.attempt, m.created_at);
        Ok(self
            .store
            .latest_message(o.campaign, o.recipient)?
            .is_some_and(|latest| key(&latest) == key(message)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_only_move_a_message_forward() {
        use MessageStatus as M;
        let moves = |from: M, report: DeliveryStatus| stage(report.message_status()) > stage(from);
        assert!(moves(M::Sent, DeliveryStatus::Delivered));
        assert!(moves(M::Sent, DeliveryStatus::Undelivered));
        assert!(!moves(M::Sent, DeliveryStatus::Sent), "a repeat");
        assert!(!moves(M::Delivered, DeliveryStatus::Sent), "late news");
        assert!(!moves(M::Delivered, DeliveryStatus::Failed), "final");
        assert!(!moves(M::Failed, DeliveryStatus::Delivered), "final");
    }

    #[test]
    fn a_failure_keeps_the_providers_words_or_says_what_was_reported() {
        let reported = DeliveryUpdate {
            status: DeliveryStatus::Undelivered,
            error_code: Some("30003".into()),
            error_message: Some("Unreachable destination handset".into()),
        };
        assert_eq!(reported.reason().code, "30003");
        let bare = DeliveryUpdate::new(DeliveryStatus::Undelivered).reason();
        assert_eq!(
            (bare.code.as_str(), bare.message.as_str()),
            (
                "undelivered",
                "the provider reported the message undelivered"
            )
        );
    }
}
