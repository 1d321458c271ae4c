//! The XML of S3 requests and responses, with quick-xml.
//!
//! Responses are deserialised with quick-xml's serde support into private wire structs, then
//! turned into the public output types. Request documents (CompleteMultipartUpload, Delete) are
//! small and written directly with escaping.

use std::fmt::Write as _;

use serde::Deserialize;

use crate::checksum::ChecksumValue;
use crate::config::ChecksumAlgorithm;
use crate::error::ServiceError;

/// `<Error>`: an S3 error document.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct ErrorDoc {
    pub(crate) code: String,
    pub(crate) message: Option<String>,
    pub(crate) request_id: Option<String>,
    /// The bucket's region, in an `AuthorizationHeaderMalformed` answer.
    pub(crate) region: Option<String>,
}

/// Whether `body`'s root element is `<Error>`.
pub(crate) fn is_error_document(body: &[u8]) -> bool {
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Start(e)) => return e.local_name().as_ref() == b"Error",
            Ok(quick_xml::events::Event::Empty(e)) => return e.local_name().as_ref() == b"Error",
            Ok(quick_xml::events::Event::Eof) | Err(_) => return false,
            Ok(_) => buf.clear(),
        }
    }
}

/// Parses an error document; `None` when `body` is not one.
pub(crate) fn parse_error(status: u16, body: &[u8]) -> Option<ServiceError> {
    parse_error_with_region(status, body).map(|(error, _)| error)
}

/// Parses an error document, with the `<Region>` it names (a wrong-region answer); `None`
/// when `body` is not one.
pub(crate) fn parse_error_with_region(status: u16, body: &[u8]) -> Option<(ServiceError, Option<String>)> {
    if !is_error_document(body) {
        return None;
    }
    let doc: ErrorDoc = quick_xml::de::from_reader(body).ok()?;
    let error = ServiceError {
        status,
        code: if doc.code.is_empty() { fallback_code(status).to_owned() } else { doc.code },
        message: doc.message,
        request_id: doc.request_id,
    };
    Some((error, doc.region))
}

/// The error code for a status without an error body (HEAD responses).
pub(crate) fn fallback_code(status: u16) -> &'static str {
    match status {
        301 => "PermanentRedirect",
        304 => "NotModified",
        400 => "BadRequest",
        403 => "AccessDenied",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        407 => "ProxyAuthenticationRequired",
        409 => "Conflict",
        412 => "PreconditionFailed",
        416 => "InvalidRange",
        429 => "TooManyRequests",
        500 => "InternalError",
        501 => "NotImplemented",
        502 => "BadGateway",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        _ => "UnknownError",
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct ListAllMyBucketsResult {
    pub(crate) buckets: BucketList,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct BucketList {
    pub(crate) bucket: Vec<BucketEntry>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct BucketEntry {
    pub(crate) name: String,
    pub(crate) creation_date: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct ListBucketResult {
    pub(crate) contents: Vec<ContentsEntry>,
    pub(crate) common_prefixes: Vec<PrefixEntry>,
    pub(crate) is_truncated: bool,
    pub(crate) next_continuation_token: Option<String>,
    pub(crate) encoding_type: Option<String>,
    pub(crate) key_count: Option<u64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct ContentsEntry {
    pub(crate) key: String,
    pub(crate) last_modified: Option<String>,
    #[serde(rename = "ETag")]
    pub(crate) etag: Option<String>,
    pub(crate) size: u64,
    pub(crate) storage_class: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct PrefixEntry {
    pub(crate) prefix: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct InitiateMultipartUploadResult {
    pub(crate) upload_id: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct CompleteMultipartUploadResult {
    #[serde(rename = "ETag")]
    pub(crate) etag: Option<String>,
    #[serde(rename = "ChecksumCRC64NVME")]
    pub(crate) checksum_crc64nvme: Option<String>,
    #[serde(rename = "ChecksumCRC32C")]
    pub(crate) checksum_crc32c: Option<String>,
    #[serde(rename = "ChecksumCRC32")]
    pub(crate) checksum_crc32: Option<String>,
    #[serde(rename = "ChecksumSHA256")]
    pub(crate) checksum_sha256: Option<String>,
    #[serde(rename = "ChecksumSHA1")]
    pub(crate) checksum_sha1: Option<String>,
}

/// `<CopyObjectResult>` of CopyObject and `<CopyPartResult>` of UploadPartCopy: the same fields
/// (the root element's name is not checked).
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct CopyObjectResult {
    #[serde(rename = "ETag")]
    pub(crate) etag: Option<String>,
    pub(crate) last_modified: Option<String>,
    #[serde(rename = "ChecksumCRC64NVME")]
    pub(crate) checksum_crc64nvme: Option<String>,
    #[serde(rename = "ChecksumCRC32C")]
    pub(crate) checksum_crc32c: Option<String>,
    #[serde(rename = "ChecksumCRC32")]
    pub(crate) checksum_crc32: Option<String>,
    #[serde(rename = "ChecksumSHA256")]
    pub(crate) checksum_sha256: Option<String>,
    #[serde(rename = "ChecksumSHA1")]
    pub(crate) checksum_sha1: Option<String>,
}

/// The checksum values of an XML answer (a part, a copy, a completed upload), in the order of
/// [`ChecksumAlgorithm::STORED`], as checksum values; empty elements are skipped.
pub(crate) fn checksum_values(values: [Option<String>; 5]) -> Vec<ChecksumValue> {
    ChecksumAlgorithm::STORED
        .into_iter()
        .zip(values)
        .filter_map(|(algorithm, value)| Some(ChecksumValue::new(algorithm, value.filter(|v| !v.is_empty())?)))
        .collect()
}

macro_rules! stored_checksums {
    ($($ty:ident),*) => {$(
        impl $ty {
            /// Its checksum values (see [`checksum_values`]).
            pub(crate) fn checksums(&mut self) -> Vec<ChecksumValue> {
                checksum_values([
                    self.checksum_crc64nvme.take(),
                    self.checksum_crc32c.take(),
                    self.checksum_crc32.take(),
                    self.checksum_sha256.take(),
                    self.checksum_sha1.take(),
                ])
            }
        }
    )*};
}
stored_checksums!(CompleteMultipartUploadResult, CopyObjectResult, PartEntry);

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct ListMultipartUploadsResult {
    pub(crate) upload: Vec<UploadEntry>,
    pub(crate) is_truncated: bool,
    pub(crate) next_key_marker: Option<String>,
    pub(crate) next_upload_id_marker: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct UploadEntry {
    pub(crate) key: String,
    pub(crate) upload_id: String,
    pub(crate) initiated: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct ListPartsResult {
    pub(crate) part: Vec<PartEntry>,
    pub(crate) is_truncated: bool,
    pub(crate) next_part_number_marker: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct PartEntry {
    pub(crate) part_number: u32,
    pub(crate) size: u64,
    #[serde(rename = "ETag")]
    pub(crate) etag: String,
    #[serde(rename = "ChecksumCRC64NVME")]
    pub(crate) checksum_crc64nvme: Option<String>,
    #[serde(rename = "ChecksumCRC32C")]
    pub(crate) checksum_crc32c: Option<String>,
    #[serde(rename = "ChecksumCRC32")]
    pub(crate) checksum_crc32: Option<String>,
    #[serde(rename = "ChecksumSHA256")]
    pub(crate) checksum_sha256: Option<String>,
    #[serde(rename = "ChecksumSHA1")]
    pub(crate) checksum_sha1: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct DeleteResult {
    pub(crate) deleted: Vec<DeletedEntry>,
    pub(crate) error: Vec<DeleteErrorEntry>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct DeletedEntry {
    pub(crate) key: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct DeleteErrorEntry {
    pub(crate) key: String,
    pub(crate) code: String,
    pub(crate) message: Option<String>,
}

fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(s)
}

/// One part of a CompleteMultipartUpload request document.
pub(crate) struct CompletePart<'a> {
    pub(crate) part_number: u32,
    pub(crate) etag: &'a str,
    pub(crate) checksum: Option<(&'static str, &'a str)>,
}

/// The CompleteMultipartUpload request document.
pub(crate) fn complete_multipart_upload<'a>(parts: impl Iterator<Item = CompletePart<'a>>) -> String {
    let mut xml = String::from("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for part in parts {
        let _ = write!(xml, "<Part><PartNumber>{}</PartNumber><ETag>{}</ETag>", part.part_number, escape(part.etag));
        if let Some((element, value)) = part.checksum {
            let _ = write!(xml, "<{element}>{}</{element}>", escape(value));
        }
        xml.push_str("</Part>");
    }
    xml.push_str("</CompleteMultipartUpload>");
    xml
}

/// The DeleteObjects request document.
pub(crate) fn delete_objects<'a>(keys: impl Iterator<Item = &'a str>, quiet: bool) -> String {
    let mut xml = String::from("<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    if quiet {
        xml.push_str("<Quiet>true</Quiet>");
    }
    for key in keys {
        let _ = write!(xml, "<Object><Key>{}</Key></Object>", escape(key));
    }
    xml.push_str("</Delete>");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_error_document() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchKey</Code><Message>The resource you requested does not exist</Message><Resource>/mybucket/myfoto.jpg</Resource><RequestId>4442587FB7D0A2F9</RequestId></Error>"#;
        let err = parse_error(404, body).unwrap();
        assert_eq!(err.code, "NoSuchKey");
        assert_eq!(err.message.as_deref(), Some("The resource you requested does not exist"));
        assert_eq!(err.request_id.as_deref(), Some("4442587FB7D0A2F9"));
    }

    #[test]
    fn error_inside_200_is_detected_and_success_is_not() {
        let err = br#"<?xml version="1.0" encoding="UTF-8"?>

<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>"#;
        assert!(is_error_document(err));
        let ok = br#"<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult><ETag>"3858f62230ac3c915f300c664312c11f-9"</ETag></CompleteMultipartUploadResult>"#;
        assert!(!is_error_document(ok));
        let parsed: CompleteMultipartUploadResult = quick_xml::de::from_reader(&ok[..]).unwrap();
        assert_eq!(parsed.etag.as_deref(), Some("\"3858f62230ac3c915f300c664312c11f-9\""));
        assert_eq!(parse_error(200, err).unwrap().code, "InternalError");
    }

    /// A ListObjectsV2 page as AWS documents it, truncated, with a continuation token.
    #[test]
    fn parses_list_objects_v2_page() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name>
  <Prefix/>
  <KeyCount>2</KeyCount>
  <MaxKeys>2</MaxKeys>
  <Delimiter>/</Delimiter>
  <IsTruncated>true</IsTruncated>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <Contents>
    <Key>happyface.jpg</Key>
    <LastModified>2014-11-21T19:40:05.000Z</LastModified>
    <ETag>&quot;70ee1738b6b21e2c8a43f3a5ab0eee71&quot;</ETag>
    <Size>11</Size>
    <StorageClass>STANDARD</StorageClass>
  </Contents>
  <CommonPrefixes><Prefix>photos/</Prefix></CommonPrefixes>
  <CommonPrefixes><Prefix>videos/</Prefix></CommonPrefixes>
</ListBucketResult>"#;
        let page: ListBucketResult = quick_xml::de::from_reader(&body[..]).unwrap();
        assert!(page.is_truncated);
        assert_eq!(page.next_continuation_token.as_deref(), Some("1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="));
        assert_eq!(page.contents.len(), 1);
        assert_eq!(page.contents[0].key, "happyface.jpg");
        assert_eq!(page.contents[0].size, 11);
        assert_eq!(page.contents[0].etag.as_deref(), Some("\"70ee1738b6b21e2c8a43f3a5ab0eee71\""));
        let prefixes: Vec<_> = page.common_prefixes.iter().map(|p| p.prefix.as_str()).collect();
        assert_eq!(prefixes, ["photos/", "videos/"]);
    }

    #[test]
    fn parses_empty_listing_and_delete_result() {
        let page: ListBucketResult = quick_xml::de::from_reader(
            &br#"<ListBucketResult><Name>b</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>"#[..],
        )
        .unwrap();
        assert!(page.contents.is_empty() && !page.is_truncated);
        let result: DeleteResult = quick_xml::de::from_reader(
            &br#"<DeleteResult><Deleted><Key>a</Key></Deleted><Error><Key>b</Key><Code>AccessDenied</Code><Message>no</Message></Error></DeleteResult>"#[..],
        )
        .unwrap();
        assert_eq!(result.deleted[0].key, "a");
        assert_eq!(result.error[0].code, "AccessDenied");
    }

    #[test]
    fn writes_escaped_request_documents() {
        let xml = delete_objects(["a&b", "<c>"].into_iter(), true);
        assert!(xml.contains("<Key>a&amp;b</Key>") && xml.contains("<Key>&lt;c&gt;</Key>"));
        let xml = complete_multipart_upload(
            [CompletePart { part_number: 1, etag: "\"e\"", checksum: Some(("ChecksumCRC64NVME", "AAA=")) }].into_iter(),
        );
        assert!(xml.contains(
            "<PartNumber>1</PartNumber><ETag>&quot;e&quot;</ETag><ChecksumCRC64NVME>AAA=</ChecksumCRC64NVME>"
        ));
    }
}
