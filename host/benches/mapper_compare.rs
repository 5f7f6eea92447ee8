//! The cost of a call to each of several mapper components, measured side
//! by side: rounds of calls to each in turn, so that a machine whose speed
//! drifts affects them alike. Prints the median time per call of each, on
//! one thread and then on two threads at once.
//!
//! Run with `cargo bench -p eventpush --bench mapper_compare -- A.wasm B.wasm`,
//! where each file is a component that forwards a POST (as `okta-verify`
//! does); `builtin:NAME` names a bundled mapper. `--rounds N` (default 21)
//! and `--calls N` (default 2,000 a round) set the size of the run.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use eventpush::mapper::{self, Context, Engine, Mapper, Outcome};
use shared::okta_request;

mod shared;

struct Args {
    mappers: Vec<String>,
    rounds: usize,
    calls: usize,
}

fn parse_args() -> Args {
    let mut args = Args {
        mappers: Vec::new(),
        rounds: 21,
        calls: 2000,
    };
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        let mut number = || -> usize {
            given
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("`{arg}` takes a number"))
        };
        match arg.as_str() {
            "--rounds" => args.rounds = number(),
            "--calls" => args.calls = number(),
            // What `cargo bench` passes to every bench target.
            "--bench" => {}
            _ => args.mappers.push(arg),
        }
    }
    assert!(!args.mappers.is_empty(), "name the components to compare");
    args
}

/// Median microseconds per call of each mapper, over `rounds` rounds of
/// `calls` calls to each in turn.
fn medians(mappers: &[Mapper], rounds: usize, calls: usize) -> Vec<f64> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let context = Context::default();
    // An Okta delivery of 1.5 KB.
    let request = okta_request(vec![b' '; 1500]);
    let mut times = vec![Vec::with_capacity(rounds); mappers.len()];
    for _ in 0..rounds {
        for (mapper, times) in mappers.iter().zip(&mut times) {
            let started = Instant::now();
            for _ in 0..calls {
                let (outcome, _) = runtime.block_on(mapper.call(&context, &request));
                assert!(
                    matches!(outcome, Ok(Outcome::Forward(None))),
                    "`{}` did not forward: {outcome:?}",
                    mapper.name()
                );
            }
            times.push(started.elapsed().as_secs_f64() * 1e6 / calls as f64);
        }
    }
    times
        .into_iter()
        .map(|mut times| {
            times.sort_by(f64::total_cmp);
            times[times.len() / 2]
        })
        .collect()
}

fn main() {
    let args = parse_args();
    let engine = Engine::new(None).expect("the engine starts");
    let mappers: Arc<Vec<Mapper>> = Arc::new(
        args.mappers
            .iter()
            .map(|spec| {
                let (name, bytes) =
                    mapper::read_component(Path::new("."), spec).unwrap_or_else(|e| panic!("{e}"));
                engine.load(&name, &bytes).unwrap_or_else(|e| panic!("{e}"))
            })
            .collect(),
    );

    for threads in [1, 2] {
        let runs: Vec<_> = (0..threads)
            .map(|_| {
                let mappers = Arc::clone(&mappers);
                std::thread::spawn(move || medians(&mappers, args.rounds, args.calls))
            })
            .collect();
        for (thread, run) in runs.into_iter().enumerate() {
            let medians = run.join().expect("a measuring thread");
            for (mapper, median) in mappers.iter().zip(medians) {
                println!(
                    "{threads} thread(s), thread {thread}: {:>8.2} µs a call  {}",
                    median,
                    mapper.name()
                );
            }
        }
    }
}
