//! Reshapes the payload: wraps the JSON body as
//! `{"data": {"events": [<body>]}}`, so that a sender's single event takes
//! the shape of a batch.
//!
//! The body is parsed only to check that it is JSON; the envelope is written
//! around its exact bytes, so key order, spacing and number precision stay
//! as the sender sent them. A body that is not JSON is rejected with 400. The
//! host must take the rewritten body in place of the original and hand it to
//! the template.

use eventpush_guest::serde::de::IgnoredAny;
use eventpush_guest::{Outcome, Request};

/// What goes before the original body.
const OPEN: &[u8] = br#"{"data":{"events":["#;

/// What goes after it.
const CLOSE: &[u8] = b"]}}";

fn map(request: Request) -> Outcome {
    if request.json::<IgnoredAny>().is_err() {
        return Outcome::reject(400, "the body is not JSON");
    }

    let mut body = Vec::with_capacity(OPEN.len() + request.body.len() + CLOSE.len());
    body.extend_from_slice(OPEN);
    body.extend_from_slice(&request.body);
    body.extend_from_slice(CLOSE);

    Outcome::forward_body(body)
}

eventpush_guest::export_mapper!(map);
