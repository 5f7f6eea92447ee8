//! The YAML shape of a template, exactly as authors write it.
//!
//! Every struct refuses unknown keys so that a typo is an error with a line
//! number rather than a silently ignored setting. Keys that only matter to
//! polling integrations of the same template family are accepted and ignored.

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Spanned;

/// A whole template file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TemplateFile {
    /// `displayName`: shown to people; optional.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `description`: optional.
    #[serde(default)]
    pub description: Option<String>,
    /// `type`, e.g. `EventStreams-1.0.0`; optional and informational.
    #[serde(default, rename = "type")]
    pub template_type: Option<String>,
    /// `deliveryMethod`: `eventPush` when given.
    #[serde(default)]
    pub delivery_method: Option<Spanned<String>>,
    /// `pushType`: `Custom` when given.
    #[serde(default)]
    pub push_type: Option<String>,
    /// `pushEventsPath`: JSONPath selecting the events in a payload; required.
    pub push_events_path: Spanned<String>,
    /// `subjectAttribute`: the attribute holding the subject; default `subject`.
    #[serde(default)]
    pub subject_attribute: Option<Spanned<String>>,
    /// `entities`: entity name to entity, in file order; required.
    pub entities: Spanned<IndexMap<String, Spanned<EntityDef>>>,
    /// `relationships`: relationship name to definition; optional.
    #[serde(default)]
    pub relationships: IndexMap<String, Spanned<RelationshipDef>>,

    // Polling-only keys of the template family, accepted and ignored.
    #[serde(default, rename = "icon")]
    _icon: Option<IgnoredAny>,
    #[serde(default, rename = "address")]
    _address: Option<IgnoredAny>,
    #[serde(default, rename = "auth")]
    _auth: Option<IgnoredAny>,
    #[serde(default, rename = "adapterConfig")]
    _adapter_config: Option<IgnoredAny>,
    #[serde(default, rename = "defaultSyncFrequency")]
    _default_sync_frequency: Option<IgnoredAny>,
    #[serde(default, rename = "defaultSyncMinInterval")]
    _default_sync_min_interval: Option<IgnoredAny>,
    #[serde(default, rename = "defaultApiCallFrequency")]
    _default_api_call_frequency: Option<IgnoredAny>,
    #[serde(default, rename = "defaultApiCallFrequencyInterval")]
    _default_api_call_frequency_interval: Option<IgnoredAny>,
    #[serde(default, rename = "syncFrequency")]
    _sync_frequency: Option<IgnoredAny>,
    #[serde(default, rename = "syncMinInterval")]
    _sync_min_interval: Option<IgnoredAny>,
}

/// One entity: a top-level event type, or a child entity when `parent` is set.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EntityDef {
    /// `displayName`: optional.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `description`: optional.
    #[serde(default)]
    pub description: Option<String>,
    /// `externalId`: the event type this entity matches; for a child, informational.
    pub external_id: Spanned<String>,
    /// `pushExternalId`: JSONPath evaluated on the event (or, for a child, on
    /// the parent) whose value is compared with `externalId`.
    pub push_external_id: Spanned<String>,
    /// `parent`: the parent entity's name or its `externalId`; makes this a child.
    #[serde(default)]
    pub parent: Option<Spanned<String>>,
    /// `entityAlias`: optional alternative name.
    #[serde(default)]
    pub entity_alias: Option<String>,
    /// `attributes`: required, at least the `uniqueId` one.
    pub attributes: Spanned<Vec<Spanned<AttributeDef>>>,

    // Polling-only keys, accepted and ignored.
    #[serde(default, rename = "pageSize")]
    _page_size: Option<IgnoredAny>,
    #[serde(default, rename = "pagesOrderedById")]
    _pages_ordered_by_id: Option<IgnoredAny>,
    #[serde(default, rename = "syncFrequency")]
    _sync_frequency: Option<IgnoredAny>,
    #[serde(default, rename = "syncMinInterval")]
    _sync_min_interval: Option<IgnoredAny>,
    #[serde(default, rename = "apiCallFrequency")]
    _api_call_frequency: Option<IgnoredAny>,
    #[serde(default, rename = "apiCallFrequencyInterval")]
    _api_call_frequency_interval: Option<IgnoredAny>,
}

/// One attribute of an entity.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AttributeDef {
    /// `name`: unique within the entity.
    pub name: Spanned<String>,
    /// `externalId`: JSONPath evaluated on the event or child.
    pub external_id: Spanned<String>,
    /// `type`: one of the [`AttrType`] names.
    #[serde(rename = "type")]
    pub attr_type: Spanned<AttrType>,
    /// `indexed`: queryable through the entity listing; default false.
    #[serde(default)]
    pub indexed: bool,
    /// `uniqueId`: the attribute that identifies the event or child; default false.
    #[serde(default)]
    pub unique_id: bool,
    /// `list`: keep every value the path selects; default false.
    #[serde(default)]
    pub list: bool,
    /// `description`: optional.
    #[serde(default)]
    pub description: Option<String>,
}

/// The declared type of an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum AttrType {
    /// Text; numbers and booleans are kept as their JSON text.
    String,
    /// A signed 64-bit integer.
    Int64,
    /// A 64-bit float.
    Double,
    /// `true` or `false`.
    Bool,
    /// An instant, stored as RFC 3339 UTC.
    DateTime,
    /// A length of time, stored as an ISO 8601 duration.
    Duration,
}

/// A relationship between entities, kept with the template for queries.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RelationshipDef {
    /// `name`: optional; the map key is used when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// `displayName`: optional.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `description`: optional.
    #[serde(default)]
    pub description: Option<String>,
    /// `fromAttribute`: `Entity.attribute`.
    #[serde(default)]
    pub from_attribute: Option<Spanned<String>>,
    /// `toAttribute`: `Entity.attribute`.
    #[serde(default)]
    pub to_attribute: Option<Spanned<String>>,
    /// `path`: steps through other relationships.
    #[serde(default)]
    pub path: Option<Vec<Spanned<PathStepDef>>>,
}

/// One step of a relationship `path`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PathStepDef {
    /// `relationship`: the name of another relationship.
    pub relationship: Spanned<String>,
    /// `direction`: `Direction_Forward` (default) or `Direction_Backward`.
    #[serde(default)]
    pub direction: Option<Direction>,
}

/// Which way a path step follows its relationship.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Direction {
    /// From `fromAttribute` to `toAttribute`.
    #[serde(rename = "Direction_Forward")]
    Forward,
    /// From `toAttribute` to `fromAttribute`.
    #[serde(rename = "Direction_Backward")]
    Backward,
}
