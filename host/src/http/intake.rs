//! `POST /events/custom/v1/{datasource}`: the push endpoint.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use tracing::Instrument;

use super::problem::Problem;
use super::{App, now_micros};
use crate::auth::{self, AuthError};
use crate::config::Datasource;
use crate::graph::{Rejection, Summary};
use crate::store::{Ingest, LogEntry, StoreError};
use crate::template::{Extracted, Template};

/// Why a push was refused as a whole.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
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
    /// The body could not be read from the connection.
    #[error("failed to read the request body")]
    Read(#[source] axum::Error),
    /// Storage failed.
    #[error("failed to store the events")]
    Store(#[from] StoreError),
}

impl IntakeError {
    fn into_problem(self) -> Problem {
        match self {
            Self::TooLarge { .. } => Problem::new(StatusCode::PAYLOAD_TOO_LARGE, self.to_string()),
            Self::Unauthorized => Problem::unauthorized(),
            Self::UnsupportedMediaType(_) => {
                Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, self.to_string())
            }
            Self::Malformed(_) => Problem::new(StatusCode::BAD_REQUEST, self.to_string()),
            Self::Read(_) => Problem::new(StatusCode::BAD_REQUEST, self.to_string()),
            Self::Store(ref e) => Problem::internal(e),
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

/// Handles one push: the steps of the request path in order, each able to
/// end it with its own answer, every answer noted in the event-stream log.
pub async fn push(
    State(app): State<Arc<App>>,
    Path(datasource_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let received_at = now_micros();
    let Some(datasource) = app.datasource(&datasource_id) else {
        return Problem::new(
            StatusCode::NOT_FOUND,
            format!("no datasource `{datasource_id}`"),
        )
        .into_response();
    };
    let span =
        tracing::info_span!("push", datasource = %datasource.id, bytes = tracing::field::Empty);
    async move {
        let result = handle(&app, &datasource, &headers, body, received_at).await;
        match result {
            Ok(summary) => {
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
            Err(error) => {
                let problem = error.into_problem();
                if problem.status() != StatusCode::INTERNAL_SERVER_ERROR {
                    app.store
                        .log(LogEntry {
                            datasource: datasource.id.clone(),
                            received_at,
                            status: problem.status().as_u16(),
                            error: Some(problem.detail().to_owned()),
                            mapper: None,
                        })
                        .await;
                }
                tracing::info!(status = problem.status().as_u16(), "push answered");
                problem.into_response()
            }
        }
    }
    .instrument(span)
    .await
}

async fn handle(
    app: &App,
    datasource: &Datasource,
    headers: &HeaderMap,
    body: Body,
    received_at: i64,
) -> Result<Summary, IntakeError> {
    let limit = datasource.limits.max_body_bytes;
    if declared_length(headers).is_some_and(|n| n > limit) {
        return Err(IntakeError::TooLarge { limit });
    }
    let token_id = authenticate(app, datasource, headers).await?;
    require_json(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    )?;
    let bytes = read_body(body, limit).await?;
    tracing::Span::current().record("bytes", bytes.len());
    let payload: Value = serde_json::from_slice(&bytes)
        .map_err(|e| IntakeError::Malformed(format!("the body is not valid JSON: {e}")))?;

    let ingest = extract(
        &datasource.template,
        &payload,
        Ingest {
            datasource: datasource.id.clone(),
            received_at,
            token_id: Some(token_id),
            max_types_per_subject: datasource.limits.max_event_types_per_subject,
            events: Vec::new(),
            summary: Summary::default(),
            mapper: None,
        },
    );
    Ok(app.store.ingest(ingest).await?)
}

/// Runs the template over `payload` and fills `ingest` with what it found.
pub fn extract(template: &Template, payload: &Value, mut ingest: Ingest) -> Ingest {
    let extraction = template.extract(payload);
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
    ingest
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
    let members = summary_members(summary);
    if summary.status() == 202 {
        return (StatusCode::ACCEPTED, axum::Json(Value::Object(members))).into_response();
    }
    let detail = if summary.found() == 0 {
        "`pushEventsPath` found no events in the body".to_owned()
    } else {
        format!("all {} events were rejected", summary.found())
    };
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
        .with_members(members)
        .into_response()
}

/// The members of a summary as a JSON object, for `try`.
pub fn summary_members(summary: &Summary) -> Map<String, Value> {
    match serde_json::to_value(summary) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}
