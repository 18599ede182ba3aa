//! End-to-end tests of conversations, agent guidance and opt-out over HTTP, against the real
//! binary with the mock provider's signed webhooks.
