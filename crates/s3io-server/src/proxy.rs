//! [`ForwardProxy`]: a small HTTP forward proxy on loopback, for testing clients' proxy support
//! (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`) against the embedded server.
//!
//! It is a real proxy, not a mock of anything: a CONNECT request opens a TCP tunnel to the
//! named host and port and copies bytes both ways (TLS runs end to end inside it); any other
//! request must be in absolute form (`GET http://host:port/path`) and is forwarded to that host
//! with hyper's client, the answer streamed back. With credentials set, a request without the
//! matching `Proxy-Authorization: Basic …` is answered 407. It counts tunnels, forwarded
//! requests and refusals, so a test can assert that a client's requests went through it (or,
//! under `NO_PROXY`, did not).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

type ProxyBody = BoxBody<Bytes, hyper::Error>;

/// A running forward proxy; dropping it stops it.
#[derive(Debug)]
pub struct ForwardProxy {
    addr: SocketAddr,
    counts: Arc<Counts>,
    task: JoinHandle<()>,
}

#[derive(Debug, Default)]
struct Counts {
    tunnels: AtomicU64,
    forwarded: AtomicU64,
    refused: AtomicU64,
}

struct Shared {
    counts: Arc<Counts>,
    /// The `Proxy-Authorization` value required, if any.
    auth: Option<String>,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Incoming>,
}

impl ForwardProxy {
    /// Starts a proxy on `127.0.0.1` (an OS-chosen port); with `credentials` (user, password)
    /// it requires them in `Proxy-Authorization`.
    ///
    /// # Errors
    /// When the listening socket cannot be bound.
    pub async fn start(credentials: Option<(&str, &str)>) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let counts = Arc::new(Counts::default());
        let auth = credentials.map(|(user, password)| {
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
        });
        let client = Client::builder(TokioExecutor::new()).build_http();
        let shared = Arc::new(Shared { counts: counts.clone(), auth, client });
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    // Out of file descriptors or the like: a pause, not a busy loop.
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    continue;
                };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| handle(shared.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(socket), service)
                        .with_upgrades()
                        .await;
                });
            }
        });
        Ok(Self { addr, counts, task })
    }

    /// The proxy's URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// CONNECT tunnels opened so far.
    pub fn tunnels(&self) -> u64 {
        self.counts.tunnels.load(Ordering::Relaxed)
    }

    /// Absolute-form requests forwarded so far.
    pub fn forwarded(&self) -> u64 {
        self.counts.forwarded.load(Ordering::Relaxed)
    }

    /// Requests refused for want of credentials (407) so far.
    pub fn refused(&self) -> u64 {
        self.counts.refused.load(Ordering::Relaxed)
    }
}

impl Drop for ForwardProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn empty(status: StatusCode) -> Response<ProxyBody> {
    let mut response = Response::new(Empty::new().map_err(|never| match never {}).boxed());
    *response.status_mut() = status;
    response
}

async fn handle(shared: Arc<Shared>, mut req: Request<Incoming>) -> Result<Response<ProxyBody>, hyper::Error> {
    if let Some(expected) = &shared.auth {
        let given = req.headers().get(http::header::PROXY_AUTHORIZATION).and_then(|v| v.to_str().ok());
        if given != Some(expected.as_str()) {
            shared.counts.refused.fetch_add(1, Ordering::Relaxed);
            let mut response = empty(StatusCode::PROXY_AUTHENTICATION_REQUIRED);
            response.headers_mut().insert("proxy-authenticate", http::HeaderValue::from_static("Basic realm=\"test\""));
            return Ok(response);
        }
    }
    if req.method() == Method::CONNECT {
        let Some(target) = req.uri().authority().map(ToString::to_string) else {
            return Ok(empty(StatusCode::BAD_REQUEST));
        };
        let Ok(upstream) = TcpStream::connect(&target).await else { return Ok(empty(StatusCode::BAD_GATEWAY)) };
        shared.counts.tunnels.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            if let Ok(upgraded) = hyper::upgrade::on(req).await {
                let mut upstream = upstream;
                let _ = tokio::io::copy_bidirectional(&mut TokioIo::new(upgraded), &mut upstream).await;
            }
        });
        return Ok(empty(StatusCode::OK));
    }
    if req.uri().scheme() != Some(&http::uri::Scheme::HTTP) || req.uri().authority().is_none() {
        // Not a proxy request: an origin-form request sent to the proxy by mistake.
        return Ok(empty(StatusCode::BAD_REQUEST));
    }
    req.headers_mut().remove(http::header::PROXY_AUTHORIZATION);
    shared.counts.forwarded.fetch_add(1, Ordering::Relaxed);
    match shared.client.request(req).await {
        Ok(response) => Ok(response.map(BodyExt::boxed)),
        Err(_) => Ok(empty(StatusCode::BAD_GATEWAY)),
    }
}
