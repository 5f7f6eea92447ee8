//! The writer thread: group commit of ingests and log entries.

use std::sync::atomic::{AtomicBool, Ordering};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use super::log_sync::LogSync;
use super::recent::{self, RecentChildren};
use super::{Expiring, Job, StoreError};
use crate::error_chain;
use crate::graph::{Child, Event, Rejection, Summary};

/// The events of one request, ready to store.
#[derive(Debug)]
pub struct Ingest {
    /// The datasource's ID.
    pub datasource: String,
    /// When the request arrived, in Unix microseconds.
    pub received_at: i64,
    /// The token that authenticated the request, to note its use.
    pub token_id: Option<String>,
    /// How many distinct event types one subject may hold.
    pub max_types_per_subject: usize,
    /// Matched events with their index in the batch.
    pub events: Vec<(usize, Event)>,
    /// What extraction already settled: unmatched, rejected, skipped children.
    pub summary: Summary,
    /// What the mapper did, for the log entry.
    pub mapper: Option<Value>,
}

/// An [`Ingest`] as the writer thread takes it: attributes already encoded
/// as JSON, so that encoding them and freeing the parsed values happen on
/// the requester's thread rather than on the one thread every commit waits for.
#[derive(Debug)]
pub(super) struct Prepared {
    datasource: String,
    received_at: i64,
    token_id: Option<String>,
    max_types_per_subject: usize,
    events: Vec<(usize, Node)>,
    summary: Summary,
    mapper: Option<Value>,
}

/// An event (with its type and subject) or a child, ready to write.
#[derive(Debug)]
struct Node {
    entity: String,
    unique_id: String,
    /// The event type and subject; `None` for a child.
    event: Option<(String, String)>,
    attributes: String,
    indexed: Vec<(String, String)>,
    children: Vec<Node>,
}

impl Ingest {
    /// Encodes the attributes; the parsed values are freed here.
    pub(super) fn prepare(self) -> Result<Prepared, StoreError> {
        let events = self
            .events
            .into_iter()
            .map(|(index, event)| {
                Ok((
                    index,
                    Node {
                        attributes: serde_json::to_string(&event.attributes)?,
                        entity: event.entity,
                        unique_id: event.unique_id,
                        event: Some((event.event_type, event.subject)),
                        indexed: event.indexed,
                        children: children(event.children)?,
                    },
                ))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Prepared {
            datasource: self.datasource,
            received_at: self.received_at,
            token_id: self.token_id,
            max_types_per_subject: self.max_types_per_subject,
            events,
            summary: self.summary,
            mapper: self.mapper,
        })
    }
}

fn children(children: Vec<Child>) -> Result<Vec<Node>, StoreError> {
    children
        .into_iter()
        .map(|child| {
            // Sorted, so that the writer compares them with the stored rows
            // (see `index_rows`) without sorting on its own thread.
            let mut indexed = child.indexed;
            indexed.sort_unstable();
            Ok(Node {
                attributes: serde_json::to_string(&child.attributes)?,
                entity: child.entity,
                unique_id: child.unique_id,
                event: None,
                indexed,
                children: self::children(child.children)?,
            })
        })
        .collect()
}

/// A log entry for a request that stored nothing.
#[derive(Debug)]
pub struct LogEntry {
    /// The datasource's ID.
    pub datasource: String,
    /// When the request arrived, in Unix microseconds.
    pub received_at: i64,
    /// The HTTP status answered.
    pub status: u16,
    /// What was wrong, as told to the sender.
    pub error: Option<String>,
    /// What the mapper did, if one ran.
    pub mapper: Option<Value>,
}

/// A bounded removal of expired events.
#[derive(Debug)]
pub struct Sweep {
    pub(super) datasource: String,
    pub(super) what: Expiring,
    pub(super) cutoff: i64,
    pub(super) batch: usize,
}

/// Takes jobs from `queue` until it closes, commits them in groups, and
/// answers each group once its commit is durable: right away, or, with a
/// [`LogSync`], once that has synced the log on its own thread.
pub(super) fn run(
    mut conn: Connection,
    mut queue: mpsc::Receiver<Job>,
    max_group: usize,
    log_sync: Option<LogSync>,
    refusing: &AtomicBool,
) {
    let mut recent = RecentChildren::new();
    while let Some(first) = queue.blocking_recv() {
        let mut jobs = vec![first];
        while jobs.len() < max_group {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        if refusing.load(Ordering::Relaxed) {
            let refused = all_failed(jobs.len(), || StoreError::NotDurable);
            answer(reply_channels(jobs), refused);
            continue;
        }
        let results = commit_group(&mut conn, &mut recent, &jobs);
        // Only the reply channels wait for the sync; the payloads go now.
        let replies = reply_channels(jobs);
        match &log_sync {
            Some(log_sync) => log_sync.answer_when_synced(replies, results),
            None => answer(replies, results),
        }
    }
    if let Some(log_sync) = log_sync {
        log_sync.finish();
    }
}

/// Applies every job in one transaction and commits once.
///
/// The jobs are first applied back to back. Should one fail, that
/// transaction is rolled back and the group applied again with each job in
/// a savepoint of its own, so that the failing job does not undo the
/// others. A savepoint for every job made SQLite copy each page a job
/// touched into its statement journal, about a tenth of the writer's time
/// under load, for failures that hardly ever happen.
///
/// What is rolled back is forgotten by `recent` too.
fn commit_group(
    conn: &mut Connection,
    recent: &mut RecentChildren,
    jobs: &[Job],
) -> Vec<Result<Done, StoreError>> {
    let started = std::time::Instant::now();
    // A failed first pass committed nothing: an error from COMMIT means it
    // did not happen (the log hook never reports one), so applying the jobs
    // again cannot apply any twice.
    let committed = apply_group(conn, recent, jobs, Isolation::Shared).or_else(|e| {
        tracing::debug!(error = %error_chain(&e), "a commit group failed; applying its jobs one by one");
        recent.forget();
        apply_group(conn, recent, jobs, Isolation::PerJob)
    });
    crate::metrics::global().commit(started.elapsed());
    if committed.is_err() {
        recent.forget();
    }
    committed.unwrap_or_else(|e| {
        tracing::error!(error = %error_chain(&e), "failed to commit to the database");
        all_failed(jobs.len(), || StoreError::CommitFailed)
    })
}

/// The results of `count` jobs that all failed for one reason.
pub(super) fn all_failed(
    count: usize,
    error: impl Fn() -> StoreError,
) -> Vec<Result<Done, StoreError>> {
    (0..count).map(|_| Err(error())).collect()
}

/// Where the result of a job goes, once the job itself is done with.
pub(super) enum Reply {
    /// The summary of an ingest.
    Summary(oneshot::Sender<Result<Summary, StoreError>>),
    /// That a log entry is stored.
    Logged(oneshot::Sender<Result<(), StoreError>>),
    /// How many rows a sweep or an erasure removed.
    Removed(oneshot::Sender<Result<usize, StoreError>>),
    /// Nobody waits (a token's last use).
    Nobody,
}

/// The reply channel of each job.
fn reply_channels(jobs: Vec<Job>) -> Vec<Reply> {
    jobs.into_iter()
        .map(|job| match job {
            Job::Ingest(_, reply) => Reply::Summary(reply),
            Job::Log(_, reply) => Reply::Logged(reply),
            Job::Sweep(_, reply) | Job::Erase(_, reply) => Reply::Removed(reply),
            Job::TouchToken(..) => Reply::Nobody,
        })
        .collect()
}

/// Sends each reply its result.
pub(super) fn answer(replies: Vec<Reply>, results: Vec<Result<Done, StoreError>>) {
    for (reply, outcome) in replies.into_iter().zip(results) {
        // A requester may have gone away; what it asked for is done regardless.
        match reply {
            Reply::Summary(reply) => {
                let _ = reply.send(outcome.and_then(|done| match done {
                    Done::Summary(summary) => Ok(summary),
                    _ => Err(StoreError::Closed),
                }));
            }
            Reply::Logged(reply) => {
                let _ = reply.send(outcome.map(|_| ()));
            }
            Reply::Removed(reply) => {
                let _ = reply.send(outcome.and_then(|done| match done {
                    Done::Removed(n) => Ok(n),
                    _ => Err(StoreError::Closed),
                }));
            }
            Reply::Nobody => {}
        }
    }
}

/// How the jobs of one group are kept apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Isolation {
    /// Not at all: the first failing job fails the whole group.
    Shared,
    /// Each job in its own savepoint: a failing job fails alone.
    PerJob,
}

/// Applies `jobs` in one transaction and commits it; the outcome of each
/// job, in order. With [`Isolation::Shared`], any failing job rolls the
/// transaction back and is the error.
fn apply_group(
    conn: &mut Connection,
    recent: &mut RecentChildren,
    jobs: &[Job],
    isolation: Isolation,
) -> Result<Vec<Result<Done, StoreError>>, StoreError> {
    // The write lock is taken at the start, waiting (the busy timeout) for
    // another process that holds it, such as `token create`. A transaction
    // that began by reading would instead fail at its first write, with no
    // wait, once that other process had committed.
    let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    recent.check_others(&tx)?;
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        let result = match isolation {
            Isolation::Shared => Ok(apply(&tx, recent, job)?),
            Isolation::PerJob => apply_isolated(&mut tx, recent, job),
        };
        results.push(result);
    }
    touch_tokens(&tx, jobs, &results)?;
    tx.commit()?;
    Ok(results)
}

/// Notes the use of each token that authenticated a stored ingest, once per
/// group: a group often holds many requests with one token.
fn touch_tokens(
    conn: &Connection,
    jobs: &[Job],
    results: &[Result<Done, StoreError>],
) -> Result<(), StoreError> {
    let mut used: Vec<(&str, i64)> = Vec::new();
    for (job, result) in jobs.iter().zip(results) {
        let (Job::Ingest(ingest, _), Ok(_)) = (job, result) else {
            continue;
        };
        let Some(token) = ingest.token_id.as_deref() else {
            continue;
        };
        match used.iter_mut().find(|(id, _)| *id == token) {
            Some((_, when)) => *when = (*when).max(ingest.received_at),
            None => used.push((token, ingest.received_at)),
        }
    }
    for (token, when) in used {
        touch(conn, token, when)?;
    }
    Ok(())
}

/// What a job produced.
pub(super) enum Done {
    Summary(Summary),
    Removed(usize),
    Nothing,
}

fn apply_isolated(
    tx: &mut Transaction,
    recent: &mut RecentChildren,
    job: &Job,
) -> Result<Done, StoreError> {
    let sp = tx.savepoint()?;
    match apply(&sp, recent, job) {
        Ok(done) => {
            sp.commit()?;
            Ok(done)
        }
        Err(e) => {
            tracing::error!(error = %error_chain(&e), "failed to write to the database");
            // What the job wrote is rolled back; a later job of the group
            // may name the same children.
            recent.forget();
            Err(e)
        }
    }
}

fn apply(conn: &Connection, recent: &mut RecentChildren, job: &Job) -> Result<Done, StoreError> {
    match job {
        Job::Ingest(ingest, _) => ingest_one(conn, recent, ingest).map(Done::Summary),
        Job::Sweep(sweep, _) => match sweep.what {
            Expiring::Events => {
                // It removes the children no event links to any more.
                recent.forget();
                remove_expired(conn, sweep)
            }
            Expiring::Log => remove_old_log(conn, sweep),
        }
        .map(Done::Removed),
        Job::Erase(subject, _) => {
            recent.forget();
            erase_subject(conn, subject).map(Done::Removed)
        }
        Job::Log(entry, _) => log_only(conn, entry).map(|()| Done::Nothing),
        Job::TouchToken(id, when) => touch(conn, id, *when).map(|()| Done::Nothing),
    }
}

fn ingest_one(
    conn: &Connection,
    recent: &mut RecentChildren,
    ingest: &Prepared,
) -> Result<Summary, StoreError> {
    let mut summary = ingest.summary.clone();
    for (index, event) in &ingest.events {
        match store_event(conn, recent, ingest, event)? {
            Stored::New => summary.accepted += 1,
            Stored::Duplicate => summary.duplicates += 1,
            Stored::Refused(reason) => summary.rejected.push(Rejection {
                index: *index,
                reason,
            }),
        }
    }
    summary.rejected.sort_by_key(|r| r.index);
    insert_log(
        conn,
        &ingest.datasource,
        ingest.received_at,
        summary.status(),
        &summary,
        summary.refusal().as_deref(),
        ingest.mapper.as_ref(),
    )?;
    Ok(summary)
}

enum Stored {
    New,
    Duplicate,
    Refused(String),
}

fn store_event(
    conn: &Connection,
    recent: &mut RecentChildren,
    ingest: &Prepared,
    event: &Node,
) -> Result<Stored, StoreError> {
    let Some((event_type, subject)) = &event.event else {
        unreachable!("prepared events carry a type and a subject")
    };
    let held = held_type(
        conn,
        &ingest.datasource,
        subject,
        event_type,
        ingest.max_types_per_subject,
    )?;
    if let HeldType::Refused(reason) = held {
        // A redelivery is a duplicate, whatever type it now names.
        let exists: bool = conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM nodes WHERE datasource = ?1 AND entity = ?2 AND unique_id = ?3)",
            )?
            .query_row(params![ingest.datasource, event.entity, event.unique_id], |r| r.get(0))?;
        return Ok(if exists {
            Stored::Duplicate
        } else {
            Stored::Refused(reason)
        });
    }

    // The insert finds a redelivery itself: it changes no row for a key
    // already taken. One statement fewer per event than asking first. The
    // new row's ID is read from the connection rather than with RETURNING,
    // which SQLite runs as a trigger: that made it keep a statement journal
    // (a copy of every page the insert touched) for each event.
    let inserted = conn
        .prepare_cached(
            "INSERT INTO nodes (datasource, entity, unique_id, event_type, subject, attributes, received_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
             ON CONFLICT (datasource, entity, unique_id) DO NOTHING",
        )?
        .execute(params![
            ingest.datasource,
            event.entity,
            event.unique_id,
            event_type,
            subject,
            event.attributes,
            ingest.received_at,
        ])?;
    if inserted == 0 {
        return Ok(Stored::Duplicate);
    }
    let id = conn.last_insert_rowid();
    insert_index(conn, id, &event.indexed)?;
    if held == HeldType::New {
        conn.prepare_cached(
            "INSERT INTO subject_types (datasource, subject, event_type) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![ingest.datasource, subject, event_type])?;
    }
    store_children(conn, recent, ingest, id, &event.children)?;
    Ok(Stored::New)
}

/// Whether a subject may hold an event of a type, under its datasource's cap.
#[derive(Debug, PartialEq, Eq)]
enum HeldType {
    /// The subject holds events of this type already.
    Known,
    /// A type new to the subject, within the cap.
    New,
    /// A type new to the subject, which already holds the most types allowed.
    Refused(String),
}

/// Whether `subject` may hold, in `datasource`, an event of `event_type`
/// when at most `cap` distinct types are allowed.
fn held_type(
    conn: &Connection,
    datasource: &str,
    subject: &str,
    event_type: &str,
    cap: usize,
) -> Result<HeldType, StoreError> {
    let known: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM subject_types
             WHERE datasource = ?1 AND subject = ?2 AND event_type = ?3)",
        )?
        .query_row(params![datasource, subject, event_type], |r| r.get(0))?;
    if known {
        return Ok(HeldType::Known);
    }
    let held: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM subject_types WHERE datasource = ?1 AND subject = ?2",
        )?
        .query_row(params![datasource, subject], |r| r.get(0))?;
    if held as usize >= cap {
        return Ok(HeldType::Refused(format!(
            "subject already holds the most event types allowed ({cap}); type `{event_type}` refused"
        )));
    }
    Ok(HeldType::New)
}

/// Upserts each child (the newest delivery wins), links it to its parent, and
/// recurses into its own children.
fn store_children(
    conn: &Connection,
    recent: &mut RecentChildren,
    ingest: &Prepared,
    parent: i64,
    children: &[Node],
) -> Result<(), StoreError> {
    for (position, child) in children.iter().enumerate() {
        let id = store_child(conn, recent, ingest, child)?;
        conn.prepare_cached(
            "INSERT OR IGNORE INTO edges (parent, child, position) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![parent, id, position as i64])?;
        store_children(conn, recent, ingest, id, &child.children)?;
    }
    Ok(())
}

/// What the database holds of a child.
enum Found {
    /// Nothing.
    Missing,
    /// The child as given, with this row ID.
    Unchanged(i64),
    /// The child with other attributes or index rows.
    Changed(i64),
}

/// Writes one child, unless it is stored as given already; its row ID.
///
/// Children recur (the same user or group in many events). One is
/// rewritten, with its index rows, only when its attributes or what the
/// template indexes of them changed: those writes land on random pages and
/// dominated the write cost. So `updated_at` is when the attributes last
/// changed.
fn store_child(
    conn: &Connection,
    recent: &mut RecentChildren,
    ingest: &Prepared,
    child: &Node,
) -> Result<i64, StoreError> {
    let (datasource, entity, unique_id) = (&ingest.datasource, &child.entity, &child.unique_id);
    let found = match recent.get(datasource, entity, unique_id) {
        Some(known) if known.attributes == child.attributes && known.indexed == child.indexed => {
            return Ok(known.id);
        }
        Some(known) => Found::Changed(known.id),
        None => read_child(conn, ingest, child)?,
    };

    let id = match found {
        Found::Unchanged(id) => id,
        Found::Changed(id) => {
            conn.prepare_cached("UPDATE nodes SET attributes = ?2, updated_at = ?3 WHERE id = ?1")?
                .execute(params![id, child.attributes, ingest.received_at])?;
            conn.prepare_cached("DELETE FROM node_attributes WHERE node = ?1")?
                .execute([id])?;
            insert_index(conn, id, &child.indexed)?;
            id
        }
        Found::Missing => {
            conn.prepare_cached(
                "INSERT INTO nodes (datasource, entity, unique_id, attributes, received_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            )?
            .execute(params![
                ingest.datasource,
                child.entity,
                child.unique_id,
                child.attributes,
                ingest.received_at,
            ])?;
            let id = conn.last_insert_rowid();
            insert_index(conn, id, &child.indexed)?;
            id
        }
    };

    let stored = recent::Stored {
        id,
        attributes: child.attributes.clone(),
        indexed: child.indexed.clone(),
    };
    recent.put(datasource, entity, unique_id, stored);
    Ok(id)
}

const CHILD_ROW: &str =
    "SELECT id, attributes FROM nodes WHERE datasource = ?1 AND entity = ?2 AND unique_id = ?3";

/// Reads what the database holds of `child`.
fn read_child(conn: &Connection, ingest: &Prepared, child: &Node) -> Result<Found, StoreError> {
    let known: Option<(i64, String)> = conn
        .prepare_cached(CHILD_ROW)?
        .query_row(
            params![ingest.datasource, child.entity, child.unique_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(match known {
        None => Found::Missing,
        Some((id, stored))
            if stored == child.attributes && index_rows(conn, id)? == child.indexed =>
        {
            Found::Unchanged(id)
        }
        Some((id, _)) => Found::Changed(id),
    })
}

const INDEX_ROWS: &str = "SELECT name, value FROM node_attributes WHERE node = ?1";

/// The index rows of a node, sorted.
///
/// Sorted here rather than by the query: with `ORDER BY rowid` after a
/// bound `node = ?`, SQLite's plan depends on the value bound, so clearing
/// the bindings (which rusqlite does when a statement goes back to its
/// cache) marks the statement stale, and it was compiled again on each
/// use: a seventh of the writer's time under load.
fn index_rows(conn: &Connection, node: i64) -> Result<Vec<(String, String)>, StoreError> {
    let mut rows: Vec<(String, String)> = conn
        .prepare_cached(INDEX_ROWS)?
        .query_map([node], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    rows.sort_unstable();
    Ok(rows)
}

fn insert_index(
    conn: &Connection,
    node: i64,
    indexed: &[(String, String)],
) -> Result<(), StoreError> {
    let mut insert =
        conn.prepare_cached("INSERT INTO node_attributes (node, name, value) VALUES (?1, ?2, ?3)")?;
    for (name, value) in indexed {
        insert.execute(params![node, name, value])?;
    }
    Ok(())
}

/// Removes up to `batch` expired events of one datasource, their index rows
/// and edges, then the children left without any parent, and forgets the
/// subject types no stored event holds any more.
fn remove_expired(conn: &Connection, sweep: &Sweep) -> Result<usize, StoreError> {
    let expired: Vec<i64> = conn
        .prepare_cached(
            "DELETE FROM nodes WHERE id IN (
                 SELECT id FROM nodes
                 WHERE datasource = ?1 AND subject IS NOT NULL AND received_at < ?2
                 LIMIT ?3)
             RETURNING id",
        )?
        .query_map(
            params![sweep.datasource, sweep.cutoff, sweep.batch as i64],
            |r| r.get(0),
        )?
        .collect::<Result<_, _>>()?;
    let mut gone = expired.clone();
    while let Some(node) = gone.pop() {
        gone.extend(forget_node(conn, node)?);
    }
    if !expired.is_empty() {
        conn.prepare_cached(
            "DELETE FROM subject_types WHERE datasource = ?1 AND NOT EXISTS (
                 SELECT 1 FROM nodes
                 WHERE nodes.subject = subject_types.subject
                 AND nodes.datasource = subject_types.datasource
                 AND nodes.event_type = subject_types.event_type)",
        )?
        .execute([&sweep.datasource])?;
    }
    Ok(expired.len())
}

/// Removes up to `batch` log entries of one datasource older than the cutoff.
fn remove_old_log(conn: &Connection, sweep: &Sweep) -> Result<usize, StoreError> {
    let removed = conn
        .prepare_cached(
            "DELETE FROM request_log WHERE id IN (
                 SELECT id FROM request_log WHERE datasource = ?1 AND received_at < ?2 LIMIT ?3)",
        )?
        .execute(params![sweep.datasource, sweep.cutoff, sweep.batch as i64])?;
    Ok(removed)
}

/// Erases every event of `subject`, with the children no other event
/// names and the subject's type records; returns how many events went.
pub fn erase_subject(conn: &Connection, subject: &str) -> Result<usize, StoreError> {
    let events: Vec<i64> = conn
        .prepare_cached("DELETE FROM nodes WHERE subject = ?1 RETURNING id")?
        .query_map([subject], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut gone = events.clone();
    while let Some(node) = gone.pop() {
        gone.extend(forget_node(conn, node)?);
    }
    conn.prepare_cached("DELETE FROM subject_types WHERE subject = ?1")?
        .execute([subject])?;
    Ok(events.len())
}

/// Removes the index rows and outgoing edges of a deleted node, then deletes
/// each of its children that no other node links to; returns those children.
fn forget_node(conn: &Connection, node: i64) -> Result<Vec<i64>, StoreError> {
    conn.prepare_cached("DELETE FROM node_attributes WHERE node = ?1")?
        .execute([node])?;
    let children: Vec<i64> = conn
        .prepare_cached("DELETE FROM edges WHERE parent = ?1 RETURNING child")?
        .query_map([node], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut orphaned = Vec::new();
    for child in children {
        let removed = conn
            .prepare_cached(
                "DELETE FROM nodes WHERE id = ?1
                 AND NOT EXISTS (SELECT 1 FROM edges WHERE child = ?1)",
            )?
            .execute([child])?;
        if removed > 0 {
            orphaned.push(child);
        }
    }
    Ok(orphaned)
}

fn log_only(conn: &Connection, entry: &LogEntry) -> Result<(), StoreError> {
    insert_log(
        conn,
        &entry.datasource,
        entry.received_at,
        entry.status,
        &Summary::default(),
        entry.error.as_deref(),
        entry.mapper.as_ref(),
    )
}

fn insert_log(
    conn: &Connection,
    datasource: &str,
    received_at: i64,
    status: u16,
    summary: &Summary,
    error: Option<&str>,
    mapper: Option<&Value>,
) -> Result<(), StoreError> {
    let detail = json!({
        "rejections": summary.rejected,
        "skipped_children": summary.skipped_children,
        "error": error,
        "mapper": mapper,
    });
    conn.prepare_cached(
        "INSERT INTO request_log (datasource, received_at, status, accepted, duplicates, unmatched, rejected, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        datasource,
        received_at,
        status,
        summary.accepted as i64,
        summary.duplicates as i64,
        summary.unmatched as i64,
        summary.rejected.len() as i64,
        detail.to_string(),
    ])?;
    Ok(())
}

fn touch(conn: &Connection, token: &str, when: i64) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE tokens SET last_used_at = ?2 WHERE id = ?1")?
        .execute(params![token, when])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;

    use tokio::sync::oneshot;

    use super::*;
    use crate::store::{Durability, open_connection};

    /// A job storing one event with the given ID, and where its answer comes.
    fn ingest_job(id: &str) -> (Job, oneshot::Receiver<Result<Summary, StoreError>>) {
        ingest_job_with_token(id, None, 1)
    }

    /// The same, authenticated by `token` and received at `at`.
    fn ingest_job_with_token(
        id: &str,
        token: Option<&str>,
        at: i64,
    ) -> (Job, oneshot::Receiver<Result<Summary, StoreError>>) {
        job_of(event(id, Vec::new()), token, at)
    }

    /// A job storing an event that names one child, the user `u1`, with
    /// this name.
    fn ingest_job_naming(id: &str, name: &str) -> Job {
        job_of(event(id, vec![user("u1", name)]), None, 1).0
    }

    fn user(id: &str, name: &str) -> Child {
        Child {
            entity: "User".into(),
            unique_id: id.into(),
            attributes: serde_json::Map::from_iter([("name".to_owned(), name.into())]),
            indexed: vec![("name".into(), name.into())],
            children: Vec::new(),
        }
    }

    fn event(id: &str, children: Vec<Child>) -> Event {
        Event {
            entity: "Login".into(),
            event_type: "login".into(),
            unique_id: id.into(),
            subject: "ann".into(),
            attributes: serde_json::Map::new(),
            indexed: vec![("id".into(), id.into())],
            children,
        }
    }

    fn job_of(
        event: Event,
        token: Option<&str>,
        at: i64,
    ) -> (Job, oneshot::Receiver<Result<Summary, StoreError>>) {
        let ingest = Ingest {
            datasource: "ds".into(),
            received_at: at,
            token_id: token.map(str::to_owned),
            max_types_per_subject: 50,
            events: vec![(0, event)],
            summary: Summary::default(),
            mapper: None,
        };
        let (reply, answer) = oneshot::channel();
        (
            Job::Ingest(Box::new(ingest.prepare().unwrap()), reply),
            answer,
        )
    }

    #[test]
    fn a_group_notes_the_latest_use_of_each_token_of_a_stored_ingest() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = database_with(&dir, POISON_NODE);
        conn.execute_batch(
            "INSERT INTO tokens (id, hash, datasource, admin, created_at)
             VALUES ('t1', x'00', 'ds', 0, 0), ('t2', x'00', 'ds', 0, 0), ('t3', x'00', 'ds', 0, 0);",
        )
        .unwrap();
        let (jobs, _answers): (Vec<_>, Vec<_>) = [
            ingest_job_with_token("e1", Some("t1"), 5),
            ingest_job_with_token("e2", Some("t1"), 3),
            ingest_job_with_token("poison", Some("t2"), 4),
            ingest_job_with_token("e3", None, 6),
        ]
        .into_iter()
        .unzip();

        commit_group(&mut conn, &mut RecentChildren::new(), &jobs);

        let used: Vec<(String, Option<i64>)> = conn
            .prepare("SELECT id, last_used_at FROM tokens ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            used,
            [
                ("t1".to_owned(), Some(5)),
                ("t2".to_owned(), None),
                ("t3".to_owned(), None)
            ]
        );
    }

    #[test]
    fn a_writer_refusing_writes_answers_without_applying_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let conn = open_connection(&path, Durability::Full).unwrap();
        let (jobs, queue) = mpsc::channel(4);
        let (job, answer) = ingest_job("e1");
        jobs.blocking_send(job).unwrap();
        drop(jobs);

        run(conn, queue, 8, None, &AtomicBool::new(true));

        assert!(matches!(
            answer.blocking_recv().unwrap(),
            Err(StoreError::NotDurable)
        ));
        let conn = open_connection(&path, Durability::Full).unwrap();
        let stored: i64 = conn
            .query_row("SELECT COUNT(*) FROM nodes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, 0);
    }

    #[test]
    fn a_group_waits_for_another_process_holding_the_write_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let mut conn = open_connection(&path, Durability::Full).unwrap();
        // As `token create` from the command line would, while pushes come in.
        let other = open_connection(&path, Durability::Full).unwrap();
        other
            .execute_batch(
                "BEGIN IMMEDIATE;
                 INSERT INTO tokens (id, hash, datasource, admin, created_at)
                 VALUES ('t1', x'00', 'ds', 0, 0);",
            )
            .unwrap();
        let (job, _answer) = ingest_job("e1");
        let writer = std::thread::spawn(move || {
            let results = commit_group(&mut conn, &mut RecentChildren::new(), &[job]);
            results.iter().map(Result::is_ok).collect::<Vec<_>>()
        });
        std::thread::sleep(std::time::Duration::from_millis(300));
        other.execute_batch("COMMIT").unwrap();

        assert_eq!(writer.join().unwrap(), [true]);
    }

    #[test]
    fn a_failing_job_fails_alone_and_the_rest_of_its_group_commits() {
        let dir = tempfile::tempdir().unwrap();
        // Fails the job after its event row is written, so that a row left
        // behind would show.
        let mut conn = database_with(&dir, POISON_INDEX_ROW);
        let (jobs, answers): (Vec<_>, Vec<_>) =
            ["e1", "poison", "e2"].into_iter().map(ingest_job).unzip();

        let results = commit_group(&mut conn, &mut RecentChildren::new(), &jobs);
        answer(reply_channels(jobs), results);

        let accepted: Vec<Option<usize>> = answers
            .into_iter()
            .map(|answer| Some(answer.blocking_recv().ok()?.ok()?.accepted))
            .collect();
        assert_eq!(accepted, [Some(1), None, Some(1)]);
        let stored: Vec<String> = conn
            .prepare("SELECT unique_id FROM nodes ORDER BY unique_id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(stored, ["e1", "e2"]);
        let (logged, indexed): (i64, i64) = conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM request_log), (SELECT COUNT(*) FROM node_attributes)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((logged, indexed), (2, 2));
    }

    #[test]
    fn index_rows_are_read_sorted_by_a_statement_compiled_once() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open_connection(&dir.path().join("db.sqlite"), Durability::Full).unwrap();
        conn.execute_batch(
            "INSERT INTO nodes (id, datasource, entity, unique_id, attributes, received_at, updated_at)
             VALUES (7, 'ds', 'Target', 'a', '{}', 1, 1), (8, 'ds', 'Target', 'b', '{}', 1, 1);
             INSERT INTO node_attributes (node, name, value)
             VALUES (7, 'name', 'zed'), (7, 'email', 'z@example.com'), (8, 'name', 'amy');",
        )
        .unwrap();

        for _ in 0..3 {
            assert_eq!(
                index_rows(&conn, 7).unwrap(),
                [
                    ("email".into(), "z@example.com".into()),
                    ("name".into(), "zed".into())
                ]
            );
            assert_eq!(
                index_rows(&conn, 8).unwrap(),
                [("name".into(), "amy".into())]
            );
        }
        let statement = conn.prepare_cached(INDEX_ROWS).unwrap();
        assert_eq!(statement.get_status(StatementStatus::RePrepare), 0);
    }

    /// A new database in `dir`, with `sql` run on it, such as a trigger
    /// that makes some writes fail.
    fn database_with(dir: &tempfile::TempDir, sql: &str) -> Connection {
        let conn = open_connection(&dir.path().join("db.sqlite"), Durability::Full).unwrap();
        conn.execute_batch(sql).unwrap();
        conn
    }

    /// Fails the insert of a node with the unique ID `poison`.
    const POISON_NODE: &str =
        "CREATE TRIGGER poison BEFORE INSERT ON nodes WHEN NEW.unique_id = 'poison'
         BEGIN SELECT RAISE(ABORT, 'poisoned'); END;";

    /// Fails the insert of an index row with the value `poison`.
    const POISON_INDEX_ROW: &str =
        "CREATE TRIGGER poison BEFORE INSERT ON node_attributes WHEN NEW.value = 'poison'
         BEGIN SELECT RAISE(ABORT, 'poisoned'); END;";

    /// The name of each stored user `u1` and how many edges lead to a node
    /// that does not exist.
    fn users_and_broken_edges(conn: &Connection) -> (Vec<String>, i64) {
        let users = conn
            .prepare("SELECT json_extract(attributes, '$.name') FROM nodes WHERE unique_id = 'u1'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let broken = conn
            .query_row(
                "SELECT COUNT(*) FROM edges WHERE child NOT IN (SELECT id FROM nodes)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        (users, broken)
    }

    #[test]
    fn a_child_seen_again_is_not_read_back_and_a_changed_one_is_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open_connection(&dir.path().join("db.sqlite"), Durability::Full).unwrap();
        let mut recent = RecentChildren::new();

        for (id, name) in [("e1", "Ann"), ("e2", "Ann"), ("e3", "Anne")] {
            commit_group(&mut conn, &mut recent, &[ingest_job_naming(id, name)]);
        }

        let reads = conn.prepare_cached(CHILD_ROW).unwrap();
        assert_eq!(reads.get_status(StatementStatus::Run), 1);
        drop(reads);
        assert_eq!(users_and_broken_edges(&conn), (vec!["Anne".to_owned()], 0));
        let (edges, children): (i64, i64) = conn
            .query_row(
                "SELECT COUNT(*), COUNT(DISTINCT child) FROM edges",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((edges, children), (3, 1));
        let indexed: String = conn
            .query_row(
                "SELECT value FROM node_attributes WHERE name = 'name'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexed, "Anne");
    }

    #[test]
    fn a_child_removed_by_another_connection_is_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let mut conn = open_connection(&path, Durability::Full).unwrap();
        let mut recent = RecentChildren::new();
        commit_group(&mut conn, &mut recent, &[ingest_job_naming("e1", "Ann")]);

        // As `eventpush erase-subject` would, from another process.
        let other = open_connection(&path, Durability::Full).unwrap();
        assert_eq!(erase_subject(&other, "ann").unwrap(), 1);
        commit_group(&mut conn, &mut recent, &[ingest_job_naming("e2", "Ann")]);

        assert_eq!(users_and_broken_edges(&conn), (vec!["Ann".to_owned()], 0));
    }

    #[test]
    fn a_child_removed_by_a_sweep_or_an_erasure_in_the_group_is_written_again() {
        let sweep = Sweep {
            datasource: "ds".into(),
            what: Expiring::Events,
            cutoff: 2,
            batch: 10,
        };
        let removals = [
            Job::Sweep(sweep, oneshot::channel().0),
            Job::Erase("ann".into(), oneshot::channel().0),
        ];
        for removal in removals {
            let dir = tempfile::tempdir().unwrap();
            let mut conn =
                open_connection(&dir.path().join("db.sqlite"), Durability::Full).unwrap();
            let jobs = [
                ingest_job_naming("e1", "Ann"),
                removal,
                ingest_job_naming("e2", "Ann"),
            ];

            commit_group(&mut conn, &mut RecentChildren::new(), &jobs);

            assert_eq!(users_and_broken_edges(&conn), (vec!["Ann".to_owned()], 0));
        }
    }

    #[test]
    fn a_child_written_by_a_group_that_failed_is_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = database_with(&dir, POISON_NODE);
        let mut recent = RecentChildren::new();

        // The first pass writes `u1`, then fails and is rolled back; the
        // second, one job at a time, must write it again.
        let jobs = [ingest_job_naming("e1", "Ann"), ingest_job("poison").0];
        commit_group(&mut conn, &mut recent, &jobs);

        assert_eq!(users_and_broken_edges(&conn), (vec!["Ann".to_owned()], 0));
    }

    #[test]
    fn a_child_written_by_a_job_that_failed_is_written_again_by_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = database_with(&dir, POISON_INDEX_ROW);

        // `u1` is written, then the job fails at its second child, alone;
        // the next job of the group names `u1` too.
        let failing = job_of(
            event("e1", vec![user("u1", "Ann"), user("u2", "poison")]),
            None,
            1,
        );
        let jobs = [failing.0, ingest_job_naming("e2", "Ann")];
        commit_group(&mut conn, &mut RecentChildren::new(), &jobs);

        assert_eq!(users_and_broken_edges(&conn), (vec!["Ann".to_owned()], 0));
    }

    #[test]
    fn a_child_written_by_a_group_that_failed_as_a_whole_is_written_again() {
        let dir = tempfile::tempdir().unwrap();
        // Fails the note of a token's use, which comes after every job.
        let mut conn = database_with(
            &dir,
            "INSERT INTO tokens (id, hash, datasource, admin, created_at)
             VALUES ('t1', x'00', 'ds', 0, 0);
             CREATE TRIGGER poison BEFORE UPDATE ON tokens
             BEGIN SELECT RAISE(ABORT, 'poisoned'); END;",
        );
        let mut recent = RecentChildren::new();
        let (job, _answer) = job_of(event("e1", vec![user("u1", "Ann")]), Some("t1"), 1);
        commit_group(&mut conn, &mut recent, &[job]);

        conn.execute_batch("DROP TRIGGER poison").unwrap();
        commit_group(&mut conn, &mut recent, &[ingest_job_naming("e2", "Ann")]);

        assert_eq!(users_and_broken_edges(&conn), (vec!["Ann".to_owned()], 0));
    }
}
