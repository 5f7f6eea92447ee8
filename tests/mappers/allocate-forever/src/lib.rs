//! Allocates memory in 1 MiB chunks, writes to every one and keeps them all,
//! until an allocation fails.
//!
//! Each chunk is filled, so its pages are really used, and every chunk stays
//! reachable, so nothing is freed. The host's memory cap refuses the growth
//! that crosses it; the allocation then fails and the mapper aborts. The host
//! must report the call as over its memory limit (not as a plain trap),
//! answer the sender with a 5xx, and give the memory back before the next
//! call.

use std::hint::black_box;

use eventpush_guest::{Outcome, Request};

/// The size of one allocation.
const CHUNK: usize = 1 << 20;

fn map(_request: Request) -> Outcome {
    hoard()
}

/// Allocates and fills chunk after chunk, holding on to each.
fn hoard() -> ! {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = Vec::with_capacity(CHUNK);
        chunk.resize(CHUNK, black_box(0xa5));
        chunks.push(chunk);
        black_box(&chunks);
    }
}

eventpush_guest::export_mapper!(map);
