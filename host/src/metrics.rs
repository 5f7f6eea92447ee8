//! Prometheus metrics, served at `/metrics` in the OpenMetrics text format.
//!
//! One registry for the process: requests by datasource and status, events
//! by outcome, mapper calls and failures, commit latency and retention
//! removals. Labels only take datasource IDs from the configuration and
//! fixed words, so no sender can grow the number of series.

use std::sync::LazyLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::graph::Summary;
use crate::mapper::{Fault, Receipt};

/// The label of requests to a datasource that is not configured.
pub const UNKNOWN_DATASOURCE: &str = "(unknown)";

/// What can become of an event, as counted by `eventpush_events_total`.
const EVENT_OUTCOMES: [&str; 4] = ["accepted", "duplicate", "unmatched", "rejected"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    datasource: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    datasource: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DatasourceLabels {
    datasource: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    datasource: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RemovedLabels {
    what: &'static str,
}

type Durations = Family<DatasourceLabels, Histogram, fn() -> Histogram>;

/// Every metric of the process.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    shed: Counter,
    events: Family<EventLabels, Counter>,
    mapper_seconds: Durations,
    mapper_failures: Family<FailureLabels, Counter>,
    commit_seconds: Histogram,
    removed: Family<RemovedLabels, Counter>,
}

/// From 100 µs to about 13 s, doubling.
fn duration_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 18))
}

impl Metrics {
    fn new() -> Self {
        let mut metrics = Self {
            registry: Registry::with_prefix("eventpush"),
            requests: Family::default(),
            shed: Counter::default(),
            events: Family::default(),
            mapper_seconds: Family::new_with_constructor(duration_buckets),
            mapper_failures: Family::default(),
            commit_seconds: duration_buckets(),
            removed: Family::default(),
        };
        let registry = &mut metrics.registry;
        registry.register(
            "requests",
            "Pushes answered, by datasource and HTTP status",
            metrics.requests.clone(),
        );
        registry.register(
            "shed",
            "Pushes refused with 503 because max_in_flight were in progress",
            metrics.shed.clone(),
        );
        registry.register(
            "events",
            "Events by outcome: accepted, duplicate, unmatched, rejected",
            metrics.events.clone(),
        );
        registry.register(
            "mapper_duration_seconds",
            "Wall-clock time of mapper calls, instantiation included",
            metrics.mapper_seconds.clone(),
        );
        registry.register(
            "mapper_failures",
            "Mapper calls that failed, by kind: fuel, timeout, memory, output, trap, status",
            metrics.mapper_failures.clone(),
        );
        registry.register(
            "commit_duration_seconds",
            "Time of each group commit of the database writer",
            metrics.commit_seconds.clone(),
        );
        registry.register(
            "retention_removed",
            "Entries removed by the retention sweeper: events or log entries",
            metrics.removed.clone(),
        );
        metrics
    }

    /// Counts one answered push.
    pub fn request(&self, datasource: &str, status: u16) {
        let labels = RequestLabels {
            datasource: datasource.to_owned(),
            status,
        };
        self.requests.get_or_create(&labels).inc();
    }

    /// Counts one push shed for overload.
    pub fn shed(&self) {
        self.shed.inc();
    }

    /// Starts the series of a configured datasource at zero: a series that
    /// appears only with its first count hides that count from `rate` and
    /// `increase`, so the first refused event or failed mapper call would
    /// alert no one.
    pub fn start_datasource(&self, datasource: &str, mapper: bool) {
        for outcome in EVENT_OUTCOMES {
            self.events.get_or_create_owned(&EventLabels {
                datasource: datasource.to_owned(),
                outcome,
            });
        }
        if !mapper {
            return;
        }
        self.mapper_seconds.get_or_create_owned(&DatasourceLabels {
            datasource: datasource.to_owned(),
        });
        for kind in Fault::KINDS {
            self.mapper_failures.get_or_create_owned(&FailureLabels {
                datasource: datasource.to_owned(),
                kind: kind.to_owned(),
            });
        }
    }

    /// Counts the events of a stored push by outcome.
    pub fn events(&self, datasource: &str, summary: &Summary) {
        let counts = [
            summary.accepted,
            summary.duplicates,
            summary.unmatched,
            summary.rejected.len(),
        ];
        let outcomes = EVENT_OUTCOMES.into_iter().zip(counts);
        for (outcome, count) in outcomes.filter(|(_, n)| *n > 0) {
            let labels = EventLabels {
                datasource: datasource.to_owned(),
                outcome,
            };
            self.events.get_or_create(&labels).inc_by(count as u64);
        }
    }

    /// Records one mapper call.
    pub fn mapper_call(&self, datasource: &str, receipt: &Receipt) {
        let labels = DatasourceLabels {
            datasource: datasource.to_owned(),
        };
        self.mapper_seconds
            .get_or_create(&labels)
            .observe(receipt.duration_us as f64 / 1e6);
        if receipt.fault.is_some() {
            let labels = FailureLabels {
                datasource: datasource.to_owned(),
                kind: receipt.outcome.clone(),
            };
            self.mapper_failures.get_or_create(&labels).inc();
        }
    }

    /// Records one group commit.
    pub fn commit(&self, elapsed: std::time::Duration) {
        self.commit_seconds.observe(elapsed.as_secs_f64());
    }

    /// Counts what a retention sweep removed.
    pub fn removed(&self, events: usize, log_entries: usize) {
        for (what, count) in [("events", events), ("log_entries", log_entries)] {
            self.removed
                .get_or_create(&RemovedLabels { what })
                .inc_by(count as u64);
        }
    }

    /// Every metric in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// The metrics of this process.
pub fn global() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}
