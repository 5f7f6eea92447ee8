//! Answers Okta's one-time verification of an event hook.
//!
//! When an event hook is created or verified, Okta sends a `GET` with the
//! header `x-okta-verification-challenge` and expects the value back as
//! `{"verification": "<value>"}`. Every other request, the event deliveries
//! among them, goes on to the template unchanged.
//!
//! It reads no `mapper_config` and no secrets: the hook's `Authorization`
//! header is the host's to check.

use eventpush_guest::serde_json::json;
use eventpush_guest::{Outcome, Request};

/// The header that carries Okta's challenge.
const CHALLENGE: &str = "x-okta-verification-challenge";

fn map(request: Request) -> Outcome {
    if request.method != "GET" {
        return Outcome::forward();
    }
    let Some(challenge) = request.header(CHALLENGE) else {
        return Outcome::forward();
    };

    match std::str::from_utf8(challenge) {
        Ok(challenge) => Outcome::respond_json(200, &json!({ "verification": challenge })),
        Err(_) => Outcome::reject(400, "`x-okta-verification-challenge` is not UTF-8"),
    }
}

eventpush_guest::export_mapper!(map);

#[cfg(test)]
mod tests {
    use eventpush_guest::Outcome;
    use eventpush_guest::serde_json::{Value, json};
    use eventpush_guest::testing::{request, respond};

    use super::map;

    #[test]
    fn answers_the_verification_challenge() {
        let response = respond(map(request(
            "GET",
            "",
            &[
                ("Accept", "application/json"),
                (
                    "X-Okta-Verification-Challenge",
                    "EXAMPLE-CHALLENGE-VALUE-0001",
                ),
            ],
            b"",
        )));

        assert_eq!(response.status, 200);
        assert!(
            response
                .headers
                .contains(&("content-type".to_owned(), "application/json".to_owned()))
        );
        let body: Value = eventpush_guest::serde_json::from_slice(&response.body).unwrap();
        assert_eq!(
            body,
            json!({ "verification": "EXAMPLE-CHALLENGE-VALUE-0001" })
        );
    }

    #[test]
    fn forwards_event_deliveries_unchanged() {
        let outcome = map(request(
            "POST",
            "",
            &[("content-type", "application/json")],
            br#"{"data":{"events":[]}}"#,
        ));

        assert_eq!(outcome, Outcome::forward());
    }

    #[test]
    fn forwards_a_challenge_that_is_not_a_get() {
        let outcome = map(request(
            "POST",
            "",
            &[("x-okta-verification-challenge", "abc")],
            b"{}",
        ));

        assert_eq!(outcome, Outcome::forward());
    }

    #[test]
    fn forwards_a_get_without_challenge() {
        assert_eq!(map(request("GET", "", &[], b"")), Outcome::forward());
    }
}
