//! Real answers of the API, built from the handlers' own types and serialised as the handlers
//! serialise them, with every optional part both present and absent somewhere.

use std::collections::BTreeMap;
use std::path::PathBuf;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, TimeZone, Utc};
use futures_util::FutureExt;
use serde::Serialize;
use serde_json::{Value, json};
use switchboard_guidance::flow::PendingAsk;
use switchboard_import::{ErrorLogEntry, ImportSummary};
use switchboard_model::diagnostic::Position;
use switchboard_model::{Diagnostic, Severity};
use switchboard_registry::{
    ContentHash, InvalidChange, LoadedChange, ScanReport, Status, WorkflowKind, WorkflowStatus,
};
use switchboard_runtime::RuntimeError;
use switchboard_runtime::conversation::records::{
    Author, CampaignLink, Escalation, OutboundMessage, Suggestion,
};
use switchboard_runtime::conversation::{
    ConsentRecord, ConsentSource, ConversationRecord, ConversationState, EntryKind, OutboundStatus,
    TimelineEntry,
};
use switchboard_runtime::events::RuntimeEvent;
use switchboard_runtime::lifecycle::CampaignState;
use switchboard_runtime::records::{
    ListRecord, ListState, MessageRecord, MessageStatus, Outbound, Reason, RecipientStatus,
};
use switchboard_runtime::stats::ErrorCount;

use crate::server::campaigns::{CampaignPage, CampaignView, WorkflowRef};
use crate::server::conversations::{
    ConversationPage, ConversationSummary, ConversationView, TimelineView,
};
use crate::server::error::ApiError;
use crate::server::preview::Preview;
use crate::server::realtime::{LiveCampaign, RealtimeView, RecentError, SenderRate};
use crate::server::recipients::{
    Activity, ActivityPoint, RecipientPage, RecipientView, Stats, StepStats, Timeline,
};
use crate::server::suppressions::{ChangeSummary, ConsentHistory, Rejected, SuppressionList};
use crate::server::webhooks::WebhookAnswer;
use crate::server::workflows::{Validation, WorkflowDetail};
use crate::simulate::{Plan, Planned};

fn at(second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 15, 0, second)
        .single()
        .expect("a valid instant")
}

fn value(answer: impl Serialize) -> Value {
    serde_json::to_value(answer).expect("answers serialise")
}

fn campaign(id: u64, started: bool) -> CampaignView {
    CampaignView {
        id,
        name: "December promo".into(),
        workflow: WorkflowRef {
            id: "promo".into(),
            version: started.then_some(3),
        },
        state: if started { "sending" } else { "draft" },
        tags: vec!["promo".into()],
        created_at: at(0),
        scheduled_at: (!started).then(|| at(30)),
        started_at: started.then(|| at(1)),
        recipients: 2,
        counts: BTreeMap::from([("sent", 1), ("opted_out", 1)]),
        owner: started.then(|| "ada@example.com".into()),
        provider: "twilio-main".into(),
        senders: if started {
            vec!["+14165550100".into(), "+14165550101".into()]
        } else {
            Vec::new()
        },
        messages: u64::from(started),
        progress: if started { 1.0 } else { 0.0 },
        actions: crate::server::campaigns::allowed_actions(if started {
            switchboard_runtime::lifecycle::CampaignState::Sending
        } else {
            switchboard_runtime::lifecycle::CampaignState::Draft
        }),
    }
}

fn recipient(seq: u64, failed: bool) -> RecipientView {
    RecipientView {
        seq,
        phone: "+14165550001".into(),
        status: if failed { "failed" } else { "scheduled" },
        reason: failed.then(|| Reason {
            code: "30003".into(),
            message: "Unreachable destination handset".into(),
        }),
        sent: 1,
        responded: !failed,
        next_wake: (!failed).then(|| at(9)),
        list: 1,
        fields: BTreeMap::from([("name".into(), "Ada".into())]),
        vars: BTreeMap::from([("answer".into(), json!({"text": "yes", "n": [1, 2]}))]),
        tags: vec!["replied".into()],
    }
}

fn message(status: MessageStatus, receipt: bool) -> MessageRecord {
    MessageRecord {
        outbound: Outbound {
            campaign: 1,
            recipient: 0,
            pc: 0,
            attempt: 0,
            try_number: 1,
            step_id: "welcome".into(),
            variant: "a".into(),
            provider: "twilio-main".into(),
            from: "+14165550100".into(),
            to: "+14165550001".into(),
            body: "Hi Ada".into(),
            media: vec!["https://example.com/a.png".into()],
            segments: 1,
            conversation: None,
        },
        status,
        provider_id: (status != MessageStatus::Sending).then(|| "SM1".into()),
        error: (status == MessageStatus::Failed).then(|| Reason {
            code: "21610".into(),
            message: "unsubscribed".into(),
        }),
        created_at: at(1),
        answered_at: (status != MessageStatus::Sending).then(|| at(2)),
        status_at: receipt.then(|| at(3)),
    }
}

fn diagnostic(help: bool) -> Diagnostic {
    Diagnostic {
        severity: if help {
            Severity::Error
        } else {
            Severity::Warning
        },
        code: "unknown-field",
        file: "workflows/promo.yaml".into(),
        position: Position {
            line: 14,
            column: 9,
        },
        path: "steps[2].send.text".into(),
        message: "unknown field {compnay}".into(),
        help: help.then(|| "did you mean {company}?".into()),
    }
}

fn workflow(valid: bool) -> WorkflowStatus {
    WorkflowStatus {
        id: "promo".into(),
        kind: valid.then_some(WorkflowKind::Campaign),
        status: if valid {
            Status::Loaded
        } else {
            Status::Invalid
        },
        version: valid.then_some(3),
        hash: valid.then_some(ContentHash(0xaf63_dc4c_8601_ec8c)),
        file: PathBuf::from("workflows/promo.yaml"),
        errors: if valid {
            Vec::new()
        } else {
            vec![diagnostic(true), diagnostic(false)]
        },
        invalid_since: (!valid).then(|| at(4)),
        updated_at: at(5),
    }
}

fn list(with_window: bool) -> ListRecord {
    ListRecord {
        id: 1,
        name: "customers".into(),
        source: "customers.csv".into(),
        state: if with_window {
            ListState::Ready
        } else {
            ListState::Importing
        },
        region: "CA".into(),
        timezone: with_window.then(|| "America/Toronto".into()),
        infer_timezone: true,
        start: with_window.then(|| at(10)),
        end: with_window.then(|| at(20)),
        imported_at: at(0),
        first_seq: 0,
        summary: ImportSummary {
            rows_read: 4,
            imported: 2,
            landlines: 1,
            rejected: 1,
            rejected_by_reason: BTreeMap::from([("phone_too_short".into(), 1)]),
            duplicates: 1,
            opted_out: 1,
        },
    }
}

/// A conversation with every optional part (`full`) or none.
fn conversation(id: u64, full: bool) -> ConversationRecord {
    let suggestion = |rank: u32, answer: bool| Suggestion {
        workflow: "support".into(),
        text: "They ask about pricing".into(),
        answer: answer.then(|| "Plans start at $10/month.".into()),
        rank,
    };
    ConversationRecord {
        id,
        our_number: "+14165550100".into(),
        contact: "+14165550001".into(),
        provider: "twilio-main".into(),
        state: if full {
            ConversationState::Assigned
        } else {
            ConversationState::Open
        },
        queue: full.then(|| "billing".into()),
        assignee: full.then(|| "ada".into()),
        campaign: full.then(|| CampaignLink {
            campaign: 1,
            recipient: 0,
            workflow_id: "promo".into(),
        }),
        tags: if full { vec!["vip".into()] } else { Vec::new() },
        fields: if full {
            json!({"plan": "pro", "seats": 3, "extras": {"sms": true}})
                .as_object()
                .cloned()
                .unwrap_or_default()
        } else {
            serde_json::Map::new()
        },
        suggestions: if full {
            vec![suggestion(1, true), suggestion(2, false)]
        } else {
            Vec::new()
        },
        flags: if full {
            vec!["possible-opt-out".into()]
        } else {
            Vec::new()
        },
        pending_ask: full.then(|| PendingAsk {
            workflow: "support".into(),
            version: 2,
            path: vec![3, 1, 0],
            save_as: "plan".into(),
            attempts_used: 1,
            expires_at: Some(at(40)),
        }),
        escalation: full.then(|| Escalation {
            at: at(50),
            to: "supervisors".into(),
            since: at(20),
        }),
        timezone: full.then(|| "America/Toronto".into()),
        created_at: at(0),
        last_activity_at: at(30),
        last_inbound_at: full.then(|| at(20)),
        last_agent_reply_at: full.then(|| at(25)),
    }
}

fn outbound(author: Author, full: bool) -> EntryKind {
    EntryKind::Outbound(OutboundMessage {
        author,
        text: "Plans start at $10/month.".into(),
        media: if full {
            vec!["https://example.com/a.png".into()]
        } else {
            Vec::new()
        },
        status: if full {
            OutboundStatus::Failed
        } else {
            OutboundStatus::Queued
        },
        due_at: at(30),
        provider_id: full.then(|| "SM2".into()),
        error: full.then(|| "21610: unsubscribed".into()),
        tries: u32::from(full),
    })
}

/// One timeline entry of every kind (and every author), optional parts present and absent.
fn timeline_entries() -> Vec<TimelineEntry> {
    let kinds = vec![
        EntryKind::Inbound {
            text: "STOP".into(),
            provider_message_id: "SM9".into(),
            keyword: Some("STOP".into()),
        },
        EntryKind::Inbound {
            text: "How much is it?".into(),
            provider_message_id: "SM8".into(),
            keyword: None,
        },
        EntryKind::Campaign {
            campaign: 1,
            recipient: 0,
            step_id: "welcome".into(),
            pc: 0,
            attempt: 0,
            text: "Hi Ada".into(),
        },
        outbound(
            Author::Flow {
                workflow: "support".into(),
            },
            true,
        ),
        outbound(
            Author::Question {
                workflow: "support".into(),
            },
            false,
        ),
        outbound(
            Author::Agent {
                agent: "ada".into(),
            },
            false,
        ),
        outbound(Author::Compliance, true),
        EntryKind::Note {
            agent: "ada".into(),
            text: "Call them back on Monday".into(),
        },
        EntryKind::Event {
            text: "routed to billing".into(),
        },
    ];
    kinds
        .into_iter()
        .zip(1..)
        .map(|(kind, seq)| TimelineEntry {
            seq,
            at: at(10),
            kind,
        })
        .collect()
}

fn consent(opted_out: bool, how: ConsentSource, detail: &str) -> ConsentRecord {
    ConsentRecord {
        phone: "+14165550001".into(),
        opted_out,
        at: at(5),
        how,
        who: "ada".into(),
        detail: detail.into(),
    }
}

fn error_body(error: ApiError) -> Value {
    let body = error.into_response().into_body();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .now_or_never()
        .expect("a JSON body is ready")
        .expect("readable");
    serde_json::from_slice(&bytes).expect("errors are JSON")
}

/// (component schema, a real answer it must describe).
pub fn samples() -> Vec<(&'static str, Value)> {
    let error = |code: &str, count| ErrorCount {
        code: code.into(),
        count,
    };
    let step = |errors: Vec<ErrorCount>| StepStats {
        sent: 3,
        delivered: 2,
        failed: 1,
        unknown: 0,
        segments: 6,
        replied: 1,
        opted_out: 0,
        errors,
    };
    let stats = |cost: Option<f64>| Stats {
        total: 2,
        recipients: BTreeMap::from([("delivered", 1), ("failed", 1)]),
        sent: 3,
        delivered: 2,
        failed: 1,
        responded: 1,
        opted_out: 0,
        response_rate: 0.5,
        segments: 6,
        estimated_cost: cost,
        errors: vec![error("30003", 1)],
        steps: BTreeMap::from([("welcome".into(), step(vec![error("30003", 1)]))]),
    };
    let activity = Activity {
        bucket_seconds: 60,
        points: [(0, 3, 0, 1), (1, 0, 2, 0)]
            .into_iter()
            .map(|(minute, sent, delivered, failed)| ActivityPoint {
                at: at(0) + chrono::TimeDelta::minutes(minute),
                sent,
                delivered,
                failed,
            })
            .collect(),
    };
    let page = CampaignPage {
        campaigns: vec![campaign(1, true), campaign(2, false)],
        page: 1,
        per_page: 50,
        total: 2,
    };
    let timeline = Timeline {
        recipient: recipient(0, false),
        messages: vec![
            message(MessageStatus::Sending, false),
            message(MessageStatus::Delivered, true),
            message(MessageStatus::Failed, false),
        ],
    };
    let event_campaign = RuntimeEvent::Campaign {
        campaign: 1,
        state: CampaignState::Paused,
        at: at(0),
    };
    let event_message = |status: MessageStatus| RuntimeEvent::Message {
        campaign: 1,
        recipient: 0,
        step_id: "welcome".into(),
        status,
        provider_id: (status != MessageStatus::Sending).then(|| "SM1".into()),
        from: "+14165550100".into(),
        error: (status == MessageStatus::Failed).then(|| Reason {
            code: "30003".into(),
            message: "Unreachable destination handset".into(),
        }),
        at: at(0),
    };
    let loaded = LoadedChange {
        id: "promo".into(),
        version: 2,
        file: PathBuf::from("workflows/promo.yaml"),
    };
    let scan = ScanReport {
        added: vec![loaded.clone()],
        updated: vec![loaded.clone()],
        recovered: vec![loaded],
        invalid: [Some(2), None]
            .into_iter()
            .map(|kept_version| InvalidChange {
                id: "promo".into(),
                file: PathBuf::from("workflows/promo.yaml"),
                kept_version,
                errors: vec![diagnostic(true)],
            })
            .collect(),
        removed: vec!["old".into()],
        failed: Some("permission denied".into()),
    };
    let entry = |first: bool| ErrorLogEntry {
        line: 3,
        column: "phone".into(),
        value: "123".into(),
        code: if first {
            "duplicate"
        } else {
            "phone_too_short"
        }
        .into(),
        message: "too short".into(),
        first_line: first.then_some(2),
        first_list: first.then(|| "earlier".into()),
    };
    let mut samples = vec![
        ("CampaignView", value(campaign(1, true))),
        ("CampaignView", value(campaign(2, false))),
        ("CampaignPage", value(page)),
        (
            "RecipientPage",
            value(RecipientPage {
                recipients: vec![recipient(0, false), recipient(1, true)],
                next: Some(1),
            }),
        ),
        (
            "RecipientPage",
            value(RecipientPage {
                recipients: Vec::new(),
                next: None,
            }),
        ),
        ("Timeline", value(timeline)),
        ("Stats", value(stats(Some(0.0474)))),
        ("Stats", value(stats(None))),
        ("StepStats", value(step(Vec::new()))),
        ("Activity", value(activity)),
        (
            "Activity",
            value(Activity {
                bucket_seconds: 300,
                points: Vec::new(),
            }),
        ),
        ("ListRecord", value(list(true))),
        ("ListRecord", value(list(false))),
        ("WorkflowStatus", value(workflow(true))),
        ("WorkflowStatus", value(workflow(false))),
        (
            "WorkflowDetail",
            value(WorkflowDetail {
                status: workflow(true),
                source: Some("kind: campaign\n".into()),
                file_source: None,
            }),
        ),
        (
            "WorkflowDetail",
            value(WorkflowDetail {
                status: workflow(false),
                source: None,
                file_source: Some("kind: campaign\nsteps: [\n".into()),
            }),
        ),
        (
            "Validation",
            value(Validation {
                valid: false,
                diagnostics: vec![diagnostic(true), diagnostic(false)],
            }),
        ),
        (
            "WebhookAnswer",
            value(WebhookAnswer {
                receipts: 2,
                inbound: 1,
            }),
        ),
        ("ErrorLogEntry", value(entry(true))),
        ("ErrorLogEntry", value(entry(false))),
        ("RuntimeEvent", value(event_campaign)),
        ("RuntimeEvent", value(event_message(MessageStatus::Sending))),
        ("RuntimeEvent", value(event_message(MessageStatus::Sent))),
        (
            "RuntimeEvent",
            value(RuntimeEvent::Recipient {
                campaign: 1,
                recipient: 0,
                status: RecipientStatus::OptedOut,
            }),
        ),
        (
            "RuntimeEvent",
            value(event_conversation(conversation(7, true))),
        ),
        (
            "RuntimeEvent",
            value(event_conversation(conversation(8, false))),
        ),
        (
            "RuntimeEvent",
            value(RuntimeEvent::ConversationMessage {
                conversation: 7,
                seq: 4,
                status: OutboundStatus::Suppressed,
                at: at(0),
            }),
        ),
        ("ScanReport", value(scan)),
        ("ScanReport", value(ScanReport::default())),
        ("Error", error_body(ApiError::not_found("no campaign 7"))),
        (
            "Error",
            error_body(ApiError::from(RuntimeError::AssignedToOther {
                conversation: 7,
                assignee: "grace".into(),
            })),
        ),
        (
            "Error",
            error_body(ApiError::new(StatusCode::CONFLICT, "busy", "importing")),
        ),
        (
            "MessageRecord",
            value(MessageRecord {
                outbound: Outbound {
                    campaign: 0,
                    recipient: 4,
                    conversation: Some(7),
                    ..message(MessageStatus::Sent, false).outbound
                },
                ..message(MessageStatus::Sent, true)
            }),
        ),
    ];
    samples.extend(conversation_samples());
    samples.extend(suppression_samples());
    samples.extend(dashboard_api_samples());
    samples
}

fn event_conversation(record: ConversationRecord) -> RuntimeEvent {
    RuntimeEvent::Conversation {
        conversation: record.id,
        contact: record.contact,
        state: record.state,
        queue: record.queue,
        assignee: record.assignee,
        what: "assigned".into(),
        campaign: record.campaign.map(|link| link.campaign),
        at: at(0),
    }
}

fn conversation_samples() -> Vec<(&'static str, Value)> {
    let page = ConversationPage {
        conversations: vec![
            ConversationSummary {
                record: conversation(7, true),
                opted_out: true,
            },
            ConversationSummary {
                record: conversation(8, false),
                opted_out: false,
            },
        ],
        total: 2,
        page: 1,
        per_page: 50,
    };
    let timeline = timeline_entries()
        .into_iter()
        .flat_map(|entry| {
            // A campaign message with its status, and one whose record is gone.
            let campaign = matches!(entry.kind, EntryKind::Campaign { .. });
            let gone = campaign.then(|| TimelineView {
                entry: entry.clone(),
                status: None,
            });
            let status = campaign.then_some(MessageStatus::Delivered);
            [Some(TimelineView { entry, status }), gone]
        })
        .flatten()
        .collect();
    let full = conversation(7, true);
    let view = ConversationView {
        guidance: full.suggestions.clone(),
        opted_out: Some(consent(true, ConsentSource::Keyword, "STOP")),
        timeline,
        reply_held_until: Some(at(40)),
        record: full,
    };
    let bare = ConversationView {
        guidance: Vec::new(),
        opted_out: None,
        timeline: Vec::new(),
        reply_held_until: None,
        record: conversation(8, false),
    };
    let mut samples = vec![
        ("ConversationPage", value(page)),
        (
            "ConversationPage",
            value(ConversationPage {
                conversations: Vec::new(),
                total: 0,
                page: 3,
                per_page: 1,
            }),
        ),
        ("ConversationView", value(view)),
        ("ConversationView", value(bare)),
    ];
    samples.extend(
        timeline_entries()
            .into_iter()
            .map(|entry| ("TimelineEntry", value(entry))),
    );
    samples
}

fn suppression_samples() -> Vec<(&'static str, Value)> {
    let rejected = |line: u64, value: &str| Rejected {
        line,
        value: value.into(),
        error: "`phone`: \"123\" is not a phone number (too short)".into(),
    };
    vec![
        (
            "ChangeSummary",
            value(ChangeSummary {
                changed: 2,
                unchanged: 1,
                rejected: vec![rejected(3, "123"), rejected(5, "")],
            }),
        ),
        (
            "ChangeSummary",
            value(ChangeSummary {
                changed: 0,
                unchanged: 0,
                rejected: Vec::new(),
            }),
        ),
        (
            "SuppressionList",
            value(SuppressionList {
                suppressions: vec![
                    consent(true, ConsentSource::Keyword, "STOP"),
                    consent(true, ConsentSource::Import, ""),
                    consent(true, ConsentSource::Provider, "21610"),
                ],
            }),
        ),
        (
            "SuppressionList",
            value(SuppressionList {
                suppressions: Vec::new(),
            }),
        ),
        (
            "ConsentHistory",
            value(ConsentHistory {
                phone: "+14165550001".into(),
                opted_out: false,
                history: vec![
                    consent(true, ConsentSource::Keyword, "STOP"),
                    consent(false, ConsentSource::Api, ""),
                ],
            }),
        ),
        (
            "ConsentHistory",
            value(ConsentHistory {
                phone: "+14165550002".into(),
                opted_out: false,
                history: Vec::new(),
            }),
        ),
    ]
}

/// The schedule preview and the realtime figures.
fn dashboard_api_samples() -> Vec<(&'static str, Value)> {
    let planned = Planned {
        step: "welcome".into(),
        variant: "main".into(),
        send_utc: at(0),
        send_local: "2026-12-07 Mon 10:00 EST".into(),
        segments: 1,
        body: "Hi Ada".into(),
        status: "sent".into(),
    };
    let plans = vec![
        Plan {
            row: 0,
            phone: "+14165550001".into(),
            timezone: "America/Toronto".into(),
            status: "sent".into(),
            reason: None,
            messages: vec![planned],
        },
        Plan {
            row: 1,
            phone: "+14165550002".into(),
            timezone: "America/Toronto".into(),
            status: "skipped".into(),
            reason: Some("filtered: filtered out by `recipient.company != \"\"`".into()),
            messages: Vec::new(),
        },
    ];
    let live = |id: u64, busy: bool| LiveCampaign {
        id,
        name: "December promo".into(),
        state: if busy { "sending" } else { "paused" },
        provider: "twilio-main".into(),
        pending: if busy { 120 } else { 0 },
        senders: vec![SenderRate {
            sender: "+14165550100".into(),
            last_10s_per_second: if busy { 4.5 } else { 0.0 },
            last_minute: if busy { 270 } else { 0 },
        }],
        errors_last_minute: u64::from(busy),
        recent_errors: if busy {
            vec![RecentError {
                code: "30003".into(),
                message: "Unreachable destination handset".into(),
                count: 3,
                last_at: at(5),
            }]
        } else {
            Vec::new()
        },
    };
    vec![
        (
            "Preview",
            value(Preview {
                start: at(0),
                horizon: at(0) + chrono::TimeDelta::days(90),
                recipients_total: 3,
                plans,
            }),
        ),
        (
            "Preview",
            value(Preview {
                start: at(0),
                horizon: at(0),
                recipients_total: 0,
                plans: Vec::new(),
            }),
        ),
        (
            "RealtimeView",
            value(RealtimeView {
                at: at(9),
                queue_depth: 2,
                campaigns: vec![live(1, true), live(2, false)],
            }),
        ),
        (
            "RealtimeView",
            value(RealtimeView {
                at: at(9),
                queue_depth: 0,
                campaigns: Vec::new(),
            }),
        ),
    ]
}
