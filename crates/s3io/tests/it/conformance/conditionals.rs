//! Conditional requests as S3 documents them for GetObject/HeadObject (If-Match, If-None-Match,
//! If-Modified-Since, If-Unmodified-Since and their combinations), for CopyObject's source
//! (`x-amz-copy-source-if-match`) and for PutObject (`If-None-Match: *`, `If-Match`).

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::Method;
use s3io::types::{CopySource, GetObjectOptions};

use super::server::{ServerKind::Moto, Target};

/// Puts `key` and returns its quoted ETag and Last-Modified.
async fn put_and_stat(t: &Target, key: &str) -> (String, SystemTime) {
    t.put(key, b"conditional body").await;
    let head = t.client.head_object(&t.bucket, key).await.unwrap();
    (head.etag.expect("ETag"), head.last_modified.expect("Last-Modified"))
}

fn http_date(time: SystemTime) -> String {
    httpdate::fmt_http_date(time)
}

pub(super) async fn get_if_match_and_if_none_match(t: &Target) {
    let (etag, _) = put_and_stat(t, "c").await;
    let get =
        |name: &'static str, value: String| async move { t.raw(Method::GET, "c").header(name, value).send().await };

    let response = get("if-match", etag.clone()).await;
    assert_eq!(response.status, 200, "If-Match {etag}: {response:?}");
    assert_eq!(&response.body[..], b"conditional body");
    if !t.skip_on(Moto, "moto compares If-Match: * with the ETag literally and answers 412") {
        let response = get("if-match", "*".into()).await;
        assert_eq!(response.status, 200, "If-Match *: {response:?}");
    }
    let response = get("if-match", "\"0123456789abcdef0123456789abcdef\"".into()).await;
    assert_eq!(response.status, 412, "If-Match stale: {response:?}");
    assert_eq!(response.code().as_deref(), Some("PreconditionFailed"), "{response:?}");

    let response = get("if-none-match", etag.clone()).await;
    assert_eq!(response.status, 304, "If-None-Match {etag}: {response:?}");
    assert!(response.body.is_empty(), "304 with a body: {response:?}");
    let response = get("if-none-match", "\"0123456789abcdef0123456789abcdef\"".into()).await;
    assert_eq!(response.status, 200, "If-None-Match other: {response:?}");
    assert_eq!(&response.body[..], b"conditional body");

    // The library's If-Match (what downloads pin each part with).
    let options = GetObjectOptions::default().with_if_match(etag.clone());
    t.client.get_object(&t.bucket, "c", &options).await.unwrap();
    let options = GetObjectOptions::default().with_if_match("\"stale\"");
    let err = t.client.get_object(&t.bucket, "c", &options).await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(412), Some("PreconditionFailed")), "{err}");
}

pub(super) async fn get_if_modified_and_unmodified_since(t: &Target) {
    let (etag, modified) = put_and_stat(t, "c").await;
    let hour = Duration::from_secs(3600);
    let get = |headers: Vec<(&'static str, String)>| async move {
        let mut request = t.raw(Method::GET, "c");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send().await
    };

    let before = http_date(modified - hour);
    let at = http_date(modified);
    let after = http_date(modified + hour);
    let response = get(vec![("if-modified-since", before.clone())]).await;
    assert_eq!(response.status, 200, "If-Modified-Since {before}: {response:?}");
    let response = get(vec![("if-modified-since", at.clone())]).await;
    assert_eq!(response.status, 304, "If-Modified-Since {at} (= Last-Modified): {response:?}");
    let response = get(vec![("if-modified-since", after.clone())]).await;
    assert_eq!(response.status, 304, "If-Modified-Since {after}: {response:?}");

    let response = get(vec![("if-unmodified-since", after.clone())]).await;
    assert_eq!(response.status, 200, "If-Unmodified-Since {after}: {response:?}");
    let response = get(vec![("if-unmodified-since", before.clone())]).await;
    assert_eq!(response.status, 412, "If-Unmodified-Since {before}: {response:?}");
    assert_eq!(response.code().as_deref(), Some("PreconditionFailed"), "{response:?}");

    // S3's documented combinations: If-Match true wins over If-Unmodified-Since false (200);
    // If-None-Match false wins over If-Modified-Since true (304).
    if !t.skip_on(Moto, "moto fails If-Unmodified-Since even when If-Match holds (S3: If-Match wins, 200)") {
        let response = get(vec![("if-match", etag.clone()), ("if-unmodified-since", before.clone())]).await;
        assert_eq!(response.status, 200, "If-Match true + If-Unmodified-Since false: {response:?}");
    }
    let response = get(vec![("if-none-match", etag.clone()), ("if-modified-since", before.clone())]).await;
    assert_eq!(response.status, 304, "If-None-Match false + If-Modified-Since true: {response:?}");
}

pub(super) async fn head_answers_preconditions_without_a_body(t: &Target) {
    let (etag, modified) = put_and_stat(t, "c").await;
    let head =
        |name: &'static str, value: String| async move { t.raw(Method::HEAD, "c").header(name, value).send().await };
    let response = head("if-match", etag.clone()).await;
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.header("etag"), Some(etag.as_str()));
    let response = head("if-match", "\"stale\"".into()).await;
    assert_eq!(response.status, 412, "{response:?}");
    assert!(response.body.is_empty());
    let response = head("if-none-match", etag.clone()).await;
    assert_eq!(response.status, 304, "{response:?}");
    let response = head("if-modified-since", http_date(modified + Duration::from_secs(60))).await;
    assert_eq!(response.status, 304, "{response:?}");
    let response = head("if-unmodified-since", http_date(modified - Duration::from_secs(60))).await;
    assert_eq!(response.status, 412, "{response:?}");
}

pub(super) async fn copy_source_if_match(t: &Target) {
    let (etag, _) = put_and_stat(t, "src").await;
    t.client.copy_object_from(CopySource::new(&t.bucket, "src").if_match(&etag), &t.bucket, "dst").await.unwrap();
    assert_eq!(&t.get("dst").await[..], b"conditional body");
    if t.skip_on(Moto, "moto ignores x-amz-copy-source-if-match and copies a source whose ETag differs") {
        return;
    }
    let stale = "\"0123456789abcdef0123456789abcdef\"";
    let err = t
        .client
        .copy_object_from(CopySource::new(&t.bucket, "src").if_match(stale), &t.bucket, "dst2")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(412), "{err}");
    assert_eq!(err.code(), Some("PreconditionFailed"), "{err}");
    let err = t.client.head_object(&t.bucket, "dst2").await.unwrap_err();
    assert!(err.is_not_found(), "a refused copy wrote its destination: {err}");
}

/// Conditional writes (S3 since 2024): `If-None-Match: *` creates only, `If-Match` overwrites
/// only the version it names.
pub(super) async fn put_if_none_match_star_refuses_to_overwrite(t: &Target) {
    let created =
        t.raw(Method::PUT, "lock").header("if-none-match", "*").body(Bytes::from_static(b"first")).send().await;
    assert_eq!(created.status, 200, "If-None-Match: * on a new key: {created:?}");
    let refused =
        t.raw(Method::PUT, "lock").header("if-none-match", "*").body(Bytes::from_static(b"second")).send().await;
    assert_eq!(refused.status, 412, "If-None-Match: * on an existing key: {refused:?}");
    assert_eq!(refused.code().as_deref(), Some("PreconditionFailed"), "{refused:?}");
    assert_eq!(&t.get("lock").await[..], b"first");

    let etag = created.header("etag").expect("PutObject ETag").to_owned();
    let stale =
        t.raw(Method::PUT, "lock").header("if-match", "\"0123456789abcdef0123456789abcdef\"").body("x").send().await;
    assert_eq!(stale.status, 412, "If-Match with another ETag: {stale:?}");
    assert_eq!(stale.code().as_deref(), Some("PreconditionFailed"), "{stale:?}");
    let replaced = t.raw(Method::PUT, "lock").header("if-match", etag).body("third").send().await;
    assert_eq!(replaced.status, 200, "If-Match with the current ETag: {replaced:?}");
    assert_eq!(&t.get("lock").await[..], b"third");
}
