//! The server-side copy engine against the embedded server: one CopyObject, multipart copies
//! byte-exact (within and across buckets), odd keys, a source replaced mid-copy, a missing
//! source, cancellation and drop, and injected faults. Every multipart case checks that no
//! upload is left behind.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use s3io::checksum::checksum;
use s3io::config::{ChecksumAlgorithm, ChecksumMode, RetryConfig};
use s3io::types::PutObjectOptions;
use s3io::{Client, Error, Progress};
use tokio_util::sync::CancellationToken;

use crate::common::{report, test_data, TestServer, MIB};

/// S3's smallest part: the part size and threshold of the multipart cases.
const PART: u64 = 5 * MIB as u64;

/// Every PUT answer held back 1 s, so a multipart copy with concurrency 1 stays in flight long
/// enough for a test to act while it runs (HEAD, POST and GET are not delayed).
const SLOW_PUTS: &str = "seed=1,stall=1.0,stall-for=1s,methods=PUT";

async fn fetch(client: &Client, bucket: &str, key: &str) -> Vec<u8> {
    let object = client.get_object(bucket, key, &Default::default()).await.expect("get object");
    object.collect().await.expect("read object").to_vec()
}

async fn uploads_left(client: &Client, bucket: &str) -> usize {
    client.list_multipart_uploads(bucket, None, None).await.expect("list uploads").uploads.len()
}

async fn put_with_metadata(server: &TestServer, key: &str, data: &[u8]) {
    let options = PutObjectOptions::default()
        .with_content_type("text/x-test")
        .with_content_disposition("attachment; filename=\"a b.txt\"")
        .with_content_language("en")
        .with_cache_control("max-age=60")
        .with_metadata(vec![("origin".into(), "copy-test".into())]);
    server.client.put_object(&server.bucket, key, Bytes::copy_from_slice(data), &options).await.expect("put");
}

async fn assert_same_metadata(client: &Client, bucket: &str, key: &str) {
    let info = client.head_object(bucket, key).await.expect("head copy");
    assert_eq!(info.content_type.as_deref(), Some("text/x-test"), "{key}");
    assert_eq!(info.content_disposition.as_deref(), Some("attachment; filename=\"a b.txt\""), "{key}");
    assert_eq!(info.content_language.as_deref(), Some("en"), "{key}");
    assert_eq!(info.cache_control.as_deref(), Some("max-age=60"), "{key}");
    assert_eq!(info.metadata, vec![("origin".to_owned(), "copy-test".to_owned())], "{key}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_object_is_one_copy_object_with_its_metadata() {
    let server = TestServer::start().await;
    let data = test_data(100 * 1024, 1);
    put_with_metadata(&server, "small/src", &data).await;
    let progress = Arc::new(Progress::new());
    let output = server
        .client
        .copy(&server.bucket, "small/src", &server.bucket, "small/dst")
        .progress(progress.clone())
        .await
        .expect("copy");
    assert_eq!((output.size, output.parts), (data.len() as u64, 0));
    let source = server.client.head_object(&server.bucket, "small/src").await.unwrap();
    assert_eq!(output.source_etag, source.etag);
    assert_eq!(output.etag, source.etag, "a single copy keeps the MD5 ETag");
    assert!(fetch(&server.client, &server.bucket, "small/dst").await == data);
    assert_same_metadata(&server.client, &server.bucket, "small/dst").await;
    assert_eq!((progress.bytes_done(), progress.bytes_total()), (data.len() as u64, Some(data.len() as u64)));

    // An empty object too.
    server.put("small/empty", b"").await;
    let output = server.client.copy(&server.bucket, "small/empty", &server.bucket, "small/empty-copy").await.unwrap();
    assert_eq!((output.size, output.parts), (0, 0));
    assert!(fetch(&server.client, &server.bucket, "small/empty-copy").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_copy_across_buckets_is_byte_exact_with_s3_part_etags() {
    let server = TestServer::start().await;
    let other = format!("{}-other", server.bucket);
    server.client.create_bucket(&other).await.unwrap();
    let data = test_data(12 * MIB, 2);
    put_with_metadata(&server, "big/src", &data).await;
    let progress = Arc::new(Progress::new());
    let output = server
        .client
        .copy(&server.bucket, "big/src", &other, "big/dst")
        .multipart_threshold(PART)
        .part_size(PART)
        .concurrency(2)
        .progress(progress.clone())
        .await
        .expect("multipart copy");
    assert_eq!((output.size, output.parts), (data.len() as u64, 3));
    assert!(fetch(&server.client, &other, "big/dst").await == data, "copied bytes differ");
    assert_same_metadata(&server.client, &other, "big/dst").await;
    assert_eq!(progress.bytes_done(), data.len() as u64);
    // The source was put without a checksum; the server stored its CRC64NVME (as S3 does for
    // every new object), which the copy's parts are checked against.
    assert_eq!(output.checksum, Some(crate::common::crc64nvme(&data)), "the copy checks the source's CRC64NVME");

    // The part ETags are the MD5s S3 computes: the same bytes uploaded in the same parts give
    // the same multipart ETag.
    let uploaded = server
        .client
        .upload(&server.bucket, "big/uploaded")
        .part_size(PART)
        .multipart_threshold(PART)
        .from_bytes(Bytes::from(data.clone()))
        .await
        .unwrap();
    assert_eq!(output.etag, uploaded.etag);
    assert!(output.etag.as_deref().is_some_and(|e| e.ends_with("-3\"")), "{:?}", output.etag);

    // A multipart source copied in its own part layout (the server reuses the recorded part
    // MD5s) and in another one (the server hashes the ranges).
    for (key, part_size) in [("big/same-layout", PART), ("big/other-layout", 6 * MIB as u64)] {
        let output = server
            .client
            .copy(&server.bucket, "big/uploaded", &server.bucket, key)
            .multipart_threshold(PART)
            .part_size(part_size)
            .await
            .expect("copy of a multipart object");
        assert!(fetch(&server.client, &server.bucket, key).await == data, "{key}: copied bytes differ");
        if part_size == PART {
            assert_eq!(output.etag, uploaded.etag, "{key}");
        }
        // The source's CRC64NVME, combined from the copied parts' checksums, kept by the copy.
        let whole = checksum(ChecksumAlgorithm::Crc64Nvme, &data);
        assert_eq!(output.checksum.as_ref(), Some(&whole), "{key}");
        let info = server.client.head_object(&server.bucket, key).await.unwrap();
        assert!(info.checksums.contains(&whole), "{key}: {:?}", info.checksums);
    }
    let output = server
        .client
        .copy(&server.bucket, "big/uploaded", &server.bucket, "big/unchecked")
        .multipart_threshold(PART)
        .part_size(PART)
        .checksum_mode(ChecksumMode::WhenRequired)
        .await
        .unwrap();
    assert_eq!(output.checksum, None);
    assert!(fetch(&server.client, &server.bucket, "big/unchecked").await == data);
    assert_eq!(uploads_left(&server.client, &server.bucket).await, 0);
    assert_eq!(uploads_left(&server.client, &other).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_keys_round_trip_through_both_copy_paths() {
    let server = TestServer::start().await;
    let keys = ["dir/a b.txt", "ünï/cödé ✓", "a+b=c&d", "100%25 sure%", "x#y", "q?versionId=1", "semi;colon,comma"];
    let small = test_data(1000, 3);
    let large = test_data(6 * MIB, 4);
    for (i, key) in keys.iter().enumerate() {
        server.put(key, &small).await;
        let destination = format!("copies/{key} {i}");
        server.client.copy(&server.bucket, *key, &server.bucket, &destination).await.expect(key);
        assert!(fetch(&server.client, &server.bucket, &destination).await == small, "{key}");

        let source = format!("{key}.large");
        server.put(&source, &large).await;
        let destination = format!("{destination}.large");
        let output = server
            .client
            .copy(&server.bucket, &source, &server.bucket, &destination)
            .multipart_threshold(PART)
            .part_size(PART)
            .await
            .expect(key);
        assert_eq!(output.parts, 2, "{key}");
        assert!(fetch(&server.client, &server.bucket, &destination).await == large, "{key} (multipart)");
    }
    assert_eq!(uploads_left(&server.client, &server.bucket).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_source_is_no_such_key_naming_bucket_and_key() {
    let server = TestServer::start().await;
    let err = server.client.copy(&server.bucket, "no/such key", &server.bucket, "dst").await.unwrap_err();
    assert_eq!(err.code(), Some("NoSuchKey"), "{err}");
    assert!(err.is_not_found());
    let message = err.to_string();
    assert!(message.contains(&server.bucket) && message.contains("no/such key"), "{message}");
}

/// Waits until the bucket has a multipart upload in progress (at most 10 s).
async fn wait_for_upload(client: &Client, bucket: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while uploads_left(client, bucket).await == 0 {
        assert!(Instant::now() < deadline, "the multipart copy never started");
        // The poll interval of a bounded wait for the condition above.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the bucket has no multipart upload left (at most 10 s).
async fn wait_for_no_upload(client: &Client, bucket: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while uploads_left(client, bucket).await > 0 {
        assert!(Instant::now() < deadline, "a multipart upload was left behind");
        // The poll interval of a bounded wait for the condition above.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_replaced_mid_copy_fails_saying_so_and_aborts() {
    let server = TestServer::start_with(Some(SLOW_PUTS), |b| b).await;
    let data = test_data(12 * MIB, 5);
    server.put("changing", &data).await;
    let copy = server
        .client
        .copy(&server.bucket, "changing", &server.bucket, "changing-copy")
        .multipart_threshold(PART)
        .part_size(PART)
        .concurrency(1);
    let task = tokio::spawn(copy.run());
    // Parts go one at a time, each answered 1 s late: the source is replaced before the last.
    wait_for_upload(&server.client, &server.bucket).await;
    server.put("changing", b"a new version").await;
    let err = task.await.unwrap().expect_err("a copy of a replaced source must fail");
    assert_eq!(err.status(), Some(412), "{err}");
    let message = report(&err);
    assert!(message.contains("changed during the copy") && message.contains("changing"), "{message}");
    assert!(matches!(err, Error::UploadAborted { abort_error: None, .. }), "{err:?}");
    assert!(message.contains("aborted"), "{message}");
    assert_eq!(uploads_left(&server.client, &server.bucket).await, 0);
    assert!(server.client.head_object(&server.bucket, "changing-copy").await.unwrap_err().is_not_found());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_or_dropped_multipart_copy_is_aborted() {
    let server = TestServer::start_with(Some(SLOW_PUTS), |b| b).await;
    server.put("source", &test_data(12 * MIB, 6)).await;
    let copy = |key: &str| {
        server.client.copy(&server.bucket, "source", &server.bucket, key).multipart_threshold(PART).part_size(PART)
    };

    let token = CancellationToken::new();
    let task = tokio::spawn(copy("cancelled").cancel_token(token.clone()).run());
    wait_for_upload(&server.client, &server.bucket).await;
    let cancelled_at = Instant::now();
    token.cancel();
    let err = task.await.unwrap().expect_err("cancelled");
    assert!(cancelled_at.elapsed() < Duration::from_secs(2), "cancellation took {:?}", cancelled_at.elapsed());
    assert!(err.is_cancelled(), "{err}");
    assert!(report(&err).contains("cancelled") && report(&err).contains("aborted"), "{}", report(&err));
    assert_eq!(uploads_left(&server.client, &server.bucket).await, 0);

    // Dropping the future midway aborts the upload from a spawned task.
    let task = tokio::spawn(copy("dropped").run());
    wait_for_upload(&server.client, &server.bucket).await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    wait_for_no_upload(&server.client, &server.bucket).await;
    assert!(server.client.head_object(&server.bucket, "dropped").await.unwrap_err().is_not_found());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_copy_under_injected_faults_is_byte_exact() {
    // 503s, 500s and dropped connections on the copy's requests; the retry layer rides them out.
    let server = TestServer::start_with(Some("seed=3,503=0.3,500=0.1,reset=0.1,methods=PUT+POST"), |b| {
        b.retry(RetryConfig::default().with_max_attempts(10).with_base_delay(Duration::from_millis(1)))
    })
    .await;
    let data = test_data(23 * MIB, 7);
    server.put("faulty/src", &data).await;
    let retries_before = server.client.retry_counters().total();
    let output = server
        .client
        .copy(&server.bucket, "faulty/src", &server.bucket, "faulty/dst")
        .multipart_threshold(PART)
        .part_size(PART)
        .await
        .expect("copy under faults");
    assert_eq!(output.parts, 5);
    assert!(fetch(&server.client, &server.bucket, "faulty/dst").await == data, "copied bytes differ");
    let stats = server.server.fault_stats();
    assert!(server.client.retry_counters().total() > retries_before, "no fault hit the copy: {stats:?}");
    assert_eq!(uploads_left(&server.client, &server.bucket).await, 0);
}

/// A 200 answer whose body is an error document, as S3 sends for copies that fail after the
/// status line went out.
const ERROR_IN_200: &str =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code><Message>We encountered an internal \
     error. Please try again.</Message><RequestId>r1</RequestId></Error>";

/// A loopback HTTP/1.1 server that answers each request (headers only; copy requests have no
/// body) with status 200 and the next of `answers`, then with [`ERROR_IN_200`]: for answers the
/// embedded server never gives. Returns its URL and the count of requests it answered.
async fn scripted_server(answers: Vec<&'static str>) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let answers = Arc::new(std::sync::Mutex::new(answers.into_iter()));
    let count = Arc::new(AtomicUsize::new(0));
    let answered = count.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (answers, answered) = (answers.clone(), answered.clone());
            tokio::spawn(async move {
                let mut pending = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let end = loop {
                        if let Some(i) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => pending.extend_from_slice(&chunk[..n]),
                        }
                    };
                    pending.drain(..end);
                    answered.fetch_add(1, Ordering::Relaxed);
                    let body = answers.lock().unwrap().next().unwrap_or(ERROR_IN_200);
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/xml\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if socket.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_part_copy_treats_an_error_document_in_a_200_as_an_error_and_retries_it() {
    use std::sync::atomic::Ordering;
    let ok = "<CopyPartResult><ETag>\"0123456789abcdef0123456789abcdef\"</ETag>\
              <LastModified>2026-11-23T10:00:00.000Z</LastModified>\
              <ChecksumCRC64NVME>AAAAAAAAAAA=</ChecksumCRC64NVME></CopyPartResult>";
    let (url, answered) = scripted_server(vec![ERROR_IN_200, ok]).await;
    let client = Client::builder()
        .endpoint(url)
        .region("us-east-1")
        .addressing_style(s3io::config::AddressingStyle::Path)
        .credentials(s3io::CredentialsSource::static_keys("key", "secret"))
        .retry(RetryConfig::default().with_max_attempts(3).with_base_delay(Duration::from_millis(1)))
        .build()
        .await
        .unwrap();
    let source = s3io::types::CopySource::new("src", "a b").if_match("\"e\"");
    let range = Some(s3io::types::ByteRange::inclusive(0, 5 * MIB as u64 - 1));
    let copied = client.upload_part_copy(source, range, "dst", "k", "upload-1", 1).await.expect("retried");
    assert_eq!(answered.load(Ordering::Relaxed), 2, "the error document was not retried");
    assert_eq!(copied.part.etag, "\"0123456789abcdef0123456789abcdef\"");
    assert_eq!(copied.part.part_number, 1);
    assert!(copied.last_modified.is_some());
    assert_eq!(copied.checksums.len(), 1);
    assert_eq!(copied.checksums[0].algorithm, ChecksumAlgorithm::Crc64Nvme);

    // Every answer an error document: the attempts run out and the error says what S3 said.
    let err = client.upload_part_copy(source, range, "dst", "k", "upload-1", 2).await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(200), Some("InternalError")), "{err}");
    assert_eq!(answered.load(Ordering::Relaxed), 2 + 3);
    assert!(err.to_string().contains("UploadPartCopy s3://dst/k"), "{err}");
}

/// CopyObject copies the source's tags by itself; a multipart copy's CreateMultipartUpload does
/// not, so the copy reads them (GetObjectTagging) and sets them, unless told not to copy tags.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_carry_the_source_tags_unless_told_not_to() {
    let s = TestServer::start().await;
    let (c, b) = (&s.client, s.bucket.as_str());
    let options = PutObjectOptions::default().with_tagging("team=data%20eng&tier=hot");
    let data = Bytes::from(test_data(11 * MIB, 4));
    c.put_object(b, "src", data.clone(), &options).await.unwrap();
    for (threshold, parts) in [(MAX_COPY_THRESHOLD, false), (5 * MIB as u64, true)] {
        for copy_tags in [true, false] {
            let key = format!("copy-{parts}-{copy_tags}");
            let properties = s3io::types::CopyProperties::default().with_copy_tags(copy_tags);
            let copy = c.copy(b, "src", b, &key).part_size(5 * MIB as u64).multipart_threshold(threshold);
            let output = copy.properties(properties).await.unwrap();
            assert_eq!(output.parts != 0, parts);
            let tags = c.get_object_tagging(b, &key).await.unwrap();
            let expected: Vec<(String, String)> = if copy_tags {
                vec![("team".into(), "data eng".into()), ("tier".into(), "hot".into())]
            } else {
                Vec::new()
            };
            assert_eq!(tags, expected, "{key}");
        }
    }
}

/// The largest threshold: one CopyObject for any object of these tests.
const MAX_COPY_THRESHOLD: u64 = s3io::config::MAX_COPY_OBJECT_SIZE;
