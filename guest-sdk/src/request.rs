//! Reading a [`Request`]: headers by name, query parameters, a JSON body.
//!
//! The fields themselves are public: `method`, `path`, `query` (the raw query
//! string without `?`), `headers` (names in lowercase, values as bytes, in
//! arrival order) and `body` (the bytes as received, over which signatures
//! are checked).

use std::borrow::Cow;

use percent_encoding::percent_decode;
use serde::Deserialize;

use crate::Request;

impl Request {
    /// The value of the first header called `name`, compared without regard
    /// to ASCII case; `None` when the request has no such header.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(candidate, _)| candidate.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_slice())
    }

    /// Like [`Request::header`], but only when the value is UTF-8; `None` when
    /// the header is missing or is not text.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header(name)
            .and_then(|value| std::str::from_utf8(value).ok())
    }

    /// The first query parameter called `name`, decoded as
    /// `application/x-www-form-urlencoded`: `+` is a space and `%XX` is a byte.
    /// Names are decoded the same way and compared exactly. Bytes that do not
    /// form UTF-8 become U+FFFD; [`Request::query_param_bytes`] keeps them.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_param_bytes(name)
            .map(|value| String::from_utf8_lossy(&value).into_owned())
    }

    /// The first query parameter called `name`, decoded to its exact bytes
    /// (see [`Request::query_param`]).
    pub fn query_param_bytes(&self, name: &str) -> Option<Vec<u8>> {
        self.query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
            .find(|(key, _)| form_decode(key).as_ref() == name.as_bytes())
            .map(|(_, value)| form_decode(value).into_owned())
    }

    /// The body parsed as JSON into `T` (a `serde_json::Value`, or any type
    /// that implements `Deserialize`).
    ///
    /// # Errors
    ///
    /// When the body is not JSON or does not have the shape of `T`.
    pub fn json<'a, T: Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// Decodes one name or value of a form-encoded query string.
fn form_decode(raw: &str) -> Cow<'_, [u8]> {
    if raw.contains('+') {
        let spaced = raw.replace('+', " ");
        Cow::Owned(Cow::from(percent_decode(spaced.as_bytes())).into_owned())
    } else {
        percent_decode(raw.as_bytes()).into()
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use crate::Request;

    fn incoming(query: &str, headers: &[(&str, &[u8])], body: &[u8]) -> Request {
        Request {
            method: "POST".to_owned(),
            path: "/events/custom/v1/test".to_owned(),
            query: query.to_owned(),
            headers: headers
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.to_vec()))
                .collect(),
            body: body.to_vec(),
        }
    }

    #[test]
    fn finds_headers_whatever_their_case() {
        let request = incoming("", &[("x-okta-verification-challenge", b"abc")], b"");

        assert_eq!(
            request.header("X-Okta-Verification-Challenge"),
            Some(&b"abc"[..])
        );
        assert_eq!(
            request.header_str("x-OKTA-verification-challenge"),
            Some("abc")
        );
        assert_eq!(request.header("x-okta-verification"), None);
    }

    #[test]
    fn returns_the_first_of_repeated_headers() {
        let request = incoming("", &[("accept", b"one"), ("Accept", b"two")], b"");

        assert_eq!(request.header_str("accept"), Some("one"));
    }

    #[test]
    fn gives_header_text_only_when_it_is_utf8() {
        let request = incoming("", &[("x-bytes", &[0xff, 0xfe])], b"");

        assert_eq!(request.header("x-bytes"), Some(&[0xff, 0xfe][..]));
        assert_eq!(request.header_str("x-bytes"), None);
    }

    #[test]
    fn decodes_query_parameters_as_forms_do() {
        let request = incoming(
            "validationToken=Validation%3A+Testing+client+application%21&x=1",
            &[],
            b"",
        );

        assert_eq!(
            request.query_param("validationToken").as_deref(),
            Some("Validation: Testing client application!")
        );
        assert_eq!(request.query_param("x").as_deref(), Some("1"));
        assert_eq!(request.query_param("missing"), None);
    }

    #[test]
    fn keeps_a_literal_plus_that_was_percent_encoded() {
        let request = incoming("token=a%2Bb+c", &[], b"");

        assert_eq!(request.query_param("token").as_deref(), Some("a+b c"));
    }

    #[test]
    fn decodes_parameter_names_before_comparing_them() {
        let request = incoming("a%20b=1&a+b=2", &[], b"");

        assert_eq!(request.query_param("a b").as_deref(), Some("1"));
    }

    #[test]
    fn treats_a_parameter_without_value_as_empty() {
        let request = incoming("flag&other=&&x=%ZZ", &[], b"");

        assert_eq!(request.query_param("flag").as_deref(), Some(""));
        assert_eq!(request.query_param("other").as_deref(), Some(""));
        assert_eq!(request.query_param("x").as_deref(), Some("%ZZ"));
    }

    #[test]
    fn keeps_the_exact_bytes_of_a_parameter() {
        let request = incoming("raw=%FF%00a", &[], b"");

        assert_eq!(
            request.query_param_bytes("raw"),
            Some(vec![0xff, 0x00, b'a'])
        );
        assert_eq!(
            request.query_param("raw").as_deref(),
            Some("\u{fffd}\u{0}a")
        );
    }

    #[test]
    fn parses_the_body_as_json() {
        #[derive(Deserialize)]
        struct Challenge<'a> {
            challenge: &'a str,
        }
        let request = incoming(
            "",
            &[],
            br#"{"challenge":"c0ffee","type":"url_verification"}"#,
        );

        let value: serde_json::Value = request.json().unwrap();
        let borrowed: Challenge<'_> = request.json().unwrap();

        assert_eq!(value["type"], "url_verification");
        assert_eq!(borrowed.challenge, "c0ffee");
        assert!(incoming("", &[], b"{").json::<serde_json::Value>().is_err());
    }
}
