//! The example provider of the README's guide: sends with `POST {base}/messages` (JSON,
//! bearer token) and accepts delivery reports signed with HMAC-SHA256.

use switchboard_plugin_sdk::http::{self, Request};
use switchboard_plugin_sdk::{self as sdk, signature};
use switchboard_plugin_sdk::{
    Capabilities, DeliveryStatus, Event, Message, PluginInfo, Provider, Receipt, SendError,
    StatusUpdate, WebhookError, WebhookRequest,
};

struct Example;

impl Provider for Example {
    fn new() -> Self {
        Example
    }

    fn describe(&self) -> PluginInfo {
        PluginInfo {
            name: "example".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            capabilities: Capabilities::STATUS_WEBHOOKS,
            max_segments: 10,
            default_rate_per_second: Some(10.0),
        }
    }

    fn send(&self, message: Message) -> Result<Receipt, SendError> {
        let key = sdk::host::require_config("api-key")?;
        let base =
            sdk::host::config("api-base-url").unwrap_or_else(|| "https://api.example.com".into());
        let body =
            serde_json::json!({ "from": message.from, "to": message.to, "text": message.body });
        let response = Request::post(format!("{base}/messages"))
            .header_pair(http::bearer_auth(&key))
            .header("Idempotency-Key", &message.idempotency_key)
            .json(body.to_string())
            .send()?;
        if !response.is_success() {
            return Err(http::send_error_for_status(&response));
        }
        let answer: serde_json::Value = serde_json::from_slice(&response.body)
            .map_err(|e| SendError::permanent("invalid-response", e.to_string()))?;
        match answer["id"].as_str() {
            Some(id) => Ok(Receipt {
                provider_message_id: id.into(),
                segments: None,
            }),
            None => Err(SendError::permanent(
                "invalid-response",
                "no id in the answer",
            )),
        }
    }

    fn parse_webhook(&self, request: WebhookRequest) -> Result<Vec<Event>, WebhookError> {
        let secret = sdk::host::config("webhook-secret").unwrap_or_default();
        let expected = signature::hmac_sha256_hex(secret.as_bytes(), &request.body);
        let given = request.header("x-example-signature").unwrap_or_default();
        if secret.is_empty() || !signature::constant_time_eq(given.as_bytes(), expected.as_bytes())
        {
            return Err(WebhookError::BadSignature(
                "x-example-signature does not match".into(),
            ));
        }
        let report: serde_json::Value = serde_json::from_slice(&request.body)
            .map_err(|e| WebhookError::Malformed(e.to_string()))?;
        let status = match report["status"].as_str() {
            Some("delivered") => DeliveryStatus::Delivered,
            Some("failed") => DeliveryStatus::Failed,
            _ => DeliveryStatus::Unknown,
        };
        Ok(vec![Event::Status(StatusUpdate {
            provider_message_id: report["id"].as_str().unwrap_or_default().into(),
            status,
            error_code: None,
            error_message: None,
            opt_out: None,
        })])
    }
}

sdk::export_provider!(Example);
