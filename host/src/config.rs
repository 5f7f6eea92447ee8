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
    listen: Option<String>,
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
    max_in_flight: Option<usize>,
    /// `max_connections`: connections open at once; default 1024. Read at start.
    #[serde(default)]
    max_connections: Option<usize>,
    /// `idle_timeout_ms`: a connection that sends nothing this long is
    /// closed; default 60000. Read at start.
    #[serde(default)]
    idle_timeout_ms: Option<u64>,
    /// `tls`: serve HTTPS with this certificate and key.
    #[serde(default)]
    tls: Option<TlsDef>,
    /// `header_read_timeout_ms`: time allowed to receive a request's head
    /// (request line and headers); default 10000. Read at start.
    #[serde(default)]
    header_read_timeout_ms: Option<u64>,
    /// `shutdown_timeout_ms`: how long requests in flight may take to finish
    /// after SIGTERM or Ctrl-C; default 20000. Read at start.
    #[serde(default)]
    shutdown_timeout_ms: Option<u64>,
    /// `datasources`: ID to datasource; the ID is the last URL segment.
    datasources: IndexMap<String, DatasourceDef>,
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
    template: PathBuf,
    /// `token_header`: the header carrying the bearer token; default `Authorization`.
    #[serde(default)]
    token_header: Option<String>,
    /// `auth`: `token` (default) or `mapper`.
    #[serde(default)]
    auth: Option<AuthMode>,
    /// `mapper`: `builtin:NAME` or a path to a `.wasm` component.
    #[serde(default)]
    mapper: Option<String>,
    /// `mapper_config`: plain values the mapper reads by key.
    #[serde(default)]
    mapper_config: BTreeMap<String, PlainValue>,
    /// `secrets`: name to `env:VAR` or `file:PATH`; the mapper knows only names.
    #[serde(default)]
    secrets: BTreeMap<String, String>,
    /// `unauthenticated_handshakes`: let requests without credentials reach
    /// the mapper, honouring only a respond outcome for them; default false.
    #[serde(default)]
    unauthenticated_handshakes: bool,
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
#[serde(untagged)]
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
    certificate: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    key: PathBuf,
}

/// Limits as written; unset keys fall back to the top level, then the defaults.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsDef {
    /// `max_body_bytes`: largest request body; default 1 MiB, at most 64 MiB.
    #[serde(default)]
    max_body_bytes: Option<usize>,
    /// `retention_days`: how long events are kept; default and maximum 30.
    #[serde(default)]
    retention_days: Option<u32>,
    /// `log_retention_days`: how long event-stream log entries are kept;
    /// default 30, at most 365.
    #[serde(default)]
    log_retention_days: Option<u32>,
    /// `max_event_types_per_subject`: distinct types one subject may hold;
    /// default and maximum 50.
    #[serde(default)]
    max_event_types_per_subject: Option<usize>,
    /// `mapper_fuel`: fuel per call; default 100 million.
    #[serde(default)]
    mapper_fuel: Option<u64>,
    /// `mapper_memory_bytes`: linear memory cap; default 64 MiB, at most 1 GiB.
    #[serde(default)]
    mapper_memory_bytes: Option<usize>,
    /// `mapper_timeout_ms`: wall-clock time per call; default 1000.
    #[serde(default)]
    mapper_timeout_ms: Option<u64>,
    /// `mapper_output_bytes`: largest body or answer a mapper returns; default 1 MiB.
    #[serde(default)]
    mapper_output_bytes: Option<usize>,
    /// `body_read_timeout_ms`: time allowed to receive a body; default 10000.
    #[serde(default)]
    body_read_timeout_ms: Option<u64>,
    /// `max_events_per_request`: events one push may hold; default 10000.
    #[serde(default)]
    max_events_per_request: Option<usize>,
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

        let listen = file.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen = listen.parse().map_err(|_| {
            invalid(top_level(format!(
                "`listen`: `{listen}` is not an address and port such as 127.0.0.1:8080"
            )))
        })?;
        let defaults =
            resolve_limits(&file.limits, &Limits::default(), "limits").map_err(invalid)?;
        let mut datasources = BTreeMap::new();
        for (id, def) in &file.datasources {
            let datasource =
                load_datasource(base, id, def, &defaults, engine).map_err(|e| match e {
                    DatasourceError::Config(problem) => invalid(problem),
                    DatasourceError::Template(source) => ConfigError::Template {
                        datasource: id.clone(),
                        source,
                    },
                })?;
            datasources.insert(id.clone(), Arc::new(datasource));
        }
        Ok(Self {
            path: path.to_owned(),
            listen,
            database: base.join(
                file.database
                    .as_deref()
                    .unwrap_or(Path::new(DEFAULT_DATABASE)),
            ),
            max_in_flight: match file.max_in_flight {
                Some(0) => {
                    return Err(invalid(top_level(
                        "`max_in_flight`: must be at least 1".into(),
                    )));
                }
                Some(n) => n,
                None => DEFAULT_MAX_IN_FLIGHT,
            },
            max_connections: match file.max_connections {
                Some(0) => {
                    return Err(invalid(top_level(
                        "`max_connections`: must be at least 1".into(),
                    )));
                }
                Some(n) => n,
                None => DEFAULT_MAX_CONNECTIONS,
            },
            idle_timeout: match file.idle_timeout_ms {
                Some(0) => {
                    return Err(invalid(top_level(
                        "`idle_timeout_ms`: must be at least 1".into(),
                    )));
                }
                Some(ms) => std::time::Duration::from_millis(ms),
                None => DEFAULT_IDLE_TIMEOUT,
            },
            tls: match &file.tls {
                Some(def) => Some(load_tls(base, def).map_err(|e| invalid(top_level(e)))?),
                None => None,
            },
            header_read_timeout: match file.header_read_timeout_ms {
                Some(0) => {
                    return Err(invalid(top_level(
                        "`header_read_timeout_ms`: must be at least 1".into(),
                    )));
                }
                Some(ms) => std::time::Duration::from_millis(ms),
                None => DEFAULT_HEADER_READ_TIMEOUT,
            },
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

enum DatasourceError {
    Config(Problem),
    Template(TemplateError),
}

fn load_datasource(
    base: &Path,
    id: &str,
    def: &DatasourceDef,
    defaults: &Limits,
    engine: Option<&mapper::Engine>,
) -> Result<Datasource, DatasourceError> {
    if id.is_empty()
        || id.bytes().all(|b| b == b'.')
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(DatasourceError::Config(top_level(format!(
            "`datasources.{id}`: a datasource ID may hold only letters, digits, `-`, `_` and `.`"
        ))));
    }
    let header = def.token_header.as_deref().unwrap_or("Authorization");
    let token_header = HeaderName::try_from(header).map_err(|_| {
        DatasourceError::Config(top_level(format!(
            "`datasources.{id}.token_header`: `{header}` is not a valid header name"
        )))
    })?;
    let limits = resolve_limits(&def.limits, defaults, &format!("datasources.{id}.limits"))
        .map_err(DatasourceError::Config)?;
    let template_path = base.join(&def.template);
    let template = Template::load(&template_path).map_err(DatasourceError::Template)?;
    let auth = def.auth.unwrap_or_default();
    let needs_mapper = |key: &str| {
        DatasourceError::Config(top_level(format!(
            "`datasources.{id}.{key}`: needs a `mapper` on the datasource"
        )))
    };
    if def.mapper.is_none() && auth == AuthMode::Mapper {
        return Err(needs_mapper("auth"));
    }
    if def.mapper.is_none() && def.unauthenticated_handshakes {
        return Err(needs_mapper("unauthenticated_handshakes"));
    }
    if def.mapper.is_none() && !def.secrets.is_empty() {
        return Err(needs_mapper("secrets"));
    }
    if def.mapper.is_none() && !def.mapper_config.is_empty() {
        return Err(needs_mapper("mapper_config"));
    }
    if let Some(builtin) = def
        .mapper
        .as_deref()
        .and_then(|m| m.strip_prefix(mapper::BUILTIN_PREFIX))
        && auth == AuthMode::Mapper
        && !mapper::VERIFYING_BUILTINS.contains(&builtin)
    {
        return Err(DatasourceError::Config(top_level(format!(
            "`datasources.{id}.auth`: `builtin:{builtin}` verifies no sender, so `auth: mapper` \
             would store whatever arrives; use `auth: token`"
        ))));
    }
    let mapper = match &def.mapper {
        Some(spec) => load_mapper(base, id, spec, def, &limits, engine)?,
        None => None,
    };
    Ok(Datasource {
        id: id.to_owned(),
        template_path,
        template: Arc::new(template),
        token_header,
        auth,
        mapper,
        unauthenticated_handshakes: def.unauthenticated_handshakes,
        limits,
    })
}

/// Resolves `builtin:NAME` or a path, reads the secrets, and loads the
/// mapper when an engine is given.
fn load_mapper(
    base: &Path,
    id: &str,
    spec: &str,
    def: &DatasourceDef,
    limits: &Limits,
    engine: Option<&mapper::Engine>,
) -> Result<Option<MapperSetup>, DatasourceError> {
    let problem = |message: String| {
        DatasourceError::Config(top_level(format!("`datasources.{id}.{message}")))
    };
    let (name, bytes) =
        mapper::read_component(base, spec).map_err(|why| problem(format!("mapper`: {why}")))?;
    // Commands other than `serve` run no mapper and need no secrets.
    let Some(engine) = engine else {
        return Ok(None);
    };
    let mut secrets = mapper::Secrets::new();
    for (secret, source) in &def.secrets {
        let bytes = read_secret(base, source)
            .map_err(|why| problem(format!("secrets.{secret}`: {why}")))?;
        secrets.insert(secret.clone(), Secret::new(bytes));
    }
    let mapper = engine
        .load(&name, &bytes)
        .map_err(|e| problem(format!("mapper`: {e}")))?;
    Ok(Some(MapperSetup {
        mapper,
        context: mapper::Context {
            datasource: id.to_owned(),
            config: Arc::new(
                def.mapper_config
                    .iter()
                    .map(|(k, v)| (k.clone(), v.text()))
                    .collect(),
            ),
            secrets: Arc::new(secrets),
            clock: mapper::Clock::from_env(),
            limits: limits.mapper,
        },
    }))
}

/// Reads `env:VAR` or `file:PATH`; the error never shows the secret.
fn read_secret(base: &Path, source: &str) -> Result<Vec<u8>, String> {
    if let Some(var) = source.strip_prefix("env:") {
        let value =
            std::env::var(var).map_err(|_| format!("environment variable `{var}` is not set"))?;
        return Ok(value.into_bytes());
    }
    if let Some(file) = source.strip_prefix("file:") {
        let path = base.join(file);
        let mut bytes = std::fs::read(&path)
            .map_err(|e| format!("failed to read `{}`: {e}", path.display()))?;
        while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            bytes.pop();
        }
        return Ok(bytes);
    }
    Err("give the secret as `env:VAR` or `file:PATH`".into())
}

/// Applies `def` over `base`, refusing values above what the service allows.
fn resolve_limits(def: &LimitsDef, base: &Limits, key: &str) -> Result<Limits, Problem> {
    let mapper = mapper::Limits {
        fuel: def.mapper_fuel.unwrap_or(base.mapper.fuel),
        memory_bytes: def.mapper_memory_bytes.unwrap_or(base.mapper.memory_bytes),
        timeout: def
            .mapper_timeout_ms
            .map_or(base.mapper.timeout, std::time::Duration::from_millis),
        output_bytes: def.mapper_output_bytes.unwrap_or(base.mapper.output_bytes),
        log_bytes: base.mapper.log_bytes,
    };
    let limits = Limits {
        mapper,
        max_events_per_request: def
            .max_events_per_request
            .unwrap_or(base.max_events_per_request),
        body_read_timeout: def
            .body_read_timeout_ms
            .map_or(base.body_read_timeout, std::time::Duration::from_millis),
        max_body_bytes: def.max_body_bytes.unwrap_or(base.max_body_bytes),
        retention_days: def.retention_days.unwrap_or(base.retention_days),
        log_retention_days: def.log_retention_days.unwrap_or(base.log_retention_days),
        max_event_types_per_subject: def
            .max_event_types_per_subject
            .unwrap_or(base.max_event_types_per_subject),
    };
    let checks = [
        (
            "max_body_bytes",
            (1..=Limits::MAX_BODY).contains(&limits.max_body_bytes),
            format!("from 1 to {}", Limits::MAX_BODY),
        ),
        (
            "retention_days",
            (1..=Limits::MAX_RETENTION_DAYS).contains(&limits.retention_days),
            format!("from 1 to {}", Limits::MAX_RETENTION_DAYS),
        ),
        (
            "log_retention_days",
            (1..=Limits::MAX_LOG_RETENTION_DAYS).contains(&limits.log_retention_days),
            format!("from 1 to {}", Limits::MAX_LOG_RETENTION_DAYS),
        ),
        (
            "max_event_types_per_subject",
            (1..=Limits::MAX_TYPES).contains(&limits.max_event_types_per_subject),
            format!("from 1 to {}", Limits::MAX_TYPES),
        ),
        (
            "mapper_fuel",
            limits.mapper.fuel >= 1,
            "at least 1".to_owned(),
        ),
        (
            "mapper_memory_bytes",
            (1 << 16..=mapper::Limits::MAX_MEMORY).contains(&limits.mapper.memory_bytes),
            format!("from 65536 to {}", mapper::Limits::MAX_MEMORY),
        ),
        (
            "mapper_timeout_ms",
            (1..=60_000).contains(&limits.mapper.timeout.as_millis()),
            "from 1 to 60000".to_owned(),
        ),
        (
            "max_events_per_request",
            (1..=100_000).contains(&limits.max_events_per_request),
            "from 1 to 100000".to_owned(),
        ),
        (
            "body_read_timeout_ms",
            (1..=600_000).contains(&limits.body_read_timeout.as_millis()),
            "from 1 to 600000".to_owned(),
        ),
        (
            "mapper_output_bytes",
            (1..=Limits::MAX_BODY).contains(&limits.mapper.output_bytes),
            format!("from 1 to {}", Limits::MAX_BODY),
        ),
    ];
    for (name, ok, range) in checks {
        if !ok {
            return Err(top_level(format!("`{key}.{name}`: must be {range}")));
        }
    }
    Ok(limits)
}

/// Reads the certificate chain and key of `tls` into a server configuration.
fn load_tls(base: &Path, def: &TlsDef) -> Result<Arc<rustls::ServerConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let certificate = base.join(&def.certificate);
    let key = base.join(&def.key);
    let chain = CertificateDer::pem_file_iter(&certificate)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("`tls.certificate`: `{}`: {e}", certificate.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "`tls.certificate`: `{}` holds no certificate",
            certificate.display()
        ));
    }
    // The key's own text never reaches a message, only its path.
    let private_key = PrivateKeyDer::from_pem_file(&key)
        .map_err(|e| format!("`tls.key`: `{}`: {e}", key.display()))?;
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
        .map_err(|e| format!("`tls`: the certificate and key do not make a TLS server: {e}"))?;
    Ok(Arc::new(config))
}

/// A problem found after parsing, where no finer location is kept.
fn top_level(message: String) -> Problem {
    Problem::at(&serde_saphyr::Location::UNKNOWN, message)
}
