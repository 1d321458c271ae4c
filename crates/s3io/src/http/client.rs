//! The pooled HTTP client: sends one request and watches it until its response headers arrive.
//!
//! How long to wait for the headers is the caller's choice ([`HeaderWait`]); this module knows
//! nothing of what the request means.

use std::sync::Arc;
use std::time::Duration;

use http_body::Body;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::body::{BodyProgress, RequestBody};
use super::connector::{connector, proxy_matcher, ConnectionMetrics, Connector, ProxyRules};
use super::latency::LatencyTracker;
use super::reuse::{Claim, Hosts};
use crate::config::ClientConfig;
use crate::error::{Error, ErrorContext};

/// The most a connection's read buffer grows to: 192 KiB (hyper's default is about 400 KiB).
/// hyper grows the buffer while reads fill it and allocates a new one whenever the body chunks
/// split from the old one are still alive (the consumer copies one while hyper reads the next),
/// so every download allocates read buffers, and what a connection holds and the allocator
/// keeps of the freed ones is resident memory. Each read is one `recv` of at most this much.
///
/// Smaller buffers trade memory against system CPU: a 1 GiB download to a file (16 connections,
/// 2-core machine, release build with LTO, one malloc arena as the CLI runs, 16 runs alternating,
/// medians of user + system CPU) took 1.075 CPU seconds at 128 KiB (8,400 `recv`s), 1.05 at
/// 192 KiB, 1.03 for the base client (aa37b99, hyper's default buffer, 8 connections) — the
/// kernel's copy-out and ACK work per `recv` is what grows. `s3io bench --scenarios small`
/// (1,000 x 1.2 MiB, 16 in flight; 4 runs) peaked at 37.2 MiB of RSS at 128 KiB, 38.4 at
/// 192 KiB, 41 at 256 KiB, at the same throughput and 29–31 allocations per download. One
/// download at a time (the alloc guard, `tests/alloc.rs`) takes more allocations with smaller
/// buffers (31–40 per download at 128 KiB, 30–34 at 256 KiB): each read that finds the previous
/// chunk still alive costs a new buffer and its shared header.
const READ_BUFFER_MAX: usize = 192 * 1024;

/// How long a request waits for its response headers (after its body, if it has one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderWait {
    /// At most the adaptive first-byte timeout: a multiple of the recent p90 of such waits
    /// ([`LatencyTracker`]), within the read timeout, and a sixth of the read timeout until
    /// latencies have been seen; the wait is recorded as a latency sample.
    /// For requests whose answer comes as soon as the request is in, so that a server sitting on
    /// a request is abandoned after seconds, not the read timeout.
    Adaptive,
    /// The read timeout, not recorded: for requests whose answer may take long to compute.
    ReadTimeout,
}

/// The pooled HTTP client.
pub(crate) struct HttpClient {
    client: Client<Connector, RequestBody>,
    metrics: Arc<ConnectionMetrics>,
    /// Requests and connections per host, so that a connection is dialed only when needed.
    hosts: Arc<Hosts>,
    read_timeout: Duration,
    stall_timeout: Duration,
    latency: LatencyTracker,
    /// The proxies, when any: an absolute-form request to an `http://` endpoint carries the
    /// proxy's credentials in a `Proxy-Authorization` header (a CONNECT tunnel carries them
    /// once, for the connection).
    http_proxy: Option<Arc<ProxyRules>>,
}

impl HttpClient {
    /// The client for `config`; `ca_bundle` is the text of its CA bundle file, if it names one.
    pub(crate) fn new(config: &ClientConfig, ca_bundle: Option<&[u8]>) -> Result<Self, Error> {
        let metrics = Arc::new(ConnectionMetrics::default());
        let proxy = proxy_matcher(&config.proxy)?;
        let http_proxy = proxy.clone();
        let hosts = Arc::new(Hosts::new(config.pool.max_connections_per_host));
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(config.pool.max_idle_per_host)
            .pool_idle_timeout(config.pool.idle_timeout)
            .pool_timer(hyper_util::rt::TokioTimer::new())
            .http1_max_buf_size(READ_BUFFER_MAX)
            .build(connector(config, metrics.clone(), hosts.clone(), proxy, ca_bundle)?);
        Ok(Self {
            client,
            metrics,
            hosts,
            read_timeout: config.read_timeout,
            stall_timeout: config.stall_timeout,
            latency: LatencyTracker::new(),
            http_proxy,
        })
    }

    pub(crate) fn metrics(&self) -> &Arc<ConnectionMetrics> {
        &self.metrics
    }

    pub(crate) fn stall_timeout(&self) -> Duration {
        self.stall_timeout
    }

    /// Sends one request and waits for its response headers, as long as `wait` says.
    ///
    /// A body-less request waits for its headers from the start. A request with a body is
    /// watched in two phases: while its body goes out, hyper must take a frame at least every
    /// stall timeout (a server that stopped reading is noticed); once the body has gone, the
    /// header wait starts, counted from the body's end.
    ///
    /// The answer comes with the request's [`Claim`] on its connection, to be dropped when its
    /// body has ended or is dropped.
    pub(crate) async fn send(
        &self,
        request: http::Request<RequestBody>,
        context: &ErrorContext,
        wait: HeaderWait,
    ) -> Result<(http::Response<Incoming>, Claim), Error> {
        self.metrics.count_request();
        let claim = self.hosts.claim(request.uri());
        let mut request = request;
        if let Some(matcher) = &self.http_proxy {
            if request.uri().scheme() == Some(&http::uri::Scheme::HTTP) {
                if let Some(auth) = matcher.intercept(request.uri()).as_ref().and_then(|i| i.basic_auth()) {
                    request.headers_mut().insert(http::header::PROXY_AUTHORIZATION, auth.clone());
                }
            }
        }
        let started = std::time::Instant::now();
        let body_less = request.body().is_end_stream();
        let adaptive = wait == HeaderWait::Adaptive;
        let progress = request.body().progress.clone();
        let header_timeout = if adaptive { self.latency.timeout(self.read_timeout) } else { self.read_timeout };
        let sending = self.client.request(request);
        tokio::pin!(sending);
        let outcome = if let (false, Some(progress)) = (body_less, progress.as_deref()) {
            // What must have happened by when, in the phase the body is in now; `None` until
            // hyper takes the first frame (the connection is not ready yet: connecting has its
            // own timeout, and waiting for a pooled connection under a cap is back-pressure).
            let phase = || match progress.ended_at() {
                Some(ended) if adaptive => Some((
                    ended + header_timeout,
                    "waiting for response headers after sending the body",
                    header_timeout,
                )),
                Some(ended) => Some((ended + self.read_timeout, "waiting for response headers", self.read_timeout)),
                None => progress
                    .last_frame_at()
                    .map(|at| (at + self.stall_timeout, "sending the request body", self.stall_timeout)),
            };
            loop {
                let deadline = match phase() {
                    Some((deadline, what, limit)) if std::time::Instant::now() >= deadline => break Err((what, limit)),
                    Some((deadline, _, _)) => Some(deadline),
                    None => None,
                };
                // Look again at the deadline, or as soon as the body changes phase (its first
                // frame, its end: the next phase's deadline may come before this one's); without
                // a deadline, after a stall timeout at the latest.
                let wake = deadline.unwrap_or_else(|| std::time::Instant::now() + self.stall_timeout);
                tokio::select! {
                    result = &mut sending => break Ok(result),
                    () = tokio::time::sleep_until(wake.into()) => {}
                    () = progress.phase_changed() => {}
                }
            }
        } else {
            match tokio::time::timeout(header_timeout, sending).await {
                Ok(result) => Ok(result),
                Err(_) => Err(("waiting for response headers", header_timeout)),
            }
        };
        match outcome {
            Ok(Ok(response)) => {
                if body_less && adaptive {
                    let latency = started.elapsed();
                    self.latency.record(latency);
                    self.metrics.record_first_byte(latency);
                } else if let Some(ended) = progress.as_deref().and_then(BodyProgress::ended_at).filter(|_| adaptive) {
                    // Not a first-byte latency for the concurrency controller: the body's end is
                    // when its last bytes went into the kernel's buffers, which may hold
                    // megabytes still to cross the network.
                    self.latency.record(ended.elapsed());
                }
                Ok((response, claim))
            }
            Ok(Err(e)) => {
                let message = if e.is_connect() { "connecting" } else { "sending the request" };
                Err(Error::transport(context.clone(), message, e))
            }
            Err((what, after)) => Err(Error::Timeout { context: Box::new(context.clone()), what, after }),
        }
    }
}
