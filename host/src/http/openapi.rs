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
use tower::limit::GlobalConcurrencyLimitLayer;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::problem::ProblemDetails;
use super::{App, intake, query};
use crate::graph::Summary;

/// Every route with its documentation. Pushes past `max_in_flight` at once
/// are shed with 503 and `Retry-After` rather than queued without limit.
pub(super) fn routes(max_in_flight: usize) -> OpenApiRouter<Arc<App>> {
    // The method router layers each method's handler on its own; one
    // semaphore shared by all of them makes the limit one for every push.
    let shed = ServiceBuilder::new()
        .layer(axum::error_handling::HandleErrorLayer::new(
            super::overloaded,
        ))
        .load_shed()
        .layer(GlobalConcurrencyLimitLayer::new(max_in_flight));
    let (schemas, paths, push) = routes!(intake::push, intake::push_to_mapper);
    // Methods not in the document (TRACE, extension methods) go the same
    // way, so that the datasource answers them: its mapper, or its own 405
    // and log entry. `any` leaves the `Allow` header to the handler, where a
    // fallback of the method router would add every routed method to each
    // of its answers.
    let push = push.merge(any(intake::push_to_mapper)).layer(shed);
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes((schemas, paths, push))
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
    static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(|| {
        let mut document = routes(1).into_openapi();
        unique_operation_ids(&mut document);
        document
    });
    &DOCUMENT
}

/// A handler documented for several methods gives each the handler's name;
/// the document needs an ID per operation, so a shared one gets the method
/// appended (`push_to_mapper_get`).
fn unique_operation_ids(document: &mut utoipa::openapi::OpenApi) {
    fn operations(item: &mut PathItem) -> [(&'static str, &mut Option<Operation>); 8] {
        [
            ("get", &mut item.get),
            ("put", &mut item.put),
            ("post", &mut item.post),
            ("delete", &mut item.delete),
            ("options", &mut item.options),
            ("head", &mut item.head),
            ("patch", &mut item.patch),
            ("trace", &mut item.trace),
        ]
    }
    let mut uses = std::collections::HashMap::<String, usize>::new();
    for item in document.paths.paths.values_mut() {
        for (_, operation) in operations(item) {
            if let Some(id) = operation.as_ref().and_then(|o| o.operation_id.clone()) {
                *uses.entry(id).or_default() += 1;
            }
        }
    }
    for item in document.paths.paths.values_mut() {
        for (method, operation) in operations(item) {
            let Some(operation) = operation else { continue };
            if let Some(id) = &mut operation.operation_id
                && uses[id.as_str()] > 1
            {
                *id = format!("{id}_{method}");
            }
        }
    }
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
    // The push answers are declared as responses of their own, whose body
    // schemas the paths do not collect; they are listed here.
    components(schemas(ProblemDetails, Summary)),
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

/// A path segment does not decode, or a query parameter is unknown,
/// repeated, or has a value out of range.
#[derive(IntoResponses)]
#[response(status = 400, content_type = "application/problem+json")]
pub struct BadRequest(pub ProblemDetails);

/// The server failed; the cause is in its log, not in the answer.
#[derive(IntoResponses)]
#[response(status = 500, content_type = "application/problem+json")]
pub struct Internal(pub ProblemDetails);

/// What a push that reaches the template is answered with, whatever its
/// method: a datasource's mapper may forward a request of any method.
#[derive(IntoResponses)]
pub enum PushStored {
    /// Stored: at least one event was accepted, was a duplicate, or matched
    /// no entity; refused events are listed.
    #[response(status = 202)]
    Stored(Summary),
    /// No event was found, or every event was refused: the problem carries
    /// the members of a 202 beside its own.
    #[response(status = 422, content_type = "application/problem+json")]
    Refused(ProblemDetails),
}

/// What a push may be refused with, whatever its method.
#[derive(IntoResponses)]
pub enum PushRefusals {
    /// The body is not JSON or could not be read, or the path does not decode.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(ProblemDetails),
    /// No valid token was presented, or the mapper refused the sender's credentials.
    #[response(
        status = 401,
        content_type = "application/problem+json",
        headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"eventpush\"`")),
    )]
    Unauthorized(ProblemDetails),
    /// No datasource with this ID is configured.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(ProblemDetails),
    /// A datasource without a mapper takes POST only.
    #[response(
        status = 405,
        content_type = "application/problem+json",
        headers(("Allow" = String, description = "`POST`")),
    )]
    MethodNotAllowed(ProblemDetails),
    /// The body did not arrive within `body_read_timeout_ms`.
    #[response(status = 408, content_type = "application/problem+json")]
    Timeout(ProblemDetails),
    /// The body is over `max_body_bytes`, or holds more than
    /// `max_events_per_request` events.
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(ProblemDetails),
    /// The server failed; the cause is in its log, not in the answer.
    #[response(status = 500, content_type = "application/problem+json")]
    Internal(ProblemDetails),
    /// The datasource's mapper failed (trap, fuel, time, memory, output) or
    /// forwarded a body that is not JSON.
    #[response(status = 502, content_type = "application/problem+json")]
    MapperFailed(ProblemDetails),
    /// Past `max_in_flight` pushes at once, or every mapper slot stayed busy.
    #[response(
        status = 503,
        content_type = "application/problem+json",
        headers(("Retry-After" = String, description = "Seconds to wait before retrying")),
    )]
    Busy(ProblemDetails),
    /// The datasource's mapper answered the sender itself (Okta's one-time
    /// verification, say), or refused the request with a status of its
    /// choosing and a problem carrying its reason. A mapper's answer may
    /// also use any status above, with the body and media type it chose.
    #[response(status = "default")]
    Mapper,
}
