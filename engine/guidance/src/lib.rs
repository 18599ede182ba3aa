//! Agent guidance: what happens when a contact writes in. [`keywords`] tells an opt-out, opt-in
//! or help keyword from an ordinary message; [`flow`] matches conversation workflows to a
//! message and runs their steps into actions (suggestions, routing, replies, questions, saved
//! fields, tags). Pure: the runtime stores conversations and sends what the actions say.

pub mod flow;
pub mod keywords;
