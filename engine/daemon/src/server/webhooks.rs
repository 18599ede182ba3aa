//! `/webhooks/{instance}`: a provider's callbacks. The raw request goes to that instance's
//! plugin, which checks the provider's signature and turns it into events: delivery receipts
//! update messages and recipients, inbound messages resume recipients waiting for a reply. A
//! bad signature is answered 403 and logged, and nothing of the request is applied. The
//! events go to the store's inbox and the answer is sent once they are on disk (a provider
//! that gets no 2xx retries); the engine applies them between its other work.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use serde::Serialize;
use switchboard_plugin_host::provider::{DeliveryStatus, Event, WebhookError, WebhookRequest};
use switchboard_runtime::delivery::{DeliveryStatus as ReceiptStatus, DeliveryUpdate};
use switchboard_runtime::inbox::InboxEvent;

use super::error::{ApiError, ApiResult};
use super::log;
use super::metrics::WebhookOutcome;
use super::state::Shared;

/// What a webhook request brought (recorded; the engine applies it next).
#[derive(Debug, Serialize)]
pub struct WebhookAnswer {
    /// Delivery receipts.
    pub receipts: usize,
    /// Inbound messages.
    pub inbound: usize,
}

/// A receipt in the runtime's terms; `None` for statuses that change nothing.
fn receipt_status(status: DeliveryStatus) -> Option<ReceiptStatus> {
    match status {
        DeliveryStatus::Queued | DeliveryStatus::Sent => Some(ReceiptStatus::Sent),
        DeliveryStatus::Delivered => Some(ReceiptStatus::Delivered),
        DeliveryStatus::Undelivered => Some(ReceiptStatus::Undelivered),
        DeliveryStatus::Failed => Some(ReceiptStatus::Failed),
        DeliveryStatus::Unknown => None,
    }
}

/// `ANY /webhooks/{instance}`.
pub async fn receive(
    State(state): State<Shared>,
    Path(instance): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<WebhookAnswer>> {
    let Some(provider) = state.providers.get(&instance) else {
        state.metrics.count_webhook(WebhookOutcome::UnknownInstance);
        return Err(ApiError::not_found(format!(
            "no provider instance named {instance:?}"
        )));
    };
    let request = WebhookRequest {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or_default().to_string(),
        headers: headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_string(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
    };
    let events = match provider.plugin.parse_webhook_async(request).await {
        Ok(Ok(events)) => events,
        Ok(Err(WebhookError::BadSignature(why))) => {
            state.metrics.count_webhook(WebhookOutcome::BadSignature);
            log::warn(&format!(
                "webhook for {instance} refused: bad signature ({why}); nothing applied"
            ));
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "bad_signature",
                "the request's signature is missing or wrong",
            ));
        }
        Ok(Err(WebhookError::Malformed(why) | WebhookError::Unsupported(why))) => {
            state.metrics.count_webhook(WebhookOutcome::Malformed);
            log::warn(&format!("webhook for {instance} refused: {why}"));
            return Err(ApiError::bad_request(why));
        }
        Err(error) => {
            state.metrics.count_webhook(WebhookOutcome::PluginError);
            return Err(ApiError::internal(
                &format!("the {instance} plugin's parse-webhook"),
                error,
            ));
        }
    };
    let mut inbox = Vec::with_capacity(events.len());
    let (mut receipts, mut inbound) = (0, 0);
    for event in events {
        match event {
            Event::Status(update) => {
                let Some(status) = receipt_status(update.status) else {
                    continue;
                };
                receipts += 1;
                inbox.push(InboxEvent::Receipt {
                    provider_id: update.provider_message_id,
                    update: DeliveryUpdate {
                        status,
                        error_code: update.error_code,
                        error_message: update.error_message,
                    },
                });
            }
            Event::Inbound(message) => {
                inbound += 1;
                inbox.push(InboxEvent::Reply {
                    provider: instance.clone(),
                    provider_message_id: message.provider_message_id,
                    from: message.from,
                    to: message.to,
                    text: message.body,
                });
            }
        }
    }
    if !inbox.is_empty() {
        state
            .inbox_writer
            .record(inbox, state.clock.now())
            .await
            .map_err(|e| ApiError::internal("recording the webhook", e))?;
        state.driver.nudge();
    }
    state.metrics.count_webhook(WebhookOutcome::Accepted);
    state
        .metrics
        .count_webhook_events(receipts as u64, inbound as u64);
    let answer = WebhookAnswer { receipts, inbound };
    Ok(Json(answer))
}
