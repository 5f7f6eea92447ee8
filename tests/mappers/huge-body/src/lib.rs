//! Forwards a rewritten body far larger than any output cap: 64 MiB of `[`.
//!
//! The host must refuse the body by its size alone, before it parses or
//! stores any of it, and answer the sender with a 5xx. The body is an opening
//! bracket repeated, so a host that parsed it first would also meet JSON
//! nested far deeper than any parser allows.
//!
//! Holding 64 MiB takes more than the default memory cap of the same size, so
//! under default limits the allocation fails first and the call ends over its
//! memory limit. To reach the output check, raise the datasource's memory
//! limit, or set `size` in `mapper_config` to the number of bytes to forward
//! (one past the output cap, say).

use eventpush_guest::{Outcome, Request, host};

/// The size forwarded when `mapper_config` sets none: 64 MiB.
const DEFAULT_SIZE: usize = 64 << 20;

fn map(_request: Request) -> Outcome {
    let size = match host::config("size") {
        None => DEFAULT_SIZE,
        Some(text) => match text.parse() {
            Ok(size) => size,
            Err(_) => return Outcome::reject(500, "`size` is not a whole number of bytes"),
        },
    };

    Outcome::forward_body(vec![b'['; size])
}

eventpush_guest::export_mapper!(map);
