//! Pushing events: extraction by template, the summary answer, and every way
//! a push is refused as a whole.

use std::io::{Cursor, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use reqwest::blocking::Body;
use serde_json::{Value, json};

use crate::util::{
    LOGINS, Server, Source, assert_summary, events, find_event, ids, login, mentions,
    okta_delivery, okta_event, okta_fixtures, okta_sample, push_path, rfc3339,
};

/// Every attribute type, a list, and a non-list path that may select several values.
const READINGS: &str = r#"
pushEventsPath: $.events[*]
entities:
  Reading:
    externalId: reading
    pushExternalId: $.kind
    attributes:
      - { name: readingKey, externalId: $.key, type: String, uniqueId: true }
      - { name: subject, externalId: $.device, type: String, indexed: true }
      - { name: attempts, externalId: $.attempts, type: Int64 }
      - { name: locked, externalId: $.locked, type: Bool }
      - { name: ratio, externalId: $.ratio, type: Double }
      - { name: seenAt, externalId: $.seenAt, type: DateTime }
      - { name: window, externalId: $.window, type: Duration }
      - { name: tags, externalId: "$.tags[*]", type: String, list: true }
      - { name: owner, externalId: "$.owners[*].name", type: String }
"#;

/// Children under a parent named by entity name and by `externalId`.
const GRANTS: &str = r#"
pushEventsPath: $.events[*]
entities:
  Grant:
    externalId: grant
    pushExternalId: $.type
    attributes:
      - { name: id, externalId: $.id, type: String, uniqueId: true }
      - { name: subject, externalId: $.user, type: String, indexed: true }
  GrantedResource:
    parent: Grant
    externalId: resource
    pushExternalId: $.resources
    attributes:
      - { name: id, externalId: $.id, type: String, uniqueId: true, indexed: true }
      - { name: label, externalId: $.label, type: String }
  Revoke:
    externalId: revoke
    pushExternalId: $.type
    attributes:
      - { name: id, externalId: $.id, type: String, uniqueId: true }
      - { name: subject, externalId: $.user, type: String, indexed: true }
  RevokedResource:
    parent: revoke
    externalId: resource
    pushExternalId: $.resources
    attributes:
      - { name: id, externalId: $.id, type: String, uniqueId: true, indexed: true }
      - { name: label, externalId: $.label, type: String }
"#;

/// A body that is a JSON array of events.
const ARRAY_BODY: &str = r#"
pushEventsPath: $[*]
entities:
  Alert:
    externalId: alert
    pushExternalId: $.kind
    attributes:
      - { name: id, externalId: $.alertId, type: String, uniqueId: true }
      - { name: subject, externalId: $.host, type: String, indexed: true }
"#;

fn reading(key: &str) -> Value {
    json!({ "kind": "reading", "key": key, "device": "sensor-1" })
}

#[test]
fn stores_the_okta_sample_and_reads_it_back_typed() {
    let server = Server::start(vec![Source::okta("okta")]);
    let token = server.token("okta");
    let before = chrono::Utc::now();

    let reply = server.push_json("okta", &token, &okta_sample());
    let after = chrono::Utc::now();

    assert_eq!(reply.status, 202, "{reply:?}");
    assert_eq!(reply.media_type(), "application/json", "{reply:?}");
    assert_summary(&reply.json(), 1, 0, 0, &[]);

    let events = server.events_of("admin@example.com");
    assert_eq!(events.len(), 1, "{events:#?}");
    let event = &events[0];
    assert_eq!(event["datasource"], "okta");
    assert_eq!(event["entity"], "UserSessionStart");
    assert_eq!(event["id"], "f1d0b993-cc19-11ed-a688-db22c99ef6c4");
    assert_eq!(event["type"], "user.session.start");
    let received = rfc3339(&event["received_at"], "received_at");
    let slack = chrono::Duration::seconds(1);
    assert!(
        received >= before - slack && received <= after + slack,
        "received_at {received} is not the time of the push"
    );

    let attributes = &event["attributes"];
    assert_eq!(attributes["id"], "f1d0b993-cc19-11ed-a688-db22c99ef6c4");
    assert_eq!(attributes["subject"], "admin@example.com");
    assert_eq!(attributes["published"], "2023-03-26T21:05:32.159Z");
    let published = rfc3339(&attributes["published"], "published");
    assert_eq!(published.offset().local_minus_utc(), 0);
    assert_eq!(attributes["displayMessage"], "User login to Okta");
    assert_eq!(attributes["outcomeResult"], "SUCCESS");
    assert_eq!(attributes["actorId"], "00uz9fj5aT69fHVro1d6");
    assert_eq!(attributes["clientIpAddress"], "192.0.2.10");
    assert_eq!(attributes["clientZone"], "null");
    assert_eq!(attributes["clientId"], Value::Null);
    assert_eq!(attributes["sessionId"], "idxyNcxVX2ESsSL0u462548Qg");
    assert_eq!(attributes["targetUserIds"], json!([]));
    assert_eq!(attributes["targetUserAlternateIds"], json!([]));

    let children = event["children"].as_array().expect("`children` is a list");
    assert_eq!(children.len(), 2, "{children:#?}");
    assert_eq!(children[0]["entity"], "TargetUserSessionStart");
    assert_eq!(children[0]["id"], "lae42mkdc9i9cbw3U1d6");
    assert_eq!(children[0]["attributes"]["type"], "AuthenticatorEnrollment");
    assert_eq!(children[0]["attributes"]["displayName"], "Password");
    assert_eq!(children[1]["entity"], "TargetUserSessionStart");
    assert_eq!(children[1]["id"], "0oaz9fj21WKqTeaqs1d6");
    assert_eq!(children[1]["attributes"]["type"], "AppInstance");
    assert_eq!(
        children[1]["attributes"]["alternateId"],
        "Okta Admin Console"
    );
}

#[test]
fn stores_every_okta_fixture_under_its_subject_with_its_targets() {
    let server = Server::start(vec![Source::okta("okta")]);
    let token = server.token("okta");

    let fixtures = okta_fixtures();
    assert!(fixtures.len() >= 18, "only {} fixtures", fixtures.len());
    for (name, delivery) in &fixtures {
        let reply = server.push_json("okta", &token, delivery);
        assert_eq!(reply.status, 202, "{name}: {reply:?}");
        let found = delivery["data"]["events"].as_array().unwrap().len() as u64;
        assert_summary(&reply.json(), found, 0, 0, &[]);
    }

    for (name, delivery) in &fixtures {
        for sent in delivery["data"]["events"].as_array().unwrap() {
            let subject = sent["actor"]["alternateId"].as_str().unwrap();
            let uuid = sent["uuid"].as_str().unwrap();
            let stored = server.events_of(subject);
            let event = find_event(&stored, uuid);
            assert_eq!(event["type"], sent["eventType"], "{name}");
            assert_eq!(event["datasource"], "okta", "{name}");
            let targets: Vec<&Value> = sent["target"]
                .as_array()
                .map(|t| t.iter().collect())
                .unwrap_or_default();
            let children = event["children"].as_array().expect("`children` is a list");
            assert_eq!(children.len(), targets.len(), "{name}: {event:#}");
            for (child, target) in children.iter().zip(targets) {
                assert_eq!(child["id"], target["id"], "{name}");
                assert_eq!(child["attributes"]["type"], target["type"], "{name}");
            }
        }
    }
}

#[test]
fn rejects_an_event_without_a_unique_id_and_keeps_the_rest_of_the_batch() {
    let server = Server::start(vec![Source::okta("okta")]);
    let token = server.token("okta");
    let mut nameless = okta_event("unused");
    nameless.as_object_mut().unwrap().remove("uuid");
    let body = okta_delivery(vec![okta_event("good-0"), nameless, okta_event("good-2")]);

    let reply = server.push_json("okta", &token, &body);

    assert_eq!(reply.status, 202, "{reply:?}");
    let reasons = assert_summary(&reply.json(), 2, 0, 0, &[1]);
    assert!(
        mentions(&reasons[0], "id"),
        "the reason does not name the attribute `id`: {}",
        reasons[0]
    );
    let stored = ids(&server.events_of("admin@example.com"));
    assert_eq!(stored, ["good-2", "good-0"]);
}

#[test]
fn rejects_values_that_do_not_convert_and_names_the_attribute() {
    let server = Server::start(vec![Source::template("iot", READINGS)]);
    let token = server.token("iot");
    let mut bad_count = reading("r1");
    bad_count["attempts"] = json!("many");
    let mut bad_flag = reading("r2");
    bad_flag["locked"] = json!("maybe");
    let body = events(vec![reading("r0"), bad_count, bad_flag, reading("r3")]);

    let reply = server.push_json("iot", &token, &body);

    assert_eq!(reply.status, 202, "{reply:?}");
    let reasons = assert_summary(&reply.json(), 2, 0, 0, &[1, 2]);
    assert!(mentions(&reasons[0], "attempts"), "{}", reasons[0]);
    assert!(mentions(&reasons[1], "locked"), "{}", reasons[1]);
    assert_eq!(ids(&server.events_of("sensor-1")), ["r3", "r0"]);
}

#[test]
fn converts_typed_values_given_as_strings() {
    let server = Server::start(vec![Source::template("iot", READINGS)]);
    let token = server.token("iot");
    let mut as_text = reading("text");
    as_text["attempts"] = json!("42");
    as_text["locked"] = json!("false");
    as_text["ratio"] = json!("2.5");
    as_text["seenAt"] = json!("2023-03-26T23:05:32+02:00");
    as_text["window"] = json!("PT1H30M");
    let mut native = reading("native");
    native["attempts"] = json!(7);
    native["locked"] = json!(true);
    native["ratio"] = json!(0.25);
    native["seenAt"] = json!("2024-05-06T08:14:58.117Z");

    let reply = server.push_json("iot", &token, &events(vec![as_text, native]));

    assert_eq!(reply.status, 202, "{reply:?}");
    assert_summary(&reply.json(), 2, 0, 0, &[]);
    let stored = server.events_of("sensor-1");
    let text = &find_event(&stored, "text")["attributes"];
    assert_eq!(text["attempts"], json!(42));
    assert_eq!(text["locked"], json!(false));
    assert_eq!(text["ratio"], json!(2.5));
    assert_eq!(text["seenAt"], json!("2023-03-26T21:05:32Z"));
    assert_eq!(text["window"], json!("PT1H30M"));
    let native = &find_event(&stored, "native")["attributes"];
    assert_eq!(native["attempts"], json!(7));
    assert_eq!(native["locked"], json!(true));
    assert_eq!(native["ratio"], json!(0.25));
    assert_eq!(native["seenAt"], json!("2024-05-06T08:14:58.117Z"));
}

#[test]
fn keeps_every_value_of_a_list_attribute_in_order() {
    let server = Server::start(vec![Source::template("iot", READINGS)]);
    let token = server.token("iot");
    let mut tagged = reading("tagged");
    tagged["tags"] = json!(["blue", "green", "red"]);
    let untagged = reading("untagged");

    let reply = server.push_json("iot", &token, &events(vec![tagged, untagged]));

    assert_eq!(reply.status, 202, "{reply:?}");
    let stored = server.events_of("sensor-1");
    assert_eq!(
        find_event(&stored, "tagged")["attributes"]["tags"],
        json!(["blue", "green", "red"])
    );
    assert_eq!(
        find_event(&stored, "untagged")["attributes"]["tags"],
        json!([])
    );
}

#[test]
fn rejects_an_event_whose_single_valued_attribute_selects_several_values() {
    let server = Server::start(vec![Source::template("iot", READINGS)]);
    let token = server.token("iot");
    let mut one_owner = reading("one");
    one_owner["owners"] = json!([{ "name": "ann" }]);
    let mut two_owners = reading("two");
    two_owners["owners"] = json!([{ "name": "ann" }, { "name": "bob" }]);

    let reply = server.push_json("iot", &token, &events(vec![one_owner, two_owners]));

    assert_eq!(reply.status, 202, "{reply:?}");
    let reasons = assert_summary(&reply.json(), 1, 0, 0, &[1]);
    assert!(mentions(&reasons[0], "owner"), "{}", reasons[0]);
    let stored = server.events_of("sensor-1");
    assert_eq!(ids(&stored), ["one"]);
    assert_eq!(stored[0]["attributes"]["owner"], "ann");
}

#[test]
fn counts_an_event_of_unknown_type_as_unmatched() {
    let server = Server::start(vec![Source::okta("okta")]);
    let token = server.token("okta");
    let mut unknown = okta_event("unknown-type");
    unknown["eventType"] = json!("user.something.new");
    let mut untyped = okta_event("no-type");
    untyped.as_object_mut().unwrap().remove("eventType");

    let mixed = server.push_json(
        "okta",
        &token,
        &okta_delivery(vec![unknown.clone(), okta_event("known"), untyped]),
    );
    let only_unknown = server.push_json("okta", &token, &okta_delivery(vec![unknown]));

    assert_eq!(mixed.status, 202, "{mixed:?}");
    assert_summary(&mixed.json(), 1, 0, 2, &[]);
    assert_eq!(only_unknown.status, 202, "{only_unknown:?}");
    assert_summary(&only_unknown.json(), 0, 0, 1, &[]);
    assert_eq!(ids(&server.events_of("admin@example.com")), ["known"]);
}

#[test]
fn answers_a_redelivery_with_duplicates_and_stores_one_event() {
    let server = Server::start(vec![Source::okta("okta")]);
    let token = server.token("okta");

    let first = server.push_json("okta", &token, &okta_sample());
    let again = server.push_json("okta", &token, &okta_sample());

    assert_eq!(first.status, 202, "{first:?}");
    assert_summary(&first.json(), 1, 0, 0, &[]);
    assert_eq!(again.status, 202, "{again:?}");
    assert_summary(&again.json(), 0, 1, 0, &[]);
    let stored = server.events_of("admin@example.com");
    assert_eq!(ids(&stored), ["f1d0b993-cc19-11ed-a688-db22c99ef6c4"]);
    let node = server.get_admin(
        "/api/v1/datasources/okta/entities/UserSessionStart\
         ?attr.id=f1d0b993-cc19-11ed-a688-db22c99ef6c4",
    );
    assert_eq!(node.status, 200, "{node:?}");
    assert_eq!(node.json()["nodes"].as_array().unwrap().len(), 1);
}

#[test]
fn reads_events_from_a_body_that_is_a_json_array() {
    let server = Server::start(vec![Source::template("alerts", ARRAY_BODY)]);
    let token = server.token("alerts");
    let body = json!([
        { "kind": "alert", "alertId": "a1", "host": "web-1" },
        { "kind": "alert", "alertId": "a2", "host": "web-1" }
    ]);

    let reply = server.push_json("alerts", &token, &body);

    assert_eq!(reply.status, 202, "{reply:?}");
    assert_summary(&reply.json(), 2, 0, 0, &[]);
    assert_eq!(ids(&server.events_of("web-1")), ["a2", "a1"]);
}

#[test]
fn answers_422_with_the_summary_when_the_events_path_finds_nothing() {
    let server = Server::start(vec![Source::okta("okta")]);
    let token = server.token("okta");

    for (round, body) in [okta_delivery(vec![]), json!({ "something": "else" })]
        .into_iter()
        .enumerate()
    {
        let reply = server.push_json("okta", &token, &body);

        let problem = reply.problem(422);
        assert_summary(&problem, 0, 0, 0, &[]);
        let entries = server.log_entries("okta");
        assert_eq!(entries.len(), round + 1, "{entries:#?}");
        assert_eq!(entries[0]["status"], 422, "{entries:#?}");
        assert_eq!(entries[0]["error"], problem["detail"], "{entries:#?}");
    }
}

#[test]
fn answers_422_when_every_event_is_rejected() {
    let server = Server::start(vec![Source::template("iot", READINGS)]);
    let token = server.token("iot");
    let mut bad_count = reading("r0");
    bad_count["attempts"] = json!("many");
    let mut keyless = reading("r1");
    keyless.as_object_mut().unwrap().remove("key");

    let reply = server.push_json("iot", &token, &events(vec![bad_count, keyless]));

    let problem = reply.problem(422);
    let reasons = assert_summary(&problem, 0, 0, 0, &[0, 1]);
    assert!(mentions(&reasons[0], "attempts"), "{}", reasons[0]);
    assert!(mentions(&reasons[1], "readingKey"), "{}", reasons[1]);
    assert!(server.events_of("sensor-1").is_empty());
    assert_eq!(problem["detail"], "all 2 events were rejected");
    assert_eq!(server.log_entries("iot")[0]["error"], problem["detail"]);
}

#[test]
fn answers_400_to_malformed_json() {
    let server = Server::start(vec![Source::okta("okta")]);
    let token = server.token("okta");

    let reply = server.push(
        "okta",
        &token,
        r#"{"data": {"events": [}"#,
        "application/json",
    );

    reply.problem(400);
}

#[test]
fn answers_400_to_malformed_json_where_the_template_reads_nothing() {
    let server = Server::start(vec![Source::okta("okta")]);
    let token = server.token("okta");
    let mut sample = okta_sample();
    sample["unread"] = json!("unread-marker");
    let text = sample.to_string();
    let syntax_error = text.replace(r#""unread-marker""#, r#"{"a": [1,]}"#);
    let mut not_utf8 = text.clone().into_bytes();
    not_utf8[text.find("unread-marker").unwrap()] = 0xff;

    for body in [syntax_error.into_bytes(), not_utf8] {
        let problem = server
            .push("okta", &token, body, "application/json")
            .problem(400);
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.starts_with("the body is not valid JSON: "),
            "{detail}"
        );
    }
}

#[test]
fn answers_404_for_an_unknown_datasource() {
    let server = Server::start(vec![Source::okta("okta")]);
    let token = server.token("okta");

    let with_token = server.push_json("nowhere", &token, &okta_sample());
    let without_token = server.send(
        server
            .post(&push_path("nowhere"))
            .header("content-type", "application/json")
            .body(okta_sample().to_string()),
    );

    with_token.problem(404);
    without_token.problem(404);
}

#[test]
fn answers_413_to_a_body_over_the_limit_by_content_length() {
    let server = Server::start(vec![Source::template("small", LOGINS).max_body_bytes(512)]);
    let token = server.token("small");
    let fits = events(vec![login("login", "e1", "ann")]).to_string();
    let mut big = events(vec![login("login", "e2", "ann")]);
    big["padding"] = json!("x".repeat(2048));

    let small = server.push("small", &token, fits, "application/json");
    let large = server.push("small", &token, big.to_string(), "application/json");

    assert_eq!(small.status, 202, "{small:?}");
    large.problem(413);
    assert_eq!(ids(&server.events_of("ann")), ["e1"]);
}

#[test]
fn answers_413_by_content_length_before_asking_for_a_token() {
    let server = Server::start(vec![Source::template("small", LOGINS).max_body_bytes(512)]);
    let mut big = events(vec![login("login", "e1", "ann")]);
    big["padding"] = json!("x".repeat(2048));

    let reply = server.send(
        server
            .post(&push_path("small"))
            .header("content-type", "application/json")
            .body(big.to_string()),
    );

    reply.problem(413);
}

#[test]
fn answers_413_to_a_chunked_body_over_the_limit() {
    let server = Server::start(vec![Source::template("small", LOGINS).max_body_bytes(512)]);
    let token = server.token("small");
    let fits = events(vec![login("login", "e1", "ann")]).to_string();
    let mut big = events(vec![login("login", "e2", "ann")]);
    big["padding"] = json!("x".repeat(2048));
    let chunked = |text: String| Body::new(Cursor::new(text.into_bytes()));

    let small = server.send(
        server
            .post(&push_path("small"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(chunked(fits)),
    );
    let large = server.send(
        server
            .post(&push_path("small"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(chunked(big.to_string())),
    );

    assert_eq!(small.status, 202, "{small:?}");
    large.problem(413);
    assert_eq!(ids(&server.events_of("ann")), ["e1"]);
}

#[test]
fn answers_413_to_a_declared_length_over_the_limit_without_waiting_for_the_body() {
    let server = Server::start(vec![Source::template("small", LOGINS).max_body_bytes(512)]);
    let token = server.token("small");
    let mut stream = TcpStream::connect(&server.address).expect("failed to connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();

    // Announce ten megabytes and send none of them: the answer must not wait.
    let head = format!(
        "POST /events/custom/v1/small HTTP/1.1\r\nHost: {}\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         Content-Length: 10000000\r\n\r\n",
        server.address
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains("\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
            Err(e) => panic!("no answer before the body was sent: {e}"),
        }
    }

    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

#[test]
fn answers_415_to_a_body_that_is_not_declared_json() {
    let server = Server::start(vec![Source::template("app", LOGINS)]);
    let token = server.token("app");
    let body = |id: &str| events(vec![login("login", id, "ann")]).to_string();

    let plain = server.push("app", &token, body("plain"), "text/plain");
    let form = server.push(
        "app",
        &token,
        body("form"),
        "application/x-www-form-urlencoded",
    );
    let untyped = server.send(
        server
            .post(&push_path("app"))
            .bearer_auth(&token)
            .body(body("untyped")),
    );
    let with_charset = server.push(
        "app",
        &token,
        body("charset"),
        "application/json; charset=utf-8",
    );
    let upper = server.push("app", &token, body("upper"), "Application/JSON");
    let suffixed = server.push(
        "app",
        &token,
        body("suffixed"),
        "application/cloudevents+json",
    );

    plain.problem(415);
    form.problem(415);
    untyped.problem(415);
    assert_eq!(with_charset.status, 202, "{with_charset:?}");
    assert_eq!(upper.status, 202, "{upper:?}");
    assert_eq!(suffixed.status, 202, "{suffixed:?}");
    assert_eq!(
        ids(&server.events_of("ann")),
        ["suffixed", "upper", "charset"]
    );
}

#[test]
fn keeps_one_node_for_a_child_shared_by_two_events_updated_by_the_newest() {
    let server = Server::start(vec![Source::template("grants", GRANTS)]);
    let token = server.token("grants");
    let grant = |id: &str, label: &str| {
        json!({ "type": "grant", "id": id, "user": "ann",
                "resources": [{ "id": "res-1", "label": label }] })
    };

    let first = server.push_json("grants", &token, &events(vec![grant("g1", "old name")]));
    let second = server.push_json("grants", &token, &events(vec![grant("g2", "new name")]));

    assert_eq!(first.status, 202, "{first:?}");
    assert_eq!(second.status, 202, "{second:?}");
    let listing = server.get_admin("/api/v1/datasources/grants/entities/GrantedResource");
    assert_eq!(listing.status, 200, "{listing:?}");
    let nodes = listing.json()["nodes"].as_array().unwrap().clone();
    assert_eq!(nodes.len(), 1, "{nodes:#?}");
    assert_eq!(nodes[0]["id"], "res-1");
    assert_eq!(nodes[0]["attributes"]["label"], "new name");
    let by_id =
        server.get_admin("/api/v1/datasources/grants/entities/GrantedResource?attr.id=res-1");
    assert_eq!(by_id.json()["nodes"].as_array().unwrap().len(), 1);
    for event in server.events_of("ann") {
        let children = event["children"].as_array().unwrap();
        assert_eq!(children.len(), 1, "{event:#}");
        assert_eq!(children[0]["id"], "res-1");
        assert_eq!(children[0]["attributes"]["label"], "new name", "{event:#}");
    }
}

#[test]
fn finds_children_under_a_parent_named_by_entity_name_or_by_external_id() {
    let server = Server::start(vec![Source::template("grants", GRANTS)]);
    let token = server.token("grants");
    let body = events(vec![
        json!({ "type": "grant", "id": "g1", "user": "ann",
                "resources": [{ "id": "r1", "label": "one" }, { "id": "r2", "label": "two" }] }),
        json!({ "type": "revoke", "id": "v1", "user": "ann",
                "resources": [{ "id": "r3", "label": "three" }] }),
        json!({ "type": "grant", "id": "g2", "user": "ann",
                "resources": { "id": "r4", "label": "not in an array" } }),
    ]);

    let reply = server.push_json("grants", &token, &body);

    assert_eq!(reply.status, 202, "{reply:?}");
    assert_summary(&reply.json(), 3, 0, 0, &[]);
    let stored = server.events_of("ann");
    assert_eq!(
        ids(find_event(&stored, "g2")["children"].as_array().unwrap()),
        ["r4"]
    );
    let grant = find_event(&stored, "g1");
    assert_eq!(grant["entity"], "Grant");
    let grant_children = grant["children"].as_array().unwrap();
    assert_eq!(ids(grant_children), ["r1", "r2"]);
    assert!(
        grant_children
            .iter()
            .all(|c| c["entity"] == "GrantedResource")
    );
    let revoke = find_event(&stored, "v1");
    assert_eq!(revoke["entity"], "Revoke");
    let revoke_children = revoke["children"].as_array().unwrap();
    assert_eq!(ids(revoke_children), ["r3"]);
    assert_eq!(revoke_children[0]["entity"], "RevokedResource");
    assert_eq!(revoke_children[0]["attributes"]["label"], "three");
}

#[test]
fn skips_a_child_that_fails_validation_and_keeps_its_parent() {
    let server = Server::start(vec![Source::template("grants", GRANTS)]);
    let token = server.token("grants");
    let body = events(vec![json!({
        "type": "grant", "id": "g1", "user": "ann",
        "resources": [
            { "id": "r1", "label": "one" },
            { "label": "no id" },
            { "id": "r3", "label": "three" }
        ]
    })]);

    let reply = server.push_json("grants", &token, &body);

    assert_eq!(reply.status, 202, "{reply:?}");
    assert_summary(&reply.json(), 1, 0, 0, &[]);
    let stored = server.events_of("ann");
    assert_eq!(ids(stored[0]["children"].as_array().unwrap()), ["r1", "r3"]);
    let logs = server.get_admin("/api/v1/datasources/grants/logs");
    let reported = reply.text.contains("GrantedResource")
        || logs.json()["entries"][0]
            .to_string()
            .contains("GrantedResource");
    assert!(
        reported,
        "the skipped child is reported nowhere: {reply:?} {}",
        logs.text
    );
}

#[test]
fn counts_the_same_event_twice_in_one_batch_as_a_duplicate() {
    let server = Server::start(vec![Source::template("app", LOGINS)]);
    let token = server.token("app");
    let body = events(vec![
        login("login", "e1", "ann"),
        login("login", "e1", "ann"),
        login("login", "e2", "ann"),
    ]);

    let reply = server.push_json("app", &token, &body);

    assert_eq!(reply.status, 202, "{reply:?}");
    assert_summary(&reply.json(), 2, 1, 0, &[]);
    assert_eq!(ids(&server.events_of("ann")), ["e2", "e1"]);
}

#[test]
fn keeps_events_with_the_same_id_from_two_datasources_apart() {
    let server = Server::start(vec![
        Source::template("app", LOGINS),
        Source::template("vpn", LOGINS),
    ]);
    let app = server.token("app");
    let vpn = server.token("vpn");
    let body = events(vec![login("login", "same-id", "ann")]);

    let first = server.push_json("app", &app, &body);
    let second = server.push_json("vpn", &vpn, &body);

    assert_summary(&first.json(), 1, 0, 0, &[]);
    assert_summary(&second.json(), 1, 0, 0, &[]);
    let stored = server.events_of("ann");
    let sources: Vec<&Value> = stored.iter().map(|e| &e["datasource"]).collect();
    assert_eq!(sources, [&json!("vpn"), &json!("app")]);
}

#[test]
fn rejects_an_event_type_beyond_the_subject_cap_and_says_so() {
    let server = Server::start(vec![
        Source::template("app", LOGINS).limit("max_event_types_per_subject", 1),
    ]);
    let token = server.token("app");

    let first = server.push_json("app", &token, &events(vec![login("login", "in-1", "ann")]));
    let capped = server.push_json(
        "app",
        &token,
        &events(vec![login("logout", "out-1", "ann")]),
    );
    let mixed = server.push_json(
        "app",
        &token,
        &events(vec![
            login("logout", "out-2", "ann"),
            login("login", "in-2", "ann"),
            login("logout", "out-3", "bob"),
        ]),
    );

    assert_summary(&first.json(), 1, 0, 0, &[]);
    let refused = capped.problem(422);
    assert_eq!(refused["detail"], "the only event was rejected");
    let reasons = assert_summary(&refused, 0, 0, 0, &[0]);
    assert!(reasons[0].contains("logout"), "{}", reasons[0]);
    assert_eq!(mixed.status, 202, "{mixed:?}");
    assert_summary(&mixed.json(), 2, 0, 0, &[0]);
    assert_eq!(ids(&server.events_of("ann")), ["in-2", "in-1"]);
    assert_eq!(ids(&server.events_of("bob")), ["out-3"]);
    let logs = server.get_admin("/api/v1/datasources/app/logs");
    let entries = logs.json()["entries"].as_array().unwrap().clone();
    assert_eq!(entries[1]["status"], 422, "{entries:#?}");
    assert_eq!(entries[1]["rejected"], 1, "{entries:#?}");
    assert!(entries[1].to_string().contains(&reasons[0]), "{entries:#?}");
}

#[test]
fn accepts_a_body_of_exactly_the_limit_and_refuses_one_byte_more() {
    let server = Server::start(vec![Source::template("small", LOGINS).max_body_bytes(512)]);
    let token = server.token("small");
    let padded = |id: &str, size: usize| {
        let text = events(vec![login("login", id, "ann")]).to_string();
        format!("{text:<size$}")
    };
    let chunked = |text: String| Body::new(Cursor::new(text.into_bytes()));
    let send_chunked = |text: String| {
        server.send(
            server
                .post(&push_path("small"))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(chunked(text)),
        )
    };

    let exact = server.push("small", &token, padded("exact", 512), "application/json");
    let over = server.push("small", &token, padded("over", 513), "application/json");
    let exact_chunked = send_chunked(padded("exact-chunked", 512));
    let over_chunked = send_chunked(padded("over-chunked", 513));

    assert_eq!(exact.status, 202, "{exact:?}");
    over.problem(413);
    assert_eq!(exact_chunked.status, 202, "{exact_chunked:?}");
    over_chunked.problem(413);
    assert_eq!(ids(&server.events_of("ann")), ["exact-chunked", "exact"]);
}

#[test]
fn takes_the_subject_from_the_attribute_the_template_names() {
    let template = r#"
pushEventsPath: $.events[*]
subjectAttribute: userEmail
entities:
  Login:
    externalId: login
    pushExternalId: $.type
    attributes:
      - { name: id, externalId: $.id, type: String, uniqueId: true }
      - { name: userEmail, externalId: $.email, type: String, indexed: true }
"#;
    let server = Server::start(vec![Source::template("app", template)]);
    let token = server.token("app");
    let mut anonymous = json!({ "type": "login", "id": "e2" });
    anonymous["email"] = json!("");
    let body = events(vec![
        json!({ "type": "login", "id": "e1", "email": "ann@example.com" }),
        anonymous,
    ]);

    let reply = server.push_json("app", &token, &body);

    assert_eq!(reply.status, 202, "{reply:?}");
    let reasons = assert_summary(&reply.json(), 1, 0, 0, &[1]);
    assert!(mentions(&reasons[0], "userEmail"), "{}", reasons[0]);
    assert_eq!(ids(&server.events_of("ann@example.com")), ["e1"]);
}

#[test]
fn keeps_accepted_events_when_the_server_is_killed_right_after_answering() {
    let server = Server::start(vec![Source::template("app", LOGINS)]);
    let token = server.token("app");
    server.admin_token();

    let reply = server.push_json("app", &token, &events(vec![login("login", "e1", "ann")]));
    assert_eq!(reply.status, 202, "{reply:?}");
    let server = server.kill_and_restart();

    assert_eq!(ids(&server.events_of("ann")), ["e1"]);
    let logs = server.get_admin("/api/v1/datasources/app/logs");
    assert_eq!(logs.json()["entries"][0]["accepted"], 1, "{logs:?}");
    let again = server.push_json("app", &token, &events(vec![login("login", "e1", "ann")]));
    assert_summary(&again.json(), 0, 1, 0, &[]);
}
