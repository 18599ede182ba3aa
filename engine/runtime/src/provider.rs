//! The seam between the runtime and whoever sends SMS: the WebAssembly plugin host
//! implements [`Provider`] for real providers; [`ScriptedProvider`] is the in-process one
//! for tests and `simulate` (success, permanent failure, transient failure, throttling,
//! scripted per recipient number).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::records::Outbound;

/// What a provider answered to a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Accepted for delivery.
    Accepted {
        /// The provider's id for the message (delivery receipts refer to it).
        provider_id: String,
    },
    /// A failure worth retrying (network, 5xx).
    Transient {
        /// The provider's code.
        code: String,
        /// The provider's text.
        message: String,
    },
    /// Too fast: retry after the given time (does not use up an attempt).
    Throttled {
        /// How long to wait.
        retry_after: Duration,
        /// The provider's code.
        code: String,
    },
    /// A failure that retrying cannot fix (invalid number, blocked, opted out at carrier).
    Permanent {
        /// The provider's code.
        code: String,
        /// The provider's text.
        message: String,
    },
}

/// What a provider knows about a message looked up by idempotency key (reconciliation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The provider has it.
    Found {
        /// Its id.
        provider_id: String,
    },
    /// The provider has never seen it: the send did not happen.
    NotFound,
}

/// Sends SMS. Implementations must be safe to call from several threads.
pub trait Provider: Send + Sync + std::fmt::Debug {
    /// Sends one message.
    fn send(&self, message: &Outbound) -> SendOutcome;

    /// Looks up a message by its idempotency key; `None` when the provider cannot tell (the
    /// runtime then marks an interrupted send `unknown` rather than risking a duplicate).
    fn lookup(&self, idempotency_key: &str) -> Option<Lookup> {
        let _ = idempotency_key;
        None
    }
}

/// No provider: for tools that open the store without sending (importing a list). Every send
/// fails transiently, so a run that reached it by mistake retries later rather than failing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProvider;

impl Provider for NoProvider {
    fn send(&self, _message: &Outbound) -> SendOutcome {
        SendOutcome::Transient {
            code: "no-provider".into(),
            message: "this process does not send messages".into(),
        }
    }
}

/// How the scripted provider answers one number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Script {
    /// Accept every message.
    Accept,
    /// Refuse every message permanently with this code.
    Permanent(String),
    /// Fail transiently this many times, then accept.
    TransientThen(u32),
    /// Throttle this many times (with this retry-after), then accept.
    ThrottleThen(u32, Duration),
}

/// An in-process provider that records every call and answers as scripted.
#[derive(Debug, Default)]
pub struct ScriptedProvider {
    scripts: Mutex<HashMap<String, Script>>,
    /// Calls per number, so far (drives the `...Then` scripts).
    calls: Mutex<HashMap<String, u32>>,
    sent: Mutex<Vec<Outbound>>,
    supports_lookup: bool,
}

impl ScriptedProvider {
    /// Accepts everything, instantly.
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers lookups from its own record of accepted messages.
    pub fn with_lookup(mut self) -> Self {
        self.supports_lookup = true;
        self
    }

    /// Scripts the answers for one number.
    pub fn script(&self, to: &str, script: Script) {
        if let Ok(mut scripts) = self.scripts.lock() {
            scripts.insert(to.to_string(), script);
        }
    }

    /// Every message accepted, in order.
    pub fn accepted(&self) -> Vec<Outbound> {
        self.sent
            .lock()
            .map(|sent| sent.clone())
            .unwrap_or_default()
    }

    /// Calls made for a number (accepted or not).
    pub fn calls_to(&self, to: &str) -> u32 {
        self.calls
            .lock()
            .map(|calls| calls.get(to).copied().unwrap_or(0))
            .unwrap_or(0)
    }
}

impl Provider for ScriptedProvider {
    fn send(&self, message: &Outbound) -> SendOutcome {
        let call = match self.calls.lock() {
            Ok(mut calls) => {
                let count = calls.entry(message.to.clone()).or_insert(0);
                *count += 1;
                *count
            }
            Err(_) => 1,
        };
        let script = self
            .scripts
            .lock()
            .ok()
            .and_then(|s| s.get(&message.to).cloned())
            .unwrap_or(Script::Accept);
        let outcome = match script {
            Script::Accept => None,
            Script::Permanent(code) => Some(SendOutcome::Permanent {
                code,
                message: "refused by the scripted provider".into(),
            }),
            Script::TransientThen(n) if call <= n => Some(SendOutcome::Transient {
                code: "503".into(),
                message: "service unavailable".into(),
            }),
            Script::ThrottleThen(n, retry_after) if call <= n => Some(SendOutcome::Throttled {
                retry_after,
                code: "429".into(),
            }),
            _ => None,
        };
        outcome.unwrap_or_else(|| {
            if let Ok(mut sent) = self.sent.lock() {
                sent.push(message.clone());
            }
            SendOutcome::Accepted {
                provider_id: format!("SM{}", message.idempotency_key()),
            }
        })
    }

    fn lookup(&self, idempotency_key: &str) -> Option<Lookup> {
        if !self.supports_lookup {
            return None;
        }
        let sent = self.sent.lock().ok()?;
        Some(
            match sent.iter().find(|m| m.idempotency_key() == idempotency_key) {
                Some(m) => Lookup::Found {
                    provider_id: format!("SM{}", m.idempotency_key()),
                },
                None => Lookup::NotFound,
            },
        )
    }
}
