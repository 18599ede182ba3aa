//! Handing intents to the provider: concurrently across sender numbers, in order per number;
//! and the message records before and after the provider's answer.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::provider::{Provider, SendOutcome};
use crate::records::{MessageRecord, MessageStatus, Outbound, Reason};

/// Calls the provider for every intent. Messages from different sender numbers go out
/// concurrently (each number has its own rate limit); one number's messages keep their order.
pub(crate) fn send_all(
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
pub(crate) fn intent(outbound: Outbound, now: DateTime<Utc>) -> MessageRecord {
    MessageRecord {
        outbound,
        status: MessageStatus::Sending,
        provider_id: None,
        error: None,
        created_at: now,
        answered_at: None,
        status_at: None,
    }
}

/// The intent with the provider's answer.
pub(crate) fn answered(
    intent: &MessageRecord,
    outcome: &SendOutcome,
    now: DateTime<Utc>,
) -> MessageRecord {
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
        status_at: None,
    }
}
