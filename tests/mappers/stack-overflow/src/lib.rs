//! Recurses without end until the stack runs out.
//!
//! Each level passes its depth through [`black_box`] and adds to the result
//! of the next level, so the optimiser can turn the recursion neither into a
//! loop nor into nothing. The host must catch the overflow as a trap, answer
//! the sender with a 5xx, and stay up: the overflow must never reach the
//! host's own stack.

use std::hint::black_box;

use eventpush_guest::{Outcome, Request};

fn map(_request: Request) -> Outcome {
    let depth = descend(0);

    Outcome::respond_text(200, format!("the stack held {depth} levels"))
}

/// Calls itself one level deeper, with no base case.
#[expect(unconditional_recursion, reason = "running out of stack is the point")]
fn descend(depth: u64) -> u64 {
    let below = descend(black_box(depth + 1));

    black_box(below).wrapping_add(1)
}

eventpush_guest::export_mapper!(map);
