//! Runs Switchboard's WebAssembly plugins. The only crate that links wasmtime.
//!
//! A plugin is a component of a world of the WIT package `switchboard:plugin` (see
//! `plugins/wit/`) plus a manifest (`plugin.toml`). The host checks the manifest, compiles the
//! component once, checks the operator's settings for each configured instance against the
//! manifest's settings schema, links the `host` capabilities (and an empty WASI context for
//! what the Rust standard library imports), and calls the plugin under limits: an epoch
//! deadline and a fuel budget per call, a memory cap per instance, HTTP only to the hosts the
//! manifest declares and the operator grants. A plugin that traps, loops, exhausts memory or
//! answers garbage fails that call with an error naming the plugin, its version and the cause;
//! the engine and other plugins keep running.
//!
//! # Layout
//! - [`bindings`]: `bindgen!` output, one module per WIT version the host can load.
//! - [`manifest`]: `plugin.toml`, its schema, settings validation.
//! - [`grant`]: which hosts an instance may reach.
//! - [`http`]: `host.fetch`, performed with reqwest.
//! - [`state`]: the store state: what an instance is granted.
//! - [`host`]: the shared engine (pooling allocator, fuel, epoch ticker), HTTP client, clock.
//! - [`instance`] (private): live instances, reused between calls, dropped after a failure.
//! - [`plugin`]: a compiled plugin and an instance's configuration.
//! - [`provider`]: a configured provider plugin; implements the runtime's provider trait.
//! - [`importer`]: a configured importer plugin and its streaming import sessions.
//! - [`directory`]: user plugins loaded from a directory, reloaded when they change.
//! - [`error`]: what can go wrong, naming the plugin.
//! - [`bundled`]: the plugins built from `plugins/` by this crate's build script, embedded.
#![deny(missing_docs)]

pub mod bindings;
pub mod directory;
pub mod error;
pub mod grant;
pub mod host;
pub mod http;
pub mod importer;
mod instance;
pub mod manifest;
pub mod plugin;
pub mod provider;
pub mod state;

/// The plugins shipped with Switchboard, compiled from `plugins/` and embedded in this crate.
pub mod bundled {
    /// A bundled plugin: its manifest and its component.
    #[derive(Debug, Clone, Copy)]
    pub struct Bundled {
        /// `plugin.toml`'s text.
        pub manifest: &'static str,
        /// The `.wasm` component.
        pub component: &'static [u8],
    }

    include!(concat!(env!("OUT_DIR"), "/bundled.rs"));
}

pub use error::PluginError;
pub use host::{Limits, PluginHost};
pub use importer::{ImportRow, ImportSession, ImporterPlugin};
pub use manifest::{CheckedManifest, Manifest, PluginKind};
pub use plugin::{CompiledPlugin, InstanceConfig};
pub use provider::ProviderPlugin;
