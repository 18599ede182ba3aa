//! Generated recipient rows for benchmarks and load tests a deterministic
//! mix of local CA/US numbers in several spellings, `+`-international ones, invalid numbers,
//! repeats, and timezone cells valid, invalid or empty — what real lists look like.

/// The columns of a sample row.
pub const HEADERS: [&str; 5] = ["Phone Number", "First Name", "Company", "Time Zone", "Plan"];
const AREA_CODES: [u32; 10] = [416, 647, 604, 514, 905, 212, 415, 312, 617, 713];

/// A small deterministic generator (xorshift), so runs are comparable.
#[derive(Debug)]
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

/// Sample rows, the same sequence on every run: `[phone, first name, company, timezone, plan]`.
#[derive(Debug)]
pub struct SampleRows {
    generator: Generator,
    recent: Vec<String>,
}

impl SampleRows {
    /// The sequence from its start.
    pub fn new() -> Self {
        Self {
            generator: Generator(0x9E37_79B9_7F4A_7C15),
            recent: Vec::new(),
        }
    }
}

impl Default for SampleRows {
    fn default() -> Self {
        Self::new()
    }
}

impl Iterator for SampleRows {
    type Item = [String; 5];

    fn next(&mut self) -> Option<Self::Item> {
        let timezone = match self.generator.below(10) {
            0 => "america/vancouver",
            1 => "Europe/Paris",
            2 => "Not/AZone",
            _ => "",
        };
        Some([
            self.generator.phone(&mut self.recent),
            "Ada".to_string(),
            "Acme".to_string(),
            timezone.to_string(),
            "gold".to_string(),
        ])
    }
}

/// This process's peak resident memory in MB (Linux; `None` elsewhere), for benchmarks.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
