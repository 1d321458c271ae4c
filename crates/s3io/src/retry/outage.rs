//! One outage, one client-wide event: the shared back-off of an unreachable endpoint.
//!
//! When a request cannot reach the endpoint at all (connect refused or timed out, the connection
//! reset before any answer), every other request of the client is about to find the same. Instead
//! of each worker burning its own attempts and the shared retry budget in a fraction of a second,
//! the client records one [`Outage`]: the first such failure starts it, and every request that
//! meets it waits for the same next try, whose delay grows exponentially (full jitter, capped at
//! the policy's maximum delay) with each round of failed tries, not with each worker. Waiting out
//! an outage costs no attempts and no budget; it is bounded by the policy's `retry_timeout`,
//! counted from the outage's start, after which the requests fail saying how long the endpoint
//! was unreachable. Any success ends the outage.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::backoff::Backoff;
use super::RetryConfig;
use crate::error::Error;

/// The client's current outage, if any.
#[derive(Debug, Default)]
pub(crate) struct Outage {
    state: Mutex<Option<OutageState>>,
}

#[derive(Debug, Clone, Copy)]
struct OutageState {
    /// When the first failure of the outage was seen.
    since: Instant,
    /// Rounds of tries that failed so far.
    rounds: u32,
    /// When the next round of tries goes.
    next_try: Instant,
}

/// Whether `error` says the endpoint could not be reached at all (no answer of any kind).
pub(crate) fn is_unreachable(error: &Error) -> bool {
    matches!(error, Error::Transport { message: "connecting" | "sending the request", .. })
}

impl Outage {
    /// Records a failure to reach the endpoint in an attempt that started at `attempt_started`,
    /// and returns when to try again, or `None` when the outage has outlasted the retry timeout.
    pub(crate) fn failed(&self, attempt_started: Instant, policy: &RetryConfig) -> Option<Instant> {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let outage = state.get_or_insert(OutageState { since: now, rounds: 0, next_try: attempt_started });
        // An attempt that started after the last round was due is a try of a new round: the
        // delay grows once per round, however many workers failed in it.
        if attempt_started >= outage.next_try {
            let delay = Backoff::new(policy).random_delay(outage.rounds);
            outage.rounds += 1;
            outage.next_try = now + delay;
        }
        let deadline = outage.since + policy.retry_timeout;
        if now >= deadline {
            return None;
        }
        // One last round at the deadline rather than none after it.
        Some(outage.next_try.min(deadline))
    }

    /// How long the current outage has lasted, if there is one.
    pub(crate) fn lasted(&self) -> Option<Duration> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).map(|o| o.since.elapsed())
    }

    /// Ends the outage: the endpoint answered.
    pub(crate) fn ended(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.is_some() {
            *state = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_round_per_burst_and_bounded_by_the_retry_timeout() {
        let policy = RetryConfig {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(20),
            retry_timeout: Duration::from_millis(300),
            ..Default::default()
        };
        let outage = Outage::default();
        let started = Instant::now();
        // Eight workers fail in the same burst: one round.
        for _ in 0..8 {
            assert!(outage.failed(started, &policy).is_some());
        }
        assert_eq!(outage.state.lock().unwrap().unwrap().rounds, 1);
        assert!(outage.lasted().is_some());
        // Past the retry timeout the outage is final.
        let later = Instant::now() + Duration::from_millis(400);
        while Instant::now() < later {
            std::thread::yield_now();
        }
        assert!(outage.failed(Instant::now(), &policy).is_none());
        outage.ended();
        assert!(outage.lasted().is_none());
    }
}
