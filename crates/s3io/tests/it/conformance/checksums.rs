//! Additional checksums (CRC32C, CRC64NVME) and Content-MD5: stored with the object, returned
//! with `x-amz-checksum-mode: ENABLED`, a mismatch refused with 400 BadDigest, and multipart
//! objects' composite (CRC32C) and full-object (CRC64NVME) checksums.

use base64::Engine as _;
use bytes::Bytes;
use http::Method;
use s3io::checksum::ChecksumValue;
use s3io::config::ChecksumAlgorithm;
use s3io::types::{CompletedPart, GetObjectOptions, PutObjectOptions};

use super::server::{ServerKind::Moto, Target};

/// Why moto's answers lack the checksums S3 returns: S3 stores the `x-amz-checksum-*` value a
/// PutObject carries; moto only when the AWS SDKs' `x-amz-sdk-checksum-algorithm` header comes with
/// it (the library, like S3's API, does not need that header).
pub(super) const MOTO_STORES_CHECKSUMS_ONLY_WITH_SDK_HEADER: &str =
    "moto stores an x-amz-checksum-* value only when the SDK header x-amz-sdk-checksum-algorithm comes with it";
use crate::common::{test_data, MIB};

pub(super) async fn put_checksums_are_stored_and_returned(t: &Target) {
    let data = test_data(70_000, 11);
    for algorithm in [ChecksumAlgorithm::Crc32c, ChecksumAlgorithm::Crc64Nvme] {
        let key = format!("sum/{}", algorithm.header());
        let expected = s3io::checksum::checksum(algorithm, &data);
        let options = PutObjectOptions::default().with_checksum(expected.clone());
        t.client.put_object(&t.bucket, &key, Bytes::from(data.clone()), &options).await.unwrap();

        let get = GetObjectOptions::default().with_checksum_mode(true);
        let object = t.client.get_object(&t.bucket, &key, &get).await.unwrap();
        let returned = object.info.checksums.clone();
        assert!(object.collect().await.unwrap()[..] == data[..]);
        if t.skip_on(Moto, MOTO_STORES_CHECKSUMS_ONLY_WITH_SDK_HEADER) {
            continue;
        }
        assert_eq!(returned, vec![expected.clone()], "GetObject {key}");
        let head = t.client.head_object(&t.bucket, &key).await.unwrap();
        assert_eq!(head.checksums, vec![expected.clone()], "HeadObject {key}");
        // A single PutObject's checksum is a full-object one.
        let raw = t.raw(Method::HEAD, &key).header("x-amz-checksum-mode", "ENABLED").send().await;
        assert_eq!(raw.header(algorithm.header()), Some(expected.value.as_str()), "{key}: {raw:?}");
        assert_eq!(raw.header("x-amz-checksum-type"), Some("FULL_OBJECT"), "{key}: {raw:?}");
    }
}

pub(super) async fn wrong_checksum_is_bad_digest_and_stores_nothing(t: &Target) {
    if t.skip_on(Moto, "moto does not verify x-amz-checksum-* or Content-MD5 values: it stores the object") {
        return;
    }
    let data = test_data(10_000, 12);
    let other = test_data(10_000, 13);
    for algorithm in [ChecksumAlgorithm::Crc32c, ChecksumAlgorithm::Crc64Nvme, ChecksumAlgorithm::Md5] {
        let key = format!("bad/{}", algorithm.header());
        let options = PutObjectOptions::default().with_checksum(s3io::checksum::checksum(algorithm, &other));
        let err = t.client.put_object(&t.bucket, &key, Bytes::from(data.clone()), &options).await.unwrap_err();
        assert_eq!(err.status(), Some(400), "{key}: {err}");
        assert_eq!(err.code(), Some("BadDigest"), "{key}: {err}");
        let err = t.client.head_object(&t.bucket, &key).await.unwrap_err();
        assert!(err.is_not_found(), "{key}: a refused PUT stored the object: {err}");
    }
}

pub(super) async fn multipart_checksums_composite_and_full_object(t: &Target) {
    let data = test_data(5 * MIB + 1000, 14);
    let (first, second) = data.split_at(5 * MIB);

    // CRC32C, composite (S3's default type): the CRC32C of the parts' CRC32Cs, "-<parts>".
    let key = "mp/crc32c";
    let parts = upload_parts(t, key, ChecksumAlgorithm::Crc32c, &[first, second]).await;
    t.client.complete_multipart_upload(&t.bucket, key, &parts.0, &parts.1, None).await.unwrap();
    let mut digests = Vec::new();
    for part in &parts.1 {
        digests
            .extend(base64::engine::general_purpose::STANDARD.decode(&part.checksum.as_ref().unwrap().value).unwrap());
    }
    let composite =
        format!("{}-2", base64::engine::general_purpose::STANDARD.encode(crc32c::crc32c(&digests).to_be_bytes()));
    assert!(t.get(key).await[..] == data[..]);
    if !t.skip_on(
        Moto,
        "moto gives a multipart object the CRC32C of its bytes, not S3's composite `<crc of part crcs>-N`",
    ) {
        let raw = t.raw(Method::HEAD, key).header("x-amz-checksum-mode", "ENABLED").send().await;
        assert_eq!(raw.header("x-amz-checksum-crc32c"), Some(composite.as_str()), "{raw:?}");
        assert_eq!(raw.header("x-amz-checksum-type"), Some("COMPOSITE"), "{raw:?}");
    }

    // CRC64NVME is full-object only: the object's checksum is the CRC64NVME of all its bytes.
    let key = "mp/crc64nvme";
    let whole = s3io::checksum::checksum(ChecksumAlgorithm::Crc64Nvme, &data);
    let parts = upload_parts(t, key, ChecksumAlgorithm::Crc64Nvme, &[first, second]).await;
    t.client.complete_multipart_upload(&t.bucket, key, &parts.0, &parts.1, Some(&whole)).await.unwrap();
    assert!(t.get(key).await[..] == data[..]);
    if !t.skip_on(Moto, "moto gives a multipart CRC64NVME object a 4-byte value, not the CRC64NVME of its bytes") {
        let head = t.client.head_object(&t.bucket, key).await.unwrap();
        assert_eq!(head.checksums, vec![whole.clone()]);
        let raw = t.raw(Method::HEAD, key).header("x-amz-checksum-mode", "ENABLED").send().await;
        assert_eq!(raw.header("x-amz-checksum-type"), Some("FULL_OBJECT"), "{raw:?}");
    }
}

/// Creates an upload with `algorithm` and uploads `chunks` as parts with their checksums.
async fn upload_parts(
    t: &Target,
    key: &str,
    algorithm: ChecksumAlgorithm,
    chunks: &[&[u8]],
) -> (String, Vec<CompletedPart>) {
    let id = t.client.create_multipart_upload(&t.bucket, key, &Default::default(), Some(algorithm)).await.unwrap();
    let mut parts = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let checksum: ChecksumValue = s3io::checksum::checksum(algorithm, chunk);
        let part = t
            .client
            .upload_part(&t.bucket, key, &id, i as u32 + 1, Bytes::copy_from_slice(chunk), Some(checksum.clone()))
            .await
            .unwrap();
        assert_eq!(part.checksum.as_ref(), Some(&checksum));
        parts.push(part);
    }
    (id, parts)
}
