//! `test-hostile`: a provider plugin that misbehaves on purpose, so the host's limits are
//! tested against a real guest. The message body says what to do:
//!
//! - `loop`: never returns (the host's deadline must interrupt it);
//! - `memory`: allocates until refused (the host's memory cap must stop it);
//! - `trap`: panics (the host must report the trap and stay up);
//! - `fetch`: asks the host for a URL it was not granted (the host must deny it);
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
