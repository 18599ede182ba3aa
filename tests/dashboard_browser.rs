//! The dashboard in a real browser: runs `tests/browser/` (node's test runner, playwright-core
//! driving Debian's headless Chromium) against the `switchboard` binary cargo built for this
//! run. `tests/browser/install.sh` installs Chromium and playwright-core first when they are
//! missing (CI runs it up front). Screenshots of the main pages are written to
//! `<target>/dashboard-screenshots/`.
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
fn the_dashboard_works_in_headless_chromium() {
    let browser_tests = repository().join("tests/browser");
    let install = Command::new("bash")
        .arg(browser_tests.join("install.sh"))
        .status()
        .expect("run tests/browser/install.sh");
    assert!(install.success(), "tests/browser/install.sh failed");

    let binary = PathBuf::from(env!("CARGO_BIN_EXE_switchboard"));
    let screenshots = screenshot_dir(&binary);
    let status = Command::new("node")
        .args(["--test", "--test-concurrency=1", "--test-reporter=spec"])
        .arg(browser_tests.join("dashboard.test.mjs"))
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
