//! The command line: `validate`, `try`, and what `serve` says and reads.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{
    LOGINS, Server, Source, eventpush, events, login, okta_sample, okta_template, repo_path,
    run_in, write_config,
};

/// A template with an unknown key at line 6, column 5.
const UNKNOWN_KEY: &str = "\
pushEventsPath: $.events[*]
entities:
  Login:
    externalId: login
    pushExternalId: $.type
    colour: blue
    attributes:
      - name: id
        externalId: $.id
        type: String
        uniqueId: true
      - name: subject
        externalId: $.user
        type: String
";

/// A template with an unknown attribute type at line 13, column 15.
const UNKNOWN_TYPE: &str = "\
pushEventsPath: $.events[*]
entities:
  Login:
    externalId: login
    pushExternalId: $.type
    attributes:
      - name: id
        externalId: $.id
        type: String
        uniqueId: true
      - name: subject
        externalId: $.user
        type: Strng
";

/// Parses `FILE:LINE:COLUMN: message`.
fn diagnostic(line: &str) -> (String, u64, u64, String) {
    let mut parts = line.splitn(4, ':');
    let mut next = || {
        parts
            .next()
            .unwrap_or_else(|| panic!("not FILE:LINE:COLUMN: `{line}`"))
    };
    let file = next().to_owned();
    let row = next()
        .parse()
        .unwrap_or_else(|_| panic!("no line number: `{line}`"));
    let column = next()
        .parse()
        .unwrap_or_else(|_| panic!("no column: `{line}`"));
    let message = next().trim().to_owned();
    assert!(!message.is_empty(), "no message: `{line}`");
    (file, row, column, message)
}

/// Writes `text` to `name` in `dir` and runs `validate` on it.
/// What a command printed on stdout, as JSON.
fn stdout_json(ran: &crate::util::Ran) -> Value {
    serde_json::from_str(&ran.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", ran.stdout))
}

fn validate_text(dir: &std::path::Path, name: &str, text: &str) -> (crate::util::Ran, String) {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    let path = path.to_string_lossy().into_owned();
    (run_in(dir, &["validate", &path]), path)
}

#[test]
fn validate_is_silent_for_good_templates() {
    let dir = tempfile::tempdir().unwrap();
    let logins = dir.path().join("logins.yaml");
    std::fs::write(&logins, LOGINS).unwrap();

    let ran = run_in(
        dir.path(),
        &[
            "validate",
            &okta_template().to_string_lossy(),
            &logins.to_string_lossy(),
        ],
    );

    assert_eq!(ran.code, 0, "{ran:#?}");
    assert_eq!(ran.stdout, "");
    assert_eq!(ran.stderr, "");
}

/// Validates `text` and checks for exactly one error, at `place`, naming `word`.
fn assert_one_error_at(text: &str, place: (u64, u64), word: &str) {
    let dir = tempfile::tempdir().unwrap();

    let (ran, path) = validate_text(dir.path(), "template.yaml", text);

    assert_eq!(ran.code, 1, "{ran:#?}");
    let lines: Vec<&str> = ran.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{ran:#?}");
    let (file, row, column, message) = diagnostic(lines[0]);
    assert_eq!(file, path);
    assert_eq!((row, column), place, "{}", lines[0]);
    assert!(message.contains(word), "{message}");
}

#[test]
fn validate_points_at_an_unknown_key() {
    assert_one_error_at(UNKNOWN_KEY, (6, 5), "colour");
}

#[test]
fn validate_points_at_an_unknown_attribute_type() {
    assert_one_error_at(UNKNOWN_TYPE, (13, 15), "Strng");
}

#[test]
fn validate_reports_every_error_of_every_file_one_line_each() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    std::fs::write(&good, LOGINS).unwrap();
    // Two mistakes the YAML shape allows: a child whose parent does not exist
    // (line 13, column 13) and an entity without a `uniqueId` attribute (lines 18 to 22).
    let two_errors = "\
pushEventsPath: $.events[*]
entities:
  Login:
    externalId: login
    pushExternalId: $.type
    attributes:
      - name: id
        externalId: $.id
        type: String
        uniqueId: true
      - { name: subject, externalId: $.user, type: String }
  Device:
    parent: Nowhere
    externalId: device
    pushExternalId: $.device
    attributes:
      - { name: id, externalId: $.id, type: String, uniqueId: true }
  Logout:
    externalId: logout
    pushExternalId: $.type
    attributes:
      - { name: subject, externalId: $.user, type: String }
";
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, two_errors).unwrap();
    let unknown = dir.path().join("unknown-key.yaml");
    std::fs::write(&unknown, UNKNOWN_KEY).unwrap();

    let ran = run_in(
        dir.path(),
        &[
            "validate",
            &good.to_string_lossy(),
            &bad.to_string_lossy(),
            &unknown.to_string_lossy(),
        ],
    );

    assert_eq!(ran.code, 1, "{ran:#?}");
    let found: Vec<_> = ran.stderr.lines().map(diagnostic).collect();
    let places: Vec<(String, u64)> = found.iter().map(|(f, l, _, _)| (f.clone(), *l)).collect();
    let bad = bad.to_string_lossy().into_owned();
    let unknown = unknown.to_string_lossy().into_owned();
    assert_eq!(places.len(), 3, "{}", ran.stderr);
    assert_eq!(places[0], (bad.clone(), 13), "{}", ran.stderr);
    assert_eq!(places[1].0, bad, "{}", ran.stderr);
    assert!((18..=22).contains(&places[1].1), "{}", ran.stderr);
    assert_eq!(places[2], (unknown, 6), "{}", ran.stderr);
    assert_eq!(found[0].2, 13, "{}", ran.stderr);
    assert!(found[0].3.contains("Nowhere"), "{}", ran.stderr);
    assert!(found[1].3.contains("Logout"), "{}", ran.stderr);
}

#[test]
fn try_whose_reader_stops_early_ends_quietly() {
    let sample = repo_path("tests/e2e/fixtures/okta-event-hook.json");
    let mut child = eventpush()
        .args(["try", "--template"])
        .arg(okta_template())
        .arg(&sample)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("eventpush starts");
    // The reader goes away before the answer is printed, as `| head -0` would.
    drop(child.stdout.take());

    let out = child.wait_with_output().expect("eventpush ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn try_prints_the_answer_and_what_would_be_stored() {
    let dir = tempfile::tempdir().unwrap();
    let sample = repo_path("tests/e2e/fixtures/okta-event-hook.json");

    let ran = run_in(
        dir.path(),
        &[
            "try",
            "--template",
            &okta_template().to_string_lossy(),
            &sample.to_string_lossy(),
        ],
    );

    assert_eq!(ran.code, 0, "{ran:#?}");
    let out = stdout_json(&ran);
    assert_eq!(out["status"], 202, "{out:#}");
    let stored = out["stored"].as_array().expect("`stored` is a list");
    assert_eq!(stored.len(), 1, "{out:#}");
    assert_eq!(stored[0]["id"], "f1d0b993-cc19-11ed-a688-db22c99ef6c4");
    assert_eq!(stored[0]["type"], "user.session.start");
    assert_eq!(
        stored[0]["attributes"]["published"],
        "2023-03-26T21:05:32.159Z"
    );
    assert_eq!(stored[0]["children"].as_array().map(Vec::len), Some(2));
    assert_eq!(out["answer"]["accepted"], 1, "{out:#}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "`try` wrote files: {left:?}");
}

#[test]
fn try_prints_the_answer_the_server_gives() {
    let server = Server::start(vec![Source::okta("okta")]);
    let token = server.token("okta");
    // Valid JSON, but over the default `max_body_bytes`: the server refuses it with 413.
    let oversized = format!(
        r#"{{"data": {{"events": []}}, "pad": "{}"}}"#,
        "x".repeat(1 << 20)
    );
    for body in [
        r#"{"data": {"events": []}}"#,
        r#"{"data": {"events": ["#,
        &oversized,
    ] {
        let payload = server.dir().join("payload.json");
        std::fs::write(&payload, body).unwrap();
        let ran = run_in(
            server.dir(),
            &[
                "try",
                "--template",
                &okta_template().to_string_lossy(),
                &payload.to_string_lossy(),
            ],
        );
        let out = stdout_json(&ran);
        let reply = server.send(
            server
                .post("/events/custom/v1/okta")
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(body.to_owned()),
        );
        assert_eq!(out["status"], reply.status, "{out:#}");
        assert_eq!(
            out["answer"],
            reply.json(),
            "{}",
            &body[..body.len().min(200)]
        );
    }
}

#[test]
fn try_takes_the_body_limit_of_a_datasource_that_raised_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut padded: Value = serde_json::from_slice(
        &std::fs::read(repo_path("tests/e2e/fixtures/okta-event-hook.json")).unwrap(),
    )
    .unwrap();
    padded["pad"] = Value::String("x".repeat(1 << 20));
    let payload = dir.path().join("padded.json");
    std::fs::write(&payload, padded.to_string()).unwrap();
    let template = okta_template();
    let run = |limit: &[&str]| {
        let mut args = vec!["try", "--template", template.to_str().unwrap()];
        args.extend(limit);
        args.push(payload.to_str().unwrap());
        run_in(dir.path(), &args)
    };

    let default = run(&[]);
    let raised = run(&["--max-body-bytes", "2097152"]);

    assert_eq!(default.code, 1, "{default:#?}");
    assert_eq!(stdout_json(&default)["status"], 413);
    assert_eq!(raised.code, 0, "{raised:#?}");
    assert_eq!(stdout_json(&raised)["status"], 202);
}

#[test]
fn try_exits_1_for_malformed_json() {
    let dir = tempfile::tempdir().unwrap();
    let payload = dir.path().join("broken.json");
    std::fs::write(&payload, "{\"data\": {\"events\": [").unwrap();

    let ran = run_in(
        dir.path(),
        &[
            "try",
            "--template",
            &okta_template().to_string_lossy(),
            &payload.to_string_lossy(),
        ],
    );

    assert_eq!(ran.code, 1, "{ran:#?}");
    let out = stdout_json(&ran);
    assert_eq!(out["status"], 400, "{out:#}");
}

#[test]
fn try_exits_1_when_every_event_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("logins.yaml");
    std::fs::write(&template, LOGINS).unwrap();
    let payload = dir.path().join("nameless.json");
    let mut nameless = login("login", "e1", "ann");
    nameless.as_object_mut().unwrap().remove("user");
    std::fs::write(&payload, events(vec![nameless]).to_string()).unwrap();

    let ran = run_in(
        dir.path(),
        &[
            "try",
            "--template",
            &template.to_string_lossy(),
            &payload.to_string_lossy(),
        ],
    );

    assert_eq!(ran.code, 1, "{ran:#?}");
    let out: Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(out["status"], 422, "{out:#}");
}

#[test]
fn try_exits_2_for_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let sample = repo_path("tests/e2e/fixtures/okta-event-hook.json");
    let sample = sample.to_string_lossy();
    let template = okta_template();
    let template = template.to_string_lossy();

    let no_template = run_in(dir.path(), &["try", &sample]);
    let no_payload = run_in(dir.path(), &["try", "--template", &template]);
    let unknown_flag = run_in(
        dir.path(),
        &["try", "--template", &template, "--colour", "blue", &sample],
    );
    let bad_header = run_in(
        dir.path(),
        &[
            "try",
            "--template",
            &template,
            "--header",
            "no colon",
            &sample,
        ],
    );

    for ran in [no_template, no_payload, unknown_flag, bad_header] {
        assert_eq!(ran.code, 2, "{ran:#?}");
        assert_eq!(ran.stdout, "", "{ran:#?}");
        assert!(!ran.stderr.is_empty(), "{ran:#?}");
    }
}

#[test]
fn try_exits_2_when_a_file_cannot_be_read() {
    let dir = tempfile::tempdir().unwrap();
    let sample = repo_path("tests/e2e/fixtures/okta-event-hook.json");
    let sample = sample.to_string_lossy();
    let template = okta_template();
    let template = template.to_string_lossy();
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, "entities: [").unwrap();
    let broken = broken.to_string_lossy();
    std::fs::write(dir.path().join("listed.yaml"), "scheme: [github]\n").unwrap();

    let cases = [
        (
            vec!["try", "--template", &template, "missing.json"],
            "missing.json",
        ),
        (
            vec!["try", "--template", "missing.yaml", &sample],
            "`missing.yaml`: No such file",
        ),
        (vec!["try", "--template", &broken, &sample], "broken.yaml"),
        (
            vec![
                "try",
                "--template",
                &template,
                "--mapper",
                "gone.wasm",
                &sample,
            ],
            "gone.wasm",
        ),
        (
            vec![
                "try",
                "--template",
                &template,
                "--mapper",
                "builtin:okta-verify",
                "--mapper-config",
                "listed.yaml",
                &sample,
            ],
            "listed.yaml:1:9: `scheme`: ",
        ),
    ];

    for (args, named) in cases {
        let ran = run_in(dir.path(), &args);
        assert_eq!(ran.code, 2, "{ran:#?}");
        assert_eq!(ran.stdout, "", "{ran:#?}");
        assert!(ran.stderr.contains(named), "{ran:#?}");
    }
}

#[test]
fn serve_logs_where_it_listens_and_each_datasource() {
    let server = Server::start(vec![Source::okta("okta"), Source::template("app", LOGINS)]);

    let listening = server.log_records("listening");
    let serving = server.log_records("serving datasource");

    assert_eq!(listening.len(), 1, "{}", server.log_text());
    assert_eq!(listening[0]["fields"]["address"], server.address.as_str());
    let mut names: Vec<&str> = serving
        .iter()
        .filter_map(|r| r["fields"]["datasource"].as_str())
        .collect();
    names.sort();
    assert_eq!(names, ["app", "okta"], "{}", server.log_text());
    let health = server.send(server.get("/healthz"));
    let ready = server.send(server.get("/readyz"));
    assert_eq!(health.status, 200, "{health:?}");
    assert_eq!(ready.status, 200, "{ready:?}");
}

#[test]
fn serve_logs_for_people_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &[Source::template("app", LOGINS)]);
    let mut child = eventpush()
        .args(["serve", "--config"])
        .arg(&config)
        .args(["--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("failed to start `eventpush serve`");
    let (lines_tx, lines) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });

    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    let listening = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains("listening") => break line,
            Ok(line) => seen.push(line),
            Err(_) => {
                let _ = child.kill();
                panic!("no `listening` line; stderr so far:\n{}", seen.join("\n"));
            }
        }
    };
    let _ = child.kill();
    let _ = child.wait();

    assert!(
        serde_json::from_str::<Value>(&listening).is_err(),
        "{listening}"
    );
    assert!(listening.contains("127.0.0.1:"), "{listening}");
    assert!(
        seen.iter().any(|l| l.contains("app")),
        "no line names the datasource:\n{}",
        seen.join("\n")
    );
}

#[test]
fn resolves_relative_paths_against_the_configuration_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("templates")).unwrap();
    std::fs::write(dir.path().join("templates/logins.yaml"), LOGINS).unwrap();
    let config = dir.path().join("eventpush.yaml");
    std::fs::write(
        &config,
        "database: data/events.db\ndatasources:\n  app:\n    template: templates/logins.yaml\n",
    )
    .unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let config = config.to_string_lossy();

    let token = run_in(
        elsewhere.path(),
        &[
            "token",
            "create",
            "--datasource",
            "app",
            "--config",
            &config,
        ],
    )
    .success();

    assert_eq!(token.stdout.trim().lines().count(), 1, "{token:#?}");
    assert!(dir.path().join("data/events.db").exists());
    let stray: Vec<_> = std::fs::read_dir(elsewhere.path()).unwrap().collect();
    assert!(
        stray.is_empty(),
        "files written in the working directory: {stray:?}"
    );
}

#[test]
fn token_commands_take_the_database_from_the_flag_over_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &[Source::template("app", LOGINS)]);
    let config = config.to_string_lossy();
    let other = dir.path().join("other.db");
    let other = other.to_string_lossy();

    let token = run_in(
        dir.path(),
        &[
            "token",
            "create",
            "--datasource",
            "app",
            "--config",
            &config,
            "--database",
            &other,
        ],
    )
    .success();
    let listed_elsewhere = run_in(dir.path(), &["token", "list", "--config", &config]).success();
    let listed_here = run_in(
        dir.path(),
        &["token", "list", "--config", &config, "--database", &other],
    )
    .success();

    assert!(!token.stdout.trim().is_empty());
    assert!(dir.path().join("other.db").exists());
    let rows = |text: &str| text.lines().filter(|l| l.contains("app")).count();
    assert_eq!(rows(&listed_here.stdout), 1, "{listed_here:#?}");
    assert_eq!(rows(&listed_elsewhere.stdout), 0, "{listed_elsewhere:#?}");
}

#[test]
fn serve_takes_the_database_from_the_flag_over_the_file() {
    let elsewhere = tempfile::tempdir().unwrap();
    let database = elsewhere.path().join("flagged.db");
    let database = database.to_string_lossy().into_owned();
    let server = Server::builder()
        .source(Source::template("app", LOGINS))
        .arg("--database")
        .arg(&database)
        .start();
    let token = server
        .cli(&[
            "token",
            "create",
            "--datasource",
            "app",
            "--database",
            &database,
        ])
        .success()
        .stdout
        .trim()
        .to_owned();

    let reply = server.push_json("app", &token, &events(vec![login("login", "e1", "ann")]));

    assert_eq!(reply.status, 202, "{reply:?}");
    assert!(!server.dir().join("eventpush.db").exists());
}

#[test]
fn refuses_a_token_for_a_datasource_the_configuration_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &[Source::template("app", LOGINS)]);
    let config = config.to_string_lossy();

    let ran = run_in(
        dir.path(),
        &[
            "token",
            "create",
            "--datasource",
            "nowhere",
            "--config",
            &config,
        ],
    );

    assert_ne!(ran.code, 0, "{ran:#?}");
    assert_eq!(ran.stdout, "", "{ran:#?}");
    assert!(ran.stderr.contains("nowhere"), "{ran:#?}");
}

#[test]
fn token_commands_refuse_a_named_configuration_they_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("tokens.db");
    let database = database.to_string_lossy();

    // A token command with a configuration named but missing.
    let missing_config = |command: &[&str]| {
        let named = ["--config", "missing.yaml", "--database", &database];
        run_in(dir.path(), &[command, &named].concat())
    };

    let created = missing_config(&["token", "create", "--datasource", "nowhere"]);
    let listed = missing_config(&["token", "list"]);
    // Without `--config` the default file may be absent when the database is named.
    let unnamed = run_in(dir.path(), &["token", "list", "--database", &database]);

    for ran in [created, listed] {
        assert_eq!(ran.code, 1, "{ran:#?}");
        assert_eq!(ran.stdout, "", "{ran:#?}");
        assert!(ran.stderr.contains("missing.yaml"), "{ran:#?}");
    }
    assert_eq!(unnamed.code, 0, "{unnamed:#?}");
}

#[test]
fn token_list_stops_quietly_when_its_reader_has_gone() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("tokens.db");
    let database = database.to_string_lossy();
    run_in(
        dir.path(),
        &["token", "create", "--admin", "--database", &database],
    )
    .success();
    // As `eventpush token list | head -0` would leave it: nobody reads.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);

    let listed = eventpush()
        .args(["token", "list", "--database", &database])
        .current_dir(dir.path())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();

    let stderr = String::from_utf8_lossy(&listed.stderr);
    assert!(listed.status.success(), "{stderr}");
    assert_eq!(stderr, "");
}

#[test]
fn refuses_to_revoke_a_token_that_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &[Source::template("app", LOGINS)]);
    let config = config.to_string_lossy();

    let ran = run_in(
        dir.path(),
        &["token", "revoke", "0123456789abcdef", "--config", &config],
    );

    assert_ne!(ran.code, 0, "{ran:#?}");
}

#[test]
fn validate_reports_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.yaml");
    let missing = missing.to_string_lossy();

    let ran = run_in(dir.path(), &["validate", &missing]);

    assert_eq!(ran.code, 1, "{ran:#?}");
    let lines: Vec<&str> = ran.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{ran:#?}");
    assert_eq!(diagnostic(lines[0]).0, missing);
}

#[test]
fn try_answers_415_for_a_content_type_that_is_not_json() {
    let dir = tempfile::tempdir().unwrap();
    let sample = repo_path("tests/e2e/fixtures/okta-event-hook.json");

    let ran = run_in(
        dir.path(),
        &[
            "try",
            "--template",
            &okta_template().to_string_lossy(),
            "--header",
            "Content-Type: text/plain",
            &sample.to_string_lossy(),
        ],
    );

    assert_eq!(ran.code, 1, "{ran:#?}");
    let out: Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(out["status"], 415, "{out:#}");
}

#[test]
fn serve_refuses_to_start_with_an_invalid_template() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &[Source::template("app", UNKNOWN_KEY)]);

    let ran = run_in(
        dir.path(),
        &[
            "serve",
            "--config",
            &config.to_string_lossy(),
            "--listen",
            "127.0.0.1:0",
        ],
    );

    assert_ne!(ran.code, 0, "{ran:#?}");
    assert!(ran.stderr.contains("app.template.yaml:6:5"), "{ran:#?}");
}

#[test]
fn serve_reads_the_configuration_in_the_working_directory_by_default() {
    let server = Server::builder()
        .source(Source::template("app", LOGINS))
        .implicit_config()
        .start();
    let token = server.token("app");

    let reply = server.push_json("app", &token, &events(vec![login("login", "e1", "ann")]));

    assert_eq!(reply.status, 202, "{reply:?}");
}

#[test]
fn ships_a_configuration_that_serves_the_okta_datasource() {
    let shipped = std::fs::read_to_string(repo_path("eventpush.yaml")).unwrap();
    assert!(shipped.contains("127.0.0.1:8080"), "{shipped}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("eventpush.yaml"), &shipped).unwrap();
    std::fs::create_dir(dir.path().join("templates")).unwrap();
    std::fs::copy(
        okta_template(),
        dir.path().join("templates/okta-event-hooks.yaml"),
    )
    .unwrap();
    let server = Server::builder().implicit_config().start_in(dir);
    let token = server.token("okta");

    let reply = server.push_json("okta", &token, &okta_sample());

    assert_eq!(reply.status, 202, "{reply:?}");
    assert_eq!(server.events_of("admin@example.com").len(), 1);
    assert!(
        server.dir().join("data").is_dir(),
        "no `data/` beside the configuration"
    );
    let serving = server.log_records("serving datasource");
    assert_eq!(serving.len(), 1, "{}", server.log_text());
    assert_eq!(serving[0]["fields"]["datasource"], "okta");
}

#[test]
fn try_runs_a_mapper_handshake_with_the_method_given() {
    let dir = tempfile::tempdir().unwrap();
    let sample = repo_path("tests/e2e/fixtures/okta-event-hook.json");
    let template = okta_template().to_string_lossy().into_owned();
    let sample = sample.to_string_lossy().into_owned();
    let args = |method: &'static str| {
        vec![
            "try",
            "--template",
            template.as_str(),
            "--mapper",
            "builtin:okta-verify",
            "--method",
            method,
            "--header",
            "X-Okta-Verification-Challenge: chal-42",
            sample.as_str(),
        ]
    };

    let handshake = run_in(dir.path(), &args("GET"));
    let delivery = run_in(dir.path(), &args("POST"));
    let no_method = run_in(dir.path(), &args("B AD"));

    assert_eq!(handshake.code, 0, "{handshake:#?}");
    let out = stdout_json(&handshake);
    assert_eq!(out["status"], 200, "{out:#}");
    assert_eq!(
        out["answer"]["body"], r#"{"verification":"chal-42"}"#,
        "{out:#}"
    );
    assert_eq!(out["mapper"]["outcome"], "respond", "{out:#}");
    assert_eq!(out["stored"].as_array().map(Vec::len), Some(0), "{out:#}");

    assert_eq!(delivery.code, 0, "{delivery:#?}");
    let out = stdout_json(&delivery);
    assert_eq!(out["status"], 202, "{out:#}");
    assert_eq!(out["mapper"]["outcome"], "forward", "{out:#}");
    assert_eq!(out["stored"].as_array().map(Vec::len), Some(1), "{out:#}");

    assert_eq!(no_method.code, 2, "{no_method:#?}");
    assert!(
        no_method.stderr.contains("`B AD` is not an HTTP method"),
        "{no_method:#?}"
    );
}
