//! Recipient lists end to end on the real runtime and a real sled store: duplicates across
//! lists, opted-out numbers, each list's start and end, refused imports leaving nothing, and
//! a crash at every write of an import leaving either the whole list or none of it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use switchboard_import::{ImportLimits, LimitError};
use switchboard_runtime::lifecycle::CampaignState;
use switchboard_runtime::lists::{ListImportError, NewList};
use switchboard_runtime::provider::ScriptedProvider;
use switchboard_runtime::records::{CampaignId, ListRecord, ListState, RecipientStatus};
use switchboard_runtime::sled_store::SledBackend;
use switchboard_runtime::store::{Backend, Changes, Entry, Store, StoreError, Table};
use switchboard_runtime::{ManualClock, Runtime, RuntimeConfig, RuntimeError};

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .expect("valid instant")
}

const WORKFLOW: &str = "kind: campaign\nid: t\nprovider: mock\nsender: \"+14165550100\"\nconsent: { acknowledged: true }\nsteps:\n  - send: \"Hi {name|there}\"\n";

const HEADERS: [&str; 2] = ["Phone Number", "First Name"];

/// Imports `rows` (phone, name) as a list; the first row is file line 2 (after the header).
fn import(
    runtime: &mut Runtime,
    campaign: CampaignId,
    list: NewList,
    rows: &[(&str, &str)],
) -> Result<ListRecord, RuntimeError> {
    let mut import = runtime.begin_list(campaign, list)?;
    for (i, (phone, name)) in rows.iter().enumerate() {
        let cells = HEADERS
            .iter()
            .zip([phone, name])
            .map(|(column, value)| (column.to_string(), value.to_string()))
            .collect();
        if let Err(error) = import.push_row(i as u64 + 2, cells) {
            runtime.abort_list(import)?;
            return Err(error.into());
        }
    }
    runtime.commit_list(import)
}

fn list(name: &str, region: &str) -> NewList {
    NewList::new(name, format!("{name}.csv"), region.parse().expect("region"))
}

struct Harness {
    runtime: Runtime,
    clock: ManualClock,
    provider: Arc<ScriptedProvider>,
}

impl Harness {
    fn new(now: DateTime<Utc>) -> Self {
        let clock = ManualClock::new(now);
        let provider = Arc::new(ScriptedProvider::new());
        let runtime = Runtime::open(
            Store::temporary().expect("store"),
            Arc::new(clock.clone()),
            provider.clone(),
            RuntimeConfig::default(),
        )
        .expect("runtime");
        Self {
            runtime,
            clock,
            provider,
        }
    }

    fn campaign(&mut self, workflow: &str) -> CampaignId {
        self.runtime
            .create_campaign("c", workflow, Vec::new())
            .expect("create")
    }

    fn run_until(&mut self, until: DateTime<Utc>) {
        let clock = self.clock.clone();
        self.runtime
            .run_until(until, |at| clock.set(at))
            .expect("run");
    }

    fn sent_to(&self) -> Vec<(String, String)> {
        self.provider
            .accepted()
            .iter()
            .map(|m| (m.to.clone(), m.body.clone()))
            .collect()
    }
}

#[test]
fn duplicates_are_reported_across_two_lists_and_the_first_occurrence_wins() {
    let mut h = Harness::new(utc(2026, 12, 7, 15, 0));
    let id = h.campaign(WORKFLOW);
    let march = import(
        &mut h.runtime,
        id,
        list("march", "CA"),
        &[
            ("(416) 555-0101", "Ada"),
            ("1-416-555-0102", "Bob"),
            ("555-1234", "Short"),
            ("+1 416 555 0102", "Bob again"),
        ],
    )
    .expect("march");
    assert_eq!(march.state, ListState::Ready);
    assert_eq!(march.summary.rows_read, 4);
    assert_eq!(march.summary.imported, 2);
    assert_eq!(march.summary.rejected, 1);
    assert_eq!(march.summary.duplicates, 1);

    let april = import(
        &mut h.runtime,
        id,
        list("april", "US"),
        &[("416.555.0101", "Ada (April)"), ("647 555 0103", "Cy")],
    )
    .expect("april");
    assert_eq!(april.summary.imported, 1);
    assert_eq!(april.summary.duplicates, 1);
    let log: Vec<_> = h
        .runtime
        .store()
        .rejections(id, april.id)
        .collect::<Result<_, _>>()
        .expect("log");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].code, "duplicate");
    assert_eq!(log[0].line, 2);
    assert_eq!(log[0].first_list.as_deref(), Some("march"));
    assert_eq!(log[0].first_line, Some(2));

    let march_log: Vec<String> = h
        .runtime
        .store()
        .rejections(id, march.id)
        .map(|entry| entry.map(|e| format!("{}:{}:{:?}", e.line, e.code, e.first_line)))
        .collect::<Result<_, _>>()
        .expect("log");
    assert_eq!(march_log, ["4:phone_too_short:None", "5:duplicate:Some(3)"]);

    assert_eq!(h.runtime.campaign(id).map(|c| c.recipients), Some(3));
    let names: Vec<String> = h
        .runtime
        .lists(id)
        .expect("lists")
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(names, ["march", "april"]);

    h.runtime.start(id).expect("start");
    h.run_until(utc(2026, 12, 8, 0, 0));
    let mut sent = h.sent_to();
    sent.sort();
    assert_eq!(
        sent,
        [
            ("+14165550101".to_string(), "Hi Ada".to_string()),
            ("+14165550102".to_string(), "Hi Bob".to_string()),
            ("+16475550103".to_string(), "Hi Cy".to_string()),
        ]
    );
}

#[test]
fn a_suppressed_number_is_imported_as_opted_out_and_never_sent() {
    let mut h = Harness::new(utc(2026, 12, 7, 15, 0));
    let mut changes = Changes::new();
    changes.suppress("+14165550101", &serde_json::json!({"keyword": "STOP"}));
    h.runtime.store().commit(changes).expect("suppress");
    let id = h.campaign(WORKFLOW);
    let imported = import(
        &mut h.runtime,
        id,
        list("l", "CA"),
        &[("416 555 0101", "Ada"), ("416 555 0102", "Bob")],
    )
    .expect("import");
    assert_eq!(imported.summary.imported, 2);
    assert_eq!(imported.summary.opted_out, 1);
    let counts = h.runtime.store().counters(id).expect("counters");
    assert_eq!(counts.get(&RecipientStatus::OptedOut), Some(&1));
    assert_eq!(counts.get(&RecipientStatus::Pending), Some(&1));

    h.runtime.start(id).expect("start");
    h.run_until(utc(2026, 12, 8, 0, 0));
    let to: Vec<String> = h.sent_to().into_iter().map(|(to, _)| to).collect();
    assert_eq!(to, ["+14165550102"]);
}

#[test]
fn each_list_starts_and_ends_on_its_own_schedule() {
    // Monday 03:00 UTC = 22:00 in Toronto: quiet hours until 09:00 local (14:00 UTC).
    let now = utc(2026, 12, 7, 3, 0);
    let mut h = Harness::new(now);
    let workflow = format!(
        "{WORKFLOW}window:\n  timezone: {{ default: America/Toronto }}\n  days: {{ daily: \"09:00-17:00\" }}\n"
    );
    let id = h.campaign(&workflow);
    let mut brief = list("brief", "CA");
    brief.end = Some(utc(2026, 12, 7, 5, 0)); // ends before the window opens
    import(&mut h.runtime, id, brief, &[("416 555 0101", "Ada")]).expect("brief");
    let mut later = list("later", "CA");
    later.start = Some(utc(2026, 12, 9, 16, 0)); // Wednesday 11:00 Toronto
    import(&mut h.runtime, id, later, &[("416 555 0102", "Bob")]).expect("later");
    import(
        &mut h.runtime,
        id,
        list("now", "CA"),
        &[("416 555 0103", "Cy")],
    )
    .expect("now");
    h.runtime.start(id).expect("start");

    h.run_until(utc(2026, 12, 8, 0, 0));
    let to: Vec<String> = h.sent_to().into_iter().map(|(to, _)| to).collect();
    assert_eq!(to, ["+14165550103"], "only the open-ended list on Monday");
    let counts = h.runtime.store().counters(id).expect("counters");
    assert_eq!(
        counts.get(&RecipientStatus::Expired),
        Some(&1),
        "{counts:?}"
    );

    h.run_until(utc(2026, 12, 10, 0, 0));
    let accepted = h.provider.accepted();
    assert_eq!(accepted.len(), 2);
    assert_eq!(accepted[1].to, "+14165550102");
    assert_eq!(
        h.runtime.campaign(id).map(|c| c.state),
        Some(CampaignState::Completed)
    );
}

#[test]
fn a_list_added_to_a_sending_campaign_goes_out_without_a_restart() {
    let now = utc(2026, 12, 7, 15, 0);
    let mut h = Harness::new(now);
    let id = h.campaign(WORKFLOW);
    import(
        &mut h.runtime,
        id,
        list("first", "CA"),
        &[("416 555 0101", "Ada")],
    )
    .expect("first");
    h.runtime.start(id).expect("start");
    h.run_until(now + TimeDelta::minutes(1));
    // Its only recipient is done, so the campaign completed: it takes no more lists.
    let mut second = list("second", "CA");
    second.start = Some(now + TimeDelta::hours(1));
    let refused = import(
        &mut h.runtime,
        id,
        second.clone(),
        &[("416 555 0102", "Bob")],
    );
    match h.runtime.campaign(id).map(|c| c.state) {
        Some(CampaignState::Completed) => assert!(matches!(
            refused,
            Err(RuntimeError::List(ListImportError::CampaignClosed { .. }))
        )),
        other => panic!("expected a completed campaign, got {other:?}"),
    }

    // A campaign still sending takes the list; its recipients are woken at the list's start.
    let id = h.campaign(WORKFLOW);
    let mut slow = list("slow", "CA");
    slow.start = Some(now + TimeDelta::days(1));
    import(&mut h.runtime, id, slow, &[("416 555 0104", "Di")]).expect("slow");
    h.runtime.start(id).expect("start");
    import(&mut h.runtime, id, second, &[("416 555 0102", "Bob")]).expect("second");
    h.run_until(now + TimeDelta::minutes(90));
    let to: Vec<String> = h.sent_to().into_iter().map(|(to, _)| to).collect();
    assert_eq!(to, ["+14165550101", "+14165550102"]);
    h.run_until(now + TimeDelta::days(2));
    assert_eq!(h.provider.accepted().len(), 3);
}

#[test]
fn refused_imports_leave_nothing_behind() {
    let mut h = Harness::new(utc(2026, 12, 7, 15, 0));
    let id = h.campaign(WORKFLOW);

    // Too many rows: the limit stops the import and nothing lands.
    let mut small = list("small", "CA");
    small.limits = ImportLimits {
        max_rows: 2,
        ..ImportLimits::default()
    };
    let rows = [
        ("416 555 0101", "a"),
        ("416 555 0102", "b"),
        ("416 555 0103", "c"),
    ];
    match import(&mut h.runtime, id, small, &rows) {
        Err(RuntimeError::List(ListImportError::Limit(LimitError::TooManyRows {
            limit,
            line,
        }))) => {
            assert_eq!((limit, line), (2, 4));
        }
        other => panic!("expected a row limit error, got {other:?}"),
    }

    // No phone column: the message lists the headers found.
    let mut import_without_phone = h
        .runtime
        .begin_list(id, list("nophone", "CA"))
        .expect("begin");
    let error = import_without_phone
        .push_row(
            2,
            vec![
                ("Name".into(), "Ada".into()),
                ("Email".into(), "a@x".into()),
            ],
        )
        .expect_err("no phone column");
    assert!(error.to_string().contains("Email"), "{error}");
    h.runtime.abort_list(import_without_phone).expect("abort");

    // No rows at all (an empty or header-only file).
    let empty = h
        .runtime
        .begin_list(id, list("empty", "CA"))
        .expect("begin");
    match h.runtime.commit_list(empty) {
        Err(RuntimeError::List(ListImportError::NoRows)) => {}
        other => panic!("expected NoRows, got {other:?}"),
    }

    assert!(h.runtime.lists(id).expect("lists").is_empty());
    assert_eq!(h.runtime.store().recipients(id).count(), 0);
    for list in 0..4 {
        assert_eq!(h.runtime.store().rejections(id, list).count(), 0);
        assert_eq!(h.runtime.store().runs(id).count(), 0, "list {list}");
    }

    // A name is unique within the campaign; an end must follow the start.
    import(
        &mut h.runtime,
        id,
        list("l", "CA"),
        &[("416 555 0101", "a")],
    )
    .expect("l");
    assert!(matches!(
        import(
            &mut h.runtime,
            id,
            list("l", "CA"),
            &[("416 555 0102", "b")]
        ),
        Err(RuntimeError::List(ListImportError::NameTaken { .. }))
    ));
    let mut backwards = list("backwards", "CA");
    backwards.start = Some(utc(2026, 12, 9, 0, 0));
    backwards.end = Some(utc(2026, 12, 8, 0, 0));
    assert!(matches!(
        h.runtime.begin_list(id, backwards),
        Err(RuntimeError::List(ListImportError::EndBeforeStart { .. }))
    ));
}

/// A backend that "loses power" at its `crash_at`-th write: that write and every later one
/// fail, as if the process had died there.
#[derive(Debug)]
struct CrashingBackend {
    inner: SledBackend,
    writes_left: AtomicUsize,
}

impl Backend for CrashingBackend {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(table, key)
    }
    fn scan(
        &self,
        table: Table,
        prefix: &[u8],
    ) -> Box<dyn Iterator<Item = Result<Entry, StoreError>> + '_> {
        self.inner.scan(table, prefix)
    }
    fn range_keys(
        &self,
        table: Table,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        self.inner.range_keys(table, start, end, limit)
    }
    fn apply(&self, changes: &Changes) -> Result<(), StoreError> {
        let left = self.writes_left.load(Ordering::SeqCst);
        if left == 0 {
            return Err(StoreError::Backend("simulated crash".into()));
        }
        self.writes_left.store(left - 1, Ordering::SeqCst);
        self.inner.apply(changes)
    }
    fn flush(&self) -> Result<(), StoreError> {
        self.inner.flush()
    }
    fn generate_id(&self) -> Result<u64, StoreError> {
        self.inner.generate_id()
    }
}

fn open(
    dir: &Path,
    backend: Option<usize>,
    clock: &ManualClock,
    config: &RuntimeConfig,
) -> Runtime {
    let store = match backend {
        None => Store::open_waiting(dir, Duration::from_secs(5)).expect("store"),
        Some(writes) => {
            let mut patience = 250;
            let inner = loop {
                match SledBackend::open(dir) {
                    Err(StoreError::Locked(_)) if patience > 0 => {
                        patience -= 1;
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    other => break other.expect("sled"),
                }
            };
            Store::with_backend(Arc::new(CrashingBackend {
                inner,
                writes_left: AtomicUsize::new(writes),
            }))
        }
    };
    Runtime::open(
        store,
        Arc::new(clock.clone()),
        Arc::new(ScriptedProvider::new()),
        config.clone(),
    )
    .expect("runtime")
}

#[test]
fn a_crash_at_any_write_of_an_import_lands_the_whole_list_or_none_of_it() {
    // A draft (the commit is one transaction) and a sending campaign (the committed list's
    // wake-ups are written after the commit point, in several transactions).
    for sending in [false, true] {
        crash_at_every_write(sending);
    }
}

fn crash_at_every_write(sending: bool) {
    let clock = ManualClock::new(utc(2026, 12, 7, 15, 0));
    // Three rows per transaction: ten rows take several writes.
    let config = RuntimeConfig {
        batch_size: 3,
        ..RuntimeConfig::default()
    };
    let rows: Vec<(String, String)> = (0..10)
        .map(|i| (format!("416 555 01{i:02}"), format!("r{i}")))
        .chain([("12".to_string(), "bad".to_string())])
        .collect();
    let rows: Vec<(&str, &str)> = rows.iter().map(|(p, n)| (p.as_str(), n.as_str())).collect();
    // The sending campaign already has one recipient (it cannot start empty-handed).
    let before = u64::from(sending);
    let mut outcomes = BTreeMap::<&str, usize>::new();
    for crash_at in 0.. {
        let dir = std::env::temp_dir().join(format!(
            "switchboard-list-crash-{}-{sending}-{crash_at}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let id = {
            let mut runtime = open(&dir, None, &clock, &config);
            let first: Vec<(String, BTreeMap<String, String>)> = (0..before)
                .map(|_| ("+14165550999".to_string(), BTreeMap::new()))
                .collect();
            let id = runtime
                .create_campaign("c", WORKFLOW, first)
                .expect("create");
            if sending {
                runtime.start(id).expect("start");
            }
            id
        };
        let finished = {
            let mut runtime = open(&dir, Some(crash_at), &clock, &config);
            import(&mut runtime, id, list("l", "CA"), &rows).is_ok()
        };
        let runtime = open(&dir, None, &clock, &config);
        let lists: Vec<ListRecord> = runtime
            .lists(id)
            .expect("lists")
            .into_iter()
            .filter(|l| l.name == "l")
            .collect();
        let recipients = runtime.store().recipients(id).count() as u64;
        let counts = runtime.store().counters(id).expect("counters");
        let woken = runtime
            .store()
            .due(id, utc(2030, 1, 1, 0, 0), usize::MAX)
            .expect("timers")
            .len() as u64;
        let at = format!("sending {sending}, crash at write {crash_at}");
        match lists.as_slice() {
            [] => {
                assert_eq!(recipients, before, "{at}: no list, no recipients");
                assert!(!finished, "{at}");
                assert_eq!(runtime.campaign(id).map(|c| c.recipients), Some(before));
                assert_eq!(woken, before, "{at}");
                outcomes.entry("none").and_modify(|n| *n += 1).or_insert(1);
            }
            [list] => {
                assert_eq!(list.state, ListState::Ready, "{at}");
                assert_eq!(recipients, before + 10, "{at}: every valid row");
                assert_eq!(
                    counts.get(&RecipientStatus::Pending),
                    Some(&(before + 10)),
                    "{at}"
                );
                assert_eq!(
                    runtime.campaign(id).map(|c| c.recipients),
                    Some(before + 10)
                );
                assert_eq!(runtime.store().rejections(id, list.id).count(), 1, "{at}");
                // A sending campaign wakes every new recipient (a draft wakes them at start).
                assert_eq!(woken, if sending { before + 10 } else { 0 }, "{at}");
                outcomes.entry("all").and_modify(|n| *n += 1).or_insert(1);
            }
            more => panic!("{at}: {} lists", more.len()),
        }
        assert_eq!(
            runtime.store().runs(id).count() as u64,
            recipients,
            "{at}: a run per recipient, no more"
        );
        drop(runtime);
        let _ = std::fs::remove_dir_all(&dir);
        if finished {
            break;
        }
    }
    // Crashes before the commit point discard the list (several staging writes); after it,
    // the list is finished at the next start (the wake-up writes of a sending campaign).
    let all = outcomes.get("all").copied().unwrap_or(0);
    assert!(
        outcomes.get("none").copied().unwrap_or(0) >= 4,
        "{outcomes:?}"
    );
    assert!(all >= if sending { 4 } else { 1 }, "{outcomes:?}");
}

#[test]
fn starting_after_a_lists_start_has_passed_sends_once() {
    let now = utc(2026, 12, 7, 15, 0);
    let mut h = Harness::new(now);
    let id = h.campaign(WORKFLOW);
    let mut later = list("later", "CA");
    later.start = Some(now + TimeDelta::hours(1));
    import(&mut h.runtime, id, later, &[("416 555 0101", "Ada")]).expect("later");
    // The campaign starts after the list's start: the recipient's own timer (in the past)
    // and the start's wake-up are one and the same.
    h.clock.set(now + TimeDelta::hours(2));
    h.runtime.start(id).expect("start");
    h.run_until(now + TimeDelta::days(1));
    assert_eq!(h.provider.accepted().len(), 1);
    let counts = h.runtime.store().counters(id).expect("counters");
    assert_eq!(counts.get(&RecipientStatus::Sent), Some(&1), "{counts:?}");
    assert_eq!(counts.values().sum::<u64>(), 1, "{counts:?}");
}

#[test]
fn a_duplicated_campaign_keeps_its_lists_timezones_and_number_types() {
    let now = utc(2026, 12, 7, 15, 0);
    let mut h = Harness::new(now);
    let id = h.campaign(WORKFLOW);
    let mut paris = list("paris", "FR");
    paris.start = Some(now + TimeDelta::days(1));
    import(&mut h.runtime, id, paris, &[("01 42 68 53 00", "Musée")]).expect("paris");
    let copy = h.runtime.duplicate(id, "again").expect("duplicate");
    let lists = h.runtime.lists(copy).expect("lists");
    assert_eq!(lists.len(), 1);
    assert_eq!(lists[0].name, "paris");
    assert_eq!(lists[0].start, Some(now + TimeDelta::days(1)));
    let recipients: Vec<_> = h
        .runtime
        .store()
        .recipients(copy)
        .collect::<Result<_, _>>()
        .expect("recipients");
    assert_eq!(recipients.len(), 1);
    assert_eq!(recipients[0].phone, "+33142685300");
    assert_eq!(recipients[0].timezone.as_deref(), Some("Europe/Paris"));
    assert_eq!(recipients[0].number_type.as_deref(), Some("fixed_line"));
    let counts = h.runtime.store().counters(copy).expect("counters");
    assert_eq!(
        counts.get(&RecipientStatus::Scheduled),
        Some(&1),
        "{counts:?}"
    );
}

#[test]
fn starting_a_campaign_during_an_import_leaves_the_uncommitted_rows_alone() {
    let dir = std::env::temp_dir().join(format!("switchboard-list-start-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let clock = ManualClock::new(utc(2026, 12, 7, 15, 0));
    // One row per transaction: the rows are in the store before the list commits.
    let config = RuntimeConfig {
        batch_size: 1,
        ..RuntimeConfig::default()
    };
    let mut runtime = open(&dir, None, &clock, &config);
    let id = runtime
        .create_campaign(
            "c",
            WORKFLOW,
            vec![("+14165550999".into(), BTreeMap::new())],
        )
        .expect("create");
    let mut import = runtime.begin_list(id, list("l", "CA")).expect("begin");
    for (line, phone) in [(2, "416 555 0101"), (3, "416 555 0102")] {
        let cells = vec![("phone".to_string(), phone.to_string())];
        import.push_row(line, cells).expect("row");
    }
    assert_eq!(
        runtime.store().recipients(id).count(),
        3,
        "written before the commit"
    );
    runtime.start(id).expect("start");
    let due = |runtime: &Runtime| {
        runtime
            .store()
            .due(id, utc(2030, 1, 1, 0, 0), usize::MAX)
            .expect("timers")
            .len()
    };
    assert_eq!(due(&runtime), 1, "only the committed recipient is woken");
    runtime.commit_list(import).expect("commit");
    assert_eq!(due(&runtime), 3, "the list wakes its own when it commits");
    drop(runtime);
    let _ = std::fs::remove_dir_all(&dir);
}
