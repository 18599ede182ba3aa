//! Conversations in the runtime, on a manual clock: STOP suppresses queued sends of every
//! campaign and is confirmed once, a reply resumes its campaign recipient and lands in the
//! conversation, quiet hours hold an automatic reply, escalation re-routes only when no agent
//! replied, a question's answer is saved, a provider's opt-out code suppresses, and a message
//! interrupted inside the provider call is marked unknown, never sent again.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use switchboard_guidance::flow::FlowSet;
use switchboard_model::Workflow;
use switchboard_runtime::conversation::inbound::InboundMessage;
use switchboard_runtime::conversation::records::{Author, ConsentSource, OutboundMessage};
use switchboard_runtime::conversation::store::{Wake, WakeKind};
use switchboard_runtime::conversation::{
    ConversationRecord, ConversationState, EntryKind, OutboundStatus, TimelineEntry,
};
use switchboard_runtime::provider::{Script, ScriptedProvider};
use switchboard_runtime::records::RecipientStatus;
use switchboard_runtime::store::{Changes, Store};
use switchboard_runtime::{Clock, ManualClock, Runtime, RuntimeConfig};

const SENDER: &str = "+14165550100";
const ANA: &str = "+14165550001";
const BO: &str = "+14165550002";

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, h, m, 0)
        .single()
        .expect("valid instant")
}

struct Harness {
    runtime: Runtime,
    store: Store,
    clock: ManualClock,
    provider: Arc<ScriptedProvider>,
    inbound: u32,
}

/// A manual clock read with a constant sub-millisecond offset, as the system clock's
/// nanoseconds are: the engine's instants then fall between the milliseconds of timer keys.
#[derive(Debug)]
struct FineClock {
    manual: ManualClock,
    offset: TimeDelta,
}

impl Clock for FineClock {
    fn now(&self) -> DateTime<Utc> {
        self.manual.now() + self.offset
    }
}

impl Harness {
    fn new(now: DateTime<Utc>, flows: &[&str]) -> Self {
        Self::with_offset(now, flows, TimeDelta::zero())
    }

    /// A harness whose engine reads the clock `offset` (under a millisecond) late.
    fn with_offset(now: DateTime<Utc>, flows: &[&str], offset: TimeDelta) -> Self {
        let clock = ManualClock::new(now);
        let store = Store::temporary().expect("store");
        let provider = Arc::new(ScriptedProvider::new());
        let mut runtime = Runtime::open(
            store.clone(),
            Arc::new(FineClock {
                manual: clock.clone(),
                offset,
            }),
            provider.clone(),
            RuntimeConfig::default(),
        )
        .expect("runtime");
        let mut set = FlowSet::new();
        for source in flows {
            let report = switchboard_model::load_source("flow.yaml", source);
            let Some(Workflow::Conversation(flow)) = report.workflow else {
                panic!("not a conversation workflow: {:?}", report.diagnostics);
            };
            set.insert(Arc::new(*flow), 1).expect("compiles");
        }
        runtime.set_flows(Arc::new(set));
        Self {
            runtime,
            store,
            clock,
            provider,
            inbound: 0,
        }
    }

    fn campaign(&mut self, name: &str, steps: &str, phones: &[&str]) -> u64 {
        let source = format!(
            "kind: campaign\nid: {name}\nprovider: mock\nsender: \"{SENDER}\"\n\
             consent: {{ acknowledged: true }}\nrate: {{ per_minute: 1 }}\n\
             quiet_hours: {{ override: true, reason: test }}\nsteps:\n{steps}"
        );
        let recipients = phones
            .iter()
            .map(|phone| (phone.to_string(), BTreeMap::new()));
        let id = self
            .runtime
            .create_campaign(name, &source, recipients)
            .expect("create");
        self.runtime.start(id).expect("start");
        id
    }

    /// Does what is due up to `until`, moving the clock from wake-up to wake-up.
    fn run_until(&mut self, until: DateTime<Utc>) {
        let clock = self.clock.clone();
        self.runtime
            .run_until(until, |t| clock.set(t))
            .expect("run");
        if self.clock.now() < until {
            self.clock.set(until);
        }
        self.runtime.tick().expect("tick");
    }

    fn text(&mut self, from: &str, text: &str) -> u64 {
        self.inbound += 1;
        self.runtime
            .receive_message(InboundMessage {
                provider: "mock".into(),
                provider_message_id: format!("in-{}", self.inbound),
                from: from.into(),
                to: SENDER.into(),
                text: text.into(),
            })
            .expect("received")
            .conversation
    }

    fn conversation(&self, contact: &str) -> ConversationRecord {
        self.store
            .conversation_between(SENDER, contact)
            .expect("read")
            .expect("a conversation")
    }

    fn timeline(&self, contact: &str) -> Vec<TimelineEntry> {
        self.store.timeline(SENDER, contact).expect("timeline")
    }

    fn outbound(&self, contact: &str) -> Vec<OutboundMessage> {
        self.timeline(contact)
            .into_iter()
            .filter_map(|entry| match entry.kind {
                EntryKind::Outbound(message) => Some(message),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn stop_suppresses_queued_sends_of_every_campaign_and_is_confirmed_once() {
    let mut h = Harness::new(at(12, 0), &[]);
    // One message a minute from the shared sender: Ana and Bo wait their turn in both.
    let first = h.campaign("first", "  - send: Hello from the first\n", &[BO, ANA]);
    let second = h.campaign("second", "  - send: Hello from the second\n", &[BO, ANA]);
    h.run_until(at(12, 0));
    h.text(ANA, "Stop.");
    h.run_until(at(12, 10));
    for campaign in [first, second] {
        let run = h.store.run(campaign, 1).expect("read").expect("Ana's run");
        assert_eq!(run.status, RecipientStatus::OptedOut, "campaign {campaign}");
    }
    let to_ana: Vec<_> = h
        .provider
        .accepted()
        .into_iter()
        .filter(|m| m.to == ANA)
        .collect();
    assert_eq!(to_ana.len(), 1, "only the confirmation: {to_ana:?}");
    assert!(to_ana[0].body.contains("unsubscribed"));
    // A second STOP: no second confirmation; the history shows one opt-out.
    h.text(ANA, "STOP");
    h.run_until(at(12, 20));
    assert_eq!(h.provider.calls_to(ANA), 1);
    let history = h.store.consent_history(ANA).expect("history");
    assert_eq!(history.len(), 1);
    assert!(history[0].opted_out);
    // START resubscribes and is confirmed; Bo got both campaigns' messages meanwhile.
    h.text(ANA, "start");
    h.run_until(at(12, 30));
    assert!(!h.store.is_suppressed(ANA).expect("read"));
    assert_eq!(h.provider.calls_to(ANA), 2);
    assert_eq!(h.provider.calls_to(BO), 2);
}

#[test]
fn a_reply_resumes_its_recipient_and_joins_the_linked_conversation() {
    let mut h = Harness::new(at(12, 0), &[]);
    let id = h.campaign(
        "survey",
        "  - send: Coming on Friday? Reply YES or NO\n  - wait_reply: { timeout: 1d, save_as: answer }\n",
        &[ANA],
    );
    h.run_until(at(12, 1));
    h.text(ANA, "YES");
    h.run_until(at(12, 2));
    let run = h.store.run(id, 0).expect("read").expect("run");
    assert_eq!(
        run.vars.get("answer"),
        Some(&serde_json::Value::String("YES".into()))
    );
    let conversation = h.conversation(ANA);
    assert_eq!(
        conversation.campaign.map(|l| (l.campaign, l.recipient)),
        Some((id, 0))
    );
    let kinds: Vec<&str> = h
        .timeline(ANA)
        .iter()
        .map(|e| match e.kind {
            EntryKind::Campaign { .. } => "campaign",
            EntryKind::Inbound { .. } => "inbound",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["campaign", "inbound"]);
}

const ROUTE_AND_REPLY: &str = "kind: conversation\nid: support\ntrigger: { any: true }\nsteps:\n  - route: { queue: support, escalate_after: 15m, escalate_to: leads }\n  - reply: We got your message and will answer soon.\n";

#[test]
fn quiet_hours_hold_an_automatic_reply_until_the_contact_s_morning() {
    // 23:00 UTC is quiet for a contact in UTC (the default timezone): allowed 08:00-21:00.
    let mut h = Harness::new(at(23, 0), &[ROUTE_AND_REPLY]);
    h.text(BO, "Hello?");
    h.run_until(at(23, 30));
    let queued = h.outbound(BO);
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].status, OutboundStatus::Queued);
    let morning = at(8, 0) + TimeDelta::days(1);
    assert_eq!(queued[0].due_at, morning);
    assert_eq!(h.provider.calls_to(BO), 0);
    h.run_until(morning);
    assert_eq!(h.outbound(BO)[0].status, OutboundStatus::Sent);
}

#[test]
fn escalation_re_routes_only_when_no_agent_replied() {
    let mut h = Harness::new(at(12, 0), &[ROUTE_AND_REPLY]);
    let ana = h.text(ANA, "Help me with my order");
    let bo = h.text(BO, "Where is my parcel?");
    assert_eq!(h.conversation(ANA).queue.as_deref(), Some("support"));
    h.run_until(at(12, 5));
    assert!(h.conversation(BO).escalation.is_some(), "planned");
    h.runtime
        .agent_reply(bo, "dana", "It ships today.")
        .expect("reply");
    assert!(
        h.conversation(BO).escalation.is_none(),
        "an agent's reply ends the planned escalation"
    );
    h.run_until(at(12, 20));
    assert_eq!(
        h.conversation(ANA).queue.as_deref(),
        Some("leads"),
        "nobody answered Ana"
    );
    let bo_now = h.conversation(BO);
    assert_eq!(bo_now.queue.as_deref(), Some("support"));
    assert_eq!(bo_now.state, ConversationState::Assigned);
    assert_eq!(bo_now.assignee.as_deref(), Some("dana"));
    assert!(h.outbound(BO).iter().any(
        |m| matches!(&m.author, Author::Agent { agent } if agent == "dana")
            && m.status == OutboundStatus::Sent
    ));
    // Closing, then a new message reopens it.
    h.runtime.close_conversation(ana, "dana").expect("close");
    assert_eq!(h.conversation(ANA).state, ConversationState::Closed);
    h.text(ANA, "One more thing");
    assert_eq!(h.conversation(ANA).state, ConversationState::Open);
}

#[test]
fn a_question_s_answer_is_saved_and_a_bad_one_asked_again() {
    let flow = "kind: conversation\nid: size\ntrigger: { keywords: [quote] }\nsteps:\n  - ask:\n      question: How many seats?\n      save_as: seats\n      validate: 'answer.parse_int() > 0'\n      retry_text: A number, please.\n  - tag: sized\n";
    let mut h = Harness::new(at(12, 0), &[flow]);
    h.text(ANA, "Can I get a quote?");
    h.text(ANA, "lots");
    h.text(ANA, "12");
    h.run_until(at(12, 1));
    let conversation = h.conversation(ANA);
    assert_eq!(
        conversation.fields.get("seats"),
        Some(&serde_json::Value::String("12".into()))
    );
    assert_eq!(conversation.tags, ["sized"]);
    assert!(conversation.pending_ask.is_none());
    let texts: Vec<String> = h.outbound(ANA).into_iter().map(|m| m.text).collect();
    assert_eq!(texts, ["How many seats?", "A number, please."]);
}

#[test]
fn a_provider_opt_out_code_suppresses_the_number() {
    let mut h = Harness::new(at(12, 0), &[]);
    h.provider.script(ANA, Script::Permanent("21610".into()));
    h.campaign("notice", "  - send: Service notice\n", &[ANA]);
    h.run_until(at(12, 1));
    assert!(h.store.is_suppressed(ANA).expect("read"));
    let history = h.store.consent_history(ANA).expect("history");
    assert_eq!(history.len(), 1);
    assert!(history[0].detail.contains("21610"));
    // And an agent cannot write to the number any more.
    let id = h.text(ANA, "why?");
    assert!(matches!(
        h.runtime.agent_reply(id, "dana", "Sorry"),
        Err(switchboard_runtime::RuntimeError::OptedOut(_))
    ));
}

#[test]
fn a_message_interrupted_inside_the_provider_call_becomes_unknown() {
    let mut h = Harness::new(at(12, 0), &[]);
    let id = h.text(BO, "hi");
    // What a crash between the durable intent and the answer leaves: `sending`, woken.
    let entry = TimelineEntry {
        seq: 999,
        at: h.clock.now(),
        kind: EntryKind::Outbound(OutboundMessage {
            author: Author::Agent {
                agent: "dana".into(),
            },
            text: "On its way".into(),
            media: Vec::new(),
            status: OutboundStatus::Sending,
            due_at: h.clock.now(),
            provider_id: None,
            error: None,
            tries: 1,
        }),
    };
    let mut changes = Changes::new();
    changes.put_timeline(SENDER, BO, &entry);
    changes.put_wake(&Wake {
        at: h.clock.now(),
        conversation: id,
        kind: WakeKind::Send,
        seq: 999,
    });
    h.store.commit(changes).expect("commit");
    h.run_until(at(12, 1));
    assert_eq!(h.provider.calls_to(BO), 0, "never sent again blind");
    assert_eq!(h.outbound(BO)[0].status, OutboundStatus::Unknown);
}

#[test]
fn escalations_and_question_timeouts_happen_on_a_clock_finer_than_milliseconds() {
    // The system clock has nanoseconds; wake-up keys keep milliseconds. An escalation or a
    // question timeout planned at a sub-millisecond instant must still be recognised when its
    // wake-up comes back from the key (it once looked "replaced", and never happened).
    let flow = "kind: conversation\nid: sales\ntrigger: { keywords: [price] }\nsteps:\n  - route: { queue: sales, escalate_after: 15m, escalate_to: leads }\n  - ask: { question: How many seats?, save_as: seats, timeout: 10m }\n  - tag: asked\n";
    let mut h = Harness::with_offset(at(12, 0), &[flow], TimeDelta::nanoseconds(456_789));
    h.text(ANA, "What is the price?");
    assert!(h.conversation(ANA).pending_ask.is_some());
    h.run_until(at(12, 20));
    let conversation = h.conversation(ANA);
    assert_eq!(conversation.queue.as_deref(), Some("leads"), "escalated");
    assert!(conversation.escalation.is_none());
    assert!(conversation.pending_ask.is_none(), "the question timed out");
    assert_eq!(
        conversation.tags,
        ["asked"],
        "the flow went on after the ask"
    );
}

#[test]
fn a_number_twice_in_one_consent_batch_changes_once() {
    let mut h = Harness::new(at(12, 0), &[]);
    let rows = [ANA, BO, ANA].map(|phone| (phone.to_string(), String::new()));
    let summary = h
        .runtime
        .record_consents(&rows, true, ConsentSource::Api, "ops")
        .expect("recorded");
    assert_eq!((summary.changed, summary.unchanged), (2, 1));
    assert_eq!(h.store.consent_history(ANA).expect("history").len(), 2);
    let summary = h
        .runtime
        .record_consents(&rows, false, ConsentSource::Api, "ops")
        .expect("recorded");
    assert_eq!((summary.changed, summary.unchanged), (2, 1));
    assert!(!h.store.is_suppressed(ANA).expect("read"));
}

#[test]
fn closing_a_conversation_ends_its_pending_question() {
    let flow = "kind: conversation\nid: size\ntrigger: { keywords: [quote] }\nsteps:\n  - ask:\n      question: How many seats?\n      save_as: seats\n      timeout: 1h\n  - reply: Thanks, a quote follows.\n";
    let mut h = Harness::new(at(12, 0), &[flow]);
    let id = h.text(ANA, "Can I get a quote?");
    h.runtime.close_conversation(id, "dana").expect("close");
    assert!(h.conversation(ANA).pending_ask.is_none());
    // The next message is a new topic, and the question's timeout runs nothing.
    h.text(ANA, "12 of us, by the way");
    h.run_until(at(14, 0));
    let conversation = h.conversation(ANA);
    assert!(conversation.fields.is_empty(), "{:?}", conversation.fields);
    let texts: Vec<String> = h.outbound(ANA).into_iter().map(|m| m.text).collect();
    assert_eq!(texts, ["How many seats?"]);
}

#[test]
fn a_higher_priority_flow_s_route_is_not_overridden_by_a_lower_one() {
    let compliance = "kind: conversation\nid: careful\npriority: 100\ntrigger: { regex: '(?i)stop' }\nsteps:\n  - route: compliance\n";
    let sales = "kind: conversation\nid: sales\npriority: 10\ntrigger: { keywords: [price] }\nsteps:\n  - route: sales\n  - tag: pricing\n";
    let mut h = Harness::new(at(12, 0), &[sales, compliance]);
    h.text(ANA, "stop sending me the price list");
    let conversation = h.conversation(ANA);
    assert_eq!(conversation.queue.as_deref(), Some("compliance"));
    assert_eq!(
        conversation.tags,
        ["pricing"],
        "the lower flow's other steps still run"
    );
    assert!(h.timeline(ANA).iter().any(|e| matches!(&e.kind,
        EntryKind::Event { text } if text.contains("sales would route to sales; careful"))));
}

#[test]
fn replies_and_opt_outs_are_credited_to_the_step_sent_last() {
    let mut h = Harness::new(at(12, 0), &[]);
    let id = h.campaign(
        "drip",
        "  - send: { id: welcome, text: Coming on Friday? }\n\
         \x20 - wait_reply: { timeout: 1h }\n\
         \x20 - send: { id: follow-up, text: See you then }\n",
        &[ANA, BO],
    );
    h.run_until(at(12, 5));
    h.text(ANA, "yes");
    // STOP while waiting for a reply: credited at once (not when a later send would find the
    // number suppressed: that one is not counted again).
    h.text(BO, "STOP");
    h.run_until(at(14, 0));
    let bo = h.store.run(id, 1).expect("read").expect("Bo's run");
    assert_eq!(bo.status, RecipientStatus::OptedOut);
    assert_eq!(bo.opted_out_after.as_deref(), Some("welcome"));
    let reactions = h.store.reactions(id).expect("reactions");
    let welcome = reactions.get("welcome").copied().unwrap_or_default();
    assert_eq!(
        (welcome.replied, welcome.opted_out),
        (1, 1),
        "{reactions:?}"
    );
    assert!(!reactions.contains_key("follow-up"), "{reactions:?}");
    // STOP after the last message: credited to it.
    h.text(ANA, "STOP");
    let reactions = h.store.reactions(id).expect("reactions");
    let follow_up = reactions.get("follow-up").copied().unwrap_or_default();
    assert_eq!(
        (follow_up.replied, follow_up.opted_out),
        (0, 1),
        "{reactions:?}"
    );
    assert_eq!(h.store.responded(id).expect("responded"), 1);
}
