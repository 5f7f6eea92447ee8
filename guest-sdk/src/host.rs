//! What the host gives a mapper, and nothing more: a log, the datasource's
//! `mapper_config`, the time, and signature checks.
//!
//! Secrets are named, never held: [`verify_mac`] and [`secret_equals`] take
//! the name of an entry in the datasource's `secrets:` and the host compares
//! in constant time, so a secret's bytes never enter the mapper's memory.
//!
//! The mapper has no files, environment or sockets. Built for
//! `wasm32-wasip2`, anything it prints to stdout or stderr lands in the
//! host's log as well, and WASI's clocks give the real time; [`now_millis`]
//! is the clock that the host's tests can stop.

pub use crate::__bindings::eventpush::mapper::host::{Algorithm, KeyFormat, Level, SignatureError};

#[cfg(any(target_arch = "wasm32", not(feature = "testing")))]
use crate::__bindings::eventpush::mapper::host as imports;
#[cfg(all(feature = "testing", not(target_arch = "wasm32")))]
use crate::testing::imports;

/// Writes a line to the host's log, attributed to the mapper. The host caps
/// its length. Never log a payload, a signature or anything secret; the
/// macros [`info!`](crate::info) and friends format a line first.
pub fn log(level: Level, message: &str) {
    imports::log(level, message);
}

/// The value of `key` in the datasource's `mapper_config`, or `None` when it
/// is not set.
pub fn config(key: &str) -> Option<String> {
    imports::config(key)
}

/// The value of `key` in `mapper_config`, or `default` when it is not set.
pub fn config_or(key: &str, default: &str) -> String {
    config(key).unwrap_or_else(|| default.to_owned())
}

/// The current time in milliseconds since the Unix epoch. Tests of the host
/// may fix it.
pub fn now_millis() -> u64 {
    imports::now_millis()
}

/// Whether `signature` is the MAC of `message` under the secret named `secret`
/// in the datasource's `secrets:`, read as `format`; compared in constant time.
///
/// Pass the signature decoded (see [`crate::encoding`]) and the message as
/// the exact bytes the sender signed.
///
/// # Errors
///
/// [`SignatureError::UnknownSecret`] when the datasource has no such secret,
/// [`SignatureError::BadSecret`] when it does not decode as `format`. Both are
/// configuration faults, not the sender's.
pub fn verify_mac(
    algorithm: Algorithm,
    secret: &str,
    format: KeyFormat,
    message: &[u8],
    signature: &[u8],
) -> Result<bool, SignatureError> {
    imports::verify_mac(algorithm, secret, format, message, signature)
}

/// Whether `value` equals the secret named `secret`, compared in constant time
/// (shared tokens such as Microsoft Graph's `clientState`).
///
/// # Errors
///
/// As for [`verify_mac`].
pub fn secret_equals(secret: &str, value: &[u8]) -> Result<bool, SignatureError> {
    imports::secret_equals(secret, value)
}
