//! `test-hostile`: a provider plugin that misbehaves on purpose, so the host's limits are
//! tested against a real guest. The message body says what to do:
//!
//! - `loop`: never returns (the host's deadline must interrupt it);
//! - `memory`: allocates until refused (the host's memory cap must stop it);
//! - `trap`: panics (the host must report the trap and stay up);
//! - `fetch`: asks the host for a URL it was not granted (the host must deny it);
//! - `fetch <url>`: fetches `<url>` and accepts with the response's status and size as the
//!   receipt (`fetched-<status>-<bytes>`), or fails permanently with the host's error;
//! - `fetch-then-trap <url>`: fetches `<url>`, then panics (the request may have reached the
//!   provider: the host must not let the message be retried blindly);
//! - `empty-receipt`: accepts with an empty provider message id (garbage the host refuses);
//! - anything else: accepted.
//!
//! Never shipped: the engine embeds only the real plugins.

use switchboard_plugin_sdk::host::{self, HttpRequest};
use switchboard_plugin_sdk::{
    self as sdk, Capabilities, Message, PluginInfo, Provider, Receipt, SendError,
};

/// The misbehaving provider.
#[derive(Debug)]
pub struct Hostile;

impl Provider for Hostile {
    fn new() -> Self {
        Hostile
    }

    fn describe(&self) -> PluginInfo {
        PluginInfo {
            name: "test-hostile".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            capabilities: Capabilities::empty(),
            max_segments: 10,
            default_rate_per_second: None,
        }
    }

    fn send(&self, message: Message) -> Result<Receipt, SendError> {
        match message.body.as_str() {
            "loop" => {
                let mut counter: u64 = 0;
                loop {
                    counter = std::hint::black_box(counter.wrapping_add(1));
                }
            }
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "trap" => panic!("hostile plugin panics on purpose"),
            "empty-receipt" => Ok(Receipt {
                provider_message_id: String::new(),
                segments: None,
            }),
            body if body.starts_with("fetch-then-trap ") => {
                let request = HttpRequest {
                    method: "POST".into(),
                    url: body["fetch-then-trap ".len()..].to_string(),
                    headers: Vec::new(),
                    body: Vec::new(),
                };
                let answer = host::fetch(&request);
                panic!("hostile plugin panics after its request: {answer:?}")
            }
            body if body.starts_with("fetch ") => {
                let request = HttpRequest {
                    method: "GET".into(),
                    url: body["fetch ".len()..].to_string(),
                    headers: Vec::new(),
                    body: Vec::new(),
                };
                match host::fetch(&request) {
                    Ok(response) => Ok(Receipt {
                        provider_message_id: format!(
                            "fetched-{}-{}",
                            response.status,
                            response.body.len()
                        ),
                        segments: None,
                    }),
                    Err(error) => Err(SendError::Permanent(sdk::ErrorInfo {
                        code: "fetch-failed".into(),
                        message: format!("{error:?}"),
                    })),
                }
            }
            "fetch" => {
                let request = HttpRequest {
                    method: "GET".into(),
                    url: "https://not-granted.example/steal".into(),
                    headers: Vec::new(),
                    body: Vec::new(),
                };
                match host::fetch(&request) {
                    Ok(_) => Ok(Receipt {
                        provider_message_id: "fetched".into(),
                        segments: None,
                    }),
                    Err(error) => Err(SendError::Permanent(sdk::ErrorInfo {
                        code: "fetch-denied".into(),
                        message: format!("{error:?}"),
                    })),
                }
            }
            _ => Ok(Receipt {
                provider_message_id: format!("hostile-{}", message.idempotency_key),
                segments: None,
            }),
        }
    }
}

sdk::export_provider!(Hostile);
