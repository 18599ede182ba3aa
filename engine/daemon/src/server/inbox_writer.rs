//! Group commit for webhooks: a webhook is answered only once its events are on disk. One
//! writer thread takes the events of every webhook that arrived since its last round, writes
//! them in one store transaction and makes them durable with one sync, then answers them all.
//! Under load thousands of webhooks share a handful of transactions and syncs, and no request
//! waits on a blocking-pool thread of its own.

use std::sync::mpsc::{Receiver, Sender, channel};

use chrono::{DateTime, Utc};
use switchboard_runtime::inbox::InboxEvent;
use switchboard_runtime::store::Store;
use tokio::sync::oneshot;

/// Webhooks gathered into one transaction at most: a bound on one round's latency.
const MAX_WEBHOOKS_PER_ROUND: usize = 4_096;

/// A webhook's events, and who waits for them to be durable.
struct Pending {
    received_at: DateTime<Utc>,
    events: Vec<InboxEvent>,
    done: oneshot::Sender<Result<(), String>>,
}

/// The writer's handle.
#[derive(Debug, Clone)]
pub struct InboxWriter {
    requests: Sender<Pending>,
}

impl InboxWriter {
    /// Starts the writer thread for `store`; it ends when every handle is dropped.
    pub fn start(store: Store) -> std::io::Result<Self> {
        let (requests, inbox) = channel::<Pending>();
        std::thread::Builder::new()
            .name("switchboard-inbox".into())
            .spawn(move || write_loop(&store, &inbox))?;
        Ok(Self { requests })
    }

    /// Writes a webhook's events to the store's inbox; resolves once they are durable.
    pub async fn record(
        &self,
        events: Vec<InboxEvent>,
        received_at: DateTime<Utc>,
    ) -> Result<(), String> {
        let (done, answer) = oneshot::channel();
        self.requests
            .send(Pending {
                received_at,
                events,
                done,
            })
            .map_err(|_| "the inbox writer has stopped".to_string())?;
        answer
            .await
            .unwrap_or_else(|_| Err("the inbox writer has stopped".into()))
    }
}

fn write_loop(store: &Store, inbox: &Receiver<Pending>) {
    while let Ok(first) = inbox.recv() {
        // Everyone who asked before this round starts is served by it.
        let mut round = vec![first];
        round.extend(inbox.try_iter().take(MAX_WEBHOOKS_PER_ROUND - 1));
        let mut waiters = Vec::with_capacity(round.len());
        let webhooks: Vec<_> = round
            .into_iter()
            .map(|pending| {
                waiters.push(pending.done);
                (pending.received_at, pending.events)
            })
            .collect();
        let outcome = store
            .enqueue_inbox_batch(webhooks)
            .and_then(|()| store.flush())
            .map_err(|error| error.to_string());
        for waiter in waiters {
            let _ = waiter.send(outcome.clone());
        }
    }
}
