//! The Switchboard workflow language: what a workflow file may say, and whether it says it
//! correctly.
//!
//! Pure: no tokio, no wasmtime, no sled. The runtime, the daemon and the CLI all load
//! workflows through [`loader`].
//!
//! # Layout
//! - [`workflow`]: the document (`kind: campaign | conversation`) and shared pieces.
//! - [`campaign`], [`conversation`]: the two kinds and their steps.
//! - [`duration`], [`window`], [`timezone`], [`phone`]: scalar types with their parsers.
//! - [`template`]: `{field|default}` message templates.
//! - [`segments`]: GSM-7 / UCS-2 detection and SMS segment counting.
//! - [`expr`]: the sandboxed Rhai engine for conditions and computed values.
//! - [`yaml`]: YAML → JSON with the line and column of every node.
//! - [`schema`]: the generated JSON Schema and friendly schema errors.
//! - [`check`]: semantic checks a schema cannot express.
//! - [`loader`]: the pipeline for a file or directory; [`diagnostic`], [`path`]: its findings.
#![deny(missing_docs)]

pub mod campaign;
pub mod check;
pub mod conversation;
pub mod diagnostic;
pub mod duration;
pub mod expr;
pub mod hash;
pub mod loader;
pub mod path;
pub mod phone;
pub mod schema;
pub mod segments;
pub mod template;
pub mod timezone;
pub mod window;
pub mod words;
pub mod workflow;
pub mod yaml;

pub use diagnostic::{Diagnostic, Severity};
pub use loader::{FileReport, LoadError, load_file, load_path, load_source};
pub use workflow::Workflow;
