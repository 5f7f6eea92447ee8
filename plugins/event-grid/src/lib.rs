//! Answers Azure Event Grid's subscription validation and the CloudEvents
//! webhook handshake.
//!
//! - Event Grid schema: a `POST` whose body is an array holding an event of
//!   type `Microsoft.EventGrid.SubscriptionValidationEvent` (sent with
//!   `aeg-event-type: SubscriptionValidation`) is answered `200` with
//!   `{"validationResponse": "<data.validationCode>"}`. Event Grid takes only
//!   a 200 as success, never a 202.
//! - CloudEvents schema: an `OPTIONS` with `WebHook-Request-Origin` is
//!   answered `200` with `WebHook-Allowed-Origin` set to that origin and, when
//!   the sender asked for a rate with `WebHook-Request-Rate`, with
//!   `WebHook-Allowed-Rate` granting it (`*` when the asked rate is not a
//!   positive whole number).
//!
//! Everything else goes on to the template unchanged. It reads no
//! `mapper_config` and no secrets.

use eventpush_guest::serde_json::{Value, json};
use eventpush_guest::{Outcome, Request, Response};

/// The `eventType` of Event Grid's validation event.
const VALIDATION_EVENT: &str = "Microsoft.EventGrid.SubscriptionValidationEvent";

fn map(request: Request) -> Outcome {
    match request.method.as_str() {
        "OPTIONS" => webhook_handshake(&request),
        "POST" => subscription_validation(&request),
        _ => Outcome::forward(),
    }
}

/// The CloudEvents abuse-protection handshake.
fn webhook_handshake(request: &Request) -> Outcome {
    let Some(origin) = request.header_str("webhook-request-origin") else {
        return Outcome::forward();
    };
    let mut response = Response::new(200)
        .with_header("allow", "POST, OPTIONS")
        .with_header("webhook-allowed-origin", origin);

    if let Some(asked) = request.header("webhook-request-rate") {
        response = response.with_header("webhook-allowed-rate", allowed_rate(asked));
    }
    response.into()
}

/// The rate to grant for a `WebHook-Request-Rate`: the one asked for when it
/// is a positive whole number, otherwise no limit.
fn allowed_rate(asked: &[u8]) -> String {
    match std::str::from_utf8(asked).ok().map(str::trim) {
        Some(rate) if rate.parse::<u64>().is_ok_and(|rate| rate > 0) => rate.to_owned(),
        _ => "*".to_owned(),
    }
}

/// Event Grid's validation event, or an ordinary delivery.
fn subscription_validation(request: &Request) -> Outcome {
    let announced = request
        .header("aeg-event-type")
        .is_some_and(|kind| kind.eq_ignore_ascii_case(b"SubscriptionValidation"));
    // Deliveries are parsed again by the template: look for the event type's
    // name before paying for a parse here.
    if !announced && !contains(&request.body, VALIDATION_EVENT.as_bytes()) {
        return Outcome::forward();
    }

    match validation_code(request) {
        Some(code) => Outcome::respond_json(200, &json!({ "validationResponse": code })),
        None if announced => Outcome::reject(
            400,
            "subscription validation carries no `data.validationCode`",
        ),
        None => Outcome::forward(),
    }
}

/// The `data.validationCode` of the first validation event in the body.
fn validation_code(request: &Request) -> Option<String> {
    let events: Value = request.json().ok()?;

    events
        .as_array()?
        .iter()
        .find(|event| event["eventType"] == VALIDATION_EVENT)?["data"]["validationCode"]
        .as_str()
        .map(str::to_owned)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

eventpush_guest::export_mapper!(map);

#[cfg(test)]
mod tests {
    use eventpush_guest::serde_json::{self, Value, json};
    use eventpush_guest::testing::{request, respond};
    use eventpush_guest::{Outcome, Response};

    use super::map;

    /// The sample from Microsoft's documentation of endpoint validation.
    const VALIDATION: &str = r#"[
      {
        "id": "2d1781af-3a4c-4d7c-bd0c-e34b19da4e66",
        "topic": "/subscriptions/xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
        "subject": "",
        "data": {
          "validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6",
          "validationUrl": "https://rp-eastus2.eventgrid.azure.net:553/eventsubscriptions/myeventsub/validate?id=0000000000-0000-0000-0000-00000000000000&t=2022-10-28T04:23:35.1981776Z&apiVersion=2018-05-01-preview&token=1A1A1A1A"
        },
        "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
        "eventTime": "2022-10-28T04:23:35.1981776Z",
        "metadataVersion": "1",
        "dataVersion": "1"
      }
    ]"#;

    fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
        response
            .headers
            .iter()
            .find(|(candidate, _)| candidate == name)
            .map(|(_, value)| value.as_str())
    }

    #[test]
    fn answers_subscription_validation_with_200() {
        let response = respond(map(request(
            "POST",
            "",
            &[("aeg-event-type", "SubscriptionValidation")],
            VALIDATION.as_bytes(),
        )));

        assert_eq!(response.status, 200);
        assert_eq!(header(&response, "content-type"), Some("application/json"));
        let body: Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(
            body,
            json!({ "validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6" })
        );
    }

    #[test]
    fn recognises_validation_by_the_body_alone() {
        let outcome = map(request("POST", "", &[], VALIDATION.as_bytes()));

        assert_eq!(respond(outcome).status, 200);
    }

    #[test]
    fn refuses_announced_validation_without_a_code() {
        let outcome = map(request(
            "POST",
            "",
            &[("Aeg-Event-Type", "SubscriptionValidation")],
            b"[]",
        ));

        assert!(matches!(outcome, Outcome::Reject(rejection) if rejection.status == 400));
    }

    #[test]
    fn forwards_notifications_unchanged() {
        let outcome = map(request(
            "POST",
            "",
            &[("aeg-event-type", "Notification")],
            br#"[{"eventType":"Microsoft.Resources.ResourceWriteSuccess","data":{}}]"#,
        ));

        assert_eq!(outcome, Outcome::forward());
    }

    #[test]
    fn answers_the_cloudevents_handshake() {
        let response = respond(map(request(
            "OPTIONS",
            "",
            &[
                ("WebHook-Request-Origin", "eventemitter.example.com"),
                ("WebHook-Request-Rate", "120"),
            ],
            b"",
        )));

        assert_eq!(response.status, 200);
        assert_eq!(
            header(&response, "webhook-allowed-origin"),
            Some("eventemitter.example.com")
        );
        assert_eq!(header(&response, "webhook-allowed-rate"), Some("120"));
    }

    #[test]
    fn grants_any_rate_when_the_asked_one_is_not_a_number() {
        let response = respond(map(request(
            "OPTIONS",
            "",
            &[
                ("webhook-request-origin", "eventgrid.azure.net"),
                ("webhook-request-rate", "lots"),
            ],
            b"",
        )));

        assert_eq!(header(&response, "webhook-allowed-rate"), Some("*"));
    }

    #[test]
    fn names_no_rate_when_none_was_asked() {
        let response = respond(map(request(
            "OPTIONS",
            "",
            &[("webhook-request-origin", "eventgrid.azure.net")],
            b"",
        )));

        assert_eq!(header(&response, "webhook-allowed-rate"), None);
    }

    #[test]
    fn forwards_options_without_an_origin() {
        assert_eq!(map(request("OPTIONS", "", &[], b"")), Outcome::forward());
    }
}
