//! Runs Switchboard's WebAssembly plugins. The only crate that links wasmtime.
//!
//! A provider plugin is a component of the `provider-plugin` world of the WIT package
//! `switchboard:plugin` (see `plugins/wit/`). The host compiles it once, links its imports
//! (the `host` capabilities, and an empty WASI context for what the Rust standard library
//! imports), and calls it under limits: an epoch deadline per call and a memory cap per
//! instance. A plugin that traps, loops or exhausts memory fails that call with an error
//! naming the plugin, its version and the cause; the engine and other plugins keep running.
//! [`ProviderPlugin`] implements the runtime's [`switchboard_runtime::provider::Provider`].
//!
//! # Layout
//! - [`bindings`]: `bindgen!` output, one module per WIT version the host can load.
//! - [`state`]: the per-call store state: the capabilities a plugin instance is granted.
//! - [`host`]: the shared engine (configuration, epoch ticker).
//! - [`provider`]: a loaded provider plugin and its calls.
//! - [`error`]: what can go wrong, naming the plugin.
//! - [`bundled`]: the plugins built from `plugins/` by this crate's build script, embedded.
#![deny(missing_docs)]

pub mod bindings;
pub mod error;
pub mod host;
pub mod provider;
pub mod state;

/// The plugins shipped with Switchboard, compiled from `plugins/` and embedded in the binary.
pub mod bundled {
    include!(concat!(env!("OUT_DIR"), "/bundled.rs"));
}

pub use error::PluginError;
pub use host::{Limits, PluginHost};
pub use provider::ProviderPlugin;
