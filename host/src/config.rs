//! The configuration file: where to listen, where the database is, and the
//! datasources with their templates and limits.
//!
//! ```yaml
//! listen: 127.0.0.1:8080          # default
//! database: data/eventpush.db     # default; relative to this file
//! durability: full                # full (default) | relaxed
//! limits:                         # defaults for every datasource
//!   max_body_bytes: 1048576
//! datasources:
//!   okta:
//!     template: templates/okta-event-hooks.yaml
//!     token_header: Authorization # default
//!     limits:
//!       retention_days: 7
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::HeaderName;
use indexmap::IndexMap;
use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

use crate::mapper::{self, Secret};
use crate::store::Durability;
use crate::template::{Template, TemplateError};
use crate::yaml::{self, Problem};

/// The file `serve` reads when no `--config` is given.
pub const DEFAULT_FILE: &str = "eventpush.yaml";
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
const DEFAULT_DATABASE: &str = "data/eventpush.db";
const DEFAULT_MAX_IN_FLIGHT: usize = 512;
const DEFAULT_MAX_CONNECTIONS: usize = 1024;
const DEFAULT_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
const DEFAULT_HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
const DEFAULT_SHUTDOWN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// The YAML shape of the configuration file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    /// `listen`: address and port; default `127.0.0.1:8080`.
    #[serde(default)]
    listen: Option<Spanned<String>>,
    /// `database`: the SQLite file; default `data/eventpush.db`.
    #[serde(default)]
    database: Option<PathBuf>,
    /// `durability`: `full` (default) or `relaxed`.
    #[serde(default)]
    durability: Option<DurabilityDef>,
    /// `limits`: defaults for every datasource.
    #[serde(default)]
    limits: LimitsDef,
    /// `max_in_flight`: pushes handled at once; past it, 503 with
    /// `Retry-After`. Default 512. Read at start only.
    #[serde(default)]
    max_in_flight: Option<Spanned<usize>>,
    /// `max_connections`: connections open at once; default 1024. Read at start.
    #[serde(default)]
    max_connections: Option<Spanned<usize>>,
    /// `idle_timeout_ms`: a connection that sends nothing this long is
    /// closed; default 60000. Read at start.
    #[serde(default)]
    idle_timeout_ms: Option<Spanned<u64>>,
    /// `tls`: serve HTTPS with this certificate and key.
    #[serde(default)]
    tls: Option<Spanned<TlsDef>>,
    /// `header_read_timeout_ms`: time allowed to receive a request's head
    /// (request line and headers); default 10000. Read at start.
    #[serde(default)]
    header_read_timeout_ms: Option<Spanned<u64>>,
    /// `shutdown_timeout_ms`: how long requests in flight may take to finish
    /// after SIGTERM or Ctrl-C; default 20000. Read at start.
    #[serde(default)]
    shutdown_timeout_ms: Option<u64>,
    /// `datasources`: ID to datasource; the ID is the last URL segment.
    datasources: IndexMap<DatasourceId, DatasourceDef>,
}

/// A datasource ID, checked as it is read so that a bad one is reported at
/// its own line (the ID is the last segment of the datasource's URL).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct DatasourceId(String);

impl<'de> Deserialize<'de> for DatasourceId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = String::deserialize(deserializer)?;
        let allowed = |b: u8| b.is_ascii_alphanumeric() || b"-_.".contains(&b);
        // `.` and `..` would be path segments, not names.
        let why = if id.is_empty() {
            "a datasource ID cannot be empty"
        } else if !id.bytes().all(allowed) {
            "a datasource ID may hold only letters, digits, `-`, `_` and `.`"
        } else if id.bytes().all(|b| b == b'.') {
            "a datasource ID cannot be dots alone"
        } else {
            return Ok(Self(id));
        };
        Err(serde::de::Error::custom(why))
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum DurabilityDef {
    Full,
    Relaxed,
}

/// One datasource in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DatasourceDef {
    /// `template`: path to the YAML template; required.
    template: Spanned<PathBuf>,
    /// `token_header`: the header carrying the bearer token; default `Authorization`.
    #[serde(default)]
    token_header: Option<Spanned<String>>,
    /// `auth`: `token` (default) or `mapper`.
    #[serde(default)]
    auth: Option<Spanned<AuthMode>>,
    /// `mapper`: `builtin:NAME` or a path to a `.wasm` component.
    #[serde(default)]
    mapper: Option<Spanned<String>>,
    /// `mapper_config`: plain values the mapper reads by key.
    #[serde(default)]
    mapper_config: Option<Spanned<BTreeMap<String, PlainValue>>>,
    /// `secrets`: name to `env:VAR` or `file:PATH`; the mapper knows only names.
    #[serde(default)]
    secrets: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    /// `unauthenticated_handshakes`: let requests without credentials reach
    /// the mapper, honouring only a respond outcome for them; default false.
    #[serde(default)]
    unauthenticated_handshakes: Option<Spanned<bool>>,
    /// `limits`: overrides of the top-level limits.
    #[serde(default)]
    limits: LimitsDef,
}

/// How a datasource authenticates senders.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// A bearer token issued for the datasource.
    #[default]
    Token,
    /// The mapper verifies the sender (a signature); only its forward counts.
    Mapper,
}

/// A `mapper_config` value: any scalar, handed to the mapper as text.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged, expecting = "must be a string, a number or true/false")]
enum PlainValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl PlainValue {
    fn text(&self) -> String {
        match self {
            Self::Bool(b) => b.to_string(),
            Self::Int(i) => i.to_string(),
            Self::Float(f) => f.to_string(),
            Self::Text(t) => t.clone(),
        }
    }
}

/// `tls` as written: PEM files, relative to the configuration's directory.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsDef {
    /// The certificate chain, the server's own certificate first.
    certificate: Spanned<PathBuf>,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    key: Spanned<PathBuf>,
}

/// Limits as written; unset keys fall back to the top level, then the defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsDef {
    /// `max_body_bytes`: largest request body; default 1 MiB, at most 64 MiB.
    #[serde(default)]
    max_body_bytes: Option<Spanned<usize>>,
    /// `retention_days`: how long events are kept; default and maximum 30.
    #[serde(default)]
    retention_days: Option<Spanned<u32>>,
    /// `log_retention_days`: how long event-stream log entries are kept;
    /// default 30, at most 365.
    #[serde(default)]
    log_retention_days: Option<Spanned<u32>>,
    /// `max_event_types_per_subject`: distinct types one subject may hold;
    /// default and maximum 50.
    #[serde(default)]
    max_event_types_per_subject: Option<Spanned<usize>>,
    /// `mapper_fuel`: fuel per call; default 100 million.
    #[serde(default)]
    mapper_fuel: Option<Spanned<u64>>,
    /// `mapper_memory_bytes`: linear memory cap; default 64 MiB, at most 1 GiB,
    /// and no less than the memory the datasource's mapper starts with.
    #[serde(default)]
    mapper_memory_bytes: Option<Spanned<usize>>,
    /// `mapper_timeout_ms`: wall-clock time per call; default 1000.
    #[serde(default)]
    mapper_timeout_ms: Option<Spanned<u64>>,
    /// `mapper_output_bytes`: largest body or answer a mapper returns; default 1 MiB.
    #[serde(default)]
    mapper_output_bytes: Option<Spanned<usize>>,
    /// `body_read_timeout_ms`: time allowed to receive a body; default 10000.
    #[serde(default)]
    body_read_timeout_ms: Option<Spanned<u64>>,
    /// `max_events_per_request`: events one push may hold; default 10000.
    #[serde(default)]
    max_events_per_request: Option<Spanned<usize>>,
}

/// Limits in force for one datasource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body in bytes; larger ones get 413.
    pub max_body_bytes: usize,
    /// Days an event is kept.
    pub retention_days: u32,
    /// Days an event-stream log entry is kept.
    pub log_retention_days: u32,
    /// Distinct event types one subject may hold; events of a further type are rejected.
    pub max_event_types_per_subject: usize,
    /// Limits of each mapper call.
    pub mapper: mapper::Limits,
    /// Time allowed to receive a request body; a slower sender gets 408.
    pub body_read_timeout: std::time::Duration,
    /// Events one push may hold; a larger batch is refused with 413.
    pub max_events_per_request: usize,
}

impl Limits {
    /// Default body limit: 1 MiB.
    pub const DEFAULT_BODY: usize = 1 << 20;
    /// Largest body limit accepted: 64 MiB.
    pub const MAX_BODY: usize = 64 << 20;
    /// Default and longest retention.
    pub const MAX_RETENTION_DAYS: u32 = 30;
    /// Default log retention.
    pub const DEFAULT_LOG_RETENTION_DAYS: u32 = 30;
    /// Longest log retention.
    pub const MAX_LOG_RETENTION_DAYS: u32 = 365;
    /// Default and largest type cap.
    pub const MAX_TYPES: usize = 50;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: Self::DEFAULT_BODY,
            retention_days: Self::MAX_RETENTION_DAYS,
            log_retention_days: Self::DEFAULT_LOG_RETENTION_DAYS,
            max_event_types_per_subject: Self::MAX_TYPES,
            mapper: mapper::Limits::default(),
            body_read_timeout: std::time::Duration::from_secs(10),
            max_events_per_request: 10_000,
        }
    }
}

/// A datasource ready to serve.
#[derive(Debug, Clone)]
pub struct Datasource {
    /// Its ID, the `{datasource}` of the URL.
    pub id: String,
    /// Where its template was read from.
    pub template_path: PathBuf,
    /// The compiled template.
    pub template: Arc<Template>,
    /// The header that carries its token.
    pub token_header: HeaderName,
    /// How senders authenticate.
    pub auth: AuthMode,
    /// The mapper and what it is given, when the datasource has one.
    pub mapper: Option<MapperSetup>,
    /// Whether requests without credentials may reach the mapper for handshakes.
    pub unauthenticated_handshakes: bool,
    /// Limits in force.
    pub limits: Limits,
}

/// A datasource's mapper with its configuration, secrets and limits.
#[derive(Debug, Clone)]
pub struct MapperSetup {
    /// The loaded mapper.
    pub mapper: mapper::Mapper,
    /// What each call is given.
    pub context: mapper::Context,
}

/// A loaded, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    /// Where to listen.
    pub listen: SocketAddr,
    /// The SQLite file.
    pub database: PathBuf,
    /// Commit durability.
    pub durability: Durability,
    /// Pushes handled at once.
    pub max_in_flight: usize,
    /// Connections open at once.
    pub max_connections: usize,
    /// How long a connection may send nothing before it is closed.
    pub idle_timeout: std::time::Duration,
    /// Time allowed to receive a request's head.
    pub header_read_timeout: std::time::Duration,
    /// HTTPS settings, when `tls` is set; read again at each reload.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// How long requests in flight may take to finish at shutdown.
    pub shutdown_timeout: std::time::Duration,
    /// Datasources by ID, in file order.
    pub datasources: BTreeMap<String, Arc<Datasource>>,
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("failed to read configuration `{}` (name another with `--config`)", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{}:{problem}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong and where.
        problem: Problem,
    },
    /// A datasource's template is not valid.
    #[error("datasource `{datasource}`")]
    Template {
        /// The datasource.
        datasource: String,
        /// What is wrong with the template.
        #[source]
        source: TemplateError,
    },
}

impl Config {
    /// Reads the configuration at `path`, resolving relative paths against
    /// its directory, and loads every template. Mappers are loaded with
    /// `engine`; without one they are only checked to exist.
    pub fn load(path: &Path, engine: Option<&mapper::Engine>) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let invalid = |problem| ConfigError::Invalid {
            path: path.to_owned(),
            problem,
        };
        let file: ConfigFile = yaml::parse(&text).map_err(invalid)?;
        let base = path.parent().unwrap_or(Path::new("."));

        let listen = match &file.listen {
            Some(listen) => listen.value.parse().map_err(|_| {
                invalid(Problem::key(
                    &listen.referenced,
                    "listen",
                    format_args!(
                        "`{}` is not an address and port such as 127.0.0.1:8080",
                        listen.value
                    ),
                ))
            })?,
            None => DEFAULT_LISTEN.parse().expect("the default address parses"),
        };
        let defaults =
            resolve_limits(&file.limits, &Limits::default(), "limits").map_err(invalid)?;
        let mut datasources = BTreeMap::new();
        for (id, def) in &file.datasources {
            let datasource =
                load_datasource(base, &id.0, def, &defaults, engine).map_err(|e| match e {
                    DatasourceError::Config(problem) => invalid(problem),
                    DatasourceError::Template(source) => ConfigError::Template {
                        datasource: id.0.clone(),
                        source,
                    },
                })?;
            datasources.insert(id.0.clone(), Arc::new(datasource));
        }
        let max_in_flight = at_least_one(&file.max_in_flight, "max_in_flight").map_err(invalid)?;
        let max_connections =
            at_least_one(&file.max_connections, "max_connections").map_err(invalid)?;
        let idle_timeout =
            at_least_one(&file.idle_timeout_ms, "idle_timeout_ms").map_err(invalid)?;
        let header_read_timeout =
            at_least_one(&file.header_read_timeout_ms, "header_read_timeout_ms")
                .map_err(invalid)?;
        let tls = match &file.tls {
            Some(def) => Some(load_tls(base, def).map_err(invalid)?),
            None => None,
        };
        Ok(Self {
            path: path.to_owned(),
            listen,
            database: base.join(
                file.database
                    .as_deref()
                    .unwrap_or(Path::new(DEFAULT_DATABASE)),
            ),
            max_in_flight: max_in_flight.unwrap_or(DEFAULT_MAX_IN_FLIGHT),
            max_connections: max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS),
            idle_timeout: idle_timeout
                .map_or(DEFAULT_IDLE_TIMEOUT, std::time::Duration::from_millis),
            tls,
            header_read_timeout: header_read_timeout.map_or(
                DEFAULT_HEADER_READ_TIMEOUT,
                std::time::Duration::from_millis,
            ),
            shutdown_timeout: file
                .shutdown_timeout_ms
                .map_or(DEFAULT_SHUTDOWN_TIMEOUT, std::time::Duration::from_millis),
            durability: match file.durability {
                Some(DurabilityDef::Relaxed) => Durability::Relaxed,
                _ => Durability::Full,
            },
            datasources,
        })
    }
}

/// The value of `field` (named `key`), which must be at least 1 when given.
fn at_least_one<T: Copy + PartialEq + From<u8>>(
    field: &Option<Spanned<T>>,
    key: &str,
) -> Result<Option<T>, Problem> {
    match field {
        Some(given) if given.value == T::from(0) => {
            Err(Problem::key(&given.referenced, key, "must be at least 1"))
        }
        _ => Ok(value(field)),
    }
}

enum DatasourceError {
    Config(Problem),
    Template(TemplateError),
}

impl DatasourceError {
    /// A problem with `key` of the datasource `id`, at `at`.
    fn at(at: &Location, id: &str, key: &str, why: impl std::fmt::Display) -> Self {
        Self::Config(Problem::key(at, &format!("datasources.{id}.{key}"), why))
    }
}

fn load_datasource(
    base: &Path,
    id: &str,
    def: &DatasourceDef,
    defaults: &Limits,
    engine: Option<&mapper::Engine>,
) -> Result<Datasource, DatasourceError> {
    let token_header = match &def.token_header {
        Some(header) => HeaderName::try_from(&header.value).map_err(|_| {
            DatasourceError::at(
                &header.referenced,
                id,
                "token_header",
                format_args!("`{}` is not a valid header name", header.value),
            )
        })?,
        None => axum::http::header::AUTHORIZATION,
    };
    let limits = resolve_limits(&def.limits, defaults, &format!("datasources.{id}.limits"))
        .map_err(DatasourceError::Config)?;
    let template_path = base.join(&def.template.value);
    // A file that cannot be read is this file's mistake, told at its line;
    // a template that does not compile is told at the template's own lines.
    let template = Template::load(&template_path).map_err(|e| match e {
        TemplateError::Read { .. } => DatasourceError::at(
            &def.template.referenced,
            id,
            "template",
            crate::error_chain(&e),
        ),
        invalid => DatasourceError::Template(invalid),
    })?;
    let auth = value(&def.auth).unwrap_or_default();
    let mapper = match &def.mapper {
        None => {
            // Each key that only a mapper reads, where it is given.
            let for_mapper = [
                (
                    "auth",
                    location_if(&def.auth, |auth| *auth == AuthMode::Mapper),
                ),
                (
                    "unauthenticated_handshakes",
                    location_if(&def.unauthenticated_handshakes, |on| *on),
                ),
                (
                    "secrets",
                    location_if(&def.secrets, |secrets| !secrets.is_empty()),
                ),
                (
                    "mapper_config",
                    location_if(&def.mapper_config, |config| !config.is_empty()),
                ),
            ];
            if let Some((key, Some(at))) = for_mapper.into_iter().find(|(_, at)| at.is_some()) {
                return Err(DatasourceError::at(
                    at,
                    id,
                    key,
                    "needs a `mapper` on the datasource",
                ));
            }
            None
        }
        Some(spec) => {
            if let Some(builtin) = spec.value.strip_prefix(mapper::BUILTIN_PREFIX)
                && let Some(at) = location_if(&def.auth, |auth| *auth == AuthMode::Mapper)
                && !mapper::VERIFYING_BUILTINS.contains(&builtin)
            {
                return Err(DatasourceError::at(
                    at,
                    id,
                    "auth",
                    format_args!(
                        "`builtin:{builtin}` verifies no sender, so `auth: mapper` \
                         would store whatever arrives; use `auth: token`"
                    ),
                ));
            }
            load_mapper(base, id, spec, def, &limits, engine)?
        }
    };
    Ok(Datasource {
        id: id.to_owned(),
        template_path,
        template: Arc::new(template),
        token_header,
        auth,
        mapper,
        unauthenticated_handshakes: def
            .unauthenticated_handshakes
            .as_ref()
            .is_some_and(|handshakes| handshakes.value),
        limits,
    })
}

/// Resolves `builtin:NAME` or a path, reads the secrets, and loads the
/// mapper when an engine is given.
fn load_mapper(
    base: &Path,
    id: &str,
    spec: &Spanned<String>,
    def: &DatasourceDef,
    limits: &Limits,
    engine: Option<&mapper::Engine>,
) -> Result<Option<MapperSetup>, DatasourceError> {
    let (name, bytes) = mapper::read_component(base, &spec.value)
        .map_err(|why| DatasourceError::at(&spec.referenced, id, "mapper", why))?;
    // Commands other than `serve` run no mapper and need no secrets.
    let Some(engine) = engine else {
        return Ok(None);
    };
    let mut secrets = mapper::Secrets::new();
    for (secret, source) in def.secrets.iter().flat_map(|secrets| &secrets.value) {
        let bytes = read_secret(base, &source.value).map_err(|why| {
            DatasourceError::at(&source.referenced, id, &format!("secrets.{secret}"), why)
        })?;
        secrets.insert(secret.clone(), Secret::new(bytes));
    }
    let mapper = engine
        .load(&name, &bytes)
        .map_err(|e| DatasourceError::at(&spec.referenced, id, "mapper", e))?;
    let start = mapper.memory_at_start();
    if start > limits.mapper.memory_bytes {
        let why = format!(
            "`{name}` starts with {start} bytes of memory, more than `mapper_memory_bytes` \
             ({}) allows: every call would fail",
            limits.mapper.memory_bytes
        );
        return Err(DatasourceError::at(&spec.referenced, id, "mapper", why));
    }
    let config = def.mapper_config.as_ref().map(|config| &config.value);
    Ok(Some(MapperSetup {
        mapper,
        context: mapper::Context {
            datasource: id.to_owned(),
            config: Arc::new(
                config
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), v.text()))
                    .collect(),
            ),
            secrets: Arc::new(secrets),
            clock: mapper::Clock::from_env(),
            limits: limits.mapper,
        },
    }))
}

/// The largest secret file read; a key or token is far smaller.
const MAX_SECRET_BYTES: u64 = 64 << 10;

/// The largest certificate chain or key file read.
const MAX_TLS_FILE_BYTES: u64 = 1 << 20;

/// The file at `path`, but no more than one byte past `limit`: enough to
/// tell that it is over, while a mistyped path such as `/dev/zero` would
/// otherwise be read without end.
pub(crate) fn read_at_most(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;

    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Reads the file at `path`, refusing one larger than `limit` bytes.
fn read_capped(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let bytes = read_at_most(path, limit)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::other(format!("larger than {limit} bytes")));
    }
    Ok(bytes)
}

/// Reads `env:VAR` or `file:PATH`; the error never shows the secret. A
/// secret that is empty or only whitespace is refused: a MAC under an empty
/// key is one anybody can make.
fn read_secret(base: &Path, source: &str) -> Result<Vec<u8>, String> {
    let bytes = if let Some(var) = source.strip_prefix("env:") {
        std::env::var(var)
            .map_err(|e| match e {
                std::env::VarError::NotPresent => {
                    format!("environment variable `{var}` is not set")
                }
                std::env::VarError::NotUnicode(_) => {
                    format!("environment variable `{var}` is not valid UTF-8")
                }
            })?
            .into_bytes()
    } else if let Some(file) = source.strip_prefix("file:") {
        let path = base.join(file);
        let mut bytes = read_capped(&path, MAX_SECRET_BYTES)
            .map_err(|e| format!("failed to read `{}`: {e}", path.display()))?;
        // An editor's final line break is not part of the secret.
        while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            bytes.pop();
        }
        bytes
    } else {
        return Err("give the secret as `env:VAR` or `file:PATH`".into());
    };
    // A key of spaces (of any kind) is as easy to guess as none.
    if String::from_utf8_lossy(&bytes)
        .chars()
        .all(char::is_whitespace)
    {
        return Err("the secret is empty or only whitespace".into());
    }
    Ok(bytes)
}

/// Applies `def` over `base`, refusing values above what the service allows.
fn resolve_limits(def: &LimitsDef, base: &Limits, key: &str) -> Result<Limits, Problem> {
    let mapper = mapper::Limits {
        fuel: value(&def.mapper_fuel).unwrap_or(base.mapper.fuel),
        memory_bytes: value(&def.mapper_memory_bytes).unwrap_or(base.mapper.memory_bytes),
        timeout: value(&def.mapper_timeout_ms)
            .map_or(base.mapper.timeout, std::time::Duration::from_millis),
        output_bytes: value(&def.mapper_output_bytes).unwrap_or(base.mapper.output_bytes),
        log_bytes: base.mapper.log_bytes,
    };
    let limits = Limits {
        mapper,
        max_events_per_request: value(&def.max_events_per_request)
            .unwrap_or(base.max_events_per_request),
        body_read_timeout: value(&def.body_read_timeout_ms)
            .map_or(base.body_read_timeout, std::time::Duration::from_millis),
        max_body_bytes: value(&def.max_body_bytes).unwrap_or(base.max_body_bytes),
        retention_days: value(&def.retention_days).unwrap_or(base.retention_days),
        log_retention_days: value(&def.log_retention_days).unwrap_or(base.log_retention_days),
        max_event_types_per_subject: value(&def.max_event_types_per_subject)
            .unwrap_or(base.max_event_types_per_subject),
    };
    let checks = [
        (
            "max_body_bytes",
            location(&def.max_body_bytes),
            (1..=Limits::MAX_BODY).contains(&limits.max_body_bytes),
            format!("from 1 to {}", Limits::MAX_BODY),
        ),
        (
            "retention_days",
            location(&def.retention_days),
            (1..=Limits::MAX_RETENTION_DAYS).contains(&limits.retention_days),
            format!("from 1 to {}", Limits::MAX_RETENTION_DAYS),
        ),
        (
            "log_retention_days",
            location(&def.log_retention_days),
            (1..=Limits::MAX_LOG_RETENTION_DAYS).contains(&limits.log_retention_days),
            format!("from 1 to {}", Limits::MAX_LOG_RETENTION_DAYS),
        ),
        (
            "max_event_types_per_subject",
            location(&def.max_event_types_per_subject),
            (1..=Limits::MAX_TYPES).contains(&limits.max_event_types_per_subject),
            format!("from 1 to {}", Limits::MAX_TYPES),
        ),
        (
            "mapper_fuel",
            location(&def.mapper_fuel),
            limits.mapper.fuel >= 1,
            "at least 1".to_owned(),
        ),
        (
            "mapper_memory_bytes",
            location(&def.mapper_memory_bytes),
            (1 << 16..=mapper::Limits::MAX_MEMORY).contains(&limits.mapper.memory_bytes),
            format!("from 65536 to {}", mapper::Limits::MAX_MEMORY),
        ),
        (
            "mapper_timeout_ms",
            location(&def.mapper_timeout_ms),
            (1..=60_000).contains(&limits.mapper.timeout.as_millis()),
            "from 1 to 60000".to_owned(),
        ),
        (
            "max_events_per_request",
            location(&def.max_events_per_request),
            (1..=100_000).contains(&limits.max_events_per_request),
            "from 1 to 100000".to_owned(),
        ),
        (
            "body_read_timeout_ms",
            location(&def.body_read_timeout_ms),
            (1..=600_000).contains(&limits.body_read_timeout.as_millis()),
            "from 1 to 600000".to_owned(),
        ),
        (
            "mapper_output_bytes",
            location(&def.mapper_output_bytes),
            (1..=Limits::MAX_BODY).contains(&limits.mapper.output_bytes),
            format!("from 1 to {}", Limits::MAX_BODY),
        ),
    ];
    // A value out of range is this level's own: `base` was checked before.
    for (name, at, ok, range) in checks {
        if !ok {
            return Err(Problem::key(
                at.unwrap_or(&Location::UNKNOWN),
                &format!("{key}.{name}"),
                format_args!("must be {range}"),
            ));
        }
    }
    Ok(limits)
}

/// Reads the certificate chain and key of `tls` into a server configuration.
fn load_tls(base: &Path, def: &Spanned<TlsDef>) -> Result<Arc<rustls::ServerConfig>, Problem> {
    use rustls::pki_types::pem::{self, PemObject};
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let (certificate, key) = (&def.value.certificate, &def.value.key);
    // Reads one file, with how to tell what is wrong with it.
    let read = |at: &Spanned<PathBuf>, name: &str| {
        let path = base.join(&at.value);
        let (location, key, shown) = (
            at.referenced,
            format!("tls.{name}"),
            path.display().to_string(),
        );
        let problem = move |why: &dyn std::fmt::Display| {
            Problem::key(&location, &key, format_args!("`{shown}`: {why}"))
        };
        let bytes = read_capped(&path, MAX_TLS_FILE_BYTES).map_err(|e| problem(&e))?;
        Ok::<_, Problem>((bytes, problem))
    };
    let (bytes, problem) = read(certificate, "certificate")?;
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| problem(&e))?;
    if chain.is_empty() {
        return Err(problem(&"the file holds no certificate"));
    }
    let (bytes, problem) = read(key, "key")?;
    // The parser's errors may quote the file, which is the key itself.
    let private_key = PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| {
        problem(&match e {
            pem::Error::NoItemsFound => "the file holds no private key",
            _ => "the file is not a PEM private key",
        })
    })?;
    // ring builds with a C compiler alone; the provider with post-quantum key
    // exchange (aws-lc-rs) needs a heavier toolchain on every build machine.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| {
            builder
                .with_no_client_auth()
                .with_single_cert(chain, private_key)
        })
        .map_err(|e| {
            Problem::key(
                &def.referenced,
                "tls",
                format_args!("the certificate and key do not make a TLS server: {e}"),
            )
        })?;
    Ok(Arc::new(config))
}

/// The value of an optional field.
fn value<T: Copy>(field: &Option<Spanned<T>>) -> Option<T> {
    field.as_ref().map(|field| field.value)
}

/// Where an optional field was given.
fn location<T>(field: &Option<Spanned<T>>) -> Option<&Location> {
    location_if(field, |_| true)
}

/// Where an optional field was given with a value that `holds`.
fn location_if<T>(field: &Option<Spanned<T>>, holds: impl Fn(&T) -> bool) -> Option<&Location> {
    field
        .as_ref()
        .filter(|field| holds(&field.value))
        .map(|field| &field.referenced)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error of loading `text` as a configuration, without its path.
    fn refusal(text: &str) -> String {
        refusal_in(tempfile::tempdir().unwrap().path(), text)
    }

    /// The same, for a configuration written in `dir` beside other files.
    fn refusal_in(dir: &Path, text: &str) -> String {
        let template =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates/okta-event-hooks.yaml");
        let text = text.replace("TEMPLATE", &template.display().to_string());
        let path = dir.join("eventpush.yaml");
        std::fs::write(&path, text).unwrap();
        let error = Config::load(&path, None).unwrap_err().to_string();
        error
            .strip_prefix(&format!("{}:", path.display()))
            .unwrap_or(&error)
            .to_owned()
    }

    /// Each configuration text, written in `dir`, is refused with a message
    /// that starts as given.
    fn assert_refusals_in(dir: &Path, cases: &[(&str, &str)]) {
        for (text, expected) in cases {
            let refusal = refusal_in(dir, text);
            assert!(refusal.starts_with(expected), "{refusal}\nfor:\n{text}");
        }
    }

    fn assert_refusals(cases: &[(&str, &str)]) {
        assert_refusals_in(tempfile::tempdir().unwrap().path(), cases);
    }

    #[test]
    fn names_the_line_and_column_of_a_value_checked_after_parsing() {
        let cases = [
            (
                "listen: 127.0.0.1:80\nlimits:\n  max_body_bytes: 0\ndatasources:\n  okta:\n    template: TEMPLATE\n",
                "3:19: `limits.max_body_bytes`: must be from 1 to 67108864",
            ),
            (
                "datasources:\n  okta:\n    template: TEMPLATE\n    limits:\n      retention_days: 7\n      mapper_fuel: 0\n",
                "6:20: `datasources.okta.limits.mapper_fuel`: must be at least 1",
            ),
            (
                "datasources: {}\ntls:\n  certificate: none.pem\n  key: none.key\n",
                "3:16: `tls.certificate`: ",
            ),
            (
                "max_in_flight: 0\ndatasources: {}\n",
                "1:16: `max_in_flight`: must be at least 1",
            ),
            (
                "datasources: {}\nlisten: localhost\n",
                "2:9: `listen`: `localhost` is not an address and port such as 127.0.0.1:8080",
            ),
            (
                "datasources:\n  okta:\n    template: TEMPLATE\n  bad id:\n    template: TEMPLATE\n",
                "4:3: `datasources.bad id`: a datasource ID may hold only letters, digits, `-`, `_` and `.`",
            ),
            (
                "datasources:\n  okta:\n    template: TEMPLATE\n    token_header: \"a b\"\n",
                "4:19: `datasources.okta.token_header`: `a b` is not a valid header name",
            ),
            (
                "datasources:\n  okta:\n    template: TEMPLATE\n    secrets:\n      key: env:KEY\n",
                "5:7: `datasources.okta.secrets`: needs a `mapper` on the datasource",
            ),
            (
                "datasources:\n  okta:\n    template: TEMPLATE\n    auth: mapper\n    mapper: builtin:okta-verify\n",
                "4:11: `datasources.okta.auth`: `builtin:okta-verify` verifies no sender, so `auth: mapper` would store whatever arrives; use `auth: token`",
            ),
            (
                "datasources:\n  okta:\n    template: missing.yaml\n",
                "3:15: `datasources.okta.template`: failed to read template `",
            ),
            (
                "datasources:\n  okta:\n    template: TEMPLATE\n    mapper: missing.wasm\n",
                "4:13: `datasources.okta.mapper`: failed to read",
            ),
        ];

        assert_refusals(&cases);
    }

    #[test]
    fn names_the_datasource_in_the_key_of_a_parse_error() {
        let cases = [
            (
                "datasources:\n  okta:\n    template: TEMPLATE\n    auth: maybe\n",
                "4:11: `datasources.okta.auth`: unknown variant `maybe`",
            ),
            (
                "datasources:\n  okta:\n    template: TEMPLATE\n    limits:\n      mapper_fuel: lots\n",
                "5:20: `datasources.okta.limits.mapper_fuel`: invalid",
            ),
            (
                "datasources:\n  okta:\n    template: TEMPLATE\n    colour: blue\n",
                "4:5: `datasources.okta.colour`: unknown field `colour`",
            ),
            (
                "datasources:\n  okta:\n    template: TEMPLATE\n    mapper_config:\n      a: [1]\n",
                "5:10: `datasources.okta.mapper_config.a`: must be a string, a number or true/false",
            ),
            (
                "datasources:\n  ..:\n    template: TEMPLATE\n",
                "2:3: `datasources...`: a datasource ID cannot be dots alone",
            ),
        ];

        assert_refusals(&cases);
    }

    #[test]
    fn reads_a_secret_without_its_final_line_break_and_refuses_a_blank_or_huge_one() {
        let dir = tempfile::tempdir().unwrap();
        let write =
            |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).unwrap();
        write("key", b"s3cret\r\n");
        write("blank", b"\n\n");
        write("spaces", " \t\u{b}\u{a0}\u{3000}\n".as_bytes());
        write("huge", &vec![b'k'; MAX_SECRET_BYTES as usize + 1]);

        assert_eq!(read_secret(dir.path(), "file:key"), Ok(b"s3cret".to_vec()));
        for blank in ["file:blank", "file:spaces"] {
            assert_eq!(
                read_secret(dir.path(), blank),
                Err("the secret is empty or only whitespace".into())
            );
        }
        let huge = read_secret(dir.path(), "file:huge").unwrap_err();
        assert!(huge.contains("larger than 65536 bytes"), "{huge}");
        assert!(!huge.contains("kkkk"), "{huge}");
    }

    #[test]
    fn names_the_tls_file_at_fault() {
        let dir = tempfile::tempdir().unwrap();
        let write_pair = |name: &str| {
            let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
            std::fs::write(dir.path().join(format!("{name}.pem")), made.cert.pem()).unwrap();
            std::fs::write(
                dir.path().join(format!("{name}.key")),
                made.signing_key.serialize_pem(),
            )
            .unwrap();
        };
        write_pair("one");
        write_pair("two");
        std::fs::write(dir.path().join("text.key"), "not a key, but secret-ish").unwrap();
        let cases = [
            (
                "datasources: {}\ntls:\n  certificate: one.pem\n  # the key\n\n  key: missing.key\n",
                "6:8: `tls.key`: ",
            ),
            (
                "datasources: {}\ntls:\n  key: one.key\n  certificate: missing.pem\n",
                "4:16: `tls.certificate`: ",
            ),
            (
                "datasources: {}\ntls: {certificate: one.pem, key: two.key}\n",
                "2:6: `tls`: the certificate and key do not make a TLS server",
            ),
            (
                "datasources: {}\ntls: {certificate: /dev/zero, key: one.key}\n",
                "2:20: `tls.certificate`: `/dev/zero`: larger than 1048576 bytes",
            ),
        ];

        assert_refusals_in(dir.path(), &cases);
        let not_a_key = refusal_in(
            dir.path(),
            "datasources: {}\ntls: {certificate: one.pem, key: text.key}\n",
        );
        assert!(not_a_key.starts_with("2:34: `tls.key`: `"), "{not_a_key}");
        assert!(
            not_a_key.ends_with("text.key`: the file holds no private key"),
            "{not_a_key}"
        );
        assert!(!not_a_key.contains("secret-ish"), "{not_a_key}");
        std::fs::write(
            dir.path().join("bad.key"),
            "-----BEGIN PRIVATE KEY-----\nsecret-ish!\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let bad_key = refusal_in(
            dir.path(),
            "datasources: {}\ntls: {certificate: one.pem, key: bad.key}\n",
        );
        assert!(
            bad_key.ends_with("bad.key`: the file is not a PEM private key"),
            "{bad_key}"
        );
        assert!(!bad_key.contains("secret-ish"), "{bad_key}");
    }

    #[test]
    fn refuses_a_datasource_given_twice() {
        let refusal = refusal(
            "datasources:\n  okta:\n    template: TEMPLATE\n  okta:\n    template: TEMPLATE\n",
        );

        assert!(refusal.starts_with("4:3: "), "{refusal}");
        assert!(refusal.contains("duplicate"), "{refusal}");
        // Worded for people, not in terms of the YAML library's options.
        assert!(!refusal.contains("Options"), "{refusal}");
    }
}
