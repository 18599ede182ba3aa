//! Generated bindings, one module per released WIT version (a released version is frozen, and
//! the host keeps loading every version it ever released).

/// `switchboard:plugin@0.1.0`.
#[allow(missing_docs)]
pub mod v0_1_0 {
    wasmtime::component::bindgen!({
        world: "provider-plugin",
        path: "../../plugins/wit/v0.1.0",
    });
}
