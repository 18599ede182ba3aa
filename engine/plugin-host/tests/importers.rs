//! The bundled importer plugins (CSV, JSONL) through the host: rows with their line numbers,
//! row errors that do not stop the import, and a 50 MB file streamed through an instance whose
//! memory is capped far below the file's size.

mod support;

use std::io::Read;

use switchboard_plugin_host::bundled::{self, Bundled};
use switchboard_plugin_host::{
    CheckedManifest, CompiledPlugin, ImportRow, ImporterPlugin, InstanceConfig, Limits, PluginHost,
    ProviderPlugin,
};

fn importer(host: &PluginHost, bundled: Bundled) -> ImporterPlugin {
    let manifest = CheckedManifest::parse("plugin.toml", bundled.manifest).expect("manifest");
    let compiled = CompiledPlugin::compile(host, manifest, bundled.component).expect("compile");
    ImporterPlugin::new(host, &compiled, &InstanceConfig::default()).expect("importer")
}

fn import(plugin: &ImporterPlugin, options: &[(&str, &str)], input: &[u8]) -> Vec<ImportRow> {
    let options: Vec<(String, String)> = options
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut rows = Vec::new();
    plugin
        .open(&options)
        .expect("open")
        .read_all(input, |row| rows.push(row))
        .expect("import");
    rows
}

fn row(line: u64, fields: &[(&str, &str)]) -> ImportRow {
    ImportRow::Row {
        line,
        fields: fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

#[test]
fn csv_rows_keep_their_lines_and_bad_rows_do_not_stop_the_import() {
    let host = PluginHost::new(Limits::default()).expect("host");
    let csv = importer(&host, bundled::IMPORTER_CSV);
    let input = "\u{feff}phone;name;note\r\n+14165550001;Ann;\"two\r\nlines\"\r\n+14165550002;Bob\r\n+14165550003;Cy;ok\r\n";
    let rows = import(&csv, &[], input.as_bytes());
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(
        rows[0],
        row(
            2,
            &[
                ("phone", "+14165550001"),
                ("name", "Ann"),
                ("note", "two\r\nlines")
            ]
        )
    );
    match &rows[1] {
        ImportRow::Error { line, message } => {
            assert_eq!(*line, 4);
            assert!(message.contains('3') && message.contains('2'), "{message}");
        }
        other => panic!("expected a row error, got {other:?}"),
    }
    assert_eq!(
        rows[2],
        row(
            5,
            &[("phone", "+14165550003"), ("name", "Cy"), ("note", "ok")]
        )
    );
    // The delimiter can be given instead of sniffed.
    let tabbed = import(
        &csv,
        &[("delimiter", "tab")],
        b"phone\tname\n+14165550001\tAnn\n",
    );
    assert_eq!(
        tabbed,
        vec![row(2, &[("phone", "+14165550001"), ("name", "Ann")])]
    );
}

#[test]
fn jsonl_rows_and_errors() {
    let host = PluginHost::new(Limits::default()).expect("host");
    let jsonl = importer(&host, bundled::IMPORTER_JSONL);
    let input = b"{\"phone\": \"+14165550001\", \"age\": 42, \"vip\": true}\nnot json\n\n{\"phone\": \"+14165550002\", \"tags\": [1]}\n";
    let rows = import(&jsonl, &[], input);
    assert_eq!(
        rows[0],
        row(
            1,
            &[("phone", "+14165550001"), ("age", "42"), ("vip", "true")]
        )
    );
    assert!(
        matches!(rows[1], ImportRow::Error { line: 2, .. }),
        "{rows:?}"
    );
    assert!(
        matches!(rows[2], ImportRow::Error { line: 4, .. }),
        "{rows:?}"
    );
    assert_eq!(rows.len(), 3);
}

#[test]
fn a_plugin_of_the_wrong_kind_is_refused() {
    let host = PluginHost::new(Limits::default()).expect("host");
    let error = ProviderPlugin::load(
        &host,
        bundled::IMPORTER_CSV.manifest,
        bundled::IMPORTER_CSV.component,
        &InstanceConfig::default(),
    )
    .expect_err("not a provider");
    assert!(
        error.to_string().contains("declares kind `importer`"),
        "{error}"
    );
}

/// Generates a CSV of `rows` recipients on the fly, never holding it whole.
struct GeneratedCsv {
    next_row: u64,
    rows: u64,
    pending: Vec<u8>,
}

impl Read for GeneratedCsv {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pending.len() < out.len() && self.next_row <= self.rows {
            if self.next_row == 0 {
                self.pending
                    .extend_from_slice(b"phone,first_name,last_name,company,note\n");
            } else {
                let i = self.next_row;
                self.pending.extend_from_slice(
                    format!(
                        "+1416{:07},First{i},Last{i},\"Company {}, Inc.\",\"note for row {i}\"\n",
                        i % 10_000_000,
                        i % 997
                    )
                    .as_bytes(),
                );
            }
            self.next_row += 1;
        }
        let n = out.len().min(self.pending.len());
        out[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

#[test]
fn a_50_mb_file_streams_through_a_16_mb_instance() {
    let host = PluginHost::new(Limits {
        memory_bytes: 16 * 1024 * 1024,
        ..Limits::default()
    })
    .expect("host");
    let csv = importer(&host, bundled::IMPORTER_CSV);
    // ~80 bytes a row: 650k rows is over 50 MB.
    let total = 650_000u64;
    let source = GeneratedCsv {
        next_row: 0,
        rows: total,
        pending: Vec::new(),
    };
    let (mut rows, mut errors, mut last_line) = (0u64, 0u64, 0u64);
    let started = std::time::Instant::now();
    csv.open(&[])
        .expect("open")
        .read_all(source, |row| match row {
            ImportRow::Row { line, .. } => {
                rows += 1;
                last_line = line;
            }
            ImportRow::Error { .. } => errors += 1,
        })
        .expect("the whole file imports within the memory cap");
    assert_eq!((rows, errors), (total, 0));
    assert_eq!(last_line, total + 1);
    eprintln!(
        "imported {total} rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
