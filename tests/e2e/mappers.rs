//! Mappers on the request path: the bundled ones against their senders'
//! handshakes and signatures, and the hostile ones of `tests/mappers/`
//! against the sandbox and its limits. Every request goes over HTTP to a
//! real server running the real components.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::util::{
    LOGINS, Reply, Server, Source, assert_summary, client, encode, events, ids, login, okta_sample,
    push_path, read_json, repo_path, run_in, write_config,
};

/// The hostile mappers built from `tests/mappers/`.
mod built {
    include!(env!("EVENTPUSH_TEST_MAPPERS"));
}

use built::TEST_MAPPERS;

/// [`LOGINS`] for bodies wrapped as `{"data": {"events": [...]}}`, the
/// envelope the `rewrite` mapper puts around a bare event.
const WRAPPED_LOGINS: &str = r#"
pushEventsPath: $.data.events[*]
entities:
  Login:
    externalId: login
    pushExternalId: $.type
    attributes:
      - { name: id, externalId: $.id, type: String, uniqueId: true }
      - { name: subject, externalId: $.user, type: String, indexed: true }
      - { name: note, externalId: $.note, type: String }
"#;

/// Event Grid deliveries: a JSON array of events in the Event Grid schema.
const EVENT_GRID: &str = r#"
pushEventsPath: $[*]
entities:
  ResourceWrite:
    externalId: Microsoft.Resources.ResourceWriteSuccess
    pushExternalId: $.eventType
    attributes:
      - { name: id, externalId: $.id, type: String, uniqueId: true }
      - { name: subject, externalId: $.data.resourceName, type: String, indexed: true }
"#;

/// Microsoft Graph change notifications for users.
const GRAPH: &str = r#"
pushEventsPath: $.value[*]
entities:
  UserUpdated:
    externalId: updated
    pushExternalId: $.changeType
    attributes:
      - { name: id, externalId: $.resource, type: String, uniqueId: true }
      - { name: subject, externalId: $.resourceData.id, type: String, indexed: true }
"#;

/// A JSON body that spells characters as `\u` escapes (a surrogate pair
/// among them) beside the same kind of characters as raw UTF-8.
const ESCAPED_NOTE_JSON: &str = r#""caf\u00e9 \ud83d\ude80 \u2603 🔑 \"q\" \\ zoë""#;

/// What [`ESCAPED_NOTE_JSON`] reads as.
const ESCAPED_NOTE: &str = "café 🚀 ☃ 🔑 \"q\" \\ zoë";

/// Slack's documented example of a signed request.
const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const SLACK_TIMESTAMP: u64 = 1_531_420_618;
const SLACK_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
const SLACK_SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

/// The Standard Webhooks example of Svix's documentation.
const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const MSG_TIMESTAMP: u64 = 1_614_265_330;
const MSG_BODY: &str = r#"{"test": 2432232314}"#;
const MSG_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

/// GitHub's example of "Validating webhook deliveries".
const GITHUB_SECRET: &str = "It's a Secret to Everybody";
const GITHUB_BODY: &str = "Hello, World!";
const GITHUB_SIGNATURE: &str =
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

/// The secret of the Jira datasource.
const JIRA_SECRET: &str = "jira-webhook-secret-of-the-tests";

/// What a mapper may write to the host's log in one call (the runtime's default).
const MAPPER_LOG_BUDGET: usize = 64 << 10;

/// A fixture file of the end-to-end tests, as JSON.
fn fixture(name: &str) -> Value {
    read_json(&repo_path(&format!("tests/e2e/fixtures/{name}")))
}

/// The component built from `tests/mappers/<name>`.
pub fn test_mapper(name: &str) -> &'static str {
    TEST_MAPPERS
        .iter()
        .find(|(built, _)| *built == name)
        .map(|(_, path)| *path)
        .unwrap_or_else(|| panic!("no test mapper `{name}` was built"))
}

/// The value of `EVENTPUSH_MAPPER_CLOCK` that stops the mappers' clock at `seconds`.
fn clock_at(seconds: u64) -> String {
    (seconds * 1000).to_string()
}

/// HMAC-SHA256 of `message` under `key`.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// HMAC-SHA1 of `message` under `key`.
fn hmac_sha1(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Asserts that a log entry carries the receipt of one call of `mapper`
/// that ended in `outcome`, with its costs; returns the receipt.
fn assert_receipt<'a>(entry: &'a Value, mapper: &str, outcome: &str) -> &'a Value {
    let receipt = &entry["mapper"];
    assert_eq!(receipt["mapper"], mapper, "{entry:#}");
    assert_eq!(receipt["outcome"], outcome, "{entry:#}");
    for cost in ["duration_us", "fuel_used", "peak_memory_bytes"] {
        assert!(
            receipt[cost].as_u64().is_some_and(|n| n > 0),
            "`{cost}` is missing or zero: {entry:#}"
        );
    }
    receipt
}

/// Asserts a 401 problem that challenges the sender and says nothing more.
fn assert_challenged(reply: &Reply) {
    let body = reply.problem(401);
    assert!(
        reply.header("www-authenticate").is_some(),
        "a 401 without WWW-Authenticate: {reply:?}"
    );
    assert_eq!(body["detail"], "missing or invalid credentials", "{body}");
}

/// The log entries of `datasource`, newest first, once there are as many
/// as `statuses`, asserted to carry those statuses. An entry of a request that
/// stored nothing is committed just after its answer, so it is waited for.
fn assert_logged(server: &Server, datasource: &str, statuses: &[u64]) -> Vec<Value> {
    let entries = entries_once(server, datasource, statuses.len());
    let logged: Vec<u64> = entries
        .iter()
        .map(|entry| entry["status"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(logged, statuses, "{entries:#?}");
    entries
}

/// The log entries of `datasource`, newest first, once there are at least
/// `count` (or after ten seconds, however many there are).
fn entries_once(server: &Server, datasource: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let entries = server.log_entries(datasource);
        if entries.len() >= count || Instant::now() > deadline {
            return entries;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Gives the stderr reader time to catch up with lines written before the answers.
fn settle() {
    std::thread::sleep(Duration::from_millis(300));
}

/// Sends `request` exactly as written, header case included, and reads the
/// answer to its end: the status line with the headers, and the body.
fn raw_exchange(server: &Server, request: &str) -> (String, Vec<u8>) {
    let mut stream = TcpStream::connect(&server.address).expect("failed to connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .expect("failed to read the answer");
    let end = answer
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of headers in {answer:?}"));
    let head = String::from_utf8_lossy(&answer[..end]).into_owned();
    (head, answer[end + 4..].to_vec())
}

/// A header of a raw answer's head, its name matched in any case.
fn raw_header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .find(|(candidate, _)| candidate.trim().eq_ignore_ascii_case(name))
        .map(|(_, value)| value.trim())
}

#[test]
fn okta_verify_answers_the_verification_then_stores_deliveries() {
    let server = Server::start(vec![Source::okta("okta").mapper("builtin:okta-verify")]);
    let token = server.token("okta");
    let exchange = fixture("okta-verification.json");
    let challenge = exchange["request"]["headers"]["x-okta-verification-challenge"]
        .as_str()
        .unwrap();

    // The challenge header in a letter case no one documents.
    let (head, body) = raw_exchange(
        &server,
        &format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\n\
             Authorization: Bearer {token}\r\nX-OKTA-Verification-CHALLENGE: {challenge}\r\n\
             Connection: close\r\n\r\n",
            push_path("okta"),
            server.address
        ),
    );

    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    let length = body.len().to_string();
    assert_eq!(
        raw_header(&head, "content-length"),
        Some(&length[..]),
        "{head}"
    );
    assert!(
        raw_header(&head, "content-type").is_some_and(|t| t.starts_with("application/json")),
        "{head}"
    );
    let answer: Value = serde_json::from_slice(&body).expect("the answer is JSON");
    assert_eq!(answer, exchange["expected_response"]["body"]);
    assert_eq!(answer, json!({ "verification": challenge }));

    let delivery = server.push_json("okta", &token, &okta_sample());

    assert_eq!(delivery.status, 202, "{delivery:?}");
    assert_summary(&delivery.json(), 1, 0, 0, &[]);
    let stored = server.events_of("admin@example.com");
    assert_eq!(ids(&stored), ["f1d0b993-cc19-11ed-a688-db22c99ef6c4"]);
    let entries = assert_logged(&server, "okta", &[202, 200]);
    assert_receipt(&entries[0], "builtin:okta-verify", "forward");
    assert_receipt(&entries[1], "builtin:okta-verify", "respond");
    assert_eq!(entries[1]["accepted"], 0, "{:#}", entries[1]);
}

#[test]
fn a_mapper_sees_methods_the_router_does_not_list() {
    let server = Server::start(vec![Source::okta("okta").mapper("builtin:okta-verify")]);
    let token = server.token("okta");

    let methods = [Method::TRACE, Method::from_bytes(b"FETCH").unwrap()];
    for (round, method) in methods.into_iter().enumerate() {
        let reply = server.send(
            server
                .request(method.clone(), &push_path("okta"))
                .bearer_auth(&token),
        );

        // okta-verify forwards what is not its handshake; the empty body
        // then fails to parse.
        reply.problem(400);
        assert_eq!(reply.header("allow"), None, "{method} {reply:?}");
        let entries = assert_logged(&server, "okta", &vec![400; round + 1]);
        assert_receipt(&entries[0], "builtin:okta-verify", "forward");
    }
}

#[test]
fn a_mappers_own_500_is_logged() {
    // A signing mapper given no secret answers every signed push that it is
    // not set up.
    let server = Server::start(vec![
        Source::template("hooks", LOGINS)
            .mapper("builtin:signature")
            .auth("mapper")
            .mapper_config("scheme", "github"),
    ]);
    let signed = [(
        "x-hub-signature-256".to_owned(),
        format!("sha256={}", "0".repeat(64)),
    )];

    let reply = post_json(&server, "hooks", &signed, &escaped_login("e1", "ann"));

    assert_eq!(
        reply.problem(500)["detail"],
        "the datasource's mapper is not set up"
    );
    let entries = assert_logged(&server, "hooks", &[500]);
    assert_receipt(&entries[0], "builtin:signature", "reject");
}

#[test]
fn okta_verify_answers_no_verification_without_a_token() {
    let server = Server::start(vec![Source::okta("okta").mapper("builtin:okta-verify")]);

    let reply = server.send(
        server
            .get(&push_path("okta"))
            .header("x-okta-verification-challenge", "challenge-without-token"),
    );

    assert_challenged(&reply);
    assert!(!reply.text.contains("challenge-without-token"), "{reply:?}");
}

fn event_grid_server() -> Server {
    Server::start(vec![
        Source::template("grid", EVENT_GRID)
            .mapper("builtin:event-grid")
            .unauthenticated_handshakes(),
    ])
}

/// A notification in the Event Grid schema: one resource write.
fn resource_write(id: &str) -> Value {
    json!([{
        "id": id,
        "topic": "/subscriptions/00000000-0000-0000-0000-000000000000",
        "subject": "/resourceGroups/example/providers/Microsoft.Storage/storageAccounts/acct",
        "eventType": "Microsoft.Resources.ResourceWriteSuccess",
        "eventTime": "2024-01-01T00:00:00Z",
        "data": { "resourceName": "acct" },
        "dataVersion": "",
        "metadataVersion": "1"
    }])
}

#[test]
fn event_grid_answers_subscription_validation_with_200_never_202() {
    let server = event_grid_server();
    let token = server.token("grid");
    let sample = fixture("eventgrid-subscription-validation.json");
    let code = sample[0]["data"]["validationCode"].as_str().unwrap();
    let validate = |token: Option<&str>| {
        let request = server
            .post(&push_path("grid"))
            .header("aeg-event-type", "SubscriptionValidation")
            .header("content-type", "application/json")
            .body(sample.to_string());
        server.send(match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        })
    };

    for reply in [validate(Some(&token)), validate(None)] {
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.media_type(), "application/json", "{reply:?}");
        assert_eq!(reply.json(), json!({ "validationResponse": code }));
    }
    for entry in assert_logged(&server, "grid", &[200, 200]) {
        assert_receipt(&entry, "builtin:event-grid", "respond");
    }
}

#[test]
fn event_grid_answers_the_cloudevents_handshake_without_a_token() {
    let server = event_grid_server();
    let handshake = |rate: Option<&str>| {
        let request = server
            .request(Method::OPTIONS, &push_path("grid"))
            .header("WebHook-Request-Origin", "eventemitter.example.com");
        server.send(match rate {
            Some(rate) => request.header("WebHook-Request-Rate", rate),
            None => request,
        })
    };

    let plain = handshake(None);
    let with_rate = handshake(Some("120"));

    for reply in [&plain, &with_rate] {
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(
            reply.header("webhook-allowed-origin"),
            Some("eventemitter.example.com"),
            "{reply:?}"
        );
    }
    assert_eq!(plain.header("webhook-allowed-rate"), None, "{plain:?}");
    assert_eq!(
        with_rate.header("webhook-allowed-rate"),
        Some("120"),
        "{with_rate:?}"
    );
}

#[test]
fn event_grid_stores_no_delivery_without_a_token_despite_unauthenticated_handshakes() {
    let server = event_grid_server();
    let token = server.token("grid");
    let deliver = |id: &str, token: Option<&str>| {
        let request = server
            .post(&push_path("grid"))
            .header("aeg-event-type", "Notification")
            .header("content-type", "application/json")
            .body(resource_write(id).to_string());
        server.send(match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        })
    };

    let anonymous = deliver("anonymous", None);
    let forged = deliver("forged", Some("ep_0123456789abcdef_not-a-token"));

    assert_challenged(&anonymous);
    assert_challenged(&forged);
    assert!(server.events_of("acct").is_empty());
    let entries = assert_logged(&server, "grid", &[401, 401]);
    assert_receipt(&entries[0], "builtin:event-grid", "forward");

    let signed = deliver("with-token", Some(&token));

    assert_eq!(signed.status, 202, "{signed:?}");
    assert_eq!(ids(&server.events_of("acct")), ["with-token"]);
}

/// The `clientState` given when the Graph subscription was made.
const CLIENT_STATE: &str = "client state of the e2e subscription";

fn graph_server() -> Server {
    Server::builder()
        .source(
            Source::template("graph", GRAPH)
                .mapper("builtin:ms-graph")
                .auth("mapper")
                .secret("client_state", "env:EVENTPUSH_E2E_CLIENT_STATE"),
        )
        .env("EVENTPUSH_E2E_CLIENT_STATE", CLIENT_STATE)
        .start()
}

/// A Graph notification of a change to `user`, carrying `client_state`.
fn graph_notification(user: &str, client_state: &str) -> Value {
    json!({ "value": [{
        "subscriptionId": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
        "subscriptionExpirationDateTime": "2030-01-01T00:00:00Z",
        "clientState": client_state,
        "changeType": "updated",
        "resource": format!("Users/{user}"),
        "resourceData": { "@odata.type": "#Microsoft.Graph.User", "id": user },
        "tenantId": "00000000-0000-0000-0000-000000000001"
    }]})
}

#[test]
fn ms_graph_echoes_the_validation_token_exactly_as_plain_text() {
    let server = graph_server();
    let token =
        "Validation: Testing client application reachability & more! (100% <ok>; a+b=c?) #1 ✓";
    let encoded = encode(token);
    let with_plus = encoded.replace("%20", "+");

    for query in [encoded, with_plus] {
        let reply = server.send(
            server
                .post(&format!("{}?validationToken={query}", push_path("graph")))
                .header("content-type", "text/plain; charset=utf-8"),
        );

        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.media_type(), "text/plain", "{reply:?}");
        assert_eq!(reply.text, token, "from `{query}`");
    }
}

#[test]
fn ms_graph_stores_notifications_with_the_right_client_state_only() {
    let server = graph_server();

    let wrong = post_json(
        &server,
        "graph",
        &[],
        &graph_notification("user-2", "a guessed client state").to_string(),
    );
    let right = post_json(
        &server,
        "graph",
        &[],
        &graph_notification("user-1", CLIENT_STATE).to_string(),
    );

    assert_challenged(&wrong);
    assert!(server.events_of("user-2").is_empty());
    assert_eq!(right.status, 202, "{right:?}");
    assert_summary(&right.json(), 1, 0, 0, &[]);
    assert_eq!(ids(&server.events_of("user-1")), ["Users/user-1"]);
    let entries = assert_logged(&server, "graph", &[202, 401]);
    assert_receipt(&entries[0], "builtin:ms-graph", "forward");
    assert_receipt(&entries[1], "builtin:ms-graph", "reject");
}

/// A server whose Slack datasource holds Slack's documented signing
/// secret, with the mappers' clock stopped at `seconds`.
fn slack_server(seconds: u64) -> Server {
    Server::builder()
        .source(
            Source::template("slack", LOGINS)
                .mapper("builtin:slack")
                .auth("mapper")
                .secret("signing", "env:EVENTPUSH_E2E_SLACK_SECRET"),
        )
        .env("EVENTPUSH_E2E_SLACK_SECRET", SLACK_SECRET)
        .env("EVENTPUSH_MAPPER_CLOCK", &clock_at(seconds))
        .start()
}

/// Posts `body` to the Slack datasource, signed by `signature` at `timestamp`.
fn slack_post(server: &Server, timestamp: u64, signature: &str, body: &str, media: &str) -> Reply {
    server.send(
        server
            .post(&push_path("slack"))
            .header("content-type", media)
            .header("x-slack-request-timestamp", timestamp.to_string())
            .header("x-slack-signature", signature)
            .body(body.to_owned()),
    )
}

/// Slack's signature of `body` at `timestamp` under `secret`.
fn slack_signature(secret: &str, timestamp: u64, body: &str) -> String {
    let signed = format!("v0:{timestamp}:{body}");
    format!(
        "v0={}",
        hex::encode(hmac_sha256(secret.as_bytes(), signed.as_bytes()))
    )
}

#[test]
fn slack_answers_url_verification_only_when_signed() {
    let server = slack_server(SLACK_TIMESTAMP);
    let challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P";
    let body = json!({
        "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
        "challenge": challenge,
        "type": "url_verification"
    })
    .to_string();

    let signed = slack_post(
        &server,
        SLACK_TIMESTAMP,
        &slack_signature(SLACK_SECRET, SLACK_TIMESTAMP, &body),
        &body,
        "application/json",
    );
    let unsigned = slack_post(
        &server,
        SLACK_TIMESTAMP,
        &slack_signature("another app's secret", SLACK_TIMESTAMP, &body),
        &body,
        "application/json",
    );

    assert_eq!(signed.status, 200, "{signed:?}");
    assert_eq!(signed.json(), json!({ "challenge": challenge }));
    assert_challenged(&unsigned);
    assert!(!unsigned.text.contains(challenge), "{unsigned:?}");
}

#[test]
fn slack_passes_its_documented_signature_and_refuses_a_tampered_body() {
    let server = slack_server(SLACK_TIMESTAMP);
    let form = "application/x-www-form-urlencoded";

    let documented = slack_post(&server, SLACK_TIMESTAMP, SLACK_SIGNATURE, SLACK_BODY, form);
    let tampered = slack_post(
        &server,
        SLACK_TIMESTAMP,
        SLACK_SIGNATURE,
        &SLACK_BODY.replace("roadrunner", "coyote"),
        form,
    );

    // The signature passed: the form body went on unchanged, and the
    // template refused it as the sender's body that is not JSON.
    let body = documented.problem(400);
    assert!(
        body["detail"].as_str().unwrap_or("").contains("JSON"),
        "{body}"
    );
    assert_challenged(&tampered);
    let entries = assert_logged(&server, "slack", &[401, 400]);
    assert_receipt(&entries[0], "builtin:slack", "reject");
    assert_receipt(&entries[1], "builtin:slack", "forward");
}

#[test]
fn slack_refuses_its_documented_signature_far_from_its_time() {
    for seconds in [SLACK_TIMESTAMP + 3600, SLACK_TIMESTAMP - 3600] {
        let server = slack_server(seconds);

        let replayed = slack_post(
            &server,
            SLACK_TIMESTAMP,
            SLACK_SIGNATURE,
            SLACK_BODY,
            "application/x-www-form-urlencoded",
        );

        assert_challenged(&replayed);
    }
}

/// The schemes of the `signature` mapper, each served by a datasource of its own.
#[derive(Debug, Clone, Copy)]
enum Scheme {
    StandardWebhooks,
    GitHub,
    Jira,
}

impl Scheme {
    const ALL: [Self; 3] = [Self::StandardWebhooks, Self::GitHub, Self::Jira];

    fn datasource(self) -> &'static str {
        match self {
            Self::StandardWebhooks => "standard",
            Self::GitHub => "github",
            Self::Jira => "jira",
        }
    }

    /// The MAC key the datasource's secret stands for.
    fn key(self) -> Vec<u8> {
        match self {
            Self::StandardWebhooks => STANDARD
                .decode(WHSEC.trim_start_matches("whsec_"))
                .expect("the example secret is base64"),
            Self::GitHub => GITHUB_SECRET.as_bytes().to_vec(),
            Self::Jira => JIRA_SECRET.as_bytes().to_vec(),
        }
    }

    /// The headers that sign `body` with `key`, at `timestamp` where the
    /// scheme signs a time.
    fn sign(self, key: &[u8], id: &str, timestamp: u64, body: &str) -> Vec<(String, String)> {
        let header = |name: &str, value: String| (name.to_owned(), value);
        match self {
            Self::StandardWebhooks => {
                let signed = format!("{id}.{timestamp}.{body}");
                let mac = STANDARD.encode(hmac_sha256(key, signed.as_bytes()));
                vec![
                    header("webhook-id", id.to_owned()),
                    header("webhook-timestamp", timestamp.to_string()),
                    header("webhook-signature", format!("v1,{mac}")),
                ]
            }
            Self::GitHub => vec![header(
                "x-hub-signature-256",
                format!("sha256={}", hex::encode(hmac_sha256(key, body.as_bytes()))),
            )],
            Self::Jira => vec![header(
                "x-hub-signature",
                format!("sha256={}", hex::encode(hmac_sha256(key, body.as_bytes()))),
            )],
        }
    }
}

/// One server with a `signature` datasource per scheme, each secret given
/// another way, and the mappers' clock stopped at the Standard Webhooks example.
fn signature_server() -> Server {
    let signed = |scheme: Scheme| {
        Source::template(scheme.datasource(), LOGINS)
            .mapper("builtin:signature")
            .auth("mapper")
    };
    Server::builder()
        .source(
            signed(Scheme::StandardWebhooks)
                .mapper_config("scheme", "standard-webhooks")
                .secret_file("signing", format!("{WHSEC}\n").as_bytes()),
        )
        .source(
            signed(Scheme::GitHub)
                .mapper_config("scheme", "github")
                .secret("signing", "env:EVENTPUSH_E2E_GITHUB_SECRET"),
        )
        .source(
            signed(Scheme::Jira)
                .mapper_config("scheme", "jira")
                .mapper_config("secret", "jira_webhook")
                .secret("jira_webhook", "env:EVENTPUSH_E2E_JIRA_SECRET"),
        )
        .env("EVENTPUSH_E2E_GITHUB_SECRET", GITHUB_SECRET)
        .env("EVENTPUSH_E2E_JIRA_SECRET", JIRA_SECRET)
        .env("EVENTPUSH_MAPPER_CLOCK", &clock_at(MSG_TIMESTAMP))
        .start()
}

/// Posts the JSON `body` with `headers` to `datasource`, without a token.
fn post_json(server: &Server, datasource: &str, headers: &[(String, String)], body: &str) -> Reply {
    let request = headers.iter().fold(
        server
            .post(&push_path(datasource))
            .header("content-type", "application/json"),
        |request, (name, value)| request.header(name, value),
    );
    server.send(request.body(body.to_owned()))
}

/// A body of one login by `user` whose note is [`ESCAPED_NOTE_JSON`].
fn escaped_login(id: &str, user: &str) -> String {
    format!(
        r#"{{"events": [{{"type": "login", "id": "{id}", "user": "{user}", "note": {ESCAPED_NOTE_JSON}}}]}}"#
    )
}

#[test]
fn signature_passes_the_published_vectors_and_refuses_them_tampered() {
    let server = signature_server();
    let standard = |signature: &str, body: &str| {
        let headers = [
            ("webhook-id".to_owned(), MSG_ID.to_owned()),
            ("webhook-timestamp".to_owned(), MSG_TIMESTAMP.to_string()),
            ("webhook-signature".to_owned(), signature.to_owned()),
        ];
        post_json(&server, "standard", &headers, body)
    };
    let github = |body: &str| {
        let headers = [(
            "x-hub-signature-256".to_owned(),
            GITHUB_SIGNATURE.to_owned(),
        )];
        post_json(&server, "github", &headers, body)
    };

    // Both pass their check: the Standard Webhooks body is JSON without
    // events (422), GitHub's is not JSON at all (400).
    let body = standard(MSG_SIGNATURE, MSG_BODY).problem(422);
    assert_summary(&body, 0, 0, 0, &[]);
    github(GITHUB_BODY).problem(400);

    assert_challenged(&standard(MSG_SIGNATURE, r#"{"test": 2432232315}"#));
    assert_challenged(&github("Hello, World?"));
    assert_logged(&server, "standard", &[401, 422]);
    assert_logged(&server, "github", &[401, 400]);
}

#[test]
fn signature_stores_a_signed_body_with_escapes_and_emoji_by_every_scheme() {
    let server = signature_server();
    let user = "zoë@example.com";

    for scheme in Scheme::ALL {
        let id = format!("{}-escaped", scheme.datasource());
        let body = escaped_login(&id, user);
        let headers = scheme.sign(&scheme.key(), &id, MSG_TIMESTAMP, &body);

        let reply = post_json(&server, scheme.datasource(), &headers, &body);

        assert_eq!(reply.status, 202, "{scheme:?}: {reply:?}");
        assert_summary(&reply.json(), 1, 0, 0, &[]);
    }
    // Jira may sign with SHA-1 too.
    let body = escaped_login("jira-sha1", user);
    let sha1 = format!(
        "sha1={}",
        hex::encode(hmac_sha1(JIRA_SECRET.as_bytes(), body.as_bytes()))
    );
    let reply = post_json(
        &server,
        "jira",
        &[("x-hub-signature".to_owned(), sha1)],
        &body,
    );
    assert_eq!(reply.status, 202, "{reply:?}");

    let stored = server.events_of(user);
    assert_eq!(
        ids(&stored),
        [
            "jira-sha1",
            "jira-escaped",
            "github-escaped",
            "standard-escaped"
        ]
    );
    for event in &stored {
        assert_eq!(event["attributes"]["note"], ESCAPED_NOTE, "{event:#}");
        assert_eq!(event["attributes"]["subject"], user, "{event:#}");
    }
}

#[test]
fn signature_refuses_a_wrong_secret_a_tampered_body_and_a_stale_timestamp() {
    let server = signature_server();
    let user = "mallory@example.com";
    let mut refusals = Vec::new();

    for scheme in Scheme::ALL {
        let datasource = scheme.datasource();
        let body = escaped_login(&format!("{datasource}-refused"), user);
        let wrong_key = scheme.sign(b"not the secret", "msg_wrong", MSG_TIMESTAMP, &body);
        let signed = scheme.sign(&scheme.key(), "msg_tampered", MSG_TIMESTAMP, &body);
        let tampered = body.replace("login", "logout");

        refusals.push(post_json(&server, datasource, &wrong_key, &body));
        refusals.push(post_json(&server, datasource, &signed, &tampered));
    }
    // Signed right, but an hour away from the clock either way: a replay,
    // or a signer whose clock is wrong.
    for timestamp in [MSG_TIMESTAMP - 3600, MSG_TIMESTAMP + 3600] {
        let body = escaped_login(&format!("standard-at-{timestamp}"), user);
        let standard = Scheme::StandardWebhooks;
        let stale = standard.sign(&standard.key(), "msg_stale", timestamp, &body);
        refusals.push(post_json(&server, "standard", &stale, &body));
    }

    for reply in &refusals {
        assert_challenged(reply);
        assert_eq!(
            reply.text, refusals[0].text,
            "a 401 that hints at what was wrong"
        );
    }
    assert!(server.events_of(user).is_empty());
    assert_logged(&server, "standard", &[401, 401, 401, 401]);
}

/// The test of each hostile mapper of `tests/mappers/`, by its folder.
fn test_of(mapper: &str) -> Option<fn()> {
    Some(match mapper {
        "allocate-forever" => allocate_forever_is_stopped_at_its_memory_limit,
        "bad-json" => bad_json_rewritten_by_a_mapper_is_the_mappers_fault,
        "echo-logger" => echo_logger_output_is_attributed_to_the_mapper_and_capped,
        "escape-attempts" => escape_attempts_find_no_file_no_environment_and_no_socket,
        "huge-body" => huge_body_is_refused_over_the_output_limit,
        "loop-forever" => loop_forever_is_stopped_by_fuel_or_by_its_time_limit,
        "panic" => panic_is_reported_as_a_trap,
        "rewrite" => rewrite_reshapes_a_bare_event_into_the_templates_envelope,
        "stack-overflow" => stack_overflow_is_reported_as_a_trap_and_the_server_stays_up,
        _ => return None,
    })
}

#[test]
fn every_test_mapper_has_a_test() {
    assert!(!TEST_MAPPERS.is_empty(), "no test mapper was built");
    let untested: Vec<&str> = TEST_MAPPERS
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| test_of(name).is_none())
        .collect();

    assert!(
        untested.is_empty(),
        "test mappers without a test in `tests/e2e/mappers.rs` (see `test_of`): {untested:?}"
    );
}

/// A datasource of [`LOGINS`] behind the test mapper `mapper`.
fn hostile(id: &str, mapper: &str) -> Source {
    Source::template(id, LOGINS).mapper(test_mapper(mapper))
}

/// The datasource every hostile server also serves: [`WRAPPED_LOGINS`]
/// behind the well-behaved `rewrite` mapper.
fn healthy() -> Source {
    Source::template("healthy", WRAPPED_LOGINS).mapper(test_mapper("rewrite"))
}

/// Pushes a login to `datasource` twice, each time a fresh call of the same
/// failing mapper: asserts a 5xx problem, nothing stored, and a log entry
/// whose error and receipt name the fault (`kind`, and `names` in the text).
/// Then asserts that the healthy datasource of the same server still stores.
/// Returns the newest log entry of `datasource`.
fn assert_fault_contained(server: &Server, datasource: &str, kind: &str, names: &str) -> Value {
    let token = server.token(datasource);
    let before = server.log_entries(datasource).len();
    for attempt in 1..=2 {
        let id = format!("{datasource}-{attempt}");

        let reply = server.push_json(
            datasource,
            &token,
            &events(vec![login("login", &id, "mallory")]),
        );

        assert!((500..600).contains(&reply.status), "{reply:?}");
        reply.problem(reply.status);
        let entries = entries_once(server, datasource, before + attempt);
        assert_eq!(entries.len(), before + attempt, "{entries:#?}");
        let entry = &entries[0];
        assert_eq!(entry["status"], reply.status, "{entry:#}");
        let error = entry["error"].as_str().unwrap_or("");
        assert!(
            error.contains(names),
            "the entry does not name `{names}`: {entry:#}"
        );
        assert_eq!(entry["mapper"]["outcome"], kind, "{entry:#}");
        assert_eq!(entry["accepted"], 0, "{entry:#}");
    }
    assert!(server.events_of("mallory").is_empty());

    assert_healthy(server, &format!("after-{datasource}"));
    server.log_entries(datasource).remove(0)
}

/// Pushes a bare login to the healthy datasource and asserts it is stored.
fn assert_healthy(server: &Server, id: &str) {
    let token = server.token("healthy");

    let reply = server.push_json("healthy", &token, &login("login", id, "trent"));

    assert_eq!(
        reply.status, 202,
        "the healthy datasource failed: {reply:?}"
    );
    assert_summary(&reply.json(), 1, 0, 0, &[]);
    assert!(
        ids(&server.events_of("trent")).contains(&id.to_owned()),
        "`{id}` was not stored"
    );
}

/// The JSON log records the mapper wrote (its log calls and its printed
/// output, attributed to it), and every other line of the server's log.
fn split_log(server: &Server) -> (Vec<Value>, Vec<String>) {
    let mut mapper = Vec::new();
    let mut host = Vec::new();
    for line in server.log_lines() {
        match serde_json::from_str::<Value>(&line) {
            Ok(record) if is_attributed(&record) => mapper.push(record),
            _ => host.push(line),
        }
    }
    (mapper, host)
}

/// Whether a log record is a mapper's own line: it names the mapper in its
/// fields and its message says it comes from the mapper.
fn is_attributed(record: &Value) -> bool {
    let fields = &record["fields"];
    let message = fields["message"].as_str().unwrap_or("");
    fields["mapper"].is_string()
        && (message.starts_with("mapper: ") || message.starts_with("mapper output: "))
}

#[test]
fn loop_forever_is_stopped_by_fuel_or_by_its_time_limit() {
    let server = Server::builder()
        .source(hostile("spin", "loop-forever"))
        .source(
            hostile("spin-long", "loop-forever")
                .limit("mapper_fuel", 1_000_000_000_000_000)
                .limit("mapper_timeout_ms", 200),
        )
        .source(healthy())
        .start();

    assert_fault_contained(&server, "spin", "fuel", "fuel");
    let entry = assert_fault_contained(&server, "spin-long", "timeout", "time limit");

    let took = entry["mapper"]["duration_us"].as_u64().unwrap_or(0);
    assert!(
        (200_000..5_000_000).contains(&took),
        "stopped after {took} µs: {entry:#}"
    );
}

#[test]
fn mappers_spinning_to_their_time_limit_do_not_hold_up_other_requests() {
    let server = Server::builder()
        .source(
            hostile("spin", "loop-forever")
                .limit("mapper_fuel", 1_000_000_000_000_000)
                .limit("mapper_timeout_ms", 4000),
        )
        .source(Source::template("plain", LOGINS))
        .start();
    let (spin, plain) = (server.token("spin"), server.token("plain"));

    // More spinning calls than the server has worker threads.
    let spinners: Vec<_> = (0..3)
        .map(|_| {
            let (url, token) = (server.url(&push_path("spin")), spin.clone());
            std::thread::spawn(move || {
                let reply = client()
                    .post(url)
                    .bearer_auth(token)
                    .header("content-type", "application/json")
                    .body("{}")
                    .send()
                    .expect("the push is answered");
                reply.status().as_u16()
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let reply = server.push_json("plain", &plain, &events(vec![login("login", "p-1", "ann")]));
    let took = started.elapsed();

    assert_eq!(reply.status, 202, "{reply:?}");
    assert!(
        // Were the spinners holding the workers, it would wait for them: 3.5 s.
        took < Duration::from_millis(2500),
        "a plain push took {took:?}"
    );
    for spinner in spinners {
        assert_eq!(spinner.join().expect("a spinner thread"), 502);
    }
}

#[test]
fn allocate_forever_is_stopped_at_its_memory_limit() {
    let cap: u64 = 16 << 20;
    let server = Server::start(vec![
        hostile("hoard", "allocate-forever").limit("mapper_memory_bytes", cap),
        healthy(),
    ]);

    let entry = assert_fault_contained(&server, "hoard", "memory", "memory limit");

    assert!(
        entry["error"]
            .as_str()
            .unwrap_or("")
            .contains(&cap.to_string()),
        "{entry:#}"
    );
    let peak = entry["mapper"]["peak_memory_bytes"]
        .as_u64()
        .unwrap_or(u64::MAX);
    assert!(peak <= cap, "{entry:#}");
}

#[test]
fn panic_is_reported_as_a_trap() {
    let server = Server::start(vec![hostile("panicky", "panic"), healthy()]);

    assert_fault_contained(&server, "panicky", "trap", "trapped");

    settle();
    let (mapper, _) = split_log(&server);
    assert!(
        mapper
            .iter()
            .any(|record| record.to_string().contains("panics on every request")),
        "the panic message is not in the log as the mapper's:\n{}",
        server.log_text()
    );
}

#[test]
fn stack_overflow_is_reported_as_a_trap_and_the_server_stays_up() {
    let mut server = Server::start(vec![hostile("deep", "stack-overflow"), healthy()]);

    assert_fault_contained(&server, "deep", "trap", "trapped");

    assert!(server.is_running());
}

#[test]
fn huge_body_is_refused_over_the_output_limit() {
    let server = Server::start(vec![
        hostile("huge", "huge-body").mapper_config("size", "1048577"),
        healthy(),
    ]);

    let entry = assert_fault_contained(&server, "huge", "output", "output limit");

    assert!(
        entry["error"].as_str().unwrap_or("").contains("1048577"),
        "{entry:#}"
    );
}

#[test]
fn bad_json_rewritten_by_a_mapper_is_the_mappers_fault() {
    let server = Server::start(vec![hostile("broken", "bad-json"), healthy()]);

    let entry = assert_fault_contained(&server, "broken", "forward", "not valid JSON");

    assert_eq!(entry["status"], 502, "{entry:#}");
}

#[test]
fn escape_attempts_find_no_file_no_environment_and_no_socket() {
    let probe = "w4k-environment-probe-93e";
    // The port the mapper dials; taken here when the system allows, to see
    // whether anything arrives.
    let port = TcpListener::bind("127.0.0.1:9").ok();
    let server = Server::builder()
        .source(hostile("escape", "escape-attempts"))
        .source(healthy())
        .env("EVENTPUSH_E2E_PROBE", probe)
        .start();
    let token = server.token("escape");

    let reply = server.push_json("escape", &token, &events(vec![]));

    assert_eq!(reply.status, 200, "{reply:?}");
    let report = reply.json();
    assert_eq!(report["file"], Value::Null, "{report:#}");
    for file in report["files"].as_array().expect("`files` is a list") {
        assert_eq!(file["content"], Value::Null, "{report:#}");
    }
    assert_eq!(report["env"], json!([]), "{report:#}");
    assert_eq!(report["home"], Value::Null, "{report:#}");
    assert_ne!(report["socket"], "connected", "{report:#}");
    assert!(!reply.text.contains(probe), "{report:#}");
    for path in ["/etc/passwd", "/etc/hostname"] {
        let content = std::fs::read_to_string(path).unwrap_or_default();
        let first = content.lines().next().unwrap_or("").trim();
        assert!(
            first.is_empty() || !reply.text.contains(first),
            "`{path}` reached the mapper: {report:#}"
        );
    }
    if let Some(port) = port {
        port.set_nonblocking(true).unwrap();
        let accepted = port.accept();
        assert!(
            accepted
                .as_ref()
                .is_err_and(|e| e.kind() == ErrorKind::WouldBlock),
            "the mapper reached a socket: {accepted:?}"
        );
    }
    let entries = assert_logged(&server, "escape", &[200]);
    assert_receipt(&entries[0], test_mapper("escape-attempts"), "respond");
    assert_healthy(&server, "after-escape");
}

#[test]
fn echo_logger_output_is_attributed_to_the_mapper_and_capped() {
    let marker = "q9v-echo-marker-71d3";
    let secret = format!("{marker}-secret");
    let server = Server::builder()
        .source(hostile("echo", "echo-logger").secret("signing", "env:EVENTPUSH_E2E_ECHO_SECRET"))
        .source(healthy())
        .env("EVENTPUSH_E2E_ECHO_SECRET", &secret)
        .env("RUST_LOG", "info,eventpush=trace")
        .start();
    let token = server.token("echo");
    let mut event = login("login", &format!("{marker}-id"), "echo@example.com");
    event["note"] = json!(format!("{marker}-body {}", "x".repeat(200_000)));

    let reply = server.send(
        server
            .post(&format!("{}?note={marker}-query", push_path("echo")))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .header("x-sender-note", format!("{marker}-header"))
            .body(events(vec![event]).to_string()),
    );

    assert_eq!(reply.status, 202, "{reply:?}");
    assert_summary(&reply.json(), 1, 0, 0, &[]);
    assert_healthy(&server, "after-echo");
    settle();
    let (mapper, host) = split_log(&server);
    for line in &host {
        assert!(
            !line.contains(marker),
            "the host logged request data: {line}"
        );
    }
    assert!(
        !server.log_text().contains(&secret),
        "the log holds the datasource's secret"
    );
    // The mapper logged every header it saw; the bearer token was not among them.
    assert!(
        !server.log_text().contains(&token[token.len() - 16..]),
        "the mapper was shown the datasource's token"
    );
    let messages: Vec<&str> = mapper
        .iter()
        .map(|record| record["fields"]["message"].as_str().unwrap_or(""))
        .collect();
    for part in ["query", "header", "body"] {
        let logged = format!("{marker}-{part}");
        assert!(
            messages.iter().any(|message| message.contains(&logged)),
            "the mapper's own lines lack `{logged}`"
        );
    }
    let written: usize = messages
        .iter()
        .map(|message| {
            let text = message
                .strip_prefix("mapper output: ")
                .or_else(|| message.strip_prefix("mapper: "))
                .unwrap_or(message);
            text.strip_suffix(" [truncated]").unwrap_or(text).len()
        })
        .sum();
    assert!(
        written <= MAPPER_LOG_BUDGET,
        "the mapper wrote {written} bytes to the log"
    );
    assert!(
        messages
            .iter()
            .any(|message| message.ends_with("[truncated]")),
        "no line of the mapper was marked as cut"
    );
}

#[test]
fn rewrite_reshapes_a_bare_event_into_the_templates_envelope() {
    let server = Server::start(vec![healthy()]);
    let token = server.token("healthy");
    let bare = format!(
        r#"{{"type": "login", "id": "bare-1", "user": "trent", "note": {ESCAPED_NOTE_JSON}}}"#
    );

    let reply = server.push("healthy", &token, bare, "application/json");
    let not_json = server.push("healthy", &token, "{\"type\": ", "application/json");

    assert_eq!(reply.status, 202, "{reply:?}");
    assert_summary(&reply.json(), 1, 0, 0, &[]);
    let stored = server.events_of("trent");
    assert_eq!(ids(&stored), ["bare-1"]);
    assert_eq!(stored[0]["attributes"]["note"], ESCAPED_NOTE);
    not_json.problem(400);
    let entries = assert_logged(&server, "healthy", &[400, 202]);
    assert_receipt(&entries[0], test_mapper("rewrite"), "reject");
    assert_receipt(&entries[1], test_mapper("rewrite"), "forward");
}

/// Runs `serve` on a configuration of `source`, with `files` written beside
/// it, and checks that it refuses to start; returns what it said.
fn serve_refused(source: Source, files: &[(&str, &[u8])]) -> crate::util::Ran {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    write_config(dir.path(), &[source]);

    let ran = run_in(
        dir.path(),
        &[
            "serve",
            "--config",
            "eventpush.yaml",
            "--listen",
            "127.0.0.1:0",
        ],
    );

    assert_ne!(ran.code, 0, "{ran:#?}");
    assert!(!ran.stderr.contains("listening"), "{ran:#?}");
    ran
}

#[test]
fn serve_refuses_a_blank_signing_secret() {
    // A MAC under an empty key is one that anybody can compute.
    let signed = || {
        Source::template("hooks", LOGINS)
            .mapper("builtin:signature")
            .auth("mapper")
            .mapper_config("scheme", "github")
    };
    let cases = [
        serve_refused(signed().secret_file("signing", b""), &[]),
        serve_refused(signed().secret_file("signing", b"\n"), &[]),
        serve_refused(signed().secret_file("signing", b"  \t  \n"), &[]),
    ];

    for ran in cases {
        assert!(ran.stderr.contains("secrets.signing"), "{ran:#?}");
        assert!(
            ran.stderr
                .contains("the secret is empty or only whitespace"),
            "{ran:#?}"
        );
    }
}

#[test]
fn serve_refuses_a_mapper_file_that_is_not_a_component() {
    let cases: [(&str, &[u8]); 2] = [
        ("core-module.wasm", b"\0asm\x01\0\0\0"),
        ("plain-text.wasm", b"not WebAssembly at all\n"),
    ];

    for (file, bytes) in cases {
        let ran = serve_refused(
            Source::template("app", LOGINS).mapper(file),
            &[(file, bytes)],
        );

        assert!(
            ran.stderr.contains(file),
            "the error does not name `{file}`: {ran:#?}"
        );
        assert!(ran.stderr.contains("component"), "{ran:#?}");
    }
}

#[test]
fn the_log_says_whether_a_mapper_came_from_the_cache_or_why_it_was_compiled() {
    let cached = |server: &Server| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(server.dir().join("mappers"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect()
    };
    let compiled = |server: &Server| -> Vec<Value> {
        server
            .log_records("mapper compiled")
            .into_iter()
            .map(|record| record["fields"]["cache"].clone())
            .collect()
    };
    let server = Server::start(vec![Source::okta("okta").mapper("builtin:okta-verify")]);
    assert_eq!(
        compiled(&server),
        [json!("missing")],
        "{}",
        server.log_text()
    );

    let server = server.kill_and_restart();
    assert!(compiled(&server).is_empty(), "{}", server.log_text());
    assert_eq!(server.log_records("mapper loaded from cache").len(), 1);

    for artifact in cached(&server) {
        std::fs::write(artifact, b"not an artifact").unwrap();
    }
    let server = server.kill_and_restart();
    assert_eq!(
        compiled(&server),
        [json!("mismatched")],
        "{}",
        server.log_text()
    );

    for artifact in cached(&server) {
        std::fs::remove_file(artifact).unwrap();
    }
    let server = server.kill_and_restart();
    assert_eq!(
        compiled(&server),
        [json!("missing")],
        "{}",
        server.log_text()
    );
}

#[test]
fn serve_refuses_a_memory_cap_below_what_the_mapper_starts_with() {
    let ran = serve_refused(
        Source::template("app", LOGINS)
            .mapper("builtin:okta-verify")
            .limit("mapper_memory_bytes", 1 << 20),
        &[],
    );

    assert!(ran.stderr.contains("builtin:okta-verify"), "{ran:#?}");
    assert!(
        ran.stderr
            .contains("more than `mapper_memory_bytes` (1048576) allows"),
        "{ran:#?}"
    );
}

#[test]
fn serve_refuses_a_component_that_does_not_implement_the_interface() {
    // The smallest component there is: the preamble, version 13, layer 1,
    // and nothing in it, so no `map` export.
    let file = "empty-component.wasm";

    let ran = serve_refused(
        Source::template("app", LOGINS).mapper(file),
        &[(file, b"\0asm\x0d\0\x01\0")],
    );

    assert!(
        ran.stderr.contains(file),
        "the error does not name `{file}`: {ran:#?}"
    );
    assert!(
        ran.stderr.contains("no export `map`"),
        "the error does not say what is missing: {ran:#?}"
    );
}

#[test]
fn serve_refuses_auth_mapper_with_a_mapper_that_verifies_no_sender() {
    let source = Source::template("app", LOGINS)
        .mapper("builtin:okta-verify")
        .auth("mapper");

    let ran = serve_refused(source, &[]);

    assert!(ran.stderr.contains("verifies no sender"), "{ran:#?}");
}
