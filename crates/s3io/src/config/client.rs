//! Everything a [`Client`](crate::Client) needs to reach a store: [`ClientConfig`] (endpoint,
//! region, addressing style, credentials, pool, timeouts, TLS, proxy, AWS endpoint variants,
//! and the default transfer and retry settings), its defaults, its validation, and the region
//! resolution (the config's, the environment's, the shared config file's, else
//! [`DEFAULT_REGION`]).
//!
//! [`ClientConfig::validate`] checks its own fields and then those of the settings it holds
//! (proxy, transfer, retry), so one call rejects every bad value before a request is sent.

use std::time::Duration;

use crate::auth::CredentialsSource;
use crate::error::{Error, Result};

use super::profile::profile_region;
use super::{PoolConfig, ProxyConfig, RetryConfig, TransferConfig};

/// Default connect timeout: 10 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Default read timeout: the longest wait for response headers: 30 s (most requests wait less,
/// see [`ClientConfig::read_timeout`]).
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Default stall timeout: a response body that delivers no bytes for this long is abandoned and
/// its request retried (resuming where it stopped): 10 s.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Default region when none is configured anywhere.
pub const DEFAULT_REGION: &str = "us-east-1";

/// How the bucket is named in request URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AddressingStyle {
    /// Virtual-hosted for AWS endpoints and DNS-compatible bucket names, path-style otherwise.
    #[default]
    Auto,
    /// `https://endpoint/bucket/key`.
    Path,
    /// `https://bucket.endpoint/key`.
    VirtualHosted,
}

/// Everything a [`Client`](crate::Client) needs to reach a store.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The endpoint URL, e.g. `http://127.0.0.1:9000`. By default AWS S3 for the region.
    pub endpoint: Option<String>,
    /// The signing region. By default `AWS_REGION`, `AWS_DEFAULT_REGION`, then [`DEFAULT_REGION`].
    pub region: Option<String>,
    /// Path-style or virtual-hosted URLs. By default [`AddressingStyle::Auto`].
    pub addressing_style: AddressingStyle,
    /// Where credentials come from. By default the standard AWS chain.
    pub credentials: CredentialsSource,
    /// The connection pool. By default [`PoolConfig::default`].
    pub pool: PoolConfig,
    /// TCP connect timeout. By default [`DEFAULT_CONNECT_TIMEOUT`].
    pub connect_timeout: Duration,
    /// Longest wait for response headers (after the request body, if any, is sent). By default
    /// [`DEFAULT_READ_TIMEOUT`]. Requests without a body, and PUTs once their body is sent, wait
    /// less: a sixth of it (5 s by default) until latencies have been observed, then ten times
    /// the recent p90 (at least 2 s). Server-side copies, CompleteMultipartUpload and
    /// DeleteObjects, whose answers may take long to compute, wait all of it. With the retries
    /// (each request tries `max_attempts` times), a server that accepts connections and never
    /// answers fails after about `max_attempts` × 5 s at the defaults.
    pub read_timeout: Duration,
    /// Longest wait for more bytes of a response body, and for the server to take more of a
    /// request body. By default [`DEFAULT_STALL_TIMEOUT`].
    pub stall_timeout: Duration,
    /// Accept any TLS certificate (`--no-verify-ssl`). By default `false`.
    pub accept_invalid_certs: bool,
    /// A PEM file of CA certificates to trust instead of the system's (`AWS_CA_BUNDLE`,
    /// `--ca-bundle`): as the AWS CLI, the bundle replaces the default trust roots. By default
    /// `None`: the system's roots.
    pub ca_bundle: Option<std::path::PathBuf>,
    /// The HTTP proxy. By default [`ProxyConfig::FromEnvironment`].
    pub proxy: ProxyConfig,
    /// AWS's dual-stack (IPv4 and IPv6) endpoints, `s3.dualstack.REGION.amazonaws.com`. Only
    /// without a custom [`endpoint`](Self::endpoint). By default `false`.
    pub dualstack: bool,
    /// S3 Transfer Acceleration, `BUCKET.s3-accelerate.amazonaws.com`. Only without a custom
    /// [`endpoint`](Self::endpoint). By default `false`.
    pub accelerate: bool,
    /// Default transfer settings. By default [`TransferConfig::default`].
    pub transfer: TransferConfig,
    /// Retry settings. By default [`RetryConfig::default`].
    pub retry: RetryConfig,
    /// Send `x-amz-request-payer: requester` with every request: the caller pays for requests
    /// to and downloads from a requester-pays bucket, which S3 otherwise refuses (403). By
    /// default `false`.
    pub request_payer: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            region: None,
            addressing_style: AddressingStyle::Auto,
            credentials: CredentialsSource::default(),
            pool: PoolConfig::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
            stall_timeout: DEFAULT_STALL_TIMEOUT,
            accept_invalid_certs: false,
            ca_bundle: None,
            proxy: ProxyConfig::default(),
            dualstack: false,
            accelerate: false,
            transfer: TransferConfig::default(),
            retry: RetryConfig::default(),
            request_payer: false,
        }
    }
}

/// Builder-style setters, one per field: `ClientConfig::default().with_…(…)`.
impl ClientConfig {
    /// Sets [`request_payer`](Self::request_payer).
    #[must_use]
    pub fn with_request_payer(mut self, request_payer: bool) -> Self {
        self.request_payer = request_payer;
        self
    }

    /// Sets [`endpoint`](Self::endpoint).
    #[must_use]
    pub fn with_endpoint(mut self, endpoint: Option<String>) -> Self {
        self.endpoint = endpoint;
        self
    }

    /// Sets [`region`](Self::region).
    #[must_use]
    pub fn with_region(mut self, region: Option<String>) -> Self {
        self.region = region;
        self
    }

    /// Sets [`addressing_style`](Self::addressing_style).
    #[must_use]
    pub fn with_addressing_style(mut self, addressing_style: AddressingStyle) -> Self {
        self.addressing_style = addressing_style;
        self
    }

    /// Sets [`credentials`](Self::credentials).
    #[must_use]
    pub fn with_credentials(mut self, credentials: CredentialsSource) -> Self {
        self.credentials = credentials;
        self
    }

    /// Sets [`pool`](Self::pool).
    #[must_use]
    pub fn with_pool(mut self, pool: PoolConfig) -> Self {
        self.pool = pool;
        self
    }

    /// Sets [`connect_timeout`](Self::connect_timeout).
    #[must_use]
    pub fn with_connect_timeout(mut self, connect_timeout: Duration) -> Self {
        self.connect_timeout = connect_timeout;
        self
    }

    /// Sets [`read_timeout`](Self::read_timeout).
    #[must_use]
    pub fn with_read_timeout(mut self, read_timeout: Duration) -> Self {
        self.read_timeout = read_timeout;
        self
    }

    /// Sets [`stall_timeout`](Self::stall_timeout).
    #[must_use]
    pub fn with_stall_timeout(mut self, stall_timeout: Duration) -> Self {
        self.stall_timeout = stall_timeout;
        self
    }

    /// Sets [`accept_invalid_certs`](Self::accept_invalid_certs).
    #[must_use]
    pub fn with_accept_invalid_certs(mut self, accept_invalid_certs: bool) -> Self {
        self.accept_invalid_certs = accept_invalid_certs;
        self
    }

    /// Sets [`ca_bundle`](Self::ca_bundle).
    #[must_use]
    pub fn with_ca_bundle(mut self, ca_bundle: Option<std::path::PathBuf>) -> Self {
        self.ca_bundle = ca_bundle;
        self
    }

    /// Sets [`proxy`](Self::proxy).
    #[must_use]
    pub fn with_proxy(mut self, proxy: ProxyConfig) -> Self {
        self.proxy = proxy;
        self
    }

    /// Sets [`dualstack`](Self::dualstack).
    #[must_use]
    pub fn with_dualstack(mut self, dualstack: bool) -> Self {
        self.dualstack = dualstack;
        self
    }

    /// Sets [`accelerate`](Self::accelerate).
    #[must_use]
    pub fn with_accelerate(mut self, accelerate: bool) -> Self {
        self.accelerate = accelerate;
        self
    }

    /// Sets [`transfer`](Self::transfer).
    #[must_use]
    pub fn with_transfer(mut self, transfer: TransferConfig) -> Self {
        self.transfer = transfer;
        self
    }

    /// Sets [`retry`](Self::retry).
    #[must_use]
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }
}

impl ClientConfig {
    /// Rejects settings no client can run with.
    pub fn validate(&self) -> Result<()> {
        if let Some(endpoint) = &self.endpoint {
            let url = url::Url::parse(endpoint)
                .map_err(|e| Error::InvalidConfig(format!("endpoint URL {endpoint:?}: {e}")))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(Error::InvalidConfig(format!("endpoint URL {endpoint:?}: scheme must be http or https")));
            }
            if url.host_str().is_none() {
                return Err(Error::InvalidConfig(format!("endpoint URL {endpoint:?} has no host")));
            }
            // As the AWS SDKs' endpoint rules: these options name AWS endpoints.
            if self.dualstack {
                return Err(Error::InvalidConfig(format!(
                    "dual-stack endpoints cannot be used with a custom endpoint ({endpoint:?})"
                )));
            }
            if self.accelerate {
                return Err(Error::InvalidConfig(format!(
                    "Transfer Acceleration cannot be used with a custom endpoint ({endpoint:?})"
                )));
            }
        }
        if self.accelerate && self.addressing_style == AddressingStyle::Path {
            return Err(Error::InvalidConfig(
                "Transfer Acceleration needs virtual-hosted addressing, not path-style".into(),
            ));
        }
        self.proxy.validate()?;
        if self.connect_timeout.is_zero() || self.read_timeout.is_zero() || self.stall_timeout.is_zero() {
            return Err(Error::InvalidConfig("timeouts must be above zero".into()));
        }
        if self.pool.max_connections_per_host == Some(0) {
            return Err(Error::InvalidConfig("the connection cap per host must be at least 1".into()));
        }
        self.transfer.validate()?;
        self.retry.validate()
    }

    /// The region to sign with, as the aws CLI finds it: the config's, else `AWS_REGION`, else
    /// `AWS_DEFAULT_REGION`, else the `region` of the profile in the shared config file (the
    /// [`CredentialsSource::Profile`] named, else `AWS_PROFILE`, else `default`), else
    /// [`DEFAULT_REGION`].
    pub async fn resolve_region(&self) -> String {
        let explicit = self
            .region
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok())
            .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
            .filter(|r| !r.is_empty());
        if let Some(region) = explicit {
            return region;
        }
        let profile = match &self.credentials {
            CredentialsSource::Profile(name) => Some(name.as_str()),
            _ => None,
        };
        profile_region(profile, None).await.unwrap_or_else(|| DEFAULT_REGION.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_PART_SIZE;

    #[test]
    fn defaults_are_valid() {
        ClientConfig::default().validate().unwrap();
        assert_eq!(TransferConfig::default().multipart_threshold(), DEFAULT_PART_SIZE);
    }

    #[test]
    fn rejects_aws_endpoint_options_with_a_custom_endpoint() {
        let custom = ClientConfig::default().with_endpoint(Some("http://127.0.0.1:9000".into()));
        assert!(custom.clone().with_dualstack(true).validate().unwrap_err().to_string().contains("dual-stack"));
        assert!(custom.with_accelerate(true).validate().unwrap_err().to_string().contains("Acceleration"));
        let path = ClientConfig::default().with_accelerate(true).with_addressing_style(AddressingStyle::Path);
        assert!(path.validate().unwrap_err().to_string().contains("virtual-hosted"));
        ClientConfig::default().with_dualstack(true).with_accelerate(true).validate().unwrap();
    }

    #[test]
    fn rejects_bad_endpoints() {
        for bad in ["not a url", "ftp://host", "http://"] {
            let c = ClientConfig { endpoint: Some(bad.into()), ..Default::default() };
            assert!(c.validate().is_err(), "{bad} accepted");
        }
        let c = ClientConfig { endpoint: Some("http://127.0.0.1:9000".into()), ..Default::default() };
        c.validate().unwrap();
    }
}
