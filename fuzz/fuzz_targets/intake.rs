//! The push endpoint answers any request with a status the OpenAPI document
//! lists, and never with a fault of its own.
#![no_main]

use std::sync::LazyLock;

use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

#[path = "../../host/tests/support/shared.rs"]
mod shared;

static APP: LazyLock<(tempfile::TempDir, axum::Router, String)> = LazyLock::new(shared::okta_app);


static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
});

const METHODS: [&str; 3] = ["POST", "GET", "PUT"];
const CONTENT_TYPES: [&str; 4] = [
    "application/json",
    "application/cloudevents+json",
    "text/plain",
    "",
];

// The first byte picks the method, the content type and whether the token
// is sent; the rest is the body.
fuzz_target!(|input: &[u8]| {
    let Some((&choice, body)) = input.split_first() else {
        return;
    };
    let (_dir, router, token) = &*APP;
    let mut request = Request::builder()
        .method(METHODS[usize::from(choice) % 3])
        .uri("/events/custom/v1/okta");
    let content_type = CONTENT_TYPES[usize::from(choice >> 2) % 4];
    if !content_type.is_empty() {
        request = request.header("content-type", content_type);
    }
    if choice & 0x80 == 0 {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = request.body(Body::from(body.to_vec())).expect("a request");
    let response = RUNTIME
        .block_on(router.clone().oneshot(request))
        .expect("the router answers");
    let status = response.status().as_u16();
    assert!(shared::push_statuses().contains(&status), "answered {status}");
    assert!(status != 500, "answered 500");
});
