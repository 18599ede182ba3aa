//! `/v1/suppressions`: the suppression list. Export it (JSON or CSV), add numbers (JSON, or a
//! CSV import with a `phone` column and an optional `detail`), take one off (an opt-in by
//! API), and read a number's consent history. Every change is kept in the consent log with
//! who, when and how; suppressing stops every campaign's sends to the number from their next
//! turn.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use switchboard_runtime::conversation::ConsentRecord;
use switchboard_runtime::conversation::ConsentSource;

use super::conversations::e164;
use super::error::{ApiError, ApiResult};
use super::state::Shared;

/// `GET /v1/suppressions` query.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// The suppression list.
#[derive(Debug, Serialize)]
pub struct SuppressionList {
    /// Each opted-out number with its latest opt-out.
    pub suppressions: Vec<ConsentRecord>,
}

/// `GET /v1/suppressions`.
pub async fn export(
    State(state): State<Shared>,
    Query(query): Query<ExportQuery>,
) -> ApiResult<Response> {
    let list = state.store.suppression_list()?;
    match query.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(SuppressionList { suppressions: list }).into_response()),
        "csv" => {
            let mut writer = csv::Writer::from_writer(Vec::new());
            let csv_error = |e: csv::Error| ApiError::internal("writing the CSV", e);
            writer
                .write_record(["phone", "at", "how", "who", "detail"])
                .map_err(csv_error)?;
            for record in &list {
                writer
                    .write_record([
                        record.phone.as_str(),
                        &record.at.to_rfc3339(),
                        how_name(record.how),
                        &record.who,
                        &record.detail,
                    ])
                    .map_err(csv_error)?;
            }
            let bytes = writer
                .into_inner()
                .map_err(|e| ApiError::internal("writing the CSV", e))?;
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"suppressions.csv\"",
                    ),
                ],
                bytes,
            )
                .into_response())
        }
        other => Err(ApiError::bad_request(format!(
            "no format {other:?}: use json or csv"
        ))),
    }
}

fn how_name(how: ConsentSource) -> &'static str {
    match how {
        ConsentSource::Keyword => "keyword",
        ConsentSource::Api => "api",
        ConsentSource::Import => "import",
        ConsentSource::Provider => "provider",
    }
}

/// `POST /v1/suppressions` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddBody {
    /// Numbers to suppress (E.164, or national numbers of the US/Canada).
    pub phones: Vec<String>,
    /// Who asks (kept in the consent log).
    pub who: String,
    /// Why (kept in the consent log).
    pub detail: Option<String>,
}

/// What a change to the list did.
#[derive(Debug, Serialize)]
pub struct ChangeSummary {
    /// Numbers whose state changed.
    pub changed: usize,
    /// Numbers already in that state.
    pub unchanged: usize,
    /// Values that are not phone numbers, with their line (CSV) or position (JSON, from 1).
    pub rejected: Vec<Rejected>,
}

/// A value that is not a phone number.
#[derive(Debug, Serialize)]
pub struct Rejected {
    /// Its line (CSV, the header is line 1) or position (JSON, from 1).
    pub line: u64,
    /// What was given.
    pub value: String,
    /// Why it was refused.
    pub error: String,
}

/// `POST /v1/suppressions`: opt numbers out by API (no confirmation is sent).
pub async fn add(
    State(state): State<Shared>,
    Json(body): Json<AddBody>,
) -> ApiResult<Json<ChangeSummary>> {
    let detail = body.detail.unwrap_or_default();
    let rows = body
        .phones
        .into_iter()
        .enumerate()
        .map(|(i, phone)| (i as u64 + 1, phone, detail.clone()))
        .collect();
    apply(&state, rows, true, ConsentSource::Api, body.who).await
}

/// `POST /v1/suppressions/import` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// Who imports (kept in the consent log).
    pub who: String,
}

/// `POST /v1/suppressions/import`: a CSV with a `phone` column (and an optional `detail`)
/// as the raw body; each number is suppressed (how: import).
pub async fn import(
    State(state): State<Shared>,
    Query(query): Query<ImportQuery>,
    body: Bytes,
) -> ApiResult<Json<ChangeSummary>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(body.as_ref());
    let headers = reader
        .headers()
        .map_err(|e| ApiError::bad_request(format!("line 1: {e}")))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let phone = column("phone").ok_or_else(|| {
        ApiError::bad_request("line 1: the CSV needs a `phone` column (and may have `detail`)")
    })?;
    let detail = column("detail");
    let mut rows = Vec::new();
    let mut rejected = Vec::new();
    for (index, record) in reader.records().enumerate() {
        // The line the row starts on, as an editor shows it: the reader skips blank lines and
        // a quoted value may span lines, so counting rows would name the wrong line after
        // either. (The count is only a fallback for an error that carries no position.)
        let position = match &record {
            Ok(record) => record.position(),
            Err(error) => error.position(),
        };
        let line = position.map_or(index as u64 + 2, csv::Position::line);
        match record {
            Ok(record) => rows.push((
                line,
                record.get(phone).unwrap_or_default().to_string(),
                detail
                    .and_then(|d| record.get(d))
                    .unwrap_or_default()
                    .to_string(),
            )),
            Err(error) => rejected.push(Rejected {
                line,
                value: String::new(),
                error: error.to_string(),
            }),
        }
    }
    let mut summary = apply(&state, rows, true, ConsentSource::Import, query.who)
        .await?
        .0;
    summary.rejected.extend(rejected);
    summary.rejected.sort_by_key(|r| r.line);
    Ok(Json(summary))
}

/// `DELETE /v1/suppressions/{phone}` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveQuery {
    /// Who takes the number off the list (kept in the consent log).
    pub who: String,
}

/// `DELETE /v1/suppressions/{phone}`: an opt-in by API (the contact asked another way).
pub async fn remove(
    State(state): State<Shared>,
    Path(phone): Path<String>,
    Query(query): Query<RemoveQuery>,
) -> ApiResult<Json<ChangeSummary>> {
    let e164 = e164(&phone, "phone")?;
    if !state.store.is_suppressed(&e164)? {
        return Err(ApiError::not_found(format!(
            "{e164} is not on the suppression list"
        )));
    }
    apply(
        &state,
        vec![(1, e164, String::new())],
        false,
        ConsentSource::Api,
        query.who,
    )
    .await
}

/// A number's consent history.
#[derive(Debug, Serialize)]
pub struct ConsentHistory {
    /// The number.
    pub phone: String,
    /// Whether it is suppressed now.
    pub opted_out: bool,
    /// Every opt-in and opt-out, oldest first.
    pub history: Vec<ConsentRecord>,
}

/// `GET /v1/suppressions/{phone}`.
pub async fn history(
    State(state): State<Shared>,
    Path(phone): Path<String>,
) -> ApiResult<Json<ConsentHistory>> {
    let phone = e164(&phone, "phone")?;
    Ok(Json(ConsentHistory {
        opted_out: state.store.is_suppressed(&phone)?,
        history: state.store.consent_history(&phone)?,
        phone,
    }))
}

async fn apply(
    state: &Shared,
    rows: Vec<(u64, String, String)>,
    opted_out: bool,
    how: ConsentSource,
    who: String,
) -> ApiResult<Json<ChangeSummary>> {
    if who.trim().is_empty() {
        return Err(ApiError::bad_request(
            "`who` must name who makes the change (kept in the consent log)",
        ));
    }
    let mut numbers = Vec::new();
    let mut rejected = Vec::new();
    for (line, value, detail) in rows {
        match e164(&value, "phone") {
            Ok(phone) => numbers.push((phone, detail)),
            Err(error) => rejected.push(Rejected {
                line,
                value,
                error: error.message,
            }),
        }
    }
    let summary = state
        .driver
        .call(move |runtime| runtime.record_consents(&numbers, opted_out, how, who.trim()))
        .await??;
    Ok(Json(ChangeSummary {
        changed: summary.changed,
        unchanged: summary.unchanged,
        rejected,
    }))
}
