//! Library errors as Python exceptions.
//!
//! The exception classes live in Python (`s3io/exceptions.py`), so that they can also be
//! `FileNotFoundError`, `PermissionError`, `TimeoutError`, … as Python code expects, and so that
//! they pickle (Dask ships them between processes). An error is raised as the class its S3 code
//! or kind names, with the attributes `operation`, `bucket`, `key`, `code`, `status`,
//! `request_id` (and `upload_id` for an aborted multipart upload, `path` for a local file),
//! and the whole cause chain as its message, control characters escaped as the library's
//! messages escape them.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyModule;

/// The `s3io.exceptions` module, imported once.
static EXCEPTIONS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The exception class for `error`, by name in `s3io.exceptions`.
fn class_name(error: &s3io::Error) -> &'static str {
    use s3io::Error as E;
    match error {
        E::Service { error, .. } => match (error.code.as_str(), error.status) {
            ("NoSuchKey", _) => "NoSuchKey",
            ("NoSuchBucket", _) => "NoSuchBucket",
            ("NoSuchUpload", _) => "NoSuchUpload",
            (_, 404) => "NotFound",
            ("AccessDenied" | "InvalidAccessKeyId" | "SignatureDoesNotMatch", _) | (_, 403) => "AccessDenied",
            ("PreconditionFailed", _) | (_, 412) => "PreconditionFailed",
            ("BucketAlreadyOwnedByYou" | "BucketAlreadyExists", _) => "BucketAlreadyExists",
            _ => "ServiceError",
        },
        E::Transport { .. } => "S3ConnectionError",
        E::Timeout { .. } => "S3TimeoutError",
        E::Cancelled { .. } => "Cancelled",
        E::Io { .. } => "LocalIOError",
        E::InvalidResponse { .. } => "InvalidResponse",
        E::ChecksumMismatch { .. } => "ChecksumMismatch",
        E::Credentials { .. } => "CredentialsError",
        E::InvalidConfig(_) => "ConfigError",
        E::BufferTooSmall { .. } => "BufferTooSmall",
        E::UploadAborted { source, .. } => class_name(source),
        _ => "S3Error",
    }
}

/// `error` and its causes, joined by `: ` (each cause printed once, as the library's Display
/// leaves its source out).
fn chain(error: &s3io::Error) -> String {
    let mut message = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(next) = cause {
        message.push_str(": ");
        message.push_str(&next.to_string());
        cause = next.source();
    }
    message
}

/// The Python exception for a library error.
pub(crate) fn to_py(error: s3io::Error) -> PyErr {
    Python::attach(|py| match build(py, &error) {
        Ok(exception) => exception,
        // The package is broken (s3io.exceptions missing): still say what failed.
        Err(broken) => PyRuntimeError::new_err(format!("{} (and raising it failed: {broken})", chain(&error))),
    })
}

fn build(py: Python<'_>, error: &s3io::Error) -> PyResult<PyErr> {
    let module = EXCEPTIONS.get_or_try_init(py, || PyModule::import(py, "s3io.exceptions").map(Bound::unbind))?;
    let class = module.bind(py).getattr(class_name(error))?;
    let exception = class.call1((chain(error),))?;
    if let Some(context) = error.context() {
        exception.setattr("operation", context.operation.name())?;
        exception.setattr("bucket", context.bucket())?;
        exception.setattr("key", context.key())?;
    }
    if let Some(service) = error.service_error() {
        exception.setattr("code", &service.code)?;
        exception.setattr("status", service.status)?;
        exception.setattr("request_id", service.request_id.as_deref())?;
        exception.setattr("server_message", service.message.as_deref())?;
    }
    match error {
        s3io::Error::UploadAborted { upload_id, .. } => exception.setattr("upload_id", upload_id)?,
        s3io::Error::Io { path, .. } => exception.setattr("path", path)?,
        _ => {}
    }
    Ok(PyErr::from_value(exception))
}
