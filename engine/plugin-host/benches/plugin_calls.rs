//! Benchmark: what running providers as WebAssembly plugins costs.
//!
//! `cargo bench -p switchboard-plugin-host --bench plugin_calls` prints:
//! - loading the mock (compile + link + describe);
//! - instantiating a provider instance (pooling allocator, from its `InstancePre`);
//! - one `send` through the mock on a reused instance (per-call overhead);
//! - sends/s through the Twilio plugin against a local HTTP server answering like Twilio
//!   (form body built in the guest, `host.fetch` through reqwest, JSON answer parsed);
//! - the plugin's share of a send's cost in a whole campaign: the same campaign through the
//!   runtime with an in-process provider and with the mock plugin.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use switchboard_plugin_host::{
    CheckedManifest, CompiledPlugin, InstanceConfig, Limits, PluginHost, ProviderPlugin, bundled,
};
use switchboard_runtime::provider::{Provider, SendOutcome};
use switchboard_runtime::records::{Outbound, RecipientStatus};

fn messages(count: u32) -> Vec<Outbound> {
    (0..count)
        .map(|i| Outbound {
            recipient: u64::from(i),
            to: format!("+1416555{:04}", i % 10_000),
            ..support::message(
                "+14165550001",
                "Hi there, we have a special offer for you! Reply STOP to opt out.",
                0,
            )
        })
        .collect()
}

fn main() {
    let host = PluginHost::new(Limits::default()).expect("host");
    println!("pooling allocator: {}", host.is_pooling());
    let started = Instant::now();
    let mock = ProviderPlugin::load(
        &host,
        bundled::PROVIDER_MOCK.manifest,
        bundled::PROVIDER_MOCK.component,
        &InstanceConfig::default(),
    )
    .expect("load");
    println!(
        "load the mock provider (compile + link + describe): {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );

    instantiate(&host, &mock);
    per_call(&mock);
    twilio_against_local_server(&host);
    campaign_share();
}

/// A new instance each time: what the first call, and every call after a failure, pays; and
/// configuring a plugin instance (settings check, linking, instantiation, `describe`).
fn instantiate(host: &PluginHost, mock: &ProviderPlugin) {
    let rounds = 2_000u32;
    let started = Instant::now();
    for _ in 0..rounds {
        mock.instantiate_once().expect("instantiate");
    }
    let each = started.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
    println!("instantiate a provider instance (pooling allocator, InstancePre): {each:.1} µs");
    let manifest =
        CheckedManifest::parse("mock", bundled::PROVIDER_MOCK.manifest).expect("manifest");
    let compiled =
        CompiledPlugin::compile(host, manifest, bundled::PROVIDER_MOCK.component).expect("compile");
    let rounds = 200u32;
    let started = Instant::now();
    for _ in 0..rounds {
        black_box(ProviderPlugin::new(host, &compiled, &InstanceConfig::default()).expect("new"));
    }
    let each = started.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
    println!(
        "configure a provider instance (settings check, link, instantiate, describe): {each:.1} µs"
    );
}

fn per_call(mock: &ProviderPlugin) {
    let calls = 50_000u32;
    let batch = messages(calls);
    let _ = mock.send(&batch[0]);
    let started = Instant::now();
    for message in &batch {
        black_box(mock.send(message));
    }
    let each = started.elapsed().as_secs_f64() * 1e6 / f64::from(calls);
    println!(
        "send through the mock plugin (reused instance, deadline + fuel armed per call): {each:.1} µs per call ({:.0} sends/s on one core)",
        1e6 / each
    );
}

fn twilio_against_local_server(host: &PluginHost) {
    let server = support::LocalServer::start(|_| {
        (
            201,
            vec![("content-type".into(), "application/json".into())],
            br#"{"sid": "SM00000000000000000000000000000001", "status": "queued", "num_segments": "1"}"#.to_vec(),
        )
    });
    let manifest = bundled::PROVIDER_TWILIO.manifest.replacen(
        "allowed-hosts = [",
        "allowed-hosts = [\"127.0.0.1:*\", ",
        1,
    );
    let base = server.url("");
    let twilio = ProviderPlugin::load(
        host,
        &manifest,
        bundled::PROVIDER_TWILIO.component,
        &InstanceConfig::with_settings([
            ("account-sid", "AC00000000000000000000000000000000"),
            ("auth-token", "bench-token"),
            ("api-base-url", base.as_str()),
        ])
        .allowing(["127.0.0.1:*"]),
    )
    .expect("load twilio");
    let calls = 5_000u32;
    let batch = messages(calls);
    assert!(matches!(
        twilio.send(&batch[0]),
        SendOutcome::Accepted { .. }
    ));
    let started = Instant::now();
    for message in &batch {
        black_box(twilio.send(message));
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "send through the Twilio plugin to a local HTTP server (one connection, sequential): {:.0} sends/s ({:.1} µs per send, HTTP round trip included)",
        f64::from(calls) / seconds,
        seconds * 1e6 / f64::from(calls)
    );
}

/// Times the calls into another provider.
#[derive(Debug)]
struct Timed<P> {
    inner: P,
    nanos: std::sync::atomic::AtomicU64,
}

impl<P: Provider> Provider for Timed<P> {
    fn send(&self, message: &Outbound) -> SendOutcome {
        let started = Instant::now();
        let outcome = self.inner.send(message);
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.nanos
            .fetch_add(nanos, std::sync::atomic::Ordering::Relaxed);
        outcome
    }
}

/// Accepts everything at once: the runtime's own cost of a send.
#[derive(Debug)]
struct Instant0;

impl Provider for Instant0 {
    fn send(&self, message: &Outbound) -> SendOutcome {
        SendOutcome::Accepted {
            provider_id: message.idempotency_key(),
        }
    }
}

const WORKFLOW: &str = r#"kind: campaign
id: bench
provider: mock
sender: "+14165550100"
consent: { acknowledged: true }
quiet_hours: { override: true, reason: benchmark }
steps:
  - send: "Hi {name|there}, we have a special offer for you! Reply STOP to opt out."
"#;

fn campaign_seconds(provider: Arc<dyn Provider>, recipients: u64) -> f64 {
    let (mut runtime, clock, start) = support::campaign_runtime(provider);
    let id = runtime
        .create_campaign(
            "bench",
            WORKFLOW,
            (0..recipients).map(|i| (format!("+1416{:07}", 5_000_000 + i), BTreeMap::new())),
        )
        .expect("create");
    let started = Instant::now();
    runtime.start(id).expect("start");
    runtime
        .run_until(start + chrono::TimeDelta::hours(2), |at| clock.set(at))
        .expect("run");
    let seconds = started.elapsed().as_secs_f64();
    let counts = runtime.store().counters(id).expect("counters");
    assert_eq!(counts.get(&RecipientStatus::Sent), Some(&recipients));
    seconds
}

fn campaign_share() {
    let recipients = 20_000u64;
    let load = || {
        ProviderPlugin::load(
            &PluginHost::new(Limits::default()).expect("host"),
            bundled::PROVIDER_MOCK.manifest,
            bundled::PROVIDER_MOCK.component,
            &InstanceConfig::default(),
        )
        .expect("load")
    };
    // The plugin's share, measured inside one campaign: time spent in the plugin's `send`
    // against the whole run's time.
    let timed = Arc::new(Timed {
        inner: load(),
        nanos: std::sync::atomic::AtomicU64::new(0),
    });
    let total = campaign_seconds(timed.clone(), recipients);
    let in_plugin = timed.nanos.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e9;
    println!(
        "campaign of {recipients} sends through the mock plugin, durable store: {:.1} µs per send, of which {:.1} µs in the plugin call: plugin share {:.1} %",
        total * 1e6 / recipients as f64,
        in_plugin * 1e6 / recipients as f64,
        in_plugin / total * 100.0
    );
    // The same campaign with an in-process provider, alternated with the plugin and each
    // one's best of 3 kept: the store's own noise (sled's flushes, the page cache) is of the
    // order of the difference, so this figure is the rougher of the two.
    let plugin = Arc::new(load());
    let (mut native, mut wasm) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..3 {
        native = native.min(campaign_seconds(Arc::new(Instant0), recipients));
        wasm = wasm.min(campaign_seconds(plugin.clone(), recipients));
    }
    let per_send = |s: f64| s * 1e6 / recipients as f64;
    println!(
        "same campaign, best of 3: in-process provider {:.1} µs per send, mock plugin {:.1} µs per send ({:+.1} %)",
        per_send(native),
        per_send(wasm),
        (wasm - native) / native * 100.0
    );
}
