//! Smoke tests over real HTTP: the server on `127.0.0.1:0`, SigV4-signed
//! requests from a plain hyper client. The client library's behaviour tests
//! cover S3 semantics in depth; these check the server works end to end.

use crate::common::{data, md5_hex, xml_value, Client};
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use md5::{Digest as _, Md5};
use std::time::{Duration, Instant};

use s3io_server::{start, RunningServer, ServerConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_get_range_multipart_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(ServerConfig::new(dir.path())).await.unwrap();
    assert!(server.endpoint_url().starts_with("http://127.0.0.1:"));
    let c = Client::new(&server);

    // Bucket.
    let r = c.send(Method::PUT, "/bkt", &[], Bytes::new(), true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    // PUT with a CRC32C the server verifies and stores, unsigned payload.
    let body = data(3 * 1024 * 1024 + 17, 1);
    let crc = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(crc32c::crc32c(&body).to_be_bytes())
    };
    let r = c
        .send(
            Method::PUT,
            "/bkt/dir/obj.bin",
            &[("x-amz-checksum-crc32c", &crc), ("content-type", "application/x-test")],
            body.clone(),
            false,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("etag"), format!("\"{}\"", md5_hex(&body)));

    // A wrong checksum is BadDigest and leaves nothing behind.
    let r = c.send(Method::PUT, "/bkt/bad", &[("x-amz-checksum-crc32c", "AAAAAA==")], data(10, 2), false).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("BadDigest"), "{}", r.text());
    assert_eq!(c.get("/bkt/bad", &[]).await.status, StatusCode::NOT_FOUND);

    // Whole GET: bytes, ETag, stored checksum and content type.
    let r = c.get("/bkt/dir/obj.bin", &[("x-amz-checksum-mode", "ENABLED")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, body);
    assert_eq!(r.header("x-amz-checksum-crc32c"), crc);
    assert_eq!(r.header("content-type"), "application/x-test");
    let etag = r.header("etag").to_owned();

    // Ranged GETs.
    let r = c.get("/bkt/dir/obj.bin", &[("range", "bytes=100-199")]).await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.header("content-range"), format!("bytes 100-199/{}", body.len()));
    assert_eq!(r.body, body.slice(100..200));
    assert_eq!(r.header("x-amz-checksum-crc32c"), "");
    // A part of the object carries no full-object checksum even when asked; a range covering
    // every byte does (as S3's answers: clients verify one-part downloads with it).
    let r = c.get("/bkt/dir/obj.bin", &[("range", "bytes=100-199"), ("x-amz-checksum-mode", "ENABLED")]).await;
    assert_eq!(r.header("x-amz-checksum-crc32c"), "");
    let all = format!("bytes=0-{}", body.len() + 1_000);
    let r = c.get("/bkt/dir/obj.bin", &[("range", &all), ("x-amz-checksum-mode", "ENABLED")]).await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.body, body);
    assert_eq!(r.header("x-amz-checksum-crc32c"), crc);
    let r = c.get("/bkt/dir/obj.bin", &[("range", "bytes=-10")]).await;
    assert_eq!(r.body, body.slice(body.len() - 10..));
    let r = c.get("/bkt/dir/obj.bin", &[("range", "bytes=1048570-")]).await;
    assert_eq!(r.body, body.slice(1_048_570..));
    let past = format!("bytes={}-", body.len());
    let r = c.get("/bkt/dir/obj.bin", &[("range", &past)]).await;
    assert_eq!(r.status, StatusCode::RANGE_NOT_SATISFIABLE);

    // Conditional GETs.
    assert_eq!(c.get("/bkt/dir/obj.bin", &[("if-none-match", &etag)]).await.status, StatusCode::NOT_MODIFIED);
    assert_eq!(c.get("/bkt/dir/obj.bin", &[("if-match", "\"nope\"")]).await.status, StatusCode::PRECONDITION_FAILED);

    // A prefix is not an object; missing keys are clear errors; a key with `..`
    // segments is an ordinary key (as in S3) that names nothing outside the root.
    let r = c.get("/bkt/dir", &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.text().contains("NoSuchKey"));
    let r = c.send(Method::HEAD, "/bkt/dir", &[], Bytes::new(), true).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c.get("/nobucket/x", &[]).await;
    assert!(r.text().contains("NoSuchBucket"), "{}", r.text());
    let r = c.send(Method::PUT, "/bkt/a/../../escape", &[], data(1, 3), true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(c.get("/bkt/a/../../escape", &[]).await.body, data(1, 3));
    assert!(!dir.path().join("escape").exists());
    assert!(!dir.path().parent().unwrap().join("escape").exists());
    let r = c.send(Method::DELETE, "/bkt/a/../../escape", &[], Bytes::new(), true).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());

    // Multipart: 5 MiB + 1 MiB, signed payloads.
    let r = c.send(Method::POST, "/bkt/big?uploads", &[], Bytes::new(), true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let text = r.text();
    let upload_id = xml_value(&text, "UploadId").to_owned();
    let parts = [data(5 * 1024 * 1024, 4), data(1024 * 1024 + 5, 5)];
    let mut etags = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let path = format!("/bkt/big?partNumber={}&uploadId={upload_id}", i + 1);
        let r = c.send(Method::PUT, &path, &[], part.clone(), true).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.header("etag"), format!("\"{}\"", md5_hex(part)));
        etags.push(r.header("etag").to_owned());
    }
    let r = c.get(&format!("/bkt/big?uploadId={upload_id}"), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.text().matches("<Part>").count(), 2);
    let complete = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{}</ETag></Part><Part><PartNumber>2</PartNumber><ETag>{}</ETag></Part></CompleteMultipartUpload>",
        etags[0], etags[1]
    );
    let r =
        c.send(Method::POST, &format!("/bkt/big?uploadId={upload_id}"), &[], Bytes::from(complete.clone()), true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let mut joined = Vec::new();
    for part in &parts {
        joined.extend_from_slice(&Md5::digest(part));
    }
    let expected_etag = format!("{}-2", md5_hex(&joined));
    assert!(r.text().contains(&expected_etag), "{}", r.text());
    // A retried completion (first response lost) gets the same answer.
    let r = c.send(Method::POST, &format!("/bkt/big?uploadId={upload_id}"), &[], Bytes::from(complete), true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = c.get("/bkt/big", &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("etag"), format!("\"{expected_etag}\""));
    assert_eq!(r.body.len(), parts[0].len() + parts[1].len());
    assert_eq!(r.body.slice(..parts[0].len()), parts[0]);
    assert_eq!(r.body.slice(parts[0].len()..), parts[1]);

    // Listing, in byte order, with the internal directory hidden.
    let r = c.get("/bkt?list-type=2", &[]).await;
    let text = r.text();
    let keys: Vec<&str> = text.split("<Key>").skip(1).map(|s| &s[..s.find("</Key>").unwrap()]).collect();
    assert_eq!(keys, ["big", "dir/obj.bin"]);
    let r = c.get("/", &[]).await;
    assert!(r.text().contains("<Name>bkt</Name>") && !r.text().contains(".s3io"), "{}", r.text());

    // A bucket with objects cannot be deleted.
    let r = c.send(Method::DELETE, "/bkt", &[], Bytes::new(), true).await;
    assert!(r.text().contains("BucketNotEmpty"), "{}", r.text());

    // Unsigned or wrongly signed requests are refused.
    let resp = c
        .http
        .request(Request::get(format!("{}/bkt/big", c.endpoint)).body(Full::new(Bytes::new())).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    assert!(server.fault_stats().requests >= 20);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_slow_down_is_an_s3_error_without_side_effects() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(ServerConfig::new(dir.path()).with_faults("503=1,methods=PUT".parse().unwrap())).await.unwrap();
    let c = Client::new(&server);
    let r = c.send(Method::PUT, "/bkt", &[], Bytes::new(), true).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(xml_value(&r.text(), "Code"), "SlowDown");
    assert!(!xml_value(&r.text(), "RequestId").is_empty());
    // The bucket was not created: GETs are not faulted and see no bucket.
    let r = c.get("/bkt?list-type=2", &[]).await;
    assert!(r.text().contains("NoSuchBucket"), "{}", r.text());
    let stats = server.fault_stats();
    assert_eq!((stats.requests, stats.slow_downs, stats.total_faults()), (2, 1, 1));
    drop(server);
}

/// A server on this runtime with `faults`, and its root.
async fn faulty(faults: &str) -> (RunningServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = start(ServerConfig::new(dir.path()).with_faults(faults.parse().unwrap())).await.unwrap();
    (server, dir)
}

/// Polls `GET /` until it is answered (bounded by `deadline`); returns when it was.
async fn answered_again(c: &Client, deadline: Duration) -> Instant {
    let started = Instant::now();
    loop {
        if let Ok(reply) = c.try_send(Method::GET, "/", &[], Bytes::new()).await {
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
            return Instant::now();
        }
        assert!(started.elapsed() < deadline, "the server did not answer again within {deadline:?}");
        // The poll interval of a bounded wait for the condition above.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuse_outage_closes_connections_refuses_new_ones_then_listens_again() {
    let outage = Duration::from_secs(2);
    let (server, _dir) = faulty("outage=2s,outage-after=1").await;
    let c = Client::new(&server);
    assert_eq!(c.get("/", &[]).await.status, StatusCode::OK, "request 0 comes before the outage");
    let before = Instant::now();
    // Request 1 opens the outage: its connection is closed without an answer.
    assert!(c.try_send(Method::GET, "/", &[], Bytes::new()).await.is_err(), "answered in an outage");
    // The listener closes as the outage begins: new connections are then refused.
    loop {
        match tokio::net::TcpStream::connect(server.local_addr()).await {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => break,
            // Queued before the listener closed (and reset as it closed): try again.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("connect failed otherwise than refused: {e}"),
            Ok(_) => {}
        }
        assert!(before.elapsed() < outage, "connections still accepted after the outage began");
        // The poll interval of a bounded wait for the condition above.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Then the server listens again on the same address, not before the outage is over.
    let back = answered_again(&c, Duration::from_secs(20)).await;
    assert!(back - before >= outage, "answered {:?} into a {outage:?} outage", back - before);
    assert!(server.fault_stats().outage_requests >= 1, "{:?}", server.fault_stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_outage_holds_answers_until_it_ends() {
    let outage = Duration::from_secs(1);
    let (server, _dir) = faulty("outage=1s,outage-after=1,outage-mode=drop").await;
    let c = Client::new(&server);
    assert_eq!(c.get("/", &[]).await.status, StatusCode::OK);
    let before = Instant::now();
    // Request 1 opens the outage: it is held, not refused, and answered when the outage ends.
    let reply = c.get("/", &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(before.elapsed() >= outage, "answered {:?} into a {outage:?} outage", before.elapsed());
    assert_eq!(server.fault_stats().outage_requests, 1, "{:?}", server.fault_stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_changes_one_byte_of_a_body_whose_framing_stays_whole() {
    let (server, _dir) = faulty("corrupt=1,methods=GET").await;
    let c = Client::new(&server);
    assert_eq!(c.send(Method::PUT, "/bkt", &[], Bytes::new(), true).await.status, StatusCode::OK);
    // Large enough to be spliced when not corrupted.
    let body = data(1024 * 1024 + 3, 9);
    let r = c.send(Method::PUT, "/bkt/obj", &[], body.clone(), true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = c.get("/bkt/obj", &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body.len(), body.len(), "a corrupted body keeps its length");
    let changed: Vec<usize> = (0..body.len()).filter(|&i| r.body[i] != body[i]).collect();
    assert_eq!(changed, [body.len() / 2], "exactly the middle byte differs");
    assert_eq!(server.fault_stats().corruptions, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_errors_carry_retry_after() {
    let (server, _dir) = faulty("503=1,retry-after=3,methods=GET").await;
    let c = Client::new(&server);
    let r = c.get("/", &[]).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.header("retry-after"), "3");
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_reading_leaves_a_request_body_unread_and_unanswered() {
    // More than the loopback socket buffers hold, so the client's writes block.
    let body = data(32 * 1024 * 1024, 4);
    let (server, _dir) = faulty("stop-reading=1,stop-reading-after=1MiB,stall-for=1s,methods=PUT").await;
    let c = Client::new(&server);
    let started = Instant::now();
    let result = c.try_send(Method::PUT, "/bkt/obj", &[], body).await;
    assert!(result.is_err(), "a request whose body was not read was answered");
    assert!(started.elapsed() >= Duration::from_secs(1), "dropped after {:?}", started.elapsed());
    assert_eq!(server.fault_stats().stopped_reads, 1);
    // Nothing ran: the bucket was never created (GETs are not faulted).
    let r = c.get("/bkt?list-type=2", &[]).await;
    assert!(r.text().contains("NoSuchBucket"), "{}", r.text());
}
