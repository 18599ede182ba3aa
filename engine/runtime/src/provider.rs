//! The seam between the runtime and whoever sends SMS: the WebAssembly plugin host
//! implements [`Provider`] for real providers; [`ProviderRouter`] hands each message to the
//! provider instance its workflow names; [`ScriptedProvider`] is the in-process one for tests
//! and `simulate` (success, permanent failure, transient failure, throttling, scripted per
//! recipient number).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
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

    /// Looks up a message that was handed over but whose answer was lost (by its
    /// [`Outbound::idempotency_key`]); `None` when the provider cannot tell (the runtime then
    /// marks an interrupted send `unknown` rather than risking a duplicate).
    fn lookup(&self, message: &Outbound) -> Option<Lookup> {
        let _ = message;
        None
    }
}

/// The provider instances of a daemon, by name, as one [`Provider`]: each message goes to the
/// instance its workflow names ([`Outbound::provider`]).
///
/// Instances can be added, replaced and removed while campaigns run (a config reload). A
/// message for a name with no instance fails transiently, so its recipient retries later
/// rather than failing for good: the operator may be about to add the instance.
#[derive(Debug, Default)]
pub struct ProviderRouter {
    /// Read on every send, written on reloads only. The lock is held just long enough to
    /// clone an instance's `Arc`, never across a provider call, so a slow provider does not
    /// hold up a reload (or the other senders).
    instances: RwLock<BTreeMap<String, Arc<dyn Provider>>>,
}

impl ProviderRouter {
    /// A router with no instances.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the instance `name`, or replaces it; returns the instance it replaced.
    pub fn set(&self, name: &str, provider: Arc<dyn Provider>) -> Option<Arc<dyn Provider>> {
        self.write().insert(name.to_string(), provider)
    }

    /// Removes the instance `name`; returns it.
    pub fn remove(&self, name: &str) -> Option<Arc<dyn Provider>> {
        self.write().remove(name)
    }

    /// The instance `name`.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Provider>> {
        self.read().get(name).cloned()
    }

    /// The names of the instances, in order.
    pub fn names(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    // A panic while holding the lock cannot leave the map half-changed (every change is one
    // insert or remove), so a poisoned lock is still a consistent map.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<dyn Provider>>> {
        self.instances
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<dyn Provider>>> {
        self.instances
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Provider for ProviderRouter {
    fn send(&self, message: &Outbound) -> SendOutcome {
        match self.get(&message.provider) {
            Some(provider) => provider.send(message),
            None => SendOutcome::Transient {
                code: "no-provider".into(),
                message: format!(
                    "no provider instance named {:?} is configured",
                    message.provider
                ),
            },
        }
    }

    fn lookup(&self, message: &Outbound) -> Option<Lookup> {
        self.get(&message.provider)?.lookup(message)
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

    fn lookup(&self, message: &Outbound) -> Option<Lookup> {
        if !self.supports_lookup {
            return None;
        }
        let key = message.idempotency_key();
        let sent = self.sent.lock().ok()?;
        Some(match sent.iter().find(|m| m.idempotency_key() == key) {
            Some(m) => Lookup::Found {
                provider_id: format!("SM{}", m.idempotency_key()),
            },
            None => Lookup::NotFound,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(provider: &str, to: &str) -> Outbound {
        Outbound {
            campaign: 1,
            recipient: 0,
            pc: 0,
            attempt: 0,
            try_number: 1,
            step_id: "welcome".into(),
            variant: "main".into(),
            provider: provider.into(),
            from: "+14165550100".into(),
            to: to.into(),
            body: "hi".into(),
            media: Vec::new(),
            segments: 1,
            conversation: None,
        }
    }

    #[test]
    fn the_router_sends_through_the_instance_the_message_names() {
        let router = ProviderRouter::new();
        let mock = Arc::new(ScriptedProvider::new());
        let twilio = Arc::new(ScriptedProvider::new());
        router.set("mock", mock.clone());
        router.set("twilio-main", twilio.clone());
        assert_eq!(router.names(), ["mock", "twilio-main"]);
        assert!(matches!(
            router.send(&message("twilio-main", "+14165550001")),
            SendOutcome::Accepted { .. }
        ));
        assert_eq!(
            (
                mock.calls_to("+14165550001"),
                twilio.calls_to("+14165550001")
            ),
            (0, 1)
        );
    }

    #[test]
    fn an_unknown_instance_fails_transiently_and_cannot_look_up() {
        let router = ProviderRouter::new();
        match router.send(&message("twilio-main", "+14165550001")) {
            SendOutcome::Transient { code, message } => {
                assert_eq!(code, "no-provider");
                assert!(message.contains("\"twilio-main\""), "{message}");
            }
            other => panic!("expected a transient failure, got {other:?}"),
        }
        assert_eq!(router.lookup(&message("twilio-main", "+14165550001")), None);
    }

    #[test]
    fn instances_can_be_replaced_and_removed_at_runtime() {
        let router = ProviderRouter::new();
        let old = Arc::new(ScriptedProvider::new());
        let new = Arc::new(ScriptedProvider::new().with_lookup());
        router.set("mock", old.clone());
        assert!(router.set("mock", new.clone()).is_some(), "replaced");
        let sent = message("mock", "+14165550001");
        router.send(&sent);
        assert_eq!(
            (old.calls_to("+14165550001"), new.calls_to("+14165550001")),
            (0, 1)
        );
        assert!(matches!(router.lookup(&sent), Some(Lookup::Found { .. })));
        assert!(router.remove("mock").is_some());
        assert!(router.names().is_empty());
        assert!(matches!(
            router.send(&sent),
            SendOutcome::Transient { code, .. } if code == "no-provider"
        ));
    }
}
