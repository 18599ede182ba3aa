//! Normalises 1,000,000 generated rows (local CA/US numbers in several formats,
//! `+`-international ones, some invalid, some duplicates) and prints rows/s and peak RSS.
//!
//! `cargo bench --bench normalise [-- ROWS]`. A figure, not a test: nothing is asserted.

use std::time::Instant;

use switchboard_import::sample::{HEADERS, SampleRows, peak_rss_mb};
use switchboard_import::{
    HeaderMapping, HeaderOverrides, ImportSummary, JsonErrorLog, ListSettings, RowNormaliser,
    TimezonePolicy, warm_up,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: u64 = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(1_000_000);
    let started = Instant::now();
    warm_up();
    let warm_up_time = started.elapsed();

    let mapping = HeaderMapping::new(&HEADERS, &HeaderOverrides::new())?;
    let mut normaliser = RowNormaliser::new(
        mapping,
        ListSettings {
            default_region: "CA".parse()?,
            timezone: TimezonePolicy {
                list_default: Some("America/Toronto".parse()?),
                infer_from_region: true,
            },
        },
    );
    let mut summary = ImportSummary::default();
    let mut error_log = JsonErrorLog::new(std::io::sink())?;
    let mut sample = SampleRows::new();

    let started = Instant::now();
    for line in 2..rows + 2 {
        let values = sample.next().unwrap_or_default();
        let cells = HEADERS
            .iter()
            .map(|h| h.to_string())
            .zip(values)
            .collect::<Vec<_>>();
        let outcome = normaliser.normalise(line, cells);
        summary.record(&outcome);
        if let Err(rejections) = &outcome {
            error_log.write(rejections)?;
        }
    }
    error_log.finish()?;
    let elapsed = started.elapsed();

    println!("warm-up: {:.0} ms", warm_up_time.as_secs_f64() * 1000.0);
    println!(
        "rows: {rows} in {:.2} s = {:.0} rows/s",
        elapsed.as_secs_f64(),
        rows as f64 / elapsed.as_secs_f64()
    );
    match peak_rss_mb() {
        Some(mb) => println!("peak RSS (VmHWM): {mb:.1} MB"),
        None => println!("peak RSS: unavailable (no /proc/self/status)"),
    }
    println!("summary: {}", serde_json::to_string(&summary)?);
    Ok(())
}
