//! The host's limits, proven against a real misbehaving guest (`plugins/test-hostile`, built
//! with the other plugins by this crate's build script): a loop is interrupted at the deadline,
//! a memory bomb is refused, a trap is reported, a denied host is refused — and after each,
//! the plugin keeps serving.

use std::collections::BTreeMap;
use std::path::PathBuf;

use switchboard_plugin_host::{Limits, PluginError, PluginHost, ProviderPlugin};
use switchboard_runtime::provider::SendOutcome;
use switchboard_runtime::records::Outbound;

fn hostile() -> ProviderPlugin {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../plugins/target/wasm32-wasip2/release/test_hostile.wasm");
    let wasm = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (built by this crate's build script)",
            path.display()
        )
    });
    let host = PluginHost::new(Limits {
        call_deadline_ms: 200,
        memory_bytes: 16 * 1024 * 1024,
    })
    .expect("host");
    ProviderPlugin::load(&host, "test_hostile.wasm", &wasm, BTreeMap::new()).expect("load")
}

fn message(body: &str) -> Outbound {
    Outbound {
        campaign: 1,
        recipient: 1,
        pc: 0,
        attempt: 0,
        try_number: 1,
        step_id: "s".into(),
        variant: "main".into(),
        from: "+14165550100".into(),
        to: "+14165550001".into(),
        body: body.into(),
        media: Vec::new(),
        segments: 1,
    }
}

fn still_serving(plugin: &ProviderPlugin) {
    assert!(
        matches!(
            plugin.try_send(&message("hello")),
            Ok(SendOutcome::Accepted { .. })
        ),
        "the plugin keeps serving"
    );
}

#[test]
fn an_infinite_loop_is_interrupted_at_the_deadline() {
    let plugin = hostile();
    match plugin.try_send(&message("loop")) {
        Err(error @ PluginError::Deadline { .. }) => {
            let text = error.to_string();
            assert!(
                text.contains("test-hostile") && text.contains("0.1.0") && text.contains("200 ms"),
                "{text}"
            );
        }
        other => panic!("expected a deadline error, got {other:?}"),
    }
    still_serving(&plugin);
}

#[test]
fn a_memory_bomb_is_refused() {
    let plugin = hostile();
    match plugin.try_send(&message("memory")) {
        Err(error @ PluginError::Call { .. }) => {
            assert!(error.to_string().contains("test-hostile"), "{error}")
        }
        other => panic!("expected the allocation to be refused, got {other:?}"),
    }
    still_serving(&plugin);
}

#[test]
fn a_trap_is_reported_with_the_plugin_and_version() {
    let plugin = hostile();
    match plugin.try_send(&message("trap")) {
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
fn a_host_that_was_not_granted_is_refused() {
    let plugin = hostile();
    match plugin.try_send(&message("fetch")) {
        Ok(SendOutcome::Permanent { code, message }) => {
            assert_eq!(code, "fetch-denied");
            assert!(message.contains("no HTTP capability"), "{message}");
        }
        other => panic!("expected the fetch to be denied, got {other:?}"),
    }
}
