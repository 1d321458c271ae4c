//! What the server's integration tests share: a SigV4-signing hyper client
//! talking to a server on `127.0.0.1:0`, raw requests for inputs no client
//! library sends, and test data.
#![allow(unreachable_pub)] // pub items shared by the test modules of one binary

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use md5::{Digest as _, Md5};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use s3io_server::{RunningServer, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY};

/// What a key's path segment escapes: all but unreserved characters and `/`.
const PATH: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');
/// What a query value escapes: all but unreserved characters.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// `key` as a URL path (after the bucket).
pub fn enc(key: &str) -> String {
    utf8_percent_encode(key, PATH).to_string()
}

/// `value` as a query or header value.
pub fn enc_query(value: &str) -> String {
    utf8_percent_encode(value, QUERY).to_string()
}

pub struct Client {
    pub http: HyperClient<HttpConnector, Full<Bytes>>,
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The S3 error code of an error reply.
    pub fn code(&self) -> String {
        xml_values(&self.text(), "Code").into_iter().next().unwrap_or_default()
    }
}

impl Client {
    pub fn new(server: &RunningServer) -> Self {
        Self::with_keys(server, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)
    }

    pub fn with_keys(server: &RunningServer, access_key: &str, secret_key: &str) -> Self {
        Self {
            http: HyperClient::builder(TokioExecutor::new()).build_http(),
            endpoint: server.endpoint_url(),
            access_key: access_key.to_owned(),
            secret_key: secret_key.to_owned(),
        }
    }

    fn settings() -> SigningSettings {
        let mut settings = SigningSettings::default();
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings
    }

    /// The headers (or query parameters) that sign a request for `url`.
    fn signature(
        &self,
        method: &Method,
        url: &str,
        headers: &[(&str, &str)],
        body: SignableBody<'_>,
        settings: SigningSettings,
    ) -> aws_sigv4::http_request::SigningInstructions {
        let identity =
            aws_credential_types::Credentials::new(&self.access_key, &self.secret_key, None, None, "test").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("s3")
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let signable = SignableRequest::new(method.as_str(), url, headers.iter().copied(), body).unwrap();
        sign(signable, &params).unwrap().into_parts().0
    }

    /// Sends a SigV4-signed request; `sign_payload` signs the body's SHA-256
    /// (otherwise `UNSIGNED-PAYLOAD`).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
        sign_payload: bool,
    ) -> Reply {
        let signed = if sign_payload { Some(body.clone()) } else { None };
        self.send_signing(method, path, headers, signed, body).await
    }

    /// Sends `body` signed as if it were `signed` (`None`: `UNSIGNED-PAYLOAD`).
    pub async fn send_signing(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        signed: Option<Bytes>,
        body: Bytes,
    ) -> Reply {
        let url = format!("{}{}", self.endpoint, path);
        let signable_body = match &signed {
            Some(b) => SignableBody::Bytes(b),
            None => SignableBody::UnsignedPayload,
        };
        let instructions = self.signature(&method, &url, headers, signable_body, Self::settings());
        let mut req = Request::builder().method(method).uri(&url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut req = req.body(Full::new(body)).unwrap();
        instructions.apply_to_request_http1x(&mut req);
        self.exchange(req).await.unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// [`Client::send`], with transport failures (a refused or dropped connection) returned.
    pub async fn try_send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Reply, Box<dyn std::error::Error + Send + Sync>> {
        let url = format!("{}{}", self.endpoint, path);
        let instructions = self.signature(&method, &url, headers, SignableBody::Bytes(&body), Self::settings());
        let mut req = Request::builder().method(method).uri(&url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut req = req.body(Full::new(body.clone())).unwrap();
        instructions.apply_to_request_http1x(&mut req);
        self.exchange(req).await
    }

    /// Sends a signed request and reads its whole answer.
    async fn exchange(&self, req: Request<Full<Bytes>>) -> Result<Reply, Box<dyn std::error::Error + Send + Sync>> {
        let resp = self.http.request(req).await?;
        let (parts, body) = resp.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Reply { status: parts.status, headers: parts.headers, body })
    }

    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.send(Method::GET, path, headers, Bytes::new(), true).await
    }

    pub async fn put(&self, path: &str, headers: &[(&str, &str)], body: Bytes) -> Reply {
        self.send(Method::PUT, path, headers, body, true).await
    }

    /// A presigned GET URL for `path`, valid for `expires`.
    pub fn presign(&self, path: &str, expires: Duration) -> String {
        let url = format!("{}{}", self.endpoint, path);
        let mut settings = Self::settings();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(expires);
        settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
        let instructions = self.signature(&Method::GET, &url, &[], SignableBody::UnsignedPayload, settings);
        let mut req = Request::builder().method(Method::GET).uri(&url).body(()).unwrap();
        instructions.apply_to_request_http1x(&mut req);
        req.uri().to_string()
    }

    /// The signed headers of a request whose body is sent unsigned, for raw requests.
    pub fn signed_headers(&self, method: &Method, path: &str, headers: &[(&str, &str)]) -> Vec<(String, String)> {
        let url = format!("{}{}", self.endpoint, path);
        let instructions = self.signature(method, &url, headers, SignableBody::UnsignedPayload, Self::settings());
        let mut req = Request::builder().method(method.clone()).uri(&url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut req = req.body(()).unwrap();
        instructions.apply_to_request_http1x(&mut req);
        req.headers().iter().map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned())).collect()
    }
}

/// Deterministic test bytes.
pub fn data(len: usize, seed: u32) -> Bytes {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect::<Vec<u8>>()
        .into()
}

pub fn md5_hex(b: &[u8]) -> String {
    hex::encode(Md5::digest(b))
}

/// The text of the first `<tag>` element.
pub fn xml_value<'a>(xml: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let start = xml.find(&open).map(|i| i + open.len()).expect(tag);
    let end = xml[start..].find(&format!("</{tag}>")).expect(tag);
    &xml[start..start + end]
}

/// The texts of every `<tag>` element, XML entities decoded.
pub fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(&open)
        .skip(1)
        .filter_map(|s| s.find(&close).map(|end| &s[..end]))
        .map(|s| {
            s.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&#xD;", "\r")
                .replace("&amp;", "&")
        })
        .collect()
}

/// Percent-decodes a key from an `encoding-type=url` listing.
pub fn url_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8().unwrap().into_owned()
}

/// Every file below `dir`, as paths relative to it.
pub fn files_below(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                out.push(entry.path().strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out
}
