//! The shared wasmtime engine: compiled once per process, with epoch interruption driven by a
//! ticker thread so a looping plugin is stopped at its deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::{Config, Engine};

use crate::error::PluginError;

/// How often the epoch advances: the granularity of call deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Limits applied to every call into a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock deadline of one call, in milliseconds.
    pub call_deadline_ms: u64,
    /// Linear memory an instance may grow to, in bytes.
    pub memory_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            call_deadline_ms: 5_000,
            memory_bytes: 64 * 1024 * 1024,
        }
    }
}

/// The engine all plugins run on.
#[derive(Debug, Clone)]
pub struct PluginHost {
    engine: Engine,
    limits: Limits,
    /// Set when the last handle is dropped: the ticker thread then ends.
    _ticker: Arc<Ticker>,
}

#[derive(Debug)]
struct Ticker(Arc<AtomicBool>);

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl PluginHost {
    /// A host with the given limits.
    pub fn new(limits: Limits) -> Result<Self, PluginError> {
        let mut config = Config::new();
        config.wasm_component_model(true).epoch_interruption(true);
        let engine = Engine::new(&config).map_err(|e| PluginError::Engine(e.to_string()))?;
        let stopped = Arc::new(AtomicBool::new(false));
        let ticker_engine = engine.weak();
        let ticker_stopped = stopped.clone();
        std::thread::Builder::new()
            .name("plugin-epoch".into())
            .spawn(move || {
                while !ticker_stopped.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match ticker_engine.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(|e| PluginError::Engine(format!("starting the epoch ticker: {e}")))?;
        Ok(Self {
            engine,
            limits,
            _ticker: Arc::new(Ticker(stopped)),
        })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The limits every call gets.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Deadline of one call, in epoch ticks.
    pub fn deadline_ticks(&self) -> u64 {
        (self.limits.call_deadline_ms / EPOCH_TICK.as_millis() as u64).max(1)
    }
}
