//! The attempt loop: the one place a failed attempt is retried or given up.
//!
//! [`Client::with_retries`] runs an attempt until it succeeds or the policy says stop. After a
//! failure it classifies the error (a final error is returned at once), feeds a throttling answer
//! to the AIMD throttle, stops when the attempts are spent or the client-wide retry budget is
//! empty, counts the retry by reason, and waits the server's `Retry-After` or a jittered
//! exponential backoff (capped at the policy's maximum delay). After a success it refunds a token
//! to the budget and tells the throttle.
//!
//! A failure to reach the endpoint at all is not retried per request: it joins the client's one
//! [`Outage`](super::outage), waiting for the shared next try without spending an attempt or the
//! budget, until the outage outlasts the retry timeout. Other retries stop at `max_attempts` or
//! once the operation has been retrying for the retry timeout (counted from its first failure).
//!
//! What the attempts of one operation have spent lives in a [`RetryContext`] (after object_store's
//! `RetryContext`), passed in by the caller rather than made by the loop: a download part carries
//! one context from its first request across every resume of its body, so resumes count against
//! the same `max_attempts` as the request that started the part.

use std::future::Future;
use std::time::{Duration, Instant};

use super::backoff::Backoff;
use super::classify::{classify, RetryReason};
use super::outage::is_unreachable;
use crate::client::Client;
use crate::error::Error;

/// A failed attempt: the error, and the server's `Retry-After` if it sent one.
pub(crate) type Failure = (Error, Option<Duration>);

/// What the attempts of one operation (a request, or a download part across its resumes) have
/// spent so far.
#[derive(Debug, Default)]
pub(crate) struct RetryContext {
    attempts: u32,
    /// When the first attempt failed (the retry timeout counts from there, so that a part whose
    /// body took long to stream is not refused a resume for the time it spent succeeding).
    failing_since: Option<Instant>,
    /// The next attempt continues the last one (reads the body of an answer already received)
    /// rather than making a new request: it is not counted again.
    continuing: bool,
}

impl RetryContext {
    /// A context with nothing spent.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Marks the last attempt as going on: its answer's body is read by the next run of the loop
    /// with this context, which is then not counted as a new attempt.
    pub(crate) fn continue_last_attempt(&mut self) {
        self.continuing = self.attempts > 0;
    }

    /// Attempts made so far.
    pub(crate) fn attempts(&self) -> u32 {
        self.attempts
    }
}

impl Client {
    /// Runs `attempt` until it succeeds or the retry policy gives up, counting attempts in
    /// `retry`. Returns the success, or the last attempt's error.
    pub(crate) async fn with_retries<T, F, Fut>(&self, retry: &mut RetryContext, mut attempt: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let ((), result) = self
            .with_retries_carrying(retry, (), |()| {
                let attempt = attempt();
                async move { ((), attempt.await) }
            })
            .await;
        result
    }

    /// The attempt loop. Each attempt takes `state` (what survives from one attempt to the next,
    /// such as the bytes of a part written so far) and gives it back with its outcome; the final
    /// state comes back with the success or the last attempt's error.
    pub(crate) async fn with_retries_carrying<S, T, F, Fut>(
        &self,
        retry: &mut RetryContext,
        mut state: S,
        mut attempt: F,
    ) -> (S, Result<T, Error>)
    where
        F: FnMut(S) -> Fut,
        Fut: Future<Output = (S, Result<T, Failure>)>,
    {
        let policy = &self.config().retry;
        loop {
            if !std::mem::take(&mut retry.continuing) {
                retry.attempts += 1;
            }
            let attempt_started = Instant::now();
            let (returned, outcome) = attempt(state).await;
            state = returned;
            let (error, retry_after) = match outcome {
                Ok(value) => {
                    self.retry_budget().record_success();
                    self.throttle().record_success();
                    self.outage().ended();
                    return (state, Ok(value));
                }
                Err(failure) => failure,
            };
            let Some(reason) = classify(&error) else { return (state, Err(error)) };
            if policy.max_attempts > 1 && is_unreachable(&error) {
                // Waiting out an outage spends no attempt and no budget (see `outage`).
                let Some(next_try) = self.outage().failed(attempt_started, policy) else {
                    let lasted = self.outage().lasted().unwrap_or_default();
                    tracing::debug!(error = %crate::error::Chain(&error), ?lasted, "endpoint unreachable beyond the retry timeout");
                    return (state, Err(error.unreachable_for(lasted)));
                };
                retry.attempts = retry.attempts.saturating_sub(1);
                self.retry_counters().record(reason);
                tracing::debug!(error = %crate::error::Chain(&error), "endpoint unreachable; waiting for the next try");
                tokio::time::sleep_until(next_try.into()).await;
                continue;
            }
            if reason == RetryReason::Throttled {
                self.throttle().record_throttle();
            }
            let elapsed = retry.failing_since.get_or_insert_with(Instant::now).elapsed();
            if retry.attempts >= policy.max_attempts
                || elapsed >= policy.retry_timeout
                || !self.retry_budget().try_acquire(reason)
            {
                return (state, Err(error));
            }
            self.retry_counters().record(reason);
            tracing::debug!(error = %crate::error::Chain(&error), attempt = retry.attempts, reason = reason.name(), "retrying");
            let delay = retry_after
                .unwrap_or_else(|| Backoff::new(policy).random_delay(retry.attempts - 1))
                .min(policy.max_delay)
                .min(policy.retry_timeout - elapsed);
            tokio::time::sleep(delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::CredentialsSource;
    use crate::error::{ErrorContext, Operation, ServiceError};
    use crate::retry::RetryConfig;

    async fn client(max_attempts: u32) -> Client {
        // No request is sent: the attempts below fail without touching the network.
        Client::builder()
            .endpoint("http://127.0.0.1:9")
            .region("us-east-1")
            .credentials(CredentialsSource::static_keys("key", "secret"))
            .retry(RetryConfig {
                max_attempts,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(2),
                ..Default::default()
            })
            .build()
            .await
            .unwrap()
    }

    fn context() -> ErrorContext {
        ErrorContext::new(Operation::Download, "b", Some("k"))
    }

    /// A part meeting a mix of error answers (503, 500, with and without Retry-After) and bodies
    /// cut mid-way is tried at most `max_attempts` times in all, resumes included.
    #[tokio::test]
    async fn a_part_costs_at_most_max_attempts_whatever_the_mix() {
        for max_attempts in [1, 2, 5, 8] {
            let client = client(max_attempts).await;
            let mut retry = RetryContext::new();
            // The state carried from attempt to attempt: attempts made, body bytes received.
            let ((made, received), result): (_, Result<(), Error>) = client
                .with_retries_carrying(&mut retry, (0u32, 0u64), |(mut made, mut received)| async move {
                    made += 1;
                    let outcome = match made % 3 {
                        0 => Err((
                            Error::service(
                                context(),
                                ServiceError { status: 503, code: "SlowDown".into(), message: None, request_id: None },
                            ),
                            Some(Duration::from_millis(1)),
                        )),
                        1 => {
                            // Part of the body arrived, then the connection broke: resume.
                            received += 100;
                            Err((Error::transport(context(), "reading body", "connection reset"), None))
                        }
                        _ => Err((
                            Error::service(
                                context(),
                                ServiceError {
                                    status: 500,
                                    code: "InternalError".into(),
                                    message: None,
                                    request_id: None,
                                },
                            ),
                            None,
                        )),
                    };
                    ((made, received), outcome)
                })
                .await;
            assert!(result.is_err(), "the attempts never succeed");
            assert_eq!(made, max_attempts, "attempts made with max_attempts {max_attempts}");
            assert_eq!(retry.attempts(), max_attempts);
            assert!(received > 0, "the body cuts were met");
            // A context carried into a resume has nothing left to spend: one more attempt at most.
            let mut again = 0;
            let _ = client
                .with_retries(&mut retry, || {
                    again += 1;
                    async { Err::<(), _>((Error::transport(context(), "reading body", "reset"), None)) }
                })
                .await;
            assert_eq!(again, 1, "a spent context allows no retry");
        }
    }

    /// The plan's first answer: its request succeeds (one attempt), its body is read by the part
    /// as the same attempt, and every body cut after that costs one of the remaining attempts.
    #[tokio::test]
    async fn reading_the_first_answer_continues_its_attempt() {
        let client = client(5).await;
        let mut retry = RetryContext::new();
        client.with_retries(&mut retry, || async { Ok::<_, Failure>(()) }).await.unwrap();
        retry.continue_last_attempt();
        let mut reads = 0;
        let result: Result<(), Error> = client
            .with_retries(&mut retry, || {
                reads += 1;
                async { Err((Error::transport(context(), "reading body", "reset"), None)) }
            })
            .await;
        assert!(result.is_err());
        // The first read continues the first request; 4 more requests make 5 in all.
        assert_eq!(reads, 5);
        assert_eq!(retry.attempts(), 5);
    }

    #[tokio::test]
    async fn final_errors_are_not_retried_and_success_refunds_the_budget() {
        let client = client(5).await;
        let mut retry = RetryContext::new();
        let mut made = 0;
        let result: Result<(), Error> = client
            .with_retries(&mut retry, || {
                made += 1;
                async {
                    Err((
                        Error::service(
                            context(),
                            ServiceError { status: 404, code: "NoSuchKey".into(), message: None, request_id: None },
                        ),
                        None,
                    ))
                }
            })
            .await;
        assert_eq!(result.unwrap_err().code(), Some("NoSuchKey"));
        assert_eq!(made, 1);
        let before = client.retry_budget().available();
        let mut retry = RetryContext::new();
        let mut made = 0;
        let value = client
            .with_retries(&mut retry, || {
                made += 1;
                let made = made;
                async move {
                    if made < 3 {
                        Err((Error::transport(context(), "reading the response body", "reset"), None))
                    } else {
                        Ok(made)
                    }
                }
            })
            .await
            .unwrap();
        assert_eq!(value, 3);
        assert_eq!(client.retry_counters().total(), 2);
        assert_eq!(client.retry_budget().available(), before - 2 * crate::retry::budget::RETRY_COST_TRANSPORT + 1);
    }
}
