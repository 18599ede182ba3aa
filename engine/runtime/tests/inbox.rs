//! The inbox: webhook events written by `Store::enqueue_inbox` and applied by
//! `Runtime::drain_inbox` — receipts to their messages, replies to waiting recipients, receipts
//! that come before their message kept and retried on the clock, limits, arrival order, and
//! applying the same event twice. Real sled store (temporary), scripted provider, manual clock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use switchboard_runtime::delivery::{DeliveryStatus, DeliveryUpdate};
use switchboard_runtime::events::{Observer, RuntimeEvent};
use switchboard_runtime::inbox::{DrainReport, InboxEvent};
use switchboard_runtime::provider::ScriptedProvider;
use switchboard_runtime::records::{MessageRecord, MessageStatus, RecipientStatus, RunState};
use switchboard_runtime::stats::MessageStats;
use switchboard_runtime::store::Store;
use switchboard_runtime::{Clock, ManualClock, Runtime, RuntimeConfig};

fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 15, 0, 0)
        .single()
        .expect("valid instant")
}

const HEAD: &str = "kind: campaign\nid: t\nprovider: mock\nsender: \"+14165550100\"\nconsent: { acknowledged: true }\nquiet_hours: { override: true, reason: test }\n";

const PHONES: [&str; 3] = ["+14165550001", "+14165550002", "+14165550003"];

struct Harness {
    runtime: Runtime,
    store: Store,
    clock: ManualClock,
}

impl Harness {
    fn new() -> Self {
        let clock = ManualClock::new(start_time());
        let store = Store::temporary().expect("store");
        let runtime = Runtime::open(
            store.clone(),
            Arc::new(clock.clone()),
            Arc::new(ScriptedProvider::new()),
            RuntimeConfig::default(),
        )
        .expect("runtime");
        Self {
            runtime,
            store,
            clock,
        }
    }

    /// A draft campaign: its id is known before anything is sent.
    fn create(&mut self, steps: &str, phones: &[&str]) -> u64 {
        let recipients = phones
            .iter()
            .map(|phone| (phone.to_string(), BTreeMap::new()));
        self.runtime
            .create_campaign("inbox", &format!("{HEAD}steps:\n{steps}"), recipients)
            .expect("create")
    }

    /// Starts a campaign and does what is due now, without moving the clock.
    fn start(&mut self, id: u64) {
        self.runtime.start(id).expect("start");
        let clock = self.clock.clone();
        self.runtime
            .run_until(clock.now(), |at| clock.set(at))
            .expect("run");
    }

    fn launch(&mut self, steps: &str, phones: &[&str]) -> u64 {
        let id = self.create(steps, phones);
        self.start(id);
        id
    }

    fn enqueue(&self, events: Vec<InboxEvent>) {
        self.store
            .enqueue_inbox(events, self.clock.now())
            .expect("enqueue");
    }

    fn drain(&mut self, limit: usize) -> DrainReport {
        self.runtime.drain_inbox(limit).expect("drain")
    }

    fn waiting(&self) -> usize {
        self.store.inbox_len().expect("inbox")
    }

    fn messages(&self, id: u64) -> Vec<MessageRecord> {
        self.store
            .messages(id)
            .collect::<Result<Vec<_>, _>>()
            .expect("messages")
    }

    fn message(&self, provider_id: &str) -> MessageRecord {
        self.store
            .message_by_provider_id(provider_id)
            .expect("read")
            .expect("a known message")
    }

    fn run(&self, id: u64, recipient: u64) -> RunState {
        self.store.run(id, recipient).expect("read").expect("run")
    }

    /// Everything a receipt can change, to compare before and after.
    fn snapshot(&self, id: u64) -> impl PartialEq + std::fmt::Debug + use<> {
        let runs: Vec<RunState> = (0..PHONES.len() as u64)
            .filter_map(|seq| self.store.run(id, seq).expect("read"))
            .collect();
        (
            self.messages(id),
            runs,
            self.store.message_stats(id).expect("stats"),
            self.store.counters(id).expect("counters"),
        )
    }
}

/// The provider id the scripted provider gives a recipient's first message.
fn first_provider_id(campaign: u64, recipient: u64) -> String {
    format!("SMsb-{campaign}-{recipient}-0-0")
}

fn receipt(provider_id: &str, status: DeliveryStatus) -> InboxEvent {
    InboxEvent::Receipt {
        provider_id: provider_id.to_string(),
        update: DeliveryUpdate::new(status),
    }
}

fn reply(from: &str, text: &str) -> InboxEvent {
    InboxEvent::Reply {
        provider: "mock".into(),
        provider_message_id: format!("MO-{from}-{text}"),
        from: from.to_string(),
        to: "+14165550100".to_string(),
        text: text.to_string(),
    }
}

fn stats(sent: u64, delivered: u64, failed: u64, segments: u64) -> MessageStats {
    MessageStats {
        sent,
        delivered,
        failed,
        unknown: 0,
        segments,
    }
}

/// Records the provider ids of message events, in the order they are announced.
#[derive(Debug, Default)]
struct MessageLog(Mutex<Vec<(Option<String>, MessageStatus)>>);

impl MessageLog {
    fn take(&self) -> Vec<(Option<String>, MessageStatus)> {
        self.0
            .lock()
            .map(|mut l| std::mem::take(&mut *l))
            .unwrap_or_default()
    }
}

impl Observer for MessageLog {
    fn notify(&self, event: &RuntimeEvent) {
        if let RuntimeEvent::Message {
            provider_id,
            status,
            ..
        } = event
            && let Ok(mut log) = self.0.lock()
        {
            log.push((provider_id.clone(), *status));
        }
    }
}

const ONE_SEND: &str = "  - send: { id: welcome, text: hi }\n";

#[test]
fn receipts_are_applied_when_the_inbox_is_drained() {
    let mut h = Harness::new();
    let id = h.launch(ONE_SEND, &PHONES[..2]);
    let (first, second) = (first_provider_id(id, 0), first_provider_id(id, 1));
    assert_eq!(h.message(&first).status, MessageStatus::Sent);

    h.enqueue(vec![
        receipt(&first, DeliveryStatus::Delivered),
        InboxEvent::Receipt {
            provider_id: second.clone(),
            update: DeliveryUpdate {
                status: DeliveryStatus::Undelivered,
                error_code: Some("30003".into()),
                error_message: Some("Unreachable destination handset".into()),
            },
        },
    ]);
    // Enqueued is not applied: the engine applies them when it drains.
    assert_eq!(h.waiting(), 2);
    assert_eq!(h.message(&first).status, MessageStatus::Sent);

    let report = h.drain(100);
    assert_eq!(
        report,
        DrainReport {
            receipts: 2,
            ..DrainReport::default()
        }
    );
    assert_eq!(report.done(), 2);
    assert_eq!(h.waiting(), 0);
    let delivered = h.message(&first);
    assert_eq!(
        (delivered.status, delivered.status_at),
        (MessageStatus::Delivered, Some(h.clock.now()))
    );
    let failed = h.message(&second);
    assert_eq!(failed.status, MessageStatus::Failed);
    assert_eq!(failed.error.map(|e| e.code), Some("30003".to_string()));
    assert_eq!(h.run(id, 0).status, RecipientStatus::Delivered);
    assert_eq!(h.run(id, 1).status, RecipientStatus::Failed);
    assert_eq!(
        h.store.message_stats(id).expect("stats"),
        BTreeMap::from([("welcome".to_string(), stats(0, 1, 1, 2))])
    );
    assert_eq!(
        h.store.counters(id).expect("counters"),
        BTreeMap::from([
            (RecipientStatus::Delivered, 1),
            (RecipientStatus::Failed, 1)
        ])
    );
    assert_eq!(h.drain(100), DrainReport::default(), "nothing is left");
}

#[test]
fn a_receipt_before_its_message_waits_and_is_retried_then_dropped() {
    let mut h = Harness::new();
    let early = h.create(ONE_SEND, &PHONES[..1]);
    let late = h.create(ONE_SEND, &PHONES[1..2]);
    let (early_id, late_id) = (first_provider_id(early, 0), first_provider_id(late, 0));
    let t0 = h.clock.now();
    h.enqueue(vec![
        receipt(&early_id, DeliveryStatus::Delivered),
        receipt(&late_id, DeliveryStatus::Delivered),
        receipt("SM-never-ours", DeliveryStatus::Delivered),
    ]);
    let deferred = |n| DrainReport {
        deferred: n,
        ..DrainReport::default()
    };
    assert_eq!(h.drain(100), deferred(3));
    assert_eq!(h.waiting(), 3, "deferred receipts stay in the inbox");
    assert_eq!(h.drain(100), DrainReport::default(), "and are not due yet");

    // Retried 1 s later: still unknown.
    h.clock.set(t0 + TimeDelta::milliseconds(999));
    assert_eq!(h.drain(100), DrainReport::default());
    h.clock.set(t0 + TimeDelta::seconds(1));
    assert_eq!(h.drain(100), deferred(3));

    // The first campaign's message appears; the next retry, 5 s later, applies its receipt.
    h.start(early);
    assert_eq!(h.message(&early_id).status, MessageStatus::Sent);
    h.clock
        .set(t0 + TimeDelta::seconds(6) - TimeDelta::milliseconds(1));
    assert_eq!(h.drain(100), DrainReport::default());
    h.clock.set(t0 + TimeDelta::seconds(6));
    assert_eq!(
        h.drain(100),
        DrainReport {
            receipts: 1,
            deferred: 2,
            ..DrainReport::default()
        }
    );
    assert_eq!(h.message(&early_id).status, MessageStatus::Delivered);
    assert_eq!(h.run(early, 0).status, RecipientStatus::Delivered);
    assert_eq!(
        h.store.message_stats(early).expect("stats"),
        BTreeMap::from([("welcome".to_string(), stats(0, 1, 0, 1))])
    );

    // Then 30 s, 2 min later: still unknown.
    let mut at = t0 + TimeDelta::seconds(6);
    for wait in [30, 120] {
        at += TimeDelta::seconds(wait);
        h.clock.set(at - TimeDelta::milliseconds(1));
        assert_eq!(
            h.drain(100),
            DrainReport::default(),
            "not due before {wait} s"
        );
        h.clock.set(at);
        assert_eq!(h.drain(100), deferred(2), "retried after {wait} s");
    }

    // The other message appears just before the last retry, 10 min later: applied; the
    // receipt nobody sent is dropped.
    at += TimeDelta::seconds(600);
    h.clock.set(at - TimeDelta::milliseconds(1));
    assert_eq!(h.drain(100), DrainReport::default());
    h.start(late);
    h.clock.set(at);
    assert_eq!(
        h.drain(100),
        DrainReport {
            receipts: 1,
            dropped: 1,
            ..DrainReport::default()
        }
    );
    assert_eq!(h.message(&late_id).status, MessageStatus::Delivered);
    assert_eq!(h.waiting(), 0);
    h.clock.set(at + TimeDelta::hours(1));
    assert_eq!(h.drain(100), DrainReport::default());
}

#[test]
fn an_unknown_receipt_is_tried_on_arrival_and_after_1_5_30_120_600_seconds_then_dropped() {
    let mut h = Harness::new();
    let t0 = h.clock.now();
    h.enqueue(vec![receipt("SM-unknown", DeliveryStatus::Failed)]);
    // Drain every second for a quarter of an hour; note when the receipt was tried.
    let mut tried = Vec::new();
    for second in 0..900 {
        h.clock.set(t0 + TimeDelta::seconds(second));
        let report = h.drain(10);
        assert_eq!(report.receipts, 0);
        if report.deferred + report.dropped > 0 {
            tried.push((second, report.dropped == 1));
        }
    }
    assert_eq!(
        tried,
        [
            (0, false),
            (1, false),
            (1 + 5, false),
            (1 + 5 + 30, false),
            (1 + 5 + 30 + 120, false),
            (1 + 5 + 30 + 120 + 600, true),
        ]
    );
    assert_eq!(h.waiting(), 0);
}

#[test]
fn a_reply_in_the_inbox_resumes_the_recipient_waiting_for_it() {
    let mut h = Harness::new();
    let steps = "  - send: { id: ask, text: \"Interested?\" }\n  - wait_reply: { timeout: 1d, save_as: answer }\n  - send: { id: thanks, when: 'answer != ()', text: Thanks }\n";
    let id = h.launch(steps, &PHONES[..2]);
    assert!(
        h.store
            .waiters_for(PHONES[0])
            .expect("waiters")
            .contains(&(id, 0))
    );

    h.enqueue(vec![
        reply(PHONES[0], "yes"),
        reply("+14165559999", "who is this?"),
    ]);
    assert!(!h.run(id, 0).responded, "not before the drain");
    assert_eq!(
        h.drain(100),
        DrainReport {
            replies: 2,
            resumed: 1,
            ..DrainReport::default()
        }
    );
    let run = h.run(id, 0);
    assert!(run.responded);
    assert_eq!(run.vars.get("answer"), Some(&serde_json::json!("yes")));
    assert_eq!(run.status, RecipientStatus::Sent, "thanked");
    assert!(!h.run(id, 1).responded);
    assert_eq!(h.store.responded(id).expect("responded"), 1);
    assert!(h.store.waiters_for(PHONES[0]).expect("waiters").is_empty());
    assert_eq!(
        h.store.message_stats(id).expect("stats"),
        BTreeMap::from([
            ("ask".to_string(), stats(2, 0, 0, 2)),
            ("thanks".to_string(), stats(1, 0, 0, 1)),
        ])
    );
    assert_eq!(h.waiting(), 0);
}

#[test]
fn a_drain_takes_at_most_its_limit_in_arrival_order() {
    let mut h = Harness::new();
    let id = h.launch(ONE_SEND, &PHONES);
    let log = Arc::new(MessageLog::default());
    h.runtime.set_observer(log.clone());
    let ids: Vec<String> = (0..3).map(|r| first_provider_id(id, r)).collect();
    // Arrival order: 2, 0 (one webhook), then 1 and a second report on 2 (another), then an
    // unknown one (a third, a millisecond later).
    h.enqueue(vec![
        receipt(&ids[2], DeliveryStatus::Sent),
        receipt(&ids[0], DeliveryStatus::Delivered),
    ]);
    h.enqueue(vec![
        receipt(&ids[1], DeliveryStatus::Failed),
        receipt(&ids[2], DeliveryStatus::Delivered),
    ]);
    h.clock.advance(TimeDelta::milliseconds(1));
    h.enqueue(vec![receipt("SM-not-yet", DeliveryStatus::Delivered)]);

    assert_eq!(h.drain(0), DrainReport::default());
    assert_eq!(h.waiting(), 5);
    let three = h.drain(3);
    assert_eq!(three.receipts, 3);
    assert_eq!(h.waiting(), 2);
    // The repeat of `sent` on 2 announced nothing; 0 and 1 moved, in that order.
    assert_eq!(
        log.take(),
        [
            (Some(ids[0].clone()), MessageStatus::Delivered),
            (Some(ids[1].clone()), MessageStatus::Failed),
        ]
    );
    assert_eq!(h.message(&ids[2]).status, MessageStatus::Sent);

    let rest = h.drain(1);
    assert_eq!(rest.receipts, 1);
    assert_eq!(
        log.take(),
        [(Some(ids[2].clone()), MessageStatus::Delivered)]
    );
    assert_eq!(
        h.drain(1),
        DrainReport {
            deferred: 1,
            ..DrainReport::default()
        }
    );
    assert_eq!(h.waiting(), 1, "the unknown one waits for its retry");
}

#[test]
fn applying_the_same_receipt_twice_changes_nothing_the_second_time() {
    let mut h = Harness::new();
    let id = h.launch(ONE_SEND, &PHONES[..2]);
    let log = Arc::new(MessageLog::default());
    h.runtime.set_observer(log.clone());
    let first = first_provider_id(id, 0);
    let failure = InboxEvent::Receipt {
        provider_id: first_provider_id(id, 1),
        update: DeliveryUpdate {
            status: DeliveryStatus::Failed,
            error_code: Some("30007".into()),
            error_message: Some("filtered".into()),
        },
    };

    // Applied, then (a crash before its removal) applied again from the inbox.
    h.enqueue(vec![
        receipt(&first, DeliveryStatus::Delivered),
        failure.clone(),
    ]);
    assert_eq!(h.drain(100).receipts, 2);
    assert_eq!(log.take().len(), 2);
    let applied = h.snapshot(id);
    h.clock.advance(TimeDelta::minutes(5));
    h.enqueue(vec![
        receipt(&first, DeliveryStatus::Delivered),
        failure.clone(),
    ]);
    // The same twice in one drain, too.
    h.enqueue(vec![failure]);
    assert_eq!(h.drain(100).receipts, 3);
    assert_eq!(
        h.snapshot(id),
        applied,
        "the store is as the first time left it"
    );
    assert_eq!(log.take(), [], "and nothing is announced");
    assert_eq!(h.waiting(), 0);
}

#[test]
fn the_inbox_outlives_the_runtime() {
    let mut h = Harness::new();
    let id = h.launch(ONE_SEND, &PHONES[..1]);
    let first = first_provider_id(id, 0);
    h.enqueue(vec![receipt(&first, DeliveryStatus::Delivered)]);
    let Harness {
        runtime,
        store,
        clock,
    } = h;
    drop(runtime);
    let mut runtime = Runtime::open(
        store.clone(),
        Arc::new(clock.clone()),
        Arc::new(ScriptedProvider::new()),
        RuntimeConfig::default(),
    )
    .expect("reopen");
    assert_eq!(runtime.drain_inbox(10).expect("drain").receipts, 1);
    assert_eq!(
        store
            .message_by_provider_id(&first)
            .expect("read")
            .map(|m| m.status),
        Some(MessageStatus::Delivered)
    );
}

#[test]
fn an_inbound_message_retried_by_the_provider_is_taken_once() {
    let store = switchboard_runtime::store::Store::temporary().expect("store");
    let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    let reply = || switchboard_runtime::inbox::InboxEvent::Reply {
        provider: "mock".into(),
        provider_message_id: "in-1".into(),
        from: "+14165550101".into(),
        to: "+14165550100".into(),
        text: "YES".into(),
    };
    store.enqueue_inbox(vec![reply()], at).expect("first");
    store.enqueue_inbox(vec![reply()], at).expect("retry");
    assert_eq!(store.inbox_len().expect("len"), 1);
    // The retry can come within the same batch of webhooks (a writer gathers concurrent ones).
    let batched = switchboard_runtime::store::Store::temporary().expect("store");
    batched
        .enqueue_inbox_batch([(at, vec![reply()]), (at, vec![reply(), reply()])])
        .expect("batch");
    assert_eq!(batched.inbox_len().expect("len"), 1);
}
