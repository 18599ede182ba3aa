//! API errors: every failure answers JSON `{"error": {"code": ..., "message": ...}}` with the
//! HTTP status that says whose problem it is (4xx the caller's, 5xx ours).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use switchboard_runtime::RuntimeError;
use switchboard_runtime::lists::ListImportError;

use super::driver::DriverError;
use super::log;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable machine-readable code.
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 404: no such thing.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 500: our fault; the details go to the log, the caller gets a reference to them.
    pub fn internal(context: &str, error: impl std::fmt::Display) -> Self {
        log::error(&format!("{context}: {error}"));
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("{context} failed; see the daemon's log"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": { "code": self.code, "message": self.message }
        });
        (self.status, Json(body)).into_response()
    }
}

impl From<DriverError> for ApiError {
    fn from(error: DriverError) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            error.to_string(),
        )
    }
}

impl From<switchboard_runtime::store::StoreError> for ApiError {
    fn from(error: switchboard_runtime::store::StoreError) -> Self {
        Self::internal("reading the store", error)
    }
}

impl From<RuntimeError> for ApiError {
    fn from(error: RuntimeError) -> Self {
        let (status, code) = match &error {
            RuntimeError::NoCampaign(_) | RuntimeError::NoConversation(_) => {
                (StatusCode::NOT_FOUND, "not_found")
            }
            RuntimeError::OptedOut(_) => (StatusCode::CONFLICT, "opted_out"),
            RuntimeError::AssignedToOther { .. } => (StatusCode::CONFLICT, "assigned_to_other"),
            RuntimeError::InvalidInput(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            RuntimeError::Lifecycle { .. } => (StatusCode::CONFLICT, "illegal_transition"),
            RuntimeError::NoConsent(_) => (StatusCode::CONFLICT, "no_consent"),
            RuntimeError::InvalidWorkflow(_) | RuntimeError::Compile(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_workflow")
            }
            RuntimeError::List(ListImportError::Busy { .. }) => (StatusCode::CONFLICT, "busy"),
            RuntimeError::List(ListImportError::Store(_)) | RuntimeError::Store(_) => {
                return Self::internal("the engine", error);
            }
            RuntimeError::List(_) => (StatusCode::UNPROCESSABLE_ENTITY, "list_refused"),
        };
        Self::new(status, code, error.to_string())
    }
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
