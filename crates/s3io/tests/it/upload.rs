//! The upload engine against the embedded server: every source at the part-size edges, a large
//! object, streams of unknown length, checksums, the memory cap, cancellation and cleanup.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use s3io::checksum::checksum;
use s3io::config::{ChecksumAlgorithm, ChecksumMode, TransferConfig};
use s3io::{Error, Progress};
use tokio::io::{AsyncRead, ReadBuf};
use tokio_util::sync::CancellationToken;

use crate::common::{report, test_data, TestServer, MIB};

/// S3's smallest part, used as the part size so the edge sizes straddle it.
const PART: usize = 5 * MIB;

/// Edge sizes around one part, and a few parts with a short last one.
const EDGE_SIZES: [usize; 6] = [0, 1, PART - 1, PART, PART + 1, 8 * PART + 12_345];

/// A server whose client cuts uploads into 5 MiB parts.
async fn server_with_part_size(part_size: usize, memory_limit: u64) -> TestServer {
    TestServer::start_with(None, |b| {
        b.transfer(TransferConfig::default().with_part_size(part_size as u64).with_memory_limit(memory_limit))
    })
    .await
}

async fn fetch(server: &TestServer, key: &str) -> Vec<u8> {
    let object = server.client.get_object(&server.bucket, key, &Default::default()).await.expect("get object");
    object.collect().await.expect("read object").to_vec()
}

async fn assert_no_uploads_left(server: &TestServer) {
    let page = server.client.list_multipart_uploads(&server.bucket, None, None).await.expect("list uploads");
    assert!(page.uploads.is_empty(), "multipart uploads left behind: {:?}", page.uploads);
}

/// Checks `output` against `data`: size, part count, and the client's full-object CRC64NVME,
/// which must also be what the store reports.
async fn check_output(server: &TestServer, key: &str, data: &[u8], output: &s3io::UploadOutput, part: usize) {
    assert_eq!(output.size, data.len() as u64, "{key}");
    let expected_parts = if data.len() <= part { 0 } else { data.len().div_ceil(part) as u32 };
    assert_eq!(output.parts, expected_parts, "{key}");
    let whole = checksum(ChecksumAlgorithm::Crc64Nvme, data);
    assert_eq!(output.checksum.as_ref(), Some(&whole), "{key}: client checksum is not the data's CRC64NVME");
    let info = server.client.head_object(&server.bucket, key).await.expect("head");
    assert_eq!(info.content_length, data.len() as u64);
    let stored = info.checksums.iter().find(|c| c.algorithm == ChecksumAlgorithm::Crc64Nvme);
    assert_eq!(stored, Some(&whole), "{key}: the store keeps another CRC64NVME");
    let fetched = fetch(server, key).await;
    assert!(fetched == data, "{key}: downloaded bytes differ ({} vs {} bytes)", fetched.len(), data.len());
}

/// An `AsyncRead` over bytes that hands out at most `chunk` bytes per read (like a pipe), and can
/// fail or stall for good once `stop_at` bytes are read.
struct ChunkedReader {
    data: Bytes,
    position: usize,
    chunk: usize,
    stop_at: Option<(usize, Stop)>,
}

#[derive(Clone, Copy)]
enum Stop {
    Fail,
    Stall,
}

impl ChunkedReader {
    fn new(data: impl Into<Bytes>, chunk: usize) -> Self {
        Self { data: data.into(), position: 0, chunk, stop_at: None }
    }

    fn stopping(mut self, at: usize, how: Stop) -> Self {
        self.stop_at = Some((at, how));
        self
    }
}

impl AsyncRead for ChunkedReader {
    fn poll_read(mut self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let mut end = self.data.len();
        if let Some((at, how)) = self.stop_at {
            if self.position >= at {
                return match how {
                    Stop::Fail => Poll::Ready(Err(std::io::Error::other("injected read failure"))),
                    Stop::Stall => Poll::Pending,
                };
            }
            end = end.min(at);
        }
        let n = (end - self.position).min(self.chunk).min(buf.remaining());
        let start = self.position;
        buf.put_slice(&self.data[start..start + n]);
        self.position += n;
        Poll::Ready(Ok(()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_source_edge_sizes_round_trip() {
    let server = server_with_part_size(PART, s3io::config::DEFAULT_MEMORY_LIMIT).await;
    for (i, size) in EDGE_SIZES.into_iter().enumerate() {
        let data = Bytes::from(test_data(size, 100 + i as u64));
        let key = format!("bytes/{size}");
        let output = server.client.upload(&server.bucket, &key).from_bytes(data.clone()).await.expect("upload");
        check_output(&server, &key, &data, &output, PART).await;
    }
    assert_no_uploads_left(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_source_edge_sizes_round_trip() {
    let server = server_with_part_size(PART, s3io::config::DEFAULT_MEMORY_LIMIT).await;
    let dir = tempfile::tempdir().unwrap();
    for (i, size) in EDGE_SIZES.into_iter().enumerate() {
        let data = test_data(size, 200 + i as u64);
        let path = dir.path().join(format!("{size}.bin"));
        std::fs::write(&path, &data).unwrap();
        let key = format!("file/{size}");
        let output = server.client.upload(&server.bucket, &key).from_file(&path).await.expect("upload");
        check_output(&server, &key, &data, &output, PART).await;
    }
    let pool = server.client.buffer_pool().stats();
    assert_eq!(pool.in_use_bytes, 0, "file chunks not returned to the pool");
    // Chunks, not parts: each of the 8 workers holds a few chunks at most (hyper queues body
    // chunks until 400 KiB wait to be written, so one or two, plus the one being read ahead),
    // and chunk buffers are allocated only up to that working set, then reused.
    let per_worker = 3;
    assert!(
        pool.allocated <= per_worker * s3io::config::DEFAULT_CONCURRENCY as u64,
        "chunk buffers not reused: {pool:?}"
    );
    assert!(pool.reused > pool.allocated, "chunk buffers not reused: {pool:?}");
    // The requirement, not the chunk size, sets the ceiling: a file transfer streams through
    // small buffers, so a 1 GiB one fits in 40 MiB of peak RSS with half of that left to the
    // process itself; with 8 workers, all its buffers together hold at most 16 MiB.
    const BUFFER_CEILING: u64 = 16 * 1024 * 1024;
    assert!(
        pool.high_water_bytes <= BUFFER_CEILING,
        "file upload held {} bytes of buffers, ceiling {BUFFER_CEILING}",
        pool.high_water_bytes
    );
    assert_no_uploads_left(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_source_edge_sizes_round_trip() {
    let server = server_with_part_size(PART, s3io::config::DEFAULT_MEMORY_LIMIT).await;
    for (i, size) in EDGE_SIZES.into_iter().enumerate() {
        let data = test_data(size, 300 + i as u64);
        let key = format!("stream/{size}");
        // Reads of an odd size, as a pipe delivers them: part boundaries fall mid-read.
        let reader = ChunkedReader::new(data.clone(), 65_521);
        let output = server.client.upload(&server.bucket, &key).from_reader(reader).await.expect("upload");
        check_output(&server, &key, &data, &output, PART).await;
    }
    assert_eq!(server.client.buffer_pool().stats().in_use_bytes, 0);
    assert_no_uploads_left(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_file_upload_round_trips_with_progress() {
    // 38 parts, the last one 7 bytes: 300 MiB in the default 8 MiB parts, here in S3's smallest
    // (5 MiB) parts, so 185 MiB.
    let server = server_with_part_size(PART, s3io::config::DEFAULT_MEMORY_LIMIT).await;
    let size = 37 * PART + 7;
    let data = test_data(size, 300);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.bin");
    std::fs::write(&path, &data).unwrap();
    let progress = Arc::new(Progress::new());
    let output = server
        .client
        .upload(&server.bucket, "large/38-parts")
        .progress(progress.clone())
        .from_file(&path)
        .await
        .expect("upload");
    check_output(&server, "large/38-parts", &data, &output, PART).await;
    assert_eq!(progress.bytes_total(), Some(size as u64));
    assert_eq!(progress.bytes_done(), size as u64);
    assert!(output.etag.as_deref().is_some_and(|e| e.ends_with("-38\"")), "{:?}", output.etag);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bytes_and_stream_uploads_round_trip() {
    let server = TestServer::start().await;
    let data = Bytes::from(test_data(40 * MIB + 3, 40));
    let output = server.client.upload(&server.bucket, "large/bytes").from_bytes(data.clone()).await.expect("upload");
    check_output(&server, "large/bytes", &data, &output, s3io::config::DEFAULT_PART_SIZE as usize).await;
    let reader = ChunkedReader::new(data.clone(), 1 << 20);
    let output = server.client.upload(&server.bucket, "large/stream").from_reader(reader).await.expect("upload");
    check_output(&server, "large/stream", &data, &output, s3io::config::DEFAULT_PART_SIZE as usize).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_of_unknown_length_respects_a_two_part_memory_limit() {
    let server = server_with_part_size(PART, 2 * PART as u64).await;
    let data = test_data(60 * MIB + 5, 60);
    let reader = ChunkedReader::new(data.clone(), 100_000);
    let output = server.client.upload(&server.bucket, "capped").from_reader(reader).await.expect("upload");
    check_output(&server, "capped", &data, &output, PART).await;
    let stats = server.client.buffer_pool().stats();
    assert!(stats.high_water_bytes <= 2 * PART as u64, "held {} bytes, cap {}", stats.high_water_bytes, 2 * PART);
    // 13 parts went through 2 buffers: the reader waited for each one to come back.
    assert!(stats.acquired >= 13 && stats.allocated <= 2, "buffers not reused: {stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_transfer_memory_limit_bounds_a_stream() {
    let server = server_with_part_size(PART, s3io::config::DEFAULT_MEMORY_LIMIT).await;
    let data = test_data(40 * MIB, 41);
    let output = server
        .client
        .upload(&server.bucket, "capped-transfer")
        .memory_limit(3 * PART as u64)
        .concurrency(8)
        .from_reader(ChunkedReader::new(data.clone(), 1 << 20))
        .await
        .expect("upload");
    check_output(&server, "capped-transfer", &data, &output, PART).await;
    let stats = server.client.buffer_pool().stats();
    assert!(stats.high_water_bytes <= 3 * PART as u64, "held {} bytes", stats.high_water_bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_checksum_algorithm_and_mode_round_trips_from_every_source() {
    let server = server_with_part_size(PART, s3io::config::DEFAULT_MEMORY_LIMIT).await;
    let data = Bytes::from(test_data(3 * PART + 99, 7));
    let dir = tempfile::tempdir().unwrap();
    for (name, algorithm, mode) in [
        ("crc32c", ChecksumAlgorithm::Crc32c, ChecksumMode::WhenSupported),
        ("md5", ChecksumAlgorithm::Md5, ChecksumMode::WhenSupported),
        ("none", ChecksumAlgorithm::Crc64Nvme, ChecksumMode::WhenRequired),
    ] {
        for (shape, size) in [("multi", data.len()), ("single", 1000)] {
            let slice = data.slice(..size);
            let path = dir.path().join(format!("{name}-{shape}"));
            std::fs::write(&path, &slice).unwrap();
            for source in ["bytes", "file", "stream"] {
                let key = format!("{name}/{shape}/{source}");
                let upload =
                    server.client.upload(&server.bucket, &key).checksum_algorithm(algorithm).checksum_mode(mode);
                let output = match source {
                    "bytes" => upload.from_bytes(slice.clone()).await,
                    "file" => upload.from_file(&path).await,
                    _ => upload.from_reader(ChunkedReader::new(slice.clone(), 70_000)).await,
                }
                .unwrap_or_else(|e| panic!("{key}: {e}"));
                let expected = match (algorithm, mode) {
                    (ChecksumAlgorithm::Crc32c, ChecksumMode::WhenSupported) => Some(checksum(algorithm, &slice)),
                    _ => None,
                };
                assert_eq!(output.checksum, expected, "{key}");
                if let (Some(expected), "single") = (&expected, shape) {
                    let info = server.client.head_object(&server.bucket, &key).await.unwrap();
                    assert!(info.checksums.contains(expected), "{key}: {:?}", info.checksums);
                }
                assert!(fetch(&server, &key).await == slice, "{key} differs");
            }
        }
    }
    assert_no_uploads_left(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn part_size_below_five_mib_is_rejected_before_any_request() {
    let server = TestServer::start().await;
    let err = server
        .client
        .upload(&server.bucket, "tiny-parts")
        .part_size(MIB as u64)
        .from_bytes(Bytes::from(test_data(3 * MIB, 1)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidConfig(_)), "{err}");
    assert!(err.to_string().contains("5 MiB"), "{err}");
    assert_no_uploads_left(&server).await;
    // The same part size is fine for an object that goes as one PutObject.
    server
        .client
        .upload(&server.bucket, "small")
        .part_size(MIB as u64)
        .from_bytes(Bytes::from_static(b"fits in one part"))
        .await
        .expect("single put");
}

/// Waits (bounded) until at least `bytes` are done.
async fn wait_for_progress(progress: &Progress, bytes: u64) {
    for _ in 0..500 {
        if progress.bytes_done() >= bytes {
            return;
        }
        // The poll interval of a bounded wait for the condition above.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no progress: {} bytes done", progress.bytes_done());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_upload_is_aborted_and_says_so() {
    let server = server_with_part_size(PART, s3io::config::DEFAULT_MEMORY_LIMIT).await;
    let data = test_data(20 * MIB, 9);
    // The stream stalls after 12 MiB: two parts go up, then the upload waits for more input.
    let reader = ChunkedReader::new(data, 1 << 20).stopping(12 * MIB, Stop::Stall);
    let token = CancellationToken::new();
    let progress = Arc::new(Progress::new());
    let upload = server.client.upload(&server.bucket, "cancelled").cancel(token.clone()).progress(progress.clone());
    let task = tokio::spawn(upload.from_reader(reader));
    wait_for_progress(&progress, 2 * PART as u64).await;
    let started = std::time::Instant::now();
    token.cancel();
    let err = task.await.unwrap().unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2), "cancellation took {:?}", started.elapsed());
    assert!(err.is_cancelled(), "{err}");
    assert!(matches!(err, Error::UploadAborted { abort_error: None, .. }), "{err:?}");
    assert!(report(&err).contains("cancelled") && report(&err).contains("aborted"), "{}", report(&err));
    assert_no_uploads_left(&server).await;
    assert!(server.client.head_object(&server.bucket, "cancelled").await.unwrap_err().is_not_found());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_upload_future_aborts_its_multipart_upload() {
    let server = server_with_part_size(PART, s3io::config::DEFAULT_MEMORY_LIMIT).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dropped.bin");
    std::fs::write(&path, test_data(30 * MIB, 10)).unwrap();
    let progress = Arc::new(Progress::new());
    let upload = server.client.upload(&server.bucket, "dropped").concurrency(1).progress(progress.clone());
    let task = tokio::spawn(upload.from_file(path));
    wait_for_progress(&progress, PART as u64).await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    // The abort runs in the background: wait for it, bounded.
    for _ in 0..200 {
        let page = server.client.list_multipart_uploads(&server.bucket, None, None).await.unwrap();
        if page.uploads.is_empty() {
            return;
        }
        // The poll interval of a bounded wait for the condition above.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the dropped upload's multipart upload was not aborted");
}

/// Round trip of the emulated network in the next test: the store makes the upload one round
/// trip after the connect, and answers one round trip later.
const CREATE_RTT: Duration = Duration::from_millis(600);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_dropped_before_its_create_is_answered_is_aborted_before_cleanup_finishes() {
    // A program that drops an upload and exits once `cleanup::finish` returns: the client runs on
    // a runtime of its own, shut down right after, which kills whatever finish did not wait for.
    // The upload is dropped between the store making it and its answer arriving.
    let server = TestServer::start()
        .await
        .restart_configured(|c| c.with_network(format!("rtt={}ms", CREATE_RTT.as_millis()).parse().unwrap()), |b| b)
        .await;
    let (endpoint, bucket) = (server.server.endpoint_url(), server.bucket.clone());
    let pending_seen = tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let seen = runtime.block_on(async {
            let client = TestServer::builder_for_url(&endpoint).build().await.unwrap();
            let upload = client
                .upload(&bucket, "dropped-early")
                .part_size(PART as u64)
                .multipart_threshold(PART as u64)
                .from_bytes(Bytes::from(test_data(2 * PART + 1, 12)));
            let task = tokio::spawn(upload);
            tokio::time::sleep(CREATE_RTT * 3 / 2).await;
            task.abort();
            assert!(task.await.unwrap_err().is_cancelled());
            let seen = s3io::cleanup::pending();
            tokio::time::timeout(Duration::from_secs(20), s3io::cleanup::finish()).await.expect("clean-up finished");
            assert!(s3io::cleanup::pending().is_empty(), "{:?}", s3io::cleanup::pending());
            seen
        });
        runtime.shutdown_timeout(Duration::ZERO);
        seen
    })
    .await
    .unwrap();
    // Owed at the drop: the upload's abort, its id unknown yet (or known, on a machine so slow
    // that the answer came first; the abort is owed either way).
    assert_eq!(pending_seen.len(), 1, "{pending_seen:?}");
    assert_eq!(pending_seen[0].key, "dropped-early");
    assert_no_uploads_left(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_source_aborts_the_multipart_upload() {
    let server = server_with_part_size(PART, s3io::config::DEFAULT_MEMORY_LIMIT).await;
    let reader = ChunkedReader::new(test_data(20 * MIB, 11), 1 << 20).stopping(11 * MIB, Stop::Fail);
    let err = server.client.upload(&server.bucket, "failing").from_reader(reader).await.unwrap_err();
    let Error::UploadAborted { source, abort_error: None, .. } = &err else { panic!("not aborted: {err:?}") };
    assert!(matches!(**source, Error::Io { .. }), "{source:?}");
    let message = report(&err);
    assert!(message.contains("injected read failure") && message.contains("aborted"), "{message}");
    assert!(message.contains(&format!("s3://{}/failing", server.bucket)), "{message}");
    assert_no_uploads_left(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_file_names_the_path() {
    let server = TestServer::start().await;
    let err = server.client.upload(&server.bucket, "k").from_file("/nonexistent/s3io-upload").await.unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/s3io-upload"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_uploads_are_listed_and_aborted_by_prefix_and_age() {
    let server = TestServer::start().await;
    let client = &server.client;
    let opts = Default::default();
    let old = client.create_multipart_upload(&server.bucket, "tmp/a", &opts, None).await.unwrap();
    let other = client.create_multipart_upload(&server.bucket, "keep/b", &opts, None).await.unwrap();
    let hour = Duration::from_secs(3600);
    assert!(client.stale_uploads(&server.bucket, "tmp/", hour).await.unwrap().is_empty(), "a fresh upload is stale");
    let aborted = client.abort_stale_uploads(&server.bucket, "tmp/", Duration::ZERO).await.unwrap();
    assert_eq!(aborted.iter().map(|u| u.upload_id.as_str()).collect::<Vec<_>>(), [old.as_str()]);
    let left = client.list_multipart_uploads(&server.bucket, None, None).await.unwrap().uploads;
    assert_eq!(left.iter().map(|u| u.upload_id.as_str()).collect::<Vec<_>>(), [other.as_str()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_options_reach_the_object() {
    let server = TestServer::start().await;
    let options = s3io::types::PutObjectOptions::default()
        .with_content_type("text/plain")
        .with_metadata(vec![("origin".into(), "s3io-test".into())]);
    for (key, size) in [("opts/single", 10), ("opts/multi", 20 * MIB)] {
        let data = Bytes::from(test_data(size, 12));
        server.client.upload(&server.bucket, key).options(options.clone()).from_bytes(data).await.expect("upload");
        let info = server.client.head_object(&server.bucket, key).await.unwrap();
        assert_eq!(info.content_type.as_deref(), Some("text/plain"), "{key}");
        assert_eq!(info.metadata, [("origin".to_owned(), "s3io-test".to_owned())], "{key}");
    }
}
