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

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::{self, TrySendError};
use std::thread::JoinHandle;

use rusqlite::Connection;
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
        let copied_seen = Arc::clone(&copied);
        // Replaces SQLite's automatic checkpoint, which is a hook like this one.
        writer.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages| {
            let copied = copied_seen.load(Ordering::Relaxed);
            // Fewer pages than were copied means the log has started over.
            let uncopied = if pages < copied {
                pages
            } else {
                pages - copied
            };
            if uncopied >= PAGES_PER_CHECKPOINT {
                match nudge.try_send(()) {
                    Ok(()) | Err(TrySendError::Full(())) => {}
                    Err(TrySendError::Disconnected(())) => {
                        tracing::error!("the checkpoint thread has stopped");
                    }
                }
            }
            if pages >= PAGES_BEFORE_WRITER_CHECKPOINTS {
                // Busy while the thread is copying; the next commit tries again.
                let _ = wal.checkpoint_v2(CheckpointMode::PASSIVE);
            }
            // An error here would fail a commit that has already happened.
            Ok(())
        }))?;
        let thread = std::thread::Builder::new()
            .name("eventpush-checkpoint".into())
            .spawn(move || {
                while nudged.recv().is_ok() {
                    match conn.wal_checkpoint_v2(None::<&str>, CheckpointMode::PASSIVE) {
                        Ok((_, done)) => copied.store(done, Ordering::Relaxed),
                        // Another checkpoint is running; this one is not needed.
                        Err(e)
                            if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
                        }
                        Err(e) => tracing::error!(error = %e, "failed to checkpoint the database"),
                    }
                }
            })
            .expect("failed to spawn the checkpoint thread");
        Ok(Self(thread))
    }

    /// Waits for the thread to end, after the writer's connection is closed.
    pub(super) fn join(self) {
        let _ = self.0.join();
    }
}
