//! Live events: the runtime's committed changes (campaign states, message statuses) and the
//! workflow reloads, fanned out to every `/v1/events` Server-Sent Events stream, filtered by
//! campaign on request. A slow reader that falls behind is told how many events it missed
//! rather than holding the others back.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use switchboard_runtime::events::{Observer, RuntimeEvent};
use switchboard_runtime::records::CampaignId;
use tokio::sync::broadcast;

use super::metrics::Metrics;
use super::realtime::Realtime;
use super::state::Shared;

/// Events kept for readers that are behind.
const BACKLOG: usize = 4_096;

/// One event, serialised once for every reader.
#[derive(Debug)]
pub struct Published {
    /// Sequence number (the SSE `id`).
    pub id: u64,
    /// The campaign it concerns, if any (for the filter).
    pub campaign: Option<CampaignId>,
    /// The SSE event name: `campaign`, `message`, `recipient`, `workflow`.
    pub kind: &'static str,
    /// The JSON payload.
    pub data: String,
}

/// The fan-out of live events.
#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<Published>>,
    next_id: Arc<AtomicU64>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    /// An empty bus.
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(BACKLOG);
        Self {
            sender,
            next_id: Arc::new(AtomicU64::new(1)),
        }
    }

    /// Whether any stream is open (events are not even serialised for nobody).
    pub fn has_readers(&self) -> bool {
        self.sender.receiver_count() > 0
    }

    /// Sends an event to every current reader (none listening is fine).
    pub fn publish(&self, campaign: Option<CampaignId>, kind: &'static str, data: String) {
        if !self.has_readers() {
            return;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let _ = self.sender.send(Arc::new(Published {
            id,
            campaign,
            kind,
            data,
        }));
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
        self.sender.subscribe()
    }
}

/// Feeds the runtime's events to the bus, the metrics and the live rates.
#[derive(Debug)]
pub struct BusObserver {
    /// Where events go.
    pub bus: EventBus,
    /// What is counted.
    pub metrics: Arc<Metrics>,
    /// Send rates and errors for `/v1/realtime`.
    pub realtime: Arc<Realtime>,
}

impl Observer for BusObserver {
    fn notify(&self, event: &RuntimeEvent) {
        self.realtime.observe(event);
        let (campaign, kind) = match event {
            RuntimeEvent::Campaign { campaign, .. } => (Some(*campaign), "campaign"),
            RuntimeEvent::Message {
                campaign, status, ..
            } => {
                self.metrics.count_message(*status);
                (Some(*campaign), "message")
            }
            RuntimeEvent::Recipient { campaign, .. } => (Some(*campaign), "recipient"),
            RuntimeEvent::Conversation { campaign, .. } => (*campaign, "conversation"),
            RuntimeEvent::ConversationMessage { .. } => (None, "conversation_message"),
        };
        if self.bus.has_readers()
            && let Ok(data) = serde_json::to_string(event)
        {
            self.bus.publish(campaign, kind, data);
        }
    }
}

/// `GET /v1/events` query.
#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    /// Only this campaign's events.
    pub campaign: Option<CampaignId>,
}

/// `GET /v1/events`: the live event stream.
pub async fn stream(
    State(state): State<Shared>,
    Query(query): Query<EventsQuery>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = state.events.subscribe();
    let filter = query.campaign;
    let events = futures_util::stream::unfold(receiver, move |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(event) => {
                    if filter.is_some() && event.campaign != filter {
                        continue;
                    }
                    let sse = Event::default()
                        .id(event.id.to_string())
                        .event(event.kind)
                        .data(event.data.clone());
                    return Some((Ok(sse), receiver));
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    let sse = Event::default()
                        .event("lagged")
                        .data(format!("{{\"missed\":{missed}}}"));
                    return Some((Ok(sse), receiver));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
