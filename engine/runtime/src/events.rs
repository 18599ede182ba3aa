//! Live events for dashboards: the runtime tells an [`Observer`] what just became true — a
//! campaign's new state, a message record written (intent, provider answer, delivery
//! receipt), a recipient's new status.
//!
//! An event is announced only after the commit that makes it true succeeded: the runtime
//! collects a batch's events in a [`Pending`] beside its [`crate::store::Changes`] and
//! publishes them after [`crate::store::Store::commit`]. A failed commit drops them. With no
//! observer set, nothing is collected.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::engine::Runtime;
use crate::lifecycle::CampaignState;
use crate::records::{
    CampaignId, MessageRecord, MessageStatus, RecipientSeq, RecipientStatus, RunState,
};

/// Something that just became true in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RuntimeEvent {
    /// A campaign was created or changed state (start, pause, complete, ...).
    Campaign {
        /// Which campaign.
        campaign: CampaignId,
        /// Its state now.
        state: CampaignState,
        /// When.
        at: DateTime<Utc>,
    },
    /// A message record was written: an intent (`sending`), the provider's answer, or a
    /// delivery receipt's news.
    Message {
        /// Which campaign.
        campaign: CampaignId,
        /// Which recipient.
        recipient: RecipientSeq,
        /// The message's id in the sequence.
        step_id: String,
        /// Its status now.
        status: MessageStatus,
        /// The provider's id for it, once accepted.
        provider_id: Option<String>,
        /// The number it is sent from (one of a pool's, for a pool).
        from: String,
        /// Why it failed, for a failed message.
        error: Option<crate::records::Reason>,
        /// When.
        at: DateTime<Utc>,
    },
    /// A recipient's status changed as the runtime worked on it (a send, a reply, a receipt).
    /// Bulk operator actions (retry failed, a list import) announce a campaign event instead.
    Recipient {
        /// Which campaign.
        campaign: CampaignId,
        /// Which recipient.
        recipient: RecipientSeq,
        /// Its status now.
        status: RecipientStatus,
    },
    /// A conversation changed: a message came in, it was routed, assigned, closed...
    Conversation {
        /// Which.
        conversation: u64,
        /// The contact.
        contact: String,
        /// Its state now.
        state: crate::conversation::ConversationState,
        /// Its queue now.
        queue: Option<String>,
        /// Its agent now.
        assignee: Option<String>,
        /// What happened (`inbound`, `routed`, `assigned`, `agent_reply`, `opted_out`, ...).
        what: String,
        /// Its campaign, when linked (the campaign filter of the stream applies).
        campaign: Option<CampaignId>,
        /// When.
        at: DateTime<Utc>,
    },
    /// A conversation message's status changed (sent, failed, suppressed...).
    ConversationMessage {
        /// Which conversation.
        conversation: u64,
        /// The timeline entry.
        seq: u64,
        /// Its status now.
        status: crate::conversation::OutboundStatus,
        /// When.
        at: DateTime<Utc>,
    },
}

/// Receives the runtime's events. Called on the runtime's thread, after each commit, while
/// the runtime is busy: hand the event on (a channel) rather than doing work here.
pub trait Observer: Send + Sync + std::fmt::Debug {
    /// One event, in commit order.
    fn notify(&self, event: &RuntimeEvent);
}

/// The events of one batch, held until its commit succeeded.
#[derive(Debug)]
pub(crate) struct Pending {
    events: Vec<RuntimeEvent>,
    /// Whether anyone listens: if not, nothing is built or kept.
    listening: bool,
}

impl Pending {
    /// Holds an event (built only when someone listens).
    pub(crate) fn push(&mut self, event: impl FnOnce() -> RuntimeEvent) {
        if self.listening {
            self.events.push(event());
        }
    }

    /// A message record was written at `at`.
    pub(crate) fn message(&mut self, message: &MessageRecord, at: DateTime<Utc>) {
        self.push(|| RuntimeEvent::Message {
            campaign: message.outbound.campaign,
            recipient: message.outbound.recipient,
            step_id: message.outbound.step_id.clone(),
            status: message.status,
            provider_id: message.provider_id.clone(),
            from: message.outbound.from.clone(),
            error: message.error.clone(),
            at,
        });
    }

    /// A conversation changed (`what` says how).
    pub(crate) fn conversation(
        &mut self,
        conversation: &crate::conversation::ConversationRecord,
        what: &str,
        at: DateTime<Utc>,
    ) {
        self.push(|| RuntimeEvent::Conversation {
            conversation: conversation.id,
            contact: conversation.contact.clone(),
            state: conversation.state,
            queue: conversation.queue.clone(),
            assignee: conversation.assignee.clone(),
            what: what.to_string(),
            campaign: conversation.campaign.as_ref().map(|link| link.campaign),
            at,
        });
    }

    /// A run went from `before` to `after` (an event only if its status changed).
    pub(crate) fn run(
        &mut self,
        campaign: CampaignId,
        recipient: RecipientSeq,
        before: &RunState,
        after: &RunState,
    ) {
        if before.status != after.status {
            self.push(|| RuntimeEvent::Recipient {
                campaign,
                recipient,
                status: after.status,
            });
        }
    }
}

impl Runtime {
    /// Sends every event from now on to `observer` (replacing the previous one).
    pub fn set_observer(&mut self, observer: Arc<dyn Observer>) {
        self.observer = Some(observer);
    }

    /// An empty batch of events.
    pub(crate) fn pending_events(&self) -> Pending {
        Pending {
            events: Vec::new(),
            listening: self.observer.is_some(),
        }
    }

    /// Announces a committed batch's events.
    pub(crate) fn publish(&self, pending: Pending) {
        if let Some(observer) = &self.observer {
            for event in &pending.events {
                observer.notify(event);
            }
        }
    }

    /// Announces a campaign's state (call after the commit that changed it).
    pub(crate) fn announce_state(&self, campaign: CampaignId) {
        let mut pending = self.pending_events();
        if let Some(loaded) = self.campaigns.get(&campaign) {
            let state = loaded.record.state;
            let at = self.clock.now();
            pending.push(|| RuntimeEvent::Campaign {
                campaign,
                state,
                at,
            });
        }
        self.publish(pending);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialize_with_their_type() {
        let event = RuntimeEvent::Campaign {
            campaign: 7,
            state: CampaignState::Paused,
            at: DateTime::<Utc>::UNIX_EPOCH,
        };
        assert_eq!(
            serde_json::to_value(&event).expect("json"),
            serde_json::json!({
                "type": "campaign",
                "campaign": 7,
                "state": "paused",
                "at": "1970-01-01T00:00:00Z"
            })
        );
        let event = RuntimeEvent::Message {
            campaign: 7,
            recipient: 3,
            step_id: "welcome".into(),
            status: MessageStatus::Delivered,
            provider_id: Some("SM1".into()),
            from: "+14165550100".into(),
            error: None,
            at: DateTime::<Utc>::UNIX_EPOCH,
        };
        assert_eq!(
            serde_json::to_value(&event).expect("json")["status"],
            "delivered"
        );
    }

    #[test]
    fn nothing_is_kept_when_no_one_listens() {
        let mut pending = Pending {
            events: Vec::new(),
            listening: false,
        };
        pending.push(|| unreachable!("not built without a listener"));
        assert!(pending.events.is_empty());
    }
}
