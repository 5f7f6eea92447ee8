//! Making an [`Outcome`]: forward, respond or reject.
//!
//! The variants are public too: `Outcome::Respond(Response)`,
//! `Outcome::Forward(Option<Vec<u8>>)` and `Outcome::Reject(Rejection)`. The
//! host checks statuses: 200 to 599 for a response, 400 to 599 for a
//! rejection; anything else fails the request as the mapper's fault.

use serde::Serialize;

use crate::{Outcome, Rejection, Response};

impl Response {
    /// A response with `status`, no headers and an empty body. The host sets
    /// `content-length` itself.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header; a name given twice is sent twice.
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    #[must_use]
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }
}

impl Outcome {
    /// Go on to the template with the body as it arrived. Nothing is copied
    /// back to the host.
    pub fn forward() -> Self {
        Self::Forward(None)
    }

    /// Go on to the template with `body` in place of the one that arrived. It
    /// must be JSON: a rewritten body that is not is answered 502, as the
    /// mapper's fault.
    pub fn forward_body(body: impl Into<Vec<u8>>) -> Self {
        Self::Forward(Some(body.into()))
    }

    /// Answer the sender with `value` as JSON, with `content-type:
    /// application/json`. A value that cannot be serialized (a map with
    /// non-string keys, a failing `Serialize` impl) becomes a 500 rejection.
    pub fn respond_json<T: Serialize + ?Sized>(status: u16, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Response::new(status)
                .with_header("content-type", "application/json")
                .with_body(body)
                .into(),
            Err(_) => Self::reject(500, "failed to serialize the mapper's response"),
        }
    }

    /// Answer the sender with `text`, as `text/plain; charset=utf-8`.
    pub fn respond_text(status: u16, text: impl Into<String>) -> Self {
        Response::new(status)
            .with_header("content-type", "text/plain; charset=utf-8")
            .with_body(text.into())
            .into()
    }

    /// Refuse the request. The reason is told to the sender as
    /// `application/problem+json` and kept in the datasource's log, so it must
    /// never carry a secret, a signature or a payload.
    pub fn reject(status: u16, reason: impl Into<String>) -> Self {
        Self::Reject(Rejection {
            status,
            reason: reason.into(),
        })
    }
}

impl From<Response> for Outcome {
    fn from(response: Response) -> Self {
        Self::Respond(response)
    }
}

impl From<Rejection> for Outcome {
    fn from(rejection: Rejection) -> Self {
        Self::Reject(rejection)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::{Outcome, Response};

    fn response(outcome: Outcome) -> Response {
        match outcome {
            Outcome::Respond(response) => response,
            other => panic!("expected a response, got {other:?}"),
        }
    }

    #[test]
    fn forwards_the_original_body_without_a_copy() {
        assert!(matches!(Outcome::forward(), Outcome::Forward(None)));
        assert!(matches!(
            Outcome::forward_body("{}"),
            Outcome::Forward(Some(body)) if body == b"{}"
        ));
    }

    #[test]
    fn responds_with_json() {
        let response = response(Outcome::respond_json(
            200,
            &serde_json::json!({ "verification": "abc" }),
        ));

        assert_eq!(response.status, 200);
        assert_eq!(
            response.headers,
            [("content-type".to_owned(), "application/json".to_owned())]
        );
        assert_eq!(response.body, br#"{"verification":"abc"}"#);
    }

    #[test]
    fn turns_an_unserializable_value_into_a_server_error() {
        let map = BTreeMap::from([((1, 2), "not a string key")]);

        let outcome = Outcome::respond_json(200, &map);

        assert!(matches!(outcome, Outcome::Reject(rejection) if rejection.status == 500));
    }

    #[test]
    fn responds_with_text() {
        let response = response(Outcome::respond_text(200, "token with spaces & more"));

        assert_eq!(
            response.headers,
            [(
                "content-type".to_owned(),
                "text/plain; charset=utf-8".to_owned()
            )]
        );
        assert_eq!(response.body, b"token with spaces & more");
    }

    #[test]
    fn rejects_with_status_and_reason() {
        let Outcome::Reject(rejection) = Outcome::reject(401, "signature does not match") else {
            panic!("expected a rejection");
        };

        assert_eq!(rejection.status, 401);
        assert_eq!(rejection.reason, "signature does not match");
    }

    #[test]
    fn builds_a_response_with_headers() {
        let response = response(
            Response::new(200)
                .with_header("webhook-allowed-origin", "eventgrid.azure.net")
                .with_header("webhook-allowed-rate", "*")
                .into(),
        );

        assert_eq!(response.headers.len(), 2);
        assert!(response.body.is_empty());
    }
}
