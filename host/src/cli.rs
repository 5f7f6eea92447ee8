//! The command line: `serve`, `token`, `try` and `validate`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{Value, json};

use crate::auth::{self, EnvAdmin};
use crate::config::{self, Config};
use crate::graph::Summary;
use crate::http::{self, App, intake};
use crate::mapper::Engine;
use crate::store::{self, Ingest, Store, tokens};
use crate::template::{Template, TemplateError};

/// Receives pushed events, extracts entities with templates, stores them in SQLite.
#[derive(Debug, Parser)]
#[command(name = "eventpush", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Create, list and revoke bearer tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Run a payload through a template without storing it; print the answer
    /// and what would be stored. Exits 0 when the answer is 2xx, 1 when it is
    /// not (a payload that is not JSON gets the server's 400), 2 when there
    /// is no answer: bad arguments, a payload that cannot be read, or a
    /// template, mapper or mapper configuration that cannot be read or is
    /// not valid.
    Try(TryArgs),
    /// Erase everything stored about one subject (privacy requests).
    EraseSubject {
        /// The subject, as the query API names it.
        subject: String,
        /// Where the configuration and database are.
        #[command(flatten)]
        location: Location,
    },
    /// Check templates; print `FILE:LINE:COLUMN: message` per error.
    Validate {
        /// Template files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// Where the configuration and database are.
#[derive(Debug, Args)]
pub struct Location {
    /// The configuration file [default: eventpush.yaml].
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The SQLite database; overrides the configuration's `database`.
    #[arg(long)]
    pub database: Option<PathBuf>,
}

impl Location {
    /// The configuration file named, or the default one.
    pub fn config(&self) -> &Path {
        self.config
            .as_deref()
            .unwrap_or(Path::new(config::DEFAULT_FILE))
    }
}

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    location: Location,
    /// Address to listen on; overrides the configuration's `listen`.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Log lines for people (default) or as JSON objects.
    #[arg(long, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One readable line per record.
    Human,
    /// One JSON object per line.
    Json,
}

/// The `token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a new token on stdout; only its hash is stored.
    Create {
        /// The datasource the token may push to.
        #[arg(long, required_unless_present = "admin", conflicts_with = "admin")]
        datasource: Option<String>,
        /// Make a token for the query API instead.
        #[arg(long)]
        admin: bool,
        /// A note to tell tokens apart in `token list`.
        #[arg(long)]
        label: Option<String>,
        /// Where the configuration and database are.
        #[command(flatten)]
        location: Location,
    },
    /// List tokens: id, datasource, label, creation, last use. Never the token.
    List {
        /// Where the configuration and database are.
        #[command(flatten)]
        location: Location,
    },
    /// Revoke a token by its id; it stops working at once.
    Revoke {
        /// The id shown by `token list`.
        id: String,
        /// Where the configuration and database are.
        #[command(flatten)]
        location: Location,
    },
}

/// Arguments of `try`.
#[derive(Debug, Args)]
pub struct TryArgs {
    /// The template.
    #[arg(long)]
    template: PathBuf,
    /// The request's method, for mappers that answer handshakes (`GET`, `OPTIONS`).
    #[arg(long, default_value = "POST", requires = "mapper", value_parser = parse_method)]
    method: String,
    /// A mapper to run first: a `.wasm` component or `builtin:NAME`.
    #[arg(long)]
    mapper: Option<String>,
    /// A YAML map of the mapper's `mapper_config` values.
    #[arg(long, requires = "mapper")]
    mapper_config: Option<PathBuf>,
    /// A request header, `Name: value`; may be repeated.
    #[arg(long = "header", value_parser = parse_header)]
    headers: Vec<(String, String)>,
    /// The datasource's `max_body_bytes`: a larger payload is refused with
    /// 413, as the server would [default: 1048576, at most 67108864].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=config::Limits::MAX_BODY as u64))]
    max_body_bytes: Option<u64>,
    /// The JSON payload.
    payload: PathBuf,
}

/// A method as a request line may carry it: `GET`, or an extension such
/// as `PROPFIND`, but no space or separator.
fn parse_method(text: &str) -> Result<String, String> {
    axum::http::Method::from_bytes(text.as_bytes())
        .map(|method| method.to_string())
        .map_err(|_| format!("`{text}` is not an HTTP method"))
}

fn parse_header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("`{text}` is not of the form `Name: value`"))?;
    let name = name.trim();
    if name.is_empty() || axum::http::HeaderName::try_from(name).is_err() {
        return Err(format!("`{name}` is not a valid header name"));
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

impl Cli {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        match self.command {
            Command::Serve(args) => serve(args).map(|()| ExitCode::SUCCESS),
            Command::Token(command) => token(command).map(|()| ExitCode::SUCCESS),
            // A script that expects a refusal (exit 1) must not take a
            // missing payload file for one.
            Command::Try(args) => Ok(try_payload(args).unwrap_or_else(|e| {
                report(&e);
                ExitCode::from(2)
            })),
            Command::Validate { files } => Ok(validate(&files)),
            Command::EraseSubject { subject, location } => {
                let (conn, _) = open_for_tokens(&location)?;
                let erased = store::erase_subject(&conn, &subject)
                    .with_context(|| format!("failed to erase subject `{subject}`"))?;
                eprintln!("erased {erased} events of subject `{subject}`");
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}

/// Prints why a command failed, with every cause, on stderr.
pub fn report(error: &anyhow::Error) {
    eprintln!("error: {error:#}");
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // The compiled-mapper cache sits beside the database, which the file
    // names: read it once without compiling, then load the mappers.
    let checked = Config::load(args.location.config(), None)?;
    let database = args.location.database.clone().unwrap_or(checked.database);
    let cache = database.parent().unwrap_or(Path::new(".")).join("mappers");
    let engine = Engine::new(Some(cache)).context("failed to start the mapper runtime")?;
    let mut config = Config::load(args.location.config(), Some(&engine))?;
    config.database = database;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    let store = Store::open(&config.database, config.durability).with_context(|| {
        format!(
            "failed to open the database `{}`",
            config.database.display()
        )
    })?;
    let env_admin = EnvAdmin::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?;
    let closed = store.closed();
    let result = runtime.block_on(run_server(config, store, env_admin, engine));
    // Tasks still running (requests past the shutdown bound, the sweeper)
    // are dropped with the runtime, and with them the last store handles:
    // the writer then commits what it holds and closes the database.
    runtime.shutdown_background();
    match closed.map(|closed| closed.wait(CLOSE_TIMEOUT)) {
        Some(true) => tracing::info!("database closed"),
        _ => tracing::error!(
            "the database writer did not finish; the next start recovers from the log"
        ),
    }
    result
}

/// How long the exit waits for the database writer after the server stopped.
const CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

async fn run_server(
    config: Config,
    store: Store,
    env_admin: EnvAdmin,
    engine: Engine,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("failed to listen on `{}`", config.listen))?;
    let address = listener
        .local_addr()
        .context("failed to read the bound address")?;
    let admin_in_db = store.read(tokens::any_admin).await?;
    if !env_admin.is_set() && !admin_in_db {
        tracing::warn!(
            "no admin token: the query API answers 401 until you set EVENTPUSH_ADMIN_TOKEN \
             or run `eventpush token create --admin`"
        );
    }
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    for datasource in config.datasources.values() {
        tracing::info!(
            datasource = %datasource.id,
            template = %datasource.template_path.display(),
            url = %format!("{scheme}://{address}/events/custom/v1/{}", datasource.id),
            "serving datasource"
        );
    }
    tracing::info!(database = %config.database.display(), "database open");
    // The handlers go in before the server says it listens: a signal that
    // came first would otherwise take its default action, ending the process.
    #[cfg(unix)]
    let hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup());
    #[cfg(unix)]
    let _terminations = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    tracing::info!(%address, scheme, "listening");
    let listener =
        http::listener::Bounded::new(listener, config.max_connections, config.idle_timeout);
    let app = Arc::new(App::new(config, store, env_admin, Some(engine)));
    tokio::spawn(crate::retention::run(app.clone()));
    #[cfg(unix)]
    tokio::spawn(reload_on_hangup(app.clone(), hangups));
    let bound = app.config().shutdown_timeout;
    let (signalled, on_signal) = tokio::sync::oneshot::channel();
    let header_timeout = app.config().header_read_timeout;
    let tls_app = app.clone();
    let tls = move || tls_app.config().tls.clone();
    let server = http::serve::serve(listener, http::router(app), tls, header_timeout, async {
        shutdown_signal().await;
        let _ = signalled.send(());
    });
    let deadline = async {
        match on_signal.await {
            // A second signal cuts the wait short.
            Ok(()) => tokio::select! {
                () = tokio::time::sleep(bound) => {},
                () = shutdown_signal() => {},
            },
            // The server ended without a signal; its own result tells why.
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        () = server => {},
        () = deadline => tracing::warn!(
            bound_ms = bound.as_millis() as u64,
            "requests still in flight at the shutdown bound are cut off"
        ),
    }
    tracing::info!("stopped");
    Ok(())
}

/// Reloads the configuration at every SIGHUP.
#[cfg(unix)]
async fn reload_on_hangup(app: Arc<App>, hangups: std::io::Result<tokio::signal::unix::Signal>) {
    let Ok(mut hangups) = hangups else {
        tracing::warn!("failed to listen for SIGHUP; reload with POST /api/v1/reload");
        return;
    };
    while hangups.recv().await.is_some() {
        match app.reload().await {
            Ok(config) => {
                let datasources: Vec<&String> = config.datasources.keys().collect();
                tracing::info!(datasources = ?datasources, "configuration reloaded on SIGHUP");
            }
            Err(why) => tracing::error!(
                reason = %why,
                "reload on SIGHUP refused; the running configuration stays"
            ),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Opens the database named by `--database`, or by the configuration.
/// Returns the configuration too when it could be read.
fn open_for_tokens(location: &Location) -> anyhow::Result<(rusqlite::Connection, Option<Config>)> {
    // With `--database` the default configuration may be absent; one named
    // with `--config` must be read, or a token could be made for a
    // datasource that no configuration has.
    let config = match (&location.database, Config::load(location.config(), None)) {
        (_, Ok(config)) => Some(config),
        (Some(_), Err(config::ConfigError::Read { .. })) if location.config.is_none() => None,
        (_, Err(e)) => return Err(e.into()),
    };
    let database = match (&location.database, &config) {
        (Some(path), _) => path.clone(),
        (None, Some(config)) => config.database.clone(),
        (None, None) => unreachable!("a missing configuration without --database is an error"),
    };
    let conn = store::open_connection(&database, store::Durability::Full)
        .with_context(|| format!("failed to open the database `{}`", database.display()))?;
    Ok((conn, config))
}

fn token(command: TokenCommand) -> anyhow::Result<()> {
    let now = http::now_micros();
    match command {
        TokenCommand::Create {
            datasource,
            admin,
            label,
            location,
        } => {
            let (conn, config) = open_for_tokens(&location)?;
            if let (Some(id), Some(config)) = (&datasource, &config)
                && !config.datasources.contains_key(id)
            {
                let known: Vec<_> = config.datasources.keys().map(String::as_str).collect();
                bail!(
                    "no datasource `{id}` in `{}`; it has: {}",
                    config.path.display(),
                    known.join(", ")
                );
            }
            let new = auth::generate();
            tokens::insert(
                &conn,
                &new.id,
                &new.hash,
                datasource.as_deref(),
                admin,
                label.as_deref(),
                now,
            )
            .context("failed to store the token")?;
            print_out(new.token.expose())?;
        }
        TokenCommand::List { location } => {
            let (conn, _) = open_for_tokens(&location)?;
            let rows = tokens::list(&conn).context("failed to list tokens")?;
            let mut table = String::from("ID\tDATASOURCE\tLABEL\tCREATED\tLAST USED\tSTATE");
            for row in rows {
                let when =
                    |t: Option<i64>| t.map(store::read::rfc3339).unwrap_or_else(|| "-".into());
                table += &format!(
                    "\n{}\t{}\t{}\t{}\t{}\t{}",
                    row.id,
                    if row.admin {
                        "(admin)".to_owned()
                    } else {
                        row.datasource.unwrap_or_default()
                    },
                    row.label.unwrap_or_else(|| "-".into()),
                    store::read::rfc3339(row.created_at),
                    when(row.last_used_at),
                    if row.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    },
                );
            }
            print_out(&table)?;
        }
        TokenCommand::Revoke { id, location } => {
            // A whole token names its id too; take the id rather than refuse.
            let id = auth::id_of(&id).map_or(id.clone(), str::to_owned);
            let (conn, _) = open_for_tokens(&location)?;
            if !tokens::revoke(&conn, &id, now).context("failed to revoke the token")? {
                bail!("no active token with id `{id}`");
            }
            eprintln!("revoked token `{id}`");
        }
    }
    Ok(())
}

/// `try`: the answer the sender would get and what would be stored, as JSON.
fn try_payload(args: TryArgs) -> anyhow::Result<ExitCode> {
    let template = Template::load(&args.template)?;
    let limit = args
        .max_body_bytes
        .map_or(config::Limits::default().max_body_bytes, |n| n as usize);
    let mut body = config::read_at_most(&args.payload, limit as u64)
        .with_context(|| format!("failed to read payload `{}`", args.payload.display()))?;
    // As the server, which refuses such a body before its mapper sees it.
    if body.len() > limit {
        let (status, answer) = shown(intake::IntakeError::TooLarge { limit }.into_problem());
        return print_answer(&json!({ "status": status, "answer": answer, "stored": [] }));
    }
    let content_type = args
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map_or("application/json", |(_, value)| value.as_str());

    let mut rewritten = false;
    let mut receipt = None;
    if let Some(spec) = &args.mapper {
        match try_mapper(
            spec,
            args.mapper_config.as_deref(),
            &args.method,
            &args.headers,
            body,
        )? {
            MapperStep::Answered(output) => return print_answer(&output),
            MapperStep::Forward(new, changed, done) => {
                body = new;
                rewritten = changed;
                receipt = Some(done);
            }
        }
    }
    let content_type = if args.mapper.is_some() {
        "application/json"
    } else {
        content_type
    };
    // The answer as the server builds it: a summary, or a problem.
    let (answer, stored) = match try_answer(&template, content_type, &body, rewritten) {
        Ok((summary, stored)) => (intake::answer_body(&summary), stored),
        Err(refused) => (Err(refused.into_problem()), vec![]),
    };
    let (status, answer) = match answer {
        Ok(members) => (202, Value::Object(members)),
        Err(problem) => shown(problem),
    };
    let mut output = json!({ "status": status, "answer": answer, "stored": stored });
    if let Some(receipt) = receipt {
        output["mapper"] = json!(receipt);
    }
    print_answer(&output)
}

/// Prints `try`'s output, and exits as its `status` says.
fn print_answer(output: &Value) -> anyhow::Result<ExitCode> {
    print_out(&serde_json::to_string_pretty(output).expect("JSON values serialize"))?;
    Ok(exit_for(output["status"].as_u64().unwrap_or(500) as u16))
}

/// Prints `text` and a line break on stdout. A reader that stops early
/// (`| head`) is not an error of ours: what it did not read is dropped.
fn print_out(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;

    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("failed to write the output"))
        }
        _ => Ok(()),
    }
}

/// A problem's status and the body the server sends with it.
fn shown(problem: crate::http::problem::Problem) -> (u16, Value) {
    let status = problem.status().as_u16();
    (status, json!(problem.into_parts().0))
}

fn exit_for(status: u16) -> ExitCode {
    if (200..300).contains(&status) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

enum MapperStep {
    /// The mapper answered (respond, reject or a fault): the output to print.
    Answered(Value),
    /// The body to go on with, whether the mapper rewrote it, and its receipt.
    Forward(Vec<u8>, bool, crate::mapper::Receipt),
}

/// Runs a mapper as the server would, with the system clock and no secrets.
fn try_mapper(
    spec: &str,
    config_file: Option<&std::path::Path>,
    method: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> anyhow::Result<MapperStep> {
    use crate::mapper::{self, Outcome};

    let (name, bytes) = mapper::read_component(Path::new("."), spec).map_err(anyhow::Error::msg)?;
    let config: std::collections::BTreeMap<String, String> = match config_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("failed to read `{}`", path.display()))?;
            crate::yaml::parse(&text).map_err(|problem| {
                anyhow::anyhow!("{}:{problem} (a map of plain values)", path.display())
            })?
        }
        None => Default::default(),
    };
    let engine = Engine::new(None)?;
    let loaded = engine.load(&name, &bytes)?;
    let context = mapper::Context {
        datasource: "try".into(),
        config: Arc::new(config),
        ..Default::default()
    };
    let request = mapper::Request {
        method: method.to_ascii_uppercase(),
        path: "/events/custom/v1/try".into(),
        query: String::new(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.as_bytes().to_vec()))
            .collect(),
        body,
    };
    let (outcome, receipt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?
        .block_on(loaded.call(&context, &request));
    let answered = |status: u16, answer: Value| {
        MapperStep::Answered(
            json!({ "status": status, "answer": answer, "stored": [], "mapper": receipt }),
        )
    };
    // Faults and refusals are answered as the server answers them.
    let refused = |error: intake::IntakeError| {
        let (status, answer) = shown(error.into_problem());
        answered(status, answer)
    };
    Ok(match outcome {
        Err(fault) => refused(intake::IntakeError::MapperFault(fault)),
        Ok(Outcome::Respond(r)) => answered(
            r.status,
            json!({
                "headers": r.headers,
                "body": String::from_utf8_lossy(&r.body),
            }),
        ),
        Ok(Outcome::Reject(r)) => refused(intake::IntakeError::MapperRejected {
            status: r.status,
            reason: r.reason,
        }),
        Ok(Outcome::Forward(None)) => MapperStep::Forward(request.body, false, receipt),
        Ok(Outcome::Forward(Some(new))) => MapperStep::Forward(new, true, receipt),
    })
}

/// What extraction finds in `body`, or why the server would refuse it.
fn try_answer(
    template: &Template,
    content_type: &str,
    body: &[u8],
    rewritten: bool,
) -> Result<(Summary, Vec<Value>), intake::IntakeError> {
    intake::require_json(Some(content_type))?;
    let payload = intake::parse_payload(template, body, rewritten)?;
    let ingest = intake::extract(
        template,
        &payload,
        config::Limits::default().max_events_per_request,
        Ingest {
            datasource: String::new(),
            received_at: 0,
            token_id: None,
            max_types_per_subject: config::Limits::MAX_TYPES,
            events: Vec::new(),
            summary: Summary::default(),
            mapper: None,
        },
    )?;
    let mut summary = ingest.summary;
    // Nothing is stored, so every matched event counts as new.
    summary.accepted = ingest.events.len();
    let stored = ingest
        .events
        .iter()
        .map(|(_, event)| serde_json::to_value(event).expect("events serialize"))
        .collect();
    Ok((summary, stored))
}

/// `validate`: silent and success when every file is valid.
fn validate(files: &[PathBuf]) -> ExitCode {
    let mut valid = true;
    for file in files {
        if let Err(e) = Template::load(file) {
            valid = false;
            match e {
                TemplateError::Invalid { .. } => eprintln!("{e}"),
                TemplateError::Read { ref source, .. } => {
                    eprintln!("{}:1:1: failed to read the file: {source}", file.display())
                }
            }
        }
    }
    if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
