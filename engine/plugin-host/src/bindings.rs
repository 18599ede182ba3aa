//! Generated bindings, one module per released WIT version (a released version is frozen, and
//! the host keeps loading every version it ever released).

/// `switchboard:plugin@0.1.0`.
pub mod v0_1_0 {
    /// World `provider-plugin`: imports `host`, exports `provider`.
    #[allow(missing_docs)]
    pub mod provider {
        wasmtime::component::bindgen!({
            world: "provider-plugin",
            path: "../../plugins/wit/v0.1.0",
        });
    }

    /// World `importer-plugin`: imports `host` (the same interface as providers), exports
    /// `importer`.
    #[allow(missing_docs)]
    pub mod importer {
        wasmtime::component::bindgen!({
            world: "importer-plugin",
            path: "../../plugins/wit/v0.1.0",
            with: {
                "switchboard:plugin/host": crate::bindings::v0_1_0::provider::switchboard::plugin::host,
            },
        });
    }
}
