//! Extraction cases as fixture folders under `tests/fixtures/extract/`: each
//! holds `template.yaml` (or `template.link`, a relative path to a shipped
//! template), `payload.json` and `expected.json`, the extraction
//! as JSON. A mismatch prints a diff; `EVENTPUSH_BLESS=1` rewrites the
//! expectations from what the code produces now.

use std::path::{Path, PathBuf};

use super::Template;

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/extract");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .expect("the extraction fixtures exist")
        .map(|entry| entry.expect("readable fixture folder").path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    cases
}

fn run(case: &Path) -> String {
    // A case may point at a shipped template instead of holding a copy.
    let template_path = match std::fs::read_to_string(case.join("template.link")) {
        Ok(link) => case.join(link.trim()),
        Err(_) => case.join("template.yaml"),
    };
    let template = Template::load(&template_path)
        .unwrap_or_else(|e| panic!("{}: template does not load:\n{e}", case.display()));
    let body = std::fs::read(case.join("payload.json")).expect("payload.json");
    let payload = template
        .read_payload(&body)
        .unwrap_or_else(|e| panic!("{}: payload.json is not JSON: {e}", case.display()));
    let extraction = template.extract(&payload);
    // The payload as the template reads it gives what the whole one gives.
    let whole = serde_json::from_slice(&body).expect("payload.json is JSON");
    assert_eq!(
        extraction,
        template.extract(&whole),
        "{}: extraction differs from the payload's kept part",
        case.display()
    );
    serde_json::to_string_pretty(&extraction).expect("serializes") + "\n"
}

#[test]
fn extraction_matches_every_fixture() {
    let bless = std::env::var_os("EVENTPUSH_BLESS").is_some();
    let mut failed = Vec::new();
    for case in cases() {
        let actual = run(&case);
        let expected_path = case.join("expected.json");
        if bless {
            std::fs::write(&expected_path, &actual).expect("writable fixture");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            let diff = similar::TextDiff::from_lines(&expected, &actual);
            eprintln!(
                "--- {} (expected)\n+++ actual\n{}",
                expected_path.display(),
                diff.unified_diff().context_radius(3)
            );
            failed.push(
                case.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    assert!(
        failed.is_empty(),
        "extraction differs for {failed:?}; if the new output is right, rerun with EVENTPUSH_BLESS=1"
    );
}
