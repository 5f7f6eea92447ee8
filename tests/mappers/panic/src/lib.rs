//! Panics on every request.
//!
//! The message is fixed and carries nothing of the request. The panic is
//! printed to stderr and then traps. The host must report the call as a trap,
//! answer the sender with a 5xx, and log the mapper's stderr as the mapper's
//! own output, within its log budget.

use eventpush_guest::{Outcome, Request};

/// What the panic says; tests may look for it in the mapper's output.
const MESSAGE: &str = "the panic test mapper panics on every request";

fn map(_request: Request) -> Outcome {
    panic!("{MESSAGE}");
}

eventpush_guest::export_mapper!(map);
