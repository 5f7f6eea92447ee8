//! Tries to reach past the sandbox, then answers with what came back.
//!
//! It reads two files, lists the environment and reads `HOME`, and opens a
//! TCP connection to `127.0.0.1:9`. Under the host's empty WASI every one of
//! these must fail: no directory is preopened, no variable is set, and
//! sockets are denied. The mapper answers 200 with a JSON report, so a test
//! can prove that no file content and no variable reached it:
//!
//! ```json
//! {
//!   "file": null,
//!   "file_error": "`/etc/hostname`: ...; `/etc/passwd`: ...",
//!   "files": [{ "path": "/etc/hostname", "content": null, "error": "..." }, ...],
//!   "env": [],
//!   "home": null,
//!   "socket": "..."
//! }
//! ```
//!
//! `file` holds the content of the first file that could be read, and is
//! `null` when none could; `file_error` joins the errors of the others.
//! `env` lists `NAME=value` pairs; `socket` is the error text, or
//! `connected` if the connection was made.

use std::net::TcpStream;

use eventpush_guest::serde_json::{Value, json};
use eventpush_guest::{Outcome, Request};

/// Files every Unix host has; neither must be readable.
const FILES: [&str; 2] = ["/etc/hostname", "/etc/passwd"];

/// A loopback port; the connection must be refused by the sandbox, not by
/// the port.
const SOCKET: &str = "127.0.0.1:9";

/// What one read of a file gave.
struct FileRead {
    path: &'static str,
    result: Result<String, String>,
}

fn map(_request: Request) -> Outcome {
    let reads: Vec<FileRead> = FILES.into_iter().map(read).collect();
    let environment: Vec<String> = std::env::vars()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    let home = std::env::var("HOME").ok();
    let socket = match TcpStream::connect(SOCKET) {
        Ok(_) => "connected".to_owned(),
        Err(error) => error.to_string(),
    };

    Outcome::respond_json(
        200,
        &json!({
            "file": first_content(&reads),
            "file_error": errors(&reads),
            "files": reads.iter().map(FileRead::to_json).collect::<Vec<_>>(),
            "env": environment,
            "home": home,
            "socket": socket,
        }),
    )
}

fn read(path: &'static str) -> FileRead {
    FileRead {
        path,
        result: std::fs::read_to_string(path).map_err(|error| error.to_string()),
    }
}

/// The content of the first file read, if any was.
fn first_content(reads: &[FileRead]) -> Option<&str> {
    reads.iter().find_map(|read| read.result.as_deref().ok())
}

/// The errors of the files that could not be read, each after its path;
/// `None` when every file was read.
fn errors(reads: &[FileRead]) -> Option<String> {
    let errors: Vec<String> = reads
        .iter()
        .filter_map(|read| {
            let error = read.result.as_ref().err()?;
            Some(format!("`{}`: {error}", read.path))
        })
        .collect();

    (!errors.is_empty()).then(|| errors.join("; "))
}

impl FileRead {
    fn to_json(&self) -> Value {
        let (content, error) = match &self.result {
            Ok(content) => (Some(content.as_str()), None),
            Err(error) => (None, Some(error.as_str())),
        };

        json!({ "path": self.path, "content": content, "error": error })
    }
}

eventpush_guest::export_mapper!(map);
