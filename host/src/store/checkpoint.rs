//! Checkpoints of the write-ahead log, mostly off the writer thread.
//!
//! SQLite's own checkpoint runs inside the commit that takes the log past
//! 1,000 pages: it copies those pages into the database file and syncs both
//! files while every waiting request waits too. Here a thread of its own
//! copies them, with a connection of its own, while the writer goes on.
//!
//! A checkpoint beside a busy writer never catches up: the writer appends
//! while it copies, and SQLite starts the log over only when a write begins
//! with every page already copied. So once the log is several times the
//! usual size, the writer finishes the checkpoint itself, right after a
//! commit, and then has only the pages appended since the last one to copy.

use std::ffi::c_int;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::{self, TrySendError};
use std::thread::JoinHandle;

use rusqlite::Connection;
use rusqlite::hooks::Wal;
use rusqlite::wal::CheckpointMode;

use super::{Durability, StoreError, open_connection};

/// When each step is taken, in pages of the log.
#[derive(Debug, Clone, Copy)]
struct Thresholds {
    /// Pages appended after which the checkpoint thread copies them.
    copy: i32,
    /// Pages in the log after which the writer finishes the checkpoint
    /// itself, so that the log starts over.
    writer: i32,
    /// Pages in the log after which it is reported as unable to start over,
    /// and again at each doubling.
    warn: i32,
}

/// SQLite's own default for the copy; 16 MiB of log (with 4 KiB pages) for
/// the writer's checkpoint; 256 MiB for the warning.
const THRESHOLDS: Thresholds = Thresholds {
    copy: 1000,
    writer: 4000,
    warn: 64_000,
};

/// The checkpoint thread, which ends once the writer's connection is closed.
pub(super) struct Checkpointer(JoinHandle<()>);

impl Checkpointer {
    /// Takes over checkpoints of the database that `writer` writes: the
    /// writer only nudges the thread after its commits.
    pub(super) fn start(
        writer: &mut Connection,
        path: &Path,
        durability: Durability,
    ) -> Result<Self, StoreError> {
        let conn = open_connection(path, durability)?;
        // One nudge waiting is enough; more would only repeat it.
        let (nudge, nudged) = mpsc::sync_channel::<()>(1);
        let copied = Arc::new(AtomicI32::new(0));
        // Replaces SQLite's automatic checkpoint, which is a hook like this one.
        writer.wal_hook(Some(after_commit(nudge, Arc::clone(&copied), THRESHOLDS)))?;
        let thread = std::thread::Builder::new()
            .name("eventpush-checkpoint".into())
            .spawn(move || copy_when_nudged(&conn, &nudged, &copied))
            .expect("failed to spawn the checkpoint thread");
        Ok(Self(thread))
    }

    /// Waits for the thread to end, after the writer's connection is closed.
    pub(super) fn join(self) {
        let _ = self.0.join();
    }
}

/// The writer's hook after each commit, given the pages now in the log:
/// nudges the thread when enough are left to copy, finishes the checkpoint
/// itself when the log has grown too long and only a few pages are left,
/// and says so when the log cannot start over.
fn after_commit(
    nudge: mpsc::SyncSender<()>,
    copied: Arc<AtomicI32>,
    at: Thresholds,
) -> impl FnMut(&mut Wal, c_int) -> rusqlite::Result<()> + Send + 'static {
    let mut stop_reported = false;
    let mut warn_at = at.warn;
    move |wal, pages| {
        let copied = copied.load(Ordering::Relaxed);
        // Fewer pages than were copied means the log has started over.
        let uncopied = if pages < copied {
            pages
        } else {
            pages - copied
        };
        if uncopied >= at.copy
            && let Err(TrySendError::Disconnected(())) = nudge.try_send(())
            && !stop_reported
        {
            tracing::error!("the checkpoint thread has stopped; the writer checkpoints alone");
            stop_reported = true;
        }
        // Only the last few pages: a backlog (left by a read transaction
        // that has just ended) is the thread's to copy, or every request
        // would wait while the writer copies it. Busy while the thread is
        // copying; a later commit tries again.
        if pages >= at.writer
            && (uncopied < at.writer || stop_reported)
            && let Err(e) = wal.checkpoint_v2(CheckpointMode::PASSIVE)
            && !is_busy(&e)
        {
            tracing::warn!(error = %e, "failed to checkpoint the database");
        }
        // A checkpoint copies no page that an open read transaction may
        // still need, and the log starts over only once all are copied.
        if pages < at.writer {
            warn_at = at.warn;
        } else if pages >= warn_at {
            tracing::warn!(
                log_pages = pages,
                "the database log keeps growing and cannot start over: another connection \
                 (a long query, or a tool left in a transaction) holds an old read transaction; \
                 the log starts over once that ends"
            );
            warn_at = warn_at.saturating_mul(2);
        }
        // An error here would make SQLite report a commit that has already
        // happened as failed, and the writer would apply its jobs again.
        Ok(())
    }
}

/// The thread: a checkpoint each time the writer nudges it.
fn copy_when_nudged(conn: &Connection, nudged: &mpsc::Receiver<()>, copied: &AtomicI32) {
    while nudged.recv().is_ok() {
        copy(conn, copied);
    }
}

/// Copies what it can of the log into the database, and notes how far the
/// copy got.
fn copy(conn: &Connection, copied: &AtomicI32) {
    match conn.wal_checkpoint_v2(None::<&str>, CheckpointMode::PASSIVE) {
        Ok((_, done)) => copied.store(done, Ordering::Relaxed),
        // Another checkpoint is running; this one is not needed.
        Err(e) if is_busy(&e) => {}
        Err(e) => tracing::error!(error = %e, "failed to checkpoint the database"),
    }
}

/// Whether a checkpoint did not run because another one was running.
fn is_busy(error: &rusqlite::Error) -> bool {
    error.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Small steps, so that a few hundred rows show each of them.
    const SMALL: Thresholds = Thresholds {
        copy: 10,
        writer: 40,
        warn: 160,
    };

    /// A database whose writer's log is checkpointed by the hook, with
    /// small thresholds, and by the thread's copy, which the test runs in
    /// its own thread when the writer has nudged it.
    struct Database {
        _dir: tempfile::TempDir,
        path: std::path::PathBuf,
        writer: Connection,
        nudged: mpsc::Receiver<()>,
        checkpointer: Connection,
        copied: Arc<AtomicI32>,
    }

    impl Database {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("db.sqlite");
            let mut writer = open_connection(&path, Durability::Relaxed).unwrap();
            writer
                .execute_batch("CREATE TABLE filler (x BLOB)")
                .unwrap();
            let (nudge, nudged) = mpsc::sync_channel::<()>(1);
            let copied = Arc::new(AtomicI32::new(0));
            writer
                .wal_hook(Some(after_commit(nudge, Arc::clone(&copied), SMALL)))
                .unwrap();
            let checkpointer = open_connection(&path, Durability::Relaxed).unwrap();
            Self {
                _dir: dir,
                path,
                writer,
                nudged,
                checkpointer,
                copied,
            }
        }

        /// A connection that holds a read transaction open until dropped.
        fn reader(&self) -> Connection {
            let reader = open_connection(&self.path, Durability::Relaxed).unwrap();
            reader
                .execute_batch("BEGIN; SELECT count(*) FROM filler;")
                .unwrap();
            reader
        }

        /// Commits `rows` rows of 4 KB, one a commit (about three log pages each),
        /// copying when nudged if `thread`.
        fn insert(&self, rows: usize, thread: bool) {
            for _ in 0..rows {
                self.writer
                    .execute("INSERT INTO filler VALUES (zeroblob(4000))", [])
                    .unwrap();
                if thread && self.nudged.try_recv().is_ok() {
                    copy(&self.checkpointer, &self.copied);
                }
            }
        }

        /// Pages in the log (after copying what can be copied).
        fn log_pages(&self) -> i32 {
            let (log, done) = self
                .checkpointer
                .wal_checkpoint_v2(None::<&str>, CheckpointMode::PASSIVE)
                .unwrap();
            self.copied.store(done, Ordering::Relaxed);
            log
        }
    }

    /// What `write` logged.
    fn logged(write: impl FnOnce()) -> String {
        let logged = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&logged);
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || SharedBuffer(Arc::clone(&sink)))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            // Whether a log line is wanted is cached for the whole process;
            // a test on another thread may have cached it while no
            // subscriber wanted it.
            tracing::callsite::rebuild_interest_cache();
            write();
        });
        String::from_utf8(logged.lock().unwrap().clone()).unwrap()
    }

    /// Log lines collected in memory.
    struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for SharedBuffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_log_held_by_an_open_read_transaction_is_reported_at_each_doubling() {
        let database = Database::new();
        let _reader = database.reader();

        let logged = logged(|| database.insert(350, true));

        let reported: Vec<i32> = logged
            .lines()
            .filter(|line| line.contains("cannot start over"))
            .filter_map(|line| line.rsplit("log_pages=").next()?.trim().parse().ok())
            .collect();
        // Once past 160 pages, once past each doubling of that: 320, 640.
        assert_eq!(reported.len(), 3, "{logged}");
        for (i, pages) in reported.iter().enumerate() {
            assert!(
                (SMALL.warn << i..SMALL.warn << (i + 1)).contains(pages),
                "{logged}"
            );
        }
    }

    #[test]
    fn a_log_that_starts_over_is_neither_long_nor_reported() {
        let database = Database::new();

        let logged = logged(|| database.insert(350, true));

        assert!(!logged.contains("cannot start over"), "{logged}");
        assert!(database.log_pages() < SMALL.writer);
    }

    #[test]
    fn a_backlog_is_left_to_the_thread_and_the_writer_finishes_what_remains() {
        let database = Database::new();
        let reader = database.reader();
        database.insert(40, false);
        drop(reader);
        let file = || std::fs::metadata(&database.path).unwrap().len();
        let before = file();

        // Over 100 pages not copied: the writer leaves them to the thread.
        database.insert(1, false);
        assert_eq!(file(), before);

        // Once the thread has copied them, the writer copies the last pages
        // itself, and the log starts over at the next commit.
        copy(&database.checkpointer, &database.copied);
        database.insert(2, false);
        assert!(database.log_pages() < SMALL.writer);
    }
}
