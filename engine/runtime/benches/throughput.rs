//! Benchmark: end-to-end campaign throughput with every transition durable on disk.
//!
//! `cargo bench -p switchboard-runtime --bench throughput [-- RECIPIENTS]` (default 100000)
//! imports N recipients, runs filter + template + send against an in-process provider that
//! answers at once, and prints recipients/s for the import and the run, and the peak RSS.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use chrono::{TimeZone, Utc};
use switchboard_runtime::provider::{Provider, SendOutcome};
use switchboard_runtime::records::{Outbound, RecipientStatus};
use switchboard_runtime::store::Store;
use switchboard_runtime::{ManualClock, Runtime, RuntimeConfig};

/// Accepts everything and only counts (a recording provider would dominate memory).
#[derive(Debug, Default)]
struct CountingProvider(AtomicU64);

impl Provider for CountingProvider {
    fn send(&self, message: &Outbound) -> SendOutcome {
        self.0.fetch_add(1, Ordering::Relaxed);
        SendOutcome::Accepted {
            provider_id: message.idempotency_key(),
        }
    }
}

/// Peak resident memory in MB (NaN where the platform cannot tell).
fn peak_rss_mb() -> f64 {
    switchboard_import::sample::peak_rss_mb().unwrap_or(f64::NAN)
}

const WORKFLOW: &str = r#"kind: campaign
id: bench
provider: mock
sender: "+14165550100"
consent: { acknowledged: true }
quiet_hours: { override: true, reason: benchmark }
fields: { name: , company: }
steps:
  - filter: 'recipient.company != ""'
  - send: "Hi {name|there}, we have a special offer for {company}! Reply STOP to opt out."
"#;

fn main() {
    let n: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let dir = std::env::temp_dir().join(format!("switchboard-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Store::open(&dir).expect("store");
    let clock = ManualClock::new(
        Utc.with_ymd_and_hms(2026, 12, 7, 15, 0, 0)
            .single()
            .expect("instant"),
    );
    let provider = Arc::new(CountingProvider::default());
    let config = RuntimeConfig {
        batch_size: 5_000,
        ..RuntimeConfig::default()
    };
    let mut runtime =
        Runtime::open(store, Arc::new(clock.clone()), provider.clone(), config).expect("runtime");

    let recipients = (0..n).map(|i| {
        let mut fields = BTreeMap::new();
        fields.insert("name".to_string(), format!("Person {i}"));
        fields.insert(
            "company".to_string(),
            if i % 10 == 0 {
                String::new()
            } else {
                format!("Company {}", i % 997)
            },
        );
        (format!("+1416{:07}", i % 10_000_000), fields)
    });
    let started = Instant::now();
    let id = runtime
        .create_campaign("bench", WORKFLOW, recipients)
        .expect("create");
    let import = started.elapsed();
    println!(
        "import {n} recipients: {:.2}s ({:.0} recipients/s), peak RSS so far {:.0} MB",
        import.as_secs_f64(),
        n as f64 / import.as_secs_f64(),
        peak_rss_mb()
    );

    let started = Instant::now();
    runtime.start(id).expect("start");
    let c = clock.clone();
    runtime
        .run_until(
            Utc.with_ymd_and_hms(2026, 12, 8, 0, 0, 0)
                .single()
                .expect("instant"),
            |at| c.set(at),
        )
        .expect("run");
    let run = started.elapsed();
    let counts = runtime.store().counters(id).expect("counters");
    println!(
        "run {n} recipients (filter + template + send, durable): {:.2}s ({:.0} recipients/s), {} sends, sent {} skipped {}",
        run.as_secs_f64(),
        n as f64 / run.as_secs_f64(),
        provider.0.load(Ordering::Relaxed),
        counts.get(&RecipientStatus::Sent).copied().unwrap_or(0),
        counts.get(&RecipientStatus::Skipped).copied().unwrap_or(0),
    );
    println!("peak RSS: {:.0} MB", peak_rss_mb());
    drop(runtime);
    let _ = std::fs::remove_dir_all(&dir);
}
