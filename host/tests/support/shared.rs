//! What the property tests and the fuzz targets share: the real router on a
//! real database file, the statuses a push may answer, and where YAML
//! breaks lines.

#![allow(dead_code, reason = "each user takes the pieces it needs")]

use std::sync::Arc;

use eventpush::auth::{self, EnvAdmin};
use eventpush::config::Config;
use eventpush::http::{App, router};
use eventpush::mapper::Engine;
use eventpush::store::{Durability, Store, tokens};

/// The shipped Okta template's file.
pub fn okta_template_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates/okta-event-hooks.yaml")
}

/// The shipped Okta template, loaded once.
pub fn okta_template() -> &'static eventpush::template::Template {
    static TEMPLATE: std::sync::OnceLock<eventpush::template::Template> =
        std::sync::OnceLock::new();
    TEMPLATE.get_or_init(|| {
        eventpush::template::Template::load(&okta_template_path())
            .expect("the shipped template loads")
    })
}

/// The router with the shipped Okta template as datasource `okta`: the
/// folder holding the database (removed when dropped), the router, and a
/// push token for `okta`.
pub fn okta_app() -> (tempfile::TempDir, axum::Router, String) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let template = okta_template_path();
    let config_path = dir.path().join("eventpush.yaml");
    std::fs::write(
        &config_path,
        format!(
            "database: {}\ndatasources:\n  okta:\n    template: {}\n",
            dir.path().join("eventpush.db").display(),
            template.display()
        ),
    )
    .expect("the config is writable");
    let engine = Engine::new(None).expect("the engine starts");
    let config = Config::load(&config_path, Some(&engine)).expect("the config loads");
    let store = Store::open(&config.database, Durability::Relaxed).expect("the store opens");
    let token = auth::generate();
    let conn = eventpush::store::open_connection(&config.database, Durability::Relaxed)
        .expect("the database opens");
    tokens::insert(&conn, &token.id, &token.hash, Some("okta"), false, None, 0)
        .expect("the token is stored");
    let app = Arc::new(App::new(config, store, EnvAdmin::from_env(), Some(engine)));
    (dir, router(app), token.token.expose().to_owned())
}

/// Every status the OpenAPI document lists for a push, read once.
pub fn push_statuses() -> &'static [u16] {
    static STATUSES: std::sync::OnceLock<Vec<u16>> = std::sync::OnceLock::new();
    STATUSES.get_or_init(|| {
        let document = eventpush::http::openapi::document();
        let item = &document.paths.paths[eventpush::http::intake::PUSH_PATH];
        let post = item.post.as_ref().expect("the document lists POST");
        post.responses
            .responses
            .keys()
            .filter_map(|status| status.parse().ok())
            .collect()
    })
}

/// How many line breaks `text` holds for YAML, which breaks lines at `\n`,
/// `\r\n` and a lone `\r`: a problem at the end of the input is on the line
/// after the last one.
pub fn yaml_line_breaks(text: &str) -> u64 {
    text.replace("\r\n", "\n")
        .chars()
        .filter(|c| matches!(c, '\n' | '\r'))
        .count() as u64
}
