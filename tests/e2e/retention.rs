//! Retention over the real server: the sweeper runs at start, by a clock
//! fixed with `EVENTPUSH_SWEEP_CLOCK`, and removes expired events and log
//! entries per datasource, keeping what has not expired.

use crate::util::{LOGINS, Server, Source, events, ids, login};

const DAY_MS: i64 = 86_400_000;
const SWEPT: &str = "retention removed expired entries";

#[test]
fn sweeper_removes_expired_events_and_log_entries_by_each_datasource_limits() {
    let server = Server::start(vec![
        Source::template("short", LOGINS)
            .limit("retention_days", 7)
            .limit("log_retention_days", 20),
        Source::template("long", LOGINS),
    ]);
    for datasource in ["short", "long"] {
        let token = server.token(datasource);
        let body = events(vec![login("login", &format!("{datasource}-1"), "ann")]);
        assert_eq!(server.push_json(datasource, &token, &body).status, 202);
    }
    let mut expected_events = vec!["long-1", "short-1"];
    assert_eq!(sorted(ids(&server.events_of("ann"))), expected_events);

    // Eight days on: only `short` events have expired; no log entry has.
    let now = chrono::Utc::now().timestamp_millis();
    let server = server.restart_with_env("EVENTPUSH_SWEEP_CLOCK", &(now + 8 * DAY_MS).to_string());
    let swept = server.await_log_records(SWEPT);
    assert_eq!(swept.len(), 1, "{}", server.log_text());
    assert_eq!(swept[0]["fields"]["events"], 1, "{}", server.log_text());
    assert_eq!(
        swept[0]["fields"]["log_entries"],
        0,
        "{}",
        server.log_text()
    );
    expected_events.retain(|id| *id != "short-1");
    assert_eq!(sorted(ids(&server.events_of("ann"))), expected_events);
    assert_eq!(server.log_entries("short").len(), 1);

    // Thirty-one days on: the rest of the events, and the log entries of
    // both (20 days for `short`, 30 by default for `long`).
    let server = server.restart_with_env("EVENTPUSH_SWEEP_CLOCK", &(now + 31 * DAY_MS).to_string());
    let swept = server.await_log_records(SWEPT);
    assert_eq!(swept[0]["fields"]["events"], 1, "{}", server.log_text());
    assert_eq!(
        swept[0]["fields"]["log_entries"],
        2,
        "{}",
        server.log_text()
    );
    assert!(server.events_of("ann").is_empty());
    assert!(server.log_entries("short").is_empty());
    assert!(server.log_entries("long").is_empty());
    // The sweep removed what had expired, not what arrives now.
    let token = server.token("long");
    let body = events(vec![login("login", "long-2", "ann")]);
    assert_eq!(server.push_json("long", &token, &body).status, 202);
    assert_eq!(ids(&server.events_of("ann")), ["long-2"]);
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}
