//! `/v1/conversations`: the agent's side. Conversations by queue, state, assignee, contact or
//! campaign (latest activity first, paged); one conversation with its timeline (campaign
//! messages with their current status), guidance (ranked suggestions, flags, saved fields,
//! tags), whether the contact opted out and until when quiet hours would hold a reply; claim,
//! assign, reply (through the provider with every compliance check), note, close. Changes go
//! out on the SSE stream as `conversation` events. Also the conversation workflows the engine runs, rebuilt from the registry on load
//! and on every reload.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchboard_guidance::flow::FlowSet;
use switchboard_model::Workflow;
use switchboard_registry::{Status, WorkflowRegistry};
use switchboard_runtime::conversation::outbox::held_until;
use switchboard_runtime::conversation::records::{ConsentRecord, Suggestion};
use switchboard_runtime::conversation::store::ConversationFilter;
use switchboard_runtime::conversation::{
    ConversationId, ConversationRecord, ConversationState, EntryKind, TimelineEntry,
};

use super::error::{ApiError, ApiResult};
use super::log;
use super::state::Shared;

/// The conversation workflows of the registry's last good versions (removed ones left out).
pub fn flow_set(registry: &WorkflowRegistry) -> FlowSet {
    let mut flows = FlowSet::new();
    for status in registry.list() {
        if status.status == Status::Removed {
            continue;
        }
        let Some(version) = registry.last_good(&status.id) else {
            continue;
        };
        if let Workflow::Conversation(conversation) = version.workflow.as_ref()
            && let Err(error) = flows.insert(Arc::new((**conversation).clone()), version.version)
        {
            log::warn(&format!(
                "conversation workflow {} version {} cannot run: {error}",
                status.id, version.version
            ));
        }
    }
    flows
}

/// `GET /v1/conversations` query.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only this queue.
    pub queue: Option<String>,
    /// `open`, `assigned` or `closed`.
    pub state: Option<String>,
    /// Only this agent's.
    pub assignee: Option<String>,
    /// Only with this contact (E.164).
    pub contact: Option<String>,
    /// Only linked to this campaign.
    pub campaign: Option<u64>,
    /// 1-based page.
    pub page: Option<usize>,
    /// Conversations per page (default 50, at most 500).
    pub per_page: Option<usize>,
}

/// A page of conversations.
#[derive(Debug, Serialize)]
pub struct ConversationPage {
    /// The conversations, latest activity first.
    pub conversations: Vec<ConversationSummary>,
    /// All that match.
    pub total: usize,
    /// This page.
    pub page: usize,
    /// Its size.
    pub per_page: usize,
}

/// A conversation in a listing.
#[derive(Debug, Serialize)]
pub struct ConversationSummary {
    /// The conversation.
    #[serde(flatten)]
    pub record: ConversationRecord,
    /// Whether the contact is on the suppression list.
    pub opted_out: bool,
}

fn parse_state(state: &str) -> ApiResult<ConversationState> {
    match state {
        "open" => Ok(ConversationState::Open),
        "assigned" => Ok(ConversationState::Assigned),
        "closed" => Ok(ConversationState::Closed),
        other => Err(ApiError::bad_request(format!(
            "no conversation state {other:?}: use open, assigned or closed"
        ))),
    }
}

/// `GET /v1/conversations`.
pub async fn list(
    State(state): State<Shared>,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<ConversationPage>> {
    let filter = ConversationFilter {
        queue: query.queue,
        state: query.state.as_deref().map(parse_state).transpose()?,
        assignee: query.assignee,
        contact: query
            .contact
            .as_deref()
            .map(|contact| e164(contact, "contact"))
            .transpose()?,
        campaign: query.campaign,
    };
    let per_page = query.per_page.unwrap_or(50).clamp(1, 500);
    let page = query.page.unwrap_or(1).max(1);
    let all = state.store.conversations(&filter)?;
    let total = all.len();
    let mut conversations = Vec::new();
    for record in all.into_iter().skip((page - 1) * per_page).take(per_page) {
        let opted_out = state.store.is_suppressed(&record.contact)?;
        conversations.push(ConversationSummary { record, opted_out });
    }
    Ok(Json(ConversationPage {
        conversations,
        total,
        page,
        per_page,
    }))
}

/// A timeline entry, with the current status of a campaign message.
#[derive(Debug, Serialize)]
pub struct TimelineView {
    /// The entry.
    #[serde(flatten)]
    pub entry: TimelineEntry,
    /// A campaign message's status now (`sent`, `delivered`, `failed`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<switchboard_runtime::records::MessageStatus>,
}

/// One conversation with everything an agent needs.
#[derive(Debug, Serialize)]
pub struct ConversationView {
    /// The conversation (state, queue, assignee, campaign, tags, saved fields, flags).
    #[serde(flatten)]
    pub record: ConversationRecord,
    /// Ranked suggestions for the latest message (also in `suggestions`), first first.
    pub guidance: Vec<Suggestion>,
    /// The contact's opt-out, when they are on the suppression list: nothing can be sent.
    pub opted_out: Option<ConsentRecord>,
    /// Everything said and done, oldest first.
    pub timeline: Vec<TimelineView>,
    /// When a reply written now would go out, if the contact's quiet hours would hold it
    /// (null: it would go out at once).
    pub reply_held_until: Option<DateTime<Utc>>,
}

fn conversation_view(state: &Shared, record: ConversationRecord) -> ApiResult<ConversationView> {
    let timeline = state
        .store
        .timeline(&record.our_number, &record.contact)?
        .into_iter()
        .map(|entry| {
            let status = match &entry.kind {
                EntryKind::Campaign {
                    campaign,
                    recipient,
                    pc,
                    attempt,
                    ..
                } => state
                    .store
                    .message(*campaign, *recipient, *pc, *attempt)?
                    .map(|message| message.status),
                _ => None,
            };
            Ok(TimelineView { entry, status })
        })
        .collect::<ApiResult<_>>()?;
    // The engine holds a reply with the same function and settings, so the warning an agent
    // sees matches what will happen (unless the clock crosses the opening meanwhile).
    let config = &state.runtime_config;
    let reply_held_until = held_until(
        record.timezone.as_deref(),
        config.default_timezone,
        config.allowed_hours,
        state.clock.now(),
    );
    Ok(ConversationView {
        guidance: record.suggestions.clone(),
        opted_out: state.store.suppression(&record.contact)?,
        timeline,
        reply_held_until,
        record,
    })
}

fn record(state: &Shared, id: ConversationId) -> ApiResult<ConversationRecord> {
    state
        .store
        .conversation(id)?
        .ok_or_else(|| ApiError::not_found(format!("no conversation {id}")))
}

/// `GET /v1/conversations/{id}`.
pub async fn get(
    State(state): State<Shared>,
    Path(id): Path<ConversationId>,
) -> ApiResult<Json<ConversationView>> {
    let record = record(&state, id)?;
    Ok(Json(conversation_view(&state, record)?))
}

/// `POST /v1/conversations` body: start a conversation with a contact.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    /// The contact (E.164).
    pub contact: String,
    /// Our number (E.164) the conversation is from.
    pub from: String,
    /// The provider instance replies go through (default: the only one, else `mock`).
    pub provider: Option<String>,
}

/// `POST /v1/conversations`: the conversation of (from, contact), created if new.
pub async fn start(
    State(state): State<Shared>,
    Json(body): Json<StartBody>,
) -> ApiResult<(StatusCode, Json<ConversationView>)> {
    let contact = e164(&body.contact, "contact")?;
    let from = e164(&body.from, "from")?;
    let provider = match body.provider {
        Some(name) if state.providers.get(&name).is_some() => name,
        Some(name) => {
            return Err(ApiError::bad_request(format!(
                "no provider instance named {name:?}"
            )));
        }
        None => state.providers.default_instance(),
    };
    let record = state
        .driver
        .call(move |runtime| runtime.start_conversation(&from, &contact, &provider))
        .await??;
    Ok((
        StatusCode::CREATED,
        Json(conversation_view(&state, record)?),
    ))
}

/// A number in E.164, or a 400 naming the field.
pub fn e164(raw: &str, field: &str) -> ApiResult<String> {
    let region = "US"
        .parse()
        .map_err(|_| ApiError::internal("the default region", "US"))?;
    switchboard_import::phone::normalise(raw.trim(), region)
        .map(|phone| phone.e164)
        .map_err(|why| {
            ApiError::bad_request(format!("`{field}`: {raw:?} is not a phone number ({why})"))
        })
}

/// Body of claim, close: who.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentBody {
    /// The agent.
    pub agent: String,
}

/// `POST /v1/conversations/{id}/claim`.
pub async fn claim(
    State(state): State<Shared>,
    Path(id): Path<ConversationId>,
    Json(body): Json<AgentBody>,
) -> ApiResult<Json<ConversationView>> {
    let record = state
        .driver
        .call(move |runtime| runtime.claim_conversation(id, &body.agent))
        .await??;
    Ok(Json(conversation_view(&state, record)?))
}

/// `POST /v1/conversations/{id}/close`.
pub async fn close(
    State(state): State<Shared>,
    Path(id): Path<ConversationId>,
    Json(body): Json<AgentBody>,
) -> ApiResult<Json<ConversationView>> {
    let record = state
        .driver
        .call(move |runtime| runtime.close_conversation(id, &body.agent))
        .await??;
    Ok(Json(conversation_view(&state, record)?))
}

/// `POST /v1/conversations/{id}/assign` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// The agent it goes to.
    pub agent: String,
    /// Who assigns it.
    pub by: Option<String>,
}

/// `POST /v1/conversations/{id}/assign`.
pub async fn assign(
    State(state): State<Shared>,
    Path(id): Path<ConversationId>,
    Json(body): Json<AssignBody>,
) -> ApiResult<Json<ConversationView>> {
    let by = body.by.unwrap_or_else(|| "the API".to_string());
    let record = state
        .driver
        .call(move |runtime| runtime.assign_conversation(id, &body.agent, &by))
        .await??;
    Ok(Json(conversation_view(&state, record)?))
}

/// Body of reply and note.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextBody {
    /// The agent.
    pub agent: String,
    /// The text.
    pub text: String,
}

/// `POST /v1/conversations/{id}/reply`: 202 with the queued message (its `due_at` is later
/// than now when the contact's quiet hours hold it); 409 `opted_out` for an opted-out contact.
pub async fn reply(
    State(state): State<Shared>,
    Path(id): Path<ConversationId>,
    Json(body): Json<TextBody>,
) -> ApiResult<(StatusCode, Json<TimelineEntry>)> {
    let entry = state
        .driver
        .call(move |runtime| runtime.agent_reply(id, &body.agent, &body.text))
        .await??;
    // Every engine job is followed by a tick, which sends what is due.
    Ok((StatusCode::ACCEPTED, Json(entry)))
}

/// `POST /v1/conversations/{id}/notes`.
pub async fn note(
    State(state): State<Shared>,
    Path(id): Path<ConversationId>,
    Json(body): Json<TextBody>,
) -> ApiResult<(StatusCode, Json<TimelineEntry>)> {
    let entry = state
        .driver
        .call(move |runtime| runtime.add_note(id, &body.agent, &body.text))
        .await??;
    Ok((StatusCode::CREATED, Json(entry)))
}
