//! The shared wasmtime engine: compiled once per process, with the pooling instance allocator,
//! fuel metering, and epoch interruption driven by a ticker thread so a looping plugin is
//! stopped at its deadline. Also owns what every plugin shares: the HTTP client and the clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use switchboard_runtime::clock::{Clock, SystemClock};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::error::PluginError;
use crate::http::{HttpClient, HttpLimits};
use crate::state::{LogSink, stderr_log_sink};

/// How often the epoch advances: the granularity of call deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Limits applied to every call into a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock deadline of one call, in milliseconds.
    pub call_deadline_ms: u64,
    /// Linear memory an instance may grow to, in bytes.
    pub memory_bytes: usize,
    /// Instructions (wasmtime fuel units) one call may execute: a deterministic budget next to
    /// the wall-clock deadline.
    pub fuel_per_call: u64,
    /// Live instances across all plugins (slots of the pooling allocator).
    pub max_instances: u32,
    /// Outbound HTTP limits (`host.fetch`).
    pub http: HttpLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            call_deadline_ms: 5_000,
            memory_bytes: 64 * 1024 * 1024,
            fuel_per_call: 2_000_000_000,
            max_instances: 256,
            http: HttpLimits::default(),
        }
    }
}

/// The engine all plugins run on.
#[derive(Clone)]
pub struct PluginHost {
    engine: Engine,
    limits: Limits,
    http: HttpClient,
    clock: Arc<dyn Clock>,
    log: LogSink,
    pooling: bool,
    /// Set when the last handle is dropped: the ticker thread then ends.
    _ticker: Arc<Ticker>,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost")
            .field("limits", &self.limits)
            .field("pooling", &self.pooling)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Ticker(Arc<AtomicBool>);

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl PluginHost {
    /// A host with the given limits, on the system clock.
    pub fn new(limits: Limits) -> Result<Self, PluginError> {
        Self::with_clock(limits, Arc::new(SystemClock))
    }

    /// A host whose plugins read time (`now-ms`) from `clock`.
    pub fn with_clock(limits: Limits, clock: Arc<dyn Clock>) -> Result<Self, PluginError> {
        let (engine, pooling) = match Engine::new(&config(&limits, true)) {
            Ok(engine) => (engine, true),
            // The pool reserves address space up front; where that is refused (a tight
            // `ulimit -v`), instances are allocated on demand instead: slower, same limits.
            Err(_) => (
                Engine::new(&config(&limits, false))
                    .map_err(|e| PluginError::Engine(e.to_string()))?,
                false,
            ),
        };
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
        let http = HttpClient::new(limits.http).map_err(PluginError::Engine)?;
        Ok(Self {
            engine,
            limits,
            http,
            clock,
            log: stderr_log_sink(),
            pooling,
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

    /// The HTTP client plugins' `fetch` goes through.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// Sends plugins' log lines to `sink` instead of standard error.
    pub fn with_log_sink(mut self, sink: LogSink) -> Self {
        self.log = sink;
        self
    }

    /// Where plugins' log lines go.
    pub fn log_sink(&self) -> &LogSink {
        &self.log
    }

    /// The clock plugins read.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Whether instances come from the pooling allocator.
    pub fn is_pooling(&self) -> bool {
        self.pooling
    }

    /// Deadline of one call, in epoch ticks.
    pub fn deadline_ticks(&self) -> u64 {
        (self.limits.call_deadline_ms / EPOCH_TICK.as_millis() as u64).max(1)
    }
}

fn config(limits: &Limits, pooling: bool) -> Config {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .consume_fuel(true);
    if pooling {
        let slots = limits.max_instances.max(1);
        let mut pool = PoolingAllocationConfig::default();
        // A Rust wasip2 component instantiates a few core modules (the program and
        // wit-component's shims), each with tables; one linear memory.
        pool.total_component_instances(slots)
            .total_core_instances(slots.saturating_mul(4))
            .total_memories(slots)
            .total_tables(slots.saturating_mul(4))
            .max_memory_size(limits.memory_bytes);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}
