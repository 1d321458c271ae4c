//! S3's answers to requests it refuses, code and status as S3 gives them, and
//! the headers it returns (tags, encryption, storage class), over real HTTP.
//! Inputs that no client library sends are raw signed requests.

use std::time::{Duration, Instant};

use crate::common::{xml_values, Client};
use bytes::Bytes;
use http::{Method, StatusCode};
use md5::Digest as _;
use s3io_server::{start, ServerConfig};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

async fn server_with_bucket(config: ServerConfig) -> (s3io_server::RunningServer, Client) {
    let server = start(config).await.unwrap();
    let c = Client::new(&server);
    assert_eq!(c.put("/bkt", &[], Bytes::new()).await.status, StatusCode::OK);
    (server, c)
}

/// Polls `cond` until it holds or `limit` passes.
async fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        // The poll interval of a bounded wait for the condition above.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}

/// Sends `head` (a raw HTTP/1.1 request head) and `body`, then reads what the
/// server answers until it closes the connection or `limit` passes.
async fn raw_exchange(addr: std::net::SocketAddr, head: &str, body: &[u8], limit: Duration) -> (String, bool) {
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    sock.write_all(head.as_bytes()).await.unwrap();
    sock.write_all(body).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(limit, async {
        loop {
            match sock.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .is_ok();
    (String::from_utf8_lossy(&got).into_owned(), closed)
}

fn status_of(response: &str) -> &str {
    response.split(' ').nth(1).unwrap_or("")
}

#[tokio::test]
async fn unknown_access_key_is_invalid_access_key_id() {
    let (server, _) = server_with_bucket(ServerConfig::new(tempfile::tempdir().unwrap().keep())).await;
    let stranger = Client::with_keys(&server, "AKIDUNKNOWN", "secret");
    let r = stranger.get("/bkt?list-type=2", &[]).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::FORBIDDEN, "InvalidAccessKeyId"), "{}", r.text());
}

#[tokio::test]
async fn payload_hash_mismatch_is_x_amz_content_sha256_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, c) = server_with_bucket(ServerConfig::new(dir.path())).await;
    let r = c
        .send_signing(
            Method::PUT,
            "/bkt/k",
            &[],
            Some(Bytes::from_static(b"signed body")),
            Bytes::from_static(b"other body!"),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::BAD_REQUEST, "XAmzContentSHA256Mismatch"), "{}", r.text());
    assert_eq!(c.get("/bkt/k", &[]).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn oversized_xml_bodies_are_refused_before_they_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let (server, c) = server_with_bucket(ServerConfig::new(dir.path())).await;
    // 100 MiB announced, a few bytes sent: the answer comes without the rest.
    for (path, code) in [("/bkt?delete", "MalformedXML"), ("/bkt/k?uploadId=abc", "EntityTooLarge")] {
        let mut head =
            format!("POST {path} HTTP/1.1\r\nhost: {}\r\ncontent-length: {}\r\n", server.local_addr(), 100 << 20);
        for (k, v) in c.signed_headers(&Method::POST, path, &[]) {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let (response, closed) = raw_exchange(server.local_addr(), &head, b"<Delete>", Duration::from_secs(10)).await;
        assert_eq!(status_of(&response), "400", "{path}: {response}");
        assert_eq!(xml_values(&response, "Code"), [code], "{path}: {response}");
        assert!(closed, "{path}: the connection stayed open for the unread body");
    }
}

#[tokio::test]
async fn delete_objects_over_1000_keys_is_malformed_xml() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, c) = server_with_bucket(ServerConfig::new(dir.path())).await;
    c.put("/bkt/k0", &[], Bytes::from_static(b"x")).await;
    let keys: String = (0..1001).map(|i| format!("<Object><Key>k{i}</Key></Object>")).collect();
    let body = Bytes::from(format!("<Delete>{keys}</Delete>"));
    let md5 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, md5::Md5::digest(&body));
    let r = c.send(Method::POST, "/bkt?delete", &[("content-md5", &md5)], body, true).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::BAD_REQUEST, "MalformedXML"), "{}", r.text());
    assert_eq!(c.get("/bkt/k0", &[]).await.status, StatusCode::OK, "nothing was deleted");
}

#[tokio::test]
async fn presigned_urls_are_valid_for_at_most_seven_days() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, c) = server_with_bucket(ServerConfig::new(dir.path())).await;
    c.put("/bkt/k", &[], Bytes::from_static(b"presigned")).await;
    let get = |url: String| {
        let http = c.http.clone();
        async move {
            let resp = http
                .request(http::Request::get(url).body(http_body_util::Full::new(Bytes::new())).unwrap())
                .await
                .unwrap();
            let status = resp.status();
            let body = http_body_util::BodyExt::collect(resp.into_body()).await.unwrap().to_bytes();
            (status, String::from_utf8_lossy(&body).into_owned())
        }
    };
    let (status, body) = get(c.presign("/bkt/k", Duration::from_secs(7 * 24 * 3600))).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "presigned"));
    let (status, body) = get(c.presign("/bkt/k", Duration::from_secs(10 * 24 * 3600))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(xml_values(&body, "Code"), ["AuthorizationQueryParametersError"]);
}

#[tokio::test]
async fn a_stalled_body_releases_its_connection_and_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig::new(dir.path()).with_body_read_timeout(Duration::from_millis(500));
    let (server, c) = server_with_bucket(config).await;
    let path = "/bkt/stalled";
    let mut head = format!("PUT {path} HTTP/1.1\r\nhost: {}\r\ncontent-length: {}\r\n", server.local_addr(), 10 << 20);
    for (k, v) in c.signed_headers(&Method::PUT, path, &[]) {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let tmp = dir.path().join(".s3io/tmp");
    let started = Instant::now();
    let (response, closed) =
        raw_exchange(server.local_addr(), &head, &vec![7u8; 1 << 20], Duration::from_secs(10)).await;
    assert!(closed, "the connection stayed open");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(status_of(&response), "400", "{response}");
    assert_eq!(xml_values(&response, "Code"), ["RequestTimeout"], "{response}");
    let empty = eventually(Duration::from_secs(5), || std::fs::read_dir(&tmp).unwrap().next().is_none()).await;
    assert!(empty, "the temp file was left behind");
    assert_eq!(c.get(path, &[]).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn object_tags_are_stored_counted_copied_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, c) = server_with_bucket(ServerConfig::new(dir.path())).await;
    let r = c.put("/bkt/t", &[("x-amz-tagging", "team=a%20b&env=prod")], Bytes::from_static(b"x")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let head = c.send(Method::HEAD, "/bkt/t", &[], Bytes::new(), true).await;
    assert_eq!(head.header("x-amz-tagging-count"), "2");
    assert_eq!(c.get("/bkt/t", &[]).await.header("x-amz-tagging-count"), "2");
    let tags = c.get("/bkt/t?tagging", &[]).await.text();
    assert_eq!(xml_values(&tags, "Key"), ["team", "env"]);
    assert_eq!(xml_values(&tags, "Value"), ["a b", "prod"]);

    // CopyObject keeps them by default, replaces them with the directive.
    c.send(Method::PUT, "/bkt/copy", &[("x-amz-copy-source", "/bkt/t")], Bytes::new(), true).await;
    assert_eq!(xml_values(&c.get("/bkt/copy?tagging", &[]).await.text(), "Key"), ["team", "env"]);
    let headers =
        [("x-amz-copy-source", "/bkt/t"), ("x-amz-tagging-directive", "REPLACE"), ("x-amz-tagging", "only=1")];
    let r = c.send(Method::PUT, "/bkt/copy2", &headers, Bytes::new(), true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(xml_values(&c.get("/bkt/copy2?tagging", &[]).await.text(), "Key"), ["only"]);

    // PutObjectTagging replaces the set, DeleteObjectTagging empties it; the bytes stay.
    let body = Bytes::from_static(b"<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>");
    let md5 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, md5::Md5::digest(&body));
    let r = c.send(Method::PUT, "/bkt/t?tagging", &[("content-md5", &md5)], body, true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(xml_values(&c.get("/bkt/t?tagging", &[]).await.text(), "Key"), ["k"]);
    let r = c.send(Method::DELETE, "/bkt/t?tagging", &[], Bytes::new(), true).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let get = c.get("/bkt/t", &[]).await;
    assert_eq!((get.body.as_ref(), get.header("x-amz-tagging-count")), (&b"x"[..], ""));

    // Tags given at CreateMultipartUpload end up on the object.
    let r = c.send(Method::POST, "/bkt/mp?uploads", &[("x-amz-tagging", "mp=yes")], Bytes::new(), true).await;
    let id = xml_values(&r.text(), "UploadId").remove(0);
    let part = c.put(&format!("/bkt/mp?partNumber=1&uploadId={id}"), &[], Bytes::from_static(b"part")).await;
    let complete = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{}</ETag></Part></CompleteMultipartUpload>",
        part.header("etag")
    );
    let r = c.send(Method::POST, &format!("/bkt/mp?uploadId={id}"), &[], Bytes::from(complete), true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(xml_values(&c.get("/bkt/mp?tagging", &[]).await.text(), "Key"), ["mp"]);

    // S3's limits: InvalidTag.
    let r = c.put("/bkt/bad", &[("x-amz-tagging", "a=1&a=2")], Bytes::from_static(b"x")).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::BAD_REQUEST, "InvalidTag"), "{}", r.text());
}

#[tokio::test]
async fn list_buckets_honours_max_buckets() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, c) = server_with_bucket(ServerConfig::new(dir.path())).await;
    for b in ["bkt2", "bkt3"] {
        c.put(&format!("/{b}"), &[], Bytes::new()).await;
    }
    let first = c.get("/?max-buckets=2", &[]).await.text();
    assert_eq!(xml_values(&first, "Name"), ["bkt", "bkt2"]);
    let token = xml_values(&first, "ContinuationToken").remove(0);
    let second =
        c.get(&format!("/?max-buckets=2&continuation-token={}", crate::common::enc_query(&token)), &[]).await.text();
    assert_eq!(xml_values(&second, "Name"), ["bkt3"]);
    assert!(xml_values(&second, "ContinuationToken").is_empty());
    assert_eq!(xml_values(&c.get("/", &[]).await.text(), "Name"), ["bkt", "bkt2", "bkt3"]);
    let r = c.get("/?max-buckets=0", &[]).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::BAD_REQUEST, "InvalidArgument"), "{}", r.text());
}

#[tokio::test]
async fn encryption_and_storage_class_are_returned_as_s3_does() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, c) = server_with_bucket(ServerConfig::new(dir.path())).await;
    // S3 encrypts every object (SSE-S3) unless told otherwise, and says so.
    let r = c.put("/bkt/plain", &[], Bytes::from_static(b"x")).await;
    assert_eq!(r.header("x-amz-server-side-encryption"), "AES256");
    let head = c.send(Method::HEAD, "/bkt/plain", &[], Bytes::new(), true).await;
    assert_eq!((head.header("x-amz-server-side-encryption"), head.header("x-amz-storage-class")), ("AES256", ""));

    let headers = [
        ("x-amz-server-side-encryption", "aws:kms"),
        ("x-amz-server-side-encryption-aws-kms-key-id", "arn:aws:kms:us-east-1:1:key/k"),
        ("x-amz-storage-class", "STANDARD_IA"),
    ];
    let r = c.put("/bkt/kms", &headers, Bytes::from_static(b"x")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("x-amz-server-side-encryption"), "aws:kms");
    for r in [c.send(Method::HEAD, "/bkt/kms", &[], Bytes::new(), true).await, c.get("/bkt/kms", &[]).await] {
        assert_eq!(r.header("x-amz-server-side-encryption"), "aws:kms");
        assert_eq!(r.header("x-amz-server-side-encryption-aws-kms-key-id"), "arn:aws:kms:us-east-1:1:key/k");
        assert_eq!(r.header("x-amz-storage-class"), "STANDARD_IA");
    }
    let list = c.get("/bkt?list-type=2&prefix=kms", &[]).await.text();
    assert_eq!(xml_values(&list, "StorageClass"), ["STANDARD_IA"]);

    // A multipart upload carries what CreateMultipartUpload asked for to the object.
    let sse = [("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-aws-kms-key-id", "k2")];
    let r = c.send(Method::POST, "/bkt/mpk?uploads", &sse, Bytes::new(), true).await;
    assert_eq!(r.header("x-amz-server-side-encryption"), "aws:kms");
    let id = xml_values(&r.text(), "UploadId").remove(0);
    let part = c.put(&format!("/bkt/mpk?partNumber=1&uploadId={id}"), &[], Bytes::from_static(b"part")).await;
    let complete = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{}</ETag></Part></CompleteMultipartUpload>",
        part.header("etag")
    );
    let r = c.send(Method::POST, &format!("/bkt/mpk?uploadId={id}"), &[], Bytes::from(complete), true).await;
    assert_eq!((r.status, r.header("x-amz-server-side-encryption")), (StatusCode::OK, "aws:kms"), "{}", r.text());
    let head = c.send(Method::HEAD, "/bkt/mpk", &[], Bytes::new(), true).await;
    assert_eq!(head.header("x-amz-server-side-encryption-aws-kms-key-id"), "k2");
}
