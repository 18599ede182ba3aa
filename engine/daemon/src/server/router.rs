//! The routes: `/v1` (bearer-token authenticated), `/webhooks/{instance}` (authenticated by
//! the provider's signature, in its plugin), `/healthz`, `/metrics`, `/v1/openapi.json`.
//! Every request's latency is measured for `/metrics`. Anything else is the web dashboard
//! ([`super::dashboard`]) or a JSON 404.

use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};

use super::error::ApiError;
use super::state::Shared;
use super::{
    campaigns, conversations, dashboard, events, lists, recipients, suppressions, webhooks,
    workflows,
};
use super::{preview, realtime};

/// The OpenAPI document of the API.
pub const OPENAPI: &str = include_str!("../../../../schemas/openapi.json");

/// The whole application.
pub fn router(state: Shared) -> Router {
    let api = Router::new()
        .route("/campaigns", get(campaigns::list).post(campaigns::create))
        .route(
            "/campaigns/{id}",
            get(campaigns::get)
                .patch(campaigns::edit)
                .delete(campaigns::delete),
        )
        .route("/campaigns/{id}/schedule", post(campaigns::schedule))
        .route("/campaigns/{id}/duplicate", post(campaigns::duplicate))
        .route(
            "/campaigns/{id}/lists",
            get(lists::list)
                .post(lists::upload)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/campaigns/{id}/lists/{list}", get(lists::get))
        .route("/campaigns/{id}/lists/{list}/errors", get(lists::errors))
        .route("/campaigns/{id}/recipients", get(recipients::list))
        .route(
            "/campaigns/{id}/recipients/{seq}",
            get(recipients::timeline),
        )
        .route("/campaigns/{id}/stats", get(recipients::stats))
        .route("/campaigns/{id}/activity", get(recipients::activity))
        .route("/campaigns/{id}/preview", get(preview::preview))
        .route("/campaigns/{id}/{action}", post(campaigns::act))
        .route("/workflows", get(workflows::list))
        .route("/workflows/validate", post(workflows::validate))
        .route("/workflows/{id}", get(workflows::get))
        .route(
            "/conversations",
            get(conversations::list).post(conversations::start),
        )
        .route("/conversations/{id}", get(conversations::get))
        .route("/conversations/{id}/claim", post(conversations::claim))
        .route("/conversations/{id}/assign", post(conversations::assign))
        .route("/conversations/{id}/reply", post(conversations::reply))
        .route("/conversations/{id}/notes", post(conversations::note))
        .route("/conversations/{id}/close", post(conversations::close))
        .route(
            "/suppressions",
            get(suppressions::export).post(suppressions::add),
        )
        .route(
            "/suppressions/import",
            post(suppressions::import).layer(DefaultBodyLimit::max(
                usize::try_from(state.limits.max_upload_bytes).unwrap_or(usize::MAX),
            )),
        )
        .route(
            "/suppressions/{phone}",
            get(suppressions::history).delete(suppressions::remove),
        )
        .route("/events", get(events::stream))
        .route("/realtime", get(realtime::snapshot))
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(DefaultBodyLimit::max(state.limits.max_json_bytes));
    Router::new()
        .nest("/v1", api)
        .route("/v1/openapi.json", get(openapi))
        .route(
            "/metrics",
            get(metrics).route_layer(middleware::from_fn_with_state(state.clone(), authenticate)),
        )
        .route("/healthz", get(healthz))
        .route(
            "/webhooks/{instance}",
            any(webhooks::receive).layer(DefaultBodyLimit::max(state.limits.max_webhook_bytes)),
        )
        .fallback(dashboard::serve)
        .layer(middleware::from_fn_with_state(state.clone(), measure))
        .with_state(state)
}

/// Refuses requests without a valid bearer token (when tokens are configured).
async fn authenticate(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let tokens = &state.tokens;
    if tokens.is_empty() {
        return next.run(request).await;
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    match presented {
        Some(token) if tokens.verify(token) => next.run(request).await,
        Some(_) => unauthorized("the bearer token is not valid"),
        None => unauthorized("this API needs `Authorization: Bearer <token>`"),
    }
}

fn unauthorized(message: &str) -> Response {
    let mut response =
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    response
}

/// Times every request for the latency histogram.
async fn measure(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let streaming = request.uri().path() == "/v1/events";
    let response = next.run(request).await;
    if !streaming {
        state.metrics.observe_request(started.elapsed());
    }
    response
}

/// `GET /healthz`: 200 `ok` while the engine thread runs and its ticks work; 503 `degraded`
/// when its last ticks failed (store errors) or it has ended.
async fn healthz(State(state): State<Shared>) -> Response {
    let health = state.driver.health();
    let healthy = health.running && health.failing_ticks == 0;
    let body = serde_json::json!({
        "status": if healthy { "ok" } else { "degraded" },
        "engine_running": health.running,
        "failing_ticks": health.failing_ticks,
        "queue_depth": state.driver.queue_depth(),
    });
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

async fn metrics(State(state): State<Shared>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(state.driver.queue_depth()),
    )
        .into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}
