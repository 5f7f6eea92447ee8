//! Property tests: the template parser, extraction and the intake handler
//! take any input without panicking, and every input gets an answer.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use eventpush::template::{Extracted, Template};
use proptest::prelude::*;
use serde_json::Value;
use tower::ServiceExt;

/// Any JSON value, nested a few levels, with keys the Okta template reads
/// mixed among arbitrary ones so that paths find something.
fn json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("data".to_owned()),
        Just("events".to_owned()),
        Just("eventType".to_owned()),
        Just("uuid".to_owned()),
        Just("actor".to_owned()),
        Just("alternateId".to_owned()),
        Just("target".to_owned()),
        Just("type".to_owned()),
        Just("id".to_owned()),
        Just("published".to_owned()),
        "[a-zA-Z_]{1,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            Just("user.session.start".to_owned()),
            Just("2024-03-26T21:05:32.159Z".to_owned()),
            Just("User".to_owned()),
            ".{0,12}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// An event that the templates of [`varied_templates`] match, with random
/// members beside and inside the ones they read.
fn event() -> impl Strategy<Value = Value> {
    let kind = prop_oneof![Just("user.session.start"), Just("User"), Just("other")];
    let target = (prop_oneof![Just("User"), Just("Group")], json(), json());
    (
        json(),
        kind,
        json(),
        json(),
        prop::collection::vec(target, 0..4),
    )
        .prop_map(|(extra, kind, actor, inner, targets)| {
            let object = |value: Value| match value {
                Value::Object(members) => members,
                _ => serde_json::Map::new(),
            };
            let mut event = object(extra);
            event.insert("eventType".into(), kind.into());
            event.insert("type".into(), kind.into());
            event.insert("uuid".into(), "e1".into());
            let mut actor = object(actor);
            actor.insert("alternateId".into(), "ann".into());
            actor.insert("inner".into(), inner);
            event.insert("actor".into(), actor.into());
            let targets = targets
                .into_iter()
                .enumerate()
                .map(|(i, (kind, inner, rest))| {
                    let mut target = object(rest);
                    target.insert("type".into(), kind.into());
                    target.insert("id".into(), format!("t{i}").into());
                    target.insert("inner".into(), inner);
                    Value::Object(target)
                });
            event.insert("target".into(), targets.collect());
            Value::Object(event)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any text is parsed or refused with problems that name a place in it.
    #[test]
    fn template_parser_answers_any_text(text in prop_oneof![
        ".{0,200}",
        // Near-templates: the keys of a real one in random arrangements.
        prop::collection::vec(prop_oneof![
            Just("pushEventsPath: $.events[*]\n"),
            Just("entities:\n"),
            Just("  Login:\n"),
            Just("    externalId: login\n"),
            Just("    pushExternalId: $.type\n"),
            Just("    parent: Login\n"),
            Just("    attributes:\n"),
            Just("      - { name: id, externalId: $.id, type: String, uniqueId: true }\n"),
            Just("      - { name: subject, externalId: $.user, type: DateTime, list: true }\n"),
            Just("      - name: x\n        externalId: $[?(@.a =~ '(')]\n"),
            Just("  - ]\n"),
            Just("\t"),
        ], 0..12).prop_map(|lines| lines.concat()),
    ]) {
        if let Err(problems) = Template::parse(&text) {
            prop_assert!(!problems.is_empty());
            let breaks = shared::yaml_line_breaks(&text);
            for problem in problems {
                prop_assert!(problem.line >= 1 && problem.line <= breaks + 1, "{problem:?} in {text:?}");
            }
        }
    }

    /// A payload parsed as a template reads it gives what the whole one gives.
    #[test]
    fn extraction_finds_in_the_kept_payload_what_it_finds_in_the_whole(payload in prop_oneof![
        json(),
        prop::collection::vec(event(), 0..4)
            .prop_map(|events| serde_json::json!({"data": {"events": events}})),
    ]) {
        let body = serde_json::to_vec(&payload).unwrap();
        let whole: Value = serde_json::from_slice(&body).unwrap();
        let [walked, evaluated] = varied_templates();
        for template in [shared::okta_template(), walked, evaluated] {
            let kept = template.read_payload(&body).unwrap();
            prop_assert_eq!(template.extract(&kept), template.extract(&whole));
        }
    }

    /// Extraction gives every selected event an outcome, whatever the payload.
    #[test]
    fn extraction_answers_any_json(payload in json()) {
        let template = shared::okta_template();
        let extraction = template.extract(&payload);
        for event in &extraction.events {
            if let Extracted::Matched(event) = event {
                prop_assert!(!event.unique_id.is_empty());
                prop_assert!(!event.subject.is_empty());
            }
        }
    }
}

/// Two templates with paths of every kind extraction knows. The first only
/// has paths that are walked: members, `[*]`, filters on a string, a
/// selected array taken for its elements, children two levels deep. The
/// second has paths left to jsonpath-rust, which must see all below them,
/// beside walked ones, whose siblings are left out.
fn varied_templates() -> [&'static Template; 2] {
    static TEMPLATES: std::sync::OnceLock<[Template; 2]> = std::sync::OnceLock::new();
    let [walked, evaluated] = TEMPLATES.get_or_init(|| {
        // Both start with the same event entity.
        let session = r#"
entities:
  Session:
    externalId: user.session.start
    pushExternalId: $.eventType
    attributes:
      - { name: id, externalId: $.uuid, type: String, uniqueId: true }
      - { name: subject, externalId: $.actor.alternateId, type: String }
"#;
        let walked = r#"
      - { name: targetIds, externalId: "$.target[*].id", type: String, list: true }
      - { name: detail, externalId: $.actor.id, type: String }
      - { name: published, externalId: $.published, type: DateTime }
  Target:
    parent: Session
    externalId: $.target
    pushExternalId: "$.target[?(@.type == 'User')]"
    attributes:
      - { name: id, externalId: $.id, type: String, uniqueId: true }
      - { name: inner, externalId: $.inner.id, type: String, indexed: true }
  Inner:
    parent: Target
    externalId: $.inner
    pushExternalId: $.inner.events
    attributes:
      - { name: id, externalId: $.uuid, type: String, uniqueId: true }
  Other:
    externalId: User
    pushExternalId: $.type
    attributes:
      - { name: id, externalId: $.uuid, type: String, uniqueId: true }
      - { name: subject, externalId: "$.target[*].inner.alternateId", type: String }
      - { name: ids, externalId: "$.actor.*.id", type: String, list: true }
      - { name: innerName, externalId: $.actor.inner.name, type: String }
"#;
        let evaluated = r#"
  Target:
    parent: Session
    externalId: $.target
    pushExternalId: $.target
    attributes:
      - { name: id, externalId: $.id, type: String, uniqueId: true }
      - { name: anyIds, externalId: $.inner..id, type: String, list: true }
      - { name: first, externalId: "$.inner[0]", type: String }
  Other:
    externalId: User
    pushExternalId: $.type
    attributes:
      - { name: id, externalId: $.uuid, type: String, uniqueId: true }
      - { name: subject, externalId: $.actor.alternateId, type: String }
      - { name: everything, externalId: "$.actor.*", type: String, list: true }
"#;
        [("$.data.events", walked), ("$.data.events[*]", evaluated)].map(|(events, rest)| {
            let text = format!(
                "pushEventsPath: {events}{session}{}",
                rest.trim_start_matches('\n')
            );
            Template::parse(&text).expect("the template is valid")
        })
    });
    [walked, evaluated]
}

#[path = "support/shared.rs"]
mod shared;

/// The app of [`shared::okta_app`], made once and shared by every case.
fn app() -> &'static (tempfile::TempDir, axum::Router, String) {
    static APP: std::sync::OnceLock<(tempfile::TempDir, axum::Router, String)> =
        std::sync::OnceLock::new();
    APP.get_or_init(shared::okta_app)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Any body, content type and token gets one of the documented answers,
    /// never a 5xx other than shedding.
    #[test]
    fn intake_answers_any_push(
        body in prop_oneof![
            json().prop_map(|v| v.to_string().into_bytes()),
            prop::collection::vec(any::<u8>(), 0..256),
        ],
        content_type in prop_oneof![
            Just("application/json"),
            Just("application/json; charset=utf-8"),
            Just("text/plain"),
            Just(""),
        ],
        authorized in any::<bool>(),
        method in prop_oneof![Just("POST"), Just("PUT"), Just("GET")],
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (_dir, router, token) = app();
        let router = router.clone();
        let mut request = Request::builder()
            .method(method)
            .uri("/events/custom/v1/okta");
        if !content_type.is_empty() {
            request = request.header("content-type", content_type);
        }
        if authorized {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request.body(Body::from(body)).unwrap();
        let response = runtime.block_on(router.oneshot(request)).unwrap();
        let status = response.status();
        prop_assert!(shared::push_statuses().contains(&status.as_u16()), "answered {status}");
        prop_assert!(status != StatusCode::INTERNAL_SERVER_ERROR);
    }
}
