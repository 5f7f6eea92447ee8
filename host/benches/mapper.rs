//! What a mapper adds to a request: `okta-verify` forwarding bodies of
//! 200 B, 2 KB and 64 KB, next to the same request without a mapper (JSON
//! parse and template extraction in both).
//!
//! Run with `cargo bench -p eventpush --bench mapper`.

use std::path::Path;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use eventpush::mapper::{self, Context, Engine, Outcome};
use eventpush::template::Template;
use serde_json::{Value, json};
use shared::okta_request;

mod shared;

/// An Okta delivery padded to about `size` bytes with a long display message.
fn body(size: usize) -> Vec<u8> {
    let mut event = json!({
        "eventType": "user.session.start",
        "uuid": "00000000-0000-4000-8000-000000000001",
        "published": "2023-03-26T21:05:32.159Z",
        "actor": {"id": "00u1", "type": "User", "alternateId": "ann@example.com"},
        "displayMessage": "",
    });
    let bare = serde_json::to_vec(&json!({"data": {"events": [event.clone()]}})).expect("JSON");
    event["displayMessage"] = json!("x".repeat(size.saturating_sub(bare.len())));
    serde_json::to_vec(&json!({"data": {"events": [event]}})).expect("JSON")
}

fn mapper_cost(c: &mut Criterion) {
    let template_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates/okta-event-hooks.yaml");
    let template = Template::load(&template_path).expect("the shipped template loads");
    let engine = Engine::new(None).expect("the engine starts");
    let okta = engine
        .load(
            "builtin:okta-verify",
            mapper::builtin("okta-verify").expect("bundled"),
        )
        .expect("loads");
    let context = Context::default();
    // The server runs calls on its async workers; so does this, on one thread.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");

    let mut group = c.benchmark_group("request");
    for (label, size) in [("200B", 200), ("2KB", 2048), ("64KB", 65536)] {
        let body = body(size);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("without_mapper", label),
            &body,
            |b, body| {
                b.iter(|| {
                    // The same copy as the mapped case makes, so the difference is the mapper's.
                    let request = okta_request(body.clone());
                    let payload: Value = serde_json::from_slice(&request.body).expect("JSON");
                    template.extract(&payload)
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("okta_verify", label), &body, |b, body| {
            b.iter(|| {
                let request = okta_request(body.clone());
                let (outcome, _) = runtime.block_on(okta.call(&context, &request));
                assert!(matches!(outcome, Ok(Outcome::Forward(None))));
                let payload: Value = serde_json::from_slice(&request.body).expect("JSON");
                template.extract(&payload)
            })
        });
        group.bench_with_input(
            BenchmarkId::new("mapper_call_only", label),
            &body,
            |b, body| {
                let request = okta_request(body.clone());
                b.iter(|| runtime.block_on(okta.call(&context, &request)))
            },
        );
    }
    group.finish();
}

criterion_group!(benches, mapper_cost);
criterion_main!(benches);
