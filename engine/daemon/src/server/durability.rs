//! Group commit for webhooks: a webhook is answered only once its events are on disk, and a
//! flush of the store costs a disk sync, so one flusher thread syncs for every request that
//! asked since its last sync. Under load, thousands of webhooks share a handful of syncs.

use std::sync::mpsc::{Receiver, Sender, channel};

use switchboard_runtime::store::Store;
use tokio::sync::oneshot;

/// A request for a flush, answered when one that started after it has finished.
type Waiter = oneshot::Sender<Result<(), String>>;

/// The flusher's handle.
#[derive(Debug, Clone)]
pub struct Durability {
    requests: Sender<Waiter>,
}

impl Durability {
    /// Starts the flusher thread for `store`; it ends when every handle is dropped.
    pub fn start(store: Store) -> std::io::Result<Self> {
        let (requests, inbox) = channel::<Waiter>();
        std::thread::Builder::new()
            .name("switchboard-flush".into())
            .spawn(move || flush_loop(&store, &inbox))?;
        Ok(Self { requests })
    }

    /// Resolves once everything written before the call is durable.
    pub async fn flushed(&self) -> Result<(), String> {
        let (waiter, done) = oneshot::channel();
        self.requests
            .send(waiter)
            .map_err(|_| "the flusher has stopped".to_string())?;
        done.await
            .unwrap_or_else(|_| Err("the flusher has stopped".into()))
    }
}

fn flush_loop(store: &Store, inbox: &Receiver<Waiter>) {
    while let Ok(first) = inbox.recv() {
        // Everyone who asked before this sync starts is served by it.
        let mut waiting = vec![first];
        waiting.extend(inbox.try_iter());
        let outcome = store.flush().map_err(|error| error.to_string());
        for waiter in waiting {
            let _ = waiter.send(outcome.clone());
        }
    }
}
