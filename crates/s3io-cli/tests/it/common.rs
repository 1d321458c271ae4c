//! What the CLI's integration tests share: an embedded server on its own runtime, the built
//! binary run against it with a clean environment, and small helpers.
//!
//! Each test module uses a subset of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub(crate) use s3io_server::{ServerConfig, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY};

/// An embedded server on its own runtime, and a scratch directory for local files.
pub(crate) struct Harness {
    pub(crate) runtime: tokio::runtime::Runtime,
    pub(crate) server: Option<s3io_server::RunningServer>,
    pub(crate) endpoint: String,
    /// The server's root (buckets live here).
    _root: tempfile::TempDir,
    /// Local files of the test.
    pub(crate) work: tempfile::TempDir,
}

impl Harness {
    /// A server with the default configuration.
    pub(crate) fn start() -> Self {
        Self::start_with(|config| config)
    }

    /// A server configured by `configure` (faults, credentials, …).
    pub(crate) fn start_with(configure: impl FnOnce(ServerConfig) -> ServerConfig) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let root = tempfile::tempdir().unwrap();
        let server = runtime.block_on(s3io_server::start(configure(ServerConfig::new(root.path())))).unwrap();
        let endpoint = server.endpoint_url();
        Self { runtime, server: Some(server), endpoint, _root: root, work: tempfile::tempdir().unwrap() }
    }

    /// `s3io ARGS` with the server's endpoint and default credentials.
    pub(crate) fn s3io(&self, args: &[&str]) -> Command {
        self.s3io_as(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, args)
    }

    /// `s3io ARGS` signing with the given keys.
    pub(crate) fn s3io_as(&self, access_key: &str, secret_key: &str, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_s3io"));
        clean_env(&mut command);
        command
            .env("AWS_ACCESS_KEY_ID", access_key)
            .env("AWS_SECRET_ACCESS_KEY", secret_key)
            .env("S3IO_ENDPOINT_URL", &self.endpoint)
            .args(args)
            .stdin(Stdio::null());
        command
    }

    /// Runs `s3io ARGS` to completion.
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.s3io(args).output().unwrap()
    }

    /// Runs `s3io ARGS` and requires success.
    pub(crate) fn ok(&self, args: &[&str]) -> Output {
        let output = self.run(args);
        assert!(output.status.success(), "s3io {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        output
    }

    /// The server's root directory (`.s3io/` holds its index and data files).
    pub(crate) fn root(&self) -> &Path {
        self._root.path()
    }

    /// A path in the work directory.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    /// A path in the work directory, as a string.
    pub(crate) fn path_str(&self, name: &str) -> String {
        self.path(name).to_str().unwrap().to_owned()
    }

    /// Writes `data` to a local file of the work directory.
    pub(crate) fn file(&self, name: &str, data: &[u8]) -> String {
        std::fs::write(self.path(name), data).unwrap();
        self.path_str(name)
    }

    /// HeadObject's answer for `bucket/key`.
    pub(crate) fn head(&self, bucket: &str, key: &str) -> s3io::types::ObjectInfo {
        let client = self.client();
        self.runtime.block_on(client.head_object(bucket, key)).unwrap()
    }

    /// Asserts that the downloaded `file` took the object's time: its modification time is the
    /// object's `Last-Modified` (whole seconds, as HTTP dates are), not the time it was written.
    pub(crate) fn assert_has_object_time(&self, file: &Path, bucket: &str, key: &str) {
        let object = self.head(bucket, key).last_modified.unwrap();
        let local = std::fs::metadata(file).unwrap().modified().unwrap();
        assert_eq!(local, object, "{} has not the time of s3://{bucket}/{key}", file.display());
    }

    /// Puts `objects` (key, bytes) into `bucket` through the library, 64 requests at a time.
    pub(crate) fn put_all(&self, bucket: &str, objects: impl IntoIterator<Item = (String, Vec<u8>)>) {
        use futures::StreamExt as _;
        let client = self.client();
        self.runtime.block_on(async {
            futures::stream::iter(objects)
                .map(|(key, bytes)| {
                    let client = client.clone();
                    async move {
                        let put = client.put_object(bucket, &key, bytes.into(), &Default::default()).await;
                        put.unwrap_or_else(|e| panic!("put s3://{bucket}/{key}: {e}"));
                    }
                })
                .buffer_unordered(64)
                .collect::<Vec<()>>()
                .await;
        });
    }

    /// Restarts the server on the same root and address with `faults` (a fault spec): what the
    /// test set up stays, and the next commands meet the faults from request 0.
    pub(crate) fn restart_with_faults(&mut self, faults: &str) {
        let server = self.server.take().expect("a running server");
        let addr = server.local_addr();
        self.runtime.block_on(server.shutdown());
        let config = ServerConfig::new(self._root.path()).with_addr(addr).with_faults(faults.parse().unwrap());
        self.server = Some(self.runtime.block_on(s3io_server::start(config)).unwrap());
    }

    /// Restarts the server on the same root and address with the configuration `configure`
    /// makes of a fresh one (faults, a request log); requests are numbered from 0 again.
    pub(crate) fn restart_with(&mut self, configure: impl FnOnce(ServerConfig) -> ServerConfig) {
        let server = self.server.take().expect("a running server");
        let addr = server.local_addr();
        self.runtime.block_on(server.shutdown());
        let config = configure(ServerConfig::new(self._root.path()).with_addr(addr));
        self.server = Some(self.runtime.block_on(s3io_server::start(config)).unwrap());
    }

    /// The requests the server logged (when started with a request log).
    pub(crate) fn request_log(&self) -> Vec<s3io_server::RequestRecord> {
        self.server.as_ref().expect("a running server").request_log()
    }

    /// Requests refused or held by the server's injected outage so far.
    pub(crate) fn outage_requests(&self) -> u64 {
        self.server.as_ref().expect("a running server").fault_stats().outage_requests
    }

    /// Requests the server has answered (or refused) since it started.
    pub(crate) fn requests(&self) -> u64 {
        self.server.as_ref().expect("a running server").fault_stats().requests
    }

    /// Responses the server has held back (the `stall` fault) since it started.
    pub(crate) fn stalls(&self) -> u64 {
        self.server.as_ref().expect("a running server").fault_stats().stalls
    }

    /// A library client of the server, for setting up many objects quickly.
    pub(crate) fn client(&self) -> s3io::Client {
        self.runtime
            .block_on(
                s3io::Client::builder()
                    .endpoint(&self.endpoint)
                    .credentials(s3io::CredentialsSource::static_keys(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY))
                    .build(),
            )
            .unwrap()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.shutdown());
        }
    }
}

/// Keeps the developer's own AWS settings out of the child.
pub(crate) fn clean_env(command: &mut Command) {
    for name in [
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "S3IO_ENDPOINT_URL",
        "S3IO_LOG",
        "AWS_DEFAULT_REGION",
        // The environment the ecosystem uses: each test sets what it tests.
        "AWS_CA_BUNDLE",
        "AWS_MAX_ATTEMPTS",
        "AWS_RETRY_MODE",
        "AWS_USE_DUALSTACK_ENDPOINT",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        command.env_remove(name);
    }
    command
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/nonexistent/s3io-test/config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/s3io-test/credentials")
        .env("AWS_EC2_METADATA_DISABLED", "true");
}

/// Deterministic, incompressible-looking bytes (xorshift64*).
pub(crate) fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
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

/// The child's stdout, as text.
pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The child's stderr, as text.
pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts exit code 1 and exactly one line on stderr, containing every `needle`.
pub(crate) fn assert_one_line_failure(output: &Output, needles: &[&str]) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(1), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "expected one line, got: {err:?}");
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} missing from {err:?}");
    }
}

/// Names in a directory.
pub(crate) fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// Sends SIGINT to a child process (as Ctrl-C in a terminal would).
pub(crate) fn interrupt(child: &std::process::Child) {
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

/// Polls `condition` until it holds; fails the test naming `what` after `deadline`.
pub(crate) fn wait_until(deadline: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < deadline, "not within {deadline:?}: {what}");
        // The poll interval of a bounded wait for the condition above.
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits for the child to exit, killing it and failing the test after `deadline`.
pub(crate) fn wait_with_deadline(child: &mut std::process::Child, deadline: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            panic!("s3io did not exit within {deadline:?}");
        }
        // The poll interval of a bounded wait for the child's exit.
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sends the child SIGINT and waits (at most 10 s) for it to exit.
pub(crate) fn interrupt_and_wait(child: &mut std::process::Child) -> std::process::ExitStatus {
    interrupt(child);
    wait_with_deadline(child, Duration::from_secs(10))
}
