//! Plugin failures. Every message names the plugin and its version, so an operator knows
//! which of their plugins misbehaved.

/// A plugin could not be loaded or a call into it failed.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The engine could not be configured (a build defect).
    #[error("plugin engine: {0}")]
    Engine(String),
    /// The `.wasm` file is not a component of a supported world.
    #[error("plugin {plugin}: cannot load: {reason}")]
    Load {
        /// The plugin (file or name).
        plugin: String,
        /// Why.
        reason: String,
    },
    /// A call exceeded its deadline and was interrupted.
    #[error(
        "plugin {plugin} {version}: `{call}` exceeded its {limit_ms} ms deadline and was interrupted"
    )]
    Deadline {
        /// The plugin.
        plugin: String,
        /// Its version.
        version: String,
        /// Which export.
        call: &'static str,
        /// The deadline.
        limit_ms: u64,
    },
    /// A call used up its instruction budget (fuel) and was stopped.
    #[error("plugin {plugin} {version}: `{call}` used up its budget of {fuel} instructions")]
    Fuel {
        /// The plugin.
        plugin: String,
        /// Its version.
        version: String,
        /// Which export.
        call: &'static str,
        /// The budget.
        fuel: u64,
    },
    /// The plugin answered something the contract does not allow.
    #[error("plugin {plugin} {version}: `{call}` returned an invalid answer: {reason}")]
    Garbage {
        /// The plugin.
        plugin: String,
        /// Its version.
        version: String,
        /// Which export.
        call: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A call failed after one of its HTTP requests was answered: the provider may have acted
    /// on it (a message may have been sent), so the call must not simply be retried.
    #[error("{0} (after an HTTP request of the call was answered: the outcome is uncertain)")]
    AfterRequest(Box<PluginError>),
    /// The plugin's manifest or the operator's settings for it are invalid.
    #[error(transparent)]
    Manifest(#[from] crate::manifest::ManifestError),
    /// A call trapped (panic, out-of-bounds, memory refused, ...).
    #[error("plugin {plugin} {version}: `{call}` failed: {cause}")]
    Call {
        /// The plugin.
        plugin: String,
        /// Its version.
        version: String,
        /// Which export.
        call: &'static str,
        /// The trap or error, as wasmtime reports it.
        cause: String,
    },
}
