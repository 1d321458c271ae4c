//! Buckets and objects: create/list/head/delete buckets, put/head/get/delete objects with their
//! headers and metadata, batch deletes, server-side copies and presigned URLs.

use std::time::Duration;

use bytes::Bytes;
use http::Method;
use s3io::config::ChecksumAlgorithm;
use s3io::types::{ByteRange, GetObjectOptions, PutObjectOptions};

use super::checksums::MOTO_STORES_CHECKSUMS_ONLY_WITH_SDK_HEADER;
use super::server::{ServerKind::Moto, Target};
use crate::common::test_data;

pub(super) async fn buckets_create_list_head_delete(t: &Target) {
    let client = &t.client;
    let names: Vec<_> = client.list_buckets().await.unwrap().into_iter().map(|b| b.name).collect();
    assert!(names.contains(&t.bucket), "{names:?}");
    let second = t.another_bucket("second").await;
    client.head_bucket(&second).await.unwrap();
    client.delete_bucket(&second).await.unwrap();
    let err = client.head_bucket(&second).await.unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
    // A bucket with an object in it cannot be deleted.
    t.put("keep", b"x").await;
    let err = client.delete_bucket(&t.bucket).await.unwrap_err();
    assert_eq!(err.code(), Some("BucketNotEmpty"), "{err}");
    assert_eq!(err.status(), Some(409), "{err}");
}

pub(super) async fn put_head_get_range_delete(t: &Target) {
    let client = &t.client;
    let data = test_data(100_000, 1);
    let options = PutObjectOptions::default()
        .with_content_type("text/plain")
        .with_metadata(vec![("owner".into(), "tests".into())])
        .with_checksum(s3io::checksum::checksum(ChecksumAlgorithm::Crc64Nvme, &data));
    let put = client.put_object(&t.bucket, "dir/obj.txt", Bytes::from(data.clone()), &options).await.unwrap();
    let expected_etag = format!("\"{}\"", hex_md5(&data));
    assert_eq!(put.etag.as_deref(), Some(expected_etag.as_str()));

    let head = client.head_object(&t.bucket, "dir/obj.txt").await.unwrap();
    assert_eq!(head.content_length, data.len() as u64);
    assert_eq!(head.etag, put.etag);
    assert_eq!(head.content_type.as_deref(), Some("text/plain"));
    assert!(head.metadata.contains(&("owner".into(), "tests".into())), "{:?}", head.metadata);
    if !t.skip_on(Moto, MOTO_STORES_CHECKSUMS_ONLY_WITH_SDK_HEADER) {
        assert_eq!(head.checksums, vec![s3io::checksum::checksum(ChecksumAlgorithm::Crc64Nvme, &data)]);
    }

    let whole = client.get_object(&t.bucket, "dir/obj.txt", &Default::default()).await.unwrap();
    assert_eq!(whole.object_size(), data.len() as u64);
    assert!(whole.collect().await.unwrap()[..] == data[..]);

    let range = GetObjectOptions::default().with_range(ByteRange::inclusive(10, 19));
    let part = client.get_object(&t.bucket, "dir/obj.txt", &range).await.unwrap();
    assert_eq!(part.content_range.map(|r| (r.start, r.end, r.total)), Some((10, 19, data.len() as u64)));
    assert_eq!(&part.collect().await.unwrap()[..], &data[10..20]);

    let tail = GetObjectOptions::default().with_range(ByteRange::from(99_990));
    assert_eq!(
        &client.get_object(&t.bucket, "dir/obj.txt", &tail).await.unwrap().collect().await.unwrap()[..],
        &data[99_990..]
    );

    let matching = GetObjectOptions::default().with_if_match(put.etag.clone().unwrap());
    client.get_object(&t.bucket, "dir/obj.txt", &matching).await.unwrap();
    let stale = GetObjectOptions::default().with_if_match("\"0123\"");
    let err = client.get_object(&t.bucket, "dir/obj.txt", &stale).await.unwrap_err();
    assert_eq!(err.status(), Some(412), "{err}");

    client.delete_object(&t.bucket, "dir/obj.txt").await.unwrap();
    let err = client.head_object(&t.bucket, "dir/obj.txt").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    // Deleting again succeeds, as in S3.
    client.delete_object(&t.bucket, "dir/obj.txt").await.unwrap();
}

/// The lower-case hex MD5 of `data`: a single-part object's ETag without its quotes.
pub(super) fn hex_md5(data: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = s3io::checksum::checksum(ChecksumAlgorithm::Md5, data).value;
    let raw = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every standard header PutObject stores comes back on HeadObject and GetObject, with user
/// metadata (keys lower-cased, as S3 returns them).
pub(super) async fn object_headers_and_metadata_round_trip(t: &Target) {
    let options = PutObjectOptions::default()
        .with_content_type("application/json; charset=utf-8")
        .with_content_encoding("identity")
        .with_content_disposition("attachment; filename=\"report.json\"")
        .with_content_language("en-GB")
        .with_cache_control("max-age=3600, public")
        .with_expires("Wed, 21 Oct 2037 07:28:00 GMT")
        .with_metadata(vec![("owner".into(), "conformance".into()), ("Mixed-Case".into(), "Value With Spaces".into())]);
    t.client.put_object(&t.bucket, "meta/doc.json", Bytes::from_static(b"{}"), &options).await.unwrap();
    let head = t.client.head_object(&t.bucket, "meta/doc.json").await.unwrap();
    let get = t.client.get_object(&t.bucket, "meta/doc.json", &Default::default()).await.unwrap();
    for (what, info) in [("HeadObject", &head), ("GetObject", &get.info)] {
        assert_eq!(info.content_type.as_deref(), options.content_type.as_deref(), "{what}");
        assert_eq!(info.content_encoding.as_deref(), Some("identity"), "{what}");
        assert_eq!(info.content_disposition.as_deref(), options.content_disposition.as_deref(), "{what}");
        assert_eq!(info.content_language.as_deref(), Some("en-GB"), "{what}");
        assert_eq!(info.cache_control.as_deref(), Some("max-age=3600, public"), "{what}");
        assert_eq!(info.expires.as_deref(), Some("Wed, 21 Oct 2037 07:28:00 GMT"), "{what}");
        let mut metadata = info.metadata.clone();
        metadata.sort();
        assert_eq!(
            metadata,
            vec![("mixed-case".into(), "Value With Spaces".into()), ("owner".into(), "conformance".into())],
            "{what}"
        );
        assert!(info.last_modified.is_some(), "{what}: no Last-Modified");
    }
    assert_eq!(&get.collect().await.unwrap()[..], b"{}");
}

/// A zero-byte object: ETag of the empty MD5, length 0, listed with size 0.
pub(super) async fn empty_object_round_trips(t: &Target) {
    let put = t.put("empty", b"").await;
    assert_eq!(put.etag.as_deref(), Some("\"d41d8cd98f00b204e9800998ecf8427e\""));
    let head = t.client.head_object(&t.bucket, "empty").await.unwrap();
    assert_eq!(head.content_length, 0);
    assert_eq!(head.etag, put.etag);
    assert!(t.get("empty").await.is_empty());
    let page = t.client.list_objects_v2(&t.bucket, &Default::default()).await.unwrap();
    assert_eq!(page.objects.iter().map(|o| (o.key.as_str(), o.size)).collect::<Vec<_>>(), [("empty", 0)]);
}

/// A second PUT replaces the body and every header: nothing of the first version remains.
pub(super) async fn overwrite_replaces_body_and_metadata(t: &Target) {
    let first = PutObjectOptions::default()
        .with_content_type("text/plain")
        .with_metadata(vec![("version".into(), "1".into()), ("only-in-first".into(), "x".into())]);
    t.client.put_object(&t.bucket, "k", Bytes::from(test_data(10_000, 2)), &first).await.unwrap();
    let second =
        PutObjectOptions::default().with_content_type("image/png").with_metadata(vec![("version".into(), "2".into())]);
    let put = t.client.put_object(&t.bucket, "k", Bytes::from_static(b"short"), &second).await.unwrap();
    let head = t.client.head_object(&t.bucket, "k").await.unwrap();
    assert_eq!(head.content_length, 5);
    assert_eq!(head.etag, put.etag);
    assert_eq!(head.content_type.as_deref(), Some("image/png"));
    assert_eq!(head.metadata, vec![("version".into(), "2".into())]);
    assert_eq!(&t.get("k").await[..], b"short");
}

pub(super) async fn delete_objects_in_one_batch(t: &Target) {
    let keys: Vec<String> = (0..30).map(|i| format!("batch/{i}")).collect();
    for key in &keys {
        t.put(key, b"x").await;
    }
    let output = t.client.delete_objects(&t.bucket, &keys).await.unwrap();
    assert!(output.errors.is_empty(), "{:?}", output.errors);
    assert_eq!(output.deleted.len(), 30);
    let page = t.client.list_objects_v2(&t.bucket, &Default::default()).await.unwrap();
    assert!(page.objects.is_empty());
    // Keys that do not exist are reported deleted, as DeleteObject succeeds on them.
    let missing = vec!["never/was".to_string(), "batch/0".to_string()];
    let output = t.client.delete_objects(&t.bucket, &missing).await.unwrap();
    assert!(output.errors.is_empty(), "{:?}", output.errors);
    let mut deleted = output.deleted;
    deleted.sort();
    assert_eq!(deleted, ["batch/0", "never/was"]);
}

pub(super) async fn copy_object_server_side(t: &Target) {
    let data = test_data(300_000, 8);
    let options = PutObjectOptions::default()
        .with_content_type("application/x-test")
        .with_metadata(vec![("origin".into(), "source".into())]);
    t.client.put_object(&t.bucket, "src/a b", Bytes::from(data.clone()), &options).await.unwrap();
    let copied = t.client.copy_object(&t.bucket, "src/a b", &t.bucket, "dst/copy").await.unwrap();
    assert!(t.get("dst/copy").await[..] == data[..]);
    // A single-part copy's ETag is the MD5 of the bytes, and the metadata is copied (S3's
    // default metadata directive is COPY).
    assert_eq!(copied.etag, Some(format!("\"{}\"", hex_md5(&data))));
    let head = t.client.head_object(&t.bucket, "dst/copy").await.unwrap();
    assert_eq!(head.content_type.as_deref(), Some("application/x-test"));
    assert_eq!(head.metadata, vec![("origin".into(), "source".into())]);
    // Across buckets.
    let other = t.another_bucket("copy-dst").await;
    t.client.copy_object(&t.bucket, "src/a b", &other, "copied").await.unwrap();
    let got = t.client.get_object(&other, "copied", &Default::default()).await.unwrap().collect().await.unwrap();
    assert!(got[..] == data[..]);

    let err = t.client.copy_object(&t.bucket, "src/none", &t.bucket, "dst/none").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.code(), Some("NoSuchKey"), "{err}");
}

/// CopyObject's `x-amz-metadata-directive: REPLACE` takes the request's headers instead of the
/// source's — the way tools change an object's Content-Type in place; a copy onto itself that
/// changes nothing is 400 InvalidRequest.
pub(super) async fn copy_metadata_directive_replace_and_copy_onto_itself(t: &Target) {
    let options =
        PutObjectOptions::default().with_content_type("text/plain").with_metadata(vec![("old".into(), "1".into())]);
    t.client.put_object(&t.bucket, "page", Bytes::from_static(b"<html></html>"), &options).await.unwrap();
    let source = format!("/{}/page", t.bucket);
    let replaced = t
        .raw(Method::PUT, "page.html")
        .header("x-amz-copy-source", source.clone())
        .header("x-amz-metadata-directive", "REPLACE")
        .header("content-type", "text/html")
        .header("x-amz-meta-new", "2")
        .send()
        .await;
    assert_eq!(replaced.status, 200, "{replaced:?}");
    let head = t.client.head_object(&t.bucket, "page.html").await.unwrap();
    assert_eq!(head.content_type.as_deref(), Some("text/html"));
    assert_eq!(head.metadata, vec![("new".into(), "2".into())]);
    assert_eq!(&t.get("page.html").await[..], b"<html></html>");

    // Onto itself: refused unless something changes; with REPLACE it updates in place.
    let refused = t.raw(Method::PUT, "page").header("x-amz-copy-source", source.clone()).send().await;
    assert_eq!(refused.status, 400, "{refused:?}");
    assert_eq!(refused.code().as_deref(), Some("InvalidRequest"), "{refused:?}");
    let in_place = t
        .raw(Method::PUT, "page")
        .header("x-amz-copy-source", source)
        .header("x-amz-metadata-directive", "REPLACE")
        .header("content-type", "text/html")
        .send()
        .await;
    assert_eq!(in_place.status, 200, "{in_place:?}");
    let head = t.client.head_object(&t.bucket, "page").await.unwrap();
    assert_eq!(head.content_type.as_deref(), Some("text/html"));
    assert!(head.metadata.is_empty(), "REPLACE without x-amz-meta-* keeps none: {:?}", head.metadata);
    assert_eq!(&t.get("page").await[..], b"<html></html>");
}

/// Object tags: `x-amz-tagging` on PutObject, the count in `x-amz-tagging-count`, and
/// Put/Get/DeleteObjectTagging.
pub(super) async fn object_tagging_round_trip(t: &Target) {
    let put =
        t.raw(Method::PUT, "tagged").header("x-amz-tagging", "team=storage&stage=test%20run").body("x").send().await;
    assert_eq!(put.status, 200, "{put:?}");
    for method in [Method::HEAD, Method::GET] {
        let response = t.raw(method.clone(), "tagged").send().await;
        assert_eq!(response.header("x-amz-tagging-count"), Some("2"), "{method}: {response:?}");
    }
    let tags = t.raw(Method::GET, "tagged").query("tagging").send().await;
    assert_eq!(tags.status, 200, "{tags:?}");
    assert_eq!(tag_set(&tags.body), [("stage".into(), "test run".into()), ("team".into(), "storage".into())]);

    let document = "<Tagging><TagSet><Tag><Key>only</Key><Value>one</Value></Tag></TagSet></Tagging>";
    let md5 = s3io::checksum::checksum(ChecksumAlgorithm::Md5, document.as_bytes()).value;
    let replaced = t.raw(Method::PUT, "tagged").query("tagging").header("content-md5", md5).body(document).send().await;
    assert_eq!(replaced.status, 200, "{replaced:?}");
    let tags = t.raw(Method::GET, "tagged").query("tagging").send().await;
    assert_eq!(tag_set(&tags.body), [("only".into(), "one".into())]);
    let head = t.raw(Method::HEAD, "tagged").send().await;
    assert_eq!(head.header("x-amz-tagging-count"), Some("1"), "{head:?}");

    let deleted = t.raw(Method::DELETE, "tagged").query("tagging").send().await;
    assert_eq!(deleted.status, 204, "{deleted:?}");
    let tags = t.raw(Method::GET, "tagged").query("tagging").send().await;
    assert_eq!(tags.status, 200, "{tags:?}");
    assert!(tag_set(&tags.body).is_empty(), "{tags:?}");
    assert_eq!(&t.get("tagged").await[..], b"x", "tagging changed the object");
}

/// The (key, value) pairs of a GetObjectTagging answer, sorted.
fn tag_set(body: &[u8]) -> Vec<(String, String)> {
    let text = std::str::from_utf8(body).expect("UTF-8 tagging document");
    let field = |tag: &str, name: &str| -> String {
        let start =
            tag.find(&format!("<{name}>")).map(|i| i + name.len() + 2).unwrap_or_else(|| panic!("no {name} in {tag}"));
        let end = start + tag[start..].find(&format!("</{name}>")).unwrap();
        tag[start..end].to_owned()
    };
    let mut tags: Vec<_> = text.split("<Tag>").skip(1).map(|tag| (field(tag, "Key"), field(tag, "Value"))).collect();
    tags.sort();
    tags
}

pub(super) async fn presigned_urls_work_without_the_client(t: &Target) {
    t.put("presigned", b"hello presigned").await;
    let url = t.client.presign_get(&t.bucket, "presigned", Duration::from_secs(300)).await.unwrap();
    assert!(url.contains("X-Amz-Signature="), "{url}");
    // Fetch it with a plain, unsigned HTTP request.
    let (status, body) = plain_request(&url, "GET", b"").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(body, b"hello presigned");
    // A presigned PUT stores what it carries.
    let url = t.client.presign_put(&t.bucket, "uploaded", Duration::from_secs(300)).await.unwrap();
    let (status, body) = plain_request(&url, "PUT", b"put through a presigned URL").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(&t.get("uploaded").await[..], b"put through a presigned URL");
    let err = t.client.presign_get(&t.bucket, "k", Duration::from_secs(8 * 24 * 3600)).await.unwrap_err();
    assert!(err.to_string().contains("7 days"), "{err}");
}

/// One plain HTTP/1.1 request with `Connection: close`: (status, body).
async fn plain_request(url: &str, method: &str, body: &[u8]) -> (u16, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 "), "{text}");
    let status = text[9..12].parse().unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    (status, response[split + 4..].to_vec())
}
