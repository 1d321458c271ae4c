//! The emulated network, measured from a client over real HTTP: rates per
//! connection each way (spliced and copied bodies), the shared link, and the
//! round trips before answers and on connect. Bounds are loose (a loaded
//! 2-core machine, debug builds): at least half the configured rate and at
//! most 1.3 times it; round trips never shorter than configured.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, StatusCode};
use s3io_server::{start, NetworkSpec, RunningServer, ServerConfig};

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
    let (_server, c) = server(dir.path(), "down=8MB/s").await;
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
    let t = Instant::now();
    for _ in 0..16 {
        let r = c.get("/bkt/small", &[]).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_wait_a_round_trip_and_new_connections_one_more() {
    let dir = tempfile::tempdir().unwrap();
    let rtt = Duration::from_millis(100);
    // The set-up request opens the client's one pooled connection: 2 round trips.
    let t = Instant::now();
    let (_server, c) = server(dir.path(), "rtt=100ms").await;
    let first = t.elapsed();
    assert!(first >= 2 * rtt - Duration::from_millis(2), "the first answer on a new connection took {first:?}");
    // Later requests on that connection: one round trip each.
    for key in ["a", "b", "c"] {
        let t = Instant::now();
        let r = c.get(&format!("/bkt/{key}"), &[]).await;
        let elapsed = t.elapsed();
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert!(
            elapsed >= rtt - Duration::from_millis(2) && elapsed < rtt * 3 / 2,
            "an answer on a kept-alive connection took {elapsed:?}, round trip {rtt:?}"
        );
    }
    // A PUT's answer waits a round trip after the last body byte.
    let t = Instant::now();
    assert_eq!(c.put("/bkt/k", &[], data(100_000, 5)).await.status, StatusCode::OK);
    let elapsed = t.elapsed();
    assert!(elapsed >= rtt - Duration::from_millis(2) && elapsed < rtt * 3 / 2, "a PUT took {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jittered_round_trips_stay_within_their_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, c) = server(dir.path(), "rtt=40ms,jitter=20ms,seed=5").await;
    let mut took = Vec::new();
    for _ in 0..8 {
        let t = Instant::now();
        assert_eq!(c.get("/bkt/missing", &[]).await.status, StatusCode::NOT_FOUND);
        took.push(t.elapsed());
    }
    assert!(took.iter().all(|d| *d >= Duration::from_millis(19)), "{took:?}");
    assert!(took.iter().all(|d| *d < Duration::from_millis(90)), "{took:?}");
    let (min, max) = (took.iter().min().unwrap(), took.iter().max().unwrap());
    assert!(*max - *min >= Duration::from_millis(5), "no jitter in {took:?}");
}
