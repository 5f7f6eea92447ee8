//! The SQLite schema and its version.
//!
//! The version lives in `PRAGMA user_version`. A new database is created at
//! the current version; an older one is migrated forward one step at a time;
//! a newer one is refused, since this binary cannot know what it holds.

use rusqlite::Connection;

use super::StoreError;

/// The schema version this binary reads and writes.
pub const VERSION: i64 = 2;

/// Every migration, in order: entry `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    r#"
-- Graph nodes: top-level events (with a type and a subject) and child entities.
-- A node is keyed by (datasource, entity, unique_id); a redelivered event
-- finds its key taken, and a child seen again is updated in place.
CREATE TABLE nodes (
    id          INTEGER PRIMARY KEY,
    datasource  TEXT    NOT NULL,
    entity      TEXT    NOT NULL,
    unique_id   TEXT    NOT NULL,
    event_type  TEXT,
    subject     TEXT,
    attributes  TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (datasource, entity, unique_id)
);
CREATE INDEX nodes_by_subject ON nodes (subject, id) WHERE subject IS NOT NULL;
CREATE INDEX nodes_by_received ON nodes (received_at) WHERE subject IS NOT NULL;

-- Parent to child, one row per pair, in the order the parent listed them.
CREATE TABLE edges (
    parent   INTEGER NOT NULL,
    child    INTEGER NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (parent, child)
) WITHOUT ROWID;
CREATE INDEX edges_by_child ON edges (child);

-- Values of indexed attributes, one row per value (a list gives several).
CREATE TABLE node_attributes (
    node  INTEGER NOT NULL,
    name  TEXT    NOT NULL,
    value TEXT    NOT NULL
);
CREATE INDEX node_attributes_by_value ON node_attributes (name, value);
CREATE INDEX node_attributes_by_node ON node_attributes (node);

-- The distinct event types each subject holds in each datasource, for the
-- per-subject cap. Counted per datasource, so that one sender cannot use
-- up the types a subject may hold from another.
CREATE TABLE subject_types (
    datasource TEXT NOT NULL,
    subject    TEXT NOT NULL,
    event_type TEXT NOT NULL,
    PRIMARY KEY (datasource, subject, event_type)
) WITHOUT ROWID;

-- The event-stream log: one entry per request to a known datasource.
CREATE TABLE request_log (
    id          INTEGER PRIMARY KEY,
    datasource  TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    status      INTEGER NOT NULL,
    accepted    INTEGER NOT NULL,
    duplicates  INTEGER NOT NULL,
    unmatched   INTEGER NOT NULL,
    rejected    INTEGER NOT NULL,
    detail      TEXT    NOT NULL
);
CREATE INDEX request_log_by_datasource ON request_log (datasource, id);

-- Bearer tokens: only a SHA-256 hash of each token is kept.
CREATE TABLE tokens (
    id           TEXT    PRIMARY KEY,
    hash         BLOB    NOT NULL,
    datasource   TEXT,
    admin        INTEGER NOT NULL,
    label        TEXT,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
"#,
    // Log entries by age, for their retention.
    r#"
CREATE INDEX request_log_by_received ON request_log (datasource, received_at);
"#,
];

/// Brings the schema of `conn` to [`VERSION`], or refuses a newer one.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > VERSION {
        return Err(StoreError::NewerSchema {
            found,
            supported: VERSION,
        });
    }
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", from as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
