//! Signed webhook fixtures: the bodies and signatures under
//! `tests/fixtures/` were made by `tests/fixtures/generate.py` (Python's
//! hmac, checked against Twilio's own `RequestValidator`), not by the code
//! under test.

use std::collections::HashMap;

use serde::Deserialize;
use switchboard_plugin_sdk::testing::{self, assert_bad_signature};
use switchboard_plugin_sdk::{
    DeliveryStatus, Event, InboundMessage, StatusUpdate, WebhookError, WebhookRequest,
};

use crate::{Settings, parse_webhook_request};

#[derive(Deserialize)]
struct Fixtures {
    auth_token: String,
    webhook_url: String,
    cases: HashMap<String, Case>,
}

#[derive(Deserialize)]
struct Case {
    path: String,
    query: String,
    body_file: String,
    signature: String,
}

fn fixtures() -> Fixtures {
    let json = testing::read_fixture(env!("CARGO_MANIFEST_DIR"), "signatures.json");
    serde_json::from_str(&json).expect("signatures.json")
}

/// The request body in `tests/fixtures/{file}`.
fn body(file: &str) -> String {
    testing::read_fixture(env!("CARGO_MANIFEST_DIR"), file)
}

fn settings(auth_token: &str, webhook_url: Option<&str>) -> Settings {
    let mut pairs = vec![
        ("account-sid", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        ("auth-token", auth_token),
    ];
    if let Some(url) = webhook_url {
        pairs.push(("webhook-url", url));
    }
    Settings::from_config(testing::config_lookup(&pairs)).expect("valid settings")
}

fn configured() -> Settings {
    let f = fixtures();
    settings(&f.auth_token, Some(&f.webhook_url))
}

/// The request of fixture `name`, with its signature header (when
/// `signature` is `Some`) and `body`.
fn request(name: &str, signature: Option<&str>, body: &str) -> WebhookRequest {
    let f = fixtures();
    let case = &f.cases[name];
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if let Some(signature) = signature {
        headers.push(("x-twilio-signature", signature));
    }
    WebhookRequest {
        query: case.query.clone(),
        ..testing::webhook_request(&case.path, &headers, body)
    }
}

/// The fixture's request exactly as signed.
fn signed(name: &str) -> WebhookRequest {
    let f = fixtures();
    let case = &f.cases[name];
    request(name, Some(&case.signature), &body(&case.body_file))
}

#[test]
fn valid_inbound_message() {
    let events = parse_webhook_request(&configured(), &signed("inbound")).expect("valid");
    let media = |n: u8| {
        format!(
            "https://api.twilio.com/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Messages/MM1/Media/ME{n}"
        )
    };
    assert_eq!(
        events,
        vec![Event::Inbound(InboundMessage {
            provider_message_id: "SM1f0e2d3c4b5a69788796a5b4c3d2e1f0".into(),
            from: "+14155550123".into(),
            to: "+14155550100".into(),
            body: "Hello \u{1F44B} world & more".into(),
            media: vec![media(1), media(2)],
            received_at_ms: None,
        })]
    );
}

#[test]
fn valid_stop_reply_is_an_inbound_message() {
    let events = parse_webhook_request(&configured(), &signed("inbound_stop")).expect("valid");
    assert!(
        matches!(&events[..], [Event::Inbound(m)] if m.body == "STOP" && m.media.is_empty()),
        "{events:?}"
    );
}

#[test]
fn valid_status_callback_with_query() {
    let events = parse_webhook_request(&configured(), &signed("status")).expect("valid");
    assert_eq!(
        events,
        vec![Event::Status(StatusUpdate {
            provider_message_id: "SM3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c".into(),
            status: DeliveryStatus::Undelivered,
            error_code: Some("30003".into()),
            error_message: Some("Unreachable destination handset".into()),
            opt_out: None,
        })]
    );
}

#[test]
fn a_url_signed_with_the_default_port_is_accepted() {
    let events =
        parse_webhook_request(&configured(), &signed("status_signed_with_port")).expect("valid");
    assert_eq!(events.len(), 1);
}

#[test]
fn a_trailing_slash_in_webhook_url_does_not_matter() {
    let f = fixtures();
    let s = settings(&f.auth_token, Some(&format!("{}/", f.webhook_url)));
    assert!(parse_webhook_request(&s, &signed("inbound")).is_ok());
}

#[test]
fn tampered_body_is_rejected() {
    let f = fixtures();
    let case = &f.cases["inbound"];
    let tampered = body("inbound.form").replace("From=%2B14155550123", "From=%2B14155550999");
    assert_ne!(tampered, body("inbound.form"));
    assert_bad_signature(parse_webhook_request(
        &configured(),
        &request("inbound", Some(&case.signature), &tampered),
    ));
}

#[test]
fn tampered_query_is_rejected() {
    let mut request = signed("status");
    request.query = "tenant=evil".into();
    assert_bad_signature(parse_webhook_request(&configured(), &request));
}

#[test]
fn signature_made_with_another_token_is_rejected() {
    assert_bad_signature(parse_webhook_request(
        &configured(),
        &signed("inbound_wrong_token"),
    ));
}

#[test]
fn valid_signature_checked_with_another_token_is_rejected() {
    let f = fixtures();
    let s = settings("another-token", Some(&f.webhook_url));
    assert_bad_signature(parse_webhook_request(&s, &signed("inbound")));
}

#[test]
fn wrong_webhook_url_is_rejected() {
    let f = fixtures();
    let s = settings(&f.auth_token, Some("https://other.example.com/switchboard"));
    assert_bad_signature(parse_webhook_request(&s, &signed("inbound")));
}

#[test]
fn missing_or_garbled_signature_is_rejected() {
    let inbound = body("inbound.form");
    assert_bad_signature(parse_webhook_request(
        &configured(),
        &request("inbound", None, &inbound),
    ));
    assert_bad_signature(parse_webhook_request(
        &configured(),
        &request("inbound", Some("not base64!"), &inbound),
    ));
    assert_bad_signature(parse_webhook_request(
        &configured(),
        &request("inbound", Some(""), &inbound),
    ));
}

#[test]
fn without_webhook_url_nothing_is_accepted() {
    let f = fixtures();
    let s = settings(&f.auth_token, None);
    let result = parse_webhook_request(&s, &signed("inbound"));
    assert!(
        matches!(&result, Err(WebhookError::Unsupported(why)) if why.contains("webhook-url")),
        "{result:?}"
    );
}

#[test]
fn only_post_is_handled() {
    let mut request = signed("inbound");
    request.method = "GET".into();
    assert!(matches!(
        parse_webhook_request(&configured(), &request),
        Err(WebhookError::Unsupported(_))
    ));
}
