//! A stand-in for the host, so that a mapper's unit tests run natively with
//! `cargo test`.
//!
//! Only on non-wasm targets, with the `testing` feature; enable it for tests
//! alone:
//!
//! ```toml
//! [dev-dependencies]
//! eventpush-guest = { version = "0.1", features = ["testing"] }
//! ```
//!
//! Then run the mapper's function inside [`FakeHost::run`]:
//!
//! ```
//! use eventpush_guest::testing::{FakeHost, request};
//! use eventpush_guest::{Outcome, host};
//!
//! fn map(_request: eventpush_guest::Request) -> Outcome {
//!     match host::config("mode").as_deref() {
//!         Some("closed") => Outcome::reject(403, "closed"),
//!         _ => Outcome::forward(),
//!     }
//! }
//!
//! let mut host = FakeHost::new().config("mode", "closed");
//! let outcome = host.run(|| map(request("POST", "", &[], b"{}")));
//! assert!(matches!(outcome, Outcome::Reject(rejection) if rejection.status == 403));
//! ```
//!
//! MACs are computed here as the host computes them, so known-answer vectors
//! from a sender's documentation can be checked end to end.

use std::cell::RefCell;
use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};

use crate::encoding::decode_base64;
use crate::host::{Algorithm, KeyFormat, Level, SignatureError};
use crate::{Outcome, Request, Response};

/// The host's side of the interface, held in memory: `mapper_config` values,
/// secrets, a fixed clock, and the lines the mapper logged.
#[derive(Default)]
pub struct FakeHost {
    config: HashMap<String, String>,
    secrets: HashMap<String, Vec<u8>>,
    now_millis: u64,
    logs: Vec<(Level, String)>,
}

impl FakeHost {
    /// A host with no `mapper_config`, no secrets, and the clock at the Unix
    /// epoch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a `mapper_config` value.
    #[must_use]
    pub fn config(mut self, key: &str, value: &str) -> Self {
        self.config.insert(key.to_owned(), value.to_owned());
        self
    }

    /// Adds a secret to `secrets:` under `name`.
    #[must_use]
    pub fn secret(mut self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        self.secrets.insert(name.to_owned(), value.into());
        self
    }

    /// Fixes the clock, in milliseconds since the Unix epoch.
    #[must_use]
    pub fn now_millis(mut self, millis: u64) -> Self {
        self.now_millis = millis;
        self
    }

    /// Runs `mapper` with this host answering its calls on the current thread.
    pub fn run<R>(&mut self, mapper: impl FnOnce() -> R) -> R {
        let previous = CURRENT.replace(Some(std::mem::take(self)));
        let result = mapper();

        *self = CURRENT
            .replace(previous)
            .expect("the host is in place until the mapper returns");
        result
    }

    /// The lines logged so far, in order.
    pub fn logs(&self) -> &[(Level, String)] {
        &self.logs
    }
}

/// A request as the host hands it over: header names in lowercase, the query
/// string raw and without `?`. The path is `/events/custom/v1/test`.
pub fn request(method: &str, query: &str, headers: &[(&str, &str)], body: &[u8]) -> Request {
    Request {
        method: method.to_owned(),
        path: "/events/custom/v1/test".to_owned(),
        query: query.to_owned(),
        headers: headers
            .iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.as_bytes().to_vec()))
            .collect(),
        body: body.to_vec(),
    }
}

/// The response of a `respond` outcome; panics on any other outcome.
pub fn respond(outcome: Outcome) -> Response {
    match outcome {
        Outcome::Respond(response) => response,
        other => panic!("expected a response, got {other:?}"),
    }
}

/// The status and reason of a `reject` outcome; panics on any other outcome.
pub fn rejection(outcome: Outcome) -> (u16, String) {
    match outcome {
        Outcome::Reject(rejection) => (rejection.status, rejection.reason),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// The MAC of `message` under `key`, as a sender computes it: for signing
/// requests in tests.
pub fn mac(algorithm: Algorithm, key: &[u8], message: &[u8]) -> Vec<u8> {
    fn compute<M: Mac + KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
        let mut mac = <M as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(message);
        mac.finalize().into_bytes().to_vec()
    }

    match algorithm {
        Algorithm::HmacSha1 => compute::<Hmac<sha1::Sha1>>(key, message),
        Algorithm::HmacSha256 => compute::<Hmac<sha2::Sha256>>(key, message),
        Algorithm::HmacSha512 => compute::<Hmac<sha2::Sha512>>(key, message),
    }
}

/// `bytes` as lowercase hexadecimal digits.
pub fn encode_hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// `bytes` as standard base64, padded.
pub fn encode_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

thread_local! {
    static CURRENT: RefCell<Option<FakeHost>> = const { RefCell::new(None) };
}

fn with_host<R>(call: impl FnOnce(&mut FakeHost) -> R) -> R {
    CURRENT.with_borrow_mut(|host| {
        call(
            host.as_mut()
                .expect("host functions are called inside `FakeHost::run`"),
        )
    })
}

/// The same functions as the generated imports, answered by [`FakeHost`].
pub(crate) mod imports {
    use super::*;

    pub fn log(level: Level, message: &str) {
        with_host(|host| host.logs.push((level, message.to_owned())));
    }

    pub fn config(key: &str) -> Option<String> {
        with_host(|host| host.config.get(key).cloned())
    }

    pub fn now_millis() -> u64 {
        with_host(|host| host.now_millis)
    }

    pub fn verify_mac(
        algorithm: Algorithm,
        secret: &str,
        format: KeyFormat,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, SignatureError> {
        let stored = with_host(|host| host.secrets.get(secret).cloned())
            .ok_or_else(|| SignatureError::UnknownSecret(secret.to_owned()))?;
        let key = match format {
            KeyFormat::Raw => stored,
            KeyFormat::Base64 => std::str::from_utf8(&stored)
                .ok()
                .map(|text| text.strip_prefix("whsec_").unwrap_or(text))
                .and_then(decode_base64)
                .ok_or_else(|| SignatureError::BadSecret(secret.to_owned()))?,
        };

        // A test double need not compare in constant time; the host does.
        Ok(mac(algorithm, &key, message) == signature)
    }

    pub fn secret_equals(secret: &str, value: &[u8]) -> Result<bool, SignatureError> {
        let stored = with_host(|host| host.secrets.get(secret).cloned())
            .ok_or_else(|| SignatureError::UnknownSecret(secret.to_owned()))?;

        Ok(stored == value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::decode_hex;
    use crate::host;

    #[test]
    fn checks_the_github_known_answer() {
        let signature =
            decode_hex("757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17").unwrap();
        let mut fake = FakeHost::new().secret("signing", "It's a Secret to Everybody");

        let valid = fake.run(|| {
            host::verify_mac(
                Algorithm::HmacSha256,
                "signing",
                KeyFormat::Raw,
                b"Hello, World!",
                &signature,
            )
        });

        assert_eq!(valid, Ok(true));
    }

    #[test]
    fn names_a_missing_or_undecodable_secret() {
        let mut fake = FakeHost::new().secret("signing", "not base64!");

        let (missing, bad) = fake.run(|| {
            (
                host::secret_equals("other", b"x"),
                host::verify_mac(
                    Algorithm::HmacSha256,
                    "signing",
                    KeyFormat::Base64,
                    b"",
                    b"",
                ),
            )
        });

        assert_eq!(
            missing,
            Err(SignatureError::UnknownSecret("other".to_owned()))
        );
        assert_eq!(bad, Err(SignatureError::BadSecret("signing".to_owned())));
    }

    #[test]
    fn keeps_what_the_mapper_logged() {
        let mut fake = FakeHost::new();

        fake.run(|| crate::info!("saw {} events", 3));

        assert_eq!(fake.logs(), [(Level::Info, "saw 3 events".to_owned())]);
    }
}
