//! JSONPath expressions, compiled once when a template loads.

use jsonpath_rust::parser::model::JpQuery;
use jsonpath_rust::parser::parse_json_path;
use jsonpath_rust::query::js_path_process;
use serde_json::Value;

/// A JSONPath expression parsed at load time and evaluated many times.
#[derive(Debug, Clone)]
pub struct CompiledPath {
    text: String,
    query: JpQuery,
    /// For a path of `.name` steps only (most template paths), the names.
    members: Option<Vec<String>>,
}

/// The names of a path written as `$` and `.name` steps only, with names of
/// ASCII letters, digits and `_` not starting with a digit. jsonpath-rust
/// builds the normalized path of every value it passes as a string, which
/// made it most of extraction's time; walking the names is the same lookup
/// without that, so such paths take this way and every other path the
/// crate's.
fn member_chain(text: &str) -> Option<Vec<String>> {
    let rest = text.strip_prefix('$')?;
    if rest.is_empty() {
        return None;
    }
    rest.strip_prefix('.')?
        .split('.')
        .map(|name| {
            let mut chars = name.chars();
            let first = chars.next()?;
            let valid = (first.is_ascii_alphabetic() || first == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
            valid.then(|| name.to_owned())
        })
        .collect()
}

impl CompiledPath {
    /// Parses `text`; the error is the parser's description of what is wrong.
    pub fn compile(text: &str) -> Result<Self, String> {
        let query = parse_json_path(text).map_err(|e| one_line(&e.to_string()))?;
        Ok(Self {
            text: text.to_owned(),
            query,
            members: member_chain(text),
        })
    }

    /// The expression as written in the template.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Every value the path selects in `value`, in document order.
    pub fn select<'a>(&self, value: &'a Value) -> Result<Vec<&'a Value>, String> {
        if let Some(members) = &self.members {
            let found = members.iter().try_fold(value, |at, name| at.get(name));
            return Ok(found.into_iter().collect());
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
    fn member_chains_select_what_the_crate_selects() {
        let values = [
            json!({"a": {"b": {"c": 1}}, "n": null, "s": "x", "list": [{"b": 2}]}),
            json!([1, 2]),
            json!("text"),
            json!(null),
        ];
        let paths = [
            "$.a", "$.a.b", "$.a.b.c", "$.a.x", "$.n", "$.n.b", "$.s.b", "$.list.b", "$._x9",
        ];
        for text in paths {
            let path = CompiledPath::compile(text).unwrap();
            assert!(path.members.is_some(), "{text} takes the direct way");
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
            "$", "$.a[0]", "$['a']", "$.a.*", "$..a", "$.9a", "$.a-b", "$.a.",
        ] {
            assert!(member_chain(text).is_none(), "{text} is left to the crate");
        }
    }

    #[test]
    fn refuses_unparsable_paths() {
        assert!(CompiledPath::compile("$.a[").is_err());
        assert!(CompiledPath::compile("no dollar").is_err());
    }
}
