//! Agent guidance: what happens when a contact writes in. [`keywords`] tells an opt-out,
//! opt-in or help keyword from an ordinary message; [`flow`] matches conversation workflows
//! to a message and runs their steps into actions (suggestions, routing, replies, questions,
//! saved fields, tags).
//!
//! Pure: no store, no I/O, no tokio. The runtime stores conversations and pending questions,
//! and performs what the actions say.
//!
//! # Layout
//! - [`keywords`]: keyword lists (defaults plus configured words), whole-message
//!   classification, opt-out mentions inside a sentence.
//! - [`flow`]: the public face of conversation flows — [`flow::FlowSet`], the message a flow
//!   sees, the [`flow::Action`]s and the pending ask it returns. Inside it:
//!   - `flow/compile.rs`: a workflow compiled for running (expressions, templates, ranks);
//!   - `flow/trigger.rs`: trigger conditions and matching;
//!   - `flow/run.rs`: one run, from the start or after a pending ask;
//!   - `flow/values.rs`: the Rhai scope and template lookup.
#![deny(missing_docs)]

pub mod flow;
pub mod keywords;

pub use flow::{Action, ConversationView, FlowError, FlowSet, Message, Outcome, PendingAsk};
pub use keywords::{Keyword, KeywordSets};
