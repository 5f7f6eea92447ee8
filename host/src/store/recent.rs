//! The children the writer stored lately, as it stored them.
//!
//! Children recur: the same user or group is named by event after event.
//! Without this memory each one costs the writer two reads (its row, then
//! its index rows) only to learn that nothing has changed, about a seventh
//! of the writer's time under load. A child found here, unchanged, is
//! linked with no read at all.
//!
//! What is here must be what the database holds, so the writer forgets all
//! of it whenever that may no longer be so: when a job or a whole group of
//! jobs fails and is rolled back, when it removes nodes (a retention sweep,
//! an erasure), and when another connection, such as `eventpush
//! erase-subject` in another process, has committed since the writer last
//! looked.

use hashlink::LruCache;
use rusqlite::Connection;

/// How many children are remembered at most; the least recently used go
/// first. An entry holds a child's encoded attributes and index rows, a
/// few hundred bytes for a typical user or group, so this is some 10 MiB
/// at worst.
const CAPACITY: usize = 16_384;

/// A child as the database holds it.
#[derive(Debug)]
pub(super) struct Stored {
    /// Its row ID.
    pub id: i64,
    /// Its attributes, encoded as stored.
    pub attributes: String,
    /// Its index rows, sorted.
    pub indexed: Vec<(String, String)>,
}

/// A child's key: its datasource, entity and unique ID.
type Key = (String, String, String);

/// The children stored lately, by key.
pub(super) struct RecentChildren {
    children: LruCache<Key, Stored>,
    /// `PRAGMA data_version` when last read: it changes when another
    /// connection commits.
    data_version: Option<i64>,
}

impl RecentChildren {
    /// An empty memory that holds at most [`CAPACITY`] children.
    pub fn new() -> Self {
        Self {
            children: LruCache::new(CAPACITY),
            data_version: None,
        }
    }

    /// Forgets everything if another connection has committed since the
    /// last call. Called inside each write transaction, where the writer
    /// sees the newest state.
    pub fn check_others(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        let now: i64 = conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        if self.data_version != Some(now) {
            self.forget();
            self.data_version = Some(now);
        }
        Ok(())
    }

    /// The child with this key, if it is remembered.
    pub fn get(&mut self, datasource: &str, entity: &str, unique_id: &str) -> Option<&Stored> {
        self.children.get(&(
            datasource.to_owned(),
            entity.to_owned(),
            unique_id.to_owned(),
        ))
    }

    /// Remembers a child as it has just been stored.
    pub fn put(&mut self, datasource: &str, entity: &str, unique_id: &str, stored: Stored) {
        self.children.insert(
            (
                datasource.to_owned(),
                entity.to_owned(),
                unique_id.to_owned(),
            ),
            stored,
        );
    }

    /// Forgets every child.
    pub fn forget(&mut self) {
        self.children.clear();
    }
}
