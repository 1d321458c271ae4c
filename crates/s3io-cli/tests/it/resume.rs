//! `s3io cp` killed with SIGKILL half-way, then run again: a download fetches only what it
//! misses (or everything, if the object was replaced or `--no-resume` is given), an upload sends
//! only the parts its unfinished multipart upload does not hold. The child is a real process;
//! the kill comes when the server's injected outage (from a set request number on) has stopped
//! the transfer at a known point, and the server's request log tells what the second run moved.

use std::path::Path;
use std::time::Duration;

use crate::common::{data, stderr, wait_with_deadline, Harness};
use crate::signals::{poll_until, send};

/// Part size of the downloads: a 4 MiB object is 16 parts.
const PART: usize = 256 * 1024;

/// The files in `dir`, by name, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// Runs `s3io ARGS` until the server's outage has held or refused a request, then SIGKILLs it.
fn kill_at_the_outage(h: &Harness, args: &[&str]) {
    let mut child =
        h.s3io(args).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
    poll_until("the transfer to reach the outage", Duration::from_secs(30), || h.outage_requests() > 0);
    send(&child, "KILL");
    let status = wait_with_deadline(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), None, "killed by a signal");
}

/// A 4 MiB object `s3://data/obj` and `s3io cp` of it to `out.bin` SIGKILLed once 9 of its 16
/// parts are in (the first GET, the verification HEAD and 8 more GETs, one at a time; request 10
/// meets the outage). Returns the object's bytes; the server then serves without faults,
/// keeping a request log.
fn killed_download(h: &mut Harness) -> Vec<u8> {
    let object = data(16 * PART, 81);
    h.ok(&["mb", "s3://data"]);
    h.ok(&["cp", &h.file("src", &object), "s3://data/obj"]);
    std::fs::remove_file(h.path("src")).unwrap();
    h.restart_with(|c| c.with_faults("outage=60s,outage-after=10".parse().unwrap()));
    kill_at_the_outage(
        h,
        &["--part-size", "256KiB", "--concurrency", "1", "cp", "s3://data/obj", &h.path_str("out.bin")],
    );
    assert_eq!(files(h.work.path()), [".out.bin.s3io-partial.journal", ".out.bin.s3io-partial.tmp"]);
    h.restart_with(|c| c.with_request_log());
    object
}

/// Object bytes the server sent in GET answers (error answers not counted).
fn fetched(h: &Harness) -> u64 {
    h.request_log().iter().filter(|r| r.method == "GET" && r.status < 300).map(|r| r.response_bytes).sum()
}

#[test]
fn a_killed_download_run_again_fetches_only_what_it_misses() {
    let mut h = Harness::start();
    let object = killed_download(&mut h);
    h.ok(&["--part-size", "256KiB", "cp", "s3://data/obj", &h.path_str("out.bin")]);
    assert!(std::fs::read(h.path("out.bin")).unwrap() == object, "resumed download differs");
    let fetched = fetched(&h);
    assert!(fetched * 100 <= object.len() as u64 * 55, "fetched {fetched} of {} bytes again", object.len());
    assert_eq!(fetched, (16 - 9) * PART as u64, "{:#?}", h.request_log());
    assert_eq!(files(h.work.path()), ["out.bin"], "partial files left");
}

#[test]
fn a_killed_download_of_an_object_replaced_since_starts_afresh() {
    let mut h = Harness::start();
    killed_download(&mut h);
    let replaced = data(10 * PART + 3, 82);
    h.ok(&["cp", &h.file("new", &replaced), "s3://data/obj"]);
    std::fs::remove_file(h.path("new")).unwrap();
    h.ok(&["--part-size", "256KiB", "cp", "s3://data/obj", &h.path_str("out.bin")]);
    assert!(std::fs::read(h.path("out.bin")).unwrap() == replaced, "not the new object");
    assert_eq!(fetched(&h), replaced.len() as u64);
    assert_eq!(files(h.work.path()), ["out.bin"]);
}

#[test]
fn no_resume_starts_a_killed_download_from_zero() {
    let mut h = Harness::start();
    let object = killed_download(&mut h);
    h.ok(&["--no-resume", "--part-size", "256KiB", "cp", "s3://data/obj", &h.path_str("out.bin")]);
    assert!(std::fs::read(h.path("out.bin")).unwrap() == object);
    assert_eq!(fetched(&h), object.len() as u64);
    assert_eq!(files(h.work.path()), ["out.bin"], "stale partial files removed");
}

#[test]
fn fsync_finishes_a_resumed_download_and_a_fresh_one() {
    // `--fsync` syncs the file before the rename and its directory after: the path runs on a
    // resumed multi-part download and on a one-part one, each ending byte-exact with nothing
    // beside it. (That the bytes survive a power loss is the kernel's part, not testable here.)
    let mut h = Harness::start();
    let object = killed_download(&mut h);
    h.ok(&["--fsync", "--part-size", "256KiB", "cp", "s3://data/obj", &h.path_str("out.bin")]);
    assert!(std::fs::read(h.path("out.bin")).unwrap() == object);
    assert!(fetched(&h) < object.len() as u64, "the download resumed");
    let small = data(1000, 82);
    h.ok(&["cp", &h.file("small", &small), "s3://data/small"]);
    std::fs::remove_file(h.path("small")).unwrap();
    h.ok(&["--fsync", "cp", "s3://data/small", &h.path_str("small.bin")]);
    assert!(std::fs::read(h.path("small.bin")).unwrap() == small);
    assert_eq!(files(h.work.path()), ["out.bin", "small.bin"]);
}

#[test]
fn a_killed_upload_run_again_sends_only_the_missing_parts() {
    let mut h = Harness::start();
    let part = 5 << 20;
    let file = h.file("big.bin", &data(6 * part, 83));
    h.ok(&["mb", "s3://data"]);
    // Requests: ListMultipartUploads (nothing to resume), CreateMultipartUpload, parts 1 to 3,
    // one at a time; part 4 (request 5) meets the outage.
    h.restart_with(|c| c.with_faults("outage=60s,outage-after=5".parse().unwrap()));
    kill_at_the_outage(&h, &["--part-size", "5MiB", "--concurrency", "1", "cp", &file, "s3://data/big"]);
    h.restart_with(|c| c.with_request_log());
    let listed = h.ok(&["mpu", "ls", "s3://data/"]);
    assert_eq!(String::from_utf8_lossy(&listed.stdout).lines().count(), 1, "the killed run's upload is there");
    h.ok(&["--part-size", "5MiB", "cp", &file, "s3://data/big"]);
    let log = h.request_log();
    let sent: u64 =
        log.iter().filter(|r| r.method == "PUT" && r.query.contains("partNumber=")).map(|r| r.request_bytes).sum();
    assert_eq!(sent, 3 * part as u64, "{log:#?}");
    assert!(sent * 100 <= 6 * part as u64 * 55);
    h.ok(&["cp", "s3://data/big", &h.path_str("back.bin")]);
    assert!(std::fs::read(h.path("back.bin")).unwrap() == std::fs::read(&file).unwrap(), "uploaded object differs");
    let listed = h.ok(&["mpu", "ls", "s3://data/"]);
    assert_eq!(String::from_utf8_lossy(&listed.stdout), "", "{}", stderr(&listed));
}
