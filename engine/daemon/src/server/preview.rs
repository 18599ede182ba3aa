//! `GET /v1/campaigns/{id}/preview`: a campaign's schedule before (or while) it runs — the
//! `switchboard simulate` plan ([`crate::simulate::plan`]) of its pinned workflow text for
//! its first recipients, from its start (the scheduled time, or now). The simulation runs on
//! a blocking thread with a virtual clock, a temporary store and a recording provider: the
//! real store and providers are never touched, and its virtual time is bounded.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use switchboard_model::Workflow;
use switchboard_model::timezone::Timezone;
use switchboard_runtime::RuntimeError;
use switchboard_runtime::records::{CampaignId, RecipientRecord};

use super::error::{ApiError, ApiResult};
use super::state::Shared;
use crate::simulate::{Plan, SimRecipient, Simulation, plan};

/// Recipients previewed when the query names no limit.
const DEFAULT_LIMIT: usize = 20;
/// The most recipients one preview simulates.
const MAX_LIMIT: usize = 200;
/// How much virtual time a preview simulates past its start: enough for any realistic
/// sequence of waits, and a bound on the work of one request.
const HORIZON: TimeDelta = TimeDelta::days(90);

/// `GET /v1/campaigns/{id}/preview` query.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PreviewQuery {
    /// Recipients to simulate, the campaign's first (default 20, at most 200).
    pub limit: Option<usize>,
}

/// `GET /v1/campaigns/{id}/preview` answer.
#[derive(Debug, Serialize)]
pub struct Preview {
    /// Where the simulation started: the campaign's scheduled time, or now.
    pub start: DateTime<Utc>,
    /// Where it stopped: runs still waiting then say so in their `reason`.
    pub horizon: DateTime<Utc>,
    /// The campaign's recipients in all (the plans cover the first of them).
    pub recipients_total: u64,
    /// Per recipient, in recipient order (`row` is its seq in the campaign): each message
    /// with its send instant, or why it got none.
    pub plans: Vec<Plan>,
}

/// The recipient field a workflow reads timezones from.
fn timezone_field(source: &str) -> String {
    match switchboard_model::load_source("workflow", source).workflow {
        Some(Workflow::Campaign(campaign)) => campaign
            .window
            .as_ref()
            .map_or_else(|| "timezone".to_string(), |w| w.timezone.field.clone()),
        _ => "timezone".to_string(),
    }
}

/// A stored recipient as the simulation takes it: the timezone its import resolved (column,
/// number's region, list default) is handed over in the workflow's timezone field when that
/// field does not already name a valid zone, so its local times are the real ones.
fn sim_recipient(recipient: RecipientRecord, field: &str) -> SimRecipient {
    let mut fields: BTreeMap<String, String> = recipient.fields;
    let valid = |name: &str| name.parse::<Timezone>().is_ok();
    if let Some(zone) = recipient.timezone.filter(|zone| valid(zone))
        && !fields.get(field).is_some_and(|value| valid(value))
    {
        fields.insert(field.to_string(), zone);
    }
    SimRecipient {
        row: usize::try_from(recipient.seq).unwrap_or(usize::MAX),
        phone: recipient.phone,
        fields,
    }
}

/// A failed simulation as an answer: the runtime's refusals keep their status (a workflow
/// without consent, an invalid one); anything else is the simulation's.
fn simulation_error(error: anyhow::Error) -> ApiError {
    match error.downcast::<RuntimeError>() {
        Ok(runtime) => ApiError::from(runtime),
        Err(other) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "simulation",
            format!("{other:#}"),
        ),
    }
}

/// `GET /v1/campaigns/{id}/preview`.
pub async fn preview(
    State(state): State<Shared>,
    Path(id): Path<CampaignId>,
    Query(query): Query<PreviewQuery>,
) -> ApiResult<Json<Preview>> {
    let record = state.campaign_record(id)?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
    let now = state.clock.now();
    let start = record.scheduled_at.filter(|at| *at > now).unwrap_or(now);
    let horizon = start.checked_add_signed(HORIZON).unwrap_or(start);
    let field = timezone_field(&record.workflow_source);
    let recipients = state
        .store
        .recipients(id)
        .take(limit)
        .map(|recipient| recipient.map(|r| sim_recipient(r, &field)))
        .collect::<Result<Vec<_>, _>>()?;
    let config = state.runtime_config.clone();
    let source = record.workflow_source;
    let plans = tokio::task::spawn_blocking(move || {
        plan(Simulation {
            name: &format!("campaign {id}"),
            source: &source,
            recipients,
            start,
            replies: Vec::new(),
            until: horizon,
            config,
        })
    })
    .await
    .map_err(|error| ApiError::internal("the schedule preview", error))?
    .map_err(simulation_error)?;
    Ok(Json(Preview {
        start,
        horizon,
        recipients_total: record.recipients,
        plans,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_imported_timezone_fills_a_missing_or_invalid_field() {
        let mut recipient = RecipientRecord::new(
            4,
            "+14165550001".into(),
            BTreeMap::from([("name".into(), "Ada".into())]),
        );
        recipient.timezone = Some("America/Vancouver".into());
        let sim = sim_recipient(recipient.clone(), "tz");
        assert_eq!(sim.row, 4);
        assert_eq!(sim.fields["tz"], "America/Vancouver");

        recipient.fields.insert("tz".into(), "Europe/Paris".into());
        assert_eq!(
            sim_recipient(recipient.clone(), "tz").fields["tz"],
            "Europe/Paris"
        );
        recipient.fields.insert("tz".into(), "Mars/Olympus".into());
        assert_eq!(
            sim_recipient(recipient.clone(), "tz").fields["tz"],
            "America/Vancouver"
        );
        recipient.timezone = None;
        recipient.fields.remove("tz");
        assert!(!sim_recipient(recipient, "tz").fields.contains_key("tz"));
    }

    #[test]
    fn the_timezone_field_comes_from_the_window() {
        let head = "kind: campaign\nid: promo\nprovider: mock\nsender: \"+14165550100\"\n";
        let steps = "steps:\n  - send: \"Hi\"\n";
        let window = "window:\n  timezone: { field: tz, default: America/Toronto }\n  days:\n    daily: \"09:00-17:00\"\n";
        assert_eq!(timezone_field(&format!("{head}{window}{steps}")), "tz");
        assert_eq!(timezone_field(&format!("{head}{steps}")), "timezone");
    }
}
