//! `switchboard suppression ...`: the suppression list of a running daemon, over its API —
//! export it (JSON or CSV, to a file or standard output), import a CSV of numbers, add or
//! remove numbers, and show one number's consent history. Every change names who makes it
//! (`--who`), kept in the consent log.

use std::path::PathBuf;

use anyhow::Context;
use serde_json::Value;

use crate::client::{Client, ServerArgs};

/// `switchboard suppression <command>`.
#[derive(Debug, clap::Subcommand)]
pub enum SuppressionCommand {
    /// Export the suppression list.
    Export {
        /// CSV instead of JSON.
        #[arg(long)]
        csv: bool,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Import a CSV with a `phone` column (and an optional `detail`): each number is
    /// suppressed for every campaign.
    Import {
        /// The CSV file.
        file: PathBuf,
        /// Who imports (kept in the consent log).
        #[arg(long)]
        who: String,
    },
    /// Suppress numbers.
    Add {
        /// The numbers (E.164).
        #[arg(required = true)]
        phones: Vec<String>,
        /// Who asks (kept in the consent log).
        #[arg(long)]
        who: String,
        /// Why.
        #[arg(long)]
        detail: Option<String>,
    },
    /// Take a number off the list (the contact opted back in another way).
    Remove {
        /// The number (E.164).
        phone: String,
        /// Who takes it off (kept in the consent log).
        #[arg(long)]
        who: String,
    },
    /// A number's opt-ins and opt-outs.
    History {
        /// The number (E.164).
        phone: String,
    },
}

/// Runs one suppression command.
pub fn run(server: &ServerArgs, command: &SuppressionCommand) -> anyhow::Result<()> {
    crate::client::block_on(execute(server, command))
}

async fn execute(server: &ServerArgs, command: &SuppressionCommand) -> anyhow::Result<()> {
    let client = Client::new(&server.server, server.token.clone());
    let answer = match command {
        SuppressionCommand::Export { csv, output } => {
            let format = if *csv { "csv" } else { "json" };
            let request = client.get("/v1/suppressions").query(&[("format", format)]);
            let text = client.send_text(request).await?;
            match output {
                Some(path) => std::fs::write(path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => print!("{text}"),
            }
            return Ok(());
        }
        SuppressionCommand::Import { file, who } => {
            let bytes =
                std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            let request = client
                .post("/v1/suppressions/import")
                .query(&[("who", who.as_str())])
                .header("content-type", "text/csv")
                .body(bytes);
            client.send(request).await?
        }
        SuppressionCommand::Add {
            phones,
            who,
            detail,
        } => {
            let body = serde_json::json!({ "phones": phones, "who": who, "detail": detail });
            client
                .send(client.post("/v1/suppressions").json(&body))
                .await?
        }
        SuppressionCommand::Remove { phone, who } => {
            let request = client
                .delete(&format!("/v1/suppressions/{}", encode_path(phone)))
                .query(&[("who", who.as_str())]);
            client.send(request).await?
        }
        SuppressionCommand::History { phone } => {
            client
                .send(client.get(&format!("/v1/suppressions/{}", encode_path(phone))))
                .await?
        }
    };
    if server.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else {
        print_summary(command, &answer);
    }
    Ok(())
}

/// A phone number as one path segment.
fn encode_path(phone: &str) -> String {
    // Every byte but the unreserved ones (RFC 3986), so `+`, `#`, `?` or `/` in what was typed
    // stay inside the one path segment.
    phone
        .trim()
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn print_summary(command: &SuppressionCommand, answer: &Value) {
    match command {
        SuppressionCommand::History { .. } => {
            println!(
                "{}: {}",
                answer["phone"].as_str().unwrap_or_default(),
                if answer["opted_out"].as_bool() == Some(true) {
                    "opted out"
                } else {
                    "not suppressed"
                }
            );
            for record in answer["history"].as_array().into_iter().flatten() {
                println!(
                    "  {}  {:<8} by {:<8} {} {}",
                    record["at"].as_str().unwrap_or_default(),
                    if record["opted_out"].as_bool() == Some(true) {
                        "opt-out"
                    } else {
                        "opt-in"
                    },
                    record["how"].as_str().unwrap_or_default(),
                    record["who"].as_str().unwrap_or_default(),
                    record["detail"].as_str().unwrap_or_default()
                );
            }
        }
        _ => {
            println!(
                "{} changed, {} already so, {} rejected",
                answer["changed"],
                answer["unchanged"],
                answer["rejected"].as_array().map_or(0, Vec::len)
            );
            for rejected in answer["rejected"].as_array().into_iter().flatten() {
                println!(
                    "  line {}: {:?}: {}",
                    rejected["line"],
                    rejected["value"].as_str().unwrap_or_default(),
                    rejected["error"].as_str().unwrap_or_default()
                );
            }
        }
    }
}
