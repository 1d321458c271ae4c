//! Recent first-byte latencies, for the adaptive header timeout ([`HeaderWait::Adaptive`]).
//!
//! [`HeaderWait::Adaptive`]: super::HeaderWait::Adaptive

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Recent first-byte latencies, for the adaptive first-byte timeout.
///
/// Body-less requests (GET, HEAD, DELETE) wait for their headers at most [`ADAPTIVE_MULTIPLIER`]
/// times the p90 of the last [`LATENCY_SAMPLES`] such latencies, never less than
/// [`ADAPTIVE_FLOOR`] nor more than the read timeout. A connection that hangs is then abandoned
/// after a few seconds instead of the full read timeout, while a store that is slow across the
/// board raises its own limit.
///
/// Until enough samples have been seen (a new client, or an endpoint that never answered), the
/// wait is the read timeout divided by [`COLD_DIVISOR`]: 5 s at the default 30 s. An endpoint that
/// accepts connections and never answers then fails its `max_attempts` tries in well under a
/// minute rather than a read timeout each, while a store whose first answers are slower than that
/// is served by raising the read timeout (which raises this wait with it).
pub(crate) struct LatencyTracker {
    samples: std::sync::Mutex<LatencyRing>,
    /// The current p90, in microseconds (0 until enough samples).
    p90_micros: AtomicU64,
}

struct LatencyRing {
    values: [u32; LATENCY_SAMPLES],
    next: usize,
    filled: usize,
}

/// Latencies kept for the p90.
pub(crate) const LATENCY_SAMPLES: usize = 128;
/// The adaptive first-byte timeout is this many times the recent p90.
pub(crate) const ADAPTIVE_MULTIPLIER: u32 = 10;
/// The adaptive first-byte timeout is never below this.
pub(crate) const ADAPTIVE_FLOOR: Duration = Duration::from_secs(2);
/// Before the timeout adapts, the wait is the read timeout divided by this (5 s at the default
/// 30 s read timeout), never less than [`ADAPTIVE_FLOOR`].
pub(crate) const COLD_DIVISOR: u32 = 6;
/// Samples needed before the timeout adapts.
const MIN_SAMPLES: usize = 16;

impl LatencyTracker {
    pub(crate) fn new() -> Self {
        Self {
            samples: std::sync::Mutex::new(LatencyRing { values: [0; LATENCY_SAMPLES], next: 0, filled: 0 }),
            p90_micros: AtomicU64::new(0),
        }
    }

    pub(crate) fn record(&self, latency: Duration) {
        let micros = latency.as_micros().min(u32::MAX as u128) as u32;
        let mut ring = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        let at = ring.next;
        ring.values[at] = micros;
        ring.next = (at + 1) % LATENCY_SAMPLES;
        ring.filled = (ring.filled + 1).min(LATENCY_SAMPLES);
        // Recompute every 16 samples: a copy and a selection of at most 128 values.
        if ring.filled >= MIN_SAMPLES && ring.next.is_multiple_of(16) {
            let mut sorted = ring.values;
            let filled = ring.filled;
            drop(ring);
            let values = &mut sorted[..filled];
            let rank = (filled * 9 / 10).min(filled - 1);
            let (_, p90, _) = values.select_nth_unstable(rank);
            self.p90_micros.store(u64::from(*p90), Ordering::Relaxed);
        }
    }

    pub(crate) fn timeout(&self, ceiling: Duration) -> Duration {
        match self.p90_micros.load(Ordering::Relaxed) {
            0 => (ceiling / COLD_DIVISOR).max(ADAPTIVE_FLOOR).min(ceiling),
            p90 => (Duration::from_micros(p90) * ADAPTIVE_MULTIPLIER).max(ADAPTIVE_FLOOR).min(ceiling),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cold_then_adaptive_within_floor_and_ceiling() {
        let tracker = LatencyTracker::new();
        let read_timeout = Duration::from_secs(30);
        // No samples yet: a sixth of the read timeout, not the whole of it.
        assert_eq!(tracker.timeout(read_timeout), Duration::from_secs(5));
        assert_eq!(tracker.timeout(Duration::from_secs(120)), Duration::from_secs(20));
        assert_eq!(tracker.timeout(Duration::from_secs(6)), ADAPTIVE_FLOOR);
        assert_eq!(tracker.timeout(Duration::from_secs(1)), Duration::from_secs(1));
        // Fast answers: the floor.
        for _ in 0..MIN_SAMPLES {
            tracker.record(Duration::from_millis(3));
        }
        assert_eq!(tracker.timeout(read_timeout), ADAPTIVE_FLOOR);
        // A store slow across the board raises its own limit, up to the read timeout.
        for _ in 0..LATENCY_SAMPLES {
            tracker.record(Duration::from_secs(1));
        }
        assert_eq!(tracker.timeout(read_timeout), Duration::from_secs(10));
        for _ in 0..LATENCY_SAMPLES {
            tracker.record(Duration::from_secs(8));
        }
        assert_eq!(tracker.timeout(read_timeout), read_timeout);
    }
}
