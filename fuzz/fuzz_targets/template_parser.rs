//! Any text is parsed into a template or refused with problems that each
//! name a line of the input.
#![no_main]

use eventpush::template::Template;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Err(problems) = Template::parse(text) {
        assert!(!problems.is_empty(), "refused without a reason");
        // YAML breaks lines at `\n`, `\r\n` and a lone `\r`; a problem at
        // the end of the input is on the line after the last break.
        let breaks = text
            .replace("\r\n", "\n")
            .chars()
            .filter(|c| matches!(c, '\n' | '\r'))
            .count() as u64;
        for problem in problems {
            assert!(
                problem.line >= 1 && problem.line <= breaks + 1,
                "{problem:?}"
            );
        }
    }
});
