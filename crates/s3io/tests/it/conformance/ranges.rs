//! Ranged GETs (RFC 9110 byte ranges as S3 serves them): inclusive, open-ended, an end past the
//! object clipped to it, suffix ranges, and a start past the end refused with 416 InvalidRange.

use http::Method;
use s3io::types::{ByteRange, GetObjectOptions};

use super::server::Target;

pub(super) async fn range_past_the_end_is_invalid_range(t: &Target) {
    t.put("short", b"0123456789").await;
    let options = GetObjectOptions::default().with_range(ByteRange::inclusive(100, 200));
    let err = t.client.get_object(&t.bucket, "short", &options).await.unwrap_err();
    assert_eq!(err.status(), Some(416), "{err}");
    assert_eq!(err.code(), Some("InvalidRange"), "{err}");
    // A start exactly at the size is past the end too.
    let response = t.raw(Method::GET, "short").header("range", "bytes=10-").send().await;
    assert_eq!(response.status, 416, "{response:?}");
    assert_eq!(response.code().as_deref(), Some("InvalidRange"), "{response:?}");
}

pub(super) async fn ranges_inclusive_open_clipped_and_suffix(t: &Target) {
    t.put("digits", b"0123456789").await;
    // (Range header, body, Content-Range)
    let cases = [
        ("bytes=0-0", &b"0"[..], "bytes 0-0/10"),
        ("bytes=9-9", b"9", "bytes 9-9/10"),
        ("bytes=3-6", b"3456", "bytes 3-6/10"),
        ("bytes=7-", b"789", "bytes 7-9/10"),
        ("bytes=5-1000", b"56789", "bytes 5-9/10"),
        ("bytes=-3", b"789", "bytes 7-9/10"),
        ("bytes=-10", b"0123456789", "bytes 0-9/10"),
        // A suffix longer than the object is the whole object (RFC 9110 14.1.2).
        ("bytes=-50", b"0123456789", "bytes 0-9/10"),
    ];
    for (range, body, content_range) in cases {
        let response = t.raw(Method::GET, "digits").header("range", range).send().await;
        assert_eq!(response.status, 206, "{range}: {response:?}");
        assert_eq!(&response.body[..], body, "{range}");
        assert_eq!(response.header("content-range"), Some(content_range), "{range}");
        assert_eq!(response.header("content-length"), Some(body.len().to_string().as_str()), "{range}");
    }
    // The library's ranges: the Content-Range it parses and the bytes.
    let options = GetObjectOptions::default().with_range(ByteRange::inclusive(2, 4));
    let part = t.client.get_object(&t.bucket, "digits", &options).await.unwrap();
    assert_eq!(part.content_range.map(|r| (r.start, r.end, r.total)), Some((2, 4, 10)));
    assert_eq!(part.object_size(), 10);
    assert_eq!(&part.collect().await.unwrap()[..], b"234");
    // Without a Range header: 200, the whole object, and Accept-Ranges says ranges may be asked.
    let whole = t.raw(Method::GET, "digits").send().await;
    assert_eq!(whole.status, 200);
    assert_eq!(&whole.body[..], b"0123456789");
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
}
