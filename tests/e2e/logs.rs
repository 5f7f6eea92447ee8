//! The server's own log: what it tells the operator, and what it never repeats.

use serde_json::json;

use crate::util::{LOGINS, Server, Source, events, login, push_path};

/// A string that appears only in request bodies, never in anything the server makes.
const MARKER: &str = "zq7-payload-marker-4c1e";

/// Sends requests that carry [`MARKER`] in every part a sender controls and
/// that end every way a push can end; returns the tokens presented.
fn send_marked_requests(server: &Server) -> Vec<String> {
    let token = server.token("app");
    let other = server.token("other");
    let mut marked = login(
        "login",
        &format!("{MARKER}-id"),
        &format!("{MARKER}@example.com"),
    );
    marked["note"] = json!(MARKER);
    let mut nameless = login("login", "x", "ann");
    nameless.as_object_mut().unwrap().remove("id");
    nameless["note"] = json!(MARKER);

    let answers = [
        server.push_json(
            "app",
            &token,
            &events(vec![marked.clone(), nameless.clone()]),
        ),
        server.push_json("app", &token, &events(vec![marked.clone()])),
        server.push_json("app", &token, &events(vec![nameless])),
        server.push(
            "app",
            &token,
            format!("{{\"{MARKER}\": ["),
            "application/json",
        ),
        server.push("app", &token, marked.to_string(), "text/plain"),
        server.push_json("app", &other, &events(vec![marked.clone()])),
        server.send(
            server
                .post(&push_path("app"))
                .header("authorization", format!("Bearer {MARKER}"))
                .header("content-type", "application/json")
                .body(events(vec![marked]).to_string()),
        ),
    ];
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [202, 202, 422, 400, 415, 401, 401]);

    let admin = server.admin_token();
    let query = server.get_admin(&format!("/api/v1/subjects/{MARKER}@example.com/events"));
    assert_eq!(query.status, 200, "{query:?}");
    assert!(query.text.contains(MARKER), "the event was not stored");
    vec![token, other, admin]
}

/// Gives the stderr reader time to catch up with lines written before the answers.
fn settle() {
    std::thread::sleep(std::time::Duration::from_millis(300));
}

fn assert_log_keeps_secrets(server: &Server, tokens: &[String]) {
    let log = server.log_text();
    assert!(!log.is_empty());
    assert!(!log.contains(MARKER), "the log repeats a payload:\n{log}");
    for token in tokens {
        let tail = &token[token.len().saturating_sub(24)..];
        assert!(!log.contains(tail), "the log holds a token:\n{log}");
    }
}

#[test]
fn never_logs_a_payload_or_a_token() {
    let server = Server::start(vec![
        Source::template("app", LOGINS),
        Source::template("other", LOGINS),
    ]);

    let tokens = send_marked_requests(&server);

    settle();
    assert_log_keeps_secrets(&server, &tokens);
}

#[test]
fn never_logs_a_payload_or_a_token_at_the_most_verbose_level() {
    let server = Server::builder()
        .source(Source::template("app", LOGINS))
        .source(Source::template("other", LOGINS))
        .env("RUST_LOG", "trace")
        .start();

    let tokens = send_marked_requests(&server);

    settle();
    assert_log_keeps_secrets(&server, &tokens);
}

#[test]
fn logs_at_most_one_info_line_per_request() {
    let server = Server::start(vec![Source::template("app", LOGINS)]);
    let token = server.token("app");
    settle();
    let at_start = info_lines(&server);

    for id in ["e1", "e2", "e3"] {
        let batch = events(vec![login("login", id, "ann"), login("reboot", "x", "ann")]);
        assert_eq!(server.push_json("app", &token, &batch).status, 202);
    }
    assert_eq!(
        server.push("app", &token, "{", "application/json").status,
        400
    );
    settle();

    let added = info_lines(&server) - at_start;
    assert!(
        added <= 4,
        "{added} lines for 4 requests:\n{}",
        server.log_text()
    );
}

/// How many records at info level or above the server has logged.
fn info_lines(server: &Server) -> usize {
    server
        .log_lines()
        .iter()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|record| {
            ["INFO", "WARN", "ERROR"].contains(&record["level"].as_str().unwrap_or(""))
        })
        .count()
}
