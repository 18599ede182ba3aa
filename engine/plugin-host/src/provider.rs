//! A loaded provider plugin: compiled once, pre-linked once (`InstancePre`), instantiated per
//! call in a fresh store (a trap can never leave a broken instance behind), called under the
//! host's limits.

use std::collections::BTreeMap;
use std::sync::Arc;

use switchboard_runtime::provider::{Lookup, Provider, SendOutcome};
use switchboard_runtime::records::Outbound;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Store, Trap};

use crate::bindings::v0_1_0::exports::switchboard::plugin::provider::Guest;
use crate::bindings::v0_1_0::switchboard::plugin::types::{
    Capabilities, Message, PluginInfo, SendError,
};
use crate::bindings::v0_1_0::{ProviderPlugin as Bindings, ProviderPluginPre};
use crate::error::PluginError;
use crate::host::PluginHost;
use crate::state::{HostState, LogLine};

/// A provider plugin ready to be called.
pub struct ProviderPlugin {
    name: Arc<str>,
    version: String,
    host: PluginHost,
    pre: ProviderPluginPre<HostState>,
    settings: Arc<BTreeMap<String, String>>,
    /// Whether the plugin declares `lookup`: only then does "no record" mean "never sent".
    supports_lookup: bool,
}

impl std::fmt::Debug for ProviderPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderPlugin")
            .field("name", &self.name)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl ProviderPlugin {
    /// Compiles and links a provider component; `settings` are this instance's configuration.
    pub fn load(
        host: &PluginHost,
        label: &str,
        wasm: &[u8],
        settings: BTreeMap<String, String>,
    ) -> Result<Self, PluginError> {
        let load_error = |reason: String| PluginError::Load {
            plugin: label.to_string(),
            reason,
        };
        let component =
            Component::new(host.engine(), wasm).map_err(|e| load_error(e.to_string()))?;
        let mut linker: Linker<HostState> = Linker::new(host.engine());
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| load_error(e.to_string()))?;
        Bindings::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)
            .map_err(|e| load_error(e.to_string()))?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| load_error(e.to_string()))?;
        let pre = ProviderPluginPre::new(pre)
            .map_err(|e| load_error(format!("not a provider plugin: {e}")))?;
        let mut plugin = Self {
            name: Arc::from(label),
            version: "?".to_string(),
            host: host.clone(),
            pre,
            settings: Arc::new(settings),
            supports_lookup: false,
        };
        let info = plugin.describe()?;
        plugin.name = Arc::from(info.name.as_str());
        plugin.version = info.version;
        plugin.supports_lookup = info.capabilities.contains(Capabilities::LOOKUP);
        Ok(plugin)
    }

    /// The plugin's name (from `describe`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The plugin's version (from `describe`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Runs one export in a fresh instance, under the deadline and memory cap.
    fn call<R>(
        &self,
        call: &'static str,
        body: impl FnOnce(&Guest, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<(R, Vec<LogLine>), PluginError> {
        let limits = self.host.limits();
        let mut store = Store::new(
            self.host.engine(),
            HostState::new(
                self.name.clone(),
                self.settings.clone(),
                limits.memory_bytes,
            ),
        );
        store.limiter(|state| &mut state.limits);
        store.set_epoch_deadline(self.host.deadline_ticks());
        let failure = |error: wasmtime::Error| -> PluginError {
            if matches!(error.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
                PluginError::Deadline {
                    plugin: self.name.to_string(),
                    version: self.version.clone(),
                    call,
                    limit_ms: limits.call_deadline_ms,
                }
            } else {
                PluginError::Call {
                    plugin: self.name.to_string(),
                    version: self.version.clone(),
                    call,
                    cause: format!("{error:#}"),
                }
            }
        };
        let bindings = self.pre.instantiate(&mut store).map_err(failure)?;
        let result = body(bindings.switchboard_plugin_provider(), &mut store).map_err(failure)?;
        let logs = std::mem::take(&mut store.data_mut().logs);
        Ok((result, logs))
    }

    /// What the plugin says about itself.
    pub fn describe(&self) -> Result<PluginInfo, PluginError> {
        self.call("describe", |guest, store| guest.call_describe(store))
            .map(|(info, _)| info)
    }

    /// Sends one message; a plugin failure is an error of its own, distinct from the
    /// provider's answer.
    pub fn try_send(&self, message: &Outbound) -> Result<SendOutcome, PluginError> {
        let wire = Message {
            id: message.idempotency_key(),
            idempotency_key: message.idempotency_key(),
            from: message.from.clone(),
            to: message.to.clone(),
            body: message.body.clone(),
            media: message.media.clone(),
            segments: message.segments,
            try_number: message.try_number,
        };
        let (answer, _) = self.call("send", |guest, store| guest.call_send(store, &wire))?;
        Ok(match answer {
            Ok(receipt) => SendOutcome::Accepted {
                provider_id: receipt.provider_message_id,
            },
            Err(SendError::Permanent(info)) => SendOutcome::Permanent {
                code: info.code,
                message: info.message,
            },
            Err(SendError::Transient(info)) => SendOutcome::Transient {
                code: info.code,
                message: info.message,
            },
            Err(SendError::Throttled(throttled)) => SendOutcome::Throttled {
                retry_after: std::time::Duration::from_millis(throttled.retry_after_ms),
                code: throttled.info.code,
            },
        })
    }
}

impl Provider for ProviderPlugin {
    fn send(&self, message: &Outbound) -> SendOutcome {
        // A broken plugin is not the provider refusing: retry (another plugin version, or the
        // operator fixing it, may succeed), with the plugin's own error as the reason.
        self.try_send(message)
            .unwrap_or_else(|error| SendOutcome::Transient {
                code: "plugin-error".into(),
                message: error.to_string(),
            })
    }

    fn lookup(&self, idempotency_key: &str) -> Option<Lookup> {
        if !self.supports_lookup {
            return None;
        }
        let key = idempotency_key.to_string();
        let (answer, _) = self
            .call("lookup", |guest, store| {
                guest.call_lookup(store, &key, None)
            })
            .ok()?;
        Some(match answer {
            Some(found) => Lookup::Found {
                provider_id: found.provider_message_id,
            },
            None => Lookup::NotFound,
        })
    }
}
