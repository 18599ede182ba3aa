//! `switchboard run`: the daemon. It opens the store (refusing a data directory another
//! daemon holds), loads the provider instances the config names, the workflow directory
//! (watched: edits are new versions, broken files are reported, the last good version stays),
//! starts the engine thread and serves the HTTP API, the provider webhooks and the live
//! events until SIGINT or SIGTERM; then it stops taking requests, lets the engine finish the
//! provider calls under way, and flushes the store.
//!
//! # Layout
//! - [`driver`]: the engine thread, owner of the runtime.
//! - [`state`]: what handlers share.
//! - [`router`]: routes, authentication, request metrics.
//! - [`campaigns`], [`lists`], [`recipients`], [`workflows`], [`conversations`],
//!   [`suppressions`]: the `/v1` resources.
//! - [`webhooks`]: provider callbacks; [`inbox_writer`]: their group commit to the store.
//! - [`events`]: Server-Sent Events; [`metrics`]: Prometheus text.
//! - [`realtime`]: live send rates and errors per campaign and sender; [`preview`]: a
//!   campaign's schedule, simulated.
//! - [`dashboard`]: the web dashboard's embedded page and assets.
//! - [`providers`]: provider instances from the config.
//! - [`error`]: JSON error answers; [`log`]: the daemon's log lines.
//! - `openapi_check` (tests): `schemas/openapi.json` against the router and handlers.

pub mod campaigns;
pub mod conversations;
pub mod dashboard;
pub mod driver;
pub mod error;
pub mod events;
pub mod inbox_writer;
pub mod lists;
pub mod log;
pub mod metrics;
#[cfg(test)]
mod openapi_check;
pub mod preview;
pub mod providers;
pub mod realtime;
pub mod recipients;
pub mod router;
pub mod state;
pub mod suppressions;
pub mod webhooks;
pub mod workflows;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use switchboard_config::Config;
use switchboard_list_import::{FileFormat, bundled_importer};
use switchboard_plugin_host::{Limits, PluginHost};
use switchboard_registry::WorkflowRegistry;
use switchboard_runtime::store::{Store, StoreError};
use switchboard_runtime::{Clock, Runtime, RuntimeConfig};

use driver::{Driver, DriverOptions};
use events::{BusObserver, EventBus};
use inbox_writer::InboxWriter;
use metrics::Metrics;
use state::{AppState, Importers, RequestLimits};
use switchboard_guidance::keywords::KeywordSets;
use switchboard_runtime::conversation::ComplianceConfig;

/// Recipients a tick takes per campaign: small enough that jobs (webhooks, API actions)
/// wait at most one batch's sends.
const BATCH_SIZE: usize = 500;

/// How long in-flight work may take to finish at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// What `run` is given besides the config.
#[derive(Debug)]
pub struct RunOptions {
    /// The engine's clock (the system clock, or the demo's accelerated one).
    pub clock: Arc<dyn Clock>,
    /// How the engine thread paces itself.
    pub driver: DriverOptions,
    /// A socket already bound (the demo needs its address before the providers are made);
    /// else the config's listen address is bound.
    pub listener: Option<std::net::TcpListener>,
    /// Log only warnings and errors (the demo prints its own story).
    pub quiet: bool,
}

/// A daemon that is up: its address and how to stop it (the demo drives one in-process).
#[derive(Debug)]
pub struct Running {
    /// The shared state (the demo reads the store through it).
    pub state: state::Shared,
    shutdown: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    engine: driver::DriverThread,
    _watchers: (
        Option<switchboard_registry::RegistryWatcher>,
        Option<switchboard_plugin_host::directory::DirectoryWatcher>,
    ),
}

/// Starts the daemon on `config`; it serves until [`Running::stop`].
pub async fn start(config: &Config, options: RunOptions) -> anyhow::Result<Running> {
    log::set_quiet(options.quiet);
    switchboard_import::warm_up();
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    let store = match Store::open(&config.data_dir) {
        Ok(store) => store,
        Err(StoreError::Locked(_)) => anyhow::bail!(
            "the data directory {} is in use by another Switchboard daemon (or `switchboard import`); \
             stop it first, or give this one another data-dir",
            config.data_dir.display()
        ),
        Err(error) => {
            return Err(error).with_context(|| {
                format!(
                    "cannot open the data directory {}",
                    config.data_dir.display()
                )
            });
        }
    };
    let host = PluginHost::with_clock(Limits::default(), options.clock.clone())
        .context("cannot start the plugin host")?;
    let providers = Arc::new(providers::ProviderSet::load(&host, config)?);
    let plugin_watcher = providers.watch();
    let registry = Arc::new(
        WorkflowRegistry::open(&config.workflow_dir).with_context(|| {
            format!(
                "cannot read the workflow directory {}",
                config.workflow_dir.display()
            )
        })?,
    );
    for status in registry.list() {
        if !status.errors.is_empty() {
            let errors: Vec<String> = status.errors.iter().map(ToString::to_string).collect();
            log::warn(&format!(
                "workflow {} ({}) is invalid: {}",
                status.id,
                status.file.display(),
                errors.join("; ")
            ));
        }
    }
    let runtime_config = RuntimeConfig {
        default_timezone: config.default_timezone.0,
        allowed_hours: config
            .quiet_hours
            .allowed_hours()
            .unwrap_or(switchboard_model::check::DEFAULT_ALLOWED_HOURS),
        account_limits: providers.account_limits.clone(),
        batch_size: BATCH_SIZE,
        compliance: compliance_config(&config.compliance),
        ..RuntimeConfig::default()
    };
    let store_for_inbox = store.clone();
    let uploads_dir = config.data_dir.join("uploads");
    std::fs::create_dir_all(&uploads_dir).with_context(|| {
        format!(
            "cannot create the uploads directory {}",
            uploads_dir.display()
        )
    })?;
    let mut runtime = Runtime::open(
        store.clone(),
        options.clock.clone(),
        providers.router.clone(),
        runtime_config.clone(),
    )
    .context("cannot open the campaign runtime")?;
    let bus = EventBus::new();
    let metrics = Arc::new(Metrics::default());
    let realtime = Arc::new(realtime::Realtime::new(options.clock.clone()));
    runtime.set_flows(Arc::new(conversations::flow_set(&registry)));
    runtime.set_observer(Arc::new(BusObserver {
        bus: bus.clone(),
        metrics: metrics.clone(),
        realtime: realtime.clone(),
    }));
    let (driver, engine) = Driver::start(runtime, options.clock.clone(), options.driver)
        .context("cannot start the engine thread")?;
    let importers = Arc::new(Importers {
        csv: bundled_importer(&host, FileFormat::Csv)?,
        jsonl: bundled_importer(&host, FileFormat::JsonLines)?,
    });
    let state = Arc::new(AppState {
        driver: driver.clone(),
        store,
        clock: options.clock.clone(),
        registry: registry.clone(),
        tokens: config.api.tokens.clone(),
        providers,
        importers,
        uploads_dir,
        limits: RequestLimits {
            max_upload_bytes: config.api.max_upload_bytes(),
            ..RequestLimits::default()
        },
        inbox_writer: InboxWriter::start(store_for_inbox)?,
        events: bus.clone(),
        metrics,
        realtime,
        runtime_config,
    });
    let watcher = workflows::watch(&registry, bus, driver.clone())
        .map_err(|error| log::warn(&format!("workflow changes will not be noticed: {error}")))
        .ok();

    let listener = match options.listener {
        Some(bound) => {
            bound.set_nonblocking(true)?;
            tokio::net::TcpListener::from_std(bound)?
        }
        None => tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?,
    };
    let addr = listener.local_addr()?;
    let app = router::router(state.clone());
    let (shutdown, shutdown_signal) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = shutdown_signal.await;
            })
            .await
    });
    log::info(&format!(
        "listening on http://{addr} (data {}, workflows {})",
        config.data_dir.display(),
        config.workflow_dir.display()
    ));
    Ok(Running {
        state,
        shutdown,
        server,
        engine,
        _watchers: (watcher, plugin_watcher),
    })
}

impl Running {
    /// Stops taking requests, lets the ones under way (and the engine's provider calls)
    /// finish within the grace period, and flushes the store.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(());
        match tokio::time::timeout(SHUTDOWN_GRACE, self.server).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(error))) => log::error(&format!("the HTTP server failed: {error}")),
            Ok(Err(error)) => log::error(&format!("the HTTP server task failed: {error}")),
            Err(_) => log::warn("requests still open after the grace period were cut"),
        }
        self.state.driver.stop();
        let engine = self.engine;
        let joined = tokio::task::spawn_blocking(move || engine.join()).await;
        match joined {
            Ok(Some(runtime)) => runtime
                .store()
                .flush()
                .context("flushing the store at shutdown")?,
            _ => log::error("the engine thread ended abnormally"),
        }
        log::info("stopped; the store is flushed");
        Ok(())
    }
}

/// The runtime's compliance settings from the config's `[compliance]`.
fn compliance_config(compliance: &switchboard_config::Compliance) -> ComplianceConfig {
    ComplianceConfig {
        keywords: KeywordSets::with_extra(
            &compliance.opt_out_words,
            &compliance.opt_in_words,
            &compliance.help_words,
        ),
        help_text: compliance.help_text.clone(),
        opt_out_confirmation: compliance.opt_out_confirmation.clone(),
        opt_in_confirmation: compliance.opt_in_confirmation.clone(),
        provider_opt_out_codes: compliance.provider_opt_out_codes.clone(),
    }
}

/// Runs the daemon until SIGINT or SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let running = start(
        &config,
        RunOptions {
            clock: Arc::new(switchboard_runtime::SystemClock),
            driver: DriverOptions::default(),
            listener: None,
            quiet: false,
        },
    )
    .await?;
    shutdown_signal().await;
    log::info("shutting down: no new requests; finishing the work under way");
    running.stop().await
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
