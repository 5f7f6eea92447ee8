//! Graceful shutdown: SIGTERM lets requests in flight finish, within the
//! configured bound, and the database is closed before the process exits.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::util::{LOGINS, Server, Source, events, login, push_path, write_config_with};

/// Sends a push's head and the first `sent` bytes of `body`.
fn start_push(server: &Server, token: &str, body: &str, sent: usize) -> TcpStream {
    let mut stream = TcpStream::connect(&server.address).expect("connects");
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        push_path("app"),
        server.address,
        body.len(),
    );
    stream.write_all(head.as_bytes()).expect("writes");
    stream.write_all(&body.as_bytes()[..sent]).expect("writes");
    stream
}

#[test]
fn sigterm_lets_a_request_in_flight_finish_and_closes_the_database() {
    let mut server = Server::start(vec![Source::template("app", LOGINS)]);
    let token = server.token("app");
    let body = events(vec![login("login", "in-flight", "ann")]).to_string();

    let mut push = start_push(&server, &token, &body, 5);
    // Time for the server to read the head: the request is then in flight.
    std::thread::sleep(Duration::from_millis(500));
    server.signal("-TERM");
    std::thread::sleep(Duration::from_millis(300));
    push.write_all(&body.as_bytes()[5..])
        .expect("the rest is sent");
    push.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = String::new();
    let _ = push.read_to_string(&mut answer);

    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("the server exits");
    assert!(status.success(), "{status}: {}", server.log_text());
    assert_eq!(
        server.log_records("database closed").len(),
        1,
        "{}",
        server.log_text()
    );
    let db = rusqlite::Connection::open(server.dir().join("eventpush.db")).expect("opens");
    let stored: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM nodes WHERE unique_id = 'in-flight'",
            [],
            |r| r.get(0),
        )
        .expect("counts");
    assert_eq!(stored, 1);
}

#[test]
fn shutdown_cuts_off_requests_still_in_flight_at_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    write_config_with(
        dir.path(),
        &[Source::template("app", LOGINS)],
        "shutdown_timeout_ms: 300\n",
    );
    let mut server = Server::builder().start_in(dir);
    let token = server.token("app");
    let body = events(vec![login("login", "never-finished", "ann")]).to_string();

    // The body would be allowed 10 s to arrive; the shutdown bound is shorter.
    let _stuck = start_push(&server, &token, &body, 5);
    std::thread::sleep(Duration::from_millis(500));
    let signalled = Instant::now();
    server.signal("-TERM");
    let status = server
        .wait_exit(Duration::from_secs(8))
        .expect("the server exits within the bound");

    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "took {:?}",
        signalled.elapsed()
    );
    assert!(status.success(), "{status}: {}", server.log_text());
    let cut = server.log_records("requests still in flight at the shutdown bound are cut off");
    assert_eq!(cut.len(), 1, "{}", server.log_text());
    assert_eq!(cut[0]["fields"]["bound_ms"], 300);
    assert_eq!(
        server.log_records("database closed").len(),
        1,
        "{}",
        server.log_text()
    );
}
