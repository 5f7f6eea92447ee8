//! What every area shares: an `eventpush serve` of its own in a temporary
//! directory, the CLI pointed at the same configuration, and small readers
//! for the answers.
//!
//! Every server listens on 127.0.0.1 on a port the system picks; the test
//! learns the port from the server's own `listening` log line. The server's
//! stderr is drained into a buffer for the whole run, so the child never
//! blocks on a full pipe and tests can read what it logged.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use reqwest::blocking::{Body, Client, RequestBuilder};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tempfile::TempDir;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_eventpush");

/// The variable that sets an admin token; never inherited by accident.
pub const ADMIN_ENV: &str = "EVENTPUSH_ADMIN_TOKEN";

/// How long a server may take to say where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a command other than `serve` may run.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// A path inside the repository.
pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// The Okta template the repository ships.
pub fn okta_template() -> PathBuf {
    repo_path("templates/okta-event-hooks.yaml")
}

/// The Okta sample delivery: one `user.session.start` event.
pub fn okta_sample() -> Value {
    read_json(&repo_path("tests/e2e/fixtures/okta-event-hook.json"))
}

/// The per-event-type Okta fixtures, one delivery per file.
pub fn okta_fixtures() -> Vec<(String, Value)> {
    let dir = repo_path("host/tests/fixtures/okta");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("failed to list `{}`: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, read_json(&path))
        })
        .collect()
}

/// Parses a JSON file.
pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("failed to read `{}`: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("`{}` is not JSON: {e}", path.display()))
}

/// An Okta delivery wrapping `events`.
pub fn okta_delivery(events: Vec<Value>) -> Value {
    json!({
        "eventType": "com.okta.event_hook",
        "eventTypeVersion": "1.0",
        "cloudEventsVersion": "0.1",
        "data": { "events": events }
    })
}

/// The one event of the Okta sample, with another `uuid`.
pub fn okta_event(uuid: &str) -> Value {
    let mut event = okta_sample()["data"]["events"][0].clone();
    event["uuid"] = json!(uuid);
    event
}

/// A small template for tests that need plain events: `login` and `logout`
/// events under `$.events`, keyed by `$.id`, with the subject in `$.user`.
pub const LOGINS: &str = r#"
pushEventsPath: $.events[*]
entities:
  Login:
    externalId: login
    pushExternalId: $.type
    attributes:
      - { name: id, externalId: $.id, type: String, uniqueId: true, indexed: true }
      - { name: subject, externalId: $.user, type: String, indexed: true }
      - { name: ip, externalId: $.ip, type: String, indexed: true }
      - { name: note, externalId: $.note, type: String }
  Logout:
    externalId: logout
    pushExternalId: $.type
    attributes:
      - { name: id, externalId: $.id, type: String, uniqueId: true }
      - { name: subject, externalId: $.user, type: String, indexed: true }
"#;

/// One event for [`LOGINS`].
pub fn login(kind: &str, id: &str, user: &str) -> Value {
    json!({ "type": kind, "id": id, "user": user })
}

/// A body for [`LOGINS`] and the other `$.events[*]` templates.
pub fn events(events: Vec<Value>) -> Value {
    json!({ "events": events })
}

/// Where a datasource's template comes from.
#[derive(Debug, Clone)]
enum TemplateSource {
    File(PathBuf),
    Text(String),
}

/// Where a datasource's secret comes from.
#[derive(Debug, Clone)]
enum SecretSource {
    /// `env:VAR` or `file:PATH`, written as given.
    Reference(String),
    /// Bytes written to a file beside the configuration, referenced by a relative path.
    File(Vec<u8>),
}

/// One datasource of a test configuration.
#[derive(Debug, Clone)]
pub struct Source {
    id: String,
    template: TemplateSource,
    token_header: Option<String>,
    limits: Vec<(String, u64)>,
    auth: Option<String>,
    mapper: Option<String>,
    mapper_config: Vec<(String, String)>,
    secrets: Vec<(String, SecretSource)>,
    unauthenticated_handshakes: bool,
}

impl Source {
    /// A datasource serving the shipped Okta template.
    pub fn okta(id: &str) -> Self {
        Self::file(id, okta_template())
    }

    /// A datasource serving the template at `path`, referenced by absolute path.
    pub fn file(id: &str, path: PathBuf) -> Self {
        Self {
            id: id.to_owned(),
            template: TemplateSource::File(path),
            token_header: None,
            limits: Vec::new(),
            auth: None,
            mapper: None,
            mapper_config: Vec::new(),
            secrets: Vec::new(),
            unauthenticated_handshakes: false,
        }
    }

    /// A datasource serving template `yaml`, written beside the configuration.
    pub fn template(id: &str, yaml: &str) -> Self {
        Self {
            template: TemplateSource::Text(yaml.to_owned()),
            ..Self::file(id, PathBuf::new())
        }
    }

    /// Reads the token from `header` instead of `Authorization`.
    pub fn token_header(mut self, header: &str) -> Self {
        self.token_header = Some(header.to_owned());
        self
    }

    /// Sets one of the datasource's `limits`.
    pub fn limit(mut self, key: &str, value: u64) -> Self {
        self.limits.push((key.to_owned(), value));
        self
    }

    /// Sets `limits.max_body_bytes`.
    pub fn max_body_bytes(self, bytes: u64) -> Self {
        self.limit("max_body_bytes", bytes)
    }

    /// Runs `spec` first: `builtin:NAME` or a path to a `.wasm` component.
    pub fn mapper(mut self, spec: &str) -> Self {
        self.mapper = Some(spec.to_owned());
        self
    }

    /// Sets `auth` (`token` or `mapper`).
    pub fn auth(mut self, mode: &str) -> Self {
        self.auth = Some(mode.to_owned());
        self
    }

    /// Sets one value of `mapper_config`, written as a YAML string.
    pub fn mapper_config(mut self, key: &str, value: &str) -> Self {
        self.mapper_config.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Names a secret by its source as written in the file: `env:VAR` or `file:PATH`.
    pub fn secret(mut self, name: &str, source: &str) -> Self {
        self.secrets
            .push((name.to_owned(), SecretSource::Reference(source.to_owned())));
        self
    }

    /// Names a secret held in a file beside the configuration, by a relative path.
    pub fn secret_file(mut self, name: &str, bytes: &[u8]) -> Self {
        self.secrets
            .push((name.to_owned(), SecretSource::File(bytes.to_vec())));
        self
    }

    /// Lets requests without credentials reach the mapper for handshakes.
    pub fn unauthenticated_handshakes(mut self) -> Self {
        self.unauthenticated_handshakes = true;
        self
    }

    /// The datasource's part of the configuration file; writes its template
    /// into `dir` when it has one of its own.
    fn yaml(&self, dir: &Path) -> String {
        let template = match &self.template {
            TemplateSource::File(path) => path.clone(),
            TemplateSource::Text(text) => {
                let path = dir.join(format!("{}.template.yaml", self.id));
                std::fs::write(&path, text).expect("failed to write a template");
                path
            }
        };
        let mut yaml = format!(
            "  {}:\n    template: {}\n",
            self.id,
            quoted(&template.to_string_lossy())
        );
        if let Some(header) = &self.token_header {
            yaml += &format!("    token_header: {}\n", quoted(header));
        }
        if !self.limits.is_empty() {
            yaml += "    limits:\n";
            for (key, value) in &self.limits {
                yaml += &format!("      {key}: {value}\n");
            }
        }
        if let Some(auth) = &self.auth {
            yaml += &format!("    auth: {}\n", quoted(auth));
        }
        if let Some(mapper) = &self.mapper {
            yaml += &format!("    mapper: {}\n", quoted(mapper));
        }
        if self.unauthenticated_handshakes {
            yaml += "    unauthenticated_handshakes: true\n";
        }
        if !self.mapper_config.is_empty() {
            yaml += "    mapper_config:\n";
            for (key, value) in &self.mapper_config {
                yaml += &format!("      {key}: {}\n", quoted(value));
            }
        }
        if !self.secrets.is_empty() {
            yaml += "    secrets:\n";
            for (name, source) in &self.secrets {
                let reference = match source {
                    SecretSource::Reference(reference) => reference.clone(),
                    SecretSource::File(bytes) => {
                        let file = format!("{}.{name}.secret", self.id);
                        std::fs::write(dir.join(&file), bytes).expect("failed to write a secret");
                        format!("file:{file}")
                    }
                };
                yaml += &format!("      {name}: {}\n", quoted(&reference));
            }
        }
        yaml
    }
}

/// A YAML double-quoted scalar; JSON strings are valid ones.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("strings serialize")
}

/// Builds a configuration and starts a server on it.
#[derive(Debug, Default)]
pub struct ServerBuilder {
    sources: Vec<Source>,
    launch: Launch,
}

/// How a server process is started, kept to start it again.
#[derive(Debug, Clone, Default)]
struct Launch {
    env: Vec<(String, String)>,
    args: Vec<String>,
    /// Leave out `--config`, so the server reads `eventpush.yaml` in its directory.
    implicit_config: bool,
}

impl ServerBuilder {
    /// Adds a datasource.
    pub fn source(mut self, source: Source) -> Self {
        self.sources.push(source);
        self
    }

    /// Sets a variable in the server's environment.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.launch.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds an argument after the ones every test server gets.
    pub fn arg(mut self, arg: &str) -> Self {
        self.launch.args.push(arg.to_owned());
        self
    }

    /// Starts without `--config`: the server finds `eventpush.yaml` in its
    /// working directory, the temporary one.
    pub fn implicit_config(mut self) -> Self {
        self.launch.implicit_config = true;
        self
    }

    /// Writes the configuration into a new temporary directory and starts
    /// `eventpush serve` on it; returns once the server says where it listens.
    pub fn start(self) -> Server {
        let dir = tempfile::tempdir().expect("failed to create a temporary directory");
        write_config(dir.path(), &self.sources);
        self.start_in(dir)
    }

    /// Starts `eventpush serve` on `dir`, which already holds `eventpush.yaml`.
    pub fn start_in(self, dir: TempDir) -> Server {
        Server::launch(Arc::new(dir), self.launch)
    }
}

/// The configuration file for `sources`, with the database beside it.
pub fn write_config(dir: &Path, sources: &[Source]) -> PathBuf {
    let mut yaml = String::from("listen: 127.0.0.1:0\ndatabase: eventpush.db\ndatasources:\n");
    for source in sources {
        yaml += &source.yaml(dir);
    }
    let path = dir.join("eventpush.yaml");
    std::fs::write(&path, yaml).expect("failed to write the configuration");
    path
}

/// The configuration file for `sources`, with `top_level` (YAML lines such
/// as `max_in_flight: 1\n`) added at the end.
pub fn write_config_with(dir: &Path, sources: &[Source], top_level: &str) -> PathBuf {
    let path = write_config(dir, sources);
    let mut yaml = std::fs::read_to_string(&path).expect("the configuration was written");
    yaml += top_level;
    std::fs::write(&path, yaml).expect("failed to write the configuration");
    path
}

/// Reads the child's stderr line by line into `log` until it closes, and
/// sends the address of the first `listening` line.
fn drain_stderr(child: &mut Child, log: Arc<Mutex<Vec<String>>>) -> mpsc::Receiver<String> {
    let stderr = child.stderr.take().expect("stderr is piped");
    let (found, address) = mpsc::channel();
    std::thread::spawn(move || {
        let mut found = Some(found);
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let address = listening_address(&line);
            // Kept before it is announced, so a started server's log holds the line.
            log.lock().unwrap().push(line);
            if let Some(address) = address
                && let Some(found) = found.take()
            {
                let _ = found.send(address);
            }
        }
    });
    address
}

/// The address of a JSON `listening` log line.
fn listening_address(line: &str) -> Option<String> {
    let record: Value = serde_json::from_str(line).ok()?;
    let fields = &record["fields"];
    (fields["message"] == "listening")
        .then(|| fields["address"].as_str().map(str::to_owned))
        .flatten()
}

/// An HTTP client that talks to the test server directly, never through a proxy.
pub fn client() -> Client {
    Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("failed to build the HTTP client")
}

/// `eventpush` with an environment that says only what a test says: no
/// inherited admin token and no inherited log filter.
pub fn eventpush() -> Command {
    let mut command = Command::new(BIN);
    command.env_remove(ADMIN_ENV).env_remove("RUST_LOG");
    command
}

/// What a finished command printed and how it ended.
#[derive(Debug)]
pub struct Ran {
    /// The exit code.
    pub code: i32,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
}

impl Ran {
    /// Panics with the output unless the command exited 0.
    pub fn success(self) -> Self {
        assert_eq!(self.code, 0, "the command failed: {self:#?}");
        self
    }
}

/// Runs `eventpush args...` in `dir` and waits for it, at most a minute.
pub fn run_in(dir: &Path, args: &[&str]) -> Ran {
    let mut child = eventpush()
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("failed to run `eventpush`");
    let stdout = read_all(child.stdout.take().expect("stdout is piped"));
    let stderr = read_all(child.stderr.take().expect("stderr is piped"));
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("failed to wait for `eventpush`") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`eventpush {}` did not finish in time", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Ran {
        code: status.code().expect("the command was not killed"),
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// Reads a pipe to its end on a thread of its own.
fn read_all(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// A running `eventpush serve`, killed when dropped.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// `127.0.0.1:PORT`.
    pub address: String,
    config: PathBuf,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    client: Client,
    admin: OnceLock<String>,
    launch: Launch,
    dir: Arc<TempDir>,
}

impl Server {
    /// A builder for a server with several datasources or a set environment.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// A server with `sources` and nothing else set.
    pub fn start(sources: Vec<Source>) -> Self {
        sources
            .into_iter()
            .fold(Self::builder(), ServerBuilder::source)
            .start()
    }

    fn launch(dir: Arc<TempDir>, launch: Launch) -> Self {
        let config = dir.path().join("eventpush.yaml");
        let mut command = eventpush();
        command.arg("serve");
        if !launch.implicit_config {
            command.arg("--config").arg(&config);
        }
        command
            .args(["--listen", "127.0.0.1:0", "--log-format", "json"])
            .args(&launch.args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (name, value) in &launch.env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("failed to start `eventpush serve`");

        let log = Arc::new(Mutex::new(Vec::new()));
        let address = drain_stderr(&mut child, log.clone());
        let address = match address.recv_timeout(START_TIMEOUT) {
            Ok(address) => address,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the server did not log `listening`; its stderr:\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
        };
        assert!(
            address.starts_with("127.0.0.1:"),
            "the server listens on `{address}`, not on 127.0.0.1"
        );
        Self {
            base: format!("http://{address}"),
            address,
            config,
            child,
            log,
            client: client(),
            admin: OnceLock::new(),
            launch,
            dir,
        }
    }

    /// Kills the server without warning (SIGKILL: no shutdown, no flush) and
    /// starts a new one on the same directory, configuration and database.
    pub fn kill_and_restart(mut self) -> Self {
        self.child.kill().expect("failed to kill the server");
        self.child.wait().expect("failed to reap the server");
        let admin = self.admin.get().cloned();
        let restarted = Self::launch(self.dir.clone(), self.launch.clone());
        if let Some(admin) = admin {
            let _ = restarted.admin.set(admin);
        }
        restarted
    }

    /// Kills the server and starts it again as [`Server::kill_and_restart`]
    /// does, with `name=value` added to its environment.
    pub fn restart_with_env(mut self, name: &str, value: &str) -> Self {
        self.launch.env.push((name.to_owned(), value.to_owned()));
        self.kill_and_restart()
    }

    /// The server process id, for sending it signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's working directory, holding its configuration and database.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `eventpush args... --config FILE` against this server's configuration.
    pub fn cli(&self, args: &[&str]) -> Ran {
        let config = self.config.to_string_lossy();
        let mut all = args.to_vec();
        all.extend(["--config", &config]);
        run_in(self.dir(), &all)
    }

    /// A new token for `datasource`.
    pub fn token(&self, datasource: &str) -> String {
        self.cli(&["token", "create", "--datasource", datasource])
            .success()
            .stdout
            .trim()
            .to_owned()
    }

    /// A new token for `datasource` carrying `label`.
    pub fn labelled_token(&self, datasource: &str, label: &str) -> String {
        self.cli(&[
            "token",
            "create",
            "--datasource",
            datasource,
            "--label",
            label,
        ])
        .success()
        .stdout
        .trim()
        .to_owned()
    }

    /// An admin token, made once per server with `token create --admin`.
    pub fn admin_token(&self) -> String {
        self.admin
            .get_or_init(|| {
                self.cli(&["token", "create", "--admin"])
                    .success()
                    .stdout
                    .trim()
                    .to_owned()
            })
            .clone()
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A POST to `path`, to finish and [`send`](Self::send).
    pub fn post(&self, path: &str) -> RequestBuilder {
        self.client.post(self.url(path))
    }

    /// A GET of `path`, to finish and [`send`](Self::send).
    pub fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(self.url(path))
    }

    /// A request of any method to `path`, to finish and [`send`](Self::send).
    pub fn request(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// Sends a request and reads the whole answer.
    pub fn send(&self, request: RequestBuilder) -> Reply {
        let response = request.send().expect("the request failed");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().expect("failed to read the answer");
        Reply {
            status,
            headers,
            text,
        }
    }

    /// Pushes `body` to `datasource` with `Authorization: Bearer TOKEN`.
    pub fn push(
        &self,
        datasource: &str,
        token: &str,
        body: impl Into<Body>,
        content_type: &str,
    ) -> Reply {
        self.send(
            self.post(&push_path(datasource))
                .bearer_auth(token)
                .header("content-type", content_type)
                .body(body),
        )
    }

    /// Pushes a JSON body to `datasource`.
    pub fn push_json(&self, datasource: &str, token: &str, body: &Value) -> Reply {
        self.push(datasource, token, body.to_string(), "application/json")
    }

    /// GETs `path` with the admin token.
    pub fn get_admin(&self, path: &str) -> Reply {
        self.send(self.get(path).bearer_auth(self.admin_token()))
    }

    /// The events of `subject` (one page of at most 1000), checked to be a 200.
    pub fn events_of(&self, subject: &str) -> Vec<Value> {
        let reply = self.get_admin(&format!(
            "/api/v1/subjects/{}/events?limit=1000",
            encode(subject)
        ));
        assert_eq!(reply.status, 200, "{reply:?}");
        let body = reply.json();
        assert_eq!(body["subject"], subject, "{body}");
        body["events"]
            .as_array()
            .expect("`events` is a list")
            .clone()
    }

    /// The event-stream log of `datasource` (one page), newest first,
    /// checked to be a 200.
    pub fn log_entries(&self, datasource: &str) -> Vec<Value> {
        let reply = self.get_admin(&format!(
            "/api/v1/datasources/{}/logs?limit=1000",
            encode(datasource)
        ));
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.json()["entries"]
            .as_array()
            .expect("`entries` is a list")
            .clone()
    }

    /// Every stderr line so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Every stderr line so far, as one text.
    pub fn log_text(&self) -> String {
        self.log_lines().join("\n")
    }

    /// The JSON log records so far whose message is `message`.
    pub fn log_records(&self, message: &str) -> Vec<Value> {
        self.log_lines()
            .iter()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|record| record["fields"]["message"] == message)
            .collect()
    }

    /// Waits up to ten seconds for a log record whose message is `message`;
    /// returns every such record.
    pub fn await_log_records(&self, message: &str) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let records = self.log_records(message);
            if !records.is_empty() || Instant::now() > deadline {
                return records;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends the server `signal` (such as `-TERM`) with `kill`.
    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([signal, &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill {signal} failed");
    }

    /// Waits up to `timeout` for the process to exit; its status if it did.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            match self
                .child
                .try_wait()
                .expect("failed to wait for the server")
            {
                Some(status) => return Some(status),
                None if Instant::now() > deadline => return None,
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// Whether the server process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The push endpoint of `datasource`.
pub fn push_path(datasource: &str) -> String {
    format!("/events/custom/v1/{datasource}")
}

/// An answer read in full.
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub text: String,
}

impl Reply {
    /// The body as JSON; panics with the text when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("the answer is not JSON ({e}): {self:?}"))
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The media type, without parameters.
    pub fn media_type(&self) -> String {
        self.header("content-type")
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }

    /// Asserts an `application/problem+json` answer with `status`, and returns its body.
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.media_type(), "application/problem+json", "{self:?}");
        let body = self.json();
        assert_eq!(body["status"], status, "{body}");
        body
    }
}

/// Asserts a push summary: the three counts and the indices of the rejected
/// events, each with a non-empty reason. Returns the reasons in index order.
pub fn assert_summary(
    body: &Value,
    accepted: u64,
    duplicates: u64,
    unmatched: u64,
    rejected: &[u64],
) -> Vec<String> {
    assert_eq!(body["accepted"], accepted, "accepted: {body}");
    assert_eq!(body["duplicates"], duplicates, "duplicates: {body}");
    assert_eq!(body["unmatched"], unmatched, "unmatched: {body}");
    let list = body["rejected"].as_array().expect("`rejected` is a list");
    let indices: Vec<u64> = list.iter().filter_map(|r| r["index"].as_u64()).collect();
    assert_eq!(indices, rejected, "rejected indices: {body}");
    list.iter()
        .map(|r| {
            let reason = r["reason"].as_str().unwrap_or("").to_owned();
            assert!(!reason.is_empty(), "a rejection without a reason: {body}");
            reason
        })
        .collect()
}

/// Whether `text` has `word` with no letter, digit or `_` right before or after it.
pub fn mentions(text: &str, word: &str) -> bool {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}

/// Percent-encodes `text` for a path segment or a query value.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Parses RFC 3339 text, panicking with `what` when it does not parse.
pub fn rfc3339(text: &Value, what: &str) -> chrono::DateTime<chrono::FixedOffset> {
    let text = text
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {text}"));
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{what} `{text}` is not RFC 3339: {e}"))
}

/// The event with unique ID `id` among `events`.
pub fn find_event<'a>(events: &'a [Value], id: &str) -> &'a Value {
    events
        .iter()
        .find(|event| event["id"] == id)
        .unwrap_or_else(|| panic!("no event `{id}` among {events:#?}"))
}

/// The unique IDs of `events`, in order.
pub fn ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|event| event["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}
