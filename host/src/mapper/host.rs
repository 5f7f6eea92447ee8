//! What the host gives a mapper: its log, its configuration, the time, and
//! signature checks over secrets it never sees. Also the memory limiter.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use subtle::ConstantTimeEq;

use super::State;
use super::bindings::eventpush::mapper::{host, types};

/// A secret's bytes. `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps secret bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A datasource's secrets by name.
pub type Secrets = BTreeMap<String, Secret>;

/// The time a mapper sees: the system's, or fixed (for tests and `try`).
#[derive(Debug, Clone, Default)]
pub struct Clock(Option<u64>);

impl Clock {
    /// A clock stopped at `millis` since the Unix epoch.
    pub fn fixed(millis: u64) -> Self {
        Self(Some(millis))
    }

    /// The system clock.
    pub fn system() -> Self {
        Self(None)
    }

    /// The system clock, unless `EVENTPUSH_MAPPER_CLOCK` holds Unix
    /// milliseconds to stop it at: for tests that replay signed requests
    /// at the time they were signed. Never set it in production.
    pub fn from_env() -> Self {
        Self::from_var("EVENTPUSH_MAPPER_CLOCK", "mappers")
    }

    /// The system clock, unless the environment variable `name` holds Unix
    /// milliseconds to stop it at; `who` names what sees the clock in the
    /// warning logged when it is stopped.
    pub fn from_var(name: &str, who: &str) -> Self {
        match std::env::var(name) {
            Ok(text) => match text.trim().parse() {
                Ok(millis) => {
                    tracing::warn!(millis, "{who} see a fixed clock ({name})");
                    Self::fixed(millis)
                }
                Err(_) => {
                    tracing::warn!("{name} is not a number of milliseconds; ignored");
                    Self::system()
                }
            },
            Err(_) => Self::system(),
        }
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_millis(&self) -> u64 {
        self.0
            .unwrap_or_else(|| chrono::Utc::now().timestamp_millis().max(0) as u64)
    }
}

/// Caps linear memory growth and remembers the peak.
pub(super) struct Limiter {
    cap: usize,
    peak: usize,
    exceeded: bool,
}

impl Limiter {
    pub(super) fn new(cap: usize) -> Self {
        Self {
            cap,
            peak: 0,
            exceeded: false,
        }
    }

    pub(super) fn peak(&self) -> usize {
        self.peak
    }

    pub(super) fn exceeded(&self) -> bool {
        self.exceeded
    }
}

// Written here because wasmtime's `StoreLimits` enforces a cap but does not
// report the peak that each call's receipt records.
impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.cap {
            self.exceeded = true;
            return Ok(false);
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

impl types::Host for State {}

impl host::Host for State {
    fn log(&mut self, level: host::Level, message: String) {
        let Some(line) = self.take_log_budget(&message) else {
            return;
        };
        let (mapper, datasource) = (&self.mapper, &self.context.datasource);
        match level {
            host::Level::Trace => tracing::trace!(%mapper, %datasource, "mapper: {line}"),
            host::Level::Debug => tracing::debug!(%mapper, %datasource, "mapper: {line}"),
            host::Level::Info => tracing::info!(%mapper, %datasource, "mapper: {line}"),
            host::Level::Warn => tracing::warn!(%mapper, %datasource, "mapper: {line}"),
            host::Level::Error => tracing::error!(%mapper, %datasource, "mapper: {line}"),
        }
    }

    fn config(&mut self, key: String) -> Option<String> {
        self.context.config.get(&key).cloned()
    }

    fn now_millis(&mut self) -> u64 {
        self.context.clock.now_millis()
    }

    fn verify_mac(
        &mut self,
        algorithm: host::Algorithm,
        secret: String,
        format: host::KeyFormat,
        message: Vec<u8>,
        signature: Vec<u8>,
    ) -> Result<bool, host::SignatureError> {
        let key = self.key(&secret, format)?;
        let expected = match algorithm {
            host::Algorithm::HmacSha1 => mac::<Hmac<sha1::Sha1>>(&key, &message),
            host::Algorithm::HmacSha256 => mac::<Hmac<sha2::Sha256>>(&key, &message),
            host::Algorithm::HmacSha512 => mac::<Hmac<sha2::Sha512>>(&key, &message),
        };
        Ok(bool::from(expected.ct_eq(&signature)))
    }

    fn secret_equals(
        &mut self,
        secret: String,
        value: Vec<u8>,
    ) -> Result<bool, host::SignatureError> {
        let key = self.key(&secret, host::KeyFormat::Raw)?;
        Ok(bool::from(key.ct_eq(&value)))
    }
}

impl State {
    /// The part of `text` that fits the call's remaining log budget, with
    /// control characters escaped so that a mapper cannot start a log line
    /// of its own; `None` once the budget is spent or the text is empty.
    pub(super) fn take_log_budget(&mut self, text: &str) -> Option<String> {
        let mut escaped = String::with_capacity(text.len());
        for c in text.chars() {
            if c.is_control() {
                escaped.extend(c.escape_default());
            } else {
                escaped.push(c);
            }
        }
        let line = truncate(&escaped, self.log_budget);
        if line.is_empty() {
            return None;
        }
        self.log_budget -= line.len();
        let cut = line.len() < escaped.len();
        Some(if cut {
            format!("{line} [truncated]")
        } else {
            line.to_owned()
        })
    }

    fn key(&self, name: &str, format: host::KeyFormat) -> Result<Vec<u8>, host::SignatureError> {
        let secret = self
            .context
            .secrets
            .get(name)
            .ok_or_else(|| host::SignatureError::UnknownSecret(name.to_owned()))?;
        match format {
            host::KeyFormat::Raw => Ok(secret.0.clone()),
            host::KeyFormat::Base64 => {
                let text = std::str::from_utf8(&secret.0).unwrap_or_default().trim();
                let text = text.strip_prefix("whsec_").unwrap_or(text);
                STANDARD.decode(text).map_err(|_| {
                    host::SignatureError::BadSecret(format!("secret `{name}` is not base64"))
                })
            }
        }
    }
}

fn mac<M: Mac + KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = <M as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// At most `budget` bytes of `text`, cut at a character boundary.
fn truncate(text: &str, budget: usize) -> &str {
    if text.len() <= budget {
        return text;
    }
    let mut end = budget;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Writes what the mapper printed to the host's log, attributed to it,
/// within what is left of the call's log budget.
pub(super) fn forward_output(state: &mut State) {
    let Some(wasi) = &state.wasi else {
        return;
    };
    let printed = wasi.output.contents();
    for line in String::from_utf8_lossy(&printed).lines() {
        if line.trim().is_empty() {
            continue;
        }
        let Some(line) = state.take_log_budget(line) else {
            break;
        };
        tracing::info!(mapper = %state.mapper, datasource = %state.context.datasource, "mapper output: {line}");
    }
}
