//! Verifies Slack's request signatures and answers its URL verification.
//!
//! Every request must carry `X-Slack-Request-Timestamp` and
//! `X-Slack-Signature: v0=<hex>`, the HMAC-SHA256 of
//! `v0:<timestamp>:<body>` over the exact bytes received, and the timestamp
//! must be within the tolerance of the host's clock, either way. Anything
//! else is refused with `401`. A verified `url_verification` event is
//! answered `200` with `{"challenge": "<challenge>"}`; every other verified
//! request goes on to the template unchanged.
//!
//! `mapper_config`:
//!
//! - `secret`: the name of the Slack app's signing secret in `secrets:`.
//!   Default `signing`.
//! - `tolerance_seconds`: how far the timestamp may be from now. Default
//!   `300`.

use eventpush_guest::encoding::{decode_hex, parse_unix_seconds, within_tolerance};
use eventpush_guest::host::{self, Algorithm, KeyFormat};
use eventpush_guest::serde_json::{Value, json};
use eventpush_guest::{Outcome, Refusal, Request, tolerance_seconds};

/// How far a timestamp may be from now unless `tolerance_seconds` says.
const DEFAULT_TOLERANCE_SECONDS: u64 = 300;

fn map(request: Request) -> Outcome {
    if let Err(refusal) = verify(&request) {
        return refusal.into();
    }

    match url_verification_challenge(&request) {
        Some(challenge) => Outcome::respond_json(200, &json!({ "challenge": challenge })),
        None => Outcome::forward(),
    }
}

/// Checks the timestamp, then the signature over `v0:<timestamp>:<body>`.
fn verify(request: &Request) -> Result<(), Refusal> {
    let secret = host::config_or("secret", "signing");
    let tolerance = tolerance_seconds(DEFAULT_TOLERANCE_SECONDS)?;

    let signature = request
        .header_str("x-slack-signature")
        .ok_or(Refusal::Unauthorized("missing `x-slack-signature` header"))?;
    let timestamp =
        request
            .header_str("x-slack-request-timestamp")
            .ok_or(Refusal::Unauthorized(
                "missing `x-slack-request-timestamp` header",
            ))?;

    let seconds = parse_unix_seconds(timestamp).ok_or(Refusal::Unauthorized(
        "`x-slack-request-timestamp` is not a Unix timestamp",
    ))?;
    if !within_tolerance(seconds, host::now_millis(), tolerance) {
        return Err(Refusal::Unauthorized(
            "`x-slack-request-timestamp` is outside the allowed window",
        ));
    }

    let signature =
        signature
            .strip_prefix("v0=")
            .and_then(decode_hex)
            .ok_or(Refusal::Unauthorized(
                "`x-slack-signature` is not a `v0=` hex signature",
            ))?;
    let mut signed = Vec::with_capacity(timestamp.len() + request.body.len() + 4);
    signed.extend_from_slice(b"v0:");
    signed.extend_from_slice(timestamp.as_bytes());
    signed.push(b':');
    signed.extend_from_slice(&request.body);

    match host::verify_mac(
        Algorithm::HmacSha256,
        &secret,
        KeyFormat::Raw,
        &signed,
        &signature,
    ) {
        Ok(true) => Ok(()),
        Ok(false) => Err(Refusal::Unauthorized("signature does not match")),
        Err(error) => Err(error.into()),
    }
}

/// The challenge of a `url_verification` event, if the body is one.
fn url_verification_challenge(request: &Request) -> Option<String> {
    // Event deliveries are parsed again by the template: look for the type's
    // name before paying for a parse here.
    let needle = b"url_verification";
    if !request
        .body
        .windows(needle.len())
        .any(|window| window == needle)
    {
        return None;
    }
    let body: Value = request.json().ok()?;

    if body["type"] != "url_verification" {
        return None;
    }
    body["challenge"].as_str().map(str::to_owned)
}

eventpush_guest::export_mapper!(map);

#[cfg(test)]
mod tests {
    use eventpush_guest::host::Algorithm;
    use eventpush_guest::serde_json::{self, Value, json};
    use eventpush_guest::testing::{FakeHost, encode_hex, mac, rejection, request};
    use eventpush_guest::{Outcome, Request};

    use super::map;

    /// Slack's documented example: signing secret, timestamp, body, signature.
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TIMESTAMP: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn host_at(seconds: u64) -> FakeHost {
        FakeHost::new()
            .secret("signing", SECRET)
            .now_millis(seconds * 1000 + 250)
    }

    fn signed(body: &str, signature: &str) -> Request {
        request(
            "POST",
            "",
            &[
                ("X-Slack-Request-Timestamp", TIMESTAMP),
                ("X-Slack-Signature", signature),
            ],
            body.as_bytes(),
        )
    }

    #[test]
    fn forwards_a_request_with_slacks_documented_signature() {
        let outcome = host_at(1_531_420_618).run(|| map(signed(BODY, SIGNATURE)));

        assert_eq!(outcome, Outcome::forward());
    }

    #[test]
    fn refuses_a_body_changed_after_signing() {
        let tampered = BODY.replace("roadrunner", "coyote");

        let outcome = host_at(1_531_420_618).run(|| map(signed(&tampered, SIGNATURE)));

        assert_eq!(
            rejection(outcome),
            (401, "signature does not match".to_owned())
        );
    }

    #[test]
    fn accepts_a_timestamp_within_the_window_either_way() {
        for now in [1_531_420_618 - 299, 1_531_420_618 + 299] {
            let outcome = host_at(now).run(|| map(signed(BODY, SIGNATURE)));

            assert_eq!(outcome, Outcome::forward());
        }
    }

    #[test]
    fn refuses_a_timestamp_outside_the_window() {
        for now in [1_531_420_618 - 301, 1_531_420_618 + 301] {
            let (status, reason) = rejection(host_at(now).run(|| map(signed(BODY, SIGNATURE))));

            assert_eq!(status, 401);
            assert!(reason.contains("window"), "{reason}");
        }
    }

    #[test]
    fn reads_tolerance_and_secret_name_from_mapper_config() {
        let mut host = FakeHost::new()
            .config("secret", "slack")
            .config("tolerance_seconds", "3600")
            .secret("slack", SECRET)
            .now_millis((1_531_420_618 + 3000) * 1000);

        let outcome = host.run(|| map(signed(BODY, SIGNATURE)));

        assert_eq!(outcome, Outcome::forward());
    }

    #[test]
    fn names_what_is_missing_without_echoing_values() {
        let cases = [
            (
                vec![("x-slack-request-timestamp", TIMESTAMP)],
                "x-slack-signature",
            ),
            (
                vec![("x-slack-signature", SIGNATURE)],
                "x-slack-request-timestamp",
            ),
            (
                vec![
                    ("x-slack-request-timestamp", TIMESTAMP),
                    ("x-slack-signature", "v1=00"),
                ],
                "`v0=`",
            ),
            (
                vec![
                    ("x-slack-request-timestamp", "soon"),
                    ("x-slack-signature", SIGNATURE),
                ],
                "not a Unix timestamp",
            ),
        ];

        for (headers, named) in cases {
            let outcome =
                host_at(1_531_420_618).run(|| map(request("POST", "", &headers, BODY.as_bytes())));
            let (status, reason) = rejection(outcome);

            assert_eq!(status, 401);
            assert!(reason.contains(named), "{reason}");
            assert!(!reason.contains("a2114d57"), "{reason}");
        }
    }

    #[test]
    fn answers_url_verification_once_signed() {
        let mut host = FakeHost::new()
            .secret("signing", "s3cr3t")
            .now_millis(1_531_420_618_000);
        let body = r#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
        let signed_content = format!("v0:{TIMESTAMP}:{body}");
        let signature = format!(
            "v0={}",
            encode_hex(&mac(
                Algorithm::HmacSha256,
                b"s3cr3t",
                signed_content.as_bytes()
            ))
        );

        let outcome = host.run(|| map(signed(body, &signature)));

        let Outcome::Respond(response) = outcome else {
            panic!("expected a response, got {outcome:?}");
        };
        assert_eq!(response.status, 200);
        let answer: Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(
            answer,
            json!({ "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" })
        );
    }

    #[test]
    fn refuses_url_verification_that_is_not_signed() {
        let body = r#"{"challenge":"abc","type":"url_verification"}"#;
        let mut host = host_at(1_531_420_618);

        let outcome = host.run(|| map(signed(body, SIGNATURE)));

        assert_eq!(rejection(outcome).0, 401);
    }

    #[test]
    fn answers_500_when_the_secret_is_missing() {
        let mut host = FakeHost::new().now_millis(1_531_420_618_000);

        let outcome = host.run(|| map(signed(BODY, SIGNATURE)));

        assert_eq!(rejection(outcome).0, 500);
        assert!(host.logs()[0].1.contains("`signing`"));
    }
}
