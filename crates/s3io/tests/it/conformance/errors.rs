//! S3's error answers: the code and HTTP status S3 documents for each mistake, and messages
//! that name the bucket and key.

use bytes::Bytes;
use http::Method;
use s3io::config::RetryConfig;
use s3io::CredentialsSource;

use super::raw::RawRequest;
use super::server::{ServerKind::Moto, Target};

pub(super) async fn missing_bucket_and_key_name_what_is_missing(t: &Target) {
    let missing_bucket = format!("{}-missing", t.bucket);
    let err = t.client.get_object(&missing_bucket, "k", &Default::default()).await.unwrap_err();
    assert_eq!(err.code(), Some("NoSuchBucket"), "{err}");
    assert!(err.to_string().contains(&format!("s3://{missing_bucket}/k")), "{err}");
    let err = t.client.get_object(&t.bucket, "missing/key", &Default::default()).await.unwrap_err();
    assert_eq!(err.code(), Some("NoSuchKey"), "{err}");
    assert_eq!(err.status(), Some(404), "{err}");
    assert!(err.to_string().contains(&format!("s3://{}/missing/key", t.bucket)), "{err}");
    let err = t.client.head_object(&t.bucket, "missing/key").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.status(), Some(404), "{err}");
    // A HEAD answer has no body, so no code: the status says it all.
    let raw = t.raw(Method::HEAD, "missing/key").send().await;
    assert_eq!(raw.status, 404);
    assert!(raw.body.is_empty(), "HEAD answered with a body: {:?}", raw.body);
}

/// Every operation on a bucket that does not exist is 404 NoSuchBucket.
pub(super) async fn operations_on_a_missing_bucket_are_no_such_bucket(t: &Target) {
    let bucket = format!("{}-gone", t.bucket);
    let client = &t.client;
    let results = [
        ("PutObject", client.put_object(&bucket, "k", Bytes::from_static(b"x"), &Default::default()).await.err()),
        ("ListObjectsV2", client.list_objects_v2(&bucket, &Default::default()).await.err()),
        ("DeleteBucket", client.delete_bucket(&bucket).await.err()),
        ("CreateMultipartUpload", client.create_multipart_upload(&bucket, "k", &Default::default(), None).await.err()),
        ("CopyObject (source)", client.copy_object(&bucket, "k", &t.bucket, "k").await.err()),
    ];
    for (operation, err) in results {
        let err = err.unwrap_or_else(|| panic!("{operation} on missing bucket {bucket} succeeded"));
        assert_eq!(err.code(), Some("NoSuchBucket"), "{operation}: {err}");
        assert_eq!(err.status(), Some(404), "{operation}: {err}");
    }
    let err = client.head_bucket(&bucket).await.unwrap_err();
    assert_eq!(err.status(), Some(404), "HeadBucket: {err}");
}

pub(super) async fn bad_credentials_are_rejected_by_the_signature_check_and_not_retried(t: &Target) {
    if t.skip_on(Moto, "moto's server does not check SigV4 signatures or access keys (it accepts any)") {
        return;
    }
    let bad = t
        .client_with(|b| {
            b.credentials(CredentialsSource::static_keys(t.access_key.clone(), "wrong-secret"))
                .retry(RetryConfig::default().with_max_attempts(3))
        })
        .await;
    let err = bad.list_objects_v2(&t.bucket, &Default::default()).await.unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
    assert_eq!(err.code(), Some("SignatureDoesNotMatch"), "{err}");
    assert_eq!(bad.connection_metrics().requests(), 1, "a 403 was retried");
    let unknown = t.client_with(|b| b.credentials(CredentialsSource::static_keys("nobody", "nothing"))).await;
    let err = unknown.put_object(&t.bucket, "k", Bytes::from_static(b"x"), &Default::default()).await.unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
    assert_eq!(err.code(), Some("InvalidAccessKeyId"), "{err}");
}

/// DeleteObjects takes at most 1,000 keys: more is 400 MalformedXML, and nothing is deleted.
pub(super) async fn delete_objects_over_1000_keys_is_malformed_xml(t: &Target) {
    t.put("k0", b"kept").await;
    let mut document = String::from("<Delete><Quiet>true</Quiet>");
    for i in 0..1001 {
        document.push_str(&format!("<Object><Key>k{i}</Key></Object>"));
    }
    document.push_str("</Delete>");
    let md5 = s3io::checksum::checksum(s3io::config::ChecksumAlgorithm::Md5, document.as_bytes()).value;
    let response = t.raw(Method::POST, "").query("delete").header("content-md5", md5).body(document).send().await;
    if t.skip_on(Moto, "moto carries out a DeleteObjects of more than 1,000 keys instead of answering MalformedXML") {
        return;
    }
    assert_eq!(response.status, 400, "{response:?}");
    assert_eq!(response.code().as_deref(), Some("MalformedXML"), "{response:?}");
    assert_eq!(&t.get("k0").await[..], b"kept");
}

/// A body whose SHA-256 is not the signed `x-amz-content-sha256`: 400
/// XAmzContentSHA256Mismatch, nothing stored.
pub(super) async fn payload_hash_mismatch_is_refused(t: &Target) {
    if t.skip_on(Moto, "moto does not check x-amz-content-sha256 against the body") {
        return;
    }
    let sha256_of_other = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"; // "foo"
    let response = t.raw(Method::PUT, "hashed").content_sha256(sha256_of_other).body("bar").send().await;
    assert_eq!(response.status, 400, "{response:?}");
    assert_eq!(response.code().as_deref(), Some("XAmzContentSHA256Mismatch"), "{response:?}");
    let err = t.client.head_object(&t.bucket, "hashed").await.unwrap_err();
    assert!(err.is_not_found(), "a refused PUT stored the object: {err}");
    // The right hash is accepted.
    let sha256_of_foo = sha256_of_other;
    let response = t.raw(Method::PUT, "hashed").content_sha256(sha256_of_foo).body("foo").send().await;
    assert_eq!(response.status, 200, "{response:?}");
}

/// ListBuckets' `max-buckets` bounds the page and gives a continuation token.
pub(super) async fn list_buckets_honours_max_buckets(t: &Target) {
    t.another_bucket("second").await;
    let response = RawRequest::service(t, Method::GET).query("max-buckets=1").send().await;
    assert_eq!(response.status, 200, "{response:?}");
    let text = String::from_utf8_lossy(&response.body);
    assert_eq!(text.matches("<Bucket>").count(), 1, "max-buckets=1 answered {text}");
    if !t.skip_on(Moto, "moto cuts ListBuckets at max-buckets but gives no ContinuationToken for the rest") {
        assert!(text.contains("<ContinuationToken>"), "a truncated ListBuckets has a continuation token: {text}");
    }
}

/// S3 refuses a presigned URL valid for more than 7 days with 400
/// AuthorizationQueryParametersError (the library will not make one; this one is signed raw).
pub(super) async fn presigned_url_valid_over_7_days_is_refused(t: &Target) {
    if t.skip_on(Moto, "moto's server does not check SigV4 signatures, presigned ones included") {
        return;
    }
    t.put("presigned", b"x").await;
    let week = std::time::Duration::from_secs(7 * 24 * 3600);
    let ok = t.raw(Method::GET, "presigned").send_presigned(week).await;
    assert_eq!(ok.status, 200, "a 7-day presigned URL: {ok:?}");
    assert_eq!(&ok.body[..], b"x");
    let response = t.raw(Method::GET, "presigned").send_presigned(week + std::time::Duration::from_secs(1)).await;
    assert_eq!(response.status, 400, "{response:?}");
    assert_eq!(response.code().as_deref(), Some("AuthorizationQueryParametersError"), "{response:?}");
}

/// S3 keys are at most 1,024 bytes of UTF-8: one more is 400 KeyTooLongError, and nothing is
/// stored.
pub(super) async fn key_longer_than_1024_bytes_is_key_too_long(t: &Target) {
    if t.skip_on(Moto, "moto stores keys longer than S3's 1,024-byte limit instead of answering KeyTooLongError") {
        return;
    }
    let key = "k".repeat(1025);
    let response = t.raw(Method::PUT, &key).body(&b"x"[..]).send().await;
    assert_eq!(response.status, 400, "{response:?}");
    assert_eq!(response.code().as_deref(), Some("KeyTooLongError"), "{response:?}");
    assert!(t.keys("").await.is_empty());
}
