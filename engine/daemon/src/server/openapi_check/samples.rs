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
use switchboard_import::{ErrorLogEntry, ImportSummary};
use switchboard_model::diagnostic::Position;
use switchboard_model::{Diagnostic, Severity};
use switchboard_registry::{
    ContentHash, InvalidChange, LoadedChange, ScanReport, Status, WorkflowKind, WorkflowStatus,
};
use switchboard_runtime::events::RuntimeEvent;
use switchboard_runtime::lifecycle::CampaignState;
use switchboard_runtime::records::{
    ListRecord, ListState, MessageRecord, MessageStatus, Outbound, Reason,
};

use crate::server::campaigns::{CampaignPage, CampaignView, WorkflowRef};
use crate::server::error::ApiError;
use crate::server::recipients::{RecipientPage, RecipientView, Stats, StepStats, Timeline};
use crate::server::webhooks::WebhookAnswer;
use crate::server::workflows::{Validation, WorkflowDetail};

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
    let step = StepStats {
        sent: 3,
        delivered: 2,
        failed: 1,
        unknown: 0,
        segments: 6,
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
        steps: BTreeMap::from([("welcome".into(), StepStats { ..step })]),
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
    vec![
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
        ("StepStats", value(step)),
        ("ListRecord", value(list(true))),
        ("ListRecord", value(list(false))),
        ("WorkflowStatus", value(workflow(true))),
        ("WorkflowStatus", value(workflow(false))),
        (
            "WorkflowDetail",
            value(WorkflowDetail {
                status: workflow(true),
                source: Some("kind: campaign\n".into()),
            }),
        ),
        (
            "WorkflowDetail",
            value(WorkflowDetail {
                status: workflow(false),
                source: None,
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
        ("ScanReport", value(scan)),
        ("ScanReport", value(ScanReport::default())),
        ("Error", error_body(ApiError::not_found("no campaign 7"))),
        (
            "Error",
            error_body(ApiError::new(StatusCode::CONFLICT, "busy", "importing")),
        ),
    ]
}
