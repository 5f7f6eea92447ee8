//! What of a payload a template can read, and a parser that keeps only that.
//!
//! A parsed payload is a tree of maps and strings, about ten times the size
//! of its body, and building it was the largest part of a request's time.
//! A template reads only some of it: the shipped Okta template about half
//! the members of an event, none of its `debugContext` or `request`. When
//! the template loads, its paths are folded into a [`Shape`]; a payload is
//! then parsed with members outside the shape skipped (still checked to be
//! JSON, never stored), so extraction finds exactly what it would find in
//! the whole tree.
//!
//! The shape may keep more than the paths read, never less. A path that
//! jsonpath-rust evaluates (anything beyond members, `[*]` and a filter on
//! a string) may look anywhere below where it starts, so everything below
//! that point is kept.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The part of a JSON value that some paths can reach.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shape {
    /// Keep the whole value: a path ends here, or may look anywhere below.
    whole: bool,
    /// What is needed below members of an object, by name.
    members: BTreeMap<String, Shape>,
    /// What is needed below every element of an array and every member of
    /// an object. Once [`Shape::finish`] has run, each of `members`
    /// includes it, and so does `elements`.
    every: Option<Box<Shape>>,
    /// What is needed below every element of an array only: extraction
    /// takes a selected array for its elements, not an object for its members.
    elements: Option<Box<Shape>>,
}

impl Shape {
    /// A shape that keeps the whole value.
    pub fn whole() -> Self {
        Self {
            whole: true,
            ..Self::default()
        }
    }

    /// Keeps the whole value.
    pub fn keep_whole(&mut self) {
        *self = Self::whole();
    }

    /// What is needed below the member `name`.
    pub fn member(&mut self, name: &str) -> &mut Shape {
        self.members.entry(name.to_owned()).or_default()
    }

    /// What is needed below every element or member.
    pub fn every(&mut self) -> &mut Shape {
        self.every.get_or_insert_default()
    }

    /// What is needed below every element of an array.
    pub fn elements(&mut self) -> &mut Shape {
        self.elements.get_or_insert_default()
    }

    /// Adds what `other` needs.
    pub fn merge(&mut self, other: &Shape) {
        if self.whole {
            return;
        }
        if other.whole {
            return self.keep_whole();
        }
        for (name, below) in &other.members {
            self.member(name).merge(below);
        }
        if let Some(below) = &other.every {
            self.every().merge(below);
        }
        if let Some(below) = &other.elements {
            self.elements().merge(below);
        }
    }

    /// Makes each member's shape, and the elements', include what every
    /// member or element needs, so that parsing looks up one shape for each.
    pub fn finish(&mut self) {
        if self.whole {
            self.members.clear();
            self.every = None;
            self.elements = None;
            return;
        }
        if let Some(every) = self.every.take() {
            for below in self.members.values_mut() {
                below.merge(&every);
            }
            self.elements().merge(&every);
            self.every = Some(every);
        }
        self.members.values_mut().for_each(Shape::finish);
        for below in [&mut self.every, &mut self.elements].into_iter().flatten() {
            below.finish();
        }
    }

    /// What is needed below the member `name`, if anything.
    fn below(&self, name: &str) -> Option<&Shape> {
        self.members.get(name).or(self.every.as_deref())
    }

    /// Parses `body` as JSON, keeping what this shape needs.
    pub fn parse(&self, body: &[u8]) -> serde_json::Result<Value> {
        // serde_json checks that a string is UTF-8 only when it keeps it,
        // and JSON is UTF-8 throughout, so the whole body is checked first.
        // A body that fails is parsed in full, only for serde_json's error,
        // which names the line and column.
        let text = std::str::from_utf8(body).map_err(|e| {
            serde_json::from_slice::<Value>(body)
                .err()
                .unwrap_or_else(|| de::Error::custom(format_args!("the body is not UTF-8: {e}")))
        })?;
        let mut parser = serde_json::Deserializer::from_str(text);
        let value = self.deserialize(&mut parser)?;
        parser.end()?;
        Ok(value)
    }
}

impl<'de> DeserializeSeed<'de> for &Shape {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, parser: D) -> Result<Value, D::Error> {
        if self.whole {
            return Value::deserialize(parser);
        }
        parser.deserialize_any(Pruning(self))
    }
}

/// Builds a [`Value`] of what a shape keeps.
struct Pruning<'a>(&'a Shape);

impl<'de> Visitor<'de> for Pruning<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Value, E> {
        Ok(value.into())
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Value, E> {
        Ok(value.into())
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Value, E> {
        // As serde_json's own `Value` does: JSON has no NaN or infinity.
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut kept = Vec::new();
        match &self.0.elements {
            Some(item) => {
                while let Some(value) = seq.next_element_seed(&**item)? {
                    kept.push(value);
                }
            }
            // No path reaches into it: its elements are only checked.
            None => while seq.next_element::<IgnoredAny>()?.is_some() {},
        }
        Ok(Value::Array(kept))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut kept = Map::new();
        while let Some(Name(name)) = map.next_key()? {
            match self.0.below(&name) {
                Some(shape) => {
                    let value = map.next_value_seed(shape)?;
                    kept.insert(name.into_owned(), value);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(kept))
    }
}

/// A member's name, borrowed from the body unless it holds an escape.
struct Name<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: de::Deserializer<'de>>(parser: D) -> Result<Self, D::Error> {
        struct Text;

        impl<'de> Visitor<'de> for Text {
            type Value = Name<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a member name")
            }

            fn visit_borrowed_str<E: de::Error>(self, name: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(name)))
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(name.to_owned())))
            }

            fn visit_string<E: de::Error>(self, name: String) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(name)))
            }
        }

        parser.deserialize_str(Text)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::template::CompiledPath;

    /// The shape of these paths, each selecting a whole value.
    fn shape_of(paths: &[&str]) -> Shape {
        let mut shape = Shape::default();
        for path in paths {
            CompiledPath::compile(path)
                .unwrap()
                .reach(&mut shape, &Shape::whole());
        }
        shape.finish();
        shape
    }

    #[test]
    fn keeps_what_paths_reach_and_skips_the_rest() {
        let shape = shape_of(&["$.a.b", "$.list[*].id", "$.all"]);
        let body = br#"{"a": {"b": {"deep": [1]}, "c": 2}, "list": [{"id": 1, "x": 2}, 3],
                        "all": {"x": [{"y": null}]}, "other": {"z": "\u00e9"}}"#;

        assert_eq!(
            shape.parse(body).unwrap(),
            json!({"a": {"b": {"deep": [1]}}, "list": [{"id": 1}, 3], "all": {"x": [{"y": null}]}})
        );
    }

    #[test]
    fn a_selected_array_stands_for_its_elements_and_an_object_for_itself() {
        let mut event = Shape::default();
        CompiledPath::compile("$.id")
            .unwrap()
            .reach(&mut event, &Shape::whole());
        let mut shape = Shape::default();
        CompiledPath::compile("$.events")
            .unwrap()
            .reach(&mut shape, &event);
        shape.finish();

        assert_eq!(
            shape
                .parse(br#"{"events": [{"id": 1, "junk": {"id": 2}}, 3]}"#)
                .unwrap(),
            json!({"events": [{"id": 1}, 3]})
        );
        assert_eq!(
            shape
                .parse(br#"{"events": {"id": 1, "junk": {"id": 2}}}"#)
                .unwrap(),
            json!({"events": {"id": 1}})
        );
    }

    #[test]
    fn a_path_left_to_jsonpath_rust_keeps_all_below_where_it_starts() {
        let shape = shape_of(&["$.a..id"]);
        let body = br#"{"a": {"x": {"id": 1}}, "b": 2}"#;

        assert_eq!(
            shape.parse(body).unwrap(),
            json!({"a": {"x": {"id": 1}}, "b": 2})
        );
    }

    #[test]
    fn refuses_what_is_not_json_in_parts_it_skips() {
        let shape = shape_of(&["$.a"]);

        for body in [
            &br#"{"a": 1, "b": [1,]}"#[..],
            br#"{"a": 1, "b": "\x"}"#,
            b"{\"a\": 1, \"b\": \"\xff\"}",
            br#"{"a": 1} {}"#,
        ] {
            let error = shape.parse(body).unwrap_err();
            assert!(error.to_string().contains("line 1"), "{error}");
        }
    }

    #[test]
    fn an_unpaired_surrogate_is_refused_only_where_it_is_read() {
        let shape = shape_of(&["$.a"]);

        assert!(shape.parse(br#"{"a": "\ud800"}"#).is_err());
        assert_eq!(
            shape.parse(br#"{"a": 1, "b": "\ud800"}"#).unwrap(),
            json!({"a": 1})
        );
    }
}
