//! `switchboard demo`: the whole product in under a minute on a fresh checkout. It starts the
//! daemon in-process on a temporary data directory with the bundled mock provider (which
//! plays the carrier: delivery receipts and some patients' replies come back through the
//! signed webhook), loads the demo workflow, uploads the bundled sample list (a few hundred
//! patients in eight countries, some bad rows), starts the campaign on a clock running
//! thousands of times faster than real time, shows its progress, and prints the statistics
//! and the import's error log. Everything goes through the HTTP API, as a client would.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;
use switchboard_config::{Config, ProviderConfig, Settings};
use switchboard_runtime::{Clock, ScaledClock};

use crate::client::Client;
use crate::server::driver::DriverOptions;
use crate::server::{self, RunOptions};

/// The demo workflow.
const WORKFLOW: &str = include_str!("../../../workflows/demo-appointment-reminders.yaml");
/// Its id.
const WORKFLOW_ID: &str = "demo-appointment-reminders";
/// The sample list.
const RECIPIENTS: &str = include_str!("../demo/recipients.csv");

/// Clock seconds per real second.
const SPEED: f64 = 2_400.0;
/// The demo gives up after this long.
const DEADLINE: Duration = Duration::from_secs(55);

/// What `switchboard demo` was asked.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Keep the data directory (and print where it is) instead of removing it.
    #[arg(long)]
    pub keep: bool,
    /// After the campaign, keep the daemon up and print the dashboard's address, until Ctrl-C.
    #[arg(long)]
    pub serve: bool,
}

/// Runs the demo.
pub fn run(args: &DemoArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(demo(args))
}

async fn demo(args: &DemoArgs) -> anyhow::Result<()> {
    let root = std::env::temp_dir().join(format!("switchboard-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let workflows = root.join("workflows");
    std::fs::create_dir_all(&workflows)?;
    std::fs::write(workflows.join("demo-appointment-reminders.yaml"), WORKFLOW)?;
    let outcome = drive(&root, args.serve).await;
    if args.keep {
        println!("data kept in {}", root.display());
    } else {
        let _ = std::fs::remove_dir_all(&root);
    }
    outcome
}

async fn drive(root: &std::path::Path, serve: bool) -> anyhow::Result<()> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").context("cannot listen on loopback")?;
    let addr = listener.local_addr()?;
    let token = format!("demo-{:x}", std::process::id() as u64 * 0x9E37_79B9);
    let mut config = Config::default_embedded();
    config.data_dir = root.join("data");
    config.workflow_dir = root.join("workflows");
    config.plugin_dir = root.join("plugins");
    config.listen = addr;
    let mut mock = ProviderConfig::mock();
    mock.settings = Settings::from_values([
        ("seed", "switchboard-demo".to_string()),
        ("failure-rate", "0.02".into()),
        ("delivery-failure-rate", "0.04".into()),
        ("reply-rate", "0.45".into()),
        ("reply-text", "yes".into()),
        ("callback-url", format!("http://{addr}/webhooks/mock")),
        ("webhook-token", token),
    ]);
    mock.allow_hosts.push("127.0.0.1:*".into());
    mock.price_per_segment = Some(0.0079);
    config.providers = BTreeMap::from([("mock".to_string(), mock)]);

    let clock = ScaledClock::new(chrono::Utc::now(), SPEED);
    println!("Switchboard demo: a campaign on a clock running {SPEED} times faster than real time");
    let running = server::start(
        &config,
        RunOptions {
            clock: Arc::new(clock.clone()),
            driver: DriverOptions {
                max_idle: Duration::from_millis(20),
                time_scale: 1.0 / SPEED,
            },
            listener: Some(listener),
            quiet: true,
        },
    )
    .await?;
    let outcome = campaign(&Client::new(&format!("http://{addr}"), None), &clock).await;
    if serve && outcome.is_ok() {
        println!(
            "\nThe dashboard is at http://{addr}/ (this demo's API is open on loopback: any \
             token logs in). Ctrl-C stops the daemon."
        );
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
    }
    running.stop().await?;
    outcome
}

async fn campaign(client: &Client, clock: &ScaledClock) -> anyhow::Result<()> {
    let body = serde_json::json!({ "name": "Appointment reminders", "workflow": WORKFLOW_ID });
    let created = client
        .send(client.post("/v1/campaigns").json(&body))
        .await?;
    let id = created["id"]
        .as_u64()
        .context("the API answered no campaign id")?;
    println!(
        "\n1. Created campaign {id} from workflow {WORKFLOW_ID} (version {})",
        created["workflow"]["version"]
    );

    let upload = client
        .post(&format!("/v1/campaigns/{id}/lists"))
        .query(&[("filename", "patients.csv"), ("region", "US")])
        .header("content-type", "text/csv")
        .body(RECIPIENTS);
    let list = client.send(upload).await?;
    let summary = &list["summary"];
    println!(
        "2. Imported patients.csv: {} rows read, {} imported, {} rejected, {} duplicates",
        summary["rows_read"], summary["imported"], summary["rejected"], summary["duplicates"]
    );

    client.action(id, "start").await?;
    println!("3. Started; sending inside 09:00-20:00 of each patient's own timezone\n");

    let started = Instant::now();
    let interactive = std::io::stdout().is_terminal();
    let mut last_line = String::new();
    let state = loop {
        let campaign = client
            .send(client.get(&format!("/v1/campaigns/{id}")))
            .await?;
        let line = progress_line(&campaign, clock);
        if interactive {
            print!("\r{line:<110}");
            std::io::stdout().flush()?;
        } else if line != last_line && started.elapsed().as_millis() % 2_000 < 250 {
            println!("{line}");
        }
        last_line = line;
        let state = campaign["state"].as_str().unwrap_or_default().to_string();
        if state == "completed" || started.elapsed() > DEADLINE {
            break state;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    if interactive {
        println!();
    }
    println!("{last_line}");
    if state != "completed" {
        bail!(
            "the demo campaign did not complete within {} s",
            DEADLINE.as_secs()
        );
    }

    let stats = client
        .send(client.get(&format!("/v1/campaigns/{id}/stats")))
        .await?;
    println!(
        "\n4. Completed in {:.1} s of real time. Statistics:",
        started.elapsed().as_secs_f64()
    );
    println!(
        "   recipients {}  messages sent {}  delivered {}  failed {}  replied {} ({:.0} %)  segments {}  est. cost ${}",
        stats["total"],
        stats["sent"],
        stats["delivered"],
        stats["failed"],
        stats["responded"],
        stats["response_rate"].as_f64().unwrap_or(0.0) * 100.0,
        stats["segments"],
        stats["estimated_cost"]
    );
    if let Some(steps) = stats["steps"].as_object() {
        for (step, figures) in steps {
            println!(
                "   {step:<14} sent {:>4}  delivered {:>4}  failed {:>3}",
                figures["sent"], figures["delivered"], figures["failed"]
            );
        }
    }
    let failed = client
        .send(
            client
                .get(&format!("/v1/campaigns/{id}/recipients"))
                .query(&[("status", "failed"), ("limit", "1000")]),
        )
        .await?;
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    for recipient in failed["recipients"].as_array().into_iter().flatten() {
        let reason = &recipient["reason"];
        let key = format!(
            "{}: {}",
            reason["code"].as_str().unwrap_or("?"),
            reason["message"].as_str().unwrap_or_default()
        );
        *reasons.entry(key).or_default() += 1;
    }
    if !reasons.is_empty() {
        println!("   failures by reason:");
        for (reason, count) in &reasons {
            println!("   {count:>5}  {reason}");
        }
    }
    let list_id = list["id"].as_u64().unwrap_or_default();
    let errors = client
        .send(
            client
                .get(&format!("/v1/campaigns/{id}/lists/{list_id}/errors"))
                .query(&[("format", "json")]),
        )
        .await?;
    let entries = errors.as_array().cloned().unwrap_or_default();
    println!("\n5. Import error log ({} entries):", entries.len());
    for entry in entries.iter().take(10) {
        println!(
            "   line {:>3}  {:<22} {}",
            entry["line"],
            entry["value"].as_str().unwrap_or_default(),
            entry["message"].as_str().unwrap_or_default()
        );
    }
    println!("\nThe same API drives a real deployment: `switchboard run`, then see README.md.");
    Ok(())
}

fn progress_line(campaign: &Value, clock: &ScaledClock) -> String {
    let total = campaign["recipients"].as_u64().unwrap_or(0).max(1);
    let counts = campaign["counts"].as_object().cloned().unwrap_or_default();
    let count = |name: &str| counts.get(name).and_then(Value::as_u64).unwrap_or(0);
    let open = count("pending") + count("scheduled") + count("sending");
    let done = total.saturating_sub(open);
    let width = 30;
    let filled = (done * width / total) as usize;
    let bar = format!(
        "{}{}",
        "#".repeat(filled),
        ".".repeat(width as usize - filled)
    );
    format!(
        "[{bar}] {done}/{total}  sent {} delivered {} failed {} waiting {} opted out {}  clock {}",
        count("sent"),
        count("delivered"),
        count("failed"),
        open,
        count("opted_out"),
        clock.now().format("%a %H:%M UTC")
    )
}
