//! Which failures are worth another attempt, and why ([`RetryReason`]).
//!
//! Throttling answers (503 SlowDown, 429), server errors (500, 502, 504, InternalError,
//! RequestTimeout, 409 ConditionalRequestConflict), transport errors (connect refused, resets, bodies that end early) and timeouts
//! are retried; client errors (403, 404, 412, other 4xx), cancellation and local I/O are final.

use super::budget::{RETRY_COST, RETRY_COST_TRANSPORT};
use crate::error::Error;

/// Why a failed attempt may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetryReason {
    /// 503 SlowDown and other throttling answers.
    Throttled,
    /// 500, 502, 504, InternalError, RequestTimeout, 409 ConditionalRequestConflict.
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

    pub(crate) fn cost(self) -> u32 {
        match self {
            RetryReason::Transport | RetryReason::Timeout => RETRY_COST_TRANSPORT,
            RetryReason::Throttled | RetryReason::ServerError => RETRY_COST,
        }
    }
}

/// Sorts an error into a retry reason, or `None` when retrying cannot help.
pub(crate) fn classify(error: &Error) -> Option<RetryReason> {
    match error {
        Error::Service { error, .. } => match (error.status, error.code.as_str()) {
            (_, "SlowDown" | "Throttling" | "ThrottlingException" | "RequestLimitExceeded" | "TooManyRequests") => {
                Some(RetryReason::Throttled)
            }
            (503 | 429, _) => Some(RetryReason::Throttled),
            (_, "InternalError" | "RequestTimeout" | "ServiceUnavailable") => Some(RetryReason::ServerError),
            // A conditional write (If-None-Match, If-Match) that met a concurrent one: S3 says to
            // retry it, and the retry either wins or gets its 412.
            (409, "ConditionalRequestConflict") => Some(RetryReason::ServerError),
            (500 | 502 | 504, _) => Some(RetryReason::ServerError),
            _ => None,
        },
        Error::Transport { .. } => Some(RetryReason::Transport),
        Error::Timeout { .. } => Some(RetryReason::Timeout),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
        assert_eq!(classify(&service(409, "ConditionalRequestConflict")), Some(RetryReason::ServerError));
        assert_eq!(classify(&service(409, "BucketAlreadyExists")), None);
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
}
