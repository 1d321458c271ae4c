//! What a benchmark scenario is measured as, and how: its figures ([`ScenarioResult`]), taken
//! from snapshots of the process and the shared client's counters around the scenario's timed
//! part only.
//!
//! [`Bench::before`] snapshots the counters (after emptying the buffer pool, so a scenario's peak
//! RSS is its own) and [`Bench::result`] turns their change into the figures: wall time, client
//! CPU time, peak RSS, heap allocations, requests, retries by reason, connections opened and
//! reused, the concurrency the client chose (its limit at the end and at its highest, and the
//! peak of requests in flight), and the buffer pool's counters (per size class too). A large
//! transfer adds its timeline ([`Bench::large_result`]); the latency scenarios add their
//! percentiles ([`latency`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use s3io::metrics::RetryReason;
use s3io::Progress;
use serde::Serialize;

use super::measure::{self, Snapshot};
use super::timeline::{self, Sample, Timeline};
use super::Bench;
use crate::args::Scenario;

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::LargeUpload => "large upload (file)",
            Scenario::LargeUploadStream => "large upload (stream)",
            Scenario::LargeDownload => "large download (file)",
            Scenario::LargeDownloadStream => "large download (stream)",
            Scenario::Small => "small downloads",
            Scenario::Mixed => "mixed",
            Scenario::SmallMixed => "small-mixed downloads",
            Scenario::Null => "null (no I/O)",
        }
    }
}

/// Latency percentiles, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Latency {
    pub(crate) p50_ms: f64,
    pub(crate) p90_ms: f64,
    pub(crate) p99_ms: f64,
    /// Every latency, for the plot.
    #[serde(skip)]
    pub(crate) samples_ms: Vec<f64>,
}

/// One scenario's figures.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ScenarioResult {
    pub(crate) scenario: &'static str,
    pub(crate) objects: u64,
    pub(crate) bytes: u64,
    pub(crate) seconds: f64,
    pub(crate) mib_per_second: f64,
    pub(crate) requests: u64,
    pub(crate) requests_per_second: f64,
    pub(crate) cpu_seconds: f64,
    pub(crate) cpu_seconds_per_gib: f64,
    pub(crate) peak_rss_mib: Option<f64>,
    /// `None` (JSON `null`) unless the binary was built with the `alloc-count` feature.
    pub(crate) allocations: Option<u64>,
    pub(crate) allocations_per_object: Option<f64>,
    pub(crate) pool_acquired: u64,
    pub(crate) pool_allocated: u64,
    pub(crate) pool_reuse_rate: Option<f64>,
    pub(crate) retries: u64,
    /// Retries by reason ([`s3io::metrics::RetryReason::name`]), only the reasons that occurred.
    pub(crate) retries_by_reason: BTreeMap<&'static str, u64>,
    pub(crate) connections_opened: u64,
    /// Requests sent on a connection already open (requests − connections opened).
    pub(crate) connections_reused: u64,
    /// Whether the client's concurrency adapted (no `--concurrency`).
    pub(crate) concurrency_adaptive: bool,
    /// The client's limit on requests in flight at the end of the scenario.
    pub(crate) concurrency: usize,
    /// The highest that limit was during the scenario.
    pub(crate) concurrency_max: usize,
    /// The most requests in flight at once during the scenario.
    pub(crate) peak_in_flight: usize,
    pub(crate) latency: Option<Latency>,
    /// The buffer pool's acquisitions per size class during the scenario (classes used only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) pool_classes: Vec<ClassReuse>,
    /// (seconds since start, MiB/s) of a large transfer, over a sliding window (see
    /// [`timeline::throughput`]).
    pub(crate) throughput: Vec<(f64, f64)>,
    /// The window each throughput point is measured over, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) throughput_window_ms: Option<f64>,
    /// A large transfer's counters every 10 ms: bytes, connections open, concurrency.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) timeline: Vec<Sample>,
    /// The embedded server's emulated network (`s3io serve --network`), if any.
    pub(crate) network: Option<String>,
}

/// One size class's share of a scenario's pool acquisitions.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ClassReuse {
    /// The class's buffer size, in bytes.
    pub(crate) size: usize,
    pub(crate) acquired: u64,
    pub(crate) reused: u64,
    pub(crate) allocated: u64,
    pub(crate) reuse_rate: f64,
}

/// Counters before a timed section.
pub(super) struct Before {
    snapshot: Snapshot,
    requests: u64,
    /// Retries so far, indexed like [`RetryReason::ALL`].
    retries: [u64; RetryReason::ALL.len()],
    opened: u64,
    pool: s3io::metrics::PoolStats,
}

impl Bench {
    pub(super) fn before(&self) -> Before {
        // Each scenario starts from an empty pool, as a fresh process would, so its peak RSS is
        // its own and not the idle buffers of the scenario before.
        self.client.buffer_pool().trim();
        self.before_keeping_the_pool()
    }

    /// Counters before a timed section that follows its own warm-up (whose pooled buffers it
    /// keeps: its steady state is what it measures).
    pub(super) fn before_keeping_the_pool(&self) -> Before {
        measure::reset_peak_rss();
        self.client.throttle().reset_peaks();
        Before {
            requests: self.client.connection_metrics().requests(),
            retries: RetryReason::ALL.map(|reason| self.client.retry_counters().get(reason)),
            opened: self.client.connection_metrics().opened(),
            pool: self.client.buffer_pool().stats(),
            snapshot: Snapshot::take(),
        }
    }

    pub(super) fn result(&self, scenario: Scenario, before: Before, objects: u64, bytes: u64) -> ScenarioResult {
        let delta = before.snapshot.since();
        let seconds = delta.wall.as_secs_f64().max(1e-9);
        let requests = self.client.connection_metrics().requests() - before.requests;
        let opened = self.client.connection_metrics().opened() - before.opened;
        let pool = self.client.buffer_pool().stats();
        let acquired = pool.acquired - before.pool.acquired;
        let reused = pool.reused - before.pool.reused;
        let gib = bytes as f64 / (1u64 << 30) as f64;
        let retries_by_reason: BTreeMap<&'static str, u64> = RetryReason::ALL
            .iter()
            .zip(before.retries)
            .map(|(&reason, before)| (reason.name(), self.client.retry_counters().get(reason) - before))
            .filter(|&(_, n)| n > 0)
            .collect();
        ScenarioResult {
            scenario: scenario.name(),
            objects,
            bytes,
            seconds,
            mib_per_second: bytes as f64 / (1u64 << 20) as f64 / seconds,
            requests,
            requests_per_second: requests as f64 / seconds,
            cpu_seconds: delta.cpu.as_secs_f64(),
            cpu_seconds_per_gib: if gib > 0.0 { delta.cpu.as_secs_f64() / gib } else { 0.0 },
            peak_rss_mib: measure::peak_rss().map(|b| b as f64 / (1u64 << 20) as f64),
            allocations: delta.allocations,
            allocations_per_object: delta.allocations.map(|a| a as f64 / objects.max(1) as f64),
            pool_acquired: acquired,
            pool_allocated: pool.allocated - before.pool.allocated,
            pool_reuse_rate: (acquired > 0).then(|| reused as f64 / acquired as f64),
            retries: retries_by_reason.values().sum(),
            retries_by_reason,
            connections_opened: opened,
            // What `ConnectionMetrics::reused` counts, over this scenario alone.
            connections_reused: requests.saturating_sub(opened),
            concurrency_adaptive: self.client.throttle().is_adaptive(),
            concurrency: self.client.throttle().limit(),
            concurrency_max: self.client.throttle().max_limit_reached(),
            peak_in_flight: self.client.throttle().peak_in_flight(),
            latency: None,
            pool_classes: class_reuse(&before.pool, &pool),
            throughput: Vec::new(),
            throughput_window_ms: None,
            timeline: Vec::new(),
            network: None,
        }
    }

    /// Starts a large transfer's timeline: returns its progress and sampler.
    pub(super) fn timeline(&self) -> (Arc<Progress>, Timeline) {
        let progress = Arc::new(Progress::new());
        let timeline = Timeline::start(&self.client, progress.clone());
        (progress, timeline)
    }

    /// A large transfer's result with its timeline.
    pub(super) async fn large_result(&self, scenario: Scenario, before: Before, timeline: Timeline) -> ScenarioResult {
        let mut result = self.result(scenario, before, 1, self.size);
        result.timeline = timeline.finish().await;
        let (window, throughput) = timeline::throughput(&result.timeline);
        result.throughput = throughput;
        result.throughput_window_ms = Some(window.as_secs_f64() * 1000.0);
        result
    }
}

pub(super) fn latency(mut samples: Vec<Duration>) -> Latency {
    samples.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Latency {
        p50_ms: ms(measure::percentile(&samples, 50.0)),
        p90_ms: ms(measure::percentile(&samples, 90.0)),
        p99_ms: ms(measure::percentile(&samples, 99.0)),
        samples_ms: samples.into_iter().map(ms).collect(),
    }
}

/// The pool's acquisitions per size class between two snapshots, classes used only.
fn class_reuse(before: &s3io::metrics::PoolStats, after: &s3io::metrics::PoolStats) -> Vec<ClassReuse> {
    after
        .classes
        .iter()
        .filter_map(|class| {
            let earlier = before.classes.iter().find(|c| c.size == class.size).copied().unwrap_or_default();
            let acquired = class.acquired - earlier.acquired;
            let reused = class.reused - earlier.reused;
            (acquired > 0).then(|| ClassReuse {
                size: class.size,
                acquired,
                reused,
                allocated: class.allocated - earlier.allocated,
                reuse_rate: reused as f64 / acquired as f64,
            })
        })
        .collect()
}
