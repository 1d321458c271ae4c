//! Shared test set-up: an embedded server on 127.0.0.1 with an OS-chosen port, a client for it,
//! a fresh bucket per test, and deterministic test data.

#![allow(dead_code)] // Each test module uses a different part of this.

use s3io::config::AddressingStyle;
use s3io::{Client, ClientBuilder, CredentialsSource};
use s3io_server::{RunningServer, ServerConfig};

/// A running embedded server with its own temporary root and one bucket.
pub(crate) struct TestServer {
    pub(crate) server: RunningServer,
    pub(crate) client: Client,
    pub(crate) bucket: String,
    _root: tempfile::TempDir,
}

impl TestServer {
    /// Starts a server without faults, a default client, and creates a bucket.
    pub(crate) async fn start() -> Self {
        Self::start_with(None, |b| b).await
    }

    /// Starts a server with `faults` (a fault spec) and a client shaped by `configure`.
    pub(crate) async fn start_with(
        faults: Option<&str>,
        configure: impl FnOnce(ClientBuilder) -> ClientBuilder,
    ) -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        let mut config = ServerConfig::new(root.path());
        if let Some(spec) = faults {
            config.faults = Some(spec.parse().expect("fault spec"));
        }
        let server = s3io_server::start(config).await.expect("server starts");
        let client = configure(Self::builder_for(&server)).build().await.expect("client");
        let bucket = format!("test-{:08x}", rand_u32());
        // Create the bucket with a fault-free request path: retries cover injected faults.
        client.create_bucket(&bucket).await.expect("create bucket");
        Self { server, client, bucket, _root: root }
    }

    /// The same root, bucket and objects served again with `faults`, to a client shaped by
    /// `configure`: set-up done without faults, the test's requests numbered from 0.
    pub(crate) async fn restart_with(
        self,
        faults: &str,
        configure: impl FnOnce(ClientBuilder) -> ClientBuilder,
    ) -> Self {
        let Self { server, bucket, _root: root, .. } = self;
        server.shutdown().await;
        let config = ServerConfig::new(root.path()).with_faults(faults.parse().expect("fault spec"));
        let server = s3io_server::start(config).await.expect("server starts");
        let client = configure(Self::builder_for(&server)).build().await.expect("client");
        Self { server, client, bucket, _root: root }
    }

    /// The same root, bucket and objects served again with the configuration `server` makes of
    /// a fresh one (faults, a request log), to a client shaped by `configure`.
    pub(crate) async fn restart_configured(
        self,
        server: impl FnOnce(ServerConfig) -> ServerConfig,
        configure: impl FnOnce(ClientBuilder) -> ClientBuilder,
    ) -> Self {
        let Self { server: old, bucket, _root: root, .. } = self;
        old.shutdown().await;
        let server = s3io_server::start(server(ServerConfig::new(root.path()))).await.expect("server starts");
        let client = configure(Self::builder_for(&server)).build().await.expect("client");
        Self { server, client, bucket, _root: root }
    }

    /// A client builder pointed at `server` with the server's local credentials.
    pub(crate) fn builder_for(server: &RunningServer) -> ClientBuilder {
        Self::builder_for_url(&server.endpoint_url())
    }

    /// A client builder pointed at the endpoint `url` with the embedded server's credentials.
    pub(crate) fn builder_for_url(url: &str) -> ClientBuilder {
        Client::builder().endpoint(url).region("us-east-1").addressing_style(AddressingStyle::Path).credentials(
            CredentialsSource::static_keys(s3io_server::DEFAULT_ACCESS_KEY, s3io_server::DEFAULT_SECRET_KEY),
        )
    }

    /// Another client for the same server.
    pub(crate) async fn client_with(&self, configure: impl FnOnce(ClientBuilder) -> ClientBuilder) -> Client {
        configure(Self::builder_for(&self.server)).build().await.expect("client")
    }

    /// Uploads `data` under `key` with one PutObject (up to 64 MiB) carrying its full-object
    /// CRC64NVME, so that every download of it has a checksum to verify.
    pub(crate) async fn put(&self, key: &str, data: &[u8]) {
        self.client
            .upload(&self.bucket, key)
            .multipart_threshold(64 * MIB as u64)
            .checksum_mode(s3io::config::ChecksumMode::WhenSupported)
            .checksum_algorithm(s3io::config::ChecksumAlgorithm::Crc64Nvme)
            .from_bytes(bytes::Bytes::copy_from_slice(data))
            .await
            .expect("put object");
    }
}

/// Polls `condition` until it holds; fails the test naming `what` after `deadline`.
pub(crate) async fn wait_until(deadline: std::time::Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !condition() {
        assert!(started.elapsed() < deadline, "not within {deadline:?}: {what}");
        // The poll interval of a bounded wait for the condition above.
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

fn rand_u32() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    nanos ^ COUNTER.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x9E37_79B9)
}

/// `len` bytes of deterministic, non-repeating data (xorshift64*) for seed `seed`.
pub(crate) fn test_data(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

pub(crate) const MIB: usize = 1024 * 1024;

/// An error and its causes joined by `: `, as the CLI and anyhow's `{:#}` print it: each cause
/// once, since no error repeats its source in its own message.
pub(crate) fn report(err: &(dyn std::error::Error + 'static)) -> String {
    let mut line = err.to_string();
    let mut cause = err.source();
    while let Some(error) = cause {
        line.push_str(": ");
        line.push_str(&error.to_string());
        cause = error.source();
    }
    line
}

/// The full-object CRC64NVME of `data`: what [`TestServer::put`] stores and downloads verify.
pub(crate) fn crc64nvme(data: &[u8]) -> s3io::checksum::ChecksumValue {
    s3io::checksum::checksum(s3io::config::ChecksumAlgorithm::Crc64Nvme, data)
}

/// A test CA and a server certificate it signed for `127.0.0.1` and `localhost`, as PEM files:
/// `ca` (the bundle a client trusts), `cert` and `key` (the server's).
pub(crate) struct TestCertificates {
    pub(crate) ca: std::path::PathBuf,
    pub(crate) cert: std::path::PathBuf,
    pub(crate) key: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl TestCertificates {
    pub(crate) fn new() -> Self {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
        let dir = tempfile::tempdir().expect("temp dir");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "s3io test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        let files = Self {
            ca: dir.path().join("ca.pem"),
            cert: dir.path().join("cert.pem"),
            key: dir.path().join("key.pem"),
            _dir: dir,
        };
        std::fs::write(&files.ca, ca.pem()).unwrap();
        std::fs::write(&files.cert, leaf.pem()).unwrap();
        std::fs::write(&files.key, key.serialize_pem()).unwrap();
        files
    }
}
