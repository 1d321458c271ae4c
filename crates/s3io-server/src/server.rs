//! The listener: accepts connections and serves HTTP/1.1 (keep-alive) with
//! hyper, each connection on a task of its own, until shut down.
//!
//! On Linux each connection's I/O is a [`SpliceIo`], and every request on it
//! carries the connection's [`SpliceLink`], so GET bodies go from the page
//! cache to the socket without a user-space copy (see [`crate::splice`]).
//!
//! [`start`] binds and returns at once; the accept loop runs on the caller's
//! tokio runtime. [`RunningServer::shutdown`] stops accepting, lets requests in
//! flight finish for up to [`GRACE`] (idle keep-alive connections close at
//! once), then aborts what is left. Dropping the [`RunningServer`] aborts the
//! loop and every connection immediately.
//!
//! With an emulated network (see [`crate::network`]) each accepted socket is a
//! [`ShapedStream`] under everything else, so every byte in either direction,
//! spliced or copied, is paced.
//!
//! An injected outage (see [`crate::fault`]) is carried out here too: in
//! `refuse` mode the loop closes the listening socket and every connection,
//! then listens again on the same address when the outage ends; in `drop`
//! mode it stops accepting until then.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioTimer;
use s3s::service::S3ServiceBuilder;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::auth::{RegionCheck, SingleKeyAuth};
use crate::fault::{FaultBody, FaultCounters, FaultService, FaultStats, OutageMode};
use crate::network::{Network, ShapedStream};
use crate::request_log::{LoggedBody, RequestLog, RequestRecord};
use crate::{FsStore, ServerConfig, ServerError};

/// How long [`RunningServer::shutdown`] waits for requests in flight.
pub const GRACE: Duration = Duration::from_secs(5);

/// Longest wait for a client's TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Pause after a failed `accept` (e.g. out of file descriptors) before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);

/// A server started by [`start`]. Dropping it stops the server.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    tls: bool,
    counters: Arc<FaultCounters>,
    log: Option<Arc<RequestLog>>,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

/// Starts serving `config.root` on `config.addr`; returns once the socket is bound.
///
/// Must be called within a tokio runtime (multi-threaded or current-thread),
/// which then runs the server.
///
/// # Errors
/// [`ServerError::Root`] when the root directory cannot be used,
/// [`ServerError::Bind`] when the address cannot be bound,
/// [`ServerError::Config`] for unusable settings.
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
    config.validate()?;
    let root = config.root.clone();
    let body_read_timeout = config.body_read_timeout;
    let store = tokio::task::spawn_blocking(move || FsStore::with_body_read_timeout(&root, body_read_timeout))
        .await
        .map_err(|e| ServerError::Root { path: config.root.clone(), source: std::io::Error::other(e) })?
        .map_err(|source| ServerError::Root { path: config.root.clone(), source })?;
    store.set_default_checksum(config.default_checksum);
    store.set_conditional_writes(config.conditional_writes);
    store.set_region(config.region.as_deref());

    let mut builder = S3ServiceBuilder::new(store.clone());
    builder.set_auth(SingleKeyAuth::new(config.access_key.clone(), config.secret_key.clone()));
    builder.set_access(RegionCheck::new(store));
    let mut s3_config = s3s::config::S3Config::default();
    s3_config.xml_max_body_size = crate::guard::MAX_XML_BODY;
    builder.set_config(Arc::new(s3s::config::StaticConfigProvider::new(Arc::new(s3_config))));
    let counters = Arc::new(FaultCounters::default());
    let epoch = tokio::time::Instant::now();
    let service = FaultService::new(builder.build(), config.faults.clone(), counters.clone(), epoch);
    let log = RequestLog::new(config.request_log, config.request_log_file.as_deref()).map_err(|source| {
        ServerError::RequestLog { path: config.request_log_file.clone().unwrap_or_default(), source }
    })?;

    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(tls_acceptor(cert, key).await?),
        _ => None,
    };
    let listener =
        TcpListener::bind(config.addr).await.map_err(|source| ServerError::Bind { addr: config.addr, source })?;
    let addr = listener.local_addr().map_err(|source| ServerError::Bind { addr: config.addr, source })?;
    let stop = CancellationToken::new();
    let network = config.network.clone().map(Network::new);
    let https = tls.is_some();
    let task = tokio::spawn(accept_loop(listener, service, network, log.clone(), tls, stop.clone()));
    let network = config.network.as_ref().map(ToString::to_string);
    tracing::info!(%addr, https, root = %config.root.display(), faults = ?config.faults, ?network, "s3io server listening");
    Ok(RunningServer { addr, tls: https, counters, log, stop, task: Some(task) })
}

/// The TLS acceptor of the certificate chain and key in these PEM files (HTTP/1.1 only).
async fn tls_acceptor(cert: &std::path::Path, key: &std::path::Path) -> Result<tokio_rustls::TlsAcceptor, ServerError> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let failed = |source: Box<dyn std::error::Error + Send + Sync>| ServerError::Tls {
        cert: cert.to_owned(),
        key: key.to_owned(),
        source,
    };
    let cert_pem = tokio::fs::read(cert).await.map_err(|e| failed(e.into()))?;
    let key_pem = tokio::fs::read(key).await.map_err(|e| failed(e.into()))?;
    let chain =
        CertificateDer::pem_slice_iter(&cert_pem).collect::<Result<Vec<_>, _>>().map_err(|e| failed(e.into()))?;
    if chain.is_empty() {
        return Err(failed("no PEM certificate in the certificate file".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| failed(e.into()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| failed(e.into()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| failed(e.into()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

async fn accept_loop(
    listener: TcpListener,
    service: FaultService,
    network: Option<Arc<Network>>,
    log: Option<Arc<RequestLog>>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    stop: CancellationToken,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    // Vectored writes also keep hyper from copying body bytes into its own
    // buffer, which spliced bodies rely on.
    http.keep_alive(true).writev(true).timer(TokioTimer::new());
    let mut conns = JoinSet::new();
    let addr = listener.local_addr().ok();
    let mut listener = Some(listener);
    let outage = service.outage();
    let outage_begun = async {
        match &outage {
            Some(clock) => clock.begun().await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(outage_begun);
    let mut outage_pending = outage.is_some();
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            ends = &mut outage_begun, if outage_pending => {
                outage_pending = false;
                let refuse = outage.as_ref().is_some_and(|o| o.mode() == OutageMode::Refuse);
                if refuse {
                    // A server restarting: new connections refused, open ones closed.
                    drop(listener.take());
                    conns.abort_all();
                }
                tracing::info!(refuse, "injected outage begins");
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep_until(ends) => {}
                }
                if refuse {
                    listener = match addr {
                        Some(addr) => listen_again(addr).await,
                        None => None,
                    };
                }
                tracing::info!("injected outage ends");
            }
            accepted = accept(listener.as_ref()) => match accepted {
                Ok((socket, _)) => {
                    let _ = socket.set_nodelay(true);
                    let socket = ShapedStream::new(socket, network.as_ref());
                    if let Some(acceptor) = &tls {
                        // The handshake runs on the connection's task, not in this loop.
                        let handshake = acceptor.accept(socket);
                        let service = ConnectionService::unspliced(&service, log.clone());
                        let (http, watcher) = (http.clone(), graceful.watcher());
                        conns.spawn(async move {
                            let stream = match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, handshake).await {
                                Ok(Ok(stream)) => stream,
                                Ok(Err(e)) => return tracing::debug!(error = %e, "TLS handshake failed"),
                                Err(_) => return tracing::debug!("TLS handshake timed out"),
                            };
                            let conn = watcher.watch(http.serve_connection(hyper_util::rt::TokioIo::new(stream), service));
                            if let Err(e) = conn.await {
                                tracing::debug!(error = %e, "connection ended with an error");
                            }
                        });
                        continue;
                    }
                    let (io, service) = connection(socket, &service, log.clone());
                    let conn = http.serve_connection(io, service);
                    let conn = graceful.watch(conn);
                    conns.spawn(async move {
                        if let Err(e) = conn.await {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(GRACE, graceful.shutdown()).await;
    conns.shutdown().await;
}

/// The next connection of `listener`; never, without one.
async fn accept(listener: Option<&TcpListener>) -> std::io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(listener) => listener.accept().await,
        None => std::future::pending().await,
    }
}

/// Binds `addr` again after an outage closed its listener (bounded: 100 tries, 20 ms apart).
/// With `SO_REUSEADDR`, as the first listener had, the closed connections' `TIME_WAIT`
/// does not hold the port.
async fn listen_again(addr: SocketAddr) -> Option<TcpListener> {
    let mut last = None;
    for _ in 0..100 {
        let socket = if addr.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() };
        let bound = socket.and_then(|s| {
            s.set_reuseaddr(true)?;
            s.bind(addr)?;
            s.listen(1024)
        });
        match bound {
            Ok(listener) => return Some(listener),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(ACCEPT_BACKOFF).await;
    }
    tracing::error!(%addr, error = ?last, "cannot listen again after the injected outage");
    None
}

/// The service for one connection: answers the requests S3 refuses unread
/// (see [`crate::guard`]), puts the connection's link (if any) into each
/// request's extensions, where `get_object` finds it, and logs each request
/// when a request log is kept.
#[derive(Clone)]
struct ConnectionService {
    inner: FaultService,
    log: Option<Arc<RequestLog>>,
    /// The connection's splice link; none on TLS connections.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    link: Option<crate::splice::SpliceLink>,
}

impl ConnectionService {
    /// The service of a connection whose bodies cannot be spliced (TLS).
    fn unspliced(service: &FaultService, log: Option<Arc<RequestLog>>) -> Self {
        Self {
            inner: service.clone(),
            log,
            #[cfg(any(target_os = "linux", target_os = "android"))]
            link: None,
        }
    }
}

impl hyper::service::Service<Request<Incoming>> for ConnectionService {
    type Response = http::Response<LoggedBody<Either<FaultBody, Full<Bytes>>>>;
    type Error = s3s::HttpError;
    type Future = futures::future::BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        let logged = self.log.as_ref().map(|log| (crate::request_log::begin(&req), log.clone()));
        if let Some(refused) = crate::guard::refuse(&req) {
            return Box::pin(async move { Ok(logged_response(refused.map(Either::Right), logged)) });
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Some(link) = &self.link {
            req.extensions_mut().insert(link.clone());
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = &mut req;
        let call = self.inner.call(req);
        Box::pin(async move { Ok(logged_response(call.await?.map(Either::Left), logged)) })
    }
}

/// `response`, its body counted and logged as `logged` (if given) once it is done.
fn logged_response<B>(
    response: http::Response<B>,
    logged: Option<(RequestRecord, Arc<RequestLog>)>,
) -> http::Response<LoggedBody<B>> {
    let status = response.status().as_u16();
    response.map(|body| LoggedBody::new(body, logged, status))
}

/// The I/O and service for a new connection.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn connection(
    socket: ShapedStream,
    service: &FaultService,
    log: Option<Arc<RequestLog>>,
) -> (crate::splice::SpliceIo, ConnectionService) {
    let (io, link) = crate::splice::SpliceIo::new(socket);
    (io, ConnectionService { inner: service.clone(), log, link: Some(link) })
}

/// The I/O and service for a new connection.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn connection(
    socket: ShapedStream,
    service: &FaultService,
    log: Option<Arc<RequestLog>>,
) -> (hyper_util::rt::TokioIo<ShapedStream>, ConnectionService) {
    (hyper_util::rt::TokioIo::new(socket), ConnectionService { inner: service.clone(), log })
}

impl RunningServer {
    /// The address the server listens on (with the OS-chosen port).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The endpoint URL for clients, `http://127.0.0.1:PORT` (path-style addressing), or
    /// `https://` when the server serves TLS.
    pub fn endpoint_url(&self) -> String {
        format!("{}://{}", if self.tls { "https" } else { "http" }, self.addr)
    }

    /// Requests served and faults injected so far.
    pub fn fault_stats(&self) -> FaultStats {
        self.counters.snapshot()
    }

    /// The requests answered so far, in the order their answers finished, when the server
    /// keeps a request log in memory ([`ServerConfig::with_request_log`]); empty otherwise.
    pub fn request_log(&self) -> Vec<RequestRecord> {
        self.log.as_ref().map(|log| log.records()).unwrap_or_default()
    }

    /// Stops accepting connections, waits up to [`GRACE`] for requests in
    /// flight, then closes every connection.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
