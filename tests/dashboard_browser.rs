//! The dashboard in real browsers: runs `tests/browser/` (node's test runner) against the
//! `switchboard` binary cargo built for this run, in two browsers one after the other:
//! `dashboard.test.mjs` in Debian's headless Chromium, driven by playwright-core, and
//! `firefox.test.mjs` in Debian's headless Firefox ESR, driven by puppeteer-core over WebDriver
//! BiDi. `tests/browser/install.sh` installs both browsers and both libraries first when they
//! are missing (CI runs it up front). Screenshots of the main pages are written to
//! `<target>/dashboard-screenshots/` (Firefox's as `firefox-*.png`).
//!
//! Set `SWITCHBOARD_TEST_LOG=1` to see the daemon's log as the tests run.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `<target>/dashboard-screenshots`, beside the profile directory the binary is in.
fn screenshot_dir(binary: &Path) -> PathBuf {
    binary
        .parent()
        .and_then(Path::parent)
        .map_or_else(|| repository().join("target"), Path::to_path_buf)
        .join("dashboard-screenshots")
}

#[test]
fn the_dashboard_works_in_headless_chromium_and_firefox() {
    let browser_tests = repository().join("tests/browser");
    let install = Command::new("bash")
        .arg(browser_tests.join("install.sh"))
        .status()
        .expect("run tests/browser/install.sh");
    assert!(install.success(), "tests/browser/install.sh failed");

    let binary = PathBuf::from(env!("CARGO_BIN_EXE_switchboard"));
    let screenshots = screenshot_dir(&binary);
    // One file at a time (--test-concurrency=1): two browsers at once are too much for a
    // loaded two-core CI machine.
    let status = Command::new("node")
        .args(["--test", "--test-concurrency=1", "--test-reporter=spec"])
        .arg(browser_tests.join("dashboard.test.mjs"))
        .arg(browser_tests.join("firefox.test.mjs"))
        .current_dir(&browser_tests)
        .env("SWITCHBOARD_BIN", &binary)
        .env("SCREENSHOT_DIR", &screenshots)
        .status()
        .expect("run node (Node.js 20 or later is needed)");
    assert!(
        status.success(),
        "the browser tests failed (their output is above)"
    );
    println!("screenshots in {}", screenshots.display());
}
