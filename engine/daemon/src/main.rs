//! `switchboard`: the Switchboard daemon and its command-line tool.
//!
//! # Layout
//! - `main.rs`: argument parsing and dispatch; exit codes.
//! - [`validate`]: `switchboard validate <file|dir>...`, the workflow checker.
//! - [`simulate`]: `switchboard simulate`, a dry run of a campaign on a virtual clock.
//! - [`import`]: `switchboard import`, a recipient file into a campaign's new list.
//! - [`client`]: `switchboard campaign ...`, the client of a running daemon.
//! - [`demo`]: `switchboard demo`, a real campaign end to end in under a minute.
//! - [`server`]: `switchboard run`, the daemon (HTTP API, webhooks, live events, reload).

mod client;
mod demo;
mod import;
mod server;
mod simulate;
mod suppression_cli;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Switchboard: SMS campaigns and conversation workflows.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check workflow files (or directories of them) and report every problem found.
    ///
    /// Exit status: 0 when all are valid, 1 when any is invalid, 2 on a usage error.
    Validate {
        /// Workflow files or directories (their *.yaml / *.yml files).
        #[arg(required = true)]
        paths: Vec<std::path::PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Dry-run a campaign on a virtual clock: when each recipient would get each message
    /// (UTC and their local time), or why they would not.
    Simulate {
        /// The campaign workflow file.
        workflow: std::path::PathBuf,
        /// CSV of recipients (header row; a phone column; any other columns are fields).
        #[arg(long)]
        recipients: std::path::PathBuf,
        /// Start instant (RFC 3339); default: now.
        #[arg(long)]
        from: Option<chrono::DateTime<chrono::Utc>>,
        /// CSV of scripted replies: phone,at,text (`at` an RFC 3339 instant or a duration after --from).
        #[arg(long)]
        replies: Option<std::path::PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = simulate::SimulateFormat::Text)]
        format: simulate::SimulateFormat,
    },
    /// Import a recipient file (CSV or JSON lines) as a new list of a campaign: numbers
    /// normalised to E.164, timezones resolved, duplicates and invalid rows reported. The list
    /// lands whole or not at all.
    ///
    /// Exit status: 0 when the list was imported (rows may have been rejected: see the
    /// summary and --errors), 1 when the file was refused and nothing was imported, 2 on a
    /// usage error.
    Import(Box<import::ImportArgs>),
    /// Print the JSON Schema of workflow files (what editors use for completion).
    Schema,
    /// Run the daemon: the HTTP API, provider webhooks and live events, the campaigns, the
    /// watched workflow directory. With no config file it runs on embedded defaults: the store
    /// in ./data, workflows from ./workflows, the mock provider, on 127.0.0.1:8080.
    Run(RunArgs),
    /// Run a demo campaign end to end in under a minute: the daemon on a temporary data
    /// directory, the mock provider, a sample list of a few hundred patients in eight
    /// countries, an accelerated clock; prints progress, statistics and the import's errors.
    Demo(demo::DemoArgs),
    /// Operate the campaigns of a running daemon over its API: list, create, upload a list,
    /// start, pause, resume, stop, stats.
    Campaign {
        #[command(flatten)]
        server: client::ServerArgs,
        #[command(subcommand)]
        command: client::CampaignCommand,
    },
    /// The suppression list of a running daemon: export, import a CSV, add, remove, a
    /// number's consent history.
    Suppression {
        #[command(flatten)]
        server: client::ServerArgs,
        #[command(subcommand)]
        command: suppression_cli::SuppressionCommand,
    },
    /// Print the `sha256:` form of an API token, for `[api] tokens` in switchboard.toml.
    TokenHash {
        /// The token (read from standard input when absent, so it stays out of the shell history).
        token: Option<String>,
    },
}

/// `switchboard run` options; each overrides the config file.
#[derive(Debug, clap::Args)]
struct RunArgs {
    /// The config file (default: ./switchboard.toml when it exists, else embedded defaults).
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    /// Listen address, e.g. 127.0.0.1:8080 (port 0 picks a free port).
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    /// The data directory (the store).
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
    /// The workflow directory.
    #[arg(long)]
    workflow_dir: Option<std::path::PathBuf>,
}

fn run_daemon(args: RunArgs) -> anyhow::Result<()> {
    let path = args.config.clone().or_else(|| {
        let default = std::path::PathBuf::from("switchboard.toml");
        default.exists().then_some(default)
    });
    let mut config =
        switchboard_config::Config::load(path.as_deref(), |name| std::env::var(name).ok())?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(dir) = args.data_dir {
        config.data_dir = dir;
    }
    if let Some(dir) = args.workflow_dir {
        config.workflow_dir = dir;
    }
    if config.api.tokens.is_empty() && !config.listen.ip().is_loopback() {
        anyhow::bail!(
            "refusing to serve an API without tokens on {}: set [api] tokens in the config, or \
             listen on a loopback address",
            config.listen
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("switchboard-http")
        .build()?;
    runtime.block_on(server::run(config))
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    /// For people.
    Text,
    /// For scripts and CI.
    Json,
}

/// Exit status of a usage error (bad arguments, missing path), as clap uses too.
const EXIT_USAGE: u8 = 2;

/// Success, or the error on standard error and exit status 1.
fn exit_code(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("switchboard: {error:#}");
            ExitCode::from(1)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { paths, format } => match validate::run(&paths, format) {
            Ok(outcome) => outcome.exit_code(),
            Err(error) => {
                eprintln!("switchboard: {error:#}");
                ExitCode::from(EXIT_USAGE)
            }
        },
        Command::Simulate {
            workflow,
            recipients,
            from,
            replies,
            format,
        } => exit_code(simulate::run(
            &workflow,
            &recipients,
            from,
            replies.as_deref(),
            format,
        )),
        Command::Import(args) => match import::run(&args) {
            Ok(import::ImportOutcome::Imported) => ExitCode::SUCCESS,
            Ok(import::ImportOutcome::Refused) => ExitCode::from(1),
            Ok(import::ImportOutcome::Usage) => ExitCode::from(EXIT_USAGE),
            Err(error) => {
                eprintln!("switchboard: {error:#}");
                ExitCode::from(1)
            }
        },
        Command::Run(args) => exit_code(run_daemon(args)),
        Command::Demo(args) => exit_code(demo::run(&args)),
        Command::Campaign { server, command } => exit_code(client::run(&server, &command)),
        Command::Suppression { server, command } => {
            exit_code(suppression_cli::run(&server, &command))
        }
        Command::TokenHash { token } => {
            let token = match token {
                Some(token) => token,
                None => {
                    let mut line = String::new();
                    if std::io::stdin().read_line(&mut line).is_err() {
                        eprintln!("switchboard: cannot read the token from standard input");
                        return ExitCode::from(EXIT_USAGE);
                    }
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            if token.is_empty() {
                eprintln!("switchboard: the token is empty");
                return ExitCode::from(EXIT_USAGE);
            }
            println!("{}", switchboard_config::hash_token(&token));
            ExitCode::SUCCESS
        }
        Command::Schema => {
            print!("{}", switchboard_model::schema::WORKFLOW_SCHEMA);
            ExitCode::SUCCESS
        }
    }
}
