//! What a plugin instance may reach: its own settings, the log, the clock, and (when granted)
//! HTTP. A fresh state per call; nothing leaks from one call to the next.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::v0_1_0::switchboard::plugin::host::{
    self, HttpError, HttpRequest, HttpResponse, LogLevel,
};
use crate::bindings::v0_1_0::switchboard::plugin::types;

/// A log line a plugin wrote, kept for the caller (tests, the daemon's log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Severity.
    pub level: &'static str,
    /// Text.
    pub message: String,
}

/// Per-call state of a plugin instance.
pub struct HostState {
    /// The plugin's name, for log lines.
    pub plugin: Arc<str>,
    /// Settings of this plugin instance (secrets included; never logged).
    pub settings: Arc<BTreeMap<String, String>>,
    /// What the plugin logged during the call.
    pub logs: Vec<LogLine>,
    /// Memory cap.
    pub limits: StoreLimits,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl std::fmt::Debug for HostState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostState")
            .field("plugin", &self.plugin)
            .field("logs", &self.logs)
            .finish_non_exhaustive()
    }
}

impl HostState {
    /// A fresh state: no environment, no arguments, no files, no sockets.
    pub fn new(
        plugin: Arc<str>,
        settings: Arc<BTreeMap<String, String>>,
        memory_bytes: usize,
    ) -> Self {
        Self {
            plugin,
            settings,
            logs: Vec::new(),
            limits: StoreLimitsBuilder::new()
                .memory_size(memory_bytes)
                .instances(8)
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
        // Outbound HTTP is a capability the operator grants per plugin (allowed hosts from the
        // manifest and the config); until this instance has such a grant, every request is
        // refused, naming what is missing.
        Err(HttpError::Denied(format!(
            "plugin {} has no HTTP capability granted (requested {} {})",
            self.plugin, request.method, request.url
        )))
    }

    fn log(&mut self, level: LogLevel, message: String) {
        let level = match level {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        };
        // Bounded: a chatty plugin cannot grow the host's memory without limit.
        if self.logs.len() < 1_000 {
            self.logs.push(LogLine {
                level,
                message: message.chars().take(4_096).collect(),
            });
        }
    }

    fn config_get(&mut self, key: String) -> Option<String> {
        self.settings.get(&key).cloned()
    }

    fn now_ms(&mut self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}
