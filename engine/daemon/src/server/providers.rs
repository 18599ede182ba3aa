//! Provider instances from the config: each names a plugin (bundled — `mock`, `twilio`,
//! `telnyx` — or a user plugin from the plugin directory) and its settings. Each is compiled,
//! configured (settings checked against the plugin's manifest) and registered with the
//! runtime's provider router under its instance name, the name workflows use.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use switchboard_config::Config;
use switchboard_plugin_host::bundled::{self, Bundled};
use switchboard_plugin_host::directory::PluginDirectory;
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

/// What loading the providers gives.
#[derive(Debug)]
pub struct LoadedProviders {
    /// The runtime's provider: dispatches on the instance name.
    pub router: Arc<ProviderRouter>,
    /// The instances, for webhooks and prices.
    pub instances: BTreeMap<String, ProviderInstance>,
    /// Per-account rate limits, by instance name.
    pub account_limits: BTreeMap<String, RateLimits>,
}

/// Compiles and configures every provider instance of the config.
pub fn load(host: &PluginHost, config: &Config) -> anyhow::Result<LoadedProviders> {
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
    let router = Arc::new(ProviderRouter::new());
    let mut instances = BTreeMap::new();
    let mut account_limits = BTreeMap::new();
    for (name, instance) in &config.providers {
        let compiled = compile(host, &directory, &instance.plugin)
            .with_context(|| format!("provider instance {name:?}"))?;
        let settings = InstanceConfig::with_settings(instance.settings.iter())
            .allowing(instance.allow_hosts.iter().cloned());
        let plugin = Arc::new(
            ProviderPlugin::new(host, &compiled, &settings)
                .with_context(|| format!("provider instance {name:?}"))?,
        );
        log::info(&format!(
            "provider instance {name}: plugin {} {}",
            plugin.name(),
            plugin.version()
        ));
        router.set(name, plugin.clone() as Arc<dyn Provider>);
        if let Some(limit) = &instance.rate_limit {
            account_limits.insert(
                name.clone(),
                RateLimits {
                    per_second: limit.per_second,
                    per_minute: limit.per_minute,
                    per_day: limit.per_day,
                },
            );
        }
        instances.insert(
            name.clone(),
            ProviderInstance {
                plugin,
                price_per_segment: instance.price_per_segment,
            },
        );
    }
    Ok(LoadedProviders {
        router,
        instances,
        account_limits,
    })
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
