//! JSONPath expressions, compiled once when a template loads.

use jsonpath_rust::parser::model::{
    Comparable, Comparison, Filter, FilterAtom, JpQuery, Literal, Segment, Selector, SingularQuery,
    SingularQuerySegment,
};
use jsonpath_rust::parser::parse_json_path;
use jsonpath_rust::query::js_path_process;
use serde_json::Value;

use super::shape::Shape;

/// A JSONPath expression parsed at load time and evaluated many times.
#[derive(Debug, Clone)]
pub struct CompiledPath {
    text: String,
    query: JpQuery,
    /// The steps to walk directly, for a path made only of steps that
    /// [`Step`] knows (most template paths).
    steps: Option<Vec<Step>>,
}

/// A step of a path that eventpush walks itself. jsonpath-rust builds the
/// normalized path of every value it passes as a string, which made it most
/// of extraction's time; walking these steps selects the same values
/// without that, so paths made only of them take this way and every other
/// path the crate's. A unit test holds both ways to the same results.
#[derive(Debug, Clone)]
enum Step {
    /// `.name` or `['name']`: that member of an object.
    Member(String),
    /// `[*]`: every element of an array, or every member of an object.
    Every,
    /// `[?(@.a.b == 'text')]`: every element of an array (or member of an
    /// object) whose value at those names is that string.
    Equals(Vec<String>, String),
}

/// The steps of `query`, when every one of them is a [`Step`].
fn steps(query: &JpQuery) -> Option<Vec<Step>> {
    if query.segments.is_empty() {
        return None;
    }
    query
        .segments
        .iter()
        .map(|segment| match segment {
            Segment::Selector(Selector::Name(name)) => Some(Step::Member(name.clone())),
            Segment::Selector(Selector::Wildcard) => Some(Step::Every),
            Segment::Selector(Selector::Filter(filter)) => string_equality(filter),
            _ => None,
        })
        .collect()
}

/// A filter that compares names below the current value with a string.
fn string_equality(filter: &Filter) -> Option<Step> {
    match filter {
        Filter::Or(only) | Filter::And(only) if only.len() == 1 => string_equality(&only[0]),
        // In parentheses.
        Filter::Atom(FilterAtom::Filter { expr, not: false }) => string_equality(expr),
        Filter::Atom(FilterAtom::Comparison(comparison)) => {
            let Comparison::Eq(left, right) = comparison.as_ref() else {
                return None;
            };
            let (names, text) = match (left, right) {
                (
                    Comparable::SingularQuery(SingularQuery::Current(names)),
                    Comparable::Literal(Literal::String(text)),
                )
                | (
                    Comparable::Literal(Literal::String(text)),
                    Comparable::SingularQuery(SingularQuery::Current(names)),
                ) => (names, text),
                _ => return None,
            };
            let names = names
                .iter()
                .map(|segment| match segment {
                    SingularQuerySegment::Name(name) => Some(name.clone()),
                    SingularQuerySegment::Index(_) => None,
                })
                .collect::<Option<Vec<_>>>()?;
            Some(Step::Equals(names, text.clone()))
        }
        _ => None,
    }
}

/// The elements of an array or the member values of an object.
fn items(value: &Value) -> impl Iterator<Item = &Value> {
    let elements = value.as_array().into_iter().flatten();
    let members = value.as_object().into_iter().flat_map(|m| m.values());
    elements.chain(members)
}

/// Adds to `found` what `steps` select from `value`, in document order.
fn walk<'a>(steps: &[Step], value: &'a Value, found: &mut Vec<&'a Value>) {
    let Some((step, rest)) = steps.split_first() else {
        found.push(value);
        return;
    };
    let member = |at: &'a Value, name: &String| at.as_object()?.get(name);
    match step {
        Step::Member(name) => {
            if let Some(inner) = member(value, name) {
                walk(rest, inner, found);
            }
        }
        Step::Every => items(value).for_each(|item| walk(rest, item, found)),
        Step::Equals(names, text) => {
            for item in items(value) {
                let compared = names.iter().try_fold(item, &member);
                if compared.and_then(Value::as_str) == Some(text.as_str()) {
                    walk(rest, item, found);
                }
            }
        }
    }
}

/// Adds to `shape` what `steps` read on their way, and `then` at each value
/// they select: as that value, and as each element should it be an array,
/// since extraction takes one selected array for its elements.
fn reach(steps: &[Step], shape: &mut Shape, then: &Shape) {
    let Some((step, rest)) = steps.split_first() else {
        shape.merge(then);
        shape.elements().merge(then);
        return;
    };
    match step {
        Step::Member(name) => reach(rest, shape.member(name), then),
        Step::Every => reach(rest, shape.every(), then),
        Step::Equals(names, _) => {
            // Compared only with a string, which is kept as any scalar is.
            let item = shape.every();
            names.iter().fold(&mut *item, |at, name| at.member(name));
            reach(rest, item, then);
        }
    }
}

impl CompiledPath {
    /// Parses `text`; the error is the parser's description of what is wrong.
    pub fn compile(text: &str) -> Result<Self, String> {
        let query = parse_json_path(text).map_err(|e| one_line(&e.to_string()))?;
        Ok(Self {
            text: text.to_owned(),
            steps: steps(&query),
            query,
        })
    }

    /// Adds to `shape` what this path reads of the value it starts from, and
    /// `then` at what it selects (see [`Shape`]).
    pub(super) fn reach(&self, shape: &mut Shape, then: &Shape) {
        match &self.steps {
            Some(steps) => reach(steps, shape, then),
            // jsonpath-rust may look anywhere below.
            None => shape.keep_whole(),
        }
    }

    /// The expression as written in the template.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Every value the path selects in `value`, in document order.
    pub fn select<'a>(&self, value: &'a Value) -> Result<Vec<&'a Value>, String> {
        if let Some(steps) = &self.steps {
            let mut found = Vec::new();
            walk(steps, value, &mut found);
            return Ok(found);
        }
        js_path_process(&self.query, value)
            .map(|found| found.into_iter().map(|r| r.val()).collect())
            .map_err(|e| format!("path `{}` failed: {e}", self.text))
    }
}

/// The parser's errors draw the expression over several lines; a template
/// error is one line, so keep the position and what was expected.
fn one_line(message: &str) -> String {
    let column = message
        .split_once("-->")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|at| at.split(':').nth(1));
    let expected = message
        .lines()
        .filter_map(|line| line.trim().strip_prefix("= "))
        .next_back();
    match (column, expected) {
        (Some(column), Some(expected)) => format!("at character {column}: {expected}"),
        _ => message.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn selects_nested_values_and_filters() {
        let event = json!({"actor": {"id": "a1"}, "target": [
            {"type": "User", "id": "u1"}, {"type": "App", "id": "p1"}, {"type": "User", "id": "u2"}
        ]});
        let id = CompiledPath::compile("$.actor.id").unwrap();
        assert_eq!(id.select(&event).unwrap(), vec![&json!("a1")]);
        let users = CompiledPath::compile("$.target[?(@.type == 'User')].id").unwrap();
        assert_eq!(
            users.select(&event).unwrap(),
            vec![&json!("u1"), &json!("u2")]
        );
        let missing = CompiledPath::compile("$.nothing.here").unwrap();
        assert!(missing.select(&event).unwrap().is_empty());
    }

    #[test]
    fn walked_paths_select_what_the_crate_selects() {
        let values = [
            json!({"a": {"b": {"c": 1}}, "n": null, "s": "x", "list": [{"b": 2}]}),
            json!({"target": [
                {"type": "User", "id": "u1", "detail": {"kind": "admin"}},
                {"type": "AppInstance", "id": "p1"},
                {"type": 5, "id": "n1"},
                "User",
                {"id": "no type"},
                {"type": "User", "detail": {"kind": "admin"}, "id": "u2"}
            ], "byKey": {"x": {"type": "User", "id": "k1"}, "y": {"type": "Group", "id": "k2"}}}),
            json!({"data": {"events": [{"uuid": "e1"}, {"uuid": "e2"}, 3, []]}}),
            json!({"data": {"events": {"one": {"uuid": "o1"}, "two": {"uuid": "o2"}}}}),
            json!({"data": {"events": []}, "target": {}}),
            json!([1, 2, {"type": "User"}]),
            json!("text"),
            json!(null),
        ];
        let paths = [
            "$.a",
            "$.a.b",
            "$.a.b.c",
            "$.a.x",
            "$.n",
            "$.n.b",
            "$.s.b",
            "$.list.b",
            "$._x9",
            "$['a']['b']",
            "$.data.events[*]",
            "$.data.events[*].uuid",
            "$.data.events.*",
            "$[*]",
            "$.byKey[*].id",
            "$.target[?(@.type == 'User')].id",
            "$.target[?(@.type == 'User')]",
            "$.target[?('User' == @.type)].id",
            "$.target[?@.type == 'User'].id",
            "$.target[?(@.detail.kind == 'admin')].id",
            "$.byKey[?(@.type == 'User')].id",
            "$[?(@.type == 'User')]",
            "$.s[?(@.type == 'User')]",
        ];
        for text in paths {
            let path = CompiledPath::compile(text).unwrap();
            assert!(path.steps.is_some(), "{text} takes the direct way");
            for value in &values {
                let direct = path.select(value).unwrap();
                let by_crate: Vec<&Value> = js_path_process(&path.query, value)
                    .unwrap()
                    .into_iter()
                    .map(|r| r.val())
                    .collect();
                assert_eq!(direct, by_crate, "{text} on {value}");
            }
        }
        for text in [
            "$",
            "$.a[0]",
            "$..a",
            "$.a[1:2]",
            "$.a['b','c']",
            "$.target[?(@.type != 'User')]",
            "$.target[?!(@.type == 'User')]",
            "$.target[?(@.type == 5)]",
            "$.target[?(@.tags[0] == 'x')]",
            "$.target[?(@.type == 'User' && @.id == 'u1')]",
            "$.target[?($.s == 'x')]",
        ] {
            let path = CompiledPath::compile(text).unwrap();
            assert!(path.steps.is_none(), "{text} is left to the crate");
        }
    }

    #[test]
    fn refuses_unparsable_paths() {
        assert!(CompiledPath::compile("$.a[").is_err());
        assert!(CompiledPath::compile("no dollar").is_err());
    }
}
