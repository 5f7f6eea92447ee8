//! The export macro and the log macros.

/// Exports a function `fn(Request) -> Outcome` as the component's `map`.
///
/// Use it once per crate, at the top level of the crate built as a `cdylib`:
///
/// ```
/// use eventpush_guest::{Outcome, Request};
///
/// fn pass_through(_request: Request) -> Outcome {
///     Outcome::forward()
/// }
///
/// eventpush_guest::export_mapper!(pass_through);
/// # fn main() {}
/// ```
///
/// The host runs each request on a fresh instance, so statics do not carry
/// state from one request to the next.
#[macro_export]
macro_rules! export_mapper {
    ($map:path) => {
        const _: () = {
            struct Mapper;

            impl $crate::__bindings::Guest for Mapper {
                fn map(request: $crate::Request) -> $crate::Outcome {
                    $map(request)
                }
            }

    $crate::__bindings::export_world!(Mapper with_types_in $crate::__bindings);
        };
    };
}

/// Logs a formatted line at `trace` level: `trace!("saw {} events", n)`.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)+) => {
        $crate::host::log($crate::host::Level::Trace, &::std::format!($($arg)+))
    };
}

/// Logs a formatted line at `debug` level.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => {
        $crate::host::log($crate::host::Level::Debug, &::std::format!($($arg)+))
    };
}

/// Logs a formatted line at `info` level.
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => {
        $crate::host::log($crate::host::Level::Info, &::std::format!($($arg)+))
    };
}

/// Logs a formatted line at `warn` level.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => {
        $crate::host::log($crate::host::Level::Warn, &::std::format!($($arg)+))
    };
}

/// Logs a formatted line at `error` level.
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => {
        $crate::host::log($crate::host::Level::Error, &::std::format!($($arg)+))
    };
}
