//! Client and transfer settings, with their defaults.
//!
//! [`ClientConfig`] says where the store is and how to talk to it (endpoint, region, addressing
//! style, credentials, connection pool, timeouts); [`TransferConfig`] says how transfers are cut up
//! (part size, concurrency, memory limit, checksums). Both are plain data with documented
//! defaults; [`ClientConfig::validate`] and [`TransferConfig::validate`] reject bad values once,
//! before any request is sent.
//!
//! Every settings struct here is `#[non_exhaustive]`: start from `Default` and change what you
//! need with the `with_*` setters (`TransferConfig::default().with_part_size(16 * MIB)`). The
//! module also gathers, as re-exports, the retry settings ([`RetryConfig`], defined beside the
//! retry loop), the copy defaults, and the S3 limits the settings and operations are checked
//! against.

use std::time::Duration;

use crate::auth::CredentialsSource;
use crate::error::{Error, Result};

pub use crate::controller::DEFAULT_MAX_CONCURRENCY;
pub use crate::copy::{DEFAULT_COPY_PART_SIZE, MAX_COPY_OBJECT_SIZE};
pub use crate::retry::{
    RetryConfig, DEFAULT_BASE_DELAY, DEFAULT_BUDGET_CAPACITY, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_DELAY,
    DEFAULT_RETRY_TIMEOUT,
};
pub use crate::s3::object::{MAX_DELETE_KEYS, MAX_PRESIGN_EXPIRY};
pub use crate::upload::MAX_OBJECT_SIZE;

/// One mebibyte, in bytes.
pub const MIB: u64 = 1024 * 1024;

/// Default part size for ranged downloads and multipart uploads: 8 MiB, the AWS CLI's and
/// s5cmd's choice, large enough that per-request overhead is small on fast links.
pub const DEFAULT_PART_SIZE: u64 = 8 * MIB;

/// S3's smallest allowed part (except the last one) of a multipart upload: 5 MiB.
pub const MIN_UPLOAD_PART_SIZE: u64 = 5 * MIB;

/// S3's largest allowed part of a multipart upload: 5 GiB.
pub const MAX_UPLOAD_PART_SIZE: u64 = 5 * 1024 * MIB;

/// S3's limit on the number of parts of a multipart upload.
pub const MAX_UPLOAD_PARTS: u64 = 10_000;

/// Requests in flight a client starts with when its concurrency adapts (the default), and the
/// workers a few crate-internal jobs (checksumming a file to resume its upload) run: 8, which
/// saturate loopback and a local network.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// Default cap on the payload bytes a client holds in pooled buffers at once: 256 MiB.
pub const DEFAULT_MEMORY_LIMIT: u64 = 256 * MIB;

/// Default cap on what one stream transfer (a download into an `AsyncWrite`, an upload from an
/// `AsyncRead`) holds: 48 MiB, six parts of the default size. A stream's parts wait in memory —
/// a download's until every earlier part is written, an upload's until its request is sent —
/// so its memory is its requests in flight times the part size. On loopback and a local
/// network six parts in flight saturate a stream (measured: 2,717 MiB/s at 62 MiB of RSS
/// against 2,277 MiB/s at 282 MiB with the whole 256 MiB memory limit); raise it, or shrink
/// the part size, on links where each connection is slow and far.
pub const DEFAULT_STREAM_BUFFER: u64 = 48 * MIB;

/// Default connect timeout: 10 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Default read timeout: the longest wait for response headers: 30 s (most requests wait less,
/// see [`ClientConfig::read_timeout`]).
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Default stall timeout: a response body that delivers no bytes for this long is abandoned and
/// its request retried (resuming where it stopped): 10 s.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Default number of idle connections kept per host: 64 (at least the concurrency of a few
/// transfers, so parallel parts never pay for a new handshake).
pub const DEFAULT_MAX_IDLE_PER_HOST: usize = 64;

/// Default idle-connection lifetime: 60 s (S3 closes idle connections after about 20 s of the
/// client's silence; the pool drops ones the server closed on its own).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

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

/// When checksums are computed, sent and verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChecksumMode {
    /// Uploads send a checksum with every part and the object; downloads verify full-object
    /// checksums where the object carries one.
    #[default]
    WhenSupported,
    /// Only where an operation requires it (for stores that reject the newer checksum headers).
    WhenRequired,
}

/// The checksum algorithm for uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChecksumAlgorithm {
    /// CRC64/NVME: the default of current AWS SDKs, a full-object checksum combinable from parts.
    #[default]
    Crc64Nvme,
    /// CRC32C (Castagnoli).
    Crc32c,
    /// Content-MD5 per request, for stores that know no other.
    Md5,
    /// CRC32 (the ISO-HDLC / zlib CRC).
    Crc32,
    /// SHA-256. A multipart object carries S3's composite checksum (`…-N`).
    Sha256,
    /// SHA-1. A multipart object carries S3's composite checksum (`…-N`).
    Sha1,
}

/// Which HTTP proxy requests go through.
///
/// `http://` endpoints are reached through the proxy with absolute-form requests
/// (`GET http://host/key`), as curl, the AWS CLI and Go's `net/http` send them (many proxies
/// allow CONNECT only to port 443), with `Proxy-Authorization` from the proxy URL's user and
/// password; `https://` endpoints through a CONNECT tunnel, TLS running end to end inside it.
/// Only `http://` proxy URLs are supported (a URL without a scheme is taken as one).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ProxyConfig {
    /// Read the proxy as curl and the AWS CLI do: `HTTPS_PROXY`/`https_proxy` for `https://`
    /// endpoints, `HTTP_PROXY`/`http_proxy` for `http://` ones, `ALL_PROXY`/`all_proxy` for
    /// either when its own is unset, and `NO_PROXY`/`no_proxy` for the hosts reached directly:
    /// comma-separated host names (each also matching its subdomains; a leading `.` is
    /// optional), IP addresses, CIDR blocks (`10.0.0.0/8`), or `*` for every host. Loopback
    /// addresses are proxied unless listed, as curl and the AWS CLI do. The default.
    #[default]
    FromEnvironment,
    /// No proxy, whatever the environment says.
    Disabled,
    /// These settings, not the environment's.
    Explicit {
        /// The proxy for `http://` endpoints, e.g. `http://user:pass@proxy:3128`.
        http: Option<String>,
        /// The proxy for `https://` endpoints.
        https: Option<String>,
        /// Hosts reached directly, as `NO_PROXY`.
        no_proxy: Option<String>,
    },
}

impl ProxyConfig {
    /// One proxy for every endpoint, except the hosts of `no_proxy` (as `NO_PROXY`).
    pub fn all(url: impl Into<String>, no_proxy: Option<String>) -> Self {
        let url = url.into();
        ProxyConfig::Explicit { http: Some(url.clone()), https: Some(url), no_proxy }
    }

    /// Rejects proxy URLs no connection can use (checked again for the environment's when a
    /// client is built).
    pub fn validate(&self) -> Result<()> {
        if let ProxyConfig::Explicit { http, https, .. } = self {
            for url in [http, https].into_iter().flatten() {
                check_proxy_url(url)?;
            }
        }
        Ok(())
    }
}

/// Rejects a proxy URL that is not `http://host[:port]` (a missing scheme means `http://`).
pub(crate) fn check_proxy_url(url: &str) -> Result<()> {
    let full = if url.contains("://") { url.to_owned() } else { format!("http://{url}") };
    let parsed = url::Url::parse(&full).map_err(|e| Error::InvalidConfig(format!("proxy URL {url:?}: {e}")))?;
    if parsed.scheme() != "http" {
        return Err(Error::InvalidConfig(format!(
            "proxy URL {url:?}: only http:// proxies are supported (https:// endpoints go through them in a CONNECT tunnel)"
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(Error::InvalidConfig(format!("proxy URL {url:?} has no host")));
    }
    Ok(())
}

/// Connection pool settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolConfig {
    /// Idle connections kept per host. By default [`DEFAULT_MAX_IDLE_PER_HOST`].
    pub max_idle_per_host: usize,
    /// How long an idle connection is kept. By default [`DEFAULT_IDLE_TIMEOUT`].
    pub idle_timeout: Duration,
    /// Cap on the connections open at once to one host (in use or idle). A request that finds
    /// every connection busy waits for one to come back to the pool (or to close) instead of
    /// opening another, so a client with at most N requests in flight opens at most N
    /// connections, however its requests race the pool. By default `None`: no cap, as hyper,
    /// Go's `net/http` and the AWS SDKs have none; services that want a bounded socket count
    /// (and a client-wide cap on requests in flight) set one, e.g. the total concurrency of
    /// their transfers.
    pub max_connections_per_host: Option<usize>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_idle_per_host: DEFAULT_MAX_IDLE_PER_HOST,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections_per_host: None,
        }
    }
}

/// Builder-style setters, one per field: `PoolConfig::default().with_…(…)`.
impl PoolConfig {
    /// Sets [`max_idle_per_host`](Self::max_idle_per_host).
    #[must_use]
    pub fn with_max_idle_per_host(mut self, max_idle_per_host: usize) -> Self {
        self.max_idle_per_host = max_idle_per_host;
        self
    }

    /// Sets [`idle_timeout`](Self::idle_timeout).
    #[must_use]
    pub fn with_idle_timeout(mut self, idle_timeout: Duration) -> Self {
        self.idle_timeout = idle_timeout;
        self
    }

    /// Sets [`max_connections_per_host`](Self::max_connections_per_host).
    #[must_use]
    pub fn with_max_connections_per_host(mut self, max_connections_per_host: Option<usize>) -> Self {
        self.max_connections_per_host = max_connections_per_host;
        self
    }
}

/// How transfers are cut into requests and how much memory they may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransferConfig {
    /// Bytes per ranged GET or uploaded part. By default [`DEFAULT_PART_SIZE`].
    pub part_size: u64,
    /// Requests in flight per transfer, when pinned. By default `None`: adaptive, one
    /// controller per client decides how many requests are in flight across all its transfers,
    /// starting at [`DEFAULT_CONCURRENCY`] and growing (up to the pool's
    /// [`max_connections_per_host`](PoolConfig::max_connections_per_host), or
    /// [`DEFAULT_MAX_CONCURRENCY`] without one) while the client's throughput grows with it.
    ///
    /// `Some(n)` pins it: in a client's settings, each transfer runs `n` requests and the
    /// controller is off (the client-wide limit moves only when the store throttles); on one
    /// transfer ([`Download::concurrency`](crate::Download::concurrency),
    /// [`Upload::concurrency`](crate::Upload::concurrency)), that transfer runs at most `n`
    /// requests, within the client-wide limit.
    pub concurrency: Option<usize>,
    /// Cap on pooled payload bytes held at once by the client. By default [`DEFAULT_MEMORY_LIMIT`].
    pub memory_limit: u64,
    /// Cap on the payload bytes one stream transfer (a download into an `AsyncWrite`, an upload
    /// from an `AsyncRead`) holds: its reordering window or read-ahead, and with it its requests
    /// in flight (this many bytes in whole parts, at least one, and never more than
    /// [`memory_limit`](Self::memory_limit)). By default [`DEFAULT_STREAM_BUFFER`].
    pub stream_buffer: u64,
    /// Objects at most this large are uploaded with one PutObject. By default the part size.
    pub multipart_threshold: Option<u64>,
    /// When checksums are used. By default [`ChecksumMode::WhenSupported`].
    pub checksum_mode: ChecksumMode,
    /// The upload checksum algorithm. By default [`ChecksumAlgorithm::Crc64Nvme`].
    pub checksum_algorithm: ChecksumAlgorithm,
    /// Pick up where an earlier run to the same destination stopped: file downloads keep a
    /// journal of their finished parts beside their temporary file and fetch only what is
    /// missing (if the object is unchanged); multipart uploads from files reuse the parts of the
    /// key's unfinished upload whose checksums match the file. See
    /// [`Download::resume`](crate::Download::resume) and [`Upload::resume`](crate::Upload::resume).
    /// By default `false` (the CLI turns it on).
    pub resume: bool,
    /// Sync a downloaded file, then its directory, to the disk before reporting the download
    /// done, so it survives a power loss. By default `false`.
    pub fsync: bool,
}

impl Default for TransferConfig {
    fn default() -> Self {
        Self {
            part_size: DEFAULT_PART_SIZE,
            concurrency: None,
            memory_limit: DEFAULT_MEMORY_LIMIT,
            stream_buffer: DEFAULT_STREAM_BUFFER,
            multipart_threshold: None,
            checksum_mode: ChecksumMode::default(),
            checksum_algorithm: ChecksumAlgorithm::default(),
            resume: false,
            fsync: false,
        }
    }
}

/// Builder-style setters, one per field: `TransferConfig::default().with_…(…)`.
impl TransferConfig {
    /// Sets [`part_size`](Self::part_size).
    #[must_use]
    pub fn with_part_size(mut self, part_size: u64) -> Self {
        self.part_size = part_size;
        self
    }

    /// Pins [`concurrency`](Self::concurrency) at `concurrency` requests per transfer.
    #[must_use]
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = Some(concurrency);
        self
    }

    /// Sets [`concurrency`](Self::concurrency): `None` adapts, `Some(n)` pins.
    #[must_use]
    pub fn with_pinned_concurrency(mut self, concurrency: Option<usize>) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// Sets [`memory_limit`](Self::memory_limit).
    #[must_use]
    pub fn with_memory_limit(mut self, memory_limit: u64) -> Self {
        self.memory_limit = memory_limit;
        self
    }

    /// Sets [`stream_buffer`](Self::stream_buffer).
    #[must_use]
    pub fn with_stream_buffer(mut self, stream_buffer: u64) -> Self {
        self.stream_buffer = stream_buffer;
        self
    }

    /// Sets [`multipart_threshold`](Self::multipart_threshold).
    #[must_use]
    pub fn with_multipart_threshold(mut self, multipart_threshold: Option<u64>) -> Self {
        self.multipart_threshold = multipart_threshold;
        self
    }

    /// Sets [`checksum_mode`](Self::checksum_mode).
    #[must_use]
    pub fn with_checksum_mode(mut self, checksum_mode: ChecksumMode) -> Self {
        self.checksum_mode = checksum_mode;
        self
    }

    /// Sets [`checksum_algorithm`](Self::checksum_algorithm).
    #[must_use]
    pub fn with_checksum_algorithm(mut self, checksum_algorithm: ChecksumAlgorithm) -> Self {
        self.checksum_algorithm = checksum_algorithm;
        self
    }

    /// Sets [`resume`](Self::resume).
    #[must_use]
    pub fn with_resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// Sets [`fsync`](Self::fsync).
    #[must_use]
    pub fn with_fsync(mut self, fsync: bool) -> Self {
        self.fsync = fsync;
        self
    }
}

impl TransferConfig {
    /// Rejects settings no transfer can run with.
    pub fn validate(&self) -> Result<()> {
        if self.part_size == 0 {
            return Err(Error::InvalidConfig("part size must be at least 1 byte".into()));
        }
        if self.part_size > MAX_UPLOAD_PART_SIZE {
            return Err(Error::InvalidConfig(format!("part size {} is above S3's 5 GiB limit", self.part_size)));
        }
        if self.concurrency == Some(0) {
            return Err(Error::InvalidConfig("concurrency must be at least 1".into()));
        }
        if self.memory_limit < self.part_size {
            return Err(Error::InvalidConfig(format!(
                "memory limit {} is smaller than one part ({} bytes)",
                self.memory_limit, self.part_size
            )));
        }
        Ok(())
    }

    /// The size up to which uploads go as one PutObject.
    pub fn multipart_threshold(&self) -> u64 {
        self.multipart_threshold.unwrap_or(self.part_size)
    }

    /// The parts of `part_memory` bytes each that one stream transfer may hold: its
    /// [`stream_buffer`](Self::stream_buffer), within the [`memory_limit`](Self::memory_limit),
    /// in whole parts, at least one.
    pub(crate) fn stream_parts(&self, part_memory: u64) -> u64 {
        (self.stream_buffer.min(self.memory_limit) / part_memory.max(1)).max(1)
    }
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

/// Settings of the shared AWS config files (`~/.aws/config`, `AWS_CONFIG_FILE`), read once:
/// each of `keys` in `profile` (else `AWS_PROFILE`, else `default`), as the AWS CLI reads its
/// `max_attempts`, `retry_mode`, `ca_bundle` or `use_dualstack_endpoint`. A dotted key reads a
/// nested setting: `s3.use_accelerate_endpoint` is `use_accelerate_endpoint` under `s3 =`.
/// `None` for each key no file or profile has.
pub async fn shared_config_values(profile: Option<&str>, keys: &[&str]) -> Vec<Option<String>> {
    use aws_types::os_shim_internal::{Env, Fs};
    let set = aws_config::profile::load(
        &Fs::real(),
        &Env::real(),
        &aws_runtime::env_config::file::EnvConfigFiles::default(),
        profile.map(|p| std::borrow::Cow::Owned(p.to_owned())),
    )
    .await
    .ok();
    let selected = set.as_ref().and_then(|set| set.get_profile(set.selected_profile()));
    keys.iter()
        .map(|key| {
            let selected = selected?;
            let value = match key.split_once('.') {
                None => selected.get(key)?.trim().to_owned(),
                Some((section, sub)) => nested_value(selected.get(section)?, sub)?,
            };
            Some(value).filter(|v| !v.is_empty())
        })
        .collect()
}

/// `key`'s value in the text of a nested setting (`\n  key = value\n  other = …`).
fn nested_value(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (name, value) = line.split_once('=')?;
        (name.trim() == key).then(|| value.trim().to_owned())
    })
}

/// The `region` of `profile` (else the selected one) in the shared config files (`files`, else
/// the standard ones), following `source_profile`.
async fn profile_region(
    profile: Option<&str>,
    files: Option<aws_runtime::env_config::file::EnvConfigFiles>,
) -> Option<String> {
    use aws_config::meta::region::ProvideRegion as _;
    let mut builder = aws_config::profile::ProfileFileRegionProvider::builder();
    if let Some(name) = profile {
        builder = builder.profile_name(name);
    }
    if let Some(files) = files {
        builder = builder.profile_files(files);
    }
    builder.build().region().await.map(|r| r.to_string()).filter(|r| !r.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn profile_region_comes_from_the_shared_config_file() {
        use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, "[default]\nregion = eu-west-3\n[profile work]\nregion = ap-south-1\n[profile bare]\n")
            .unwrap();
        let files = || EnvConfigFiles::builder().with_file(EnvConfigFileKind::Config, &path).build();
        assert_eq!(profile_region(Some("work"), Some(files())).await.as_deref(), Some("ap-south-1"));
        assert_eq!(profile_region(Some("default"), Some(files())).await.as_deref(), Some("eu-west-3"));
        assert_eq!(profile_region(Some("bare"), Some(files())).await, None);
        assert_eq!(profile_region(Some("missing"), Some(files())).await, None);
    }

    #[test]
    fn nested_settings() {
        let text = "\nuse_accelerate_endpoint = true\n  addressing_style = path";
        assert_eq!(nested_value(text, "use_accelerate_endpoint").as_deref(), Some("true"));
        assert_eq!(nested_value(text, "addressing_style").as_deref(), Some("path"));
        assert_eq!(nested_value(text, "missing"), None);
    }

    #[test]
    fn defaults_are_valid() {
        ClientConfig::default().validate().unwrap();
        assert_eq!(TransferConfig::default().multipart_threshold(), DEFAULT_PART_SIZE);
    }

    #[test]
    fn rejects_zero_part_size_and_concurrency() {
        let t = TransferConfig { part_size: 0, ..Default::default() };
        assert!(t.validate().is_err());
        let t = TransferConfig { concurrency: Some(0), ..Default::default() };
        assert!(t.validate().is_err());
    }

    #[test]
    fn a_stream_holds_its_buffer_in_whole_parts_within_the_memory_limit() {
        let t = TransferConfig::default();
        assert_eq!(t.stream_parts(DEFAULT_PART_SIZE), 6);
        assert_eq!(t.clone().with_memory_limit(16 * MIB).stream_parts(DEFAULT_PART_SIZE), 2);
        assert_eq!(t.clone().with_stream_buffer(MIB).stream_parts(DEFAULT_PART_SIZE), 1);
        assert_eq!(t.with_stream_buffer(1024 * MIB).stream_parts(DEFAULT_PART_SIZE), 32);
    }

    #[test]
    fn rejects_memory_limit_below_one_part() {
        let t = TransferConfig { memory_limit: MIB, ..Default::default() };
        assert!(t.validate().unwrap_err().to_string().contains("smaller than one part"));
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
    fn rejects_unusable_proxy_urls() {
        for bad in ["https://proxy:443", "socks5://proxy:1080", "http://", "http://[::1"] {
            assert!(ProxyConfig::all(bad, None).validate().is_err(), "{bad} accepted");
        }
        for good in ["http://proxy:3128", "proxy:3128", "http://user:pass@10.0.0.1:8080"] {
            ProxyConfig::all(good, None).validate().unwrap();
        }
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
