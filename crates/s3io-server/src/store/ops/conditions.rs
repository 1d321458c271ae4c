//! S3's preconditions and spans: `If-Match` and friends on reads, writes and
//! copy sources, and which bytes a GET/HEAD sends (`Range`, `partNumber`).

use s3s::dto::{ETagCondition, Range, Timestamp};
use s3s::{s3_error, S3Error, S3ErrorCode, S3Result};

use crate::store::key::ObjectKey;
use crate::store::meta::ObjectMeta;
use crate::store::no_such_key;
use crate::store::range::{resolve, ByteSpan};

/// GET/HEAD preconditions, in RFC 9110's order: If-Match, If-Unmodified-Since
/// (when there is no If-Match), If-None-Match, If-Modified-Since (when there
/// is no If-None-Match).
pub(crate) fn check_read_conditions(
    meta: &ObjectMeta,
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
    if_modified_since: Option<&Timestamp>,
    if_unmodified_since: Option<&Timestamp>,
) -> S3Result<()> {
    let modified_s = meta.mtime_ms / 1000;
    let since = |t: &Timestamp| -> u64 {
        let t: time::OffsetDateTime = t.clone().into();
        u64::try_from(t.unix_timestamp()).unwrap_or(0)
    };
    match if_match {
        Some(cond) if !etag_matches(cond, &meta.etag) => {
            return Err(s3_error!(PreconditionFailed, "At least one of the pre-conditions you specified did not hold"));
        }
        Some(_) => {}
        None => {
            if if_unmodified_since.is_some_and(|t| modified_s > since(t)) {
                return Err(s3_error!(
                    PreconditionFailed,
                    "At least one of the pre-conditions you specified did not hold"
                ));
            }
        }
    }
    let not_modified = match if_none_match {
        Some(cond) => etag_matches(cond, &meta.etag),
        None => if_modified_since.is_some_and(|t| modified_s <= since(t)),
    };
    if not_modified {
        let mut err = s3_error!(NotModified, "Not Modified");
        let mut headers = http::HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_str(&format!("\"{}\"", meta.etag)) {
            headers.insert(http::header::ETAG, v);
        }
        err.set_headers(headers);
        return Err(err);
    }
    Ok(())
}

pub(crate) fn etag_matches(cond: &ETagCondition, etag: &str) -> bool {
    match cond {
        ETagCondition::Any => true,
        ETagCondition::ETag(e) => e.value().trim_matches('"') == etag,
    }
}

/// PUT/Complete preconditions against the current version of `key` (`None`:
/// absent). Called inside the index transaction that replaces it, so the check
/// and the write are one step.
pub(crate) fn check_write_conditions(
    current: Option<&ObjectMeta>,
    key: ObjectKey<'_>,
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
) -> S3Result<()> {
    if let (Some(cond), Some(m)) = (if_none_match, current) {
        if etag_matches(cond, &m.etag) {
            return Err(precondition_failed());
        }
    }
    if let Some(cond) = if_match {
        match current {
            None => return Err(no_such_key(key)),
            Some(m) if !etag_matches(cond, &m.etag) => return Err(precondition_failed()),
            Some(_) => {}
        }
    }
    Ok(())
}

fn precondition_failed() -> S3Error {
    s3_error!(PreconditionFailed, "At least one of the pre-conditions you specified did not hold")
}

/// CopyObject/UploadPartCopy preconditions on the source (`x-amz-copy-source-if-match`,
/// `x-amz-copy-source-if-none-match`).
pub(crate) fn check_copy_conditions(
    src: &ObjectMeta,
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
) -> S3Result<()> {
    let failed = || s3_error!(PreconditionFailed, "At least one of the pre-conditions you specified did not hold");
    if if_match.is_some_and(|c| !etag_matches(c, &src.etag)) {
        return Err(failed());
    }
    if if_none_match.is_some_and(|c| etag_matches(c, &src.etag)) {
        return Err(failed());
    }
    Ok(())
}

/// The span a GET/HEAD sends: a `Range`, a `partNumber`, or (`None`) the whole object.
pub(crate) fn select_span(
    meta: &ObjectMeta,
    range: Option<Range>,
    part_number: Option<i32>,
) -> S3Result<Option<ByteSpan>> {
    match (range, part_number) {
        (Some(_), Some(_)) => {
            Err(s3_error!(InvalidRequest, "Cannot specify both Range header and partNumber query parameter"))
        }
        (Some(r), None) => resolve(r, meta.size).map(Some),
        (None, None) => Ok(None),
        (None, Some(n)) => {
            if meta.parts.is_empty() {
                return if n == 1 { Ok(None) } else { Err(invalid_part_number()) };
            }
            let mut start = 0;
            for p in &meta.parts {
                if p.number == n {
                    return Ok(Some(ByteSpan { start, len: p.size }));
                }
                start += p.size;
            }
            Err(invalid_part_number())
        }
    }
}

/// S3's `InvalidPartNumber` (416), which s3s has no code for.
fn invalid_part_number() -> S3Error {
    let mut e = S3Error::with_message(
        S3ErrorCode::Custom("InvalidPartNumber".into()),
        "The requested partnumber is not satisfiable",
    );
    e.set_status_code(http::StatusCode::RANGE_NOT_SATISFIABLE);
    e
}

pub(crate) fn parts_count(meta: &ObjectMeta, part_number: Option<i32>) -> Option<i32> {
    (part_number.is_some() && !meta.parts.is_empty()).then(|| i32::try_from(meta.parts.len()).unwrap_or(i32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::meta::PartMeta;
    use s3s::dto::ETag;

    fn meta(etag: &str, mtime_ms: u64) -> ObjectMeta {
        ObjectMeta { etag: etag.into(), mtime_ms, size: 10, ..Default::default() }
    }

    fn ts(secs: i64) -> Timestamp {
        Timestamp::from(time::OffsetDateTime::from_unix_timestamp(secs).unwrap())
    }

    #[test]
    fn read_conditions() {
        let m = meta("abc", 100_000);
        let etag = |s: &str| ETagCondition::ETag(ETag::Strong(s.into()));
        assert!(check_read_conditions(&m, Some(&etag("abc")), None, None, None).is_ok());
        assert!(check_read_conditions(&m, Some(&ETagCondition::Any), None, None, None).is_ok());
        let code = |r: S3Result<()>| r.unwrap_err().code().clone();
        assert_eq!(
            code(check_read_conditions(&m, Some(&etag("x")), None, None, None)),
            s3s::S3ErrorCode::PreconditionFailed
        );
        assert_eq!(
            code(check_read_conditions(&m, None, Some(&etag("abc")), None, None)),
            s3s::S3ErrorCode::NotModified
        );
        assert!(check_read_conditions(&m, None, Some(&etag("x")), None, None).is_ok());
        assert_eq!(code(check_read_conditions(&m, None, None, Some(&ts(100)), None)), s3s::S3ErrorCode::NotModified);
        assert!(check_read_conditions(&m, None, None, Some(&ts(99)), None).is_ok());
        assert_eq!(
            code(check_read_conditions(&m, None, None, None, Some(&ts(99)))),
            s3s::S3ErrorCode::PreconditionFailed
        );
        // If-Match wins over If-Unmodified-Since.
        assert!(check_read_conditions(&m, Some(&etag("abc")), None, None, Some(&ts(99))).is_ok());
    }

    #[test]
    fn part_number_spans() {
        let mut m = meta("e-2", 0);
        m.size = 15;
        m.parts = vec![
            PartMeta { number: 1, size: 10, ..Default::default() },
            PartMeta { number: 2, size: 5, ..Default::default() },
        ];
        assert_eq!(select_span(&m, None, Some(2)).unwrap(), Some(ByteSpan { start: 10, len: 5 }));
        assert!(select_span(&m, None, Some(3)).is_err());
        assert_eq!(select_span(&meta("e", 0), None, Some(1)).unwrap(), None);
    }
}
