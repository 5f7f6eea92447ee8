//! Any text is parsed into a template or refused with problems that each
//! name a line of the input.
#![no_main]

use eventpush::template::Template;
use libfuzzer_sys::fuzz_target;

#[path = "../../host/tests/support/shared.rs"]
mod shared;

fuzz_target!(|text: &str| {
    if let Err(problems) = Template::parse(text) {
        assert!(!problems.is_empty(), "refused without a reason");
        let breaks = shared::yaml_line_breaks(text);
        for problem in problems {
            assert!(
                problem.line >= 1 && problem.line <= breaks + 1,
                "{problem:?}"
            );
        }
    }
});
