//! The metadata of an object: everything S3 returns about it besides its
//! bytes, recorded once when the object is written and stored as JSON in the
//! object index (see `index`), next to the name of the data file it describes.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::checksum::Checksums;

/// Per-object metadata, stored as JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ObjectMeta {
    /// The ETag without quotes: hex MD5, or `hex-N` for a multipart object.
    pub(crate) etag: String,
    /// Object size in bytes.
    pub(crate) size: u64,
    /// Id of the data file holding the bytes (`root/.s3io/data/<id>`).
    pub(crate) data: String,
    /// Last-Modified, milliseconds since the Unix epoch.
    pub(crate) mtime_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) content_encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) content_disposition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) content_language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cache_control: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) website_redirect_location: Option<String>,
    /// `Expires`, as an HTTP date (RFC 1123), returned on HEAD and GET as S3 does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) expires: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) storage_class: Option<String>,
    /// `x-amz-meta-*` values, names without the prefix.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) user_metadata: BTreeMap<String, String>,
    /// Checksums the client sent or asked for, base64.
    #[serde(default, skip_serializing_if = "Checksums::is_empty")]
    pub(crate) checksums: Checksums,
    /// `FULL_OBJECT` or `COMPOSITE` when checksums are set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) checksum_type: Option<String>,
    /// Object tags (`x-amz-tagging`, PutObjectTagging), in the order given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) tags: Vec<(String, String)>,
    /// Server-side encryption settings the client asked for, returned as S3 does.
    #[serde(default, skip_serializing_if = "Sse::is_empty")]
    pub(crate) sse: Sse,
    /// Part sizes and checksums of a multipart object, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) parts: Vec<PartMeta>,
}

/// Server-side encryption headers of an object (`x-amz-server-side-encryption*`).
/// The store keeps bytes as sent; it records what was asked for and answers
/// with it, as S3 does, so clients that set or check these headers work.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Sse {
    /// `AES256`, `aws:kms`, `aws:kms:dsse`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) algorithm: Option<String>,
    /// The KMS key id, for `aws:kms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) kms_key_id: Option<String>,
    /// `x-amz-server-side-encryption-bucket-key-enabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) bucket_key_enabled: Option<bool>,
    /// SSE-C algorithm (`AES256`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) customer_algorithm: Option<String>,
    /// SSE-C key MD5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) customer_key_md5: Option<String>,
}

impl Sse {
    /// Whether nothing was asked for.
    pub(crate) fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// What is recorded about one uploaded part.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct PartMeta {
    /// Part number, 1..=10000.
    pub(crate) number: i32,
    /// Hex MD5 of the part (its ETag without quotes).
    pub(crate) etag: String,
    /// Part size in bytes.
    pub(crate) size: u64,
    /// Last-Modified of the part, milliseconds since the Unix epoch.
    #[serde(default)]
    pub(crate) mtime_ms: u64,
    /// Checksums the client sent or asked for, base64.
    #[serde(default, skip_serializing_if = "Checksums::is_empty")]
    pub(crate) checksums: Checksums,
    /// Where the part's bytes are in its upload's assembly file, when it was
    /// written in place (see `multipart`); `None` when it is a file of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) offset: Option<u64>,
}

impl ObjectMeta {
    /// Last-Modified as a [`SystemTime`].
    pub(crate) fn modified(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(self.mtime_ms)
    }

    /// Serialises to JSON.
    pub(crate) fn to_json(&self) -> Vec<u8> {
        // A struct of strings and integers always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses JSON; `None` when the file is damaged.
    pub(crate) fn from_json(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}

/// Milliseconds since the Unix epoch of `t` (0 before the epoch).
pub(crate) fn to_ms(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// An `Expires` timestamp as the HTTP date the index keeps.
pub(crate) fn expires_to_text(expires: Option<&s3s::dto::Timestamp>) -> Option<String> {
    let mut text = Vec::new();
    expires?.format(s3s::dto::TimestampFormat::HttpDate, &mut text).ok()?;
    String::from_utf8(text).ok()
}

/// The kept HTTP date as an `Expires` timestamp (`None` if it does not parse).
pub(crate) fn expires_from_text(text: Option<&str>) -> Option<s3s::dto::Timestamp> {
    s3s::dto::Timestamp::parse(s3s::dto::TimestampFormat::HttpDate, text?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip() {
        let meta = ObjectMeta {
            etag: "abc-2".into(),
            size: 10,
            data: "0123".into(),
            tags: vec![("t".into(), "v".into())],
            mtime_ms: 1_700_000_000_123,
            user_metadata: [("k".to_owned(), "v".to_owned())].into(),
            checksums: Checksums { crc64nvme: Some("AAAAAAAAAAA=".into()), ..Default::default() },
            parts: vec![PartMeta { number: 1, etag: "e".into(), size: 10, ..Default::default() }],
            ..Default::default()
        };
        assert_eq!(ObjectMeta::from_json(&meta.to_json()), Some(meta));
        assert_eq!(ObjectMeta::from_json(b"{broken"), None);
    }
}
