//! Requests refused before the S3 service reads them, as S3 refuses them:
//!
//! - a presigned URL valid for more than seven days (`X-Amz-Expires` >
//!   604,800): 400 `AuthorizationQueryParametersError`;
//! - a DeleteObjects or CompleteMultipartUpload body announced larger than
//!   [`MAX_XML_BODY`]: 400 `MalformedXML` / `EntityTooLarge`, answered without
//!   reading the body (hyper then closes the connection). A body sent without
//!   a length stops at the same limit inside s3s (`MaxMessageLengthExceeded`).
//!
//! Such a request never reaches the store nor the fault injection.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;

/// S3's longest presigned URL validity, in seconds (seven days).
pub(crate) const MAX_PRESIGNED_EXPIRES: u64 = 7 * 24 * 3600;

/// The largest XML request body accepted: 1,000 DeleteObjects keys of 1,024
/// bytes or 10,000 CompleteMultipartUpload parts with checksums fit with room
/// to spare, and four at once cannot make the server's memory balloon.
pub(crate) const MAX_XML_BODY: usize = 8 * 1024 * 1024;

/// The answer to a request S3 refuses before reading it, if `req` is one.
pub(crate) fn refuse<B>(req: &Request<B>) -> Option<Response<Full<Bytes>>> {
    let query = req.uri().query().unwrap_or("");
    let mut presigned_expires = None;
    let (mut delete, mut upload_id) = (false, false);
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match &*name {
            "X-Amz-Expires" => presigned_expires = Some(value.into_owned()),
            "delete" => delete = true,
            "uploadId" => upload_id = true,
            _ => {}
        }
    }
    if let Some(expires) = presigned_expires {
        if expires.parse::<u64>().map_or(true, |e| e > MAX_PRESIGNED_EXPIRES) {
            return Some(error(
                StatusCode::BAD_REQUEST,
                "AuthorizationQueryParametersError",
                &format!("X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGNED_EXPIRES}"),
            ));
        }
    }
    if req.method() == Method::POST && (delete || upload_id) {
        let length = req
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if length.is_some_and(|l| l > MAX_XML_BODY as u64) {
            return Some(if delete {
                error(
                    StatusCode::BAD_REQUEST,
                    "MalformedXML",
                    "The XML you provided was not well-formed or did not validate against our published schema \
                     (the body is larger than any valid DeleteObjects request)",
                )
            } else {
                error(
                    StatusCode::BAD_REQUEST,
                    "EntityTooLarge",
                    "Your proposed upload exceeds the maximum allowed size (CompleteMultipartUpload body)",
                )
            });
        }
    }
    None
}

/// An S3 error response.
fn error(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/xml"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: Method, uri: &str, len: Option<u64>) -> Request<()> {
        let mut b = Request::builder().method(method).uri(uri);
        if let Some(l) = len {
            b = b.header("content-length", l);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn refuses_long_presigned_urls() {
        let r = refuse(&req(Method::GET, "/b/k?X-Amz-Expires=864000&X-Amz-Signature=x", None)).unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(refuse(&req(Method::GET, "/b/k?X-Amz-Expires=604800", None)).is_none());
    }

    #[test]
    fn refuses_oversized_xml_bodies_by_their_length() {
        let big = Some(MAX_XML_BODY as u64 + 1);
        assert_eq!(refuse(&req(Method::POST, "/b?delete", big)).unwrap().status(), StatusCode::BAD_REQUEST);
        assert_eq!(refuse(&req(Method::POST, "/b/k?uploadId=x", big)).unwrap().status(), StatusCode::BAD_REQUEST);
        assert!(refuse(&req(Method::POST, "/b?delete", Some(1000))).is_none());
        assert!(refuse(&req(Method::PUT, "/b/k", big)).is_none());
    }
}
