//! `/metrics` in the Prometheus text format: messages by outcome, webhooks by outcome, the
//! engine's queue depth, API latency as a histogram. Counters are lock-free atomics bumped
//! where things happen; the page is rendered on request.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use switchboard_runtime::records::MessageStatus;

/// Upper bounds of the latency histogram's buckets, in seconds.
const LATENCY_BUCKETS: [f64; 11] = [
    0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// How a webhook request ended.
#[derive(Debug, Clone, Copy)]
pub enum WebhookOutcome {
    /// Parsed and applied.
    Accepted,
    /// Refused: the signature is missing or wrong.
    BadSignature,
    /// Refused: not understood, or too large.
    Malformed,
    /// For no provider instance we have.
    UnknownInstance,
    /// The plugin failed.
    PluginError,
}

impl WebhookOutcome {
    const ALL: [WebhookOutcome; 5] = [
        WebhookOutcome::Accepted,
        WebhookOutcome::BadSignature,
        WebhookOutcome::Malformed,
        WebhookOutcome::UnknownInstance,
        WebhookOutcome::PluginError,
    ];

    fn label(self) -> &'static str {
        match self {
            WebhookOutcome::Accepted => "accepted",
            WebhookOutcome::BadSignature => "bad_signature",
            WebhookOutcome::Malformed => "malformed",
            WebhookOutcome::UnknownInstance => "unknown_instance",
            WebhookOutcome::PluginError => "plugin_error",
        }
    }
}

/// The daemon's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    intents: AtomicU64,
    sent: AtomicU64,
    delivered: AtomicU64,
    failed: AtomicU64,
    unknown: AtomicU64,
    webhooks: [AtomicU64; WebhookOutcome::ALL.len()],
    receipts: AtomicU64,
    inbound: AtomicU64,
    requests: AtomicU64,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_micros: AtomicU64,
}

impl Metrics {
    /// A message record was written with this status.
    pub fn count_message(&self, status: MessageStatus) {
        let counter = match status {
            MessageStatus::Sending => &self.intents,
            MessageStatus::Sent => &self.sent,
            MessageStatus::Delivered => &self.delivered,
            MessageStatus::Failed => &self.failed,
            MessageStatus::Unknown => &self.unknown,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A webhook request ended so.
    pub fn count_webhook(&self, outcome: WebhookOutcome) {
        if let Some(counter) = self.webhooks.get(outcome as usize) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Webhook events applied: delivery receipts and inbound messages.
    pub fn count_webhook_events(&self, receipts: u64, inbound: u64) {
        self.receipts.fetch_add(receipts, Ordering::Relaxed);
        self.inbound.fetch_add(inbound, Ordering::Relaxed);
    }

    /// An API request took `took`.
    pub fn observe_request(&self, took: Duration) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let seconds = took.as_secs_f64();
        for (bound, counter) in LATENCY_BUCKETS.iter().zip(&self.latency_buckets) {
            if seconds <= *bound {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.latency_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// The Prometheus text page; `queue_depth` is the engine's waiting jobs.
    pub fn render(&self, queue_depth: usize) -> String {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let mut page = String::new();
        let _ = writeln!(
            page,
            "# HELP switchboard_messages_total Message records written, by status.\n\
             # TYPE switchboard_messages_total counter"
        );
        for (status, counter) in [
            ("sending", &self.intents),
            ("sent", &self.sent),
            ("delivered", &self.delivered),
            ("failed", &self.failed),
            ("unknown", &self.unknown),
        ] {
            let _ = writeln!(
                page,
                "switchboard_messages_total{{status=\"{status}\"}} {}",
                load(counter)
            );
        }
        let _ = writeln!(
            page,
            "# HELP switchboard_webhook_requests_total Provider webhook requests, by outcome.\n\
             # TYPE switchboard_webhook_requests_total counter"
        );
        for (outcome, counter) in WebhookOutcome::ALL.iter().zip(&self.webhooks) {
            let _ = writeln!(
                page,
                "switchboard_webhook_requests_total{{outcome=\"{}\"}} {}",
                outcome.label(),
                load(counter)
            );
        }
        let _ = writeln!(
            page,
            "# HELP switchboard_webhook_events_total Events from provider webhooks, by kind.\n\
             # TYPE switchboard_webhook_events_total counter\n\
             switchboard_webhook_events_total{{kind=\"status\"}} {}\n\
             switchboard_webhook_events_total{{kind=\"inbound\"}} {}",
            load(&self.receipts),
            load(&self.inbound)
        );
        let _ = writeln!(
            page,
            "# HELP switchboard_engine_queue_depth Jobs waiting for the engine thread.\n\
             # TYPE switchboard_engine_queue_depth gauge\n\
             switchboard_engine_queue_depth {queue_depth}"
        );
        let _ = writeln!(
            page,
            "# HELP switchboard_http_request_duration_seconds API request latency.\n\
             # TYPE switchboard_http_request_duration_seconds histogram"
        );
        for (bound, counter) in LATENCY_BUCKETS.iter().zip(&self.latency_buckets) {
            let _ = writeln!(
                page,
                "switchboard_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                load(counter)
            );
        }
        let requests = load(&self.requests);
        let _ = writeln!(
            page,
            "switchboard_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {requests}\n\
             switchboard_http_request_duration_seconds_sum {}\n\
             switchboard_http_request_duration_seconds_count {requests}",
            load(&self.latency_micros) as f64 / 1e6
        );
        page
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_counts_messages_webhooks_and_latency() {
        let metrics = Metrics::default();
        metrics.count_message(MessageStatus::Sent);
        metrics.count_message(MessageStatus::Sent);
        metrics.count_message(MessageStatus::Failed);
        metrics.count_webhook(WebhookOutcome::BadSignature);
        metrics.observe_request(Duration::from_millis(3));
        metrics.observe_request(Duration::from_millis(300));
        let page = metrics.render(7);
        assert!(page.contains("switchboard_messages_total{status=\"sent\"} 2\n"));
        assert!(page.contains("switchboard_messages_total{status=\"failed\"} 1\n"));
        assert!(page.contains("switchboard_webhook_requests_total{outcome=\"bad_signature\"} 1\n"));
        assert!(page.contains("switchboard_engine_queue_depth 7\n"));
        assert!(
            page.contains("switchboard_http_request_duration_seconds_bucket{le=\"0.005\"} 1\n")
        );
        assert!(page.contains("switchboard_http_request_duration_seconds_bucket{le=\"0.5\"} 2\n"));
        assert!(page.contains("switchboard_http_request_duration_seconds_count 2\n"));
    }
}
