//! `/v1/workflows`: the workflows of the watched directory with their status (loaded, invalid
//! with its errors, removed) and version; one workflow with its source (and an invalid file's
//! text, for its errors' lines); a validation endpoint
//! for editors and CI. Also the watcher that reloads them and announces each change on the
//! event stream.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde::Serialize;
use switchboard_model::diagnostic::Diagnostic;
use switchboard_registry::{RegistryWatcher, ScanReport, Status, WorkflowRegistry, WorkflowStatus};

use super::error::{ApiError, ApiResult};
use super::events::EventBus;
use super::log;
use super::state::Shared;

/// How long file events must settle before a rescan.
const DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(250);

/// `GET /v1/workflows`.
pub async fn list(State(state): State<Shared>) -> Json<Vec<WorkflowStatus>> {
    Json(state.registry.list())
}

/// One workflow: its status and the source of its last good version.
#[derive(Debug, Serialize)]
pub struct WorkflowDetail {
    /// Status, version, errors.
    #[serde(flatten)]
    pub status: WorkflowStatus,
    /// The last good version's YAML.
    pub source: Option<String>,
    /// For an invalid workflow, the file as it is on disk now (its errors' lines point into
    /// it), when it can be read and is at most [`MAX_FILE_SOURCE`] bytes.
    pub file_source: Option<String>,
}

/// The largest invalid file whose text [`get`] returns.
const MAX_FILE_SOURCE: u64 = 1024 * 1024;

/// The text of a workflow file, if readable and not too large (read once, at most one byte
/// past the limit, so a file growing meanwhile cannot make it read more).
fn file_source(file: &std::path::Path) -> Option<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(file)
        .ok()?
        .take(MAX_FILE_SOURCE + 1)
        .read_to_string(&mut text)
        .ok()?;
    (text.len() as u64 <= MAX_FILE_SOURCE).then_some(text)
}

/// `GET /v1/workflows/{id}`.
pub async fn get(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Json<WorkflowDetail>> {
    let status = state
        .registry
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("no workflow {id:?}")))?;
    let source = state
        .registry
        .last_good(&id)
        .map(|version| version.source.to_string());
    // Only an invalid workflow's file is read (off the async threads).
    let file_source = if status.status == Status::Invalid {
        let file = status.file.clone();
        tokio::task::spawn_blocking(move || file_source(&file))
            .await
            .ok()
            .flatten()
    } else {
        None
    };
    Ok(Json(WorkflowDetail {
        status,
        source,
        file_source,
    }))
}

/// `POST /v1/workflows/validate` answer.
#[derive(Debug, Serialize)]
pub struct Validation {
    /// Whether the workflow may run.
    pub valid: bool,
    /// Every problem, with its line and column.
    pub diagnostics: Vec<Diagnostic>,
}

/// `POST /v1/workflows/validate`: checks a workflow's YAML (the body) without loading it.
pub async fn validate(State(state): State<Shared>, body: Bytes) -> ApiResult<Json<Validation>> {
    let text = std::str::from_utf8(&body)
        .map_err(|e| ApiError::bad_request(format!("the body is not UTF-8: {e}")))?;
    let report = state.registry.validate_source("request", text);
    Ok(Json(Validation {
        valid: report.is_valid(),
        diagnostics: report.diagnostics,
    }))
}

/// Watches the workflow directory: each change is logged and published as a `workflow` event.
pub fn watch(
    registry: &std::sync::Arc<WorkflowRegistry>,
    bus: EventBus,
    driver: super::driver::Driver,
) -> Result<RegistryWatcher, switchboard_registry::RegistryError> {
    let watched = registry.clone();
    registry
        .clone()
        .watch(DEBOUNCE, move |report: &ScanReport| {
            log_changes(report);
            // The conversation workflows run from their new versions on the next message.
            let flows = std::sync::Arc::new(super::conversations::flow_set(&watched));
            if driver
                .spawn(move |runtime| runtime.set_flows(flows))
                .is_err()
            {
                log::warn("the engine is not taking work: conversation workflows not reloaded");
            }
            if bus.has_readers()
                && let Ok(data) = serde_json::to_string(report)
            {
                bus.publish(None, "workflow", data);
            }
        })
}

/// One log line per change a rescan found.
fn log_changes(report: &ScanReport) {
    for change in &report.added {
        log::info(&format!(
            "workflow {} loaded: version {} from {}",
            change.id,
            change.version,
            change.file.display()
        ));
    }
    for change in report.updated.iter().chain(&report.recovered) {
        log::info(&format!(
            "workflow {} reloaded: version {} from {}",
            change.id,
            change.version,
            change.file.display()
        ));
    }
    for change in &report.invalid {
        let errors: Vec<String> = change.errors.iter().map(ToString::to_string).collect();
        let kept = change.kept_version.map_or_else(
            || "no version in use".to_string(),
            |v| format!("version {v} stays in use"),
        );
        log::warn(&format!(
            "workflow {} in {} is invalid ({kept}): {}",
            change.id,
            change.file.display(),
            errors.join("; ")
        ));
    }
    for id in &report.removed {
        log::info(&format!(
            "workflow {id} removed: running campaigns keep their version; new ones cannot use it"
        ));
    }
    if let Some(failure) = &report.failed {
        log::error(&format!(
            "the workflow directory could not be read: {failure}"
        ));
    }
}
