//! The HTTP surface: the router, shared state, and the server's lifecycle.

pub mod intake;
pub mod problem;
mod query;

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};

use crate::auth::EnvAdmin;
use crate::config::{Config, Datasource};
use crate::store::{Store, read};
use problem::Problem;

/// State shared by every handler.
pub struct App {
    config: RwLock<Arc<Config>>,
    /// The database.
    pub store: Store,
    /// The admin token from the environment, if set.
    pub env_admin: EnvAdmin,
}

impl App {
    /// State serving `config` from `store`.
    pub fn new(config: Config, store: Store, env_admin: EnvAdmin) -> Self {
        Self {
            config: RwLock::new(Arc::new(config)),
            store,
            env_admin,
        }
    }

    /// The configuration in force; a request keeps the one it started with.
    pub fn config(&self) -> Arc<Config> {
        self.config.read().expect("config lock poisoned").clone()
    }

    /// The datasource with this ID in the configuration in force.
    pub fn datasource(&self, id: &str) -> Option<Arc<Datasource>> {
        self.config().datasources.get(id).cloned()
    }
}

/// The router with every endpoint.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/events/custom/v1/{datasource}", any(intake::push))
        .route(
            "/api/v1/subjects/{subject}/events",
            get(query::subject_events),
        )
        .route("/api/v1/datasources/{id}/logs", get(query::datasource_logs))
        .route(
            "/api/v1/datasources/{id}/entities/{entity}",
            get(query::entity_nodes),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready when the database answers a query.
async fn readyz(State(app): State<Arc<App>>) -> Response {
    match app.store.read(read::ping).await {
        Ok(()) => "ready\n".into_response(),
        Err(e) => {
            tracing::warn!(error = %problem::error_chain(&e), "readiness check failed");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is not usable",
            )
            .into_response()
        }
    }
}

async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "no such endpoint")
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this endpoint does not take that method",
    )
}

/// The current time in Unix microseconds.
pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}
