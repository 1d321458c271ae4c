//! Typed S3 operations.
//!
//! Each operation is a method on [`Client`](crate::Client) that builds an
//! [`S3Request`](request::S3Request), sends it through the retrying request path and turns the
//! answer into a typed output. Submodules group them: buckets, objects, listings, multipart
//! uploads; `xml` holds the wire formats and `request` the signing and sending.

pub(crate) mod bucket;
pub(crate) mod list;
pub(crate) mod multipart;
pub(crate) mod object;
pub(crate) mod request;
pub(crate) mod tagging;
pub(crate) mod versions;
pub(crate) mod xml;

use std::time::SystemTime;

/// Parses an ISO 8601 timestamp as S3 writes them in XML (`2026-11-23T10:00:00.000Z`).
pub(crate) fn parse_iso8601(text: &str) -> Option<SystemTime> {
    let parsed = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    Some(parsed.into())
}

/// Parses an HTTP date (`Last-Modified`).
pub(crate) fn parse_http_date(text: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(text).ok()
}
