//! Running conversation workflows: trigger matching and steps into actions.
