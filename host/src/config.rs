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

use crate::store::Durability;
use crate::template::{Template, TemplateError};
use crate::yaml::{self, Problem};

/// The file `serve` reads when no `--config` is given.
pub const DEFAULT_FILE: &str = "eventpush.yaml";
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
const DEFAULT_DATABASE: &str = "data/eventpush.db";

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
    /// `auth`: `token` (default).
    #[serde(default)]
    auth: Option<AuthMode>,
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
    /// `max_event_types_per_subject`: distinct types one subject may hold;
    /// default and maximum 50.
    #[serde(default)]
    max_event_types_per_subject: Option<usize>,
}

/// Limits in force for one datasource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body in bytes; larger ones get 413.
    pub max_body_bytes: usize,
    /// Days an event is kept.
    pub retention_days: u32,
    /// Distinct event types one subject may hold; events of a further type are rejected.
    pub max_event_types_per_subject: usize,
}

impl Limits {
    /// Default body limit: 1 MiB.
    pub const DEFAULT_BODY: usize = 1 << 20;
    /// Largest body limit accepted: 64 MiB.
    pub const MAX_BODY: usize = 64 << 20;
    /// Default and longest retention.
    pub const MAX_RETENTION_DAYS: u32 = 30;
    /// Default and largest type cap.
    pub const MAX_TYPES: usize = 50;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: Self::DEFAULT_BODY,
            retention_days: Self::MAX_RETENTION_DAYS,
            max_event_types_per_subject: Self::MAX_TYPES,
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
    /// Limits in force.
    pub limits: Limits,
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
    /// Datasources by ID, in file order.
    pub datasources: BTreeMap<String, Arc<Datasource>>,
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("failed to read configuration `{}`", path.display())]
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
    #[error("datasource `{datasource}`: {source}")]
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
    /// its directory, and loads every template.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
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
            let datasource = load_datasource(base, id, def, &defaults).map_err(|e| match e {
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
) -> Result<Datasource, DatasourceError> {
    if id.is_empty()
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
    Ok(Datasource {
        id: id.to_owned(),
        template_path,
        template: Arc::new(template),
        token_header,
        auth: def.auth.unwrap_or_default(),
        limits,
    })
}

/// Applies `def` over `base`, refusing values above what the service allows.
fn resolve_limits(def: &LimitsDef, base: &Limits, key: &str) -> Result<Limits, Problem> {
    let limits = Limits {
        max_body_bytes: def.max_body_bytes.unwrap_or(base.max_body_bytes),
        retention_days: def.retention_days.unwrap_or(base.retention_days),
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
            "max_event_types_per_subject",
            (1..=Limits::MAX_TYPES).contains(&limits.max_event_types_per_subject),
            format!("from 1 to {}", Limits::MAX_TYPES),
        ),
    ];
    for (name, ok, range) in checks {
        if !ok {
            return Err(top_level(format!("`{key}.{name}`: must be {range}")));
        }
    }
    Ok(limits)
}

/// A problem found after parsing, where no finer location is kept.
fn top_level(message: String) -> Problem {
    Problem::at(&serde_saphyr::Location::UNKNOWN, message)
}
