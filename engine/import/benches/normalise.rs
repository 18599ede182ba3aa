//! Normalises 1,000,000 generated rows (local CA/US numbers in several formats,
//! `+`-international ones, some invalid, some duplicates) and prints rows/s and peak RSS.
//!
//! `cargo bench --bench normalise [-- ROWS]`. A figure, not a test: nothing is asserted.

use std::time::Instant;

use switchboard_import::{
    HeaderMapping, HeaderOverrides, ImportSummary, JsonErrorLog, ListSettings, RowNormaliser,
    TimezonePolicy, warm_up,
};

const HEADERS: [&str; 5] = ["Phone Number", "First Name", "Company", "Time Zone", "Plan"];
const AREA_CODES: [u32; 10] = [416, 647, 604, 514, 905, 212, 415, 312, 617, 713];

/// A small deterministic generator (xorshift), so runs are comparable.
struct Generator(u64);

impl Generator {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn phone(&mut self, recent: &mut Vec<String>) -> String {
        let kind = self.below(100);
        let subscriber = 2_000_000 + self.below(7_000_000);
        let (exchange, line) = (subscriber / 10_000, subscriber % 10_000);
        let area = AREA_CODES[self.below(AREA_CODES.len() as u64) as usize];
        let phone = match kind {
            0..=14 => format!("({area}) {exchange}-{line:04}"),
            15..=29 => format!("{area}-{exchange}-{line:04}"),
            30..=39 => format!("1-{area}-{exchange}-{line:04}"),
            40..=49 => format!("{area}{exchange}{line:04}"),
            50..=59 => format!("+1 {area} {exchange} {line:04}"),
            60..=65 => format!(
                "+33 6 {:02} {:02} {:02} {:02}",
                line / 100,
                line % 100,
                exchange % 100,
                exchange / 100
            ),
            66..=71 => format!("+44 7400 {exchange}{:03}", line % 1000),
            72..=76 => format!("+49 151 {exchange}{line:04}{}", line % 10),
            77..=81 => format!("+81 90 {:04} {line:04}", subscriber % 10_000),
            82..=84 => format!("0033 1 42 68 {:02} {:02}", line / 100, line % 100),
            85..=86 => format!("555-{line:04}"),
            87 => "call me maybe".to_string(),
            88 => String::new(),
            89 => format!("+1 {area} {exchange} {line:04} 99"),
            _ => recent
                .get(self.below(recent.len().max(1) as u64) as usize)
                .cloned()
                .unwrap_or_default(),
        };
        if recent.len() < 4096 {
            recent.push(phone.clone());
        } else {
            let slot = self.below(4096) as usize;
            recent[slot] = phone.clone();
        }
        phone
    }
}

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

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
    let mut generator = Generator(0x9E37_79B9_7F4A_7C15);
    let mut recent = Vec::new();

    let started = Instant::now();
    for line in 2..rows + 2 {
        let timezone = match generator.below(10) {
            0 => "america/vancouver",
            1 => "Europe/Paris",
            2 => "Not/AZone",
            _ => "",
        };
        let values = [
            generator.phone(&mut recent),
            "Ada".to_string(),
            "Acme".to_string(),
            timezone.to_string(),
            "gold".to_string(),
        ];
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
