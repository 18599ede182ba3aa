//! `/v1/campaigns`: create from a workflow, read, list (filters, sort by any column, pages),
//! edit while a draft, the lifecycle actions, duplicate, delete. Changes run on the engine
//! thread; reads go to the store.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchboard_registry::WorkflowVersion;
use switchboard_runtime::campaign_ops::CampaignLabels;
use switchboard_runtime::lifecycle::{CampaignState, LifecycleAction, transition};
use switchboard_runtime::records::{CampaignId, CampaignRecord, RecipientStatus};

use super::error::{ApiError, ApiResult};
use super::state::{AppState, Shared};

/// A campaign as the API shows it.
#[derive(Debug, Serialize)]
pub struct CampaignView {
    /// Its id.
    pub id: CampaignId,
    /// Its name.
    pub name: String,
    /// The workflow and the version it runs.
    pub workflow: WorkflowRef,
    /// Its lifecycle state.
    pub state: &'static str,
    /// Tags (the workflow's and the campaign's own).
    pub tags: Vec<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When a scheduled campaign starts.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// When it started sending.
    pub started_at: Option<DateTime<Utc>>,
    /// Its recipients.
    pub recipients: u64,
    /// Recipients by status.
    pub counts: BTreeMap<&'static str, u64>,
    /// Who is responsible for it.
    pub owner: Option<String>,
    /// The provider instance it sends through.
    pub provider: String,
    /// The numbers its workflow sends from (one, or a pool's).
    pub senders: Vec<String>,
    /// Messages the provider accepted (sent or delivered since).
    pub messages: u64,
    /// The fraction (0 to 1) of its recipients in a final status; 0 without recipients.
    pub progress: f64,
    /// What its state allows now (`edit`, `schedule`, `start`, `pause`, `resume`, `stop`,
    /// `restart`, `retry-failed`, `archive`, `delete`, `duplicate`), as the lifecycle decides.
    pub actions: Vec<&'static str>,
}

/// Which workflow version a campaign runs.
#[derive(Debug, Serialize)]
pub struct WorkflowRef {
    /// The workflow's id.
    pub id: String,
    /// The registry version it was created from.
    pub version: Option<u64>,
}

impl AppState {
    /// The API view of a campaign record.
    pub fn campaign_view(&self, record: &CampaignRecord) -> ApiResult<CampaignView> {
        let by_status = self.store.counters(record.id)?;
        let messages = self
            .store
            .message_stats(record.id)?
            .values()
            .map(|step| step.sent + step.delivered)
            .sum();
        let progress = progress(&by_status);
        let counts = by_status
            .into_iter()
            .map(|(status, count)| (status.as_str(), count))
            .collect();
        Ok(CampaignView {
            id: record.id,
            name: record.name.clone(),
            workflow: WorkflowRef {
                id: record.workflow_id.clone(),
                version: record.workflow_version,
            },
            state: record.state.as_str(),
            tags: record.tags.clone(),
            created_at: record.created_at,
            scheduled_at: record.scheduled_at,
            started_at: record.started_at,
            recipients: record.recipients,
            counts,
            owner: record.owner.clone(),
            provider: record.provider.clone(),
            senders: self
                .realtime
                .senders
                .of_source(&record.workflow_source)
                .to_vec(),
            messages,
            progress,
            actions: allowed_actions(record.state),
        })
    }

    /// The current good version of a workflow for a new campaign, or 422 saying why not.
    fn workflow_for_new_campaign(&self, id: &str) -> ApiResult<Arc<WorkflowVersion>> {
        self.registry.get_for_new_campaign(id).map_err(|error| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "workflow",
                error.to_string(),
            )
        })
    }

    /// The answer to a request that made campaign `id`: 201 with its view.
    fn created(&self, id: CampaignId) -> ApiResult<(StatusCode, Json<CampaignView>)> {
        let record = self.campaign_record(id)?;
        Ok((StatusCode::CREATED, Json(self.campaign_view(&record)?)))
    }

    /// The campaign record, or 404.
    pub fn campaign_record(&self, id: CampaignId) -> ApiResult<CampaignRecord> {
        self.store
            .campaign(id)?
            .ok_or_else(|| ApiError::not_found(format!("no campaign {id}")))
    }
}

/// `POST /v1/campaigns` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCampaign {
    /// Display name.
    pub name: String,
    /// The workflow's id (its current good version is used).
    pub workflow: String,
    /// Extra tags, besides the workflow's.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Who is responsible for it (1 to 100 characters, trimmed).
    pub owner: Option<String>,
}

/// Longest campaign name.
const MAX_NAME: usize = 200;
/// Longest owner.
const MAX_OWNER: usize = 100;

/// The fraction of recipients in a final status (0 without recipients).
fn progress(counts: &BTreeMap<RecipientStatus, u64>) -> f64 {
    let total: u64 = counts.values().sum();
    if total == 0 {
        return 0.0;
    }
    let done: u64 = counts
        .iter()
        .filter(|(status, _)| status.is_final())
        .map(|(_, count)| count)
        .sum();
    done as f64 / total as f64
}

/// `value` trimmed, or a 400 unless that is 1 to `max` characters.
fn check_length<'a>(field: &str, value: &'a str, max: usize) -> ApiResult<&'a str> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(ApiError::bad_request(format!(
            "{field} must be 1 to {max} characters"
        )));
    }
    Ok(value)
}

fn check_owner(owner: &str) -> ApiResult<&str> {
    check_length("owner", owner, MAX_OWNER)
}

fn check_name(name: &str) -> ApiResult<&str> {
    check_length("name", name, MAX_NAME)
}

/// `POST /v1/campaigns`: a draft campaign from a workflow.
pub async fn create(
    State(state): State<Shared>,
    Json(body): Json<CreateCampaign>,
) -> ApiResult<(StatusCode, Json<CampaignView>)> {
    let name = check_name(&body.name)?.to_string();
    let owner = body
        .owner
        .as_deref()
        .map(check_owner)
        .transpose()?
        .map(str::to_string);
    let version = state.workflow_for_new_campaign(&body.workflow)?;
    let labels = CampaignLabels {
        workflow_version: Some(version.version),
        tags: body.tags,
        owner,
    };
    let source = version.source.clone();
    let id = state
        .driver
        .call(move |runtime| runtime.create_campaign_labelled(&name, &source, labels))
        .await??;
    state.created(id)
}

/// `GET /v1/campaigns/{id}`.
pub async fn get(
    State(state): State<Shared>,
    Path(id): Path<CampaignId>,
) -> ApiResult<Json<CampaignView>> {
    let record = state.campaign_record(id)?;
    Ok(Json(state.campaign_view(&record)?))
}

/// `GET /v1/campaigns` query.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Comma-separated states (`sending,paused`); archived campaigns show only when asked.
    pub status: Option<String>,
    /// Part of the name, any case.
    pub name: Option<String>,
    /// A tag the campaign has.
    pub tag: Option<String>,
    /// The workflow id.
    pub workflow: Option<String>,
    /// The owner, exactly.
    pub owner: Option<String>,
    /// Started at or after.
    pub started_after: Option<DateTime<Utc>>,
    /// Started before.
    pub started_before: Option<DateTime<Utc>>,
    /// `created_at` (default), `started_at`, `name`, `id`, `recipients`, `state`, `owner`,
    /// `sender`, `messages`, `progress`.
    pub sort: Option<String>,
    /// `desc` (default) or `asc`.
    pub order: Option<String>,
    /// 1-based page.
    pub page: Option<usize>,
    /// Campaigns per page (default 50, at most 500).
    pub per_page: Option<usize>,
}

/// `GET /v1/campaigns` answer.
#[derive(Debug, Serialize)]
pub struct CampaignPage {
    /// This page.
    pub campaigns: Vec<CampaignView>,
    /// Which page.
    pub page: usize,
    /// Page size.
    pub per_page: usize,
    /// Matching campaigns in all.
    pub total: usize,
}

fn parse_states(list: &str) -> ApiResult<Vec<CampaignState>> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|name| {
            serde_json::from_value::<CampaignState>(serde_json::Value::String(name.to_string()))
                .map_err(|_| {
                    ApiError::bad_request(format!(
                        "status {name:?} is not a campaign state (draft, scheduled, sending, \
                         paused, completed, stopped, retrying, archived)"
                    ))
                })
        })
        .collect()
}

/// A column campaigns are listed by. Ties go by id, so pages are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortKey {
    CreatedAt,
    StartedAt,
    Name,
    Id,
    Recipients,
    State,
    Owner,
    Sender,
    Messages,
    Progress,
}

impl SortKey {
    fn parse(name: &str) -> ApiResult<Self> {
        Ok(match name {
            "created_at" => Self::CreatedAt,
            "started_at" => Self::StartedAt,
            "name" => Self::Name,
            "id" => Self::Id,
            "recipients" => Self::Recipients,
            "state" => Self::State,
            "owner" => Self::Owner,
            "sender" => Self::Sender,
            "messages" => Self::Messages,
            "progress" => Self::Progress,
            other => {
                return Err(ApiError::bad_request(format!(
                    "sort {other:?}: use created_at, started_at, name, id, recipients, state, \
                     owner, sender, messages or progress"
                )));
            }
        })
    }

    /// Whether the key is a figure of the view (counters, the workflow's senders) rather
    /// than a field of the record.
    fn needs_views(self) -> bool {
        matches!(self, Self::Sender | Self::Messages | Self::Progress)
    }

    fn compare_records(self, a: &CampaignRecord, b: &CampaignRecord) -> std::cmp::Ordering {
        let lower = |owner: &Option<String>| owner.as_deref().map(str::to_lowercase);
        match self {
            Self::CreatedAt => a.created_at.cmp(&b.created_at),
            Self::StartedAt => a.started_at.cmp(&b.started_at),
            Self::Name => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
            Self::Id => std::cmp::Ordering::Equal,
            Self::Recipients => a.recipients.cmp(&b.recipients),
            // The lifecycle's order: draft, scheduled, sending, paused, completed, ...
            Self::State => (a.state as u8).cmp(&(b.state as u8)),
            // Campaigns without an owner first.
            Self::Owner => lower(&a.owner).cmp(&lower(&b.owner)),
            Self::Sender | Self::Messages | Self::Progress => std::cmp::Ordering::Equal,
        }
        .then(a.id.cmp(&b.id))
    }

    fn compare_views(self, a: &CampaignView, b: &CampaignView) -> std::cmp::Ordering {
        match self {
            // By the first number (campaigns without one first).
            Self::Sender => a.senders.first().cmp(&b.senders.first()),
            Self::Messages => a.messages.cmp(&b.messages),
            Self::Progress => a.progress.total_cmp(&b.progress),
            _ => std::cmp::Ordering::Equal,
        }
        .then(a.id.cmp(&b.id))
    }
}

/// `GET /v1/campaigns`.
pub async fn list(
    State(state): State<Shared>,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<CampaignPage>> {
    let states = query.status.as_deref().map(parse_states).transpose()?;
    let name = query.name.as_deref().map(str::to_lowercase);
    let mut matching: Vec<CampaignRecord> = state
        .store
        .campaigns()?
        .into_iter()
        .filter(|c| match &states {
            Some(states) => states.contains(&c.state),
            None => c.state != CampaignState::Archived,
        })
        .filter(|c| {
            name.as_ref()
                .is_none_or(|n| c.name.to_lowercase().contains(n))
        })
        .filter(|c| query.workflow.as_ref().is_none_or(|w| &c.workflow_id == w))
        .filter(|c| {
            query
                .owner
                .as_ref()
                .is_none_or(|o| c.owner.as_ref() == Some(o))
        })
        .filter(|c| query.tag.as_ref().is_none_or(|t| c.tags.contains(t)))
        .filter(|c| {
            query
                .started_after
                .is_none_or(|after| c.started_at.is_some_and(|s| s >= after))
        })
        .filter(|c| {
            query
                .started_before
                .is_none_or(|before| c.started_at.is_some_and(|s| s < before))
        })
        .collect();
    let sort = SortKey::parse(query.sort.as_deref().unwrap_or("created_at"))?;
    let descending = match query.order.as_deref().unwrap_or("desc") {
        "desc" => true,
        "asc" => false,
        other => {
            return Err(ApiError::bad_request(format!(
                "order {other:?}: use asc or desc"
            )));
        }
    };
    let per_page = query.per_page.unwrap_or(50).clamp(1, 500);
    let page = query.page.unwrap_or(1).max(1);
    let total = matching.len();
    let skip = (page - 1).saturating_mul(per_page);
    let campaigns = if sort.needs_views() {
        // Figures from the counters: every match's view is needed to order them.
        let mut views = matching
            .iter()
            .map(|record| state.campaign_view(record))
            .collect::<ApiResult<Vec<_>>>()?;
        views.sort_by(|a, b| sort.compare_views(a, b));
        if descending {
            views.reverse();
        }
        views.into_iter().skip(skip).take(per_page).collect()
    } else {
        matching.sort_by(|a, b| sort.compare_records(a, b));
        if descending {
            matching.reverse();
        }
        matching
            .iter()
            .skip(skip)
            .take(per_page)
            .map(|record| state.campaign_view(record))
            .collect::<ApiResult<Vec<_>>>()?
    };
    Ok(Json(CampaignPage {
        campaigns,
        page,
        per_page,
        total,
    }))
}

/// `PATCH /v1/campaigns/{id}` body: what to change in a draft.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditCampaign {
    /// A new name.
    pub name: Option<String>,
    /// Move to the current version of this workflow.
    pub workflow: Option<String>,
}

/// `PATCH /v1/campaigns/{id}`: edit a draft.
pub async fn edit(
    State(state): State<Shared>,
    Path(id): Path<CampaignId>,
    Json(body): Json<EditCampaign>,
) -> ApiResult<Json<CampaignView>> {
    let name = body
        .name
        .as_deref()
        .map(check_name)
        .transpose()?
        .map(str::to_string);
    let version = body
        .workflow
        .as_deref()
        .map(|workflow| state.workflow_for_new_campaign(workflow))
        .transpose()?;
    state
        .driver
        .call(move |runtime| {
            runtime.edit_labelled(
                id,
                name.as_deref(),
                version.as_ref().map(|v| (&*v.source, Some(v.version))),
            )
        })
        .await??;
    get(State(state), Path(id)).await
}

/// `POST /v1/campaigns/{id}/schedule` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    /// When to start (RFC 3339).
    pub at: DateTime<Utc>,
}

/// `POST /v1/campaigns/{id}/schedule`.
pub async fn schedule(
    State(state): State<Shared>,
    Path(id): Path<CampaignId>,
    Json(body): Json<ScheduleBody>,
) -> ApiResult<Json<CampaignView>> {
    if body.at <= state.clock.now() {
        return Err(ApiError::bad_request(
            "`at` is in the past: start the campaign instead",
        ));
    }
    state
        .driver
        .call(move |runtime| runtime.schedule(id, body.at))
        .await??;
    get(State(state), Path(id)).await
}

/// The lifecycle action a `POST /v1/campaigns/{id}/{action}` path names.
fn action_of(name: &str) -> Option<LifecycleAction> {
    PATH_ACTIONS
        .iter()
        .find(|(path, _)| *path == name)
        .map(|(_, action)| *action)
}

/// The actions `POST /v1/campaigns/{id}/{action}` takes, by path name.
const PATH_ACTIONS: [(&str, LifecycleAction); 7] = [
    ("start", LifecycleAction::Start),
    ("pause", LifecycleAction::Pause),
    ("resume", LifecycleAction::Resume),
    ("stop", LifecycleAction::Stop),
    ("restart", LifecycleAction::Restart),
    ("retry-failed", LifecycleAction::RetryFailed),
    ("archive", LifecycleAction::Archive),
];

/// The names of what a campaign in `state` may do: the path actions, `edit` (PATCH),
/// `schedule`, `delete` where the lifecycle allows them, and `duplicate` always.
pub fn allowed_actions(state: CampaignState) -> Vec<&'static str> {
    let others = [
        ("edit", LifecycleAction::Edit),
        ("schedule", LifecycleAction::Schedule),
        ("delete", LifecycleAction::Delete),
    ];
    PATH_ACTIONS
        .iter()
        .chain(&others)
        .filter(|(_, action)| transition(state, *action).is_ok())
        .map(|(name, _)| *name)
        .chain(["duplicate"])
        .collect()
}

/// `POST /v1/campaigns/{id}/{action}`: start, pause, resume, stop, restart, retry-failed,
/// archive.
pub async fn act(
    State(state): State<Shared>,
    Path((id, action)): Path<(CampaignId, String)>,
) -> ApiResult<Json<CampaignView>> {
    let Some(action) = action_of(&action) else {
        return Err(ApiError::not_found(format!(
            "no action {action:?}: use start, pause, resume, stop, restart, retry-failed, archive, \
             schedule or duplicate"
        )));
    };
    state
        .driver
        .call(move |runtime| runtime.act(id, action))
        .await??;
    get(State(state), Path(id)).await
}

/// `POST /v1/campaigns/{id}/duplicate` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuplicateBody {
    /// The copy's name (default: "<name> (copy)").
    pub name: Option<String>,
}

/// `POST /v1/campaigns/{id}/duplicate`: a new draft with the same workflow version and lists.
pub async fn duplicate(
    State(state): State<Shared>,
    Path(id): Path<CampaignId>,
    body: Option<Json<DuplicateBody>>,
) -> ApiResult<(StatusCode, Json<CampaignView>)> {
    let original = state.campaign_record(id)?;
    let name = match body.and_then(|Json(b)| b.name) {
        Some(name) => check_name(&name)?.to_string(),
        None => format!("{} (copy)", original.name),
    };
    let copy = state
        .driver
        .call(move |runtime| runtime.duplicate(id, &name))
        .await??;
    state.created(copy)
}

/// `DELETE /v1/campaigns/{id}`.
pub async fn delete(
    State(state): State<Shared>,
    Path(id): Path<CampaignId>,
) -> ApiResult<StatusCode> {
    state
        .driver
        .call(move |runtime| runtime.delete(id))
        .await??;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_the_final_share_of_recipients() {
        assert_eq!(progress(&BTreeMap::new()), 0.0);
        let counts = BTreeMap::from([
            (RecipientStatus::Scheduled, 2),
            (RecipientStatus::Sent, 1),
            (RecipientStatus::OptedOut, 1),
        ]);
        assert_eq!(progress(&counts), 0.5);
    }

    #[test]
    fn owners_are_trimmed_and_bounded() {
        assert_eq!(check_owner("  ada ").ok(), Some("ada"));
        assert!(check_owner("   ").is_err());
        assert!(check_owner(&"x".repeat(MAX_OWNER + 1)).is_err());
        assert!(check_owner(&"é".repeat(MAX_OWNER)).is_ok());
    }

    #[test]
    fn every_column_sorts_and_others_are_refused() {
        for name in [
            "created_at",
            "started_at",
            "name",
            "id",
            "recipients",
            "state",
            "owner",
            "sender",
            "messages",
            "progress",
        ] {
            assert!(SortKey::parse(name).is_ok(), "{name}");
        }
        let refused = SortKey::parse("cost").err().map(|e| e.message);
        assert!(refused.is_some_and(|m| m.contains("progress")));
    }
}
