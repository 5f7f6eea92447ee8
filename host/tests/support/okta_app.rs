//! The real router on a real database file, with the shipped Okta template
//! as datasource `okta` and a push token for it. Shared by the property
//! tests and the fuzz targets.

use std::sync::Arc;

use eventpush::auth::{self, EnvAdmin};
use eventpush::config::Config;
use eventpush::http::{App, router};
use eventpush::mapper::Engine;
use eventpush::store::{Durability, Store, tokens};

/// The folder holding the database (removed when dropped), the router, and
/// the push token.
pub fn okta_app() -> (tempfile::TempDir, axum::Router, String) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let template =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates/okta-event-hooks.yaml");
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
