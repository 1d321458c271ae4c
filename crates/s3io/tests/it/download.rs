//! The download engine against the embedded server: every sink, edge sizes, a changing object,
//! the memory cap and buffer reuse.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BytesMut;
use s3io::config::{ChecksumMode, TransferConfig};
use s3io::Progress;
use tokio::io::AsyncWrite;

use crate::common::{crc64nvme, test_data, TestServer, MIB};

const PART: usize = MIB;

/// Downloads `key` to every sink and checks each result byte for byte, and that each download
/// verified the object's CRC64NVME (which [`TestServer::put`] stored): a multi-part one fetched by
/// a HEAD beside the parts; a one-part one carried by its only GET (a range covering the whole
/// object is answered with the full-object checksums, as S3 does), or by an empty object's
/// (unranged) GET.
async fn check_all_sinks(server: &TestServer, key: &str, expected: &[u8], part_size: u64) {
    let client = &server.client;
    let checksum = Some(crc64nvme(expected));
    let check = |output: &s3io::DownloadOutput, sink: &str| {
        assert_eq!(output.verified_checksum, checksum, "{sink} sink of {key}");
    };
    let bytes = client.download(&server.bucket, key).part_size(part_size).to_bytes().await.expect("to_bytes");
    assert!(bytes[..] == expected[..], "memory sink differs for {key} ({} bytes)", expected.len());

    let (buffer, output) =
        client.download(&server.bucket, key).part_size(part_size).into_buffer(BytesMut::new()).await.unwrap();
    assert!(buffer[..] == expected[..], "buffer sink differs for {key} ({} bytes)", expected.len());
    check(&output, "buffer");

    // Lent memory, filled in place: longer than the object (the tail is left as it was), and
    // an inline array, whose memory moves with it into the download.
    let (lent, output) = client
        .download(&server.bucket, key)
        .part_size(part_size)
        .into_memory(|size| vec![0xA5u8; size as usize + 3])
        .await
        .expect("into_memory");
    assert!(lent[..expected.len()] == expected[..], "lent sink differs for {key} ({} bytes)", expected.len());
    assert_eq!(&lent[expected.len()..], &[0xA5; 3], "bytes past the object were written");
    assert_eq!(output.size, expected.len() as u64);
    check(&output, "lent");
    if expected.len() <= 4096 {
        let (array, _) = client
            .download(&server.bucket, key)
            .part_size(part_size)
            .into_memory(|_| [0u8; 4096])
            .await
            .expect("into_memory of an array");
        assert!(array[..expected.len()] == expected[..], "array sink differs for {key}");
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.bin");
    let output = client.download(&server.bucket, key).part_size(part_size).to_file(&path).await.expect("to_file");
    assert_eq!(output.size, expected.len() as u64);
    check(&output, "file");
    let on_disk = std::fs::read(&path).unwrap();
    assert!(on_disk == expected, "file sink differs for {key} ({} bytes)", expected.len());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 1, "temporary files left behind: {leftovers:?}");

    let mut streamed = Vec::new();
    let output =
        client.download(&server.bucket, key).part_size(part_size).to_writer(&mut streamed).await.expect("to_writer");
    assert!(streamed == expected, "stream sink differs for {key} ({} bytes)", expected.len());
    check(&output, "stream");

    let shared = SharedVec::default();
    let output = client
        .download(&server.bucket, key)
        .part_size(part_size)
        .to_blocking_writer(shared.clone())
        .await
        .expect("to_blocking_writer");
    assert!(*shared.0.lock().unwrap() == expected, "blocking stream differs for {key} ({} bytes)", expected.len());
    check(&output, "blocking stream");
}

/// A `std::io::Write` into a vector the test keeps a handle on; it can be made slow, or fail
/// with a broken pipe once it holds some bytes.
#[derive(Clone, Default)]
struct SharedVec(std::sync::Arc<std::sync::Mutex<Vec<u8>>>, Option<Duration>, Option<usize>);

impl std::io::Write for SharedVec {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut out = self.0.lock().unwrap();
        if self.2.is_some_and(|fail_at| out.len() >= fail_at) {
            return Err(std::io::ErrorKind::BrokenPipe.into());
        }
        if let Some(pause) = self.1 {
            // A slow reader at the other end of a pipe (this runs on the blocking pool).
            std::thread::sleep(pause);
        }
        let n = buf.len().min(256 * 1024);
        out.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_bodies_fail_their_checksum_in_every_sink_and_leave_no_file() {
    // Every GET body arrives whole but with its middle byte changed: multi-part downloads fail
    // their CRC64NVME, a one-part download the CRC64NVME its answer carries.
    let server = TestServer::start_with(Some("corrupt=1,methods=GET"), |b| b).await;
    let cases =
        [("parts", 3 * MIB + 17, MIB as u64), ("two-parts", MIB + 1, MIB as u64), ("one-part", MIB / 2, MIB as u64)];
    for (key, size, part_size) in cases {
        server.put(key, &test_data(size, 77)).await;
        let download = || server.client.download(&server.bucket, key).part_size(part_size);
        let mismatch = |err: s3io::Error, sink: &str| {
            assert!(matches!(err, s3io::Error::ChecksumMismatch { .. }), "{sink} of {key}: {err:?}");
            assert!(err.to_string().contains(key), "{sink}: the error does not name the key: {err}");
        };
        mismatch(download().to_bytes().await.unwrap_err(), "to_bytes");
        mismatch(download().into_buffer(BytesMut::new()).await.unwrap_err(), "into_buffer");
        mismatch(download().to_writer(Vec::new()).await.unwrap_err(), "to_writer");
        let dir = tempfile::tempdir().unwrap();
        mismatch(download().to_file(dir.path().join("out.bin")).await.unwrap_err(), "to_file");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(left.is_empty(), "a corrupted download left {left:?}");
        assert_eq!(server.client.buffer_pool().stats().in_use_bytes, 0, "pooled buffers not released");
    }
    assert!(server.server.fault_stats().corruptions >= 12, "{:?}", server.server.fault_stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_part_verification_adds_no_serial_round_trip() {
    // Every HEAD answer is held back 3 s. The HEAD that fetches the stored checksum runs beside
    // the parts: every byte is in long before it answers, and the download then verifies.
    const HEAD_STALL: Duration = Duration::from_secs(3);
    let server = TestServer::start_with(Some("stall=1,stall-for=3s,methods=HEAD"), |b| b).await;
    let data = test_data(4 * MIB + 5, 31);
    server.put("beside", &data).await;
    let before = server.server.fault_stats().requests;
    let progress = Arc::new(Progress::new());
    let download = server.client.download(&server.bucket, "beside").part_size(MIB as u64).progress(progress.clone());
    let started = std::time::Instant::now();
    let task = tokio::spawn(download.into_buffer(BytesMut::new()));
    let deadline = started + Duration::from_secs(20);
    while progress.bytes_done() < data.len() as u64 {
        assert!(std::time::Instant::now() < deadline, "bytes stuck at {} of {}", progress.bytes_done(), data.len());
        // The poll interval of a bounded wait for the condition above.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let bytes_in = started.elapsed();
    let (buffer, output) = task.await.unwrap().expect("download");
    let done = started.elapsed();
    assert!(buffer[..] == data[..]);
    assert_eq!(output.verified_checksum, Some(crc64nvme(&data)));
    // Five GETs (one per part) and one HEAD; the HEAD was stalled, yet the bytes were all in well
    // before it answered (a HEAD before the parts would have held them back the whole stall).
    let stats = server.server.fault_stats();
    assert_eq!(stats.requests - before, 6, "{stats:?}");
    assert_eq!(stats.stalls, 1, "{stats:?}");
    assert!(done >= HEAD_STALL, "verified before the HEAD answered? {done:?}");
    assert!(
        bytes_in < HEAD_STALL - Duration::from_secs(1),
        "bytes in after {bytes_in:?}: the HEAD held the parts back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_sizes_are_byte_exact_in_every_sink() {
    let server = TestServer::start().await;
    for (i, size) in [0, 1, PART - 1, PART, PART + 1, 3 * PART + 17].into_iter().enumerate() {
        let data = test_data(size, i as u64);
        let key = format!("edge/{size}");
        server.put(&key, &data).await;
        check_all_sinks(&server, &key, &data, PART as u64).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_object_is_byte_exact_in_every_sink() {
    let server = TestServer::start().await;
    // 33 parts, the last one short: 257 MiB in the default 8 MiB parts, scaled down by 8 (the
    // part count and the short tail are what the sinks' reordering and offsets see).
    let part = s3io::config::DEFAULT_PART_SIZE / 8;
    let data = test_data(32 * part as usize + MIB / 8, 257);
    server.put("large/33-parts", &data).await;
    check_all_sinks(&server, "large/33-parts", &data, part).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_object_fails_and_leaves_no_file() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("never.bin");
    let err = server.client.download(&server.bucket, "no/such/key").to_file(&path).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().contains("no/such/key"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "files left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_replaced_mid_download_fails_with_precondition_error() {
    // Memory for three parts (a window of two, one part kept for hedging): the download fetches
    // parts 0 and 1, then waits for the writer.
    let server = TestServer::start_with(None, |b| {
        b.transfer(
            TransferConfig::default()
                .with_part_size(PART as u64)
                .with_memory_limit(3 * PART as u64)
                .with_concurrency(1),
        )
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
        // The poll interval of a bounded wait for the condition above.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(progress.bytes_done(), 0, "a stream counts bytes as the writer takes them");
    server.put("changing", &test_data(8 * PART, 2)).await;
    release_tx.send(()).unwrap();
    let err = task.await.unwrap().unwrap_err();
    assert_eq!(err.status(), Some(412), "{err}");
    assert!(err.to_string().contains("changed during the download"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_part_memory_limit_bounds_a_large_stream_download() {
    // 33 parts through a two-part window: 257 MiB of 8 MiB parts, scaled down by 8.
    let part = MIB as u64;
    let server = TestServer::start_with(None, |b| {
        b.transfer(TransferConfig::default().with_part_size(part).with_memory_limit(2 * part).with_concurrency(8))
    })
    .await;
    let data = test_data(32 * MIB + MIB / 8, 3);
    server.put("capped", &data).await;
    let mut out = Vec::with_capacity(data.len());
    server.client.download(&server.bucket, "capped").to_writer(&mut out).await.unwrap();
    assert!(out == data, "streamed bytes differ");
    let stats = server.client.buffer_pool().stats();
    assert!(stats.high_water_bytes <= 2 * part, "pool held {} bytes, limit {}", stats.high_water_bytes, 2 * part);
    assert!(stats.acquired >= 33, "parts did not go through the pool: {stats:?}");
}

/// A slow consumer: takes at most 64 KiB per write, each after a 1 ms pause.
struct SlowWriter {
    out: Vec<u8>,
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl AsyncWrite for SlowWriter {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        // The slowness under test: every write waits 1 ms first.
        let pause = self.pause.get_or_insert_with(|| Box::pin(tokio::time::sleep(Duration::from_millis(1))));
        if pause.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.pause = None;
        let n = buf.len().min(64 * 1024);
        self.out.extend_from_slice(&buf[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_writer_keeps_a_stream_within_its_memory_limit() {
    // Eight workers could fetch far ahead of a slow writer; the in-order window must stop them at
    // the memory limit (four parts).
    let part = MIB as u64;
    let server = TestServer::start_with(None, |b| {
        b.transfer(TransferConfig::default().with_part_size(part).with_memory_limit(4 * part).with_concurrency(8))
    })
    .await;
    let data = test_data(16 * MIB + 5, 8);
    server.put("slow-writer", &data).await;
    let mut writer = SlowWriter { out: Vec::with_capacity(data.len()), pause: None };
    let output = server.client.download(&server.bucket, "slow-writer").to_writer(&mut writer).await.unwrap();
    assert!(writer.out == data, "streamed bytes differ");
    assert_eq!(output.verified_checksum, Some(crc64nvme(&data)));
    let stats = server.client.buffer_pool().stats();
    assert!(stats.high_water_bytes <= 4 * part, "pool held {} bytes, limit {}", stats.high_water_bytes, 4 * part);
    assert_eq!(stats.in_use_bytes, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_writer_gets_the_parts_in_order_within_the_memory_limit_and_its_errors_end_the_download() {
    // The parts go to the writer's thread in their pooled buffers: a slow writer holds them, and
    // the window stops the workers at the memory limit (four parts).
    let part = MIB as u64;
    let server = TestServer::start_with(None, |b| {
        b.transfer(TransferConfig::default().with_part_size(part).with_memory_limit(4 * part).with_concurrency(8))
    })
    .await;
    let data = test_data(16 * MIB + 5, 9);
    server.put("blocking", &data).await;
    let slow = SharedVec(Default::default(), Some(Duration::from_millis(2)), None);
    let output = server.client.download(&server.bucket, "blocking").to_blocking_writer(slow.clone()).await.unwrap();
    assert!(*slow.0.lock().unwrap() == data, "streamed bytes differ");
    assert_eq!(output.verified_checksum, Some(crc64nvme(&data)));
    let stats = server.client.buffer_pool().stats();
    assert!(stats.high_water_bytes <= 4 * part, "pool held {} bytes, limit {}", stats.high_water_bytes, 4 * part);
    assert_eq!(stats.in_use_bytes, 0);

    // A reader that goes away: the download ends with the writer's error, naming the object,
    // and gives every buffer back.
    let failing = SharedVec(Default::default(), None, Some(3 * MIB));
    let err = server.client.download(&server.bucket, "blocking").to_blocking_writer(failing).await.unwrap_err();
    assert!(err.to_string().contains("blocking") && err.to_string().contains("output stream"), "{err}");
    let io = std::error::Error::source(&err).and_then(|e| e.downcast_ref::<std::io::Error>());
    assert_eq!(io.map(std::io::Error::kind), Some(std::io::ErrorKind::BrokenPipe), "{err:?}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server.client.buffer_pool().stats().in_use_bytes > 0 {
        assert!(std::time::Instant::now() < deadline, "pooled buffers not released");
        // The poll interval of a bounded wait for the workers' buffers to come back.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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
    // Keep-alive works: two thousand sequential two-part downloads (4,000 requests) reuse the
    // connections of the parts in flight. A connection goes back to hyper-util's pool a moment
    // after its body ends, from a task of its own; a request that comes meanwhile waits for it
    // instead of opening another (`http/reuse.rs`), so this opens one connection, two at most.
    let opened = client.connection_metrics().opened();
    assert!(opened <= 2, "{opened} connections opened for 4,000 requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn varied_size_downloads_into_memory_reuse_pooled_buffers() {
    // Objects from 10 KiB to 3 MiB, of one part and of several (1 MiB parts), downloaded into
    // memory four at a time: each lands in a pooled buffer (up to 4 MiB, a sixteenth of the
    // 64 MiB cap), and after a warm-up round no payload buffer is allocated.
    let server = TestServer::start_with(None, |b| {
        b.transfer(
            TransferConfig::default()
                .with_part_size(PART as u64)
                .with_memory_limit(64 * MIB as u64)
                .with_concurrency(4),
        )
    })
    .await;
    let sizes = [10 * 1024, 100 * 1024 + 7, 333_333, PART, PART + 1, 2 * PART + 5, 3 * PART, 700_000];
    let objects: Vec<Vec<u8>> = sizes.iter().enumerate().map(|(i, &size)| test_data(size, 500 + i as u64)).collect();
    for (i, data) in objects.iter().enumerate() {
        server.put(&format!("varied/{i}"), data).await;
    }
    let client = &server.client;
    let (server, objects) = (&server, &objects);
    let round = || async move {
        for batch in (0..objects.len()).collect::<Vec<_>>().chunks(4) {
            let downloads = batch.iter().map(|&i| async move {
                let bytes = client.download(&server.bucket, format!("varied/{i}")).to_bytes().await.unwrap();
                assert!(bytes[..] == objects[i][..], "object {i} ({} bytes) differs", objects[i].len());
                bytes
            });
            let held: Vec<_> = futures::future::join_all(downloads).await;
            assert!(client.buffer_pool().stats().in_use_bytes > 0, "downloads into memory bypassed the pool");
            drop(held);
        }
    };
    round().await;
    let warm = client.buffer_pool().stats();
    assert_eq!(warm.acquired, objects.len() as u64, "one pooled buffer per download: {warm:?}");
    for _ in 0..3 {
        round().await;
    }
    let after = client.buffer_pool().stats();
    assert_eq!(after.allocated, warm.allocated, "payload buffers allocated after warm-up: {warm:?} -> {after:?}");
    assert_eq!(after.acquired, 4 * objects.len() as u64);
    assert_eq!(after.in_use_bytes, 0, "pooled buffers not returned");
    assert!(after.classes.len() >= 5, "sizes spread over classes: {:?}", after.classes);
    assert!(after.high_water_bytes <= 64 * MIB as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lent_memory_shorter_than_the_object_fails_naming_both_sizes() {
    let server = TestServer::start().await;
    let data = test_data(3 * PART, 9);
    server.put("three-parts", &data).await;
    let error = server
        .client
        .download(&server.bucket, "three-parts")
        .part_size(PART as u64)
        .into_memory(|size| vec![0u8; size as usize - 1])
        .await
        .unwrap_err();
    assert!(
        matches!(error, s3io::Error::BufferTooSmall { needed, available, .. }
        if needed == 3 * PART as u64 && available == 3 * PART as u64 - 1),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "download s3://{}/three-parts failed: the object is {} bytes and the buffer for it only {}",
            server.bucket,
            3 * PART,
            3 * PART - 1
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_download_on_a_long_path_cuts_its_later_parts() {
    // On a 20 ms round trip the first answer comes after the long-path latency: the parts after
    // the first are cut so that 16 fit the stream's 48 MiB (3 MiB each), and the bytes arrive
    // in order and whole.
    let data = test_data(40 * MIB, 41);
    let server = TestServer::start().await;
    server.put("long-path", &data).await;
    let server = server
        .restart_configured(
            |c: s3io_server::ServerConfig| c.with_network("rtt=20ms".parse().unwrap()).with_request_log(),
            |b| b,
        )
        .await;
    let mut streamed = Vec::new();
    let output = server.client.download(&server.bucket, "long-path").to_writer(&mut streamed).await.unwrap();
    assert!(streamed == data, "streamed bytes differ");
    let ranges: Vec<(u64, u64)> = server
        .server
        .request_log()
        .iter()
        .filter(|r| r.method == "GET" && r.status == 206)
        .filter_map(|r| {
            let (start, end) = r.range.as_deref()?.strip_prefix("bytes=")?.split_once('-')?;
            Some((start.parse().ok()?, end.parse::<u64>().ok()? + 1))
        })
        .collect();
    assert!(ranges.contains(&(0, 8 * MIB as u64)), "{ranges:?}");
    let later: Vec<_> = ranges.iter().filter(|r| r.0 > 0).collect();
    assert!(!later.is_empty() && later.iter().all(|(s, e)| e - s <= 3 * MIB as u64), "{ranges:?}");
    assert_eq!(output.parts, 1 + (32 * MIB as u64).div_ceil(3 * MIB as u64));
}
