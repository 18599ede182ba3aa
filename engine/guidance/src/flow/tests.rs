//! Flow semantics: triggers, every step kind, asks and their answers, failures.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};
use switchboard_model::Workflow;
use switchboard_model::conversation::ConversationWorkflow;

use super::*;

const HEAD: &str = "kind: conversation\n";

/// A workflow that passes the model's validation.
fn workflow(yaml: &str) -> Arc<ConversationWorkflow> {
    let source = format!("{HEAD}{yaml}");
    let report = switchboard_model::load_source("test.yaml", &source);
    match report.workflow {
        Some(Workflow::Conversation(conversation)) => Arc::new(*conversation),
        other => panic!(
            "not a valid conversation workflow: {:#?} {other:?}",
            report.diagnostics
        ),
    }
}

fn flows(yamls: &[&str]) -> FlowSet {
    let mut set = FlowSet::new();
    for yaml in yamls {
        set.insert(workflow(yaml), 1).expect("compiles");
    }
    set
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_780_000_000, 0).expect("valid timestamp")
}

fn message<'a>(text: &'a str, contact: &'a Map<String, Value>) -> Message<'a> {
    Message {
        text,
        now: now(),
        campaign_workflow: None,
        contact,
        conversation: ConversationView {
            state: "open",
            queue: None,
            assignee: None,
            tags: &[],
        },
    }
}

fn contact(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn start(set: &FlowSet, id: &str, text: &str) -> Outcome {
    let contact = Map::new();
    set.start(id, &message(text, &contact)).expect("runs")
}

fn suggest(workflow: &str, text: &str, answer: Option<&str>, rank: u32) -> Action {
    Action::Suggest {
        workflow: workflow.into(),
        text: text.into(),
        answer: answer.map(Into::into),
        rank,
    }
}

fn ask(question: &str) -> Action {
    Action::Ask {
        question: question.into(),
    }
}

fn save(field: &str, value: Value) -> Action {
    Action::Save {
        field: field.into(),
        value,
    }
}

fn tag(tag: &str) -> Action {
    Action::Tag(tag.into())
}

fn failed_at(outcome: &Outcome) -> Vec<&str> {
    outcome
        .actions
        .iter()
        .filter_map(|action| match action {
            Action::StepFailed { step, .. } => Some(step.as_str()),
            _ => None,
        })
        .collect()
}

// ---- triggers ----

#[test]
fn keywords_match_whole_words_and_phrases_case_insensitively() {
    let set =
        flows(&["id: pricing\ntrigger: { keywords: [price, \"how much\"] }\nsteps: [ tag: x ]\n"]);
    let contact = Map::new();
    let matches = |text: &str| !set.matching(&message(text, &contact)).is_empty();
    assert!(matches("What's the PRICE?"));
    assert!(matches("price"));
    assert!(matches("How much is it?"));
    assert!(matches("so... how   much, roughly"));
    assert!(!matches("priceless"));
    assert!(!matches("prices"));
    assert!(!matches("how is it so much"));
    assert!(!matches("somehow much"));
    assert!(!matches(""));
}

#[test]
fn regex_when_campaign_and_any_triggers() {
    let set = flows(&[
        "id: by-regex\ntrigger: { regex: '(?i)\\border\\s*#?\\d+' }\nsteps: [ tag: x ]\n",
        "id: by-when\ntrigger: { when: 'contact.vip == true && conversation.state == \"open\"' }\nsteps: [ tag: x ]\n",
        "id: by-campaign\ntrigger: { campaign: spring-promo }\nsteps: [ tag: x ]\n",
        "id: by-any\ntrigger: { any: true }\nsteps: [ tag: x ]\n",
    ]);
    let plain = Map::new();
    let vip = contact(json!({"vip": true}));
    assert_eq!(
        set.matching(&message("where is Order #123?", &plain)),
        ["by-any", "by-regex"]
    );
    assert_eq!(set.matching(&message("hello", &vip)), ["by-any", "by-when"]);
    let closed = Message {
        conversation: ConversationView {
            state: "closed",
            queue: None,
            assignee: None,
            tags: &[],
        },
        ..message("hello", &vip)
    };
    assert_eq!(set.matching(&closed), ["by-any"]);
    let reply = Message {
        campaign_workflow: Some("spring-promo"),
        ..message("hello", &plain)
    };
    assert_eq!(set.matching(&reply), ["by-any", "by-campaign"]);
    let other = Message {
        campaign_workflow: Some("autumn-promo"),
        ..message("hello", &plain)
    };
    assert_eq!(set.matching(&other), ["by-any"]);
}

#[test]
fn every_condition_given_must_hold() {
    let set = flows(&[
        "id: both\ntrigger: { keywords: [refund], campaign: spring-promo, when: 'message.text.len() < 40' }\nsteps: [ tag: x ]\n",
    ]);
    let plain = Map::new();
    let reply = |text| Message {
        campaign_workflow: Some("spring-promo"),
        ..message(text, &plain)
    };
    assert_eq!(set.matching(&reply("refund please")), ["both"]);
    assert!(set.matching(&message("refund please", &plain)).is_empty());
    assert!(set.matching(&reply("hello")).is_empty());
    assert!(
        set.matching(&reply("refund please, this is a very long message indeed"))
            .is_empty()
    );
}

#[test]
fn higher_priority_first_then_by_id() {
    let set = flows(&[
        "id: zeta\npriority: 5\ntrigger: { any: true }\nsteps: [ tag: x ]\n",
        "id: alpha\ntrigger: { any: true }\nsteps: [ tag: x ]\n",
        "id: beta\npriority: 5\ntrigger: { any: true }\nsteps: [ tag: x ]\n",
        "id: low\npriority: -1\ntrigger: { any: true }\nsteps: [ tag: x ]\n",
        "id: top\npriority: 100\ntrigger: { any: true }\nsteps: [ tag: x ]\n",
    ]);
    let plain = Map::new();
    assert_eq!(
        set.matching(&message("hi", &plain)),
        ["top", "beta", "zeta", "alpha", "low"]
    );
}

#[test]
fn a_failing_when_does_not_match() {
    let set =
        flows(&["id: broken\ntrigger: { when: 'contact.count * 2 > 2' }\nsteps: [ tag: x ]\n"]);
    let text = contact(json!({"count": "three"}));
    assert!(set.matching(&message("hi", &text)).is_empty());
    let number = contact(json!({"count": 3}));
    assert_eq!(set.matching(&message("hi", &number)), ["broken"]);
}

// ---- steps ----

#[test]
fn runs_every_step_kind_in_order() {
    let set = flows(&[r#"id: all
trigger: { any: true }
fields: { name: }
variables: { team: Support, limit: 3 }
steps:
  - suggest: "Greet {name|the contact}"
  - suggest:
      text: "Offer help from {team}"
      answer: "Hi {name|there}, {team} here."
      rank: 1
  - route: help
  - route: { queue: billing, escalate_after: 15m, escalate_to: billing-leads }
  - reply: "Thanks {name|}, we got it."
  - reply: { text: "See attached", media: ["https://example.com/a.png"] }
  - save: { field: score, value: 'vars.limit * 2' }
  - tag: triaged
  - close
"#]);
    let contact = contact(json!({"name": "Ana"}));
    let outcome = set.start("all", &message("hi", &contact)).expect("runs");
    assert_eq!(
        outcome.actions,
        [
            suggest("all", "Greet Ana", None, 2),
            suggest(
                "all",
                "Offer help from Support",
                Some("Hi Ana, Support here."),
                1
            ),
            Action::Route {
                queue: "help".into(),
                escalate_after: None,
                escalate_to: None
            },
            Action::Route {
                queue: "billing".into(),
                escalate_after: Some(std::time::Duration::from_secs(900)),
                escalate_to: Some("billing-leads".into())
            },
            Action::Reply {
                text: "Thanks Ana, we got it.".into(),
                media: vec![]
            },
            Action::Reply {
                text: "See attached".into(),
                media: vec!["https://example.com/a.png".into()]
            },
            save("score", json!(6)),
            tag("triaged"),
            Action::Close,
        ]
    );
    assert_eq!(outcome.pending, None);
}

#[test]
fn close_ends_the_run() {
    let set = flows(&[
        "id: c\ntrigger: { any: true }\nsteps:\n  - branch: { if: 'true', then: [ close ] }\n  - tag: after\n",
    ]);
    assert_eq!(start(&set, "c", "hi").actions, [Action::Close]);
}

#[test]
fn suggestions_with_a_false_when_are_left_out() {
    let set = flows(&[r#"id: s
trigger: { any: true }
steps:
  - suggest: { text: "VIP", when: 'contact.vip == true' }
  - suggest: { text: "Everyone", when: 'message.text != ""' }
"#]);
    assert_eq!(
        start(&set, "s", "hi").actions,
        [suggest("s", "Everyone", None, 2)]
    );
}

#[test]
fn unranked_suggestions_rank_after_the_highest_explicit_rank_in_document_order() {
    let set = flows(&[r#"id: r
trigger: { any: true }
steps:
  - suggest: first
  - branch:
      if: 'false'
      then:
        - suggest: { text: never shown, rank: 7 }
        - suggest: never shown either
      else:
        - suggest: from else
  - suggest: { text: ranked, rank: 2 }
  - suggest: last
"#]);
    assert_eq!(
        start(&set, "r", "hi").actions,
        [
            suggest("r", "first", None, 8),
            suggest("r", "from else", None, 10),
            suggest("r", "ranked", None, 2),
            suggest("r", "last", None, 11),
        ]
    );
}

#[test]
fn branches_run_then_or_else_and_continue_after() {
    let set = flows(&[r#"id: b
trigger: { any: true }
steps:
  - branch:
      if: 'contact.plan == "pro"'
      then: [ tag: pro ]
      else: [ tag: basic ]
  - branch:
      if: 'conversation.tags.contains("vip")'
      then: [ route: vip ]
  - tag: done
"#]);
    let pro = contact(json!({"plan": "pro"}));
    let outcome = set.start("b", &message("hi", &pro)).expect("runs");
    assert_eq!(outcome.actions, [tag("pro"), tag("done")]);
    let tags = ["vip".to_string()];
    let vip = Message {
        conversation: ConversationView {
            state: "assigned",
            queue: Some("general"),
            assignee: Some("sam"),
            tags: &tags,
        },
        ..message("hi", &pro)
    };
    let outcome = set.start("b", &vip).expect("runs");
    assert_eq!(
        outcome.actions,
        [
            tag("pro"),
            Action::Route {
                queue: "vip".into(),
                escalate_after: None,
                escalate_to: None
            },
            tag("done")
        ]
    );
    let plain = Map::new();
    let outcome = set.start("b", &message("hi", &plain)).expect("runs");
    assert_eq!(outcome.actions, [tag("basic"), tag("done")]);
}

#[test]
fn saved_values_are_visible_to_later_steps_of_the_run() {
    let set = flows(&[r#"id: s
trigger: { any: true }
steps:
  - save: { field: shout, value: 'message.text.to_upper()' }
  - save: { field: visits, value: 'contact.visits + 1' }
  - branch:
      if: 'shout == "HELLO" && contact.shout == "HELLO" && visits == 3'
      then:
        - suggest: "{shout} on visit {visits}"
"#]);
    let returning = contact(json!({"visits": 2}));
    let outcome = set.start("s", &message("hello", &returning)).expect("runs");
    assert_eq!(
        outcome.actions,
        [
            save("shout", json!("HELLO")),
            save("visits", json!(3)),
            suggest("s", "HELLO on visit 3", None, 1),
        ]
    );
}

#[test]
fn rhai_errors_and_missing_fields_fail_the_step_and_the_flow_goes_on() {
    let set = flows(&[r#"id: f
trigger: { any: true }
steps:
  - save: { field: n, value: 'contact.count - 1' }
  - branch: { if: 'contact.count', then: [ tag: never ] }
  - suggest: { text: "x", when: 'contact.count * 2' }
  - suggest: "Hello {name}"
  - reply: "Dear {name}"
  - ask: { question: "Your {name}?", save_as: answer_one }
  - tag: reached
"#]);
    let count = contact(json!({"count": "many"}));
    let outcome = set.start("f", &message("hi", &count)).expect("runs");
    assert_eq!(
        failed_at(&outcome),
        [
            "steps[0]", "steps[1]", "steps[2]", "steps[3]", "steps[4]", "steps[5]"
        ]
    );
    assert_eq!(outcome.actions.last(), Some(&tag("reached")));
    assert_eq!(outcome.pending, None);
    match &outcome.actions[0] {
        Action::StepFailed {
            workflow, error, ..
        } => {
            assert_eq!(workflow, "f");
            assert!(error.contains("contact.count - 1"), "{error}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    match &outcome.actions[1] {
        Action::StepFailed { error, .. } => {
            assert!(error.contains("expected true or false"), "{error}")
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    match &outcome.actions[3] {
        Action::StepFailed { error, .. } => assert!(error.contains("{name}"), "{error}"),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn runaway_expressions_are_stopped_by_the_sandbox() {
    let set = flows(&[
        "id: loop\ntrigger: { any: true }\nsteps:\n  - save: { field: n, value: '(0..100000000).map(|x| x + 1).len()' }\n  - tag: after\n",
    ]);
    let outcome = start(&set, "loop", "hi");
    assert_eq!(failed_at(&outcome), ["steps[0]"]);
    assert_eq!(outcome.actions.last(), Some(&tag("after")));
}

// ---- asks ----

const SIZE: &str = r#"id: size
trigger: { any: true }
steps:
  - tag: before
  - ask:
      question: "How many people, {name|friend}?"
      save_as: team_size
      # Short, and no letters.
      validate: 'answer.len() < 6 && answer.to_upper() == answer.to_lower()'
      retry_text: "Sorry, a number please."
      attempts: 2
      timeout: 1h
  - suggest: "Team of {team_size|unknown size}"
  - tag: after
"#;

#[test]
fn an_ask_waits_and_a_valid_answer_is_saved_and_the_flow_continues() {
    let set = flows(&[SIZE]);
    let outcome = start(&set, "size", "hi");
    assert_eq!(
        outcome.actions,
        [tag("before"), ask("How many people, friend?")]
    );
    let pending = outcome.pending.expect("waits for an answer");
    assert_eq!(
        pending,
        PendingAsk {
            workflow: "size".into(),
            version: 1,
            path: vec![1],
            save_as: "team_size".into(),
            attempts_used: 0,
            expires_at: Some(now() + TimeDelta::hours(1)),
        }
    );
    let contact = Map::new();
    let outcome = set
        .answer(&pending, &message(" 12 ", &contact))
        .expect("runs");
    assert_eq!(
        outcome.actions,
        [
            save("team_size", json!(" 12 ")),
            suggest("size", "Team of  12 ", None, 1),
            tag("after"),
        ]
    );
    assert_eq!(outcome.pending, None);
}

#[test]
fn an_invalid_answer_is_asked_again_then_given_up() {
    let set = flows(&[SIZE]);
    let pending = start(&set, "size", "hi").pending.expect("pending");
    let contact = Map::new();
    let later = now() + TimeDelta::minutes(30);
    let first = set
        .answer(
            &pending,
            &Message {
                now: later,
                ..message("lots", &contact)
            },
        )
        .expect("runs");
    assert_eq!(first.actions, [ask("Sorry, a number please.")]);
    let again = first.pending.expect("asked again");
    assert_eq!(again.attempts_used, 1);
    assert_eq!(again.path, pending.path);
    assert_eq!(again.expires_at, Some(later + TimeDelta::hours(1)));
    // The second refused answer is the last attempt: nothing saved, the flow goes on.
    let second = set
        .answer(&again, &message("no idea", &contact))
        .expect("runs");
    assert_eq!(
        second.actions,
        [
            suggest("size", "Team of unknown size", None, 1),
            tag("after")
        ]
    );
    assert_eq!(second.pending, None);
}

#[test]
fn without_retry_text_the_question_is_asked_again() {
    let set = flows(&[
        "id: q\ntrigger: { any: true }\nsteps:\n  - ask: { question: \"Yes or no?\", save_as: choice, validate: 'answer.to_lower() in [\"yes\", \"no\"]' }\n",
    ]);
    let pending = start(&set, "q", "hi").pending.expect("pending");
    assert_eq!(pending.expires_at, None);
    let contact = Map::new();
    let outcome = set
        .answer(&pending, &message("maybe", &contact))
        .expect("runs");
    assert_eq!(outcome.actions, [ask("Yes or no?")]);
    assert_eq!(outcome.pending.map(|p| p.attempts_used), Some(1));
    let outcome = set
        .answer(&pending, &message("YES", &contact))
        .expect("runs");
    assert_eq!(outcome.actions, [save("choice", json!("YES"))]);
}

#[test]
fn an_ask_without_validate_takes_any_answer() {
    let set = flows(&[
        "id: q\ntrigger: { any: true }\nsteps:\n  - ask: { question: \"Anything else?\", save_as: note }\n  - suggest: \"Note: {note}\"\n",
    ]);
    let pending = start(&set, "q", "hi").pending.expect("pending");
    let contact = Map::new();
    let outcome = set
        .answer(&pending, &message("the wifi", &contact))
        .expect("runs");
    assert_eq!(
        outcome.actions,
        [
            save("note", json!("the wifi")),
            suggest("q", "Note: the wifi", None, 1)
        ]
    );
}

#[test]
fn a_validate_error_refuses_the_answer_and_is_recorded() {
    let set = flows(&[
        "id: q\ntrigger: { any: true }\nsteps:\n  - ask: { question: \"Age?\", save_as: age, validate: 'answer.parse_int() > 17', attempts: 1 }\n  - tag: after\n",
    ]);
    let pending = start(&set, "q", "hi").pending.expect("pending");
    let contact = Map::new();
    let outcome = set
        .answer(&pending, &message("thirty", &contact))
        .expect("runs");
    assert_eq!(failed_at(&outcome), ["steps[0]"]);
    assert_eq!(outcome.actions.last(), Some(&tag("after")));
}

#[test]
fn an_expired_ask_continues_without_saving() {
    let set = flows(&[SIZE]);
    let pending = start(&set, "size", "hi").pending.expect("pending");
    let contact = Map::new();
    let outcome = set.expire(&pending, &message("", &contact)).expect("runs");
    assert_eq!(
        outcome.actions,
        [
            suggest("size", "Team of unknown size", None, 1),
            tag("after")
        ]
    );
}

const NESTED: &str = r#"id: nested
trigger: { any: true }
steps:
  - tag: start
  - branch:
      if: 'contact.known == true'
      then:
        - tag: known
      else:
        - branch:
            if: 'true'
            then:
              - ask: { question: "Your email?", save_as: email, validate: 'answer.contains("@")', attempts: 1 }
              - tag: inner-after
        - ask: { question: "Your name?", save_as: name }
        - tag: else-after
  - tag: end
"#;

#[test]
fn asks_inside_branches_resume_out_of_every_branch() {
    let set = flows(&[NESTED]);
    let contact = Map::new();
    let first = start(&set, "nested", "hi");
    assert_eq!(first.actions, [tag("start"), ask("Your email?")]);
    let email = first.pending.expect("pending");
    assert_eq!(email.path, [1, 1, 0, 0, 0]);
    let second = set
        .answer(&email, &message("ana@example.com", &contact))
        .expect("runs");
    assert_eq!(
        second.actions,
        [
            save("email", json!("ana@example.com")),
            tag("inner-after"),
            ask("Your name?")
        ]
    );
    let name = second.pending.expect("pending");
    assert_eq!(name.path, [1, 1, 1]);
    let third = set.answer(&name, &message("Ana", &contact)).expect("runs");
    assert_eq!(
        third.actions,
        [save("name", json!("Ana")), tag("else-after"), tag("end")]
    );
    // A refused last attempt, or a timeout, resumes the same way.
    let refused = set.answer(&email, &message("no", &contact)).expect("runs");
    assert_eq!(refused.actions, [tag("inner-after"), ask("Your name?")]);
    let expired = set.expire(&email, &message("", &contact)).expect("runs");
    assert_eq!(expired.actions, refused.actions);
}

#[test]
fn a_question_that_cannot_be_rendered_is_skipped() {
    let set = flows(&[
        "id: q\ntrigger: { any: true }\nsteps:\n  - ask: { question: \"Hi {name}?\", save_as: x }\n  - tag: after\n",
    ]);
    let outcome = start(&set, "q", "hi");
    assert_eq!(failed_at(&outcome), ["steps[0]"]);
    assert_eq!(outcome.actions.last(), Some(&tag("after")));
    assert_eq!(outcome.pending, None);
}

// ---- loading and errors ----

#[test]
fn pending_asks_of_a_replaced_or_removed_flow_are_gone() {
    let mut set = flows(&[SIZE]);
    let pending = start(&set, "size", "hi").pending.expect("pending");
    let contact = Map::new();
    set.insert(workflow(SIZE), 2).expect("compiles");
    assert_eq!(set.len(), 1);
    let gone = FlowError::Gone {
        workflow: "size".into(),
        version: 1,
    };
    assert_eq!(
        set.answer(&pending, &message("3", &contact)),
        Err(gone.clone())
    );
    set.remove("size");
    assert!(set.is_empty());
    assert_eq!(set.expire(&pending, &message("", &contact)), Err(gone));
    assert_eq!(
        set.start("size", &message("", &contact)),
        Err(FlowError::UnknownFlow("size".into()))
    );
}

#[test]
fn a_path_that_is_not_an_ask_is_refused() {
    let set = flows(&[NESTED]);
    let contact = Map::new();
    for path in [
        vec![],
        vec![0],
        vec![1],
        vec![1, 2, 0],
        vec![1, 1, 7],
        vec![9],
    ] {
        let pending = PendingAsk {
            workflow: "nested".into(),
            version: 1,
            path: path.clone(),
            save_as: "email".into(),
            attempts_used: 0,
            expires_at: None,
        };
        let expected = Err(FlowError::NoAsk {
            workflow: "nested".into(),
            path,
        });
        assert_eq!(set.answer(&pending, &message("x", &contact)), expected);
        assert_eq!(set.expire(&pending, &message("x", &contact)), expected);
    }
}

fn unchecked(value: Value) -> Arc<ConversationWorkflow> {
    Arc::new(serde_json::from_value(value).expect("deserializes"))
}

#[test]
fn compile_errors_name_the_workflow_and_the_step_and_keep_the_old_flow() {
    let mut set = flows(&["id: w\ntrigger: { any: true }\nsteps: [ tag: old ]\n"]);
    let cases = [
        (
            json!({"trigger": {"regex": "(unclosed"}, "steps": [{"tag": "x"}]}),
            "trigger.regex",
        ),
        (
            json!({"trigger": {"when": "contact.x =="}, "steps": [{"tag": "x"}]}),
            "trigger.when",
        ),
        (
            json!({"trigger": {"keywords": ["?!"]}, "steps": [{"tag": "x"}]}),
            "trigger.keywords[0]",
        ),
        (json!({"trigger": {}, "steps": [{"tag": "x"}]}), "trigger"),
        (
            json!({"trigger": {"any": true}, "steps": [{"tag": "x"}, {"branch": {"if": "true", "then": [{"suggest": {"text": "x", "when": "nope"}}]}}]}),
            "steps[1].branch.then[0].suggest.when",
        ),
        (
            json!({"trigger": {"any": true}, "steps": [{"reply": "Hi {name"}]}),
            "steps[0].reply",
        ),
        (
            json!({"trigger": {"any": true}, "steps": [{"ask": {"question": "q", "save_as": "a", "validate": "answr == 1"}}]}),
            "steps[0].ask.validate",
        ),
    ];
    for (mut value, path) in cases {
        value["kind"] = json!("conversation");
        value["id"] = json!("w");
        match set.insert(unchecked(value), 2) {
            Err(FlowError::Compile {
                workflow,
                path: at,
                message,
            }) => {
                assert_eq!(workflow, "w");
                assert_eq!(at, path, "{message}");
            }
            other => panic!("expected a compile error at {path}, got {other:?}"),
        }
    }
    assert_eq!(start(&set, "w", "hi").actions, [tag("old")]);
}

#[test]
fn variables_in_templates_and_expressions() {
    let set = flows(&[r#"id: v
trigger: { when: 'vars.enabled && message.campaign == ()' }
variables: { enabled: true, hours: "9-5", threshold: 2.5 }
steps:
  - branch:
      if: 'vars.threshold > 2.0 && vars.hours == "9-5"'
      then:
        - reply: "We answer {hours}; ref {phone}."
"#]);
    let phone = contact(json!({"phone": "+14165550100"}));
    assert_eq!(set.matching(&message("hi", &phone)), ["v"]);
    let outcome = set.start("v", &message("hi", &phone)).expect("runs");
    assert_eq!(
        outcome.actions,
        [Action::Reply {
            text: "We answer 9-5; ref +14165550100.".into(),
            media: vec![]
        }]
    );
}

#[test]
fn outcomes_serialize() {
    let set = flows(&[SIZE]);
    let outcome = start(&set, "size", "hi");
    let text = serde_json::to_string(&outcome).expect("serializes");
    let back: Outcome = serde_json::from_str(&text).expect("deserializes");
    assert_eq!(back, outcome);
}
