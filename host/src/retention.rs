//! Retention: events older than their datasource's `retention_days`, and
//! event-stream log entries older than its `log_retention_days`, are removed
//! in the background, in small batches that interleave with intake.

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::http::App;
use crate::mapper::Clock;
use crate::store::{Expiring, Store, StoreError};

/// How often the sweeper runs.
pub const EVERY: Duration = Duration::from_secs(600);
/// Events removed per write job, so no single commit holds intake back for long.
const BATCH: usize = 1000;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// What one sweep removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    /// Events, with their children no other event names.
    pub events: usize,
    /// Event-stream log entries.
    pub log_entries: usize,
}

/// Removes everything expired as of `now` (Unix microseconds).
pub async fn sweep_once(store: &Store, config: &Config, now: i64) -> Result<Removed, StoreError> {
    let mut removed = Removed::default();
    for datasource in config.datasources.values() {
        let limits = &datasource.limits;
        let targets = [
            (Expiring::Events, limits.retention_days, &mut removed.events),
            (
                Expiring::Log,
                limits.log_retention_days,
                &mut removed.log_entries,
            ),
        ];
        for (what, days, count) in targets {
            let cutoff = now - i64::from(days) * MICROS_PER_DAY;
            loop {
                let batch = store.sweep(&datasource.id, what, cutoff, BATCH).await?;
                *count += batch;
                if batch < BATCH {
                    break;
                }
            }
        }
    }
    Ok(removed)
}

/// Sweeps now and then every [`EVERY`], until the process ends. The time
/// it sweeps by is the system's, unless `EVENTPUSH_SWEEP_CLOCK` holds Unix
/// milliseconds (for tests of expiry; never set it in production).
pub async fn run(app: Arc<App>) {
    let clock = Clock::from_var("EVENTPUSH_SWEEP_CLOCK", "retention sweeps");
    let mut ticks = tokio::time::interval(EVERY);
    loop {
        ticks.tick().await;
        let now = clock.now_millis() as i64 * 1000;
        let swept = sweep_once(&app.store, &app.config(), now).await;
        if let Ok(removed) = &swept {
            crate::metrics::global().removed(removed.events, removed.log_entries);
        }
        match swept {
            Ok(Removed {
                events: 0,
                log_entries: 0,
            }) => tracing::debug!("retention: nothing expired"),
            Ok(Removed {
                events,
                log_entries,
            }) => tracing::info!(events, log_entries, "retention removed expired entries"),
            Err(e) => {
                tracing::warn!(error = %e, "retention sweep failed; retrying at the next run")
            }
        }
    }
}
