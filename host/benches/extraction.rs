//! Extraction throughput for the shipped Okta template on a 100-event batch.
//!
//! Run with `cargo bench -p eventpush --bench extraction`.

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use eventpush::template::Template;
use serde_json::{Value, json};

fn okta_batch(events: usize) -> Value {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/okta");
    let mut kinds: Vec<Value> = std::fs::read_dir(&fixtures)
        .expect("fixtures exist")
        .map(|entry| {
            let text = std::fs::read_to_string(entry.expect("readable").path()).expect("readable");
            let envelope: Value = serde_json::from_str(&text).expect("fixtures are JSON");
            envelope["data"]["events"][0].clone()
        })
        .collect();
    kinds.sort_by_key(|e| e["eventType"].as_str().unwrap_or_default().to_owned());
    let batch: Vec<Value> = (0..events)
        .map(|i| {
            let mut event = kinds[i % kinds.len()].clone();
            event["uuid"] = json!(format!("00000000-0000-4000-8000-{i:012}"));
            event
        })
        .collect();
    json!({ "eventType": "com.okta.event_hook", "data": { "events": batch } })
}

fn extraction(c: &mut Criterion) {
    let template_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates/okta-event-hooks.yaml");
    let template = Template::load(&template_path).expect("the shipped template loads");
    let batch = okta_batch(100);
    let body = serde_json::to_vec(&batch).expect("serializes");

    let mut group = c.benchmark_group("okta_100_event_batch");
    group.throughput(Throughput::Elements(100));
    group.bench_function("extract", |b| b.iter(|| template.extract(&batch)));
    group.bench_function("parse_and_extract", |b| {
        b.iter(|| {
            let payload: Value = serde_json::from_slice(&body).expect("valid JSON");
            template.extract(&payload)
        })
    });
    // As the server does: only what the template reads is kept.
    group.bench_function("read_and_extract", |b| {
        b.iter(|| {
            let payload = template.read_payload(&body).expect("valid JSON");
            template.extract(&payload)
        })
    });
    group.finish();
}

criterion_group!(benches, extraction);
criterion_main!(benches);
