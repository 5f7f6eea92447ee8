//! Bearer tokens: who may push where, who may query, and what is kept of them.

use crate::util::{ADMIN_ENV, LOGINS, Server, Source, events, ids, login, okta_sample, push_path};

/// Asserts a 401 that challenges for a bearer token.
fn assert_challenged(reply: &crate::util::Reply) {
    reply.problem(401);
    let challenge = reply
        .header("www-authenticate")
        .unwrap_or_else(|| panic!("a 401 without WWW-Authenticate: {reply:?}"));
    assert!(
        challenge.to_ascii_lowercase().starts_with("bearer"),
        "{challenge}"
    );
}

/// The last characters of a token: random, whatever else the token holds.
fn secret_tail(token: &str) -> &str {
    &token[token.len().saturating_sub(24)..]
}

fn one_login(id: &str) -> String {
    events(vec![login("login", id, "ann")]).to_string()
}

#[test]
fn refuses_a_push_without_a_token() {
    let server = Server::start(vec![Source::template("app", LOGINS)]);

    let reply = server.send(
        server
            .post(&push_path("app"))
            .header("content-type", "application/json")
            .body(one_login("e1")),
    );

    assert_challenged(&reply);
    assert!(server.events_of("ann").is_empty());
}

#[test]
fn rejects_token_of_another_datasource() {
    let server = Server::start(vec![
        Source::template("app", LOGINS),
        Source::template("other", LOGINS),
    ]);
    let other = server.token("other");

    let reply = server.push("app", &other, one_login("e1"), "application/json");

    assert_challenged(&reply);
    assert!(server.events_of("ann").is_empty());
}

#[test]
fn refuses_an_unknown_or_mangled_token() {
    let server = Server::start(vec![Source::template("app", LOGINS)]);
    let token = server.token("app");
    let mut mangled = token.clone();
    let last = mangled.pop().unwrap();
    mangled.push(if last == 'A' { 'B' } else { 'A' });

    let missing = server.send(
        server
            .post(&push_path("app"))
            .header("content-type", "application/json")
            .body(one_login("e1")),
    );

    for presented in [mangled.as_str(), "ep_0123456789abcdef_secret", "nonsense"] {
        let reply = server.push("app", presented, one_login("e1"), "application/json");

        assert_challenged(&reply);
        assert_eq!(
            reply.text, missing.text,
            "a 401 that hints at what was wrong"
        );
    }
    assert!(server.events_of("ann").is_empty());
}

#[test]
fn accepts_the_token_with_or_without_the_bearer_scheme() {
    let server = Server::start(vec![Source::template("app", LOGINS)]);
    let token = server.token("app");
    let with_scheme = |scheme: &str, id: &str| {
        server.send(
            server
                .post(&push_path("app"))
                .header("authorization", format!("{scheme}{token}"))
                .header("content-type", "application/json")
                .body(one_login(id)),
        )
    };

    let bearer = with_scheme("Bearer ", "bearer");
    let lower = with_scheme("bearer ", "lower");
    let bare = with_scheme("", "bare");

    assert_eq!(bearer.status, 202, "{bearer:?}");
    assert_eq!(lower.status, 202, "{lower:?}");
    assert_eq!(bare.status, 202, "{bare:?}");
    assert_eq!(ids(&server.events_of("ann")), ["bare", "lower", "bearer"]);
}

#[test]
fn reads_the_token_from_the_configured_header() {
    let server = Server::start(vec![
        Source::template("okta", LOGINS).token_header("X-Okta-Token"),
    ]);
    let token = server.token("okta");
    let post = || {
        server
            .post(&push_path("okta"))
            .header("content-type", "application/json")
    };

    let in_header = server.send(post().header("X-Okta-Token", &token).body(one_login("e1")));
    let bearer_in_header = server.send(
        post()
            .header("x-okta-token", format!("Bearer {token}"))
            .body(one_login("e2")),
    );
    let in_authorization = server.send(post().bearer_auth(&token).body(one_login("e3")));

    assert_eq!(in_header.status, 202, "{in_header:?}");
    assert_eq!(bearer_in_header.status, 202, "{bearer_in_header:?}");
    assert_challenged(&in_authorization);
    assert_eq!(ids(&server.events_of("ann")), ["e2", "e1"]);
}

#[test]
fn refuses_a_revoked_token_at_once_while_serving() {
    let mut server = Server::start(vec![Source::template("app", LOGINS)]);
    let token = server.labelled_token("app", "to-revoke");
    let kept = server.labelled_token("app", "to-keep");
    let before = server.push("app", &token, one_login("before"), "application/json");
    assert_eq!(before.status, 202, "{before:?}");

    let listing = server.cli(&["token", "list"]).success().stdout;
    let id = listing
        .lines()
        .find(|line| line.contains("to-revoke"))
        .and_then(|line| line.split_whitespace().next())
        .unwrap_or_else(|| panic!("no `to-revoke` token in:\n{listing}"))
        .to_owned();
    assert!(
        token.contains(&id),
        "`{id}` is not the listed id of the token"
    );
    server.cli(&["token", "revoke", &id]).success();

    let after = server.push("app", &token, one_login("after"), "application/json");
    let other = server.push("app", &kept, one_login("other"), "application/json");

    assert_challenged(&after);
    assert_eq!(other.status, 202, "{other:?}");
    assert!(server.is_running());
    assert_eq!(ids(&server.events_of("ann")), ["other", "before"]);
    let listing = server.cli(&["token", "list"]).success().stdout;
    let line = listing.lines().find(|l| l.contains(&id)).unwrap();
    assert!(line.contains("revoked"), "{line}");
}

#[test]
fn accepts_a_token_created_while_serving_at_once() {
    let server = Server::start(vec![Source::template("app", LOGINS)]);
    let refused = server.push(
        "app",
        "ep_0123456789abcdef_notyet",
        one_login("e0"),
        "application/json",
    );
    assert_challenged(&refused);

    let token = server.token("app");
    let reply = server.push("app", &token, one_login("e1"), "application/json");

    assert_eq!(reply.status, 202, "{reply:?}");
}

#[test]
fn does_not_open_the_query_api_with_a_datasource_token() {
    let server = Server::start(vec![Source::okta("okta")]);
    let token = server.token("okta");
    assert_eq!(server.push_json("okta", &token, &okta_sample()).status, 202);

    for path in [
        "/api/v1/subjects/admin@example.com/events",
        "/api/v1/datasources/okta/logs",
        "/api/v1/datasources/okta/entities/UserSessionStart",
    ] {
        let reply = server.send(server.get(path).bearer_auth(&token));

        assert_challenged(&reply);
    }
}

#[test]
fn refuses_the_query_api_without_a_token() {
    let server = Server::start(vec![Source::okta("okta")]);
    server.admin_token();

    let reply = server.send(server.get("/api/v1/subjects/admin@example.com/events"));

    assert_challenged(&reply);
}

#[test]
fn opens_the_query_api_with_the_admin_token_from_the_environment() {
    let admin = "env-admin-secret-7f3a9c";
    let server = Server::builder()
        .source(Source::okta("okta"))
        .env(ADMIN_ENV, admin)
        .start();
    let token = server.token("okta");
    assert_eq!(server.push_json("okta", &token, &okta_sample()).status, 202);

    let allowed = server.send(
        server
            .get("/api/v1/subjects/admin@example.com/events")
            .bearer_auth(admin),
    );
    let wrong = server.send(
        server
            .get("/api/v1/subjects/admin@example.com/events")
            .bearer_auth("env-admin-secret-7f3a9d"),
    );

    assert_eq!(allowed.status, 200, "{allowed:?}");
    assert_eq!(allowed.json()["events"].as_array().unwrap().len(), 1);
    assert_challenged(&wrong);
    let push_with_admin = server.push_json("okta", admin, &okta_sample());
    assert_challenged(&push_with_admin);
}

#[test]
fn answers_401_to_queries_and_logs_how_to_make_an_admin_token_when_there_is_none() {
    let server = Server::start(vec![Source::okta("okta")]);

    let reply = server.send(
        server
            .get("/api/v1/subjects/admin@example.com/events")
            .bearer_auth("anything"),
    );

    assert_challenged(&reply);
    let log = server.log_text();
    assert!(log.contains(ADMIN_ENV), "{log}");
    assert!(log.contains("token create --admin"), "{log}");
}

#[test]
fn lists_tokens_without_printing_them() {
    let server = Server::start(vec![
        Source::template("app", LOGINS),
        Source::template("other", LOGINS),
    ]);
    let app = server.labelled_token("app", "billing-sender");
    let other = server.labelled_token("other", "hr-sender");
    let admin = server.admin_token();
    assert_eq!(
        server
            .push("app", &app, one_login("e1"), "application/json")
            .status,
        202
    );

    let listing = server.cli(&["token", "list"]).success().stdout;

    for token in [&app, &other, &admin] {
        assert!(
            !token.is_empty() && !token.contains(char::is_whitespace),
            "`token create` printed more than a token: {token:?}"
        );
        assert!(!listing.contains(token.as_str()), "{listing}");
        assert!(!listing.contains(secret_tail(token)), "{listing}");
    }
    let app_line = listing
        .lines()
        .find(|l| l.contains("billing-sender"))
        .unwrap_or_else(|| panic!("{listing}"));
    assert!(app_line.contains("app"), "{app_line}");
    let other_line = listing
        .lines()
        .find(|l| l.contains("hr-sender"))
        .unwrap_or_else(|| panic!("{listing}"));
    assert!(other_line.contains("other"), "{other_line}");
    assert_eq!(dates_in(other_line), 1, "creation only: {other_line}");
    assert_eq!(dates_in(app_line), 2, "creation and last use: {app_line}");
}

/// How many `YYYY-MM-DD` dates `line` holds.
fn dates_in(line: &str) -> usize {
    let bytes = line.as_bytes();
    bytes
        .windows(10)
        .filter(|w| {
            w.iter().enumerate().all(|(i, b)| match i {
                4 | 7 => *b == b'-',
                _ => b.is_ascii_digit(),
            })
        })
        .count()
}

#[test]
fn never_writes_a_token_into_the_database_files() {
    let mut server = Server::start(vec![Source::template("app", LOGINS)]);
    let token = server.labelled_token("app", "stored-as-hash");
    let admin = server.admin_token();
    assert_eq!(
        server
            .push("app", &token, one_login("e1"), "application/json")
            .status,
        202
    );
    assert_eq!(server.events_of("ann").len(), 1);
    let listing = server.cli(&["token", "list"]).success().stdout;
    assert!(listing.contains("stored-as-hash"));
    assert!(server.is_running());

    let mut files = 0;
    for entry in std::fs::read_dir(server.dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("eventpush.db") {
            continue;
        }
        files += 1;
        let bytes = std::fs::read(&path).unwrap();
        for secret in [&token, &admin] {
            for needle in [secret.as_str(), secret_tail(secret)] {
                assert!(
                    !bytes
                        .windows(needle.len())
                        .any(|window| window == needle.as_bytes()),
                    "`{name}` holds a token"
                );
            }
        }
    }
    assert!(files >= 1, "no database file in {}", server.dir().display());
}

#[test]
fn a_token_sent_in_the_wrong_place_is_not_quoted_back() {
    let server = Server::start(vec![Source::template("app", LOGINS)]);
    let token = server.token("app");
    let admin = server.admin_token();

    let in_path = server.push(&token, &token, one_login("e1"), "application/json");
    let in_query = server.get_admin(&format!("/api/v1/subjects/ann/events?limit={admin}"));

    for (reply, status, misplaced) in [(&in_path, 404, &token), (&in_query, 400, &admin)] {
        reply.problem(status);
        assert!(
            !reply.text.contains(secret_tail(misplaced)),
            "the answer quotes the token: {}",
            reply.text
        );
        assert!(reply.text.contains("_…"), "{}", reply.text);
    }
}
