//! The metadata sidecar of an object: everything S3 returns about it besides
//! its bytes, recorded once when the object is written.
//!
//! The sidecar of `bucket/c1/…/cn` is the JSON file
//! `root/.s3io/meta/bucket/c1.d/…/cn.m`: directories get a `.d` suffix and files
//! an `.m` suffix, so the sidecar of key `a` (`a.m`) can never collide with the
//! directory of key `a.m/x` (`a.m.d/`).
//!
//! A sidecar and its object are two files renamed into place one after the
//! other, so a reader could pair an object with the sidecar of the previous
//! version. [`ObjectMeta::ino`] closes that window: it is the inode number of
//! the data file it describes (a rename keeps the inode), and the store only
//! trusts a sidecar whose `ino` matches the file it opened, re-reading both
//! otherwise (see `FsStore::open_object`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::checksum::Checksums;
use super::key::ObjectKey;

/// Suffix of sidecar files.
const FILE_SUFFIX: &str = ".m";
/// Suffix of sidecar directories.
const DIR_SUFFIX: &str = ".d";

/// Per-object metadata, stored as JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ObjectMeta {
    /// The ETag without quotes: hex MD5, or `hex-N` for a multipart object.
    pub(crate) etag: String,
    /// Object size in bytes.
    pub(crate) size: u64,
    /// Inode number of the data file this sidecar describes.
    pub(crate) ino: u64,
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
    /// Part sizes and checksums of a multipart object, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) parts: Vec<PartMeta>,
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

/// The sidecar path of `key` below a bucket's metadata directory.
pub(crate) fn sidecar_path(bucket_meta_dir: &Path, key: ObjectKey<'_>) -> PathBuf {
    let mut path = bucket_meta_dir.to_path_buf();
    let mut components = key.as_str().split('/').peekable();
    while let Some(c) = components.next() {
        let suffix = if components.peek().is_some() { DIR_SUFFIX } else { FILE_SUFFIX };
        path.push(format!("{c}{suffix}"));
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecar_paths_never_collide_with_directories() {
        let dir = Path::new("/m/b");
        let a = sidecar_path(dir, ObjectKey::parse("a").unwrap());
        let am_x = sidecar_path(dir, ObjectKey::parse("a.m/x").unwrap());
        assert_eq!(a, PathBuf::from("/m/b/a.m"));
        assert_eq!(am_x, PathBuf::from("/m/b/a.m.d/x.m"));
        assert!(!am_x.starts_with(&a));
    }

    #[test]
    fn json_round_trip() {
        let meta = ObjectMeta {
            etag: "abc-2".into(),
            size: 10,
            ino: 42,
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
