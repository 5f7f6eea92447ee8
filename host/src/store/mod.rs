//! Storage in SQLite: the graph, the event-stream log and the tokens.
//!
//! One writer thread owns the only writing connection. Requests hand it their
//! work over a channel and wait for the answer; the writer takes every job
//! that is waiting, applies each inside its own savepoint, and commits them
//! together (group commit). An answer is sent only after that commit, so a
//! caller that got `Ok` knows its events are durable. Reads use a small pool
//! of separate connections, which WAL mode lets run beside the writer.

pub mod read;
mod schema;
pub mod tokens;
mod write;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

pub use schema::VERSION as SCHEMA_VERSION;
pub use write::{Ingest, LogEntry};

use crate::graph::Summary;

/// How many jobs the writer commits together at most.
const GROUP_COMMIT_MAX: usize = 256;
/// How many idle read connections are kept.
const READERS_KEPT: usize = 8;

/// Why storage failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("database error")]
    Sqlite(#[from] rusqlite::Error),
    /// The database directory could not be created.
    #[error("failed to create the database directory `{}`", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
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
    /// A blocking task panicked or was cancelled.
    #[error("a database task failed")]
    Task(#[from] tokio::task::JoinError),
}

/// Durability of commits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=FULL`: a commit survives power loss. The default.
    #[default]
    Full,
    /// `synchronous=NORMAL`: a commit survives a crash of the process, not of the machine.
    Relaxed,
}

enum Job {
    Ingest(Box<Ingest>, oneshot::Sender<Result<Summary, StoreError>>),
    Log(Box<LogEntry>),
    TouchToken(String, i64),
}

/// A handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    jobs: mpsc::Sender<Job>,
    readers: Arc<Readers>,
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
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let synchronous = match durability {
        Durability::Full => "FULL",
        Durability::Relaxed => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", synchronous)?;
    schema::migrate(&mut conn)?;
    Ok(conn)
}

impl Store {
    /// Opens (or creates) the database at `path` and starts its writer thread.
    pub fn open(path: &Path, durability: Durability) -> Result<Self, StoreError> {
        let conn = open_connection(path, durability)?;
        let (jobs, queue) = mpsc::channel(1024);
        std::thread::Builder::new()
            .name("eventpush-store".into())
            .spawn(move || write::run(conn, queue, GROUP_COMMIT_MAX))
            .expect("failed to spawn the database writer thread");
        Ok(Self {
            jobs,
            readers: Arc::new(Readers {
                path: path.to_owned(),
                idle: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Stores the events of one request and its log entry; returns once both
    /// are committed durably, with the summary the writer settled.
    pub async fn ingest(&self, ingest: Ingest) -> Result<Summary, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job::Ingest(Box::new(ingest), reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Records a request that stored nothing (refused before extraction).
    /// The entry is committed with the next group; nothing waits for it.
    pub async fn log(&self, entry: LogEntry) {
        if self.jobs.send(Job::Log(Box::new(entry))).await.is_err() {
            tracing::warn!("the database writer has stopped; a log entry was not kept");
        }
    }

    /// Notes that a token was used at `when` (Unix microseconds).
    pub fn touch_token(&self, id: String, when: i64) {
        // Best effort: a full queue only delays the last-use time.
        let _ = self.jobs.try_send(Job::TouchToken(id, when));
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
