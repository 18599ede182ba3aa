//! What every request handler shares: the engine thread, the store (for reads), the workflow
//! registry, the provider instances (for webhooks), the importers, the event bus, metrics,
//! the live rates.

use std::path::PathBuf;
use std::sync::Arc;

use switchboard_config::ApiTokens;
use switchboard_plugin_host::ImporterPlugin;
use switchboard_plugin_host::provider::ProviderPlugin;
use switchboard_registry::WorkflowRegistry;
use switchboard_runtime::records::CampaignRecord;
use switchboard_runtime::store::Store;
use switchboard_runtime::{Clock, RuntimeConfig};

use super::driver::Driver;
use super::events::EventBus;
use super::inbox_writer::InboxWriter;
use super::metrics::Metrics;
use super::providers::ProviderSet;
use super::realtime::Realtime;

/// A configured provider instance, as the API sees it.
#[derive(Debug)]
pub struct ProviderInstance {
    /// The plugin.
    pub plugin: Arc<ProviderPlugin>,
    /// Price of one segment, for estimated costs.
    pub price_per_segment: Option<f64>,
}

/// The importer plugins for uploaded lists.
#[derive(Debug)]
pub struct Importers {
    /// CSV (and other delimited text).
    pub csv: ImporterPlugin,
    /// JSON lines.
    pub jsonl: ImporterPlugin,
}

/// Limits on what requests may carry.
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    /// Largest uploaded list file, in bytes.
    pub max_upload_bytes: u64,
    /// Largest webhook body, in bytes.
    pub max_webhook_bytes: usize,
    /// Largest JSON request body, in bytes.
    pub max_json_bytes: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            max_upload_bytes: switchboard_import::ImportLimits::default().max_file_bytes,
            max_webhook_bytes: 1024 * 1024,
            max_json_bytes: 1024 * 1024,
        }
    }
}

/// The shared state.
#[derive(Debug)]
pub struct AppState {
    /// The engine thread.
    pub driver: Driver,
    /// Read access to the store (sled serves readers concurrently with the engine).
    pub store: Store,
    /// The engine's clock.
    pub clock: Arc<dyn Clock>,
    /// The workflows on disk, versioned.
    pub registry: Arc<WorkflowRegistry>,
    /// Who may call the API (none: open, allowed on loopback only).
    pub tokens: ApiTokens,
    /// Provider instances by name.
    pub providers: Arc<ProviderSet>,
    /// The list importers.
    pub importers: Arc<Importers>,
    /// Where uploads are spooled before they are imported.
    pub uploads_dir: PathBuf,
    /// Request size limits.
    pub limits: RequestLimits,
    /// Makes webhook events durable, many at a time.
    pub inbox_writer: InboxWriter,
    /// Live events for `/v1/events`.
    pub events: EventBus,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Recent send rates and errors for `/v1/realtime` (fed by the runtime's events).
    pub realtime: Arc<Realtime>,
    /// The settings the runtime runs with; schedule previews simulate with them.
    pub runtime_config: RuntimeConfig,
}

impl AppState {
    /// The configured price of one segment for a campaign's provider instance.
    pub fn price_per_segment(&self, record: &CampaignRecord) -> Option<f64> {
        self.providers.get(&record.provider)?.price_per_segment
    }
}

/// The state as handlers receive it.
pub type Shared = Arc<AppState>;
