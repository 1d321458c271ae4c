//! Object versions: ListObjectVersions, one page at a time, and DeleteObject of one version.
//! (GetObject and HeadObject of a version are `version_id` options of those operations.)
//!
//! A store without versioning (or a bucket that never had it on) answers as S3 does for an
//! unversioned bucket: every object is one version, id `null`.

use std::time::SystemTime;

use http::Method;
use serde::Deserialize;

use super::parse_iso8601;
use super::request::S3Request;
use crate::client::Client;
use crate::error::{Error, ErrorContext, Operation, Result};

/// Options of [`Client::list_object_versions`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ListObjectVersionsOptions {
    /// Only keys starting with this. By default all keys.
    pub prefix: Option<String>,
    /// Continue after this key and version id (the previous page's
    /// [`next_marker`](ListObjectVersionsPage::next_marker)). By default the first page.
    pub marker: Option<(String, String)>,
    /// Versions per page (the store caps it at 1,000). By default the store's maximum.
    pub max_keys: Option<u32>,
}

/// Builder-style setters, one per field: `ListObjectVersionsOptions::default().with_…(…)`.
impl ListObjectVersionsOptions {
    /// Lists only keys starting with `prefix` ([`prefix`](Self::prefix)).
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Continues after this (key, version id) ([`marker`](Self::marker)).
    #[must_use]
    pub fn with_marker(mut self, marker: (String, String)) -> Self {
        self.marker = Some(marker);
        self
    }

    /// Asks for at most `max_keys` versions per page ([`max_keys`](Self::max_keys)).
    #[must_use]
    pub fn with_max_keys(mut self, max_keys: u32) -> Self {
        self.max_keys = Some(max_keys);
        self
    }
}

/// One version of an object, or a delete marker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectVersion {
    /// The key.
    pub key: String,
    /// The version id (`null` for an object written while the bucket had no versioning).
    pub version_id: String,
    /// Whether this is the key's current version.
    pub is_latest: bool,
    /// A delete marker (no bytes: the key reads as deleted while it is the latest).
    pub delete_marker: bool,
    /// Size in bytes (0 for delete markers).
    pub size: u64,
    /// The ETag, quoted (none for delete markers).
    pub etag: Option<String>,
    /// When this version was written.
    pub last_modified: Option<SystemTime>,
    /// The storage class.
    pub storage_class: Option<String>,
}

/// One page of ListObjectVersions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListObjectVersionsPage {
    /// Versions and delete markers, by key, newest first within a key.
    pub versions: Vec<ObjectVersion>,
    /// Where the next page starts (key marker, version id marker), when truncated.
    pub next_marker: Option<(String, String)>,
}

/// `<ListVersionsResult>`: `Version` and `DeleteMarker` elements come interleaved, so the
/// children are read in order as one list of a choice.
#[derive(Debug, Deserialize, Default)]
struct ListVersionsResult {
    #[serde(rename = "$value", default)]
    children: Vec<Child>,
}

#[derive(Debug, Deserialize)]
enum Child {
    Version(Entry),
    DeleteMarker(Entry),
    IsTruncated(bool),
    NextKeyMarker(String),
    NextVersionIdMarker(String),
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Entry {
    key: String,
    version_id: String,
    is_latest: bool,
    last_modified: Option<String>,
    #[serde(rename = "ETag")]
    etag: Option<String>,
    size: u64,
    storage_class: Option<String>,
}

fn parse(body: &[u8], context: &ErrorContext) -> Result<ListObjectVersionsPage> {
    let parsed: ListVersionsResult = quick_xml::de::from_reader(body)
        .map_err(|e| Error::invalid_response(context.clone(), format!("ListObjectVersions XML: {e}")))?;
    let mut page = ListObjectVersionsPage::default();
    let (mut truncated, mut key_marker, mut version_marker) = (false, None, None);
    for child in parsed.children {
        let (entry, delete_marker) = match child {
            Child::Version(entry) => (entry, false),
            Child::DeleteMarker(entry) => (entry, true),
            Child::IsTruncated(value) => {
                truncated = value;
                continue;
            }
            Child::NextKeyMarker(value) => {
                key_marker = Some(value);
                continue;
            }
            Child::NextVersionIdMarker(value) => {
                version_marker = Some(value);
                continue;
            }
            Child::Other => continue,
        };
        page.versions.push(ObjectVersion {
            key: entry.key,
            version_id: entry.version_id,
            is_latest: entry.is_latest,
            delete_marker,
            size: entry.size,
            etag: entry.etag,
            last_modified: entry.last_modified.as_deref().and_then(parse_iso8601),
            storage_class: entry.storage_class,
        });
    }
    if truncated {
        page.next_marker = Some((key_marker.unwrap_or_default(), version_marker.unwrap_or_default()));
    }
    Ok(page)
}

impl Client {
    /// ListObjectVersions: one page of the versions and delete markers under a prefix.
    pub async fn list_object_versions(
        &self,
        bucket: &str,
        options: &ListObjectVersionsOptions,
    ) -> Result<ListObjectVersionsPage> {
        let context = ErrorContext::new(Operation::ListObjectVersions, bucket, None);
        let mut request = S3Request::new(Method::GET, bucket, None, context.clone()).query("versions", "");
        if let Some(prefix) = &options.prefix {
            request = request.query("prefix", prefix.as_str());
        }
        if let Some((key, version)) = &options.marker {
            request = request.query("key-marker", key.as_str());
            if !version.is_empty() {
                request = request.query("version-id-marker", version.as_str());
            }
        }
        if let Some(max) = options.max_keys {
            request = request.query("max-keys", max.to_string());
        }
        let (_, body) = self.send_for_xml(&request).await?;
        parse(&body, &context)
    }

    /// DeleteObject of one version: removes that version for good (or a delete marker).
    pub async fn delete_object_version(&self, bucket: &str, key: &str, version_id: &str) -> Result<()> {
        let context = ErrorContext::new(Operation::DeleteObject, bucket, Some(key));
        let request = S3Request::new(Method::DELETE, bucket, Some(key), context).query("versionId", version_id);
        self.send_for_xml(&request).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_interleaved_versions_and_delete_markers() {
        // The shape of S3's documented example, a delete marker between two versions.
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01">
  <Name>bucket</Name><Prefix>my</Prefix><KeyMarker/><VersionIdMarker/><MaxKeys>5</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <NextKeyMarker>my-third</NextKeyMarker><NextVersionIdMarker>v9</NextVersionIdMarker>
  <Version><Key>my-image.jpg</Key><VersionId>3/L4kqtJl40</VersionId><IsLatest>true</IsLatest>
    <LastModified>2009-10-12T17:50:30.000Z</LastModified><ETag>&quot;fba9&quot;</ETag><Size>434234</Size>
    <StorageClass>STANDARD</StorageClass><Owner><ID>o</ID></Owner></Version>
  <DeleteMarker><Key>my-second-image.jpg</Key><VersionId>03jpff</VersionId><IsLatest>true</IsLatest>
    <LastModified>2009-11-12T17:50:30.000Z</LastModified><Owner><ID>o</ID></Owner></DeleteMarker>
  <Version><Key>my-second-image.jpg</Key><VersionId>QUpfdndh</VersionId><IsLatest>false</IsLatest>
    <LastModified>2009-10-10T17:50:30.000Z</LastModified><ETag>&quot;9b2c&quot;</ETag><Size>166434</Size>
    <StorageClass>STANDARD</StorageClass></Version>
</ListVersionsResult>"#;
        let context = ErrorContext::new(Operation::ListObjectVersions, "bucket", None);
        let page = parse(xml.as_bytes(), &context).unwrap();
        let summary: Vec<(&str, &str, bool, bool, u64)> = page
            .versions
            .iter()
            .map(|v| (v.key.as_str(), v.version_id.as_str(), v.is_latest, v.delete_marker, v.size))
            .collect();
        assert_eq!(
            summary,
            [
                ("my-image.jpg", "3/L4kqtJl40", true, false, 434_234),
                ("my-second-image.jpg", "03jpff", true, true, 0),
                ("my-second-image.jpg", "QUpfdndh", false, false, 166_434),
            ]
        );
        assert_eq!(page.next_marker, Some(("my-third".into(), "v9".into())));
        assert!(page.versions[0].last_modified.is_some());
    }
}
