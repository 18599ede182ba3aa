//! End-to-end runtime tests: real sled store (temporary), real compiled workflows, the
//! scripted in-process provider, and a manual clock driving days of schedule.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use switchboard_runtime::lifecycle::{CampaignState, LifecycleAction};
use switchboard_runtime::provider::{Script, ScriptedProvider};
use switchboard_runtime::records::{MessageStatus, RecipientStatus};
use switchboard_runtime::store::Store;
use switchboard_runtime::{ManualClock, Runtime, RuntimeConfig};

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .expect("valid instant")
}

fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

type Recipients = Vec<(String, BTreeMap<String, String>)>;

struct Harness {
    runtime: Runtime,
    clock: ManualClock,
    provider: Arc<ScriptedProvider>,
}

impl Harness {
    fn new(start: DateTime<Utc>) -> Self {
        Self::with_provider(start, ScriptedProvider::new())
    }

    fn with_provider(start: DateTime<Utc>, provider: ScriptedProvider) -> Self {
        Self::with_config(start, provider, RuntimeConfig::default())
    }

    fn with_config(
        start: DateTime<Utc>,
        provider: ScriptedProvider,
        config: RuntimeConfig,
    ) -> Self {
        let clock = ManualClock::new(start);
        let provider = Arc::new(provider);
        let store = Store::temporary().expect("store");
        let runtime = Runtime::open(store, Arc::new(clock.clone()), provider.clone(), config)
            .expect("runtime");
        Self {
            runtime,
            clock,
            provider,
        }
    }

    /// Creates a campaign and starts it.
    fn launch(&mut self, name: &str, workflow: &str, recipients: Recipients) -> u64 {
        let id = self
            .runtime
            .create_campaign(name, workflow, recipients)
            .expect("create");
        self.runtime.start(id).expect("start");
        id
    }

    /// Every answered message of a campaign.
    fn messages(&self, id: u64) -> Vec<switchboard_runtime::records::MessageRecord> {
        self.runtime
            .store()
            .messages(id)
            .collect::<Result<Vec<_>, _>>()
            .expect("messages")
    }

    fn run_until(&mut self, until: DateTime<Utc>) {
        let clock = self.clock.clone();
        self.runtime
            .run_until(until, |at| clock.set(at))
            .expect("run");
    }
}

const HEAD: &str = "kind: campaign\nid: t\nprovider: mock\nsender: \"+14165550100\"\nconsent: { acknowledged: true }\n";

#[test]
fn promo_sends_personalised_messages_and_skips_filtered_recipients() {
    // Monday 2026-12-07 15:00 UTC = 10:00 in Toronto.
    let mut h = Harness::new(utc(2026, 12, 7, 15, 0));
    let workflow = format!(
        "{HEAD}window:\n  timezone: {{ default: America/Toronto }}\n  days: {{ mon-fri: \"09:00-17:00\" }}\nsteps:\n  - filter: 'recipient.company != \"\"'\n  - send: \"Hi {{name|there}}, an offer for {{company}}!\"\n"
    );
    let id = h.launch(
        "promo",
        &workflow,
        vec![
            (
                "+14165550001".into(),
                fields(&[("name", "John Doe"), ("company", "Acme Corp")]),
            ),
            ("+14165550002".into(), fields(&[("company", "Tech Inc")])),
            (
                "+14165550003".into(),
                fields(&[("name", "No Company"), ("company", "")]),
            ),
        ],
    );
    h.run_until(utc(2026, 12, 8, 0, 0));
    let bodies: Vec<String> = h
        .provider
        .accepted()
        .iter()
        .map(|m| m.body.clone())
        .collect();
    assert_eq!(
        bodies,
        [
            "Hi John Doe, an offer for Acme Corp!",
            "Hi there, an offer for Tech Inc!"
        ]
    );
    let counts = h.runtime.store().counters(id).expect("counters");
    assert_eq!(counts.get(&RecipientStatus::Sent), Some(&2));
    assert_eq!(counts.get(&RecipientStatus::Skipped), Some(&1));
    assert_eq!(
        h.runtime.campaign(id).map(|c| c.state),
        Some(CampaignState::Completed)
    );
}

#[test]
fn a_campaign_without_consent_does_not_start() {
    let mut h = Harness::new(utc(2026, 12, 7, 15, 0));
    let workflow = HEAD.replace("consent: { acknowledged: true }\n", "") + "steps:\n  - send: hi\n";
    let id = h
        .runtime
        .create_campaign(
            "c",
            &workflow,
            vec![("+14165550001".into(), BTreeMap::new())],
        )
        .expect("create");
    let error = h.runtime.start(id).expect_err("no consent");
    assert!(error.to_string().contains("consent"), "{error}");
}

#[test]
fn messages_wait_for_each_recipients_own_window_across_timezones() {
    // Friday 2026-12-11 23:00 UTC: evening in Toronto (18:00, closed), Saturday morning in
    // Kathmandu (04:45, before the window) and Lord Howe (10:00 +11, inside Saturday's hours).
    let start = utc(2026, 12, 11, 23, 0);
    let mut h = Harness::new(start);
    let workflow = format!(
        "{HEAD}window:\n  timezone: {{ field: tz, default: America/Toronto }}\n  days:\n    mon-fri: \"09:00-17:00\"\n    sat: \"10:00-12:00\"\n    sun: closed\nsteps:\n  - send: hello\n"
    );
    let people = [
        ("+14165550001", "America/Toronto"),
        ("+14165550002", "Asia/Kathmandu"),
        ("+14165550003", "Australia/Lord_Howe"),
        ("+14165550004", "Europe/London"),
    ];
    let recipients: Recipients = people
        .iter()
        .map(|(phone, tz)| (phone.to_string(), fields(&[("tz", tz)])))
        .collect();
    let id = h.launch("windows", &workflow, recipients);
    h.run_until(start + chrono::TimeDelta::days(7));
    let sent = h.messages(id);
    assert_eq!(sent.len(), 4);
    for message in sent {
        let tz: Tz = people
            .iter()
            .find(|(p, _)| *p == message.outbound.to)
            .map(|(_, tz)| tz.parse().expect("tz"))
            .expect("person");
        let local = message.created_at.with_timezone(&tz);
        let hm = local.format("%a %H:%M").to_string();
        let expected = match tz.name() {
            "America/Toronto" => "Sat 10:00", // Friday evening closed → Saturday 10:00
            "Asia/Kathmandu" => "Sat 10:00",  // 04:45 Saturday → 10:00
            "Australia/Lord_Howe" => "Sat 10:00", // 10:00 Saturday already open (sent at once)
            "Europe/London" => "Sat 10:00",   // 23:00 Friday closed → Saturday 10:00
            other => panic!("unexpected zone {other}"),
        };
        assert_eq!(hm, expected, "{} in {}", message.outbound.to, tz.name());
    }
}

#[test]
fn wait_reply_is_resumed_by_a_reply_or_by_its_timeout() {
    let start = utc(2026, 12, 7, 15, 0);
    let mut h = Harness::new(start);
    let workflow = format!(
        "{HEAD}quiet_hours: {{ override: true, reason: test }}\nsteps:\n  - send: Interested?\n  - wait_reply: {{ timeout: 2d, save_as: answer }}\n  - branch:\n      if: 'answer == ()'\n      then:\n        - send: Last chance!\n      else:\n        - send: \"Thanks, you said {{answer}}\"\n"
    );
    let id = h.launch(
        "replies",
        &workflow,
        vec![
            ("+14165550001".into(), BTreeMap::new()),
            ("+14165550002".into(), BTreeMap::new()),
        ],
    );
    h.run_until(start + chrono::TimeDelta::hours(1));
    assert_eq!(h.provider.accepted().len(), 2);
    h.clock.set(start + chrono::TimeDelta::hours(5));
    assert_eq!(
        h.runtime
            .deliver_reply("+14165550001", "YES please")
            .expect("reply"),
        1
    );
    h.run_until(start + chrono::TimeDelta::days(3));
    let bodies: Vec<(String, String)> = h
        .provider
        .accepted()
        .iter()
        .map(|m| (m.to.clone(), m.body.clone()))
        .collect();
    assert!(
        bodies.contains(&("+14165550001".into(), "Thanks, you said YES please".into())),
        "{bodies:?}"
    );
    let last_chance = h
        .provider
        .accepted()
        .into_iter()
        .find(|m| m.body == "Last chance!")
        .expect("timeout message");
    assert_eq!(last_chance.to, "+14165550002");
    let message = h
        .runtime
        .store()
        .message(id, 1, last_chance.pc, 0)
        .expect("read")
        .expect("message");
    assert_eq!(
        message.created_at,
        start + chrono::TimeDelta::days(2),
        "sent when the 2d timeout fired"
    );
    let run = h.runtime.store().run(id, 0).expect("read").expect("run");
    assert!(run.responded);
    assert_eq!(
        run.vars.get("answer"),
        Some(&serde_json::json!("YES please"))
    );
}

#[test]
fn transient_failures_retry_with_backoff_and_permanent_ones_fail_with_the_providers_code() {
    let start = utc(2026, 12, 7, 15, 0);
    let provider = ScriptedProvider::new();
    provider.script("+14165550001", Script::TransientThen(2));
    provider.script("+14165550002", Script::Permanent("21211".into()));
    provider.script(
        "+14165550003",
        Script::ThrottleThen(1, Duration::from_secs(120)),
    );
    provider.script("+14165550004", Script::TransientThen(10));
    let mut h = Harness::with_provider(start, provider);
    let workflow = format!(
        "{HEAD}quiet_hours: {{ override: true, reason: test }}\nretry: {{ attempts: 3, backoff: 1m }}\nsteps:\n  - send: hello\n"
    );
    let recipients: Recipients = (1..=4)
        .map(|i| (format!("+1416555000{i}"), BTreeMap::new()))
        .collect();
    let id = h.launch("retries", &workflow, recipients);
    h.run_until(start + chrono::TimeDelta::hours(1));
    assert_eq!(
        h.provider.calls_to("+14165550001"),
        3,
        "two transient failures, then success"
    );
    assert_eq!(
        h.provider.calls_to("+14165550002"),
        1,
        "permanent failures are not retried"
    );
    assert_eq!(h.provider.calls_to("+14165550003"), 2);
    assert_eq!(
        h.provider.calls_to("+14165550004"),
        3,
        "gives up after the attempts"
    );
    let run = |seq| h.runtime.store().run(id, seq).expect("read").expect("run");
    assert_eq!(run(0).status, RecipientStatus::Sent);
    assert_eq!(run(1).status, RecipientStatus::Failed);
    assert_eq!(run(1).reason.map(|r| r.code), Some("21211".into()));
    assert_eq!(run(2).status, RecipientStatus::Sent);
    assert_eq!(run(3).status, RecipientStatus::Failed);
    // Throttling does not use up an attempt: the same message (same idempotency key) goes
    // out once the provider's retry-after has passed.
    let resent = h
        .provider
        .accepted()
        .into_iter()
        .find(|m| m.to == "+14165550003")
        .expect("sent");
    assert_eq!(resent.attempt, 0);
    assert_eq!(
        resent.try_number, 2,
        "the call after a throttled one is the key's second try"
    );
    let resent_at = h
        .runtime
        .store()
        .message(id, 2, resent.pc, resent.attempt)
        .expect("read")
        .expect("message")
        .created_at;
    assert!(
        resent_at >= start + chrono::TimeDelta::seconds(120),
        "waited for retry-after: {resent_at}"
    );
    // Retry failed re-sends only the failed recipients.
    h.runtime
        .act(id, LifecycleAction::RetryFailed)
        .expect("retry failed");
    h.run_until(start + chrono::TimeDelta::hours(3));
    assert_eq!(
        h.provider.calls_to("+14165550001"),
        3,
        "sent recipients are not re-sent"
    );
    assert_eq!(h.provider.calls_to("+14165550002"), 2);
    // The one that gave up after 3 transient failures gets 3 attempts more, and fails again
    // (its provider fails 10 times).
    assert_eq!(h.provider.calls_to("+14165550004"), 6);
    let status = |seq| {
        h.runtime
            .store()
            .run(id, seq)
            .expect("read")
            .expect("run")
            .status
    };
    assert_eq!(status(3), RecipientStatus::Failed);
    assert_eq!(status(2), RecipientStatus::Sent);
}

#[test]
fn pause_holds_sends_and_stop_cancels_them_until_restart() {
    let start = utc(2026, 12, 7, 15, 0);
    let mut h = Harness::new(start);
    let workflow = format!(
        "{HEAD}quiet_hours: {{ override: true, reason: test }}\nsteps:\n  - send: one\n  - delay: 1h\n  - send: two\n"
    );
    let id = h.launch(
        "c",
        &workflow,
        vec![("+14165550001".into(), BTreeMap::new())],
    );
    h.run_until(start + chrono::TimeDelta::minutes(1));
    assert_eq!(h.provider.accepted().len(), 1);
    h.runtime.act(id, LifecycleAction::Pause).expect("pause");
    h.clock.set(start + chrono::TimeDelta::hours(2));
    h.runtime.tick().expect("tick");
    assert_eq!(
        h.provider.accepted().len(),
        1,
        "nothing goes out while paused"
    );
    assert_eq!(
        h.runtime.act(id, LifecycleAction::Resume).expect("resume"),
        CampaignState::Sending
    );
    h.run_until(start + chrono::TimeDelta::hours(3));
    assert_eq!(
        h.provider.accepted().len(),
        2,
        "the held message goes out after resume"
    );

    let id = h.launch(
        "c2",
        &workflow,
        vec![("+14165550002".into(), BTreeMap::new())],
    );
    h.runtime.tick().expect("tick");
    assert_eq!(h.provider.calls_to("+14165550002"), 1);
    assert_eq!(
        h.runtime.act(id, LifecycleAction::Stop).expect("stop"),
        CampaignState::Stopped
    );
    h.clock.set(start + chrono::TimeDelta::hours(6));
    h.runtime.tick().expect("tick");
    assert_eq!(
        h.provider.calls_to("+14165550002"),
        1,
        "a stopped campaign sends nothing"
    );
    let error = h
        .runtime
        .act(id, LifecycleAction::Edit)
        .expect_err("edit after start");
    assert!(
        error.to_string().contains("editable only in draft"),
        "{error}"
    );
    assert_eq!(
        h.runtime
            .act(id, LifecycleAction::Restart)
            .expect("restart"),
        CampaignState::Sending
    );
    h.run_until(start + chrono::TimeDelta::hours(8));
    assert_eq!(
        h.provider.calls_to("+14165550002"),
        2,
        "restart rebuilds the unsent message's schedule"
    );
    assert_eq!(
        h.runtime.campaign(id).map(|c| c.state),
        Some(CampaignState::Completed)
    );
}

#[test]
fn an_interrupted_send_is_reconciled_by_lookup_or_marked_unknown_never_resent() {
    for with_lookup in [true, false] {
        let dir = std::env::temp_dir().join(format!(
            "switchboard-crash-{}-{with_lookup}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let start = utc(2026, 12, 7, 15, 0);
        let clock = ManualClock::new(start);
        let workflow = format!(
            "{HEAD}quiet_hours: {{ override: true, reason: test }}\nsteps:\n  - send: one\n  - send: two\n"
        );
        // A provider that accepts the first message and then the process dies before the
        // answer is recorded: the panic unwinds out of the runtime mid-send.
        #[derive(Debug)]
        struct DiesAfterSending(Arc<ScriptedProvider>);
        impl switchboard_runtime::provider::Provider for DiesAfterSending {
            fn send(
                &self,
                message: &switchboard_runtime::records::Outbound,
            ) -> switchboard_runtime::provider::SendOutcome {
                let _ = self.0.send(message);
                panic!(
                    "simulated crash after the provider accepted {}",
                    message.idempotency_key()
                );
            }
        }
        let accepted = Arc::new(if with_lookup {
            ScriptedProvider::new().with_lookup()
        } else {
            ScriptedProvider::new()
        });
        let id = {
            let store = Store::open(&dir).expect("store");
            let mut runtime = Runtime::open(
                store,
                Arc::new(clock.clone()),
                Arc::new(DiesAfterSending(accepted.clone())),
                RuntimeConfig::default(),
            )
            .expect("runtime");
            let id = runtime
                .create_campaign(
                    "crash",
                    &workflow,
                    vec![("+14165550001".into(), BTreeMap::new())],
                )
                .expect("create");
            runtime.start(id).expect("start");
            let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.tick()));
            assert!(crashed.is_err(), "the provider call crashed the engine");
            id
        };
        assert_eq!(accepted.accepted().len(), 1);
        let store = Store::open_waiting(&dir, Duration::from_secs(5)).expect("reopen");
        assert_eq!(
            store.pending_intents().expect("outbox").len(),
            1,
            "the intent survived the crash"
        );
        let mut runtime = Runtime::open(
            store,
            Arc::new(clock.clone()),
            accepted.clone(),
            RuntimeConfig::default(),
        )
        .expect("reopen runtime");
        let c = clock.clone();
        runtime
            .run_until(start + chrono::TimeDelta::hours(1), |at| c.set(at))
            .expect("run");
        let to_one: Vec<_> = accepted
            .accepted()
            .into_iter()
            .filter(|m| m.body == "one")
            .collect();
        assert_eq!(to_one.len(), 1, "message one was never sent twice");
        let first = runtime
            .store()
            .message(id, 0, 0, 0)
            .expect("read")
            .expect("message");
        let run = runtime.store().run(id, 0).expect("read").expect("run");
        if with_lookup {
            assert_eq!(first.status, MessageStatus::Sent, "reconciled by lookup");
            assert_eq!(run.status, RecipientStatus::Sent);
            assert_eq!(
                accepted
                    .accepted()
                    .iter()
                    .filter(|m| m.body == "two")
                    .count(),
                1,
                "the sequence went on"
            );
        } else {
            assert_eq!(first.status, MessageStatus::Unknown);
            assert_eq!(run.status, RecipientStatus::Unknown);
            assert_eq!(
                accepted.accepted().len(),
                1,
                "nothing more is sent to an unknown recipient"
            );
        }
        drop(runtime);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn recipients_not_reached_by_the_campaign_end_expire() {
    // One message per minute, the campaign ends 5 minutes after it opens: of ten recipients,
    // five are reached and five expire (never carried over).
    let start = utc(2026, 12, 7, 15, 0);
    let mut h = Harness::new(start);
    let workflow = format!(
        "{HEAD}rate: {{ per_minute: 1 }}\nwindow:\n  timezone: {{ default: America/Toronto }}\n  days: {{ daily: \"09:00-17:00\" }}\n  end: 2026-12-07T10:04:30-05:00\nsteps:\n  - send: hello\n"
    );
    let recipients: Recipients = (0..10)
        .map(|i| (format!("+1416555{i:04}"), BTreeMap::new()))
        .collect();
    let id = h.launch("end", &workflow, recipients);
    h.run_until(start + chrono::TimeDelta::days(2));
    let counts = h.runtime.store().counters(id).expect("counters");
    assert_eq!(counts.get(&RecipientStatus::Sent), Some(&5), "{counts:?}");
    assert_eq!(
        counts.get(&RecipientStatus::Expired),
        Some(&5),
        "{counts:?}"
    );
    assert_eq!(
        h.runtime.campaign(id).map(|c| c.state),
        Some(CampaignState::Completed)
    );
}

#[test]
fn a_daily_sequence_keeps_local_time_across_dst_changes() {
    // New York falls back on 2026-11-01; London on 2026-10-25. A message every day at 09:00
    // local time stays at 09:00 local on both sides of the change.
    let start = utc(2026, 10, 23, 0, 0);
    let mut h = Harness::new(start);
    let workflow = format!(
        "{HEAD}window:\n  timezone: {{ field: tz, default: America/New_York }}\n  days: {{ daily: \"09:00-17:00\" }}\nsteps:\n  - wait_until: \"09:00\"\n  - send: day one\n  - wait_until: \"09:00\"\n  - send: day two\n  - delay: 7d\n  - wait_until: \"09:00\"\n  - send: a week later\n"
    );
    let recipients: Recipients = vec![
        ("+14165550001".into(), fields(&[("tz", "America/New_York")])),
        ("+14165550002".into(), fields(&[("tz", "Europe/London")])),
    ];
    let id = h.launch("dst", &workflow, recipients);
    h.run_until(start + chrono::TimeDelta::days(20));
    let messages = h.messages(id);
    assert_eq!(messages.len(), 6);
    for message in messages {
        let tz: Tz = if message.outbound.to.ends_with('1') {
            chrono_tz::America::New_York
        } else {
            chrono_tz::Europe::London
        };
        let local = message.created_at.with_timezone(&tz);
        assert_eq!(
            local.format("%H:%M").to_string(),
            "09:00",
            "{} {} at {local}",
            message.outbound.to,
            message.outbound.body
        );
    }
}

#[test]
fn scheduled_campaigns_start_at_their_time_and_drafts_can_be_edited_duplicated_and_deleted() {
    let start = utc(2026, 12, 7, 15, 0);
    let mut h = Harness::new(start);
    let workflow =
        format!("{HEAD}quiet_hours: {{ override: true, reason: test }}\nsteps:\n  - send: hello\n");
    let id = h
        .runtime
        .create_campaign(
            "draft",
            &workflow,
            vec![("+14165550001".into(), BTreeMap::new())],
        )
        .expect("create");
    let edited = workflow.replace("send: hello", "send: hello again");
    h.runtime
        .edit(id, Some("renamed"), Some(&edited))
        .expect("edit a draft");
    assert_eq!(
        h.runtime.campaign(id).map(|c| c.name.clone()),
        Some("renamed".into())
    );
    let copy = h.runtime.duplicate(id, "copy").expect("duplicate");
    assert_eq!(
        h.runtime
            .store()
            .recipient(copy, 0)
            .expect("read")
            .map(|r| r.phone),
        Some("+14165550001".into())
    );

    h.runtime
        .schedule(id, start + chrono::TimeDelta::hours(2))
        .expect("schedule");
    h.run_until(start + chrono::TimeDelta::hours(1));
    assert!(h.provider.accepted().is_empty(), "not before its time");
    h.run_until(start + chrono::TimeDelta::hours(3));
    let sent = h.provider.accepted();
    assert_eq!(
        sent.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        ["hello again"]
    );
    let at = h
        .runtime
        .store()
        .message(id, 0, 0, 0)
        .expect("read")
        .expect("message")
        .created_at;
    assert_eq!(at, start + chrono::TimeDelta::hours(2));

    let error = h
        .runtime
        .edit(id, Some("late"), None)
        .expect_err("not a draft any more");
    assert!(
        error.to_string().contains("editable only in draft"),
        "{error}"
    );
    h.runtime.delete(copy).expect("delete a draft");
    assert!(h.runtime.campaign(copy).is_none());
    assert!(h.runtime.store().campaign(copy).expect("read").is_none());
    assert!(
        h.runtime
            .store()
            .recipient(copy, 0)
            .expect("read")
            .is_none()
    );
}

#[test]
fn sends_from_different_numbers_go_out_concurrently() {
    #[derive(Debug, Default)]
    struct Overlap {
        in_flight: std::sync::atomic::AtomicUsize,
        max: std::sync::atomic::AtomicUsize,
    }
    impl switchboard_runtime::provider::Provider for Overlap {
        fn send(
            &self,
            m: &switchboard_runtime::records::Outbound,
        ) -> switchboard_runtime::provider::SendOutcome {
            use std::sync::atomic::Ordering::SeqCst;
            let now = self.in_flight.fetch_add(1, SeqCst) + 1;
            self.max.fetch_max(now, SeqCst);
            std::thread::sleep(Duration::from_millis(20));
            self.in_flight.fetch_sub(1, SeqCst);
            switchboard_runtime::provider::SendOutcome::Accepted {
                provider_id: m.idempotency_key(),
            }
        }
    }
    let start = utc(2026, 12, 7, 15, 0);
    let clock = ManualClock::new(start);
    let provider = Arc::new(Overlap::default());
    let mut runtime = Runtime::open(
        Store::temporary().expect("store"),
        Arc::new(clock.clone()),
        provider.clone(),
        RuntimeConfig::default(),
    )
    .expect("runtime");
    let workflow = "kind: campaign\nid: t\nprovider: mock\nsender: { pool: [\"+14165550100\", \"+14165550101\", \"+14165550102\"], strategy: round_robin }\nconsent: { acknowledged: true }\nquiet_hours: { override: true, reason: test }\nsteps:\n  - send: hello\n";
    let recipients: Recipients = (0..12)
        .map(|i| (format!("+1416555{i:04}"), BTreeMap::new()))
        .collect();
    let id = runtime
        .create_campaign("pool", workflow, recipients)
        .expect("create");
    runtime.start(id).expect("start");
    runtime.tick().expect("tick");
    assert!(
        provider.max.load(std::sync::atomic::Ordering::SeqCst) >= 2,
        "sends from three numbers overlapped"
    );
    let senders: std::collections::BTreeSet<String> = runtime
        .store()
        .messages(id)
        .map(|m| m.expect("message").outbound.from)
        .collect();
    assert_eq!(
        senders.len(),
        3,
        "round robin used every number of the pool"
    );
}

#[test]
fn provider_account_limits_apply_across_senders() {
    let start = utc(2026, 12, 7, 15, 0);
    let mut config = RuntimeConfig::default();
    config.account_limits.insert(
        "mock".into(),
        switchboard_runtime::pacing::Limits {
            per_second: None,
            per_minute: Some(2),
            per_day: None,
        },
    );
    let mut h = Harness::with_config(start, ScriptedProvider::new(), config);
    let workflow = "kind: campaign\nid: t\nprovider: mock\nsender: { pool: [\"+14165550100\", \"+14165550101\"], strategy: round_robin }\nconsent: { acknowledged: true }\nquiet_hours: { override: true, reason: test }\nsteps:\n  - send: hello\n";
    let recipients: Recipients = (0..6)
        .map(|i| (format!("+1416555{i:04}"), BTreeMap::new()))
        .collect();
    let id = h.launch("account", workflow, recipients);
    h.run_until(start + chrono::TimeDelta::hours(1));
    let mut times: Vec<_> = h.messages(id).into_iter().map(|m| m.created_at).collect();
    times.sort();
    assert_eq!(times.len(), 6);
    assert_eq!(
        times[2] - times[0],
        chrono::TimeDelta::seconds(60),
        "two per minute for the whole account: {times:?}"
    );
}

#[test]
fn a_restart_does_not_reset_a_senders_daily_budget() {
    let dir =
        std::env::temp_dir().join(format!("switchboard-pacing-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let start = utc(2026, 12, 7, 15, 0);
    let clock = ManualClock::new(start);
    let provider = Arc::new(ScriptedProvider::new());
    let workflow = format!(
        "{HEAD}rate: {{ per_day: 3 }}\nquiet_hours: {{ override: true, reason: test }}\nsteps:\n  - send: hello\n"
    );
    let recipients: Recipients = (0..5)
        .map(|i| (format!("+1416555{i:04}"), BTreeMap::new()))
        .collect();
    let id = {
        let mut runtime = Runtime::open(
            Store::open(&dir).expect("store"),
            Arc::new(clock.clone()),
            provider.clone(),
            RuntimeConfig::default(),
        )
        .expect("runtime");
        let id = runtime
            .create_campaign("daily", &workflow, recipients)
            .expect("create");
        runtime.start(id).expect("start");
        runtime.tick().expect("tick");
        id
    };
    assert_eq!(provider.accepted().len(), 3, "the daily budget is spent");
    clock.set(start + chrono::TimeDelta::hours(1));
    let mut runtime = Runtime::open(
        Store::open_waiting(&dir, Duration::from_secs(5)).expect("reopen"),
        Arc::new(clock.clone()),
        provider.clone(),
        RuntimeConfig::default(),
    )
    .expect("runtime");
    // A new campaign from the same number, started after the restart, finds the budget spent.
    let second = runtime
        .create_campaign(
            "more",
            &workflow,
            vec![("+14165559999".to_string(), BTreeMap::new())],
        )
        .expect("create");
    runtime.start(second).expect("start");
    runtime.tick().expect("tick");
    assert_eq!(provider.accepted().len(), 3, "still spent after a restart");
    let c = clock.clone();
    runtime
        .run_until(start + chrono::TimeDelta::days(2), |at| c.set(at))
        .expect("run");
    assert_eq!(
        provider.accepted().len(),
        6,
        "the rest go out the next UTC day"
    );
    let next_day = runtime
        .store()
        .message(id, 3, 0, 0)
        .expect("read")
        .expect("message")
        .created_at;
    assert_eq!(next_day, utc(2026, 12, 8, 0, 0));
    drop(runtime);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_wild_retry_after_is_capped_at_an_hour() {
    let start = utc(2026, 12, 7, 15, 0);
    let provider = ScriptedProvider::new();
    provider.script(
        "+14165550001",
        Script::ThrottleThen(1, Duration::from_millis(100_000_000_000_000_000)),
    );
    let mut h = Harness::with_provider(start, provider);
    let workflow =
        format!("{HEAD}quiet_hours: {{ override: true, reason: test }}\nsteps:\n  - send: hello\n");
    let recipients: Recipients = vec![("+14165550001".to_string(), BTreeMap::new())];
    let id = h.launch("wild throttle", &workflow, recipients);
    h.run_until(start + chrono::TimeDelta::hours(2));
    assert_eq!(
        h.provider.calls_to("+14165550001"),
        2,
        "sent again within the hour"
    );
    let run = h.runtime.store().run(id, 0).expect("read").expect("run");
    assert_eq!(run.status, RecipientStatus::Sent);
}

#[test]
fn workflow_variables_keep_their_types_in_expressions() {
    let start = utc(2026, 12, 7, 15, 0);
    let mut h = Harness::new(start);
    let workflow = format!(
        "{HEAD}quiet_hours: {{ override: true, reason: test }}\nvariables: {{ threshold: 3, vip_only: true, brand: Acme }}\nsteps:\n  - filter: 'vars.threshold > 2 && vars.vip_only && vars.brand == \"Acme\"'\n  - send: \"{{brand}} says hi\"\n"
    );
    let id = h.launch(
        "typed vars",
        &workflow,
        vec![("+14165550001".to_string(), BTreeMap::new())],
    );
    h.run_until(start + chrono::TimeDelta::hours(1));
    let run = h.runtime.store().run(id, 0).expect("read").expect("run");
    assert_eq!(run.status, RecipientStatus::Sent, "{:?}", run.reason);
    assert_eq!(h.messages(id)[0].outbound.body, "Acme says hi");
}

/// A clock with nanoseconds, like the system's (the [`ManualClock`] has milliseconds).
#[derive(Debug, Clone)]
struct NanoClock(Arc<std::sync::Mutex<DateTime<Utc>>>);

impl NanoClock {
    fn set(&self, at: DateTime<Utc>) {
        if let Ok(mut now) = self.0.lock() {
            *now = (*now).max(at);
        }
    }
}

impl switchboard_runtime::Clock for NanoClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().map(|now| *now).unwrap_or_default()
    }
}

#[test]
fn a_paced_recipient_whose_wake_up_is_finer_than_a_millisecond_is_not_lost() {
    // Timer keys hold milliseconds. With one send a second from 15:00:00.000123456, the second
    // recipient waits until 15:00:01.000123456: its timer must not fire before then (finding
    // nothing to do), nor be taken for a stale one and removed (which left the recipient
    // asleep for good).
    let start = utc(2026, 12, 7, 15, 0) + chrono::TimeDelta::nanoseconds(123_456);
    let clock = NanoClock(Arc::new(std::sync::Mutex::new(start)));
    let mut runtime = Runtime::open(
        Store::temporary().expect("store"),
        Arc::new(clock.clone()),
        Arc::new(ScriptedProvider::new()),
        RuntimeConfig::default(),
    )
    .expect("runtime");
    let workflow = format!(
        "{HEAD}rate: {{ per_second: 1 }}\nquiet_hours: {{ override: true, reason: test }}\nsteps:\n  - send: hello\n"
    );
    let recipients: Recipients = (0..3)
        .map(|i| (format!("+1416555{i:04}"), BTreeMap::new()))
        .collect();
    let id = runtime
        .create_campaign("paced", &workflow, recipients)
        .expect("create");
    runtime.start(id).expect("start");
    // Each tick at exactly the next wake-up the store reports, as the daemon sleeps until it.
    for _ in 0..100 {
        let report = runtime.tick().expect("tick");
        if report.woken > 0 {
            continue;
        }
        match runtime.next_wake().expect("next wake") {
            Some(at) => clock.set(at),
            None => break,
        }
    }
    let counts = runtime.store().counters(id).expect("counters");
    assert_eq!(counts.get(&RecipientStatus::Sent), Some(&3), "{counts:?}");
    let mut times: Vec<_> = runtime
        .store()
        .messages(id)
        .map(|m| m.expect("message").created_at)
        .collect();
    times.sort();
    assert!(
        times
            .windows(2)
            .all(|w| w[1] - w[0] >= chrono::TimeDelta::seconds(1)),
        "one a second, none early: {times:?}"
    );
}
