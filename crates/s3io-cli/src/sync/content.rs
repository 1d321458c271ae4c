//! `--checksum`: whether two entries of equal size hold the same bytes.
//!
//! An object's content identity comes from HeadObject with checksum mode on: its full-object
//! checksum (CRC64NVME first, then CRC32C; composite `…-N` values of multipart objects are not
//! full-object and are ignored) or, failing that, its ETag. A local file's is computed for the
//! algorithm the object carries, reading the file on the blocking pool, never on a runtime thread.
//!
//! The rules, from strongest to weakest evidence:
//! - Local file vs object with a full-object checksum: equal checksums are the same content.
//! - Local file vs object without one: an ETag with no `-` (a single-part upload without
//!   SSE-KMS) is the hex MD5 of the content, compared with the file's MD5. A multipart ETag
//!   (`…-N`) depends on the part size and cannot be compared: the object is copied again.
//! - Object vs object: checksums of the same algorithm on both sides decide; otherwise equal
//!   ETags are the same content (equal MD5s, or equal lists of part MD5s), and different ETags
//!   copy again (the same bytes uploaded with other part sizes have other ETags).
//!
//! Objects stored with SSE-C are read with their key (HeadObject refuses them without it); their
//! ETags are not MD5s of their content, so only their checksums can show them equal.
//!
//! Whatever cannot be decided is copied: a needless copy costs time, a wrongly skipped one loses
//! data.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use base64::Engine as _;
use s3io::checksum::{ChecksumValue, Hasher};
use s3io::config::ChecksumAlgorithm;
use s3io::types::{HeadObjectOptions, ObjectInfo};
use s3io::Client;

/// Bytes read from a file per `read` call while hashing it.
const READ_CHUNK: usize = 1024 * 1024;

/// The checksum of a local file's content, computed on the blocking pool.
pub(crate) async fn file_checksum(path: &Path, algorithm: ChecksumAlgorithm) -> anyhow::Result<ChecksumValue> {
    let owned: PathBuf = path.to_owned();
    let task = tokio::task::spawn_blocking(move || -> std::io::Result<ChecksumValue> {
        let mut file = std::fs::File::open(&owned)?;
        let mut hasher = Hasher::new(algorithm);
        let mut buffer = vec![0u8; READ_CHUNK];
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                return Ok(hasher.finish());
            }
            hasher.update(&buffer[..n]);
        }
    });
    let checksum = task.await.context("checksum task")?;
    checksum.with_context(|| format!("reading {} for its {} checksum", crate::escape::path(path), algorithm.name()))
}

/// The hex MD5 a single-part ETag holds (quotes removed, lower case), `None` for a multipart
/// ETag or none at all.
fn single_part_md5(etag: Option<&str>) -> Option<String> {
    let etag = etag?.trim_matches('"');
    (etag.len() == 32 && etag.bytes().all(|b| b.is_ascii_hexdigit())).then(|| etag.to_ascii_lowercase())
}

/// The hex form of an MD5 [`ChecksumValue`] (base64, as S3 headers carry it).
fn md5_hex(value: &ChecksumValue) -> anyhow::Result<String> {
    let digest = base64::engine::general_purpose::STANDARD.decode(&value.value).context("decoding an MD5")?;
    Ok(hex::encode(digest))
}

/// Whether the local file at `path` holds the bytes of `bucket/key`, read with `options` (its
/// SSE-C key: see the module doc).
pub(crate) async fn file_matches_object(
    client: &Client,
    path: &Path,
    (bucket, key, options): (&str, &str, &HeadObjectOptions),
) -> anyhow::Result<bool> {
    let info = client.head_object_with(bucket, key, options).await?;
    if let Some(remote) = info.checksums.first() {
        let local = file_checksum(path, remote.algorithm).await?;
        return Ok(local.value == remote.value);
    }
    // An SSE-C object's ETag is not the MD5 of its content.
    let etag = info.etag.as_deref().filter(|_| options.sse_customer_key.is_none());
    let Some(md5) = single_part_md5(etag) else {
        return Ok(false);
    };
    let local = file_checksum(path, ChecksumAlgorithm::Md5).await?;
    Ok(md5_hex(&local)? == md5)
}

/// Whether two objects' HeadObject answers show the same content (see the module doc).
fn objects_match(source: &ObjectInfo, destination: &ObjectInfo) -> bool {
    for checksum in &source.checksums {
        if let Some(other) = destination.checksums.iter().find(|c| c.algorithm == checksum.algorithm) {
            return other.value == checksum.value;
        }
    }
    matches!((&source.etag, &destination.etag), (Some(a), Some(b)) if a == b)
}

/// Whether `source_bucket/source_key` and `bucket/key`, each read with its options (its SSE-C
/// key), hold the same bytes (see the module doc).
pub(crate) async fn object_matches_object(
    client: &Client,
    (source_bucket, source_key, source_options): (&str, &str, &HeadObjectOptions),
    (bucket, key, options): (&str, &str, &HeadObjectOptions),
) -> anyhow::Result<bool> {
    let (source, destination) = futures::try_join!(
        client.head_object_with(source_bucket, source_key, source_options),
        client.head_object_with(bucket, key, options)
    )?;
    Ok(objects_match(&source, &destination))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(etag: Option<&str>, checksums: &[(ChecksumAlgorithm, &str)]) -> ObjectInfo {
        let mut info = ObjectInfo::default();
        info.etag = etag.map(str::to_owned);
        info.checksums = checksums.iter().map(|(algorithm, value)| ChecksumValue::new(*algorithm, *value)).collect();
        info
    }

    #[test]
    fn single_part_etags_are_md5s() {
        let md5 = "\"9E107D9D372BB6826BD81D3542A419D6\"";
        assert_eq!(single_part_md5(Some(md5)).as_deref(), Some("9e107d9d372bb6826bd81d3542a419d6"));
        assert_eq!(single_part_md5(Some("\"9e107d9d372bb6826bd81d3542a419d6-2\"")), None);
        assert_eq!(single_part_md5(Some("\"short\"")), None);
        assert_eq!(single_part_md5(None), None);
    }

    #[test]
    fn md5_values_convert_to_hex() {
        let empty = s3io::checksum::checksum(ChecksumAlgorithm::Md5, b"");
        assert_eq!(md5_hex(&empty).unwrap(), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn object_checksums_of_one_algorithm_decide() {
        use ChecksumAlgorithm::{Crc32c, Crc64Nvme};
        let a = info(Some("\"e1\""), &[(Crc64Nvme, "x"), (Crc32c, "y")]);
        assert!(objects_match(&a, &info(Some("\"e2\""), &[(Crc64Nvme, "x")])));
        assert!(!objects_match(&a, &info(Some("\"e1\""), &[(Crc64Nvme, "z")])), "checksums beat ETags");
        assert!(objects_match(&a, &info(Some("\"e2\""), &[(Crc32c, "y")])));
        // No common algorithm: the ETags decide.
        assert!(objects_match(&info(Some("\"e1\""), &[(Crc32c, "y")]), &info(Some("\"e1\""), &[])));
        assert!(!objects_match(&info(Some("\"e1\""), &[]), &info(Some("\"e2\""), &[])));
        assert!(!objects_match(&info(None, &[]), &info(None, &[])));
    }

    #[tokio::test]
    async fn file_checksums_match_the_library() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..3 * READ_CHUNK + 17).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        for algorithm in [ChecksumAlgorithm::Crc64Nvme, ChecksumAlgorithm::Crc32c, ChecksumAlgorithm::Md5] {
            assert_eq!(file_checksum(&path, algorithm).await.unwrap(), s3io::checksum::checksum(algorithm, &data));
        }
        let err = file_checksum(&dir.path().join("missing"), ChecksumAlgorithm::Crc64Nvme).await.unwrap_err();
        assert!(format!("{err:#}").contains("missing"), "{err:#}");
    }
}
