//! What the mapper benchmarks share.

use eventpush::mapper::Request;

/// An Okta delivery of `body` as a mapper sees it, with the usual headers.
pub fn okta_request(body: Vec<u8>) -> Request {
    Request {
        method: "POST".into(),
        path: "/events/custom/v1/okta".into(),
        query: String::new(),
        headers: vec![
            ("content-type".into(), b"application/json".to_vec()),
            (
                "authorization".into(),
                b"Bearer ep_0000000000000000_x".to_vec(),
            ),
        ],
        body,
    }
}
