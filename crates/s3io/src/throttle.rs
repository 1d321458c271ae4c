//! The client-wide request-rate governor: additive increase, multiplicative decrease.
//!
//! Every request of one client takes a slot from the [`Throttle`] before it is sent. The number of
//! slots starts at the configured maximum, so in normal operation it never binds. A throttling
//! answer (503 SlowDown) halves it (down to [`MIN_LIMIT`]), so every transfer of the client backs
//! off together instead of each part retrying at full speed; each success then adds `1/limit`, as
//! TCP's congestion avoidance does, so the limit grows back by about one slot per round of
//! requests once the throttling stops.

use std::sync::Mutex;

use tokio::sync::Notify;

/// The lowest the limit goes: one request at a time still makes progress.
pub(crate) const MIN_LIMIT: f64 = 1.0;

/// Default maximum of requests in flight per client: high enough never to bind unthrottled.
pub(crate) const DEFAULT_MAX_IN_FLIGHT: usize = 1024;

#[derive(Debug)]
struct State {
    limit: f64,
    in_flight: usize,
    throttled: u64,
}

/// The AIMD limiter shared by every transfer of one client.
#[derive(Debug)]
pub struct Throttle {
    max: f64,
    state: Mutex<State>,
    released: Notify,
}

/// A slot held while one request is in flight; dropping it frees the slot.
#[derive(Debug)]
pub(crate) struct ThrottlePermit<'a> {
    throttle: &'a Throttle,
}

impl Drop for ThrottlePermit<'_> {
    fn drop(&mut self) {
        self.throttle.lock().in_flight -= 1;
        self.throttle.released.notify_one();
    }
}

impl Throttle {
    /// A limiter allowing at most `max` requests in flight.
    pub fn new(max: usize) -> Self {
        let max = (max.max(1)) as f64;
        Self { max, state: Mutex::new(State { limit: max, in_flight: 0, throttled: 0 }), released: Notify::new() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for a free slot.
    pub(crate) async fn acquire(&self) -> ThrottlePermit<'_> {
        loop {
            let notified = self.released.notified();
            {
                let mut state = self.lock();
                if (state.in_flight as f64) < state.limit.floor() {
                    state.in_flight += 1;
                    return ThrottlePermit { throttle: self };
                }
            }
            notified.await;
        }
    }

    /// A throttling answer: halve the limit.
    pub(crate) fn record_throttle(&self) {
        let mut state = self.lock();
        state.limit = (state.limit / 2.0).max(MIN_LIMIT);
        state.throttled += 1;
    }

    /// A success: grow the limit by `1/limit`, up to the maximum.
    pub(crate) fn record_success(&self) {
        let grew = {
            let mut state = self.lock();
            if state.limit >= self.max {
                false
            } else {
                let before = state.limit.floor();
                state.limit = (state.limit + 1.0 / state.limit).min(self.max);
                state.limit.floor() > before
            }
        };
        if grew {
            self.released.notify_one();
        }
    }

    /// The current limit on requests in flight.
    pub fn limit(&self) -> usize {
        self.lock().limit.floor() as usize
    }

    /// Throttling answers seen so far.
    pub fn throttled(&self) -> u64 {
        self.lock().throttled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_on_throttle_and_recovers_additively() {
        let throttle = Throttle::new(16);
        assert_eq!(throttle.limit(), 16);
        throttle.record_throttle();
        assert_eq!(throttle.limit(), 8);
        for _ in 0..10 {
            throttle.record_throttle();
        }
        assert_eq!(throttle.limit(), 1);
        // From 1, about limit successes add one slot.
        let mut successes = 0;
        while throttle.limit() < 16 {
            throttle.record_success();
            successes += 1;
            assert!(successes < 1000, "never recovered");
        }
        assert!(successes > 15, "recovered too fast: {successes}");
        assert_eq!(throttle.throttled(), 11);
    }

    #[tokio::test]
    async fn waits_when_full() {
        let throttle = Throttle::new(1);
        let first = throttle.acquire().await;
        let second = tokio::time::timeout(std::time::Duration::from_millis(50), throttle.acquire()).await;
        assert!(second.is_err(), "second slot given beyond the limit");
        drop(first);
        let _second = tokio::time::timeout(std::time::Duration::from_secs(1), throttle.acquire()).await.unwrap();
    }
}
