//! Integrity values of written bytes: the MD5 behind every ETag and the
//! `x-amz-checksum-*` values a client asks for.
//!
//! [`Hasher`] is fed each block exactly once, on the blocking thread that writes
//! it, so an upload is hashed in one pass while it is written. MD5 is always
//! computed (S3's ETag of a single-part object is its hex MD5). The other
//! algorithms run only when the client named them — with a value
//! (`x-amz-checksum-crc32c: …`), with `x-amz-sdk-checksum-algorithm`, or with
//! `x-amz-trailer` — since each one costs CPU per byte. CRC32C and CRC64NVME use
//! the SIMD `crc32c` and `crc-fast` crates (`crc-fast` uses VPCLMULQDQ where the CPU
//! has it: 4× `crc64fast-nvme`); the rarer CRC32, SHA-1 and SHA-256 use s3s's own
//! [`ChecksumHasher`].
//!
//! [`Checksums`] holds the base64 values as S3 sends them; it is what the
//! object index stores and what GET/HEAD return, never recomputed.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use md5_many::Md5State;

use super::md5_batch::Md5Lane;
use s3s::checksum::ChecksumHasher;
use s3s::dto::ChecksumAlgorithm;
use s3s::{s3_error, S3Error};
use serde::{Deserialize, Serialize};

/// Base64 checksum values, as in the `x-amz-checksum-*` headers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Checksums {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) crc32: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) crc32c: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) crc64nvme: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sha1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sha256: Option<String>,
}

impl Checksums {
    /// Whether no value is set.
    pub(crate) fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Fills the values `other` has and `self` lacks.
    pub(crate) fn fill_from(&mut self, other: Checksums) {
        let Checksums { crc32, crc32c, crc64nvme, sha1, sha256 } = other;
        self.crc32 = self.crc32.take().or(crc32);
        self.crc32c = self.crc32c.take().or(crc32c);
        self.crc64nvme = self.crc64nvme.take().or(crc64nvme);
        self.sha1 = self.sha1.take().or(sha1);
        self.sha256 = self.sha256.take().or(sha256);
    }

    /// Reads the `x-amz-checksum-*` values of trailing headers (aws-chunked uploads).
    pub(crate) fn from_trailers(trailers: &http::HeaderMap) -> Result<Self, S3Error> {
        let get = |name: &str| -> Result<Option<String>, S3Error> {
            trailers
                .get(name)
                .map(|v| {
                    v.to_str().map(str::to_owned).map_err(|_| s3_error!(InvalidArgument, "invalid trailer {name}"))
                })
                .transpose()
        };
        Ok(Self {
            crc32: get("x-amz-checksum-crc32")?,
            crc32c: get("x-amz-checksum-crc32c")?,
            crc64nvme: get("x-amz-checksum-crc64nvme")?,
            sha1: get("x-amz-checksum-sha1")?,
            sha256: get("x-amz-checksum-sha256")?,
        })
    }

    /// Checks every value the client sent against the computed one.
    ///
    /// # Errors
    /// `BadDigest` naming the first algorithm whose values differ.
    pub(crate) fn verify_sent(&self, computed: &Checksums) -> Result<(), S3Error> {
        self.verify(computed, false)
    }

    /// Like [`Checksums::verify_sent`], but only for the algorithms `computed` has.
    ///
    /// # Errors
    /// `BadDigest` naming the first algorithm whose values differ.
    pub(crate) fn verify_known(&self, computed: &Checksums) -> Result<(), S3Error> {
        self.verify(computed, true)
    }

    fn verify(&self, computed: &Checksums, only_known: bool) -> Result<(), S3Error> {
        let pairs = [
            ("CRC32", &self.crc32, &computed.crc32),
            ("CRC32C", &self.crc32c, &computed.crc32c),
            ("CRC64NVME", &self.crc64nvme, &computed.crc64nvme),
            ("SHA1", &self.sha1, &computed.sha1),
            ("SHA256", &self.sha256, &computed.sha256),
        ];
        for (name, sent, got) in pairs {
            if only_known && got.is_none() {
                continue;
            }
            if sent.is_some() && got != sent {
                let sent = sent.as_deref().unwrap_or_default();
                return Err(s3_error!(
                    BadDigest,
                    "The {name} you specified did not match the calculated checksum (sent {sent}, computed {})",
                    got.as_deref().unwrap_or("nothing")
                ));
            }
        }
        Ok(())
    }
}

/// Which checksum algorithms to compute while writing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ChecksumSet {
    pub(crate) crc32: bool,
    pub(crate) crc32c: bool,
    pub(crate) crc64nvme: bool,
    pub(crate) sha1: bool,
    pub(crate) sha256: bool,
}

impl ChecksumSet {
    /// The algorithms the client named: by sending a value, by
    /// `x-amz-sdk-checksum-algorithm`, or in `x-amz-trailer`.
    pub(crate) fn requested(
        sent: &Checksums,
        algorithm: Option<&ChecksumAlgorithm>,
        headers: &http::HeaderMap,
    ) -> Self {
        let mut set = Self {
            crc32: sent.crc32.is_some(),
            crc32c: sent.crc32c.is_some(),
            crc64nvme: sent.crc64nvme.is_some(),
            sha1: sent.sha1.is_some(),
            sha256: sent.sha256.is_some(),
        };
        if let Some(alg) = algorithm {
            set.add_name(alg.as_str());
        }
        if let Some(trailer) = headers.get("x-amz-trailer").and_then(|v| v.to_str().ok()) {
            for name in trailer.split(',') {
                if let Some(alg) = name.trim().to_ascii_lowercase().strip_prefix("x-amz-checksum-") {
                    set.add_name(alg);
                }
            }
        }
        set
    }

    fn add_name(&mut self, name: &str) {
        match name.to_ascii_uppercase().as_str() {
            "CRC32" => self.crc32 = true,
            "CRC32C" => self.crc32c = true,
            "CRC64NVME" => self.crc64nvme = true,
            "SHA1" => self.sha1 = true,
            "SHA256" => self.sha256 = true,
            _ => {}
        }
    }
}

/// What a [`Hasher`] computed over all bytes it was fed.
#[derive(Debug, Clone)]
pub(crate) struct Digests {
    /// Binary MD5.
    pub(crate) md5: [u8; 16],
    /// Number of bytes.
    pub(crate) size: u64,
    /// The requested checksums, base64.
    pub(crate) checksums: Checksums,
}

/// One-pass hashing of written bytes; see the module doc.
pub(crate) struct Hasher {
    md5: Md5State,
    size: u64,
    crc32c: Option<u32>,
    crc64nvme: Option<crc_fast::Digest>,
    others: Option<ChecksumHasher>,
}

impl Hasher {
    /// A hasher computing MD5 and the algorithms of `set`.
    pub(crate) fn new(set: ChecksumSet) -> Self {
        let others = (set.crc32 || set.sha1 || set.sha256).then(|| ChecksumHasher {
            crc32: set.crc32.then(Default::default),
            sha1: set.sha1.then(Default::default),
            sha256: set.sha256.then(Default::default),
            ..Default::default()
        });
        Self {
            md5: Md5State::new(),
            size: 0,
            crc32c: set.crc32c.then_some(0),
            crc64nvme: set.crc64nvme.then(|| crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc64Nvme)),
            others,
        }
    }

    /// Feeds `data`.
    pub(crate) fn update(&mut self, data: &[u8]) {
        self.md5.update(data);
        self.update_checksums(data);
    }

    /// Feeds `block`, whose MD5 goes through the multi-buffer batcher with other uploads'
    /// blocks ([`md5_batch`](super::md5_batch)); hands the block back.
    ///
    /// # Errors
    /// When the batcher stopped.
    pub(crate) fn update_batched(&mut self, lane: &Md5Lane, block: Vec<u8>) -> std::io::Result<Vec<u8>> {
        let hashed = lane.update(self.md5, block)?;
        self.md5 = hashed.state;
        self.update_checksums(&hashed.block);
        Ok(hashed.block)
    }

    /// Counts `data` and feeds it to the checksums other than MD5.
    fn update_checksums(&mut self, data: &[u8]) {
        self.size += data.len() as u64;
        if let Some(crc) = &mut self.crc32c {
            *crc = crc32c::crc32c_append(*crc, data);
        }
        if let Some(digest) = &mut self.crc64nvme {
            digest.update(data);
        }
        if let Some(others) = &mut self.others {
            others.update(data);
        }
    }

    /// The digests of everything fed.
    pub(crate) fn finish(self) -> Digests {
        let mut checksums = self.others.map(|o| from_dto(o.finalize())).unwrap_or_default();
        checksums.crc32c = self.crc32c.map(|c| BASE64.encode(c.to_be_bytes()));
        checksums.crc64nvme = self.crc64nvme.map(|d| BASE64.encode(d.finalize().to_be_bytes()));
        Digests { md5: self.md5.finalize(), size: self.size, checksums }
    }
}

fn from_dto(c: s3s::dto::Checksum) -> Checksums {
    Checksums {
        crc32: c.checksum_crc32,
        crc32c: c.checksum_crc32c,
        crc64nvme: c.checksum_crc64nvme,
        sha1: c.checksum_sha1,
        sha256: c.checksum_sha256,
    }
}

/// Checks a `Content-MD5` header (base64 of the binary MD5) against `md5`.
///
/// # Errors
/// `InvalidDigest` when the header is not base64 of 16 bytes, `BadDigest` when it differs.
pub(crate) fn verify_content_md5(content_md5: &str, md5: &[u8; 16]) -> Result<(), S3Error> {
    let sent = BASE64
        .decode(content_md5.trim())
        .ok()
        .filter(|v| v.len() == 16)
        .ok_or_else(|| s3_error!(InvalidDigest, "The Content-MD5 you specified is not valid"))?;
    if sent != md5 {
        return Err(s3_error!(BadDigest, "The Content-MD5 you specified did not match what we received"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computes_known_values() {
        let set = ChecksumSet { crc32: true, crc32c: true, crc64nvme: true, sha1: false, sha256: true };
        let mut h = Hasher::new(set);
        h.update(b"hello ");
        h.update(b"world");
        let d = h.finish();
        assert_eq!(hex::encode(d.md5), "5eb63bbbe01eeed093cb22bb8f5acdc3");
        assert_eq!(d.size, 11);
        // Reference values: AWS CLI / s3s for "hello world".
        assert_eq!(d.checksums.crc32.as_deref(), Some("DUoRhQ=="));
        assert_eq!(d.checksums.crc32c.as_deref(), Some("yZRlqg=="));
        assert_eq!(d.checksums.sha256.as_deref(), Some("uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="));
        assert!(d.checksums.crc64nvme.is_some());
        assert!(d.checksums.sha1.is_none());
    }

    #[test]
    fn crc64nvme_matches_s3s() {
        use s3s::crypto::Checksum as _;
        let mut h = Hasher::new(ChecksumSet { crc64nvme: true, ..Default::default() });
        let data = vec![7u8; 100_000];
        h.update(&data);
        let mut reference = s3s::crypto::Crc64Nvme::new();
        reference.update(&data);
        assert_eq!(h.finish().checksums.crc64nvme, Some(BASE64.encode(reference.finalize())));
    }

    #[test]
    fn verify_sent_reports_mismatch() {
        let computed = Checksums { crc32c: Some("yZRlqg==".into()), ..Default::default() };
        assert!(Checksums { crc32c: Some("yZRlqg==".into()), ..Default::default() }.verify_sent(&computed).is_ok());
        let err =
            Checksums { crc32c: Some("AAAAAA==".into()), ..Default::default() }.verify_sent(&computed).unwrap_err();
        assert_eq!(err.code(), &s3s::S3ErrorCode::BadDigest);
    }

    #[test]
    fn content_md5_checks() {
        let md5: [u8; 16] = hex::decode("5eb63bbbe01eeed093cb22bb8f5acdc3").unwrap().try_into().unwrap();
        assert!(verify_content_md5("XrY7u+Ae7tCTyyK7j1rNww==", &md5).is_ok());
        assert_eq!(
            verify_content_md5("AAAAAAAAAAAAAAAAAAAAAA==", &md5).unwrap_err().code(),
            &s3s::S3ErrorCode::BadDigest
        );
        assert_eq!(verify_content_md5("nope", &md5).unwrap_err().code(), &s3s::S3ErrorCode::InvalidDigest);
    }

    #[test]
    fn requested_set_reads_trailer_and_algorithm() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-amz-trailer", "x-amz-checksum-crc64nvme".parse().unwrap());
        let alg = ChecksumAlgorithm::from_static(ChecksumAlgorithm::CRC32C);
        let set = ChecksumSet::requested(&Checksums::default(), Some(&alg), &headers);
        assert!(set.crc64nvme && set.crc32c && !set.sha256);
    }
}
