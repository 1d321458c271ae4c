//! Errors of starting the server. (Errors of S3 requests are S3 error
//! responses, made by the store; they never surface here.)
//!
//! A Display says what failed; the OS error under it is the error's source, not repeated in the
//! Display, so a chain printer (anyhow's `{:#}`, the CLI's report) prints it once.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The root directory could not be created or opened.
    #[error("cannot use {} as the server root", path.display())]
    Root {
        /// The configured root.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The request log file could not be opened.
    #[error("cannot open the request log {path}: {source}")]
    RequestLog {
        /// The configured file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The TLS certificate or key could not be read or used.
    #[error("cannot use the TLS certificate {} and key {}", cert.display(), key.display())]
    Tls {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A configuration value is unusable.
    #[error("invalid server configuration: {0}")]
    Config(&'static str),
}
