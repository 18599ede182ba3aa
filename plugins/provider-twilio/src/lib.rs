//! `twilio`: a provider plugin for Twilio Programmable Messaging (REST API
//! `2010-04-01`).
//!
//! # Sending
//!
//! [`build_send_request`] makes `POST {api-base-url}/2010-04-01/Accounts/{account-sid}/Messages.json`,
//! form-encoded, with HTTP Basic auth (`api-key-sid:api-key-secret` when an
//! API key is configured, `account-sid:auth-token` otherwise) and the fields
//! `To`, `From` (or `MessagingServiceSid` when `messaging-service-sid` is
//! set), `Body` (when not empty), one `MediaUrl` per media URL and
//! `StatusCallback` (when `status-callback-url` is set).
//!
//! Twilio's Messages API has no idempotency key (the v2010 description
//! declares no header or parameter for it), so the message's key is not sent;
//! and Twilio cannot find a message by our key, so the plugin does not
//! implement `lookup`.
//!
//! [`interpret_send_response`] turns the answer into a receipt (`sid`, and
//! `num_segments`, which Twilio sends as a string and as `"0"` while a
//! Messaging Service has not picked a sender: reported as unknown) or an
//! error:
//!
//! | response | error |
//! | --- | --- |
//! | 401 | permanent, code `auth-failed` |
//! | 429 | throttled, after `Retry-After` seconds (1 s without it) |
//! | 408, 425, 5xx | transient |
//! | other 4xx | permanent, with Twilio's `code` (e.g. `21211` invalid To, `21610` unsubscribed recipient) |
//! | timeout, transport error | transient |
//!
//! A 2xx answer without a `sid` is reported as a permanent error
//! (`invalid-response`): Twilio may have accepted the message, and a retry
//! could send it twice.
//!
//! # Webhooks
//!
//! Twilio signs every webhook with `X-Twilio-Signature`:
//! `base64(HMAC-SHA1(auth-token, URL + every POST parameter sorted by name,
//! each as name immediately followed by value))`. The URL is the one Twilio
//! called, which the plugin cannot see behind the engine's reverse proxy, so
//! it is rebuilt from the `webhook-url` setting (see [`signed_url`]):
//!
//! ```text
//! webhook-url (without its trailing '/') + request path + ('?' + query, when there is one)
//! ```
//!
//! For example, with `webhook-url = https://sms.example.com/switchboard` and
//! a request to `/webhooks/twilio?tenant=acme`, the signed URL is
//! `https://sms.example.com/switchboard/webhooks/twilio?tenant=acme`. So
//! `webhook-url` is the public scheme and host (and port, and any path prefix
//! the proxy strips) under which Twilio reaches the engine. As Twilio's own
//! validators do, the URL is also tried with the default port added (or the
//! port removed). Without `webhook-url` every webhook is refused: an unsigned
//! webhook is never accepted. Only `POST` webhooks are handled.
//!
//! A webhook is one of:
//! - an inbound message (`SmsStatus` or `MessageStatus` is `received`, or
//!   there is a `Body` and no `MessageStatus`): `MessageSid`, `From`, `To`,
//!   `Body` and the media `MediaUrl0` .. `MediaUrl{NumMedia-1}`. Advanced
//!   Opt-Out's `OptOutType` (`STOP`, `START`, `HELP`) is not reported
//!   separately: the WIT's `opt-out` belongs to status updates of messages we
//!   sent, and the inbound message already carries the keyword, which the
//!   engine's conversation layer handles;
//! - a status callback (`MessageStatus`): see [`delivery_status`]; `ErrorCode`
//!   and `ErrorMessage` when present. Error `21610` (the recipient replied
//!   STOP) also sets `opt-out`.

use serde::Deserialize;
use serde_json::Value;
use switchboard_plugin_sdk::form::Form;
use switchboard_plugin_sdk::http::{self, HttpRequest, HttpResponse, Request};
use switchboard_plugin_sdk::settings::{self, Configured};
use switchboard_plugin_sdk::{
    self as sdk, Capabilities, DeliveryStatus, ErrorInfo, Event, InboundMessage, Message,
    PluginInfo, Provider, Receipt, SendError, StatusUpdate, WebhookError, WebhookRequest,
    signature,
};

/// Where Twilio's REST API lives.
pub const DEFAULT_API_BASE_URL: &str = "https://api.twilio.com";

/// Header that carries Twilio's webhook signature.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";

/// Longest message, in segments: Twilio takes bodies of up to 1,600
/// characters, 10 GSM-7 segments.
pub const DEFAULT_MAX_SEGMENTS: u32 = 10;

/// Sending rate when none is configured: one message a second, what a US
/// long code may send. Short codes and toll-free numbers go faster.
pub const DEFAULT_RATE_PER_SECOND: f64 = 1.0;

/// Most media a Twilio message carries (`NumMedia` is at most 10).
const MAX_MEDIA: usize = 10;

/// Twilio's error code for a recipient who replied STOP.
const UNSUBSCRIBED_RECIPIENT: &str = "21610";

/// The plugin's settings, parsed and checked.
#[derive(Clone, PartialEq)]
pub struct Settings {
    /// `AC…`: the account that sends, part of the API path.
    pub account_sid: String,
    /// The account's auth token: the Basic auth password when no API key is
    /// set, and always the key of webhook signatures.
    pub auth_token: String,
    /// An API key to authenticate with instead of the auth token.
    pub api_key: Option<ApiKey>,
    /// `MG…`: sent as `MessagingServiceSid` instead of `From`.
    pub messaging_service_sid: Option<String>,
    /// Sent as `StatusCallback`.
    pub status_callback_url: Option<String>,
    /// Base of the REST API, without a trailing `/`.
    pub api_base_url: String,
    /// Public base URL of the engine's webhooks, without a trailing `/`.
    pub webhook_url: Option<String>,
    /// Longest message, in segments.
    pub max_segments: u32,
    /// Rate `describe` suggests, per second.
    pub rate_per_second: f64,
}

/// A Twilio API key (`SK…` and its secret).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// `SK…`.
    pub sid: String,
    /// The key's secret.
    pub secret: String,
}

impl std::fmt::Debug for Settings {
    /// Like a derived `Debug`, with the secrets left out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"<redacted>")
            .field("api_key", &self.api_key)
            .field("messaging_service_sid", &self.messaging_service_sid)
            .field("status_callback_url", &self.status_callback_url)
            .field("api_base_url", &self.api_base_url)
            .field("webhook_url", &self.webhook_url)
            .field("max_segments", &self.max_segments)
            .field("rate_per_second", &self.rate_per_second)
            .finish()
    }
}

impl std::fmt::Debug for ApiKey {
    /// The sid only: the secret is left out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("sid", &self.sid)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl Settings {
    /// Reads the settings through `get` (the host's `config-get`, or a map in
    /// tests). Values are trimmed; blank values count as absent.
    pub fn from_config(get: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
        let get = |key: &str| settings::trimmed(get(key));
        let account_sid = settings::required(get("account-sid"), "account-sid")?;
        check_sid(&account_sid, "AC", "account-sid")?;
        Ok(Settings {
            account_sid,
            auth_token: settings::required(get("auth-token"), "auth-token")?,
            api_key: api_key(get("api-key-sid"), get("api-key-secret"))?,
            messaging_service_sid: get("messaging-service-sid")
                .map(|sid| check_sid(&sid, "MG", "messaging-service-sid").map(|()| sid))
                .transpose()?,
            status_callback_url: settings::http_url(
                get("status-callback-url"),
                "status-callback-url",
            )?,
            api_base_url: settings::http_url(get("api-base-url"), "api-base-url")?
                .unwrap_or_else(|| DEFAULT_API_BASE_URL.to_string()),
            webhook_url: settings::http_url(get("webhook-url"), "webhook-url")?,
            max_segments: settings::positive_integer(get("max-segments"), "max-segments")?
                .unwrap_or(DEFAULT_MAX_SEGMENTS),
            rate_per_second: settings::positive_number(get("rate-per-second"), "rate-per-second")?
                .unwrap_or(DEFAULT_RATE_PER_SECOND),
        })
    }

    /// The Basic auth user and password: the API key when set, else the
    /// account sid and auth token.
    pub fn credentials(&self) -> (&str, &str) {
        match &self.api_key {
            Some(key) => (&key.sid, &key.secret),
            None => (&self.account_sid, &self.auth_token),
        }
    }

    /// The Messages resource of the account.
    pub fn messages_url(&self) -> String {
        format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.api_base_url, self.account_sid
        )
    }
}

/// Checks a Twilio sid: a two-letter prefix and 32 hex digits, as the API
/// description's patterns say. (The account sid also goes into the URL path,
/// so nothing else may get through.)
fn check_sid(sid: &str, prefix: &str, key: &str) -> Result<(), String> {
    let hex = sid.strip_prefix(prefix).unwrap_or_default();
    if hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(format!(
            "{key}: {sid:?} is not a sid ({prefix} and 32 hex digits)"
        ))
    }
}

/// Both API key settings, or neither.
fn api_key(sid: Option<String>, secret: Option<String>) -> Result<Option<ApiKey>, String> {
    match (sid, secret) {
        (None, None) => Ok(None),
        (Some(sid), Some(secret)) => {
            check_sid(&sid, "SK", "api-key-sid")?;
            Ok(Some(ApiKey { sid, secret }))
        }
        _ => Err("api-key-sid and api-key-secret must be set together".into()),
    }
}

/// The form Twilio's "create a Message" call takes for `message`.
pub fn send_form(settings: &Settings, message: &Message) -> Form {
    let form = Form::new().field("To", &message.to);
    let form = match &settings.messaging_service_sid {
        Some(sid) => form.field("MessagingServiceSid", sid),
        None => form.field("From", &message.from),
    };
    form.optional(
        "Body",
        Some(message.body.as_str()).filter(|body| !body.is_empty()),
    )
    .repeated("MediaUrl", &message.media)
    .optional("StatusCallback", settings.status_callback_url.as_deref())
}

/// The HTTP request that sends `message`.
pub fn build_send_request(settings: &Settings, message: &Message) -> HttpRequest {
    let (user, password) = settings.credentials();
    Request::post(settings.messages_url())
        .header_pair(http::basic_auth(user, password))
        .header("Accept", "application/json")
        .form(&send_form(settings, message))
        .build()
}

/// The fields of a created Message the plugin uses.
#[derive(Debug, Deserialize)]
struct CreatedMessage {
    sid: Option<String>,
    #[serde(default)]
    num_segments: Value,
}

/// Twilio's JSON error body (`{"code": 21211, "message": "...", ...}`).
#[derive(Debug, Deserialize)]
struct TwilioError {
    #[serde(default)]
    code: Value,
    #[serde(default)]
    message: Option<String>,
}

/// A receipt for a 2xx answer, an error otherwise.
pub fn interpret_send_response(response: &HttpResponse) -> Result<Receipt, SendError> {
    if response.is_success() {
        receipt_from_body(&response.body)
    } else {
        Err(send_error_for_failure(response))
    }
}

/// The receipt in a created Message's JSON.
fn receipt_from_body(body: &[u8]) -> Result<Receipt, SendError> {
    let created: CreatedMessage = serde_json::from_slice(body).map_err(|e| {
        SendError::permanent(
            "invalid-response",
            format!("Twilio accepted the request but its answer is not a Message: {e}"),
        )
    })?;
    let sid = created.sid.filter(|sid| !sid.is_empty()).ok_or_else(|| {
        SendError::permanent(
            "invalid-response",
            "Twilio accepted the request but its answer has no sid",
        )
    })?;
    Ok(Receipt {
        provider_message_id: sid,
        segments: segment_count(&created.num_segments),
    })
}

/// `num_segments` (a string in Twilio's JSON; a number is accepted too); `0`
/// means not known yet.
fn segment_count(value: &Value) -> Option<u32> {
    let count = match value {
        Value::String(text) => text.trim().parse::<u32>().ok()?,
        Value::Number(number) => u32::try_from(number.as_u64()?).ok()?,
        _ => return None,
    };
    (count > 0).then_some(count)
}

/// The error for a non-2xx answer.
fn send_error_for_failure(response: &HttpResponse) -> SendError {
    let info = twilio_error_info(response);
    if response.status == 401 {
        return SendError::permanent(
            "auth-failed",
            format!(
                "Twilio rejected the credentials ({}: {})",
                info.code, info.message
            ),
        );
    }
    http::send_error_with_info(response, info)
}

/// Twilio's `code` and `message`, or `http-<status>` and the body when the
/// body is not Twilio's error JSON.
fn twilio_error_info(response: &HttpResponse) -> ErrorInfo {
    let fallback = http::status_error_info(response);
    let Ok(error) = serde_json::from_slice::<TwilioError>(&response.body) else {
        return fallback;
    };
    let code = match error.code {
        Value::Number(number) => number.to_string(),
        Value::String(text) if !text.is_empty() => text,
        _ => fallback.code,
    };
    let message = error
        .message
        .filter(|m| !m.is_empty())
        .unwrap_or(fallback.message);
    ErrorInfo::new(code, message)
}

/// The URL Twilio signed for `request`: `webhook_url` (without its trailing
/// `/`), the request's path, and `?` and the raw query when there is one.
pub fn signed_url(webhook_url: &str, path: &str, query: &str) -> String {
    let mut url = webhook_url.trim_end_matches('/').to_string();
    if !path.starts_with('/') {
        url.push('/');
    }
    url.push_str(path);
    if !query.is_empty() {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// `url` with the port toggled, as Twilio's validators also try it: without
/// the port when it has one, with the scheme's default port otherwise.
/// `None` when `url` has no `scheme://host`.
pub fn url_with_port_toggled(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host_end = authority.rfind(']').map_or(0, |i| i + 1);
    let authority = match authority[host_end..].find(':') {
        Some(colon) => authority[..host_end + colon].to_string(),
        None => {
            let port = if scheme.eq_ignore_ascii_case("https") {
                443
            } else {
                80
            };
            format!("{authority}:{port}")
        }
    };
    Some(format!("{scheme}://{authority}{tail}"))
}

/// The text Twilio signs: the URL, then every parameter as name and value,
/// sorted by name then value (repeated identical pairs count once, as in
/// Twilio's validators).
pub fn signature_payload(url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut payload = url.to_string();
    for (name, value) in sorted {
        payload.push_str(name);
        payload.push_str(value);
    }
    payload
}

/// Whether `header` (base64) is Twilio's signature of `url` and `params`
/// under `auth_token`. Compared in constant time.
pub fn verify_signature(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    header: &str,
) -> bool {
    let Ok(given) = signature::base64_decode(header) else {
        return false;
    };
    let expected = signature::hmac_sha1(
        auth_token.as_bytes(),
        signature_payload(url, params).as_bytes(),
    );
    signature::constant_time_eq(&given, &expected)
}

/// Checks a webhook's signature against the configured URL (and its port
/// variant) and turns the webhook into events.
pub fn parse_webhook_request(
    settings: &Settings,
    request: &WebhookRequest,
) -> Result<Vec<Event>, WebhookError> {
    let webhook_url = settings.webhook_url.as_deref().ok_or_else(|| {
        WebhookError::Unsupported(
            "webhook-url is not configured: without it X-Twilio-Signature cannot be checked, \
             so every webhook is refused"
                .into(),
        )
    })?;
    if !request.method.eq_ignore_ascii_case("POST") {
        return Err(WebhookError::Unsupported(format!(
            "{} webhooks are not handled: configure Twilio to POST",
            request.method
        )));
    }
    let header = request
        .header(SIGNATURE_HEADER)
        .ok_or_else(|| WebhookError::BadSignature(format!("missing {SIGNATURE_HEADER} header")))?;
    let params = request.form();
    let url = signed_url(webhook_url, &request.path, &request.query);
    let valid = verify_signature(&settings.auth_token, &url, &params, header)
        || url_with_port_toggled(&url)
            .is_some_and(|other| verify_signature(&settings.auth_token, &other, &params, header));
    if !valid {
        return Err(WebhookError::BadSignature(format!(
            "{SIGNATURE_HEADER} does not match {url} and the body: check webhook-url and auth-token"
        )));
    }
    event_from_params(&params).map(|event| vec![event])
}

/// A webhook's form parameters, by name.
struct Params<'a>(&'a [(String, String)]);

impl Params<'_> {
    /// The first non-empty value of `name`.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// The value of `name`, or a `Malformed` error naming it.
    fn require(&self, name: &str) -> Result<&str, WebhookError> {
        self.get(name)
            .ok_or_else(|| WebhookError::Malformed(format!("the webhook has no {name}")))
    }

    /// The message's sid (`MessageSid`, or the older `SmsSid`).
    fn message_sid(&self) -> Result<String, WebhookError> {
        self.get("MessageSid")
            .or_else(|| self.get("SmsSid"))
            .map(str::to_string)
            .ok_or_else(|| WebhookError::Malformed("the webhook has no MessageSid".into()))
    }
}

/// The event a (verified) webhook's parameters describe.
pub fn event_from_params(params: &[(String, String)]) -> Result<Event, WebhookError> {
    let params = Params(params);
    let message_status = params.get("MessageStatus");
    let received = [params.get("SmsStatus"), message_status].contains(&Some("received"));
    if received || (message_status.is_none() && params.get("Body").is_some()) {
        inbound_from_params(&params).map(Event::Inbound)
    } else if let Some(status) = message_status {
        status_from_params(&params, status).map(Event::Status)
    } else {
        Err(WebhookError::Malformed(
            "neither an inbound message nor a status callback (no Body, no MessageStatus)".into(),
        ))
    }
}

/// An inbound message.
fn inbound_from_params(params: &Params<'_>) -> Result<InboundMessage, WebhookError> {
    Ok(InboundMessage {
        provider_message_id: params.message_sid()?,
        from: params.require("From")?.to_string(),
        to: params.require("To")?.to_string(),
        body: params.get("Body").unwrap_or_default().to_string(),
        media: media_urls(params),
        received_at_ms: None,
    })
}

/// `MediaUrl0` .. `MediaUrl{NumMedia-1}`, those present.
fn media_urls(params: &Params<'_>) -> Vec<String> {
    let count = params
        .get("NumMedia")
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_MEDIA);
    (0..count)
        .filter_map(|i| params.get(&format!("MediaUrl{i}")))
        .map(str::to_string)
        .collect()
}

/// A status callback with `MessageStatus` = `status`.
fn status_from_params(params: &Params<'_>, status: &str) -> Result<StatusUpdate, WebhookError> {
    let error_code = params.get("ErrorCode").map(str::to_string);
    let opt_out = (error_code.as_deref() == Some(UNSUBSCRIBED_RECIPIENT)).then_some(true);
    Ok(StatusUpdate {
        provider_message_id: params.message_sid()?,
        status: delivery_status(status),
        error_code,
        error_message: params.get("ErrorMessage").map(str::to_string),
        opt_out,
    })
}

/// Twilio's message status as a delivery status: `accepted`, `scheduled`,
/// `queued` and `sending` are queued (not yet handed to a carrier); `sent`
/// is sent; `delivered` and `read` are delivered; `undelivered` is
/// undelivered; `failed` and `canceled` are failed; anything else
/// (`partially_delivered`, new values) is unknown.
pub fn delivery_status(status: &str) -> DeliveryStatus {
    match status {
        "accepted" | "scheduled" | "queued" | "sending" => DeliveryStatus::Queued,
        "sent" => DeliveryStatus::Sent,
        "delivered" | "read" => DeliveryStatus::Delivered,
        "undelivered" => DeliveryStatus::Undelivered,
        "failed" | "canceled" => DeliveryStatus::Failed,
        _ => DeliveryStatus::Unknown,
    }
}

/// The provider: its settings, or why they are invalid.
#[derive(Debug)]
pub struct TwilioProvider {
    settings: Configured<Settings>,
}

impl TwilioProvider {
    /// A provider with the given settings (tests build it this way).
    pub fn with_settings(settings: Result<Settings, String>) -> Self {
        TwilioProvider {
            settings: Configured::new(settings),
        }
    }
}

impl Provider for TwilioProvider {
    fn new() -> Self {
        TwilioProvider {
            settings: Configured::from_host("twilio", Settings::from_config),
        }
    }

    fn describe(&self) -> PluginInfo {
        let settings = self.settings.valid();
        PluginInfo {
            name: "twilio".into(),
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
        parse_webhook_request(settings, &request)
    }
}

sdk::export_provider!(TwilioProvider);

#[cfg(test)]
mod fixture_tests;

#[cfg(test)]
mod tests {
    use switchboard_plugin_sdk::testing::{self, response};

    use super::*;

    const ACCOUNT_SID: &str = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const SERVICE_SID: &str = "MGbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const KEY_SID: &str = "SKcccccccccccccccccccccccccccccccc";

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, String> {
        Settings::from_config(testing::config_lookup(pairs))
    }

    fn valid(extra: &[(&str, &str)]) -> Settings {
        let mut pairs = vec![("account-sid", ACCOUNT_SID), ("auth-token", "tok3n")];
        pairs.extend_from_slice(extra);
        settings(&pairs).expect("valid settings")
    }

    fn message() -> Message {
        testing::message("key-1", "+14155550100", "+14155550123", "Hi & bye")
    }

    fn header<'a>(request: &'a HttpRequest, name: &str) -> Option<&'a str> {
        http::find_header(&request.headers, name)
    }

    #[test]
    fn settings_defaults() {
        let s = valid(&[]);
        assert_eq!(s.api_base_url, DEFAULT_API_BASE_URL);
        assert_eq!(s.max_segments, DEFAULT_MAX_SEGMENTS);
        assert_eq!(s.rate_per_second, DEFAULT_RATE_PER_SECOND);
        assert_eq!(s.webhook_url, None);
        assert_eq!(s.credentials(), (ACCOUNT_SID, "tok3n"));
    }

    #[test]
    fn settings_are_checked() {
        for (pairs, needle) in [
            (vec![("auth-token", "t")], "account-sid"),
            (vec![("account-sid", ACCOUNT_SID)], "auth-token"),
            (
                vec![("account-sid", "AC123/../x"), ("auth-token", "t")],
                "account-sid",
            ),
            (
                vec![
                    ("account-sid", ACCOUNT_SID),
                    ("auth-token", "t"),
                    ("api-key-sid", KEY_SID),
                ],
                "api-key-secret",
            ),
            (
                vec![
                    ("account-sid", ACCOUNT_SID),
                    ("auth-token", "t"),
                    ("messaging-service-sid", "MG1"),
                ],
                "messaging-service-sid",
            ),
            (
                vec![
                    ("account-sid", ACCOUNT_SID),
                    ("auth-token", "t"),
                    ("webhook-url", "sms.example.com"),
                ],
                "webhook-url",
            ),
            (
                vec![
                    ("account-sid", ACCOUNT_SID),
                    ("auth-token", "t"),
                    ("max-segments", "0"),
                ],
                "max-segments",
            ),
            (
                vec![
                    ("account-sid", ACCOUNT_SID),
                    ("auth-token", "t"),
                    ("rate-per-second", "-1"),
                ],
                "rate-per-second",
            ),
        ] {
            let error = settings(&pairs).expect_err("invalid");
            assert!(error.contains(needle), "{pairs:?}: {error}");
        }
    }

    #[test]
    fn settings_debug_hides_secrets() {
        let s = valid(&[("api-key-sid", KEY_SID), ("api-key-secret", "k3y-s3cret")]);
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("tok3n") && !shown.contains("k3y-s3cret"),
            "{shown}"
        );
        assert!(shown.contains(KEY_SID));
    }

    #[test]
    fn send_request_shape() {
        let s = valid(&[
            ("api-base-url", "http://127.0.0.1:4010/"),
            (
                "status-callback-url",
                "https://sms.example.com/webhooks/twilio",
            ),
        ]);
        let mut m = message();
        m.media = vec![
            "https://cdn.example/a.png".into(),
            "https://cdn.example/b.gif".into(),
        ];
        let request = build_send_request(&s, &m);
        assert_eq!(request.method, "POST");
        assert_eq!(
            request.url,
            format!("http://127.0.0.1:4010/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json")
        );
        assert_eq!(
            header(&request, "content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(header(&request, "accept"), Some("application/json"));
        // base64("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:tok3n"), computed with `base64`.
        assert_eq!(
            header(&request, "authorization"),
            Some("Basic QUNhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYTp0b2szbg==")
        );
        assert_eq!(
            String::from_utf8(request.body).expect("utf-8"),
            "To=%2B14155550123&From=%2B14155550100&Body=Hi+%26+bye\
             &MediaUrl=https%3A%2F%2Fcdn.example%2Fa.png&MediaUrl=https%3A%2F%2Fcdn.example%2Fb.gif\
             &StatusCallback=https%3A%2F%2Fsms.example.com%2Fwebhooks%2Ftwilio"
        );
    }

    #[test]
    fn messaging_service_replaces_from_and_api_key_replaces_token() {
        let s = valid(&[
            ("messaging-service-sid", SERVICE_SID),
            ("api-key-sid", KEY_SID),
            ("api-key-secret", "secret"),
        ]);
        let mut m = message();
        m.body = String::new();
        m.media = vec!["https://cdn.example/a.png".into()];
        let request = build_send_request(&s, &m);
        assert!(
            request
                .url
                .starts_with("https://api.twilio.com/2010-04-01/Accounts/AC")
        );
        assert_eq!(
            header(&request, "authorization"),
            Some(http::basic_auth(KEY_SID, "secret").1.as_str())
        );
        let form = switchboard_plugin_sdk::form::parse(&request.body);
        let names: Vec<&str> = form.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["To", "MessagingServiceSid", "MediaUrl"]);
        assert_eq!(form[1].1, SERVICE_SID);
    }

    #[test]
    fn created_message_becomes_a_receipt() {
        let body = r#"{"sid": "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "status": "queued",
                       "num_segments": "2", "error_code": null}"#;
        assert_eq!(
            interpret_send_response(&response(201, &[], body)),
            Ok(Receipt {
                provider_message_id: "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into(),
                segments: Some(2)
            })
        );
        for (segments, expected) in [
            (r#""0""#, None),
            ("null", None),
            ("3", Some(3)),
            (r#""x""#, None),
        ] {
            let body = format!(r#"{{"sid": "SM1", "num_segments": {segments}}}"#);
            let receipt = interpret_send_response(&response(201, &[], &body)).expect("receipt");
            assert_eq!(receipt.segments, expected, "{segments}");
        }
    }

    #[test]
    fn success_without_sid_is_not_retried() {
        for body in ["", "{}", "<html>", r#"{"sid": ""}"#] {
            let error = interpret_send_response(&response(201, &[], body)).expect_err(body);
            assert!(matches!(error, SendError::Permanent(_)), "{body:?}");
            assert_eq!(error.info().code, "invalid-response");
        }
    }

    #[test]
    fn client_errors_are_permanent_with_twilio_codes() {
        let body = r#"{"code": 21211, "message": "The 'To' number +1555 is not a valid phone number.",
                       "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}"#;
        assert_eq!(
            interpret_send_response(&response(400, &[], body)),
            Err(SendError::permanent(
                "21211",
                "The 'To' number +1555 is not a valid phone number."
            ))
        );
        let unsubscribed =
            r#"{"code": 21610, "message": "Attempt to send to unsubscribed recipient"}"#;
        assert_eq!(
            interpret_send_response(&response(400, &[], unsubscribed))
                .expect_err("unsubscribed")
                .info()
                .code,
            "21610"
        );
        assert_eq!(
            interpret_send_response(&response(404, &[], "not json")),
            Err(SendError::permanent("http-404", "not json"))
        );
    }

    #[test]
    fn unauthorized_is_auth_failed() {
        let body = r#"{"code": 20003, "message": "Authenticate", "status": 401}"#;
        let error = interpret_send_response(&response(401, &[], body)).expect_err("401");
        assert!(matches!(error, SendError::Permanent(_)));
        assert_eq!(error.info().code, "auth-failed");
        assert!(error.info().message.contains("20003"));
    }

    #[test]
    fn too_many_requests_is_throttled() {
        let body = r#"{"code": 20429, "message": "Too Many Requests"}"#;
        assert_eq!(
            interpret_send_response(&response(429, &[("Retry-After", "5")], body)),
            Err(SendError::throttled(5_000, "20429", "Too Many Requests"))
        );
        assert_eq!(
            interpret_send_response(&response(429, &[], "")),
            Err(SendError::throttled(1_000, "http-429", ""))
        );
    }

    #[test]
    fn server_errors_are_transient() {
        assert_eq!(
            interpret_send_response(&response(
                500,
                &[],
                r#"{"code": 20500, "message": "Internal"}"#
            )),
            Err(SendError::transient("20500", "Internal"))
        );
        assert!(matches!(
            interpret_send_response(&response(503, &[], "")),
            Err(SendError::Transient(_))
        ));
    }

    #[test]
    fn invalid_settings_fail_sends_permanently() {
        let provider = TwilioProvider::with_settings(settings(&[]));
        let error = provider.send(message()).expect_err("no settings");
        assert_eq!(error.info().code, "config-invalid");
    }

    #[test]
    fn describe_reports_capabilities_and_settings() {
        let info = TwilioProvider::with_settings(Ok(valid(&[
            ("max-segments", "4"),
            ("rate-per-second", "30"),
        ])))
        .describe();
        assert_eq!(info.name, "twilio");
        assert_eq!(info.max_segments, 4);
        assert_eq!(info.default_rate_per_second, Some(30.0));
        assert_eq!(
            info.capabilities,
            Capabilities::MMS | Capabilities::STATUS_WEBHOOKS | Capabilities::INBOUND
        );
        let defaults = TwilioProvider::with_settings(Err("broken".into())).describe();
        assert_eq!(defaults.max_segments, DEFAULT_MAX_SEGMENTS);
    }

    #[test]
    fn signed_url_joins_base_path_and_query() {
        assert_eq!(
            signed_url("https://sms.example.com/base", "/webhooks/twilio", ""),
            "https://sms.example.com/base/webhooks/twilio"
        );
        assert_eq!(
            signed_url("https://sms.example.com/", "/hook", "a=1&b=2"),
            "https://sms.example.com/hook?a=1&b=2"
        );
        assert_eq!(
            signed_url("https://x.example", "hook", ""),
            "https://x.example/hook"
        );
    }

    #[test]
    fn port_variants() {
        assert_eq!(
            url_with_port_toggled("https://x.example/hook?a=1").as_deref(),
            Some("https://x.example:443/hook?a=1")
        );
        assert_eq!(
            url_with_port_toggled("http://x.example:8080/hook").as_deref(),
            Some("http://x.example/hook")
        );
        assert_eq!(
            url_with_port_toggled("http://[::1]:80").as_deref(),
            Some("http://[::1]")
        );
        assert_eq!(
            url_with_port_toggled("http://[::1]?q").as_deref(),
            Some("http://[::1]:80?q")
        );
        assert_eq!(url_with_port_toggled("no-scheme"), None);
    }

    #[test]
    fn signature_payload_sorts_by_name() {
        let params = vec![
            ("To".to_string(), "+2".to_string()),
            ("Body".to_string(), "hi".to_string()),
            ("MediaUrl".to_string(), "b".to_string()),
            ("MediaUrl".to_string(), "a".to_string()),
            ("Body".to_string(), "hi".to_string()),
        ];
        assert_eq!(
            signature_payload("https://x/h", &params),
            "https://x/hBodyhiMediaUrlaMediaUrlbTo+2"
        );
    }

    #[test]
    fn statuses_map() {
        for (twilio, expected) in [
            ("accepted", DeliveryStatus::Queued),
            ("scheduled", DeliveryStatus::Queued),
            ("queued", DeliveryStatus::Queued),
            ("sending", DeliveryStatus::Queued),
            ("sent", DeliveryStatus::Sent),
            ("delivered", DeliveryStatus::Delivered),
            ("read", DeliveryStatus::Delivered),
            ("undelivered", DeliveryStatus::Undelivered),
            ("failed", DeliveryStatus::Failed),
            ("canceled", DeliveryStatus::Failed),
            ("partially_delivered", DeliveryStatus::Unknown),
            ("something-new", DeliveryStatus::Unknown),
        ] {
            assert_eq!(delivery_status(twilio), expected, "{twilio}");
        }
    }

    #[test]
    fn params_classify_into_events() {
        let pairs = testing::pairs;
        let inbound = event_from_params(&pairs(&[
            ("MessageSid", "SM1"),
            ("From", "+1"),
            ("To", "+2"),
            ("Body", "hi"),
            ("NumMedia", "50"),
            ("MediaUrl0", "https://m/0"),
        ]))
        .expect("inbound");
        assert!(matches!(&inbound, Event::Inbound(m) if m.media == ["https://m/0"]));
        let status = event_from_params(&pairs(&[
            ("MessageSid", "SM2"),
            ("MessageStatus", "undelivered"),
            ("ErrorCode", "21610"),
        ]))
        .expect("status");
        assert_eq!(
            status,
            Event::Status(StatusUpdate {
                provider_message_id: "SM2".into(),
                status: DeliveryStatus::Undelivered,
                error_code: Some("21610".into()),
                error_message: None,
                opt_out: Some(true),
            })
        );
        for bad in [
            pairs(&[("AccountSid", ACCOUNT_SID)]),
            pairs(&[("MessageStatus", "sent")]),
            pairs(&[("MessageSid", "SM1"), ("Body", "hi"), ("To", "+2")]),
        ] {
            assert!(
                matches!(event_from_params(&bad), Err(WebhookError::Malformed(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn manifest_declares_exactly_the_settings_read() {
        let manifest = testing::Manifest::parse(include_str!("../plugin.toml"));
        // Every key the settings reader asks for, with optional ones set too.
        let (lookup, asked) = testing::recording_config_lookup(&[
            ("account-sid", ACCOUNT_SID),
            ("auth-token", "tok3n"),
            ("api-key-sid", KEY_SID),
            ("api-key-secret", "s3cret"),
        ]);
        Settings::from_config(lookup).expect("valid settings");
        let asked = asked.borrow();
        let asked: Vec<&str> = asked.iter().map(String::as_str).collect();
        manifest.assert_provider("twilio", env!("CARGO_PKG_VERSION"), &asked);
        assert_eq!(manifest.field("component"), Some("provider_twilio.wasm"));
        let schema = manifest.settings_schema();
        assert_eq!(
            schema["required"],
            serde_json::json!(["account-sid", "auth-token"])
        );
        for secret in ["auth-token", "api-key-secret"] {
            assert_eq!(schema["properties"][secret]["writeOnly"], true, "{secret}");
        }
    }
}
