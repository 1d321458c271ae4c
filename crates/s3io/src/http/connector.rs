//! Connections: plain TCP for `http://` endpoints, rustls for `https://`, either of them
//! through an HTTP proxy.
//!
//! The proxy ([`ProxyConfig`], read once when the client is built) is chosen per connection by
//! [`ProxyRules`]: hyper-util's [`Matcher`] (curl's rules for `HTTPS_PROXY`, `HTTP_PROXY`,
//! `ALL_PROXY` and `NO_PROXY`), plus the `NO_PROXY` entries with a port (`localhost:9000`), which
//! the matcher ignores and which exempt that port of that host only (as Go's and Python's rules
//! do). An `https://` endpoint is reached through a CONNECT tunnel (hyper-util's
//! [`Tunnel`], with `Proxy-Authorization` from the proxy URL's user info), and TLS runs end to
//! end inside it. An `http://` endpoint is reached through a plain connection to the proxy,
//! marked proxied so that hyper sends absolute-form requests (`GET http://host/key`); their
//! `Proxy-Authorization` header is added per request by the [`HttpClient`](super::HttpClient).
//!
//! The connector counts connections opened and closed ([`ConnectionMetrics`], which also counts
//! the bytes requests moved, for the concurrency controller), so tests and benchmarks can see
//! whether keep-alive works. Before dialing, a connect asks its host's load (module `reuse`)
//! whether a connection is needed at all, and then holds the optional cap on connections per
//! host ([`PoolConfig::max_connections_per_host`]): a connection holds a permit of its host's
//! semaphore from its connect to its close, so a connect beyond the cap waits, and the request
//! behind it takes the first connection that returns to the pool.
//!
//! [`PoolConfig::max_connections_per_host`]: crate::config::PoolConfig::max_connections_per_host

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;

use super::reuse::{Hosts, Open};
use crate::config::{check_proxy_url, ClientConfig, ProxyConfig};
use crate::error::{BoxError, Error};

/// Connection counters of one client.
#[derive(Debug, Default)]
pub struct ConnectionMetrics {
    opened: AtomicU64,
    closed: AtomicU64,
    requests: AtomicU64,
    received: AtomicU64,
    sent: AtomicU64,
    first_byte_count: AtomicU64,
    first_byte_micros: AtomicU64,
}

impl ConnectionMetrics {
    pub(crate) fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one request's first-byte latency (the wait for its headers once it was sent).
    pub(crate) fn record_first_byte(&self, latency: std::time::Duration) {
        self.first_byte_count.fetch_add(1, Ordering::Relaxed);
        self.first_byte_micros.fetch_add(latency.as_micros().min(u128::from(u64::MAX)) as u64, Ordering::Relaxed);
    }

    /// First-byte latencies counted so far: how many, and their total in microseconds.
    pub(crate) fn first_byte_totals(&self) -> (u64, u64) {
        // The total is read first: a latency counted in between makes the mean a little low,
        // never a division by a count that excludes its total.
        let micros = self.first_byte_micros.load(Ordering::Relaxed);
        (self.first_byte_count.load(Ordering::Relaxed), micros)
    }

    /// Response body bytes read so far (hyper's read cursor does not say how much a read
    /// filled, so the bodies count them as they are read).
    pub(crate) fn count_received(&self, bytes: u64) {
        self.received.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Response body bytes read so far.
    pub fn bytes_received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Counts a request body the store answered (so it crossed the network).
    pub(crate) fn count_sent(&self, bytes: u64) {
        self.sent.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Request body bytes sent so far, counted when the store answers each request: bytes
    /// written to a socket may sit in the kernel's buffers for long, so counting them as
    /// written would show bursts the network never carried.
    pub fn bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

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

/// A TCP connector that counts the connections it opens and that close, and holds each to its
/// host's cap.
#[derive(Clone)]
pub(crate) struct CountingConnector {
    inner: HttpConnector,
    metrics: Arc<ConnectionMetrics>,
    hosts: Arc<Hosts>,
    proxy: Option<Arc<ProxyRules>>,
    connect_timeout: std::time::Duration,
}

impl tower_service::Service<http::Uri> for CountingConnector {
    type Response = CountedStream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<CountedStream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let load = self.hosts.load(&uri);
        // The task of the request this connect is for: hyper-util moves the connect into a task
        // of its own when the request takes a pooled connection first.
        let origin = tokio::task::try_id();
        let mut inner = self.inner.clone();
        let metrics = self.metrics.clone();
        let intercept = self.proxy.as_ref().and_then(|matcher| matcher.intercept(&uri));
        let connect_timeout = self.connect_timeout;
        Box::pin(async move {
            // Waits while a connection is idle or on its way back to the pool (module `reuse`).
            let Some(dialing) = load.dial_permit(origin).await else {
                return Err("connection not needed: its request took a pooled one".into());
            };
            // Waits while the host is at its cap. When hyper's pool hands the waiting request a
            // connection that came back first, it lets this connect finish in the background and
            // pools the result, which then replaces a connection that closed.
            let permit = match load.cap() {
                Some(cap) => Some(cap.clone().acquire_owned().await.map_err(|_| "connection cap closed")?),
                None => None,
            };
            let (stream, proxied) = match intercept {
                None => (inner.call(uri).await?, false),
                Some(proxy) => {
                    let through = |source: BoxError| ProxyError::new(proxy.uri(), &uri, source);
                    if uri.scheme() == Some(&http::uri::Scheme::HTTPS) {
                        let mut tunnel = Tunnel::new(proxy.uri().clone(), inner);
                        if let Some(auth) = proxy.basic_auth() {
                            tunnel = tunnel.with_auth(auth.clone());
                        }
                        // The CONNECT answer is waited for within the connect timeout too.
                        let connecting = async {
                            futures::future::poll_fn(|cx| tunnel.poll_ready(cx)).await?;
                            tunnel.call(uri.clone()).await
                        };
                        match tokio::time::timeout(connect_timeout, connecting).await {
                            Ok(Ok(stream)) => (stream, false),
                            Ok(Err(e)) => return Err(through(Box::new(e)).into()),
                            Err(_) => {
                                return Err(
                                    through(format!("no answer to CONNECT within {connect_timeout:?}").into()).into()
                                )
                            }
                        }
                    } else {
                        (inner.call(proxy.uri().clone()).await.map_err(|e| through(Box::new(e)))?, true)
                    }
                }
            };
            metrics.opened.fetch_add(1, Ordering::Relaxed);
            Ok(CountedStream { inner: stream, metrics, _open: dialing.opened(), _permit: permit, proxied })
        })
    }
}

/// A TCP stream that counts itself closed when dropped (and then gives back its host's permit).
pub(crate) struct CountedStream {
    inner: TokioIo<TcpStream>,
    metrics: Arc<ConnectionMetrics>,
    /// Counted open for its host until dropped.
    _open: Open,
    _permit: Option<OwnedSemaphorePermit>,
    /// A plain connection to an HTTP proxy: requests on it go in absolute form.
    proxied: bool,
}

impl Drop for CountedStream {
    fn drop(&mut self) {
        self.metrics.closed.fetch_add(1, Ordering::Relaxed);
    }
}

impl Connection for CountedStream {
    /// A plain connection, without the TCP stream's `HttpInfo` (its addresses): hyper-util copies
    /// a connection's extra into every response's extensions, three allocations per request for
    /// what nothing here reads.
    fn connected(&self) -> Connected {
        Connected::new().proxy(self.proxied)
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

/// The connector of an [`HttpClient`](super::HttpClient): TLS over the counting TCP connector.
pub(crate) type Connector = hyper_rustls::HttpsConnector<CountingConnector>;

/// A connection through a proxy that failed: which proxy, to where, and why.
#[derive(Debug, thiserror::Error)]
#[error("through proxy {proxy} to {target}")]
pub(crate) struct ProxyError {
    proxy: String,
    target: String,
    #[source]
    source: BoxError,
}

impl ProxyError {
    fn new(proxy: &http::Uri, target: &http::Uri, source: BoxError) -> Self {
        // The proxy's URI without its user info (the password stays out of messages).
        let proxy = match proxy.authority() {
            Some(authority) => {
                let host = authority.as_str().rsplit('@').next().unwrap_or_default();
                format!("{}://{host}", proxy.scheme_str().unwrap_or("http"))
            }
            None => proxy.to_string(),
        };
        let target = target.authority().map_or_else(|| target.to_string(), |a| a.to_string());
        Self { proxy, target, source }
    }
}

/// The TLS error under a failure to connect, when the handshake is what failed (an untrusted
/// certificate, a name mismatch, no common protocol): retrying cannot help.
pub(crate) fn tls_failure(error: &Error) -> Option<rustls::Error> {
    causes(error).find_map(|e| e.downcast_ref::<rustls::Error>()).cloned()
}

/// Whether a failure to connect is a proxy's refusal of the CONNECT for want of credentials
/// (407), which retrying cannot mend.
pub(crate) fn proxy_refused(error: &Error) -> bool {
    causes(error)
        .find_map(|e| e.downcast_ref::<ProxyError>())
        // hyper-util's `TunnelError` is not public: its message is what can be matched.
        .is_some_and(|proxy| proxy.source.to_string().contains("proxy authorization required"))
}

/// The causes of a transport error, outermost first, I/O errors stepped into: an I/O error's
/// `source` skips the error it wraps, and hyper-rustls wraps rustls's I/O error in another.
fn causes(error: &Error) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
    let first: Option<&(dyn std::error::Error + 'static)> = match error {
        Error::Transport { source, .. } => Some(source.as_ref()),
        _ => None,
    };
    std::iter::successors(first, |e| match e.downcast_ref::<std::io::Error>() {
        Some(io) => io.get_ref().map(|inner| inner as &(dyn std::error::Error + 'static)),
        None => e.source(),
    })
}

/// The environment variables [`ProxyConfig::FromEnvironment`] reads (as curl does).
const PROXY_VARIABLES: [&str; 6] = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"];

/// Whether a `NO_PROXY` list holds `*`, curl's "no host is proxied" (hyper-util's matcher
/// applies it to host names only, not to IP addresses).
fn bypasses_all(no_proxy: &str) -> bool {
    no_proxy.split(',').any(|entry| entry.trim() == "*")
}

/// Which connections go through a proxy: hyper-util's [`Matcher`], except for the hosts and
/// ports of the `NO_PROXY` entries that name a port, which the matcher ignores.
pub(crate) struct ProxyRules {
    matcher: Matcher,
    /// The `NO_PROXY` entries that name a port, parsed once.
    direct: Vec<PortEntry>,
}

/// A `NO_PROXY` entry `host:port`.
#[derive(Debug, PartialEq, Eq)]
struct PortEntry {
    /// The host in lower case: an address (IPv6 without its brackets) or a host name without a
    /// leading `.` or `*.` (which change nothing: a name matches itself and its subdomains).
    host: String,
    /// Whether `host` is a name, which subdomains match too.
    name: bool,
    port: u16,
}

impl PortEntry {
    /// As the matcher treats entries without a port: an address matches itself, a host name
    /// itself and its subdomains.
    fn matches(&self, host: &str, port: u16) -> bool {
        if port != self.port {
            return false;
        }
        let Some(at) = host.len().checked_sub(self.host.len()) else { return false };
        host.get(at..).is_some_and(|tail| tail.eq_ignore_ascii_case(&self.host))
            && (at == 0 || (self.name && host.as_bytes()[at - 1] == b'.'))
    }
}

impl ProxyRules {
    fn new(matcher: Matcher, no_proxy: &str) -> Self {
        Self { matcher, direct: entries_with_port(no_proxy) }
    }

    /// The proxy for a connection to `uri`, or `None` to connect directly.
    pub(crate) fn intercept(&self, uri: &http::Uri) -> Option<Intercept> {
        if self.exempts_port(uri) {
            return None;
        }
        self.matcher.intercept(uri)
    }

    fn exempts_port(&self, uri: &http::Uri) -> bool {
        if self.direct.is_empty() {
            return false;
        }
        let Some(host) = uri.host() else { return false };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        self.direct.iter().any(|entry| entry.matches(host, port))
    }
}

/// The `NO_PROXY` entries that name a port: `host:port` or `[v6-address]:port`.
fn entries_with_port(no_proxy: &str) -> Vec<PortEntry> {
    no_proxy
        .split(',')
        .filter_map(|entry| {
            let entry = entry.trim();
            let (host, port) = match entry.strip_prefix('[') {
                Some(rest) => {
                    let (address, after) = rest.split_once(']')?;
                    (address, after.strip_prefix(':')?)
                }
                // A bare IPv6 address has several colons and no port.
                None if entry.matches(':').count() == 1 => entry.split_once(':')?,
                None => return None,
            };
            let port = port.parse().ok()?;
            let host = host.strip_prefix("*.").or_else(|| host.strip_prefix('.')).unwrap_or(host);
            let name = host.parse::<std::net::IpAddr>().is_err();
            (!host.is_empty()).then(|| PortEntry { host: host.to_ascii_lowercase(), name, port })
        })
        .collect()
}

/// The proxy rules of `config`, or `None` when no connection goes through a proxy.
pub(crate) fn proxy_matcher(config: &ProxyConfig) -> Result<Option<Arc<ProxyRules>>, Error> {
    let rules = match config {
        ProxyConfig::Disabled => return Ok(None),
        ProxyConfig::FromEnvironment => {
            let mut any = false;
            for name in PROXY_VARIABLES {
                if let Some(value) = std::env::var(name).ok().filter(|v| !v.trim().is_empty()) {
                    check_proxy_url(value.trim()).map_err(|e| Error::InvalidConfig(format!("{name}: {e}")))?;
                    any = true;
                }
            }
            let no_proxy = std::env::var("NO_PROXY").or_else(|_| std::env::var("no_proxy")).unwrap_or_default();
            if !any || bypasses_all(&no_proxy) {
                return Ok(None);
            }
            ProxyRules::new(Matcher::from_env(), &no_proxy)
        }
        ProxyConfig::Explicit { http, https, no_proxy } => {
            config.validate()?;
            if (http.is_none() && https.is_none()) || no_proxy.as_deref().is_some_and(bypasses_all) {
                return Ok(None);
            }
            let mut builder = Matcher::builder();
            if let Some(url) = http {
                builder = builder.http(url.clone());
            }
            if let Some(url) = https {
                builder = builder.https(url.clone());
            }
            if let Some(no) = no_proxy {
                builder = builder.no(no.clone());
            }
            ProxyRules::new(builder.build(), no_proxy.as_deref().unwrap_or_default())
        }
    };
    Ok(Some(Arc::new(rules)))
}

/// The connector for `config`, counting into `metrics`, through the proxy `proxy` chooses.
pub(crate) fn connector(
    config: &ClientConfig,
    metrics: Arc<ConnectionMetrics>,
    hosts: Arc<Hosts>,
    proxy: Option<Arc<ProxyRules>>,
    ca_bundle: Option<&[u8]>,
) -> Result<Connector, Error> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(config.connect_timeout));
    http.set_keepalive(Some(std::time::Duration::from_secs(30)));
    let counting = CountingConnector { inner: http, metrics, hosts, proxy, connect_timeout: config.connect_timeout };
    let tls = tls_config(config, ca_bundle)?;
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(counting))
}

fn tls_config(config: &ClientConfig, ca_bundle: Option<&[u8]>) -> Result<rustls::ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::InvalidConfig(format!("TLS set-up: {e}")))?;
    let config = if config.accept_invalid_certs {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth()
    } else {
        let roots = match ca_bundle {
            // As the AWS CLI: the bundle replaces the system's roots.
            Some(pem) => bundle_roots(pem, config.ca_bundle.as_deref().unwrap_or(std::path::Path::new("")))?,
            None => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in rustls_native_certs::load_native_certs().certs {
                    // A system certificate rustls cannot parse is skipped, as browsers do.
                    let _ = roots.add(cert);
                }
                roots
            }
        };
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(config)
}

/// The trust roots of a CA bundle: every certificate of the PEM text `pem`, read from `path`.
/// A bundle with no certificate, or one rustls cannot use, is an error naming the file.
fn bundle_roots(pem: &[u8], path: &std::path::Path) -> Result<rustls::RootCertStore, Error> {
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for (i, cert) in rustls::pki_types::CertificateDer::pem_slice_iter(pem).enumerate() {
        let cert = cert
            .map_err(|e| Error::InvalidConfig(format!("CA bundle {}: certificate {}: {e}", path.display(), i + 1)))?;
        roots
            .add(cert)
            .map_err(|e| Error::InvalidConfig(format!("CA bundle {}: certificate {}: {e}", path.display(), i + 1)))?;
    }
    if roots.is_empty() {
        return Err(Error::InvalidConfig(format!("CA bundle {}: no PEM certificate in it", path.display())));
    }
    Ok(roots)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(no_proxy: &str) -> ProxyRules {
        let matcher = Matcher::builder()
            .http("http://proxy.test:3128".to_owned())
            .https("http://proxy.test:3128".to_owned())
            .no(no_proxy.to_owned())
            .build();
        ProxyRules::new(matcher, no_proxy)
    }

    fn direct(rules: &ProxyRules, uri: &str) -> bool {
        rules.intercept(&uri.parse().unwrap()).is_none()
    }

    #[test]
    fn no_proxy_entries_with_a_port_exempt_that_port_only() {
        let rules = rules("localhost:9000, [::1]:9000, .corp.test:443, example.com, 10.0.0.0/8, fd00::1");
        assert!(direct(&rules, "http://localhost:9000/b/k"));
        assert!(direct(&rules, "http://LocalHost:9000/"));
        assert!(!direct(&rules, "http://localhost:9001/"));
        assert!(!direct(&rules, "http://localhost/"));
        assert!(direct(&rules, "http://minio.localhost:9000/"));
        assert!(!direct(&rules, "http://notlocalhost:9000/"));
        assert!(direct(&rules, "http://[::1]:9000/"));
        assert!(!direct(&rules, "http://[::1]:9001/"));
        // A domain entry with a port: the domain and its subdomains, on that port (443 is https's
        // default).
        assert!(direct(&rules, "https://s3.corp.test/"));
        assert!(direct(&rules, "https://corp.test:443/"));
        assert!(!direct(&rules, "http://s3.corp.test/"));
        assert!(!direct(&rules, "https://notcorp.test/"));
        // Entries without a port stay the matcher's.
        assert!(direct(&rules, "http://example.com:1234/"));
        assert!(direct(&rules, "http://10.1.2.3:9000/"));
        assert!(!direct(&rules, "http://other.test/"));
    }

    #[test]
    fn entries_with_port_skips_the_rest() {
        let entry = |host: &str, name, port| PortEntry { host: host.into(), name, port };
        assert_eq!(
            entries_with_port(" A.test:80 ,b.test, [fd00::1]:9000, fd00::1, :80, c.test:x, [::1], *.d.test:8080"),
            vec![entry("a.test", true, 80), entry("fd00::1", false, 9000), entry("d.test", true, 8080)]
        );
    }
}
