//! Answers sent once the write-ahead log is on disk, synced beside the writer.
//!
//! With `synchronous=FULL`, SQLite syncs the log inside every commit, and
//! the writer waits for the disk before it can apply the next group. With
//! the default durability the writer instead commits with
//! `synchronous=NORMAL`, under which SQLite still syncs the log before each
//! checkpoint and the database file after each complete one, and hands the
//! group's answers to this thread. The thread syncs the log file and only
//! then sends them, while the writer applies the next group. One sync
//! covers every commit written before it, so groups that wait at the same
//! time share it.
//!
//! Every answer still leaves only once its commit is on disk, so a 202
//! survives a power cut. What differs from `FULL`: a reader may see a
//! commit a moment before it is on disk, and after a power cut such a
//! commit, never answered, may be gone. A commit whose sync failed stays
//! committed although its requests are answered with an error; a sender
//! that retries is told its events are duplicates.

use std::fs::{File, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use super::StoreError;
use super::write::{Done, Reply, all_failed, answer};

/// A committed group: where each job's result goes, and the result.
type Group = (Vec<Reply>, Vec<Result<Done, StoreError>>);

/// The thread that syncs the log and then answers.
pub(super) struct LogSync {
    groups: mpsc::Sender<Group>,
    thread: JoinHandle<()>,
}

impl LogSync {
    /// Starts the thread for the database at `database`, whose log the
    /// writer's connection has created; it sets `refusing` if a sync fails.
    pub(super) fn start(database: &Path, refusing: Arc<AtomicBool>) -> Result<Self, StoreError> {
        let log = LogFile::open(database).map_err(|source| StoreError::OpenLog {
            database: database.to_owned(),
            source,
        })?;
        let (groups, committed) = mpsc::channel::<Group>();
        let thread = std::thread::Builder::new()
            .name("eventpush-sync".into())
            .spawn(move || sync_and_answer(&log, &committed, &refusing))
            .expect("failed to spawn the database sync thread");
        Ok(Self { groups, thread })
    }

    /// Answers a committed group once the log holding its commit is synced.
    pub(super) fn answer_when_synced(
        &self,
        replies: Vec<Reply>,
        results: Vec<Result<Done, StoreError>>,
    ) {
        if let Err(mpsc::SendError((replies, results))) = self.groups.send((replies, results)) {
            // Only if the thread panicked: nothing can tell the commit is on disk.
            answer(
                replies,
                all_failed(results.len(), || StoreError::NotDurable),
            );
        }
    }

    /// Answers the last groups and ends the thread.
    pub(super) fn finish(self) {
        drop(self.groups);
        let _ = self.thread.join();
    }
}

/// The sync thread: syncs the log for the groups waiting, then answers them.
///
/// After a failed sync no later commit can be shown durable: Linux reports
/// a failed write-back once and may then count those pages as written, so
/// a later sync could succeed over frames that never reached the disk, and
/// after a power cut SQLite would replay the log only up to them. Every
/// later group is therefore answered as not durable, and `refusing` tells
/// the writer to refuse new ones, until a restart, when SQLite checks the
/// log again.
fn sync_and_answer(log: &LogFile, committed: &mpsc::Receiver<Group>, refusing: &AtomicBool) {
    while let Ok(first) = committed.recv() {
        let waiting: Vec<Group> = std::iter::once(first).chain(committed.try_iter()).collect();
        if !refusing.load(Ordering::Relaxed)
            && let Err(e) = log.sync()
        {
            tracing::error!(
                error = %e,
                "failed to sync the database log to disk; every write is refused until eventpush restarts"
            );
            refusing.store(true, Ordering::Relaxed);
        }
        let durable = !refusing.load(Ordering::Relaxed);
        for (replies, results) in waiting {
            let results = if durable {
                results
            } else {
                all_failed(results.len(), || StoreError::NotDurable)
            };
            answer(replies, results);
        }
    }
}

/// The write-ahead log file of a database, held open for syncing.
struct LogFile {
    path: PathBuf,
    file: File,
    /// What identified the file on its file system when it was opened.
    id: FileId,
}

impl LogFile {
    /// Opens the log of `database`, which the writer's connection has
    /// created, and syncs its directory entry (a new file is only durable
    /// once that is).
    fn open(database: &Path) -> io::Result<Self> {
        let mut path = database.as_os_str().to_owned();
        path.push("-wal");
        let path = PathBuf::from(path);
        let file = File::open(&path)?;
        let id = FileId::of(&file.metadata()?);
        #[cfg(unix)]
        {
            let dir = match path.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir,
                _ => Path::new("."),
            };
            File::open(dir)?.sync_all()?;
        }
        Ok(Self { path, file, id })
    }

    /// Syncs the log's contents to disk.
    fn sync(&self) -> io::Result<()> {
        // SQLite goes on writing to the file it opened even if another is
        // put at its path (a log deleted by hand, then made anew by another
        // process); syncing the new one would prove nothing.
        let current = std::fs::metadata(&self.path).map(|m| FileId::of(&m));
        if current.ok() != Some(self.id) {
            return Err(io::Error::other(format!(
                "the database log `{}` was removed or replaced while the database was open",
                self.path.display()
            )));
        }
        self.file.sync_data()
    }
}

/// A file's device and inode, where the platform tells them; elsewhere
/// nothing, and any file at the log's path counts as the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId(Option<(u64, u64)>);

impl FileId {
    fn of(metadata: &Metadata) -> Self {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Self(Some((metadata.dev(), metadata.ino())))
        }
        #[cfg(not(unix))]
        {
            let _ = metadata;
            Self(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::oneshot;

    use super::*;

    fn log_reply() -> (Reply, oneshot::Receiver<Result<(), StoreError>>) {
        let (reply, answer) = oneshot::channel();
        (Reply::Logged(reply), answer)
    }

    /// A directory with a database path and a file at its log's path.
    fn database_with_log() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("db.sqlite");
        let wal = dir.path().join("db.sqlite-wal");
        std::fs::write(&wal, b"frames").unwrap();
        (dir, database, wal)
    }

    #[test]
    fn a_commit_is_answered_only_as_durable_as_its_sync_and_none_after_a_failed_one() {
        let (_dir, database, wal) = database_with_log();
        let refusing = Arc::new(AtomicBool::new(false));
        let log_sync = LogSync::start(&database, Arc::clone(&refusing)).unwrap();
        let durable = |log_sync: &LogSync| {
            let (reply, answer) = log_reply();
            log_sync.answer_when_synced(vec![reply], vec![Ok(Done::Nothing)]);
            match answer.blocking_recv().unwrap() {
                Ok(()) => true,
                Err(StoreError::NotDurable) => false,
                Err(e) => panic!("unexpected answer: {e}"),
            }
        };

        assert!(durable(&log_sync));
        assert!(!refusing.load(Ordering::Relaxed));
        // No log file to sync: the commit cannot be shown to be on disk.
        std::fs::remove_file(&wal).unwrap();
        assert!(!durable(&log_sync));
        assert!(refusing.load(Ordering::Relaxed));
        // Nor can any later one, though a file is back at the path.
        std::fs::write(&wal, b"frames").unwrap();
        assert!(!durable(&log_sync));
        log_sync.finish();
    }

    #[test]
    fn a_log_replaced_under_the_database_is_not_synced() {
        let (_dir, database, wal) = database_with_log();
        let log = LogFile::open(&database).unwrap();
        log.sync().unwrap();

        std::fs::remove_file(&wal).unwrap();
        std::fs::write(&wal, b"second").unwrap();
        let refused = log.sync().unwrap_err().to_string();
        assert!(refused.contains("removed or replaced"), "{refused}");
    }

    #[test]
    fn a_database_without_its_log_does_not_start_syncing() {
        let dir = tempfile::tempdir().unwrap();
        let refusing = Arc::new(AtomicBool::new(false));
        let refused = LogSync::start(&dir.path().join("db.sqlite"), refusing).err();
        assert!(matches!(refused, Some(StoreError::OpenLog { .. })));
    }
}
