//! Bucket region discovery: a bucket in another region than the client's is found from the
//! server's 301 `PermanentRedirect` (with `x-amz-bucket-region`), the request is sent again
//! re-signed for that region, once, and the region is remembered for the bucket.

use s3io::types::ListObjectsOptions;
use s3io_server::ServerConfig;

use crate::common::{test_data, TestServer, MIB};

/// A server in us-east-1 holding a bucket created in eu-west-1, and the test's us-east-1
/// client; the redirect count is read from the server's request log.
async fn server_with_bucket_in(region: &str) -> (TestServer, String) {
    let server = TestServer::start().await;
    let server =
        server.restart_configured(|c: ServerConfig| c.with_region("us-east-1").with_request_log(), |b| b).await;
    let remote = server.client_with(|b| b.region(region)).await;
    let bucket = format!("{}-far", server.bucket);
    remote.create_bucket(&bucket).await.expect("create the bucket in the other region");
    (server, bucket)
}

fn redirects(server: &TestServer) -> usize {
    server.server.request_log().iter().filter(|r| r.status == 301).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_in_another_region_is_followed_once_and_remembered() {
    let (server, bucket) = server_with_bucket_in("eu-west-1").await;
    let client = &server.client;
    assert_eq!(client.region(), "us-east-1");
    let before = server.server.request_log().len();

    // The first request meets the redirect and is sent again, signed for eu-west-1.
    let small = test_data(1000, 1);
    client.upload(&bucket, "small").from_bytes(small.clone().into()).await.expect("upload after the redirect");
    assert_eq!(redirects(&server), 1, "one redirect, then the remembered region");
    assert_eq!(client.bucket_region(&bucket), "eu-west-1");
    assert_eq!(client.bucket_region(&server.bucket), "us-east-1", "other buckets keep the client's region");
    let log = server.server.request_log();
    let first = &log[before..];
    assert_eq!(first.len(), 2, "the PUT, redirected, then sent again: {first:?}");
    assert_eq!((first[0].status, first[1].status), (301, 200));

    // Every later request goes to the remembered region at once: uploads (multipart), ranged
    // downloads, HEAD, listings.
    let large = test_data(11 * MIB, 2);
    client
        .upload(&bucket, "large")
        .part_size(5 * MIB as u64)
        .multipart_threshold(5 * MIB as u64)
        .from_bytes(large.clone().into())
        .await
        .expect("multipart upload");
    let got = client.download(&bucket, "large").part_size(4 * MIB as u64).to_bytes().await.expect("download");
    assert!(got == large, "the multipart download is byte-exact");
    assert_eq!(client.download(&bucket, "small").to_bytes().await.unwrap(), small);
    assert_eq!(client.head_object(&bucket, "large").await.unwrap().content_length, large.len() as u64);
    let page = client.list_objects_v2(&bucket, &ListObjectsOptions::default()).await.unwrap();
    assert_eq!(page.objects.len(), 2);
    // A presigned URL is signed for the bucket's region too.
    assert!(client
        .presign_get(&bucket, "small", std::time::Duration::from_secs(60))
        .await
        .unwrap()
        .contains("eu-west-1"));
    assert_eq!(redirects(&server), 1, "no request after the first was redirected");

    // The client's own bucket never redirects.
    server.put("here", b"x").await;
    assert_eq!(redirects(&server), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_of_a_bucket_in_another_region_is_followed() {
    let (server, bucket) = server_with_bucket_in("ap-south-1").await;
    // The bare 301 of a HEAD (no body) names the region in its header alone.
    server.client.head_bucket(&bucket).await.expect("head bucket after the redirect");
    assert_eq!(server.client.bucket_region(&bucket), "ap-south-1");
    assert_eq!(redirects(&server), 1);
    // A missing key in that bucket is a plain NoSuchKey, not a redirect loop.
    let err = server.client.head_object(&bucket, "missing").await.unwrap_err();
    assert_eq!(err.code(), Some("NoSuchKey"), "{err}");
    assert_eq!(redirects(&server), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_a_region_serves_every_signing_region() {
    // By default the embedded server checks no region (as most local S3 servers).
    let server = TestServer::start().await;
    let other = server.client_with(|b| b.region("eu-central-1")).await;
    other.upload(&server.bucket, "k").from_bytes(bytes::Bytes::from_static(b"abc")).await.unwrap();
    assert_eq!(other.bucket_region(&server.bucket), "eu-central-1");
}
