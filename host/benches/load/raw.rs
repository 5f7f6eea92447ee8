//! The storage ceiling: the rows eventpush writes for each event (the event
//! node, its index rows, its subject-type row, its children (with index
//! rows when new) and the edges; attributes encoded beforehand, as the store
//! encodes them before its writer takes them), inserted with plain rusqlite on one
//! thread, 1,000 events per transaction, into a database with eventpush's
//! own schema and settings. No duplicate check, no type cap, no log entry.

use std::path::Path;

use eventpush::graph::{Child, Event};
use eventpush::store::{Durability, open_connection};
use eventpush::template::{Extracted, Template};
use rusqlite::{Connection, params};
use serde_json::Value;

/// Events per transaction.
pub const BATCH: usize = 1_000;

/// A node to insert, its attributes encoded as the store encodes them
/// before its writer takes them.
pub struct Row {
    node: Child,
    attributes: String,
    /// The event type and subject; `None` for a child.
    event: Option<(String, String)>,
    children: Vec<Row>,
}

impl Row {
    fn child(child: Child) -> Self {
        Self {
            attributes: serde_json::to_string(&child.attributes).expect("attributes encode"),
            children: child.children.iter().cloned().map(Row::child).collect(),
            event: None,
            node: child,
        }
    }

    fn event(event: Event) -> Self {
        Self {
            event: Some((event.event_type.clone(), event.subject.clone())),
            ..Self::child(Child {
                entity: event.entity,
                unique_id: event.unique_id,
                attributes: event.attributes,
                indexed: event.indexed,
                children: event.children,
            })
        }
    }
}

/// The same events as [`events`], ready to insert.
pub fn rows(
    template: &Template,
    event_json: &str,
    run_id: &str,
    from: usize,
    count: usize,
) -> Vec<Row> {
    events(template, event_json, run_id, from, count)
        .into_iter()
        .map(Row::event)
        .collect()
}

/// Builds event `n` of a run as the server would: the payload the wrk
/// script sends, parsed and extracted with the template.
pub fn events(
    template: &Template,
    event_json: &str,
    run_id: &str,
    from: usize,
    count: usize,
) -> Vec<Event> {
    let parts: Vec<String> = (from..from + count)
        .map(|n| {
            event_json
                .replace("@UUID@", &format!("{run_id}-{n:012}"))
                .replace("@ACTOR@", &format!("user{}@example.com", n % 1000))
                .replace("@USER@", &format!("00u{}", n % 5000))
        })
        .collect();
    let payload: Value = serde_json::from_str(&format!(
        r#"{{"eventType":"com.okta.event_hook","data":{{"events":[{}]}}}}"#,
        parts.join(",")
    ))
    .expect("the event file is JSON");
    template
        .extract(&payload)
        .events
        .into_iter()
        .map(|extracted| match extracted {
            Extracted::Matched(event) => event,
            other => panic!("the template does not store the load event: {other:?}"),
        })
        .collect()
}

/// Opens a database with eventpush's schema and default durability.
pub fn open(path: &Path) -> Connection {
    open_connection(path, Durability::Full).expect("the database opens")
}

/// Inserts `events` in transactions of [`BATCH`].
pub fn insert(conn: &mut Connection, datasource: &str, events: &[Row], received_at: i64) {
    for chunk in events.chunks(BATCH) {
        let tx = conn.transaction().expect("a transaction begins");
        for event in chunk {
            insert_event(&tx, datasource, event, received_at).expect("the rows insert");
        }
        tx.commit().expect("the transaction commits");
    }
}

fn insert_event(conn: &Connection, datasource: &str, row: &Row, at: i64) -> rusqlite::Result<()> {
    let (event_type, subject) = row.event.as_ref().expect("an event row");
    let id: i64 = conn
        .prepare_cached(
            "INSERT INTO nodes (datasource, entity, unique_id, event_type, subject, attributes, received_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) RETURNING id",
        )?
        .query_row(
            params![
                datasource,
                row.node.entity,
                row.node.unique_id,
                event_type,
                subject,
                row.attributes,
                at
            ],
            |r| r.get(0),
        )?;
    index(conn, id, &row.node.indexed)?;
    conn.prepare_cached(
        "INSERT OR IGNORE INTO subject_types (datasource, subject, event_type) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![datasource, subject, event_type])?;
    children(conn, datasource, id, &row.children, at)
}

fn children(
    conn: &Connection,
    datasource: &str,
    parent: i64,
    children: &[Row],
    at: i64,
) -> rusqlite::Result<()> {
    for (position, child) in children.iter().enumerate() {
        // A child seen before keeps its rows (the store rewrites them only
        // when its attributes change, which they do not in this load).
        let inserted = conn
            .prepare_cached(
                "INSERT OR IGNORE INTO nodes (datasource, entity, unique_id, attributes, received_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            )?
            .execute(params![datasource, child.node.entity, child.node.unique_id, child.attributes, at])?;
        let id: i64 = if inserted == 1 {
            let id = conn.last_insert_rowid();
            index(conn, id, &child.node.indexed)?;
            id
        } else {
            conn.prepare_cached(
                "SELECT id FROM nodes WHERE datasource = ?1 AND entity = ?2 AND unique_id = ?3",
            )?
            .query_row(
                params![datasource, child.node.entity, child.node.unique_id],
                |r| r.get(0),
            )?
        };
        conn.prepare_cached(
            "INSERT OR IGNORE INTO edges (parent, child, position) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![parent, id, position as i64])?;
        self::children(conn, datasource, id, &child.children, at)?;
    }
    Ok(())
}

fn index(conn: &Connection, node: i64, indexed: &[(String, String)]) -> rusqlite::Result<()> {
    let mut insert =
        conn.prepare_cached("INSERT INTO node_attributes (node, name, value) VALUES (?1, ?2, ?3)")?;
    for (name, value) in indexed {
        insert.execute(params![node, name, value])?;
    }
    Ok(())
}
