//! The bundled mock provider plugin (built from `plugins/` and embedded by this crate's build
//! script), driven through the runtime's `Provider` trait.

mod support;

use std::collections::BTreeMap;

use switchboard_plugin_host::provider::{DeliveryStatus, Event, WebhookError, WebhookRequest};
use switchboard_plugin_host::{InstanceConfig, Limits, PluginHost, ProviderPlugin};
use switchboard_runtime::provider::{Lookup, Provider, SendOutcome};
use switchboard_runtime::records::Outbound;

fn load(settings: &[(&str, &str)]) -> ProviderPlugin {
    let host = PluginHost::new(Limits::default()).expect("host");
    let mock = switchboard_plugin_host::bundled::PROVIDER_MOCK;
    ProviderPlugin::load(
        &host,
        mock.manifest,
        mock.component,
        &InstanceConfig::with_settings(settings.iter().copied()),
    )
    .expect("load mock")
}

fn message(to: &str, attempt: u32) -> Outbound {
    support::message(to, "hello", attempt)
}

#[test]
fn the_mock_describes_itself_and_accepts_messages() {
    let plugin = load(&[]);
    assert_eq!(plugin.name(), "mock");
    match plugin.send(&message("+14165550001", 0)) {
        SendOutcome::Accepted { provider_id } => {
            assert!(provider_id.starts_with("mock-"), "{provider_id}")
        }
        other => panic!("expected acceptance, got {other:?}"),
    }
}

#[test]
fn outcomes_are_deterministic_per_message_and_configurable() {
    let plugin = load(&[("permanent-failure-numbers", "+14165550002")]);
    let first = plugin.send(&message("+14165550001", 0));
    assert_eq!(
        plugin.send(&message("+14165550001", 0)),
        first,
        "same message, same outcome"
    );
    assert!(matches!(
        plugin.send(&message("+14165550002", 0)),
        SendOutcome::Permanent { .. }
    ));
}

#[test]
fn lookup_confirms_what_the_mock_accepted() {
    let plugin = load(&[]);
    let sent = message("+14165550001", 0);
    let SendOutcome::Accepted { provider_id } = plugin.send(&sent) else {
        panic!("not accepted")
    };
    assert_eq!(plugin.lookup(&sent), Some(Lookup::Found { provider_id }));
}

#[test]
fn a_file_that_is_not_a_component_is_refused_with_its_name() {
    let host = PluginHost::new(Limits::default()).expect("host");
    let mock = switchboard_plugin_host::bundled::PROVIDER_MOCK;
    let error = ProviderPlugin::load(
        &host,
        mock.manifest,
        b"\0asm not really",
        &InstanceConfig::default(),
    )
    .expect_err("garbage");
    assert!(error.to_string().contains("mock 0.1.0"), "{error}");
}

#[test]
fn settings_are_checked_against_the_manifest_before_use() {
    let host = PluginHost::new(Limits::default()).expect("host");
    let mock = switchboard_plugin_host::bundled::PROVIDER_MOCK;
    let error = ProviderPlugin::load(
        &host,
        mock.manifest,
        mock.component,
        &InstanceConfig::with_settings([("failure-rate", "lots"), ("webhook-token", "s3cret")]),
    )
    .expect_err("invalid settings");
    let text = error.to_string();
    assert!(text.contains("setting `failure-rate`"), "{text}");
    let error = ProviderPlugin::load(
        &host,
        mock.manifest,
        mock.component,
        &InstanceConfig::with_settings([("colour", "red")]),
    )
    .expect_err("unknown setting");
    assert!(error.to_string().contains("colour"), "{error}");
}

#[test]
fn a_campaign_runs_end_to_end_through_the_mock_plugin() {
    use std::sync::Arc;

    use switchboard_runtime::records::RecipientStatus;

    let plugin = Arc::new(load(&[("permanent-failure-numbers", "+14165550003")]));
    let (mut runtime, clock, start) = support::campaign_runtime(plugin);
    let workflow = "kind: campaign\nid: t\nprovider: mock\nsender: \"+14165550100\"\nconsent: { acknowledged: true }\n\
                    quiet_hours: { override: true, reason: test }\nsteps:\n  - send: \"Hi {name|there}\"\n";
    let recipients = (1..=3).map(|i| (format!("+1416555000{i}"), BTreeMap::new()));
    let id = runtime
        .create_campaign("through the plugin", workflow, recipients)
        .expect("create");
    runtime.start(id).expect("start");
    let c = clock.clone();
    runtime
        .run_until(start + chrono::TimeDelta::hours(1), |at| c.set(at))
        .expect("run");
    let counts = runtime.store().counters(id).expect("counters");
    assert_eq!(counts.get(&RecipientStatus::Sent), Some(&2), "{counts:?}");
    assert_eq!(counts.get(&RecipientStatus::Failed), Some(&1), "{counts:?}");
}

#[test]
fn the_mock_calls_back_with_delivery_and_replies_like_a_carrier() {
    let server = support::LocalServer::start(|_| (200, Vec::new(), Vec::new()));
    let host = PluginHost::new(Limits::default()).expect("host");
    let mock = switchboard_plugin_host::bundled::PROVIDER_MOCK;
    let config = InstanceConfig::with_settings([
        ("callback-url", server.url("/webhooks/mock").as_str()),
        ("reply-rate", "1"),
        ("reply-text", "STOP"),
        ("webhook-token", "t0ken-t0ken"),
        ("latency-ms", "20"),
    ])
    .allowing(["127.0.0.1:*"]);
    let plugin = ProviderPlugin::load(&host, mock.manifest, mock.component, &config).expect("load");
    let started = std::time::Instant::now();
    let SendOutcome::Accepted { provider_id } = plugin.send(&message("+14165550001", 0)) else {
        panic!("accepted")
    };
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(20),
        "latency"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "one callback");
    assert_eq!(requests[0].path, "/webhooks/mock");
    assert_eq!(requests[0].header("x-mock-token"), Some("t0ken-t0ken"));
    // The callback is a webhook the same plugin accepts: delivered, then the reply.
    let webhook = WebhookRequest {
        method: "POST".into(),
        path: "/webhooks/mock".into(),
        query: String::new(),
        headers: requests[0].headers.clone(),
        body: requests[0].body.clone(),
    };
    let events = plugin
        .parse_webhook(&webhook)
        .expect("plugin ok")
        .expect("accepted");
    match &events[..] {
        [Event::Status(status), Event::Inbound(reply)] => {
            assert_eq!(status.provider_message_id, provider_id);
            assert_eq!(status.status, DeliveryStatus::Delivered);
            assert_eq!(
                (reply.from.as_str(), reply.body.as_str()),
                ("+14165550001", "STOP")
            );
        }
        other => panic!("expected status and reply, got {other:?}"),
    }
    // Without the token the same body is refused as a bad signature.
    let forged = WebhookRequest {
        headers: Vec::new(),
        ..webhook
    };
    assert!(matches!(
        plugin.parse_webhook(&forged).expect("plugin ok"),
        Err(WebhookError::BadSignature(_))
    ));
}

#[test]
fn async_callers_get_the_same_answers_without_blocking_their_runtime() {
    let plugin = std::sync::Arc::new(load(&[]));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let sent = message("+14165550001", 0);
    let expected = plugin.try_send(&sent).expect("sync");
    let answer = runtime.block_on(plugin.send_async(sent)).expect("async");
    assert_eq!(answer, expected);
    let request = WebhookRequest {
        method: "POST".into(),
        path: "/webhooks/mock".into(),
        query: String::new(),
        headers: Vec::new(),
        body: br#"{"type": "status", "provider-message-id": "mock-1", "status": "delivered"}"#
            .to_vec(),
    };
    let events = runtime
        .block_on(plugin.parse_webhook_async(request))
        .expect("plugin ok")
        .expect("accepted");
    assert_eq!(events.len(), 1);
}

#[test]
fn a_host_can_be_dropped_inside_an_async_task() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let plugin = load(&[]);
        drop(plugin);
    });
}

#[test]
fn plugin_log_lines_reach_the_hosts_sink() {
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink_lines = lines.clone();
    let host = PluginHost::new(Limits::default())
        .expect("host")
        .with_log_sink(std::sync::Arc::new(move |plugin, level, message| {
            sink_lines
                .lock()
                .expect("lines")
                .push(format!("{plugin} {level} {message}"));
        }));
    let mock = switchboard_plugin_host::bundled::PROVIDER_MOCK;
    // Nothing listens on port 1: the callback fails and the mock warns about it.
    let config = InstanceConfig::with_settings([("callback-url", "http://127.0.0.1:1/hooks")])
        .allowing(["127.0.0.1:*"]);
    let plugin = ProviderPlugin::load(&host, mock.manifest, mock.component, &config).expect("load");
    assert!(matches!(
        plugin.send(&message("+14165550001", 0)),
        SendOutcome::Accepted { .. }
    ));
    let lines = lines.lock().expect("lines");
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("mock warn mock callback to http://127.0.0.1:1/hooks")),
        "{lines:?}"
    );
}
