//! Logs and prints the whole request, then forwards it unchanged.
//!
//! The method, path, query, every header and the body go three ways: to the
//! host's log through the SDK's `log` import, to stdout and to stderr. Bytes
//! that are not UTF-8 are shown as U+FFFD. This is what a careless mapper
//! does; the host must keep its own log lines free of request data, attribute
//! whatever the mapper writes to the mapper, and cap it at the call's log
//! budget however large the request is.

use eventpush_guest::{Outcome, Request, info};

fn map(request: Request) -> Outcome {
    let lines = describe(&request);

    for line in &lines {
        info!("{line}");
    }
    for line in &lines {
        println!("{line}");
        eprintln!("{line}");
    }

    Outcome::forward()
}

/// The request as lines of text: the request line, one per header, the body.
fn describe(request: &Request) -> Vec<String> {
    let mut lines = vec![format!(
        "request: {} {}?{}",
        request.method, request.path, request.query
    )];
    for (name, value) in &request.headers {
        lines.push(format!(
            "header: {name}: {}",
            String::from_utf8_lossy(value)
        ));
    }
    lines.push(format!("body: {}", String::from_utf8_lossy(&request.body)));

    lines
}

eventpush_guest::export_mapper!(map);
