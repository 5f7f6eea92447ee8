//! The query API, behind an admin token: events by subject, the
//! event-stream log of a datasource, and nodes by indexed attributes.

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::App;
use super::problem::{Problem, Segments};
use crate::auth::{self, AuthError};
use crate::config::Datasource;
use crate::store::read::{self, LogEntryView, NodeView, SubjectQuery};
use crate::template::IndexedIn;

/// Page size when `limit` is not given.
const DEFAULT_LIMIT: usize = 100;
/// Largest page size.
const MAX_LIMIT: usize = 1000;

type Answer<T> = Result<Json<T>, Problem>;

/// The paging parameters every listing takes, for the OpenAPI document;
/// [`Params`] reads them, so that an unknown one is refused by name.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(dead_code, reason = "describes the parameters; `Params` reads them")]
struct PageParams {
    /// `next` of the previous page, for the page after it.
    before: Option<i64>,
    /// Items per page; 100 when not given.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u16>,
}

/// One page of a subject's events.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubjectEvents {
    /// The subject asked for.
    subject: String,
    /// Its events, newest first, each with its children.
    events: Vec<NodeView>,
    /// Pass as `before` for the next page; `null` on the last page.
    next: Option<String>,
}

/// What erasing a subject removed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Erased {
    /// The subject erased.
    subject: String,
    /// How many of its events were removed; 0 when none were stored.
    erased_events: usize,
}

/// One page of a datasource's event-stream log.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogPage {
    /// Entries, newest first.
    entries: Vec<LogEntryView>,
    /// Pass as `before` for the next page; `null` on the last page.
    next: Option<String>,
}

/// One page of the nodes of an entity that match the filters.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntityNodes {
    /// The datasource asked for.
    datasource: String,
    /// The entity asked for.
    entity: String,
    /// Matching nodes, newest first.
    nodes: Vec<NodeView>,
    /// Pass as `before` for the next page; `null` on the last page.
    next: Option<String>,
}

/// `GET /api/v1/subjects/{subject}/events`
#[utoipa::path(
    get,
    path = "/api/v1/subjects/{subject}/events",
    tag = "query",
    security(("admin_token" = [])),
    params(
        ("subject" = String, Path, description = "The subject's ID as the template extracts it"),
        ("type" = Option<String>, Query, description = "Only events of this type"),
        ("datasource" = Option<String>, Query, description = "Only events from this datasource"),
        ("since" = Option<String>, Query, format = DateTime, description = "Only events received at or after this RFC 3339 time"),
        PageParams,
    ),
    responses(
        (status = 200, description = "A page of the subject's events", body = SubjectEvents),
        super::openapi::BadRequest, super::openapi::Unauthorized, super::openapi::Internal,
    ),
)]
pub async fn subject_events(
    State(app): State<Arc<App>>,
    Segments(subject): Segments<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Answer<SubjectEvents> {
    require_admin(&app, &headers).await?;
    let mut params = Params::parse(query.as_deref())?;
    let q = SubjectQuery {
        subject: subject.clone(),
        event_type: params.take("type"),
        datasource: params.take("datasource"),
        since: params.take("since").map(|s| parse_since(&s)).transpose()?,
        before: params.cursor()?,
        limit: params.limit()?,
    };
    params.finish()?;
    let page = app
        .store
        .read(move |conn| read::events_of_subject(conn, &q))
        .await?;
    Ok(Json(SubjectEvents {
        subject,
        events: page.items,
        next: page.next,
    }))
}

/// `DELETE /api/v1/subjects/{subject}`: erases every event of the subject,
/// with the children no other event names.
#[utoipa::path(
    delete,
    path = "/api/v1/subjects/{subject}",
    tag = "query",
    security(("admin_token" = [])),
    params(("subject" = String, Path, description = "The subject's ID as the template extracts it")),
    responses(
        (status = 200, description = "The subject's events are gone", body = Erased),
        super::openapi::BadRequest, super::openapi::Unauthorized, super::openapi::Internal,
    ),
)]
pub async fn erase_subject(
    State(app): State<Arc<App>>,
    Segments(subject): Segments<String>,
    headers: HeaderMap,
) -> Answer<Erased> {
    require_admin(&app, &headers).await?;
    let erased = app.store.erase(&subject).await?;
    tracing::info!(erased, "subject erased");
    Ok(Json(Erased {
        subject,
        erased_events: erased,
    }))
}

/// `GET /api/v1/datasources/{id}/logs`
#[utoipa::path(
    get,
    path = "/api/v1/datasources/{id}/logs",
    tag = "query",
    security(("admin_token" = [])),
    params(
        ("id" = String, Path, description = "The datasource's ID in the configuration"),
        PageParams,
    ),
    responses(
        (status = 200, description = "A page of the datasource's log", body = LogPage),
        super::openapi::BadRequest, super::openapi::Unauthorized, super::openapi::NotFound, super::openapi::Internal,
    ),
)]
pub async fn datasource_logs(
    State(app): State<Arc<App>>,
    Segments(id): Segments<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Answer<LogPage> {
    require_admin(&app, &headers).await?;
    let datasource = known_datasource(&app, &id)?;
    let mut params = Params::parse(query.as_deref())?;
    let (before, limit) = (params.cursor()?, params.limit()?);
    params.finish()?;
    let page = app
        .store
        .read(move |conn| read::log_entries(conn, &datasource.id, before, limit))
        .await?;
    Ok(Json(LogPage {
        entries: page.items,
        next: page.next,
    }))
}

/// `GET /api/v1/datasources/{id}/entities/{entity}?attr.NAME=VALUE`
///
/// Each value is converted with the attribute's declared type before the
/// lookup, so `attr.published=2023-03-26T23:05:32+02:00` finds the event
/// stored as `2023-03-26T21:05:32Z`.
#[utoipa::path(
    get,
    path = "/api/v1/datasources/{id}/entities/{entity}",
    tag = "query",
    security(("admin_token" = [])),
    params(
        ("id" = String, Path, description = "The datasource's ID in the configuration"),
        ("entity" = String, Path, description = "The entity's name in the datasource's template"),
        PageParams,
    ),
    responses(
        (status = 200, description = "A page of matching nodes", body = EntityNodes),
        super::openapi::BadRequest, super::openapi::Unauthorized, super::openapi::NotFound, super::openapi::Internal,
    ),
)]
pub async fn entity_nodes(
    State(app): State<Arc<App>>,
    Segments((id, entity)): Segments<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Answer<EntityNodes> {
    require_admin(&app, &headers).await?;
    let datasource = known_datasource(&app, &id)?;
    let Some(template_entity) = datasource.template.entity(&entity) else {
        return Err(Problem::new(
            StatusCode::NOT_FOUND,
            format!("datasource `{id}` has no entity `{entity}`"),
        ));
    };
    let mut params = Params::parse(query.as_deref())?;
    let mut filters = Vec::new();
    for (name, value) in params.take_prefixed("attr.") {
        let (at, attribute) = template_entity
            .attributes
            .iter()
            .enumerate()
            .find(|(_, a)| a.name == name)
            .filter(|(_, a)| a.indexed)
            .ok_or_else(|| {
                bad_request(format!(
                    "`attr.{name}`: entity `{entity}` has no indexed attribute `{name}`"
                ))
            })?;
        let converted =
            crate::template::convert::convert(attribute.attr_type, &Value::String(value))
                .map_err(|e| bad_request(format!("`attr.{name}`: {e}")))?;
        let text = crate::template::convert::index_text(&converted).unwrap_or_default();
        filters.push(match template_entity.indexed_in(at) {
            IndexedIn::UniqueId => read::NodeFilter::UniqueId(text),
            IndexedIn::Subject => read::NodeFilter::Subject(text),
            IndexedIn::Attributes => read::NodeFilter::Attribute(name, text),
        });
    }
    let (before, limit) = (params.cursor()?, params.limit()?);
    params.finish()?;
    let ds = datasource.id.clone();
    let page = app
        .store
        .read(move |conn| read::nodes_by_attributes(conn, &ds, &entity, &filters, before, limit))
        .await?;
    Ok(Json(EntityNodes {
        datasource: datasource.id.clone(),
        entity: template_entity.name.clone(),
        nodes: page.items,
        next: page.next,
    }))
}

/// Refuses the request unless it carries an admin token. A datasource's
/// push token never opens the query API.
pub async fn require_admin(app: &App, headers: &HeaderMap) -> Result<(), Problem> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(auth::from_header)
        .unwrap_or_default();
    match auth::check_admin(&app.store, &app.env_admin, presented).await {
        Ok(Some(token_id)) => {
            app.store.touch_token(token_id, super::now_micros());
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(AuthError::Denied) => Err(Problem::unauthorized()),
        Err(AuthError::Store(e)) => Err(Problem::internal(&e)),
    }
}

fn known_datasource(app: &App, id: &str) -> Result<Arc<Datasource>, Problem> {
    app.datasource(id)
        .ok_or_else(|| Problem::new(StatusCode::NOT_FOUND, format!("no datasource `{id}`")))
}

fn bad_request(detail: String) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, detail)
}

fn parse_since(text: &str) -> Result<i64, Problem> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_micros())
        .map_err(|_| bad_request(format!("`since`: `{text}` is not an RFC 3339 time")))
}

/// Query parameters, taken one by one so that any left over is refused by name.
struct Params {
    pairs: Vec<(String, String)>,
    taken: Vec<String>,
}

impl Params {
    fn parse(query: Option<&str>) -> Result<Self, Problem> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
            .map_err(|e| bad_request(format!("the query string does not parse: {e}")))?;
        Ok(Self {
            pairs,
            taken: Vec::new(),
        })
    }

    fn take(&mut self, name: &str) -> Option<String> {
        self.taken.push(name.to_owned());
        let at = self.pairs.iter().position(|(k, _)| k == name)?;
        Some(self.pairs.remove(at).1)
    }

    fn take_prefixed(&mut self, prefix: &str) -> Vec<(String, String)> {
        let (taken, kept) = std::mem::take(&mut self.pairs)
            .into_iter()
            .partition(|(k, _)| k.starts_with(prefix));
        self.pairs = kept;
        taken
            .into_iter()
            .map(|(k, v)| (k[prefix.len()..].to_owned(), v))
            .collect()
    }

    fn limit(&mut self) -> Result<usize, Problem> {
        match self.take("limit") {
            None => Ok(DEFAULT_LIMIT),
            Some(text) => text
                .parse()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    bad_request(format!(
                        "`limit`: `{text}` is not a number from 1 to {MAX_LIMIT}"
                    ))
                }),
        }
    }

    fn cursor(&mut self) -> Result<Option<i64>, Problem> {
        self.take("before")
            .map(|text| {
                text.parse().map_err(|_| {
                    bad_request(format!("`before`: `{text}` is not a cursor from `next`"))
                })
            })
            .transpose()
    }

    fn finish(self) -> Result<(), Problem> {
        match self.pairs.first() {
            None => Ok(()),
            Some((name, _)) if self.taken.contains(name) => {
                Err(bad_request(format!("`{name}` is given more than once")))
            }
            Some((name, _)) => Err(bad_request(format!("unknown query parameter `{name}`"))),
        }
    }
}
