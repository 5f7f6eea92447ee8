//! YAML reading shared by templates and the configuration file: errors carry
//! the line, the column and the key at fault.

use std::fmt;

use serde::de::DeserializeOwned;
use serde_saphyr::{Location, RenderOptions, SnippetMode, UserMessageFormatter};

/// One thing wrong with a YAML file, at a place in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
    /// What is wrong, naming the key.
    pub message: String,
}

impl Problem {
    /// A problem at `at`, which may be unknown (then line 1, column 1).
    pub fn at(at: &Location, message: String) -> Self {
        Self {
            line: at.line().max(1),
            column: at.column().max(1),
            message,
        }
    }

    /// A problem with the value of `key` (a dotted path), at `at`.
    pub fn key(at: &Location, key: &str, why: impl fmt::Display) -> Self {
        Self::at(at, format!("`{key}`: {why}"))
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// Deserializes `text` with serde-saphyr, tracking the key path with
/// serde_path_to_error so that the message can name the key at fault.
pub fn parse<T: DeserializeOwned>(text: &str) -> Result<T, Problem> {
    let mut key = None;
    let parsed = serde_saphyr::with_deserializer_from_str(text, |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            key = Some(clean_key_path(&e.path().to_string()));
            e.into_inner()
        })
    });
    parsed.map_err(|e| {
        let location = e.location().unwrap_or(Location::UNKNOWN);
        // The wording for people: the default names the library's own
        // options ("set DuplicateKeyPolicy in Options"), meant for developers.
        let mut plain = RenderOptions::new(&UserMessageFormatter);
        plain.snippets = SnippetMode::Off;
        let message = e.render_with_options(plain);
        // The plain message ends with its own location; callers print the
        // location in front instead, in `FILE:LINE:COLUMN` form.
        let suffix = format!(" at line {}, column {}", location.line(), location.column());
        let message = message.strip_suffix(&suffix).unwrap_or(&message);
        match key.filter(|k| !k.is_empty()) {
            Some(key) => Problem::key(&location, &key, message),
            None => Problem::at(&location, message.to_owned()),
        }
    })
}

/// Drops the `value` steps that `Spanned` adds (`attributes.value[0]` is
/// `attributes[0]` to an author) and the `?` of an unknown step.
fn clean_key_path(path: &str) -> String {
    let mut key = String::new();
    for step in path.split('.') {
        match step {
            "value" | "?" => {}
            index if index.starts_with("value[") => key += &index["value".len()..],
            name => {
                if !key.is_empty() {
                    key.push('.');
                }
                key += name;
            }
        }
    }
    key
}
