//! Refusals for mappers that verify their senders.
//!
//! A signature or shared secret that is missing or wrong is the sender's
//! fault: 401, with a reason that names what is wrong but never a value. A
//! secret or setting the datasource lacks is the operator's: logged for them,
//! and answered 500 with a fixed reason.

use crate::Outcome;
use crate::host::{self, SignatureError};

/// Why a verifying mapper does not let a request go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The body cannot be read as the mapper needs it: 400 with this reason.
    Malformed(&'static str),
    /// The sender is not who it claims: 401 with this reason.
    Unauthorized(&'static str),
    /// The datasource is set up wrong: logged, and answered 500.
    Misconfigured(String),
}

impl From<Refusal> for Outcome {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Malformed(reason) => Outcome::reject(400, reason),
            Refusal::Unauthorized(reason) => Outcome::reject(401, reason),
            Refusal::Misconfigured(problem) => {
                crate::error!("{problem}");
                Outcome::reject(500, "the datasource's mapper is not set up")
            }
        }
    }
}

impl From<SignatureError> for Refusal {
    fn from(error: SignatureError) -> Self {
        Refusal::Misconfigured(match error {
            SignatureError::UnknownSecret(name) => {
                format!("the datasource has no secret `{name}` in `secrets`")
            }
            SignatureError::BadSecret(reason) => reason,
        })
    }
}

/// `tolerance_seconds` from `mapper_config`: how far a signed timestamp may
/// be from now, either way; `default` when unset.
pub fn tolerance_seconds(default: u64) -> Result<u64, Refusal> {
    match host::config("tolerance_seconds") {
        None => Ok(default),
        Some(text) => text.trim().parse().map_err(|_| {
            Refusal::Misconfigured(format!(
                "`tolerance_seconds` in `mapper_config` is not a whole number: `{text}`"
            ))
        }),
    }
}
