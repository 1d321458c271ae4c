//! Writes that never replace an object (`Upload::no_overwrite`, `ServerCopy::no_overwrite`).
//!
//! The write itself carries the condition: PutObject, CopyObject and CompleteMultipartUpload send
//! `If-None-Match: *`, and a store that finds the key already holding an object refuses the write
//! with 412 PreconditionFailed, in the same step as the write (no window for a racing writer).
//! Before a multipart upload or copy, whose parts would all be sent for nothing, a HeadObject of
//! the key stops the transfer early when the key is taken (the completion keeps the condition for
//! a writer that comes in between). Either refusal is a 412 error:
//! [`Error::is_precondition_failed`] tells it apart.
//!
//! Stores that do not know the header either refuse it (501 NotImplemented, which the caller sees)
//! or ignore it and overwrite; a caller that must also hold for those HEADs the key first.

use crate::client::Client;
use crate::error::{Error, ErrorContext, Result, ServiceError};

/// The conditional header of a write that must not replace an object.
pub(crate) const IF_NONE_MATCH: &str = "if-none-match";

/// `If-None-Match` for "any object": the write happens only where none exists.
pub(crate) const ANY: &str = "*";

/// The error of a write refused because `context`'s key already holds an object: a 412, as the
/// store answers a conditional write that finds one.
pub(crate) fn exists(context: ErrorContext) -> Error {
    Error::service(
        context,
        ServiceError {
            status: 412,
            code: "PreconditionFailed".into(),
            message: Some("the key already holds an object, and the write was asked not to replace one".into()),
            request_id: None,
        },
    )
}

/// Fails with [`exists`] if `bucket`/`key` holds an object (one HeadObject). A 404 means it does
/// not; a 403 (S3's answer for a missing key to a caller without `s3:ListBucket`) or a 400 (an
/// SSE-C object HEADed without its key) leaves it undecided, to the write's own condition.
pub(crate) async fn require_absent(client: &Client, bucket: &str, key: &str, context: ErrorContext) -> Result<()> {
    match client.head_object(bucket, key).await {
        Ok(_) => Err(exists(context)),
        Err(error) if matches!(error.status(), Some(400 | 403 | 404)) => Ok(()),
        Err(error) => Err(error),
    }
}
