//! Storage in SQLite: the graph, the event-stream log and the tokens.
//!
//! One writer thread owns the only writing connection. Requests hand it their
//! work over a channel and wait for the answer; the writer takes every job
//! that is waiting, applies them one after the other, and commits them
//! together (group commit); should one of them fail, the group is applied
//! again with each job in a savepoint of its own, so that only the failing
//! one is undone. An answer is sent only once that commit is durable (see
//! `log_sync`), so a caller that got `Ok` knows its events are. A thread
//! of its own copies the write-ahead log into the database file (see
//! `checkpoint`). Reads use a small pool of separate connections, which
//! WAL mode lets run beside the writer.

mod checkpoint;
mod log_sync;
pub mod read;
mod recent;
mod schema;
pub mod tokens;
mod write;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

pub use schema::VERSION as SCHEMA_VERSION;
pub use write::{Ingest, LogEntry, erase_subject};

use crate::graph::Summary;

/// How many jobs the writer commits together at most.
const GROUP_COMMIT_MAX: usize = 256;
/// How many idle read connections are kept.
const READERS_KEPT: usize = 8;
/// The size, in bytes, to which the write-ahead log's file is cut back when
/// the log starts over.
const LOG_SIZE_LIMIT: i64 = 64 << 20;

/// Why storage failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("database error")]
    Sqlite(#[from] rusqlite::Error),
    /// Attributes could not be written as JSON.
    #[error("failed to encode attributes")]
    Json(#[from] serde_json::Error),
    /// The database directory could not be created.
    #[error("failed to create the database directory `{}`", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// SQLite could not put the database in WAL mode.
    #[error(
        "the database `{}` cannot use a write-ahead log (it stays in `{mode}` mode); put it on a local file system",
        path.display()
    )]
    NoWal {
        /// The database.
        path: PathBuf,
        /// The journal mode SQLite kept.
        mode: String,
    },
    /// The database's write-ahead log could not be opened for syncing.
    #[error("failed to open the log of the database `{}`", database.display())]
    OpenLog {
        /// The database.
        database: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The database was written by a newer eventpush.
    #[error("the database has schema version {found}, newer than this binary's {supported}")]
    NewerSchema {
        /// The version found in the file.
        found: i64,
        /// The version this binary knows.
        supported: i64,
    },
    /// The writer thread is gone (the server is shutting down).
    #[error("the database writer has stopped")]
    Closed,
    /// A commit was written but could not be synced to disk, or writes are
    /// refused since one could not.
    #[error(
        "the database could not be synced to disk; writes are refused until eventpush restarts"
    )]
    NotDurable,
    /// The commit of the request's group failed (its cause is logged).
    #[error("the database commit failed")]
    CommitFailed,
    /// A blocking task panicked or was cancelled.
    #[error("a database task failed")]
    Task(#[from] tokio::task::JoinError),
}

/// What a retention sweep removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiring {
    /// Events of the graph.
    Events,
    /// Entries of the event-stream log.
    Log,
}

/// Durability of commits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Durability {
    /// A commit survives power loss: the writer's log is synced before it
    /// is answered (see `log_sync`), and every other connection uses
    /// `synchronous=FULL`. The default.
    #[default]
    Full,
    /// `synchronous=NORMAL`: a commit survives a crash of the process, not of the machine.
    Relaxed,
}

enum Job {
    Ingest(
        Box<write::Prepared>,
        oneshot::Sender<Result<Summary, StoreError>>,
    ),
    Sweep(write::Sweep, oneshot::Sender<Result<usize, StoreError>>),
    Erase(String, oneshot::Sender<Result<usize, StoreError>>),
    Log(Box<LogEntry>, oneshot::Sender<Result<(), StoreError>>),
    TouchToken(String, i64),
}

/// A handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    jobs: mpsc::Sender<Job>,
    readers: Arc<Readers>,
    closed: Arc<Mutex<Option<Closed>>>,
    /// Set once a commit could not be synced to disk: from then on every
    /// write is refused (see `log_sync`).
    refusing: Arc<AtomicBool>,
}

/// The writer thread's notice that the database is closed.
pub struct Closed(std::sync::mpsc::Receiver<()>);

impl Closed {
    /// Waits up to `timeout` for the writer to close the database; whether it did.
    pub fn wait(self, timeout: std::time::Duration) -> bool {
        // The sender is dropped, unsent, only if the thread panicked.
        self.0.recv_timeout(timeout).is_ok()
    }
}

struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

/// Opens a connection with the settings every connection uses, creating the
/// file and its directory when missing, and migrates the schema.
pub fn open_connection(path: &Path, durability: Durability) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
    }
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // Readers beside the writer, and the log synced beside it, need WAL
    // mode; SQLite keeps the old mode where the file system cannot share
    // memory between connections (some network file systems).
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::NoWal {
            path: path.to_owned(),
            mode,
        });
    }
    let synchronous = match durability {
        Durability::Full => "FULL",
        Durability::Relaxed => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", synchronous)?;
    // Savepoints (and statements that may have to be undone) keep the pages
    // they may restore in a statement journal: a temp file by default,
    // whose writes were nine in ten of the writer's system calls when every
    // request had a savepoint. Temporary data stays in memory instead.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // When the log starts over, its file is cut back to this size: a log
    // that grew behind a long read transaction gives the disk space back.
    // Checkpoints keep it well under this in steady use, where it is reused
    // as it is.
    conn.pragma_update(None, "journal_size_limit", LOG_SIZE_LIMIT)?;
    // The writer alone runs more distinct statements than rusqlite's default
    // cache of 16 holds; past it, statements were compiled again per use.
    conn.set_prepared_statement_cache_capacity(64);
    schema::migrate(&mut conn)?;
    Ok(conn)
}

impl Store {
    /// Opens (or creates) the database at `path` and starts its writer thread.
    pub fn open(path: &Path, durability: Durability) -> Result<Self, StoreError> {
        let mut conn = open_connection(path, durability)?;
        let checkpointer = checkpoint::Checkpointer::start(&mut conn, path, durability)?;
        let refusing = Arc::new(AtomicBool::new(false));
        let log_sync = match durability {
            Durability::Full => {
                // The log is synced beside the writer instead of in each commit.
                conn.pragma_update(None, "synchronous", "NORMAL")?;
                Some(log_sync::LogSync::start(path, Arc::clone(&refusing))?)
            }
            Durability::Relaxed => None,
        };
        let (jobs, queue) = mpsc::channel(1024);
        let (closed_tx, closed) = std::sync::mpsc::channel();
        let refusing_writer = Arc::clone(&refusing);
        std::thread::Builder::new()
            .name("eventpush-store".into())
            .spawn(move || {
                write::run(conn, queue, GROUP_COMMIT_MAX, log_sync, &refusing_writer);
                checkpointer.join();
                let _ = closed_tx.send(());
            })
            .expect("failed to spawn the database writer thread");
        Ok(Self {
            jobs,
            readers: Arc::new(Readers {
                path: path.to_owned(),
                idle: Mutex::new(Vec::new()),
            }),
            closed: Arc::new(Mutex::new(Some(Closed(closed)))),
            refusing,
        })
    }

    /// Whether writes are taken: false once a commit could not be synced to
    /// disk, until eventpush restarts.
    pub fn writable(&self) -> bool {
        !self.refusing.load(Ordering::Relaxed)
    }

    /// What tells when the writer has committed its last job and closed
    /// the database, which it does once every handle is dropped. Given once.
    pub fn closed(&self) -> Option<Closed> {
        self.closed.lock().expect("store handle poisoned").take()
    }

    /// Stores the events of one request and its log entry; returns once both
    /// are committed durably, with the summary the writer settled.
    pub async fn ingest(&self, ingest: Ingest) -> Result<Summary, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job::Ingest(Box::new(ingest.prepare()?), reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Records a request that stored nothing (refused, or answered by its
    /// mapper); returns once the entry is committed, like an ingest.
    pub async fn log(&self, entry: LogEntry) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job::Log(Box::new(entry), reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Removes events (with their edges and the children no other event
    /// names) or log entries of `datasource` received before `cutoff` (Unix
    /// microseconds), at most `batch` of them. Returns how many went; call
    /// again while it returns `batch`, so intake interleaves with the sweep.
    pub async fn sweep(
        &self,
        datasource: &str,
        what: Expiring,
        cutoff: i64,
        batch: usize,
    ) -> Result<usize, StoreError> {
        let (reply, answer) = oneshot::channel();
        let sweep = write::Sweep {
            datasource: datasource.to_owned(),
            what,
            cutoff,
            batch,
        };
        self.jobs
            .send(Job::Sweep(sweep, reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Erases everything stored about `subject` (privacy requests); returns
    /// how many events went.
    pub async fn erase(&self, subject: &str) -> Result<usize, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job::Erase(subject.to_owned(), reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Notes that a token was used at `when` (Unix microseconds).
    pub fn touch_token(&self, id: String, when: i64) {
        // Best effort: a full queue only delays the last-use time.
        let _ = self.jobs.try_send(Job::TouchToken(id, when));
    }

    /// Runs `f` on a read connection: on the calling thread when an open
    /// one is idle, else as [`Store::read`] does. Only for reads that take
    /// microseconds, such as a lookup by primary key, for which the hop to a
    /// blocking thread costs more than the read; opening a connection does
    /// not take microseconds, so it never happens here.
    pub async fn read_now<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let idle = self
            .readers
            .idle
            .lock()
            .expect("reader pool poisoned")
            .pop();
        match idle {
            Some(conn) => {
                let result = f(&conn);
                self.readers.give_back(conn);
                result
            }
            None => self.read(f).await,
        }
    }

    /// Runs `f` on a read connection, off the async runtime.
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let conn = readers.take()?;
            let result = f(&conn);
            readers.give_back(conn);
            result
        })
        .await?
    }
}

impl Readers {
    fn take(&self) -> Result<Connection, StoreError> {
        if let Some(conn) = self.idle.lock().expect("reader pool poisoned").pop() {
            return Ok(conn);
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().expect("reader pool poisoned");
        if idle.len() < READERS_KEPT {
            idle.push(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, json};

    use super::*;
    use crate::graph::{Child, Event};
    use crate::store::read::{SubjectQuery, events_of_subject, nodes_by_attributes};

    fn event(id: &str, event_type: &str, child: &str) -> Event {
        Event {
            entity: "Login".into(),
            event_type: event_type.into(),
            unique_id: id.into(),
            subject: "ann".into(),
            attributes: Map::from_iter([("id".to_owned(), json!(id))]),
            indexed: vec![("id".into(), id.into())],
            children: vec![Child {
                entity: "Target".into(),
                unique_id: child.into(),
                attributes: Map::from_iter([("seen_in".to_owned(), json!(id))]),
                indexed: vec![("id".into(), child.into())],
                children: Vec::new(),
            }],
        }
    }

    fn ingest(events: Vec<Event>, at: i64, cap: usize) -> Ingest {
        Ingest {
            datasource: "ds".into(),
            received_at: at,
            token_id: None,
            max_types_per_subject: cap,
            events: events.into_iter().enumerate().collect(),
            summary: Summary::default(),
            mapper: None,
        }
    }

    async fn subject_events(store: &Store) -> Vec<String> {
        let q = SubjectQuery {
            subject: "ann".into(),
            limit: 100,
            ..Default::default()
        };
        let page = store.read(move |c| events_of_subject(c, &q)).await.unwrap();
        page.items.into_iter().map(|n| n.id).collect()
    }

    async fn targets(store: &Store) -> Vec<(String, Value)> {
        let page = store
            .read(|c| nodes_by_attributes(c, "ds", "Target", &[], None, 100))
            .await
            .unwrap();
        page.items
            .into_iter()
            .map(|n| (n.id, n.attributes))
            .collect()
    }

    use serde_json::Value;

    /// A store on a new database in a temporary directory, kept while used.
    fn open_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite"), Durability::Full).unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn redelivery_is_a_duplicate_and_shared_children_take_the_newest() {
        let (_dir, store) = open_store();
        let first = store
            .ingest(ingest(vec![event("e1", "login", "t1")], 1, 50))
            .await
            .unwrap();
        assert_eq!((first.accepted, first.duplicates), (1, 0));
        let again = store
            .ingest(ingest(
                vec![event("e1", "login", "t1"), event("e2", "login", "t1")],
                2,
                50,
            ))
            .await
            .unwrap();
        assert_eq!((again.accepted, again.duplicates), (1, 1));
        assert_eq!(subject_events(&store).await, vec!["e2", "e1"]);
        assert_eq!(
            targets(&store).await,
            vec![("t1".into(), json!({"seen_in": "e2"}))]
        );
    }

    #[tokio::test]
    async fn refuses_a_type_beyond_the_subject_cap_and_names_it() {
        let (_dir, store) = open_store();
        let batch = vec![
            event("a", "one", "t"),
            event("b", "two", "t"),
            event("c", "one", "t"),
        ];
        let summary = store.ingest(ingest(batch, 1, 1)).await.unwrap();
        assert_eq!(summary.accepted, 2);
        assert_eq!(summary.rejected.len(), 1);
        assert_eq!(summary.rejected[0].index, 1);
        assert!(
            summary.rejected[0].reason.contains("`two`"),
            "{:?}",
            summary.rejected
        );
    }

    #[tokio::test]
    async fn a_redelivery_is_a_duplicate_even_under_a_type_past_the_cap() {
        let (_dir, store) = open_store();
        let first = store
            .ingest(ingest(vec![event("a", "one", "t")], 1, 1))
            .await
            .unwrap();
        assert_eq!(first.accepted, 1);
        let again = store
            .ingest(ingest(
                vec![event("a", "two", "t"), event("b", "two", "t")],
                2,
                1,
            ))
            .await
            .unwrap();
        assert_eq!((again.accepted, again.duplicates), (0, 1));
        let refused: Vec<usize> = again.rejected.iter().map(|r| r.index).collect();
        assert_eq!(refused, [1]);
    }

    #[test]
    fn every_connection_sets_the_size_a_grown_log_is_cut_back_to() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open_connection(&dir.path().join("db.sqlite"), Durability::Full).unwrap();

        let limit: i64 = conn
            .pragma_query_value(None, "journal_size_limit", |row| row.get(0))
            .unwrap();

        assert_eq!(limit, LOG_SIZE_LIMIT);
    }

    #[test]
    fn a_database_that_cannot_use_a_write_ahead_log_is_refused_with_the_reason() {
        // SQLite keeps an in-memory database in `memory` mode, as it keeps
        // one on a file system without shared memory in its old mode.
        let refused = open_connection(Path::new(":memory:"), Durability::Full).err();
        let Some(StoreError::NoWal { mode, .. }) = &refused else {
            panic!("expected NoWal, got {refused:?}");
        };
        assert_eq!(mode, "memory");
        assert!(refused.unwrap().to_string().contains("local file system"));
    }

    #[tokio::test]
    async fn one_datasource_cannot_use_up_the_types_of_another() {
        let (_dir, store) = open_store();
        let full = store
            .ingest(ingest(vec![event("a", "one", "t")], 1, 1))
            .await
            .unwrap();
        let mut other = ingest(vec![event("b", "two", "t")], 2, 1);
        other.datasource = "other".into();
        let elsewhere = store.ingest(other).await.unwrap();

        assert_eq!(full.accepted, 1);
        assert_eq!(elsewhere.accepted, 1, "{elsewhere:?}");
    }

    #[tokio::test]
    async fn a_child_seen_again_gets_the_index_rows_its_template_now_asks_for() {
        let (_dir, store) = open_store();
        let first = event("e1", "one", "shared");
        let mut second = event("e2", "one", "shared");
        // The same attributes, as a reloaded template that indexes more of them reads them.
        second.children[0].attributes = first.children[0].attributes.clone();
        second.children[0]
            .indexed
            .push(("seen_in".into(), "e1".into()));
        store.ingest(ingest(vec![first], 10, 50)).await.unwrap();
        store.ingest(ingest(vec![second], 20, 50)).await.unwrap();

        let filter = vec![read::NodeFilter::Attribute("seen_in".into(), "e1".into())];
        let found = store
            .read(move |c| nodes_by_attributes(c, "ds", "Target", &filter, None, 10))
            .await
            .unwrap();
        assert_eq!(found.items.len(), 1);
    }

    #[tokio::test]
    async fn a_child_seen_again_unchanged_is_not_rewritten() {
        let (_dir, store) = open_store();
        let with_index = |id: &str| {
            let mut event = event(id, "one", "shared");
            let child = &mut event.children[0];
            child.attributes = Map::from_iter([("name".to_owned(), json!("Shared"))]);
            // Indexed pairs as a template lists them, not in sorted order.
            child.indexed = vec![
                ("type".into(), "group".into()),
                ("id".into(), "shared".into()),
                ("alternate".into(), "Shared".into()),
            ];
            event
        };
        store
            .ingest(ingest(vec![with_index("e1")], 10, 50))
            .await
            .unwrap();
        store
            .ingest(ingest(vec![with_index("e2")], 20, 50))
            .await
            .unwrap();

        let updated_at: i64 = store
            .read(|c| {
                Ok(c.query_row(
                    "SELECT updated_at FROM nodes WHERE unique_id = 'shared'",
                    [],
                    |r| r.get(0),
                )?)
            })
            .await
            .unwrap();
        assert_eq!(updated_at, 10, "the unchanged child was written again");
    }

    #[tokio::test]
    async fn log_sweep_removes_old_entries_behind_newer_ones() {
        let (_dir, store) = open_store();
        // Entries are numbered when committed, not when received: a newer
        // entry can come first, for example after the clock went back.
        for at in [500, 10, 20, 600, 30] {
            let entry = LogEntry {
                datasource: "ds".into(),
                received_at: at,
                status: 401,
                error: None,
                mapper: None,
            };
            store.log(entry).await.unwrap();
        }

        assert_eq!(store.sweep("ds", Expiring::Log, 100, 2).await.unwrap(), 2);
        assert_eq!(store.sweep("ds", Expiring::Log, 100, 2).await.unwrap(), 1);
        assert_eq!(store.sweep("ds", Expiring::Log, 100, 2).await.unwrap(), 0);
        let left: i64 = store
            .read(|c| Ok(c.query_row("SELECT COUNT(*) FROM request_log", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(left, 2);
    }

    #[tokio::test]
    async fn sweep_removes_expired_events_and_their_orphaned_children_only() {
        let (_dir, store) = open_store();
        store
            .ingest(ingest(
                vec![event("old", "one", "shared"), event("old2", "two", "alone")],
                10,
                50,
            ))
            .await
            .unwrap();
        store
            .ingest(ingest(vec![event("new", "one", "shared")], 100, 50))
            .await
            .unwrap();

        assert_eq!(store.sweep("ds", Expiring::Events, 50, 1).await.unwrap(), 1);
        assert_eq!(
            store.sweep("ds", Expiring::Events, 50, 10).await.unwrap(),
            1
        );
        assert_eq!(
            store.sweep("ds", Expiring::Events, 50, 10).await.unwrap(),
            0
        );

        assert_eq!(subject_events(&store).await, vec!["new"]);
        let kept: Vec<_> = targets(&store)
            .await
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(kept, vec!["shared"]);
        // The type `two` is gone with its last event, so the cap counts it no more.
        let summary = store
            .ingest(ingest(vec![event("x", "three", "t")], 200, 2))
            .await
            .unwrap();
        assert_eq!(summary.accepted, 1);
    }

    /// Stores `requests` requests of ten 2 KB events from each of eight
    /// concurrent writers.
    async fn write_padded(store: &Store, requests: usize) {
        let padding = json!("x".repeat(2000));
        let mut writers = tokio::task::JoinSet::new();
        for writer in 0..8 {
            let store = store.clone();
            let padding = padding.clone();
            writers.spawn(async move {
                for request in 0..requests {
                    let events = (0..10)
                        .map(|i| {
                            let mut event = event(&format!("{writer}-{request}-{i}"), "login", "t");
                            event.attributes.insert("padding".into(), padding.clone());
                            event
                        })
                        .collect();
                    let summary = store.ingest(ingest(events, 1, 50)).await.unwrap();
                    assert_eq!(summary.accepted, 10);
                }
            });
        }
        writers.join_all().await;
    }

    /// The size of the database file with `suffix` added to its name.
    fn file_size(path: &std::path::Path, suffix: &str) -> u64 {
        let mut name = path.to_owned().into_os_string();
        name.push(suffix);
        std::fs::metadata(name).unwrap().len()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_is_copied_into_the_database_while_the_writer_goes_on() {
        let (dir, store) = open_store();
        let path = dir.path().join("db.sqlite");
        // 960 events of 2 KB: a log past the 1,000 pages after which the
        // thread copies them, short of the size at which the writer does.
        write_padded(&store, 12).await;

        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while file_size(&path, "") < 2 << 20 {
            assert!(
                std::time::Instant::now() < deadline,
                "no page was copied from the log ({} bytes) into the database ({} bytes)",
                file_size(&path, "-wal"),
                file_size(&path, "")
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_starts_over_under_steady_writes() {
        let (dir, store) = open_store();
        let path = dir.path().join("db.sqlite");
        // 8,000 events of 2 KB: some 4,000 pages of rows alone. A checkpoint
        // beside a writer that never pauses never lets the log start over.
        write_padded(&store, 100).await;

        assert!(
            file_size(&path, "") > 16 << 20,
            "the database file holds the rows"
        );
        assert!(
            file_size(&path, "-wal") < 24 << 20,
            "the log grew to {} bytes without starting over",
            file_size(&path, "-wal")
        );
    }
}
