//! What the daemon needs of the runtime beyond sending: delivery receipts, per-step message
//! statistics, live events, and routing to named provider instances. Real sled store
//! (temporary), real compiled workflows, scripted providers, a manual clock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use switchboard_runtime::delivery::{DeliveryStatus, DeliveryUpdate, Receipted};
use switchboard_runtime::events::{Observer, RuntimeEvent};
use switchboard_runtime::lifecycle::{CampaignState, LifecycleAction};
use switchboard_runtime::provider::{Provider, ProviderRouter, Script, ScriptedProvider};
use switchboard_runtime::records::{MessageRecord, MessageStatus, RecipientStatus};
use switchboard_runtime::stats::MessageStats;
use switchboard_runtime::store::Store;
use switchboard_runtime::{Clock, ManualClock, Runtime, RuntimeConfig};

fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 15, 0, 0)
        .single()
        .expect("valid instant")
}

const HEAD: &str = "kind: campaign\nid: t\nprovider: mock\nsender: \"+14165550100\"\nconsent: { acknowledged: true }\nquiet_hours: { override: true, reason: test }\nretry: { attempts: 3, backoff: 1m }\n";

/// Long enough for two segments.
const OFFER: &str = "We have a special offer for you this week: two for one on everything in the store, \
                     every day until Sunday, in every one of our shops and online. Terms apply. Reply STOP to opt out.";

struct Harness {
    runtime: Runtime,
    clock: ManualClock,
}

impl Harness {
    fn new(provider: Arc<dyn Provider>) -> Self {
        let clock = ManualClock::new(start_time());
        let store = Store::temporary().expect("store");
        let runtime = Runtime::open(
            store,
            Arc::new(clock.clone()),
            provider,
            RuntimeConfig::default(),
        )
        .expect("runtime");
        Self { runtime, clock }
    }

    fn launch(&mut self, workflow: &str, phones: &[&str]) -> u64 {
        let recipients = phones
            .iter()
            .map(|phone| (phone.to_string(), BTreeMap::new()));
        let id = self
            .runtime
            .create_campaign("receipts", workflow, recipients)
            .expect("create");
        self.runtime.start(id).expect("start");
        id
    }

    fn run_for(&mut self, hours: i64) {
        let clock = self.clock.clone();
        let until = clock.now() + TimeDelta::hours(hours);
        self.runtime
            .run_until(until, |at| clock.set(at))
            .expect("run");
    }

    fn messages(&self, id: u64) -> Vec<MessageRecord> {
        self.runtime
            .store()
            .messages(id)
            .collect::<Result<Vec<_>, _>>()
            .expect("messages")
    }

    /// The provider id of a recipient's accepted message of `step`.
    fn provider_id(&self, id: u64, recipient: u64, step: &str) -> String {
        self.messages(id)
            .into_iter()
            .find(|m| {
                m.outbound.recipient == recipient
                    && m.outbound.step_id == step
                    && m.provider_id.is_some()
            })
            .and_then(|m| m.provider_id)
            .expect("an accepted message")
    }

    fn recipient_status(&self, id: u64, recipient: u64) -> RecipientStatus {
        self.runtime
            .store()
            .run(id, recipient)
            .expect("read")
            .expect("run")
            .status
    }

    fn deliver(
        &mut self,
        provider_id: &str,
        status: DeliveryStatus,
    ) -> Option<(bool, Option<RecipientStatus>)> {
        self.runtime
            .apply_delivery(provider_id, DeliveryUpdate::new(status))
            .expect("apply")
            .and_then(Receipted::campaign)
            .map(|applied| (applied.changed, applied.recipient_status))
    }
}

/// The statistics a scan of the campaign's messages gives: what the counters must equal.
fn recount(messages: &[MessageRecord]) -> BTreeMap<String, MessageStats> {
    let mut stats: BTreeMap<String, MessageStats> = BTreeMap::new();
    for message in messages {
        let step = stats.entry(message.outbound.step_id.clone()).or_default();
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
    stats
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

#[test]
fn receipts_move_messages_recipients_and_statistics_forward_only() {
    let provider = Arc::new(ScriptedProvider::new());
    provider.script("+14165550003", Script::Permanent("21610".into()));
    provider.script("+14165550004", Script::TransientThen(1));
    let mut h = Harness::new(provider.clone());
    let workflow = format!(
        "{HEAD}steps:\n  - send: {{ id: welcome, text: \"Hi there\" }}\n  - send: {{ id: offer, text: \"{OFFER}\" }}\n"
    );
    let id = h.launch(
        &workflow,
        &[
            "+14165550001",
            "+14165550002",
            "+14165550003",
            "+14165550004",
        ],
    );
    h.run_for(2);
    assert_eq!(
        h.runtime.campaign(id).map(|c| c.state),
        Some(CampaignState::Completed)
    );

    // Accepted: welcome to 0, 1, 3 (after one transient failure), offer (2 segments) to the
    // same; 2 refused permanently.
    let store = h.runtime.store();
    assert_eq!(
        store.message_stats(id).expect("stats"),
        BTreeMap::from([
            ("offer".to_string(), stats(3, 0, 0, 6)),
            ("welcome".to_string(), stats(3, 0, 2, 3)),
        ])
    );
    assert_eq!(
        store.message_stats(id).expect("stats"),
        recount(&h.messages(id))
    );

    // An earlier message's receipt is not the recipient's news.
    let welcome_0 = h.provider_id(id, 0, "welcome");
    assert_eq!(
        h.deliver(&welcome_0, DeliveryStatus::Delivered),
        Some((true, None))
    );
    assert_eq!(h.recipient_status(id, 0), RecipientStatus::Sent);

    // The latest one's is; a repeat and late news change nothing.
    let offer_0 = h.provider_id(id, 0, "offer");
    assert_eq!(
        h.deliver(&offer_0, DeliveryStatus::Delivered),
        Some((true, Some(RecipientStatus::Delivered)))
    );
    assert_eq!(
        h.deliver(&offer_0, DeliveryStatus::Delivered),
        Some((false, None))
    );
    assert_eq!(
        h.deliver(&offer_0, DeliveryStatus::Sent),
        Some((false, None))
    );
    assert_eq!(h.recipient_status(id, 0), RecipientStatus::Delivered);

    // Undelivered is failed, with the carrier's words, for the message and the recipient.
    let offer_1 = h.provider_id(id, 1, "offer");
    let applied = h
        .runtime
        .apply_delivery(
            &offer_1,
            DeliveryUpdate {
                status: DeliveryStatus::Undelivered,
                error_code: Some("30003".into()),
                error_message: Some("Unreachable destination handset".into()),
            },
        )
        .expect("apply")
        .and_then(Receipted::campaign)
        .expect("a known message");
    assert_eq!(
        (
            applied.campaign,
            applied.recipient,
            applied.step_id.as_str(),
            applied.status
        ),
        (id, 1, "offer", MessageStatus::Failed)
    );
    assert_eq!(applied.recipient_status, Some(RecipientStatus::Failed));
    let run = h.runtime.store().run(id, 1).expect("read").expect("run");
    assert_eq!(run.reason.map(|r| r.code), Some("30003".to_string()));
    let message = h
        .messages(id)
        .into_iter()
        .find(|m| m.provider_id.as_deref() == Some(offer_1.as_str()))
        .expect("message");
    assert_eq!(
        (
            message.status,
            message.error.map(|e| e.code),
            message.status_at
        ),
        (
            MessageStatus::Failed,
            Some("30003".to_string()),
            Some(h.clock.now())
        )
    );
    // A failure is final.
    assert_eq!(
        h.deliver(&offer_1, DeliveryStatus::Delivered),
        Some((false, None))
    );

    // The retried welcome of 3 is delivered: its offer came after, so 3 stays sent.
    let welcome_3 = h.provider_id(id, 3, "welcome");
    assert_eq!(
        h.deliver(&welcome_3, DeliveryStatus::Delivered),
        Some((true, None))
    );
    assert_eq!(h.recipient_status(id, 3), RecipientStatus::Sent);

    assert_eq!(h.deliver("SM-not-ours", DeliveryStatus::Delivered), None);

    let store = h.runtime.store();
    assert_eq!(
        store.message_stats(id).expect("stats"),
        BTreeMap::from([
            ("offer".to_string(), stats(1, 1, 1, 6)),
            ("welcome".to_string(), stats(1, 2, 2, 3)),
        ])
    );
    assert_eq!(
        store.message_stats(id).expect("stats"),
        recount(&h.messages(id))
    );
    assert_eq!(
        store.counters(id).expect("counters"),
        BTreeMap::from([
            (RecipientStatus::Sent, 1),
            (RecipientStatus::Delivered, 1),
            (RecipientStatus::Failed, 2),
        ])
    );
}

#[test]
fn a_recipient_that_moved_on_keeps_its_status() {
    let mut h = Harness::new(Arc::new(ScriptedProvider::new()));
    let workflow = format!(
        "{HEAD}steps:\n  - send: {{ id: welcome, text: hi }}\n  - delay: 1d\n  - send: {{ id: later, text: again }}\n"
    );
    let id = h.launch(&workflow, &["+14165550001"]);
    h.run_for(1);
    assert_eq!(h.recipient_status(id, 0), RecipientStatus::Scheduled);
    let welcome = h.provider_id(id, 0, "welcome");
    assert_eq!(
        h.deliver(&welcome, DeliveryStatus::Delivered),
        Some((true, None))
    );
    assert_eq!(h.recipient_status(id, 0), RecipientStatus::Scheduled);
    h.run_for(48);
    let later = h.provider_id(id, 0, "later");
    assert_eq!(
        h.deliver(&later, DeliveryStatus::Failed),
        Some((true, Some(RecipientStatus::Failed)))
    );
    assert_eq!(
        h.runtime.store().message_stats(id).expect("stats"),
        BTreeMap::from([
            ("later".to_string(), stats(0, 0, 1, 1)),
            ("welcome".to_string(), stats(0, 1, 0, 1)),
        ])
    );
}

#[test]
fn responded_counts_recipients_who_replied_and_delete_removes_every_statistic() {
    let mut h = Harness::new(Arc::new(ScriptedProvider::new()));
    let workflow = format!(
        "{HEAD}steps:\n  - send: {{ id: ask, text: \"Interested?\" }}\n  - wait_reply: {{ timeout: 1d, save_as: answer }}\n  - send: {{ id: thanks, when: 'answer != ()', text: Thanks }}\n"
    );
    let id = h.launch(&workflow, &["+14165550001", "+14165550002", "+14165550003"]);
    h.run_for(1);
    assert_eq!(
        h.runtime
            .deliver_reply("+14165550001", "yes")
            .expect("reply"),
        1
    );
    assert_eq!(
        h.runtime
            .deliver_reply("+14165550002", "no")
            .expect("reply"),
        1
    );
    h.run_for(48);
    assert_eq!(h.runtime.store().responded(id).expect("responded"), 2);
    assert_eq!(
        h.runtime.store().message_stats(id).expect("stats"),
        BTreeMap::from([
            ("ask".to_string(), stats(3, 0, 0, 3)),
            ("thanks".to_string(), stats(2, 0, 0, 2)),
        ])
    );

    let thanks = h.provider_id(id, 0, "thanks");
    h.runtime.delete(id).expect("delete");
    let store = h.runtime.store();
    assert!(store.message_stats(id).expect("stats").is_empty());
    assert_eq!(store.responded(id).expect("responded"), 0);
    assert!(store.counters(id).expect("counters").is_empty());
    assert_eq!(
        h.deliver(&thanks, DeliveryStatus::Delivered),
        None,
        "its receipts are gone"
    );
}

/// Checks, as each event arrives, that the store already says what it says.
#[derive(Debug)]
struct CommittedObserver {
    store: Store,
    events: Mutex<Vec<RuntimeEvent>>,
    violations: Mutex<Vec<String>>,
}

impl CommittedObserver {
    fn check(&self, event: &RuntimeEvent) -> Result<(), String> {
        let fail = |what: String| Err(format!("{what} before its commit: {event:?}"));
        match event {
            RuntimeEvent::Conversation {
                conversation,
                state,
                ..
            } => {
                let stored = self
                    .store
                    .conversation(*conversation)
                    .map_err(|e| e.to_string())?;
                if stored.map(|c| c.state) != Some(*state) {
                    return fail("conversation state".into());
                }
            }
            RuntimeEvent::ConversationMessage { .. } => {}
            RuntimeEvent::Campaign {
                campaign, state, ..
            } => {
                let stored = self.store.campaign(*campaign).map_err(|e| e.to_string())?;
                if stored.map(|c| c.state) != Some(*state) {
                    return fail("campaign state".into());
                }
            }
            RuntimeEvent::Message {
                campaign,
                recipient,
                step_id,
                status,
                ..
            } => {
                let stored = self.store.message_records(*campaign, *recipient);
                if !stored
                    .iter()
                    .any(|m| m.outbound.step_id == *step_id && m.status == *status)
                {
                    return fail("message".into());
                }
            }
            RuntimeEvent::Recipient {
                campaign,
                recipient,
                status,
            } => {
                let run = self
                    .store
                    .run(*campaign, *recipient)
                    .map_err(|e| e.to_string())?;
                if run.map(|r| r.status) != Some(*status) {
                    return fail("recipient status".into());
                }
            }
        }
        Ok(())
    }
}

trait MessageRecords {
    /// A recipient's messages, answered or still with the provider.
    fn message_records(&self, campaign: u64, recipient: u64) -> Vec<MessageRecord>;
}

impl MessageRecords for Store {
    fn message_records(&self, campaign: u64, recipient: u64) -> Vec<MessageRecord> {
        let answered = self.messages(campaign).filter_map(Result::ok);
        let pending = self.pending_intents().unwrap_or_default();
        answered
            .chain(pending)
            .filter(|m| m.outbound.campaign == campaign && m.outbound.recipient == recipient)
            .collect()
    }
}

impl Observer for CommittedObserver {
    fn notify(&self, event: &RuntimeEvent) {
        if let Err(violation) = self.check(event)
            && let Ok(mut violations) = self.violations.lock()
        {
            violations.push(violation);
        }
        if let Ok(mut events) = self.events.lock() {
            events.push(event.clone());
        }
    }
}

#[test]
fn events_follow_their_commits() {
    let mut h = Harness::new(Arc::new(ScriptedProvider::new()));
    let observer = Arc::new(CommittedObserver {
        store: h.runtime.store().clone(),
        events: Mutex::new(Vec::new()),
        violations: Mutex::new(Vec::new()),
    });
    h.runtime.set_observer(observer.clone());
    let workflow = format!("{HEAD}steps:\n  - send: {{ id: welcome, text: hi }}\n");
    let id = h.launch(&workflow, &["+14165550001"]);
    h.run_for(1);
    let welcome = h.provider_id(id, 0, "welcome");
    h.deliver(&welcome, DeliveryStatus::Delivered);
    h.deliver(&welcome, DeliveryStatus::Delivered);
    h.runtime
        .act(id, LifecycleAction::Archive)
        .expect("archive");

    assert_eq!(
        observer
            .violations
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default(),
        Vec::<String>::new()
    );
    let at = start_time();
    let events = observer
        .events
        .lock()
        .map(|e| e.clone())
        .unwrap_or_default();
    let campaign = |state| RuntimeEvent::Campaign {
        campaign: id,
        state,
        at,
    };
    let message = |status, provider_id: Option<&String>| RuntimeEvent::Message {
        campaign: id,
        recipient: 0,
        step_id: "welcome".into(),
        status,
        provider_id: provider_id.cloned(),
        from: "+14165550100".into(),
        error: None,
        at,
    };
    let recipient = |status| RuntimeEvent::Recipient {
        campaign: id,
        recipient: 0,
        status,
    };
    assert_eq!(
        events,
        [
            campaign(CampaignState::Draft),
            campaign(CampaignState::Sending),
            message(MessageStatus::Sending, None),
            recipient(RecipientStatus::Sending),
            message(MessageStatus::Sent, Some(&welcome)),
            recipient(RecipientStatus::Sent),
            campaign(CampaignState::Completed),
            // The repeat of the receipt announces nothing.
            message(MessageStatus::Delivered, Some(&welcome)),
            recipient(RecipientStatus::Delivered),
            campaign(CampaignState::Archived),
        ]
    );
    let json = serde_json::to_value(&events[4]).expect("json");
    assert_eq!(json["type"], "message");
    assert_eq!(json["status"], "sent");
}

#[test]
fn each_message_goes_to_the_provider_instance_its_workflow_names() {
    let router = Arc::new(ProviderRouter::new());
    let main = Arc::new(ScriptedProvider::new());
    router.set("twilio-main", main.clone());
    let mut h = Harness::new(router.clone());
    let named = |provider: &str| {
        format!(
            "{}steps:\n  - send: hi\n",
            HEAD.replace("provider: mock", &format!("provider: {provider}"))
        )
    };
    let routed = h.launch(&named("twilio-main"), &["+14165550001"]);
    let waiting = h.launch(&named("twilio-backup"), &["+14165550002"]);
    h.run_for(0);
    assert_eq!(
        main.accepted()
            .iter()
            .map(|m| (m.to.as_str(), m.provider.as_str()))
            .collect::<Vec<_>>(),
        [("+14165550001", "twilio-main")]
    );
    assert_eq!(h.recipient_status(routed, 0), RecipientStatus::Sent);
    // No such instance: a transient failure, retried (the operator may add it).
    let failed = h.messages(waiting);
    assert_eq!(
        failed
            .first()
            .and_then(|m| m.error.as_ref())
            .map(|e| e.code.as_str()),
        Some("no-provider")
    );
    assert_eq!(h.recipient_status(waiting, 0), RecipientStatus::Scheduled);
    let backup = Arc::new(ScriptedProvider::new());
    router.set("twilio-backup", backup.clone());
    h.run_for(1);
    assert_eq!(backup.accepted().len(), 1);
    assert_eq!(h.recipient_status(waiting, 0), RecipientStatus::Sent);
}
