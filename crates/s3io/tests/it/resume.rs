//! Resuming across runs: a file download that failed part-way (here: the endpoint gone for
//! longer than the retry timeout) leaves its partial file and journal, and the next resumable
//! download fetches only the missing parts — or starts afresh when the object changed; a
//! multipart upload from a file reuses the parts an unfinished upload of the key holds, each
//! checked against the file. What crossed the wire is read from the server's request log.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use s3io::config::{ChecksumAlgorithm, RetryConfig};
use s3io::types::PutObjectOptions;
use s3io_server::RequestRecord;

use crate::common::{crc64nvme, test_data, TestServer, MIB};

/// Part size of these downloads: 16 parts for a 4 MiB object.
const PART: u64 = 256 * 1024;

/// Object bytes the server sent in GET answers (error answers not counted).
fn get_bytes(log: &[RequestRecord]) -> u64 {
    log.iter().filter(|r| r.method == "GET" && r.status < 300).map(|r| r.response_bytes).sum()
}

/// The files in `dir`, by name, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// A 4 MiB object `key` and a resumable download of it that failed once the endpoint went
/// away at request 10 (the first GET, the verification HEAD, 8 more parts: 9 of 16 parts in),
/// for longer than the client's 1 s retry timeout. Returns the server (serving again, without
/// faults, keeping a request log), the object's bytes and the destination.
async fn interrupted_download(dir: &Path, key: &str) -> (TestServer, Vec<u8>, PathBuf) {
    let server = TestServer::start().await;
    let data = test_data(4 * MIB, 71);
    server.put(key, &data).await;
    let short_retries =
        |b: s3io::ClientBuilder| b.retry(RetryConfig::default().with_retry_timeout(Duration::from_secs(1)));
    let server = server
        .restart_configured(|c| c.with_faults("outage=30s,outage-after=10".parse().unwrap()), short_retries)
        .await;
    let path = dir.join("out.bin");
    let error = server
        .client
        .download(&server.bucket, key)
        .part_size(PART)
        .concurrency(1)
        .resume(true)
        .to_file(&path)
        .await
        .expect_err("the endpoint went away");
    assert!(matches!(error, s3io::Error::Timeout { .. }), "{error}");
    assert_eq!(files(dir), [".out.bin.s3io-partial.journal", ".out.bin.s3io-partial.tmp"], "the parts are kept");
    let server = server.restart_configured(|c| c.with_request_log(), |b| b).await;
    (server, data, path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_cut_off_by_an_outage_resumes_with_only_the_missing_parts() {
    let dir = tempfile::tempdir().unwrap();
    let (server, data, path) = interrupted_download(dir.path(), "resumed").await;
    let output = server.client.download(&server.bucket, "resumed").resume(true).to_file(&path).await.expect("resumed");
    assert!(std::fs::read(&path).unwrap() == data, "resumed download differs");
    assert_eq!(output.verified_checksum, Some(crc64nvme(&data)), "the reused parts are verified too");
    assert_eq!(output.resumed_bytes, 9 * PART, "{output:?}");
    let log = server.server.request_log();
    let fetched = get_bytes(&log);
    assert_eq!(fetched, data.len() as u64 - 9 * PART, "fetched: {log:#?}");
    assert!(fetched * 100 <= data.len() as u64 * 55);
    // The first request asks for the first missing part, pinned to the journaled ETag.
    let first = &log[0];
    assert_eq!(first.range.as_deref(), Some(&*format!("bytes={}-{}", 9 * PART, 10 * PART - 1)), "{log:#?}");
    assert_eq!(files(dir.path()), ["out.bin"], "partial files removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_of_a_replaced_object_starts_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _, path) = interrupted_download(dir.path(), "replaced").await;
    let new = test_data(3 * MIB + 5, 72);
    server.put("replaced", &new).await;
    let output = server.client.download(&server.bucket, "replaced").resume(true).to_file(&path).await.unwrap();
    assert!(std::fs::read(&path).unwrap() == new, "not the new object");
    assert_eq!(output.resumed_bytes, 0);
    // The resumption's If-Match failed (412), then the whole new object came.
    let log: Vec<RequestRecord> = server.server.request_log().into_iter().filter(|r| r.method != "PUT").collect();
    assert_eq!(log[0].status, 412, "{log:#?}");
    assert_eq!(get_bytes(&log), new.len() as u64, "{log:#?}");
    assert_eq!(files(dir.path()), ["out.bin"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_without_resuming_starts_from_zero_and_drops_the_partial_files() {
    let dir = tempfile::tempdir().unwrap();
    let (server, data, path) = interrupted_download(dir.path(), "again").await;
    let output = server.client.download(&server.bucket, "again").to_file(&path).await.unwrap();
    assert!(std::fs::read(&path).unwrap() == data);
    assert_eq!(output.resumed_bytes, 0);
    assert_eq!(get_bytes(&server.server.request_log()), data.len() as u64);
    assert_eq!(files(dir.path()), ["out.bin"], "stale partial files removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_reuses_the_verified_parts_of_the_keys_unfinished_upload() {
    let server = TestServer::start().await;
    let part = 5 * MIB;
    let data = test_data(6 * part, 73);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.bin");
    std::fs::write(&file, &data).unwrap();
    // What a killed run left: parts 1 to 3 of the file, and a part 4 of other bytes.
    let (bucket, client) = (&server.bucket, &server.client);
    let upload_id = client
        .create_multipart_upload(bucket, "big", &PutObjectOptions::default(), Some(ChecksumAlgorithm::Crc64Nvme))
        .await
        .unwrap();
    for number in 1..=4u32 {
        let range = (number as usize - 1) * part..number as usize * part;
        let bytes = if number == 4 { test_data(part, 99) } else { data[range].to_vec() };
        let crc = s3io::checksum::checksum(ChecksumAlgorithm::Crc64Nvme, &bytes);
        client.upload_part(bucket, "big", &upload_id, number, Bytes::from(bytes), Some(crc)).await.unwrap();
    }
    let server = server.restart_configured(|c| c.with_request_log(), |b| b).await;
    let output = server
        .client
        .upload(&server.bucket, "big")
        .part_size(part as u64)
        .resume(true)
        .from_file(&file)
        .await
        .expect("resumed upload");
    assert_eq!(output.resumed_bytes, 3 * part as u64, "{output:?}");
    assert_eq!(output.checksum, Some(crc64nvme(&data)), "the combined checksum covers the reused parts");
    let log = server.server.request_log();
    let mut sent: Vec<&str> = log
        .iter()
        .filter(|r| r.method == "PUT" && r.query.contains("partNumber="))
        .map(|r| r.query.split('&').find(|q| q.starts_with("partNumber=")).unwrap())
        .collect();
    sent.sort_unstable();
    assert_eq!(sent, ["partNumber=4", "partNumber=5", "partNumber=6"], "{log:#?}");
    // The upload completed is the one the killed run started.
    assert!(log.iter().any(|r| r.method == "POST" && r.query.contains(&upload_id)), "{log:#?}");
    let back = server.client.download(&server.bucket, "big").to_bytes().await.unwrap();
    assert!(back[..] == data[..], "uploaded object differs");
    assert!(server.client.stale_uploads(&server.bucket, "", Duration::ZERO).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unfinished_upload_of_other_bytes_is_aborted_not_reused() {
    let server = TestServer::start().await;
    let part = 5 * MIB;
    let data = test_data(2 * part + 1, 74);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f.bin");
    std::fs::write(&file, &data).unwrap();
    let (bucket, client) = (&server.bucket, &server.client);
    let stale = client
        .create_multipart_upload(bucket, "f", &PutObjectOptions::default(), Some(ChecksumAlgorithm::Crc64Nvme))
        .await
        .unwrap();
    let other = test_data(part, 75);
    let crc = s3io::checksum::checksum(ChecksumAlgorithm::Crc64Nvme, &other);
    client.upload_part(bucket, "f", &stale, 1, Bytes::from(other), Some(crc)).await.unwrap();
    let output = client.upload(bucket, "f").part_size(part as u64).resume(true).from_file(&file).await.unwrap();
    assert_eq!(output.resumed_bytes, 0);
    assert!(client.download(bucket, "f").to_bytes().await.unwrap()[..] == data[..]);
    assert!(client.stale_uploads(bucket, "", Duration::ZERO).await.unwrap().is_empty(), "the stale upload is aborted");
}
