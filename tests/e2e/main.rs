//! End-to-end tests: the real `eventpush` binary, driven over HTTP on
//! 127.0.0.1 and through its command line, one module per area.

mod auth;
mod cli;
mod intake;
mod limits;
mod logs;
mod mappers;
mod query;
mod reload;
mod util;
