//! Extraction with the shipped Okta template gives every selected event an
//! outcome, whatever JSON arrives.
#![no_main]

use eventpush::template::Extracted;
use libfuzzer_sys::fuzz_target;

#[path = "../../host/tests/support/shared.rs"]
mod shared;

fuzz_target!(|bytes: &[u8]| {
    let Ok(payload) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return;
    };
    for event in shared::okta_template().extract(&payload).events {
        if let Extracted::Matched(event) = event {
            assert!(!event.unique_id.is_empty());
            assert!(!event.subject.is_empty());
        }
    }
});
