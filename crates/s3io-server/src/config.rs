//! [`ServerConfig`]: what [`start`](crate::start) needs.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::fault::FaultSpec;
use crate::network::NetworkSpec;
pub use crate::store::DEFAULT_BODY_READ_TIMEOUT;

/// Access key the server accepts by default. For local use only: anyone who
/// reads this crate knows it.
pub const DEFAULT_ACCESS_KEY: &str = "s3io-local";

/// Secret key the server accepts by default. For local use only: anyone who
/// reads this crate knows it.
pub const DEFAULT_SECRET_KEY: &str = "s3io-local-secret";

/// Settings of an embedded server.
///
/// Fields are public; [`ServerConfig::new`] fills the defaults and the `with_*`
/// methods change one field at a time.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Directory holding the buckets (created if missing). Required.
    pub root: PathBuf,
    /// Address to listen on. By default `127.0.0.1:0`: loopback, on a port the
    /// OS picks (read it back with [`RunningServer::local_addr`](crate::RunningServer::local_addr)).
    pub addr: SocketAddr,
    /// The one access key requests must be signed with (SigV4). By default [`DEFAULT_ACCESS_KEY`].
    pub access_key: String,
    /// Its secret key. By default [`DEFAULT_SECRET_KEY`].
    pub secret_key: String,
    /// Faults to inject. By default none.
    pub faults: Option<FaultSpec>,
    /// The network to emulate on every connection (see [`crate::network`]). By
    /// default none: loopback as it is.
    pub network: Option<NetworkSpec>,
    /// How long an upload body may send nothing before the request fails
    /// (S3's `RequestTimeout`) and its connection and temp file are released.
    /// By default [`DEFAULT_BODY_READ_TIMEOUT`].
    pub body_read_timeout: Duration,
    /// Keep a record of every request in memory, read with
    /// [`RunningServer::request_log`](crate::RunningServer::request_log). By default off
    /// (a long-running server would grow without bound).
    pub request_log: bool,
    /// Append a record of every request to this file, one JSON object a line (see
    /// [`RequestRecord`](crate::RequestRecord)). By default none.
    pub request_log_file: Option<PathBuf>,
    /// Compute and store a CRC64NVME for every PutObject that names no checksum, as S3 does since
    /// 2025. By default on; off serves such objects with only an ETag, like older stores (see
    /// [`FsStore::set_default_checksum`](crate::FsStore::set_default_checksum)).
    pub default_checksum: bool,
    /// Honour `If-None-Match` on PutObject, CopyObject and CompleteMultipartUpload, as S3 does.
    /// By default on; off answers such writes 501 NotImplemented, like stores without conditional
    /// writes (see [`FsStore::set_conditional_writes`](crate::FsStore::set_conditional_writes)).
    pub conditional_writes: bool,
    /// The region the server is in (see [`FsStore::set_region`](crate::FsStore::set_region)):
    /// buckets created without a LocationConstraint are in it, and requests signed for another
    /// region than their bucket's are redirected as S3 redirects them. By default `None`:
    /// requests signed for any region are served.
    pub region: Option<String>,
    /// Serve HTTPS with this certificate chain (PEM file), and the key of
    /// [`tls_key`](Self::tls_key). By default `None`: plain HTTP. TLS connections do not
    /// splice GET bodies (the bytes must be encrypted in user space).
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM file: PKCS#8, PKCS#1 or SEC1) of [`tls_cert`](Self::tls_cert).
    pub tls_key: Option<PathBuf>,
}

impl ServerConfig {
    /// A configuration serving `root` with all defaults.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            access_key: DEFAULT_ACCESS_KEY.to_owned(),
            secret_key: DEFAULT_SECRET_KEY.to_owned(),
            faults: None,
            network: None,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            request_log: false,
            request_log_file: None,
            default_checksum: true,
            conditional_writes: true,
            region: None,
            tls_cert: None,
            tls_key: None,
        }
    }

    /// Sets the listening address (by default `127.0.0.1:0`).
    #[must_use]
    pub fn with_addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Sets the credentials (by default [`DEFAULT_ACCESS_KEY`] / [`DEFAULT_SECRET_KEY`]).
    #[must_use]
    pub fn with_credentials(mut self, access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        self.access_key = access_key.into();
        self.secret_key = secret_key.into();
        self
    }

    /// Sets the network to emulate (by default none: loopback as it is).
    #[must_use]
    pub fn with_network(mut self, network: NetworkSpec) -> Self {
        self.network = Some(network);
        self
    }

    /// Sets the faults to inject (by default none).
    #[must_use]
    pub fn with_faults(mut self, faults: FaultSpec) -> Self {
        self.faults = Some(faults);
        self
    }

    /// Sets the body read timeout (by default [`DEFAULT_BODY_READ_TIMEOUT`]).
    #[must_use]
    pub fn with_body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// Keeps a record of every request in memory (by default off).
    #[must_use]
    pub fn with_request_log(mut self) -> Self {
        self.request_log = true;
        self
    }

    /// Appends a record of every request to `path` as JSON lines (by default none).
    #[must_use]
    pub fn with_request_log_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.request_log_file = Some(path.into());
        self
    }

    /// Turns the default CRC64NVME of PutObjects that name no checksum on or off (by default on).
    #[must_use]
    pub fn with_default_checksum(mut self, on: bool) -> Self {
        self.default_checksum = on;
        self
    }

    /// Turns conditional writes (`If-None-Match` on PutObject, CopyObject and
    /// CompleteMultipartUpload) on or off (by default on).
    #[must_use]
    pub fn with_conditional_writes(mut self, on: bool) -> Self {
        self.conditional_writes = on;
        self
    }

    /// Places the server in `region` (by default none: any signing region is served).
    #[must_use]
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Serves HTTPS with the certificate chain and key of these PEM files (by default plain HTTP).
    #[must_use]
    pub fn with_tls(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.tls_cert = Some(cert.into());
        self.tls_key = Some(key.into());
        self
    }

    /// Checks the values that cannot work.
    pub(crate) fn validate(&self) -> Result<(), crate::ServerError> {
        if self.access_key.is_empty() {
            return Err(crate::ServerError::Config("the access key is empty"));
        }
        if self.secret_key.is_empty() {
            return Err(crate::ServerError::Config("the secret key is empty"));
        }
        if self
            .region
            .as_deref()
            .is_some_and(|r| r.is_empty() || !r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        {
            return Err(crate::ServerError::Config("the region must be letters, digits and '-'"));
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(crate::ServerError::Config("TLS needs both a certificate and a key"));
        }
        if self.body_read_timeout.is_zero() {
            return Err(crate::ServerError::Config("the body read timeout is zero"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = ServerConfig::new("/tmp/x");
        assert_eq!(c.addr, "127.0.0.1:0".parse().unwrap());
        assert_eq!(c.access_key, DEFAULT_ACCESS_KEY);
        assert_eq!(c.secret_key, DEFAULT_SECRET_KEY);
        assert!(c.faults.is_none());
        assert!(c.network.is_none());
        assert!(c.validate().is_ok());
    }

    #[test]
    fn rejects_empty_credentials() {
        assert!(ServerConfig::new("/x").with_credentials("", "s").validate().is_err());
        assert!(ServerConfig::new("/x").with_credentials("a", "").validate().is_err());
        assert!(ServerConfig::new("/x").with_body_read_timeout(Duration::ZERO).validate().is_err());
    }
}
