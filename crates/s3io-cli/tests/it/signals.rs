//! SIGINT and SIGTERM sent to a real child `s3io`: the transfer is cancelled, its clean-up
//! (multipart upload aborted, temporary file removed) finishes before the process exits with
//! 130 or 143, and a second signal exits at once naming what it left behind.
//!
//! The objects and buckets are set up through a server without faults; the child then talks to
//! a second server on the same root whose faults hold every answer to some method back for
//! longer than the test runs, so the signal always finds the transfer in flight. The tests
//! poll the store (ListMultipartUploads) or the directory for the transfer's progress before
//! signalling.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{
    clean_env, data, stderr, wait_with_deadline, ServerConfig, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY,
};

/// A root set up through a fault-free server, then served with `faults`.
pub(crate) struct FaultyAfterSetup {
    pub(crate) runtime: tokio::runtime::Runtime,
    server: Option<s3io_server::RunningServer>,
    pub(crate) endpoint: String,
    /// A client of the faulty server (for the checks).
    pub(crate) client: s3io::Client,
    _root: tempfile::TempDir,
    pub(crate) work: tempfile::TempDir,
}

impl FaultyAfterSetup {
    /// Runs `setup` against a fault-free server on a fresh root, then serves the root with
    /// `faults`.
    pub(crate) fn start(faults: &str, setup: impl AsyncFnOnce(&s3io::Client)) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let root = tempfile::tempdir().unwrap();
        let plain = runtime.block_on(s3io_server::start(ServerConfig::new(root.path()))).unwrap();
        let client = runtime.block_on(client_of(&plain.endpoint_url()));
        runtime.block_on(setup(&client));
        runtime.block_on(plain.shutdown());
        let config = ServerConfig::new(root.path()).with_faults(faults.parse().unwrap());
        let server = runtime.block_on(s3io_server::start(config)).unwrap();
        let endpoint = server.endpoint_url();
        let client = runtime.block_on(client_of(&endpoint));
        Self { runtime, server: Some(server), endpoint, client, _root: root, work: tempfile::tempdir().unwrap() }
    }

    /// `s3io ARGS` against the faulty server, stdout and stderr piped.
    pub(crate) fn spawn(&self, args: &[&str]) -> Child {
        let mut command = Command::new(env!("CARGO_BIN_EXE_s3io"));
        clean_env(&mut command);
        command
            .env("AWS_ACCESS_KEY_ID", DEFAULT_ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", DEFAULT_SECRET_KEY)
            .env("S3IO_ENDPOINT_URL", &self.endpoint)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command.spawn().unwrap()
    }

    /// The multipart uploads in progress in `bucket`.
    pub(crate) fn uploads(&self, bucket: &str) -> Vec<s3io::types::MultipartUploadInfo> {
        self.runtime.block_on(self.client.stale_uploads(bucket, "", Duration::ZERO)).unwrap()
    }
}

impl Drop for FaultyAfterSetup {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.shutdown());
        }
    }
}

async fn client_of(endpoint: &str) -> s3io::Client {
    s3io::Client::builder()
        .endpoint(endpoint)
        .credentials(s3io::CredentialsSource::static_keys(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY))
        .build()
        .await
        .unwrap()
}

/// Polls `condition` every 20 ms until it holds; fails the test after `deadline`.
pub(crate) fn poll_until(what: &str, deadline: Duration, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < deadline, "timed out after {deadline:?} waiting for {what}");
        // The poll interval of a bounded wait for the condition above.
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `signal` (`INT`, `TERM`, `KILL`) to the child.
pub(crate) fn send(child: &Child, signal: &str) {
    let status = Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status().unwrap();
    assert!(status.success(), "kill -{signal} failed");
}

/// Temporary download files in `dir`.
fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect()
}

/// A server holding back every PUT's answer: parts are stored, their uploads never finish.
const STALLED_PUTS: &str = "stall=1,stall-for=60s,methods=PUT";

fn upload_interrupted_by(signal: &str, code: i32) {
    let h = FaultyAfterSetup::start(STALLED_PUTS, async |client| client.create_bucket("bkt").await.unwrap());
    let file = h.work.path().join("big.bin");
    std::fs::write(&file, data(20 << 20, 7)).unwrap();
    let mut child = h.spawn(&["--part-size", "5MiB", "cp", file.to_str().unwrap(), "s3://bkt/big.bin"]);
    poll_until("the multipart upload to start", Duration::from_secs(30), || !h.uploads("bkt").is_empty());
    send(&child, signal);
    let status = wait_with_deadline(&mut child, Duration::from_secs(20));
    let output = child.wait_with_output().unwrap();
    assert_eq!(status.code(), Some(code), "{}", stderr(&output));
    assert!(stderr(&output).contains(&format!("SIG{signal}")), "{}", stderr(&output));
    // The abort was sent and answered before the exit: nothing is left in progress.
    assert_eq!(h.uploads("bkt"), Vec::new(), "uploads left after SIG{signal}: {}", stderr(&output));
}

#[test]
fn sigint_during_a_multipart_upload_aborts_it_before_exiting_130() {
    upload_interrupted_by("INT", 130);
}

#[test]
fn sigterm_during_a_multipart_upload_aborts_it_before_exiting_143() {
    upload_interrupted_by("TERM", 143);
}

#[test]
fn sigint_during_a_recursive_upload_aborts_every_upload_before_exiting() {
    let h = FaultyAfterSetup::start(STALLED_PUTS, async |client| client.create_bucket("bkt").await.unwrap());
    let dir = h.work.path().join("dir");
    std::fs::create_dir(&dir).unwrap();
    for i in 0..3 {
        std::fs::write(dir.join(format!("f{i}.bin")), data(12 << 20, i)).unwrap();
    }
    let mut child = h.spawn(&["--part-size", "5MiB", "cp", "-r", dir.to_str().unwrap(), "s3://bkt/d/"]);
    poll_until("the three multipart uploads to start", Duration::from_secs(30), || h.uploads("bkt").len() == 3);
    send(&child, "INT");
    let status = wait_with_deadline(&mut child, Duration::from_secs(20));
    let output = child.wait_with_output().unwrap();
    assert_eq!(status.code(), Some(130), "{}", stderr(&output));
    assert_eq!(h.uploads("bkt"), Vec::new(), "uploads left after SIGINT: {}", stderr(&output));
}

#[test]
fn sigterm_during_a_download_leaves_no_temporary_file() {
    // Every GET's body is held back (longer than the test runs, shorter than nothing: the
    // stall timeout retries it), so the download sits with its temporary file open.
    let h = FaultyAfterSetup::start("stall=1,stall-for=60s,methods=GET", async |client| {
        client.create_bucket("bkt").await.unwrap();
        client.put_object("bkt", "big.bin", data(20 << 20, 3).into(), &Default::default()).await.unwrap();
    });
    let out = h.work.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let destination = out.join("big.bin");
    let mut child = h.spawn(&["--part-size", "5MiB", "cp", "s3://bkt/big.bin", destination.to_str().unwrap()]);
    poll_until("the temporary file", Duration::from_secs(30), || !temp_files(&out).is_empty());
    send(&child, "TERM");
    let status = wait_with_deadline(&mut child, Duration::from_secs(20));
    let output = child.wait_with_output().unwrap();
    assert_eq!(status.code(), Some(143), "{}", stderr(&output));
    assert_eq!(temp_files(&out), Vec::<String>::new());
    assert!(!destination.exists(), "nothing may be left under the final name");
}

#[test]
fn a_second_sigint_exits_at_once_naming_the_upload_left_behind() {
    // The abort's answer is held back too, so the clean-up cannot finish before the second
    // signal.
    let h = FaultyAfterSetup::start("stall=1,stall-for=60s,methods=PUT+DELETE", async |client| {
        client.create_bucket("bkt").await.unwrap()
    });
    let file = h.work.path().join("big.bin");
    std::fs::write(&file, data(12 << 20, 9)).unwrap();
    let mut child = h.spawn(&["--part-size", "5MiB", "cp", file.to_str().unwrap(), "s3://bkt/big.bin"]);
    poll_until("the multipart upload to start", Duration::from_secs(30), || !h.uploads("bkt").is_empty());
    let upload_id = h.uploads("bkt")[0].upload_id.clone();
    send(&child, "INT");
    // The store has run the abort (only its answer is held back): the child is now waiting.
    poll_until("the abort to reach the store", Duration::from_secs(20), || h.uploads("bkt").is_empty());
    let second = Instant::now();
    send(&child, "INT");
    let status = wait_with_deadline(&mut child, Duration::from_secs(10));
    assert!(second.elapsed() < Duration::from_secs(5), "the second SIGINT took {:?}", second.elapsed());
    let output = child.wait_with_output().unwrap();
    let err = stderr(&output);
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("exiting before the clean-up finished"), "{err}");
    assert!(err.contains(&format!("s3://bkt/big.bin (upload id {upload_id})")), "{err}");
}
