//! The client-wide retry budget ([`RetryBudget`]) and the retry counters.
//!
//! The budget is a token bucket shared by every request of one client, as in the AWS SDKs'
//! standard mode: a retry costs tokens, a success gives one back, and when the bucket is empty
//! failures are returned at once instead of hammering a broken endpoint from every part.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::RetryReason;

/// Default retry-budget capacity, in tokens (the AWS SDKs' standard mode: 500).
pub const DEFAULT_BUDGET_CAPACITY: u32 = 500;
/// Tokens a retry after a timeout or transport error costs (AWS standard mode: 10).
pub(crate) const RETRY_COST_TRANSPORT: u32 = 10;
/// Tokens any other retry costs (AWS standard mode: 5).
pub(crate) const RETRY_COST: u32 = 5;

/// The client-wide retry budget: a token bucket.
#[derive(Debug)]
pub(crate) struct RetryBudget {
    capacity: u32,
    tokens: Mutex<u32>,
}

impl RetryBudget {
    /// A full bucket of `capacity` tokens.
    pub(crate) fn new(capacity: u32) -> Self {
        Self { capacity, tokens: Mutex::new(capacity) }
    }

    /// Takes the cost of a retry for `reason`; `false` when the budget is spent.
    pub(crate) fn try_acquire(&self, reason: RetryReason) -> bool {
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        let cost = reason.cost();
        if *tokens >= cost {
            *tokens -= cost;
            true
        } else {
            false
        }
    }

    /// Gives one token back after a success (up to the capacity).
    pub(crate) fn record_success(&self) {
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        *tokens = (*tokens + 1).min(self.capacity);
    }

    /// Tokens left.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn available(&self) -> u32 {
        *self.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Retries counted by reason.
#[derive(Debug, Default)]
pub struct RetryCounters {
    counts: [AtomicU64; 4],
}

impl RetryCounters {
    pub(crate) fn record(&self, reason: RetryReason) {
        self.counts[reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Retries so far for `reason`.
    pub fn get(&self, reason: RetryReason) -> u64 {
        self.counts[reason as usize].load(Ordering::Relaxed)
    }

    /// Retries so far, all reasons.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_runs_out_and_refills() {
        let budget = RetryBudget::new(12);
        assert!(budget.try_acquire(RetryReason::Transport));
        assert!(!budget.try_acquire(RetryReason::Transport));
        assert!(!budget.try_acquire(RetryReason::Throttled));
        for _ in 0..3 {
            budget.record_success();
        }
        assert!(budget.try_acquire(RetryReason::Throttled));
        for _ in 0..100 {
            budget.record_success();
        }
        assert_eq!(budget.available(), 12);
    }
}
