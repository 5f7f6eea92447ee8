//! Answers sent once the write-ahead log is on disk, synced beside the writer.
//!
//! With `synchronous=FULL`, SQLite syncs the log inside every commit, and
//! the writer waits for the disk before it can apply the next group. With
//! the default durability the writer instead commits with
//! `synchronous=NORMAL`, under which SQLite still syncs the log before each
//! checkpoint and the database file after it, and hands the group's answers
//! to this thread. The thread syncs the log file and only then sends them,
//! while the writer applies the next group. One sync covers every commit
//! written before it, so groups that wait at the same time share it.
//!
//! Every answer still leaves only once its commit is on disk, so a 202
//! survives a power cut. What differs from `FULL`: a reader may see a
//! commit a moment before it is on disk, and after a power cut such a
//! commit, never answered, may be gone.

use std::fs::{File, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use super::StoreError;
use super::write::{Done, answer};
use crate::store::Job;

/// A committed group: its jobs and what each produced.
type Group = (Vec<Job>, Vec<Result<Done, StoreError>>);

/// The thread that syncs the log and then answers.
pub(super) struct LogSync {
    groups: mpsc::Sender<Group>,
    thread: JoinHandle<()>,
}

impl LogSync {
    /// Starts the thread for the database at `database`.
    pub(super) fn start(database: &Path) -> Self {
        let mut log = LogFile::of(database);
        let (groups, committed) = mpsc::channel::<Group>();
        let thread = std::thread::Builder::new()
            .name("eventpush-sync".into())
            .spawn(move || {
                while let Ok(first) = committed.recv() {
                    let waiting: Vec<Group> =
                        std::iter::once(first).chain(committed.try_iter()).collect();
                    let synced = log.sync();
                    if let Err(e) = &synced {
                        tracing::error!(error = %e, "failed to sync the database log to disk");
                    }
                    for (jobs, results) in waiting {
                        let results = match synced {
                            Ok(()) => results,
                            Err(_) => not_durable(&results),
                        };
                        answer(jobs, results);
                    }
                }
            })
            .expect("failed to spawn the database sync thread");
        Self { groups, thread }
    }

    /// Answers a committed group once the log holding its commit is synced.
    pub(super) fn answer_when_synced(
        &self,
        jobs: Vec<Job>,
        results: Vec<Result<Done, StoreError>>,
    ) {
        if let Err(mpsc::SendError((jobs, results))) = self.groups.send((jobs, results)) {
            // Only if the thread panicked: nothing can tell the commit is on disk.
            answer(jobs, not_durable(&results));
        }
    }

    /// Answers the last groups and ends the thread.
    pub(super) fn finish(self) {
        drop(self.groups);
        let _ = self.thread.join();
    }
}

/// What to answer for jobs whose commit may not have reached the disk.
fn not_durable(results: &[Result<Done, StoreError>]) -> Vec<Result<Done, StoreError>> {
    results
        .iter()
        .map(|_| Err(StoreError::NotDurable))
        .collect()
}

/// The write-ahead log file of a database, held open for syncing.
struct LogFile {
    path: PathBuf,
    /// The open file, with what identifies it on its file system.
    open: Option<(File, FileId)>,
}

impl LogFile {
    fn of(database: &Path) -> Self {
        let mut path = database.as_os_str().to_owned();
        path.push("-wal");
        Self {
            path: path.into(),
            open: None,
        }
    }

    /// Syncs the log's contents to disk.
    fn sync(&mut self) -> io::Result<()> {
        // SQLite deletes the log when its last connection closes and creates
        // a new one at the next open, so the file held open may no longer be
        // the log: it is checked against the path before each sync.
        let current = FileId::of(&std::fs::metadata(&self.path)?);
        let file = match &self.open {
            Some((file, held)) if current.is_some() && *held == current => file,
            _ => {
                let file = File::open(&self.path)?;
                let held = FileId::of(&file.metadata()?);
                // A new file is only durable once its directory entry is.
                let dir = match self.path.parent() {
                    Some(dir) if !dir.as_os_str().is_empty() => dir,
                    _ => Path::new("."),
                };
                File::open(dir)?.sync_all()?;
                &self.open.insert((file, held)).0
            }
        };
        file.sync_data()
    }
}

/// A file's device and inode, where the platform tells them; `None`
/// elsewhere, where the log is opened again for every sync.
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

    fn is_some(&self) -> bool {
        self.0.is_some()
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::oneshot;

    use super::*;

    fn log_job() -> (Job, oneshot::Receiver<Result<(), StoreError>>) {
        let (reply, answer) = oneshot::channel();
        let entry = crate::store::LogEntry {
            datasource: "ds".into(),
            received_at: 1,
            status: 401,
            error: None,
            mapper: None,
        };
        (Job::Log(Box::new(entry), reply), answer)
    }

    #[test]
    fn a_commit_is_answered_only_as_durable_as_its_sync() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("db.sqlite");
        let log_sync = LogSync::start(&database);

        // No log file to sync: the commit cannot be shown to be on disk.
        let (job, answer) = log_job();
        log_sync.answer_when_synced(vec![job], vec![Ok(Done::Nothing)]);
        assert!(matches!(
            answer.blocking_recv().unwrap(),
            Err(StoreError::NotDurable)
        ));

        std::fs::write(dir.path().join("db.sqlite-wal"), b"frames").unwrap();
        let (job, answer) = log_job();
        log_sync.answer_when_synced(vec![job], vec![Ok(Done::Nothing)]);
        assert!(answer.blocking_recv().unwrap().is_ok());
        log_sync.finish();
    }

    #[test]
    fn a_log_made_anew_is_the_one_synced() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("db.sqlite");
        let wal = dir.path().join("db.sqlite-wal");
        let mut log = LogFile::of(&database);
        std::fs::write(&wal, b"first").unwrap();
        log.sync().unwrap();
        let first = log.open.as_ref().unwrap().1;

        // As SQLite does when its last connection closes and another opens.
        std::fs::remove_file(&wal).unwrap();
        std::fs::write(&wal, b"second").unwrap();
        log.sync().unwrap();
        let second = log.open.as_ref().unwrap().1;
        assert_ne!(first, second);
        assert_eq!(second, FileId::of(&std::fs::metadata(&wal).unwrap()));
    }
}
