//! End-to-end tests of conversations, agent guidance and opt-out over HTTP, against the real
//! binary with the mock provider's signed webhooks (issue #7's "done when", one test each).
//!
//! Each test starts its own `switchboard run` on a loopback port with a temporary data
//! directory, copies the example workflows it needs from `workflows/` (read from disk, so the
//! examples themselves are exercised), and drives the daemon only over HTTP: the API, the
//! mock provider's webhooks (inbound messages and delivery receipts, signed with
//! `x-mock-token`), and the `/v1/events` stream. Every wait polls with a timeout.
//!
//! Quiet hours: the daemon's `quiet-hours` are set to none at all (`00:00`–`00:00`), because
//! automatic and agent replies are held until the contact's allowed hours, and the tests must
//! not depend on the time of day; campaign workflows lift them with an override and a reason.
//!
//! Set `SWITCHBOARD_TEST_LOG=1` to see the daemons' logs as the tests run; a failure prints
//! the log of the daemon concerned.

mod daemon_support;

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Timelike, Utc};

use daemon_support::{
    Config, Daemon, Site, SseEvent, count, error_code, example, expect_status, get_json,
    paced_notice, signed_webhook,
};
use serde_json::{Value, json};

/// The API token (the harness hands it to the daemon as `SWITCHBOARD_TEST_TOKEN`).
const TOKEN: &str = "e2e-conversations-5d1e";
/// What the mock provider's webhooks must carry in `x-mock-token`.
const HOOK_TOKEN: &str = "whsec-conversations-31";
/// Our number in tests without a campaign (contacts write to it).
const OUR_NUMBER: &str = "+14165550199";
/// The sender of `workflows/pbx-outage-notification.yaml`.
const OUTAGE_SENDER: &str = "+41415084545";
/// The answer to HELP, from the test config's `[compliance]`.
const HELP_TEXT: &str = "Switchboard tests: replies reach our support team. Reply STOP to opt out.";
/// Long enough for a loaded 2-core machine; every wait polls and returns as soon as it can.
const PATIENCE: Duration = Duration::from_secs(30);

/// The conversation workflows of `workflows/`.
const CONVERSATION_EXAMPLES: [&str; 3] = [
    "agent-guidance.yaml",
    "help-and-opt-out.yaml",
    "replies-to-outage.yaml",
];

// ---------------------------------------------------------------------------------------------
// Fixtures

/// Copies every conversation example (the daemon runs them all, as a deployment would).
fn conversation_examples(site: &Site) {
    for file in CONVERSATION_EXAMPLES {
        site.example(file);
    }
}

/// The config: the API behind the test token, one `mock` instance with the webhook token, no
/// quiet hours (see the module doc), and our own help text.
fn config() -> Config {
    config_with(r#"quiet-hours = { start = "00:00", end = "00:00" }"#)
}

/// The config with `top` (top-level keys) instead of "no quiet hours".
fn config_with(top: &str) -> Config {
    Config::new().top(top).help_text(HELP_TEXT).mock(HOOK_TOKEN)
}

// ---------------------------------------------------------------------------------------------
// Requests

/// A phone number in a URL (a bare `+` in a query string is a space).
fn url_phone(phone: &str) -> String {
    phone.replace('+', "%2B")
}

#[track_caller]
fn post_json(daemon: &Daemon, path: &str, body: &Value, status: u16) -> Value {
    let response = daemon.post_json(path, body);
    expect_status(daemon, &format!("POST {path}"), &response, status);
    response.json()
}

/// Creates a campaign of `workflow`, uploads `csv` and starts it; returns its id.
#[track_caller]
fn start_campaign(daemon: &Daemon, workflow: &str, csv: &str) -> u64 {
    let created = post_json(
        daemon,
        "/v1/campaigns",
        &json!({ "name": format!("Campaign of {workflow}"), "workflow": workflow }),
        201,
    );
    let id = created["id"].as_u64().expect("campaign id");
    let upload = daemon.call(
        "POST",
        &format!("/v1/campaigns/{id}/lists?filename=list.csv"),
        Some(("text/csv", csv.as_bytes())),
    );
    expect_status(daemon, "upload the list", &upload, 201);
    let started = daemon.call("POST", &format!("/v1/campaigns/{id}/start"), None);
    expect_status(daemon, "start the campaign", &started, 200);
    id
}

/// The mock's inbound message event.
fn inbound_event(id: &str, from: &str, to: &str, body: &str) -> Value {
    json!({ "type": "inbound", "provider-message-id": id, "from": from, "to": to, "body": body })
}

/// A contact's message, through the signed webhook.
#[track_caller]
fn text_in(daemon: &Daemon, id: &str, from: &str, to: &str, body: &str) {
    let answer = signed_webhook(daemon, HOOK_TOKEN, &inbound_event(id, from, to, body));
    assert_eq!(answer, json!({ "receipts": 0, "inbound": 1 }));
}

/// The one conversation with `contact`, once it exists.
fn conversation_with(daemon: &Daemon, contact: &str) -> Value {
    let page = daemon.wait_for(
        &format!("/v1/conversations?contact={}", url_phone(contact)),
        PATIENCE,
        |page| page["total"] == 1,
    );
    page["conversations"][0].clone()
}

fn conversation_path(conversation: &Value) -> String {
    format!(
        "/v1/conversations/{}",
        conversation["id"].as_u64().expect("conversation id")
    )
}

/// The conversation (with its timeline) once `check` holds.
fn wait_conversation(
    daemon: &Daemon,
    conversation: &Value,
    check: impl Fn(&Value) -> bool,
) -> Value {
    daemon.wait_for(&conversation_path(conversation), PATIENCE, check)
}

/// Timeline entries of one kind (`inbound`, `campaign`, `outbound`, `note`, `event`).
fn entries<'a>(conversation: &'a Value, kind: &str) -> Vec<&'a Value> {
    conversation["timeline"]
        .as_array()
        .map(|all| all.iter().filter(|e| e["kind"] == kind).collect())
        .unwrap_or_default()
}

/// The texts of the timeline's events ("routed to sales by ...").
fn event_texts(conversation: &Value) -> Vec<String> {
    entries(conversation, "event")
        .iter()
        .map(|e| e["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Outbound messages with this text.
fn outbound_with<'a>(conversation: &'a Value, text: &str) -> Vec<&'a Value> {
    entries(conversation, "outbound")
        .into_iter()
        .filter(|e| e["text"] == text)
        .collect()
}

/// Whether every outbound message of the conversation has left (`sent` or further).
fn all_sent(conversation: &Value) -> bool {
    entries(conversation, "outbound")
        .iter()
        .all(|e| e["status"] == "sent" || e["status"] == "delivered")
}

/// Sends an ordinary message and waits until the conversation has it: the inbox is applied
/// in arrival order, so whatever came before it (a provider's retries) has been applied too.
fn fence(daemon: &Daemon, conversation: &Value, from: &str, to: &str, id: &str) -> Value {
    let body = format!("fence {id}");
    text_in(daemon, id, from, to, &body);
    wait_conversation(daemon, conversation, |c| {
        entries(c, "inbound")
            .iter()
            .any(|e| e["text"] == body.as_str())
    })
}

/// A number's consent history.
fn consent(daemon: &Daemon, phone: &str) -> Value {
    get_json(daemon, &format!("/v1/suppressions/{}", url_phone(phone)))
}

// ---------------------------------------------------------------------------------------------
// 1. A reply resumes the campaign recipient waiting for it and joins the conversation

#[test]
fn a_reply_resumes_the_waiting_campaign_recipient_and_shows_in_the_conversation() {
    let site = Site::new("conv-campaign-reply", TOKEN);
    site.example("pbx-outage-notification.yaml");
    conversation_examples(&site);
    let daemon = site.start(&config());
    let mut events = daemon.events("/v1/events");

    let campaign = start_campaign(
        &daemon,
        "pbx-outage-notification",
        "phone,site\n+14165550101,Main St\n+14165550102,\n",
    );
    daemon.wait_for(&format!("/v1/campaigns/{campaign}"), PATIENCE, |c| {
        count(c, "sent") == 2
    });
    let waiting = get_json(&daemon, &format!("/v1/campaigns/{campaign}/recipients/0"));
    assert!(
        waiting["next_wake"].is_string(),
        "waiting for a reply: {waiting}"
    );
    assert_eq!(waiting["vars"], json!({}), "{waiting}");

    // A stream filtered on the campaign, too.
    let mut campaign_events = daemon.events(&format!("/v1/events?campaign={campaign}"));
    let contact = "+14165550101";
    let reply = "Our phones are still down at Main St";
    text_in(&daemon, "mock-in-outage-1", contact, OUTAGE_SENDER, reply);

    // The recipient's wait ends with the reply saved; `resolved` is skipped (it is only for
    // those who did not answer), so the recipient is done.
    let resumed = daemon.wait_for(
        &format!("/v1/campaigns/{campaign}/recipients/0"),
        PATIENCE,
        |r| r["responded"] == true && r["next_wake"].is_null(),
    );
    assert_eq!(resumed["vars"]["reply"], reply, "{resumed}");
    assert_eq!(resumed["sent"], 1, "only the notice went out: {resumed}");
    // The other recipient still waits.
    let other = get_json(&daemon, &format!("/v1/campaigns/{campaign}/recipients/1"));
    assert!(other["next_wake"].is_string(), "{other}");
    assert_eq!(other["responded"], false, "{other}");

    // The conversation: linked to the campaign recipient, routed by replies-to-outage.
    let listed = conversation_with(&daemon, contact);
    assert_eq!(listed["our_number"], OUTAGE_SENDER, "{listed}");
    assert_eq!(listed["provider"], "mock", "{listed}");
    assert_eq!(
        listed["campaign"],
        json!({ "campaign": campaign, "recipient": 0, "workflow_id": "pbx-outage-notification" }),
        "{listed}"
    );
    assert_eq!(listed["opted_out"], false, "{listed}");
    let by_campaign = get_json(&daemon, &format!("/v1/conversations?campaign={campaign}"));
    assert_eq!(by_campaign["total"], 1, "{by_campaign}");
    assert_eq!(by_campaign["conversations"][0]["id"], listed["id"]);

    let acknowledgment = "Thanks, a network engineer will get back to you shortly.";
    let conversation = wait_conversation(&daemon, &listed, |c| {
        outbound_with(c, acknowledgment)
            .first()
            .is_some_and(|e| e["status"] == "sent")
    });
    assert_eq!(conversation["queue"], "noc", "{conversation}");
    assert_eq!(conversation["state"], "open", "{conversation}");
    assert_eq!(conversation["opted_out"], Value::Null, "{conversation}");
    let timeline = conversation["timeline"].as_array().expect("timeline");
    let kinds: Vec<&str> = timeline
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default())
        .collect();
    // The campaign's message first, then the reply, then what the flow did.
    assert_eq!(kinds[..2], ["campaign", "inbound"], "{conversation}");
    let notice = &timeline[0];
    assert_eq!(notice["campaign"], campaign, "{notice}");
    assert_eq!(notice["recipient"], 0, "{notice}");
    assert_eq!(notice["step_id"], "outage-notice", "{notice}");
    assert_eq!(
        notice["text"],
        "Service notice: we are investigating an outage affecting Main St. Updates follow. Reply for help.",
        "{notice}"
    );
    assert_eq!(notice["status"], "sent", "{notice}");
    let inbound = &timeline[1];
    assert_eq!(inbound["text"], reply, "{inbound}");
    assert_eq!(inbound["provider_message_id"], "mock-in-outage-1");
    assert!(inbound.get("keyword").is_none(), "{inbound}");
    assert!(
        event_texts(&conversation)
            .iter()
            .any(|t| t == "routed to noc by outage-replies"),
        "{conversation}"
    );
    let ack = outbound_with(&conversation, acknowledgment);
    assert_eq!(ack.len(), 1, "{conversation}");
    assert_eq!(
        ack[0]["author"],
        json!({ "by": "flow", "workflow": "outage-replies" })
    );
    assert_eq!(
        conversation["guidance"],
        json!([{
            "workflow": "outage-replies",
            "text": "Customer replied to the outage notice. Check their site's status before answering.",
            "rank": 1,
        }]),
        "{conversation}"
    );

    // The live stream told of the conversation, with its campaign (so a campaign's filtered
    // stream shows it too).
    let seen = events.until(PATIENCE, |event: &SseEvent| {
        event.event == "conversation" && event.data["queue"] == "noc"
    });
    let announced = seen
        .iter()
        .find(|e| e.event == "conversation" && e.data["queue"] == "noc")
        .expect("a conversation event");
    assert_eq!(announced.data["type"], "conversation", "{announced:?}");
    assert_eq!(
        announced.data["conversation"], listed["id"],
        "{announced:?}"
    );
    assert_eq!(announced.data["contact"], contact, "{announced:?}");
    assert_eq!(announced.data["campaign"], campaign, "{announced:?}");
    assert_eq!(announced.data["state"], "open", "{announced:?}");
    campaign_events.until(PATIENCE, |event: &SseEvent| {
        event.event == "conversation" && event.data["conversation"] == listed["id"]
    });
}

// ---------------------------------------------------------------------------------------------
// 2. Agent guidance: suggestions, routing, escalation

#[test]
fn a_pricing_question_is_guided_routed_to_sales_and_escalated() {
    let site = Site::new("conv-guidance", TOKEN);
    conversation_examples(&site);
    // The daemon runs on the system clock (`switchboard run` has no option for the scaled
    // clock `switchboard demo` uses), so waiting out the example's 15 minutes is not an
    // option: the example is copied with only its escalation delay shortened to 2 seconds.
    let guidance = example("agent-guidance.yaml");
    assert!(
        guidance.contains("escalate_after: 15m"),
        "the example escalates after 15m:\n{guidance}"
    );
    site.workflow(
        "agent-guidance.yaml",
        &guidance.replace("escalate_after: 15m", "escalate_after: 2s"),
    );
    let daemon = site.start(&config());
    let mut events = daemon.events("/v1/events");

    let contact = "+14165550111";
    text_in(
        &daemon,
        "mock-in-pricing-1",
        contact,
        OUR_NUMBER,
        "how much does it cost?",
    );
    let listed = conversation_with(&daemon, contact);
    let question = "Thanks for asking! Roughly how many people would use it?";
    let conversation = wait_conversation(&daemon, &listed, |c| {
        outbound_with(c, question)
            .first()
            .is_some_and(|e| e["status"] == "sent")
    });

    // Ranked suggestions: the flow's rank 1, then the saved answer; the CRM hint is only for
    // contacts with a company.
    assert_eq!(
        conversation["guidance"],
        json!([
            {
                "workflow": "pricing-guidance",
                "text": "The contact asks about pricing. Confirm their team size before quoting.",
                "rank": 1,
            },
            {
                "workflow": "pricing-guidance",
                "text": "Send the pricing page and offer a call.",
                "answer": "Hi there, our plans are at https://example.com/pricing. Happy to walk you through them on a quick call?",
                "rank": 2,
            },
        ]),
        "{conversation}"
    );
    assert_eq!(conversation["suggestions"], conversation["guidance"]);
    assert_eq!(conversation["flags"], json!([]), "{conversation}");
    assert_eq!(
        conversation["pending_ask"]["save_as"], "team_size",
        "{conversation}"
    );
    let asked = outbound_with(&conversation, question);
    assert_eq!(
        asked[0]["author"],
        json!({ "by": "question", "workflow": "pricing-guidance" })
    );
    assert!(
        event_texts(&conversation)
            .iter()
            .any(|t| t == "routed to sales by pricing-guidance"),
        "{conversation}"
    );

    // No agent answers: after 2 s the conversation goes to the leads.
    let escalated = wait_conversation(&daemon, &listed, |c| c["queue"] == "sales-leads");
    assert_eq!(escalated["escalation"], Value::Null, "{escalated}");
    assert_eq!(escalated["state"], "open", "{escalated}");
    assert!(
        event_texts(&escalated)
            .iter()
            .any(|t| t == "escalated from sales to sales-leads: no agent replied in time"),
        "{escalated}"
    );
    let seen = events.until(PATIENCE, |event: &SseEvent| {
        event.event == "conversation" && event.data["what"] == "escalated"
    });
    let queues: Vec<&Value> = seen
        .iter()
        .filter(|e| e.event == "conversation" && e.data["conversation"] == listed["id"])
        .map(|e| &e.data["queue"])
        .collect();
    assert_eq!(
        queues.first().copied(),
        Some(&json!("sales")),
        "routed to sales first: {seen:#?}"
    );
    assert_eq!(queues.last().copied(), Some(&json!("sales-leads")));
    assert!(
        seen.iter()
            .any(|e| e.event == "conversation_message" && e.data["status"] == "sent"),
        "the question's send was announced: {seen:#?}"
    );

    // The contact answers the question: saved, and the flow goes on to its tag.
    text_in(&daemon, "mock-in-pricing-2", contact, OUR_NUMBER, "12");
    let answered = wait_conversation(&daemon, &listed, |c| c["fields"]["team_size"] == "12");
    assert_eq!(answered["pending_ask"], Value::Null, "{answered}");
    assert_eq!(answered["tags"], json!(["pricing"]), "{answered}");
    assert_eq!(answered["queue"], "sales-leads", "{answered}");
}

// ---------------------------------------------------------------------------------------------
// 3. An agent's reply goes out through the provider

#[test]
fn an_agent_reply_is_sent_and_its_receipt_moves_it_on() {
    let site = Site::new("conv-agent-reply", TOKEN);
    conversation_examples(&site);
    let daemon = site.start(&config());
    let mut events = daemon.events("/v1/events");

    let contact = "+14165550121";
    text_in(
        &daemon,
        "mock-in-quote-1",
        contact,
        OUR_NUMBER,
        "Could I get a quote for 20 seats?",
    );
    let listed = conversation_with(&daemon, contact);
    let path = conversation_path(&listed);
    let conversation = wait_conversation(&daemon, &listed, |c| {
        c["queue"] == "sales" && c["guidance"].as_array().is_some_and(|g| g.len() == 2)
    });
    // The agent sends the suggested answer as it is.
    let answer = conversation["guidance"][1]["answer"]
        .as_str()
        .expect("a saved answer")
        .to_string();

    let refused = daemon.post_json(
        &format!("{path}/reply"),
        &json!({ "agent": "ana", "text": "  " }),
    );
    expect_status(&daemon, "an empty reply", &refused, 422);
    assert_eq!(error_code(&daemon, &refused), "invalid");
    let nobody = daemon.post_json(
        "/v1/conversations/987654321/reply",
        &json!({ "agent": "ana", "text": "hello" }),
    );
    expect_status(&daemon, "a reply to no conversation", &nobody, 404);
    assert_eq!(error_code(&daemon, &nobody), "not_found");

    let queued = post_json(
        &daemon,
        &format!("{path}/reply"),
        &json!({ "agent": "ana", "text": answer }),
        202,
    );
    assert_eq!(queued["kind"], "outbound", "{queued}");
    assert_eq!(queued["author"], json!({ "by": "agent", "agent": "ana" }));
    assert_eq!(queued["text"], answer.as_str(), "{queued}");
    assert_eq!(queued["status"], "queued", "{queued}");
    assert_eq!(
        queued["due_at"], queued["at"],
        "no quiet hours: due at once: {queued}"
    );
    let seq = queued["seq"].clone();

    let entry_of = |conversation: &Value| -> Value {
        conversation["timeline"]
            .as_array()
            .and_then(|all| all.iter().find(|e| e["seq"] == seq))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let sent = wait_conversation(&daemon, &listed, |c| entry_of(c)["status"] == "sent");
    let entry = entry_of(&sent);
    let provider_id = entry["provider_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no provider id: {entry}"))
        .to_string();
    assert!(provider_id.starts_with("mock-"), "{entry}");
    assert_eq!(entry["tries"], 1, "{entry}");
    // Replying claimed the conversation.
    assert_eq!(sent["state"], "assigned", "{sent}");
    assert_eq!(sent["assignee"], "ana", "{sent}");
    assert!(sent["last_agent_reply_at"].is_string(), "{sent}");
    assert!(
        event_texts(&sent)
            .iter()
            .any(|t| t == "claimed by ana (replied)"),
        "{sent}"
    );
    let claimed = get_json(&daemon, "/v1/conversations?assignee=ana&state=assigned");
    assert_eq!(claimed["total"], 1, "{claimed}");

    // The carrier's receipt moves it on.
    let answer = signed_webhook(
        &daemon,
        HOOK_TOKEN,
        &json!([{ "type": "status", "provider-message-id": provider_id, "status": "delivered" }]),
    );
    assert_eq!(answer, json!({ "receipts": 1, "inbound": 0 }));
    let delivered = wait_conversation(&daemon, &listed, |c| entry_of(c)["status"] == "delivered");
    assert_eq!(entry_of(&delivered)["provider_id"], provider_id.as_str());
    // A late "sent" receipt does not move it back.
    signed_webhook(
        &daemon,
        HOOK_TOKEN,
        &json!({ "type": "status", "provider-message-id": provider_id, "status": "sent" }),
    );
    // (The fence is also the contact's answer to the flow's question: refused by its
    // `validate`, the question is asked again.)
    let fenced = fence(&daemon, &listed, contact, OUR_NUMBER, "mock-in-quote-fence");
    assert_eq!(entry_of(&fenced)["status"], "delivered", "{fenced}");

    let seen = events.until(PATIENCE, |event: &SseEvent| {
        event.event == "conversation_message" && event.data["seq"] == seq
    });
    assert!(
        seen.iter().any(|e| e.event == "conversation"
            && e.data["what"] == "agent_reply"
            && e.data["assignee"] == "ana"),
        "{seen:#?}"
    );

    // The rest of the agent's side: another agent cannot claim it, a supervisor can hand it
    // over; a note stays with the agents; closing it, and the contact's next message
    // reopens it.
    let taken = daemon.post_json(&format!("{path}/claim"), &json!({ "agent": "bo" }));
    expect_status(&daemon, "claim another agent's conversation", &taken, 409);
    assert_eq!(error_code(&daemon, &taken), "assigned_to_other");
    let handed = post_json(
        &daemon,
        &format!("{path}/assign"),
        &json!({ "agent": "bo", "by": "sam" }),
        200,
    );
    assert_eq!(handed["assignee"], "bo", "{handed}");
    let note = post_json(
        &daemon,
        &format!("{path}/notes"),
        &json!({ "agent": "bo", "text": "Wants a call on Monday." }),
        201,
    );
    assert_eq!(note["kind"], "note", "{note}");
    let closed = post_json(
        &daemon,
        &format!("{path}/close"),
        &json!({ "agent": "bo" }),
        200,
    );
    assert_eq!(closed["state"], "closed", "{closed}");
    assert!(
        outbound_with(&closed, "Wants a call on Monday.").is_empty(),
        "the note was not sent: {closed}"
    );
    assert_eq!(
        closed["pending_ask"],
        Value::Null,
        "the flow's question ends with the conversation: {closed}"
    );
    let sent_before = entries(&closed, "outbound").len();
    text_in(
        &daemon,
        "mock-in-quote-2",
        contact,
        OUR_NUMBER,
        "Monday works",
    );
    let reopened = wait_conversation(&daemon, &listed, |c| c["state"] == "open");
    assert_eq!(reopened["assignee"], Value::Null, "{reopened}");
    // A new topic: not an answer to the question asked before the close.
    assert_eq!(reopened["fields"], json!({}), "{reopened}");
    assert_eq!(reopened["tags"], json!([]), "{reopened}");
    assert_eq!(
        entries(&reopened, "outbound").len(),
        sent_before,
        "{reopened}"
    );
    assert!(
        event_texts(&reopened)
            .iter()
            .any(|t| t == "reopened by a new message from the contact"),
        "{reopened}"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. STOP suppresses the queued sends of every campaign; START restores

#[test]
fn stop_suppresses_queued_sends_of_two_campaigns_and_start_restores() {
    // Two campaigns, each from its own number, pacing one message every 5 s: the first
    // recipient is sent at once, the contact is queued behind them in both.
    const SENDER_A: &str = "+14165550190";
    const SENDER_B: &str = "+14165550191";
    let site = Site::new("conv-stop-start", TOKEN);
    conversation_examples(&site);
    site.workflow("paced-a.yaml", &paced_notice("paced-a", SENDER_A, 0.2));
    site.workflow("paced-b.yaml", &paced_notice("paced-b", SENDER_B, 0.2));
    let daemon = site.start(&config());

    let contact = "+14165550170";
    let a = start_campaign(
        &daemon,
        "paced-a",
        &format!("phone,name\n+14165550171,Ari\n{contact},Casey\n"),
    );
    let b = start_campaign(
        &daemon,
        "paced-b",
        &format!("phone,name\n+14165550172,Bo\n{contact},Casey\n"),
    );
    for campaign in [a, b] {
        daemon.wait_for(&format!("/v1/campaigns/{campaign}"), PATIENCE, |c| {
            count(c, "sent") == 1
        });
    }
    for campaign in [a, b] {
        let queued = get_json(&daemon, &format!("/v1/campaigns/{campaign}/recipients/1"));
        assert_eq!(
            queued["status"], "scheduled",
            "the test needs the contact still queued in campaign {campaign}: {queued}"
        );
        assert_eq!(queued["phone"], contact);
    }

    // STOP, to the number of campaign A.
    text_in(&daemon, "mock-in-stop-1", contact, SENDER_A, "Stop.");
    let history = daemon.wait_for(
        &format!("/v1/suppressions/{}", url_phone(contact)),
        PATIENCE,
        |h| h["opted_out"] == true,
    );
    let records = history["history"].as_array().expect("history");
    assert_eq!(records.len(), 1, "{history}");
    assert_eq!(records[0]["how"], "keyword", "{history}");
    assert_eq!(records[0]["detail"], "STOP", "{history}");
    assert_eq!(records[0]["who"], contact, "{history}");

    // Both queued sends are refused when their turn comes.
    for campaign in [a, b] {
        let recipient = daemon.wait_for(
            &format!("/v1/campaigns/{campaign}/recipients/1"),
            PATIENCE,
            |r| r["status"] == "opted_out",
        );
        assert_eq!(recipient["reason"]["code"], "opted-out", "{recipient}");
        assert_eq!(
            recipient["messages"],
            json!([]),
            "nothing went to the contact: {recipient}"
        );
        assert_eq!(recipient["sent"], 0, "{recipient}");
        let done = daemon.wait_for(&format!("/v1/campaigns/{campaign}"), PATIENCE, |c| {
            c["state"] == "completed"
        });
        assert_eq!(
            done["counts"],
            json!({ "sent": 1, "opted_out": 1 }),
            "{done}"
        );
        let stats = get_json(&daemon, &format!("/v1/campaigns/{campaign}/stats"));
        assert_eq!(
            stats["sent"], 1,
            "only the first recipient's message: {stats}"
        );
    }

    // One conversation: the STOP and its one confirmation (the only message to the contact).
    let listed = conversation_with(&daemon, contact);
    assert_eq!(listed["our_number"], SENDER_A, "{listed}");
    assert_eq!(listed["opted_out"], true, "{listed}");
    let opt_out_confirmation =
        "You are unsubscribed and will receive no more messages. Reply START to resubscribe.";
    let conversation = wait_conversation(&daemon, &listed, |c| {
        outbound_with(c, opt_out_confirmation)
            .first()
            .is_some_and(|e| e["status"] == "sent")
    });
    assert_eq!(
        conversation["opted_out"]["how"], "keyword",
        "{conversation}"
    );
    let inbound = entries(&conversation, "inbound");
    assert_eq!(inbound.len(), 1, "{conversation}");
    assert_eq!(inbound[0]["keyword"], "STOP", "{conversation}");
    assert_eq!(entries(&conversation, "campaign"), Vec::<&Value>::new());
    let outbound = entries(&conversation, "outbound");
    assert_eq!(outbound.len(), 1, "one confirmation: {conversation}");
    assert_eq!(outbound[0]["author"], json!({ "by": "compliance" }));
    assert!(
        event_texts(&conversation)
            .iter()
            .any(|t| t == "opted out by texting STOP: suppressed for every campaign"),
        "{conversation}"
    );

    // A second STOP: no second confirmation, no second opt-out record.
    text_in(&daemon, "mock-in-stop-2", contact, SENDER_A, "STOP");
    let again = wait_conversation(&daemon, &listed, |c| entries(c, "inbound").len() == 2);
    assert_eq!(entries(&again, "outbound").len(), 1, "{again}");
    assert_eq!(
        consent(&daemon, contact)["history"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // START resubscribes, with its confirmation.
    text_in(&daemon, "mock-in-start-1", contact, SENDER_A, "start");
    let opt_in_confirmation = "You are resubscribed. Reply STOP to unsubscribe, HELP for help.";
    let restored = wait_conversation(&daemon, &listed, |c| {
        outbound_with(c, opt_in_confirmation)
            .first()
            .is_some_and(|e| e["status"] == "sent")
    });
    assert_eq!(restored["opted_out"], Value::Null, "{restored}");
    let history = consent(&daemon, contact);
    assert_eq!(history["opted_out"], false, "{history}");
    let steps: Vec<(Value, Value, Value)> = history["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|r| {
            (
                r["opted_out"].clone(),
                r["how"].clone(),
                r["detail"].clone(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            (json!(true), json!("keyword"), json!("STOP")),
            (json!(false), json!("keyword"), json!("START")),
        ],
        "{history}"
    );
    let suppressed = get_json(&daemon, "/v1/suppressions");
    assert_eq!(suppressed["suppressions"], json!([]), "{suppressed}");

    // The provider retries the START, and the contact says START again once subscribed (an
    // ordinary message then): still one confirmation.
    signed_webhook(
        &daemon,
        HOOK_TOKEN,
        &inbound_event("mock-in-start-1", contact, SENDER_A, "start"),
    );
    text_in(&daemon, "mock-in-start-2", contact, SENDER_A, "START");
    let fenced = fence(&daemon, &listed, contact, SENDER_A, "mock-in-start-fence");
    assert_eq!(
        outbound_with(&fenced, opt_in_confirmation).len(),
        1,
        "{fenced}"
    );
    assert_eq!(outbound_with(&fenced, opt_out_confirmation).len(), 1);
    let inbound: Vec<&Value> = entries(&fenced, "inbound");
    assert_eq!(inbound.len(), 5, "the retry is not a new message: {fenced}");
    assert_eq!(inbound[3]["text"], "START", "{fenced}");
    assert!(
        inbound[3].get("keyword").is_none(),
        "START from a subscribed number is no keyword: {fenced}"
    );
    assert_eq!(
        consent(&daemon, contact)["history"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Stopping mentioned in a sentence is flagged, not acted on

#[test]
fn stop_inside_a_sentence_is_flagged_for_compliance_not_suppressed() {
    let site = Site::new("conv-possible-opt-out", TOKEN);
    conversation_examples(&site);
    let daemon = site.start(&config());

    let contact = "+14165550131";
    text_in(
        &daemon,
        "mock-in-work-1",
        contact,
        OUR_NUMBER,
        "please stop calling me at work",
    );
    let listed = conversation_with(&daemon, contact);
    let conversation = wait_conversation(&daemon, &listed, |c| c["queue"] == "compliance");
    assert_eq!(
        conversation["flags"],
        json!(["possible-opt-out"]),
        "{conversation}"
    );
    assert_eq!(
        conversation["tags"],
        json!(["possible-opt-out"]),
        "{conversation}"
    );
    assert_eq!(conversation["opted_out"], Value::Null, "{conversation}");
    assert_eq!(
        conversation["guidance"],
        json!([{
            "workflow": "possible-opt-out",
            "text": "The contact may want to stop receiving messages. Confirm before sending anything else.",
            "answer": "Sorry for the trouble. Reply STOP and you will not hear from us again, or tell us what you would prefer.",
            "rank": 1,
        }]),
        "{conversation}"
    );
    let inbound = entries(&conversation, "inbound");
    assert!(inbound[0].get("keyword").is_none(), "{conversation}");
    assert!(
        event_texts(&conversation)
            .iter()
            .any(|t| t.starts_with("the message mentions stopping")),
        "{conversation}"
    );
    assert_eq!(
        entries(&conversation, "outbound"),
        Vec::<&Value>::new(),
        "no confirmation, no automatic answer: {conversation}"
    );

    // Nothing was suppressed: the number has no consent record and may be answered.
    let history = consent(&daemon, contact);
    assert_eq!(history["opted_out"], false, "{history}");
    assert_eq!(history["history"], json!([]), "{history}");
    let path = conversation_path(&listed);
    let sorry = conversation["guidance"][0]["answer"].clone();
    post_json(
        &daemon,
        &format!("{path}/reply"),
        &json!({ "agent": "compliance-desk", "text": sorry }),
        202,
    );
    let answered = wait_conversation(&daemon, &listed, all_sent);
    assert_eq!(entries(&answered, "outbound").len(), 1, "{answered}");
}

// ---------------------------------------------------------------------------------------------
// 6. HELP is answered once, whatever the provider retries

#[test]
fn help_is_answered_once_even_when_the_provider_retries_the_webhook() {
    let site = Site::new("conv-help", TOKEN);
    conversation_examples(&site);
    let daemon = site.start(&config());

    let contact = "+14165550141";
    let help = inbound_event("mock-in-help-1", contact, OUR_NUMBER, "help");
    assert_eq!(
        signed_webhook(&daemon, HOOK_TOKEN, &help),
        json!({ "receipts": 0, "inbound": 1 })
    );
    // The provider did not get (or did not believe) the answer and retries; then again with
    // the event twice in one body.
    signed_webhook(&daemon, HOOK_TOKEN, &help);
    signed_webhook(&daemon, HOOK_TOKEN, &json!([help, help]));

    let listed = conversation_with(&daemon, contact);
    let conversation = fence(&daemon, &listed, contact, OUR_NUMBER, "mock-in-help-fence");
    let conversation = wait_conversation(&daemon, &conversation, all_sent);
    let inbound = entries(&conversation, "inbound");
    assert_eq!(
        inbound.len(),
        2,
        "the HELP once, then the fence: {conversation}"
    );
    assert_eq!(inbound[0]["keyword"], "HELP", "{conversation}");
    let answers = outbound_with(&conversation, HELP_TEXT);
    assert_eq!(answers.len(), 1, "{conversation}");
    assert_eq!(answers[0]["author"], json!({ "by": "compliance" }));
    assert_eq!(answers[0]["status"], "sent", "{conversation}");
    assert_eq!(
        entries(&conversation, "outbound").len(),
        1,
        "nothing but the help text: {conversation}"
    );
    // HELP suppresses nothing and starts no flow.
    assert_eq!(consent(&daemon, contact)["opted_out"], false);
    assert_eq!(conversation["queue"], Value::Null, "{conversation}");
}

// ---------------------------------------------------------------------------------------------
// 7. Nothing may be sent to an opted-out contact, not even by an agent

#[test]
fn an_agent_reply_to_an_opted_out_contact_is_refused() {
    let site = Site::new("conv-opted-out-reply", TOKEN);
    conversation_examples(&site);
    let daemon = site.start(&config());

    // Opted out by keyword.
    let texted = "+14165550151";
    text_in(&daemon, "mock-in-quit-1", texted, OUR_NUMBER, "QUIT");
    let listed = conversation_with(&daemon, texted);
    let conversation = wait_conversation(&daemon, &listed, |c| c["opted_out"].is_object());
    let refused = daemon.post_json(
        &format!("{}/reply", conversation_path(&conversation)),
        &json!({ "agent": "ana", "text": "Are you sure?" }),
    );
    expect_status(&daemon, "a reply to an opted-out contact", &refused, 409);
    assert_eq!(error_code(&daemon, &refused), "opted_out");
    let after = wait_conversation(&daemon, &listed, all_sent);
    let outbound = entries(&after, "outbound");
    assert_eq!(outbound.len(), 1, "only the opt-out confirmation: {after}");
    assert_eq!(outbound[0]["author"], json!({ "by": "compliance" }));
    assert_eq!(
        after["assignee"],
        Value::Null,
        "a refused reply claims nothing: {after}"
    );

    // Opted out by API, then a conversation started by an agent.
    let suppressed = "+14165550152";
    post_json(
        &daemon,
        "/v1/suppressions",
        &json!({ "phones": [suppressed], "who": "ops@example.com", "detail": "asked by phone" }),
        200,
    );
    let started = post_json(
        &daemon,
        "/v1/conversations",
        &json!({ "contact": "(416) 555-0152", "from": OUR_NUMBER }),
        201,
    );
    assert_eq!(started["contact"], suppressed, "{started}");
    assert_eq!(started["opted_out"]["how"], "api", "{started}");
    let path = conversation_path(&started);
    let refused = daemon.post_json(
        &format!("{path}/reply"),
        &json!({ "agent": "ana", "text": "Hello!" }),
    );
    expect_status(&daemon, "a reply to a suppressed number", &refused, 409);
    assert_eq!(error_code(&daemon, &refused), "opted_out");

    // Taken off the list (the contact asked another way): the reply goes.
    let removed = daemon.call(
        "DELETE",
        &format!(
            "/v1/suppressions/{}?who=ops%40example.com",
            url_phone(suppressed)
        ),
        None,
    );
    expect_status(&daemon, "opt in by API", &removed, 200);
    post_json(
        &daemon,
        &format!("{path}/reply"),
        &json!({ "agent": "ana", "text": "Hello!" }),
        202,
    );
    let sent = daemon.wait_for(&path, PATIENCE, |c| {
        entries(c, "outbound").len() == 1 && all_sent(c)
    });
    assert_eq!(sent["opted_out"], Value::Null, "{sent}");
}

// ---------------------------------------------------------------------------------------------
// 8. The suppression list's API

#[test]
fn the_suppression_list_is_added_to_imported_exported_and_taken_off() {
    let site = Site::new("conv-suppressions", TOKEN);
    let daemon = site.start(&config());

    // Added by API; what is not a number is refused with its position.
    let added = post_json(
        &daemon,
        "/v1/suppressions",
        &json!({
            "phones": ["+14165550161", "416 555 0162", "not a number", "(416) 555-0161"],
            "who": "ops@example.com",
            "detail": "asked by email",
        }),
        200,
    );
    // The same number twice (written two ways) changes once.
    assert_eq!(added["changed"], 2, "{added}");
    assert_eq!(added["unchanged"], 1, "{added}");
    let rejected = added["rejected"].as_array().expect("rejected");
    assert_eq!(rejected.len(), 1, "{added}");
    assert_eq!(rejected[0]["line"], 3, "{added}");
    assert_eq!(rejected[0]["value"], "not a number", "{added}");
    assert!(rejected[0]["error"].is_string(), "{added}");
    let again = post_json(
        &daemon,
        "/v1/suppressions",
        &json!({ "phones": ["+14165550161"], "who": "ops@example.com" }),
        200,
    );
    assert_eq!(
        (again["changed"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(1))
    );
    let nobody = daemon.post_json(
        "/v1/suppressions",
        &json!({ "phones": ["+14165550169"], "who": " " }),
    );
    expect_status(&daemon, "a change without who", &nobody, 400);
    assert_eq!(error_code(&daemon, &nobody), "bad_request");

    // A CSV import: the bad row is rejected with its line (the header is line 1).
    // Lines as an editor shows them: a quoted value over two lines, a blank line.
    let csv = "phone,detail\n\
               +14165550163,paper form\n\
               \"call me\n\
               later\",oops\n\
               \n\
               416-555-0164,\n\
               bogus,oops\n";
    let imported = daemon.call(
        "POST",
        "/v1/suppressions/import?who=dnc-list.csv",
        Some(("text/csv", csv.as_bytes())),
    );
    expect_status(&daemon, "a suppression import", &imported, 200);
    let imported = imported.json();
    assert_eq!(imported["changed"], 2, "{imported}");
    assert_eq!(
        imported["rejected"].as_array().map(|r| r
            .iter()
            .map(|r| (r["line"].clone(), r["value"].clone()))
            .collect::<Vec<_>>()),
        Some(vec![
            (json!(3), json!("call me\nlater")),
            (json!(7), json!("bogus"))
        ]),
        "{imported}"
    );
    let no_phone = daemon.call(
        "POST",
        "/v1/suppressions/import?who=x.csv",
        Some(("text/csv", b"number\n+14165550165\n".as_slice())),
    );
    expect_status(&daemon, "an import without a phone column", &no_phone, 400);
    assert_eq!(error_code(&daemon, &no_phone), "bad_request");

    // The export, as JSON and as CSV.
    let exported = get_json(&daemon, "/v1/suppressions");
    let list = exported["suppressions"].as_array().expect("suppressions");
    let summary: Vec<(String, String, String, String)> = list
        .iter()
        .map(|r| {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
            (
                text(&r["phone"]),
                text(&r["how"]),
                text(&r["who"]),
                text(&r["detail"]),
            )
        })
        .collect();
    let row = |phone: &str, how: &str, who: &str, detail: &str| {
        (
            phone.to_string(),
            how.to_string(),
            who.to_string(),
            detail.to_string(),
        )
    };
    assert_eq!(
        summary,
        [
            row("+14165550161", "api", "ops@example.com", ""),
            row("+14165550162", "api", "ops@example.com", "asked by email"),
            row("+14165550163", "import", "dnc-list.csv", "paper form"),
            row("+14165550164", "import", "dnc-list.csv", ""),
        ],
        "the latest opt-out of each number: {exported}"
    );
    assert!(list.iter().all(|r| r["opted_out"] == true), "{exported}");
    let csv = daemon.get("/v1/suppressions?format=csv");
    expect_status(&daemon, "the CSV export", &csv, 200);
    assert!(
        csv.header("content-type")
            .is_some_and(|t| t.starts_with("text/csv")),
        "{:?}",
        csv.headers
    );
    let csv = csv.text();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5, "{csv}");
    assert_eq!(lines[0], "phone,at,how,who,detail");
    assert!(lines[3].starts_with("+14165550163,"), "{csv}");
    assert!(
        lines[3].ends_with(",import,dnc-list.csv,paper form"),
        "{csv}"
    );
    let xml = daemon.get("/v1/suppressions?format=xml");
    expect_status(&daemon, "an export as XML", &xml, 400);

    // Taken off the list by API: an opt-in in the number's history.
    let removed = daemon.call(
        "DELETE",
        "/v1/suppressions/%2B14165550161?who=ops%40example.com",
        None,
    );
    expect_status(&daemon, "DELETE a suppression", &removed, 200);
    assert_eq!(removed.json()["changed"], 1);
    let history = consent(&daemon, "+14165550161");
    assert_eq!(history["opted_out"], false, "{history}");
    let steps: Vec<(Value, Value)> = history["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|r| (r["opted_out"].clone(), r["how"].clone()))
        .collect();
    assert_eq!(
        steps,
        [
            (json!(true), json!("api")),
            (json!(true), json!("api")),
            (json!(true), json!("api")),
            (json!(false), json!("api")),
        ],
        "{history}"
    );
    let twice = daemon.call(
        "DELETE",
        "/v1/suppressions/%2B14165550161?who=ops%40example.com",
        None,
    );
    expect_status(&daemon, "DELETE a number not on the list", &twice, 404);
    assert_eq!(error_code(&daemon, &twice), "not_found");
    let bad = daemon.get("/v1/suppressions/call-me");
    expect_status(&daemon, "the history of no number", &bad, 400);
    let exported = get_json(&daemon, "/v1/suppressions");
    assert_eq!(exported["suppressions"].as_array().map(Vec::len), Some(3));

    // Without the token: refused, and nothing changes.
    for (method, path, body) in [
        ("GET", "/v1/suppressions", None),
        ("GET", "/v1/suppressions?format=csv", None),
        ("GET", "/v1/suppressions/%2B14165550162", None),
        (
            "POST",
            "/v1/suppressions",
            Some(br#"{"phones":["+14165550168"],"who":"intruder"}"#.as_slice()),
        ),
        (
            "POST",
            "/v1/suppressions/import?who=intruder",
            Some(b"phone\n+14165550168\n".as_slice()),
        ),
        (
            "DELETE",
            "/v1/suppressions/%2B14165550162?who=intruder",
            None,
        ),
    ] {
        let content_type = if path.contains("import") {
            "text/csv"
        } else {
            "application/json"
        };
        let refused = daemon.raw(method, path, &[], body.map(|b| (content_type, b)));
        expect_status(
            &daemon,
            &format!("{method} {path} without a token"),
            &refused,
            401,
        );
        assert_eq!(error_code(&daemon, &refused), "unauthorized");
    }
    let exported = get_json(&daemon, "/v1/suppressions");
    assert_eq!(exported["suppressions"].as_array().map(Vec::len), Some(3));
    assert_eq!(consent(&daemon, "+14165550168")["history"], json!([]));
}

// ---------------------------------------------------------------------------------------------
// 9. Quiet hours hold automatic and agent replies, not the compliance answers

#[test]
fn quiet_hours_hold_automatic_and_agent_replies_but_not_the_help_answer() {
    // The daemon's default quiet hours (21:00-08:00), and a default timezone picked so that it
    // is 02:xx there now: inside quiet hours whatever the time of day the test runs, with
    // hours to spare before they end.
    let now = Utc::now();
    let offset = (2 - now.hour() as i32 + 36).rem_euclid(24) - 12; // -12..=11
    // `Etc/GMT-3` is three hours *ahead* of UTC.
    let zone = match offset {
        0 => "Etc/GMT".to_string(),
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    };
    let local = now + TimeDelta::hours(i64::from(offset));
    assert_eq!(local.hour(), 2, "offset {offset} for {now}");
    let site = Site::new("conv-quiet-hours", TOKEN);
    conversation_examples(&site);
    let daemon = site.start(&config_with(&format!("default-timezone = \"{zone}\"")));

    let contact = "+14165550181";
    text_in(
        &daemon,
        "mock-in-night-1",
        contact,
        OUR_NUMBER,
        "how much does it cost?",
    );
    let listed = conversation_with(&daemon, contact);
    let path = conversation_path(&listed);
    let question = "Thanks for asking! Roughly how many people would use it?";
    let asked = wait_conversation(&daemon, &listed, |c| !outbound_with(c, question).is_empty());
    let held = outbound_with(&asked, question)[0].clone();
    let morning = |entry: &Value| -> DateTime<Utc> {
        entry["due_at"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("no due_at: {entry}"))
    };
    let due = morning(&held);
    let due_local = due + TimeDelta::hours(i64::from(offset));
    assert_eq!(
        (due_local.hour(), due_local.minute(), due_local.second()),
        (8, 0, 0),
        "held until 08:00 in {zone}: {held}"
    );
    assert!(due > now + TimeDelta::hours(5), "{held}");

    let reply = post_json(
        &daemon,
        &format!("{path}/reply"),
        &json!({ "agent": "night-shift", "text": "We'll text you in the morning." }),
        202,
    );
    assert_eq!(reply["status"], "queued", "{reply}");
    assert_eq!(
        morning(&reply),
        due,
        "the agent's reply waits as long: {reply}"
    );

    // HELP is answered at once, quiet hours or not; the others are still held after it.
    text_in(&daemon, "mock-in-night-2", contact, OUR_NUMBER, "HELP");
    let answered = wait_conversation(&daemon, &listed, |c| {
        outbound_with(c, HELP_TEXT)
            .first()
            .is_some_and(|e| e["status"] == "sent")
    });
    for text in [question, "We'll text you in the morning."] {
        let entry = outbound_with(&answered, text);
        assert_eq!(entry.len(), 1, "{answered}");
        assert_eq!(entry[0]["status"], "queued", "{answered}");
        assert!(entry[0].get("provider_id").is_none(), "{answered}");
    }
}
