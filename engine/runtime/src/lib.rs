//! Switchboard's durable campaign runtime: campaigns run every recipient through the
//! workflow's steps, on time, at the right pace, inside send windows, and a crash at any
//! instant loses nothing and sends nothing twice.
//!
//! # Layout
//! - [`clock`]: injected time (system and manual clocks).
//! - [`lifecycle`]: campaign states and the legal operator actions.
//! - [`program`]: a campaign workflow compiled to instructions with jumps.
//! - [`executor`]: the pure per-recipient state machine (event in, send out).
//! - [`send_window`]: recipient-local send windows, quiet hours, DST.
//! - [`pacing`]: per-sender and per-account rate limits, sender pools.
//! - [`provider`]: the provider seam, routing to named provider instances, and the scripted
//!   in-process provider.
//! - [`records`], [`store`]: what is kept, the key layout, the narrow storage interface.
//! - [`stats`]: per-step message statistics, error codes, replies and opt-outs, the responded
//!   count, and per-minute activity ([`stats::activity`]); exact counters.
//! - [`delivery`]: delivery receipts moving messages (and recipients) forward.
//! - [`events`]: live events for dashboards, announced after each commit.
//! - [`sled_store`]: that interface on sled.
//! - [`engine`]: the driver: wake-ups, group commit, provider calls after commit.
//! - [`campaign_ops`]: operator actions on campaigns (create, start, stop, retry, ...).
//! - [`conversation`]: conversations (every message with a contact), conversation
//!   workflows, the agent's operations, opt-out keywords and the consent log.
//! - [`inbox`]: webhook events kept durably until the engine applies them.
//! - [`lists`]: recipient lists: atomic list imports (whole or nothing, crash-safe) with
//!   per-list start, end, region and timezone.
//! - `dispatch`: provider calls, concurrent across sender numbers; `recovery`: start-up
//!   reconciliation of interrupted sends and of rate limiters.
#![deny(missing_docs)]

pub mod campaign_ops;
pub mod clock;
pub mod conversation;
pub mod delivery;
mod dispatch;
pub mod engine;
pub mod events;
pub mod executor;
pub mod inbox;
pub mod lifecycle;
pub mod lists;
pub mod pacing;
pub mod program;
pub mod provider;
pub mod records;
mod recovery;
pub mod send_window;
pub mod sled_store;
pub mod stats;
pub mod store;

pub use clock::{Clock, ManualClock, ScaledClock, SystemClock};
pub use engine::{Runtime, RuntimeConfig, RuntimeError};
