//! Retry policy: which failures are retried, how long to wait, and when to stop.
//!
//! The policy is data ([`RetryConfig`]) plus three pieces:
//! - [`classify`] sorts an [`Error`] into retryable reasons (throttling, server error, transport,
//!   timeout) or final (4xx client errors such as 403, 404, 412, cancellation, local I/O);
//! - [`Backoff`] gives exponential delays with full jitter and a cap (AWS's "full jitter": a
//!   uniformly random wait in `[0, min(cap, base * 2^attempt))`), its randomness injectable so a
//!   test checks the exact sequence; a `Retry-After` from the server overrides it;
//! - [`RetryBudget`] is a token bucket shared by every request of one client, as in the AWS SDKs'
//!   standard mode: a retry costs tokens, a success gives one back, and when the bucket is empty
//!   failures are returned at once instead of hammering a broken endpoint from every part.
//!
//! Request bodies are replayable (`Bytes`), so each attempt resends the whole body.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::error::{Error, Result};

/// Default maximum attempts per request (the first try included): 5.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// Default base delay of the exponential backoff: 50 ms.
pub const DEFAULT_BASE_DELAY: Duration = Duration::from_millis(50);
/// Default cap on one backoff delay: 5 s.
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(5);
/// Default retry-budget capacity, in tokens (the AWS SDKs' standard mode: 500).
pub const DEFAULT_BUDGET_CAPACITY: u32 = 500;
/// Tokens a retry after a timeout or transport error costs (AWS standard mode: 10).
pub const RETRY_COST_TRANSPORT: u32 = 10;
/// Tokens any other retry costs (AWS standard mode: 5).
pub const RETRY_COST: u32 = 5;

/// Retry settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryConfig {
    /// Attempts per request, the first included; 1 disables retries. By default [`DEFAULT_MAX_ATTEMPTS`].
    pub max_attempts: u32,
    /// Base of the exponential backoff. By default [`DEFAULT_BASE_DELAY`].
    pub base_delay: Duration,
    /// Cap on one backoff delay. By default [`DEFAULT_MAX_DELAY`].
    pub max_delay: Duration,
    /// Capacity of the client-wide retry budget. By default [`DEFAULT_BUDGET_CAPACITY`].
    pub budget_capacity: u32,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            base_delay: DEFAULT_BASE_DELAY,
            max_delay: DEFAULT_MAX_DELAY,
            budget_capacity: DEFAULT_BUDGET_CAPACITY,
        }
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

/// Why a failed attempt may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetryReason {
    /// 503 SlowDown and other throttling answers.
    Throttled,
    /// 500, 502, 504, InternalError, RequestTimeout.
    ServerError,
    /// Connect errors, resets, bodies that end early.
    Transport,
    /// No headers or no body bytes within the read timeout.
    Timeout,
}

impl RetryReason {
    /// All reasons, in a fixed order (for metrics).
    pub const ALL: [RetryReason; 4] =
        [RetryReason::Throttled, RetryReason::ServerError, RetryReason::Transport, RetryReason::Timeout];

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            RetryReason::Throttled => "throttled",
            RetryReason::ServerError => "server-error",
            RetryReason::Transport => "transport",
            RetryReason::Timeout => "timeout",
        }
    }

    fn cost(self) -> u32 {
        match self {
            RetryReason::Transport | RetryReason::Timeout => RETRY_COST_TRANSPORT,
            RetryReason::Throttled | RetryReason::ServerError => RETRY_COST,
        }
    }
}

/// Sorts an error into a retry reason, or `None` when retrying cannot help.
pub fn classify(error: &Error) -> Option<RetryReason> {
    match error {
        Error::Service { error, .. } => match (error.status, error.code.as_str()) {
            (_, "SlowDown" | "Throttling" | "ThrottlingException" | "RequestLimitExceeded" | "TooManyRequests") => {
                Some(RetryReason::Throttled)
            }
            (503 | 429, _) => Some(RetryReason::Throttled),
            (_, "InternalError" | "RequestTimeout" | "ServiceUnavailable") => Some(RetryReason::ServerError),
            (500 | 502 | 504, _) => Some(RetryReason::ServerError),
            _ => None,
        },
        Error::Transport { .. } => Some(RetryReason::Transport),
        Error::Timeout { .. } => Some(RetryReason::Timeout),
        _ => None,
    }
}

/// Exponential backoff with full jitter.
#[derive(Debug)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
}

impl Backoff {
    /// Backoff from the config's base and cap.
    pub fn new(config: &RetryConfig) -> Self {
        Self { base: config.base_delay, cap: config.max_delay }
    }

    /// The delay before retry number `retry` (0 for the first retry); `unit` is a uniform random
    /// number in `[0, 1)`, injected so tests can check exact values.
    pub fn delay(&self, retry: u32, unit: f64) -> Duration {
        let ceiling = self.base.saturating_mul(1u32 << retry.min(20)).min(self.cap);
        ceiling.mul_f64(unit.clamp(0.0, 1.0))
    }

    /// The delay before retry number `retry`, with a fresh random draw.
    pub fn random_delay(&self, retry: u32) -> Duration {
        self.delay(retry, rand::random::<f64>())
    }
}

/// The client-wide retry budget: a token bucket.
#[derive(Debug)]
pub struct RetryBudget {
    capacity: u32,
    tokens: Mutex<u32>,
}

impl RetryBudget {
    /// A full bucket of `capacity` tokens.
    pub fn new(capacity: u32) -> Self {
        Self { capacity, tokens: Mutex::new(capacity) }
    }

    /// Takes the cost of a retry for `reason`; `false` when the budget is spent.
    pub fn try_acquire(&self, reason: RetryReason) -> bool {
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
    pub fn record_success(&self) {
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        *tokens = (*tokens + 1).min(self.capacity);
    }

    /// Tokens left.
    pub fn available(&self) -> u32 {
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
    use crate::error::{ErrorContext, Operation, ServiceError};

    fn service(status: u16, code: &str) -> Error {
        Error::service(
            ErrorContext::new(Operation::GetObject, "b", Some("k")),
            ServiceError { status, code: code.into(), message: None, request_id: None },
        )
    }

    #[test]
    fn classifies_service_errors() {
        assert_eq!(classify(&service(503, "SlowDown")), Some(RetryReason::Throttled));
        assert_eq!(classify(&service(500, "InternalError")), Some(RetryReason::ServerError));
        assert_eq!(classify(&service(502, "BadGateway")), Some(RetryReason::ServerError));
        assert_eq!(classify(&service(400, "RequestTimeout")), Some(RetryReason::ServerError));
        assert_eq!(classify(&service(200, "InternalError")), Some(RetryReason::ServerError));
        for (status, code) in
            [(403, "AccessDenied"), (404, "NoSuchKey"), (412, "PreconditionFailed"), (400, "InvalidArgument")]
        {
            assert_eq!(classify(&service(status, code)), None, "{code} classified as retryable");
        }
    }

    #[test]
    fn classifies_client_side_errors() {
        let ctx = ErrorContext::new(Operation::GetObject, "b", Some("k"));
        let reset = Error::transport(ctx.clone(), "reading body", std::io::Error::other("reset"));
        assert_eq!(classify(&reset), Some(RetryReason::Transport));
        let timeout =
            Error::Timeout { context: Box::new(ctx.clone()), what: "body read", after: Duration::from_secs(1) };
        assert_eq!(classify(&timeout), Some(RetryReason::Timeout));
        assert_eq!(classify(&Error::cancelled(ctx)), None);
    }

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
