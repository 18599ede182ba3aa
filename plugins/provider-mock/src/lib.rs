//! `mock`: a provider plugin that sends nowhere.
//!
//! Every outcome is a pure function of the plugin's settings and the
//! message's idempotency key, so the same message always gets the same
//! outcome, run after run, and tests can predict it:
//!
//! - `to` listed in `permanent-failure-numbers`, or more segments than
//!   `max-segments`: permanent failure;
//! - otherwise a number `t` in `[0, 1)` is drawn from a hash of `seed`, the
//!   idempotency key and the try number: `t < throttle-rate` is throttled
//!   (retry after `retry-after-ms`); the next try draws again, so a throttled
//!   message gets through eventually;
//! - otherwise a number `u` in `[0, 1)` is drawn from a hash of `seed` and the
//!   idempotency key alone: `u < failure-rate` is a transient failure (the
//!   engine's retry is a new attempt, with a new key), anything else is
//!   accepted with receipt `mock-<16 hex digits>`.
//!
//! An accepted message is delivered, or not: a third draw on the key against
//! `delivery-failure-rate` picks `undelivered`. With `callback-url` set, the
//! mock then plays the carrier's part: right after accepting a message it
//! POSTs to that URL (through the host's `fetch`, so the URL's host must be
//! granted) the webhook a carrier would send: the delivery status and, for a
//! share `reply-rate` of messages (a fourth draw), an inbound reply
//! `reply-text` from the recipient. `latency-ms` makes every send take that
//! long.
//!
//! `lookup` "has" every message whose draw is a success (it is not given the
//! recipient, so `permanent-failure-numbers` do not apply) and reports it
//! delivered. `parse-webhook` accepts a JSON body, one event or a list of
//! them; see [`WebhookEvent`]. When `webhook-token` is set, requests must
//! carry it in the `X-Mock-Token` header.
//!
//! The settings are described, as JSON Schema, in this crate's `plugin.toml`.

use serde::{Deserialize, Serialize};
use switchboard_plugin_sdk::settings::{self, Configured};
use switchboard_plugin_sdk::{
    self as sdk, Capabilities, DeliveryStatus, Event, InboundMessage, LookupResult, Message,
    PluginInfo, Provider, Receipt, SendError, StatusUpdate, WebhookError, WebhookRequest,
    signature,
};

/// Header that carries `webhook-token`.
pub const TOKEN_HEADER: &str = "x-mock-token";

/// The plugin's settings, parsed and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Share of messages that fail transiently, in `[0, 1]`.
    pub failure_rate: f64,
    /// Share of calls that are throttled, in `[0, 1]`, drawn per try.
    pub throttle_rate: f64,
    /// Recipients whose messages always fail permanently.
    pub permanent_failure_numbers: Vec<String>,
    /// `retry-after-ms` of throttled outcomes.
    pub retry_after_ms: u64,
    /// Mixed into every draw: change it to get other outcomes for the same keys.
    pub seed: String,
    /// Longest message accepted, in segments.
    pub max_segments: u32,
    /// Rate `describe` suggests, per second.
    pub rate_per_second: Option<f64>,
    /// Shared secret webhooks must carry, if any.
    pub webhook_token: Option<String>,
    /// How long each send takes, in milliseconds (at most [`MAX_LATENCY_MS`]).
    pub latency_ms: u64,
    /// Share of accepted messages that end `undelivered`, in `[0, 1]`.
    pub delivery_failure_rate: f64,
    /// Where the simulated carrier webhooks go, if anywhere.
    pub callback_url: Option<String>,
    /// Share of accepted messages the recipient answers, in `[0, 1]`.
    pub reply_rate: f64,
    /// What recipients answer.
    pub reply_text: String,
}

/// Longest `latency-ms` accepted: well under the host's call deadline.
pub const MAX_LATENCY_MS: u64 = 2_000;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            failure_rate: 0.0,
            throttle_rate: 0.0,
            permanent_failure_numbers: Vec::new(),
            retry_after_ms: 1_000,
            seed: String::new(),
            max_segments: 10,
            rate_per_second: Some(100.0),
            webhook_token: None,
            latency_ms: 0,
            delivery_failure_rate: 0.0,
            callback_url: None,
            reply_rate: 0.0,
            reply_text: "YES".into(),
        }
    }
}

impl Settings {
    /// Reads the settings through `get` (the host's `config-get`, or a map in
    /// tests). Blank values count as absent.
    pub fn from_config(get: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
        let get = |key: &str| settings::non_blank(get(key));
        let rate = |key: &str| settings::fraction(get(key), key).map(|share| share.unwrap_or(0.0));
        let defaults = Settings::default();
        let permanent_failure_numbers = get("permanent-failure-numbers")
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Settings {
            failure_rate: rate("failure-rate")?,
            throttle_rate: rate("throttle-rate")?,
            permanent_failure_numbers,
            retry_after_ms: settings::whole_number(get("retry-after-ms"), "retry-after-ms")?
                .unwrap_or(defaults.retry_after_ms),
            seed: get("seed").unwrap_or_default(),
            max_segments: settings::positive_integer(get("max-segments"), "max-segments")?
                .unwrap_or(defaults.max_segments),
            rate_per_second: settings::positive_number(get("rate-per-second"), "rate-per-second")?
                .or(defaults.rate_per_second),
            webhook_token: get("webhook-token"),
            latency_ms: match settings::whole_number(get("latency-ms"), "latency-ms")? {
                Some(ms) if ms > MAX_LATENCY_MS => {
                    return Err(format!("latency-ms: at most {MAX_LATENCY_MS}"));
                }
                ms => ms.unwrap_or(0),
            },
            delivery_failure_rate: rate("delivery-failure-rate")?,
            callback_url: settings::http_url(get("callback-url"), "callback-url")?,
            reply_rate: rate("reply-rate")?,
            reply_text: get("reply-text").unwrap_or(defaults.reply_text),
        })
    }

    /// A hash of the seed, the key and the try number (0 for the draws that
    /// do not depend on the try).
    fn hash(&self, idempotency_key: &str, try_number: u32) -> u64 {
        let mut state = Fnv1a::new();
        state.write(self.seed.as_bytes());
        state.write(&[0xff]); // cannot occur in UTF-8: seed and key stay apart
        state.write(idempotency_key.as_bytes());
        state.write(&[0xff]);
        state.write(&try_number.to_le_bytes());
        mix(state.finish())
    }

    /// What happens to try `try_number` of a message. `to` is `None` in
    /// lookups, which do not know it (nor the segments: 0).
    pub fn outcome(
        &self,
        idempotency_key: &str,
        try_number: u32,
        to: Option<&str>,
        segments: u32,
    ) -> Outcome {
        if let Some(to) = to
            && self.permanent_failure_numbers.iter().any(|n| n == to)
        {
            return Outcome::Permanent {
                code: "mock-blocked-number".into(),
                message: format!("{to} is in permanent-failure-numbers"),
            };
        }
        if segments > self.max_segments {
            return Outcome::Permanent {
                code: "mock-too-long".into(),
                message: format!("{segments} segments; max-segments is {}", self.max_segments),
            };
        }
        if try_number > 0 && fraction(self.hash(idempotency_key, try_number)) < self.throttle_rate {
            return Outcome::Throttled {
                retry_after_ms: self.retry_after_ms,
            };
        }
        let hash = self.hash(idempotency_key, 0);
        if fraction(hash) < self.failure_rate {
            Outcome::Transient
        } else {
            Outcome::Accepted {
                provider_message_id: format!("mock-{hash:016x}"),
            }
        }
    }
}

/// Draws that do not depend on the try use "try numbers" no call has.
const DELIVERY_DRAW: u32 = u32::MAX;
const REPLY_DRAW: u32 = u32::MAX - 1;

impl Settings {
    /// The final delivery status of an accepted message.
    pub fn delivery(&self, idempotency_key: &str) -> WebhookStatus {
        if fraction(self.hash(idempotency_key, DELIVERY_DRAW)) < self.delivery_failure_rate {
            WebhookStatus::Undelivered
        } else {
            WebhookStatus::Delivered
        }
    }

    /// The webhook events a carrier would send about an accepted message: its
    /// delivery status, and the recipient's reply when there is one.
    pub fn carrier_events(
        &self,
        message: &Message,
        provider_message_id: &str,
    ) -> Vec<WebhookEvent> {
        let status = self.delivery(&message.idempotency_key);
        let mut events = vec![WebhookEvent::Status {
            provider_message_id: provider_message_id.to_string(),
            status,
            error_code: matches!(status, WebhookStatus::Undelivered)
                .then(|| "mock-undelivered".to_string()),
            error_message: None,
            opt_out: None,
        }];
        let reply = self.hash(&message.idempotency_key, REPLY_DRAW);
        if matches!(status, WebhookStatus::Delivered) && fraction(reply) < self.reply_rate {
            events.push(WebhookEvent::Inbound {
                provider_message_id: format!("mock-in-{reply:016x}"),
                from: message.to.clone(),
                to: message.from.clone(),
                body: self.reply_text.clone(),
                media: Vec::new(),
                received_at_ms: None,
            });
        }
        events
    }
}

/// POSTs the carrier's webhook for an accepted message to `callback-url`. A
/// failure is logged: the message itself was accepted.
fn call_back(settings: &Settings, url: &str, message: &Message, provider_message_id: &str) {
    let events = settings.carrier_events(message, provider_message_id);
    let body = match serde_json::to_string(&events) {
        Ok(body) => body,
        Err(e) => return sdk::host::warn(&format!("mock callback: {e}")),
    };
    let mut request = sdk::http::Request::post(url).json(body);
    if let Some(token) = &settings.webhook_token {
        request = request.header(TOKEN_HEADER, token.as_str());
    }
    match request.send() {
        Ok(response) if response.is_success() => {}
        Ok(response) => {
            sdk::host::warn(&format!("mock callback to {url}: HTTP {}", response.status))
        }
        Err(e) => sdk::host::warn(&format!("mock callback to {url}: {e:?}")),
    }
}

/// What the mock does with a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Sent; the receipt carries this id.
    Accepted {
        /// `mock-<16 hex digits>`.
        provider_message_id: String,
    },
    /// Fails permanently.
    Permanent {
        /// Error code.
        code: String,
        /// Error message.
        message: String,
    },
    /// Fails transiently.
    Transient,
    /// Asks the engine to slow down.
    Throttled {
        /// Wait before the next attempt.
        retry_after_ms: u64,
    },
}

/// The top 53 bits of a hash as a fraction in `[0, 1)`.
fn fraction(hash: u64) -> f64 {
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

/// 64-bit FNV-1a: tiny, stable across platforms and releases (unlike
/// `std::hash`), which the determinism promise needs.
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The splitmix64 finalizer: spreads FNV's output over all 64 bits so that
/// nearby keys (`msg-1`, `msg-2`) get unrelated draws.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One event of a webhook body (`"type"` selects the kind; field names are
/// kebab-case, as in the WIT).
///
/// ```json
/// {"type": "inbound", "provider-message-id": "in-1", "from": "+15550001",
///  "to": "+15550002", "body": "STOP", "media": [], "received-at-ms": 1700000000000}
/// {"type": "status", "provider-message-id": "mock-…", "status": "delivered",
///  "error-code": null, "error-message": null, "opt-out": null}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "kebab-case",
    rename_all_fields = "kebab-case"
)]
pub enum WebhookEvent {
    /// A message from a recipient.
    Inbound {
        /// The provider's id of the inbound message.
        provider_message_id: String,
        /// Sender.
        from: String,
        /// Our number.
        to: String,
        /// Text.
        #[serde(default)]
        body: String,
        /// Media URLs.
        #[serde(default)]
        media: Vec<String>,
        /// When it was received.
        #[serde(default)]
        received_at_ms: Option<u64>,
    },
    /// A delivery report.
    Status {
        /// The id our receipt carried.
        provider_message_id: String,
        /// New state.
        status: WebhookStatus,
        /// Provider error code.
        #[serde(default)]
        error_code: Option<String>,
        /// Provider error message.
        #[serde(default)]
        error_message: Option<String>,
        /// Opt-out change.
        #[serde(default)]
        opt_out: Option<bool>,
    },
}

/// `status` of a [`WebhookEvent::Status`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum WebhookStatus {
    Queued,
    Sent,
    Delivered,
    Undelivered,
    Failed,
    Unknown,
}

impl From<WebhookStatus> for DeliveryStatus {
    fn from(status: WebhookStatus) -> Self {
        match status {
            WebhookStatus::Queued => DeliveryStatus::Queued,
            WebhookStatus::Sent => DeliveryStatus::Sent,
            WebhookStatus::Delivered => DeliveryStatus::Delivered,
            WebhookStatus::Undelivered => DeliveryStatus::Undelivered,
            WebhookStatus::Failed => DeliveryStatus::Failed,
            WebhookStatus::Unknown => DeliveryStatus::Unknown,
        }
    }
}

impl From<WebhookEvent> for Event {
    fn from(event: WebhookEvent) -> Self {
        match event {
            WebhookEvent::Inbound {
                provider_message_id,
                from,
                to,
                body,
                media,
                received_at_ms,
            } => Event::Inbound(InboundMessage {
                provider_message_id,
                from,
                to,
                body,
                media,
                received_at_ms,
            }),
            WebhookEvent::Status {
                provider_message_id,
                status,
                error_code,
                error_message,
                opt_out,
            } => Event::Status(StatusUpdate {
                provider_message_id,
                status: status.into(),
                error_code,
                error_message,
                opt_out,
            }),
        }
    }
}

/// Parses a webhook body: one [`WebhookEvent`] or a JSON array of them.
pub fn parse_events(body: &[u8]) -> Result<Vec<Event>, WebhookError> {
    let malformed = |e: serde_json::Error| WebhookError::Malformed(format!("invalid body: {e}"));
    let value: serde_json::Value = serde_json::from_slice(body).map_err(malformed)?;
    let events: Vec<WebhookEvent> = if value.is_array() {
        serde_json::from_value(value).map_err(malformed)?
    } else {
        vec![serde_json::from_value(value).map_err(malformed)?]
    };
    Ok(events.into_iter().map(Event::from).collect())
}

/// The provider: its settings, or why they are invalid.
#[derive(Debug)]
pub struct MockProvider {
    settings: Configured<Settings>,
}

impl MockProvider {
    /// A provider with the given settings (tests build it this way).
    pub fn with_settings(settings: Result<Settings, String>) -> Self {
        MockProvider {
            settings: Configured::new(settings),
        }
    }
}

impl Provider for MockProvider {
    fn new() -> Self {
        MockProvider {
            settings: Configured::from_host("mock", Settings::from_config),
        }
    }

    fn describe(&self) -> PluginInfo {
        let defaults = Settings::default();
        let settings = self.settings.valid().unwrap_or(&defaults);
        PluginInfo {
            name: "mock".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            capabilities: Capabilities::MMS
                | Capabilities::LOOKUP
                | Capabilities::STATUS_WEBHOOKS
                | Capabilities::INBOUND,
            max_segments: settings.max_segments,
            default_rate_per_second: settings.rate_per_second,
        }
    }

    fn send(&self, message: Message) -> Result<Receipt, SendError> {
        let settings = self.settings.for_send()?;
        match settings.outcome(
            &message.idempotency_key,
            message.try_number.max(1),
            Some(&message.to),
            message.segments,
        ) {
            Outcome::Accepted {
                provider_message_id,
            } => {
                if settings.latency_ms > 0 {
                    std::thread::sleep(std::time::Duration::from_millis(settings.latency_ms));
                }
                if let Some(url) = &settings.callback_url {
                    call_back(settings, url, &message, &provider_message_id);
                }
                Ok(Receipt {
                    provider_message_id,
                    segments: Some(message.segments),
                })
            }
            Outcome::Permanent { code, message } => Err(SendError::permanent(code, message)),
            Outcome::Transient => Err(SendError::transient(
                "mock-transient",
                "simulated transient failure (failure-rate)",
            )),
            Outcome::Throttled { retry_after_ms } => Err(SendError::throttled(
                retry_after_ms,
                "mock-throttled",
                "simulated throttling (throttle-rate)",
            )),
        }
    }

    fn parse_webhook(&self, request: WebhookRequest) -> Result<Vec<Event>, WebhookError> {
        let settings = self.settings.for_webhook()?;
        if let Some(token) = &settings.webhook_token {
            let given = request.header(TOKEN_HEADER).unwrap_or_default();
            if !signature::constant_time_eq(given.as_bytes(), token.as_bytes()) {
                return Err(WebhookError::BadSignature(format!(
                    "missing or wrong {TOKEN_HEADER} header"
                )));
            }
        }
        parse_events(&request.body)
    }

    fn lookup(
        &self,
        idempotency_key: &str,
        provider_message_id: Option<&str>,
    ) -> Option<LookupResult> {
        let settings = self.settings.valid()?;
        let Outcome::Accepted {
            provider_message_id: id,
        } = settings.outcome(idempotency_key, 0, None, 0)
        else {
            return None;
        };
        if provider_message_id.is_some_and(|given| given != id) {
            return None;
        }
        Some(LookupResult {
            provider_message_id: id,
            status: settings.delivery(idempotency_key).into(),
            error_code: None,
            error_message: None,
        })
    }
}

sdk::export_provider!(MockProvider);

#[cfg(test)]
mod tests {
    use switchboard_plugin_sdk::testing;

    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, String> {
        Settings::from_config(testing::config_lookup(pairs))
    }

    fn provider(pairs: &[(&str, &str)]) -> MockProvider {
        MockProvider::with_settings(settings(pairs))
    }

    fn message(key: &str, to: &str) -> Message {
        testing::message(key, "+15550000", to, "hello")
    }

    fn request(headers: &[(&str, &str)], body: &str) -> WebhookRequest {
        testing::webhook_request("/webhooks/mock", headers, body)
    }

    #[test]
    fn defaults_accept_everything() {
        let p = provider(&[]);
        let receipt = p.send(message("k1", "+15550001")).expect("accepted");
        assert!(receipt.provider_message_id.starts_with("mock-"));
        assert_eq!(receipt.provider_message_id.len(), "mock-".len() + 16);
        assert_eq!(receipt.segments, Some(1));
    }

    #[test]
    fn outcomes_are_deterministic_per_key_and_seed() {
        let p = provider(&[("failure-rate", "0.3"), ("throttle-rate", "0.2")]);
        let first: Vec<_> = (0..50)
            .map(|i| p.send(message(&format!("k{i}"), "+1")))
            .collect();
        let again: Vec<_> = (0..50)
            .map(|i| p.send(message(&format!("k{i}"), "+1")))
            .collect();
        assert_eq!(first, again);
        let reseeded = provider(&[
            ("failure-rate", "0.3"),
            ("throttle-rate", "0.2"),
            ("seed", "other"),
        ]);
        let other: Vec<_> = (0..50)
            .map(|i| reseeded.send(message(&format!("k{i}"), "+1")))
            .collect();
        assert_ne!(first, other);
    }

    #[test]
    fn rates_are_roughly_honoured() {
        let s = settings(&[("failure-rate", "0.25"), ("throttle-rate", "0.1")]).expect("valid");
        let (mut transient, mut throttled) = (0, 0);
        for i in 0..10_000 {
            match s.outcome(&format!("msg-{i}"), 1, Some("+1"), 1) {
                Outcome::Transient => transient += 1,
                Outcome::Throttled { retry_after_ms } => {
                    assert_eq!(retry_after_ms, 1_000);
                    throttled += 1;
                }
                Outcome::Accepted { .. } => {}
                Outcome::Permanent { .. } => panic!("no permanent failures configured"),
            }
        }
        // 10% of calls throttled; a quarter of the rest fail transiently.
        assert!((2_000..2_500).contains(&transient), "transient {transient}");
        assert!((800..1_200).contains(&throttled), "throttled {throttled}");
    }

    #[test]
    fn a_throttled_message_gets_through_on_a_later_try() {
        let p = provider(&[("throttle-rate", "0.5")]);
        for i in 0..50 {
            let mut m = message(&format!("k{i}"), "+1");
            let tries = (1..=64)
                .find(|&t| {
                    m.try_number = t;
                    p.send(m.clone()).is_ok()
                })
                .expect("a try that is not throttled");
            // The same try of the same message always gets the same answer.
            m.try_number = tries;
            assert!(p.send(m).is_ok());
        }
    }

    #[test]
    fn all_or_nothing_rates() {
        let throttled = provider(&[("throttle-rate", "1"), ("retry-after-ms", "250")]);
        assert_eq!(
            throttled.send(message("k", "+1")),
            Err(SendError::throttled(
                250,
                "mock-throttled",
                "simulated throttling (throttle-rate)"
            ))
        );
        let failing = provider(&[("failure-rate", "1.0")]);
        assert!(matches!(
            failing.send(message("k", "+1")),
            Err(SendError::Transient(_))
        ));
    }

    #[test]
    fn permanent_failures_by_number_and_length() {
        let p = provider(&[
            ("permanent-failure-numbers", " +15550001 , +15550002,,"),
            ("max-segments", "3"),
        ]);
        let err = p.send(message("k", "+15550002")).expect_err("blocked");
        assert_eq!(err.info().code, "mock-blocked-number");
        assert!(p.send(message("k", "+15550003")).is_ok());
        let mut long = message("k", "+15550003");
        long.segments = 4;
        assert_eq!(
            p.send(long).expect_err("too long").info().code,
            "mock-too-long"
        );
    }

    #[test]
    fn invalid_settings_fail_every_send_permanently() {
        for bad in [
            ("failure-rate", "1.5"),
            ("throttle-rate", "abc"),
            ("retry-after-ms", "-1"),
            ("max-segments", "0"),
            ("rate-per-second", "0"),
        ] {
            let p = provider(&[bad]);
            let err = p.send(message("k", "+1")).expect_err("invalid settings");
            assert_eq!(err.info().code, "config-invalid", "{bad:?}");
            assert!(err.info().message.contains(bad.0), "{bad:?}: {err:?}");
        }
        assert_eq!(settings(&[("failure-rate", "  ")]), Ok(Settings::default()));
    }

    #[test]
    fn lookup_has_exactly_the_successful_messages() {
        let p = provider(&[("failure-rate", "0.5")]);
        for i in 0..200 {
            let key = format!("k{i}");
            let sent = p.send(message(&key, "+1"));
            let found = p.lookup(&key, None);
            match sent {
                Ok(receipt) => {
                    let found = found.expect("accepted messages are found");
                    assert_eq!(found.provider_message_id, receipt.provider_message_id);
                    assert_eq!(found.status, DeliveryStatus::Delivered);
                    assert!(p.lookup(&key, Some(&receipt.provider_message_id)).is_some());
                    assert!(p.lookup(&key, Some("mock-other")).is_none());
                }
                Err(_) => assert!(found.is_none()),
            }
        }
    }

    #[test]
    fn carrier_events_report_delivery_and_replies_deterministically() {
        let s = settings(&[
            ("delivery-failure-rate", "0.2"),
            ("reply-rate", "0.5"),
            ("reply-text", "Yes please"),
        ])
        .expect("valid");
        let (mut undelivered, mut replies) = (0, 0);
        for i in 0..2_000 {
            let m = message(&format!("k{i}"), "+15550001");
            let events = s.carrier_events(&m, "mock-1");
            assert_eq!(events, s.carrier_events(&m, "mock-1"), "deterministic");
            match &events[0] {
                WebhookEvent::Status { status, .. } => {
                    if *status == WebhookStatus::Undelivered {
                        undelivered += 1;
                        assert_eq!(events.len(), 1, "no reply to an undelivered message");
                    }
                }
                other => panic!("status first, got {other:?}"),
            }
            if let Some(WebhookEvent::Inbound { from, to, body, .. }) = events.get(1) {
                assert_eq!((from.as_str(), to.as_str()), ("+15550001", "+15550000"));
                assert_eq!(body, "Yes please");
                replies += 1;
            }
        }
        assert!(
            (300..500).contains(&undelivered),
            "undelivered {undelivered}"
        );
        assert!((700..900).contains(&replies), "replies {replies}");
        // What the mock sends, its own webhook parser reads.
        let m = message("k1", "+15550001");
        let body = serde_json::to_vec(&s.carrier_events(&m, "mock-1")).expect("json");
        let parsed = parse_events(&body).expect("parses");
        assert_eq!(parsed.len(), s.carrier_events(&m, "mock-1").len());
    }

    #[test]
    fn lookup_reports_the_delivery_outcome() {
        let p = provider(&[("delivery-failure-rate", "1")]);
        assert_eq!(
            p.lookup("k1", None).expect("found").status,
            DeliveryStatus::Undelivered
        );
        assert!(settings(&[("latency-ms", "5000")]).is_err());
        assert_eq!(
            settings(&[("latency-ms", "20")]).expect("valid").latency_ms,
            20
        );
    }

    #[test]
    fn describe_reports_settings() {
        let info = provider(&[("max-segments", "4"), ("rate-per-second", "2.5")]).describe();
        assert_eq!(info.name, "mock");
        assert_eq!(info.max_segments, 4);
        assert_eq!(info.default_rate_per_second, Some(2.5));
        assert!(
            info.capabilities
                .contains(Capabilities::LOOKUP | Capabilities::MMS)
        );
    }

    #[test]
    fn webhooks_parse_inbound_and_status_events() {
        let p = provider(&[]);
        let events = p
            .parse_webhook(request(
                &[],
                r#"[{"type": "inbound", "provider-message-id": "in-1", "from": "+1",
                     "to": "+2", "body": "STOP", "received-at-ms": 5},
                    {"type": "status", "provider-message-id": "mock-1",
                     "status": "undelivered", "error-code": "30003", "opt-out": true}]"#,
            ))
            .expect("valid");
        assert_eq!(
            events,
            vec![
                Event::Inbound(InboundMessage {
                    provider_message_id: "in-1".into(),
                    from: "+1".into(),
                    to: "+2".into(),
                    body: "STOP".into(),
                    media: Vec::new(),
                    received_at_ms: Some(5),
                }),
                Event::Status(StatusUpdate {
                    provider_message_id: "mock-1".into(),
                    status: DeliveryStatus::Undelivered,
                    error_code: Some("30003".into()),
                    error_message: None,
                    opt_out: Some(true),
                }),
            ]
        );
        let single = p
            .parse_webhook(request(
                &[],
                r#"{"type":"status","provider-message-id":"m","status":"delivered"}"#,
            ))
            .expect("a single object is accepted");
        assert_eq!(single.len(), 1);
    }

    #[test]
    fn malformed_webhooks_are_rejected() {
        let p = provider(&[]);
        for body in [
            "",
            "not json",
            r#"{"type":"bounce"}"#,
            r#"{"type":"status","provider-message-id":"m","status":"lost"}"#,
            r#"{"type":"inbound","from":"+1"}"#,
        ] {
            assert!(
                matches!(
                    p.parse_webhook(request(&[], body)),
                    Err(WebhookError::Malformed(_))
                ),
                "{body:?}"
            );
        }
    }

    #[test]
    fn webhook_token_is_checked() {
        let p = provider(&[("webhook-token", "s3cret")]);
        let body = r#"{"type":"status","provider-message-id":"m","status":"sent"}"#;
        assert!(
            p.parse_webhook(request(&[("X-Mock-Token", "s3cret")], body))
                .is_ok()
        );
        for headers in [&[][..], &[("x-mock-token", "wrong")][..]] {
            assert!(matches!(
                p.parse_webhook(request(headers, body)),
                Err(WebhookError::BadSignature(_))
            ));
        }
    }

    #[test]
    fn manifest_declares_exactly_the_settings_read() {
        let (lookup, asked) = testing::recording_config_lookup(&[]);
        Settings::from_config(lookup).expect("valid settings");
        let asked = asked.borrow();
        let asked: Vec<&str> = asked.iter().map(String::as_str).collect();
        testing::Manifest::parse(include_str!("../plugin.toml")).assert_provider(
            "mock",
            env!("CARGO_PKG_VERSION"),
            &asked,
        );
    }
}
