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
