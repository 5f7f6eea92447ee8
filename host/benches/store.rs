//! The store's write path: extracted Okta events through `Store::ingest`
//! (type cap, rows with the duplicate check, log entry, group commit,
//! answered once the log is synced), beside the raw insert of the same
//! rows with `synchronous=FULL`.
//!
//! Run with `cargo bench -p eventpush --bench store`.

#[path = "load/raw.rs"]
mod raw;
#[path = "load/wrk.rs"]
mod wrk;

use std::cell::Cell;
use std::path::Path;
use std::time::Instant;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use eventpush::graph::{Event, Summary};
use eventpush::store::{Durability, Ingest, Store};
use eventpush::template::Template;

fn ingest(events: Vec<Event>) -> Ingest {
    Ingest {
        datasource: "okta".into(),
        received_at: 1_700_000_000_000_000,
        token_id: None,
        max_types_per_subject: 50,
        events: events.into_iter().enumerate().collect(),
        summary: Summary::default(),
        mapper: None,
    }
}

fn store(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let template = Template::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates/okta-event-hooks.yaml"),
    )
    .expect("the shipped template loads");
    let event_json = {
        let path = dir.path().join("event");
        std::fs::create_dir_all(&path).expect("a directory");
        let file = wrk::write_event(&path);
        std::fs::read_to_string(file).expect("readable")
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let store =
        Store::open(&dir.path().join("store.db"), Durability::Full).expect("the store opens");
    let next = Cell::new(0);
    let events = |count: usize| {
        let from = next.replace(next.get() + count);
        raw::events(&template, &event_json, "bench", from, count)
    };

    let mut group = c.benchmark_group("store");
    for size in [1, 100] {
        group.throughput(Throughput::Elements(size as u64));
        group.bench_function(format!("ingest_{size}"), |b| {
            b.iter_batched(
                || ingest(events(size)),
                |work| runtime.block_on(store.ingest(work)).expect("stored"),
                BatchSize::SmallInput,
            )
        });
    }
    // 64 requests of one event each at once, as 64 connections would send them.
    group.throughput(Throughput::Elements(64));
    group.bench_function("ingest_1_x64_concurrent", |b| {
        b.iter_batched(
            || (0..64).map(|_| ingest(events(1))).collect::<Vec<_>>(),
            |work| {
                runtime.block_on(async {
                    let tasks: Vec<_> = work
                        .into_iter()
                        .map(|one| {
                            let store = store.clone();
                            tokio::spawn(async move { store.ingest(one).await })
                        })
                        .collect();
                    for task in tasks {
                        task.await.expect("joined").expect("stored");
                    }
                })
            },
            BatchSize::SmallInput,
        )
    });
    group.throughput(Throughput::Elements(raw::BATCH as u64));
    let mut conn = raw::open(&dir.path().join("raw.db"));
    group.bench_function("raw_insert_1000", |b| {
        b.iter_custom(|iterations| {
            let mut spent = std::time::Duration::ZERO;
            for _ in 0..iterations {
                let work = raw::rows(
                    &template,
                    &event_json,
                    "bench",
                    next.replace(next.get() + raw::BATCH),
                    raw::BATCH,
                );
                let started = Instant::now();
                raw::insert(&mut conn, "okta", &work, 1_700_000_000_000_000);
                spent += started.elapsed();
            }
            spent
        })
    });
    group.finish();
}

criterion_group!(benches, store);
criterion_main!(benches);
