//! The servers the conformance suite runs against, and what one case gets: a [`Target`].
//!
//! A [`Target`] is one server kind ([`ServerKind::Embedded`]: `s3io serve` started in-process on
//! an OS-chosen port with a root of its own; [`ServerKind::Moto`]: the moto server shared by the
//! run, see [`super::moto_server`]), a library client signed for it, and a bucket of the case's own.
//!
//! Where moto and S3 disagree, S3's documented behaviour is what a case asserts, and the part
//! moto gets wrong is skipped for moto only: `if !t.skip_on(Moto, "moto does not …") { … }`.
//! The skip is printed (`conformance: SKIP …`), so a run's output lists every skip and its reason.
//! Nothing is ever skipped for the embedded server: where it disagrees with S3 the case fails.

use bytes::Bytes;
use s3io::config::AddressingStyle;
use s3io::{Client, ClientBuilder, CredentialsSource};

use crate::common::TestServer;

/// The region every target is signed for.
pub(crate) const REGION: &str = "us-east-1";
/// moto accepts any keys; these are the ones its documentation uses.
const MOTO_ACCESS_KEY: &str = "testing";
const MOTO_SECRET_KEY: &str = "testing";

/// Which S3 implementation a case runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerKind {
    /// `s3io serve`, the project's embedded server.
    Embedded,
    /// moto's standalone server, an independent implementation in Python.
    Moto,
}

impl ServerKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            ServerKind::Embedded => "embedded",
            ServerKind::Moto => "moto",
        }
    }
}

/// One case's server, client and bucket.
pub(crate) struct Target {
    pub(crate) kind: ServerKind,
    /// The case's name, for skips and messages.
    pub(crate) case: &'static str,
    pub(crate) client: Client,
    /// A bucket of this case's own, empty at the start.
    pub(crate) bucket: String,
    /// `http://127.0.0.1:PORT`.
    pub(crate) endpoint: String,
    pub(crate) access_key: String,
    pub(crate) secret_key: String,
    /// Keeps the embedded server (and its root) alive for the case.
    _embedded: Option<TestServer>,
}

impl Target {
    /// Starts (or, for moto, joins) a server of `kind` and makes a bucket for `case`.
    pub(crate) async fn start(kind: ServerKind, case: &'static str) -> Self {
        match kind {
            ServerKind::Embedded => {
                let server = TestServer::start().await;
                Self {
                    kind,
                    case,
                    client: server.client.clone(),
                    bucket: server.bucket.clone(),
                    endpoint: server.server.endpoint_url(),
                    access_key: s3io_server::DEFAULT_ACCESS_KEY.to_owned(),
                    secret_key: s3io_server::DEFAULT_SECRET_KEY.to_owned(),
                    _embedded: Some(server),
                }
            }
            ServerKind::Moto => {
                let endpoint = tokio::task::spawn_blocking(super::moto_server::endpoint)
                    .await
                    .expect("moto start-up thread")
                    .unwrap_or_else(|why| panic!("conformance case {case} on moto: {why}"));
                let client = builder_for(&endpoint, MOTO_ACCESS_KEY, MOTO_SECRET_KEY).build().await.expect("client");
                let target = Self {
                    kind,
                    case,
                    client,
                    bucket: unique_bucket(case),
                    endpoint,
                    access_key: MOTO_ACCESS_KEY.to_owned(),
                    secret_key: MOTO_SECRET_KEY.to_owned(),
                    _embedded: None,
                };
                target
                    .client
                    .create_bucket(&target.bucket)
                    .await
                    .unwrap_or_else(|e| panic!("conformance case {case} on moto: create bucket: {e}"));
                target
            }
        }
    }

    /// A client builder for this target's server, credentials and region.
    pub(crate) fn builder(&self) -> ClientBuilder {
        builder_for(&self.endpoint, &self.access_key, &self.secret_key)
    }

    /// Another client for this target, shaped by `configure`.
    pub(crate) async fn client_with(&self, configure: impl FnOnce(ClientBuilder) -> ClientBuilder) -> Client {
        configure(self.builder()).build().await.expect("client")
    }

    /// True (and the skip printed) when this target is `kind`: the caller leaves out what
    /// follows, because `kind` disagrees with S3 there for `reason`.
    pub(crate) fn skip_on(&self, kind: ServerKind, reason: &str) -> bool {
        if self.kind != kind {
            return false;
        }
        assert_ne!(kind, ServerKind::Embedded, "the embedded server is never skipped: fix it or the case");
        eprintln!("conformance: SKIP {} on {}: {reason}", self.case, kind.name());
        true
    }

    /// A bucket name unique to this case and run, created.
    pub(crate) async fn another_bucket(&self, tag: &str) -> String {
        let bucket = unique_bucket(tag);
        self.client.create_bucket(&bucket).await.unwrap_or_else(|e| panic!("{}: create {bucket}: {e}", self.case));
        bucket
    }

    /// PutObject `data` under `key` with default options.
    pub(crate) async fn put(&self, key: &str, data: &[u8]) -> s3io::types::PutObjectOutput {
        self.client
            .put_object(&self.bucket, key, Bytes::copy_from_slice(data), &Default::default())
            .await
            .unwrap_or_else(|e| panic!("{} on {}: put {key:?}: {e}", self.case, self.kind.name()))
    }

    /// GetObject of the whole of `key`.
    pub(crate) async fn get(&self, key: &str) -> Bytes {
        let what = format!("{} on {}: get {key:?}", self.case, self.kind.name());
        let object = self.client.get_object(&self.bucket, key, &Default::default()).await;
        object.unwrap_or_else(|e| panic!("{what}: {e}")).collect().await.unwrap_or_else(|e| panic!("{what}: {e}"))
    }

    /// Every key of the bucket under `prefix`, in the order listed, through all pages.
    pub(crate) async fn keys(&self, prefix: &str) -> Vec<String> {
        use futures::TryStreamExt as _;
        let options = s3io::types::ListObjectsOptions::default().with_prefix(prefix.to_owned());
        let pages: Vec<_> = self
            .client
            .list_objects_v2_pages(&self.bucket, options)
            .try_collect()
            .await
            .unwrap_or_else(|e| panic!("{} on {}: list {prefix:?}: {e}", self.case, self.kind.name()));
        pages.into_iter().flat_map(|p| p.objects).map(|o| o.key).collect()
    }

    /// A raw signed request to `key` of this target's bucket.
    pub(crate) fn raw(&self, method: http::Method, key: &str) -> super::raw::RawRequest<'_> {
        super::raw::RawRequest::new(self, method, key)
    }
}

fn builder_for(endpoint: &str, access_key: &str, secret_key: &str) -> ClientBuilder {
    Client::builder()
        .endpoint(endpoint)
        .region(REGION)
        .addressing_style(AddressingStyle::Path)
        .credentials(CredentialsSource::static_keys(access_key, secret_key))
}

/// `s3io-<case>-<random>`, a valid bucket name of at most 63 bytes.
fn unique_bucket(tag: &str) -> String {
    let tag: String =
        tag.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).take(40).collect();
    let tag = tag.trim_matches('-');
    format!("s3io-{tag}-{:08x}", unique_u32())
}

/// A number that differs between calls and between runs.
fn unique_u32() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    (nanos ^ std::process::id().rotate_left(16)) ^ COUNTER.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x9E37_79B9)
}
