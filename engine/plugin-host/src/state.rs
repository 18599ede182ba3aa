//! What a plugin instance may reach: its own settings, the log, the engine's clock, and HTTP to
//! the hosts it is granted. The grants are fixed when the instance is configured; the per-call
//! parts (deadline, log lines) are reset before every call.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use switchboard_runtime::clock::Clock;
use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::v0_1_0::provider::switchboard::plugin::host::{
    self, HttpError, HttpRequest, HttpResponse, LogLevel,
};
use crate::bindings::v0_1_0::provider::switchboard::plugin::types;
use crate::grant::HttpGrant;
use crate::http::HttpClient;

/// Most log lines passed on per call, and longest line, in characters.
const MAX_LOG_LINES: usize = 1_000;
const MAX_LOG_CHARS: usize = 4_096;

/// Where plugins' log lines go: `(plugin, level, message)`. The daemon routes them to its log;
/// the default writes them to standard error.
pub type LogSink = Arc<dyn Fn(&str, &'static str, &str) + Send + Sync>;

/// The default sink: one line on standard error per plugin log line.
pub fn stderr_log_sink() -> LogSink {
    Arc::new(|plugin, level, message| eprintln!("plugin {plugin} {level}: {message}"))
}

/// What one configured plugin instance is granted; shared by all its live instances.
pub struct Grants {
    /// The plugin's name, for log lines and errors.
    pub plugin: Arc<str>,
    /// Settings of this plugin instance (secrets included; never logged).
    pub settings: BTreeMap<String, String>,
    /// HTTP client and the hosts this instance may reach (`None`: no HTTP at all).
    pub http: Option<(HttpClient, HttpGrant)>,
    /// The engine's clock (`now-ms`).
    pub clock: Arc<dyn Clock>,
    /// Where the plugin's log lines go.
    pub log: LogSink,
}

impl std::fmt::Debug for Grants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grants")
            .field("plugin", &self.plugin)
            .field("settings", &self.settings.keys().collect::<Vec<_>>())
            .field("http", &self.http.as_ref().map(|(_, grant)| grant))
            .finish_non_exhaustive()
    }
}

/// The store state of a plugin instance.
pub struct HostState {
    grants: Arc<Grants>,
    /// When the current call must end (bounds `fetch` timeouts).
    pub deadline: Instant,
    /// Lines the plugin logged during the current call (bounded per call).
    pub logged: usize,
    /// Whether a `fetch` during the current call got an answer: after that, the far side may
    /// have acted on the request, so a failing call's outcome is uncertain.
    pub answered_requests: bool,
    /// Memory cap.
    pub limits: StoreLimits,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl std::fmt::Debug for HostState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostState")
            .field("plugin", &self.grants.plugin)
            .field("logged", &self.logged)
            .finish_non_exhaustive()
    }
}

impl HostState {
    /// A fresh state: no environment, no arguments, no files, no sockets.
    pub fn new(grants: Arc<Grants>, memory_bytes: usize) -> Self {
        Self {
            grants,
            deadline: Instant::now(),
            logged: 0,
            answered_requests: false,
            limits: StoreLimitsBuilder::new()
                .memory_size(memory_bytes)
                .instances(16)
                .tables(16)
                .memories(4)
                .build(),
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for HostState {}

impl host::Host for HostState {
    fn fetch(&mut self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        match &self.grants.http {
            Some((client, grant)) => {
                let answer = client.fetch(grant, request, self.deadline);
                // A timeout too: the request may have arrived.
                if matches!(answer, Ok(_) | Err(HttpError::Timeout)) {
                    self.answered_requests = true;
                }
                answer
            }
            _ => Err(HttpError::Denied(format!(
                "plugin {} is granted no HTTP access (requested {} {}): its manifest's \
                 allowed-hosts and the operator's allow-hosts must both list the host",
                self.grants.plugin,
                request.method,
                request.url.split('?').next().unwrap_or_default()
            ))),
        }
    }

    fn log(&mut self, level: LogLevel, message: String) {
        let level = match level {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        };
        // Bounded: a chatty plugin cannot flood the operator's log.
        if self.logged < MAX_LOG_LINES {
            self.logged += 1;
            let message: String = message.chars().take(MAX_LOG_CHARS).collect();
            (self.grants.log)(&self.grants.plugin, level, &message);
        }
    }

    fn config_get(&mut self, key: String) -> Option<String> {
        self.grants.settings.get(&key).cloned()
    }

    fn now_ms(&mut self) -> u64 {
        u64::try_from(self.grants.clock.now().timestamp_millis()).unwrap_or(0)
    }
}
