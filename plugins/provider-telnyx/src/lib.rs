//! `telnyx`: a provider plugin for Telnyx Messaging (API v2).
//!
//! # Sending
//!
//! [`build_send_request`] makes `POST {api-base-url}/v2/messages` with
//! `Authorization: Bearer {api-key}` and a JSON body (see [`send_body`]):
//! `to`, `from` (when not empty: with a number pool, the messaging profile
//! picks it), `text` (when not empty), `media_urls` (when there is media),
//! `messaging_profile_id` and `webhook_url` (when configured).
//!
//! Telnyx's API description declares no idempotency header for this call, so
//! the message's idempotency key is not sent, and `lookup` is not
//! implemented.
//!
//! [`interpret_send_response`] turns the answer into a receipt (`data.id`,
//! and `data.parts` as the segments) or an error, from Telnyx's
//! `errors[0].code`, `title` and `detail`:
//!
//! | response | error |
//! | --- | --- |
//! | 401, 403 | permanent, code `auth-failed` |
//! | 429 | throttled, after `Retry-After` seconds (1 s without it) |
//! | 408, 425, 5xx | transient |
//! | other 4xx | permanent, with Telnyx's code (e.g. `40300` recipient opted out, `40310` invalid number) |
//! | timeout, transport error | transient |
//!
//! A 2xx answer without `data.id` is reported as a permanent error
//! (`invalid-response`): Telnyx may have accepted the message, and a retry
//! could send it twice.
//!
//! # Webhooks
//!
//! Telnyx signs every webhook with Ed25519: `telnyx-signature-ed25519` is the
//! base64 signature of `{telnyx-timestamp}|{raw body}` by the account's key,
//! whose public half is the `public-key` setting (base64, from the Telnyx
//! portal). [`verify_webhook`] checks it, and refuses a timestamp more than
//! `timestamp-tolerance-seconds` away from the engine's clock, in either
//! direction, so a captured webhook cannot be replayed later. Without
//! `public-key` every webhook is refused.
//!
//! The body is `{"data": {"event_type": ..., "payload": {...}}}`:
//! - `message.received`: an inbound message (`payload.id`,
//!   `from.phone_number`, `to[0].phone_number`, `text`, `media[].url`,
//!   `received_at`);
//! - `message.sent`, `message.finalized`: a status update of a message we
//!   sent, from `payload.to[0].status` (see [`delivery_status`]) and
//!   `payload.errors[0]`. Error `40300` (the recipient replied STOP) also
//!   sets `opt-out`;
//! - any other event type is acknowledged and ignored (no events).

use serde::Deserialize;
use serde_json::{Map, Value};
use switchboard_plugin_sdk::http::{self, HttpRequest, HttpResponse, Request};
use switchboard_plugin_sdk::settings::{self, Configured};
use switchboard_plugin_sdk::signature::{self, Ed25519Error};
use switchboard_plugin_sdk::{
    self as sdk, Capabilities, DeliveryStatus, ErrorInfo, Event, InboundMessage, Message,
    PluginInfo, Provider, Receipt, SendError, StatusUpdate, WebhookError, WebhookRequest,
};

/// Where Telnyx's API lives.
pub const DEFAULT_API_BASE_URL: &str = "https://api.telnyx.com";

/// Header that carries the webhook's Ed25519 signature (base64).
pub const SIGNATURE_HEADER: &str = "telnyx-signature-ed25519";

/// Header that carries the time the webhook was signed (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "telnyx-timestamp";

/// How far a webhook's timestamp may be from the engine's clock, by default.
pub const DEFAULT_TIMESTAMP_TOLERANCE_SECONDS: u64 = 300;

/// Longest message, in segments (`parts` is at most 10 in Telnyx's API).
pub const DEFAULT_MAX_SEGMENTS: u32 = 10;

/// Sending rate when none is configured: one message a second, what a US
/// long code may send. Short codes and toll-free numbers go faster.
pub const DEFAULT_RATE_PER_SECOND: f64 = 1.0;

/// Telnyx's error code for a recipient who replied STOP.
const BLOCKED_BY_STOP: &str = "40300";

/// The plugin's settings, parsed and checked.
#[derive(Clone, PartialEq)]
pub struct Settings {
    /// The API key (a Bearer token).
    pub api_key: String,
    /// Sent as `messaging_profile_id`.
    pub messaging_profile_id: Option<String>,
    /// Sent as `webhook_url`.
    pub webhook_url: Option<String>,
    /// The account's Ed25519 public key (32 bytes), which webhooks are
    /// checked against.
    pub public_key: Option<Vec<u8>>,
    /// How far a webhook's timestamp may be from now, in seconds.
    pub timestamp_tolerance_seconds: u64,
    /// Base of the API, without a trailing `/`.
    pub api_base_url: String,
    /// Longest message, in segments.
    pub max_segments: u32,
    /// Rate `describe` suggests, per second.
    pub rate_per_second: f64,
}

impl std::fmt::Debug for Settings {
    /// Like a derived `Debug`, with the API key left out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("api_key", &"<redacted>")
            .field("messaging_profile_id", &self.messaging_profile_id)
            .field("webhook_url", &self.webhook_url)
            .field(
                "public_key",
                &self.public_key.as_deref().map(signature::base64_encode),
            )
            .field(
                "timestamp_tolerance_seconds",
                &self.timestamp_tolerance_seconds,
            )
            .field("api_base_url", &self.api_base_url)
            .field("max_segments", &self.max_segments)
            .field("rate_per_second", &self.rate_per_second)
            .finish()
    }
}

impl Settings {
    /// Reads the settings through `get` (the host's `config-get`, or a map in
    /// tests). Values are trimmed; blank values count as absent.
    pub fn from_config(get: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
        let get = |key: &str| settings::trimmed(get(key));
        Ok(Settings {
            api_key: settings::required(get("api-key"), "api-key")?,
            messaging_profile_id: get("messaging-profile-id"),
            webhook_url: settings::http_url(get("webhook-url"), "webhook-url")?,
            public_key: get("public-key").map(|key| public_key(&key)).transpose()?,
            timestamp_tolerance_seconds: settings::whole_number(
                get("timestamp-tolerance-seconds"),
                "timestamp-tolerance-seconds",
            )?
            .unwrap_or(DEFAULT_TIMESTAMP_TOLERANCE_SECONDS),
            api_base_url: settings::http_url(get("api-base-url"), "api-base-url")?
                .unwrap_or_else(|| DEFAULT_API_BASE_URL.to_string()),
            max_segments: settings::positive_integer(get("max-segments"), "max-segments")?
                .unwrap_or(DEFAULT_MAX_SEGMENTS),
            rate_per_second: settings::positive_number(get("rate-per-second"), "rate-per-second")?
                .unwrap_or(DEFAULT_RATE_PER_SECOND),
        })
    }

    /// The Messages resource.
    pub fn messages_url(&self) -> String {
        format!("{}/v2/messages", self.api_base_url)
    }
}

/// The 32 bytes of a base64 Ed25519 public key.
fn public_key(text: &str) -> Result<Vec<u8>, String> {
    let bytes = signature::base64_decode(text).map_err(|e| format!("public-key: {e}"))?;
    if bytes.len() == signature::ED25519_PUBLIC_KEY_LEN {
        Ok(bytes)
    } else {
        Err(format!(
            "public-key: {} bytes once decoded, not the {} of an Ed25519 public key",
            bytes.len(),
            signature::ED25519_PUBLIC_KEY_LEN
        ))
    }
}

/// The JSON body of "send a message" (`CreateMessageRequest`) for `message`.
pub fn send_body(settings: &Settings, message: &Message) -> Value {
    let mut body = Map::new();
    if !message.from.is_empty() {
        body.insert("from".into(), message.from.clone().into());
    }
    body.insert("to".into(), message.to.clone().into());
    if !message.body.is_empty() {
        body.insert("text".into(), message.body.clone().into());
    }
    if !message.media.is_empty() {
        body.insert("media_urls".into(), message.media.clone().into());
    }
    if let Some(id) = &settings.messaging_profile_id {
        body.insert("messaging_profile_id".into(), id.clone().into());
    }
    if let Some(url) = &settings.webhook_url {
        body.insert("webhook_url".into(), url.clone().into());
    }
    Value::Object(body)
}

/// The HTTP request that sends `message`.
pub fn build_send_request(settings: &Settings, message: &Message) -> HttpRequest {
    Request::post(settings.messages_url())
        .header_pair(http::bearer_auth(&settings.api_key))
        .header("Accept", "application/json")
        .json(send_body(settings, message).to_string())
        .build()
}

/// `{"data": {...}}` of a sent message: the fields the plugin uses.
#[derive(Debug, Deserialize)]
struct SendResponse {
    data: Option<SentMessage>,
}

/// The message Telnyx created.
#[derive(Debug, Deserialize)]
struct SentMessage {
    id: Option<String>,
    #[serde(default)]
    parts: Option<u32>,
}

/// `{"errors": [...]}`: Telnyx's error body.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<TelnyxError>,
}

/// One of Telnyx's errors (`code` is a string of digits; a number is
/// accepted too).
#[derive(Debug, Default, Deserialize)]
struct TelnyxError {
    #[serde(default)]
    code: Value,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    detail: Option<String>,
}

impl TelnyxError {
    /// The code as text, if any.
    fn code(&self) -> Option<String> {
        match &self.code {
            Value::String(text) if !text.is_empty() => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        }
    }

    /// `title: detail`, or whichever of them there is.
    fn message(&self) -> Option<String> {
        let title = self.title.as_deref().filter(|t| !t.is_empty());
        let detail = self.detail.as_deref().filter(|d| !d.is_empty());
        match (title, detail) {
            (Some(title), Some(detail)) if title != detail => Some(format!("{title}: {detail}")),
            (Some(text), _) | (None, Some(text)) => Some(text.to_string()),
            (None, None) => None,
        }
    }
}

/// A receipt for a 2xx answer, an error otherwise.
pub fn interpret_send_response(response: &HttpResponse) -> Result<Receipt, SendError> {
    if response.is_success() {
        receipt_from_body(&response.body)
    } else {
        Err(send_error_for_failure(response))
    }
}

/// The receipt in a "send a message" answer.
fn receipt_from_body(body: &[u8]) -> Result<Receipt, SendError> {
    let invalid = |why: String| {
        SendError::permanent(
            "invalid-response",
            format!("Telnyx accepted the request but {why}"),
        )
    };
    let response: SendResponse = serde_json::from_slice(body)
        .map_err(|e| invalid(format!("its answer is not a message: {e}")))?;
    let message = response
        .data
        .ok_or_else(|| invalid("its answer has no data".into()))?;
    let id = message
        .id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| invalid("its answer has no data.id".into()))?;
    Ok(Receipt {
        provider_message_id: id,
        segments: message.parts.filter(|&parts| parts > 0),
    })
}

/// The error for a non-2xx answer.
fn send_error_for_failure(response: &HttpResponse) -> SendError {
    let info = telnyx_error_info(response);
    if matches!(response.status, 401 | 403) {
        return SendError::permanent(
            "auth-failed",
            format!(
                "Telnyx rejected the API key ({}: {})",
                info.code, info.message
            ),
        );
    }
    http::send_error_with_info(response, info)
}

/// `errors[0]`'s code and message, or `http-<status>` and the body when the
/// body is not Telnyx's error JSON.
fn telnyx_error_info(response: &HttpResponse) -> ErrorInfo {
    let fallback = http::status_error_info(response);
    let body: ErrorBody = serde_json::from_slice(&response.body).unwrap_or_default();
    let Some(first) = body.errors.first() else {
        return fallback;
    };
    ErrorInfo::new(
        first.code().unwrap_or(fallback.code),
        first.message().unwrap_or(fallback.message),
    )
}

/// Checks a webhook's Telnyx signature: the timestamp is within
/// `tolerance_seconds` of `now_ms` (either way), and the signature is
/// `public_key`'s Ed25519 signature of `{timestamp}|{body}`.
pub fn verify_webhook(
    public_key: &[u8],
    tolerance_seconds: u64,
    now_ms: u64,
    request: &WebhookRequest,
) -> Result<(), WebhookError> {
    let bad = |why: String| WebhookError::BadSignature(why);
    let signature_b64 = request
        .header(SIGNATURE_HEADER)
        .ok_or_else(|| bad(format!("missing {SIGNATURE_HEADER} header")))?;
    let timestamp = request
        .header(TIMESTAMP_HEADER)
        .map(str::trim)
        .ok_or_else(|| bad(format!("missing {TIMESTAMP_HEADER} header")))?;
    check_timestamp(timestamp, tolerance_seconds, now_ms)?;
    let signature = signature::base64_decode(signature_b64)
        .map_err(|e| bad(format!("{SIGNATURE_HEADER}: {e}")))?;
    let mut signed = Vec::with_capacity(timestamp.len() + 1 + request.body.len());
    signed.extend_from_slice(timestamp.as_bytes());
    signed.push(b'|');
    signed.extend_from_slice(&request.body);
    signature::verify_ed25519(public_key, &signed, &signature).map_err(|e| match e {
        Ed25519Error::BadKeyLength(_) | Ed25519Error::InvalidKey => {
            WebhookError::Unsupported(format!("public-key is unusable: {e}"))
        }
        Ed25519Error::BadSignatureEncoding(_) | Ed25519Error::Mismatch => {
            bad(format!("{SIGNATURE_HEADER}: {e}"))
        }
    })
}

/// Checks that `timestamp` (Unix seconds) is within `tolerance_seconds` of
/// `now_ms`.
fn check_timestamp(
    timestamp: &str,
    tolerance_seconds: u64,
    now_ms: u64,
) -> Result<(), WebhookError> {
    let seconds: u64 = timestamp.parse().map_err(|_| {
        WebhookError::BadSignature(format!(
            "{TIMESTAMP_HEADER}: {timestamp:?} is not a Unix time in seconds"
        ))
    })?;
    let now_seconds = now_ms / 1_000;
    let skew = seconds.abs_diff(now_seconds);
    if skew > tolerance_seconds {
        return Err(WebhookError::BadSignature(format!(
            "{TIMESTAMP_HEADER} is {skew} s away from the engine's clock \
             (tolerance {tolerance_seconds} s): stale or replayed"
        )));
    }
    Ok(())
}

/// Checks a webhook (signature and timestamp, against `now_ms`) and turns it
/// into events.
pub fn parse_webhook_request(
    settings: &Settings,
    request: &WebhookRequest,
    now_ms: u64,
) -> Result<Vec<Event>, WebhookError> {
    let public_key = settings.public_key.as_deref().ok_or_else(|| {
        WebhookError::Unsupported(
            "public-key is not configured: without it Telnyx signatures cannot be checked, \
             so every webhook is refused"
                .into(),
        )
    })?;
    if !request.method.eq_ignore_ascii_case("POST") {
        return Err(WebhookError::Unsupported(format!(
            "{} webhooks are not handled: Telnyx POSTs them",
            request.method
        )));
    }
    verify_webhook(
        public_key,
        settings.timestamp_tolerance_seconds,
        now_ms,
        request,
    )?;
    events_from_body(&request.body)
}

/// `{"data": {"event_type": ..., "payload": ...}}`.
#[derive(Debug, Deserialize)]
struct Envelope {
    data: EventData,
}

/// One webhook event.
#[derive(Debug, Deserialize)]
struct EventData {
    event_type: String,
    #[serde(default)]
    payload: Value,
}

/// A phone number in a payload's `from` or `to`.
#[derive(Debug, Deserialize)]
struct Address {
    #[serde(default)]
    phone_number: String,
    #[serde(default)]
    status: Option<String>,
}

/// One media item of an inbound message.
#[derive(Debug, Deserialize)]
struct Media {
    url: String,
}

/// The payload of `message.received`.
#[derive(Debug, Deserialize)]
struct InboundPayload {
    id: String,
    from: Address,
    #[serde(default)]
    to: Vec<Address>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    media: Vec<Media>,
    #[serde(default)]
    received_at: Option<String>,
}

/// The payload of `message.sent` and `message.finalized`.
#[derive(Debug, Deserialize)]
struct OutboundPayload {
    id: String,
    #[serde(default)]
    to: Vec<Address>,
    #[serde(default)]
    errors: Vec<TelnyxError>,
}

/// The events of a (verified) webhook body: one, or none for event types
/// the plugin does not handle.
pub fn events_from_body(body: &[u8]) -> Result<Vec<Event>, WebhookError> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(malformed)?;
    let EventData {
        event_type,
        payload,
    } = envelope.data;
    match event_type.as_str() {
        "message.received" => {
            let payload: InboundPayload = serde_json::from_value(payload).map_err(malformed)?;
            Ok(vec![Event::Inbound(inbound_message(payload)?)])
        }
        "message.sent" | "message.finalized" => {
            let payload: OutboundPayload = serde_json::from_value(payload).map_err(malformed)?;
            Ok(vec![Event::Status(status_update(payload))])
        }
        _ => Ok(Vec::new()),
    }
}

/// A `Malformed` error for a body that is not what Telnyx sends.
fn malformed(error: serde_json::Error) -> WebhookError {
    WebhookError::Malformed(format!("not a Telnyx message webhook: {error}"))
}

/// The inbound message of a `message.received` payload.
fn inbound_message(payload: InboundPayload) -> Result<InboundMessage, WebhookError> {
    let to = payload
        .to
        .into_iter()
        .next()
        .map(|address| address.phone_number)
        .filter(|number| !number.is_empty())
        .ok_or_else(|| WebhookError::Malformed("message.received without a to number".into()))?;
    Ok(InboundMessage {
        provider_message_id: payload.id,
        from: payload.from.phone_number,
        to,
        body: payload.text.unwrap_or_default(),
        media: payload.media.into_iter().map(|m| m.url).collect(),
        received_at_ms: payload.received_at.as_deref().and_then(rfc3339_to_ms),
    })
}

/// The status update of a `message.sent` or `message.finalized` payload.
fn status_update(payload: OutboundPayload) -> StatusUpdate {
    let status = payload
        .to
        .first()
        .and_then(|recipient| recipient.status.as_deref())
        .map_or(DeliveryStatus::Unknown, delivery_status);
    let error = payload.errors.first();
    let error_code = error.and_then(TelnyxError::code);
    let opt_out = (error_code.as_deref() == Some(BLOCKED_BY_STOP)).then_some(true);
    StatusUpdate {
        provider_message_id: payload.id,
        status,
        error_code,
        error_message: error.and_then(|e| e.title.clone()),
        opt_out,
    }
}

/// Telnyx's recipient status as a delivery status: `queued` and `sending`
/// are queued; `sent` is sent; `delivered` is delivered; `sending_failed`,
/// `delivery_failed` and `expired` are failed; anything else
/// (`delivery_unconfirmed`, new values) is unknown.
pub fn delivery_status(status: &str) -> DeliveryStatus {
    match status {
        "queued" | "sending" => DeliveryStatus::Queued,
        "sent" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "sending_failed" | "delivery_failed" | "expired" => DeliveryStatus::Failed,
        _ => DeliveryStatus::Unknown,
    }
}

/// Unix epoch milliseconds of an RFC 3339 date-time
/// (`2019-01-23T18:10:02.574Z`, `...+00:00`); `None` if it is not one.
pub fn rfc3339_to_ms(text: &str) -> Option<u64> {
    let (date, rest) = text.split_once(['T', 't', ' '])?;
    let (time, offset_minutes) = split_offset(rest)?;
    let days = days_since_epoch(date)?;
    let (seconds_of_day, millis) = time_of_day(time)?;
    let seconds = days * 86_400 + seconds_of_day - offset_minutes * 60;
    u64::try_from(seconds)
        .ok()?
        .checked_mul(1_000)?
        .checked_add(millis)
}

/// Splits `HH:MM:SS[.fff](Z|±HH:MM)` into the time and the offset in
/// minutes.
fn split_offset(rest: &str) -> Option<(&str, i64)> {
    if let Some(time) = rest.strip_suffix(['Z', 'z']) {
        return Some((time, 0));
    }
    let sign_at = rest.rfind(['+', '-'])?;
    let (time, offset) = rest.split_at(sign_at);
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let (hours, minutes) = offset[1..].split_once(':')?;
    Some((time, sign * (number(hours)? * 60 + number(minutes)?)))
}

/// Days from 1970-01-01 to `YYYY-MM-DD` (proleptic Gregorian calendar).
fn days_since_epoch(date: &str) -> Option<i64> {
    let mut parts = date.split('-');
    let (year, month, day) = (
        number(parts.next()?)?,
        number(parts.next()?)?,
        number(parts.next()?)?,
    );
    if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Some(era * 146_097 + day_of_era - 719_468)
}

/// Seconds since midnight and milliseconds of `HH:MM:SS[.fff…]`.
fn time_of_day(time: &str) -> Option<(i64, u64)> {
    let (clock, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut parts = clock.split(':');
    let (hours, minutes, seconds) = (
        number(parts.next()?)?,
        number(parts.next()?)?,
        number(parts.next()?)?,
    );
    if parts.next().is_some() || hours > 23 || minutes > 59 || seconds > 60 {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let millis = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u64, |acc, digit| acc * 10 + u64::from(digit - b'0'));
    Some((hours * 3_600 + minutes * 60 + seconds, millis))
}

/// A non-empty run of ASCII digits.
fn number(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The provider: its settings, or why they are invalid.
#[derive(Debug)]
pub struct TelnyxProvider {
    settings: Configured<Settings>,
}

impl TelnyxProvider {
    /// A provider with the given settings (tests build it this way).
    pub fn with_settings(settings: Result<Settings, String>) -> Self {
        TelnyxProvider {
            settings: Configured::new(settings),
        }
    }
}

impl Provider for TelnyxProvider {
    fn new() -> Self {
        TelnyxProvider {
            settings: Configured::from_host("telnyx", Settings::from_config),
        }
    }

    fn describe(&self) -> PluginInfo {
        let settings = self.settings.valid();
        PluginInfo {
            name: "telnyx".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            capabilities: Capabilities::MMS | Capabilities::STATUS_WEBHOOKS | Capabilities::INBOUND,
            max_segments: settings.map_or(DEFAULT_MAX_SEGMENTS, |s| s.max_segments),
            default_rate_per_second: Some(
                settings.map_or(DEFAULT_RATE_PER_SECOND, |s| s.rate_per_second),
            ),
        }
    }

    fn send(&self, message: Message) -> Result<Receipt, SendError> {
        let settings = self.settings.for_send()?;
        let response = sdk::host::fetch(&build_send_request(settings, &message))?;
        interpret_send_response(&response)
    }

    fn parse_webhook(&self, request: WebhookRequest) -> Result<Vec<Event>, WebhookError> {
        let settings = self.settings.for_webhook()?;
        parse_webhook_request(settings, &request, sdk::host::now_ms())
    }
}

sdk::export_provider!(TelnyxProvider);

#[cfg(test)]
mod fixture_tests;

#[cfg(test)]
mod tests {
    use switchboard_plugin_sdk::testing::{self, response};

    use super::*;

    const PUBLIC_KEY: &str = "lj91kt25qx5mkUF7hqA/Ix5Xl0HBTnI5UnLft8jujbQ=";

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, String> {
        Settings::from_config(testing::config_lookup(pairs))
    }

    fn valid(extra: &[(&str, &str)]) -> Settings {
        let mut pairs = vec![("api-key", "KEY0123")];
        pairs.extend_from_slice(extra);
        settings(&pairs).expect("valid settings")
    }

    fn message() -> Message {
        testing::message("key-1", "+14155550100", "+14155550123", "Hi \"there\"")
    }

    fn json_body(request: &HttpRequest) -> Value {
        serde_json::from_slice(&request.body).expect("JSON body")
    }

    #[test]
    fn settings_defaults() {
        let s = valid(&[]);
        assert_eq!(s.api_base_url, DEFAULT_API_BASE_URL);
        assert_eq!(s.timestamp_tolerance_seconds, 300);
        assert_eq!(s.max_segments, 10);
        assert_eq!(s.rate_per_second, 1.0);
        assert_eq!(s.public_key, None);
    }

    #[test]
    fn settings_are_checked() {
        for (pairs, needle) in [
            (vec![], "api-key"),
            (
                vec![("api-key", "k"), ("public-key", "not base64!")],
                "public-key",
            ),
            (vec![("api-key", "k"), ("public-key", "AAAA")], "public-key"),
            (
                vec![("api-key", "k"), ("webhook-url", "example.com")],
                "webhook-url",
            ),
            (
                vec![("api-key", "k"), ("api-base-url", "ftp://x")],
                "api-base-url",
            ),
            (
                vec![("api-key", "k"), ("timestamp-tolerance-seconds", "-5")],
                "timestamp-tolerance-seconds",
            ),
            (
                vec![("api-key", "k"), ("max-segments", "0")],
                "max-segments",
            ),
            (
                vec![("api-key", "k"), ("rate-per-second", "fast")],
                "rate-per-second",
            ),
        ] {
            let error = settings(&pairs).expect_err("invalid");
            assert!(error.contains(needle), "{pairs:?}: {error}");
        }
        let s = valid(&[("public-key", PUBLIC_KEY)]);
        assert_eq!(s.public_key.as_ref().map(Vec::len), Some(32));
    }

    #[test]
    fn settings_debug_hides_the_api_key() {
        let shown = format!("{:?}", valid(&[]));
        assert!(!shown.contains("KEY0123"), "{shown}");
    }

    #[test]
    fn send_request_shape() {
        let s = valid(&[
            ("api-base-url", "http://127.0.0.1:4010/"),
            (
                "messaging-profile-id",
                "740572b6-099c-44a1-89b9-6c92163bc68d",
            ),
            ("webhook-url", "https://sms.example.com/webhooks/telnyx"),
        ]);
        let mut m = message();
        m.media = vec!["https://cdn.example/a.png".into()];
        let request = build_send_request(&s, &m);
        assert_eq!(request.method, "POST");
        assert_eq!(request.url, "http://127.0.0.1:4010/v2/messages");
        let header = |name| http::find_header(&request.headers, name);
        assert_eq!(header("content-type"), Some("application/json"));
        assert_eq!(header("accept"), Some("application/json"));
        assert_eq!(header("authorization"), Some("Bearer KEY0123"));
        assert_eq!(
            json_body(&request),
            serde_json::json!({
                "from": "+14155550100",
                "to": "+14155550123",
                "text": "Hi \"there\"",
                "media_urls": ["https://cdn.example/a.png"],
                "messaging_profile_id": "740572b6-099c-44a1-89b9-6c92163bc68d",
                "webhook_url": "https://sms.example.com/webhooks/telnyx",
            })
        );
    }

    #[test]
    fn minimal_send_body_has_only_what_is_set() {
        let mut m = message();
        m.from = String::new();
        m.body = String::new();
        m.media = vec!["https://cdn.example/a.png".into()];
        assert_eq!(
            send_body(&valid(&[]), &m),
            serde_json::json!({"to": "+14155550123", "media_urls": ["https://cdn.example/a.png"]})
        );
    }

    #[test]
    fn sent_message_becomes_a_receipt() {
        let body = r#"{"data": {"id": "40385f64-5717-4562-b3fc-2c963f66afa6", "parts": 2,
                       "record_type": "message", "to": [{"status": "queued"}]}}"#;
        assert_eq!(
            interpret_send_response(&response(200, &[], body)),
            Ok(Receipt {
                provider_message_id: "40385f64-5717-4562-b3fc-2c963f66afa6".into(),
                segments: Some(2),
            })
        );
        let no_parts = interpret_send_response(&response(200, &[], r#"{"data": {"id": "x"}}"#));
        assert_eq!(no_parts.map(|r| r.segments), Ok(None));
    }

    #[test]
    fn success_without_id_is_not_retried() {
        for body in ["", "{}", r#"{"data": {}}"#, r#"{"data": {"id": ""}}"#, "[]"] {
            let error = interpret_send_response(&response(200, &[], body)).expect_err(body);
            assert!(matches!(error, SendError::Permanent(_)), "{body:?}");
            assert_eq!(error.info().code, "invalid-response");
        }
    }

    #[test]
    fn client_errors_are_permanent_with_telnyx_codes() {
        let body = r#"{"errors": [{"code": "40310", "title": "Invalid 'to' address",
                        "detail": "The 'to' address should be in E.164 format."}]}"#;
        assert_eq!(
            interpret_send_response(&response(400, &[], body)),
            Err(SendError::permanent(
                "40310",
                "Invalid 'to' address: The 'to' address should be in E.164 format."
            ))
        );
        let numeric = r#"{"errors": [{"code": 40300, "title": "Blocked due to STOP message"}]}"#;
        assert_eq!(
            interpret_send_response(&response(422, &[], numeric)),
            Err(SendError::permanent("40300", "Blocked due to STOP message"))
        );
        assert_eq!(
            interpret_send_response(&response(404, &[], "nope")),
            Err(SendError::permanent("http-404", "nope"))
        );
    }

    #[test]
    fn unauthorized_and_forbidden_are_auth_failed() {
        for status in [401, 403] {
            let body = r#"{"errors": [{"code": "10009", "title": "Authentication failed"}]}"#;
            let error = interpret_send_response(&response(status, &[], body)).expect_err("auth");
            assert!(matches!(error, SendError::Permanent(_)));
            assert_eq!(error.info().code, "auth-failed");
            assert!(error.info().message.contains("10009"));
        }
    }

    #[test]
    fn too_many_requests_is_throttled() {
        let body = r#"{"errors": [{"code": "10011", "title": "Too many requests"}]}"#;
        assert_eq!(
            interpret_send_response(&response(429, &[("retry-after", "3")], body)),
            Err(SendError::throttled(3_000, "10011", "Too many requests"))
        );
        assert_eq!(
            interpret_send_response(&response(429, &[], "")),
            Err(SendError::throttled(1_000, "http-429", ""))
        );
    }

    #[test]
    fn server_errors_are_transient() {
        assert!(matches!(
            interpret_send_response(&response(500, &[], "")),
            Err(SendError::Transient(_))
        ));
        let body = r#"{"errors": [{"code": "10007", "title": "Unexpected error"}]}"#;
        assert_eq!(
            interpret_send_response(&response(503, &[], body)),
            Err(SendError::transient("10007", "Unexpected error"))
        );
    }

    #[test]
    fn invalid_settings_fail_sends_permanently() {
        let error = TelnyxProvider::with_settings(settings(&[]))
            .send(message())
            .expect_err("no settings");
        assert_eq!(error.info().code, "config-invalid");
    }

    #[test]
    fn describe_reports_capabilities_and_settings() {
        let info = TelnyxProvider::with_settings(Ok(valid(&[
            ("max-segments", "6"),
            ("rate-per-second", "12.5"),
        ])))
        .describe();
        assert_eq!(info.name, "telnyx");
        assert_eq!(info.max_segments, 6);
        assert_eq!(info.default_rate_per_second, Some(12.5));
        assert_eq!(
            info.capabilities,
            Capabilities::MMS | Capabilities::STATUS_WEBHOOKS | Capabilities::INBOUND
        );
    }

    #[test]
    fn statuses_map() {
        for (telnyx, expected) in [
            ("queued", DeliveryStatus::Queued),
            ("sending", DeliveryStatus::Queued),
            ("sent", DeliveryStatus::Sent),
            ("delivered", DeliveryStatus::Delivered),
            ("sending_failed", DeliveryStatus::Failed),
            ("delivery_failed", DeliveryStatus::Failed),
            ("expired", DeliveryStatus::Failed),
            ("delivery_unconfirmed", DeliveryStatus::Unknown),
            ("something_new", DeliveryStatus::Unknown),
        ] {
            assert_eq!(delivery_status(telnyx), expected, "{telnyx}");
        }
    }

    #[test]
    fn rfc3339_dates() {
        // Expected values from `date -u -d ... +%s%3N`.
        for (text, expected) in [
            ("1970-01-01T00:00:00Z", Some(0)),
            ("2019-01-23T18:10:02.574Z", Some(1_548_267_002_574)),
            ("2023-11-14T22:13:18.500+00:00", Some(1_699_999_998_500)),
            ("2023-11-14T23:13:18.5+01:00", Some(1_699_999_998_500)),
            ("2023-11-14T17:13:18.123456-05:00", Some(1_699_999_998_123)),
            ("2024-02-29T12:00:00Z", Some(1_709_208_000_000)),
            ("2000-03-01T00:00:00Z", Some(951_868_800_000)),
            ("1969-12-31T23:59:59Z", None),
            ("2023-13-01T00:00:00Z", None),
            ("2023-11-14T22:13:18", None),
            ("2023-11-14", None),
            ("yesterday", None),
            ("2023-11-14T22:13:18.x5Z", None),
        ] {
            assert_eq!(rfc3339_to_ms(text), expected, "{text}");
        }
    }

    #[test]
    fn malformed_bodies_are_rejected() {
        for body in [
            "",
            "not json",
            "{}",
            r#"{"data": {}}"#,
            r#"{"data": {"event_type": "message.received", "payload": {"id": "x"}}}"#,
            r#"{"data": {"event_type": "message.received",
                "payload": {"id": "x", "from": {"phone_number": "+1"}, "to": []}}}"#,
            r#"{"data": {"event_type": "message.finalized", "payload": {}}}"#,
        ] {
            assert!(
                matches!(
                    events_from_body(body.as_bytes()),
                    Err(WebhookError::Malformed(_))
                ),
                "{body:?}"
            );
        }
    }

    #[test]
    fn manifest_declares_exactly_the_settings_read() {
        let manifest = testing::Manifest::parse(include_str!("../plugin.toml"));
        let (lookup, asked) = testing::recording_config_lookup(&[("api-key", "KEY0123")]);
        Settings::from_config(lookup).expect("valid settings");
        let asked = asked.borrow();
        let asked: Vec<&str> = asked.iter().map(String::as_str).collect();
        manifest.assert_provider("telnyx", env!("CARGO_PKG_VERSION"), &asked);
        assert_eq!(manifest.field("component"), Some("provider_telnyx.wasm"));
        let schema = manifest.settings_schema();
        assert_eq!(schema["required"], serde_json::json!(["api-key"]));
        assert_eq!(schema["properties"]["api-key"]["writeOnly"], true);
    }
}
