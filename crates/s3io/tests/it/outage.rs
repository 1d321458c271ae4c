//! Outages: the endpoint goes away (the embedded server is shut down) and comes back on the same
//! port; a transfer in flight rides it out, and a dead endpoint fails once the retry timeout is
//! spent, saying so.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use s3io::config::RetryConfig;
use s3io::metrics::RetryReason;
use s3io::Progress;
use s3io_server::ServerConfig;

use crate::common::{test_data, TestServer, MIB};

/// How long the endpoint is gone: far beyond what 5 attempts at a 50 ms base back-off cover.
const OUTAGE: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_rides_out_a_server_restart_with_default_retries() {
    let root = tempfile::tempdir().unwrap();
    let server = s3io_server::start(ServerConfig::new(root.path())).await.unwrap();
    let addr = server.local_addr();
    let client = TestServer::builder_for(&server).build().await.unwrap();
    client.create_bucket("outage").await.unwrap();
    let data = test_data(48 * MIB, 31);
    client.upload("outage", "big").from_bytes(Bytes::from(data.clone())).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    let progress = Arc::new(Progress::new());
    let download = tokio::spawn(
        client
            .download("outage", "big")
            .part_size(MIB as u64)
            .concurrency(8)
            .progress(progress.clone())
            .to_file(path.clone()),
    );
    // Wait until the download is under way (bounded), then take the endpoint away.
    let deadline = Instant::now() + Duration::from_secs(30);
    while progress.bytes_done() == 0 && Instant::now() < deadline {
        tokio::task::yield_now().await;
        // The poll interval of a bounded wait for the condition above.
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(progress.bytes_done() > 0, "the download never started");
    server.shutdown().await;
    let down_at = Instant::now();
    // The behaviour under test: the endpoint stays away for the whole outage.
    tokio::time::sleep(OUTAGE).await;
    let mut config = ServerConfig::new(root.path());
    config.addr = addr;
    let restarted = s3io_server::start(config).await.expect("server restarts on the same port");
    let output = download.await.unwrap().expect("download through the outage");
    assert!(down_at.elapsed() >= OUTAGE);
    assert_eq!(output.size, data.len() as u64);
    assert!(std::fs::read(&path).unwrap() == data, "downloaded bytes differ");
    // Every byte counted once: no completed part was fetched again.
    assert_eq!(progress.bytes_done(), data.len() as u64);
    let retries = client.retry_counters();
    println!(
        "download through a {OUTAGE:?} outage: {} retries ({} transport), {} of {} bytes received",
        retries.total(),
        retries.get(RetryReason::Transport),
        progress.bytes_done(),
        data.len()
    );
    drop(restarted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_endpoint_fails_after_the_retry_timeout_saying_so() {
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = s3io::Client::builder()
        .endpoint(format!("http://127.0.0.1:{port}"))
        .region("us-east-1")
        .addressing_style(s3io::config::AddressingStyle::Path)
        .credentials(s3io::CredentialsSource::static_keys("key", "secret"))
        .retry(RetryConfig::default().with_retry_timeout(Duration::from_secs(1)))
        .build()
        .await
        .unwrap();
    let started = Instant::now();
    let err = client.download("gone", "key").to_bytes().await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(1), "gave up before the retry timeout: {elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?} for a 1 s retry timeout");
    let message = err.to_string();
    assert!(matches!(err, s3io::Error::Timeout { .. }), "{message}");
    assert!(message.contains("reaching the endpoint") && message.contains("gone/key"), "{message}");
    // Waiting out the outage spent retries, but no attempts beyond the first per request.
    assert!(client.retry_counters().get(RetryReason::Transport) > 0);
}

/// The longest a silent endpoint may take to fail at the default settings: well under a minute
/// (5 attempts of a 5 s first-byte wait, and their back-offs, come to about 26 s).
const SILENT_BOUND: Duration = Duration::from_secs(40);

#[tokio::test]
async fn a_silent_endpoint_fails_well_under_a_minute_at_defaults_saying_what_timed_out() {
    // An endpoint that accepts every connection and never answers: the behaviour under test.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let holder = tokio::spawn(async move {
        // Keep every connection open (a closed one would fail fast, as a reset).
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let client = s3io::Client::builder()
        .endpoint(format!("http://127.0.0.1:{port}"))
        .region("us-east-1")
        .addressing_style(s3io::config::AddressingStyle::Path)
        .credentials(s3io::CredentialsSource::static_keys("key", "secret"))
        .build()
        .await
        .unwrap();
    let started = Instant::now();
    let download = async {
        let err = client.download("silent", "dir/key").to_bytes().await.unwrap_err();
        (err, started.elapsed())
    };
    let upload = async {
        let err = client.upload("silent", "up/small").from_bytes(Bytes::from_static(b"hello")).await.unwrap_err();
        (err, started.elapsed())
    };
    let ((download_err, download_took), (upload_err, upload_took)) = tokio::join!(download, upload);
    holder.abort();
    for (err, took, what, object) in [
        (&download_err, download_took, "waiting for response headers", "s3://silent/dir/key"),
        (&upload_err, upload_took, "waiting for response headers after sending the body", "s3://silent/up/small"),
    ] {
        let message = err.to_string();
        assert!(took < SILENT_BOUND, "a silent endpoint took {took:?} to fail: {message}");
        assert!(matches!(err, s3io::Error::Timeout { .. }), "{message}");
        assert!(message.contains("timed out") && message.contains(what), "{message}");
        assert!(message.contains(object), "{message}");
    }
    // Each request was tried, not given up at its first wait.
    assert!(client.retry_counters().get(RetryReason::Timeout) >= 2 * 4, "{:?}", client.retry_counters());
}
