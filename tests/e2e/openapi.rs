//! `/api/openapi.json`: the document lists every endpoint the server serves,
//! and the server answers each documented operation with a status the
//! document allows.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;

use crate::util::{LOGINS, Server, Source, events, login};

/// Every operation the server serves, as `METHOD path`.
const SERVED: &[&str] = &[
    "DELETE /api/v1/subjects/{subject}",
    "GET /api/openapi.json",
    "GET /api/v1/datasources/{id}/entities/{entity}",
    "GET /api/v1/datasources/{id}/logs",
    "GET /api/v1/subjects/{subject}/events",
    "DELETE /events/custom/v1/{datasource}",
    "GET /events/custom/v1/{datasource}",
    "GET /healthz",
    "GET /metrics",
    "GET /readyz",
    "HEAD /events/custom/v1/{datasource}",
    "OPTIONS /events/custom/v1/{datasource}",
    "PATCH /events/custom/v1/{datasource}",
    "POST /api/v1/reload",
    "POST /events/custom/v1/{datasource}",
    "PUT /events/custom/v1/{datasource}",
];

fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().expect("`paths` is an object") {
        for (method, operation) in item.as_object().expect("a path item is an object") {
            found.push((method.to_uppercase(), path.clone(), operation.clone()));
        }
    }
    found
}

#[test]
fn the_document_is_openapi_3_1_and_lists_every_endpoint() {
    let server = Server::start(vec![Source::template("app", LOGINS)]);
    let reply = server.send(server.get("/api/openapi.json"));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.media_type(), "application/json");
    let document = reply.json();
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));

    let listed: BTreeSet<String> = operations(&document)
        .into_iter()
        .map(|(method, path, _)| format!("{method} {path}"))
        .collect();
    let served: BTreeSet<String> = SERVED.iter().map(|s| s.to_string()).collect();
    assert_eq!(listed, served);
    let ids: BTreeSet<String> = operations(&document)
        .iter()
        .map(|(_, _, operation)| operation["operationId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), SERVED.len(), "operation IDs repeat: {ids:?}");

    for (method, path, operation) in operations(&document) {
        let responses = operation["responses"].as_object().unwrap();
        for (status, response) in responses {
            assert!(
                response["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "{method} {path} {status} has no description"
            );
            let is_error = status.starts_with('4') || status.starts_with('5');
            if is_error {
                let content = &response["content"]["application/problem+json"]["schema"];
                assert_eq!(
                    content["$ref"], "#/components/schemas/ProblemDetails",
                    "{method} {path} {status} is not documented as a problem"
                );
            }
        }
        // Whatever the method, a mapper may forward the push to the template.
        if path == "/events/custom/v1/{datasource}" {
            for status in ["202", "422"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} omits {status}"
                );
            }
        }
        let admin = path.starts_with("/api/v1/");
        if admin {
            assert!(responses.contains_key("401"), "{method} {path} omits 401");
            assert_eq!(
                operation["security"][0]["admin_token"],
                Value::Array(vec![])
            );
        }
    }
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["admin_token"]["scheme"], "bearer");
    assert_eq!(schemes["datasource_token"]["scheme"], "bearer");
}

/// Sends every documented operation to the server, filled in with values
/// that exist, and checks that the status is one the document lists for it
/// and that a JSON answer has the documented media type.
/// Every `$ref` in `value`, wherever it sits.
fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                match (key.as_str(), member) {
                    ("$ref", Value::String(target)) => found.push(target.clone()),
                    _ => references(member, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, found)),
        _ => {}
    }
}

#[test]
fn every_reference_in_the_document_resolves() {
    let server = Server::start(vec![Source::template("app", LOGINS)]);
    let document = server.send(server.get("/api/openapi.json")).json();

    let mut found = Vec::new();
    references(&document, &mut found);
    let unresolved: BTreeSet<&String> = found
        .iter()
        .filter(|target| {
            target
                .strip_prefix('#')
                .is_none_or(|pointer| document.pointer(pointer).is_none())
        })
        .collect();

    assert!(found.len() > 10, "{found:?}");
    assert!(unresolved.is_empty(), "unresolved: {unresolved:?}");
}

#[test]
fn every_documented_operation_answers_as_documented() {
    let server = Server::start(vec![Source::template("app", LOGINS)]);
    let push = server.token("app");
    let admin = server.admin_token();
    let body = events(vec![login("login", "o-1", "ann")]);
    assert_eq!(server.push_json("app", &push, &body).status, 202);

    let document = server.send(server.get("/api/openapi.json")).json();
    for (method, path, operation) in operations(&document) {
        let url = path
            .replace("{datasource}", "app")
            .replace("{id}", "app")
            .replace("{entity}", "Login")
            .replace("{subject}", "ann");
        let token = if url.starts_with("/events/") {
            &push
        } else {
            &admin
        };
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let reply = server.send(
            server
                .request(method.clone(), &url)
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(body.to_string()),
        );
        let status = reply.status.to_string();
        // Listed by number: `default` covers what a mapper may answer, and
        // `app` has no mapper, so falling back to it would pass any status.
        let Some(documented) = operation["responses"].get(&status) else {
            panic!("{method} {url} answered {status}, which the document does not list");
        };
        if let Some(content) = documented["content"].as_object() {
            let media = reply.media_type();
            assert!(
                content.contains_key(&media),
                "{method} {url} answered {status} as `{media}`; the document says {:?}",
                content.keys().collect::<Vec<_>>()
            );
        }
        assert!(
            reply.status < 500,
            "{method} {url} answered {status}: {}",
            reply.text
        );
    }
}

#[test]
fn a_path_segment_that_does_not_decode_is_a_problem() {
    let server = Server::start(vec![Source::template("app", LOGINS)]);
    let admin = server.admin_token();
    let reply = server.send(
        server
            .get("/api/v1/subjects/%FF/events")
            .bearer_auth(&admin),
    );
    assert!(
        reply.problem(400)["detail"]
            .as_str()
            .unwrap()
            .contains("UTF-8")
    );
    let reply = server.send(server.post("/events/custom/v1/%FF"));
    reply.problem(400);
}

#[test]
fn an_unknown_method_is_answered_405_with_allow() {
    let server = Server::start(vec![Source::template("app", LOGINS)]);
    let reply = server.send(server.request(Method::PUT, "/healthz"));
    assert_eq!(reply.status, 405);
    assert!(reply.header("allow").is_some_and(|a| a.contains("GET")));

    let token = server.token("app");
    let reply = server.send(
        server
            .request(Method::PUT, "/events/custom/v1/app")
            .bearer_auth(&token),
    );
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("POST"));
    assert_eq!(
        reply.problem(405)["detail"],
        "this datasource takes POST only"
    );
    let entry = &server.log_entries("app")[0];
    assert_eq!(entry["status"], 405, "{entry}");
    assert_eq!(entry["error"], "this datasource takes POST only", "{entry}");

    // Methods the router has no route for are the datasource's to answer too.
    for method in [Method::TRACE, Method::from_bytes(b"FETCH").unwrap()] {
        let logged = server.log_entries("app").len();
        let reply = server.send(server.request(method.clone(), "/events/custom/v1/app"));
        assert_eq!(reply.header("allow"), Some("POST"), "{method} {reply:?}");
        reply.problem(405);
        let entries = server.log_entries("app");
        assert_eq!(entries.len(), logged + 1, "{method} {entries:#?}");
        assert_eq!(entries[0]["status"], 405, "{method} {entries:#?}");

        let reply = server.send(server.request(method.clone(), "/events/custom/v1/nobody"));
        assert_eq!(reply.header("allow"), None, "{method} {reply:?}");
        reply.problem(404);
    }
}
