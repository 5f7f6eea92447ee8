//! Extraction: from a parsed payload to events, children and rejections.

use serde::Serialize;
use serde_json::{Map, Value};

use super::convert::{convert, index_text};
use super::shape::Shape;
use super::{CompiledPath, Entity, IndexedIn, Template, TypeGroup};
use crate::graph::{Child, Event, SkippedChild};

/// What a template found in one payload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Extraction {
    /// One entry per event `pushEventsPath` selected, in that order.
    pub events: Vec<Extracted>,
    /// Children dropped from otherwise good events.
    pub skipped_children: Vec<SkippedChild>,
}

/// What became of one selected event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Extracted {
    /// Its type matched an entity and it passed validation.
    Matched(Event),
    /// Its type matched no entity; it is counted, not stored.
    Unmatched,
    /// It matched an entity but is not valid; the reason names the attribute.
    Rejected(String),
}

/// Attribute values of one node, and the pairs to index.
type Attributes = (Map<String, Value>, Vec<(String, String)>);

impl Template {
    /// Extracts every event of `payload`. Never fails as a whole: each event
    /// gets its own outcome, and a path that selects nothing gives no events.
    pub fn extract(&self, payload: &Value) -> Extraction {
        self.extract_at_most(payload, usize::MAX)
            .unwrap_or_else(|_| unreachable!("no payload holds more than usize::MAX events"))
    }

    /// As [`Template::extract`], but refuses a payload of more than `max`
    /// events before extracting any; `Err` holds how many it found.
    pub fn extract_at_most(&self, payload: &Value, max: usize) -> Result<Extraction, usize> {
        let selected = self.events_path.select(payload).unwrap_or_default();
        let events = spread(selected);
        if events.len() > max {
            return Err(events.len());
        }
        let mut skipped_children = Vec::new();
        let events = events
            .iter()
            .enumerate()
            .map(|(index, event)| self.extract_event(index, event, &mut skipped_children))
            .collect();
        Ok(Extraction {
            events,
            skipped_children,
        })
    }

    fn extract_event(
        &self,
        index: usize,
        event: &Value,
        skipped: &mut Vec<SkippedChild>,
    ) -> Extracted {
        if !event.is_object() {
            return Extracted::Rejected("event is not a JSON object".into());
        }
        let entity = match self.event_entity(event) {
            Ok(Some(entity)) => entity,
            Ok(None) => return Extracted::Unmatched,
            Err(reason) => return Extracted::Rejected(reason),
        };
        match self.event_node(entity, index, event, skipped) {
            Ok(event) => Extracted::Matched(event),
            Err(reason) => Extracted::Rejected(reason),
        }
    }

    /// The top-level entity whose `externalId` equals what its
    /// `pushExternalId` selects in `event`; the first group to match wins.
    fn event_entity(&self, event: &Value) -> Result<Option<&Entity>, String> {
        for group in &self.type_groups {
            let found = group.path.select(event)?;
            let matched = found
                .first()
                .and_then(|v| type_text(v))
                .and_then(|t| group.by_type.get(t.as_ref()));
            if let Some(&i) = matched {
                return Ok(Some(&self.entities[i]));
            }
        }
        Ok(None)
    }

    fn event_node(
        &self,
        entity: &Entity,
        index: usize,
        event: &Value,
        skipped: &mut Vec<SkippedChild>,
    ) -> Result<Event, String> {
        let (attributes, indexed) = read_attributes(entity, event)?;
        let unique_id = required_text(entity, entity.unique, &attributes, "unique ID")?;
        let subject_at = entity
            .subject
            .expect("validated: top-level entities have a subject");
        let subject = required_text(entity, subject_at, &attributes, "subject")?;
        let children = self.children(entity, index, event, skipped);
        Ok(Event {
            entity: entity.name.clone(),
            event_type: entity.external_id.clone(),
            unique_id,
            subject,
            attributes,
            indexed,
            children,
        })
    }

    /// Children of `parent` found in `node`: each child entity's
    /// `pushExternalId` is evaluated on the parent, and an array gives one
    /// child per element. A child that fails validation is reported and skipped.
    fn children(
        &self,
        parent: &Entity,
        index: usize,
        node: &Value,
        skipped: &mut Vec<SkippedChild>,
    ) -> Vec<Child> {
        let mut children = Vec::new();
        for &c in &parent.children {
            let entity = &self.entities[c];
            let found = match entity.push_path.select(node) {
                Ok(found) => spread(found),
                Err(reason) => {
                    skipped.push(skip(index, entity, 0, reason));
                    continue;
                }
            };
            for (position, element) in found.into_iter().filter(|v| !v.is_null()).enumerate() {
                match self.child(entity, index, element, skipped) {
                    Ok(child) => children.push(child),
                    Err(reason) => skipped.push(skip(index, entity, position, reason)),
                }
            }
        }
        children
    }

    fn child(
        &self,
        entity: &Entity,
        index: usize,
        element: &Value,
        skipped: &mut Vec<SkippedChild>,
    ) -> Result<Child, String> {
        let (attributes, indexed) = read_attributes(entity, element)?;
        let unique_id = required_text(entity, entity.unique, &attributes, "unique ID")?;
        Ok(Child {
            entity: entity.name.clone(),
            unique_id,
            attributes,
            indexed,
            children: self.children(entity, index, element, skipped),
        })
    }
}

/// One selected array stands for its elements; several values stand for themselves.
fn spread(selected: Vec<&Value>) -> Vec<&Value> {
    match selected.as_slice() {
        [Value::Array(items)] => items.iter().collect(),
        _ => selected,
    }
}

fn type_text(value: &Value) -> Option<std::borrow::Cow<'_, str>> {
    match value {
        Value::String(s) => Some(s.as_str().into()),
        Value::Number(n) => Some(n.to_string().into()),
        _ => None,
    }
}

fn skip(index: usize, entity: &Entity, position: usize, reason: String) -> SkippedChild {
    SkippedChild {
        index,
        entity: entity.name.clone(),
        position,
        reason,
    }
}

/// Reads and converts every attribute of `entity` from `node`.
fn read_attributes(entity: &Entity, node: &Value) -> Result<Attributes, String> {
    let mut values = Map::new();
    let mut indexed = Vec::new();
    for (at, attribute) in entity.attributes.iter().enumerate() {
        let found = attribute.path.select(node)?;
        let value = if attribute.list {
            let items = spread(found)
                .into_iter()
                .filter(|v| !v.is_null())
                .map(|v| convert(attribute.attr_type, v))
                .collect::<Result<Vec<_>, _>>();
            Value::Array(items.map_err(|e| format!("attribute `{}`: {e}", attribute.name))?)
        } else {
            match found.as_slice() {
                [] => Value::Null,
                [one] => convert(attribute.attr_type, one)
                    .map_err(|e| format!("attribute `{}`: {e}", attribute.name))?,
                many => {
                    return Err(format!(
                        "attribute `{}`: path `{}` selected {} values, but the attribute is not a list",
                        attribute.name,
                        attribute.path.as_str(),
                        many.len()
                    ));
                }
            }
        };
        if attribute.indexed && entity.indexed_in(at) == IndexedIn::Attributes {
            let items = match &value {
                Value::Array(items) => items.iter().collect(),
                single => vec![single],
            };
            indexed.extend(
                items
                    .into_iter()
                    .filter_map(index_text)
                    .map(|text| (attribute.name.clone(), text)),
            );
        }
        values.insert(attribute.name.clone(), value);
    }
    Ok((values, indexed))
}

/// The text of a required attribute, or a reason naming it and its path.
fn required_text(
    entity: &Entity,
    at: usize,
    values: &Map<String, Value>,
    what: &str,
) -> Result<String, String> {
    let attribute = &entity.attributes[at];
    values
        .get(&attribute.name)
        .and_then(index_text)
        .filter(|text| !text.is_empty())
        .ok_or_else(|| {
            format!(
                "missing {what}: attribute `{}` (`{}`) is absent or empty",
                attribute.name,
                attribute.path.as_str()
            )
        })
}

/// What of a payload extraction reads: the events that `pushEventsPath`
/// selects, and in each, what the paths of every top-level entity read.
/// It follows the steps of [`Template::extract_at_most`] above: a path that
/// extraction evaluates must be reached here too, or it would find nothing.
pub(super) fn payload_shape(
    events_path: &CompiledPath,
    entities: &[Entity],
    groups: &[TypeGroup],
) -> Shape {
    let mut event = Shape::default();
    for group in groups {
        group.path.reach(&mut event, &Shape::whole());
    }
    for entity in entities.iter().filter(|e| e.parent.is_none()) {
        event.merge(&node_shape(entity, entities));
    }
    let mut payload = Shape::default();
    events_path.reach(&mut payload, &event);
    payload.finish();
    payload
}

/// What extraction reads of a node of `entity`: its attributes, and its
/// children with what they read in turn.
fn node_shape(entity: &Entity, entities: &[Entity]) -> Shape {
    let mut shape = Shape::default();
    for attribute in &entity.attributes {
        attribute.path.reach(&mut shape, &Shape::whole());
    }
    for &child in &entity.children {
        let below = node_shape(&entities[child], entities);
        entities[child].push_path.reach(&mut shape, &below);
    }
    shape
}
