//! Forwards a rewritten body that is not JSON: an object cut off after its
//! first key.
//!
//! The host must not hand the body to the template as if the sender had sent
//! it: a rewritten body that does not parse is the mapper's fault, answered
//! with a 5xx (502) rather than the 400 a sender's bad JSON gets.

use eventpush_guest::{Outcome, Request};

/// The body forwarded in place of the request's.
const BODY: &[u8] = br#"{"unterminated": "#;

fn map(_request: Request) -> Outcome {
    Outcome::forward_body(BODY)
}

eventpush_guest::export_mapper!(map);
