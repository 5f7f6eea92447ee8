//! eventpush: receives events pushed over HTTP, extracts entities from them
//! with declarative templates, and keeps them as graph state in SQLite.
//!
//! Modules follow the path of a request, and data flows one way along it:
//! [`http`] → [`auth`] → [`template`] → [`store`], with [`graph`] holding the
//! plain values that extraction produces and the store keeps.

pub mod auth;
pub mod cli;
pub mod config;
pub mod graph;
pub mod http;
pub mod mapper;
pub mod metrics;
pub mod retention;
pub mod store;
pub mod template;
mod yaml;

/// An error and its sources, joined with `: `, for a log line. Every module
/// logs errors this way, so it sits at the root rather than in one of them.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text += ": ";
        text += &cause.to_string();
        source = cause.source();
    }
    text
}
