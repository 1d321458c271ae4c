//! The emulated network, measured from a client over real HTTP: rates per
//! connection each way (spliced and copied bodies), the shared link, and the
//! round trips before answers and on connect. Bounds are loose (a loaded
//! 2-core machine, debug builds): at least half the configured rate and at
//! most 1.3 times it; round trips never shorter than configured.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, StatusCode};
use s3io_server::{start, NetworkSpec, RunningServer, ServerConfig};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::common::{data, Client};

const MB: f64 = 1_000_000.0;

/// A server emulating `network`, with a bucket `bkt`.
async fn server(dir: &std::path::Path, network: &str) -> (RunningServer, Client) {
    let spec: NetworkSpec = network.parse().unwrap();
    let server = start(ServerConfig::new(dir).with_network(spec)).await.unwrap();
    let c = Client::new(&server);
    let r = c.send(Method::PUT, "/bkt", &[], Bytes::new(), true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    (server, c)
}

/// Asserts `bytes` over `elapsed` is within [0.5, 1.3] × `rate` bytes per second.
fn assert_rate(what: &str, bytes: usize, elapsed: Duration, rate: f64) {
    let measured = bytes as f64 / elapsed.as_secs_f64();
    assert!(
        measured >= 0.5 * rate && measured <= 1.3 * rate,
        "{what}: {bytes} bytes in {elapsed:?} is {:.2} MB/s, configured {:.2} MB/s",
        measured / MB,
        rate / MB
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_go_at_the_rate_of_the_connection_spliced_or_copied() {
    let dir = tempfile::tempdir().unwrap();
    let (server, c) = server(dir.path(), "down=8MB/s").await;
    // Large enough to be spliced (see the splice module).
    let big = data(3_000_000, 1);
    assert_eq!(c.put("/bkt/big", &[], big.clone()).await.status, StatusCode::OK);
    let t = Instant::now();
    let r = c.get("/bkt/big", &[]).await;
    let elapsed = t.elapsed();
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body == big, "the spliced body differs");
    assert_rate("a spliced 3 MB GET", big.len(), elapsed, 8.0 * MB);

    // Small bodies are copied: 16 GETs of 150 kB on one kept-alive connection.
    let small = data(150_000, 2);
    assert_eq!(c.put("/bkt/small", &[], small.clone()).await.status, StatusCode::OK);
    let mut conn = RawConnection::open(&server).await;
    let t = Instant::now();
    for _ in 0..16 {
        let r = conn.exchange(&c, Method::GET, "/bkt/small", &[]).await;
        assert_eq!(r.status, 200);
        assert!(r.body == small, "a copied body differs");
    }
    assert_rate("16 copied 150 kB GETs", 16 * small.len(), t.elapsed(), 8.0 * MB);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_go_at_the_rate_of_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, c) = server(dir.path(), "up=8MB/s").await;
    let body = data(3_000_000, 3);
    let t = Instant::now();
    let r = c.put("/bkt/up", &[], body.clone()).await;
    let elapsed = t.elapsed();
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // Some of the body sits in the kernel's socket buffers when the upload starts,
    // but the answer only comes once the server has read all of it.
    assert_rate("a 3 MB PUT", body.len(), elapsed, 8.0 * MB);
    assert!(c.get("/bkt/up", &[]).await.body == body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_share_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, c) = server(dir.path(), "link=8MB/s").await;
    let body = data(1_500_000, 4);
    assert_eq!(c.put("/bkt/o", &[], body.clone()).await.status, StatusCode::OK);
    // Three GETs at once on three connections: 4.5 MB through one 8 MB/s link.
    let t = Instant::now();
    let (a, b, d) = tokio::join!(c.get("/bkt/o", &[]), c.get("/bkt/o", &[]), c.get("/bkt/o", &[]));
    let elapsed = t.elapsed();
    for r in [a, b, d] {
        assert!(r.body == body, "a body differs");
    }
    assert_rate("3 concurrent 1.5 MB GETs", 3 * body.len(), elapsed, 8.0 * MB);
}

/// One kept-alive connection sending signed requests, timing each answer's
/// first byte (the test client's pool may open a new connection for any request).
struct RawConnection {
    stream: TcpStream,
    buf: Vec<u8>,
    host: String,
}

/// An answer read off a [`RawConnection`].
struct RawAnswer {
    status: u16,
    body: Vec<u8>,
    first_byte: Duration,
}

impl RawConnection {
    async fn open(server: &RunningServer) -> Self {
        let stream = TcpStream::connect(server.local_addr()).await.unwrap();
        Self { stream, buf: Vec::new(), host: server.local_addr().to_string() }
    }

    /// Sends `method path` signed by `c` (`UNSIGNED-PAYLOAD`) with `body`, reads the whole answer.
    async fn exchange(&mut self, c: &Client, method: Method, path: &str, body: &[u8]) -> RawAnswer {
        let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {}\r\ncontent-length: {}\r\n", self.host, body.len());
        for (name, value) in c.signed_headers(&method, path, &[]) {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let t = Instant::now();
        self.stream.write_all(head.as_bytes()).await.unwrap();
        self.stream.write_all(body).await.unwrap();
        let mut first_byte = None;
        let head_end = loop {
            if let Some(at) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            let n = self.read().await;
            first_byte.get_or_insert_with(|| t.elapsed());
            assert!(n > 0, "the connection closed before an answer to {method} {path}");
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).to_ascii_lowercase();
        let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{head}"));
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
            .unwrap_or(0);
        while self.buf.len() < head_end + len {
            assert!(self.read().await > 0, "the connection closed inside the answer to {method} {path}");
        }
        let body = self.buf.drain(..head_end + len).skip(head_end).collect();
        RawAnswer { status, body, first_byte: first_byte.unwrap() }
    }

    async fn read(&mut self) -> usize {
        let mut chunk = vec![0u8; 1 << 16];
        let n = self.stream.read(&mut chunk).await.unwrap();
        self.buf.extend_from_slice(&chunk[..n]);
        n
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_wait_a_round_trip_and_new_connections_one_more() {
    let dir = tempfile::tempdir().unwrap();
    let rtt = Duration::from_millis(100);
    let (server, c) = server(dir.path(), "rtt=100ms").await;
    let within =
        |took: Duration, trips: u32| took >= trips * rtt - Duration::from_millis(2) && took < trips * rtt + rtt / 2;
    let mut conn = RawConnection::open(&server).await;
    let first = conn.exchange(&c, Method::GET, "/bkt/missing", &[]).await;
    assert_eq!(first.status, 404);
    assert!(
        within(first.first_byte, 2),
        "the first answer on a new connection took {:?}, round trip {rtt:?}",
        first.first_byte
    );
    // Later requests on that connection: one round trip each, from the last
    // request byte read (for the PUT, the last byte of its body).
    for (method, path, body) in
        [(Method::GET, "/bkt/missing", 0), (Method::PUT, "/bkt/k", 300_000), (Method::GET, "/bkt/k", 0)]
    {
        let r = conn.exchange(&c, method.clone(), path, &vec![7u8; body]).await;
        assert!(r.status == 200 || r.status == 404, "{method} {path}: {}", r.status);
        assert!(
            within(r.first_byte, 1),
            "{method} {path} on a kept-alive connection took {:?}, round trip {rtt:?}",
            r.first_byte
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jittered_round_trips_stay_within_their_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let (server, c) = server(dir.path(), "rtt=40ms,jitter=20ms,seed=5").await;
    let mut conn = RawConnection::open(&server).await;
    let mut took = Vec::new();
    for _ in 0..8 {
        took.push(conn.exchange(&c, Method::GET, "/bkt/missing", &[]).await.first_byte);
    }
    // The first on a new connection: two round trips.
    let first = took.remove(0);
    assert!(first >= Duration::from_millis(38) && first < Duration::from_millis(160), "{first:?}");
    assert!(took.iter().all(|d| *d >= Duration::from_millis(19)), "{took:?}");
    assert!(took.iter().all(|d| *d < Duration::from_millis(90)), "{took:?}");
    let (min, max) = (took.iter().min().unwrap(), took.iter().max().unwrap());
    assert!(*max - *min >= Duration::from_millis(5), "no jitter in {took:?}");
}
