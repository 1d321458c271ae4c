//! The library's one error type.
//!
//! Every failure carries what was being done ([`Operation`]), on which bucket and key, and why.
//! Service errors (the store answered with an S3 error document or an error status) are kept
//! apart from client-side errors (transport, timeouts, local I/O, bad input), so callers and the
//! retry classifier can tell "the server said no" from "we never got an answer".
//!
//! An error's Display says what failed and why at its own level; a cause it carries as its
//! [`source`](std::error::Error::source) (the OS error of a local write, hyper's error under a
//! transport failure) is not repeated in its Display, so a printer that walks the chain (anyhow's
//! `{:#}`, the CLI's one-line report) prints each cause once. [`Error::UploadAborted`] too: its
//! Display names the object and what became of the multipart upload, and the error that stopped
//! the upload is its source (`upload s3://b/k: multipart upload u1 aborted: upload s3://b/k
//! failed: SlowDown (HTTP 503)` in a chain printer).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A boxed error source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The S3 operation (or transfer step) an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)] // The variant names are the S3 API's operation names.
pub enum Operation {
    CreateBucket,
    DeleteBucket,
    HeadBucket,
    ListBuckets,
    HeadObject,
    GetObject,
    PutObject,
    DeleteObject,
    DeleteObjects,
    ListObjectsV2,
    CreateMultipartUpload,
    UploadPart,
    CompleteMultipartUpload,
    AbortMultipartUpload,
    ListMultipartUploads,
    /// ListParts.
    ListParts,
    CopyObject,
    UploadPartCopy,
    GetObjectTagging,
    ListObjectVersions,
    /// A whole download (several GetObject requests and the local writes).
    Download,
    /// A whole upload (one PutObject or a multipart upload and the local reads).
    Upload,
    /// Creating a presigned URL.
    Presign,
    /// A whole server-side copy (a HeadObject, then one CopyObject or a multipart copy).
    Copy,
}

impl Operation {
    /// The operation's name as the S3 API spells it.
    pub fn name(self) -> &'static str {
        match self {
            Operation::CreateBucket => "CreateBucket",
            Operation::DeleteBucket => "DeleteBucket",
            Operation::HeadBucket => "HeadBucket",
            Operation::ListBuckets => "ListBuckets",
            Operation::HeadObject => "HeadObject",
            Operation::GetObject => "GetObject",
            Operation::PutObject => "PutObject",
            Operation::DeleteObject => "DeleteObject",
            Operation::DeleteObjects => "DeleteObjects",
            Operation::ListObjectsV2 => "ListObjectsV2",
            Operation::CreateMultipartUpload => "CreateMultipartUpload",
            Operation::UploadPart => "UploadPart",
            Operation::CompleteMultipartUpload => "CompleteMultipartUpload",
            Operation::AbortMultipartUpload => "AbortMultipartUpload",
            Operation::ListMultipartUploads => "ListMultipartUploads",
            Operation::ListParts => "ListParts",
            Operation::CopyObject => "CopyObject",
            Operation::GetObjectTagging => "GetObjectTagging",
            Operation::ListObjectVersions => "ListObjectVersions",
            Operation::UploadPartCopy => "UploadPartCopy",
            Operation::Download => "download",
            Operation::Upload => "upload",
            Operation::Presign => "presign",
            Operation::Copy => "copy",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What an error is about: the operation, the bucket and (for object operations) the key.
///
/// Cheap to clone (the bucket and key are shared): a transfer makes its context once, and each
/// of its requests carries a copy, so that a request's errors can name the object without a
/// copy of its bucket and key per request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorContext {
    /// The operation that failed.
    pub operation: Operation,
    bucket: Arc<str>,
    key: Option<Arc<str>>,
}

impl ErrorContext {
    /// Context for an operation on a bucket or an object.
    pub fn new(operation: Operation, bucket: &str, key: Option<&str>) -> Self {
        Self { operation, bucket: bucket.into(), key: key.map(Arc::from) }
    }

    /// The bucket, empty for ListBuckets.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key, for object operations.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The same bucket and key for another operation (one of a transfer's requests), sharing
    /// their text.
    pub(crate) fn with_operation(&self, operation: Operation) -> Self {
        Self { operation, ..self.clone() }
    }
}

impl fmt::Display for ErrorContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.key(), self.bucket.is_empty()) {
            (Some(key), _) => write!(f, "{} s3://{}/{}", self.operation, Escaped(&self.bucket), Escaped(key)),
            (None, false) => write!(f, "{} s3://{}", self.operation, Escaped(&self.bucket)),
            (None, true) => write!(f, "{}", self.operation),
        }
    }
}

/// A bucket or key as printed in messages: control characters escaped (`\n`, `\u{1b}`), so a
/// key holding a line break cannot forge a line of output.
struct Escaped<'a>(&'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                fmt::Write::write_char(f, c)?;
            }
        }
        Ok(())
    }
}

/// An error answer from the S3 service: an error status or an error document in a 200 body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceError {
    /// The HTTP status code (200 for an error document inside a successful response).
    pub status: u16,
    /// The S3 error code, e.g. `NoSuchKey`, `SlowDown`; derived from the status when the body had none.
    pub code: String,
    /// The human-readable message, when the service sent one.
    pub message: Option<String>,
    /// The request id (`x-amz-request-id` or `<RequestId>`), for support tickets.
    pub request_id: Option<String>,
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (HTTP {})", self.code, self.status)?;
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

/// The error type of every fallible operation in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The service answered with an error.
    #[error("{context} failed: {error}")]
    Service {
        /// What failed.
        context: Box<ErrorContext>,
        /// The service's answer.
        error: Box<ServiceError>,
    },
    /// The request could not be sent or its response not read (connect error, reset, early EOF).
    #[error("{context} failed: {message}")]
    Transport {
        /// What failed.
        context: Box<ErrorContext>,
        /// What the client was doing.
        message: &'static str,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// The TLS handshake with the endpoint failed: most often its certificate is not trusted
    /// (a self-signed or private CA: see `--ca-bundle`/`AWS_CA_BUNDLE`). Not retried.
    #[error("{context} failed: TLS handshake with {endpoint} failed")]
    Tls {
        /// What failed.
        context: Box<ErrorContext>,
        /// The endpoint's host and port.
        endpoint: String,
        /// The TLS error (e.g. "invalid peer certificate: UnknownIssuer").
        #[source]
        source: BoxError,
    },
    /// The HTTP proxy refused the connection for want of valid credentials (407 to CONNECT):
    /// set them in the proxy URL's user info. Not retried.
    #[error("{context} failed: the proxy wants credentials")]
    Proxy {
        /// What failed.
        context: Box<ErrorContext>,
        /// Which proxy, to where, and its answer.
        #[source]
        source: BoxError,
    },
    /// No answer (or no further body bytes) within the configured time.
    #[error("{context} failed: {what} timed out after {after:?}")]
    Timeout {
        /// What failed.
        context: Box<ErrorContext>,
        /// Which timeout fired, e.g. "connect", "first byte", "body read".
        what: &'static str,
        /// The configured limit.
        after: Duration,
    },
    /// The transfer was cancelled by its caller.
    #[error("{context} cancelled")]
    Cancelled {
        /// What was cancelled.
        context: Box<ErrorContext>,
    },
    /// A local file could not be read or written.
    #[error("{context} failed: {action} {}", path.display())]
    Io {
        /// What failed.
        context: Box<ErrorContext>,
        /// What was being done to the file, e.g. "writing", "renaming into place".
        action: &'static str,
        /// The local path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The service's answer could not be understood (bad XML, missing header).
    #[error("{context} failed: unexpected response: {detail}")]
    InvalidResponse {
        /// What failed.
        context: Box<ErrorContext>,
        /// What was wrong with it.
        detail: String,
    },
    /// The downloaded or uploaded bytes do not match the checksum the object carries.
    #[error("{context} failed: {algorithm} checksum mismatch: expected {expected}, computed {computed}")]
    ChecksumMismatch {
        /// What failed.
        context: Box<ErrorContext>,
        /// The algorithm, e.g. "CRC64NVME".
        algorithm: &'static str,
        /// The value the object carries (base64).
        expected: String,
        /// The value computed over the bytes (base64).
        computed: String,
    },
    /// Credentials could not be loaded, or a request could not be signed.
    #[error("{context} failed: credentials: {message}")]
    Credentials {
        /// What failed.
        context: Box<ErrorContext>,
        /// Why.
        message: String,
    },
    /// The memory a download was to fill in place is shorter than the object.
    #[error("{context} failed: the object is {needed} bytes and the buffer for it only {available}")]
    BufferTooSmall {
        /// What failed.
        context: Box<ErrorContext>,
        /// The object's size.
        needed: u64,
        /// The buffer's size.
        available: u64,
    },
    /// A setting or argument was rejected before any request was sent.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A multipart upload failed or was cancelled, and its upload was aborted so that no parts
    /// stay stored (or the abort failed as well, which the message says).
    #[error("{}", abort_outcome(source, upload_id, abort_error.as_deref()))]
    UploadAborted {
        /// The multipart upload's id.
        upload_id: String,
        /// Why AbortMultipartUpload failed, when it did (the parts may still be stored).
        abort_error: Option<Box<Error>>,
        /// Why the upload stopped.
        #[source]
        source: Box<Error>,
    },
}

/// What became of the multipart upload, after the object it was for (the error that stopped the
/// upload is the source, not repeated here; the abort's own error is no source, so it is).
fn abort_outcome(source: &Error, upload_id: &str, abort_error: Option<&Error>) -> String {
    let object = source.context().map(|c| format!("{c}: ")).unwrap_or_default();
    match abort_error {
        None => format!("{object}multipart upload {upload_id} aborted"),
        Some(e) => format!(
            "{object}aborting multipart upload {upload_id} failed too ({}), so its parts may still be stored",
            Chain(e)
        ),
    }
}

/// An error and its causes, joined by `: `: for messages that embed another error whole.
pub(crate) struct Chain<'a>(pub(crate) &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

impl Error {
    /// This failure to reach the endpoint, final because the endpoint stayed unreachable for
    /// `lasted` (the retry timeout): a timeout that says so.
    pub(crate) fn unreachable_for(self, lasted: Duration) -> Self {
        match self {
            Error::Transport { context, .. } => Error::Timeout {
                context,
                what: "reaching the endpoint (it refused or dropped every connection)",
                after: Duration::from_millis(lasted.as_millis() as u64),
            },
            other => other,
        }
    }

    /// The context (operation, bucket, key) of the error, if it has one.
    pub fn context(&self) -> Option<&ErrorContext> {
        match self {
            Error::Service { context, .. }
            | Error::Transport { context, .. }
            | Error::Tls { context, .. }
            | Error::Proxy { context, .. }
            | Error::Timeout { context, .. }
            | Error::Cancelled { context }
            | Error::Io { context, .. }
            | Error::InvalidResponse { context, .. }
            | Error::ChecksumMismatch { context, .. }
            | Error::Credentials { context, .. }
            | Error::BufferTooSmall { context, .. } => Some(context),
            Error::InvalidConfig(_) => None,
            Error::UploadAborted { source, .. } => source.context(),
        }
    }

    /// The service's answer, for [`Error::Service`].
    pub fn service_error(&self) -> Option<&ServiceError> {
        match self {
            Error::Service { error, .. } => Some(error),
            Error::UploadAborted { source, .. } => source.service_error(),
            _ => None,
        }
    }

    /// The S3 error code (`NoSuchKey`, `SlowDown`, …) for service errors.
    pub fn code(&self) -> Option<&str> {
        self.service_error().map(|e| e.code.as_str())
    }

    /// The HTTP status for service errors.
    pub fn status(&self) -> Option<u16> {
        self.service_error().map(|e| e.status)
    }

    /// Whether the service said the bucket or key does not exist (404).
    pub fn is_not_found(&self) -> bool {
        matches!(self.code(), Some("NoSuchKey" | "NoSuchBucket" | "NotFound" | "NoSuchUpload"))
    }

    /// Whether a precondition of the request did not hold (412): for a write asked not to
    /// replace an object ([`Upload::no_overwrite`](crate::Upload::no_overwrite),
    /// [`ServerCopy::no_overwrite`](crate::ServerCopy::no_overwrite)), the key already holds one.
    pub fn is_precondition_failed(&self) -> bool {
        self.status() == Some(412)
    }

    /// Whether the error is a cancellation.
    pub fn is_cancelled(&self) -> bool {
        match self {
            Error::Cancelled { .. } => true,
            Error::UploadAborted { source, .. } => source.is_cancelled(),
            _ => false,
        }
    }

    pub(crate) fn service(context: ErrorContext, error: ServiceError) -> Self {
        Error::Service { context: Box::new(context), error: Box::new(error) }
    }

    pub(crate) fn transport(context: ErrorContext, message: &'static str, source: impl Into<BoxError>) -> Self {
        Error::Transport { context: Box::new(context), message, source: source.into() }
    }

    pub(crate) fn invalid_response(context: ErrorContext, detail: impl Into<String>) -> Self {
        Error::InvalidResponse { context: Box::new(context), detail: detail.into() }
    }

    pub(crate) fn io(
        context: ErrorContext,
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io { context: Box::new(context), action, path: path.into(), source }
    }

    pub(crate) fn cancelled(context: ErrorContext) -> Self {
        Error::Cancelled { context: Box::new(context) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_error_names_operation_bucket_key_and_code() {
        let err = Error::service(
            ErrorContext::new(Operation::GetObject, "photos", Some("2026/cat.jpg")),
            ServiceError {
                status: 404,
                code: "NoSuchKey".into(),
                message: Some("The specified key does not exist.".into()),
                request_id: Some("abc".into()),
            },
        );
        assert_eq!(
            err.to_string(),
            "GetObject s3://photos/2026/cat.jpg failed: NoSuchKey (HTTP 404): \
             The specified key does not exist. [request id abc]"
        );
        assert!(err.is_not_found());
        assert_eq!(err.status(), Some(404));
    }

    #[test]
    fn a_cause_is_printed_once_by_a_chain_printer() {
        let context = ErrorContext::new(Operation::Download, "b", Some("k"));
        let io = Error::io(context.clone(), "writing", "/tmp/out", std::io::Error::other("disk full"));
        assert_eq!(io.to_string(), "download s3://b/k failed: writing /tmp/out");
        assert_eq!(Chain(&io).to_string(), "download s3://b/k failed: writing /tmp/out: disk full");
        let transport = Error::transport(context, "reading the response body", "connection reset");
        assert_eq!(
            Chain(&transport).to_string(),
            "download s3://b/k failed: reading the response body: connection reset"
        );
        // The wrapper names the object and the abort's outcome; the error that stopped the
        // upload is its source, printed once, after it.
        let aborted = Error::UploadAborted {
            upload_id: "u1".into(),
            abort_error: Some(Box::new(io)),
            source: Box::new(transport),
        };
        assert_eq!(
            Chain(&aborted).to_string(),
            "download s3://b/k: aborting multipart upload u1 failed too (download s3://b/k failed: writing \
             /tmp/out: disk full), so its parts may still be stored: download s3://b/k failed: reading the \
             response body: connection reset"
        );
        let source = std::error::Error::source(&aborted).expect("a source").to_string();
        assert!(!aborted.to_string().contains(&source), "{aborted} repeats its source {source}");
    }

    #[test]
    fn context_without_key_or_bucket() {
        assert_eq!(ErrorContext::new(Operation::ListBuckets, "", None).to_string(), "ListBuckets");
        assert_eq!(ErrorContext::new(Operation::CreateBucket, "b", None).to_string(), "CreateBucket s3://b");
        assert_eq!(
            ErrorContext::new(Operation::GetObject, "b", Some("a\nb\u{1b}")).to_string(),
            "GetObject s3://b/a\\nb\\u{1b}"
        );
    }
}
