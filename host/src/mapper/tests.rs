//! The bundled mappers in the real runtime. Every builtin must have a case
//! here: a builtin without one fails `every_builtin_has_a_case`.

use std::sync::{Arc, OnceLock};

use serde_json::{Value, json};

use super::*;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(None).expect("the engine starts"))
}

fn mapper(name: &str) -> Mapper {
    let bytes = builtin(name).unwrap_or_else(|| panic!("no builtin `{name}`"));
    engine()
        .load(&format!("{BUILTIN_PREFIX}{name}"), bytes)
        .expect("the builtin loads")
}

fn request(method: &str, query: &str, headers: &[(&str, &str)], body: &[u8]) -> Request {
    Request {
        method: method.into(),
        path: "/events/custom/v1/test".into(),
        query: query.into(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.as_bytes().to_vec()))
            .collect(),
        body: body.to_vec(),
    }
}

fn context(config: &[(&str, &str)], secrets: &[(&str, &str)], now_millis: u64) -> Context {
    Context {
        datasource: "test".into(),
        config: Arc::new(
            config
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        secrets: Arc::new(
            secrets
                .iter()
                .map(|(k, v)| (k.to_string(), Secret::new(v.as_bytes().to_vec())))
                .collect(),
        ),
        clock: Clock::fixed(now_millis),
        limits: Limits::default(),
    }
}

/// Drives one call to its end, as the server's runtime would.
fn call(
    mapper: &Mapper,
    context: &Context,
    request: &Request,
) -> (Result<Outcome, Fault>, Receipt) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(mapper.call(context, request))
}

fn run(name: &str, context: &Context, request: &Request) -> Outcome {
    let (outcome, receipt) = call(&mapper(name), context, request);
    assert!(receipt.fuel_used > 0, "{receipt:?}");
    outcome.unwrap_or_else(|fault| panic!("`{name}` failed: {fault}"))
}

fn json_body(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Respond(r) => serde_json::from_slice(&r.body).expect("a JSON answer"),
        other => panic!("expected a response, got {other:?}"),
    }
}

fn status(outcome: &Outcome) -> u16 {
    match outcome {
        Outcome::Respond(r) => r.status,
        Outcome::Reject(r) => r.status,
        Outcome::Forward(_) => 0,
    }
}

#[test]
fn every_builtin_has_a_case() {
    for name in builtin_names() {
        match name {
            "okta-verify" => okta_verify_answers_the_challenge_and_forwards_deliveries(),
            "event-grid" => event_grid_answers_subscription_validation(),
            "ms-graph" => ms_graph_echoes_the_validation_token(),
            "slack" => slack_verifies_the_known_answer_vector(),
            "signature" => signature_verifies_the_known_answer_vectors(),
            other => panic!("builtin `{other}` has no test case here"),
        }
    }
}

#[test]
fn okta_verify_answers_the_challenge_and_forwards_deliveries() {
    let ctx = context(&[], &[], 0);
    let handshake = run(
        "okta-verify",
        &ctx,
        &request(
            "GET",
            "",
            &[("X-Okta-Verification-Challenge", "chal-123")],
            b"",
        ),
    );
    assert_eq!(json_body(&handshake), json!({"verification": "chal-123"}));
    let delivery = run("okta-verify", &ctx, &request("POST", "", &[], b"{}"));
    assert_eq!(delivery, Outcome::Forward(None));
}

#[test]
fn event_grid_answers_subscription_validation() {
    let body = br#"[{"id":"1","eventType":"Microsoft.EventGrid.SubscriptionValidationEvent",
        "data":{"validationCode":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}}]"#;
    let outcome = run(
        "event-grid",
        &context(&[], &[], 0),
        &request(
            "POST",
            "",
            &[("aeg-event-type", "SubscriptionValidation")],
            body,
        ),
    );
    assert_eq!(status(&outcome), 200);
    assert_eq!(
        json_body(&outcome),
        json!({"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"})
    );
}

#[test]
fn ms_graph_echoes_the_validation_token() {
    let outcome = run(
        "ms-graph",
        &context(&[], &[], 0),
        &request(
            "POST",
            "validationToken=Validation%3A+Testing+client+application+reachability",
            &[],
            b"",
        ),
    );
    match outcome {
        Outcome::Respond(r) => {
            assert_eq!(r.status, 200);
            assert_eq!(
                r.body,
                b"Validation: Testing client application reachability"
            );
        }
        other => panic!("expected a response, got {other:?}"),
    }
}

#[test]
fn slack_verifies_the_known_answer_vector() {
    let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    let ctx = context(
        &[],
        &[("signing", "8f742231b10e8888abcd99yyyzzz85a5")],
        1_531_420_618_000,
    );
    let headers = [
        ("X-Slack-Request-Timestamp", "1531420618"),
        (
            "X-Slack-Signature",
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
        ),
    ];
    assert_eq!(
        run("slack", &ctx, &request("POST", "", &headers, body)),
        Outcome::Forward(None)
    );
    let tampered = run(
        "slack",
        &ctx,
        &request("POST", "", &headers, b"token=other"),
    );
    assert_eq!(status(&tampered), 401);
}

#[test]
fn signature_verifies_the_known_answer_vectors() {
    let github = context(
        &[("scheme", "github")],
        &[("signing", "It's a Secret to Everybody")],
        0,
    );
    let signed = [(
        "X-Hub-Signature-256",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    )];
    let ok = run(
        "signature",
        &github,
        &request("POST", "", &signed, b"Hello, World!"),
    );
    assert_eq!(ok, Outcome::Forward(None));
    let bad = run(
        "signature",
        &github,
        &request("POST", "", &signed, b"Hello, World?"),
    );
    assert_eq!(status(&bad), 401);

    let standard = context(
        &[("scheme", "standard-webhooks")],
        &[("signing", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")],
        1_614_265_330_000,
    );
    let headers = [
        ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
        ("webhook-timestamp", "1614265330"),
        (
            "webhook-signature",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ),
    ];
    let body = br#"{"test": 2432232314}"#;
    assert_eq!(
        run("signature", &standard, &request("POST", "", &headers, body)),
        Outcome::Forward(None)
    );
}

#[test]
fn bundled_mappers_import_nothing_but_the_host() {
    // Built without WASI, each is one core module whose instances cost less.
    for name in builtin_names() {
        let mapper = mapper(name);
        let component = mapper.pre.instance_pre().component();
        let imports: Vec<String> = component
            .component_type()
            .imports(&engine().engine)
            .map(|(import, _)| import.to_owned())
            .collect();
        assert!(
            imports.iter().all(|i| i.starts_with("eventpush:mapper/")),
            "`{name}` imports {imports:?}"
        );
    }
}

#[test]
fn a_bundled_mapper_takes_a_body_larger_than_its_arena() {
    // The arena holds 64 KiB; past it the mapper grows its memory.
    let okta = mapper("okta-verify");
    let ctx = context(&[], &[], 0);

    let (small, small_receipt) = call(&okta, &ctx, &request("POST", "", &[], b"{}"));
    let body = vec![b' '; 1 << 20];
    let (large, large_receipt) = call(&okta, &ctx, &request("POST", "", &[], &body));

    assert_eq!(small, Ok(Outcome::Forward(None)));
    assert_eq!(large, Ok(Outcome::Forward(None)));
    assert!(
        large_receipt.peak_memory_bytes >= small_receipt.peak_memory_bytes + (1 << 20),
        "{small_receipt:?} {large_receipt:?}"
    );
}

#[test]
fn the_memory_at_start_is_what_a_call_that_never_grows_holds() {
    for name in builtin_names() {
        let mapper = mapper(name);
        let (_, receipt) = call(
            &mapper,
            &context(&[], &[], 0),
            &request("OPTIONS", "", &[], b""),
        );

        assert!(mapper.memory_at_start() >= 1 << 16, "`{name}`");
        assert_eq!(
            receipt.peak_memory_bytes,
            mapper.memory_at_start(),
            "`{name}`"
        );
    }
}

#[test]
fn a_bundled_mapper_past_its_memory_cap_is_a_memory_fault() {
    let mut ctx = context(&[], &[], 0);
    ctx.limits.memory_bytes = 4 << 20;
    let body = vec![b' '; 8 << 20];

    let (outcome, receipt) = call(
        &mapper("okta-verify"),
        &ctx,
        &request("POST", "", &[], &body),
    );

    assert_eq!(outcome, Err(Fault::Memory(4 << 20)), "{receipt:?}");
    assert!(receipt.peak_memory_bytes <= 4 << 20, "{receipt:?}");
}

#[test]
fn refuses_a_core_module_with_a_clear_reason() {
    // The smallest core module: the preamble and version 1.
    let core = b"\0asm\x01\0\0\0";
    let error = engine().load("plain.wasm", core).unwrap_err().to_string();
    assert!(error.contains("`plain.wasm`"), "{error}");
    assert!(error.contains("not a WebAssembly component"), "{error}");
}

#[test]
fn receipts_record_fuel_time_and_memory() {
    let (outcome, receipt) = call(
        &mapper("okta-verify"),
        &context(&[], &[], 0),
        &request("GET", "", &[("x-okta-verification-challenge", "x")], b""),
    );
    assert!(outcome.is_ok());
    assert_eq!(receipt.outcome, "respond");
    assert!(receipt.fuel_used > 0);
    assert!(receipt.peak_memory_bytes > 0, "{receipt:?}");
}

#[test]
fn an_interim_status_is_a_fault_not_an_answer() {
    let respond = |status| {
        Outcome::Respond(Response {
            status,
            headers: vec![],
            body: vec![],
        })
    };
    assert_eq!(check_outcome(respond(101), 1024), Err(Fault::Status(101)));
    assert_eq!(check_outcome(respond(600), 1024), Err(Fault::Status(600)));
    assert!(check_outcome(respond(200), 1024).is_ok());
}

#[test]
fn every_fault_kind_is_listed_once() {
    // Each fault names the next, in a match with no catch-all: a new kind
    // does not compile until it is in this chain, and then must be in KINDS.
    let next = |fault: Option<&Fault>| match fault {
        None => Some(Fault::Fuel(1)),
        Some(Fault::Fuel(_)) => Some(Fault::Timeout(Duration::from_millis(1))),
        Some(Fault::Timeout(_)) => Some(Fault::Memory(1)),
        Some(Fault::Memory(_)) => Some(Fault::Output { size: 2, limit: 1 }),
        Some(Fault::Output { .. }) => Some(Fault::Trap("unreachable".into())),
        Some(Fault::Trap(_)) => Some(Fault::Status(101)),
        Some(Fault::Status(_)) => None,
    };

    let faults: Vec<Fault> = std::iter::successors(next(None), |f| next(Some(f))).collect();
    let kinds: Vec<&str> = faults.iter().map(Fault::kind).collect();

    assert_eq!(kinds, Fault::KINDS);
}
