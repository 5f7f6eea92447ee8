//! Bounded work: pushes past `max_in_flight` are shed with 503, and a body
//! that does not arrive in time is answered 408.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use reqwest::Method;

use crate::util::{LOGINS, Server, Source, events, login, push_path, write_config_with};

/// Sends a push's head and the first bytes of a body of `length`, then waits.
fn start_slow_push(server: &Server, token: &str, length: usize) -> TcpStream {
    let mut stream = TcpStream::connect(&server.address).expect("connects");
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n{{\"events\": [",
        push_path("app"),
        server.address,
    );
    stream.write_all(head.as_bytes()).expect("writes");
    stream
}

#[test]
fn sheds_pushes_past_max_in_flight_with_503_and_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    write_config_with(
        dir.path(),
        &[Source::template("app", LOGINS)],
        "max_in_flight: 1\n",
    );
    let server = Server::builder().start_in(dir);
    let token = server.token("app");
    let body = events(vec![login("login", "o-1", "ann")]);

    let slow = start_slow_push(&server, &token, 1000);
    std::thread::sleep(Duration::from_millis(300));
    let shed = server.push_json("app", &token, &body);
    // The limit is one for every method of the push path, not one each.
    let shed_put = server.send(
        server
            .request(Method::PUT, &push_path("app"))
            .bearer_auth(&token),
    );
    drop(slow);
    std::thread::sleep(Duration::from_millis(300));
    let after = server.push_json("app", &token, &body);

    shed.problem(503);
    assert_eq!(shed.header("retry-after"), Some("1"), "{shed:?}");
    shed_put.problem(503);
    assert_eq!(after.status, 202, "{after:?}");
}

#[test]
fn answers_408_to_a_body_that_arrives_too_slowly() {
    let server = Server::start(vec![
        Source::template("app", LOGINS).limit("body_read_timeout_ms", 300),
    ]);
    let token = server.token("app");

    let mut slow = start_slow_push(&server, &token, 1000);
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = String::new();
    let _ = slow.read_to_string(&mut answer);

    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("did not arrive within"), "{answer}");
}

#[test]
fn refuses_a_batch_of_more_events_than_the_limit_with_413() {
    let server = Server::start(vec![
        Source::template("app", LOGINS).limit("max_events_per_request", 3),
    ]);
    let token = server.token("app");
    let batch = |n: usize| {
        events(
            (0..n)
                .map(|i| login("login", &format!("m-{n}-{i}"), "ann"))
                .collect(),
        )
    };

    let within = server.push_json("app", &token, &batch(3));
    let over = server.push_json("app", &token, &batch(4));

    assert_eq!(within.status, 202, "{within:?}");
    let problem = over.problem(413);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("4 events"),
        "{problem}"
    );
}

#[test]
fn closes_a_connection_that_never_finishes_its_headers() {
    let dir = tempfile::tempdir().unwrap();
    write_config_with(
        dir.path(),
        &[Source::template("app", LOGINS)],
        "idle_timeout_ms: 500\nmax_connections: 1\n",
    );
    let server = Server::builder().start_in(dir);

    let mut idle = TcpStream::connect(&server.address).expect("connects");
    idle.write_all(b"POST /events/custom/v1/app HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let _ = idle.read_to_end(&mut rest);
    let closed_after = started.elapsed();
    // With the only connection slot free again, the server answers.
    let health = server.send(server.get("/healthz"));

    assert!(
        closed_after < Duration::from_secs(5),
        "held for {closed_after:?}"
    );
    assert_eq!(health.status, 200, "{health:?}");
}

#[test]
fn closes_a_connection_that_trickles_its_headers_past_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    write_config_with(
        dir.path(),
        &[Source::template("app", LOGINS)],
        "header_read_timeout_ms: 800\nmax_connections: 1\n",
    );
    let server = Server::builder().start_in(dir);

    let mut slow = TcpStream::connect(&server.address).expect("connects");
    slow.write_all(b"POST /events/custom/v1/app HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    // A header line every 100 ms, well inside the idle timeout, for up to 10 s.
    let started = std::time::Instant::now();
    let mut sent = 0;
    while started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
        if slow
            .write_all(format!("X-Slow-{sent}: y\r\n").as_bytes())
            .is_err()
        {
            break;
        }
        sent += 1;
        // The server closing shows as a read that returns at once.
        slow.set_nonblocking(true).unwrap();
        let mut probe = [0u8; 256];
        let closed = match slow.read(&mut probe) {
            Ok(_) => true,
            Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
        };
        slow.set_nonblocking(false).unwrap();
        if closed {
            break;
        }
    }
    let closed_after = started.elapsed();
    // With the only connection slot free again, the server answers.
    let health = server.send(server.get("/healthz"));

    assert!(
        closed_after < Duration::from_secs(4),
        "held for {closed_after:?} with {sent} header lines"
    );
    assert_eq!(health.status, 200, "{health:?}");
}
