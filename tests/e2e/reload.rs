//! Reloading the configuration while the server runs: the admin endpoint
//! and SIGHUP, accepted and refused.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::{LOGINS, Server, Source, events, login, write_config};

fn push_login(server: &Server, datasource: &str, token: &str, id: &str) -> u16 {
    let body = events(vec![login("login", id, "ann")]);
    server.push_json(datasource, token, &body).status
}

#[test]
fn reload_endpoint_puts_a_new_datasource_in_force() {
    let server = Server::start(vec![Source::template("app", LOGINS)]);
    let admin = server.admin_token();
    write_config(
        server.dir(),
        &[
            Source::template("app", LOGINS),
            Source::template("second", LOGINS),
        ],
    );

    let reloaded = server.send(server.post("/api/v1/reload").bearer_auth(&admin));
    let token = server.token("second");

    assert_eq!(reloaded.status, 200, "{reloaded:?}");
    assert_eq!(
        reloaded.json()["datasources"],
        serde_json::json!(["app", "second"])
    );
    assert_eq!(push_login(&server, "second", &token, "r-1"), 202);
}

#[test]
fn reload_refuses_a_bad_configuration_and_keeps_serving() {
    let server = Server::start(vec![Source::template("app", LOGINS)]);
    let admin = server.admin_token();
    let token = server.token("app");
    let broken = LOGINS.replace("type: String", "type: Strng");
    write_config(server.dir(), &[Source::template("app", &broken)]);

    let refused = server.send(server.post("/api/v1/reload").bearer_auth(&admin));

    refused.problem(422);
    let detail = refused.json()["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(detail.contains("Strng"), "{detail}");
    assert!(
        detail.contains(".yaml:"),
        "the reason names no file and line: {detail}"
    );
    assert_eq!(push_login(&server, "app", &token, "k-1"), 202);
}

#[test]
fn reload_needs_an_admin_token() {
    let server = Server::start(vec![Source::template("app", LOGINS)]);
    let token = server.token("app");

    let anonymous = server.send(server.post("/api/v1/reload"));
    let with_push_token = server.send(server.post("/api/v1/reload").bearer_auth(&token));

    anonymous.problem(401);
    with_push_token.problem(401);
}

#[test]
fn sighup_reloads_the_configuration() {
    let server = Server::start(vec![Source::template("app", LOGINS)]);
    write_config(
        server.dir(),
        &[
            Source::template("app", LOGINS),
            Source::template("third", LOGINS),
        ],
    );

    let sent = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while server
        .log_records("configuration reloaded on SIGHUP")
        .is_empty()
    {
        assert!(
            Instant::now() < deadline,
            "no reload logged: {}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let token = server.token("third");

    assert_eq!(push_login(&server, "third", &token, "h-1"), 202);
}
