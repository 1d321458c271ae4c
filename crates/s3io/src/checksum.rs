//! Checksums: CRC64/NVME, CRC32C and MD5, as S3 carries them (base64 of the big-endian digest).
//!
//! [`Hasher`] computes one algorithm incrementally over the bytes as they stream past, so no
//! transfer makes a second pass over its data. [`ChecksumValue`] is a finished checksum with its
//! algorithm, and knows its `x-amz-checksum-*` header name.

use base64::Engine as _;
use md5::Digest as _;

use crate::config::ChecksumAlgorithm;

impl ChecksumAlgorithm {
    /// The algorithm's name as S3 spells it (`x-amz-checksum-algorithm`).
    pub fn name(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc64Nvme => "CRC64NVME",
            ChecksumAlgorithm::Crc32c => "CRC32C",
            ChecksumAlgorithm::Md5 => "MD5",
        }
    }

    /// The header carrying a value of this algorithm (`Content-MD5` for MD5).
    pub fn header(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc64Nvme => "x-amz-checksum-crc64nvme",
            ChecksumAlgorithm::Crc32c => "x-amz-checksum-crc32c",
            ChecksumAlgorithm::Md5 => "content-md5",
        }
    }
}

/// A finished checksum: the algorithm and its base64 value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecksumValue {
    /// The algorithm.
    pub algorithm: ChecksumAlgorithm,
    /// The base64 of the big-endian digest, as in the S3 headers.
    pub value: String,
}

/// An incremental checksum of one algorithm.
#[derive(Clone)]
pub enum Hasher {
    /// CRC64/NVME.
    Crc64Nvme(crc64fast_nvme::Digest),
    /// CRC32C.
    Crc32c(u32),
    /// MD5.
    Md5(md5::Md5),
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.algorithm().name())
    }
}

impl Hasher {
    /// A fresh hasher for `algorithm`.
    pub fn new(algorithm: ChecksumAlgorithm) -> Self {
        match algorithm {
            ChecksumAlgorithm::Crc64Nvme => Hasher::Crc64Nvme(crc64fast_nvme::Digest::new()),
            ChecksumAlgorithm::Crc32c => Hasher::Crc32c(0),
            ChecksumAlgorithm::Md5 => Hasher::Md5(md5::Md5::new()),
        }
    }

    /// The hasher's algorithm.
    pub fn algorithm(&self) -> ChecksumAlgorithm {
        match self {
            Hasher::Crc64Nvme(_) => ChecksumAlgorithm::Crc64Nvme,
            Hasher::Crc32c(_) => ChecksumAlgorithm::Crc32c,
            Hasher::Md5(_) => ChecksumAlgorithm::Md5,
        }
    }

    /// Adds `data`.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Crc64Nvme(d) => d.write(data),
            Hasher::Crc32c(c) => *c = crc32c::crc32c_append(*c, data),
            Hasher::Md5(m) => m.update(data),
        }
    }

    /// The checksum of everything added so far.
    pub fn finish(&self) -> ChecksumValue {
        let engine = base64::engine::general_purpose::STANDARD;
        let value = match self {
            Hasher::Crc64Nvme(d) => engine.encode(d.sum64().to_be_bytes()),
            Hasher::Crc32c(c) => engine.encode(c.to_be_bytes()),
            Hasher::Md5(m) => engine.encode(m.clone().finalize()),
        };
        ChecksumValue { algorithm: self.algorithm(), value }
    }
}

/// The checksum of `data` in one call.
pub fn checksum(algorithm: ChecksumAlgorithm, data: &[u8]) -> ChecksumValue {
    let mut hasher = Hasher::new(algorithm);
    hasher.update(data);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // "123456789" is the standard check input of CRC catalogues.
        let data = b"123456789";
        let crc32c = checksum(ChecksumAlgorithm::Crc32c, data);
        assert_eq!(crc32c.value, base64::engine::general_purpose::STANDARD.encode(0xE306_9283u32.to_be_bytes()));
        let crc64 = checksum(ChecksumAlgorithm::Crc64Nvme, data);
        assert_eq!(
            crc64.value,
            base64::engine::general_purpose::STANDARD.encode(0xAE8B_1486_0A79_9888u64.to_be_bytes())
        );
        let md5 = checksum(ChecksumAlgorithm::Md5, b"");
        assert_eq!(md5.value, "1B2M2Y8AsgTpgAmY7PhCfg==");
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for algorithm in [ChecksumAlgorithm::Crc64Nvme, ChecksumAlgorithm::Crc32c, ChecksumAlgorithm::Md5] {
            let mut hasher = Hasher::new(algorithm);
            for chunk in data.chunks(777) {
                hasher.update(chunk);
            }
            assert_eq!(hasher.finish(), checksum(algorithm, &data));
        }
    }
}
