//! `POST /events/custom/v1/{datasource}`: the push endpoint.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use tracing::Instrument;

use super::problem::{Problem, ProblemDetails, Segments};
use super::{App, now_micros};
use crate::auth::{self, AuthError};
use crate::config::{AuthMode, Datasource, MapperSetup};
use crate::graph::{Rejection, Summary};
use crate::mapper::{self, Outcome};
use crate::store::{Ingest, LogEntry, StoreError};
use crate::template::{Extracted, Template};

/// The path of the push endpoint.
pub const PUSH_PATH: &str = "/events/custom/v1/{datasource}";

type DatasourcePath = Segments<String>;

/// Why a push was refused as a whole.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// A method other than POST, for a datasource without a mapper.
    #[error("this datasource takes POST only")]
    PostOnly,
    /// The body is larger than the datasource allows.
    #[error("the body exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// No valid token for this datasource.
    #[error("missing or invalid credentials")]
    Unauthorized,
    /// The body is not declared as JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body could not be read or is not JSON.
    #[error("{0}")]
    Malformed(String),
    /// The body holds more events than the datasource takes in one request.
    #[error("the body holds {found} events, more than the limit of {limit} per request")]
    TooManyEvents {
        /// How many `pushEventsPath` selected.
        found: usize,
        /// The limit.
        limit: usize,
    },
    /// The body could not be read from the connection.
    #[error("failed to read the request body")]
    Read(#[source] axum::Error),
    /// The body did not arrive in time.
    #[error("the body did not arrive within {0:?}")]
    SlowBody(std::time::Duration),
    /// Storage failed.
    #[error("failed to store the events")]
    Store(#[from] StoreError),
    /// The mapper trapped or ran past a limit.
    #[error("the datasource's mapper failed: {0}")]
    MapperFault(mapper::Fault),
    /// The mapper refused the request.
    #[error("{reason}")]
    MapperRejected {
        /// The status it chose.
        status: u16,
        /// Its reason.
        reason: String,
    },
    /// Every mapper slot stayed taken for as long as a call may last.
    #[error("every mapper is busy; retry shortly")]
    MapperBusy,
    /// The mapper rewrote the body into something that is not JSON.
    #[error("the datasource's mapper forwarded a body that is not valid JSON: {0}")]
    MapperBadJson(String),
}

impl IntakeError {
    /// The answer the sender gets.
    pub fn into_problem(self) -> Problem {
        match self {
            Self::PostOnly => Problem::method_not_allowed(self.to_string(), "POST"),
            Self::TooLarge { .. } | Self::TooManyEvents { .. } => {
                Problem::new(StatusCode::PAYLOAD_TOO_LARGE, self.to_string())
            }
            Self::Unauthorized => Problem::unauthorized(),
            Self::UnsupportedMediaType(_) => {
                Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, self.to_string())
            }
            Self::Malformed(_) => Problem::new(StatusCode::BAD_REQUEST, self.to_string()),
            Self::Read(_) => Problem::new(StatusCode::BAD_REQUEST, self.to_string()),
            Self::SlowBody(_) => Problem::new(StatusCode::REQUEST_TIMEOUT, self.to_string()),
            Self::Store(ref e) => Problem::internal(e),
            Self::MapperBusy => Problem::retry_later(self.to_string()),
            Self::MapperFault(_) | Self::MapperBadJson(_) => {
                Problem::new(StatusCode::BAD_GATEWAY, self.to_string())
            }
            // A refusal of credentials says no more than any other 401.
            Self::MapperRejected { status: 401, .. } => Problem::unauthorized(),
            Self::MapperRejected { status, reason } => Problem::new(
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                reason,
            ),
        }
    }
}

impl From<AuthError> for IntakeError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Denied => Self::Unauthorized,
            AuthError::Store(e) => Self::Store(e),
        }
    }
}

/// What a request came to, short of an error.
enum Handled {
    /// Events were extracted and stored.
    Stored(Summary),
    /// The mapper answered the sender directly; nothing was stored.
    Responded(Response),
}

/// Handles one push: the steps of the request path in order, each able to
/// end it with its own answer, every answer noted in the event-stream log
/// but the 500 of a store that failed.
#[utoipa::path(
    post,
    path = PUSH_PATH,
    tag = "push",
    security(("datasource_token" = [])),
    params(("datasource" = String, Path, description = "The datasource's ID in the configuration")),
    request_body(
        content = Value,
        content_type = "application/json",
        description = "The events, as the sender delivers them: any JSON that the datasource's \
                       `pushEventsPath` selects events from. `application/*+json` is taken too. \
                       A datasource with a mapper takes any body and hands it to its mapper first.",
        example = json!({
            "eventType": "com.okta.event_hook",
            "data": { "events": [{
                "uuid": "5b3ed2a6-eb8d-11ee-9a4e-3b0c6a4ad3c1",
                "eventType": "user.session.start",
                "published": "2024-03-26T21:05:32.159Z",
                "actor": { "id": "00u1a2b3c4", "type": "User", "alternateId": "ann@example.com" },
                "outcome": { "result": "SUCCESS" }
            }]}
        }),
    ),
    responses(
        super::openapi::PushStored,
        (status = 415, description = "The body is not declared as JSON", body = ProblemDetails, content_type = "application/problem+json"),
        super::openapi::PushRefusals,
    ),
)]
pub async fn push(
    State(app): State<Arc<App>>,
    Segments(datasource_id): DatasourcePath,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let received_at = now_micros();
    let metrics = crate::metrics::global();
    let Some(datasource) = app.datasource(&datasource_id) else {
        metrics.request(crate::metrics::UNKNOWN_DATASOURCE, 404);
        return Problem::new(
            StatusCode::NOT_FOUND,
            format!("no datasource `{datasource_id}`"),
        )
        .into_response();
    };
    let span = tracing::info_span!(
        "push",
        datasource = %datasource.id,
        mapper = datasource.mapper.as_ref().map(|m| m.mapper.name().to_owned()),
        bytes = tracing::field::Empty,
    );
    async move {
        let mut receipt = None;
        let request = Incoming {
            method,
            uri,
            headers,
            body,
            received_at,
        };
        let result = handle(&app, &datasource, request, &mut receipt).await;
        if let Some(receipt) = &receipt {
            metrics.mapper_call(&datasource.id, receipt);
        }
        // The entry of an answer that stored nothing; a stored request's
        // entry is written with its events.
        let log = |status: u16, error: Option<String>| {
            app.store.log(LogEntry {
                datasource: datasource.id.clone(),
                received_at,
                status,
                error,
                mapper: logged_receipt(receipt.as_ref()),
            })
        };
        let response = match result {
            Ok(Handled::Stored(summary)) => {
                metrics.events(&datasource.id, &summary);
                tracing::info!(
                    status = summary.status(),
                    accepted = summary.accepted,
                    duplicates = summary.duplicates,
                    unmatched = summary.unmatched,
                    rejected = summary.rejected.len(),
                    "push answered"
                );
                answer(&summary)
            }
            Ok(Handled::Responded(response)) => {
                let status = response.status().as_u16();
                if let Err(e) = log(status, None).await {
                    return Problem::internal(&e).into_response();
                }
                tracing::info!(status, "push answered by the mapper");
                response
            }
            Err(error) => {
                // Every refusal is logged but a failure of the store itself,
                // which would fail again; a mapper's own 500 is logged too.
                let loggable = !matches!(error, IntakeError::Store(_));
                let logged = error.to_string();
                let problem = error.into_problem();
                if loggable && let Err(e) = log(problem.status().as_u16(), Some(logged)).await {
                    return Problem::internal(&e).into_response();
                }
                tracing::info!(status = problem.status().as_u16(), "push answered");
                problem.into_response()
            }
        };
        metrics.request(&datasource.id, response.status().as_u16());
        response
    }
    .instrument(span)
    .await
}

/// The methods other than POST, for a datasource with a mapper: the mapper
/// sees the request first and may answer it itself, as senders' handshakes
/// need (Okta's verification GET, the CloudEvents OPTIONS of Event Grid).
/// A datasource without a mapper answers 405. The methods listed here are
/// the documented ones; any other (TRACE, an extension method) is handled
/// the same way.
#[utoipa::path(
    method(get, head, options, put, patch, delete),
    path = PUSH_PATH,
    tag = "push",
    security(("datasource_token" = []), ()),
    params(("datasource" = String, Path, description = "The datasource's ID in the configuration")),
    responses(super::openapi::PushStored, super::openapi::PushRefusals),
)]
pub async fn push_to_mapper(
    state: State<Arc<App>>,
    datasource: DatasourcePath,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    push(state, datasource, method, uri, headers, body).await
}

/// The parts of a request that intake reads.
struct Incoming {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
    received_at: i64,
}

async fn handle(
    app: &App,
    datasource: &Datasource,
    request: Incoming,
    receipt: &mut Option<mapper::Receipt>,
) -> Result<Handled, IntakeError> {
    let Incoming {
        method,
        uri,
        headers,
        body,
        received_at,
    } = request;
    if datasource.mapper.is_none() && method != Method::POST {
        return Err(IntakeError::PostOnly);
    }
    let limit = datasource.limits.max_body_bytes;
    if declared_length(&headers).is_some_and(|n| n > limit) {
        return Err(IntakeError::TooLarge { limit });
    }
    let token_id = match datasource.auth {
        AuthMode::Token => match authenticate(app, datasource, &headers).await {
            Ok(id) => Some(id),
            Err(IntakeError::Unauthorized) if datasource.unauthenticated_handshakes => None,
            Err(e) => return Err(e),
        },
        AuthMode::Mapper => None,
    };
    if datasource.mapper.is_none() {
        require_json(
            headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
        )?;
    }
    let timeout = datasource.limits.body_read_timeout;
    let bytes = tokio::time::timeout(timeout, read_body(body, limit))
        .await
        .map_err(|_| IntakeError::SlowBody(timeout))??;
    tracing::Span::current().record("bytes", bytes.len());

    let (body, rewritten) = match &datasource.mapper {
        None => (bytes, false),
        Some(setup) => {
            // The datasource's token is ours to check, never the mapper's to see.
            let hidden = (datasource.auth == AuthMode::Token).then_some(&datasource.token_header);
            let request = mapper_request(&method, &uri, &headers, hidden, bytes);
            let (outcome, request, done) = run_mapper(app, setup, request).await?;
            *receipt = Some(done);
            let verified = token_id.is_some() || datasource.auth == AuthMode::Mapper;
            match outcome.map_err(IntakeError::MapperFault)? {
                Outcome::Respond(response) => return Ok(Handled::Responded(respond(response))),
                // For a request without credentials only a respond is honoured.
                _ if !verified => return Err(IntakeError::Unauthorized),
                Outcome::Reject(rejection) => {
                    return Err(IntakeError::MapperRejected {
                        status: rejection.status,
                        reason: rejection.reason,
                    });
                }
                Outcome::Forward(None) => (Bytes::from(request.body), false),
                Outcome::Forward(Some(new)) => (Bytes::from(new), true),
            }
        }
    };

    let payload = parse_payload(&datasource.template, &body, rewritten)?;
    let ingest = extract(
        &datasource.template,
        &payload,
        datasource.limits.max_events_per_request,
        Ingest {
            datasource: datasource.id.clone(),
            received_at,
            token_id,
            max_types_per_subject: datasource.limits.max_event_types_per_subject,
            events: Vec::new(),
            summary: Summary::default(),
            mapper: logged_receipt(receipt.as_ref()),
        },
    )?;
    // What the request brought, and the tree parsed from its body (about
    // ten times the body's size), are freed now, on this thread while they
    // are in its cache, rather than held through the wait for the commit
    // and freed on the way to the answer.
    drop((payload, body, headers, uri));
    Ok(Handled::Stored(app.store.ingest(ingest).await?))
}

/// A mapper call's receipt as log entries hold it.
fn logged_receipt(receipt: Option<&mapper::Receipt>) -> Option<Value> {
    receipt.map(|r| serde_json::to_value(r).unwrap_or_default())
}

/// The request as the mapper sees it, without the `hidden` header; the body
/// moves in without a copy.
fn mapper_request(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    hidden: Option<&HeaderName>,
    body: Bytes,
) -> mapper::Request {
    mapper::Request {
        method: method.as_str().to_owned(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or("").to_owned(),
        headers: headers
            .iter()
            .filter(|(name, _)| Some(*name) != hidden)
            .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
            .collect(),
        body: Vec::from(body),
    }
}

type MapperRun = (
    Result<Outcome, mapper::Fault>,
    mapper::Request,
    mapper::Receipt,
);

/// Runs the mapper; hands the request back so that an unchanged forward
/// reuses its body.
async fn run_mapper(
    app: &App,
    setup: &MapperSetup,
    request: mapper::Request,
) -> Result<MapperRun, IntakeError> {
    // A slot is held until the call ends. Waiting for one is bounded like
    // the call itself, so that slow mappers of one datasource cannot queue
    // the others' requests without end.
    let wait = setup.context.limits.timeout;
    let Ok(Ok(_slot)) = tokio::time::timeout(wait, app.mapper_slots.acquire()).await else {
        return Err(IntakeError::MapperBusy);
    };
    let (outcome, receipt) = setup.mapper.call(&setup.context, &request).await;
    if let Err(fault) = &outcome {
        tracing::warn!(fault = fault.kind(), "mapper failed: {fault}");
    }
    Ok((outcome, request, receipt))
}

/// The mapper's answer as an HTTP response; the length is set from the body.
fn respond(answer: mapper::Response) -> Response {
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    for (name, value) in answer.headers {
        let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value))
        else {
            continue;
        };
        if name != header::CONTENT_LENGTH && name != header::TRANSFER_ENCODING {
            response.headers_mut().append(name, value);
        }
    }
    // An echoed handshake value must never be sniffed into something a browser runs.
    response
        .headers_mut()
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    response
}

/// Parses the body as JSON, keeping what `template` reads of it; a body a
/// mapper `rewrote` that does not parse is the mapper's fault, not the sender's.
pub fn parse_payload(
    template: &Template,
    body: &[u8],
    rewritten: bool,
) -> Result<Value, IntakeError> {
    template
        .read_payload(body)
        .map_err(|e| match (rewritten, body.is_empty()) {
            (true, _) => IntakeError::MapperBadJson(e.to_string()),
            (false, true) => {
                IntakeError::Malformed("the body is empty; send the events as JSON".into())
            }
            (false, false) => IntakeError::Malformed(format!("the body is not valid JSON: {e}")),
        })
}

/// Runs the template over `payload` and fills `ingest` with what it found;
/// refuses a payload of more than `max_events`.
pub fn extract(
    template: &Template,
    payload: &Value,
    max_events: usize,
    mut ingest: Ingest,
) -> Result<Ingest, IntakeError> {
    let extraction = template
        .extract_at_most(payload, max_events)
        .map_err(|found| IntakeError::TooManyEvents {
            found,
            limit: max_events,
        })?;
    for (index, extracted) in extraction.events.into_iter().enumerate() {
        match extracted {
            Extracted::Matched(event) => ingest.events.push((index, event)),
            Extracted::Unmatched => ingest.summary.unmatched += 1,
            Extracted::Rejected(reason) => {
                ingest.summary.rejected.push(Rejection { index, reason })
            }
        }
    }
    ingest.summary.skipped_children = extraction.skipped_children;
    Ok(ingest)
}

async fn authenticate(
    app: &App,
    datasource: &Datasource,
    headers: &HeaderMap,
) -> Result<String, IntakeError> {
    let presented = headers
        .get(&datasource.token_header)
        .and_then(|v| v.to_str().ok())
        .map(auth::from_header)
        .unwrap_or_default();
    Ok(auth::check_datasource(&app.store, presented, &datasource.id).await?)
}

fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Accepts `application/json` and any `application/*+json`, with parameters.
pub fn require_json(declared: Option<&str>) -> Result<(), IntakeError> {
    let declared = declared.unwrap_or("");
    let essence = declared
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let is_json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    if is_json {
        Ok(())
    } else if essence.is_empty() {
        Err(IntakeError::UnsupportedMediaType(
            "the body has no Content-Type; send it as application/json".into(),
        ))
    } else {
        Err(IntakeError::UnsupportedMediaType(format!(
            "Content-Type `{essence}` is not JSON; send application/json or a +json type"
        )))
    }
}

/// Reads at most `limit` bytes; a longer body is refused without reading it all.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, IntakeError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if too_large {
            IntakeError::TooLarge { limit }
        } else {
            IntakeError::Read(e)
        }
    })
}

/// 202 with the summary, or 422 as a problem carrying the same members.
fn answer(summary: &Summary) -> Response {
    match answer_body(summary) {
        Ok(members) => (StatusCode::ACCEPTED, axum::Json(Value::Object(members))).into_response(),
        Err(problem) => problem.into_response(),
    }
}

/// The body of a 202 for `summary`, or the 422 problem when no event was
/// found or every one was refused.
pub fn answer_body(summary: &Summary) -> Result<Map<String, Value>, Problem> {
    let members = match serde_json::to_value(summary) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    match summary.refusal() {
        None => Ok(members),
        Some(detail) => {
            Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, detail).with_members(members))
        }
    }
}
