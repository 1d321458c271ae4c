//! Exponential backoff with full jitter and a cap.
//!
//! AWS's "full jitter": a uniformly random wait in `[0, min(cap, base * 2^attempt))`, its
//! randomness injectable so a test checks the exact sequence. A `Retry-After` from the server
//! overrides it (see [`super::attempt`]).

use std::time::Duration;

use super::RetryConfig;

/// Exponential backoff with full jitter.
#[derive(Debug)]
pub(crate) struct Backoff {
    base: Duration,
    cap: Duration,
}

impl Backoff {
    /// Backoff from the config's base and cap.
    pub(super) fn new(config: &RetryConfig) -> Self {
        Self { base: config.base_delay, cap: config.max_delay }
    }

    /// The delay before retry number `retry` (0 for the first retry); `unit` is a uniform random
    /// number in `[0, 1)`, injected so tests can check exact values.
    pub(super) fn delay(&self, retry: u32, unit: f64) -> Duration {
        let ceiling = self.base.saturating_mul(1u32 << retry.min(20)).min(self.cap);
        ceiling.mul_f64(unit.clamp(0.0, 1.0))
    }

    /// The delay before retry number `retry`, with a fresh random draw.
    pub(super) fn random_delay(&self, retry: u32) -> Duration {
        self.delay(retry, rand::random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_exponential_capped_and_jittered() {
        let backoff = Backoff::new(&RetryConfig {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            ..Default::default()
        });
        assert_eq!(backoff.delay(0, 1.0), Duration::from_millis(100));
        assert_eq!(backoff.delay(1, 1.0), Duration::from_millis(200));
        assert_eq!(backoff.delay(2, 0.5), Duration::from_millis(200));
        assert_eq!(backoff.delay(10, 1.0), Duration::from_secs(1));
        assert_eq!(backoff.delay(40, 0.25), Duration::from_millis(250));
        assert_eq!(backoff.delay(3, 0.0), Duration::ZERO);
    }
}
