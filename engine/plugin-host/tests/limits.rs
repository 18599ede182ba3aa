//! The host's limits, proven against a real misbehaving guest (`plugins/test-hostile`, built
//! with the other plugins by this crate's build script): a loop is interrupted at the deadline
//! or by the fuel budget, a memory bomb is refused, a trap is reported, garbage is refused, a
//! host that was not granted is refused, an oversized or slow response is refused — and after
//! each, the plugin keeps serving.

mod support;

use std::time::Duration;

use support::{LocalServer, hostile, message};
use switchboard_plugin_host::http::HttpLimits;
use switchboard_plugin_host::{InstanceConfig, Limits, PluginError, PluginHost, ProviderPlugin};
use switchboard_runtime::provider::SendOutcome;

fn limits() -> Limits {
    Limits {
        call_deadline_ms: 500,
        memory_bytes: 16 * 1024 * 1024,
        http: HttpLimits {
            timeout: Duration::from_millis(300),
            max_response_bytes: 64 * 1024,
            ..HttpLimits::default()
        },
        ..Limits::default()
    }
}

fn plugin_with(limits: Limits, config: &InstanceConfig) -> ProviderPlugin {
    hostile(&PluginHost::new(limits).expect("host"), config)
}

fn plugin() -> ProviderPlugin {
    plugin_with(limits(), &InstanceConfig::default())
}

fn send(plugin: &ProviderPlugin, body: &str) -> Result<SendOutcome, PluginError> {
    plugin.try_send(&message("+14165550001", body, 0))
}

fn still_serving(plugin: &ProviderPlugin) {
    assert!(
        matches!(send(plugin, "hello"), Ok(SendOutcome::Accepted { .. })),
        "the plugin keeps serving"
    );
}

#[test]
fn an_infinite_loop_is_interrupted_at_the_deadline() {
    // A fuel budget no loop exhausts in 500 ms: the deadline is what stops it.
    let plugin = plugin_with(
        Limits {
            fuel_per_call: 1 << 60,
            ..limits()
        },
        &InstanceConfig::default(),
    );
    match send(&plugin, "loop") {
        Err(error @ PluginError::Deadline { .. }) => {
            let text = error.to_string();
            assert!(
                text.contains("test-hostile") && text.contains("0.1.0") && text.contains("500 ms"),
                "{text}"
            );
        }
        other => panic!("expected a deadline error, got {other:?}"),
    }
    still_serving(&plugin);
}

#[test]
fn an_infinite_loop_is_stopped_by_the_fuel_budget() {
    let plugin = plugin_with(
        Limits {
            call_deadline_ms: 60_000,
            fuel_per_call: 20_000_000,
            ..limits()
        },
        &InstanceConfig::default(),
    );
    match send(&plugin, "loop") {
        Err(error @ PluginError::Fuel { .. }) => {
            assert!(
                error.to_string().contains("20000000 instructions"),
                "{error}"
            )
        }
        other => panic!("expected the fuel to run out, got {other:?}"),
    }
    still_serving(&plugin);
}

#[test]
fn a_memory_bomb_is_refused() {
    let plugin = plugin();
    match send(&plugin, "memory") {
        Err(error @ PluginError::Call { .. }) => {
            assert!(error.to_string().contains("test-hostile"), "{error}")
        }
        other => panic!("expected the allocation to be refused, got {other:?}"),
    }
    still_serving(&plugin);
}

#[test]
fn a_trap_is_reported_with_the_plugin_and_version() {
    let plugin = plugin();
    match send(&plugin, "trap") {
        Err(error @ PluginError::Call { .. }) => {
            let text = error.to_string();
            assert!(
                text.starts_with("plugin test-hostile 0.1.0: `send` failed"),
                "{text}"
            );
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    still_serving(&plugin);
}

#[test]
fn an_answer_the_contract_forbids_is_refused() {
    let plugin = plugin();
    match send(&plugin, "empty-receipt") {
        Err(error @ PluginError::Garbage { .. }) => {
            assert!(error.to_string().contains("provider-message-id"), "{error}")
        }
        other => panic!("expected garbage to be refused, got {other:?}"),
    }
    still_serving(&plugin);
}

#[test]
fn a_host_that_was_not_granted_is_refused() {
    let plugin = plugin();
    match send(&plugin, "fetch") {
        Ok(SendOutcome::Permanent { code, message }) => {
            assert_eq!(code, "fetch-denied");
            assert!(message.contains("granted no HTTP access"), "{message}");
        }
        other => panic!("expected the fetch to be denied, got {other:?}"),
    }
    // The manifest declares loopback, but the operator granted nothing.
    let server = LocalServer::start(|_| (200, Vec::new(), b"hello".to_vec()));
    match send(&plugin, &format!("fetch {}", server.url("/x"))) {
        Ok(SendOutcome::Permanent { message, .. }) => {
            assert!(message.contains("Denied"), "{message}")
        }
        other => panic!("expected the fetch to be denied, got {other:?}"),
    }
    // Granted by the operator, but not declared by the manifest.
    let granted_elsewhere = plugin_with(
        limits(),
        &InstanceConfig::default().allowing(["127.0.0.1:*", "not-granted.example"]),
    );
    match send(&granted_elsewhere, "fetch") {
        Ok(SendOutcome::Permanent { message, .. }) => {
            assert!(message.contains("manifest"), "{message}")
        }
        other => panic!("expected the fetch to be denied, got {other:?}"),
    }
    assert!(server.requests().is_empty(), "nothing reached the server");
    still_serving(&plugin);
}

#[test]
fn a_granted_host_is_fetched_and_limits_apply() {
    let server = LocalServer::start(|request| match request.path.as_str() {
        "/small" => (200, Vec::new(), b"hello".to_vec()),
        "/large" => (200, Vec::new(), vec![b'x'; 200 * 1024]),
        "/slow" => {
            std::thread::sleep(Duration::from_millis(1_500));
            (200, Vec::new(), Vec::new())
        }
        _ => (404, Vec::new(), Vec::new()),
    });
    let plugin = plugin_with(
        limits(),
        &InstanceConfig::default().allowing(["127.0.0.1:*"]),
    );
    assert_eq!(
        send(&plugin, &format!("fetch {}", server.url("/small"))).expect("send"),
        SendOutcome::Accepted {
            provider_id: "fetched-200-5".into()
        }
    );
    match send(&plugin, &format!("fetch {}", server.url("/large"))) {
        Ok(SendOutcome::Permanent { message, .. }) => {
            assert!(message.contains("TooLarge"), "{message}")
        }
        other => panic!("expected the response to be refused as too large, got {other:?}"),
    }
    match send(&plugin, &format!("fetch {}", server.url("/slow"))) {
        Ok(SendOutcome::Permanent { message, .. }) => {
            assert!(message.contains("Timeout"), "{message}")
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    match send(&plugin, "fetch http://127.0.0.1:1/closed") {
        Ok(SendOutcome::Permanent { message, .. }) => {
            assert!(message.contains("Transport"), "{message}")
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
    let requests = server.requests();
    assert_eq!(requests[0].method, "GET");
    assert!(
        requests[0]
            .header("user-agent")
            .is_some_and(|agent| agent.starts_with("switchboard/")),
        "{:?}",
        requests[0].headers
    );
    still_serving(&plugin);
}

#[test]
fn instances_are_reused_between_calls() {
    let plugin = plugin();
    for _ in 0..5 {
        still_serving(&plugin);
    }
    assert_eq!(plugin.idle_instances(), 1, "one instance served every call");
    let _ = send(&plugin, "trap");
    assert_eq!(plugin.idle_instances(), 0, "a trapped instance is dropped");
    still_serving(&plugin);
    assert_eq!(plugin.idle_instances(), 1);
}

#[test]
fn a_failure_after_an_answered_request_is_not_retried_blindly() {
    use switchboard_runtime::provider::Provider;

    let server = LocalServer::start(|_| (201, Vec::new(), b"{}".to_vec()));
    let plugin = plugin_with(
        limits(),
        &InstanceConfig::default().allowing(["127.0.0.1:*"]),
    );
    let message = support::message(
        "+14165550001",
        &format!("fetch-then-trap {}", server.url("/messages")),
        0,
    );
    match plugin.try_send(&message) {
        Err(PluginError::AfterRequest(inner)) => {
            assert!(matches!(*inner, PluginError::Call { .. }), "{inner:?}")
        }
        other => panic!("expected an uncertain failure, got {other:?}"),
    }
    // Through the runtime's trait: a permanent failure (no new attempt, no second message).
    match plugin.send(&message) {
        SendOutcome::Permanent { code, .. } => assert_eq!(code, "plugin-error-after-request"),
        other => panic!("expected a permanent failure, got {other:?}"),
    }
    assert_eq!(server.requests().len(), 2);
    // A failure before any request stays retryable.
    assert!(matches!(
        plugin.send(&support::message("+14165550001", "trap", 0)),
        SendOutcome::Transient { .. }
    ));
    still_serving(&plugin);
}
