//! `/v1/campaigns/{id}/lists`: upload a recipient file (the raw request body: CSV or JSON
//! lines), list a campaign's lists with their import summaries, download a list's error log.
//!
//! An upload is refused before a byte is read when its declared length is over the limit,
//! and as soon as it passes the limit otherwise. It is spooled to a file in the data
//! directory first, so a slow client never holds the engine; the engine then imports the
//! file whole or not at all, and the file is removed.

use std::io::Write;
use std::path::PathBuf;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::Deserialize;
use switchboard_import::{HeaderOverrides, ImportLimits, Region};
use switchboard_list_import::{
    ErrorLogFormat, FileFormat, FileImportError, ListFile, import_file, write_error_log,
};
use switchboard_model::timezone::Timezone;
use switchboard_runtime::lists::NewList;
use switchboard_runtime::records::{CampaignId, ListId, ListRecord};

use super::error::{ApiError, ApiResult};
use super::state::Shared;

/// `POST /v1/campaigns/{id}/lists` query: how to read the file and the list's settings.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The list's name (default: the file name without its extension, else `list-<n>`).
    pub name: Option<String>,
    /// The uploaded file's name (for the record and the default format).
    pub filename: Option<String>,
    /// `csv` or `jsonl` (default: from the file name, then the content type, else CSV).
    pub format: Option<String>,
    /// CSV delimiter (default: detected).
    pub delimiter: Option<String>,
    /// Region of numbers without a country code (default US).
    pub region: Option<String>,
    /// Timezone of recipients whose row names none.
    pub timezone: Option<String>,
    /// Infer a missing timezone from the number's region (default true).
    pub infer_timezone: Option<bool>,
    /// Outreach to the list starts no earlier than this.
    pub start: Option<DateTime<Utc>>,
    /// Outreach to the list ends then.
    pub end: Option<DateTime<Utc>>,
    /// Column choices, `role=Column` separated by commas (`phone=Mobile,name=First`).
    pub map: Option<String>,
}

/// Removes the spooled upload however the request ends.
struct Spooled(PathBuf);

impl Drop for Spooled {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn format_of(query: &UploadQuery, headers: &HeaderMap) -> ApiResult<FileFormat> {
    match query.format.as_deref() {
        Some("csv") => return Ok(FileFormat::Csv),
        Some("jsonl" | "ndjson") => return Ok(FileFormat::JsonLines),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "format {other:?}: use csv or jsonl"
            )));
        }
        None => {}
    }
    if let Some(name) = &query.filename {
        return Ok(FileFormat::of_path(std::path::Path::new(name)));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    Ok(
        if content_type.contains("ndjson") || content_type.contains("jsonl") {
            FileFormat::JsonLines
        } else {
            FileFormat::Csv
        },
    )
}

fn new_list(query: &UploadQuery, max_bytes: u64, default_name: String) -> ApiResult<NewList> {
    let region: Region = query
        .region
        .as_deref()
        .unwrap_or("US")
        .parse()
        .map_err(|error| ApiError::bad_request(format!("region: {error}")))?;
    let name = query.name.clone().unwrap_or(default_name);
    let mut list = NewList::new(name, query.filename.clone().unwrap_or_default(), region);
    list.timezone = query
        .timezone
        .as_deref()
        .map(str::parse::<Timezone>)
        .transpose()
        .map_err(|error| ApiError::bad_request(format!("timezone: {error}")))?;
    list.infer_timezone = query.infer_timezone.unwrap_or(true);
    list.start = query.start;
    list.end = query.end;
    if let Some(map) = &query.map {
        list.overrides = HeaderOverrides::parse(map.split(',').map(str::trim))
            .map_err(|error| ApiError::bad_request(format!("map: {error}")))?;
    }
    list.limits = ImportLimits {
        max_file_bytes: max_bytes,
        ..ImportLimits::default()
    };
    Ok(list)
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!("the file is larger than the limit of {limit} bytes"),
    )
}

/// `POST /v1/campaigns/{id}/lists`: imports the request body as a new list.
pub async fn upload(
    State(state): State<Shared>,
    Path(id): Path<CampaignId>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<ListRecord>)> {
    let limit = state.limits.max_upload_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large(limit));
    }
    state.campaign_record(id)?;
    let format = format_of(&query, &headers)?;
    let default_name = query
        .filename
        .as_deref()
        .and_then(|f| {
            std::path::Path::new(f)
                .file_stem()?
                .to_str()
                .map(str::to_string)
        })
        .unwrap_or_else(|| format!("list-{}", state.clock.now().format("%Y%m%d-%H%M%S")));
    let list = new_list(&query, limit, default_name)?;
    let options: Vec<(String, String)> = query
        .delimiter
        .iter()
        .map(|d| ("delimiter".to_string(), d.clone()))
        .collect();

    let spooled = spool(&state, body, limit).await?;
    let path = spooled.0.clone();
    let importers = state.importers.clone();
    let outcome = state
        .driver
        .call(move |runtime| -> Result<ListRecord, FileImportError> {
            let file = std::fs::File::open(&path).map_err(FileImportError::Read)?;
            let total_bytes = file.metadata().ok().map(|m| m.len());
            let importer = match format {
                FileFormat::Csv => &importers.csv,
                FileFormat::JsonLines => &importers.jsonl,
            };
            import_file(
                runtime,
                id,
                list,
                ListFile {
                    importer,
                    options: &options,
                    input: std::io::BufReader::with_capacity(256 * 1024, file),
                    total_bytes,
                },
                &mut |_| {},
            )
        })
        .await?;
    drop(spooled);
    match outcome {
        Ok(record) => Ok((StatusCode::CREATED, Json(record))),
        Err(FileImportError::Runtime(error)) => Err(error.into()),
        Err(error @ FileImportError::Read(_)) => {
            Err(ApiError::internal("reading the upload", error))
        }
        Err(error) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "list_refused",
            error.to_string(),
        )),
    }
}

/// Writes the body to a new file under the uploads directory, stopping at `limit` bytes.
async fn spool(state: &Shared, body: Body, limit: u64) -> ApiResult<Spooled> {
    // Created at start (`server::start`).
    let dir = state.uploads_dir.clone();
    let name = format!(
        "upload-{}-{}.part",
        std::process::id(),
        UPLOADS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let spooled = Spooled(dir.join(name));
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(&spooled.0)
            .map_err(|e| ApiError::internal("spooling the upload", e))?,
    );
    let mut stream = body.into_data_stream();
    let mut written: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("reading the upload: {e}")))?;
        written = written.saturating_add(chunk.len() as u64);
        if written > limit {
            return Err(too_large(limit));
        }
        file.write_all(&chunk)
            .map_err(|e| ApiError::internal("spooling the upload", e))?;
    }
    file.flush()
        .map_err(|e| ApiError::internal("spooling the upload", e))?;
    Ok(spooled)
}

static UPLOADS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// `GET /v1/campaigns/{id}/lists`: the campaign's lists with their import summaries.
pub async fn list(
    State(state): State<Shared>,
    Path(id): Path<CampaignId>,
) -> ApiResult<Json<Vec<ListRecord>>> {
    state.campaign_record(id)?;
    Ok(Json(state.store.lists(id)?))
}

/// `GET /v1/campaigns/{id}/lists/{list}`.
pub async fn get(
    State(state): State<Shared>,
    Path((id, list)): Path<(CampaignId, ListId)>,
) -> ApiResult<Json<ListRecord>> {
    find_list(&state, id, list).map(Json)
}

fn find_list(state: &Shared, id: CampaignId, list: ListId) -> ApiResult<ListRecord> {
    state.campaign_record(id)?;
    state
        .store
        .lists(id)?
        .into_iter()
        .find(|l| l.id == list)
        .ok_or_else(|| ApiError::not_found(format!("campaign {id} has no list {list}")))
}

/// `GET /v1/campaigns/{id}/lists/{list}/errors` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorsQuery {
    /// `csv` (default) or `json`.
    pub format: Option<String>,
}

/// `GET /v1/campaigns/{id}/lists/{list}/errors`: the list's error log.
pub async fn errors(
    State(state): State<Shared>,
    Path((id, list)): Path<(CampaignId, ListId)>,
    Query(query): Query<ErrorsQuery>,
) -> ApiResult<Response> {
    find_list(&state, id, list)?;
    let (format, content_type) = match query.format.as_deref().unwrap_or("csv") {
        "csv" => (ErrorLogFormat::Csv, "text/csv; charset=utf-8"),
        "json" => (ErrorLogFormat::Json, "application/json"),
        other => {
            return Err(ApiError::bad_request(format!(
                "format {other:?}: use csv or json"
            )));
        }
    };
    let mut body = Vec::new();
    write_error_log(&state.store, id, list, format, &mut body)
        .map_err(|e| ApiError::internal("writing the error log", e))?;
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}
