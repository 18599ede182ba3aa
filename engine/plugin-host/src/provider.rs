//! A configured provider plugin: pre-linked once (`InstancePre`), called on reused instances
//! under the host's limits, and exposed to the runtime as its [`Provider`].

use std::sync::Arc;

use switchboard_runtime::provider::{Lookup, Provider, SendOutcome};
use switchboard_runtime::records::Outbound;

use crate::bindings::v0_1_0::provider::exports::switchboard::plugin::provider::Guest;
pub use crate::bindings::v0_1_0::provider::switchboard::plugin::types::{
    Capabilities, DeliveryStatus, Event, InboundMessage, Message, PluginInfo, SendError,
    StatusUpdate, WebhookError, WebhookRequest,
};
use crate::bindings::v0_1_0::provider::{ProviderPlugin as Bindings, ProviderPluginPre};
use crate::error::PluginError;
use crate::host::PluginHost;
use crate::instance::Instances;
use crate::manifest::PluginKind;
use crate::plugin::{CompiledPlugin, InstanceConfig};

/// Longest provider message id accepted from a plugin.
const MAX_PROVIDER_ID: usize = 256;

/// Whether a provider message id from a plugin is one the contract allows.
fn valid_provider_id(id: &str) -> bool {
    !id.trim().is_empty() && id.len() <= MAX_PROVIDER_ID
}
/// Most idle instances one provider keeps between calls.
const MAX_IDLE_INSTANCES: usize = 8;
/// Most events one webhook request may produce.
const MAX_WEBHOOK_EVENTS: usize = 1_000;

/// A provider plugin ready to be called.
pub struct ProviderPlugin {
    instances: Instances<Bindings>,
    info: PluginInfo,
}

impl std::fmt::Debug for ProviderPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderPlugin")
            .field("name", &self.instances.identity().name)
            .field("version", &self.instances.identity().version)
            .finish_non_exhaustive()
    }
}

impl ProviderPlugin {
    /// Configures an instance of a compiled provider plugin: checks the settings against the
    /// manifest, grants HTTP to the hosts both the manifest and `config` allow, and calls
    /// `describe` (which must agree with the manifest).
    pub fn new(
        host: &PluginHost,
        plugin: &CompiledPlugin,
        config: &InstanceConfig,
    ) -> Result<Self, PluginError> {
        let (grants, pre, identity) = plugin.prepare(host, config, PluginKind::Provider)?;
        let pre = ProviderPluginPre::new(pre)
            .map_err(|e| plugin.load_error(format!("not a provider plugin: {e:#}")))?;
        let manifest = plugin.manifest().manifest();
        // Idle instances a plugin may keep: enough for the runtime's concurrent sends, few
        // enough that busy plugins cannot hold every slot of the shared pool.
        let max_idle = usize::try_from(host.limits().max_instances / 16)
            .unwrap_or(1)
            .clamp(1, MAX_IDLE_INSTANCES);
        let instances = Instances::new(
            identity,
            host.clone(),
            grants,
            Box::new(move |store| pre.instantiate(store)),
            max_idle,
        );
        let info = instances.call("describe", |guest, store| {
            guest.switchboard_plugin_provider().call_describe(store)
        })?;
        if info.name != manifest.name || info.version != manifest.version {
            return Err(plugin.load_error(format!(
                "describe() says {} {}, the manifest says {} {}",
                info.name, info.version, manifest.name, manifest.version
            )));
        }
        Ok(Self { instances, info })
    }

    /// Compiles and configures in one step (tests, one-off tools).
    pub fn load(
        host: &PluginHost,
        manifest_text: &str,
        wasm: &[u8],
        config: &InstanceConfig,
    ) -> Result<Self, PluginError> {
        let manifest = crate::manifest::CheckedManifest::parse("plugin.toml", manifest_text)?;
        let compiled = CompiledPlugin::compile(host, manifest, wasm)?;
        Self::new(host, &compiled, config)
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.instances.identity().name
    }

    /// The plugin's version.
    pub fn version(&self) -> &str {
        &self.instances.identity().version
    }

    /// What the plugin said about itself.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// Makes a fresh instance and drops it: what a first call, or a call after a failure, pays
    /// before running (benchmarks, health checks).
    pub fn instantiate_once(&self) -> Result<(), PluginError> {
        self.instances.fresh("instantiate").map(drop)
    }

    /// Instances kept alive between calls.
    pub fn idle_instances(&self) -> usize {
        self.instances.idle_count()
    }

    fn call<R>(
        &self,
        call: &'static str,
        body: impl FnOnce(&Guest, &mut wasmtime::Store<crate::state::HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        self.instances.call(call, |bindings, store| {
            body(bindings.switchboard_plugin_provider(), store)
        })
    }

    /// Sends one message; a plugin failure is an error of its own, distinct from the
    /// provider's answer.
    pub fn try_send(&self, message: &Outbound) -> Result<SendOutcome, PluginError> {
        let key = message.idempotency_key();
        let wire = Message {
            id: key.clone(),
            idempotency_key: key,
            from: message.from.clone(),
            to: message.to.clone(),
            body: message.body.clone(),
            media: message.media.clone(),
            segments: message.segments,
            try_number: message.try_number.max(1),
        };
        let answer = self.call("send", |guest, store| guest.call_send(store, &wire))?;
        let outcome = match answer {
            Ok(receipt) => {
                let id = receipt.provider_message_id;
                if !valid_provider_id(&id) {
                    return Err(self.instances.garbage(
                        "send",
                        format!(
                            "provider-message-id must be 1 to {MAX_PROVIDER_ID} characters, got {}",
                            id.len()
                        ),
                    ));
                }
                SendOutcome::Accepted { provider_id: id }
            }
            Err(SendError::Permanent(info)) => SendOutcome::Permanent {
                code: info.code,
                message: info.message,
            },
            Err(SendError::Transient(info)) => SendOutcome::Transient {
                code: info.code,
                message: info.message,
            },
            Err(SendError::Throttled(throttled)) => SendOutcome::Throttled {
                // The runtime caps what a provider may ask for.
                retry_after: std::time::Duration::from_millis(throttled.retry_after_ms),
                code: throttled.info.code,
            },
        };
        Ok(outcome)
    }

    /// Checks a webhook request's signature and turns it into events. The outer error is the
    /// plugin failing; the inner one is the plugin refusing the request.
    pub fn parse_webhook(
        &self,
        request: &WebhookRequest,
    ) -> Result<Result<Vec<Event>, WebhookError>, PluginError> {
        let answer = self.call("parse-webhook", |guest, store| {
            guest.call_parse_webhook(store, request)
        })?;
        if let Ok(events) = &answer
            && events.len() > MAX_WEBHOOK_EVENTS
        {
            return Err(self.instances.garbage(
                "parse-webhook",
                format!("{} events from one request", events.len()),
            ));
        }
        Ok(answer)
    }
}

/// Calls from async code (the daemon's HTTP handlers): the plugin runs on tokio's blocking
/// pool, so a slow or looping plugin never stalls the tasks serving other requests. Must be
/// called inside a tokio runtime.
impl ProviderPlugin {
    /// [`Self::try_send`] on the blocking pool.
    pub async fn send_async(
        self: &Arc<Self>,
        message: Outbound,
    ) -> Result<SendOutcome, PluginError> {
        let plugin = Arc::clone(self);
        self.blocking("send", move || plugin.try_send(&message))
            .await
    }

    /// [`Self::parse_webhook`] on the blocking pool.
    pub async fn parse_webhook_async(
        self: &Arc<Self>,
        request: WebhookRequest,
    ) -> Result<Result<Vec<Event>, WebhookError>, PluginError> {
        let plugin = Arc::clone(self);
        self.blocking("parse-webhook", move || plugin.parse_webhook(&request))
            .await
    }

    async fn blocking<R: Send + 'static>(
        &self,
        call: &'static str,
        work: impl FnOnce() -> Result<R, PluginError> + Send + 'static,
    ) -> Result<R, PluginError> {
        tokio::task::spawn_blocking(work)
            .await
            .unwrap_or_else(|joined| {
                Err(PluginError::Call {
                    plugin: self.name().to_string(),
                    version: self.version().to_string(),
                    call,
                    cause: format!("the call's thread ended: {joined}"),
                })
            })
    }
}

impl Provider for ProviderPlugin {
    fn send(&self, message: &Outbound) -> SendOutcome {
        match self.try_send(message) {
            Ok(outcome) => outcome,
            // The provider answered a request before the plugin failed: the message may have
            // gone out. Retrying (a new attempt, a new idempotency key) could send it twice,
            // so the recipient fails with the reason instead.
            Err(error @ PluginError::AfterRequest(_)) => SendOutcome::Permanent {
                code: "plugin-error-after-request".into(),
                message: error.to_string(),
            },
            // A broken plugin is not the provider refusing: retry (another plugin version, or
            // the operator fixing it, may succeed), with the plugin's own error as the reason.
            Err(error) => SendOutcome::Transient {
                code: "plugin-error".into(),
                message: error.to_string(),
            },
        }
    }

    fn lookup(&self, message: &Outbound) -> Option<Lookup> {
        // Only a plugin that implements lookup can say "never sent".
        if !self.info.capabilities.contains(Capabilities::LOOKUP) {
            return None;
        }
        let answer = self
            .call("lookup", |guest, store| {
                guest.call_lookup(store, &message.idempotency_key(), None)
            })
            .ok()?;
        match answer {
            // An id the contract does not allow: the plugin cannot be trusted to tell.
            Some(found) if !valid_provider_id(&found.provider_message_id) => None,
            Some(found) => Some(Lookup::Found {
                provider_id: found.provider_message_id,
            }),
            None => Some(Lookup::NotFound),
        }
    }
}
