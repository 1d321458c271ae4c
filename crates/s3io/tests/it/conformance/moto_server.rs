//! moto's standalone S3 server (PyPI `moto[server]`), found, started once and shared.
//!
//! **Where it comes from.** `$S3IO_MOTO_SERVER` (a path to `moto_server`), else
//! `<workspace>/.venv/bin/moto_server`, the virtualenv `scripts/python-env.sh` makes. Neither there
//! is a failure of every moto case, saying how to install it: the suite never quietly runs
//! against one server only.
//!
//! **One process per run.** moto starts in ~1.5 s of CPU, so it is started once and shared, each
//! case in a bucket of its own. Under `cargo test` one test binary is one process and shares one
//! moto. Under cargo-nextest every test is a process of its own: they share the moto of their
//! run, found through an endpoint file in `CARGO_TARGET_TMPDIR/moto/` keyed by the runner's pid
//! and created under an exclusive file lock, so exactly one of them starts it.
//!
//! **Killed at the end.** moto runs under a small `sh` watchdog in a process group of its own (a
//! test timing out and having its group killed must not take a shared server with it) and with no
//! handle on the test's stdout or stderr (nextest waits for those to close). The watchdog polls,
//! once a second, the process whose lifetime the server shares — the test binary itself, or
//! nextest's runner — and kills moto and removes the endpoint file when it has gone, however it
//! ended (exit, panic, SIGKILL).
//!
//! **Started, then waited for with bounds.** `moto_server -H 127.0.0.1 -p 0` lets the OS choose
//! the port and logs `Running on http://127.0.0.1:PORT`; the log is polled for that line until a
//! deadline, then the endpoint is probed with plain HTTP requests, a bounded number of times.

use std::fs::{self, File};
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The environment variable naming the `moto_server` to run.
pub(crate) const MOTO_SERVER_ENV: &str = "S3IO_MOTO_SERVER";

/// How long moto may take to log its port (imports ~1.5 s of Python on an idle machine; CI's two
/// cores are shared with the build and other tests).
const START_DEADLINE: Duration = Duration::from_secs(90);
/// How often the log is checked for the port line.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Probes of a logged or recorded endpoint before it is declared dead.
const PROBE_ATTEMPTS: u32 = 100;

/// The watchdog: runs moto with its output in the log, then waits for the watched process (or
/// moto) to go and kills moto and removes the endpoint file; when the run is over (rather than
/// moto dead, whose log then says why) it removes the log and lock files as well. Arguments:
/// moto_server, the pid to watch, the log, endpoint and lock files.
const WATCHDOG: &str = r#"
server="$1" watched="$2" log="$3" endpoint="$4" lock="$5"
"$server" -H 127.0.0.1 -p 0 </dev/null >>"$log" 2>&1 &
moto=$!
trap 'kill "$moto" 2>/dev/null; wait "$moto"; rm -f "$endpoint"; kill -0 "$watched" 2>/dev/null || rm -f "$log" "$lock"' EXIT
trap 'exit 0' HUP INT TERM
while kill -0 "$watched" 2>/dev/null && kill -0 "$moto" 2>/dev/null; do sleep 1; done
"#;

/// The endpoint (`http://127.0.0.1:PORT`) of the moto server this test shares, started if need
/// be. Blocking: call it from `spawn_blocking`.
pub(crate) fn endpoint() -> Result<String, String> {
    static ENDPOINT: OnceLock<Result<String, String>> = OnceLock::new();
    ENDPOINT.get_or_init(start_or_join).clone()
}

/// `moto_server`'s path, or why there is none.
fn server_path() -> Result<PathBuf, String> {
    locate(std::env::var_os(MOTO_SERVER_ENV), &Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// `moto_server` as named by `from_env` (the value of [`MOTO_SERVER_ENV`]), else in
/// `workspace`'s `.venv`.
fn locate(from_env: Option<std::ffi::OsString>, workspace: &Path) -> Result<PathBuf, String> {
    if let Some(path) = from_env {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("{MOTO_SERVER_ENV}={} is not a file (it must name moto's `moto_server`)", path.display()))
        };
    }
    let path = workspace.join(".venv/bin/moto_server");
    if path.is_file() {
        return Ok(path);
    }
    Err(format!(
        "moto's S3 server is not installed: no {MOTO_SERVER_ENV} and no {}. Run scripts/python-env.sh \
         (or the README's test command, scripts/test.sh, which runs it) to install moto[server] into \
         .venv, or set {MOTO_SERVER_ENV} to a moto_server",
        path.display()
    ))
}

fn start_or_join() -> Result<String, String> {
    let server = server_path()?;
    // Under nextest every test is a process and the runner is their parent: share per run.
    let watched = if std::env::var_os("NEXTEST_RUN_ID").is_some() {
        std::os::unix::process::parent_id()
    } else {
        std::process::id()
    };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("moto");
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let lock_path = dir.join(format!("{watched}.lock"));
    let lock = File::create(&lock_path).map_err(|e| format!("cannot create {}: {e}", lock_path.display()))?;
    lock.lock().map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;

    let endpoint_path = dir.join(format!("{watched}.endpoint"));
    if let Ok(recorded) = fs::read_to_string(&endpoint_path) {
        let recorded = recorded.trim().to_owned();
        if probe(&recorded, 3) {
            return Ok(recorded);
        }
    }

    let log_path = dir.join(format!("{watched}.log"));
    File::create(&log_path).map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(WATCHDOG)
        .arg("s3io-moto-watchdog")
        .arg(&server)
        .arg(watched.to_string())
        .arg(&log_path)
        .arg(&endpoint_path)
        .arg(&lock_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start sh to run {}: {e}", server.display()))?;
    let endpoint = wait_for_port(&mut child, &server, &log_path)?;
    if !probe(&endpoint, PROBE_ATTEMPTS) {
        return Err(format!(
            "{} logged {endpoint} but it answered no HTTP request in {PROBE_ATTEMPTS} attempts; log {}:\n{}",
            server.display(),
            log_path.display(),
            log_tail(&log_path)
        ));
    }
    let partial = dir.join(format!("{watched}.endpoint.tmp"));
    fs::write(&partial, format!("{endpoint}\n"))
        .and_then(|()| fs::rename(&partial, &endpoint_path))
        .map_err(|e| format!("cannot record moto's endpoint in {}: {e}", endpoint_path.display()))?;
    eprintln!("conformance: moto started at {endpoint} ({}), log {}", server.display(), log_path.display());
    Ok(endpoint)
}

/// Polls moto's log for the line with its port until [`START_DEADLINE`].
fn wait_for_port(child: &mut Child, server: &Path, log_path: &Path) -> Result<String, String> {
    const MARK: &str = "Running on http://127.0.0.1:";
    let deadline = Instant::now() + START_DEADLINE;
    loop {
        let log = fs::read_to_string(log_path).unwrap_or_default();
        if let Some(at) = log.find(MARK) {
            let port: String = log[at + MARK.len()..].chars().take_while(char::is_ascii_digit).collect();
            if !port.is_empty() {
                return Ok(format!("http://127.0.0.1:{port}"));
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "{} exited ({status}) before serving; log {}:\n{}",
                server.display(),
                log_path.display(),
                log_tail(log_path)
            ));
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "{} logged no port within {START_DEADLINE:?}; log {}:\n{}",
                server.display(),
                log_path.display(),
                log_tail(log_path)
            ));
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Whether `endpoint` answers a plain HTTP request within `attempts` tries.
fn probe(endpoint: &str, attempts: u32) -> bool {
    let Some(authority) = endpoint.strip_prefix("http://") else { return false };
    for attempt in 0..attempts {
        if attempt > 0 {
            std::thread::sleep(POLL_INTERVAL);
        }
        let Ok(mut stream) = TcpStream::connect(authority) else { continue };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let request = format!("GET / HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
        if stream.write_all(request.as_bytes()).is_err() {
            continue;
        }
        let mut head = [0u8; 8];
        if stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") {
            return true;
        }
    }
    false
}

/// The last lines of moto's log, for an error message.
fn log_tail(log_path: &Path) -> String {
    let log = fs::read_to_string(log_path).unwrap_or_else(|e| format!("(unreadable: {e})"));
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

#[test]
fn a_missing_moto_fails_saying_how_to_install_it() {
    let empty = tempfile::tempdir().unwrap();
    let err = locate(None, empty.path()).unwrap_err();
    assert!(err.contains("scripts/python-env.sh") && err.contains(".venv/bin/moto_server"), "{err}");
    let err = locate(Some(empty.path().join("nothing").into()), empty.path()).unwrap_err();
    assert!(err.contains(MOTO_SERVER_ENV) && err.contains("nothing"), "{err}");
    let venv = empty.path().join(".venv/bin");
    fs::create_dir_all(&venv).unwrap();
    fs::write(venv.join("moto_server"), "").unwrap();
    assert_eq!(locate(None, empty.path()), Ok(venv.join("moto_server")));
    assert_eq!(locate(Some(venv.join("moto_server").into()), Path::new("/nonexistent")), Ok(venv.join("moto_server")));
}
