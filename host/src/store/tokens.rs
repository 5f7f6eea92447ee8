//! Token rows: created and revoked by the CLI, looked up on every request.
//!
//! Only a SHA-256 hash of each token is stored; the token itself is printed
//! once at creation and never kept.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::StoreError;

/// A token row as `token list` shows it: never the token or its hash.
#[derive(Debug, Clone, Serialize)]
pub struct TokenInfo {
    /// The token's public ID, part of the token itself.
    pub id: String,
    /// The datasource it opens; `None` for an admin token.
    pub datasource: Option<String>,
    /// Whether it opens the query API.
    pub admin: bool,
    /// A free-text label.
    pub label: Option<String>,
    /// Creation time, Unix microseconds.
    pub created_at: i64,
    /// Last use, Unix microseconds.
    pub last_used_at: Option<i64>,
    /// Revocation time, Unix microseconds.
    pub revoked_at: Option<i64>,
}

/// What a live token grants, with its stored hash for the caller to compare.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    /// The token's ID.
    pub id: String,
    /// SHA-256 of the full token.
    pub hash: Vec<u8>,
    /// The datasource it opens, if any.
    pub datasource: Option<String>,
    /// Whether it opens the query API.
    pub admin: bool,
}

/// Inserts a token row.
pub fn insert(
    conn: &Connection,
    id: &str,
    hash: &[u8],
    datasource: Option<&str>,
    admin: bool,
    label: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO tokens (id, hash, datasource, admin, label, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id, hash, datasource, admin, label, now],
    )?;
    Ok(())
}

/// The live (not revoked) token with this ID.
pub fn live(conn: &Connection, id: &str) -> Result<Option<TokenGrant>, StoreError> {
    let grant = conn
        .prepare_cached(
            "SELECT id, hash, datasource, admin FROM tokens WHERE id = ?1 AND revoked_at IS NULL",
        )?
        .query_row([id], |r| {
            Ok(TokenGrant {
                id: r.get(0)?,
                hash: r.get(1)?,
                datasource: r.get(2)?,
                admin: r.get(3)?,
            })
        })
        .optional()?;
    Ok(grant)
}

/// Every token, oldest first.
pub fn list(conn: &Connection) -> Result<Vec<TokenInfo>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT id, datasource, admin, label, created_at, last_used_at, revoked_at
         FROM tokens ORDER BY created_at, id",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(TokenInfo {
                id: r.get(0)?,
                datasource: r.get(1)?,
                admin: r.get(2)?,
                label: r.get(3)?,
                created_at: r.get(4)?,
                last_used_at: r.get(5)?,
                revoked_at: r.get(6)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Revokes a token; `false` when no live token has that ID.
pub fn revoke(conn: &Connection, id: &str, now: i64) -> Result<bool, StoreError> {
    let changed = conn.execute(
        "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        params![id, now],
    )?;
    Ok(changed > 0)
}

/// Whether any live admin token exists.
pub fn any_admin(conn: &Connection) -> Result<bool, StoreError> {
    let found = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM tokens WHERE admin = 1 AND revoked_at IS NULL)",
        [],
        |r| r.get(0),
    )?;
    Ok(found)
}
