//! Opt-out, opt-in and help keywords.
