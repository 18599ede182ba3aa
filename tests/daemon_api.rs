//! End-to-end tests of `switchboard run`: the real binary on a loopback port, driven only over
//! HTTP (the API, the provider webhooks, the event stream, the metrics), with the bundled
//! `mock` provider plugin. Each test has its own directory: config, workflows, data.
//!
//! Set `SWITCHBOARD_TEST_LOG=1` to see the daemons' logs as the tests run; a failure prints
//! the log of the daemon concerned.

mod daemon_support;

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use daemon_support::{
    Config, Daemon, Response, Site, SseEvent, campaign_head, count, error_code, exchange,
    expect_status, get_json, header, log_with, recipients_csv, timestamp, webhook,
};
use serde_json::{Value, json};

/// The API token (the harness hands it to the daemon as `SWITCHBOARD_TEST_TOKEN`).
const TOKEN: &str = "e2e-token-3f9c1a";
/// What the mock provider's webhooks must carry in `x-mock-token`.
const HOOK_TOKEN: &str = "whsec-e2e-77";
/// The workflows' sender number (inbound replies are addressed to it).
const SENDER: &str = "+14165550199";
/// Long enough for a loaded 2-core machine; every wait polls and returns as soon as it can.
const PATIENCE: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Fixtures

/// A config: the API behind the test token, one `mock` instance with the webhook token.
fn config() -> Config {
    Config::new().mock(HOOK_TOKEN)
}

/// The parts every test workflow shares (the quiet hours lifted: the tests send at any hour).
fn workflow_head(id: &str, tags: &str, per_second: u32) -> String {
    campaign_head(
        id,
        &format!("End-to-end {id}"),
        &format!("tags: [{tags}]\n"),
        SENDER,
        f64::from(per_second),
    )
}

/// A reminder, a wait for the answer (saved as `answer`), then a confirmation or a nudge.
/// Recipients stay in the wait for two hours, so a campaign of it keeps sending.
fn reminders(id: &str, greeting: &str) -> String {
    workflow_head(id, "e2e, reminders", 50)
        + &format!(
            r#"steps:
  - send:
      id: reminder
      text: "{greeting} {{name}}, reply YES to confirm."
  - wait_reply: {{ id: reminder-reply, timeout: 2h, save_as: answer }}
  - branch:
      if: answer != () && answer.to_upper().contains("YES")
      then:
        - tag: confirmed
        - send:
            id: confirmation
            text: "Thanks {{name}}, you're confirmed."
      else:
        - send:
            id: nudge
            text: "{{name}}, can you make it?"
"#
        )
}

/// One message per recipient; a campaign of it completes once every recipient has it.
fn one_message(id: &str, per_second: u32) -> String {
    workflow_head(id, "e2e", per_second)
        + r#"steps:
  - send:
      id: notice
      text: "Hi {name}, your order has shipped."
"#
}

// ---------------------------------------------------------------------------------------------
// Requests

/// Creates a draft campaign; returns its id.
#[track_caller]
fn create(daemon: &Daemon, name: &str, workflow: &str, tags: &[&str]) -> u64 {
    let response = daemon.post_json(
        "/v1/campaigns",
        &json!({ "name": name, "workflow": workflow, "tags": tags }),
    );
    expect_status(daemon, "create a campaign", &response, 201);
    let body = response.json();
    assert_eq!(body["state"], "draft", "{body}");
    body["id"].as_u64().expect("campaign id")
}

fn upload(daemon: &Daemon, campaign: u64, filename: &str, csv: &str) -> Response {
    daemon.call(
        "POST",
        &format!("/v1/campaigns/{campaign}/lists?filename={filename}"),
        Some(("text/csv", csv.as_bytes())),
    )
}

#[track_caller]
fn upload_ok(daemon: &Daemon, campaign: u64, filename: &str, csv: &str) -> Value {
    let response = upload(daemon, campaign, filename, csv);
    expect_status(daemon, &format!("upload {filename}"), &response, 201);
    response.json()
}

fn act(daemon: &Daemon, campaign: u64, action: &str) -> Response {
    daemon.call("POST", &format!("/v1/campaigns/{campaign}/{action}"), None)
}

#[track_caller]
fn act_ok(daemon: &Daemon, campaign: u64, action: &str) -> Value {
    let response = act(daemon, campaign, action);
    expect_status(
        daemon,
        &format!("{action} campaign {campaign}"),
        &response,
        200,
    );
    response.json()
}

/// Waits until `recipients` recipients of the campaign are `sent`.
fn wait_sent(daemon: &Daemon, campaign: u64, recipients: u64) -> Value {
    daemon.wait_for(&format!("/v1/campaigns/{campaign}"), PATIENCE, |c| {
        count(c, "sent") == recipients
    })
}

// ---------------------------------------------------------------------------------------------
// 1. Authentication

#[test]
fn the_api_needs_the_token_health_and_the_openapi_document_do_not() {
    let site = Site::new("auth", TOKEN);
    site.workflow("reminders.yaml", &reminders("reminders", "Hi"));
    let daemon = site.start(&config());

    let health = daemon.raw("GET", "/healthz", &[], None);
    expect_status(&daemon, "/healthz without a token", &health, 200);
    assert_eq!(health.json()["status"], "ok");

    let anonymous = daemon.raw("GET", "/v1/campaigns", &[], None);
    expect_status(&daemon, "/v1/campaigns without a token", &anonymous, 401);
    assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));
    assert_eq!(error_code(&daemon, &anonymous), "unauthorized");

    for presented in [
        "Bearer not-the-token",
        "Bearer ",
        &format!("Basic {TOKEN}"),
        TOKEN,
    ] {
        let refused = daemon.raw(
            "GET",
            "/v1/campaigns",
            &[header("authorization", presented)],
            None,
        );
        expect_status(
            &daemon,
            &format!("authorization: {presented}"),
            &refused,
            401,
        );
        assert_eq!(refused.header("www-authenticate"), Some("Bearer"));
        assert_eq!(error_code(&daemon, &refused), "unauthorized");
    }

    // A write without the token changes nothing.
    let bytes = serde_json::to_vec(&json!({ "name": "x", "workflow": "reminders" })).expect("json");
    let refused = daemon.raw(
        "POST",
        "/v1/campaigns",
        &[],
        Some(("application/json", &bytes)),
    );
    expect_status(&daemon, "create without a token", &refused, 401);
    // Nor do the live events or the metrics answer without it.
    for path in ["/v1/events", "/metrics", "/v1/workflows"] {
        let refused = daemon.raw("GET", path, &[], None);
        expect_status(&daemon, &format!("{path} without a token"), &refused, 401);
    }

    let listed = daemon.get("/v1/campaigns");
    expect_status(&daemon, "/v1/campaigns with the token", &listed, 200);
    let listed = listed.json();
    assert_eq!(listed["total"], 0, "{listed}");
    assert_eq!(listed["campaigns"], json!([]));

    let openapi = daemon.raw("GET", "/v1/openapi.json", &[], None);
    expect_status(&daemon, "/v1/openapi.json without a token", &openapi, 200);
    let document = openapi.json();
    assert!(document["openapi"].is_string(), "{document}");
    assert!(
        document["paths"]["/v1/campaigns"].is_object(),
        "the document describes /v1/campaigns: {document}"
    );

    let unknown = daemon.get("/v1/no-such-thing");
    expect_status(&daemon, "an unknown route", &unknown, 404);
    assert_eq!(error_code(&daemon, &unknown), "not_found");
}

// ---------------------------------------------------------------------------------------------
// 2. A campaign from upload to replies

#[test]
fn a_campaign_sends_takes_receipts_and_replies_and_reports_them() {
    let site = Site::new("flow", TOKEN);
    site.workflow("reminders.yaml", &reminders("reminders", "Hi"));
    let daemon = site.start(&config());

    let id = create(&daemon, "Spring reminders", "reminders", &["spring"]);
    let campaign = get_json(&daemon, &format!("/v1/campaigns/{id}"));
    assert_eq!(
        campaign["workflow"],
        json!({ "id": "reminders", "version": 1 })
    );
    assert_eq!(campaign["tags"], json!(["e2e", "reminders", "spring"]));

    // Three good rows, two bad numbers, one duplicate.
    let csv = "phone,name\n\
               416 555 0101,Ada\n\
               416 555 0102,Bob\n\
               416 555 0103,Cy\n\
               call me,Words\n\
               555-1234,Short\n\
               +1 (416) 555-0101,Ada again\n";
    let list = upload_ok(&daemon, id, "spring.csv", csv);
    let summary = &list["summary"];
    assert_eq!(list["name"], "spring", "{list}");
    assert_eq!(list["source"], "spring.csv", "{list}");
    assert_eq!(summary["rows_read"], 6, "{list}");
    assert_eq!(summary["imported"], 3, "{list}");
    assert_eq!(summary["duplicates"], 1, "{list}");
    assert_eq!(
        summary["rejected_by_reason"],
        json!({ "phone_not_a_number": 1, "phone_too_short": 1 }),
        "{list}"
    );
    let list_id = list["id"].as_u64().expect("list id");

    let lists = get_json(&daemon, &format!("/v1/campaigns/{id}/lists"));
    assert_eq!(lists.as_array().map(Vec::len), Some(1), "{lists}");
    assert_eq!(lists[0]["summary"], *summary);
    let one = get_json(&daemon, &format!("/v1/campaigns/{id}/lists/{list_id}"));
    assert_eq!(one["summary"], *summary);

    // The error log, in both formats, names the bad lines.
    let errors_csv = daemon.get(&format!("/v1/campaigns/{id}/lists/{list_id}/errors"));
    expect_status(&daemon, "the CSV error log", &errors_csv, 200);
    assert!(
        errors_csv
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/csv")),
        "{:?}",
        errors_csv.headers
    );
    let errors_csv = errors_csv.text();
    let mut csv_lines = errors_csv.lines();
    assert_eq!(
        csv_lines.next(),
        Some("line,column,value,code,message,first_line,first_list")
    );
    let csv_entries: Vec<&str> = csv_lines.filter(|l| !l.is_empty()).collect();
    let errors_json = get_json(
        &daemon,
        &format!("/v1/campaigns/{id}/lists/{list_id}/errors?format=json"),
    );
    let entries = errors_json.as_array().expect("a JSON array of errors");
    assert_eq!(
        entries.len(),
        csv_entries.len(),
        "{errors_json}\n{errors_csv}"
    );
    let by_line: BTreeMap<u64, &str> = entries
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap_or(0),
                e["code"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        by_line.get(&5),
        Some(&"phone_not_a_number"),
        "{errors_json}"
    );
    assert_eq!(by_line.get(&6), Some(&"phone_too_short"), "{errors_json}");
    assert!(
        errors_csv.contains("5,phone,call me,phone_not_a_number"),
        "{errors_csv}"
    );
    let bad_format = daemon.get(&format!(
        "/v1/campaigns/{id}/lists/{list_id}/errors?format=xml"
    ));
    expect_status(&daemon, "an error log in XML", &bad_format, 400);

    // Live events, subscribed before the start.
    let mut events = daemon.events(&format!("/v1/events?campaign={id}"));
    // Another campaign's events must not reach this stream.
    let other = create(&daemon, "Someone else's", "reminders", &[]);

    let started = act_ok(&daemon, id, "start");
    assert_eq!(started["state"], "sending", "{started}");
    assert!(started["started_at"].is_string(), "{started}");
    let campaign = wait_sent(&daemon, id, 3);
    assert_eq!(campaign["recipients"], 3, "{campaign}");

    let sending_seen = Cell::new(false);
    let sent_messages = Cell::new(0);
    let seen = events.until(PATIENCE, |event: &SseEvent| {
        match event.event.as_str() {
            "campaign" if event.data["state"] == "sending" => sending_seen.set(true),
            "message" if event.data["status"] == "sent" => {
                sent_messages.set(sent_messages.get() + 1);
            }
            _ => {}
        }
        sending_seen.get() && sent_messages.get() == 3
    });
    for event in &seen {
        assert_eq!(event.data["campaign"], id, "a filtered stream: {event:?}");
        assert_ne!(event.data["campaign"], other);
        if event.event == "message" {
            assert_eq!(event.data["type"], "message", "{event:?}");
            assert_eq!(event.data["step_id"], "reminder", "{event:?}");
        }
    }
    assert!(
        seen.iter().any(|e| e.event == "message"
            && e.data["status"] == "sent"
            && e.data["provider_id"]
                .as_str()
                .is_some_and(|p| p.starts_with("mock-"))),
        "{seen:#?}"
    );

    // Who was sent what.
    let sent = get_json(
        &daemon,
        &format!("/v1/campaigns/{id}/recipients?status=sent"),
    );
    let phones: Vec<&str> = sent["recipients"]
        .as_array()
        .expect("recipients")
        .iter()
        .map(|r| r["phone"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        phones,
        ["+14165550101", "+14165550102", "+14165550103"],
        "{sent}"
    );
    assert_eq!(sent["next"], Value::Null);
    let paged = get_json(
        &daemon,
        &format!("/v1/campaigns/{id}/recipients?status=sent&limit=2"),
    );
    assert_eq!(
        paged["recipients"].as_array().map(Vec::len),
        Some(2),
        "{paged}"
    );
    let after = paged["next"].as_u64().expect("a next page");
    let rest = get_json(
        &daemon,
        &format!("/v1/campaigns/{id}/recipients?status=sent&after={after}"),
    );
    assert_eq!(rest["recipients"][0]["phone"], "+14165550103", "{rest}");
    let none = get_json(
        &daemon,
        &format!("/v1/campaigns/{id}/recipients?status=failed"),
    );
    assert_eq!(none["recipients"], json!([]));
    let bad = daemon.get(&format!("/v1/campaigns/{id}/recipients?status=happy"));
    expect_status(&daemon, "an unknown recipient status", &bad, 400);

    let provider_id = |seq: u64| -> String {
        let timeline = get_json(&daemon, &format!("/v1/campaigns/{id}/recipients/{seq}"));
        let messages = timeline["messages"].as_array().expect("messages");
        assert_eq!(messages.len(), 1, "{timeline}");
        assert_eq!(messages[0]["outbound"]["step_id"], "reminder", "{timeline}");
        assert_eq!(messages[0]["outbound"]["from"], SENDER, "{timeline}");
        assert_eq!(messages[0]["status"], "sent", "{timeline}");
        messages[0]["provider_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no provider id: {timeline}"))
            .to_string()
    };
    let ada = provider_id(0);
    let bob = provider_id(1);
    let timeline = get_json(&daemon, &format!("/v1/campaigns/{id}/recipients/0"));
    assert_eq!(timeline["phone"], "+14165550101");
    assert_eq!(timeline["fields"]["name"], "Ada");
    assert_eq!(
        timeline["messages"][0]["outbound"]["body"],
        "Hi Ada, reply YES to confirm."
    );
    let missing = daemon.get(&format!("/v1/campaigns/{id}/recipients/99"));
    expect_status(&daemon, "an unknown recipient", &missing, 404);

    // Forged receipts (about Bob's message) are refused and change nothing.
    let receipt = |provider_id: &str| json!([{ "type": "status", "provider-message-id": provider_id, "status": "delivered" }]);
    for token in [Some("not-the-token"), None] {
        let forged = webhook(&daemon, token, &receipt(&bob));
        expect_status(
            &daemon,
            &format!("a webhook with token {token:?}"),
            &forged,
            403,
        );
        assert_eq!(error_code(&daemon, &forged), "bad_signature");
    }
    let stats = get_json(&daemon, &format!("/v1/campaigns/{id}/stats"));
    assert_eq!(stats["delivered"], 0, "{stats}");
    let unknown_instance = daemon.raw(
        "POST",
        "/webhooks/nobody",
        &[],
        Some(("application/json", b"[]")),
    );
    expect_status(&daemon, "a webhook for no instance", &unknown_instance, 404);
    let garbage = daemon.raw(
        "POST",
        "/webhooks/mock",
        &[header("x-mock-token", HOOK_TOKEN)],
        Some(("application/json", b"{not json")),
    );
    expect_status(&daemon, "a malformed webhook", &garbage, 400);

    // The real receipt, about Ada's.
    let accepted = webhook(&daemon, Some(HOOK_TOKEN), &receipt(&ada));
    expect_status(&daemon, "a signed delivery receipt", &accepted, 200);
    assert_eq!(accepted.json(), json!({ "receipts": 1, "inbound": 0 }));
    let stats = daemon.wait_for(&format!("/v1/campaigns/{id}/stats"), PATIENCE, |s| {
        s["delivered"] == 1
    });
    assert_eq!(stats["sent"], 3, "{stats}");
    assert_eq!(stats["steps"]["reminder"]["delivered"], 1, "{stats}");
    assert_eq!(
        stats["recipients"],
        json!({ "delivered": 1, "sent": 2 }),
        "{stats}"
    );
    let timeline = get_json(&daemon, &format!("/v1/campaigns/{id}/recipients/0"));
    assert_eq!(timeline["status"], "delivered", "{timeline}");
    assert_eq!(timeline["messages"][0]["status"], "delivered", "{timeline}");
    // The forged receipts were never applied: Bob's message is still only sent.
    let bob_now = get_json(&daemon, &format!("/v1/campaigns/{id}/recipients/1"));
    assert_eq!(bob_now["status"], "sent", "{bob_now}");
    assert_eq!(bob_now["messages"][0]["status"], "sent", "{bob_now}");

    // Cy answers: the wait ends, the answer is saved, the branch confirms.
    let reply = json!({
        "type": "inbound",
        "provider-message-id": "mock-in-e2e-1",
        "from": "+14165550103",
        "to": SENDER,
        "body": "yes please",
    });
    let accepted = webhook(&daemon, Some(HOOK_TOKEN), &reply);
    expect_status(&daemon, "a signed inbound reply", &accepted, 200);
    assert_eq!(accepted.json(), json!({ "receipts": 0, "inbound": 1 }));
    let cy = daemon.wait_for(&format!("/v1/campaigns/{id}/recipients/2"), PATIENCE, |r| {
        r["messages"].as_array().is_some_and(|m| m.len() == 2)
            && r["messages"][1]["status"] == "sent"
    });
    assert_eq!(cy["vars"]["answer"], "yes please", "{cy}");
    assert_eq!(cy["tags"], json!(["confirmed"]), "{cy}");
    assert_eq!(cy["responded"], true, "{cy}");
    assert_eq!(cy["sent"], 2, "{cy}");
    assert_eq!(
        cy["messages"][1]["outbound"]["step_id"], "confirmation",
        "{cy}"
    );
    assert_eq!(
        cy["messages"][1]["outbound"]["body"],
        "Thanks Cy, you're confirmed."
    );
    // The others still wait for their answer.
    let bob_now = get_json(&daemon, &format!("/v1/campaigns/{id}/recipients/1"));
    assert_eq!(bob_now["vars"], json!({}), "{bob_now}");
    assert!(
        bob_now["next_wake"].is_string(),
        "waiting, with a timeout: {bob_now}"
    );
    let stats = get_json(&daemon, &format!("/v1/campaigns/{id}/stats"));
    assert_eq!(stats["responded"], 1, "{stats}");
    assert_eq!(stats["sent"], 4, "{stats}");
    assert_eq!(stats["steps"]["confirmation"]["sent"], 1, "{stats}");

    let metrics = daemon.get("/metrics");
    expect_status(&daemon, "/metrics", &metrics, 200);
    let metrics = metrics.text();
    let metric = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{metrics}"))
    };
    assert_eq!(metric("switchboard_messages_total{status=\"sent\"}"), 4.0);
    assert_eq!(
        metric("switchboard_messages_total{status=\"delivered\"}"),
        1.0
    );
    assert_eq!(
        metric("switchboard_webhook_requests_total{outcome=\"bad_signature\"}"),
        2.0
    );
    assert_eq!(
        metric("switchboard_webhook_requests_total{outcome=\"accepted\"}"),
        2.0
    );
    assert_eq!(
        metric("switchboard_webhook_events_total{kind=\"status\"}"),
        1.0
    );
    assert_eq!(
        metric("switchboard_webhook_events_total{kind=\"inbound\"}"),
        1.0
    );
    assert!(metric("switchboard_http_request_duration_seconds_count") > 10.0);
}

// ---------------------------------------------------------------------------------------------
// 3. The lifecycle's refusals and the campaign list's filters

#[test]
fn stats_count_error_codes_and_opt_outs_per_step_and_activity_adds_up() {
    let site = Site::new("activity", TOKEN);
    site.workflow("notice.yaml", &one_message("notice", 50));
    let blocked = "+14165550404";
    let daemon =
        site.start(&config().mock_settings(&format!("permanent-failure-numbers = \"{blocked}\"")));
    let id = create(&daemon, "Activity", "notice", &[]);
    upload_ok(&daemon, id, "four.csv", &recipients_csv(401, 4));
    act_ok(&daemon, id, "start");
    daemon.wait_for(&format!("/v1/campaigns/{id}"), PATIENCE, |c| {
        count(c, "sent") == 3 && count(c, "failed") == 1
    });

    // Receipts: one delivered, one undelivered with the carrier's code.
    let provider_id = |seq: u64| -> String {
        let timeline = get_json(&daemon, &format!("/v1/campaigns/{id}/recipients/{seq}"));
        timeline["messages"][0]["provider_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no provider id: {timeline}"))
            .to_string()
    };
    let receipts = json!([
        { "type": "status", "provider-message-id": provider_id(0), "status": "delivered" },
        { "type": "status", "provider-message-id": provider_id(1), "status": "undelivered",
          "error-code": "30003", "error-message": "Unreachable destination handset" },
    ]);
    let answer = webhook(&daemon, Some(HOOK_TOKEN), &receipts);
    expect_status(&daemon, "two receipts", &answer, 200);
    // The delivered recipient texts STOP: an opt-out after the campaign's (only) message.
    let stop = json!({ "type": "inbound", "provider-message-id": "mock-in-activity-1",
                       "from": "+14165550401", "to": SENDER, "body": "STOP" });
    let answer = webhook(&daemon, Some(HOOK_TOKEN), &stop);
    expect_status(&daemon, "a STOP", &answer, 200);
    let stats = daemon.wait_for(&format!("/v1/campaigns/{id}/stats"), PATIENCE, |s| {
        s["delivered"] == 1 && s["failed"] == 2 && s["steps"]["notice"]["opted_out"] == 1
    });

    let errors = json!([
        { "code": "30003", "count": 1 },
        { "code": "mock-blocked-number", "count": 1 },
    ]);
    assert_eq!(stats["errors"], errors, "{stats}");
    let notice = &stats["steps"]["notice"];
    assert_eq!(notice["errors"], errors, "{stats}");
    assert_eq!(notice["replied"], 0, "{stats}");
    assert_eq!(
        stats["sent"], 2,
        "the undelivered one is failed now: {stats}"
    );

    let activity = get_json(&daemon, &format!("/v1/campaigns/{id}/activity"));
    assert_eq!(activity["bucket_seconds"], 60, "{activity}");
    let points = activity["points"].as_array().expect("points");
    assert!(!points.is_empty(), "{activity}");
    let total =
        |field: &str| -> u64 { points.iter().map(|p| p[field].as_u64().unwrap_or(0)).sum() };
    // `sent` counts every message the provider accepted, the undelivered one included.
    assert_eq!(
        total("sent"),
        stats["sent"].as_u64().unwrap_or(0) + 1,
        "{activity}"
    );
    assert_eq!(total("delivered"), stats["delivered"], "{activity}");
    assert_eq!(total("failed"), stats["failed"], "{activity}");
    let starts: Vec<DateTime<Utc>> = points.iter().map(|p| timestamp(&p["at"])).collect();
    assert!(
        starts.windows(2).all(|w| (w[1] - w[0]).num_seconds() == 60),
        "one point a minute, gaps filled: {activity}"
    );

    // A range given: its buckets, zeros included; whole hours.
    let first = starts[0];
    let range = format!(
        "/v1/campaigns/{id}/activity?since={}&until={}&bucket=3600",
        (first - chrono::TimeDelta::hours(2)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        first.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    let hourly = get_json(&daemon, &range);
    assert_eq!(hourly["bucket_seconds"], 3600, "{hourly}");
    let hours = hourly["points"].as_array().expect("points");
    assert_eq!(hours.len(), 3, "{hourly}");
    assert_eq!(hours[2]["sent"], total("sent"), "{hourly}");

    for (query, what) in [
        ("bucket=90", "a bucket of 90 seconds"),
        ("since=yesterday", "a since that is no instant"),
        (
            "since=2026-12-08T00:00:00Z&until=2026-12-07T00:00:00Z",
            "a since after the until",
        ),
        (
            "since=2026-12-06T00:00:00Z&until=2026-12-07T00:00:00Z&bucket=60",
            "1,441 points",
        ),
    ] {
        let refused = daemon.get(&format!("/v1/campaigns/{id}/activity?{query}"));
        expect_status(&daemon, what, &refused, 400);
        assert_eq!(error_code(&daemon, &refused), "bad_request", "{what}");
    }
    let missing = daemon.get("/v1/campaigns/987654321/activity");
    expect_status(&daemon, "the activity of no campaign", &missing, 404);
}

#[test]
fn lifecycle_refusals_are_json_errors_and_the_list_filters() {
    let site = Site::new("lifecycle", TOKEN);
    site.workflow("reminders.yaml", &reminders("reminders", "Hi"));
    site.workflow("notices.yaml", &one_message("notices", 50));
    let daemon = site.start(&config());

    let alpha = create(&daemon, "Alpha launch", "reminders", &["alpha"]);
    let beta = create(&daemon, "beta follow-up", "reminders", &["beta"]);
    let gamma = create(&daemon, "Gamma notice", "notices", &["alpha"]);
    upload_ok(&daemon, alpha, "a.csv", &recipients_csv(100, 3));

    assert_eq!(act_ok(&daemon, alpha, "start")["state"], "sending");
    let twice = act(&daemon, alpha, "start");
    expect_status(&daemon, "start twice", &twice, 409);
    assert_eq!(error_code(&daemon, &twice), "illegal_transition");
    assert!(
        twice
            .header("content-type")
            .is_some_and(|t| t.contains("json")),
        "{:?}",
        twice.headers
    );
    wait_sent(&daemon, alpha, 3);

    assert_eq!(act_ok(&daemon, alpha, "pause")["state"], "paused");
    let again = act(&daemon, alpha, "pause");
    expect_status(&daemon, "pause twice", &again, 409);
    assert_eq!(error_code(&daemon, &again), "illegal_transition");
    assert_eq!(
        get_json(&daemon, &format!("/v1/campaigns/{alpha}"))["state"],
        "paused"
    );
    assert_eq!(act_ok(&daemon, alpha, "resume")["state"], "sending");
    let resume_draft = act(&daemon, beta, "resume");
    expect_status(&daemon, "resume a draft", &resume_draft, 409);

    // Unknown campaigns and actions.
    let missing = daemon.get("/v1/campaigns/4242");
    expect_status(&daemon, "an unknown campaign", &missing, 404);
    assert_eq!(error_code(&daemon, &missing), "not_found");
    for action in ["start", "pause", "stats", "lists", "recipients"] {
        let method = if matches!(action, "start" | "pause") {
            "POST"
        } else {
            "GET"
        };
        let response = daemon.call(method, &format!("/v1/campaigns/4242/{action}"), None);
        expect_status(
            &daemon,
            &format!("{action} of an unknown campaign"),
            &response,
            404,
        );
        assert_eq!(error_code(&daemon, &response), "not_found");
    }
    let bogus = act(&daemon, beta, "explode");
    expect_status(&daemon, "an unknown action", &bogus, 404);
    let not_a_number = daemon.get("/v1/campaigns/abc");
    expect_status(
        &daemon,
        "a campaign id that is no number",
        &not_a_number,
        400,
    );

    // Editing: a draft may change, a sending campaign may not.
    let patch = |id: u64, body: Value| {
        let bytes = serde_json::to_vec(&body).expect("json");
        daemon.call(
            "PATCH",
            &format!("/v1/campaigns/{id}"),
            Some(("application/json", &bytes)),
        )
    };
    let refused = patch(alpha, json!({ "name": "Renamed" }));
    expect_status(&daemon, "PATCH a sending campaign", &refused, 409);
    assert_eq!(error_code(&daemon, &refused), "illegal_transition");
    assert_eq!(
        get_json(&daemon, &format!("/v1/campaigns/{alpha}"))["name"],
        "Alpha launch"
    );
    let renamed = patch(beta, json!({ "name": "Beta follow-up" }));
    expect_status(&daemon, "PATCH a draft", &renamed, 200);
    assert_eq!(renamed.json()["name"], "Beta follow-up");
    let typo = patch(beta, json!({ "nmae": "x" }));
    assert!(
        (400..500).contains(&typo.status),
        "an unknown field is the caller's error: {} {}",
        typo.status,
        typo.text()
    );
    let blank = daemon.post_json(
        "/v1/campaigns",
        &json!({ "name": " ", "workflow": "reminders" }),
    );
    expect_status(&daemon, "a blank name", &blank, 400);
    let no_workflow =
        daemon.post_json("/v1/campaigns", &json!({ "name": "x", "workflow": "nope" }));
    expect_status(&daemon, "an unknown workflow", &no_workflow, 422);

    // The list and its filters.
    let names = |query: &str| -> (Vec<String>, Value) {
        let page = get_json(&daemon, &format!("/v1/campaigns{query}"));
        let names = page["campaigns"]
            .as_array()
            .expect("campaigns")
            .iter()
            .map(|c| c["name"].as_str().unwrap_or_default().to_string())
            .collect();
        (names, page)
    };
    let (all, page) = names("");
    assert_eq!(page["total"], 3, "{page}");
    // Newest first by default.
    assert_eq!(all, ["Gamma notice", "Beta follow-up", "Alpha launch"]);
    assert_eq!(names("?status=sending").0, ["Alpha launch"]);
    assert_eq!(
        names("?status=draft&sort=name&order=asc").0,
        ["Beta follow-up", "Gamma notice"]
    );
    assert_eq!(
        names("?status=draft,sending&sort=id&order=asc").0,
        ["Alpha launch", "Beta follow-up", "Gamma notice"]
    );
    assert_eq!(names("?name=LAUNCH").0, ["Alpha launch"]);
    assert_eq!(
        names("?tag=alpha&sort=name&order=asc").0,
        ["Alpha launch", "Gamma notice"]
    );
    assert_eq!(
        names("?tag=reminders&workflow=reminders&order=asc").0,
        ["Alpha launch", "Beta follow-up"]
    );
    assert_eq!(names("?workflow=notices").0, ["Gamma notice"]);
    assert_eq!(names("?sort=recipients").0[0], "Alpha launch");
    let (second, page) = names("?sort=name&order=asc&per_page=1&page=2");
    assert_eq!(second, ["Beta follow-up"]);
    assert_eq!(
        (
            page["page"].as_u64(),
            page["per_page"].as_u64(),
            page["total"].as_u64()
        ),
        (Some(2), Some(1), Some(3))
    );
    let (beyond, page) = names("?per_page=2&page=5");
    assert!(beyond.is_empty(), "{page}");
    assert_eq!(page["total"], 3);
    for bad in [
        "?status=happy",
        "?sort=colour",
        "?order=sideways",
        "?bogus=1",
    ] {
        let response = daemon.get(&format!("/v1/campaigns{bad}"));
        expect_status(&daemon, &format!("GET /v1/campaigns{bad}"), &response, 400);
    }
    let _ = gamma;
}

// ---------------------------------------------------------------------------------------------
// 4. Workflow hot reload

#[test]
fn workflow_edits_are_new_versions_and_a_broken_file_keeps_the_last_good_one() {
    let site = Site::new("reload", TOKEN);
    site.workflow("promo.yaml", &reminders("promo", "Hello"));
    let daemon = site.start(&config());

    let workflows = get_json(&daemon, "/v1/workflows");
    let promo = |list: &Value| -> Value {
        list.as_array()
            .and_then(|all| all.iter().find(|w| w["id"] == "promo"))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let loaded = promo(&workflows);
    assert_eq!(loaded["status"], "loaded", "{workflows}");
    assert_eq!(loaded["version"], 1, "{workflows}");
    assert_eq!(loaded["kind"], "campaign", "{workflows}");
    assert_eq!(loaded["errors"], json!([]), "{workflows}");

    // An edit: version 2, within a few seconds.
    site.workflow("promo.yaml", &reminders("promo", "Good news"));
    daemon.wait_for("/v1/workflows", Duration::from_secs(10), |all| {
        promo(all)["version"] == 2 && promo(all)["status"] == "loaded"
    });
    let detail = get_json(&daemon, "/v1/workflows/promo");
    assert!(
        detail["source"]
            .as_str()
            .is_some_and(|s| s.contains("Good news")),
        "{detail}"
    );
    let log = daemon.log_with("workflow promo reloaded: version 2", PATIENCE);
    assert!(log.contains("workflow promo reloaded: version 2"), "{log}");

    let running = create(&daemon, "On version 2", "promo", &[]);
    assert_eq!(
        get_json(&daemon, &format!("/v1/campaigns/{running}"))["workflow"]["version"],
        2
    );
    upload_ok(&daemon, running, "first.csv", &recipients_csv(200, 2));
    act_ok(&daemon, running, "start");
    wait_sent(&daemon, running, 2);

    // Broken: invalid YAML (an unclosed flow mapping on line 21). The id stays readable.
    let broken = reminders("promo", "Broken") + "  - send: { id: oops, text: \"never\"\n";
    site.workflow("promo.yaml", &broken);
    let workflows = daemon.wait_for("/v1/workflows", Duration::from_secs(10), |all| {
        promo(all)["status"] == "invalid"
    });
    let invalid = promo(&workflows);
    assert_eq!(
        invalid["version"], 2,
        "the last good version stays: {invalid}"
    );
    let errors = invalid["errors"].as_array().expect("errors");
    assert!(!errors.is_empty(), "{invalid}");
    for error in errors {
        assert!(
            error["line"].as_u64().is_some_and(|line| line > 1),
            "an error with its line: {error}"
        );
        assert_eq!(error["severity"], "error", "{error}");
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{error}"
        );
    }
    assert!(invalid["invalid_since"].is_string(), "{invalid}");
    let detail = get_json(&daemon, "/v1/workflows/promo");
    assert!(
        detail["source"]
            .as_str()
            .is_some_and(|s| s.contains("Good news")),
        "the source shown is the version in use: {detail}"
    );

    // The running campaign goes on: it takes a new list and sends to it.
    upload_ok(&daemon, running, "second.csv", &recipients_csv(300, 2));
    wait_sent(&daemon, running, 4);
    let campaign = get_json(&daemon, &format!("/v1/campaigns/{running}"));
    assert_eq!(campaign["state"], "sending", "{campaign}");
    let timeline = get_json(&daemon, &format!("/v1/campaigns/{running}/recipients/3"));
    assert!(
        timeline["messages"][0]["outbound"]["body"]
            .as_str()
            .is_some_and(|b| b.starts_with("Good news")),
        "{timeline}"
    );
    // And a new campaign still gets version 2.
    let fresh = create(&daemon, "After the breakage", "promo", &[]);
    assert_eq!(
        get_json(&daemon, &format!("/v1/campaigns/{fresh}"))["workflow"]["version"],
        2
    );

    // The validation endpoint: broken YAML, then a schema error, then a good document.
    let validate = |text: &str| -> Value {
        let response = daemon.call(
            "POST",
            "/v1/workflows/validate",
            Some(("application/yaml", text.as_bytes())),
        );
        expect_status(&daemon, "validate", &response, 200);
        response.json()
    };
    let answer = validate(&broken);
    assert_eq!(answer["valid"], false, "{answer}");
    let diagnostics = answer["diagnostics"].as_array().expect("diagnostics");
    assert!(!diagnostics.is_empty(), "{answer}");
    assert!(
        diagnostics
            .iter()
            .all(|d| d["line"].as_u64().is_some_and(|l| l > 0) && d["code"].is_string()),
        "{answer}"
    );
    let typo = reminders("promo", "Hi").replace("save_as: answer", "save_az: answer");
    let answer = validate(&typo);
    assert_eq!(answer["valid"], false, "{answer}");
    let line = typo
        .lines()
        .position(|l| l.contains("save_az"))
        .map(|index| index as u64 + 1);
    assert!(
        answer["diagnostics"]
            .as_array()
            .is_some_and(|all| all.iter().any(|d| d["line"].as_u64() == line)),
        "a diagnostic on line {line:?}: {answer}"
    );
    let answer = validate(&reminders("promo", "Hi"));
    assert_eq!(answer["valid"], true, "{answer}");

    // Fixed again: version 3.
    site.workflow("promo.yaml", &reminders("promo", "Fixed"));
    daemon.wait_for("/v1/workflows", Duration::from_secs(10), |all| {
        promo(all)["version"] == 3 && promo(all)["status"] == "loaded"
    });
    assert_eq!(
        get_json(&daemon, &format!("/v1/campaigns/{running}"))["workflow"]["version"],
        2,
        "a running campaign keeps its version"
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Upload limits

#[test]
fn uploads_over_the_limit_or_without_rows_are_refused() {
    let site = Site::new("uploads", TOKEN);
    site.workflow("reminders.yaml", &reminders("reminders", "Hi"));
    let daemon = site.start(&config().api("max-upload-mb = 1"));
    let id = create(&daemon, "Uploads", "reminders", &[]);
    let path = format!("/v1/campaigns/{id}/lists?filename=big.csv");
    let head = |framing: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {TOKEN}\r\n\
             content-type: text/csv\r\nconnection: close\r\n{framing}",
            daemon.addr
        )
    };

    // A declared length over the limit: refused on the headers alone. The body never comes,
    // so an answer at all shows the server did not wait for it.
    let (answer, took) = exchange(daemon.addr, &head("content-length: 500000000\r\n"), |_| {
        Ok(())
    });
    expect_status(&daemon, "a 500 MB declared length", &answer, 413);
    assert_eq!(error_code(&daemon, &answer), "too_large");
    assert!(took < Duration::from_secs(10), "answered after {took:?}");

    // A true length just over the limit.
    let body = recipients_csv(0, 1) + &"#".repeat(1024 * 1024);
    let length = body.len();
    let (answer, _) = exchange(
        daemon.addr,
        &head(&format!("content-length: {length}\r\n")),
        move |stream| stream.write_all(body.as_bytes()),
    );
    expect_status(&daemon, "a body 1 MB and a bit long", &answer, 413);
    assert_eq!(error_code(&daemon, &answer), "too_large");

    // No declared length (chunked): refused once the limit is passed. The writer offers
    // 8 MB and stops when the server hangs up.
    let (answer, _) = exchange(
        daemon.addr,
        &head("transfer-encoding: chunked\r\n"),
        |stream| {
            let mut chunk = b"phone,name\n".to_vec();
            chunk.resize(64 * 1024, b'#');
            for _ in 0..128 {
                write!(stream, "{:x}\r\n", chunk.len())?;
                stream.write_all(&chunk)?;
                stream.write_all(b"\r\n")?;
            }
            stream.write_all(b"0\r\n\r\n")
        },
    );
    expect_status(&daemon, "a chunked body over the limit", &answer, 413);
    assert_eq!(error_code(&daemon, &answer), "too_large");

    // A chunked body under the limit is fine.
    let small = recipients_csv(500, 2);
    let (answer, _) = exchange(
        daemon.addr,
        &head("transfer-encoding: chunked\r\n"),
        move |stream| write!(stream, "{:x}\r\n{small}\r\n0\r\n\r\n", small.len()),
    );
    expect_status(&daemon, "a small chunked upload", &answer, 201);
    assert_eq!(answer.json()["summary"]["imported"], 2);

    // Files without recipient rows.
    for (name, csv) in [("header-only.csv", "phone,name\n"), ("empty.csv", "")] {
        let refused = upload(&daemon, id, name, csv);
        expect_status(&daemon, &format!("upload {name}"), &refused, 422);
        let body = refused.json();
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("nothing was imported"),
            "a clear message: {body}"
        );
    }
    let no_phone = upload(
        &daemon,
        id,
        "no-phone.csv",
        "Email,Full Name\nada@example.com,Ada\n",
    );
    expect_status(&daemon, "a file without a phone column", &no_phone, 422);
    let bad_query = daemon.call(
        "POST",
        &format!("/v1/campaigns/{id}/lists?filename=x.csv&region=Narnia"),
        Some(("text/csv", recipients_csv(0, 1).as_bytes())),
    );
    expect_status(&daemon, "an unknown region", &bad_query, 400);

    // Only the small upload landed, and no spooled file is left behind.
    let lists = get_json(&daemon, &format!("/v1/campaigns/{id}/lists"));
    assert_eq!(lists.as_array().map(Vec::len), Some(1), "{lists}");
    let uploads = site.dir.join("data").join("uploads");
    let left: Vec<_> = std::fs::read_dir(&uploads)
        .map(|dir| dir.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "spooled uploads left behind: {left:?}");
    // The daemon is still serving.
    expect_status(
        &daemon,
        "healthz",
        &daemon.raw("GET", "/healthz", &[], None),
        200,
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Crash safety

/// A carrier for the mock's `callback-url`: records the body of every POST it gets, answers
/// 200. Every body is one message the mock accepted.
struct Carrier {
    addr: SocketAddr,
    bodies: Arc<Mutex<Vec<String>>>,
}

impl Carrier {
    fn start() -> Carrier {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the carrier");
        let addr = listener.local_addr().expect("carrier address");
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let sink = bodies.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let sink = sink.clone();
                std::thread::spawn(move || {
                    if let Some(body) = Self::receive(stream)
                        && let Ok(mut bodies) = sink.lock()
                    {
                        bodies.push(body);
                    }
                });
            }
        });
        Carrier { addr, bodies }
    }

    fn receive(stream: TcpStream) -> Option<String> {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let mut reader = BufReader::new(stream.try_clone().ok()?);
        let mut length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).ok()? == 0 {
                // Closed before its head ended (a daemon killed mid-request): no callback.
                return None;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().ok()?;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
        let mut stream = stream;
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .ok()?;
        Some(String::from_utf8_lossy(&body).into_owned())
    }

    /// How many callbacks each provider message id had.
    fn accepted(&self) -> BTreeMap<String, usize> {
        let bodies = self.bodies.lock().map(|b| b.clone()).unwrap_or_default();
        let mut accepted = BTreeMap::new();
        for body in bodies {
            let events: Value = serde_json::from_str(&body)
                .unwrap_or_else(|e| panic!("the mock's callback is not JSON ({e}): {body}"));
            for event in events.as_array().into_iter().flatten() {
                if event["type"] == "status"
                    && let Some(id) = event["provider-message-id"].as_str()
                {
                    *accepted.entry(id.to_string()).or_insert(0) += 1;
                }
            }
        }
        accepted
    }
}

#[test]
fn a_killed_daemon_resumes_without_sending_twice_or_losing_anyone() {
    const RECIPIENTS: u64 = 150;
    let carrier = Carrier::start();
    let site = Site::new("crash", TOKEN);
    site.workflow("notices.yaml", &one_message("notices", 40));
    let config = config()
        .mock_settings(&format!(
            "latency-ms = \"20\", callback-url = \"http://{}/carrier\"",
            carrier.addr
        ))
        .mock_lines("allow-hosts = [\"127.0.0.1:*\"]");
    let daemon = site.start(&config);

    // A second daemon on the same data directory is refused, and says why.
    match Daemon::try_start(&site.dir, &config.to_string(), Some(TOKEN)) {
        Ok(second) => panic!(
            "a second daemon started on a data directory in use:\n{}",
            second.log()
        ),
        Err(log) => assert!(
            log.contains("is in use by another Switchboard daemon"),
            "the refusal says why:\n{log}"
        ),
    }
    expect_status(
        &daemon,
        "the first daemon after the refusal",
        &daemon.get("/v1/campaigns"),
        200,
    );

    let id = create(&daemon, "Shipping notices", "notices", &[]);
    upload_ok(
        &daemon,
        id,
        "orders.csv",
        &recipients_csv(1000, RECIPIENTS as u32),
    );
    act_ok(&daemon, id, "start");
    let path = format!("/v1/campaigns/{id}");
    let before = daemon.wait_for(&path, PATIENCE, |c| count(c, "sent") >= 25);
    let sent_before = count(&before, "sent");
    assert!(
        sent_before < RECIPIENTS,
        "the campaign finished before the kill; the test needs it under way: {before}"
    );
    let log_before = daemon.log();
    daemon.kill9();
    let killed_at = Utc::now();

    let daemon = site.start(&config);
    let campaign = daemon.wait_for(&path, Duration::from_secs(60), |c| {
        c["state"] == "completed"
    });
    let context = || {
        format!(
            "first daemon's log:\n{log_before}\nsecond daemon's log:\n{}",
            daemon.log()
        )
    };
    assert_eq!(campaign["recipients"], RECIPIENTS, "{campaign}");
    assert_eq!(
        campaign["counts"],
        json!({ "sent": RECIPIENTS }),
        "every recipient sent, none unknown, failed or left behind\n{}",
        context()
    );
    let stats = get_json(&daemon, &format!("/v1/campaigns/{id}/stats"));
    assert_eq!(stats["sent"], RECIPIENTS, "{stats}");
    assert_eq!(stats["steps"]["notice"]["unknown"], 0, "{stats}");
    assert_eq!(stats["steps"]["notice"]["failed"], 0, "{stats}");

    // Each recipient's one message, and which of them crossed the crash.
    let mut owner: BTreeMap<String, u64> = BTreeMap::new();
    let mut reconciled = BTreeSet::new();
    for seq in 0..RECIPIENTS {
        let timeline = get_json(&daemon, &format!("/v1/campaigns/{id}/recipients/{seq}"));
        let messages = timeline["messages"].as_array().expect("messages");
        assert_eq!(messages.len(), 1, "one message per recipient: {timeline}");
        let message = &messages[0];
        assert_eq!(message["status"], "sent", "{timeline}");
        let provider_id = message["provider_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no provider id: {timeline}"))
            .to_string();
        if let Some(other) = owner.insert(provider_id.clone(), seq) {
            panic!("recipients {other} and {seq} share provider message {provider_id}");
        }
        let created = timestamp(&message["created_at"]);
        let answered = timestamp(&message["answered_at"]);
        // Asked for before the kill, answered after it: a send the kill interrupted, which
        // the restart reconciled (before it listens, so before `start` returns).
        if created < killed_at && answered > killed_at {
            reconciled.insert(seq);
        }
    }

    // What the provider saw: no message twice, none that is not a recipient's.
    let accepted = carrier.accepted();
    let twice: Vec<_> = accepted.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent twice: {twice:?}\n{}", context());
    let strangers: Vec<_> = accepted
        .keys()
        .filter(|p| !owner.contains_key(*p))
        .collect();
    assert!(
        strangers.is_empty(),
        "the provider accepted messages no recipient has: {strangers:?}\n{}",
        context()
    );
    // Every recipient's message reached the provider, except the ones whose send the kill
    // interrupted: those were confirmed after the restart by the provider's lookup (the mock
    // "has" every message whose key draws a success, even one the kill stopped mid-send).
    let unseen: Vec<u64> = owner
        .iter()
        .filter(|(p, _)| !accepted.contains_key(*p))
        .map(|(_, seq)| *seq)
        .collect();
    let unexplained: Vec<_> = unseen.iter().filter(|s| !reconciled.contains(*s)).collect();
    assert!(
        unexplained.is_empty(),
        "recipients recorded as sent that the provider never got (and not reconciled): \
         {unexplained:?}\n{}",
        context()
    );
    eprintln!(
        "killed after {sent_before} sent; the provider saw {} messages, {} recipients were \
         reconciled after the restart ({} of them unseen by the provider)",
        accepted.len(),
        reconciled.len(),
        unseen.len()
    );
    assert!(
        accepted.len() as u64 + unseen.len() as u64 == RECIPIENTS,
        "{} accepted + {} reconciled",
        accepted.len(),
        unseen.len()
    );
}

// ---------------------------------------------------------------------------------------------
// 7. Graceful shutdown

#[test]
fn sigterm_stops_cleanly_and_a_restart_shows_the_same_state() {
    let site = Site::new("shutdown", TOKEN);
    site.workflow("reminders.yaml", &reminders("reminders", "Hi"));
    let config = config();
    let daemon = site.start(&config);

    let sending = create(&daemon, "Sending", "reminders", &[]);
    upload_ok(&daemon, sending, "a.csv", &recipients_csv(600, 3));
    act_ok(&daemon, sending, "start");
    wait_sent(&daemon, sending, 3);
    let paused = create(&daemon, "Paused", "reminders", &["later"]);
    upload_ok(&daemon, paused, "b.csv", &recipients_csv(700, 2));
    act_ok(&daemon, paused, "start");
    wait_sent(&daemon, paused, 2);
    act_ok(&daemon, paused, "pause");
    let draft = create(&daemon, "Draft", "reminders", &[]);

    let snapshot = |daemon: &Daemon| -> Vec<Value> {
        [sending, paused, draft]
            .iter()
            .flat_map(|id| {
                [
                    get_json(daemon, &format!("/v1/campaigns/{id}")),
                    get_json(daemon, &format!("/v1/campaigns/{id}/stats")),
                    get_json(daemon, &format!("/v1/campaigns/{id}/recipients")),
                ]
            })
            .collect()
    };
    let before = snapshot(&daemon);
    let log = daemon.log.clone();
    let stopped = daemon.terminate();
    let first_log = log_with(&log, "stopped; the store is flushed", PATIENCE);
    assert!(stopped, "SIGTERM ends with success; log:\n{first_log}");
    assert!(
        first_log.contains("shutting down") && first_log.contains("stopped; the store is flushed"),
        "a clean stop is logged:\n{first_log}"
    );

    let daemon = site.start(&config);
    let after = snapshot(&daemon);
    assert_eq!(
        before,
        after,
        "the same state after a restart\nfirst log:\n{first_log}\nsecond log:\n{}",
        daemon.log()
    );
    assert_eq!(after[0]["state"], "sending");
    assert_eq!(after[3]["state"], "paused");
    assert_eq!(after[6]["state"], "draft");
    // And the restarted daemon carries on: the paused campaign resumes.
    assert_eq!(act_ok(&daemon, paused, "resume")["state"], "sending");
}
