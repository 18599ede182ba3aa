//! Conversation keys and reads: conversations by id and by (our number, contact), timelines,
//! conversation wake-ups, receipts of conversation messages, and the consent log.

use chrono::{DateTime, Utc};

use super::records::{
    ConsentRecord, ConversationId, ConversationRecord, ConversationState, TimelineEntry,
};
use crate::records::{decode, encode};
use crate::store::{
    Changes, Store, StoreError, Table, instant_from_key, instant_key, timer_instant,
};

/// What a conversation wake-up is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WakeKind {
    /// An outbound message (timeline entry `seq`) is due.
    Send,
    /// The routing's escalation is due.
    Escalate,
    /// The pending question has waited long enough.
    AskTimeout,
}

impl WakeKind {
    fn byte(self) -> u8 {
        match self {
            WakeKind::Send => 1,
            WakeKind::Escalate => 2,
            WakeKind::AskTimeout => 3,
        }
    }

    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(WakeKind::Send),
            2 => Some(WakeKind::Escalate),
            3 => Some(WakeKind::AskTimeout),
            _ => None,
        }
    }
}

/// A due conversation wake-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wake {
    /// When it was due.
    pub at: DateTime<Utc>,
    /// Which conversation.
    pub conversation: ConversationId,
    /// What for.
    pub kind: WakeKind,
    /// The timeline entry (sends), else 0.
    pub seq: u64,
}

impl Wake {
    /// Its key in `conversation_timers`: the instant in milliseconds rounded up, as campaign
    /// timers are, so a wake-up never comes before the instant it stands for.
    pub fn key(&self) -> Vec<u8> {
        let mut key = Vec::with_capacity(25);
        key.extend_from_slice(&instant_key(timer_instant(self.at)));
        key.extend_from_slice(&self.conversation.to_be_bytes());
        key.push(self.kind.byte());
        key.extend_from_slice(&self.seq.to_be_bytes());
        key
    }

    fn from_key(key: &[u8]) -> Option<Self> {
        Some(Self {
            at: instant_from_key(key.get(..8)?)?,
            conversation: u64::from_be_bytes(key.get(8..16)?.try_into().ok()?),
            kind: WakeKind::from_byte(*key.get(16)?)?,
            seq: u64::from_be_bytes(key.get(17..25)?.try_into().ok()?),
        })
    }
}

/// `our · 0x00 · contact`: a conversation's index key, and the prefix of its timeline.
pub fn pair_key(our_number: &str, contact: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(our_number.len() + contact.len() + 1);
    key.extend_from_slice(our_number.as_bytes());
    key.push(0);
    key.extend_from_slice(contact.as_bytes());
    key
}

/// A timeline entry's key.
pub fn timeline_key(our_number: &str, contact: &str, seq: u64) -> Vec<u8> {
    let mut key = pair_key(our_number, contact);
    key.push(0);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

fn consent_key(phone: &str, seq: u64) -> Vec<u8> {
    let mut key = phone.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// Which conversations a listing wants.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    /// In this queue.
    pub queue: Option<String>,
    /// In this state.
    pub state: Option<ConversationState>,
    /// Assigned to this agent.
    pub assignee: Option<String>,
    /// With this contact number.
    pub contact: Option<String>,
    /// Linked to this campaign.
    pub campaign: Option<u64>,
}

impl ConversationFilter {
    fn accepts(&self, c: &ConversationRecord) -> bool {
        self.queue
            .as_ref()
            .is_none_or(|q| c.queue.as_ref() == Some(q))
            && self.state.is_none_or(|s| c.state == s)
            && self
                .assignee
                .as_ref()
                .is_none_or(|a| c.assignee.as_ref() == Some(a))
            && self.contact.as_ref().is_none_or(|p| &c.contact == p)
            && self
                .campaign
                .is_none_or(|id| c.campaign.as_ref().is_some_and(|l| l.campaign == id))
    }
}

impl Changes {
    /// Writes a conversation record (and its index entry).
    pub fn put_conversation(&mut self, conversation: &ConversationRecord) {
        self.put(
            Table::Conversations,
            &conversation.id.to_be_bytes(),
            encode(conversation),
        );
        self.put(
            Table::ConversationIndex,
            &pair_key(&conversation.our_number, &conversation.contact),
            conversation.id.to_be_bytes().to_vec(),
        );
    }

    /// Writes a timeline entry of the conversation between `our_number` and `contact`.
    pub fn put_timeline(&mut self, our_number: &str, contact: &str, entry: &TimelineEntry) {
        self.put(
            Table::Timeline,
            &timeline_key(our_number, contact, entry.seq),
            encode(entry),
        );
    }

    /// Schedules a conversation wake-up.
    pub fn put_wake(&mut self, wake: &Wake) {
        self.put(Table::ConversationTimers, &wake.key(), Vec::new());
    }

    /// Removes a conversation wake-up.
    pub fn remove_wake(&mut self, wake: &Wake) {
        self.remove(Table::ConversationTimers, &wake.key());
    }

    /// Remembers which timeline entry a provider message id belongs to.
    pub fn put_conversation_receipt(&mut self, provider_id: &str, timeline_key: &[u8]) {
        self.put(
            Table::ConversationReceipts,
            provider_id.as_bytes(),
            timeline_key.to_vec(),
        );
    }

    /// Records an opt-in or opt-out, and puts the number on the suppression list or takes it
    /// off.
    pub fn record_consent(&mut self, record: &ConsentRecord, seq: u64) {
        self.put(
            Table::Consent,
            &consent_key(&record.phone, seq),
            encode(record),
        );
        if record.opted_out {
            self.suppress(&record.phone, record);
        } else {
            self.unsuppress(&record.phone);
        }
    }
}

impl Store {
    /// A conversation by id.
    pub fn conversation(
        &self,
        id: ConversationId,
    ) -> Result<Option<ConversationRecord>, StoreError> {
        self.read(Table::Conversations, &id.to_be_bytes())
    }

    /// The conversation between one of our numbers and a contact.
    pub fn conversation_between(
        &self,
        our_number: &str,
        contact: &str,
    ) -> Result<Option<ConversationRecord>, StoreError> {
        match self
            .backend()
            .get(Table::ConversationIndex, &pair_key(our_number, contact))?
        {
            Some(id) => match <[u8; 8]>::try_from(id.as_slice()) {
                Ok(id) => self.conversation(u64::from_be_bytes(id)),
                Err(_) => Ok(None),
            },
            None => Ok(None),
        }
    }

    /// Conversations matching `filter`, latest activity first; `None` records (unreadable)
    /// are skipped.
    pub fn conversations(
        &self,
        filter: &ConversationFilter,
    ) -> Result<Vec<ConversationRecord>, StoreError> {
        let mut found = Vec::new();
        for entry in self.scan_records::<ConversationRecord>(Table::Conversations, &[]) {
            let (_, conversation) = entry?;
            if filter.accepts(&conversation) {
                found.push(conversation);
            }
        }
        found.sort_by(|a, b| {
            b.last_activity_at
                .cmp(&a.last_activity_at)
                .then(b.id.cmp(&a.id))
        });
        Ok(found)
    }

    /// The timeline between one of our numbers and a contact, oldest first.
    pub fn timeline(
        &self,
        our_number: &str,
        contact: &str,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        let mut prefix = pair_key(our_number, contact);
        prefix.push(0);
        self.scan_records(Table::Timeline, &prefix)
            .map(|entry| entry.map(|(_, entry)| entry))
            .collect()
    }

    /// One timeline entry by its key.
    pub fn timeline_entry(&self, key: &[u8]) -> Result<Option<TimelineEntry>, StoreError> {
        self.read(Table::Timeline, key)
    }

    /// The timeline key of a conversation message the provider knows as `provider_id`.
    pub fn conversation_receipt(&self, provider_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.backend()
            .get(Table::ConversationReceipts, provider_id.as_bytes())
    }

    /// Conversation wake-ups due at `now`, earliest first, at most `limit`.
    pub fn due_conversation_wakes(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Wake>, StoreError> {
        let mut end = instant_key(now).to_vec();
        end.extend_from_slice(&[0xff; 17]);
        let keys = self
            .backend()
            .range_keys(Table::ConversationTimers, &[0u8; 25], &end, limit)?;
        Ok(keys.iter().filter_map(|key| Wake::from_key(key)).collect())
    }

    /// The earliest conversation wake-up.
    pub fn next_conversation_wake(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        match self.backend().scan(Table::ConversationTimers, &[]).next() {
            Some(entry) => Ok(Wake::from_key(&entry?.0).map(|wake| wake.at)),
            None => Ok(None),
        }
    }

    /// Every opt-in and opt-out of a number, oldest first.
    pub fn consent_history(&self, phone: &str) -> Result<Vec<ConsentRecord>, StoreError> {
        let mut prefix = phone.as_bytes().to_vec();
        prefix.push(0);
        self.scan_records(Table::Consent, &prefix)
            .map(|entry| entry.map(|(_, record)| record))
            .collect()
    }

    /// The suppression list: each opted-out number with its latest opt-out (numbers
    /// suppressed before the consent log existed have a record with what is known).
    pub fn suppression_list(&self) -> Result<Vec<ConsentRecord>, StoreError> {
        let mut list = Vec::new();
        for entry in self.backend().scan(Table::Suppression, &[]) {
            let (key, bytes) = entry?;
            list.push(suppression_entry(&String::from_utf8_lossy(&key), &bytes));
        }
        Ok(list)
    }

    /// The latest opt-out of a suppressed number; `None` when it is not suppressed.
    pub fn suppression(&self, phone: &str) -> Result<Option<ConsentRecord>, StoreError> {
        Ok(self
            .backend()
            .get(Table::Suppression, phone.as_bytes())?
            .map(|bytes| suppression_entry(phone, &bytes)))
    }
}

/// A suppression table entry as a consent record. Numbers suppressed before the consent log
/// existed hold a JSON note instead: they read as an opt-out of unknown time and origin, the
/// note as its detail.
fn suppression_entry(phone: &str, bytes: &[u8]) -> ConsentRecord {
    match decode::<ConsentRecord>(bytes) {
        Ok(record) => ConsentRecord {
            phone: phone.to_string(),
            ..record
        },
        Err(_) => ConsentRecord {
            phone: phone.to_string(),
            opted_out: true,
            at: DateTime::<Utc>::UNIX_EPOCH,
            how: super::records::ConsentSource::Import,
            who: String::new(),
            detail: String::from_utf8_lossy(bytes.get(1..).unwrap_or_default()).into_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wake_keys_round_trip_and_sort_by_time() {
        let at = |s| DateTime::from_timestamp(s, 0).unwrap_or_default();
        let early = Wake {
            at: at(1_800_000_000),
            conversation: 9,
            kind: WakeKind::Escalate,
            seq: 0,
        };
        let late = Wake {
            at: at(1_800_000_001),
            conversation: 1,
            kind: WakeKind::Send,
            seq: 4,
        };
        assert_eq!(Wake::from_key(&early.key()), Some(early.clone()));
        assert_eq!(Wake::from_key(&late.key()), Some(late.clone()));
        assert!(early.key() < late.key());
    }

    #[test]
    fn timelines_of_two_contacts_do_not_mix() {
        // "+1416555010" is a prefix of "+14165550101": the separator keeps them apart.
        let a = timeline_key("+1800", "+1416555010", 7);
        let mut prefix_b = pair_key("+1800", "+14165550101");
        prefix_b.push(0);
        assert!(!a.starts_with(&prefix_b));
    }
}
