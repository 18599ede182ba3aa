//! `/v1/campaigns/{id}/recipients`: a campaign's recipients with their status (filtered,
//! paged by cursor), one recipient's message timeline, and the campaign's statistics.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use switchboard_runtime::records::{
    CampaignId, MessageRecord, RecipientRecord, RecipientSeq, RecipientStatus, RunState,
};
use switchboard_runtime::stats::MessageStats;

use super::error::{ApiError, ApiResult};
use super::state::Shared;

/// `GET /v1/campaigns/{id}/recipients` query.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RecipientsQuery {
    /// Only recipients with this status (`sent`, `failed`, `opted_out`, ...).
    pub status: Option<String>,
    /// Recipients after this one (the previous page's `next`).
    pub after: Option<RecipientSeq>,
    /// Recipients per page (default 100, at most 1,000).
    pub limit: Option<usize>,
}

/// One recipient and where they are.
#[derive(Debug, Serialize)]
pub struct RecipientView {
    /// Their number in the campaign.
    pub seq: RecipientSeq,
    /// E.164.
    pub phone: String,
    /// Their status.
    pub status: &'static str,
    /// Why they failed or were skipped.
    pub reason: Option<switchboard_runtime::records::Reason>,
    /// Messages sent so far.
    pub sent: u32,
    /// Whether they replied.
    pub responded: bool,
    /// When they next need attention.
    pub next_wake: Option<chrono::DateTime<chrono::Utc>>,
    /// The list they came from.
    pub list: u32,
    /// Their fields.
    pub fields: BTreeMap<String, String>,
    /// Values their run saved (responses, computed values).
    pub vars: BTreeMap<String, serde_json::Value>,
    /// Tags their run added.
    pub tags: Vec<String>,
}

fn view(recipient: RecipientRecord, run: RunState) -> RecipientView {
    RecipientView {
        seq: recipient.seq,
        phone: recipient.phone,
        status: run.status.as_str(),
        next_wake: run.wake_at(),
        reason: run.reason,
        sent: run.sent,
        responded: run.responded,
        list: recipient.list,
        fields: recipient.fields,
        vars: run.vars,
        tags: run.tags,
    }
}

/// A page of recipients.
#[derive(Debug, Serialize)]
pub struct RecipientPage {
    /// This page.
    pub recipients: Vec<RecipientView>,
    /// Pass as `after` for the next page; absent on the last one.
    pub next: Option<RecipientSeq>,
}

fn parse_status(name: &str) -> ApiResult<RecipientStatus> {
    RecipientStatus::ALL
        .iter()
        .copied()
        .find(|s| s.as_str() == name)
        .ok_or_else(|| {
            let names: Vec<&str> = RecipientStatus::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::bad_request(format!(
                "status {name:?} is not a recipient status ({})",
                names.join(", ")
            ))
        })
}

/// `GET /v1/campaigns/{id}/recipients`.
pub async fn list(
    State(state): State<Shared>,
    Path(id): Path<CampaignId>,
    Query(query): Query<RecipientsQuery>,
) -> ApiResult<Json<RecipientPage>> {
    let record = state.campaign_record(id)?;
    let status = query.status.as_deref().map(parse_status).transpose()?;
    let limit = query.limit.unwrap_or(100).clamp(1, 1_000);
    let mut recipients = Vec::new();
    let mut next = None;
    for entry in state.store.runs(id) {
        let (seq, run) = entry?;
        if seq >= record.recipients {
            break; // a list still importing
        }
        if query.after.is_some_and(|after| seq <= after) {
            continue;
        }
        if status.is_some_and(|wanted| run.status != wanted) {
            continue;
        }
        if recipients.len() == limit {
            next = recipients.last().map(|r: &RecipientView| r.seq);
            break;
        }
        if let Some(recipient) = state.store.recipient(id, seq)? {
            recipients.push(view(recipient, run));
        }
    }
    Ok(Json(RecipientPage { recipients, next }))
}

/// One recipient with their messages.
#[derive(Debug, Serialize)]
pub struct Timeline {
    /// The recipient.
    #[serde(flatten)]
    pub recipient: RecipientView,
    /// Their messages, in the order the workflow sent them.
    pub messages: Vec<MessageRecord>,
}

/// `GET /v1/campaigns/{id}/recipients/{seq}`: one recipient's message timeline.
pub async fn timeline(
    State(state): State<Shared>,
    Path((id, seq)): Path<(CampaignId, RecipientSeq)>,
) -> ApiResult<Json<Timeline>> {
    let record = state.campaign_record(id)?;
    let missing = || ApiError::not_found(format!("campaign {id} has no recipient {seq}"));
    if seq >= record.recipients {
        return Err(missing());
    }
    let (Some(recipient), Some(run)) = (state.store.recipient(id, seq)?, state.store.run(id, seq)?)
    else {
        return Err(missing());
    };
    let mut messages: Vec<MessageRecord> = state
        .store
        .recipient_messages(id, seq)
        .collect::<Result<_, _>>()?;
    messages.sort_by_key(|m| m.created_at);
    Ok(Json(Timeline {
        recipient: view(recipient, run),
        messages,
    }))
}

/// A campaign's statistics.
#[derive(Debug, Serialize)]
pub struct Stats {
    /// Recipients.
    pub total: u64,
    /// Recipients by status.
    pub recipients: BTreeMap<&'static str, u64>,
    /// Messages accepted by the provider (delivered ones included).
    pub sent: u64,
    /// Messages delivered to the handset.
    pub delivered: u64,
    /// Messages that failed.
    pub failed: u64,
    /// Recipients who replied.
    pub responded: u64,
    /// Recipients on the suppression list.
    pub opted_out: u64,
    /// Recipients who replied per recipient reached.
    pub response_rate: f64,
    /// Segments sent.
    pub segments: u64,
    /// Segments times the provider instance's price, when configured.
    pub estimated_cost: Option<f64>,
    /// The same, per message of the sequence (step id).
    pub steps: BTreeMap<String, StepStats>,
}

/// The statistics of one message of a sequence.
#[derive(Debug, Serialize)]
pub struct StepStats {
    /// Accepted by the provider (delivered ones included).
    pub sent: u64,
    /// Delivered to the handset.
    pub delivered: u64,
    /// Failed (refused by the provider, or undelivered); a transient failure that was
    /// retried counts as one too.
    pub failed: u64,
    /// Interrupted by a crash and unconfirmed by the provider.
    pub unknown: u64,
    /// Segments accepted.
    pub segments: u64,
}

impl From<&MessageStats> for StepStats {
    fn from(stats: &MessageStats) -> Self {
        Self {
            sent: stats.sent + stats.delivered,
            delivered: stats.delivered,
            failed: stats.failed,
            unknown: stats.unknown,
            segments: stats.segments,
        }
    }
}

/// `GET /v1/campaigns/{id}/stats`.
pub async fn stats(
    State(state): State<Shared>,
    Path(id): Path<CampaignId>,
) -> ApiResult<Json<Stats>> {
    let record = state.campaign_record(id)?;
    let counts = state.store.counters(id)?;
    let steps: BTreeMap<String, StepStats> = state
        .store
        .message_stats(id)?
        .iter()
        .map(|(step, stats)| (step.clone(), StepStats::from(stats)))
        .collect();
    let responded = state.store.responded(id)?;
    let sum = |f: fn(&StepStats) -> u64| steps.values().map(f).sum::<u64>();
    let sent = sum(|s| s.sent);
    let segments = sum(|s| s.segments);
    // Recipients reached: the step that reached most of them (each recipient gets each step
    // once; retries of a step are attempts of the same message).
    let reached = steps
        .values()
        .map(|s| s.sent)
        .max()
        .unwrap_or(0)
        .max(responded);
    let price = state.price_per_segment(&record);
    Ok(Json(Stats {
        total: record.recipients,
        opted_out: counts.get(&RecipientStatus::OptedOut).copied().unwrap_or(0),
        recipients: counts.iter().map(|(s, n)| (s.as_str(), *n)).collect(),
        sent,
        delivered: sum(|s| s.delivered),
        failed: sum(|s| s.failed),
        responded,
        response_rate: if reached == 0 {
            0.0
        } else {
            responded as f64 / reached as f64
        },
        segments,
        estimated_cost: price.map(|p| (p * segments as f64 * 10_000.0).round() / 10_000.0),
        steps,
    }))
}
