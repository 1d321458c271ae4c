//! A large transfer's timeline: bytes done, connections open and the client's concurrency,
//! sampled every [`SAMPLE_INTERVAL`] while it runs, for `--plot` and `--json`.
//!
//! The samples are the raw counters, each with its own timestamp (a late tick on a busy
//! machine is placed where it happened, not where it was due). Throughput is derived from
//! them over a sliding window of [`RATE_WINDOW`], so a sub-second transfer still shows its
//! ramp and its plateau (at 10 ms a 300 ms download has 30 samples), while one sample's
//! jitter does not swing the line.

use std::sync::Arc;
use std::time::{Duration, Instant};

use s3io::{Client, Progress};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

/// How often the counters are read: often enough for a sub-second transfer, cheap (three
/// atomic loads and a lock) beside what a transfer does in 10 ms.
pub(crate) const SAMPLE_INTERVAL: Duration = Duration::from_millis(10);

/// The window the throughput of each sample is measured over.
pub(crate) const RATE_WINDOW: Duration = Duration::from_millis(50);

/// One reading of the counters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Sample {
    /// Seconds since the transfer started.
    pub(crate) seconds: f64,
    /// Bytes transferred so far.
    pub(crate) bytes: u64,
    /// TCP connections the client has open (in use or idle).
    pub(crate) connections: u64,
    /// The most requests the client lets be in flight now.
    pub(crate) concurrency: usize,
}

/// The client's concurrency now: the one source of the plot's concurrency series.
///
/// The client-wide limit on requests in flight ([`s3io::metrics::Throttle::limit`], one atomic
/// load): the concurrency controller's choice, or with `--concurrency` the pinned value (lowered
/// by the throttle's limit when throttling answers pulled it below).
pub(crate) fn concurrency_now(client: &Client) -> usize {
    let limit = client.throttle().limit();
    match client.config().transfer.concurrency {
        Some(pinned) => limit.min(pinned),
        None => limit,
    }
}

/// A sampler running beside a transfer.
pub(crate) struct Timeline {
    task: tokio::task::JoinHandle<Vec<Sample>>,
    stop: CancellationToken,
}

impl Timeline {
    /// Starts sampling `client` and `progress` (the transfer's progress) now.
    pub(crate) fn start(client: &Client, progress: Arc<Progress>) -> Self {
        let stop = CancellationToken::new();
        let token = stop.clone();
        let client = client.clone();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let read = |progress: &Progress| Sample {
                seconds: started.elapsed().as_secs_f64(),
                bytes: progress.bytes_done(),
                connections: client.connection_metrics().open(),
                concurrency: concurrency_now(&client),
            };
            let mut samples = Vec::with_capacity(1024);
            let mut tick = tokio::time::interval(SAMPLE_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = token.cancelled() => {
                        samples.push(read(&progress));
                        return samples;
                    }
                    _ = tick.tick() => samples.push(read(&progress)),
                }
            }
        });
        Self { task, stop }
    }

    /// Stops sampling (after one last sample) and returns the samples.
    pub(crate) async fn finish(self) -> Vec<Sample> {
        self.stop.cancel();
        self.task.await.unwrap_or_default()
    }
}

/// The throughput of a timeline: (seconds, MiB/s) at each sample after the first, the rate over
/// the window before it (or since the start, early on), and that window.
///
/// The window is [`RATE_WINDOW`], or longer when the byte count moves in steps: an upload counts
/// a part's bytes when the part is done, so several parts land at once and nothing in between.
/// Then the window is twice the time-weighted median of the gaps between steps (the gap length
/// that half of the transfer's time is spent in gaps at least that long; at most a quarter of
/// the transfer), so each window holds a burst of steps and the line shows a rate, not a comb.
pub(crate) fn throughput(samples: &[Sample]) -> (Duration, Vec<(f64, f64)>) {
    let window = window(samples);
    let span = window.as_secs_f64();
    let mut from = 0;
    let points = samples
        .iter()
        .enumerate()
        .skip(1)
        .filter_map(|(i, s)| {
            while from + 1 < i && samples[from + 1].seconds <= s.seconds - span {
                from += 1;
            }
            let start = &samples[from];
            let elapsed = s.seconds - start.seconds;
            (elapsed > 0.0).then(|| (s.seconds, (s.bytes - start.bytes) as f64 / (1u64 << 20) as f64 / elapsed))
        })
        .collect();
    (window, points)
}

/// The window [`throughput`] measures over.
fn window(samples: &[Sample]) -> Duration {
    let steps: Vec<f64> = samples.windows(2).filter(|w| w[1].bytes != w[0].bytes).map(|w| w[1].seconds).collect();
    let mut gaps: Vec<f64> = steps.windows(2).map(|w| w[1] - w[0]).collect();
    if gaps.is_empty() {
        return RATE_WINDOW;
    }
    gaps.sort_by(|a, b| b.total_cmp(a));
    let half = gaps.iter().sum::<f64>() / 2.0;
    let mut covered = 0.0;
    let median = gaps
        .iter()
        .copied()
        .find(|gap| {
            covered += gap;
            covered >= half
        })
        .unwrap_or(0.0);
    let duration = samples.last().map_or(0.0, |s| s.seconds);
    let longest = (duration / 4.0).max(RATE_WINDOW.as_secs_f64());
    Duration::from_secs_f64((2.0 * median).clamp(RATE_WINDOW.as_secs_f64(), longest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seconds: f64, bytes: u64) -> Sample {
        Sample { seconds, bytes, connections: 0, concurrency: 0 }
    }

    #[test]
    fn throughput_is_measured_over_the_window() {
        // 1 MiB every 10 ms (100 MiB/s) for 100 ms, then nothing.
        let mut samples: Vec<Sample> = (0..=10).map(|i| sample(i as f64 * 0.01, i << 20)).collect();
        samples.extend((11..=20).map(|i| sample(i as f64 * 0.01, 10 << 20)));
        let (window, rates) = throughput(&samples);
        assert_eq!(window, RATE_WINDOW);
        assert_eq!(rates.len(), 20);
        for &(t, rate) in &rates[..10] {
            assert!((rate - 100.0).abs() < 1e-6, "{rate} MiB/s at {t}");
        }
        // Halfway into the idle part the 50 ms window is still partly busy, then empty.
        assert!(rates[12].1 > 0.0 && rates[12].1 < 100.0, "{:?}", rates[12]);
        assert_eq!(rates[19].1, 0.0);
    }

    #[test]
    fn a_count_moving_in_steps_is_measured_over_a_step() {
        // An upload: 8 MiB parts landing 8 at a time (10 ms apart) every 200 ms, sampled every
        // 10 ms, for 2 s: most gaps between steps are short, most of the time is in long ones.
        let bytes = |i: u64| (i / 20) * (64 << 20) + (i % 20).min(7) * (8 << 20);
        let samples: Vec<Sample> = (0..=200).map(|i| sample(i as f64 * 0.01, bytes(i))).collect();
        let (window, rates) = throughput(&samples);
        assert!(window >= Duration::from_millis(250) && window <= Duration::from_millis(270), "{window:?}");
        // 64 MiB per 130 ms of gap + 70 ms of steps is 320 MiB/s: once a window is full,
        // every point is within the swing of one step either way, never 0 nor a spike.
        for &(t, rate) in rates.iter().filter(|p| p.0 > 0.25) {
            assert!(rate > 320.0 * 0.5 && rate < 320.0 * 1.5, "{rate} MiB/s at {t}");
        }
    }

    #[test]
    fn no_samples_no_points() {
        assert!(throughput(&[]).1.is_empty());
        assert!(throughput(&[sample(0.0, 0)]).1.is_empty());
    }
}
