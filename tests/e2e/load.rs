//! A short run of the load benchmark's generator (`wrk` with its script)
//! against the real server: every answered event is stored, once.

use std::time::Duration;

use crate::util::{Server, Source};

#[path = "../../host/benches/load/wrk.rs"]
mod wrk;

#[test]
fn every_event_answered_under_load_is_stored_once() {
    let server = Server::start(vec![Source::okta("okta")]);
    let token = server.token("okta");
    let targets = [("/events/custom/v1/okta".to_owned(), token)];
    let event_file = wrk::write_event(server.dir());

    let mut answered = 0;
    let mut built = 0;
    for (per_request, run_id) in [(1, "single"), (10, "batch")] {
        let outcome = wrk::run(&wrk::Load {
            base: &server.base,
            targets: &targets,
            events_per_request: per_request,
            run_id,
            connections: 8,
            duration: Duration::from_secs(2),
            event_file: &event_file,
        });
        assert_eq!(outcome.non_2xx, 0, "{outcome:?}");
        assert_eq!(outcome.socket_errors + outcome.timeouts, 0, "{outcome:?}");
        assert!(
            outcome.requests >= 50,
            "too few requests to judge: {outcome:?}"
        );
        answered += outcome.requests * per_request as u64;
        built += outcome.generated * per_request as u64;
    }

    let db = rusqlite::Connection::open_with_flags(
        server.dir().join("eventpush.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("the database opens");
    let (stored, logged): (i64, i64) = db
        .query_row(
            "SELECT COUNT(*), (SELECT SUM(accepted) FROM request_log WHERE status = 202)
             FROM nodes WHERE subject IS NOT NULL",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("the counts run");
    assert_eq!(
        stored, logged,
        "stored events and the log's accepted counts differ"
    );
    // Requests still open when wrk stopped may have been stored unanswered.
    assert!(
        (answered..=built).contains(&(stored as u64)),
        "{answered} events answered and {built} sent, {stored} stored"
    );

    // Each stored event reads back whole, with its two targets.
    let events = server.events_of("user1@example.com");
    assert!(!events.is_empty(), "no events of a pushed subject");
    for event in &events {
        assert_eq!(event["type"], "group.user_membership.add", "{event}");
        assert_eq!(
            event["children"].as_array().map(Vec::len),
            Some(2),
            "{event}"
        );
    }
}
