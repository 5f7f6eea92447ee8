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

/// Pages appended to the log after which the checkpoint thread copies them
/// (SQLite's own default).
const PAGES_PER_CHECKPOINT: i32 = 1000;
/// Pages in the log after which the writer finishes the checkpoint itself,
/// so that the log starts over (about 16 MiB of log with 4 KiB pages).
const PAGES_BEFORE_WRITER_CHECKPOINTS: i32 = 4 * PAGES_PER_CHECKPOINT;

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
        writer.wal_hook(Some(after_commit(nudge, Arc::clone(&copied))))?;
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
/// nudges the thread when enough are left to copy, and finishes the
/// checkpoint itself when the log has grown too long.
fn after_commit(
    nudge: mpsc::SyncSender<()>,
    copied: Arc<AtomicI32>,
) -> impl FnMut(&mut Wal, c_int) -> rusqlite::Result<()> + Send + 'static {
    let mut stop_reported = false;
    move |wal, pages| {
        let copied = copied.load(Ordering::Relaxed);
        // Fewer pages than were copied means the log has started over.
        let uncopied = if pages < copied {
            pages
        } else {
            pages - copied
        };
        if uncopied >= PAGES_PER_CHECKPOINT
            && let Err(TrySendError::Disconnected(())) = nudge.try_send(())
            && !stop_reported
        {
            tracing::error!("the checkpoint thread has stopped; the writer checkpoints alone");
            stop_reported = true;
        }
        // Busy while the thread is copying; a later commit tries again.
        if pages >= PAGES_BEFORE_WRITER_CHECKPOINTS
            && let Err(e) = wal.checkpoint_v2(CheckpointMode::PASSIVE)
            && !is_busy(&e)
        {
            tracing::warn!(error = %e, "failed to checkpoint the database");
        }
        // An error here would make SQLite report a commit that has already
        // happened as failed, and the writer would apply its jobs again.
        Ok(())
    }
}

/// The thread: a checkpoint each time the writer nudges it.
fn copy_when_nudged(conn: &Connection, nudged: &mpsc::Receiver<()>, copied: &AtomicI32) {
    while nudged.recv().is_ok() {
        match conn.wal_checkpoint_v2(None::<&str>, CheckpointMode::PASSIVE) {
            Ok((_, done)) => copied.store(done, Ordering::Relaxed),
            // Another checkpoint is running; this one is not needed.
            Err(e) if is_busy(&e) => {}
            Err(e) => tracing::error!(error = %e, "failed to checkpoint the database"),
        }
    }
}

/// Whether a checkpoint did not run because another one was running.
fn is_busy(error: &rusqlite::Error) -> bool {
    error.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
}
