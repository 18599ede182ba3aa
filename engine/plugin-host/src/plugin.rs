//! A plugin compiled once from its manifest and component, from which configured instances
//! (providers, importers) are made without compiling again.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::{Component, HasSelf, InstancePre, Linker};

use crate::error::PluginError;
use crate::grant::HttpGrant;
use crate::host::PluginHost;
use crate::instance::Identity;
use crate::manifest::{CheckedManifest, PluginKind};
use crate::state::{Grants, HostState};

/// How the operator configures one instance of a plugin. Its `Debug` shows setting names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct InstanceConfig {
    /// Settings the plugin reads with `config-get`; checked against the manifest's schema.
    pub settings: BTreeMap<String, String>,
    /// Hosts the operator allows this instance to reach (intersected with the manifest's).
    pub allow_hosts: Vec<String>,
}

impl std::fmt::Debug for InstanceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceConfig")
            .field("settings", &self.settings.keys().collect::<Vec<_>>())
            .field("allow_hosts", &self.allow_hosts)
            .finish()
    }
}

impl InstanceConfig {
    /// A configuration with these settings and no HTTP grant.
    pub fn with_settings<K: Into<String>, V: Into<String>>(
        settings: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            settings: settings
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            allow_hosts: Vec::new(),
        }
    }

    /// Also allows these hosts.
    pub fn allowing<S: Into<String>>(mut self, hosts: impl IntoIterator<Item = S>) -> Self {
        self.allow_hosts.extend(hosts.into_iter().map(Into::into));
        self
    }
}

/// A compiled plugin component and its checked manifest.
#[derive(Clone)]
pub struct CompiledPlugin {
    manifest: CheckedManifest,
    component: Component,
}

impl std::fmt::Debug for CompiledPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledPlugin")
            .field("name", &self.manifest.manifest().name)
            .field("version", &self.manifest.manifest().version)
            .finish_non_exhaustive()
    }
}

impl CompiledPlugin {
    /// Compiles `wasm` (the component the manifest names).
    pub fn compile(
        host: &PluginHost,
        manifest: CheckedManifest,
        wasm: &[u8],
    ) -> Result<Self, PluginError> {
        let component = Component::new(host.engine(), wasm).map_err(|e| PluginError::Load {
            plugin: label(&manifest),
            reason: format!("{e:#}"),
        })?;
        Ok(Self {
            manifest,
            component,
        })
    }

    /// The manifest.
    pub fn manifest(&self) -> &CheckedManifest {
        &self.manifest
    }

    /// `name version`, for errors.
    pub fn label(&self) -> String {
        label(&self.manifest)
    }

    /// What configuring an instance of `kind` needs: the checked grants, the component
    /// pre-linked against the host capabilities, and the plugin's identity.
    pub(crate) fn prepare(
        &self,
        host: &PluginHost,
        config: &InstanceConfig,
        kind: PluginKind,
    ) -> Result<(Arc<Grants>, InstancePre<HostState>, Identity), PluginError> {
        self.expect_kind(kind)?;
        let grants = self.grants(host, config)?;
        let pre = self
            .linker(host)?
            .instantiate_pre(&self.component)
            .map_err(|e| self.load_error(format!("{e:#}")))?;
        let manifest = self.manifest.manifest();
        let identity = Identity {
            name: Arc::from(manifest.name.as_str()),
            version: manifest.version.clone(),
        };
        Ok((grants, pre, identity))
    }

    /// Fails unless the plugin is of `kind`.
    fn expect_kind(&self, kind: PluginKind) -> Result<(), PluginError> {
        let declared = self.manifest.manifest().kind;
        if declared == kind {
            Ok(())
        } else {
            Err(self.load_error(format!(
                "its manifest declares kind `{declared}`; a `{kind}` plugin is needed here"
            )))
        }
    }

    /// A load error naming this plugin.
    pub(crate) fn load_error(&self, reason: impl Into<String>) -> PluginError {
        PluginError::Load {
            plugin: self.label(),
            reason: reason.into(),
        }
    }

    /// Checks `config` and turns it into what an instance is granted.
    fn grants(
        &self,
        host: &PluginHost,
        config: &InstanceConfig,
    ) -> Result<Arc<Grants>, PluginError> {
        let manifest = self.manifest.manifest();
        self.manifest.check_settings(&config.settings)?;
        let grant = HttpGrant::new(&manifest.allowed_hosts, &config.allow_hosts)
            .map_err(|e| self.load_error(e))?;
        Ok(Arc::new(Grants {
            plugin: Arc::from(manifest.name.as_str()),
            settings: config.settings.clone(),
            http: (!grant.is_empty()).then(|| (host.http().clone(), grant)),
            clock: host.clock().clone(),
            log: host.log_sink().clone(),
        }))
    }

    /// A linker with the host capabilities and an empty WASI context.
    fn linker(&self, host: &PluginHost) -> Result<Linker<HostState>, PluginError> {
        let mut linker: Linker<HostState> = Linker::new(host.engine());
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| self.load_error(format!("{e:#}")))?;
        crate::bindings::v0_1_0::provider::switchboard::plugin::host::add_to_linker::<
            _,
            HasSelf<_>,
        >(&mut linker, |state| state)
        .map_err(|e| self.load_error(format!("{e:#}")))?;
        Ok(linker)
    }
}

fn label(manifest: &CheckedManifest) -> String {
    format!(
        "{} {}",
        manifest.manifest().name,
        manifest.manifest().version
    )
}
