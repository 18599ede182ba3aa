//! Property tests of the whole runtime: random campaigns, provider behaviours and crash
//! points, checked against the promises that matter most.
//! - no message goes out outside the recipient's window or quiet hours;
//! - no sender exceeds its rate;
//! - no (recipient, step) is sent twice, even when the engine dies between intent and result;
//! - every recipient ends in exactly one final state and the counters match the runs;
//! - the per-step message statistics match the message records.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use switchboard_model::check::DEFAULT_ALLOWED_HOURS;
use switchboard_model::timezone::Timezone;
use switchboard_model::window::SendWindow;
use switchboard_runtime::provider::{Lookup, Provider, SendOutcome};
use switchboard_runtime::records::{MessageStatus, Outbound, RecipientStatus};
use switchboard_runtime::send_window::SendPolicy;
use switchboard_runtime::stats::MessageStats;
use switchboard_runtime::store::Store;
use switchboard_runtime::{Clock, ManualClock, Runtime, RuntimeConfig};

const ZONES: [&str; 4] = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
];

/// A provider with a memory, whose behaviour per call is drawn from a script, and which can
/// "crash" the engine (panic) right after accepting a message.
#[derive(Debug)]
struct ChaosProvider {
    clock: ManualClock,
    /// Calls so far (all answers).
    calls: AtomicU32,
    /// Panic right after accepting the call with this number.
    crash_at: Mutex<Option<u32>>,
    /// Outcome per call number: 0 accept, 1 transient, 2 throttled, 3 permanent.
    script: Vec<u8>,
    /// Accepted messages with the instant they went out.
    accepted: Mutex<Vec<(Outbound, DateTime<Utc>)>>,
}

impl Provider for ChaosProvider {
    fn send(&self, message: &Outbound) -> SendOutcome {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        let outcome = match self
            .script
            .get(call as usize % self.script.len().max(1))
            .copied()
            .unwrap_or(0)
        {
            1 => SendOutcome::Transient {
                code: "503".into(),
                message: "unavailable".into(),
            },
            2 => SendOutcome::Throttled {
                retry_after: std::time::Duration::from_secs(30),
                code: "429".into(),
            },
            3 => SendOutcome::Permanent {
                code: "21211".into(),
                message: "invalid".into(),
            },
            _ => {
                if let Ok(mut accepted) = self.accepted.lock() {
                    accepted.push((message.clone(), self.clock.now()));
                }
                SendOutcome::Accepted {
                    provider_id: message.idempotency_key(),
                }
            }
        };
        let crash = self
            .crash_at
            .lock()
            .ok()
            .and_then(|mut at| if *at == Some(call) { at.take() } else { None });
        if crash.is_some() {
            panic!("simulated crash after provider call {call}");
        }
        outcome
    }

    fn lookup(&self, message: &Outbound) -> Option<Lookup> {
        let key = message.idempotency_key();
        let accepted = self.accepted.lock().ok()?;
        Some(
            match accepted.iter().find(|(m, _)| m.idempotency_key() == key) {
                Some((m, _)) => Lookup::Found {
                    provider_id: m.idempotency_key(),
                },
                None => Lookup::NotFound,
            },
        )
    }
}

fn workflow(per_minute: u32, days: &str) -> String {
    format!(
        r#"kind: campaign
id: prop
provider: mock
sender: "+14165550100"
consent: {{ acknowledged: true }}
rate: {{ per_minute: {per_minute} }}
retry: {{ attempts: 3, backoff: 1m }}
window:
  timezone: {{ field: tz, default: America/New_York }}
  days: {{ {days} }}
steps:
  - send: first
  - delay: 3h
  - send: second
"#
    )
}

fn case(
    zones: Vec<usize>,
    script: Vec<u8>,
    crash_at: Option<u32>,
    per_minute: u32,
    days: &str,
    start_offset_hours: i64,
) -> Result<(), TestCaseError> {
    let dir = tempdir();
    let start = Utc
        .with_ymd_and_hms(2026, 10, 30, 0, 0, 0)
        .single()
        .expect("instant")
        + TimeDelta::hours(start_offset_hours);
    let clock = ManualClock::new(start);
    let provider = Arc::new(ChaosProvider {
        clock: clock.clone(),
        calls: AtomicU32::new(0),
        crash_at: Mutex::new(crash_at),
        script,
        accepted: Mutex::new(Vec::new()),
    });
    let source = workflow(per_minute, days);
    let recipients: Vec<(String, BTreeMap<String, String>)> = zones
        .iter()
        .enumerate()
        .map(|(i, z)| {
            (
                format!("+1416555{i:04}"),
                BTreeMap::from([("tz".to_string(), ZONES[*z].to_string())]),
            )
        })
        .collect();
    let horizon = start + TimeDelta::days(10);
    let advance = |at: DateTime<Utc>| clock.set(at);
    let open = |store: Store| {
        Runtime::open(
            store,
            Arc::new(clock.clone()),
            provider.clone(),
            RuntimeConfig::default(),
        )
        .expect("runtime")
    };
    let id = {
        let mut runtime = open(Store::open(&dir).expect("store"));
        let id = runtime
            .create_campaign("prop", &source, recipients.clone())
            .expect("create");
        runtime.start(id).expect("start");
        // Dies (panics) at the scripted call, or runs to the end.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            runtime.run_until(horizon, advance)
        }));
        id
    };
    // Reopen from the same directory and finish.
    let mut runtime =
        open(Store::open_waiting(&dir, std::time::Duration::from_secs(5)).expect("reopen"));
    runtime.run_until(horizon, advance).expect("run");

    let accepted = provider
        .accepted
        .lock()
        .map(|a| a.clone())
        .unwrap_or_default();
    // No (recipient, step) twice.
    let mut seen: HashMap<(u64, u32), u32> = HashMap::new();
    for (message, _) in &accepted {
        *seen.entry((message.recipient, message.pc)).or_default() += 1;
    }
    for (key, count) in &seen {
        prop_assert_eq!(
            *count,
            1,
            "recipient {} step {} accepted {} times",
            key.0,
            key.1,
            count
        );
    }
    // Windows and quiet hours.
    let window: SendWindow = serde_norway::from_str(&format!(
        "timezone: {{ field: tz, default: America/New_York }}\ndays: {{ {days} }}"
    ))
    .expect("window");
    let policy = SendPolicy::new(Some(&window), None, DEFAULT_ALLOWED_HOURS);
    for (message, at) in &accepted {
        let zone = &recipients[message.recipient as usize].1["tz"];
        let tz: Timezone = zone.parse().expect("zone");
        prop_assert!(
            policy.is_open(*at, tz.0),
            "{} sent at {} ({}) outside its window",
            message.to,
            at,
            at.with_timezone(&tz.0)
        );
    }
    // Rate: at most per_minute in any 60 s window (the sender is shared).
    let mut times: Vec<DateTime<Utc>> = accepted.iter().map(|(_, at)| *at).collect();
    times.sort();
    for (i, t) in times.iter().enumerate() {
        let in_window = times[i..]
            .iter()
            .take_while(|u| **u < *t + TimeDelta::seconds(60))
            .count();
        prop_assert!(
            in_window as u32 <= per_minute,
            "{in_window} sends in the minute from {t}, limit {per_minute}"
        );
    }
    // Every recipient final, counters exact.
    let mut recount: BTreeMap<RecipientStatus, u64> = BTreeMap::new();
    for entry in runtime.store().runs(id) {
        let (seq, run) = entry.expect("run");
        prop_assert!(run.is_done(), "recipient {seq} not finished: {run:?}");
        *recount.entry(run.status).or_default() += 1;
    }
    prop_assert_eq!(runtime.store().counters(id).expect("counters"), recount);
    // Message statistics exact: throttled tries answered again, crashes, lookups.
    let mut recount: BTreeMap<String, MessageStats> = BTreeMap::new();
    for message in runtime.store().messages(id) {
        let message = message.expect("message");
        let step = recount.entry(message.outbound.step_id.clone()).or_default();
        match message.status {
            MessageStatus::Sending => {}
            MessageStatus::Sent => step.sent += 1,
            MessageStatus::Delivered => step.delivered += 1,
            MessageStatus::Failed => step.failed += 1,
            MessageStatus::Unknown => step.unknown += 1,
        }
        if message.provider_id.is_some() {
            step.segments += u64::from(message.outbound.segments);
        }
    }
    prop_assert_eq!(runtime.store().message_stats(id).expect("stats"), recount);
    drop(runtime);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn tempdir() -> std::path::PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "switchboard-prop-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn campaigns_keep_their_promises_through_failures_and_crashes(
        zones in prop::collection::vec(0..ZONES.len(), 1..12),
        script in prop::collection::vec(prop_oneof![6 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8), 1 => Just(3u8)], 1..16),
        crash_at in prop::option::of(0u32..20),
        per_minute in 1u32..5,
        days in prop_oneof![Just("mon-fri: \"09:00-17:00\""), Just("daily: \"01:30-02:30, 10:00-11:00\""), Just("sat: \"10:00-12:00\", sun: \"13:00-14:00\"")],
        start_offset_hours in 0i64..72,
    ) {
        // A provider that throttles every call forever never lets a recipient finish: end
        // every script with an acceptance.
        let mut script = script;
        script.push(0);
        case(zones, script, crash_at, per_minute, days, start_offset_hours)?;
    }
}
