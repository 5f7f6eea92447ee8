//! Templates: the YAML model, its validation, and extraction of entities.
//!
//! A template is read once, checked as a whole, and compiled: every JSONPath
//! is parsed, parents are resolved to indices and event types are grouped by
//! the path that reads them, so extraction does no parsing or lookups by name.
//!
//! ```
//! use eventpush::template::Template;
//!
//! let yaml = r#"
//! pushEventsPath: $.events[*]
//! entities:
//!   Login:
//!     externalId: login
//!     pushExternalId: $.type
//!     attributes:
//!       - { name: id, externalId: $.id, type: String, uniqueId: true }
//!       - { name: subject, externalId: $.user, type: String, indexed: true }
//! "#;
//! let template = Template::parse(yaml).unwrap();
//! let payload = serde_json::json!({"events": [{"type": "login", "id": "e1", "user": "ann"}]});
//! let extraction = template.extract(&payload);
//! assert_eq!(extraction.events.len(), 1);
//! ```

mod compile;
pub mod convert;
mod extract;
#[cfg(test)]
mod fixture_tests;
pub mod model;
mod path;
mod shape;

use std::path::{Path, PathBuf};

pub use crate::yaml::Problem;
pub use extract::{Extracted, Extraction};
pub use model::AttrType;
pub use path::CompiledPath;
use shape::Shape;

/// A loaded, validated template.
#[derive(Debug, Clone)]
pub struct Template {
    /// `displayName`, when given.
    pub display_name: Option<String>,
    events_path: CompiledPath,
    entities: Vec<Entity>,
    /// One group per distinct `pushExternalId` among top-level entities.
    type_groups: Vec<TypeGroup>,
    relationships: Vec<Relationship>,
    /// What of a payload the paths above can read.
    shape: Shape,
}

/// A compiled entity.
#[derive(Debug, Clone)]
pub struct Entity {
    /// The entity's name: its key under `entities`.
    pub name: String,
    /// `externalId`: the event type for a top-level entity.
    pub external_id: String,
    push_path: CompiledPath,
    /// Index of the parent entity, for a child.
    pub parent: Option<usize>,
    /// Indices of this entity's children.
    pub children: Vec<usize>,
    /// Attributes in template order.
    pub attributes: Vec<Attribute>,
    unique: usize,
    subject: Option<usize>,
}

/// Where the stored value of an indexed attribute is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexedIn {
    /// The node's own unique-ID column.
    UniqueId,
    /// The event's subject column.
    Subject,
    /// A row per value in the attribute index.
    Attributes,
}

impl Entity {
    /// Where attribute number `at` is indexed. The unique ID and the subject
    /// are columns of the node, indexed already, so they get no rows of
    /// their own in the attribute index: each such row costs a write to a
    /// random page of that index.
    pub fn indexed_in(&self, at: usize) -> IndexedIn {
        if at == self.unique {
            IndexedIn::UniqueId
        } else if Some(at) == self.subject && self.parent.is_none() {
            // Only events have a subject column; a child's `subject` is an
            // attribute like any other.
            IndexedIn::Subject
        } else {
            IndexedIn::Attributes
        }
    }
}

/// A compiled attribute.
#[derive(Debug, Clone)]
pub struct Attribute {
    /// `name`.
    pub name: String,
    path: CompiledPath,
    /// `type`.
    pub attr_type: AttrType,
    /// `indexed`.
    pub indexed: bool,
    /// `list`.
    pub list: bool,
}

#[derive(Debug, Clone)]
struct TypeGroup {
    path: CompiledPath,
    by_type: std::collections::HashMap<String, usize>,
}

/// A relationship kept with the template; the query API follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relationship {
    /// The relationship's name.
    pub name: String,
    /// How it joins entities.
    pub kind: RelationshipKind,
}

/// The two ways a relationship can be declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelationshipKind {
    /// `fromAttribute` and `toAttribute`, each `(entity, attribute)`.
    Attributes {
        /// Where the relationship starts.
        from: (String, String),
        /// Where it ends.
        to: (String, String),
    },
    /// A chain of other relationships, each with its direction.
    Path(Vec<(String, model::Direction)>),
}

/// Why a template could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The file could not be read.
    #[error("failed to read template `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid template.
    #[error("{}", render_problems(path, problems))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Every problem found, in file order.
        problems: Vec<Problem>,
    },
}

fn render_problems(path: &Path, problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}:{p}", path.display()))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Template {
    /// Reads and validates the template at `path`.
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|problems| TemplateError::Invalid {
            path: path.to_owned(),
            problems,
        })
    }

    /// Validates template text; on failure, every problem found, in file order.
    pub fn parse(text: &str) -> Result<Self, Vec<Problem>> {
        compile::compile(text)
    }

    /// Parses a payload as JSON, keeping only what this template can read
    /// of it: what [`Template::extract`] finds is the same as in the whole
    /// payload, for a fraction of the time and memory. A body that is not
    /// JSON is refused; in the members the template does not read, only the
    /// syntax and UTF-8 are checked (an unpaired surrogate escape, a number
    /// too large for `f64` or nesting past serde_json's limit pass there).
    pub fn read_payload(&self, body: &[u8]) -> serde_json::Result<serde_json::Value> {
        self.shape.parse(body)
    }

    /// All entities, top-level and children, in template order.
    pub fn entities(&self) -> &[Entity] {
        &self.entities
    }

    /// The entity named `name`, if any.
    pub fn entity(&self, name: &str) -> Option<&Entity> {
        self.entities.iter().find(|e| e.name == name)
    }

    /// The relationships declared by the template.
    pub fn relationships(&self) -> &[Relationship] {
        &self.relationships
    }
}
