//! Writes that never replace an object (`Upload::no_overwrite`, `ServerCopy::no_overwrite`)
//! against the embedded server: a single PutObject or CopyObject onto an existing key is refused
//! (412) and leaves the object as it was; a multipart upload or copy onto an existing key stops at
//! its first HeadObject, before any part; one whose key is taken while its parts are in flight is
//! refused at CompleteMultipartUpload and aborted. Each case checks what the bucket holds
//! (GetObject) and that no multipart upload is left (ListMultipartUploads).

use std::time::{Duration, Instant};

use bytes::Bytes;
use s3io::{Client, Error};

use crate::common::{report, test_data, TestServer, MIB};

/// S3's smallest part: part size and threshold of the multipart cases.
const PART: u64 = 5 * MIB as u64;

/// Every PUT answer held back 1 s, so that a multipart transfer with concurrency 1 is still
/// sending parts when the test writes its key (HEAD, POST and GET are not delayed).
const SLOW_PUTS: &str = "seed=1,stall=1.0,stall-for=1s,methods=PUT";

async fn fetch(client: &Client, bucket: &str, key: &str) -> Vec<u8> {
    let object = client.get_object(bucket, key, &Default::default()).await.expect("get object");
    object.collect().await.expect("read object").to_vec()
}

async fn uploads_left(client: &Client, bucket: &str) -> usize {
    client.list_multipart_uploads(bucket, None, None).await.expect("list uploads").uploads.len()
}

/// Waits until the bucket has a multipart upload in progress (at most 10 s).
async fn wait_for_upload(client: &Client, bucket: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while uploads_left(client, bucket).await == 0 {
        assert!(Instant::now() < deadline, "the multipart transfer never started");
        // The poll interval of a bounded wait for the condition above.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn assert_refused(err: &Error) {
    assert!(err.is_precondition_failed(), "{err:?}");
    assert_eq!(err.status(), Some(412), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_put_and_copy_create_but_never_replace() {
    let server = TestServer::start().await;
    let (client, bucket) = (&server.client, &server.bucket);
    let new = || client.upload(bucket, "k").no_overwrite(true);
    new().from_bytes(Bytes::from_static(b"first")).await.expect("the key is free: written");
    let err = new().from_bytes(Bytes::from_static(b"second")).await.expect_err("the key is taken");
    assert_refused(&err);
    assert!(report(&err).contains("s3://") && report(&err).contains("/k"), "{}", report(&err));
    assert_eq!(fetch(client, bucket, "k").await, b"first");

    server.put("src", b"source bytes").await;
    client.copy(bucket, "src", bucket, "copy").no_overwrite(true).await.expect("the destination is free");
    assert_eq!(fetch(client, bucket, "copy").await, b"source bytes");
    let err = client.copy(bucket, "k", bucket, "copy").no_overwrite(true).await.expect_err("taken");
    assert_refused(&err);
    assert!(report(&err).contains("already holds an object"), "{}", report(&err));
    assert_eq!(fetch(client, bucket, "copy").await, b"source bytes");
    // Without the flag, both replace.
    client.copy(bucket, "k", bucket, "copy").await.expect("copy over");
    assert_eq!(fetch(client, bucket, "copy").await, b"first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_onto_an_existing_key_stops_before_any_part() {
    let server = TestServer::start().await;
    let (client, bucket) = (&server.client, &server.bucket);
    server.put("big", b"kept").await;
    let data = Bytes::from(test_data(2 * PART as usize, 1));
    let upload = client.upload(bucket, "big").part_size(PART).multipart_threshold(PART).no_overwrite(true);
    assert_refused(&upload.from_bytes(data.clone()).await.expect_err("taken"));
    server.put("src", &data).await;
    let copy = client.copy(bucket, "src", bucket, "big").part_size(PART).multipart_threshold(PART).no_overwrite(true);
    assert_refused(&copy.await.expect_err("taken"));
    assert_eq!(fetch(client, bucket, "big").await, b"kept");
    assert_eq!(uploads_left(client, bucket).await, 0, "a multipart upload was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_taken_while_parts_are_sent_is_refused_at_completion_and_aborted() {
    let server = TestServer::start_with(Some(SLOW_PUTS), |b| b).await;
    let (client, bucket) = (&server.client, &server.bucket);
    let data = Bytes::from(test_data(2 * PART as usize, 2));
    // An upload and a copy, parts one at a time and each answered 1 s late.
    let upload =
        client.upload(bucket, "up").part_size(PART).multipart_threshold(PART).concurrency(1).no_overwrite(true);
    let task = tokio::spawn(upload.from_bytes(data.clone()));
    wait_for_upload(client, bucket).await;
    client.put_object(bucket, "up", Bytes::from_static(b"racer"), &Default::default()).await.expect("racer");
    let err = task.await.unwrap().expect_err("completion over the racer's object");
    assert_refused(&err);
    assert!(matches!(err, Error::UploadAborted { abort_error: None, .. }), "{err:?}");
    assert_eq!(fetch(client, bucket, "up").await, b"racer");
    assert_eq!(uploads_left(client, bucket).await, 0, "the refused upload was left behind");

    client.upload(bucket, "src").from_bytes(data).await.expect("source");
    let copy = client.copy(bucket, "src", bucket, "cp").part_size(PART).multipart_threshold(PART).concurrency(1);
    let task = tokio::spawn(copy.no_overwrite(true).run());
    wait_for_upload(client, bucket).await;
    client.put_object(bucket, "cp", Bytes::from_static(b"racer"), &Default::default()).await.expect("racer");
    let err = task.await.unwrap().expect_err("completion over the racer's object");
    assert_refused(&err);
    assert!(matches!(err, Error::UploadAborted { abort_error: None, .. }), "{err:?}");
    assert_eq!(fetch(client, bucket, "cp").await, b"racer");
    assert_eq!(uploads_left(client, bucket).await, 0, "the refused copy was left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_put_that_finds_its_own_object_succeeds() {
    // As in `retry::put_whose_answer_stalls_is_abandoned_after_its_body_and_retried`: with seed 0
    // request 0 (CreateBucket) passes, request 33 (the upload's PUT) is stored and its answer held
    // back, and request 34 (the PUT sent again) passes, so it meets the object the first stored.
    let server = TestServer::start_with(Some("seed=0,stall=0.5,stall-for=60s,methods=PUT"), |b| {
        b.stall_timeout(Duration::from_secs(1))
    })
    .await;
    let (client, bucket) = (&server.client, &server.bucket);
    // Latency samples for the adaptive timeout: HEADs of a missing key (answered 404).
    for _ in 0..32 {
        assert!(client.head_object(bucket, "missing").await.is_err());
    }
    let data = Bytes::from(test_data(MIB, 3));
    let upload = client.upload(bucket, "once").no_overwrite(true).from_bytes(data.clone());
    let output = tokio::time::timeout(Duration::from_secs(20), upload)
        .await
        .expect("a stalled PUT answer was not abandoned")
        .expect("the object the first attempt stored is this upload's");
    assert!(server.server.fault_stats().stalls >= 1, "the seed stalled no PUT: {:?}", server.server.fault_stats());
    assert!(output.etag.is_some(), "{output:?}");
    assert!(fetch(client, bucket, "once").await == data);
    // Someone else's object is still refused.
    let err = client.upload(bucket, "once").no_overwrite(true).from_bytes(Bytes::from_static(b"other")).await;
    assert_refused(&err.expect_err("taken"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_copy_that_finds_its_own_object_succeeds() {
    // With seed 0 and half the PUTs stalled: request 0 (CreateBucket) passes, 1-5 are HEADs
    // (never faulted), 6 (the source's PutObject) passes, 7 is the copy's HEAD of its source,
    // 8 (the CopyObject) copies and has its answer held back past the read timeout, and 9 (the
    // CopyObject sent again) passes, so it meets the object the first attempt copied.
    let server = TestServer::start_with(Some("seed=0,stall=0.5,stall-for=60s,methods=PUT"), |b| {
        b.read_timeout(Duration::from_secs(2))
    })
    .await;
    let (client, bucket) = (&server.client, &server.bucket);
    for _ in 0..5 {
        assert!(client.head_object(bucket, "missing").await.is_err());
    }
    let data = Bytes::from(test_data(MIB, 4));
    client.put_object(bucket, "source", data.clone(), &Default::default()).await.expect("source");
    let copy = client.copy(bucket, "source", bucket, "copied").no_overwrite(true).run();
    let output = tokio::time::timeout(Duration::from_secs(30), copy)
        .await
        .expect("a stalled CopyObject answer was not abandoned")
        .expect("the object the first attempt copied is this copy's");
    let stats = server.server.fault_stats();
    assert_eq!(stats.stalls, 1, "the seed did not stall the CopyObject alone: {stats:?}");
    assert!(output.etag.is_some(), "{output:?}");
    assert!(fetch(client, bucket, "copied").await == data);
    // Another source's copy onto it is still refused.
    client.put_object(bucket, "other", Bytes::from_static(b"other"), &Default::default()).await.expect("other");
    let err = client.copy(bucket, "other", bucket, "copied").no_overwrite(true).run().await;
    assert_refused(&err.expect_err("taken"));
}
