//! Answers Microsoft Graph's subscription validation and checks the
//! `clientState` of its change notifications.
//!
//! - A request with the query parameter `validationToken` is answered `200`
//!   as `text/plain` with the decoded token, byte for byte, whatever it
//!   holds.
//! - A notification, `{"value": [{..., "clientState": "..."}, ...]}`, goes on
//!   to the template unchanged only when every item's `clientState` equals
//!   the datasource's secret; otherwise it is refused with `401`.
//!
//! `mapper_config`:
//!
//! - `client_state_secret`: the name of the secret in `secrets:` that holds
//!   the `clientState` given when the subscription was made. Default
//!   `client_state`.

use eventpush_guest::host;
use eventpush_guest::serde_json::Value;
use eventpush_guest::{Outcome, Refusal, Request, Response};

fn map(request: Request) -> Outcome {
    if let Some(token) = request.query_param_bytes("validationToken") {
        return Response::new(200)
            .with_header("content-type", "text/plain")
            .with_body(token)
            .into();
    }

    match check_client_state(&request) {
        Ok(()) => Outcome::forward(),
        Err(refusal) => refusal.into(),
    }
}

/// Checks every notification's `clientState` against the secret.
fn check_client_state(request: &Request) -> Result<(), Refusal> {
    let secret = host::config_or("client_state_secret", "client_state");
    let body: Value = request
        .json()
        .map_err(|_| Refusal::Malformed("body is not JSON"))?;
    let notifications = body["value"]
        .as_array()
        .filter(|notifications| !notifications.is_empty())
        .ok_or(Refusal::Unauthorized(
            "body has no notifications whose `clientState` to check",
        ))?;

    for notification in notifications {
        let state = notification["clientState"]
            .as_str()
            .ok_or(Refusal::Unauthorized("a notification has no `clientState`"))?;
        match host::secret_equals(&secret, state.as_bytes()) {
            Ok(true) => {}
            Ok(false) => return Err(Refusal::Unauthorized("`clientState` does not match")),
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}

eventpush_guest::export_mapper!(map);

#[cfg(test)]
mod tests {
    use eventpush_guest::Outcome;
    use eventpush_guest::host::Level;
    use eventpush_guest::testing::{FakeHost, request, respond};

    use super::map;

    const NOTIFICATIONS: &[u8] = br#"{"value": [
        {"subscriptionId": "1", "clientState": "secretClientValue", "changeType": "updated"},
        {"subscriptionId": "1", "clientState": "secretClientValue", "changeType": "deleted"}
    ]}"#;

    fn rejected_status(outcome: Outcome) -> u16 {
        match outcome {
            Outcome::Reject(rejection) => rejection.status,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    fn host() -> FakeHost {
        FakeHost::new().secret("client_state", "secretClientValue")
    }

    #[test]
    fn echoes_the_validation_token_exactly() {
        let response = respond(map(request(
            "POST",
            "validationToken=Validation%3a+Testing+client+application+%26+more%21%F0%9F%94%91",
            &[("content-type", "text/plain; charset=utf-8")],
            b"",
        )));

        assert_eq!(response.status, 200);
        assert_eq!(
            response.headers,
            [("content-type".to_owned(), "text/plain".to_owned())]
        );
        assert_eq!(
            response.body,
            "Validation: Testing client application & more!\u{1f511}".as_bytes()
        );
    }

    #[test]
    fn forwards_notifications_whose_client_state_matches() {
        let outcome = host().run(|| map(request("POST", "", &[], NOTIFICATIONS)));

        assert_eq!(outcome, Outcome::forward());
    }

    #[test]
    fn reads_the_secret_name_from_mapper_config() {
        let mut host = FakeHost::new()
            .config("client_state_secret", "graph")
            .secret("graph", "secretClientValue");

        let outcome = host.run(|| map(request("POST", "", &[], NOTIFICATIONS)));

        assert_eq!(outcome, Outcome::forward());
    }

    #[test]
    fn refuses_a_batch_with_one_wrong_client_state() {
        let body = br#"{"value": [
            {"clientState": "secretClientValue"},
            {"clientState": "guess"}
        ]}"#;

        let outcome = host().run(|| map(request("POST", "", &[], body)));

        assert_eq!(rejected_status(outcome), 401);
    }

    #[test]
    fn refuses_a_notification_without_client_state() {
        let body = br#"{"value": [{"clientState": "secretClientValue"}, {"changeType": "x"}]}"#;

        let outcome = host().run(|| map(request("POST", "", &[], body)));

        assert_eq!(rejected_status(outcome), 401);
    }

    #[test]
    fn refuses_a_body_without_notifications() {
        for body in [&br#"{"value": []}"#[..], br#"{"events": [{}]}"#, b"[]"] {
            let outcome = host().run(|| map(request("POST", "", &[], body)));

            assert_eq!(rejected_status(outcome), 401);
        }
    }

    #[test]
    fn refuses_a_body_that_is_not_json() {
        let outcome = host().run(|| map(request("POST", "", &[], b"clientState=x")));

        assert_eq!(rejected_status(outcome), 400);
    }

    #[test]
    fn answers_500_and_logs_when_the_secret_is_missing() {
        let mut host = FakeHost::new();

        let outcome = host.run(|| map(request("POST", "", &[], NOTIFICATIONS)));

        assert_eq!(rejected_status(outcome), 500);
        assert_eq!(host.logs().len(), 1);
        assert_eq!(host.logs()[0].0, Level::Error);
        assert!(!host.logs()[0].1.contains("secretClientValue"));
    }
}
