//! The `eventpush` command.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use eventpush::cli::{Cli, Command, LogFormat};
use tracing_subscriber::EnvFilter;

// glibc's allocator was a quarter of the request threads' time under load
// (parsed payloads are many small allocations freed on other threads);
// mimalloc is made for this pattern.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = match &cli.command {
        Command::Serve(args) => args.log_format,
        _ => LogFormat::Human,
    };
    init_logging(format);
    match cli.run() {
        Ok(code) => code,
        Err(e) => {
            eventpush::cli::report(&e);
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr, filtered by `RUST_LOG` (default `info`).
fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
