//! Retention: events older than their datasource's `retention_days` are
//! removed in the background, in small batches that interleave with intake.

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::http::{App, now_micros};
use crate::store::{Store, StoreError};

/// How often the sweeper runs.
pub const EVERY: Duration = Duration::from_secs(600);
/// Events removed per write job, so no single commit holds intake back for long.
const BATCH: usize = 1000;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Removes every expired event as of `now` (Unix microseconds); returns how many.
pub async fn sweep_once(store: &Store, config: &Config, now: i64) -> Result<usize, StoreError> {
    let mut removed = 0;
    for datasource in config.datasources.values() {
        let cutoff = now - i64::from(datasource.limits.retention_days) * MICROS_PER_DAY;
        loop {
            let batch = store.sweep(&datasource.id, cutoff, BATCH).await?;
            removed += batch;
            if batch < BATCH {
                break;
            }
        }
    }
    Ok(removed)
}

/// Sweeps now and then every [`EVERY`], until the process ends.
pub async fn run(app: Arc<App>) {
    let mut ticks = tokio::time::interval(EVERY);
    loop {
        ticks.tick().await;
        match sweep_once(&app.store, &app.config(), now_micros()).await {
            Ok(0) => tracing::debug!("retention: nothing expired"),
            Ok(removed) => tracing::info!(removed, "retention removed expired events"),
            Err(e) => {
                tracing::warn!(error = %e, "retention sweep failed; retrying at the next run")
            }
        }
    }
}
