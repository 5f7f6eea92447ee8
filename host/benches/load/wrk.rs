//! Drives a server with `wrk` and the `push.lua` script beside this file;
//! shared by the load benchmark and the smoke test of the suite.

// Each of the two uses only part of what is here.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

/// One run of `wrk` against a server.
pub struct Load<'a> {
    /// Base address, such as `http://127.0.0.1:8080`.
    pub base: &'a str,
    /// `(path, token)` pairs; requests go to each in turn.
    pub targets: &'a [(String, String)],
    /// Events in each delivery.
    pub events_per_request: usize,
    /// Prefix of the event ids, unique per run on one database.
    pub run_id: &'a str,
    /// Open keep-alive connections.
    pub connections: u32,
    /// How long to push.
    pub duration: Duration,
    /// The event to repeat, from [`write_event`].
    pub event_file: &'a Path,
}

/// What `wrk` counted; latencies in microseconds.
#[derive(Debug, Deserialize)]
pub struct Outcome {
    /// Responses received.
    pub requests: u64,
    /// Requests the script built (some may have had no answer when time ran out).
    pub generated: u64,
    /// How long the run took.
    pub duration_us: u64,
    /// Responses with a status outside 2xx and 3xx.
    pub non_2xx: u64,
    /// Connect, read and write errors.
    pub socket_errors: u64,
    /// Requests that timed out.
    pub timeouts: u64,
    /// Median latency.
    pub p50_us: u64,
    /// 99th percentile latency.
    pub p99_us: u64,
    /// Share of the machine's CPU time that the hypervisor gave to other
    /// guests during the run, in percent: a run with much of it is not
    /// comparable with others.
    #[serde(skip)]
    pub stolen_percent: f64,
}

impl Outcome {
    /// Responses per second.
    pub fn requests_per_second(&self) -> f64 {
        self.requests as f64 / (self.duration_us as f64 / 1e6)
    }
}

/// Writes the event the script repeats: an Okta group membership change
/// with two targets (a user and a group), with placeholders for the event
/// id, the actor and the user.
pub fn write_event(dir: &Path) -> PathBuf {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/okta/group.user_membership.add.json");
    let text = std::fs::read_to_string(&fixture).expect("the fixture is readable");
    let delivery: Value = serde_json::from_str(&text).expect("the fixture is JSON");
    let mut event = delivery["data"]["events"][0].clone();
    event["uuid"] = json!("@UUID@");
    event["actor"]["alternateId"] = json!("@ACTOR@");
    event["target"][0]["id"] = json!("@USER@");
    let path = dir.join("event.json");
    std::fs::write(&path, event.to_string()).expect("the event file is writable");
    path
}

/// Runs `wrk` with one thread and returns its counts.
pub fn run(load: &Load) -> Outcome {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/load/push.lua");
    let targets: Vec<String> = load
        .targets
        .iter()
        .map(|(path, token)| format!("{path} {token}"))
        .collect();
    let before = CpuTimes::now();
    let output = Command::new("wrk")
        .args(["-t1", "--timeout", "10s"])
        .arg(format!("-c{}", load.connections))
        .arg(format!("-d{}s", load.duration.as_secs().max(1)))
        .arg("-s")
        .arg(&script)
        .arg(load.base)
        .env("EVENT_FILE", load.event_file)
        .env("EVENTS_PER_REQUEST", load.events_per_request.to_string())
        .env("RUN_ID", load.run_id)
        .env("TARGETS", targets.join(" "))
        .output()
        .unwrap_or_else(|e| panic!("cannot run wrk ({e}); install it with scripts/install-tools"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "wrk failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("wrk printed no result: {stdout}"));
    let mut outcome: Outcome = serde_json::from_str(line).expect("the script prints JSON");
    outcome.stolen_percent = CpuTimes::now().stolen_percent_since(&before);
    outcome
}

/// The machine's CPU time so far, from the first line of `/proc/stat`, in
/// clock ticks: all of it, and the part stolen by the hypervisor.
struct CpuTimes {
    all: u64,
    stolen: u64,
}

impl CpuTimes {
    fn now() -> Self {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        // cpu user nice system idle iowait irq softirq steal guest guest_nice
        let ticks: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .take(8)
            .filter_map(|field| field.parse().ok())
            .collect();
        Self {
            all: ticks.iter().sum(),
            stolen: ticks.get(7).copied().unwrap_or(0),
        }
    }

    fn stolen_percent_since(&self, before: &Self) -> f64 {
        let all = self.all.saturating_sub(before.all).max(1);
        100.0 * self.stolen.saturating_sub(before.stolen) as f64 / all as f64
    }
}
