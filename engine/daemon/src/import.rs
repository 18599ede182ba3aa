//! `switchboard import <campaign> <file>`: imports a recipient file as a new list of a
//! campaign in the data directory (creating the campaign as a draft from `--workflow` when
//! it does not exist yet), shows progress on a terminal, prints the summary and writes the
//! error log. The list lands whole or not at all.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use switchboard_import::{HeaderOverrides, ImportLimits, ImportSummary, Region};
use switchboard_list_import::{
    ErrorLogFormat, FileFormat, FileImportError, ListFile, Progress, bundled_importer, import_file,
    write_error_log,
};
use switchboard_model::timezone::Timezone;
use switchboard_plugin_host::{Limits, PluginHost};
use switchboard_runtime::lists::NewList;
use switchboard_runtime::provider::NoProvider;
use switchboard_runtime::records::{CampaignId, ListRecord};
use switchboard_runtime::store::Store;
use switchboard_runtime::{Runtime, RuntimeConfig, SystemClock};

use crate::OutputFormat;

/// What `switchboard import` was asked to do.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The campaign: its id, or its name.
    pub campaign: String,
    /// The recipient file: CSV (any of , ; tab |, with a header row) or JSON lines
    /// (.jsonl / .ndjson).
    pub file: PathBuf,
    /// The data directory (the daemon's store; the same default as `switchboard run`).
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// Create the campaign as a draft from this workflow file if no campaign has that name.
    #[arg(long)]
    pub workflow: Option<PathBuf>,
    /// The list's name (default: the file's name without its extension).
    #[arg(long)]
    pub list: Option<String>,
    /// Region of numbers written without a country code (ISO 3166 code, e.g. CA).
    #[arg(long, default_value = "US")]
    pub region: String,
    /// Timezone of recipients whose row names none (IANA name, e.g. America/Toronto).
    #[arg(long)]
    pub timezone: Option<String>,
    /// Do not infer a missing timezone from the number's region (when it has only one zone).
    #[arg(long)]
    pub no_infer_timezone: bool,
    /// Outreach to this list starts no earlier than this instant (RFC 3339).
    #[arg(long)]
    pub start: Option<DateTime<Utc>>,
    /// Outreach to this list ends at this instant (RFC 3339): recipients not reached expire.
    #[arg(long)]
    pub end: Option<DateTime<Utc>>,
    /// Use this column for a role, e.g. `phone=Mobile` (roles: phone, name, last_name,
    /// company, timezone). Repeatable.
    #[arg(long = "map", value_name = "ROLE=COLUMN")]
    pub map: Vec<String>,
    /// Write the error log here (.json for JSON, else CSV).
    #[arg(long)]
    pub errors: Option<PathBuf>,
    /// The file's format (default: from its extension).
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// CSV delimiter: , ; tab | (default: detected from the header row).
    #[arg(long)]
    pub delimiter: Option<String>,
    /// Most rows a list may have.
    #[arg(long, default_value_t = ImportLimits::default().max_rows)]
    pub max_rows: u64,
    /// Largest file, in megabytes.
    #[arg(long, default_value_t = ImportLimits::default().max_file_bytes / (1024 * 1024))]
    pub max_file_mb: u64,
    /// How the summary is printed.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// A file format, as given on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// Delimited text with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// How an import ended (the reason for a refusal or a usage error is printed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportOutcome {
    /// The list landed.
    Imported,
    /// The file was refused: nothing was imported.
    Refused,
    /// An option is invalid.
    Usage,
}

/// Runs the import.
pub fn run(args: &ImportArgs) -> anyhow::Result<ImportOutcome> {
    let list = match new_list(args) {
        Ok(list) => list,
        Err(error) => {
            eprintln!("switchboard: {error:#}");
            return Ok(ImportOutcome::Usage);
        }
    };
    let file =
        File::open(&args.file).with_context(|| format!("cannot open {}", args.file.display()))?;
    let total_bytes = file.metadata().ok().map(|m| m.len());
    let format = match args.format {
        Some(FormatArg::Csv) => FileFormat::Csv,
        Some(FormatArg::Jsonl) => FileFormat::JsonLines,
        None => FileFormat::of_path(&args.file),
    };
    let options: Vec<(String, String)> = args
        .delimiter
        .iter()
        .map(|d| ("delimiter".to_string(), d.clone()))
        .collect();

    switchboard_import::warm_up();
    let store = Store::open_waiting(&args.data_dir, Duration::from_secs(2))
        .with_context(|| format!("cannot open the data directory {}", args.data_dir.display()))?;
    let config = RuntimeConfig {
        // Interrupted sends wait for the daemon, whose provider can look them up.
        reconcile_on_open: false,
        ..RuntimeConfig::default()
    };
    let mut runtime = Runtime::open(store, Arc::new(SystemClock), Arc::new(NoProvider), config)?;
    let (campaign, created) = find_or_create_campaign(&mut runtime, args)?;
    let host = PluginHost::new(Limits::default())?;
    let importer = bundled_importer(&host, format)?;

    let mut bar = ProgressBar::new(std::io::stderr().is_terminal());
    let outcome = import_file(
        &mut runtime,
        campaign,
        list,
        ListFile {
            importer: &importer,
            options: &options,
            input: std::io::BufReader::with_capacity(256 * 1024, file),
            total_bytes,
        },
        &mut |progress| bar.show(progress),
    );
    bar.finish();
    if outcome.is_err() && created {
        // Nothing was imported: the draft made for the list goes too.
        runtime.delete(campaign)?;
    }
    let list = match outcome {
        Ok(list) => list,
        Err(FileImportError::Runtime(error)) if is_refusal(&error) => {
            eprintln!("switchboard: {}: {error}", args.file.display());
            return Ok(ImportOutcome::Refused);
        }
        Err(FileImportError::Runtime(error)) => return Err(error.into()),
        Err(error) => {
            eprintln!("switchboard: {}: {error}", args.file.display());
            return Ok(ImportOutcome::Refused);
        }
    };

    let logged = match &args.errors {
        Some(path) => Some(write_log(runtime.store(), campaign, &list, path)?),
        None => None,
    };
    print_summary(args, campaign, &list, logged)?;
    Ok(ImportOutcome::Imported)
}

/// Whether a runtime error refuses the list (the operator's to fix) rather than failing:
/// every list import error but the store's.
fn is_refusal(error: &switchboard_runtime::RuntimeError) -> bool {
    use switchboard_runtime::lists::ListImportError;
    matches!(
        error,
        switchboard_runtime::RuntimeError::List(list) if !matches!(list, ListImportError::Store(_))
    )
}

fn new_list(args: &ImportArgs) -> anyhow::Result<NewList> {
    let region: Region = args
        .region
        .parse()
        .with_context(|| format!("--region {:?}", args.region))?;
    let name = match &args.list {
        Some(name) => name.clone(),
        None => args
            .file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("list")
            .to_string(),
    };
    let source = args
        .file
        .file_name()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    let mut list = NewList::new(name, source, region);
    list.timezone = match &args.timezone {
        Some(name) => Some(
            name.parse::<Timezone>()
                .with_context(|| format!("--timezone {name:?}"))?,
        ),
        None => None,
    };
    list.infer_timezone = !args.no_infer_timezone;
    list.start = args.start;
    list.end = args.end;
    list.overrides =
        HeaderOverrides::parse(args.map.iter().map(String::as_str)).context("--map")?;
    list.limits = ImportLimits {
        max_rows: args.max_rows,
        max_file_bytes: args.max_file_mb.saturating_mul(1024 * 1024),
        ..ImportLimits::default()
    };
    Ok(list)
}

/// The campaign named (or numbered) `args.campaign`, created from `--workflow` if missing
/// (then `true`).
fn find_or_create_campaign(
    runtime: &mut Runtime,
    args: &ImportArgs,
) -> anyhow::Result<(CampaignId, bool)> {
    let campaigns = runtime.store().campaigns()?;
    if let Ok(id) = args.campaign.parse::<CampaignId>()
        && campaigns.iter().any(|c| c.id == id)
    {
        return Ok((id, false));
    }
    let named: Vec<CampaignId> = campaigns
        .iter()
        .filter(|c| c.name == args.campaign)
        .map(|c| c.id)
        .collect();
    match (named.as_slice(), &args.workflow) {
        ([id], _) => Ok((*id, false)),
        ([], Some(workflow)) => {
            let source = std::fs::read_to_string(workflow)
                .with_context(|| format!("cannot read {}", workflow.display()))?;
            let id = runtime
                .create_campaign(&args.campaign, &source, Vec::new())
                .with_context(|| format!("{}", workflow.display()))?;
            Ok((id, true))
        }
        ([], None) => bail!(
            "no campaign {:?} in {} (give --workflow FILE to create it as a draft)",
            args.campaign,
            args.data_dir.display()
        ),
        (many, _) => bail!(
            "{} campaigns are named {:?} (ids {}): give the id instead",
            many.len(),
            args.campaign,
            many.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn write_log(
    store: &Store,
    campaign: CampaignId,
    list: &ListRecord,
    path: &Path,
) -> anyhow::Result<u64> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let written = write_error_log(
        store,
        campaign,
        list.id,
        ErrorLogFormat::of_path(path),
        BufWriter::new(file),
    )
    .with_context(|| format!("writing {}", path.display()))?;
    Ok(written)
}

fn print_summary(
    args: &ImportArgs,
    campaign: CampaignId,
    list: &ListRecord,
    logged: Option<u64>,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let summary: &ImportSummary = &list.summary;
    match args.output {
        OutputFormat::Json => {
            let report = serde_json::json!({
                "campaign": campaign,
                "list": { "id": list.id, "name": list.name, "source": list.source },
                "summary": summary,
                "error_log": args.errors.as_ref().map(|p| p.display().to_string()),
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
        }
        OutputFormat::Text => {
            writeln!(
                out,
                "list {:?} (id {}) imported into campaign {:?} (id {campaign})",
                list.name, list.id, args.campaign
            )?;
            writeln!(out, "  rows read   {:>9}", summary.rows_read)?;
            writeln!(
                out,
                "  imported    {:>9}   ({} landline, {} opted out)",
                summary.imported, summary.landlines, summary.opted_out
            )?;
            writeln!(out, "  rejected    {:>9}", summary.rejected)?;
            for (reason, count) in &summary.rejected_by_reason {
                writeln!(out, "    {reason:<22}{count:>7}")?;
            }
            writeln!(out, "  duplicates  {:>9}", summary.duplicates)?;
            match (&args.errors, logged) {
                (Some(path), Some(entries)) => {
                    writeln!(out, "error log: {} ({entries} entries)", path.display())?;
                }
                _ if summary.rejected + summary.duplicates > 0 => writeln!(
                    out,
                    "give --errors FILE.csv (or .json) to get the rejected rows with their reasons"
                )?,
                _ => {}
            }
        }
    }
    Ok(())
}

/// A one-line progress bar on standard error, redrawn at most ten times a second; nothing
/// when standard error is not a terminal.
struct ProgressBar {
    enabled: bool,
    last: Option<Instant>,
    drawn: bool,
}

impl ProgressBar {
    fn new(enabled: bool) -> Self {
        Self {
            enabled,
            last: None,
            drawn: false,
        }
    }

    fn show(&mut self, progress: Progress) {
        if !self.enabled
            || self
                .last
                .is_some_and(|at| at.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(Instant::now());
        self.drawn = true;
        eprint!("\r{}", render(progress));
    }

    fn finish(&mut self) {
        if self.drawn {
            eprintln!();
        }
    }
}

/// `[#########...........]  45%  12.3 / 27.0 MB  120034 rows`
fn render(progress: Progress) -> String {
    const WIDTH: u64 = 30;
    let mb = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    match progress.total_bytes.filter(|total| *total > 0) {
        Some(total) => {
            let done = progress.bytes.min(total);
            let filled = (done * WIDTH / total) as usize;
            format!(
                "[{}{}] {:>3}%  {:.1} / {:.1} MB  {} rows",
                "#".repeat(filled),
                ".".repeat(WIDTH as usize - filled),
                done * 100 / total,
                mb(done),
                mb(total),
                progress.rows
            )
        }
        None => format!("{:.1} MB  {} rows", mb(progress.bytes), progress.rows),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_shows_the_share_read_and_the_rows() {
        let line = render(Progress {
            bytes: 512 * 1024,
            total_bytes: Some(1024 * 1024),
            rows: 1234,
        });
        assert_eq!(
            line,
            "[###############...............]  50%  0.5 / 1.0 MB  1234 rows"
        );
        let unknown = render(Progress {
            bytes: 3 * 1024 * 1024,
            total_bytes: None,
            rows: 7,
        });
        assert_eq!(unknown, "3.0 MB  7 rows");
    }
}
