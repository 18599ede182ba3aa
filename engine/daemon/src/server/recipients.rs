//! `/v1/campaigns/{id}/recipients`: a campaign's recipients with their status (filtered,
//! paged by cursor), one recipient's message timeline, the campaign's statistics (`/stats`)
//! and its messages' activity over time (`/activity`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use switchboard_runtime::records::{
    CampaignId, MessageRecord, RecipientRecord, RecipientSeq, RecipientStatus, RunState,
};
use switchboard_runtime::stats::activity::{SeriesError, SeriesRequest};
use switchboard_runtime::stats::{ErrorCount, MessageStats, Reactions, top_errors};

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
    /// The most frequent error codes of failed messages over every step (at most
    /// [`TOP_ERRORS`], most frequent first, ties by code).
    pub errors: Vec<ErrorCount>,
    /// The same, per message of the sequence (step id).
    pub steps: BTreeMap<String, StepStats>,
}

/// How many error codes `/stats` lists, per step and for the campaign.
pub const TOP_ERRORS: usize = 5;

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
    /// Recipients whose first reply came after this message (the last one the provider had
    /// accepted for them).
    pub replied: u64,
    /// Recipients who opted out after this message (the last one accepted for them): a later
    /// send found them suppressed, or they texted an opt-out word in reply.
    pub opted_out: u64,
    /// The most frequent error codes of its failed messages (at most [`TOP_ERRORS`], most
    /// frequent first, ties by code).
    pub errors: Vec<ErrorCount>,
}

impl StepStats {
    fn new(
        stats: &MessageStats,
        reactions: &Reactions,
        errors: Option<&BTreeMap<String, u64>>,
    ) -> Self {
        Self {
            sent: stats.sent + stats.delivered,
            delivered: stats.delivered,
            failed: stats.failed,
            unknown: stats.unknown,
            segments: stats.segments,
            replied: reactions.replied,
            opted_out: reactions.opted_out,
            errors: errors.map_or_else(Vec::new, |codes| top_errors(codes, TOP_ERRORS)),
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
    let messages = state.store.message_stats(id)?;
    let reactions = state.store.reactions(id)?;
    let errors = state.store.error_counts(id)?;
    let mut all_errors: BTreeMap<String, u64> = BTreeMap::new();
    for (code, n) in errors.values().flatten() {
        *all_errors.entry(code.clone()).or_default() += n;
    }
    let step_ids: std::collections::BTreeSet<&String> = messages
        .keys()
        .chain(reactions.keys())
        .chain(errors.keys())
        .collect();
    let steps: BTreeMap<String, StepStats> = step_ids
        .into_iter()
        .map(|step| {
            let stats = StepStats::new(
                messages.get(step).unwrap_or(&MessageStats::default()),
                reactions.get(step).unwrap_or(&Reactions::default()),
                errors.get(step),
            );
            (step.clone(), stats)
        })
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
        errors: top_errors(&all_errors, TOP_ERRORS),
        steps,
    }))
}

/// `GET /v1/campaigns/{id}/activity` query.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ActivityQuery {
    /// From the bucket holding this instant (RFC 3339; default: the first activity).
    pub since: Option<String>,
    /// Through the bucket holding this instant (RFC 3339; default: the last activity).
    pub until: Option<String>,
    /// Bucket size in seconds, a multiple of 60 (default: about 240 points over the range).
    pub bucket: Option<u64>,
}

/// A campaign's messages over time, in buckets.
#[derive(Debug, Serialize)]
pub struct Activity {
    /// The size of every bucket.
    pub bucket_seconds: u64,
    /// Every bucket from the first to the last, oldest first (empty ones as zeros).
    pub points: Vec<ActivityPoint>,
}

/// What a campaign's messages did in one bucket.
#[derive(Debug, Serialize)]
pub struct ActivityPoint {
    /// The bucket's start.
    pub at: chrono::DateTime<chrono::Utc>,
    /// Messages the provider accepted then (whatever became of them since).
    pub sent: u64,
    /// Messages whose delivery was reported then.
    pub delivered: u64,
    /// Messages refused then, or reported undelivered then (every failed try).
    pub failed: u64,
}

fn instant(name: &str, text: Option<&str>) -> ApiResult<Option<chrono::DateTime<chrono::Utc>>> {
    text.map(|text| {
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|at| at.to_utc())
            .map_err(|e| {
                ApiError::bad_request(format!(
                    "{name} {text:?} is not an RFC 3339 instant (like 2026-12-07T15:00:00Z): {e}"
                ))
            })
    })
    .transpose()
}

/// `GET /v1/campaigns/{id}/activity`: messages sent, delivered and failed per bucket.
pub async fn activity(
    State(state): State<Shared>,
    Path(id): Path<CampaignId>,
    Query(query): Query<ActivityQuery>,
) -> ApiResult<Json<Activity>> {
    state.campaign_record(id)?;
    let request = SeriesRequest {
        since: instant("since", query.since.as_deref())?,
        until: instant("until", query.until.as_deref())?,
        bucket_seconds: query.bucket,
    };
    let series = state
        .store
        .activity_series(id, &request)
        .map_err(|error| match error {
            SeriesError::Store(error) => ApiError::from(error),
            other => ApiError::bad_request(other.to_string()),
        })?;
    Ok(Json(Activity {
        bucket_seconds: series.bucket_seconds,
        points: series
            .points
            .into_iter()
            .map(|(at, activity)| ActivityPoint {
                at,
                sent: activity.sent,
                delivered: activity.delivered,
                failed: activity.failed,
            })
            .collect(),
    }))
}
