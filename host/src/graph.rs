//! The graph state that extraction produces and the store keeps.
//!
//! These are plain values with no behaviour of their own: the template module
//! builds them from payloads and the store persists and reads them back, so
//! neither has to know the other.

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// One event matched by a top-level entity, ready to be stored. Serializes
/// with the field names the query API uses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// The entity's name in the template, e.g. `UserLifecycleDeactivate`.
    pub entity: String,
    /// The event type: the entity's `externalId`, e.g. `user.lifecycle.deactivate`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The value of the `uniqueId` attribute, as text.
    #[serde(rename = "id")]
    pub unique_id: String,
    /// The value of the subject attribute.
    pub subject: String,
    /// Every attribute of the entity, in template order, converted to its declared type.
    pub attributes: Map<String, Value>,
    /// `(name, value)` pairs of the indexed attributes; a list attribute gives one pair per value.
    #[serde(skip)]
    pub indexed: Vec<(String, String)>,
    /// Child entities found in the event.
    pub children: Vec<Child>,
}

/// A child node: shared by every event that names it, updated by the newest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Child {
    /// The child entity's name in the template.
    pub entity: String,
    /// The value of the child's `uniqueId` attribute, as text.
    #[serde(rename = "id")]
    pub unique_id: String,
    /// Every attribute of the child entity, converted to its declared type.
    pub attributes: Map<String, Value>,
    /// `(name, value)` pairs of the indexed attributes.
    #[serde(skip)]
    pub indexed: Vec<(String, String)>,
    /// Children of this child, for templates that nest entities deeper.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Child>,
}

/// A reason for refusing one event, with the event's place in the batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Rejection {
    /// The event's index in the order `pushEventsPath` selected it, from 0.
    pub index: usize,
    /// What was wrong, naming the attribute or limit involved.
    pub reason: String,
}

/// A child that was skipped because it failed validation; its parent was kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SkippedChild {
    /// The parent event's index in the batch.
    pub index: usize,
    /// The child entity's name.
    pub entity: String,
    /// The child's position among the values its `pushExternalId` selected, from 0.
    pub position: usize,
    /// What was wrong with it.
    pub reason: String,
}

/// What became of one request's events: the body of the answer and of its log entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Summary {
    /// Events stored for the first time.
    pub accepted: usize,
    /// Events already stored by an earlier delivery; success, nothing changed.
    pub duplicates: usize,
    /// Events whose type matches no entity; success, nothing stored.
    pub unmatched: usize,
    /// Events refused, each with its index and reason.
    pub rejected: Vec<Rejection>,
    /// Children skipped inside events that were otherwise kept.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_children: Vec<SkippedChild>,
}

impl Summary {
    /// How many events `pushEventsPath` found in the request.
    pub fn found(&self) -> usize {
        self.accepted + self.duplicates + self.unmatched + self.rejected.len()
    }

    /// The HTTP status the sender gets: 422 when no event was found or every
    /// event found was rejected, 202 otherwise.
    pub fn status(&self) -> u16 {
        if self.refused() { 422 } else { 202 }
    }

    /// Why the request was refused as a whole, when it was: the detail of
    /// its 422 and the error of its log entry.
    pub fn refusal(&self) -> Option<String> {
        if !self.refused() {
            return None;
        }
        Some(match self.found() {
            0 => "`pushEventsPath` found no events in the body".to_owned(),
            1 => "the only event was rejected".to_owned(),
            found => format!("all {found} events were rejected"),
        })
    }

    fn refused(&self) -> bool {
        self.found() == 0 || self.rejected.len() == self.found()
    }
}
