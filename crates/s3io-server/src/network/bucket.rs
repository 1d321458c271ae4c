//! The token bucket that paces one direction of a connection, or of the whole link.
//!
//! Tokens are bytes. They accrue at the bucket's rate up to its *quantum*
//! (the burst an idle connection may send at once; a new bucket starts empty,
//! so a new connection gets no head start), and an operation may go whenever
//! the bucket is not in debt and spend more than the bucket holds: the bucket
//! then goes into debt, and the next operation waits until it is paid off. So a connection moves
//! whole reads and writes (no operation is cut below what hyper asked for,
//! except that writes are capped at one quantum), the long-run rate is exact,
//! and a busy connection wakes about `rate / quantum` times a second — 200
//! times at 40 MB/s — whatever the size of its writes.
//!
//! Time is passed in, never read here, so the arithmetic is tested with
//! made-up instants.

use std::time::Duration;

use tokio::time::Instant;

/// How much sending time one quantum holds: a quantum is `rate × QUANTUM_TIME`
/// (within [`MIN_QUANTUM`]..=[`MAX_QUANTUM`]). Shorter would wake connections
/// more often for no better accuracy (tokio's timers tick in milliseconds).
pub(crate) const QUANTUM_TIME: Duration = Duration::from_millis(5);

/// The smallest quantum, bytes: slow rates still move useful writes.
pub(crate) const MIN_QUANTUM: u64 = 16 * 1024;

/// The largest quantum, bytes: fast links (a shared 1 GB/s) still pace in
/// steps no coarser than this.
pub(crate) const MAX_QUANTUM: u64 = 4 * 1024 * 1024;

/// A token bucket with debt; see the module documentation.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    /// Bytes per second.
    rate: u64,
    /// The most tokens it holds, and the most one write may take.
    quantum: u64,
    /// Bytes that may go now; negative while in debt.
    tokens: f64,
    /// When `tokens` was last brought up to date.
    updated: Instant,
}

impl TokenBucket {
    /// An empty bucket of `rate` bytes per second (`rate` > 0).
    pub(crate) fn new(rate: u64, now: Instant) -> Self {
        Self { rate: rate.max(1), quantum: quantum(rate), tokens: 0.0, updated: now }
    }

    /// The bytes one operation may move: `Ok(at most a quantum)`, or
    /// `Err(until)` while the bucket is in debt.
    pub(crate) fn grant(&mut self, now: Instant) -> Result<usize, Instant> {
        self.refill(now);
        if self.tokens >= 0.0 {
            Ok(usize::try_from(self.quantum).unwrap_or(usize::MAX))
        } else {
            // Debt is paid off at `rate`; a microsecond more so the wake finds it paid.
            #[allow(clippy::cast_precision_loss)]
            let secs = -self.tokens / self.rate as f64;
            Err(now + Duration::from_secs_f64(secs) + Duration::from_micros(1))
        }
    }

    /// When the bucket's debt is paid off (`now` when it is in none): when the
    /// bytes spent so far have all crossed the emulated link.
    pub(crate) fn paid_at(&mut self, now: Instant) -> Instant {
        match self.grant(now) {
            Ok(_) => now,
            Err(until) => until,
        }
    }

    /// Spends `bytes` moved (possibly more than the bucket held).
    pub(crate) fn take(&mut self, bytes: usize) {
        #[allow(clippy::cast_precision_loss)]
        let bytes = bytes as f64;
        self.tokens -= bytes;
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.updated = self.updated.max(now);
        #[allow(clippy::cast_precision_loss)]
        let (rate, quantum) = (self.rate as f64, self.quantum as f64);
        self.tokens = (self.tokens + elapsed * rate).min(quantum);
    }
}

/// The quantum of a bucket of `rate` bytes per second.
fn quantum(rate: u64) -> u64 {
    let per_quantum = u128::from(rate) * QUANTUM_TIME.as_micros() / 1_000_000;
    u64::try_from(per_quantum).unwrap_or(u64::MAX).clamp(MIN_QUANTUM, MAX_QUANTUM)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1_000_000;

    #[test]
    fn quanta_hold_five_milliseconds_within_bounds() {
        assert_eq!(quantum(40 * MB), 200_000);
        assert_eq!(quantum(1), MIN_QUANTUM);
        assert_eq!(quantum(100_000 * MB), MAX_QUANTUM);
    }

    #[test]
    fn a_bucket_grants_a_quantum_then_waits_for_its_debt() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(40 * MB, t0);
        assert_eq!(bucket.grant(t0), Ok(200_000));
        // A new bucket is empty but not in debt: a write of a whole 1 MB goes through and
        // leaves 1 MB of debt, 25 ms at 40 MB/s.
        bucket.take(1_000_000);
        let until = bucket.grant(t0).unwrap_err();
        let wait = until - t0;
        assert!(wait >= Duration::from_millis(25) && wait < Duration::from_millis(26), "{wait:?}");
        assert!(bucket.grant(t0 + Duration::from_millis(24)).is_err());
        assert_eq!(bucket.grant(until), Ok(200_000));
        assert_eq!(bucket.paid_at(until), until);
        bucket.take(400_000);
        assert!(bucket.paid_at(until) - until >= Duration::from_millis(10));
    }

    #[test]
    fn idle_time_accrues_no_more_than_a_quantum() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(40 * MB, t0);
        // An hour idle: still one quantum, so 400 kB more puts it 200 kB in debt (5 ms).
        let later = t0 + Duration::from_secs(3600);
        assert!(bucket.grant(later).is_ok());
        bucket.take(400_000);
        let wait = bucket.grant(later).unwrap_err() - later;
        assert!(wait >= Duration::from_millis(5) && wait < Duration::from_millis(6), "{wait:?}");
    }

    #[test]
    fn the_long_run_rate_is_the_configured_one() {
        // A sender that always writes 64 KiB as soon as it is allowed, for 10 simulated seconds.
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(40 * MB, t0);
        let (mut now, mut sent) = (t0, 0u64);
        while now < t0 + Duration::from_secs(10) {
            match bucket.grant(now) {
                Ok(max) => {
                    let n = max.min(65_536);
                    bucket.take(n);
                    sent += n as u64;
                }
                Err(until) => now = until,
            }
        }
        let rate = sent as f64 / (now - t0).as_secs_f64();
        assert!((rate / (40 * MB) as f64 - 1.0).abs() < 0.01, "{rate} B/s");
    }
}
