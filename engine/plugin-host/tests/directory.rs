//! User plugins from a directory: loaded, reloaded when changed, kept when the new version is
//! broken, unloaded when removed, and watched for changes.

mod support;

use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use switchboard_plugin_host::directory::PluginDirectory;
use switchboard_plugin_host::{Limits, PluginHost, bundled};

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("switchboard-plugins-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Installs the mock under another name in `root/<dir>`.
fn install(root: &Path, dir: &str, name: &str, description: &str) -> PathBuf {
    let target = root.join(dir);
    std::fs::create_dir_all(&target).expect("plugin dir");
    let manifest = bundled::PROVIDER_MOCK
        .manifest
        .replacen("name = \"mock\"", &format!("name = \"{name}\""), 1)
        .replacen(
            "description = \"",
            &format!("description = \"{description} "),
            1,
        );
    std::fs::write(target.join("plugin.toml"), manifest).expect("manifest");
    std::fs::write(
        target.join("provider_mock.wasm"),
        bundled::PROVIDER_MOCK.component,
    )
    .expect("component");
    target
}

#[test]
fn plugins_load_reload_survive_breakage_and_unload() {
    let host = PluginHost::new(Limits::default()).expect("host");
    let root = scratch("lifecycle");
    let (directory, report) = PluginDirectory::open(&host, &root, ["mock".to_string()]);
    assert!(report.is_empty(), "{report:?}");

    let dir = install(&root, "acme", "acme-sms", "v1");
    let report = directory.scan();
    assert_eq!(report.loaded, vec!["acme-sms".to_string()]);
    let loaded = directory.get("acme-sms").expect("loaded");
    assert_eq!(loaded.compiled.manifest().manifest().version, "0.1.0");
    assert!(
        directory.scan().is_empty(),
        "unchanged files are not reloaded"
    );

    // A broken component: reported with its path, the loaded version keeps serving.
    std::fs::write(dir.join("provider_mock.wasm"), b"\0asm broken").expect("write");
    let report = directory.scan();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let (failed_dir, why) = &report.failed[0];
    assert_eq!(failed_dir, &dir);
    assert!(
        why.contains("acme-sms 0.1.0") && why.contains("stays loaded"),
        "{why}"
    );
    assert_eq!(directory.problems().len(), 1);
    let kept = directory.get("acme-sms").expect("previous version kept");
    assert!(
        kept.compiled
            .manifest()
            .manifest()
            .description
            .starts_with("v1")
    );

    // Fixed, with a changed manifest: reloaded; the problem is gone.
    install(&root, "acme", "acme-sms", "v2");
    let report = directory.scan();
    assert_eq!(report.reloaded, vec!["acme-sms".to_string()], "{report:?}");
    assert!(directory.problems().is_empty());
    assert!(
        directory
            .get("acme-sms")
            .expect("reloaded")
            .compiled
            .manifest()
            .manifest()
            .description
            .starts_with("v2")
    );

    // A broken manifest names the file and the field.
    let bad = root.join("bad");
    std::fs::create_dir_all(&bad).expect("dir");
    std::fs::write(bad.join("plugin.toml"), "name = \"Bad Name\"\n").expect("write");
    let report = directory.scan();
    let why = &report.failed[0].1;
    assert!(
        why.contains("bad/plugin.toml") && why.contains("name"),
        "{why}"
    );

    // A bundled plugin's name, or a name already taken, is refused.
    install(&root, "impostor", "mock", "");
    install(&root, "twin", "acme-sms", "");
    let report = directory.scan();
    let reasons: Vec<&str> = report.failed.iter().map(|(_, why)| why.as_str()).collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("belongs to a bundled plugin")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("already used by")),
        "{reasons:?}"
    );

    // A component that is a symlink (here to a device that never ends) is refused, not read.
    let linked = install(&root, "linked", "linked-sms", "");
    std::fs::remove_file(linked.join("provider_mock.wasm")).expect("remove");
    std::os::unix::fs::symlink("/dev/zero", linked.join("provider_mock.wasm")).expect("symlink");
    let report = directory.scan();
    assert!(
        report
            .failed
            .iter()
            .any(|(dir, why)| dir == &linked && why.contains("not a regular file")),
        "{report:?}"
    );

    std::fs::remove_dir_all(&dir).expect("remove");
    let report = directory.scan();
    assert_eq!(report.removed, vec!["acme-sms".to_string()]);
    assert!(directory.get("acme-sms").is_none());
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_watched_directory_loads_new_plugins_by_itself() {
    let host = PluginHost::new(Limits::default()).expect("host");
    let root = scratch("watch");
    let (directory, _) = PluginDirectory::open(&host, &root, []);
    let directory = Arc::new(directory);
    let (reports, received) = mpsc::channel();
    let watcher = directory
        .watch(move |report| {
            let _ = reports.send(report.clone());
        })
        .expect("watch");
    install(&root, "late", "late-sms", "");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut loaded = false;
    while std::time::Instant::now() < deadline && !loaded {
        if let Ok(report) = received.recv_timeout(Duration::from_millis(200)) {
            loaded = report.loaded.contains(&"late-sms".to_string());
        }
    }
    assert!(loaded, "the watcher loaded the new plugin");
    assert!(directory.get("late-sms").is_some());
    // Scanning reads the files; reads are not changes, so the watcher settles.
    std::thread::sleep(Duration::from_secs(2));
    let settled = directory.scan_count();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(directory.scan_count(), settled, "no scan without a change");
    drop(watcher);
    let _ = std::fs::remove_dir_all(&root);
}
