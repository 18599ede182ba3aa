//! Signed webhook fixtures: the bodies, keys and signatures under
//! `tests/fixtures/` were made by `tests/fixtures/generate.py` (Python's
//! `cryptography`, Ed25519 keys from fixed seeds), not by the code under
//! test.

use std::collections::HashMap;

use serde::Deserialize;
use switchboard_plugin_sdk::testing::{self, assert_bad_signature};
use switchboard_plugin_sdk::{
    DeliveryStatus, Event, InboundMessage, StatusUpdate, WebhookError, WebhookRequest,
};

use crate::{Settings, parse_webhook_request};

#[derive(Deserialize)]
struct Fixtures {
    public_key: String,
    other_public_key: String,
    cases: HashMap<String, Case>,
}

#[derive(Deserialize)]
struct Case {
    body_file: String,
    timestamp: String,
    signature: String,
}

/// When the fixtures were signed (`telnyx-timestamp`), in milliseconds.
const SIGNED_AT_MS: u64 = 1_700_000_000_000;

fn fixtures() -> Fixtures {
    let json = testing::read_fixture(env!("CARGO_MANIFEST_DIR"), "signatures.json");
    serde_json::from_str(&json).expect("signatures.json")
}

/// The request body in `tests/fixtures/{file}`.
fn body(file: &str) -> String {
    testing::read_fixture(env!("CARGO_MANIFEST_DIR"), file)
}

fn settings_with_key(public_key: &str) -> Settings {
    let pairs = [("api-key", "KEY0123"), ("public-key", public_key)];
    Settings::from_config(testing::config_lookup(&pairs)).expect("valid settings")
}

fn configured() -> Settings {
    settings_with_key(&fixtures().public_key)
}

fn request(headers: &[(&str, &str)], body: &str) -> WebhookRequest {
    testing::webhook_request("/webhooks/telnyx", headers, body)
}

/// The fixture's request exactly as Telnyx signed it.
fn signed(name: &str) -> WebhookRequest {
    let f = fixtures();
    let case = &f.cases[name];
    request(
        &[
            ("Content-Type", "application/json"),
            ("Telnyx-Signature-Ed25519", &case.signature),
            ("Telnyx-Timestamp", &case.timestamp),
        ],
        &body(&case.body_file),
    )
}

fn parse(name: &str) -> Result<Vec<Event>, WebhookError> {
    parse_webhook_request(&configured(), &signed(name), SIGNED_AT_MS)
}

#[test]
fn valid_inbound_message() {
    assert_eq!(
        parse("received"),
        Ok(vec![Event::Inbound(InboundMessage {
            provider_message_id: "84cca175-9755-4859-b67f-4730d7f58aa3".into(),
            from: "+14155550123".into(),
            to: "+14155550100".into(),
            body: "Hello \u{e9}\u{e8} \u{1F44B}".into(),
            media: vec!["https://media.telnyx.example/abc.jpg".into()],
            received_at_ms: Some(1_699_999_998_500),
        })])
    );
}

#[test]
fn valid_status_updates() {
    let status = |name: &str| match parse(name).as_deref() {
        Ok([Event::Status(update)]) => update.clone(),
        other => panic!("{name}: {other:?}"),
    };
    let id = "40385f64-5717-4562-b3fc-2c963f66afa6";
    assert_eq!(
        status("sent"),
        StatusUpdate {
            provider_message_id: id.into(),
            status: DeliveryStatus::Sent,
            error_code: None,
            error_message: None,
            opt_out: None,
        }
    );
    assert_eq!(
        status("finalized_delivered").status,
        DeliveryStatus::Delivered
    );
    assert_eq!(
        status("finalized_failed"),
        StatusUpdate {
            provider_message_id: id.into(),
            status: DeliveryStatus::Failed,
            error_code: Some("40300".into()),
            error_message: Some("Blocked due to STOP message".into()),
            opt_out: Some(true),
        }
    );
}

#[test]
fn unknown_event_types_are_acknowledged_without_events() {
    assert_eq!(parse("unknown_event"), Ok(Vec::new()));
}

#[test]
fn timestamps_within_tolerance_are_accepted() {
    for now_ms in [
        SIGNED_AT_MS - 300_000,
        SIGNED_AT_MS + 300_999,
        SIGNED_AT_MS + 1,
    ] {
        assert!(
            parse_webhook_request(&configured(), &signed("sent"), now_ms).is_ok(),
            "{now_ms}"
        );
    }
}

#[test]
fn stale_timestamp_is_rejected() {
    assert_bad_signature(parse_webhook_request(
        &configured(),
        &signed("sent"),
        SIGNED_AT_MS + 301_000,
    ));
}

#[test]
fn future_timestamp_is_rejected() {
    assert_bad_signature(parse_webhook_request(
        &configured(),
        &signed("sent"),
        SIGNED_AT_MS - 301_000,
    ));
}

#[test]
fn tolerance_is_configurable() {
    let public_key = fixtures().public_key;
    let lenient = Settings::from_config(testing::config_lookup(&[
        ("api-key", "k"),
        ("public-key", &public_key),
        ("timestamp-tolerance-seconds", "3600"),
    ]))
    .expect("valid");
    assert!(parse_webhook_request(&lenient, &signed("sent"), SIGNED_AT_MS + 3_000_000).is_ok());
}

#[test]
fn tampered_body_is_rejected() {
    let mut request = signed("received");
    let tampered = body("received.json").replace("+14155550123", "+14155550999");
    assert_ne!(tampered, body("received.json"));
    request.body = tampered.into_bytes();
    assert_bad_signature(parse_webhook_request(&configured(), &request, SIGNED_AT_MS));
}

#[test]
fn tampered_timestamp_is_rejected() {
    let mut request = signed("received");
    for (name, value) in &mut request.headers {
        if name.eq_ignore_ascii_case("telnyx-timestamp") {
            *value = "1700000001".into();
        }
    }
    assert_bad_signature(parse_webhook_request(&configured(), &request, SIGNED_AT_MS));
}

#[test]
fn wrong_public_key_is_rejected() {
    let f = fixtures();
    let other = settings_with_key(&f.other_public_key);
    assert_bad_signature(parse_webhook_request(
        &other,
        &signed("received"),
        SIGNED_AT_MS,
    ));
    assert_bad_signature(parse("received_signed_by_other_key"));
}

#[test]
fn missing_or_garbled_headers_are_rejected() {
    let f = fixtures();
    let case = &f.cases["received"];
    let body = body("received.json");
    for headers in [
        vec![("telnyx-timestamp", case.timestamp.as_str())],
        vec![("telnyx-signature-ed25519", case.signature.as_str())],
        vec![],
        vec![
            ("telnyx-signature-ed25519", "not base64!"),
            ("telnyx-timestamp", case.timestamp.as_str()),
        ],
        vec![
            ("telnyx-signature-ed25519", "AAAA"),
            ("telnyx-timestamp", case.timestamp.as_str()),
        ],
        vec![
            ("telnyx-signature-ed25519", case.signature.as_str()),
            ("telnyx-timestamp", "yesterday"),
        ],
    ] {
        assert_bad_signature(parse_webhook_request(
            &configured(),
            &request(&headers, &body),
            SIGNED_AT_MS,
        ));
    }
}

#[test]
fn without_public_key_nothing_is_accepted() {
    let s = Settings::from_config(testing::config_lookup(&[("api-key", "k")])).expect("valid");
    let result = parse_webhook_request(&s, &signed("received"), SIGNED_AT_MS);
    assert!(
        matches!(&result, Err(WebhookError::Unsupported(why)) if why.contains("public-key")),
        "{result:?}"
    );
}
