//! Completing an upload, over its part records alone: [`validate`] checks the client's part list
//! against them, [`etag_of`] gives the object's ETag ([`multipart_etag`], as S3 computes it)
//! and [`combine_checksums`] its checksums (CRC combination for full-object checksums, S3's
//! `COMPOSITE` checksum of checksums otherwise); see the [module documentation](super). No
//! file is read here: the bytes are joined by the assembly in the parent module.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use md5::{Digest as _, Md5};
use s3s::dto::CompletedPart;
use s3s::{s3_error, S3Error};

use super::{COMPOSITE, FULL_OBJECT, MIN_PART_SIZE};
use crate::store::checksum::{ChecksumSet, Checksums, Hasher};
use crate::store::meta::PartMeta;

/// S3's multipart ETag: hex MD5 of the concatenated binary part MD5s, `-N`.
pub(crate) fn multipart_etag<'a>(part_md5s: impl IntoIterator<Item = &'a [u8; 16]>) -> String {
    let mut md5 = Md5::new();
    let mut n = 0usize;
    for part in part_md5s {
        md5.update(part);
        n += 1;
    }
    format!("{}-{n}", hex::encode(md5.finalize()))
}

/// Checks the client's part list against the stored part records and returns
/// the records of the listed parts, in order.
///
/// # Errors
/// `InvalidPartOrder` when part numbers do not strictly ascend, `InvalidPart`
/// when a part is missing or its ETag or a checksum differs, `EntityTooSmall`
/// when a part other than the last is smaller than [`MIN_PART_SIZE`].
pub(crate) fn validate(requested: &[CompletedPart], stored: &[PartMeta]) -> Result<Vec<PartMeta>, S3Error> {
    if requested.is_empty() {
        return Err(s3_error!(MalformedXML, "You must specify at least one part"));
    }
    let mut out = Vec::with_capacity(requested.len());
    let mut previous = 0;
    for (i, part) in requested.iter().enumerate() {
        let number = part.part_number.ok_or_else(|| s3_error!(InvalidPart, "a part has no PartNumber"))?;
        if number <= previous {
            return Err(s3_error!(
                InvalidPartOrder,
                "The list of parts was not in ascending order (part {number} after {previous})"
            ));
        }
        previous = number;
        let meta = stored
            .iter()
            .find(|p| p.number == number)
            .ok_or_else(|| s3_error!(InvalidPart, "Part {number} has not been uploaded"))?;
        if part.e_tag.as_ref().is_some_and(|etag| etag.value().trim_matches('"') != meta.etag) {
            return Err(s3_error!(InvalidPart, "The ETag of part {number} does not match the uploaded part"));
        }
        let sent = Checksums {
            crc32: part.checksum_crc32.clone(),
            crc32c: part.checksum_crc32c.clone(),
            crc64nvme: part.checksum_crc64nvme.clone(),
            sha1: part.checksum_sha1.clone(),
            sha256: part.checksum_sha256.clone(),
        };
        if sent.verify_sent(&meta.checksums).is_err() {
            return Err(s3_error!(InvalidPart, "A checksum of part {number} does not match the uploaded part"));
        }
        let is_last = i + 1 == requested.len();
        if !is_last && meta.size < MIN_PART_SIZE {
            return Err(s3_error!(
                EntityTooSmall,
                "Part {number} is {} bytes; every part but the last must be at least {MIN_PART_SIZE} bytes",
                meta.size
            ));
        }
        out.push(meta.clone());
    }
    Ok(out)
}

/// The ETag of parts given by their records.
pub(crate) fn etag_of(parts: &[PartMeta]) -> Result<String, S3Error> {
    let md5s = parts
        .iter()
        .map(|p| {
            let mut md5 = [0u8; 16];
            hex::decode_to_slice(&p.etag, &mut md5).map(|()| md5)
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| s3_error!(InternalError, "a stored part record is damaged"))?;
    Ok(multipart_etag(&md5s))
}

/// The object's checksums derived from its parts' and the checksum type; see the module doc.
/// `wanted_type` is the type the client asked for (`FULL_OBJECT`/`COMPOSITE`), if any.
pub(crate) fn combine_checksums(parts: &[PartMeta], wanted_type: Option<&str>) -> (Checksums, Option<String>) {
    let full = wanted_type != Some(COMPOSITE);
    let all = |f: fn(&Checksums) -> &Option<String>| -> Option<Vec<Vec<u8>>> {
        parts.iter().map(|p| f(&p.checksums).as_deref().and_then(|v| BASE64.decode(v).ok())).collect()
    };
    let mut out = Checksums::default();
    let mut kind = None;

    if let Some(crcs) = all(|c| &c.crc64nvme) {
        out.crc64nvme = combine_crc(crc_fast::CrcAlgorithm::Crc64Nvme, &crcs, parts);
        kind = Some(FULL_OBJECT);
    }
    let crc32_like = [
        (crc_fast::CrcAlgorithm::Crc32Iscsi, all(|c| &c.crc32c), ChecksumSet { crc32c: true, ..Default::default() }),
        (crc_fast::CrcAlgorithm::Crc32IsoHdlc, all(|c| &c.crc32), ChecksumSet { crc32: true, ..Default::default() }),
    ];
    for (alg, crcs, set) in crc32_like {
        let Some(crcs) = crcs else { continue };
        let value = if wanted_type == Some(FULL_OBJECT) && full {
            kind = Some(FULL_OBJECT);
            combine_crc(alg, &crcs, parts)
        } else {
            kind = kind.or(Some(COMPOSITE));
            Some(composite(&crcs, set))
        };
        if set.crc32c {
            out.crc32c = value;
        } else {
            out.crc32 = value;
        }
    }
    if let Some(sums) = all(|c| &c.sha1) {
        out.sha1 = Some(composite(&sums, ChecksumSet { sha1: true, ..Default::default() }));
        kind = kind.or(Some(COMPOSITE));
    }
    if let Some(sums) = all(|c| &c.sha256) {
        out.sha256 = Some(composite(&sums, ChecksumSet { sha256: true, ..Default::default() }));
        kind = kind.or(Some(COMPOSITE));
    }
    (out, kind.map(str::to_owned))
}

/// CRC of the whole object from the part CRCs (big-endian bytes) and part sizes.
fn combine_crc(alg: crc_fast::CrcAlgorithm, crcs: &[Vec<u8>], parts: &[PartMeta]) -> Option<String> {
    let width = crcs.first()?.len();
    let mut acc: Option<u64> = None;
    for (crc, part) in crcs.iter().zip(parts) {
        if crc.len() != width || width > 8 {
            return None;
        }
        let value = crc.iter().fold(0u64, |v, b| (v << 8) | u64::from(*b));
        acc = Some(match acc {
            None => value,
            Some(prev) => crc_fast::checksum_combine(alg, prev, value, part.size),
        });
    }
    let bytes = acc?.to_be_bytes();
    Some(BASE64.encode(&bytes[8 - width..]))
}

/// S3's composite checksum: the checksum of the concatenated binary part checksums, `-N`.
fn composite(sums: &[Vec<u8>], set: ChecksumSet) -> String {
    let mut hasher = Hasher::new(set);
    for s in sums {
        hasher.update(s);
    }
    let c = hasher.finish().checksums;
    let value = c.crc32.or(c.crc32c).or(c.crc64nvme).or(c.sha1).or(c.sha256).unwrap_or_default();
    format!("{value}-{}", sums.len())
}

#[cfg(test)]
mod tests {
    use s3s::dto::ETag;

    use super::*;

    fn part(number: i32, size: u64, data: &[u8]) -> PartMeta {
        PartMeta { number, etag: hex::encode(Md5::digest(data)), size, ..Default::default() }
    }

    fn completed(number: i32, etag: Option<&str>) -> CompletedPart {
        CompletedPart {
            part_number: Some(number),
            e_tag: etag.map(|e| ETag::Strong(e.to_owned())),
            ..Default::default()
        }
    }

    #[test]
    fn etag_matches_s3s_formula() {
        // Two parts "a" and "b": MD5(md5("a") ‖ md5("b")) + "-2".
        let a: [u8; 16] = Md5::digest(b"a").into();
        let b: [u8; 16] = Md5::digest(b"b").into();
        let mut joined = Vec::new();
        joined.extend_from_slice(&a);
        joined.extend_from_slice(&b);
        let expected = format!("{}-2", hex::encode(Md5::digest(&joined)));
        assert_eq!(multipart_etag([&a, &b]), expected);
        let parts = [part(1, 1, b"a"), part(2, 1, b"b")];
        assert_eq!(etag_of(&parts).unwrap(), expected);
    }

    #[test]
    fn etag_of_one_empty_part() {
        // Known S3 value for a single empty part.
        let empty: [u8; 16] = Md5::digest(b"").into();
        assert_eq!(multipart_etag([&empty]), "59adb24ef3cdbe0297f05b395827453f-1");
    }

    #[test]
    fn validate_checks_order_existence_etag_and_size() {
        let big = MIN_PART_SIZE;
        let stored = vec![part(1, big, b"1"), part(2, big, b"2"), part(3, 10, b"3")];
        let ok =
            validate(&[completed(1, Some(&stored[0].etag)), completed(2, None), completed(3, None)], &stored).unwrap();
        assert_eq!(ok.len(), 3);

        let code = |req: &[CompletedPart]| validate(req, &stored).unwrap_err().code().clone();
        assert_eq!(code(&[completed(2, None), completed(1, None)]), s3s::S3ErrorCode::InvalidPartOrder);
        assert_eq!(code(&[completed(1, None), completed(1, None)]), s3s::S3ErrorCode::InvalidPartOrder);
        assert_eq!(code(&[completed(4, None)]), s3s::S3ErrorCode::InvalidPart);
        assert_eq!(code(&[completed(1, Some("\"deadbeef\""))]), s3s::S3ErrorCode::InvalidPart);
        assert_eq!(code(&[completed(1, None), completed(4, None)]), s3s::S3ErrorCode::InvalidPart);
        assert_eq!(
            code(&[completed(1, None), completed(3, None), completed(4, None)]),
            s3s::S3ErrorCode::EntityTooSmall
        );
        let small = vec![part(1, 10, b"1"), part(2, 10, b"2")];
        assert_eq!(
            validate(&[completed(1, None), completed(2, None)], &small).unwrap_err().code(),
            &s3s::S3ErrorCode::EntityTooSmall
        );
        assert_eq!(code(&[]), s3s::S3ErrorCode::MalformedXML);
    }

    #[test]
    fn crc64nvme_of_parts_combines_to_the_whole() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let (a, b) = data.split_at(6_000);
        let crc = |d: &[u8]| {
            let mut h = Hasher::new(ChecksumSet { crc64nvme: true, crc32c: true, ..Default::default() });
            h.update(d);
            h.finish().checksums
        };
        let parts = [
            PartMeta { number: 1, size: a.len() as u64, checksums: crc(a), ..Default::default() },
            PartMeta { number: 2, size: b.len() as u64, checksums: crc(b), ..Default::default() },
        ];
        let whole = crc(&data);
        let (combined, kind) = combine_checksums(&parts, None);
        assert_eq!(combined.crc64nvme, whole.crc64nvme);
        assert_eq!(kind.as_deref(), Some(FULL_OBJECT));
        assert!(combined.crc32c.as_deref().is_some_and(|v| v.ends_with("-2")));
        let (full, _) = combine_checksums(&parts, Some(FULL_OBJECT));
        assert_eq!(full.crc32c, whole.crc32c);
    }
}
