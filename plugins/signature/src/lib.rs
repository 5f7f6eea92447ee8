//! Verifies webhook signatures by one of several common schemes.
//!
//! A request whose signature is valid goes on to the template unchanged;
//! anything else is refused with `401` and a reason that names what is
//! missing or wrong, never a signature's value. Signatures are always checked
//! over the exact bytes received.
//!
//! `mapper_config`:
//!
//! - `scheme` (required):
//!   - `standard-webhooks`: headers `webhook-id`, `webhook-timestamp` and
//!     `webhook-signature` (space-separated `v1,<base64>` entries, any of
//!     which may match), HMAC-SHA256 over `<id>.<timestamp>.<body>`, the
//!     secret in base64 with or without its `whsec_` prefix, and the
//!     timestamp within the tolerance either way.
//!   - `github`: `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 over the
//!     body with the secret as it is.
//!   - `jira`: `X-Hub-Signature: sha256=<hex>`, HMAC-SHA256 over the body
//!     with the secret as it is; `sha1=<hex>` is checked with HMAC-SHA1.
//! - `secret`: the name of the secret in `secrets:`. Default `signing`.
//! - `tolerance_seconds`: for `standard-webhooks`, how far the timestamp may
//!   be from now. Default `300`.

use eventpush_guest::encoding::{decode_base64, decode_hex, parse_unix_seconds, within_tolerance};
use eventpush_guest::host::{self, Algorithm, KeyFormat};
use eventpush_guest::{Outcome, Refusal, Request, tolerance_seconds};

/// How far a timestamp may be from now unless `tolerance_seconds` says.
const DEFAULT_TOLERANCE_SECONDS: u64 = 300;

fn map(request: Request) -> Outcome {
    match verify(&request) {
        Ok(()) => Outcome::forward(),
        Err(refusal) => refusal.into(),
    }
}

/// Checks the request by the scheme that `mapper_config` names.
fn verify(request: &Request) -> Result<(), Refusal> {
    let secret = host::config_or("secret", "signing");

    match host::config("scheme").as_deref() {
        Some("standard-webhooks") => standard_webhooks(request, &secret),
        Some("github") => github(request, &secret),
        Some("jira") => jira(request, &secret),
        Some(other) => Err(Refusal::Misconfigured(format!(
            "`scheme` in `mapper_config` is `{other}`; expected `standard-webhooks`, `github` \
             or `jira`"
        ))),
        None => Err(Refusal::Misconfigured(
            "`mapper_config` has no `scheme`; expected `standard-webhooks`, `github` or `jira`"
                .to_owned(),
        )),
    }
}

/// Standard Webhooks: any `v1` signature over `<id>.<timestamp>.<body>`.
fn standard_webhooks(request: &Request, secret: &str) -> Result<(), Refusal> {
    let tolerance = tolerance_seconds(DEFAULT_TOLERANCE_SECONDS)?;
    let id = request
        .header_str("webhook-id")
        .ok_or(Refusal::Unauthorized("missing `webhook-id` header"))?;
    let timestamp = request
        .header_str("webhook-timestamp")
        .ok_or(Refusal::Unauthorized("missing `webhook-timestamp` header"))?;
    let signatures = request
        .header_str("webhook-signature")
        .ok_or(Refusal::Unauthorized("missing `webhook-signature` header"))?;

    let seconds = parse_unix_seconds(timestamp).ok_or(Refusal::Unauthorized(
        "`webhook-timestamp` is not a Unix timestamp",
    ))?;
    if !within_tolerance(seconds, host::now_millis(), tolerance) {
        return Err(Refusal::Unauthorized(
            "`webhook-timestamp` is outside the allowed window",
        ));
    }

    let candidates: Vec<Vec<u8>> = signatures
        .split_ascii_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(decode_base64)
        .collect();
    if candidates.is_empty() {
        return Err(Refusal::Unauthorized(
            "`webhook-signature` has no `v1,<base64>` signature",
        ));
    }

    let mut signed = Vec::with_capacity(id.len() + timestamp.len() + request.body.len() + 2);
    signed.extend_from_slice(id.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(timestamp.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(&request.body);

    for candidate in &candidates {
        if check(
            Algorithm::HmacSha256,
            secret,
            KeyFormat::Base64,
            &signed,
            candidate,
        )? {
            return Ok(());
        }
    }
    Err(Refusal::Unauthorized("signature does not match"))
}

/// GitHub: `X-Hub-Signature-256: sha256=<hex>` over the body.
fn github(request: &Request, secret: &str) -> Result<(), Refusal> {
    let header = request
        .header_str("x-hub-signature-256")
        .ok_or(Refusal::Unauthorized(
            "missing `x-hub-signature-256` header",
        ))?;
    let signature =
        header
            .strip_prefix("sha256=")
            .and_then(decode_hex)
            .ok_or(Refusal::Unauthorized(
                "`x-hub-signature-256` is not a `sha256=` hex signature",
            ))?;

    verified(check(
        Algorithm::HmacSha256,
        secret,
        KeyFormat::Raw,
        &request.body,
        &signature,
    )?)
}

/// Jira: `X-Hub-Signature: sha256=<hex>` (or `sha1=<hex>`) over the body.
fn jira(request: &Request, secret: &str) -> Result<(), Refusal> {
    let header = request
        .header_str("x-hub-signature")
        .ok_or(Refusal::Unauthorized("missing `x-hub-signature` header"))?;
    let (algorithm, digits) = if let Some(digits) = header.strip_prefix("sha256=") {
        (Algorithm::HmacSha256, digits)
    } else if let Some(digits) = header.strip_prefix("sha1=") {
        (Algorithm::HmacSha1, digits)
    } else {
        return Err(Refusal::Unauthorized(
            "`x-hub-signature` is not a `sha256=` or `sha1=` signature",
        ));
    };
    let signature = decode_hex(digits).ok_or(Refusal::Unauthorized(
        "`x-hub-signature` is not hex after its algorithm",
    ))?;

    verified(check(
        algorithm,
        secret,
        KeyFormat::Raw,
        &request.body,
        &signature,
    )?)
}

/// Asks the host whether `signature` is the MAC of `message`.
fn check(
    algorithm: Algorithm,
    secret: &str,
    format: KeyFormat,
    message: &[u8],
    signature: &[u8],
) -> Result<bool, Refusal> {
    host::verify_mac(algorithm, secret, format, message, signature).map_err(Refusal::from)
}

fn verified(matches: bool) -> Result<(), Refusal> {
    if matches {
        Ok(())
    } else {
        Err(Refusal::Unauthorized("signature does not match"))
    }
}

eventpush_guest::export_mapper!(map);

#[cfg(test)]
mod tests {
    use eventpush_guest::host::{Algorithm, Level};
    use eventpush_guest::testing::{FakeHost, encode_hex, mac, rejection, request};
    use eventpush_guest::{Outcome, Request};

    use super::map;

    /// The Standard Webhooks example from Svix's documentation.
    const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const MSG_TIMESTAMP: &str = "1614265330";
    const MSG_BODY: &str = r#"{"test": 2432232314}"#;
    const MSG_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    /// GitHub's example from "Validating webhook deliveries".
    const GITHUB_SECRET: &str = "It's a Secret to Everybody";
    const GITHUB_BODY: &str = "Hello, World!";
    const GITHUB_SIGNATURE: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    fn host(scheme: &str, secret: &str) -> FakeHost {
        FakeHost::new()
            .config("scheme", scheme)
            .secret("signing", secret)
            .now_millis(1_614_265_330_000)
    }

    fn webhook(signature: &str, body: &str) -> Request {
        request(
            "POST",
            "",
            &[
                ("webhook-id", MSG_ID),
                ("webhook-timestamp", MSG_TIMESTAMP),
                ("webhook-signature", signature),
            ],
            body.as_bytes(),
        )
    }

    #[test]
    fn forwards_the_standard_webhooks_example() {
        let outcome =
            host("standard-webhooks", WHSEC).run(|| map(webhook(MSG_SIGNATURE, MSG_BODY)));

        assert_eq!(outcome, Outcome::forward());
    }

    #[test]
    fn accepts_a_secret_without_its_whsec_prefix() {
        let mut host = host("standard-webhooks", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");

        let outcome = host.run(|| map(webhook(MSG_SIGNATURE, MSG_BODY)));

        assert_eq!(outcome, Outcome::forward());
    }

    #[test]
    fn accepts_any_of_several_signatures() {
        let several = format!("v1,bm90IGl0 v1a,ignored {MSG_SIGNATURE} v2,AAAA");

        let outcome = host("standard-webhooks", WHSEC).run(|| map(webhook(&several, MSG_BODY)));

        assert_eq!(outcome, Outcome::forward());
    }

    #[test]
    fn refuses_a_standard_webhook_whose_body_changed() {
        let outcome = host("standard-webhooks", WHSEC)
            .run(|| map(webhook(MSG_SIGNATURE, r#"{"test": 2432232315}"#)));

        assert_eq!(
            rejection(outcome),
            (401, "signature does not match".to_owned())
        );
    }

    #[test]
    fn refuses_standard_webhooks_outside_the_window_either_way() {
        for now in [1_614_265_330 - 301, 1_614_265_330 + 301] {
            let mut host = host("standard-webhooks", WHSEC).now_millis(now * 1000);

            let (status, reason) = rejection(host.run(|| map(webhook(MSG_SIGNATURE, MSG_BODY))));

            assert_eq!(status, 401);
            assert!(reason.contains("window"), "{reason}");
        }
    }

    #[test]
    fn widens_the_window_from_mapper_config() {
        let mut host = host("standard-webhooks", WHSEC)
            .config("tolerance_seconds", "600")
            .now_millis((1_614_265_330 + 500) * 1000);

        let outcome = host.run(|| map(webhook(MSG_SIGNATURE, MSG_BODY)));

        assert_eq!(outcome, Outcome::forward());
    }

    #[test]
    fn names_a_missing_standard_webhooks_header() {
        for missing in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
            let mut incoming = webhook(MSG_SIGNATURE, MSG_BODY);
            incoming.headers.retain(|(name, _)| name != missing);

            let (status, reason) =
                rejection(host("standard-webhooks", WHSEC).run(|| map(incoming)));

            assert_eq!(status, 401);
            assert!(reason.contains(missing), "{reason}");
        }
    }

    #[test]
    fn refuses_a_signature_header_without_v1_entries() {
        let (status, reason) =
            rejection(host("standard-webhooks", WHSEC).run(|| map(webhook("v1a,abc", MSG_BODY))));

        assert_eq!(status, 401);
        assert!(reason.contains("v1"), "{reason}");
    }

    #[test]
    fn forwards_the_github_example() {
        let outcome = host("github", GITHUB_SECRET).run(|| map(github_delivery()));

        assert_eq!(outcome, Outcome::forward());
    }

    #[test]
    fn refuses_github_deliveries_that_are_unsigned_or_wrong() {
        let tampered = GITHUB_SIGNATURE.replace("757", "758");
        let cases = [
            (vec![], "missing `x-hub-signature-256`"),
            (vec![("x-hub-signature-256", "sha1=00")], "`sha256=`"),
            (
                vec![("x-hub-signature-256", &tampered[..])],
                "does not match",
            ),
        ];

        for (headers, named) in cases {
            let incoming = request("POST", "", &headers, GITHUB_BODY.as_bytes());

            let (status, reason) = rejection(host("github", GITHUB_SECRET).run(|| map(incoming)));

            assert_eq!(status, 401);
            assert!(reason.contains(named), "{reason}");
            assert!(!reason.contains("757107"), "{reason}");
        }
    }

    #[test]
    fn checks_jira_signatures_in_sha256_and_sha1() {
        let body = br#"{"webhookEvent":"jira:issue_created"}"#;
        let sha256 = format!(
            "sha256={}",
            encode_hex(&mac(Algorithm::HmacSha256, b"jira-secret", body))
        );
        let sha1 = format!(
            "sha1={}",
            encode_hex(&mac(Algorithm::HmacSha1, b"jira-secret", body))
        );

        for signature in [sha256, sha1] {
            let incoming = request("POST", "", &[("X-Hub-Signature", &signature)], body);

            let outcome = host("jira", "jira-secret").run(|| map(incoming));

            assert_eq!(outcome, Outcome::forward());
        }
    }

    #[test]
    fn refuses_jira_signatures_by_another_algorithm() {
        let incoming = request("POST", "", &[("x-hub-signature", "md5=00")], b"{}");

        let (status, _) = rejection(host("jira", "jira-secret").run(|| map(incoming)));

        assert_eq!(status, 401);
    }

    #[test]
    fn reads_the_secret_name_from_mapper_config() {
        let mut host = FakeHost::new()
            .config("scheme", "github")
            .config("secret", "github_webhook")
            .secret("github_webhook", GITHUB_SECRET);
        assert_eq!(host.run(|| map(github_delivery())), Outcome::forward());
    }

    #[test]
    fn answers_500_and_logs_when_set_up_wrong() {
        let cases = [
            (
                FakeHost::new().secret("signing", GITHUB_SECRET),
                github_delivery(),
            ),
            (
                FakeHost::new()
                    .config("scheme", "gitlab")
                    .secret("signing", GITHUB_SECRET),
                github_delivery(),
            ),
            (
                FakeHost::new().config("scheme", "github"),
                github_delivery(),
            ),
            (
                host("standard-webhooks", "whsec_not base64!"),
                webhook(MSG_SIGNATURE, MSG_BODY),
            ),
            (
                host("standard-webhooks", WHSEC).config("tolerance_seconds", "five"),
                webhook(MSG_SIGNATURE, MSG_BODY),
            ),
        ];

        for (mut host, incoming) in cases {
            let (status, reason) = rejection(host.run(|| map(incoming)));

            assert_eq!(status, 500);
            assert!(!reason.contains("signing"), "{reason}");
            assert_eq!(host.logs().len(), 1);
            assert_eq!(host.logs()[0].0, Level::Error);
        }
    }

    fn github_delivery() -> Request {
        request(
            "POST",
            "",
            &[("x-hub-signature-256", GITHUB_SIGNATURE)],
            GITHUB_BODY.as_bytes(),
        )
    }
}
