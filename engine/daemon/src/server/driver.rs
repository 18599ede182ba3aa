//! The engine thread: the one owner of the [`Runtime`]. It does the work that is due (ticks),
//! sleeps until the next wake-up, applies the webhook events waiting in the store's inbox, and
//! runs the jobs the HTTP side hands it (operator actions, agent replies, list imports) in
//! between, one at a time, so every change to the runtime
//! is serialised without a lock. Reads that need no runtime state go straight to the store.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use switchboard_runtime::{Clock, Runtime, RuntimeError};
use tokio::sync::oneshot;

use super::log;

/// Jobs waiting at most; beyond this, callers get [`DriverError::Busy`] (HTTP 503) instead of
/// queueing without bound.
const QUEUE_CAPACITY: usize = 65_536;

/// Jobs run back to back before the next tick, so a flood of webhooks cannot starve sends.
const JOBS_PER_TURN: usize = 512;

/// A change to make on the engine thread.
type Job = Box<dyn FnOnce(&mut Runtime) + Send>;

/// Why a job did not run.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The engine is shutting down (or its thread ended).
    #[error("the engine is shutting down")]
    Stopped,
    /// Too many jobs are waiting.
    #[error("the engine is busy: too many requests are waiting; retry shortly")]
    Busy,
}

/// How the engine thread paces itself.
#[derive(Debug, Clone, Copy)]
pub struct DriverOptions {
    /// Longest sleep between two looks at the schedule (a scheduled campaign's start, a list
    /// that commits). The engine wakes earlier for jobs and for due recipients.
    pub max_idle: Duration,
    /// Real time per unit of clock time (1 for the system clock; 1/600 for a demo clock that
    /// runs 600 times faster), to turn "the next wake-up is in an hour" into a sleep.
    pub time_scale: f64,
}

impl Default for DriverOptions {
    fn default() -> Self {
        Self {
            max_idle: Duration::from_secs(1),
            time_scale: 1.0,
        }
    }
}

/// A handle on the engine thread; clones share it.
#[derive(Debug, Clone)]
pub struct Driver {
    jobs: SyncSender<Job>,
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    /// Jobs handed over and not finished yet (the queue depth metric).
    waiting: AtomicUsize,
    /// Set to stop taking new jobs.
    stopping: AtomicBool,
    /// Set when webhook events wait in the inbox and a wake-up is on its way.
    nudged: AtomicBool,
    /// Engine ticks failed in a row (store errors), 0 when the last one worked.
    failing_ticks: AtomicU32,
    /// Set when the engine thread has ended (stopped, or died).
    ended: AtomicBool,
}

/// How the engine thread is doing, for `/healthz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineHealth {
    /// Whether the thread still runs.
    pub running: bool,
    /// Ticks failed in a row.
    pub failing_ticks: u32,
}

/// Marks the thread ended however `run` leaves (a panic included).
struct EndGuard<'a>(&'a Shared);

impl Drop for EndGuard<'_> {
    fn drop(&mut self) {
        self.0.ended.store(true, Ordering::SeqCst);
    }
}

/// The engine thread itself; join it on shutdown.
#[derive(Debug)]
pub struct DriverThread {
    handle: JoinHandle<Runtime>,
}

impl DriverThread {
    /// Waits for the thread to finish its current work and hands back the runtime.
    pub fn join(self) -> Option<Runtime> {
        self.handle.join().ok()
    }
}

impl Driver {
    /// Starts the engine thread on `runtime`.
    pub fn start(
        runtime: Runtime,
        clock: Arc<dyn Clock>,
        options: DriverOptions,
    ) -> std::io::Result<(Driver, DriverThread)> {
        let (jobs, inbox) = sync_channel::<Job>(QUEUE_CAPACITY);
        let shared = Arc::new(Shared::default());
        let loop_shared = shared.clone();
        let handle = std::thread::Builder::new()
            .name("switchboard-engine".into())
            .spawn(move || run(runtime, inbox, clock, options, &loop_shared))?;
        Ok((Driver { jobs, shared }, DriverThread { handle }))
    }

    /// Runs `work` on the engine thread and returns its answer.
    pub async fn call<R: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Runtime) -> R + Send + 'static,
    ) -> Result<R, DriverError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Box::new(move |runtime: &mut Runtime| {
            // The caller may have gone (a client hung up): the work is done all the same.
            let _ = reply.send(work(runtime));
        }))?;
        answer.await.map_err(|_| DriverError::Stopped)
    }

    /// Runs `work` on the engine thread without waiting for it (fire and forget).
    pub fn spawn(
        &self,
        work: impl FnOnce(&mut Runtime) + Send + 'static,
    ) -> Result<(), DriverError> {
        self.submit(Box::new(work))
    }

    fn submit(&self, job: Job) -> Result<(), DriverError> {
        if self.shared.stopping.load(Ordering::SeqCst) {
            return Err(DriverError::Stopped);
        }
        self.shared.waiting.fetch_add(1, Ordering::SeqCst);
        self.jobs.try_send(job).map_err(|error| {
            self.shared.waiting.fetch_sub(1, Ordering::SeqCst);
            match error {
                TrySendError::Full(_) => DriverError::Busy,
                TrySendError::Disconnected(_) => DriverError::Stopped,
            }
        })
    }

    /// Wakes the engine to look at its inbox now rather than at its next wake-up.
    pub fn nudge(&self) {
        if !self.shared.nudged.swap(true, Ordering::SeqCst) {
            let _ = self.spawn(|_| {});
        }
    }

    /// Jobs handed over and not finished yet.
    pub fn queue_depth(&self) -> usize {
        self.shared.waiting.load(Ordering::SeqCst)
    }

    /// Whether the engine thread runs and its ticks work.
    pub fn health(&self) -> EngineHealth {
        EngineHealth {
            running: !self.shared.ended.load(Ordering::SeqCst),
            failing_ticks: self.shared.failing_ticks.load(Ordering::SeqCst),
        }
    }

    /// Stops taking jobs; the thread finishes the ones queued, then its current tick, and ends,
    /// handing the runtime back: join the [`DriverThread`] to wait for it (the joiner flushes
    /// the store).
    pub fn stop(&self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the thread if it sleeps; a full queue means it is awake anyway.
        let _ = self.jobs.try_send(Box::new(|_| {}));
    }
}

fn run(
    mut runtime: Runtime,
    inbox: Receiver<Job>,
    clock: Arc<dyn Clock>,
    options: DriverOptions,
    shared: &Shared,
) -> Runtime {
    let _ended = EndGuard(shared);
    let mut failures = 0u32;
    loop {
        for _ in 0..JOBS_PER_TURN {
            match inbox.try_recv() {
                Ok(job) => run_job(&mut runtime, job, shared),
                Err(_) => break,
            }
        }
        shared.nudged.store(false, Ordering::SeqCst);
        drain_inbox(&mut runtime);
        if shared.stopping.load(Ordering::SeqCst) {
            while let Ok(job) = inbox.try_recv() {
                run_job(&mut runtime, job, shared);
            }
            break;
        }
        let busy = match runtime.tick() {
            Ok(report) => {
                failures = 0;
                shared.failing_ticks.store(0, Ordering::SeqCst);
                report.woken > 0
            }
            Err(error) => {
                // A store failure: say so and back off (the data is safe: nothing was committed
                // half), then try again; the operator sees it in the log and /healthz.
                failures = failures.saturating_add(1);
                shared.failing_ticks.store(failures, Ordering::SeqCst);
                log::error(&format!("engine tick failed (attempt {failures}): {error}"));
                false
            }
        };
        if busy {
            continue;
        }
        let sleep = idle_time(&runtime, clock.as_ref(), options, failures);
        match inbox.recv_timeout(sleep) {
            Ok(job) => run_job(&mut runtime, job, shared),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    // The store is flushed by whoever joins the thread (and by sled when it is dropped).
    runtime
}

/// Webhook events applied per turn, so a flood of them cannot starve the sends.
const INBOX_PER_TURN: usize = 2_000;

fn drain_inbox(runtime: &mut Runtime) {
    match runtime.drain_inbox(INBOX_PER_TURN) {
        Ok(report) if report.dropped > 0 => log::warn(&format!(
            "{} delivery receipts dropped: no message has their provider id (after retries)",
            report.dropped
        )),
        Ok(_) => {}
        Err(error) => log::error(&format!("applying webhook events failed: {error}")),
    }
}

fn run_job(runtime: &mut Runtime, job: Job, shared: &Shared) {
    let started = Instant::now();
    job(runtime);
    shared.waiting.fetch_sub(1, Ordering::SeqCst);
    let took = started.elapsed();
    if took > Duration::from_secs(2) {
        log::info(&format!("an engine job took {:.1} s", took.as_secs_f64()));
    }
}

/// How long the engine may sleep: until the next wake-up (in real time), at most
/// `max_idle`, longer after repeated failures.
fn idle_time(
    runtime: &Runtime,
    clock: &dyn Clock,
    options: DriverOptions,
    failures: u32,
) -> Duration {
    if failures > 0 {
        return Duration::from_millis(100u64.saturating_mul(1 << failures.min(6)));
    }
    let next: Result<Option<chrono::DateTime<chrono::Utc>>, RuntimeError> = runtime.next_wake();
    match next {
        Ok(Some(at)) => {
            let ahead = (at - clock.now()).to_std().unwrap_or(Duration::ZERO);
            Duration::try_from_secs_f64(ahead.as_secs_f64() * options.time_scale)
                .unwrap_or(options.max_idle)
                .min(options.max_idle)
        }
        _ => options.max_idle,
    }
}
