//! A generated 1,000,000-row CSV (see `switchboard_import::sample`) imported as one list, the
//! whole pipeline: file → size/UTF-8/line checks → the bundled CSV importer plugin →
//! normalisation (E.164, timezones, duplicates) → written to sled → committed into the
//! campaign. Prints rows/s per phase and peak RSS.
//!
//! `cargo bench -p switchboard-list-import --bench list_import [-- ROWS]`. A figure, not a
//! test: nothing is asserted.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use switchboard_import::sample::{HEADERS, SampleRows, peak_rss_mb};
use switchboard_import::{ImportLimits, warm_up};
use switchboard_list_import::{FileFormat, ListFile, bundled_importer, import_file};
use switchboard_plugin_host::{Limits, PluginHost};
use switchboard_runtime::lists::NewList;
use switchboard_runtime::provider::NoProvider;
use switchboard_runtime::store::Store;
use switchboard_runtime::{Runtime, RuntimeConfig, SystemClock};

const WORKFLOW: &str = "kind: campaign\nid: bench\nprovider: mock\nsender: \"+14165550100\"\nsteps:\n  - send: \"Hi {name}\"\n";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: u64 = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join(format!("switchboard-bench-list-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("recipients.csv");
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let mut csv = csv::Writer::from_writer(&mut file);
        csv.write_record(HEADERS)?;
        for row in SampleRows::new().take(rows as usize) {
            csv.write_record(&row)?;
        }
        csv.flush()?;
        drop(csv);
        file.flush()?;
    }
    let size = std::fs::metadata(&path)?.len();
    let rss_before = peak_rss_mb();

    warm_up();
    let host = PluginHost::new(Limits::default())?;
    let importer = bundled_importer(&host, FileFormat::Csv)?;
    let mut runtime = Runtime::open(
        Store::open(&dir.join("data"))?,
        Arc::new(SystemClock),
        Arc::new(NoProvider),
        RuntimeConfig::default(),
    )?;
    let campaign = runtime.create_campaign("bench", WORKFLOW, Vec::new())?;
    let mut list = NewList::new("generated", "recipients.csv", "CA".parse()?);
    list.timezone = Some("America/Toronto".parse()?);
    list.limits = ImportLimits {
        max_rows: rows.max(1),
        max_file_bytes: size.max(1),
        ..ImportLimits::default()
    };

    let started = Instant::now();
    let mut staged_at = None;
    let imported = import_file(
        &mut runtime,
        campaign,
        list,
        ListFile {
            importer: &importer,
            options: &[],
            input: std::io::BufReader::with_capacity(256 * 1024, std::fs::File::open(&path)?),
            total_bytes: Some(size),
        },
        &mut |progress| {
            if progress.bytes == size {
                staged_at.get_or_insert_with(Instant::now);
            }
        },
    )?;
    let total = started.elapsed();
    let staging = staged_at.map_or(total, |at| at - started);
    let landing = total - staging;

    let rate = |seconds: f64| rows as f64 / seconds;
    println!(
        "file: {rows} rows, {:.1} MB",
        size as f64 / (1024.0 * 1024.0)
    );
    println!(
        "read + parse (plugin) + normalise + stage: {:.2} s = {:.0} rows/s",
        staging.as_secs_f64(),
        rate(staging.as_secs_f64())
    );
    println!(
        "commit (one transaction; wake-ups when the campaign runs): {:.2} s = {:.0} rows/s",
        landing.as_secs_f64(),
        rate(landing.as_secs_f64())
    );
    println!(
        "whole import: {:.2} s = {:.0} rows/s",
        total.as_secs_f64(),
        rate(total.as_secs_f64())
    );
    match (rss_before, peak_rss_mb()) {
        (Some(before), Some(after)) => {
            println!("peak RSS (VmHWM): {after:.1} MB (before the import: {before:.1} MB)")
        }
        _ => println!("peak RSS: unavailable (no /proc/self/status)"),
    }
    println!("summary: {}", serde_json::to_string(&imported.summary)?);
    drop(runtime);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
