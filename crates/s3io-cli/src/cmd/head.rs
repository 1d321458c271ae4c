//! `s3io head s3://bucket/key` (also `stat`): what HeadObject says about one object, as
//! `Name: value` lines or one JSON object: size, ETag, last modification time, the content
//! headers, storage class (`STANDARD` when the store names none, as S3 omits it then), the
//! full-object (and composite) checksums the store keeps, server-side encryption (SSE-C: the
//! algorithm and the key's MD5), version id, tag count and user metadata. Nothing is downloaded.
//! `--sse-c-key` reads an SSE-C object, `--version-id` one version.

use s3io::types::ObjectInfo;
use s3io::Client;
use serde::Serialize;

use crate::args::HeadArgs;
use crate::escape;
use crate::exit::UsageError;
use crate::location::S3Url;
use crate::printer::Printer;

/// Runs `s3io head`.
pub(crate) async fn run(client: &Client, args: HeadArgs, out: &mut Printer) -> anyhow::Result<()> {
    let url = S3Url::parse(&args.object)?;
    if url.key.is_empty() {
        return Err(UsageError::new(format!("head needs an object, s3://bucket/key, not {url}")).into());
    }
    let object = crate::object::ObjectSettings::for_reading(&args.sse_c, args.version_id.as_deref())?;
    let info = client.head_object_with(&url.bucket, &url.key, &object.head_options()).await?;
    let description = Description::new(&url, &info);
    if args.json {
        return out.data(&serde_json::to_string(&description)?).await;
    }
    for (name, value) in description.lines() {
        out.data(&format!("{name:<20}: {}", escape::text(&value))).await?;
    }
    Ok(())
}

/// One object's description, as printed.
#[derive(Debug, Serialize, PartialEq)]
struct Description {
    url: String,
    size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_modified: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_encoding: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_disposition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_control: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires: Option<String>,
    storage_class: String,
    /// Algorithm name to base64 value.
    checksums: std::collections::BTreeMap<String, String>,
    /// Composite checksums of a multipart object (a checksum of its parts' checksums, "…-N").
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    composite_checksums: std::collections::BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_side_encryption: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sse_kms_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sse_customer_algorithm: Option<String>,
    /// The base64 MD5 of the object's SSE-C key (never the key).
    #[serde(skip_serializing_if = "Option::is_none")]
    sse_customer_key_md5: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag_count: Option<u32>,
    metadata: std::collections::BTreeMap<String, String>,
}

impl Description {
    fn new(url: &S3Url, info: &ObjectInfo) -> Self {
        Self {
            url: url.to_string(),
            size: info.content_length,
            etag: info.etag.as_deref().map(|e| e.trim_matches('"').to_owned()),
            last_modified: info.last_modified.map(rfc3339),
            content_type: info.content_type.clone(),
            content_encoding: info.content_encoding.clone(),
            content_disposition: info.content_disposition.clone(),
            content_language: info.content_language.clone(),
            cache_control: info.cache_control.clone(),
            expires: info.expires.clone(),
            storage_class: info.storage_class.clone().unwrap_or_else(|| "STANDARD".to_owned()),
            checksums: info.checksums.iter().map(|c| (c.algorithm.name().to_owned(), c.value.clone())).collect(),
            composite_checksums: info
                .composite_checksums
                .iter()
                .map(|c| (c.algorithm.name().to_owned(), c.value.clone()))
                .collect(),
            server_side_encryption: info.server_side_encryption.clone(),
            sse_kms_key_id: info.sse_kms_key_id.clone(),
            sse_customer_algorithm: info.sse_customer_algorithm.clone(),
            sse_customer_key_md5: info.sse_customer_key_md5.clone(),
            version_id: info.version_id.clone(),
            tag_count: info.tag_count,
            metadata: info.metadata.iter().cloned().collect(),
        }
    }

    /// The text form: one `(name, value)` per line, absent fields left out.
    fn lines(&self) -> Vec<(String, String)> {
        let mut lines = vec![("Name".to_owned(), self.url.clone()), ("Size".to_owned(), self.size.to_string())];
        let mut optional = |name: &str, value: &Option<String>| {
            if let Some(value) = value {
                lines.push((name.to_owned(), value.clone()));
            }
        };
        optional("ETag", &self.etag);
        optional("Last-Modified", &self.last_modified);
        optional("Content-Type", &self.content_type);
        optional("Content-Encoding", &self.content_encoding);
        optional("Content-Disposition", &self.content_disposition);
        optional("Content-Language", &self.content_language);
        optional("Cache-Control", &self.cache_control);
        optional("Expires", &self.expires);
        lines.push(("Storage class".to_owned(), self.storage_class.clone()));
        for (algorithm, value) in &self.checksums {
            lines.push((format!("Checksum {algorithm}"), value.clone()));
        }
        for (algorithm, value) in &self.composite_checksums {
            lines.push((format!("Checksum {algorithm} (composite)"), value.clone()));
        }
        let mut optional = |name: &str, value: &Option<String>| {
            if let Some(value) = value {
                lines.push((name.to_owned(), value.clone()));
            }
        };
        optional("Encryption", &self.server_side_encryption);
        optional("KMS key", &self.sse_kms_key_id);
        optional("SSE-C algorithm", &self.sse_customer_algorithm);
        optional("SSE-C key MD5", &self.sse_customer_key_md5);
        optional("Version id", &self.version_id);
        if let Some(count) = self.tag_count {
            lines.push(("Tags".to_owned(), count.to_string()));
        }
        for (name, value) in &self.metadata {
            lines.push((format!("Metadata {name}"), value.clone()));
        }
        lines
    }
}

/// `2026-11-23T10:00:00Z`.
pub(crate) fn rfc3339(time: std::time::SystemTime) -> String {
    let format = &time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::from(time).format(format).unwrap_or_else(|_| "-".to_owned())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    #[test]
    fn text_lines_name_every_field_present() {
        // `ObjectInfo` is non-exhaustive: built from its default, field by field.
        let mut info = ObjectInfo::default();
        info.content_length = 5;
        info.etag = Some("\"abc\"".into());
        info.last_modified = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_428_000));
        info.content_type = Some("text/plain".into());
        info.metadata = vec![("owner".into(), "me".into())];
        let url = S3Url { bucket: "b".into(), key: "k".into() };
        let lines = Description::new(&url, &info).lines();
        let text: Vec<String> = lines.iter().map(|(n, v)| format!("{n}={v}")).collect();
        assert_eq!(
            text,
            [
                "Name=s3://b/k",
                "Size=5",
                "ETag=abc",
                "Last-Modified=2026-11-23T10:00:00Z",
                "Content-Type=text/plain",
                "Storage class=STANDARD",
                "Metadata owner=me"
            ]
        );
    }
}
