//! The query API: events by subject with filters and paging, nodes by
//! indexed attributes, and the event-stream log of a datasource.

use std::time::Duration;

use serde_json::{Value, json};

use crate::util::{
    LOGINS, Server, Source, encode, events, ids, login, mentions, push_path, rfc3339,
};

/// A server with the [`LOGINS`] template as `app` and a token for it.
fn logins_server() -> (Server, String) {
    let server = Server::start(vec![Source::template("app", LOGINS)]);
    let token = server.token("app");
    (server, token)
}

fn push_logins(server: &Server, token: &str, batch: Vec<Value>) {
    let reply = server.push_json("app", token, &events(batch));
    assert_eq!(reply.status, 202, "{reply:?}");
}

/// `count` logins of `user`, with IDs `{prefix}0`, `{prefix}1`, ...
fn numbered(prefix: &str, user: &str, count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| login("login", &format!("{prefix}{i}"), user))
        .collect()
}

fn subject_page(server: &Server, subject: &str, query: &str) -> Value {
    let reply = server.get_admin(&format!(
        "/api/v1/subjects/{}/events{query}",
        encode(subject)
    ));
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.json()
}

fn page_ids(page: &Value) -> Vec<String> {
    ids(page["events"].as_array().expect("`events` is a list"))
}

/// The `next` cursor of a page, if another page follows.
fn next_cursor(page: &Value) -> Option<String> {
    match &page["next"] {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        other => panic!("`next` is neither text nor absent: {other}"),
    }
}

#[test]
fn returns_100_events_by_default_and_up_to_the_limit_asked() {
    let (server, token) = logins_server();
    push_logins(&server, &token, numbered("e", "ann", 101));

    let default = subject_page(&server, "ann", "");
    let largest = subject_page(&server, "ann", "?limit=1000");
    let one = subject_page(&server, "ann", "?limit=1");

    assert_eq!(page_ids(&default).len(), 100);
    assert!(next_cursor(&default).is_some(), "{}", default["next"]);
    assert_eq!(page_ids(&largest).len(), 101);
    assert_eq!(next_cursor(&largest), None);
    assert_eq!(page_ids(&one), ["e100"]);
}

#[test]
fn refuses_a_limit_out_of_bounds_or_not_a_number() {
    let (server, _) = logins_server();

    for limit in ["0", "1001", "-1", "ten", "1.5", ""] {
        let reply = server.get_admin(&format!("/api/v1/subjects/ann/events?limit={limit}"));

        let problem = reply.problem(400);
        assert!(
            mentions(problem["detail"].as_str().unwrap_or(""), "limit"),
            "{problem}"
        );
    }
}

#[test]
fn lists_newest_first_and_a_batch_in_reverse_order() {
    let (server, token) = logins_server();
    push_logins(&server, &token, numbered("a", "ann", 3));
    push_logins(&server, &token, numbered("b", "ann", 2));

    let page = subject_page(&server, "ann", "");

    assert_eq!(page_ids(&page), ["b1", "b0", "a2", "a1", "a0"]);
    let times: Vec<_> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| rfc3339(&e["received_at"], "received_at"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
}

#[test]
fn filters_by_type() {
    let (server, token) = logins_server();
    push_logins(
        &server,
        &token,
        vec![
            login("login", "in-1", "ann"),
            login("logout", "out-1", "ann"),
            login("login", "in-2", "ann"),
        ],
    );

    let logins = subject_page(&server, "ann", "?type=login");
    let logouts = subject_page(&server, "ann", "?type=logout");
    let none = subject_page(&server, "ann", "?type=reboot");

    assert_eq!(page_ids(&logins), ["in-2", "in-1"]);
    assert_eq!(page_ids(&logouts), ["out-1"]);
    assert_eq!(logouts["events"][0]["entity"], "Logout");
    assert_eq!(page_ids(&none), Vec::<String>::new());
}

#[test]
fn filters_by_datasource() {
    let server = Server::start(vec![
        Source::template("app", LOGINS),
        Source::template("vpn", LOGINS),
    ]);
    let app = server.token("app");
    let vpn = server.token("vpn");
    assert_eq!(
        server
            .push_json("app", &app, &events(vec![login("login", "app-1", "ann")]))
            .status,
        202
    );
    assert_eq!(
        server
            .push_json("vpn", &vpn, &events(vec![login("login", "vpn-1", "ann")]))
            .status,
        202
    );

    let all = subject_page(&server, "ann", "");
    let only_vpn = subject_page(&server, "ann", "?datasource=vpn");
    let only_app = subject_page(&server, "ann", "?datasource=app");

    assert_eq!(page_ids(&all), ["vpn-1", "app-1"]);
    assert_eq!(page_ids(&only_vpn), ["vpn-1"]);
    assert_eq!(only_vpn["events"][0]["datasource"], "vpn");
    assert_eq!(page_ids(&only_app), ["app-1"]);
}

#[test]
fn filters_by_time_received_since() {
    let (server, token) = logins_server();
    push_logins(&server, &token, vec![login("login", "early", "ann")]);
    std::thread::sleep(Duration::from_millis(50));
    push_logins(&server, &token, vec![login("login", "late", "ann")]);
    let page = subject_page(&server, "ann", "");
    let late = rfc3339(&page["events"][0]["received_at"], "received_at");
    let plus_two = chrono::FixedOffset::east_opt(2 * 3600).unwrap();

    let since_late = subject_page(
        &server,
        "ann",
        &format!("?since={}", encode(&late.to_rfc3339())),
    );
    let in_offset = subject_page(
        &server,
        "ann",
        &format!(
            "?since={}",
            encode(&late.with_timezone(&plus_two).to_rfc3339())
        ),
    );
    let since_long_ago = subject_page(&server, "ann", "?since=2000-01-01T00:00:00Z");
    let since_future = subject_page(&server, "ann", "?since=2999-01-01T00:00:00Z");
    let unparsable = server.get_admin("/api/v1/subjects/ann/events?since=yesterday");

    assert_eq!(page_ids(&since_late), ["late"]);
    assert_eq!(page_ids(&in_offset), ["late"]);
    assert_eq!(page_ids(&since_long_ago), ["late", "early"]);
    assert_eq!(page_ids(&since_future), Vec::<String>::new());
    unparsable.problem(400);
}

#[test]
fn pages_through_every_event_with_the_next_cursor() {
    let (server, token) = logins_server();
    push_logins(&server, &token, numbered("e", "ann", 5));

    let mut seen = Vec::new();
    let mut query = "?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let page = subject_page(&server, "ann", &query);
        let got = page_ids(&page);
        assert!(got.len() <= 2, "{page}");
        seen.extend(got);
        pages += 1;
        assert!(pages <= 5, "paging does not end: {seen:?}");
        match next_cursor(&page) {
            Some(next) => query = format!("?limit=2&before={}", encode(&next)),
            None => break,
        }
    }

    assert_eq!(seen, ["e4", "e3", "e2", "e1", "e0"]);
    assert_eq!(pages, 3);
}

#[test]
fn answers_an_empty_list_for_an_unknown_subject() {
    let (server, token) = logins_server();
    push_logins(&server, &token, vec![login("login", "e1", "ann")]);

    let page = subject_page(&server, "nobody@example.com", "");

    assert_eq!(page["subject"], "nobody@example.com");
    assert_eq!(page["events"], json!([]));
}

#[test]
fn finds_a_subject_with_reserved_characters() {
    let (server, token) = logins_server();
    let subject = "CN=Ann Smith/OU=Sales+EU?x#1 ü";
    push_logins(&server, &token, vec![login("login", "e1", subject)]);

    let page = subject_page(&server, subject, "");

    assert_eq!(page["subject"], subject);
    assert_eq!(page_ids(&page), ["e1"]);
}

#[test]
fn lists_nodes_of_an_entity_by_an_indexed_attribute() {
    let (server, token) = logins_server();
    let mut from_office = login("login", "e1", "ann");
    from_office["ip"] = json!("10.0.0.1");
    let mut from_home = login("login", "e2", "bob");
    from_home["ip"] = json!("10.9.9.9");
    let mut office_again = login("login", "e3", "bob");
    office_again["ip"] = json!("10.0.0.1");
    push_logins(&server, &token, vec![from_office, from_home, office_again]);

    let office = server.get_admin("/api/v1/datasources/app/entities/Login?attr.ip=10.0.0.1");
    let both = server
        .get_admin("/api/v1/datasources/app/entities/Login?attr.ip=10.0.0.1&attr.subject=bob");
    let nobody = server.get_admin("/api/v1/datasources/app/entities/Login?attr.ip=10.1.1.1");

    assert_eq!(office.status, 200, "{office:?}");
    let nodes = office.json()["nodes"].as_array().unwrap().clone();
    assert_eq!(ids(&nodes), ["e3", "e1"]);
    assert!(nodes.iter().all(|n| n["attributes"]["ip"] == "10.0.0.1"));
    assert_eq!(ids(both.json()["nodes"].as_array().unwrap()), ["e3"]);
    assert_eq!(nobody.json()["nodes"], json!([]));
}

#[test]
fn refuses_to_list_nodes_by_an_attribute_that_is_not_indexed() {
    let (server, token) = logins_server();
    let mut noted = login("login", "e1", "ann");
    noted["note"] = json!("hello");
    push_logins(&server, &token, vec![noted]);

    let not_indexed = server.get_admin("/api/v1/datasources/app/entities/Login?attr.note=hello");
    let undeclared = server.get_admin("/api/v1/datasources/app/entities/Login?attr.colour=red");

    let problem = not_indexed.problem(400);
    assert!(
        mentions(problem["detail"].as_str().unwrap_or(""), "note"),
        "{problem}"
    );
    undeclared.problem(400);
}

#[test]
fn logs_each_request_newest_first_with_counts_and_reasons() {
    let (server, token) = logins_server();
    let mut keyless = login("login", "unused", "ann");
    keyless.as_object_mut().unwrap().remove("id");
    let mixed = events(vec![
        login("login", "e1", "ann"),
        keyless,
        login("reboot", "e2", "ann"),
    ]);

    let first = server.push_json("app", &token, &mixed);
    let again = server.push_json("app", &token, &events(vec![login("login", "e1", "ann")]));
    let unauthenticated = server.send(
        server
            .post(&push_path("app"))
            .header("content-type", "application/json")
            .body(events(vec![login("login", "e9", "ann")]).to_string()),
    );
    let malformed = server.push("app", &token, "{not json", "application/json");
    let last = server.push_json("app", &token, &events(vec![login("logout", "e3", "ann")]));
    let statuses: Vec<u16> = [&first, &again, &unauthenticated, &malformed, &last]
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [202, 202, 401, 400, 202]);

    let reply = server.get_admin("/api/v1/datasources/app/logs");

    assert_eq!(reply.status, 200, "{reply:?}");
    let entries = reply.json()["entries"].as_array().unwrap().clone();
    let logged: Vec<u64> = entries
        .iter()
        .map(|e| e["status"].as_u64().unwrap())
        .collect();
    assert_eq!(logged, [202, 400, 401, 202, 202], "{entries:#?}");
    for entry in &entries {
        rfc3339(&entry["received_at"], "received_at");
        assert!(entry.get("mapper").is_some(), "no `mapper` in {entry:#}");
    }
    let counts = |e: &Value| {
        [
            e["accepted"].clone(),
            e["duplicates"].clone(),
            e["unmatched"].clone(),
            e["rejected"].clone(),
        ]
    };
    assert_eq!(
        counts(&entries[0]),
        [json!(1), json!(0), json!(0), json!(0)]
    );
    assert_eq!(
        counts(&entries[3]),
        [json!(0), json!(1), json!(0), json!(0)]
    );
    let mixed_entry = &entries[4];
    assert_eq!(
        counts(mixed_entry),
        [json!(1), json!(0), json!(1), json!(1)]
    );
    let reasons = mixed_entry.to_string();
    assert!(
        reasons.contains("\"index\":1") && mentions(&reasons, "id"),
        "the entry does not give the rejection's index and reason: {mixed_entry:#}"
    );
    let first_reason = first.json()["rejected"][0]["reason"].clone();
    assert!(
        reasons.contains(first_reason.as_str().unwrap()),
        "the entry does not keep the reason answered: {mixed_entry:#}"
    );
}

#[test]
fn answers_404_for_the_logs_of_an_unknown_datasource() {
    let (server, _) = logins_server();

    let reply = server.get_admin("/api/v1/datasources/nowhere/logs");

    reply.problem(404);
}

#[test]
fn deleting_a_subject_erases_its_events_and_only_its_own() {
    let server = Server::start(vec![Source::template("app", LOGINS)]);
    let token = server.token("app");
    let admin = server.admin_token();
    let batch = events(vec![
        login("login", "e-1", "gone@example.com"),
        login("login", "e-2", "gone@example.com"),
        login("login", "e-3", "kept@example.com"),
    ]);
    assert_eq!(server.push_json("app", &token, &batch).status, 202);

    let erased = server.send(
        server
            .request(reqwest::Method::DELETE, "/api/v1/subjects/gone@example.com")
            .bearer_auth(&admin),
    );
    let anonymous =
        server.send(server.request(reqwest::Method::DELETE, "/api/v1/subjects/kept@example.com"));

    assert_eq!(erased.status, 200, "{erased:?}");
    assert_eq!(erased.json()["erased_events"], 2);
    anonymous.problem(401);
    assert!(server.events_of("gone@example.com").is_empty());
    assert_eq!(server.events_of("kept@example.com").len(), 1);
    // Erased events may come again: nothing of them is remembered.
    let again = server.push_json("app", &token, &batch);
    assert_eq!(again.json()["accepted"], 2, "{again:?}");
}

#[test]
fn erase_subject_command_erases_from_the_database() {
    let server = Server::start(vec![Source::template("app", LOGINS)]);
    let token = server.token("app");
    let batch = events(vec![login("login", "c-1", "cli@example.com")]);
    assert_eq!(server.push_json("app", &token, &batch).status, 202);

    let ran = server.cli(&["erase-subject", "cli@example.com"]);

    assert_eq!(ran.code, 0, "{ran:#?}");
    assert!(server.events_of("cli@example.com").is_empty());
}

#[test]
fn names_a_parameter_given_twice() {
    let (server, _) = logins_server();

    let twice = server.get_admin("/api/v1/subjects/ann/events?limit=1&limit=2");
    let unknown = server.get_admin("/api/v1/subjects/ann/events?colour=red");

    let detail = twice.problem(400)["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        detail.contains("`limit` is given more than once"),
        "{detail}"
    );
    let detail = unknown.problem(400)["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        detail.contains("unknown query parameter `colour`"),
        "{detail}"
    );
}
