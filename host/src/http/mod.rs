//! The HTTP surface: the router, shared state, and the server's lifecycle.

pub mod intake;
pub mod listener;
pub mod openapi;
pub mod problem;
mod query;
pub mod serve;

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::auth::EnvAdmin;
use crate::config::{Config, Datasource};
use crate::mapper::Engine;
use crate::store::{Store, read};
use problem::{Problem, ProblemDetails};

/// State shared by every handler.
pub struct App {
    config: RwLock<Arc<Config>>,
    /// The database.
    pub store: Store,
    /// The admin token from the environment, if set.
    pub env_admin: EnvAdmin,
    /// The engine that loads mappers, kept for reloads.
    engine: Option<Engine>,
    /// Serializes reloads, so two never race to swap the configuration.
    reloading: tokio::sync::Mutex<()>,
    /// Mapper calls running at once, across datasources.
    pub(crate) mapper_slots: Arc<tokio::sync::Semaphore>,
}

/// How many mapper calls run at once, across datasources: the memory of the
/// calls in flight stays within this many times the per-call cap. Twice the
/// cores, so that mappers spending their whole time limit do not stall the
/// others; calls past it wait their turn.
fn mapper_slots() -> usize {
    2 * std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl App {
    /// State serving `config` from `store`; `engine` loads mappers on reload.
    pub fn new(config: Config, store: Store, env_admin: EnvAdmin, engine: Option<Engine>) -> Self {
        start_series(&config);
        Self {
            config: RwLock::new(Arc::new(config)),
            store,
            env_admin,
            engine,
            reloading: tokio::sync::Mutex::new(()),
            mapper_slots: Arc::new(tokio::sync::Semaphore::new(mapper_slots())),
        }
    }

    /// Re-reads the configuration file, its templates and mappers, and puts
    /// them in force if all of them load; otherwise the running
    /// configuration stays and the error says why. The listening address
    /// and the database stay as they were until a restart. Requests in
    /// flight finish on the configuration they started with.
    pub async fn reload(&self) -> Result<Arc<Config>, String> {
        let _one_at_a_time = self.reloading.lock().await;
        let running = self.config();
        let path = running.path.clone();
        let engine = self.engine.clone();
        let loaded = tokio::task::spawn_blocking(move || Config::load(&path, engine.as_ref()))
            .await
            .map_err(|e| format!("the reload task failed: {e}"))?;
        let mut config = loaded.map_err(|e| crate::error_chain(&e))?;
        if config.listen != running.listen || config.database != running.database {
            tracing::warn!("`listen` and `database` changes take effect at the next restart");
        }
        config.listen = running.listen;
        config.database = running.database.clone();
        start_series(&config);
        let config = Arc::new(config);
        *self.config.write().expect("config lock poisoned") = config.clone();
        Ok(config)
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

/// Starts the metrics of every datasource of `config` at zero.
fn start_series(config: &Config) {
    for datasource in config.datasources.values() {
        crate::metrics::global().start_datasource(&datasource.id, datasource.mapper.is_some());
    }
}

/// The router with every endpoint, as the OpenAPI document lists them.
pub fn router(app: Arc<App>) -> Router {
    let (router, _) = openapi::routes(app.config().max_in_flight).split_for_parts();
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
}

/// What a reload put in force.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Reloaded {
    /// Always `true`: a refused reload answers 422.
    reloaded: bool,
    /// The datasources now served.
    datasources: Vec<String>,
}

/// `POST /api/v1/reload` (admin): as SIGHUP, and says what happened.
#[utoipa::path(
    post,
    path = "/api/v1/reload",
    tag = "operations",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The configuration, templates and mappers were re-read and are in force", body = Reloaded),
        openapi::Unauthorized,
        (status = 422, description = "The new configuration does not load; the running one stays, and the detail says why",
            body = ProblemDetails, content_type = "application/problem+json"),
        openapi::Internal,
    ),
)]
async fn reload(State(app): State<Arc<App>>, headers: axum::http::HeaderMap) -> Response {
    if let Err(problem) = query::require_admin(&app, &headers).await {
        return problem.into_response();
    }
    match app.reload().await {
        Ok(config) => {
            let datasources: Vec<String> = config.datasources.keys().cloned().collect();
            tracing::info!(datasources = ?datasources, "configuration reloaded");
            axum::Json(Reloaded {
                reloaded: true,
                datasources,
            })
            .into_response()
        }
        Err(why) => {
            tracing::error!(reason = %why, "reload refused; the running configuration stays");
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("reload refused; the running configuration stays: {why}"),
            )
            .into_response()
        }
    }
}

async fn overloaded(_: tower::BoxError) -> Response {
    crate::metrics::global().shed();
    Problem::retry_later("the server is at its limit of requests in flight; retry shortly")
        .into_response()
}

/// Every metric, in the OpenMetrics text format Prometheus scrapes.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Every metric, in the OpenMetrics text format",
        body = String, content_type = "application/openmetrics-text")),
)]
async fn metrics() -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        crate::metrics::global().encode(),
    )
        .into_response()
}

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "The process is up", body = String, content_type = "text/plain")),
)]
async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready when the database answers a query and takes writes.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "The database answers", body = String, content_type = "text/plain"),
        (status = 503, description = "The database is not usable, or refuses writes since a commit could not be synced to disk", body = ProblemDetails, content_type = "application/problem+json"),
    ),
)]
async fn readyz(State(app): State<Arc<App>>) -> Response {
    if !app.store.writable() {
        return Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the database could not be synced to disk; writes are refused until eventpush restarts",
        )
        .into_response();
    }
    match app.store.read(read::ping).await {
        Ok(()) => "ready\n".into_response(),
        Err(e) => {
            tracing::warn!(error = %crate::error_chain(&e), "readiness check failed");
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
