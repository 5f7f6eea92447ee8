//! `/metrics`: what the server did, in the OpenMetrics text format.

use crate::mappers::test_mapper;
use crate::util::{LOGINS, Server, Source, events, login, write_config};

/// The value of the sample `name{labels}`, if the text has it.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

#[test]
fn metrics_count_requests_events_mapper_calls_and_commits() {
    let server = Server::start(vec![
        Source::template("app", LOGINS),
        Source::template("broken", LOGINS).mapper(test_mapper("panic")),
    ]);
    let token = server.token("app");
    let body = events(vec![
        login("login", "m-1", "ann"),
        login("login", "m-2", "ann"),
        login("nobody-knows", "m-3", "ann"),
    ]);
    assert_eq!(server.push_json("app", &token, &body).status, 202);
    assert_eq!(server.push_json("app", &token, &body).status, 202);
    assert_eq!(server.push_json("app", "ep_wrong", &body).status, 401);
    let broken = server.token("broken");
    assert_eq!(server.push_json("broken", &broken, &body).status, 502);
    assert_eq!(
        server.push_json("no-such-source", &token, &body).status,
        404
    );

    let reply = server.send(server.get("/metrics"));
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .media_type()
            .starts_with("application/openmetrics-text"),
        "{reply:?}"
    );
    let text = &reply.text;
    let expect = [
        (
            r#"eventpush_requests_total{datasource="app",status="202"}"#,
            2.0,
        ),
        (
            r#"eventpush_requests_total{datasource="app",status="401"}"#,
            1.0,
        ),
        (
            r#"eventpush_requests_total{datasource="broken",status="502"}"#,
            1.0,
        ),
        (
            r#"eventpush_requests_total{datasource="(unknown)",status="404"}"#,
            1.0,
        ),
        (
            r#"eventpush_events_total{datasource="app",outcome="accepted"}"#,
            2.0,
        ),
        (
            r#"eventpush_events_total{datasource="app",outcome="duplicate"}"#,
            2.0,
        ),
        (
            r#"eventpush_events_total{datasource="app",outcome="unmatched"}"#,
            2.0,
        ),
        (
            r#"eventpush_mapper_failures_total{datasource="broken",kind="trap"}"#,
            1.0,
        ),
        (
            r#"eventpush_mapper_duration_seconds_count{datasource="broken"}"#,
            1.0,
        ),
    ];
    for (series, value) in expect {
        assert_eq!(sample(text, series), Some(value), "{series} in:\n{text}");
    }
    let commits = sample(text, "eventpush_commit_duration_seconds_count").unwrap_or(0.0);
    assert!(commits >= 2.0, "{text}");
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    assert!(!text.contains(&token) && !text.contains("m-1"), "{text}");
}

#[test]
fn metrics_start_every_configured_series_at_zero() {
    let server = Server::start(vec![Source::template("app", LOGINS)]);
    write_config(
        server.dir(),
        &[
            Source::template("app", LOGINS),
            Source::template("mapped", LOGINS).mapper(test_mapper("panic")),
        ],
    );
    let admin = server.admin_token();
    let reloaded = server.send(server.post("/api/v1/reload").bearer_auth(&admin));
    assert_eq!(reloaded.status, 200, "{reloaded:?}");

    let text = server.send(server.get("/metrics")).text;

    for datasource in ["app", "mapped"] {
        for outcome in ["accepted", "duplicate", "unmatched", "rejected"] {
            let series = format!(
                r#"eventpush_events_total{{datasource="{datasource}",outcome="{outcome}"}}"#
            );
            assert_eq!(sample(&text, &series), Some(0.0), "{series} in:\n{text}");
        }
    }
    for kind in ["fuel", "timeout", "memory", "output", "trap", "status"] {
        let series =
            format!(r#"eventpush_mapper_failures_total{{datasource="mapped",kind="{kind}"}}"#);
        assert_eq!(sample(&text, &series), Some(0.0), "{series} in:\n{text}");
    }
    let calls = r#"eventpush_mapper_duration_seconds_count{datasource="mapped"}"#;
    assert_eq!(sample(&text, calls), Some(0.0), "{text}");
    assert!(
        !text.contains(r#"mapper_failures_total{datasource="app""#),
        "{text}"
    );
}
