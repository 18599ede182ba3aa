//! A configured importer plugin, and import sessions: one instance per file, fed in chunks, so
//! the host's memory and the plugin's stay flat whatever the file's size.

use std::io::Read;

use wasmtime::Store;
use wasmtime::component::ResourceAny;

use crate::bindings::v0_1_0::importer::exports::switchboard::plugin::importer::RowResult;
use crate::bindings::v0_1_0::importer::{ImporterPlugin as Bindings, ImporterPluginPre};
use crate::error::PluginError;
use crate::host::PluginHost;
use crate::instance::Instances;
use crate::manifest::PluginKind;
use crate::plugin::{CompiledPlugin, InstanceConfig};
use crate::state::HostState;

/// Size of the chunks [`ImportSession::read_all`] pushes.
pub const CHUNK_BYTES: usize = 64 * 1024;
/// Most fields one row may have.
const MAX_FIELDS: usize = 1_000;

/// One row out of an importer, or why a row could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportRow {
    /// Column name and raw value pairs, in file order; `line` is 1-based.
    Row {
        /// Line (or record) number in the file.
        line: u64,
        /// Column, value.
        fields: Vec<(String, String)>,
    },
    /// A row the importer could not parse; the import goes on.
    Error {
        /// Line (or record) number in the file.
        line: u64,
        /// Why.
        message: String,
    },
}

/// An importer plugin ready to open import sessions.
pub struct ImporterPlugin {
    instances: Instances<Bindings>,
}

impl std::fmt::Debug for ImporterPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImporterPlugin")
            .field("name", &self.instances.identity().name)
            .finish_non_exhaustive()
    }
}

impl ImporterPlugin {
    /// Configures an instance of a compiled importer plugin.
    pub fn new(
        host: &PluginHost,
        plugin: &CompiledPlugin,
        config: &InstanceConfig,
    ) -> Result<Self, PluginError> {
        let (grants, pre, identity) = plugin.prepare(host, config, PluginKind::Importer)?;
        let pre = ImporterPluginPre::new(pre)
            .map_err(|e| plugin.load_error(format!("not an importer plugin: {e:#}")))?;
        Ok(Self {
            instances: Instances::new(
                identity,
                host.clone(),
                grants,
                Box::new(move |store| pre.instantiate(store)),
                0,
            ),
        })
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.instances.identity().name
    }

    /// Starts parsing one file, with the import request's options (delimiter, ...).
    pub fn open(&self, options: &[(String, String)]) -> Result<ImportSession<'_>, PluginError> {
        let (mut store, bindings) = self.instances.fresh("constructor")?;
        let parser = bindings
            .switchboard_plugin_importer()
            .parser()
            .call_constructor(&mut store, options)
            .map_err(|e| self.instances.failure("constructor", e))?;
        Ok(ImportSession {
            plugin: self,
            store,
            bindings,
            parser,
        })
    }
}

/// One file being imported.
pub struct ImportSession<'a> {
    plugin: &'a ImporterPlugin,
    store: Store<HostState>,
    bindings: Bindings,
    parser: ResourceAny,
}

impl std::fmt::Debug for ImportSession<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportSession")
            .field("plugin", &self.plugin.name())
            .finish_non_exhaustive()
    }
}

impl ImportSession<'_> {
    /// Feeds a chunk; returns the rows it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<ImportRow>, PluginError> {
        let instances = &self.plugin.instances;
        instances
            .arm(&mut self.store)
            .map_err(|e| instances.failure("push", e))?;
        let rows = self
            .bindings
            .switchboard_plugin_importer()
            .parser()
            .call_push(&mut self.store, self.parser, chunk)
            .map_err(|e| instances.failure("push", e))?;
        self.convert("push", rows)
    }

    /// Ends the input; returns the remaining rows.
    pub fn finish(mut self) -> Result<Vec<ImportRow>, PluginError> {
        let instances = &self.plugin.instances;
        instances
            .arm(&mut self.store)
            .map_err(|e| instances.failure("finish", e))?;
        let rows = self
            .bindings
            .switchboard_plugin_importer()
            .parser()
            .call_finish(&mut self.store, self.parser)
            .map_err(|e| instances.failure("finish", e))?;
        let rows = self.convert("finish", rows)?;
        // Dropping the resource lets a plugin release what it holds; the store goes anyway.
        let _ = self.parser.resource_drop(&mut self.store);
        Ok(rows)
    }

    /// Reads `reader` to its end in [`CHUNK_BYTES`] chunks, handing every row to `on_row`.
    pub fn read_all(
        mut self,
        mut reader: impl Read,
        mut on_row: impl FnMut(ImportRow),
    ) -> Result<(), ImportError> {
        let mut buffer = vec![0; CHUNK_BYTES];
        loop {
            let read = match reader.read(&mut buffer) {
                Ok(0) => break,
                Ok(read) => read,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ImportError::Read(e)),
            };
            for row in self.push(&buffer[..read])? {
                on_row(row);
            }
        }
        for row in self.finish()? {
            on_row(row);
        }
        Ok(())
    }

    fn convert(
        &self,
        call: &'static str,
        rows: Vec<RowResult>,
    ) -> Result<Vec<ImportRow>, PluginError> {
        rows.into_iter()
            .map(|row| match row {
                RowResult::Row(row) if row.fields.len() > MAX_FIELDS => {
                    Err(self.plugin.instances.garbage(
                        call,
                        format!(
                            "line {}: {} fields (at most {MAX_FIELDS})",
                            row.line,
                            row.fields.len()
                        ),
                    ))
                }
                RowResult::Row(row) => Ok(ImportRow::Row {
                    line: row.line,
                    fields: row.fields,
                }),
                RowResult::Error(error) => Ok(ImportRow::Error {
                    line: error.line,
                    message: error.message,
                }),
            })
            .collect()
    }
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The input could not be read.
    #[error("reading the file: {0}")]
    Read(#[source] std::io::Error),
    /// The importer failed.
    #[error(transparent)]
    Plugin(#[from] PluginError),
}
