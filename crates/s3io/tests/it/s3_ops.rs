//! Every typed S3 operation against the embedded server, and the error cases users hit first.

use std::time::Duration;

use bytes::Bytes;
use s3io::{
    ByteRange, ChecksumAlgorithm, CompletedPart, CredentialsSource, GetObjectOptions, ListObjectsOptions,
    PutObjectOptions, RetryConfig,
};

use crate::common::{test_data, TestServer, MIB};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buckets_create_list_head_delete() {
    let server = TestServer::start().await;
    let client = &server.client;
    let names: Vec<_> = client.list_buckets().await.unwrap().into_iter().map(|b| b.name).collect();
    assert!(names.contains(&server.bucket), "{names:?}");
    client.create_bucket("second-bucket").await.unwrap();
    client.head_bucket("second-bucket").await.unwrap();
    client.delete_bucket("second-bucket").await.unwrap();
    let err = client.head_bucket("second-bucket").await.unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
    // A bucket with an object in it cannot be deleted.
    server.put("keep", b"x").await;
    let err = client.delete_bucket(&server.bucket).await.unwrap_err();
    assert_eq!(err.code(), Some("BucketNotEmpty"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_head_get_range_delete() {
    let server = TestServer::start().await;
    let client = &server.client;
    let data = test_data(100_000, 1);
    let options = PutObjectOptions {
        content_type: Some("text/plain".into()),
        metadata: vec![("owner".into(), "tests".into())],
        checksum: Some(s3io::checksum(ChecksumAlgorithm::Crc64Nvme, &data)),
        ..Default::default()
    };
    let put = client.put_object(&server.bucket, "dir/obj.txt", Bytes::from(data.clone()), &options).await.unwrap();
    let expected_etag = format!("\"{}\"", hex_md5(&data));
    assert_eq!(put.etag.as_deref(), Some(expected_etag.as_str()));

    let head = client.head_object(&server.bucket, "dir/obj.txt").await.unwrap();
    assert_eq!(head.content_length, data.len() as u64);
    assert_eq!(head.etag, put.etag);
    assert_eq!(head.content_type.as_deref(), Some("text/plain"));
    assert!(head.metadata.contains(&("owner".into(), "tests".into())), "{:?}", head.metadata);
    assert_eq!(head.checksums, vec![s3io::checksum(ChecksumAlgorithm::Crc64Nvme, &data)]);

    let whole = client.get_object(&server.bucket, "dir/obj.txt", &Default::default()).await.unwrap();
    assert_eq!(whole.object_size(), data.len() as u64);
    assert!(whole.collect().await.unwrap()[..] == data[..]);

    let range = GetObjectOptions { range: Some(ByteRange::inclusive(10, 19)), ..Default::default() };
    let part = client.get_object(&server.bucket, "dir/obj.txt", &range).await.unwrap();
    assert_eq!(part.content_range.map(|r| (r.start, r.end, r.total)), Some((10, 19, data.len() as u64)));
    assert_eq!(&part.collect().await.unwrap()[..], &data[10..20]);

    let tail = GetObjectOptions { range: Some(ByteRange::from(99_990)), ..Default::default() };
    assert_eq!(
        &client.get_object(&server.bucket, "dir/obj.txt", &tail).await.unwrap().collect().await.unwrap()[..],
        &data[99_990..]
    );

    let matching = GetObjectOptions { if_match: put.etag.clone(), ..Default::default() };
    client.get_object(&server.bucket, "dir/obj.txt", &matching).await.unwrap();
    let stale = GetObjectOptions { if_match: Some("\"0123\"".into()), ..Default::default() };
    let err = client.get_object(&server.bucket, "dir/obj.txt", &stale).await.unwrap_err();
    assert_eq!(err.status(), Some(412), "{err}");

    client.delete_object(&server.bucket, "dir/obj.txt").await.unwrap();
    let err = client.head_object(&server.bucket, "dir/obj.txt").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    // Deleting again succeeds, as in S3.
    client.delete_object(&server.bucket, "dir/obj.txt").await.unwrap();
}

fn hex_md5(data: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = s3io::checksum(ChecksumAlgorithm::Md5, data).value;
    let raw = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_past_the_end_is_invalid_range() {
    let server = TestServer::start().await;
    server.put("short", b"0123456789").await;
    let options = GetObjectOptions { range: Some(ByteRange::inclusive(100, 200)), ..Default::default() };
    let err = server.client.get_object(&server.bucket, "short", &options).await.unwrap_err();
    assert_eq!(err.status(), Some(416), "{err}");
    assert_eq!(err.code(), Some("InvalidRange"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_bucket_and_key_name_what_is_missing() {
    let server = TestServer::start().await;
    let err = server.client.get_object("no-such-bucket", "k", &Default::default()).await.unwrap_err();
    assert_eq!(err.code(), Some("NoSuchBucket"), "{err}");
    assert!(err.to_string().contains("s3://no-such-bucket/k"), "{err}");
    let err = server.client.get_object(&server.bucket, "missing/key", &Default::default()).await.unwrap_err();
    assert_eq!(err.code(), Some("NoSuchKey"), "{err}");
    assert!(err.to_string().contains(&format!("s3://{}/missing/key", server.bucket)), "{err}");
    let err = server.client.head_object(&server.bucket, "missing/key").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_are_rejected_by_the_signature_check_and_not_retried() {
    let server = TestServer::start().await;
    let bad = server
        .client_with(|b| {
            b.credentials(CredentialsSource::static_keys(s3io_server::DEFAULT_ACCESS_KEY, "wrong-secret"))
                .retry(RetryConfig { max_attempts: 3, ..Default::default() })
        })
        .await;
    let err = bad.list_objects_v2(&server.bucket, &Default::default()).await.unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
    assert_eq!(err.code(), Some("SignatureDoesNotMatch"), "{err}");
    assert_eq!(bad.connection_metrics().requests(), 1, "a 403 was retried");
    let unknown = server.client_with(|b| b.credentials(CredentialsSource::static_keys("nobody", "nothing"))).await;
    let err = unknown.put_object(&server.bucket, "k", Bytes::from_static(b"x"), &Default::default()).await.unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_objects_v2_paginates_with_prefix_and_delimiter() {
    let server = TestServer::start().await;
    let mut keys = Vec::new();
    for i in 0..25 {
        keys.push(format!("logs/2026/{i:03}.log"));
    }
    keys.push("logs/readme.txt".into());
    keys.push("other/x".into());
    for key in &keys {
        server.put(key, key.as_bytes()).await;
    }
    use futures::TryStreamExt as _;
    let options = ListObjectsOptions { prefix: Some("logs/".into()), max_keys: Some(10), ..Default::default() };
    let pages: Vec<_> = server.client.list_objects_v2_pages(&server.bucket, options).try_collect().await.unwrap();
    assert_eq!(pages.len(), 3, "pages: {}", pages.len());
    let listed: Vec<_> = pages.iter().flat_map(|p| p.objects.iter().map(|o| o.key.clone())).collect();
    let mut expected: Vec<_> = keys.iter().filter(|k| k.starts_with("logs/")).cloned().collect();
    expected.sort();
    assert_eq!(listed, expected);
    assert!(pages[0].objects.iter().all(|o| o.size > 0 && o.etag.is_some() && o.last_modified.is_some()));

    let options =
        ListObjectsOptions { prefix: Some("logs/".into()), delimiter: Some("/".into()), ..Default::default() };
    let page = server.client.list_objects_v2(&server.bucket, &options).await.unwrap();
    assert_eq!(page.common_prefixes, vec!["logs/2026/".to_string()]);
    assert_eq!(page.objects.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), ["logs/readme.txt"]);
    assert_eq!(page.next_continuation_token, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_keys_round_trip() {
    let server = TestServer::start().await;
    let keys = ["a b/c+d%e.txt", "unicode/é中文.bin", "q?x=1&y#z", "spaces  double", "tilde~_-.end"];
    for key in keys {
        server.put(key, key.as_bytes()).await;
        let got =
            server.client.get_object(&server.bucket, key, &Default::default()).await.unwrap().collect().await.unwrap();
        assert_eq!(&got[..], key.as_bytes(), "{key}");
    }
    let page = server.client.list_objects_v2(&server.bucket, &Default::default()).await.unwrap();
    let mut listed: Vec<_> = page.objects.into_iter().map(|o| o.key).collect();
    let mut expected: Vec<_> = keys.iter().map(|k| k.to_string()).collect();
    listed.sort();
    expected.sort();
    assert_eq!(listed, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_objects_in_one_batch() {
    let server = TestServer::start().await;
    let keys: Vec<String> = (0..30).map(|i| format!("batch/{i}")).collect();
    for key in &keys {
        server.put(key, b"x").await;
    }
    let output = server.client.delete_objects(&server.bucket, &keys).await.unwrap();
    assert!(output.errors.is_empty(), "{:?}", output.errors);
    assert_eq!(output.deleted.len(), 30);
    let page = server.client.list_objects_v2(&server.bucket, &Default::default()).await.unwrap();
    assert!(page.objects.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_upload_complete_list_abort() {
    let server = TestServer::start().await;
    let client = &server.client;
    let data = test_data(11 * MIB + 5, 4);
    let upload_id = client.create_multipart_upload(&server.bucket, "mp/obj", &Default::default(), None).await.unwrap();
    let uploads = client.list_multipart_uploads(&server.bucket, Some("mp/"), None).await.unwrap();
    assert_eq!(uploads.uploads.iter().map(|u| u.upload_id.as_str()).collect::<Vec<_>>(), [upload_id.as_str()]);
    let mut parts: Vec<CompletedPart> = Vec::new();
    for (i, chunk) in data.chunks(5 * MIB).enumerate() {
        let part = client
            .upload_part(&server.bucket, "mp/obj", &upload_id, i as u32 + 1, Bytes::copy_from_slice(chunk), None)
            .await
            .unwrap();
        parts.push(part);
    }
    let done = client.complete_multipart_upload(&server.bucket, "mp/obj", &upload_id, &parts, None).await.unwrap();
    let etag = done.etag.unwrap();
    assert!(etag.ends_with("-3\""), "multipart ETag {etag}");
    let got = client.get_object(&server.bucket, "mp/obj", &Default::default()).await.unwrap().collect().await.unwrap();
    assert!(got[..] == data[..]);
    assert!(client.list_multipart_uploads(&server.bucket, Some("mp/"), None).await.unwrap().uploads.is_empty());

    // Abort discards; completing an aborted upload fails with NoSuchUpload.
    let upload_id =
        client.create_multipart_upload(&server.bucket, "mp/aborted", &Default::default(), None).await.unwrap();
    let part = client
        .upload_part(&server.bucket, "mp/aborted", &upload_id, 1, Bytes::from_static(b"abc"), None)
        .await
        .unwrap();
    client.abort_multipart_upload(&server.bucket, "mp/aborted", &upload_id).await.unwrap();
    let err =
        client.complete_multipart_upload(&server.bucket, "mp/aborted", &upload_id, &[part], None).await.unwrap_err();
    assert_eq!(err.code(), Some("NoSuchUpload"), "{err}");
    assert!(client.list_multipart_uploads(&server.bucket, None, None).await.unwrap().uploads.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_object_server_side() {
    let server = TestServer::start().await;
    let data = test_data(300_000, 8);
    server.put("src/a b", &data).await;
    server.client.copy_object(&server.bucket, "src/a b", &server.bucket, "dst/copy").await.unwrap();
    let got = server
        .client
        .get_object(&server.bucket, "dst/copy", &Default::default())
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert!(got[..] == data[..]);
    let err = server.client.copy_object(&server.bucket, "src/none", &server.bucket, "dst/none").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presigned_urls_work_without_the_client() {
    let server = TestServer::start().await;
    server.put("presigned", b"hello presigned").await;
    let url = server.client.presign_get(&server.bucket, "presigned", Duration::from_secs(300)).await.unwrap();
    assert!(url.contains("X-Amz-Signature="), "{url}");
    // Fetch it with a plain, unsigned HTTP GET.
    let body = plain_get(&url).await;
    assert_eq!(body, b"hello presigned");
    let err = server.client.presign_get(&server.bucket, "k", Duration::from_secs(8 * 24 * 3600)).await.unwrap_err();
    assert!(err.to_string().contains("7 days"), "{err}");
}

async fn plain_get(url: &str) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    response[split + 4..].to_vec()
}
