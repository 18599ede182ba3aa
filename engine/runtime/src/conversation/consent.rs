//! Opt-ins and opt-outs that do not come from a keyword: an operator through the API (or the
//! CLI), a suppression list import. Each is kept in the consent log with who, when and how;
//! the suppression list is the numbers whose latest record is an opt-out.

use std::collections::HashSet;

use super::records::{ConsentRecord, ConsentSource};
use crate::engine::{Runtime, RuntimeError};
use crate::store::Changes;

/// What a batch of consent changes did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ConsentSummary {
    /// Numbers whose state changed.
    pub changed: usize,
    /// Numbers already in the asked state (recorded in the log all the same).
    pub unchanged: usize,
}

impl Runtime {
    /// Records opt-outs (`opted_out: true`) or opt-ins of many numbers at once (E.164, already
    /// checked by the caller), all by `how` and `who`. Suppressing a number stops every
    /// campaign's sends to it from their next turn; no confirmation is sent.
    pub fn record_consents(
        &mut self,
        phones: &[(String, String)],
        opted_out: bool,
        how: ConsentSource,
        who: &str,
    ) -> Result<ConsentSummary, RuntimeError> {
        let now = self.clock.now();
        let mut summary = ConsentSummary::default();
        // Numbers this call has recorded already: the same number twice in one batch ("+1416…"
        // and "(416) …" normalise alike) changes once. The store does not tell, as the chunk
        // is not committed yet when its next row is looked at.
        let mut recorded = HashSet::new();
        for chunk in phones.chunks(self.config.batch_size.max(1)) {
            let mut changes = Changes::new();
            for (phone, detail) in chunk {
                let before = if recorded.contains(phone.as_str()) {
                    opted_out
                } else {
                    self.store.is_suppressed(phone)?
                };
                if before == opted_out {
                    summary.unchanged += 1;
                } else {
                    summary.changed += 1;
                }
                recorded.insert(phone.as_str());
                let record = ConsentRecord {
                    phone: phone.clone(),
                    opted_out,
                    at: now,
                    how,
                    who: who.to_string(),
                    detail: detail.clone(),
                };
                changes.record_consent(&record, self.store.generate_id()?);
            }
            self.store.commit(changes)?;
        }
        self.store.flush()?;
        Ok(summary)
    }
}
