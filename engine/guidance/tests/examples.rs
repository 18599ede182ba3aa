//! The conversation workflows in `workflows/`, loaded as the daemon loads them and run on
//! realistic messages through the public API.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};
use switchboard_guidance::FlowSet;
use switchboard_guidance::{Action, ConversationView, Keyword, KeywordSets, Message, PendingAsk};
use switchboard_model::Workflow;

fn examples() -> FlowSet {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows");
    let reports = switchboard_model::load_path(&dir).expect("workflows/ is readable");
    let mut set = FlowSet::new();
    for report in reports {
        match report.workflow {
            Some(Workflow::Conversation(conversation)) => set
                .insert(Arc::new(*conversation), 1)
                .unwrap_or_else(|error| panic!("{}: {error}", report.file)),
            Some(Workflow::Campaign(_)) => {}
            None => panic!("{} is invalid: {:#?}", report.file, report.diagnostics),
        }
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

fn route(queue: &str) -> Action {
    Action::Route {
        queue: queue.into(),
        escalate_after: None,
        escalate_to: None,
    }
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

#[test]
fn every_conversation_example_loads() {
    let set = examples();
    assert_eq!(set.len(), 3);
}

#[test]
fn a_pricing_question_routes_to_sales_with_ranked_suggestions_and_asks_the_team_size() {
    let set = examples();
    let dana = contact(json!({"name": "Dana", "company": "Acme", "phone": "+14165550123"}));
    let question = message("Hi! How much would it cost for our team?", &dana);
    assert_eq!(set.matching(&question), ["pricing-guidance"]);
    let outcome = set.start("pricing-guidance", &question).expect("runs");
    assert_eq!(
        outcome.actions,
        [
            Action::Route {
                queue: "sales".into(),
                escalate_after: Some(Duration::from_secs(15 * 60)),
                escalate_to: Some("sales-leads".into()),
            },
            suggest(
                "pricing-guidance",
                "Dana asks about pricing. Confirm their team size before quoting.",
                None,
                1
            ),
            suggest(
                "pricing-guidance",
                "Send the pricing page and offer a call.",
                Some(
                    "Hi Dana, our plans are at https://example.com/pricing. Happy to walk you through them on a quick call?"
                ),
                2
            ),
            suggest(
                "pricing-guidance",
                "They are with Acme: check the CRM for an existing account.",
                None,
                3
            ),
            ask("Thanks for asking! Roughly how many people would use it?"),
        ]
    );
    assert_eq!(
        outcome.pending,
        Some(PendingAsk {
            workflow: "pricing-guidance".into(),
            version: 1,
            path: vec![4],
            save_as: "team_size".into(),
            attempts_used: 0,
            expires_at: Some(now() + TimeDelta::hours(1)),
        })
    );

    // Without a company, the CRM hint is left out and the defaults fill the templates.
    let anonymous = Map::new();
    let outcome = set
        .start("pricing-guidance", &message("pricing?", &anonymous))
        .expect("runs");
    assert!(outcome.actions.contains(&suggest(
        "pricing-guidance",
        "The contact asks about pricing. Confirm their team size before quoting.",
        None,
        1
    )));
    assert_eq!(
        outcome
            .actions
            .iter()
            .filter(|a| matches!(a, Action::Suggest { .. }))
            .count(),
        2
    );
}

#[test]
fn the_pricing_team_size_question_and_its_answers() {
    let set = examples();
    let dana = contact(json!({"name": "Dana"}));
    let pending = set
        .start("pricing-guidance", &message("how much?", &dana))
        .expect("runs")
        .pending
        .expect("asks the team size");

    // Timing out goes on without a team size.
    let expired = set.expire(&pending, &message("", &dana)).expect("runs");
    assert_eq!(expired.actions, [Action::Tag("pricing".into())]);

    // A valid answer is saved and the flow goes on; a wrong one is asked again.
    let wrong = set
        .answer(&pending, &message("about twelve people", &dana))
        .expect("runs");
    assert_eq!(
        wrong.actions.last(),
        Some(&ask("Sorry, how many people? A number is fine."))
    );
    let again = wrong.pending.expect("asked again");
    assert_eq!(again.attempts_used, 1);
    let saved = set.answer(&again, &message("12", &dana)).expect("runs");
    assert_eq!(
        saved.actions,
        [
            Action::Save {
                field: "team_size".into(),
                value: serde_json::Value::String("12".into())
            },
            Action::Tag("pricing".into())
        ]
    );
    assert_eq!(saved.pending, None);
}

#[test]
fn a_sentence_that_mentions_stopping_is_flagged_to_compliance() {
    let set = examples();
    let nobody = Map::new();
    let text = "Please stop texting me at work";
    let keywords = KeywordSets::default();
    assert_eq!(keywords.classify(text), None);
    assert!(keywords.mentions_opt_out(text));
    assert_eq!(set.matching(&message(text, &nobody)), ["possible-opt-out"]);
    let outcome = set
        .start("possible-opt-out", &message(text, &nobody))
        .expect("runs");
    assert_eq!(
        outcome.actions,
        [
            Action::Tag("possible-opt-out".into()),
            route("compliance"),
            suggest(
                "possible-opt-out",
                "The contact may want to stop receiving messages. Confirm before sending anything else.",
                Some(
                    "Sorry for the trouble. Reply STOP and you will not hear from us again, or tell us what you would prefer."
                ),
                1
            ),
        ]
    );
    assert_eq!(outcome.pending, None);

    // Higher priority first when several flows match.
    assert_eq!(
        set.matching(&message("How much to opt-out early?", &nobody)),
        ["possible-opt-out", "pricing-guidance"]
    );
    assert!(
        set.matching(&message("Unstoppable deals, thanks!", &nobody))
            .is_empty()
    );
    // A bare STOP is the engine's business (suppression) before any flow runs.
    assert_eq!(
        keywords.classify("STOP."),
        Some(Keyword::OptOut("STOP".into()))
    );
}

#[test]
fn replies_to_the_outage_notification_go_to_the_noc_with_an_acknowledgment() {
    let set = examples();
    let site = contact(json!({"site": "Main St"}));
    let reply = Message {
        campaign_workflow: Some("pbx-outage-notification"),
        ..message("Our phones are still down, any update?", &site)
    };
    assert_eq!(set.matching(&reply), ["outage-replies"]);
    let outcome = set.start("outage-replies", &reply).expect("runs");
    assert_eq!(
        outcome.actions,
        [
            route("noc"),
            Action::Reply {
                text: "Thanks, a network engineer will get back to you shortly.".into(),
                media: vec![],
            },
            suggest(
                "outage-replies",
                "Customer replied to the outage notice. Check their site's status before answering.",
                None,
                1
            ),
        ]
    );
    // The same text outside that campaign starts nothing.
    assert!(
        set.matching(&message("Our phones are still down, any update?", &site))
            .is_empty()
    );
    // "how much" in an outage reply: pricing (priority 10) comes first.
    let both = Message {
        campaign_workflow: Some("pbx-outage-notification"),
        ..message("How much longer will it be down?", &site)
    };
    assert_eq!(set.matching(&both), ["pricing-guidance", "outage-replies"]);
}
