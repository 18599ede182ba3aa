//! Recipient lists. A campaign holds several, each with its own outreach start (and optional
//! end) and its own default region and timezone. Rows arrive one at a time (from an importer
//! plugin, via the caller) and are normalised with [`switchboard_import`]; the import lands
//! whole or not at all:
//!
//! 1. [`Runtime::begin_list`] records the list as `importing`, with the seq its recipients
//!    will start at (the campaign's recipient count). [`ListImport::push_row`] normalises each
//!    row and writes the valid ones — recipient and first run — under the next seqs, and the
//!    error log (`rejections`), in batches, so memory stays flat whatever the file's size.
//!    Those recipients are not counted, woken or seen by the campaign's operations: they lie
//!    past its recipient count. An error, [`Runtime::abort_list`] or a crash (at the next
//!    start) removes them.
//! 2. [`Runtime::commit_list`] is one transaction — the campaign's recipient count, the
//!    status counters and the list's state — the commit point. When the recipients need
//!    wake-ups (a running campaign, a later list start) the list is `committing` until they
//!    are all written (a crash finishes them at the next start), then `ready`.
//!
//! One import at a time per campaign (a second is refused as busy), so seqs never collide.
//! Duplicates are looked for in the file and across the campaign's other lists (first wins);
//! numbers on the suppression list are imported as `opted_out`, finished, and never sent.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use switchboard_import::limits::RowCounter;
use switchboard_import::{
    Deduper, ErrorLogEntry, HeaderError, HeaderMapping, HeaderOverrides, ImportLimits,
    ImportSummary, LimitError, ListSettings, Recipient, Region, Rejection, Role, RowNormaliser,
    TimezonePolicy,
};
use switchboard_model::timezone::Timezone;

use crate::engine::{Runtime, RuntimeError};
use crate::lifecycle::CampaignState;
use crate::records::{
    CampaignId, ListId, ListRecord, ListState, Phase, Reason, RecipientRecord, RecipientSeq,
    RecipientStatus, RunState,
};
use crate::store::{Changes, Store, StoreError};

/// What an operator asks for when importing a list.
#[derive(Debug, Clone)]
pub struct NewList {
    /// Display name, unique within the campaign.
    pub name: String,
    /// Where the rows come from (a file name, for people).
    pub source: String,
    /// Region of numbers written without a country code.
    pub region: Region,
    /// Timezone of recipients whose row names none.
    pub timezone: Option<Timezone>,
    /// Infer a missing timezone from the number's region when that region has one zone.
    pub infer_timezone: bool,
    /// Outreach to the list starts no earlier than this.
    pub start: Option<DateTime<Utc>>,
    /// Outreach to the list ends then: its recipients not reached expire.
    pub end: Option<DateTime<Utc>>,
    /// Explicit column choices (`phone=Mobile`), before the recognised spellings.
    pub overrides: HeaderOverrides,
    /// Size limits.
    pub limits: ImportLimits,
}

impl NewList {
    /// A list named `name` from `source` with a default region and everything else default.
    pub fn new(name: impl Into<String>, source: impl Into<String>, region: Region) -> Self {
        Self {
            name: name.into(),
            source: source.into(),
            region,
            timezone: None,
            infer_timezone: true,
            start: None,
            end: None,
            overrides: HeaderOverrides::new(),
            limits: ImportLimits::default(),
        }
    }
}

/// Why a list import was refused or stopped. Nothing of it lands.
#[derive(Debug, thiserror::Error)]
pub enum ListImportError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The campaign cannot take a new list in its state.
    #[error(
        "campaign {campaign} is {state:?}: lists can be added while it is a draft, scheduled, sending or paused"
    )]
    CampaignClosed {
        /// Which campaign.
        campaign: CampaignId,
        /// Its state.
        state: CampaignState,
    },
    /// Another list has that name.
    #[error("campaign {campaign} already has a list named {name:?}")]
    NameTaken {
        /// Which campaign.
        campaign: CampaignId,
        /// The name.
        name: String,
    },
    /// Another import into the same campaign is under way.
    #[error("campaign {campaign} is already importing list {name:?}; try again when it ends")]
    Busy {
        /// Which campaign.
        campaign: CampaignId,
        /// The list being imported.
        name: String,
    },
    /// The outreach end is not after its start.
    #[error("the list's end ({end}) must be after its start ({start})")]
    EndBeforeStart {
        /// Start.
        start: DateTime<Utc>,
        /// End.
        end: DateTime<Utc>,
    },
    /// The header row cannot be used (no phone column, an override names no column, ...).
    #[error(transparent)]
    Headers(#[from] HeaderError),
    /// The file exceeds a limit.
    #[error(transparent)]
    Limit(#[from] LimitError),
    /// The list's end has already passed.
    #[error("the list's end ({0}) has already passed")]
    EndPassed(DateTime<Utc>),
    /// The import failed earlier (a limit, a store error): it can only be aborted.
    #[error("the import failed earlier; nothing of it was imported")]
    Failed,
    /// Not one row of the file could be read (the importer's first complaint).
    #[error("no row of the file could be read (line {line}: {message}); nothing was imported")]
    Unreadable {
        /// Where.
        line: u64,
        /// The importer's message.
        message: String,
    },
    /// The file holds no rows at all (empty, or a header row only).
    #[error(
        "the file has no recipient rows (it is empty or has only a header row); nothing was imported"
    )]
    NoRows,
}

/// A list import under way: push rows, then [`Runtime::commit_list`] (or
/// [`Runtime::abort_list`]). Memory holds the numbers seen (for duplicates) and one batch.
#[derive(Debug)]
pub struct ListImport {
    store: Store,
    campaign: CampaignId,
    record: ListRecord,
    overrides: HeaderOverrides,
    settings: ListSettings,
    rows: RowCounter,
    normaliser: Normaliser,
    batch: Changes,
    /// Writes per staging transaction (the runtime's group-commit size).
    batch_limit: usize,
    /// Recipients written so far (the next one's seq is `first_seq + written`).
    written: u64,
    /// Their first runs' statuses, counted when the list commits.
    statuses: BTreeMap<RecipientStatus, i64>,
    /// Error log entries written so far.
    logged: u64,
    /// Set by any error: a failed import can only be aborted, never committed.
    failed: bool,
    /// The first row the importer could not read (reported if no row could be read at all).
    first_unreadable: Option<(u64, String)>,
}

/// The row normaliser, built from the first row's columns (the header).
#[derive(Debug)]
enum Normaliser {
    /// No row yet: the other lists' numbers, to seed its duplicate check.
    AwaitingHeader(Deduper),
    /// Normalising rows.
    Ready(RowNormaliser),
}

impl ListImport {
    /// One row: `(column, value)` pairs in file order, `line` its line in the file. A row
    /// that is not valid goes to the error log and the import goes on; a limit, or a header
    /// row without a phone column, stops it (`Err`: abort the import).
    pub fn push_row(
        &mut self,
        line: u64,
        cells: Vec<(String, String)>,
    ) -> Result<(), ListImportError> {
        let outcome = self.take_row(line, cells);
        self.note_failure(outcome)
    }

    /// Remembers a failure: a failed import can only be aborted.
    fn note_failure(
        &mut self,
        outcome: Result<(), ListImportError>,
    ) -> Result<(), ListImportError> {
        self.failed |= outcome.is_err();
        outcome
    }

    fn take_row(&mut self, line: u64, cells: Vec<(String, String)>) -> Result<(), ListImportError> {
        self.rows.count(line, cells.len())?;
        if let Normaliser::AwaitingHeader(seeded) = &mut self.normaliser {
            let headers: Vec<&str> = cells.iter().map(|(column, _)| column.as_str()).collect();
            let mapping = HeaderMapping::new(&headers, &self.overrides)?;
            let deduper = std::mem::take(seeded);
            self.normaliser =
                Normaliser::Ready(RowNormaliser::with_deduper(mapping, self.settings, deduper));
        }
        let Normaliser::Ready(normaliser) = &mut self.normaliser else {
            return Ok(());
        };
        let outcome = normaliser.normalise(line, cells);
        self.record.summary.record(&outcome);
        match outcome {
            Ok(recipient) => self.stage(recipient)?,
            Err(rejections) => self.log(&rejections)?,
        }
        Ok(())
    }

    /// A row the importer could not read (its message says why); the import goes on.
    pub fn push_unreadable(&mut self, line: u64, message: &str) -> Result<(), ListImportError> {
        if self.first_unreadable.is_none() {
            self.first_unreadable = Some((line, message.to_string()));
        }
        let outcome = self
            .rows
            .count(line, 0)
            .map_err(ListImportError::from)
            .and_then(|()| {
                let rejections = [Rejection::unreadable(line, message)];
                self.record.summary.record_rejected(&rejections);
                self.log(&rejections)
            });
        self.note_failure(outcome)
    }

    fn stage(&mut self, recipient: Recipient) -> Result<(), ListImportError> {
        let opted_out = self.store.is_suppressed(&recipient.phone)?;
        if opted_out {
            self.record.summary.record_opted_out();
        }
        let mut record = recipient_record(recipient, self.record.id);
        record.seq = self.record.first_seq + self.written;
        let run = initial_run(opted_out, self.record.start, self.record.imported_at);
        *self.statuses.entry(run.status).or_default() += 1;
        self.batch.stage_recipient(self.campaign, &record, &run);
        self.written += 1;
        self.count_batch_row()
    }

    fn log(&mut self, rejections: &[Rejection]) -> Result<(), ListImportError> {
        for rejection in rejections {
            self.batch.add_rejection(
                self.campaign,
                self.record.id,
                self.logged,
                &ErrorLogEntry::from(rejection),
            );
            self.logged += 1;
        }
        self.count_batch_row()
    }

    fn count_batch_row(&mut self) -> Result<(), ListImportError> {
        // Counted in writes, not rows: one row can carry many rejected cells.
        if self.batch.writes().len() >= self.batch_limit {
            self.write_batch()?;
        }
        Ok(())
    }

    fn write_batch(&mut self) -> Result<(), ListImportError> {
        Ok(self.store.commit(std::mem::take(&mut self.batch))?)
    }
}

/// The stored form of a normalised row: the name, last name and company become fields under
/// their role keys (`{name}` in templates), like every other column.
fn recipient_record(recipient: Recipient, list: ListId) -> RecipientRecord {
    let mut fields: BTreeMap<String, String> = recipient.fields;
    for (role, value) in [
        (Role::Name, recipient.name),
        (Role::LastName, recipient.last_name),
        (Role::Company, recipient.company),
    ] {
        if let Some(value) = value {
            fields.insert(role.key().to_string(), value);
        }
    }
    RecipientRecord {
        seq: 0,
        phone: recipient.phone,
        fields,
        list,
        line: recipient.line,
        number_type: Some(recipient.number_type.as_str().to_string()),
        timezone: recipient.timezone.map(|tz| tz.0.name().to_string()),
    }
}

/// The run a recipient starts with: finished for an opted-out number, asleep until the list's
/// start when that is later than `now`, else not started.
pub(crate) fn initial_run(
    opted_out: bool,
    start: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> RunState {
    let mut run = RunState::new();
    if opted_out {
        run.phase = Phase::Done;
        run.status = RecipientStatus::OptedOut;
        run.reason = Some(Reason {
            code: "opted-out".into(),
            message: "the number was on the suppression list when its list was imported".into(),
        });
    } else if let Some(start) = start.filter(|start| *start > now) {
        run.phase = Phase::Sleeping { until: start };
        run.status = RecipientStatus::Scheduled;
    }
    run
}

/// When a committed list's recipients are woken: at the list's start when it is later than the
/// import (each run sleeps until then: the same key as its own timer); at once when the
/// campaign runs — keyed by the import's instant, so a repeat after a crash writes the same
/// key; otherwise not at all (the campaign's start wakes them). An opted-out recipient woken
/// this way is finished and ignored.
fn wake_at(list: &ListRecord, campaign: CampaignState) -> Option<DateTime<Utc>> {
    match list.start {
        Some(start) if start > list.imported_at => Some(start),
        _ if matches!(campaign, CampaignState::Sending | CampaignState::Paused) => {
            Some(list.imported_at)
        }
        _ => None,
    }
}

/// Fails with [`ListImportError::Busy`] while one of `lists` is being imported.
fn refuse_if_importing(campaign: CampaignId, lists: &[ListRecord]) -> Result<(), ListImportError> {
    match lists.iter().find(|list| list.state != ListState::Ready) {
        Some(busy) => Err(ListImportError::Busy {
            campaign,
            name: busy.name.clone(),
        }),
        None => Ok(()),
    }
}

/// Whether a campaign in `state` accepts a new list.
fn accepts_lists(state: CampaignState) -> bool {
    matches!(
        state,
        CampaignState::Draft
            | CampaignState::Scheduled
            | CampaignState::Sending
            | CampaignState::Paused
            | CampaignState::Stopped
    )
}

impl Runtime {
    /// Begins importing a list into `campaign`. Refused when the campaign is finished, the
    /// name is taken, another import into the campaign is under way, or the end is not after
    /// the start.
    pub fn begin_list(
        &mut self,
        campaign: CampaignId,
        new: NewList,
    ) -> Result<ListImport, RuntimeError> {
        let state = self.loaded(campaign)?.record.state;
        if !accepts_lists(state) {
            return Err(ListImportError::CampaignClosed { campaign, state }.into());
        }
        if let (Some(start), Some(end)) = (new.start, new.end)
            && end <= start
        {
            return Err(ListImportError::EndBeforeStart { start, end }.into());
        }
        if let Some(end) = new.end.filter(|end| *end <= self.clock.now()) {
            return Err(ListImportError::EndPassed(end).into());
        }
        let lists = self.store.lists(campaign)?;
        refuse_if_importing(campaign, &lists)?;
        if lists.iter().any(|l| l.name == new.name) {
            return Err(ListImportError::NameTaken {
                campaign,
                name: new.name,
            }
            .into());
        }
        // Duplicates across lists: the campaign's numbers, with the list and row of each.
        let names: BTreeMap<ListId, &str> = lists.iter().map(|l| (l.id, l.name.as_str())).collect();
        let mut deduper = Deduper::new();
        for recipient in self.store.recipients(campaign) {
            let recipient = recipient?;
            let list = names.get(&recipient.list).copied().unwrap_or("(unnamed)");
            // A number that is not E.164 (written through the API, not by an import) cannot
            // be compared; it is skipped rather than blocking every import.
            let _ = deduper.seed(&recipient.phone, list, recipient.line);
        }
        let first_seq = self.loaded(campaign)?.record.recipients;
        let record = ListRecord {
            id: lists.iter().map(|l| l.id + 1).max().unwrap_or(0),
            name: new.name,
            source: new.source,
            state: ListState::Importing,
            region: new.region.code().to_string(),
            timezone: new.timezone.map(|tz| tz.0.name().to_string()),
            infer_timezone: new.infer_timezone,
            start: new.start,
            end: new.end,
            imported_at: self.clock.now(),
            first_seq,
            summary: ImportSummary::default(),
        };
        let mut changes = Changes::new();
        changes.put_list(campaign, &record);
        self.store.commit(changes)?;
        self.store.flush()?;
        Ok(ListImport {
            store: self.store.clone(),
            campaign,
            overrides: new.overrides,
            settings: ListSettings {
                default_region: new.region,
                timezone: TimezonePolicy {
                    list_default: new.timezone,
                    infer_from_region: new.infer_timezone,
                },
            },
            rows: new.limits.counter(),
            normaliser: Normaliser::AwaitingHeader(deduper),
            written: 0,
            statuses: BTreeMap::new(),
            batch: Changes::new(),
            failed: false,
            first_unreadable: None,
            batch_limit: self.config.batch_size.max(1),
            logged: 0,
            record,
        })
    }

    /// Lands a list import: every valid row becomes a recipient of the campaign (woken at the
    /// list's start if the campaign is running). Once this begins landing, a crash finishes
    /// it at the next start; before, any error discards the import. A file of which not one
    /// row could be read (empty, header only, unreadable), or an import that failed earlier,
    /// is refused (and discarded).
    pub fn commit_list(&mut self, mut import: ListImport) -> Result<ListRecord, RuntimeError> {
        let refusal = if import.failed {
            Some(ListImportError::Failed)
        } else if let Normaliser::AwaitingHeader(_) = import.normaliser {
            // Not one row was read: an empty file, a header only, or nothing readable.
            Some(match import.first_unreadable.take() {
                Some((line, message)) => ListImportError::Unreadable { line, message },
                None => ListImportError::NoRows,
            })
        } else {
            import.write_batch().err()
        };
        if let Some(error) = refusal {
            self.abort_list(import)?;
            return Err(error.into());
        }
        let campaign = import.campaign;
        let state = match self.loaded(campaign) {
            Ok(loaded) => loaded.record.state,
            Err(error) => {
                self.abort_list(import)?;
                return Err(error);
            }
        };
        if !accepts_lists(state) {
            self.abort_list(import)?;
            return Err(ListImportError::CampaignClosed { campaign, state }.into());
        }
        let mut record = import.record.clone();
        record.state = match wake_at(&record, state) {
            Some(_) => ListState::Committing,
            None => ListState::Ready,
        };
        let mut campaign_record = self.loaded(campaign)?.record.clone();
        campaign_record.recipients += import.written;
        let mut changes = Changes::new();
        for (status, count) in &import.statuses {
            changes.add_to_count(campaign, *status, *count);
        }
        changes.put_campaign(&campaign_record);
        changes.put_list(campaign, &record);
        // The commit point: from here on the list is part of the campaign.
        if let Err(error) = self.store.commit(changes).and_then(|()| self.store.flush()) {
            self.abort_list(import)?;
            return Err(error.into());
        }
        self.loaded(campaign)?.record = campaign_record;
        if record.state == ListState::Committing {
            self.wake_list(campaign, &mut record, import.written)?;
        }
        self.loaded(campaign)?.note_list(&record);
        Ok(record)
    }

    /// Discards a list import: nothing of it stays.
    pub fn abort_list(&mut self, import: ListImport) -> Result<(), RuntimeError> {
        let (campaign, list, first_seq) =
            (import.campaign, import.record.id, import.record.first_seq);
        drop(import);
        self.discard(campaign, list, first_seq)
    }

    fn discard(
        &mut self,
        campaign: CampaignId,
        list: ListId,
        first_seq: RecipientSeq,
    ) -> Result<(), RuntimeError> {
        self.store.discard_import(campaign, list, first_seq)?;
        let mut changes = Changes::new();
        changes.remove_list(campaign, list);
        self.store.commit(changes)?;
        self.store.flush()?;
        Ok(())
    }

    /// Writes the wake-ups of a committed list's `count` recipients (see [`wake_at`]), then
    /// marks it ready. A repeat after a crash writes the same keys.
    fn wake_list(
        &mut self,
        campaign: CampaignId,
        record: &mut ListRecord,
        count: u64,
    ) -> Result<(), RuntimeError> {
        let state = self.loaded(campaign)?.record.state;
        if let Some(at) = wake_at(record, state) {
            let end = record.first_seq + count;
            let step = self.config.batch_size.max(1) as u64;
            let mut from = record.first_seq;
            while from < end {
                let to = from.saturating_add(step).min(end);
                let mut changes = Changes::new();
                for seq in from..to {
                    changes.wake(campaign, seq, at);
                }
                self.store.commit(changes)?;
                from = to;
            }
        }
        record.state = ListState::Ready;
        let mut changes = Changes::new();
        changes.put_list(campaign, record);
        self.store.commit(changes)?;
        self.store.flush()?;
        Ok(())
    }

    /// At start-up: an import that had not committed is removed; a committed one whose
    /// wake-ups were being written gets them all.
    pub(crate) fn recover_lists(&mut self) -> Result<(), RuntimeError> {
        let ids: Vec<CampaignId> = self.campaigns.keys().copied().collect();
        for campaign in ids {
            for mut list in self.store.lists(campaign)? {
                match list.state {
                    ListState::Ready => {}
                    ListState::Importing => self.discard(campaign, list.id, list.first_seq)?,
                    ListState::Committing => {
                        let count = list.summary.imported;
                        self.wake_list(campaign, &mut list, count)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Fails with [`ListImportError::Busy`] while a list is being imported into `campaign`.
    pub(crate) fn refuse_if_importing(&self, campaign: CampaignId) -> Result<(), RuntimeError> {
        Ok(refuse_if_importing(campaign, &self.store.lists(campaign)?)?)
    }

    /// A campaign's lists.
    pub fn lists(&self, campaign: CampaignId) -> Result<Vec<ListRecord>, RuntimeError> {
        Ok(self.store.lists(campaign)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
    }

    #[test]
    fn an_opted_out_number_starts_finished() {
        let run = initial_run(true, Some(at(100)), at(0));
        assert!(run.is_done());
        assert_eq!(run.status, RecipientStatus::OptedOut);
    }

    #[test]
    fn a_later_list_start_puts_the_run_to_sleep_until_then() {
        assert_eq!(
            initial_run(false, Some(at(100)), at(0)).phase,
            Phase::Sleeping { until: at(100) }
        );
        assert_eq!(initial_run(false, Some(at(-1)), at(0)).phase, Phase::Ready);
        assert_eq!(initial_run(false, None, at(0)).phase, Phase::Ready);
    }

    #[test]
    fn name_company_and_last_name_become_fields() {
        let region: Region = "CA".parse().expect("region");
        let mapping = HeaderMapping::new(
            &["Phone", "First Name", "Company", "Plan"],
            &HeaderOverrides::new(),
        )
        .expect("mapping");
        let mut normaliser = RowNormaliser::new(
            mapping,
            ListSettings {
                default_region: region,
                timezone: TimezonePolicy {
                    list_default: None,
                    infer_from_region: false,
                },
            },
        );
        let row = |values: [&str; 4]| {
            ["Phone", "First Name", "Company", "Plan"]
                .iter()
                .zip(values)
                .map(|(c, v)| (c.to_string(), v.to_string()))
                .collect()
        };
        let recipient = normaliser
            .normalise(2, row(["(416) 555-0100", "Ada", "Acme", "gold"]))
            .expect("valid");
        let record = recipient_record(recipient, 3);
        assert_eq!(record.phone, "+14165550100");
        assert_eq!(record.list, 3);
        assert_eq!(record.line, 2);
        assert_eq!(record.fields.get("name").map(String::as_str), Some("Ada"));
        assert_eq!(
            record.fields.get("company").map(String::as_str),
            Some("Acme")
        );
        assert_eq!(record.fields.get("plan").map(String::as_str), Some("gold"));
    }
}
