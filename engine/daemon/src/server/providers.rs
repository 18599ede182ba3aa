//! Provider instances from the config: each names a plugin (bundled — `mock`, `twilio`,
//! `telnyx` — or a user plugin from the plugin directory) and its settings. Each is compiled,
//! configured (settings checked against the plugin's manifest) and registered with the
//! runtime's provider router under its instance name, the name workflows use. User plugins
//! are watched and reloaded.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use anyhow::{Context, anyhow};
use switchboard_config::{Config, ProviderConfig};
use switchboard_plugin_host::bundled::{self, Bundled};
use switchboard_plugin_host::directory::{DirectoryWatcher, PluginDirectory, ScanReport};
use switchboard_plugin_host::provider::ProviderPlugin;
use switchboard_plugin_host::{CheckedManifest, CompiledPlugin, InstanceConfig, PluginHost};
use switchboard_runtime::pacing::Limits as RateLimits;
use switchboard_runtime::provider::{Provider, ProviderRouter};

use super::log;
use super::state::ProviderInstance;

/// The bundled provider plugins by name.
const BUNDLED_PROVIDERS: [(&str, Bundled); 3] = [
    ("mock", bundled::PROVIDER_MOCK),
    ("twilio", bundled::PROVIDER_TWILIO),
    ("telnyx", bundled::PROVIDER_TELNYX),
];

/// The provider instances: what the runtime sends through (its router) and what webhooks
/// and statistics look up. User plugins are reloaded when their files change: the instances
/// using a reloaded plugin are rebuilt and swapped in; calls under way finish on the old one.
#[derive(Debug)]
pub struct ProviderSet {
    host: PluginHost,
    configs: BTreeMap<String, ProviderConfig>,
    directory: Arc<PluginDirectory>,
    plugin_dir: std::path::PathBuf,
    /// The runtime's provider: dispatches on the instance name.
    pub router: Arc<ProviderRouter>,
    instances: RwLock<BTreeMap<String, Arc<ProviderInstance>>>,
    /// Per-account rate limits, by instance name.
    pub account_limits: BTreeMap<String, RateLimits>,
}

impl ProviderSet {
    /// Compiles and configures every provider instance of the config; any failure stops the
    /// start with the instance's name.
    pub fn load(host: &PluginHost, config: &Config) -> anyhow::Result<Self> {
        let reserved = BUNDLED_PROVIDERS.iter().map(|(name, _)| name.to_string());
        let (directory, report) = PluginDirectory::open(host, &config.plugin_dir, reserved);
        // No plugin directory at all is fine: user plugins are optional.
        let failed = report.failed.iter().filter(|_| config.plugin_dir.exists());
        for (dir, problem) in failed {
            log::warn(&format!(
                "plugin in {} not loaded: {problem}",
                dir.display()
            ));
        }
        let set = Self {
            host: host.clone(),
            configs: config.providers.clone(),
            directory: Arc::new(directory),
            plugin_dir: config.plugin_dir.clone(),
            router: Arc::new(ProviderRouter::new()),
            instances: RwLock::new(BTreeMap::new()),
            account_limits: config
                .providers
                .iter()
                .filter_map(|(name, instance)| {
                    let limit = instance.rate_limit.as_ref()?;
                    Some((
                        name.clone(),
                        RateLimits {
                            per_second: limit.per_second,
                            per_minute: limit.per_minute,
                            per_day: limit.per_day,
                        },
                    ))
                })
                .collect(),
        };
        for (name, instance) in &set.configs {
            set.build(name, instance)
                .with_context(|| format!("provider instance {name:?}"))?;
        }
        Ok(set)
    }

    /// (Re)builds one instance and puts it in service.
    fn build(&self, name: &str, instance: &ProviderConfig) -> anyhow::Result<()> {
        let compiled = compile(&self.host, &self.directory, &instance.plugin)?;
        let settings = InstanceConfig::with_settings(instance.settings.iter())
            .allowing(instance.allow_hosts.iter().cloned());
        let plugin = Arc::new(ProviderPlugin::new(&self.host, &compiled, &settings)?);
        log::info(&format!(
            "provider instance {name}: plugin {} {}",
            plugin.name(),
            plugin.version()
        ));
        self.router.set(name, plugin.clone() as Arc<dyn Provider>);
        let entry = Arc::new(ProviderInstance {
            plugin,
            price_per_segment: instance.price_per_segment,
        });
        if let Ok(mut instances) = self.instances.write() {
            instances.insert(name.to_string(), entry);
        }
        Ok(())
    }

    /// The instance a conversation started by an agent goes through when none is named: the
    /// only one, else `mock` if there is one, else the first by name.
    pub fn default_instance(&self) -> String {
        let names: Vec<String> = self
            .instances
            .read()
            .map(|instances| instances.keys().cloned().collect())
            .unwrap_or_default();
        match names.as_slice() {
            [only] => only.clone(),
            _ if names.iter().any(|n| n == "mock") => "mock".into(),
            _ => names.first().cloned().unwrap_or_else(|| "mock".into()),
        }
    }

    /// The instance named `name`.
    pub fn get(&self, name: &str) -> Option<Arc<ProviderInstance>> {
        self.instances.read().ok()?.get(name).cloned()
    }

    /// Watches the user plugins directory (when there is one) and rebuilds the instances of
    /// each plugin that changes. A plugin that fails to load, or disappears, leaves its
    /// instances running on the version they have.
    pub fn watch(self: &Arc<Self>) -> Option<DirectoryWatcher> {
        if !self.plugin_dir.exists() {
            return None;
        }
        let set = Arc::clone(self);
        let watched = self.directory.watch(move |report| set.reload(report));
        match watched {
            Ok(watcher) => Some(watcher),
            Err(error) => {
                log::warn(&format!("plugin changes will not be noticed: {error}"));
                None
            }
        }
    }

    fn reload(&self, report: &ScanReport) {
        for (dir, problem) in &report.failed {
            log::warn(&format!(
                "plugin in {} not (re)loaded: {problem}; instances keep their version",
                dir.display()
            ));
        }
        for name in &report.removed {
            log::warn(&format!(
                "plugin {name} was removed; its instances keep running until the restart"
            ));
        }
        let changed: Vec<&String> = report.loaded.iter().chain(&report.reloaded).collect();
        for (instance, config) in &self.configs {
            if !changed.contains(&&config.plugin) {
                continue;
            }
            if let Err(error) = self.build(instance, config) {
                log::error(&format!(
                    "provider instance {instance}: the new version of plugin {} failed: {error:#}; \
                     the previous one stays in service",
                    config.plugin
                ));
            }
        }
    }
}

fn compile(
    host: &PluginHost,
    directory: &PluginDirectory,
    plugin: &str,
) -> anyhow::Result<CompiledPlugin> {
    if let Some((_, bundled)) = BUNDLED_PROVIDERS.iter().find(|(name, _)| *name == plugin) {
        let manifest = CheckedManifest::parse("bundled plugin.toml", bundled.manifest)?;
        return Ok(CompiledPlugin::compile(host, manifest, bundled.component)?);
    }
    let loaded = directory.get(plugin).ok_or_else(|| {
        anyhow!(
            "no plugin named {plugin:?}: the bundled ones are mock, twilio and telnyx; others \
             go in the plugin directory"
        )
    })?;
    Ok(loaded.compiled.clone())
}
