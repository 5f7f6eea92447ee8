//! Spins forever and never returns.
//!
//! The loop bumps a counter through [`black_box`], so the optimiser can
//! neither prove it empty nor drop it. The host must end the call when its
//! fuel runs out or its epoch deadline passes, whichever comes first, answer
//! the sender with a 5xx, and go on serving other requests.

use std::hint::black_box;

use eventpush_guest::{Outcome, Request};

fn map(_request: Request) -> Outcome {
    spin()
}

/// Counts without end.
fn spin() -> ! {
    let mut counter = 0_u64;
    loop {
        counter = black_box(counter.wrapping_add(1));
    }
}

eventpush_guest::export_mapper!(map);
