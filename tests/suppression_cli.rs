//! End-to-end test of `switchboard suppression ...` against a running daemon: add numbers,
//! import a CSV with a bad row, export as JSON and CSV, show a number's consent history, take
//! it off the list; errors from the API come back as a failing exit with its message.

mod daemon_support;

use std::process::{Command, Output};

use daemon_support::{Config, Daemon, Site};

const TOKEN: &str = "cli-token-52d1";

fn cli(daemon: &Daemon, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("suppression")
        .args(["--server", &format!("http://{}", daemon.addr)])
        .args(["--token", TOKEN])
        .args(args)
        .output()
        .expect("run switchboard suppression")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_suppression_list_is_managed_from_the_command_line() {
    let site = Site::new("suppression-cli", TOKEN);
    let daemon = site.start(&Config::new());

    let added = stdout(&cli(
        &daemon,
        &[
            "add",
            "+14165550101",
            "+14165550102",
            "--who",
            "ops@example.com",
            "--detail",
            "asked by phone",
        ],
    ));
    assert!(
        added.contains("2 changed, 0 already so, 0 rejected"),
        "{added}"
    );

    let csv = site.dir.join("optouts.csv");
    std::fs::write(
        &csv,
        "phone,detail\n+14165550102,again\nnot a number,x\n(416) 555-0103,paper form\n",
    )
    .expect("csv");
    let imported = stdout(&cli(
        &daemon,
        &["import", csv.to_str().expect("path"), "--who", "import-job"],
    ));
    assert!(
        imported.contains("1 changed, 1 already so, 1 rejected"),
        "{imported}"
    );
    assert!(imported.contains("line 3: \"not a number\""), "{imported}");

    let exported = stdout(&cli(&daemon, &["export", "--csv"]));
    let lines: Vec<&str> = exported.lines().collect();
    assert_eq!(lines.first(), Some(&"phone,at,how,who,detail"));
    assert_eq!(lines.len(), 4, "{exported}");
    assert!(exported.contains("+14165550103"), "{exported}");
    assert!(
        exported.contains(",import,import-job,paper form"),
        "{exported}"
    );

    let json_file = site.dir.join("list.json");
    stdout(&cli(
        &daemon,
        &["export", "--output", json_file.to_str().expect("path")],
    ));
    let list: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json_file).expect("written")).expect("json");
    assert_eq!(list["suppressions"].as_array().map(Vec::len), Some(3));

    let removed = stdout(&cli(
        &daemon,
        &["remove", "+14165550101", "--who", "ops@example.com"],
    ));
    assert!(removed.contains("1 changed"), "{removed}");
    let history = stdout(&cli(&daemon, &["history", "+14165550101"]));
    assert!(
        history.starts_with("+14165550101: not suppressed"),
        "{history}"
    );
    assert!(history.contains("opt-out  by api"), "{history}");
    assert!(history.contains("opt-in   by api"), "{history}");

    // The API's refusal comes back as a failing exit with its message.
    let again = cli(&daemon, &["remove", "+14165550101", "--who", "ops"]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("not on the suppression list"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}
