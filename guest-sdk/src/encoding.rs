//! Decoding what signature headers carry, and checking their timestamps.
//!
//! Decode a signature before handing it to [`crate::host::verify_mac`]: a
//! header that does not decode is a bad signature, not a reason to trap.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Decodes hexadecimal digits, upper or lower case; `None` when `text` is not
/// an even number of hex digits.
pub fn decode_hex(text: &str) -> Option<Vec<u8>> {
    hex::decode(text).ok()
}

/// Decodes standard base64 (`+` and `/`, with `=` padding); `None` when
/// `text` is not that.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

/// Parses a Unix timestamp in whole seconds, as sent in headers such as
/// `webhook-timestamp` and `X-Slack-Request-Timestamp`: decimal digits only.
pub fn parse_unix_seconds(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Whether `timestamp` (seconds since the Unix epoch) is no more than
/// `tolerance_seconds` before or after `now_millis` (milliseconds since the
/// Unix epoch, as [`crate::host::now_millis`] gives it).
pub fn within_tolerance(timestamp: u64, now_millis: u64, tolerance_seconds: u64) -> bool {
    let timestamp_millis = u128::from(timestamp) * 1000;
    let tolerance_millis = u128::from(tolerance_seconds) * 1000;

    timestamp_millis.abs_diff(u128::from(now_millis)) <= tolerance_millis
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_hex_in_either_case() {
        assert_eq!(decode_hex("00ff7A"), Some(vec![0x00, 0xff, 0x7a]));
        assert_eq!(decode_hex(""), Some(vec![]));
    }

    #[test]
    fn refuses_text_that_is_not_hex() {
        assert_eq!(decode_hex("abc"), None);
        assert_eq!(decode_hex("zz"), None);
        assert_eq!(decode_hex("sha256=00"), None);
    }

    #[test]
    fn decodes_standard_base64() {
        assert_eq!(
            decode_base64("g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=").map(|bytes| bytes.len()),
            Some(32)
        );
        assert_eq!(decode_base64("aGk="), Some(b"hi".to_vec()));
    }

    #[test]
    fn refuses_text_that_is_not_base64() {
        assert_eq!(decode_base64("aGk"), None);
        assert_eq!(decode_base64("a*b="), None);
    }

    #[test]
    fn parses_timestamps_of_digits_only() {
        assert_eq!(parse_unix_seconds("1531420618"), Some(1_531_420_618));
        assert_eq!(parse_unix_seconds("+1531420618"), None);
        assert_eq!(parse_unix_seconds(" 1"), None);
        assert_eq!(parse_unix_seconds(""), None);
        assert_eq!(parse_unix_seconds("99999999999999999999999"), None);
    }

    #[test]
    fn accepts_timestamps_within_the_window_both_ways() {
        let now = 1_614_265_330_000;

        assert!(within_tolerance(1_614_265_330, now, 300));
        assert!(within_tolerance(1_614_265_330 - 300, now, 300));
        assert!(within_tolerance(1_614_265_330 + 300, now, 300));
        assert!(!within_tolerance(1_614_265_330 - 301, now, 300));
        assert!(!within_tolerance(1_614_265_330 + 301, now, 300));
        assert!(!within_tolerance(u64::MAX, now, 300));
        assert!(!within_tolerance(0, now, 300));
    }
}
