//! Error answers as `application/problem+json` (RFC 9457).
//!
//! Client mistakes get a precise status and detail and are not logged as
//! errors; internal faults get a fixed, generic detail and one server-side
//! log line, so nothing internal leaks to the sender.

use axum::Json;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// The media type of every error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error answer.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    detail: String,
    members: Map<String, Value>,
    /// Headers the status calls for: a challenge, `Retry-After`, `Allow`.
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Problem {
    /// A problem with `status` and a detail for the client.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        Self {
            status,
            // A detail may quote what the caller sent, a misplaced token too.
            detail: match crate::auth::redact_tokens(&detail) {
                std::borrow::Cow::Borrowed(_) => detail,
                std::borrow::Cow::Owned(redacted) => redacted,
            },
            members: Map::new(),
            headers: Vec::new(),
        }
    }

    /// 401 with a `WWW-Authenticate` challenge and no hint of what was wrong.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "missing or invalid credentials").with_header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"eventpush\""),
        )
    }

    /// 503 with `Retry-After`: too busy now, worth another try shortly.
    pub fn retry_later(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, detail)
            .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
    }

    /// 405 with `Allow` naming the methods that are taken.
    pub fn method_not_allowed(detail: impl Into<String>, allow: &'static str) -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, detail)
            .with_header(header::ALLOW, HeaderValue::from_static(allow))
    }

    fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// 500 for a fault of ours; the cause is logged here, never sent.
    pub fn internal(cause: &dyn std::error::Error) -> Self {
        tracing::error!(error = %crate::error_chain(cause), "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server failed to handle the request",
        )
    }

    /// Adds members beside `type`, `title`, `status` and `detail`.
    pub fn with_members(mut self, members: Map<String, Value>) -> Self {
        self.members = members;
        self
    }

    /// The status answered.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The detail sent to the client.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

/// The body of every error answer, as RFC 9457 lays it out.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemDetails {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    #[schema(example = "about:blank")]
    pub kind: &'static str,
    /// The status's reason phrase.
    #[schema(example = "Bad Request")]
    pub title: &'static str,
    /// The HTTP status, repeated.
    #[schema(example = 400)]
    pub status: u16,
    /// What was wrong, for a person to read.
    pub detail: String,
    /// Members some answers add, such as a push's counts when every event
    /// was refused.
    #[serde(flatten)]
    #[schema(ignore)]
    pub members: Map<String, Value>,
}

impl Problem {
    /// The body sent, and the headers beside it; for callers that show the
    /// body rather than answer with it, too.
    pub fn into_parts(self) -> (ProblemDetails, Vec<(HeaderName, HeaderValue)>) {
        let details = ProblemDetails {
            kind: "about:blank",
            title: self.status.canonical_reason().unwrap_or("Error"),
            status: self.status.as_u16(),
            detail: self.detail,
            members: self.members,
        };
        (details, self.headers)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status;
        let (details, extra) = self.into_parts();
        let mut response = (status, Json(details)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        headers.extend(extra.into_iter().map(|(name, value)| (Some(name), value)));
        response
    }
}

/// Path segments, as [`axum::extract::Path`] reads them, refused as a
/// problem: a segment that does not decode (`%FF`) is answered like any
/// other bad request, not in axum's plain text.
#[derive(Debug)]
pub struct Segments<T>(pub T);

impl<S, T> FromRequestParts<S> for Segments<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            // A 500 from axum is a routing fault of ours: logged, not shown.
            Err(rejection) if rejection.status().is_server_error() => {
                Err(Problem::internal(&rejection))
            }
            Err(rejection) => Err(Problem::new(rejection.status(), rejection.body_text())),
        }
    }
}

/// A store that fails is a fault of ours: 500, the cause logged.
impl From<crate::store::StoreError> for Problem {
    fn from(error: crate::store::StoreError) -> Self {
        Self::internal(&error)
    }
}
