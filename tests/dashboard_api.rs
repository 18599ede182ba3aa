//! End-to-end tests of what the web dashboard reads from `switchboard run`: the campaign
//! list's columns (owner, provider, senders, messages, progress) and their sorts, the
//! schedule preview (`/v1/campaigns/{id}/preview`) and the live figures (`/v1/realtime`).
//! The real binary on a loopback port with the bundled `mock` provider, driven over HTTP.
//!
//! Set `SWITCHBOARD_TEST_LOG=1` to see the daemons' logs as the tests run.

mod daemon_support;

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use daemon_support::{
    Config, Daemon, Site, count, error_code, expect_status, get_json, paced_notice, recipients_csv,
    timestamp,
};
use serde_json::{Value, json};

/// The API token (the harness hands it to the daemon as `SWITCHBOARD_TEST_TOKEN`).
const TOKEN: &str = "dashboard-token-8d2e";
/// What the mock provider's webhooks must carry.
const HOOK_TOKEN: &str = "whsec-dashboard-41";
/// Long enough for a loaded 2-core machine; every wait polls and returns as soon as it can.
const PATIENCE: Duration = Duration::from_secs(60);

fn start_site(name: &str, workflows: &[(&str, String)]) -> (Site, Daemon) {
    let site = Site::new(name, TOKEN);
    for (file, text) in workflows {
        site.workflow(file, text);
    }
    let daemon = site.start(&Config::new().mock(HOOK_TOKEN));
    (site, daemon)
}

/// Creates a draft campaign (with an owner when given); returns its view.
#[track_caller]
fn create(daemon: &Daemon, name: &str, workflow: &str, owner: Option<&str>) -> Value {
    let mut body = json!({ "name": name, "workflow": workflow });
    if let Some(owner) = owner {
        body["owner"] = json!(owner);
    }
    let response = daemon.post_json("/v1/campaigns", &body);
    expect_status(daemon, "create a campaign", &response, 201);
    response.json()
}

#[track_caller]
fn upload(daemon: &Daemon, campaign: u64, csv: &str) {
    let response = daemon.call(
        "POST",
        &format!("/v1/campaigns/{campaign}/lists?filename=people.csv"),
        Some(("text/csv", csv.as_bytes())),
    );
    expect_status(daemon, "upload a list", &response, 201);
}

#[track_caller]
fn act(daemon: &Daemon, campaign: u64, action: &str) -> Value {
    let response = daemon.call("POST", &format!("/v1/campaigns/{campaign}/{action}"), None);
    expect_status(daemon, action, &response, 200);
    response.json()
}

fn id(view: &Value) -> u64 {
    view["id"].as_u64().expect("a campaign id")
}

/// The ids of `GET /v1/campaigns?<query>`, in order.
#[track_caller]
fn listed(daemon: &Daemon, query: &str) -> Vec<u64> {
    get_json(daemon, &format!("/v1/campaigns?{query}"))["campaigns"]
        .as_array()
        .expect("campaigns")
        .iter()
        .map(id)
        .collect()
}

#[test]
fn the_list_shows_and_sorts_by_owner_sender_state_messages_and_progress() {
    let (_site, daemon) = start_site(
        "dashboard-list",
        &[
            ("north.yaml", paced_notice("north", "+14165550101", 50.0)),
            ("south.yaml", paced_notice("south", "+14165550102", 50.0)),
        ],
    );

    // Owners are trimmed; blank or over-long ones are refused.
    let zoe = create(&daemon, "Zoe's", "south", Some("  zoe  "));
    assert_eq!(zoe["owner"], "zoe");
    assert_eq!(zoe["provider"], "mock");
    assert_eq!(zoe["senders"], json!(["+14165550102"]));
    assert_eq!(zoe["messages"], 0);
    assert_eq!(zoe["progress"], 0.0);
    for owner in ["   ".to_string(), "x".repeat(101)] {
        let refused = daemon.post_json(
            "/v1/campaigns",
            &json!({ "name": "n", "workflow": "north", "owner": owner }),
        );
        expect_status(&daemon, "a bad owner", &refused, 400);
        assert_eq!(error_code(&daemon, &refused), "bad_request");
    }
    let ada = create(&daemon, "Ada's", "north", Some("Ada"));
    let nobody = create(&daemon, "Nobody's", "south", None);
    assert_eq!(nobody["owner"], Value::Null);

    // Ada's campaign runs to the end: 2 messages, progress 1.
    upload(&daemon, id(&ada), &recipients_csv(0, 2));
    act(&daemon, id(&ada), "start");
    let done = daemon.wait_for(&format!("/v1/campaigns/{}", id(&ada)), PATIENCE, |c| {
        c["state"] == "completed"
    });
    assert_eq!(count(&done, "sent"), 2, "{done}");
    assert_eq!(done["messages"], 2, "{done}");
    assert_eq!(done["progress"], 1.0, "{done}");
    // Zoe's has recipients, none reached: progress 0.
    upload(&daemon, id(&zoe), &recipients_csv(10, 3));

    // A duplicate keeps the owner.
    let copy = daemon.post_json(&format!("/v1/campaigns/{}/duplicate", id(&zoe)), &json!({}));
    expect_status(&daemon, "duplicate", &copy, 201);
    let copy = copy.json();
    assert_eq!(copy["owner"], "zoe");

    let (ada, zoe, nobody, copy) = (id(&ada), id(&zoe), id(&nobody), id(&copy));
    assert_eq!(listed(&daemon, "owner=zoe&sort=id&order=asc"), [zoe, copy]);
    assert_eq!(listed(&daemon, "owner=Ada"), [ada]);
    assert!(
        listed(&daemon, "owner=ada").is_empty(),
        "the owner filter is exact"
    );

    // Each new column sorts (ties by id).
    assert_eq!(
        listed(&daemon, "sort=owner&order=asc"),
        [nobody, ada, zoe, copy],
        "no owner first, then any case"
    );
    assert_eq!(
        listed(&daemon, "sort=state&order=asc"),
        [zoe, nobody, copy, ada],
        "drafts before completed"
    );
    assert_eq!(
        listed(&daemon, "sort=sender&order=asc"),
        [ada, zoe, nobody, copy]
    );
    assert_eq!(
        listed(&daemon, "sort=messages&order=desc"),
        [ada, copy, nobody, zoe]
    );
    assert_eq!(
        listed(&daemon, "sort=progress&order=asc"),
        [zoe, nobody, copy, ada]
    );
    let refused = daemon.get("/v1/campaigns?sort=cost");
    expect_status(&daemon, "an unknown sort", &refused, 400);
}

#[test]
fn the_preview_plans_each_recipients_messages_without_sending() {
    let (_site, daemon) = start_site(
        "dashboard-preview",
        &[("north.yaml", paced_notice("north", "+14165550101", 1.0))],
    );
    let campaign = id(&create(&daemon, "Preview", "north", None));
    upload(&daemon, campaign, &recipients_csv(0, 3));

    let before = Utc::now() - TimeDelta::seconds(5);
    let preview = get_json(&daemon, &format!("/v1/campaigns/{campaign}/preview"));
    assert_eq!(preview["recipients_total"], 3, "{preview}");
    let start = timestamp(&preview["start"]);
    assert!(start >= before, "starts now: {preview}");
    let plans = preview["plans"].as_array().expect("plans");
    assert_eq!(plans.len(), 3, "{preview}");
    let mut instants = Vec::new();
    for (seq, plan) in plans.iter().enumerate() {
        assert_eq!(plan["row"], seq, "{plan}");
        assert_eq!(plan["phone"], format!("+1416555{seq:04}"), "{plan}");
        assert_eq!(plan["status"], "sent", "{plan}");
        let message = &plan["messages"][0];
        assert_eq!(message["step"], "notice", "{plan}");
        assert_eq!(
            message["body"],
            format!("Hi Person {seq}, your order from north has shipped."),
            "{plan}"
        );
        assert!(
            message["send_local"]
                .as_str()
                .is_some_and(|l| !l.is_empty())
        );
        instants.push(timestamp(&message["send_utc"]));
    }
    // One a second from one sender.
    assert!(instants.windows(2).all(|w| w[1] >= w[0]), "{instants:?}");
    assert!(
        instants[2] - instants[0] >= TimeDelta::seconds(1),
        "{instants:?}"
    );

    // `limit` takes the first recipients.
    let first = get_json(
        &daemon,
        &format!("/v1/campaigns/{campaign}/preview?limit=1"),
    );
    assert_eq!(first["plans"].as_array().map(Vec::len), Some(1), "{first}");
    assert_eq!(first["recipients_total"], 3);

    // A scheduled campaign is previewed from its start.
    let at = (Utc::now() + TimeDelta::days(2))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let response = daemon.post_json(
        &format!("/v1/campaigns/{campaign}/schedule"),
        &json!({ "at": at }),
    );
    expect_status(&daemon, "schedule", &response, 200);
    let scheduled = get_json(&daemon, &format!("/v1/campaigns/{campaign}/preview"));
    assert_eq!(timestamp(&scheduled["start"]), timestamp(&json!(at)));
    let send = timestamp(&scheduled["plans"][0]["messages"][0]["send_utc"]);
    assert!(send >= timestamp(&json!(at)), "{scheduled}");

    // Nothing was sent for real.
    let view = get_json(&daemon, &format!("/v1/campaigns/{campaign}"));
    assert_eq!(view["state"], "scheduled");
    assert_eq!(view["messages"], 0);
    assert_eq!(count(&view, "sent"), 0);

    let missing = daemon.get("/v1/campaigns/999999/preview");
    expect_status(&daemon, "preview of no campaign", &missing, 404);
}

#[test]
fn realtime_shows_a_sending_campaigns_rate_per_sender() {
    let (_site, daemon) = start_site(
        "dashboard-realtime",
        &[("north.yaml", paced_notice("north", "+14165550101", 4.0))],
    );
    let idle = get_json(&daemon, "/v1/realtime");
    assert!(idle["queue_depth"].is_u64(), "{idle}");
    assert_eq!(idle["campaigns"], json!([]), "{idle}");

    let campaign = id(&create(&daemon, "Live", "north", Some("ada")));
    upload(&daemon, campaign, &recipients_csv(0, 40));
    act(&daemon, campaign, "start");

    // 40 recipients at 4 a second: about ten seconds of sending.
    let live = daemon.wait_for("/v1/realtime", PATIENCE, |answer| {
        answer["campaigns"].as_array().is_some_and(|campaigns| {
            campaigns.iter().any(|c| {
                c["id"] == campaign
                    && c["senders"][0]["last_minute"].as_u64().unwrap_or(0) > 0
                    && c["senders"][0]["last_10s_per_second"]
                        .as_f64()
                        .unwrap_or(0.0)
                        > 0.0
            })
        })
    });
    assert!(live["queue_depth"].is_u64(), "{live}");
    timestamp(&live["at"]);
    let entry = live["campaigns"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == campaign))
        .expect("the campaign");
    assert_eq!(entry["name"], "Live");
    assert_eq!(entry["provider"], "mock");
    assert!(
        ["sending", "retrying"].contains(&entry["state"].as_str().unwrap_or_default()),
        "{entry}"
    );
    assert_eq!(entry["senders"][0]["sender"], "+14165550101", "{entry}");
    assert!(entry["pending"].as_u64().is_some_and(|p| p < 40), "{entry}");
    assert!(
        entry["senders"][0]["last_10s_per_second"]
            .as_f64()
            .is_some_and(|rate| rate <= 4.5),
        "never faster than the rate: {entry}"
    );
    assert_eq!(entry["errors_last_minute"], 0, "{entry}");
    assert_eq!(entry["recent_errors"], json!([]), "{entry}");

    // Once it completes it is no longer live.
    daemon.wait_for(&format!("/v1/campaigns/{campaign}"), PATIENCE, |c| {
        c["state"] == "completed"
    });
    let after = get_json(&daemon, "/v1/realtime");
    assert!(
        after["campaigns"]
            .as_array()
            .is_some_and(|c| c.iter().all(|c| c["id"] != campaign)),
        "{after}"
    );
}
