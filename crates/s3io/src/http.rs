//! The HTTP layer: hyper's pooled client, request bodies, response bodies, connection metrics.
//!
//! One [`HttpClient`] per s3io client holds hyper-util's connection pool (HTTP/1.1 keep-alive,
//! plain TCP for `http://` endpoints, rustls for `https://`). Its connector counts connections
//! opened and closed, so tests and benchmarks can see whether keep-alive works, and enforces the
//! optional cap on connections per host ([`PoolConfig::max_connections_per_host`]): a connection
//! holds a permit of its host's semaphore from its connect to its close, so a connect beyond the
//! cap waits, and the request behind it takes the first connection that returns to the pool.
//!
//! [`PoolConfig::max_connections_per_host`]: crate::PoolConfig::max_connections_per_host
//!
//! Response bodies are read frame by frame ([`ResponseBody::next_chunk`]) with a per-read timeout,
//! so a stalled body is noticed. A body dropped before its end follows the drain-or-close rule:
//! when at most [`DRAIN_THRESHOLD`] bytes remain it is read to the end in the background, so its
//! connection goes back to the pool; when more remain, the connection is closed (dropping hyper's
//! body does that), because reading megabytes nobody wants costs more than a new handshake.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::ClientConfig;
use crate::error::{BoxError, Error, ErrorContext};

/// A dropped response body with at most this many bytes left is drained so its connection can be
/// reused; with more left, its connection is closed. 256 KiB takes well under a millisecond to
/// read on a fast link, less than a new TCP (and TLS) handshake costs.
pub const DRAIN_THRESHOLD: u64 = 256 * 1024;

/// Connection counters of one client.
#[derive(Debug, Default)]
pub struct ConnectionMetrics {
    opened: AtomicU64,
    closed: AtomicU64,
    requests: AtomicU64,
}

impl ConnectionMetrics {
    /// TCP connections opened so far.
    pub fn opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    /// TCP connections closed so far.
    pub fn closed(&self) -> u64 {
        self.closed.load(Ordering::Relaxed)
    }

    /// Connections open now (in use or idle in the pool).
    pub fn open(&self) -> u64 {
        self.opened().saturating_sub(self.closed())
    }

    /// HTTP requests sent so far (every attempt counts).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Requests that went out on an already open connection.
    pub fn reused(&self) -> u64 {
        self.requests().saturating_sub(self.opened())
    }
}

/// A request payload that is read again from its start for every attempt (a range of a local
/// file), so a retry resends the whole body without the payload being held in memory.
pub(crate) trait ReplayablePayload: Send + Sync + 'static {
    /// The payload's length in bytes (sent as Content-Length).
    fn len(&self) -> u64;

    /// A fresh body yielding the whole payload, for one attempt.
    fn open(&self) -> StreamingBody;
}

/// The body one attempt of a [`ReplayablePayload`] streams.
pub(crate) type StreamingBody = Pin<Box<dyn Body<Data = Bytes, Error = BoxError> + Send>>;

/// A request body's bytes go to hyper in frames of at most this many bytes (slices of one
/// `Bytes`, no copy), so hyper asks for the next frame only as the previous ones leave: the body's
/// progress can be watched, and its end means little remains to be written.
const BODY_FRAME: usize = 256 * 1024;

/// How far one attempt's request body has got, for the send-side timeouts: when hyper last took
/// a frame, and when it took the last one.
#[derive(Debug)]
pub(crate) struct BodyProgress {
    origin: std::time::Instant,
    /// Nanoseconds after `origin` of the last frame handed to hyper.
    last_frame: AtomicU64,
    /// Nanoseconds after `origin` at which the body ended (0: not yet).
    ended: AtomicU64,
}

impl BodyProgress {
    fn new() -> Self {
        Self { origin: std::time::Instant::now(), last_frame: AtomicU64::new(0), ended: AtomicU64::new(0) }
    }

    fn now(&self) -> u64 {
        (self.origin.elapsed().as_nanos() as u64).max(1)
    }

    fn frame(&self) {
        self.last_frame.store(self.now(), Ordering::Relaxed);
    }

    fn end(&self) {
        let _ = self.ended.compare_exchange(0, self.now(), Ordering::Relaxed, Ordering::Relaxed);
    }

    /// When the last frame was taken, if one was.
    fn last_frame_at(&self) -> Option<std::time::Instant> {
        match self.last_frame.load(Ordering::Relaxed) {
            0 => None,
            nanos => Some(self.origin + Duration::from_nanos(nanos)),
        }
    }

    /// When the body ended, if it has.
    fn ended_at(&self) -> Option<std::time::Instant> {
        match self.ended.load(Ordering::Relaxed) {
            0 => None,
            nanos => Some(self.origin + Duration::from_nanos(nanos)),
        }
    }
}

/// The body of an outgoing request: empty, bytes that can be sent again on a retry, or one
/// attempt's stream of a [`ReplayablePayload`].
pub(crate) struct RequestBody {
    data: Option<Bytes>,
    stream: Option<StreamingBody>,
    /// How far the body has got; `None` for an empty body (nothing to watch, nothing allocated).
    progress: Option<Arc<BodyProgress>>,
}

impl Default for RequestBody {
    fn default() -> Self {
        Self::bytes(Bytes::new())
    }
}

impl std::fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestBody").field("data", &self.data).field("streaming", &self.stream.is_some()).finish()
    }
}

impl RequestBody {
    pub(crate) fn bytes(data: Bytes) -> Self {
        let data = (!data.is_empty()).then_some(data);
        let progress = data.is_some().then(|| Arc::new(BodyProgress::new()));
        Self { data, stream: None, progress }
    }

    pub(crate) fn stream(payload: &dyn ReplayablePayload) -> Self {
        Self { data: None, stream: Some(payload.open()), progress: Some(Arc::new(BodyProgress::new())) }
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let frame = match this.stream.as_mut() {
            Some(stream) => match stream.as_mut().poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(frame) => frame,
            },
            None => this.data.as_mut().map(|data| {
                let frame = if data.len() > BODY_FRAME { data.split_to(BODY_FRAME) } else { std::mem::take(data) };
                Ok(Frame::data(frame))
            }),
        };
        if this.data.as_ref().is_some_and(Bytes::is_empty) {
            this.data = None;
        }
        if let Some(progress) = &this.progress {
            progress.frame();
            if frame.is_none() || this.is_end_stream() {
                progress.end();
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        match &self.stream {
            Some(stream) => stream.is_end_stream(),
            None => self.data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.stream {
            Some(stream) => stream.size_hint(),
            None => SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64)),
        }
    }
}

/// Per-host semaphores capping the connections open at once.
#[derive(Debug)]
struct ConnectionCap {
    per_host: usize,
    hosts: std::sync::Mutex<std::collections::HashMap<String, Arc<Semaphore>>>,
}

impl ConnectionCap {
    fn new(per_host: usize) -> Self {
        Self { per_host, hosts: std::sync::Mutex::new(std::collections::HashMap::new()) }
    }

    /// The semaphore of the URI's host (scheme, host and port).
    fn host(&self, uri: &http::Uri) -> Arc<Semaphore> {
        let key = format!("{}://{}", uri.scheme_str().unwrap_or("http"), uri.authority().map_or("", |a| a.as_str()));
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts.entry(key).or_insert_with(|| Arc::new(Semaphore::new(self.per_host))).clone()
    }
}

/// A TCP connector that counts the connections it opens and that close, and holds each to its
/// host's cap.
#[derive(Clone)]
struct CountingConnector {
    inner: HttpConnector,
    metrics: Arc<ConnectionMetrics>,
    cap: Option<Arc<ConnectionCap>>,
}

impl tower_service::Service<http::Uri> for CountingConnector {
    type Response = CountedStream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<CountedStream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let host = self.cap.as_ref().map(|cap| cap.host(&uri));
        let mut inner = self.inner.clone();
        let metrics = self.metrics.clone();
        Box::pin(async move {
            // Waits while the host is at its cap. When hyper's pool hands the waiting request a
            // connection that came back first, it lets this connect finish in the background and
            // pools the result, which then replaces a connection that closed.
            let permit = match host {
                Some(host) => Some(host.acquire_owned().await.map_err(|_| "connection cap closed")?),
                None => None,
            };
            let stream = inner.call(uri).await?;
            metrics.opened.fetch_add(1, Ordering::Relaxed);
            Ok(CountedStream { inner: stream, metrics, _permit: permit })
        })
    }
}

/// A TCP stream that counts itself closed when dropped (and then gives back its host's permit).
struct CountedStream {
    inner: TokioIo<TcpStream>,
    metrics: Arc<ConnectionMetrics>,
    _permit: Option<OwnedSemaphorePermit>,
}

impl Drop for CountedStream {
    fn drop(&mut self) {
        self.metrics.closed.fetch_add(1, Ordering::Relaxed);
    }
}

impl Connection for CountedStream {
    fn connected(&self) -> Connected {
        self.inner.connected()
    }
}

impl Read for CountedStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: ReadBufCursor<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl Write for CountedStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
}

type Connector = hyper_rustls::HttpsConnector<CountingConnector>;

/// The pooled HTTP client.
pub(crate) struct HttpClient {
    client: Client<Connector, RequestBody>,
    metrics: Arc<ConnectionMetrics>,
    read_timeout: Duration,
    stall_timeout: Duration,
    latency: LatencyTracker,
}

/// Recent first-byte latencies, for the adaptive first-byte timeout.
///
/// Body-less requests (GET, HEAD, DELETE) wait for their headers at most [`ADAPTIVE_MULTIPLIER`]
/// times the p90 of the last [`LATENCY_SAMPLES`] such latencies, never less than
/// [`ADAPTIVE_FLOOR`] nor more than the read timeout. A connection that hangs is then abandoned
/// after a few seconds instead of the full read timeout, while a store that is slow across the
/// board raises its own limit.
struct LatencyTracker {
    samples: std::sync::Mutex<LatencyRing>,
    /// The current p90, in microseconds (0 until enough samples).
    p90_micros: AtomicU64,
}

struct LatencyRing {
    values: [u32; LATENCY_SAMPLES],
    next: usize,
    filled: usize,
}

/// Latencies kept for the p90.
pub const LATENCY_SAMPLES: usize = 128;
/// The adaptive first-byte timeout is this many times the recent p90.
pub const ADAPTIVE_MULTIPLIER: u32 = 10;
/// The adaptive first-byte timeout is never below this.
pub const ADAPTIVE_FLOOR: Duration = Duration::from_secs(2);
/// Samples needed before the timeout adapts.
const MIN_SAMPLES: usize = 16;

impl LatencyTracker {
    fn new() -> Self {
        Self {
            samples: std::sync::Mutex::new(LatencyRing { values: [0; LATENCY_SAMPLES], next: 0, filled: 0 }),
            p90_micros: AtomicU64::new(0),
        }
    }

    fn record(&self, latency: Duration) {
        let micros = latency.as_micros().min(u32::MAX as u128) as u32;
        let mut ring = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        let at = ring.next;
        ring.values[at] = micros;
        ring.next = (at + 1) % LATENCY_SAMPLES;
        ring.filled = (ring.filled + 1).min(LATENCY_SAMPLES);
        // Recompute every 16 samples: a copy and a selection of at most 128 values.
        if ring.filled >= MIN_SAMPLES && ring.next.is_multiple_of(16) {
            let mut sorted = ring.values;
            let filled = ring.filled;
            drop(ring);
            let values = &mut sorted[..filled];
            let rank = (filled * 9 / 10).min(filled - 1);
            let (_, p90, _) = values.select_nth_unstable(rank);
            self.p90_micros.store(u64::from(*p90), Ordering::Relaxed);
        }
    }

    fn timeout(&self, ceiling: Duration) -> Duration {
        match self.p90_micros.load(Ordering::Relaxed) {
            0 => ceiling,
            p90 => (Duration::from_micros(p90) * ADAPTIVE_MULTIPLIER).max(ADAPTIVE_FLOOR).min(ceiling),
        }
    }
}

impl HttpClient {
    pub(crate) fn new(config: &ClientConfig) -> Result<Self, Error> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(config.connect_timeout));
        http.set_keepalive(Some(Duration::from_secs(30)));
        let metrics = Arc::new(ConnectionMetrics::default());
        let cap = config.pool.max_connections_per_host.map(|n| Arc::new(ConnectionCap::new(n)));
        let counting = CountingConnector { inner: http, metrics: metrics.clone(), cap };
        let tls = tls_config(config.accept_invalid_certs)?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(counting);
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(config.pool.max_idle_per_host)
            .pool_idle_timeout(config.pool.idle_timeout)
            .pool_timer(hyper_util::rt::TokioTimer::new())
            .build(connector);
        Ok(Self {
            client,
            metrics,
            read_timeout: config.read_timeout,
            stall_timeout: config.stall_timeout,
            latency: LatencyTracker::new(),
        })
    }

    pub(crate) fn metrics(&self) -> &Arc<ConnectionMetrics> {
        &self.metrics
    }

    pub(crate) fn stall_timeout(&self) -> Duration {
        self.stall_timeout
    }

    /// Sends one request and waits for its response headers.
    ///
    /// A body-less request waits for its headers at most the adaptive first-byte timeout (a
    /// multiple of the recent p90, see [`LatencyTracker`]), but a server-side copy, whose answer
    /// takes as long as its bytes, waits the read timeout. A request with a body is watched in
    /// two phases: while its body goes out, hyper must take a frame at least every stall timeout
    /// (a server that stopped reading is noticed); once the body has gone, a PUT (a part or an
    /// object) waits for its headers at most the adaptive first-byte timeout, counted from the
    /// body's end, so a server that sits on a received part is abandoned after seconds, not the
    /// read timeout. Other requests with a body (CompleteMultipartUpload, DeleteObjects: small
    /// bodies, answers that may take long to compute) keep the read timeout for their headers.
    pub(crate) async fn send(
        &self,
        request: http::Request<RequestBody>,
        context: &ErrorContext,
    ) -> Result<http::Response<Incoming>, Error> {
        self.metrics.requests.fetch_add(1, Ordering::Relaxed);
        let started = std::time::Instant::now();
        let body_less = request.body().is_end_stream();
        let adapts_after_body = request.method() == http::Method::PUT;
        let progress = request.body().progress.clone();
        // A server-side copy (CopyObject, UploadPartCopy) answers when the copy is done, which
        // takes as long as the bytes copied: it keeps the read timeout.
        let copies = request.headers().contains_key("x-amz-copy-source");
        let header_timeout = if copies { self.read_timeout } else { self.latency.timeout(self.read_timeout) };
        let sending = self.client.request(request);
        tokio::pin!(sending);
        let outcome = if let (false, Some(progress)) = (body_less, progress.as_deref()) {
            // What must have happened by when, in the phase the body is in now; `None` until
            // hyper takes the first frame (the connection is not ready yet: connecting has its
            // own timeout, and waiting for a pooled connection under a cap is back-pressure).
            let phase = || match progress.ended_at() {
                Some(ended) if adapts_after_body => Some((
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
                // Without a deadline, look again after a stall timeout (the first frame moves the
                // body into a phase with one).
                let wake = deadline.unwrap_or_else(|| std::time::Instant::now() + self.stall_timeout);
                tokio::select! {
                    result = &mut sending => break Ok(result),
                    () = tokio::time::sleep_until(wake.into()) => {}
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
                if body_less && !copies {
                    self.latency.record(started.elapsed());
                } else if let Some(ended) =
                    progress.as_deref().and_then(BodyProgress::ended_at).filter(|_| adapts_after_body)
                {
                    self.latency.record(ended.elapsed());
                }
                Ok(response)
            }
            Ok(Err(e)) => {
                let message = if e.is_connect() { "connecting" } else { "sending the request" };
                Err(Error::transport(context.clone(), message, e))
            }
            Err((what, after)) => Err(Error::Timeout { context: Box::new(context.clone()), what, after }),
        }
    }
}

fn tls_config(accept_invalid_certs: bool) -> Result<rustls::ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::InvalidConfig(format!("TLS set-up: {e}")))?;
    let config = if accept_invalid_certs {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            // A system certificate rustls cannot parse is skipped, as browsers do.
            let _ = roots.add(cert);
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(config)
}

/// The `--no-verify-ssl` verifier: accepts any certificate, still checks handshake signatures.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A streaming response body with a per-read timeout and the drain-or-close rule on drop.
pub struct ResponseBody {
    body: Option<Incoming>,
    remaining: Option<u64>,
    read_timeout: Duration,
    context: ErrorContext,
}

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody").field("remaining", &self.remaining).finish_non_exhaustive()
    }
}

impl ResponseBody {
    pub(crate) fn new(body: Incoming, read_timeout: Duration, context: ErrorContext) -> Self {
        let remaining = body.size_hint().exact();
        Self { body: Some(body), remaining, read_timeout, context }
    }

    /// Bytes still to come, when the response said (Content-Length).
    pub fn remaining(&self) -> Option<u64> {
        self.remaining
    }

    /// The next chunk of the body, `None` at its end. A body that ends before its Content-Length,
    /// a reset, or no bytes within the read timeout is an error.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>, Error> {
        let Some(body) = self.body.as_mut() else { return Ok(None) };
        loop {
            let frame = match tokio::time::timeout(self.read_timeout, body.frame()).await {
                Err(_) => {
                    // The connection is in an unknown state: close it.
                    self.body = None;
                    return Err(Error::Timeout {
                        context: Box::new(self.context.clone()),
                        what: "waiting for body bytes",
                        after: self.read_timeout,
                    });
                }
                Ok(None) => {
                    self.body = None;
                    return match self.remaining {
                        Some(left) if left > 0 => Err(Error::transport(
                            self.context.clone(),
                            "reading the response body",
                            format!("body ended {left} bytes early"),
                        )),
                        _ => Ok(None),
                    };
                }
                Ok(Some(Err(e))) => {
                    self.body = None;
                    return Err(Error::transport(self.context.clone(), "reading the response body", e));
                }
                Ok(Some(Ok(frame))) => frame,
            };
            if let Ok(data) = frame.into_data() {
                if let Some(left) = self.remaining.as_mut() {
                    *left = left.saturating_sub(data.len() as u64);
                }
                if !data.is_empty() {
                    return Ok(Some(data));
                }
            }
        }
    }

    /// Reads the whole body into one buffer (for small XML answers).
    pub(crate) async fn collect(mut self, limit: usize) -> Result<Bytes, Error> {
        let mut out = bytes::BytesMut::with_capacity(self.remaining.unwrap_or(0).min(limit as u64) as usize);
        while let Some(chunk) = self.next_chunk().await? {
            if out.len() + chunk.len() > limit {
                return Err(Error::invalid_response(
                    self.context.clone(),
                    format!("response body larger than {limit} bytes"),
                ));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out.freeze())
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        let Some(mut body) = self.body.take() else { return };
        if body.is_end_stream() {
            return;
        }
        let small = self.remaining.is_some_and(|left| left <= DRAIN_THRESHOLD);
        if !small {
            // Dropping an unfinished hyper body closes its connection.
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let timeout = self.read_timeout;
        runtime.spawn(async move {
            let drain = async { while let Some(Ok(_)) = body.frame().await {} };
            let _ = tokio::time::timeout(timeout, drain).await;
        });
    }
}
