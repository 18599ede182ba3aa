//! The README's "Write a provider plugin" guide: its example (`plugins/example-provider`, built
//! with the other plugins by this crate's build script) loads, sends, and checks webhook
//! signatures — and the README shows its files exactly as they are.

mod support;

use support::{LocalServer, built_plugin, message, plugins_dir};
use switchboard_plugin_host::provider::{DeliveryStatus, Event, WebhookError, WebhookRequest};
use switchboard_plugin_host::{InstanceConfig, Limits, PluginHost, ProviderPlugin};
use switchboard_runtime::provider::SendOutcome;

/// HMAC-SHA256 of `DELIVERED` with `whsec-example`, hex (computed independently, with Python).
const SIGNATURE: &str = "5b5531057fd47a561776000a7f1935a9b23b44743523cbbdf0ace39c28557db0";
const DELIVERED: &str = r#"{"id":"ex-42","status":"delivered"}"#;

fn example(base_url: &str) -> ProviderPlugin {
    let (manifest, wasm) = built_plugin("example-provider", "example_provider.wasm");
    // As an operator pointing the plugin at a local server would: loopback allowed too.
    let manifest = manifest.replacen("allowed-hosts = [", "allowed-hosts = [\"127.0.0.1:*\", ", 1);
    let host = PluginHost::new(Limits::default()).expect("host");
    ProviderPlugin::load(
        &host,
        &manifest,
        &wasm,
        &InstanceConfig::with_settings([
            ("api-key", "key-123"),
            ("webhook-secret", "whsec-example"),
            ("api-base-url", base_url),
        ])
        .allowing(["127.0.0.1:*"]),
    )
    .expect("load the example plugin")
}

#[test]
fn the_example_sends_json_with_a_bearer_token() {
    let server = LocalServer::start(|_| (201, Vec::new(), br#"{"id": "ex-1"}"#.to_vec()));
    let plugin = example(&server.url(""));
    let sent = message("+14165550001", "Hello", 0);
    assert_eq!(
        plugin.try_send(&sent).expect("plugin call"),
        SendOutcome::Accepted {
            provider_id: "ex-1".into()
        }
    );
    let request = &server.requests()[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/messages")
    );
    assert_eq!(request.header("authorization"), Some("Bearer key-123"));
    assert_eq!(
        request.header("idempotency-key"),
        Some(sent.idempotency_key().as_str())
    );
    let body: serde_json::Value = serde_json::from_slice(&request.body).expect("json");
    assert_eq!(body["to"], "+14165550001");
    assert_eq!(body["text"], "Hello");
}

#[test]
fn the_example_checks_webhook_signatures() {
    let plugin = example("http://127.0.0.1:9");
    let request = |signature: &str, body: &str| WebhookRequest {
        method: "POST".into(),
        path: "/webhooks/example".into(),
        query: String::new(),
        headers: vec![("X-Example-Signature".into(), signature.into())],
        body: body.as_bytes().to_vec(),
    };
    let events = plugin
        .parse_webhook(&request(SIGNATURE, DELIVERED))
        .expect("plugin ok")
        .expect("signed correctly");
    assert!(matches!(
        &events[..],
        [Event::Status(update)] if update.provider_message_id == "ex-42"
            && update.status == DeliveryStatus::Delivered
    ));
    let tampered = DELIVERED.replace("delivered", "failed");
    assert!(matches!(
        plugin
            .parse_webhook(&request(SIGNATURE, &tampered))
            .expect("plugin ok"),
        Err(WebhookError::BadSignature(_))
    ));
}

#[test]
fn the_readme_shows_the_example_as_it_is() {
    let readme = std::fs::read_to_string(plugins_dir().join("../README.md")).expect("README");
    for file in ["Cargo.toml", "plugin.toml", "src/lib.rs"] {
        let path = plugins_dir().join("example-provider").join(file);
        let text = std::fs::read_to_string(&path).expect("example file");
        assert!(
            readme.contains(text.trim_end()),
            "README.md's guide does not show {} as it is",
            path.display()
        );
    }
}
