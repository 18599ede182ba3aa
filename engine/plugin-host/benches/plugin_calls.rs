//! Benchmark: plugin load (compile + link), and the cost of one `send` through the bundled mock
//! provider (a fresh instance per call, under the deadline and memory cap).
//!
//! `cargo bench -p switchboard-plugin-host --bench plugin_calls` prints the figures.

use std::hint::black_box;
use std::time::Instant;

use switchboard_plugin_host::{InstanceConfig, Limits, PluginHost, ProviderPlugin, bundled};
use switchboard_runtime::provider::Provider;
use switchboard_runtime::records::Outbound;

fn main() {
    let host = PluginHost::new(Limits::default()).expect("host");
    let started = Instant::now();
    let plugin = ProviderPlugin::load(
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

    let calls = 20_000u32;
    let messages: Vec<Outbound> = (0..calls)
        .map(|i| Outbound {
            campaign: 1,
            recipient: u64::from(i),
            pc: 0,
            attempt: 0,
            try_number: 1,
            step_id: "s".into(),
            variant: "main".into(),
            from: "+14165550100".into(),
            to: format!("+1416555{:04}", i % 10_000),
            body: "Hi there, we have a special offer for you! Reply STOP to opt out.".into(),
            media: Vec::new(),
            segments: 1,
        })
        .collect();
    let _ = plugin.send(&messages[0]);
    let started = Instant::now();
    for message in &messages {
        black_box(plugin.send(message));
    }
    let per_call = started.elapsed().as_secs_f64() * 1e6 / f64::from(calls);
    println!(
        "send through the mock plugin (instantiate + call, fresh instance each time): {per_call:.1} µs per call ({:.0} sends/s on one core)",
        1e6 / per_call
    );
}
