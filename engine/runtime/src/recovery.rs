//! Start-up recovery: interrupted sends reconciled (provider lookup, or `unknown` — never a
//! blind re-send), and rate limiters rebuilt from today's sends so a restart does not reset a
//! sender's budget.

use chrono::{DateTime, Utc};

use crate::dispatch::answered;
use crate::engine::{Runtime, RuntimeError};
use crate::lifecycle::CampaignState;
use crate::provider::{Lookup, SendOutcome};
use crate::records::{MessageRecord, MessageStatus, Phase, Reason, RecipientStatus};
use crate::store::Changes;

impl Runtime {
    /// Rebuilds the rate limiters from today's sends, so a restart does not reset a sender's
    /// per-minute or per-day budget.
    /// `pending` are the outbox's intents.
    pub(crate) fn restore_pacing(&mut self, pending: &[MessageRecord]) -> Result<(), RuntimeError> {
        let now = self.clock.now();
        let since = now
            .date_naive()
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
            .min(now - chrono::TimeDelta::minutes(1));
        let mut sent: Vec<(DateTime<Utc>, String, String, u32)> = Vec::new();
        let mut pending_by_campaign: std::collections::HashMap<_, Vec<_>> =
            std::collections::HashMap::new();
        for message in pending {
            pending_by_campaign
                .entry(message.outbound.campaign)
                .or_default()
                .push(message.clone());
        }
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
            let pending = pending_by_campaign.remove(&id).unwrap_or_default();
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

    /// Intents left from before a crash (`pending`, the outbox): confirmed by provider lookup,
    /// or marked unknown.
    pub(crate) fn reconcile(&mut self, pending: Vec<MessageRecord>) -> Result<(), RuntimeError> {
        let now = self.clock.now();
        for pending in pending {
            let outbound = &pending.outbound;
            let id = outbound.campaign;
            let (Some(recipient), Some(run)) = (
                self.store.recipient(id, outbound.recipient)?,
                self.store.run(id, outbound.recipient)?,
            ) else {
                continue;
            };
            let mut changes = Changes::new();
            let mut announced = self.pending_events();
            let replaced = self.store.answered_message(outbound)?;
            let mut next = run.clone();
            let result = match self.provider.lookup(outbound) {
                Some(Lookup::Found { provider_id }) => {
                    // The answer arrived after all: continue with the next step at the next tick.
                    next.sent += 1;
                    next.status = RecipientStatus::Sent;
                    next.attempt = 0;
                    next.pc += 1;
                    next.phase = Phase::Sleeping { until: now };
                    answered(&pending, &SendOutcome::Accepted { provider_id }, now)
                }
                Some(Lookup::NotFound) => {
                    // The provider never got it: retry as a new attempt (a new idempotency key).
                    let mut message = answered(&pending, &SendOutcome::Transient { code: "interrupted".into(), message: "interrupted by a restart before the provider answered; the provider has no record of it".into() }, now);
                    message.status = MessageStatus::Failed;
                    next.attempt += 1;
                    next.phase = Phase::Sleeping { until: now };
                    next.status = RecipientStatus::Scheduled;
                    message
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
                    next.phase = Phase::Done;
                    next.status = RecipientStatus::Unknown;
                    next.reason = message.error.clone();
                    message
                }
            };
            changes.record_result(&result, replaced.as_ref());
            announced.message(&result, now);
            changes.put_run(id, outbound.recipient, &recipient.phone, &run, &next);
            announced.run(id, outbound.recipient, &run, &next);
            self.store.commit(changes)?;
            self.publish(announced);
        }
        self.store.flush()?;
        Ok(())
    }
}
