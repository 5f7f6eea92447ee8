//! Write eventpush mappers in Rust.
//!
//! A mapper is a WebAssembly component that sees each raw request to its
//! datasource before the template does, and returns an [`Outcome`]: answer the
//! sender directly, let the body go on to the template, or refuse the request.
//! This crate holds the bindings to the `eventpush:mapper` interface and the
//! helpers that make a mapper a plain Rust function:
//!
//! ```
//! use eventpush_guest::serde_json::json;
//! use eventpush_guest::{Outcome, Request};
//!
//! fn map(request: Request) -> Outcome {
//!     match request.header_str("x-okta-verification-challenge") {
//!         Some(challenge) if request.method == "GET" => {
//!             Outcome::respond_json(200, &json!({ "verification": challenge }))
//!         }
//!         _ => Outcome::forward(),
//!     }
//! }
//!
//! eventpush_guest::export_mapper!(map);
//! # fn main() {}
//! ```
//!
//! Build the crate, with `crate-type = ["cdylib"]`, by `cargo build --release
//! --target wasm32-wasip2`: the result is a component that eventpush loads.
//! Built for `wasm32-unknown-unknown` and made into a component by
//! `wasm-tools component new`, it imports no WASI and costs less per call;
//! there, the default feature `arena` installs a global allocator that
//! serves each call from memory the instance starts with (the README says
//! what else differs on that target).
//!
//! What a mapper may reach besides the request is in [`host`]: log lines, its
//! datasource's `mapper_config`, the time, and signature checks against
//! secrets whose bytes stay in the host. [`encoding`] decodes the hex and
//! base64 that signature headers carry.

// The export macro and the generated bindings name this crate by its path,
// which must resolve inside the crate as well as in the mappers that use it.
extern crate self as eventpush_guest;

#[cfg(any(
    test,
    all(
        feature = "arena",
        target_arch = "wasm32",
        target_os = "unknown",
        not(target_feature = "atomics")
    )
))]
mod arena;
pub mod encoding;
pub mod host;
mod macros;
mod outcome;
mod refusal;
mod request;
#[cfg(all(feature = "testing", not(target_arch = "wasm32")))]
pub mod testing;

pub use refusal::{Refusal, tolerance_seconds};
pub use serde;
pub use serde_json;

pub use __bindings::eventpush::mapper::types::{Outcome, Rejection, Request, Response};

// The generated bindings. They lift and lower values across the component
// boundary with raw pointers, which cannot be done without `unsafe`; the
// export macro reaches them by this path from the mapper's crate.
#[doc(hidden)]
#[allow(
    clippy::too_many_arguments,
    reason = "the generated imports take one argument per core value"
)]
pub mod __bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "mapper",
        runtime_path: "::eventpush_guest::__bindings::__rt",
        default_bindings_module: "::eventpush_guest::__bindings",
        export_macro_name: "export_world",
        pub_export_macro: true,
        additional_derives: [PartialEq, Eq],
    });

    pub use wit_bindgen::rt as __rt;
}
