//! The daemon's configuration file, `switchboard.toml`: its types and defaults, loading with
//! `${VARIABLE}` references, validation with errors placed at a key path and a line and
//! column, API tokens, and the generated JSON Schema.
//!
//! Pure: serde, toml and schemars; nothing here opens a socket or starts a thread. No file
//! at all is a valid configuration ([`Config::default_embedded`]).
//!
//! # Layout
//! - [`config`]: the types ([`Config`], [`ProviderConfig`], [`RateLimit`], [`QuietHours`]) and
//!   their defaults; checks of single values happen while they are read.
//! - [`load`]: [`Config::load`] / [`Config::from_str`]: parse, deserialize, resolve
//!   references, then the checks spanning several keys.
//! - [`tokens`]: [`ApiTokens`] (constant-time verification) and [`hash_token`].
//! - [`settings`]: a provider instance's [`Settings`] (secret-aware `Debug` and `Serialize`).
//! - [`env`](mod@env): `${VARIABLE}` interpolation through an injected lookup.
//! - `source`: spans of the parsed document: key path ↔ line and column.
//! - [`schema`]: the generated `schemas/config.schema.json`.
//! - [`error`]: what an operator reads: [`ConfigError`] and its [`Problem`]s.
#![deny(missing_docs)]

pub mod config;
pub mod env;
pub mod error;
pub mod load;
pub mod schema;
pub mod settings;
mod source;
pub mod tokens;

pub use config::{ApiConfig, Compliance, Config, ProviderConfig, QuietHours, RateLimit};
pub use env::{EnvError, process_env};
pub use error::{ConfigError, Position, Problem};
pub use settings::Settings;
pub use tokens::{ApiTokens, hash_token};
