//! The sled implementation of [`crate::store::Backend`]: one sled tree per table, and one
//! multi-tree sled transaction per [`Changes`] (group commit), flushed before it returns when
//! it holds a send intent.

use std::path::Path;

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use crate::store::{Backend, Changes, Entry, StoreError, Table};

/// sled's page cache. Its default (1 GB) is sized for a database server; campaigns stream
/// through the store, so a bounded cache keeps the daemon's memory flatter.
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// sled, one tree per [`Table`].
#[derive(Debug, Clone)]
pub struct SledBackend {
    db: sled::Db,
    /// Indexed by [`Table::index`].
    trees: Vec<sled::Tree>,
}

impl From<sled::Error> for StoreError {
    fn from(error: sled::Error) -> Self {
        StoreError::Backend(format!("sled: {error}"))
    }
}

impl SledBackend {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(CACHE_BYTES)
            .open()
            .map_err(|error| match &error {
                // sled locks the directory; a second process gets WouldBlock from the lock call.
                sled::Error::Io(io)
                    if io.kind() == std::io::ErrorKind::WouldBlock
                        || io.to_string().contains("lock") =>
                {
                    StoreError::Locked(dir.display().to_string())
                }
                _ => StoreError::from(error),
            })?;
        Self::from_db(db)
    }

    /// A database in a temporary directory, removed on drop.
    pub fn temporary() -> Result<Self, StoreError> {
        Self::from_db(
            sled::Config::new()
                .temporary(true)
                .cache_capacity(CACHE_BYTES)
                .open()?,
        )
    }

    fn from_db(db: sled::Db) -> Result<Self, StoreError> {
        let trees = Table::ALL
            .iter()
            .map(|table| db.open_tree(table.name()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { db, trees })
    }

    fn tree(&self, table: Table) -> &sled::Tree {
        &self.trees[table.index()]
    }
}

impl Backend for SledBackend {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.tree(table).get(key)?.map(|value| value.to_vec()))
    }

    fn scan(
        &self,
        table: Table,
        prefix: &[u8],
    ) -> Box<dyn Iterator<Item = Result<Entry, StoreError>> + '_> {
        Box::new(self.tree(table).scan_prefix(prefix).map(|entry| {
            entry
                .map(|(key, value)| (key.to_vec(), value.to_vec()))
                .map_err(StoreError::from)
        }))
    }

    fn range_keys(
        &self,
        table: Table,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        self.tree(table)
            .range(start..=end)
            .keys()
            .take(limit)
            .map(|key| key.map(|key| key.to_vec()).map_err(StoreError::from))
            .collect()
    }

    fn apply(&self, changes: &Changes) -> Result<(), StoreError> {
        // Only the trees a change touches take part in its transaction: each tree in a sled
        // transaction costs, and most changes touch three or four of the nineteen.
        let mut slot_of: [Option<usize>; Table::ALL.len()] = [None; Table::ALL.len()];
        let mut trees: Vec<&sled::Tree> = Vec::new();
        let mut batches: Vec<sled::Batch> = Vec::new();
        let mut slot = |table: Table| {
            *slot_of[table.index()].get_or_insert_with(|| {
                trees.push(self.tree(table));
                trees.len() - 1
            })
        };
        for (table, key, value) in changes.writes() {
            let index = slot(*table);
            if batches.len() <= index {
                batches.resize_with(index + 1, sled::Batch::default);
            }
            match value {
                Some(value) => batches[index].insert(key.as_slice(), value.as_slice()),
                None => batches[index].remove(key.as_slice()),
            }
        }
        let counters = (!changes.counter_deltas().is_empty()).then(|| slot(Table::Counters));
        let outbox = changes.holds_intent().then(|| slot(Table::Outbox));
        if trees.is_empty() {
            return Ok(());
        }
        batches.resize_with(trees.len(), sled::Batch::default);
        let result = trees.as_slice().transaction(|tx| {
            for (index, batch) in batches.iter().enumerate() {
                tx[index].apply_batch(batch)?;
            }
            if let Some(counters) = counters {
                for (key, delta) in changes.counter_deltas() {
                    let current = tx[counters].get(key)?.map_or(0, |v| {
                        v.as_ref().try_into().map(u64::from_be_bytes).unwrap_or(0)
                    });
                    let next = (current as i64).saturating_add(*delta).max(0) as u64;
                    tx[counters].insert(key.as_slice(), &next.to_be_bytes())?;
                }
            }
            if let Some(outbox) = outbox {
                // Durable before the provider is called: a crash must not forget an intent.
                tx[outbox].flush();
            }
            Ok::<(), ConflictableTransactionError<()>>(())
        });
        match result {
            Ok(()) | Err(TransactionError::Abort(())) => Ok(()),
            Err(TransactionError::Storage(error)) => Err(error.into()),
        }
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    fn generate_id(&self) -> Result<u64, StoreError> {
        Ok(self.db.generate_id()?)
    }
}
