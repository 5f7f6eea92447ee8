//! Bearer tokens: how they are made, read from a request, and checked.
//!
//! A token reads `ep_<id>_<secret>`: a 64-bit public ID, by which its row is
//! found, and a 256-bit random secret. Only the SHA-256 of the whole token is
//! stored, and the presented token's hash is compared with it in constant
//! time. Every check reads the database, so a token created or revoked by
//! the CLI takes effect on the next request.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::store::{Store, StoreError, tokens};

const PREFIX: &str = "ep_";
const ID_BYTES: usize = 8;
const SECRET_BYTES: usize = 32;

/// A token's text. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// The text to hand to the sender; print it once and keep it nowhere.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A freshly made token with what the database keeps of it.
#[derive(Debug)]
pub struct NewToken {
    /// The public ID.
    pub id: String,
    /// The token itself.
    pub token: Token,
    /// SHA-256 of the token, the only form stored.
    pub hash: [u8; 32],
}

/// Makes a new random token.
pub fn generate() -> NewToken {
    let mut id = [0u8; ID_BYTES];
    let mut secret = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut id);
    rand::rng().fill_bytes(&mut secret);
    let id = hex::encode(id);
    let token = format!("{PREFIX}{id}_{}", URL_SAFE_NO_PAD.encode(secret));
    NewToken {
        hash: hash(&token),
        id,
        token: Token(token),
    }
}

/// SHA-256 of a token's text.
pub fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The token in a header value: `Bearer TOKEN` (scheme in any case) or the
/// bare token, as some senders pass the header exactly as an admin typed it.
pub fn from_header(value: &str) -> &str {
    let value = value.trim();
    match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => value,
    }
}

/// The public ID inside a token, when the text has a token's shape.
pub fn id_of(token: &str) -> Option<&str> {
    let rest = token.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_at_checked(ID_BYTES * 2)?;
    let secret = secret.strip_prefix('_')?;
    (id.bytes().all(|b| b.is_ascii_hexdigit()) && !secret.is_empty()).then_some(id)
}

/// `text` with the secret part of every token in it replaced by `…`: an
/// answer that quotes what a caller sent (a path segment, a query value)
/// must not carry a token the caller put in the wrong place. The token's
/// public ID stays, so the caller can tell which token it was.
pub fn redact_tokens(text: &str) -> std::borrow::Cow<'_, str> {
    let is_secret = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut redacted = String::new();
    let mut rest = text;
    while let Some(start) = rest.find(PREFIX) {
        let candidate = &rest[start..];
        let secret_end = candidate
            .find(|c: char| !is_secret(c))
            .unwrap_or(candidate.len());
        let Some(id) = id_of(&candidate[..secret_end]) else {
            redacted.push_str(&rest[..start + PREFIX.len()]);
            rest = &rest[start + PREFIX.len()..];
            continue;
        };
        redacted.push_str(&rest[..start]);
        redacted.push_str(PREFIX);
        redacted.push_str(id);
        redacted.push_str("_…");
        rest = &candidate[secret_end..];
    }
    if redacted.is_empty() {
        return std::borrow::Cow::Borrowed(text);
    }
    redacted.push_str(rest);
    std::borrow::Cow::Owned(redacted)
}

/// Why a request was not authenticated. Deliberately says nothing about
/// which part was wrong; the answer is a plain 401.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No token, an unknown or revoked one, or one for something else.
    #[error("missing or invalid credentials")]
    Denied,
    /// The token could not be checked.
    #[error("failed to check credentials")]
    Store(#[from] StoreError),
}

/// What a valid token grants.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The token's ID.
    pub token_id: String,
    /// The datasource it opens, if any.
    pub datasource: Option<String>,
    /// Whether it opens the query API.
    pub admin: bool,
}

/// Checks a presented token against the database.
pub async fn check(store: &Store, presented: &str) -> Result<Grant, AuthError> {
    let Some(id) = id_of(presented).map(str::to_owned) else {
        return Err(AuthError::Denied);
    };
    let presented_hash = hash(presented);
    // A lookup by primary key: cheaper here than on a blocking thread.
    let row = store.read_now(move |conn| tokens::live(conn, &id)).await?;
    match row {
        Some(row) if bool::from(row.hash.as_slice().ct_eq(&presented_hash)) => Ok(Grant {
            token_id: row.id,
            datasource: row.datasource,
            admin: row.admin,
        }),
        _ => Err(AuthError::Denied),
    }
}

/// Checks a token for pushing to `datasource`; returns the token's ID.
pub async fn check_datasource(
    store: &Store,
    presented: &str,
    datasource: &str,
) -> Result<String, AuthError> {
    let grant = check(store, presented).await?;
    if grant.datasource.as_deref() == Some(datasource) {
        Ok(grant.token_id)
    } else {
        Err(AuthError::Denied)
    }
}

/// The admin token from the environment, kept only as a hash.
#[derive(Clone, Default)]
pub struct EnvAdmin(Option<[u8; 32]>);

impl fmt::Debug for EnvAdmin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "EnvAdmin(set)"
        } else {
            "EnvAdmin(unset)"
        })
    }
}

impl EnvAdmin {
    /// Reads `EVENTPUSH_ADMIN_TOKEN`; an empty value counts as unset.
    pub fn from_env() -> Self {
        let value = std::env::var("EVENTPUSH_ADMIN_TOKEN").unwrap_or_default();
        let value = value.trim();
        Self((!value.is_empty()).then(|| hash(value)))
    }

    /// Whether an admin token is set in the environment.
    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }

    fn matches(&self, presented: &str) -> bool {
        self.0
            .is_some_and(|expected| bool::from(expected.ct_eq(&hash(presented))))
    }
}

/// Checks a token for the query API: the environment's admin token, or an
/// admin token made with the CLI. Returns the token's ID when it has one.
pub async fn check_admin(
    store: &Store,
    env: &EnvAdmin,
    presented: &str,
) -> Result<Option<String>, AuthError> {
    if presented.is_empty() {
        return Err(AuthError::Denied);
    }
    if env.matches(presented) {
        return Ok(None);
    }
    match check(store, presented).await? {
        grant if grant.admin => Ok(Some(grant.token_id)),
        _ => Err(AuthError::Denied),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_random_and_parse_back() {
        let a = generate();
        let b = generate();
        assert_ne!(a.token, b.token);
        assert_eq!(id_of(a.token.expose()), Some(a.id.as_str()));
        assert_eq!(hash(a.token.expose()), a.hash);
        // `ep_`, 16 hex digits of id, `_`, then 32 random bytes in base64: 256 bits.
        let text = a.token.expose();
        assert_eq!(text.len(), 3 + 16 + 1 + 43);
        assert_eq!(
            URL_SAFE_NO_PAD.decode(&text[20..]).unwrap().len(),
            SECRET_BYTES
        );
    }

    #[test]
    fn header_accepts_bearer_scheme_or_bare_token() {
        assert_eq!(from_header("Bearer abc"), "abc");
        assert_eq!(from_header("bearer  abc "), "abc");
        assert_eq!(from_header("abc"), "abc");
        assert_eq!(from_header("Basic abc"), "Basic abc");
    }

    #[test]
    fn foreign_shapes_have_no_id() {
        assert_eq!(id_of("nope"), None);
        assert_eq!(id_of("ep_0123456789abcdef"), None);
        assert_eq!(id_of("ep_0123456789abcdeg_x"), None);
        assert_eq!(id_of("ep_0123456789abcdef_x"), Some("0123456789abcdef"));
    }

    #[test]
    fn debug_never_shows_a_token() {
        let t = generate();
        assert!(!format!("{t:?}").contains(t.token.expose()));
    }

    #[test]
    fn answers_quote_a_token_without_its_secret() {
        let token = generate().token.0;
        let id = id_of(&token).unwrap().to_owned();
        let quoted = format!("no datasource `{token}`, nor `{token}`; ep_ alone and ep_x_y stay");
        let redacted = redact_tokens(&quoted);
        assert_eq!(
            redacted,
            format!("no datasource `ep_{id}_…`, nor `ep_{id}_…`; ep_ alone and ep_x_y stay")
        );
        assert!(matches!(
            redact_tokens("nothing to hide"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
