//! Queries behind the query API and the event-stream log.
//!
//! Pages are newest first and keyed by the row id: a page's `next` is the id
//! to pass as `before` for the following page.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, params_from_iter};
use serde::Serialize;
use serde_json::Value;

use super::StoreError;

/// Filters of the events-by-subject query.
#[derive(Debug, Clone, Default)]
pub struct SubjectQuery {
    /// The subject.
    pub subject: String,
    /// Only this event type.
    pub event_type: Option<String>,
    /// Only this datasource.
    pub datasource: Option<String>,
    /// Only events received at or after this time (Unix microseconds).
    pub since: Option<i64>,
    /// Only events older than this cursor.
    pub before: Option<i64>,
    /// At most this many events.
    pub limit: usize,
}

/// One page of results and the cursor for the next one.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    /// The items, newest first.
    pub items: Vec<T>,
    /// Pass as `before` to get the next page; absent on the last page.
    pub next: Option<String>,
}

/// A stored event, as the query API shows it.
pub type EventPage = Page<NodeView>;

/// A node with its attributes and children.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NodeView {
    /// The datasource that stored it.
    pub datasource: String,
    /// The entity's name in the template.
    pub entity: String,
    /// The node's unique ID.
    pub id: String,
    /// The event type; absent for child nodes.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// The subject; absent for child nodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// When it was first stored (RFC 3339).
    #[schema(format = DateTime)]
    pub received_at: String,
    /// When it was last updated (RFC 3339); differs from `received_at` for shared children.
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// Attribute values in their declared types.
    #[schema(value_type = Object)]
    pub attributes: Value,
    /// Child nodes, each `{entity, id, attributes}`, with their own children when nested.
    pub children: Vec<ChildView>,
    /// Set when the page reached its budget of children and this node's were cut.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub children_truncated: bool,
    #[serde(skip)]
    row: i64,
}

/// A child node inside an event.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChildView {
    /// The child entity's name.
    pub entity: String,
    /// The child's unique ID.
    pub id: String,
    /// Attribute values, as last delivered.
    #[schema(value_type = Object)]
    pub attributes: Value,
    /// Children of this child, when the template nests entities.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(no_recursion)]
    pub children: Vec<ChildView>,
}

/// One event-stream log entry.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LogEntryView {
    /// When the request arrived (RFC 3339).
    #[schema(format = DateTime)]
    pub received_at: String,
    /// The HTTP status answered.
    pub status: u16,
    /// Events stored.
    pub accepted: i64,
    /// Events already stored.
    pub duplicates: i64,
    /// Events matching no entity.
    pub unmatched: i64,
    /// Events refused.
    pub rejected: i64,
    /// Each refused event's index and reason.
    #[schema(value_type = Vec<crate::graph::Rejection>)]
    pub rejections: Value,
    /// Children skipped inside kept events.
    #[schema(value_type = Vec<crate::graph::SkippedChild>)]
    pub skipped_children: Value,
    /// What was wrong with a request refused as a whole.
    #[schema(value_type = Option<String>)]
    pub error: Value,
    /// What the mapper did; `null` when the datasource has none.
    #[schema(value_type = Option<crate::mapper::Receipt>)]
    pub mapper: Value,
}

const NODE_COLUMNS: &str =
    "id, datasource, entity, unique_id, event_type, subject, attributes, received_at, updated_at";

/// Events of one subject, newest first, with their children.
pub fn events_of_subject(conn: &Connection, q: &SubjectQuery) -> Result<EventPage, StoreError> {
    let mut sql = format!("SELECT {NODE_COLUMNS} FROM nodes WHERE subject = ?");
    let mut args = vec![SqlValue::Text(q.subject.clone())];
    let filters = [
        ("event_type = ?", q.event_type.clone().map(SqlValue::Text)),
        ("datasource = ?", q.datasource.clone().map(SqlValue::Text)),
        ("received_at >= ?", q.since.map(SqlValue::Integer)),
        ("id < ?", q.before.map(SqlValue::Integer)),
    ];
    for (clause, value) in filters {
        if let Some(value) = value {
            sql += " AND ";
            sql += clause;
            args.push(value);
        }
    }
    nodes_page(conn, sql, args, q.limit)
}

/// One condition on a node: an indexed attribute equals a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeFilter {
    /// The node's unique ID is this.
    UniqueId(String),
    /// The event's subject is this.
    Subject(String),
    /// The attribute index holds this value of this attribute for the node.
    Attribute(String, String),
}

/// Nodes of one entity of one datasource that meet every filter, newest first.
pub fn nodes_by_attributes(
    conn: &Connection,
    datasource: &str,
    entity: &str,
    filters: &[NodeFilter],
    before: Option<i64>,
    limit: usize,
) -> Result<Page<NodeView>, StoreError> {
    let mut sql = format!("SELECT {NODE_COLUMNS} FROM nodes WHERE datasource = ? AND entity = ?");
    let mut args = vec![
        SqlValue::Text(datasource.to_owned()),
        SqlValue::Text(entity.to_owned()),
    ];
    for filter in filters {
        match filter {
            NodeFilter::UniqueId(value) => {
                sql += " AND unique_id = ?";
                args.push(SqlValue::Text(value.clone()));
            }
            NodeFilter::Subject(value) => {
                sql += " AND subject = ?";
                args.push(SqlValue::Text(value.clone()));
            }
            NodeFilter::Attribute(name, value) => {
                sql += " AND id IN (SELECT node FROM node_attributes WHERE name = ? AND value = ?)";
                args.push(SqlValue::Text(name.clone()));
                args.push(SqlValue::Text(value.clone()));
            }
        }
    }
    if let Some(before) = before {
        sql += " AND id < ?";
        args.push(SqlValue::Integer(before));
    }
    nodes_page(conn, sql, args, limit)
}

fn nodes_page(
    conn: &Connection,
    mut sql: String,
    mut args: Vec<SqlValue>,
    limit: usize,
) -> Result<Page<NodeView>, StoreError> {
    sql += " ORDER BY id DESC LIMIT ?";
    args.push(SqlValue::Integer(limit as i64 + 1));
    let mut stmt = conn.prepare(&sql)?;
    let mut items = stmt
        .query_map(params_from_iter(args), |r| {
            Ok(NodeView {
                row: r.get(0)?,
                datasource: r.get(1)?,
                entity: r.get(2)?,
                id: r.get(3)?,
                event_type: r.get(4)?,
                subject: r.get(5)?,
                attributes: json_column(r.get(6)?),
                received_at: rfc3339(r.get(7)?),
                updated_at: rfc3339(r.get(8)?),
                children: Vec::new(),
                children_truncated: false,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let next = page_cursor(&mut items, limit, |n| n.row);
    // Children are shared between events, so a page could otherwise fan out
    // to millions of rows; past the budget, nodes say their children were cut.
    let mut budget = CHILDREN_PER_PAGE;
    for node in &mut items {
        node.children = children(conn, node.row, 0, &mut budget)?;
        node.children_truncated = budget == 0;
    }
    Ok(Page { items, next })
}

/// Deepest nesting of children followed, as deep as templates may nest.
const MAX_CHILD_DEPTH: usize = 8;
/// Most children shown in one page of nodes, all levels together.
const CHILDREN_PER_PAGE: usize = 10_000;

fn children(
    conn: &Connection,
    parent: i64,
    depth: usize,
    budget: &mut usize,
) -> Result<Vec<ChildView>, StoreError> {
    if depth >= MAX_CHILD_DEPTH || *budget == 0 {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare_cached(
        "SELECT n.id, n.entity, n.unique_id, n.attributes FROM edges e
         JOIN nodes n ON n.id = e.child WHERE e.parent = ?1 ORDER BY e.position LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(rusqlite::params![parent, *budget as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get::<_, String>(3)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    *budget -= rows.len();
    let mut views = Vec::with_capacity(rows.len());
    for (row, entity, id, attributes) in rows {
        views.push(ChildView {
            entity,
            id,
            attributes: json_column(attributes),
            children: children(conn, row, depth + 1, budget)?,
        });
    }
    Ok(views)
}

/// Event-stream log entries of one datasource, newest first.
pub fn log_entries(
    conn: &Connection,
    datasource: &str,
    before: Option<i64>,
    limit: usize,
) -> Result<Page<LogEntryView>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, received_at, status, accepted, duplicates, unmatched, rejected, detail
         FROM request_log WHERE datasource = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
    )?;
    let mut rows = stmt
        .query_map(
            rusqlite::params![datasource, before.unwrap_or(i64::MAX), limit as i64 + 1],
            |r| {
                let detail = json_column(r.get(7)?);
                Ok((
                    r.get::<_, i64>(0)?,
                    LogEntryView {
                        received_at: rfc3339(r.get(1)?),
                        status: r.get(2)?,
                        accepted: r.get(3)?,
                        duplicates: r.get(4)?,
                        unmatched: r.get(5)?,
                        rejected: r.get(6)?,
                        rejections: detail["rejections"].clone(),
                        skipped_children: detail["skipped_children"].clone(),
                        error: detail["error"].clone(),
                        mapper: detail["mapper"].clone(),
                    },
                ))
            },
        )?
        .collect::<Result<Vec<_>, _>>()?;
    let next = page_cursor(&mut rows, limit, |(row, _)| *row);
    Ok(Page {
        items: rows.into_iter().map(|(_, entry)| entry).collect(),
        next,
    })
}

/// Whether the database answers a trivial query.
pub fn ping(conn: &Connection) -> Result<(), StoreError> {
    conn.query_row("SELECT 1", [], |_| Ok(()))?;
    Ok(())
}

/// Trims the one extra row fetched to learn whether another page exists,
/// and returns the cursor for that page.
fn page_cursor<T>(items: &mut Vec<T>, limit: usize, row: impl Fn(&T) -> i64) -> Option<String> {
    if items.len() <= limit {
        return None;
    }
    items.truncate(limit);
    items.last().map(|last| row(last).to_string())
}

fn json_column(text: String) -> Value {
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Unix microseconds as RFC 3339 UTC.
pub fn rfc3339(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
