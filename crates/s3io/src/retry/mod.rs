//! Retry policy: which failures are retried, how long to wait, and when to stop.
//!
//! The policy is data ([`RetryConfig`]) plus four pieces, one module each:
//! - [`classify`](classify::classify) sorts an [`Error`] into retryable reasons (throttling,
//!   server error, transport, timeout) or final (4xx client errors such as 403, 404, 412,
//!   cancellation, local I/O);
//! - [`Backoff`](backoff::Backoff) gives exponential delays with full jitter and a cap; a
//!   `Retry-After` from the server overrides it;
//! - [`RetryBudget`](budget::RetryBudget) is a token bucket shared by every request of one client,
//!   as in the AWS SDKs' standard mode: a retry costs tokens, a success gives one back;
//! - [`Outage`](outage::Outage) makes an unreachable endpoint one client-wide event: requests wait
//!   behind one shared back-off, spending no attempts and no budget, for at most the retry
//!   timeout;
//!
//! and one loop that applies them: [`attempt`], the only retry loop of the crate. Every request
//! goes through it, and so does every part of a download, its resumed body reads included: a
//! [`RetryContext`] carried across the resumes of one part counts the attempts of the part, so a
//! part costs at most `max_attempts` requests whatever mix of error answers and cut bodies it
//! meets.
//!
//! Request bodies are replayable (`Bytes`), so each attempt resends the whole body.

mod attempt;
mod backoff;
mod budget;
mod classify;
mod outage;

pub(crate) use attempt::{Failure, RetryContext};
pub(crate) use budget::RetryBudget;
pub use budget::{RetryCounters, DEFAULT_BUDGET_CAPACITY};
pub(crate) use classify::classify;
pub use classify::RetryReason;
pub(crate) use outage::Outage;

use std::time::Duration;

use crate::error::{Error, Result};

/// Default maximum attempts per request (the first try included): 5.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// Default base delay of the exponential backoff: 50 ms.
pub const DEFAULT_BASE_DELAY: Duration = Duration::from_millis(50);
/// Default cap on one backoff delay: 20 s (the AWS SDKs' standard mode).
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(20);
/// Default bound on the time one request (or one download part) spends retrying, and on how long
/// an unreachable endpoint is waited for: 60 s, which rides out a server restart or a network
/// blip of 30 s and more, and still fails a dead endpoint within about a minute.
pub const DEFAULT_RETRY_TIMEOUT: Duration = Duration::from_secs(60);

/// Retry settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryConfig {
    /// Attempts per request, the first included; 1 disables retries. By default [`DEFAULT_MAX_ATTEMPTS`].
    pub max_attempts: u32,
    /// Base of the exponential backoff. By default [`DEFAULT_BASE_DELAY`].
    pub base_delay: Duration,
    /// Cap on one backoff delay. By default [`DEFAULT_MAX_DELAY`].
    pub max_delay: Duration,
    /// Capacity of the client-wide retry budget. By default [`DEFAULT_BUDGET_CAPACITY`].
    pub budget_capacity: u32,
    /// Longest time one request (or one download part, resumes included) keeps retrying, counted
    /// from its first failure, and longest an unreachable endpoint is waited for, counted from the
    /// outage's start, during which the requests of the client wait for one shared next try
    /// without spending attempts; no retry starts after it.
    /// By default [`DEFAULT_RETRY_TIMEOUT`].
    pub retry_timeout: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            base_delay: DEFAULT_BASE_DELAY,
            max_delay: DEFAULT_MAX_DELAY,
            budget_capacity: DEFAULT_BUDGET_CAPACITY,
            retry_timeout: DEFAULT_RETRY_TIMEOUT,
        }
    }
}

/// Builder-style setters, one per field: `RetryConfig::default().with_…(…)`.
impl RetryConfig {
    /// Sets [`max_attempts`](Self::max_attempts).
    #[must_use]
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// Sets [`base_delay`](Self::base_delay).
    #[must_use]
    pub fn with_base_delay(mut self, base_delay: Duration) -> Self {
        self.base_delay = base_delay;
        self
    }

    /// Sets [`max_delay`](Self::max_delay).
    #[must_use]
    pub fn with_max_delay(mut self, max_delay: Duration) -> Self {
        self.max_delay = max_delay;
        self
    }

    /// Sets [`budget_capacity`](Self::budget_capacity).
    #[must_use]
    pub fn with_budget_capacity(mut self, budget_capacity: u32) -> Self {
        self.budget_capacity = budget_capacity;
        self
    }

    /// Sets [`retry_timeout`](Self::retry_timeout).
    #[must_use]
    pub fn with_retry_timeout(mut self, retry_timeout: Duration) -> Self {
        self.retry_timeout = retry_timeout;
        self
    }
}

impl RetryConfig {
    /// Rejects settings that cannot work.
    pub fn validate(&self) -> Result<()> {
        if self.max_attempts == 0 {
            return Err(Error::InvalidConfig("max attempts must be at least 1".into()));
        }
        if self.base_delay > self.max_delay {
            return Err(Error::InvalidConfig("retry base delay is above the maximum delay".into()));
        }
        Ok(())
    }
}
