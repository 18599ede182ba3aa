//! The daemon's log: one line per event on standard error, `<RFC 3339 time> <level> <text>`,
//! so it reads well in a terminal and in journald alike. Secrets never reach it: callers log
//! names and ids, never settings or tokens.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether `info` lines are dropped.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Drops `info` lines from now on (or not).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

fn line(level: &str, text: &str) {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    // One write per line, so lines from several threads do not interleave.
    let entry = format!("{now} {level:<5} {text}\n");
    let _ = std::io::stderr().lock().write_all(entry.as_bytes());
}

/// Something the operator may want to know.
pub fn info(text: &str) {
    if !QUIET.load(Ordering::Relaxed) {
        line("INFO", text);
    }
}

/// Something went wrong and was handled (a bad request, a forged webhook).
pub fn warn(text: &str) {
    line("WARN", text);
}

/// Something went wrong that the operator must look at.
pub fn error(text: &str) {
    line("ERROR", text);
}
