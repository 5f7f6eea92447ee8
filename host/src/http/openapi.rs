//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]`
//! attributes and the types they answer with, and served at
//! `/api/openapi.json`.
//!
//! The router registers every documented handler through [`routes`], so a
//! path in the document is the path the router serves.

use std::sync::{Arc, LazyLock};

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use tower::ServiceBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::problem::ProblemDetails;
use super::{App, intake, query};

/// Every route with its documentation. Pushes past `max_in_flight` at once
/// are shed with 503 and `Retry-After` rather than queued without limit.
pub(super) fn routes(max_in_flight: usize) -> OpenApiRouter<Arc<App>> {
    let shed = ServiceBuilder::new()
        .layer(axum::error_handling::HandleErrorLayer::new(
            super::overloaded,
        ))
        .load_shed()
        .concurrency_limit(max_in_flight);
    // A datasource with a mapper takes any method, so the push route takes
    // them all; the document names the two that senders use.
    let (schemas, paths, _) = routes!(intake::push);
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes((schemas, paths, any(intake::push).layer(shed)))
        .routes(routes!(query::subject_events))
        .routes(routes!(query::erase_subject))
        .routes(routes!(query::datasource_logs))
        .routes(routes!(query::entity_nodes))
        .routes(routes!(super::reload))
        .routes(routes!(super::metrics))
        .routes(routes!(super::healthz))
        .routes(routes!(super::readyz))
        .routes(routes!(openapi_json))
}

/// The document, built once.
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> =
        LazyLock::new(|| routes(1).into_openapi());
    &DOCUMENT
}

/// `GET /api/openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of every endpoint", body = Object)),
)]
pub(super) async fn openapi_json() -> Response {
    static JSON: LazyLock<String> = LazyLock::new(|| {
        document()
            .to_json()
            .expect("the OpenAPI document serializes")
    });
    ([(header::CONTENT_TYPE, "application/json")], JSON.as_str()).into_response()
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "eventpush",
        description = "Receives events pushed by external systems, extracts entities from them \
                       with the datasource's template, and keeps them as graph state.",
    ),
    modifiers(&SecuritySchemes),
    components(schemas(ProblemDetails)),
    tags(
        (name = "push", description = "Events from senders"),
        (name = "query", description = "What is stored, behind an admin token"),
        (name = "operations", description = "Health, metrics, reload and this document"),
    ),
)]
struct ApiDoc;

/// The two kinds of token: a datasource's push token and an admin token.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(description))
                    .build(),
            )
        };
        components.add_security_scheme(
            "datasource_token",
            bearer(
                "A push token of this datasource (`eventpush token create --datasource ID`), \
                 as `Bearer TOKEN` or bare, in `Authorization` or the datasource's `token_header`.",
            ),
        );
        components.add_security_scheme(
            "admin_token",
            bearer("An admin token (`eventpush token create --admin`) or `EVENTPUSH_ADMIN_TOKEN`."),
        );
    }
}

/// No valid token was presented.
#[derive(IntoResponses)]
#[response(
    status = 401,
    content_type = "application/problem+json",
    headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"eventpush\"`")),
)]
pub struct Unauthorized(pub ProblemDetails);

/// No datasource with this ID is configured, or it has no such entity.
#[derive(IntoResponses)]
#[response(status = 404, content_type = "application/problem+json")]
pub struct NotFound(pub ProblemDetails);

/// A query parameter is unknown, repeated, or has a value out of range.
#[derive(IntoResponses)]
#[response(status = 400, content_type = "application/problem+json")]
pub struct BadQuery(pub ProblemDetails);

/// The server failed; the cause is in its log, not in the answer.
#[derive(IntoResponses)]
#[response(status = 500, content_type = "application/problem+json")]
pub struct Internal(pub ProblemDetails);

/// Too busy to take the request now.
#[derive(IntoResponses)]
#[response(
    status = 503,
    content_type = "application/problem+json",
    headers(("Retry-After" = String, description = "Seconds to wait before retrying")),
)]
pub struct Busy(pub ProblemDetails);
