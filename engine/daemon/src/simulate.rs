//! `switchboard simulate`: a dry run operators use before a real send. The campaign runs on a
//! virtual clock, in a temporary store, against a recording provider; the output lists, per
//! recipient, each message with its send instant (UTC and recipient local) or why it was not
//! sent.
//!
//! [`plan`] is the simulation itself, shared by the command (recipients from a CSV file) and
//! the daemon's schedule preview (`GET /v1/campaigns/{id}/preview`: recipients from the
//! store, the daemon's runtime settings). It never touches a real store or provider.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use serde::Serialize;
use switchboard_import::{HeaderMapping, HeaderOverrides, Role};
use switchboard_model::duration::Duration;
use switchboard_runtime::provider::ScriptedProvider;
use switchboard_runtime::store::Store;
use switchboard_runtime::{ManualClock, Runtime, RuntimeConfig};

/// Output formats of `simulate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SimulateFormat {
    /// For people.
    Text,
    /// One row per planned message (or per recipient with nothing sent).
    Csv,
    /// Everything, structured.
    Json,
}

/// One planned message.
#[derive(Debug, Clone, Serialize)]
pub struct Planned {
    /// The send step's id.
    pub step: String,
    /// The A/B variant chosen.
    pub variant: String,
    /// When it would be handed to the provider.
    pub send_utc: DateTime<Utc>,
    /// The same instant in the recipient's timezone (`2026-12-08 Tue 09:00 EST`).
    pub send_local: String,
    /// SMS segments.
    pub segments: u32,
    /// The rendered text.
    pub body: String,
    /// What the recording provider answered (`sent`).
    pub status: String,
}

/// One recipient's plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Where the recipient came from: its line in the CSV file (the command), its seq in the
    /// campaign (the preview).
    pub row: usize,
    /// The number.
    pub phone: String,
    /// The IANA timezone its local times are in.
    pub timezone: String,
    /// Its status at the end of the simulation.
    pub status: String,
    /// Why it failed or was skipped (`code: message`), or that it was still waiting when the
    /// simulated time ran out.
    pub reason: Option<String>,
    /// What it would be sent, in order.
    pub messages: Vec<Planned>,
}

/// A scripted reply: from `phone`, at an instant, saying `text`.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Who replies.
    pub phone: String,
    /// When.
    pub at: DateTime<Utc>,
    /// What they say.
    pub text: String,
}

/// One recipient to simulate.
#[derive(Debug, Clone)]
pub struct SimRecipient {
    /// Reported back as [`Plan::row`].
    pub row: usize,
    /// The number.
    pub phone: String,
    /// Template fields.
    pub fields: BTreeMap<String, String>,
}

/// What to simulate.
#[derive(Debug)]
pub struct Simulation<'a> {
    /// Names the workflow in errors (a file path, `campaign 7`).
    pub name: &'a str,
    /// The workflow text.
    pub source: &'a str,
    /// Its recipients, in order.
    pub recipients: Vec<SimRecipient>,
    /// When the campaign starts (the virtual clock starts there).
    pub start: DateTime<Utc>,
    /// Replies to deliver on the way, in time order.
    pub replies: Vec<Reply>,
    /// The virtual clock stops here: what is due later is not simulated (runs still waiting
    /// say so). This bounds the work of a workflow with long waits.
    pub until: DateTime<Utc>,
    /// Runtime settings (quiet hours, default timezone, account limits).
    pub config: RuntimeConfig,
}

/// Runs a simulation: every recipient's plan, in recipient order.
pub fn plan(simulation: Simulation<'_>) -> anyhow::Result<Vec<Plan>> {
    let Simulation {
        name,
        source,
        recipients,
        start,
        replies,
        until,
        config,
    } = simulation;
    let report = switchboard_model::load_source(name, source);
    if !report.is_valid() {
        let errors: Vec<String> = report.errors().map(ToString::to_string).collect();
        bail!("{name} is not valid:\n{}", errors.join("\n"));
    }
    let rows: Vec<usize> = recipients.iter().map(|r| r.row).collect();
    let clock = ManualClock::new(start);
    let provider = Arc::new(ScriptedProvider::new());
    let store = Store::temporary().context("creating the simulation's temporary store")?;
    let config = RuntimeConfig {
        reconcile_on_open: false,
        ..config
    };
    let mut runtime = Runtime::open(store, Arc::new(clock.clone()), provider, config)?;
    let id = runtime.create_campaign(
        "simulation",
        source,
        recipients.into_iter().map(|r| (r.phone, r.fields)),
    )?;
    runtime.start(id)?;
    let advance = |at: DateTime<Utc>| clock.set(at);
    for reply in replies.iter().filter(|reply| reply.at <= until) {
        runtime.run_until(reply.at, advance)?;
        clock.set(reply.at);
        runtime.deliver_reply(&reply.phone, &reply.text)?;
    }
    runtime.run_until(until, advance)?;

    let mut messages: BTreeMap<u64, Vec<Planned>> = BTreeMap::new();
    for message in runtime.store().messages(id) {
        let message = message?;
        messages
            .entry(message.outbound.recipient)
            .or_default()
            .push(Planned {
                step: message.outbound.step_id.clone(),
                variant: message.outbound.variant.clone(),
                send_utc: message.created_at,
                send_local: String::new(),
                segments: message.outbound.segments,
                body: message.outbound.body.clone(),
                status: format!("{:?}", message.status).to_lowercase(),
            });
    }
    let mut plans = Vec::new();
    for entry in runtime.store().runs(id) {
        let (seq, run) = entry?;
        let Some(recipient) = runtime.store().recipient(id, seq)? else {
            continue;
        };
        let tz = runtime.recipient_timezone(id, &recipient);
        let mut planned = messages.remove(&seq).unwrap_or_default();
        for message in &mut planned {
            message.send_local = message
                .send_utc
                .with_timezone(&tz)
                .format("%Y-%m-%d %a %H:%M %Z")
                .to_string();
        }
        let (wake, done) = (run.wake_at(), run.is_done());
        let reason = match (run.reason, wake) {
            (Some(r), _) => Some(format!("{}: {}", r.code, r.message)),
            (None, Some(wake)) if !done => Some(format!(
                "horizon: still waiting at the end of the simulated time ({}), next at {}",
                until.to_rfc3339(),
                wake.to_rfc3339()
            )),
            (None, _) => None,
        };
        plans.push(Plan {
            row: usize::try_from(seq)
                .ok()
                .and_then(|seq| rows.get(seq).copied())
                .unwrap_or_default(),
            phone: recipient.phone,
            timezone: tz.name().to_string(),
            status: run.status.as_str().to_string(),
            reason,
            messages: planned,
        });
    }
    Ok(plans)
}

fn read_recipients(path: &Path) -> anyhow::Result<Vec<SimRecipient>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_path(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let headers: Vec<String> = reader
        .headers()
        .with_context(|| format!("reading the header row of {}", path.display()))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    // The phone column is recognised as the import recognises it.
    let mapping = HeaderMapping::new(&headers, &HeaderOverrides::new())
        .with_context(|| path.display().to_string())?;
    let phone_column = mapping
        .column_of(Role::Phone)
        .and_then(|phone| headers.iter().position(|h| h == phone))
        .with_context(|| format!("{}: no phone column", path.display()))?;
    let mut recipients = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let row = index + 2;
        let record = record.with_context(|| format!("{}: row {row}", path.display()))?;
        let mut fields = BTreeMap::new();
        for (header, value) in headers.iter().zip(record.iter()) {
            fields.insert(header.clone(), value.to_string());
        }
        let phone = record.get(phone_column).unwrap_or_default().to_string();
        recipients.push(SimRecipient { row, phone, fields });
    }
    Ok(recipients)
}

fn read_replies(path: &Path, start: DateTime<Utc>) -> anyhow::Result<Vec<Reply>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let mut replies = Vec::new();
    for (index, record) in reader.deserialize::<(String, String, String)>().enumerate() {
        let row = index + 2;
        let (phone, at, text) = record
            .with_context(|| format!("{}: row {row}: expected phone,at,text", path.display()))?;
        let at = match DateTime::parse_from_rfc3339(&at) {
            Ok(instant) => instant.with_timezone(&Utc),
            Err(_) => {
                let offset: Duration = at.parse().with_context(|| {
                    format!("{}: row {row}: `at` must be an RFC 3339 instant or a duration after --from (e.g. 2h)", path.display())
                })?;
                start + chrono::TimeDelta::seconds(offset.as_seconds() as i64)
            }
        };
        replies.push(Reply { phone, at, text });
    }
    replies.sort_by_key(|r| r.at);
    Ok(replies)
}

/// Runs the simulation and prints the plan.
pub fn run(
    workflow: &Path,
    recipients: &Path,
    from: Option<DateTime<Utc>>,
    replies: Option<&Path>,
    format: SimulateFormat,
) -> anyhow::Result<()> {
    // Read once: the same text is validated and run.
    let source = std::fs::read_to_string(workflow)
        .with_context(|| format!("reading {}", workflow.display()))?;
    let start = from.unwrap_or_else(Utc::now);
    let recipients = read_recipients(recipients)?;
    let replies = match replies {
        Some(path) => read_replies(path, start)?,
        None => Vec::new(),
    };
    let plans = plan(Simulation {
        name: &workflow.display().to_string(),
        source: &source,
        recipients,
        start,
        replies,
        // A workflow has no loops: every run ends, so the command simulates to the end.
        until: DateTime::<Utc>::MAX_UTC,
        config: RuntimeConfig::default(),
    })?;
    print_plans(&plans, format)
}

fn print_plans(plans: &[Plan], format: SimulateFormat) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        SimulateFormat::Json => {
            serde_json::to_writer_pretty(&mut out, plans)?;
            writeln!(out)?;
        }
        SimulateFormat::Csv => {
            let mut writer = csv::Writer::from_writer(out);
            writer.write_record([
                "row",
                "phone",
                "timezone",
                "step",
                "variant",
                "send_utc",
                "send_local",
                "segments",
                "body",
                "status",
                "reason",
            ])?;
            for plan in plans {
                let reason = plan.reason.clone().unwrap_or_default();
                if plan.messages.is_empty() {
                    writer.write_record([
                        &plan.row.to_string(),
                        &plan.phone,
                        &plan.timezone,
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        &plan.status,
                        &reason,
                    ])?;
                }
                for m in &plan.messages {
                    writer.write_record([
                        &plan.row.to_string(),
                        &plan.phone,
                        &plan.timezone,
                        &m.step,
                        &m.variant,
                        &m.send_utc.to_rfc3339(),
                        &m.send_local,
                        &m.segments.to_string(),
                        &m.body,
                        &m.status,
                        &reason,
                    ])?;
                }
            }
            writer.flush()?;
        }
        SimulateFormat::Text => {
            for plan in plans {
                write!(
                    out,
                    "row {} {} ({}): {}",
                    plan.row, plan.phone, plan.timezone, plan.status
                )?;
                match &plan.reason {
                    Some(reason) => writeln!(out, " — {reason}")?,
                    None => writeln!(out)?,
                }
                for m in &plan.messages {
                    let variant = if m.variant == "main" {
                        String::new()
                    } else {
                        format!(" [{}]", m.variant)
                    };
                    writeln!(
                        out,
                        "  {}  {}  {}{variant}  {} segment{}  {:?}",
                        m.send_utc.format("%Y-%m-%dT%H:%MZ"),
                        m.send_local,
                        m.step,
                        m.segments,
                        if m.segments == 1 { "" } else { "s" },
                        m.body
                    )?;
                }
            }
            let sent: usize = plans.iter().map(|p| p.messages.len()).sum();
            writeln!(out, "{} recipients, {sent} messages planned", plans.len())?;
        }
    }
    Ok(())
}
