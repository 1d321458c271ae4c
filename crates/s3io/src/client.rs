//! The [`Client`]: one per store, shared by every transfer.
//!
//! A client owns what transfers share: the connection pool, the credentials cache, the retry
//! budget, the limit on requests in flight (and its concurrency controller), the regions of the
//! buckets found in another region than its own (see `region`) and the metrics. It is cheap to
//! clone (an `Arc`), and every clone uses the same pool, so a service doing thousands of small
//! downloads reuses connections and budgets across all of them.

use std::sync::Arc;

use aws_credential_types::Credentials;

use crate::auth::{CredentialsProvider, CredentialsSource};
use crate::buffer::BufferPool;
use crate::config::{AddressingStyle, ClientConfig, PoolConfig, ProxyConfig, TransferConfig};
use crate::controller::{DEFAULT_MAX_CONCURRENCY, START_LIMIT};
use crate::error::{Error, ErrorContext, Result};
use crate::http::{ConnectionMetrics, HttpClient};
use crate::region::{BucketRegions, Route};
use crate::retry::{Outage, RetryBudget, RetryConfig, RetryCounters};
use crate::throttle::{Throttle, DEFAULT_MAX_IN_FLIGHT};

/// A client of one S3-compatible store.
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    config: ClientConfig,
    region: String,
    endpoint: url::Url,
    http: HttpClient,
    credentials: CredentialsProvider,
    budget: RetryBudget,
    outage: Outage,
    retries: RetryCounters,
    throttle: Arc<Throttle>,
    buffers: BufferPool,
    regions: BucketRegions,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.inner.endpoint.as_str())
            .field("region", &self.inner.region)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder with the defaults of [`ClientConfig::default`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client from a complete config.
    pub async fn from_config(config: ClientConfig) -> Result<Self> {
        config.validate()?;
        let region = config.resolve_region().await;
        let endpoint = match &config.endpoint {
            Some(endpoint) => url::Url::parse(endpoint)
                .map_err(|e| Error::InvalidConfig(format!("endpoint URL {endpoint:?}: {e}")))?,
            None => aws_endpoint(&config, &region)?,
        };
        let ca_bundle = match &config.ca_bundle {
            Some(path) => Some(
                tokio::fs::read(path)
                    .await
                    .map_err(|e| Error::InvalidConfig(format!("CA bundle {}: {e}", path.display())))?,
            ),
            None => None,
        };
        let http = HttpClient::new(&config, ca_bundle.as_deref())?;
        let throttle = match config.transfer.concurrency {
            Some(_) => Throttle::fixed(DEFAULT_MAX_IN_FLIGHT, http.metrics().clone()),
            None => Throttle::adaptive(
                START_LIMIT,
                config.pool.max_connections_per_host.unwrap_or(DEFAULT_MAX_CONCURRENCY),
                http.metrics().clone(),
            ),
        };
        let credentials = CredentialsProvider::new(&config.credentials, &region).await;
        let budget = RetryBudget::new(config.retry.budget_capacity);
        let inner = ClientInner {
            region,
            endpoint,
            http,
            credentials,
            budget,
            outage: Outage::default(),
            retries: RetryCounters::default(),
            throttle: Arc::new(throttle),
            buffers: BufferPool::new(config.transfer.memory_limit),
            regions: BucketRegions::default(),
            config,
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// The client's settings.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The region requests are signed for.
    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// The endpoint requests go to.
    pub fn endpoint(&self) -> &url::Url {
        &self.inner.endpoint
    }

    /// Where requests to `bucket` go and the region they are signed for: the client's endpoint
    /// and region, unless the bucket was found in another region (see `region`).
    pub(crate) fn route(&self, bucket: &str) -> Option<Arc<Route>> {
        if bucket.is_empty() {
            return None;
        }
        self.inner.regions.get(bucket)
    }

    /// Remembers that `bucket` is in `region`: its requests are signed for that region from now
    /// on, and sent to that region's AWS endpoint when the client uses AWS's default endpoint
    /// (else to the same endpoint).
    pub(crate) fn remember_region(&self, bucket: &str, region: &str) -> Result<()> {
        let endpoint = match &self.inner.config.endpoint {
            Some(_) => self.inner.endpoint.clone(),
            None => aws_endpoint(&self.inner.config, region)?,
        };
        tracing::info!(bucket, region, endpoint = endpoint.as_str(), "bucket is in another region; following it");
        self.inner.regions.insert(bucket, Route { region: region.into(), endpoint });
        Ok(())
    }

    /// The region requests to `bucket` are signed for: the client's, or the one the bucket was
    /// found in.
    pub fn bucket_region(&self, bucket: &str) -> String {
        self.route(bucket).map_or_else(|| self.inner.region.clone(), |route| route.region.to_string())
    }

    /// Connection counters (opened, closed, requests, reused).
    pub fn connection_metrics(&self) -> &ConnectionMetrics {
        self.inner.http.metrics()
    }

    /// The connection counters as a shared handle that outlives the client (a service's metrics,
    /// or a check that dropping the client closes its connections).
    pub fn connection_metrics_handle(&self) -> Arc<ConnectionMetrics> {
        self.inner.http.metrics().clone()
    }

    /// Retries so far, by reason.
    pub fn retry_counters(&self) -> &RetryCounters {
        &self.inner.retries
    }

    /// The client-wide limit on requests in flight: set by the concurrency controller unless
    /// the client's concurrency is pinned, halved on throttling. Its [`Throttle::limit`] is the
    /// current limit, [`Throttle::max_limit_reached`] the highest so far.
    pub fn throttle(&self) -> &Throttle {
        &self.inner.throttle
    }

    pub(crate) fn throttle_handle(&self) -> &Arc<Throttle> {
        &self.inner.throttle
    }

    /// Workers a transfer runs when its concurrency is `pinned` (then that many), or as many as
    /// the client's limit may reach (each waits for a slot per request).
    pub(crate) fn transfer_workers(&self, pinned: Option<usize>) -> usize {
        pinned.unwrap_or_else(|| self.inner.throttle.max_limit().min(DEFAULT_MAX_IN_FLIGHT)).max(1)
    }

    /// The payload buffer pool every transfer of this client shares (capped at the configured
    /// memory limit).
    pub fn buffer_pool(&self) -> &BufferPool {
        &self.inner.buffers
    }

    pub(crate) fn retry_budget(&self) -> &RetryBudget {
        &self.inner.budget
    }

    /// The endpoint's current outage, shared by every request of this client.
    pub(crate) fn outage(&self) -> &Outage {
        &self.inner.outage
    }

    pub(crate) fn http(&self) -> &HttpClient {
        &self.inner.http
    }

    pub(crate) async fn credentials(&self, context: &ErrorContext) -> Result<Option<Credentials>> {
        self.inner.credentials.credentials(context).await
    }
}

/// AWS's endpoint for `region` under the client's endpoint options.
fn aws_endpoint(config: &ClientConfig, region: &str) -> Result<url::Url> {
    url::Url::parse(&crate::endpoint::aws_endpoint(region, config.dualstack, config.accelerate))
        .map_err(|e| Error::InvalidConfig(format!("region {region:?}: {e}")))
}

/// Builds a [`Client`]; every setter says its default.
#[must_use = "a builder does nothing until `build` is awaited"]
#[derive(Debug, Default, Clone)]
pub struct ClientBuilder {
    config: ClientConfig,
}

impl ClientBuilder {
    /// The endpoint URL, e.g. `http://127.0.0.1:9000`. By default AWS S3 in the region.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.config.endpoint = Some(url.into());
        self
    }

    /// The signing region. By default `AWS_REGION`, `AWS_DEFAULT_REGION`, then `us-east-1`.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.config.region = Some(region.into());
        self
    }

    /// Path-style or virtual-hosted URLs. By default [`AddressingStyle::Auto`].
    pub fn addressing_style(mut self, style: AddressingStyle) -> Self {
        self.config.addressing_style = style;
        self
    }

    /// Where credentials come from. By default the standard AWS chain.
    pub fn credentials(mut self, source: CredentialsSource) -> Self {
        self.config.credentials = source;
        self
    }

    /// Connection pool settings. By default [`PoolConfig::default`].
    pub fn pool(mut self, pool: PoolConfig) -> Self {
        self.config.pool = pool;
        self
    }

    /// Connect timeout. By default 10 s.
    pub fn connect_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// Longest wait for response headers. By default 30 s (less for body-less requests, and for
    /// PUTs once their body is sent, when latencies are known: a multiple of the recent p90, at
    /// least 2 s).
    pub fn read_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.config.read_timeout = timeout;
        self
    }

    /// Longest wait for more bytes of a response body, or for the server to take more of a
    /// request body, before the attempt is abandoned and retried. By default 10 s.
    pub fn stall_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.config.stall_timeout = timeout;
        self
    }

    /// Accept any TLS certificate. By default `false`.
    pub fn accept_invalid_certs(mut self, accept: bool) -> Self {
        self.config.accept_invalid_certs = accept;
        self
    }

    /// Trust the CA certificates of this PEM file instead of the system's (as `AWS_CA_BUNDLE`).
    /// By default the system's roots.
    pub fn ca_bundle(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.config.ca_bundle = Some(path.into());
        self
    }

    /// The HTTP proxy. By default [`ProxyConfig::FromEnvironment`].
    pub fn proxy(mut self, proxy: ProxyConfig) -> Self {
        self.config.proxy = proxy;
        self
    }

    /// AWS's dual-stack endpoints (only without a custom endpoint). By default `false`.
    pub fn dualstack(mut self, dualstack: bool) -> Self {
        self.config.dualstack = dualstack;
        self
    }

    /// S3 Transfer Acceleration (only without a custom endpoint). By default `false`.
    pub fn accelerate(mut self, accelerate: bool) -> Self {
        self.config.accelerate = accelerate;
        self
    }

    /// Default transfer settings. By default [`TransferConfig::default`].
    pub fn transfer(mut self, transfer: TransferConfig) -> Self {
        self.config.transfer = transfer;
        self
    }

    /// Retry settings. By default [`RetryConfig::default`].
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.config.retry = retry;
        self
    }

    /// Validates the settings and builds the client (reading credential profiles if needed).
    pub async fn build(self) -> Result<Client> {
        Client::from_config(self.config).await
    }
}
