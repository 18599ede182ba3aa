//! End-to-end tests of `switchboard simulate`, driving the real binary with the example
//! workflows and a sample recipient file.

mod support;

use support::switchboard;

const RECIPIENTS: &str = "tests/fixtures/simulate/recipients.csv";

/// Runs `switchboard simulate ARGS`, expects success, and returns its standard output.
fn simulate(args: &[&str]) -> String {
    let output = switchboard(&[&["simulate"], args].concat());
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

#[test]
fn plans_each_message_in_the_recipients_local_window() {
    // Monday 2026-12-07 15:00 UTC.
    let plans = simulate(&[
        "workflows/proactive-outreach.yaml",
        "--recipients",
        RECIPIENTS,
        "--from",
        "2026-12-07T15:00:00Z",
        "--format",
        "json",
    ]);
    let plans: serde_json::Value = serde_json::from_str(&plans).expect("json");
    let plans = plans.as_array().expect("array");
    assert_eq!(plans.len(), 4);
    for plan in plans {
        let first = &plan["messages"][0];
        let local = first["send_local"].as_str().expect("local time");
        // Window: mon-fri 09:00-17:00, sat 10:00-14:00, narrowed to 09:00-20:00 by quiet hours.
        let hour: u32 = local
            .split(' ')
            .nth(2)
            .and_then(|hm| hm[..2].parse().ok())
            .expect("hour");
        assert!(
            (9..17).contains(&hour),
            "{} first message at {local}",
            plan["phone"]
        );
        assert!(
            !local.contains(" Sun "),
            "{} texted on a Sunday: {local}",
            plan["phone"]
        );
    }
    // Kathmandu is already at 20:45 on Monday: the message waits for Tuesday 09:00 local.
    let kathmandu = plans
        .iter()
        .find(|p| p["timezone"] == "Asia/Kathmandu")
        .expect("kathmandu");
    assert_eq!(
        kathmandu["messages"][0]["send_local"],
        "2026-12-08 Tue 09:00 +0545"
    );
}

#[test]
fn shows_why_a_recipient_gets_nothing() {
    let text = simulate(&[
        "workflows/spring-promo.yaml",
        "--recipients",
        RECIPIENTS,
        "--from",
        "2026-12-07T15:00:00Z",
    ]);
    assert!(text.contains("row 4 +9779801234567 (Asia/Kathmandu): skipped — filtered: filtered out by `recipient.company != \"\"`"), "{text}");
    assert!(
        text.contains("Hi John Doe, we have a special offer for Acme Corp!"),
        "{text}"
    );
    assert!(
        text.ends_with("4 recipients, 3 messages planned\n"),
        "{text}"
    );
}

#[test]
fn scripted_replies_resume_waiting_recipients() {
    let text = simulate(&[
        "workflows/ab-test-offer.yaml",
        "--recipients",
        RECIPIENTS,
        "--from",
        "2026-12-07T15:00:00Z",
        "--replies",
        "tests/fixtures/simulate/replies-yes.csv",
        "--format",
        "csv",
    ]);
    let confirmations: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("is on your account"))
        .collect();
    assert_eq!(
        confirmations.len(),
        1,
        "only the recipient who replied YES is confirmed:\n{text}"
    );
    assert!(confirmations[0].contains("+14165550001"), "{text}");
}

#[test]
fn refuses_an_invalid_workflow_or_a_file_without_phone_column() {
    let output = switchboard(&[
        "simulate",
        "tests/fixtures/invalid/05-bad-duration.yaml",
        "--recipients",
        RECIPIENTS,
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("error[bad-duration]"));
    let output = switchboard(&[
        "simulate",
        "workflows/spring-promo.yaml",
        "--recipients",
        "tests/fixtures/simulate/no-phone.csv",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no phone column"), "{stderr}");
}
