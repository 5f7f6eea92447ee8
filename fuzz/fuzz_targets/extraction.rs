//! Extraction with the shipped Okta template gives every selected event an
//! outcome, whatever JSON arrives.
#![no_main]

use std::sync::LazyLock;

use eventpush::template::{Extracted, Template};
use libfuzzer_sys::fuzz_target;

static TEMPLATE: LazyLock<Template> = LazyLock::new(|| {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../templates/okta-event-hooks.yaml"
    );
    Template::load(path.as_ref()).expect("the shipped template loads")
});

fuzz_target!(|bytes: &[u8]| {
    let Ok(payload) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return;
    };
    for event in TEMPLATE.extract(&payload).events {
        if let Extracted::Matched(event) = event {
            assert!(!event.unique_id.is_empty());
            assert!(!event.subject.is_empty());
        }
    }
});
