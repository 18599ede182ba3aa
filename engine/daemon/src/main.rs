//! `switchboard`: the Switchboard daemon and its command-line tool.
//!
//! # Layout
//! - `main.rs`: argument parsing and dispatch; exit codes.
//! - [`validate`]: `switchboard validate <file|dir>...`, the workflow checker.

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
    /// Print the JSON Schema of workflow files (what editors use for completion).
    Schema,
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
        Command::Schema => {
            print!("{}", switchboard_model::schema::WORKFLOW_SCHEMA);
            ExitCode::SUCCESS
        }
    }
}
