//! Connection pool settings: [`PoolConfig`] (idle connections kept per host and for how long,
//! and an optional cap on the connections open at once to one host) and its defaults.
//!
//! The HTTP layer builds its pool from these; a cap of zero connections is rejected by
//! [`ClientConfig::validate`](super::ClientConfig::validate).

use std::time::Duration;

/// Default number of idle connections kept per host: 64 (at least the concurrency of a few
/// transfers, so parallel parts never pay for a new handshake).
pub const DEFAULT_MAX_IDLE_PER_HOST: usize = 64;

/// Default idle-connection lifetime: 60 s (S3 closes idle connections after about 20 s of the
/// client's silence; the pool drops ones the server closed on its own).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

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
