//! Conversion of JSON values to an attribute's declared type.
//!
//! A value converts when it is a JSON value of that type, or a string that
//! parses as one: senders such as Okta put booleans and numbers in strings.
//! The result is the JSON form the store keeps and the query API returns.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde_json::{Number, Value};

use super::model::AttrType;

/// Converts `value` to `ty`; `Err` says what was found and what was expected.
///
/// JSON `null` converts to `null` for every type.
pub fn convert(ty: AttrType, value: &Value) -> Result<Value, String> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let converted = match ty {
        AttrType::String => to_string(value),
        AttrType::Int64 => to_int64(value).map(Value::from),
        AttrType::Double => to_double(value),
        AttrType::Bool => to_bool(value).map(Value::Bool),
        AttrType::DateTime => to_datetime(value).map(Value::String),
        AttrType::Duration => to_duration(value).map(Value::String),
    };
    converted.ok_or_else(|| format!("expected {ty:?}, found {}", describe(value)))
}

/// The text under which a converted value is indexed and compared.
pub fn index_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn to_string(value: &Value) -> Option<Value> {
    match value {
        Value::String(_) => Some(value.clone()),
        Value::Number(n) => Some(Value::String(n.to_string())),
        Value::Bool(b) => Some(Value::String(b.to_string())),
        _ => None,
    }
}

fn to_int64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn to_double(value: &Value) -> Option<Value> {
    let number = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }?;
    // JSON has no NaN or infinity, so such a string cannot be stored as a number.
    Number::from_f64(number).map(Value::Number)
}

fn to_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// RFC 3339 text, or a Unix time as a number: seconds, or milliseconds when
/// the number is too large to be seconds (beyond the year 5138).
fn to_datetime(value: &Value) -> Option<String> {
    let instant = match value {
        Value::String(s) => DateTime::parse_from_rfc3339(s.trim())
            .ok()?
            .with_timezone(&Utc),
        Value::Number(n) => {
            let n = n.as_i64()?;
            if n.abs() >= 100_000_000_000 {
                Utc.timestamp_millis_opt(n).single()?
            } else {
                Utc.timestamp_opt(n, 0).single()?
            }
        }
        _ => return None,
    };
    Some(instant.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// ISO 8601 (`PT1H30M`, `P2D`), a unit string (`90m`, `1h 30m`, `250ms`), or
/// a number of seconds. Years and months have no fixed length and are refused.
fn to_duration(value: &Value) -> Option<String> {
    let duration = match value {
        Value::String(s) => parse_duration(s.trim())?,
        Value::Number(n) => Duration::try_from_secs_f64(n.as_f64()?).ok()?,
        _ => return None,
    };
    Some(iso8601_text(duration))
}

fn parse_duration(text: &str) -> Option<Duration> {
    if text.starts_with('P') {
        return match iso8601::duration(text).ok()? {
            iso8601::Duration::YMDHMS { year, month, .. } if year != 0 || month != 0 => None,
            parsed => Some(parsed.into()),
        };
    }
    humantime::parse_duration(text).ok()
}

/// Formats as `PT#H#M#S`, omitting zero parts, `PT0S` for nothing.
fn iso8601_text(duration: Duration) -> String {
    let total = duration.as_secs();
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    let nanos = duration.subsec_nanos();
    let mut text = String::from("PT");
    if hours > 0 {
        text += &format!("{hours}H");
    }
    if minutes > 0 {
        text += &format!("{minutes}M");
    }
    if seconds > 0 || nanos > 0 || (hours == 0 && minutes == 0) {
        text += &seconds.to_string();
        if nanos > 0 {
            let fraction = format!("{nanos:09}");
            text += ".";
            text += fraction.trim_end_matches('0');
        }
        text += "S";
    }
    text
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) if s.chars().count() > 40 => "a string that does not parse".into(),
        Value::String(s) => format!("string {s:?}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ok(ty: AttrType, value: Value) -> Value {
        convert(ty, &value).unwrap()
    }

    fn err(ty: AttrType, value: Value) -> String {
        convert(ty, &value).unwrap_err()
    }

    #[test]
    fn null_converts_to_null_for_every_type() {
        use AttrType::*;
        for ty in [String, Int64, Double, Bool, DateTime, Duration] {
            assert_eq!(ok(ty, Value::Null), Value::Null);
        }
    }

    #[test]
    fn string_keeps_text_and_spells_scalars() {
        assert_eq!(ok(AttrType::String, json!("abc")), json!("abc"));
        assert_eq!(ok(AttrType::String, json!(42)), json!("42"));
        assert_eq!(ok(AttrType::String, json!(false)), json!("false"));
        assert_eq!(
            err(AttrType::String, json!({"a": 1})),
            "expected String, found an object"
        );
        assert_eq!(
            err(AttrType::String, json!([1])),
            "expected String, found an array"
        );
    }

    #[test]
    fn int64_takes_integers_and_integer_strings() {
        assert_eq!(ok(AttrType::Int64, json!(42)), json!(42));
        assert_eq!(ok(AttrType::Int64, json!("-7")), json!(-7));
        assert_eq!(ok(AttrType::Int64, json!(i64::MAX)), json!(i64::MAX));
        assert_eq!(
            err(AttrType::Int64, json!(1.5)),
            "expected Int64, found number 1.5"
        );
        assert_eq!(
            err(AttrType::Int64, json!("12x")),
            "expected Int64, found string \"12x\""
        );
        assert!(convert(AttrType::Int64, &json!(u64::MAX)).is_err());
        assert!(convert(AttrType::Int64, &json!(true)).is_err());
    }

    #[test]
    fn double_takes_numbers_and_numeric_strings() {
        assert_eq!(ok(AttrType::Double, json!(1.5)), json!(1.5));
        assert_eq!(ok(AttrType::Double, json!(3)), json!(3.0));
        assert_eq!(ok(AttrType::Double, json!("2.25")), json!(2.25));
        assert!(convert(AttrType::Double, &json!("NaN")).is_err());
        assert!(convert(AttrType::Double, &json!("inf")).is_err());
        assert!(convert(AttrType::Double, &json!("abc")).is_err());
    }

    #[test]
    fn bool_takes_booleans_and_their_strings() {
        assert_eq!(ok(AttrType::Bool, json!(true)), json!(true));
        assert_eq!(ok(AttrType::Bool, json!("false")), json!(false));
        assert_eq!(ok(AttrType::Bool, json!("TRUE")), json!(true));
        assert_eq!(
            err(AttrType::Bool, json!("yes")),
            "expected Bool, found string \"yes\""
        );
        assert!(convert(AttrType::Bool, &json!(1)).is_err());
    }

    #[test]
    fn datetime_is_stored_as_rfc3339_utc() {
        assert_eq!(
            ok(AttrType::DateTime, json!("2023-03-26T21:05:32.159Z")),
            json!("2023-03-26T21:05:32.159Z")
        );
        assert_eq!(
            ok(AttrType::DateTime, json!("2023-03-26T23:05:32+02:00")),
            json!("2023-03-26T21:05:32Z")
        );
        assert_eq!(
            ok(AttrType::DateTime, json!(1_679_864_732)),
            json!("2023-03-26T21:05:32Z")
        );
        assert_eq!(
            ok(AttrType::DateTime, json!(1_679_864_732_159_i64)),
            json!("2023-03-26T21:05:32.159Z")
        );
        assert!(convert(AttrType::DateTime, &json!("2023-03-26")).is_err());
        assert!(convert(AttrType::DateTime, &json!("yesterday")).is_err());
        assert!(convert(AttrType::DateTime, &json!(true)).is_err());
    }

    #[test]
    fn duration_is_stored_as_iso8601() {
        assert_eq!(ok(AttrType::Duration, json!("PT1H30M")), json!("PT1H30M"));
        assert_eq!(ok(AttrType::Duration, json!("P1D")), json!("PT24H"));
        assert_eq!(ok(AttrType::Duration, json!("90m")), json!("PT1H30M"));
        assert_eq!(ok(AttrType::Duration, json!("250ms")), json!("PT0.25S"));
        assert_eq!(ok(AttrType::Duration, json!(45)), json!("PT45S"));
        assert_eq!(ok(AttrType::Duration, json!(0)), json!("PT0S"));
        assert!(convert(AttrType::Duration, &json!("P1M")).is_err());
        assert!(convert(AttrType::Duration, &json!(-5)).is_err());
        assert!(convert(AttrType::Duration, &json!("soon")).is_err());
    }

    #[test]
    fn index_text_is_the_plain_value() {
        assert_eq!(index_text(&json!("a")), Some("a".into()));
        assert_eq!(index_text(&json!(5)), Some("5".into()));
        assert_eq!(index_text(&json!(true)), Some("true".into()));
        assert_eq!(index_text(&Value::Null), None);
    }
}
