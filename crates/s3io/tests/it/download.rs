//! The download engine against the embedded server: every sink, edge sizes, a changing object,
//! the memory cap and buffer reuse.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BytesMut;
use s3io::{ChecksumMode, Progress, TransferConfig};
use tokio::io::AsyncWrite;

use crate::common::{test_data, TestServer, MIB};

const PART: usize = MIB;

/// Downloads `key` to every sink and checks each result byte for byte.
async fn check_all_sinks(server: &TestServer, key: &str, expected: &[u8], part_size: u64) {
    let client = &server.client;
    let bytes = client.download(&server.bucket, key).part_size(part_size).to_bytes().await.expect("to_bytes");
    assert!(bytes[..] == expected[..], "memory sink differs for {key} ({} bytes)", expected.len());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.bin");
    let output = client.download(&server.bucket, key).part_size(part_size).to_file(&path).await.expect("to_file");
    assert_eq!(output.size, expected.len() as u64);
    let on_disk = std::fs::read(&path).unwrap();
    assert!(on_disk == expected, "file sink differs for {key} ({} bytes)", expected.len());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 1, "temporary files left behind: {leftovers:?}");

    let mut streamed = Vec::new();
    client.download(&server.bucket, key).part_size(part_size).to_writer(&mut streamed).await.expect("to_writer");
    assert!(streamed == expected, "stream sink differs for {key} ({} bytes)", expected.len());
}

#[tokio::test]
async fn edge_sizes_are_byte_exact_in_every_sink() {
    let server = TestServer::start().await;
    for (i, size) in [0, 1, PART - 1, PART, PART + 1, 3 * PART + 17].into_iter().enumerate() {
        let data = test_data(size, i as u64);
        let key = format!("edge/{size}");
        server.put(&key, &data).await;
        check_all_sinks(&server, &key, &data, PART as u64).await;
    }
}

#[tokio::test]
async fn large_object_is_byte_exact_in_every_sink() {
    let server = TestServer::start().await;
    let data = test_data(257 * MIB, 257);
    server.put("large/257MiB", &data).await;
    check_all_sinks(&server, "large/257MiB", &data, s3io::DEFAULT_PART_SIZE).await;
}

#[tokio::test]
async fn missing_object_fails_and_leaves_no_file() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("never.bin");
    let err = server.client.download(&server.bucket, "no/such/key").to_file(&path).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().contains("no/such/key"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "files left behind");
}

#[tokio::test]
async fn progress_reports_bytes_and_total() {
    let server = TestServer::start().await;
    let data = test_data(5 * PART + 3, 9);
    server.put("progress", &data).await;
    let progress = Arc::new(Progress::new());
    server
        .client
        .download(&server.bucket, "progress")
        .part_size(PART as u64)
        .progress(progress.clone())
        .to_bytes()
        .await
        .unwrap();
    assert_eq!(progress.bytes_done(), data.len() as u64);
    assert_eq!(progress.bytes_total(), Some(data.len() as u64));
}

/// A writer whose first write waits until `release` fires, so a test can act mid-download.
struct GatedWriter {
    release: Option<tokio::sync::oneshot::Receiver<()>>,
    out: Vec<u8>,
}

impl AsyncWrite for GatedWriter {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        if let Some(release) = self.release.as_mut() {
            match Pin::new(release).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(_) => self.release = None,
            }
        }
        self.out.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

use std::future::Future as _;

#[tokio::test]
async fn object_replaced_mid_download_fails_with_precondition_error() {
    // Memory for three parts (a window of two, one part kept for hedging): the download fetches
    // parts 0 and 1, then waits for the writer.
    let server = TestServer::start_with(None, |b| {
        b.transfer(TransferConfig {
            part_size: PART as u64,
            memory_limit: 3 * PART as u64,
            concurrency: 1,
            ..Default::default()
        })
    })
    .await;
    let original = test_data(8 * PART, 1);
    server.put("changing", &original).await;
    let (release_tx, release_rx) = tokio::sync::oneshot::channel();
    let progress = Arc::new(Progress::new());
    let download = server
        .client
        .download(&server.bucket, "changing")
        .checksum_mode(ChecksumMode::WhenRequired)
        .progress(progress.clone());
    let task = tokio::spawn(download.to_writer(GatedWriter { release: Some(release_rx), out: Vec::new() }));
    // The writer is gated, so progress (bytes written) stays at 0; the pool shows part 1 started.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while server.client.buffer_pool().stats().acquired < 2 {
        assert!(tokio::time::Instant::now() < deadline, "download never reached part 1");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(progress.bytes_done(), 0, "a stream counts bytes as the writer takes them");
    server.put("changing", &test_data(8 * PART, 2)).await;
    release_tx.send(()).unwrap();
    let err = task.await.unwrap().unwrap_err();
    assert_eq!(err.status(), Some(412), "{err}");
    assert!(err.to_string().contains("changed during the download"), "{err}");
}

#[tokio::test]
async fn two_part_memory_limit_bounds_a_large_stream_download() {
    let part = 8 * MIB as u64;
    let server = TestServer::start_with(None, |b| {
        b.transfer(TransferConfig { part_size: part, memory_limit: 2 * part, concurrency: 8, ..Default::default() })
    })
    .await;
    let data = test_data(257 * MIB, 3);
    server.put("capped", &data).await;
    let mut out = Vec::with_capacity(data.len());
    server.client.download(&server.bucket, "capped").to_writer(&mut out).await.unwrap();
    assert!(out == data, "streamed bytes differ");
    let stats = server.client.buffer_pool().stats();
    assert!(stats.high_water_bytes <= 2 * part, "pool held {} bytes, limit {}", stats.high_water_bytes, 2 * part);
    assert!(stats.acquired >= 33, "parts did not go through the pool: {stats:?}");
}

#[tokio::test]
async fn pool_reuses_buffers_across_many_small_downloads() {
    let server = TestServer::start().await;
    let data = test_data(PART + PART / 5, 5);
    server.put("small", &data).await;
    let client = &server.client;
    let mut sink = tokio::io::sink();
    for _ in 0..10 {
        client.download(&server.bucket, "small").to_writer(&mut sink).await.unwrap();
    }
    let warm = client.buffer_pool().stats();
    let mut buffer = BytesMut::new();
    for _ in 0..1000 {
        client.download(&server.bucket, "small").to_writer(&mut sink).await.unwrap();
        let (filled, _) = client.download(&server.bucket, "small").into_buffer(buffer).await.unwrap();
        buffer = filled;
    }
    assert!(buffer[..] == data[..]);
    let after = client.buffer_pool().stats();
    assert_eq!(after.allocated, warm.allocated, "payload buffers allocated after warm-up: {warm:?} -> {after:?}");
    assert_eq!(after.acquired, warm.acquired + 1000);
    // Keep-alive works: a thousand sequential downloads need no new connections.
    assert!(client.connection_metrics().opened() <= 2, "{} connections opened", client.connection_metrics().opened());
}
