//! Live instances of one configured plugin, reused from call to call.
//!
//! A call takes an idle instance (or instantiates one from the plugin's `InstancePre`, through
//! the pooling allocator), refills its fuel, sets its epoch deadline, runs, and puts the
//! instance back. An instance whose call failed in any way (trap, deadline, fuel, memory) is
//! dropped: after a trap its state cannot be trusted. Instances are also retired after a
//! number of calls, so a slow leak in a plugin cannot grow without bound.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::{Store, Trap};

use crate::error::PluginError;
use crate::host::PluginHost;
use crate::state::{Grants, HostState};

/// Calls one instance serves before it is replaced by a fresh one.
const CALLS_PER_INSTANCE: u32 = 10_000;

/// Makes a new instance in a store.
pub(crate) type Instantiate<B> =
    Box<dyn Fn(&mut Store<HostState>) -> wasmtime::Result<B> + Send + Sync>;

/// The plugin's identity, for errors.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub name: Arc<str>,
    pub version: String,
}

struct Live<B> {
    store: Store<HostState>,
    bindings: B,
    calls: u32,
}

/// The live instances of one configured plugin.
pub(crate) struct Instances<B> {
    identity: Identity,
    host: PluginHost,
    grants: Arc<Grants>,
    instantiate: Instantiate<B>,
    idle: Mutex<Vec<Live<B>>>,
    max_idle: usize,
}

impl<B> Instances<B> {
    pub(crate) fn new(
        identity: Identity,
        host: PluginHost,
        grants: Arc<Grants>,
        instantiate: Instantiate<B>,
        max_idle: usize,
    ) -> Self {
        Self {
            identity,
            host,
            grants,
            instantiate,
            idle: Mutex::new(Vec::new()),
            max_idle,
        }
    }

    pub(crate) fn identity(&self) -> &Identity {
        &self.identity
    }

    /// A new instance in its own store, instantiated under the limits (its start-up code runs
    /// with the call's deadline and fuel); `call` names the export it is made for.
    pub(crate) fn fresh(&self, call: &'static str) -> Result<(Store<HostState>, B), PluginError> {
        let mut store = self.new_store();
        self.arm(&mut store)
            .and_then(|()| (self.instantiate)(&mut store))
            .map(|bindings| (store, bindings))
            .map_err(|e| self.failure(call, e))
    }

    /// Instances waiting for a call.
    pub(crate) fn idle_count(&self) -> usize {
        self.idle.lock().map_or(0, |idle| idle.len())
    }

    /// A store for an instance of this plugin, under the host's limits.
    fn new_store(&self) -> Store<HostState> {
        let limits = self.host.limits();
        let mut store = Store::new(
            self.host.engine(),
            HostState::new(self.grants.clone(), limits.memory_bytes),
        );
        store.limiter(|state| &mut state.limits);
        store
    }

    /// Prepares `store` for one call: deadline, fuel, empty log.
    pub(crate) fn arm(&self, store: &mut Store<HostState>) -> wasmtime::Result<()> {
        let limits = self.host.limits();
        store.set_epoch_deadline(self.host.deadline_ticks());
        store.set_fuel(limits.fuel_per_call)?;
        let state = store.data_mut();
        state.deadline = Instant::now() + Duration::from_millis(limits.call_deadline_ms);
        state.logged = 0;
        state.answered_requests = false;
        Ok(())
    }

    /// Runs `body` on an instance under the limits.
    pub(crate) fn call<R>(
        &self,
        call: &'static str,
        body: impl FnOnce(&B, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        let reused = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let mut live = match reused {
            Some(live) => live,
            None => {
                let (store, bindings) = self.fresh(call)?;
                Live {
                    store,
                    bindings,
                    calls: 0,
                }
            }
        };
        self.arm(&mut live.store)
            .map_err(|e| self.failure(call, e))?;
        // On error the instance is dropped here, never returned to the pool.
        let result = body(&live.bindings, &mut live.store).map_err(|e| {
            let failure = self.failure(call, e);
            if live.store.data().answered_requests {
                PluginError::AfterRequest(Box::new(failure))
            } else {
                failure
            }
        })?;
        live.calls += 1;
        if live.calls < CALLS_PER_INSTANCE
            && let Ok(mut idle) = self.idle.lock()
            && idle.len() < self.max_idle
        {
            idle.push(live);
        }
        Ok(result)
    }

    /// The error for a failed call, naming the plugin, its version and the cause.
    pub(crate) fn failure(&self, call: &'static str, error: wasmtime::Error) -> PluginError {
        let limits = self.host.limits();
        let plugin = self.identity.name.to_string();
        let version = self.identity.version.clone();
        match error.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => PluginError::Deadline {
                plugin,
                version,
                call,
                limit_ms: limits.call_deadline_ms,
            },
            Some(Trap::OutOfFuel) => PluginError::Fuel {
                plugin,
                version,
                call,
                fuel: limits.fuel_per_call,
            },
            _ => PluginError::Call {
                plugin,
                version,
                call,
                cause: format!("{error:#}"),
            },
        }
    }

    /// The error for an answer the contract does not allow.
    pub(crate) fn garbage(&self, call: &'static str, reason: impl Into<String>) -> PluginError {
        PluginError::Garbage {
            plugin: self.identity.name.to_string(),
            version: self.identity.version.clone(),
            call,
            reason: reason.into(),
        }
    }
}
