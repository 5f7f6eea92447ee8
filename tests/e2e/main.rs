//! End-to-end tests: the real `eventpush` binary, driven over HTTP on
//! 127.0.0.1 and through its command line, one module per area.

mod auth;
mod cli;
mod crash;
mod intake;
mod limits;
mod load;
mod logs;
mod mappers;
mod metrics;
mod openapi;
mod query;
mod reload;
mod retention;
mod shutdown;
mod tls;
mod util;
