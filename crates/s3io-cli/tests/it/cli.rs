//! The `s3io` binary against the embedded S3 server, over real HTTP.
//!
//! Each test starts its own server (`s3io_server::start` on 127.0.0.1:0, in a temporary
//! directory, on a runtime of its own) and runs the built binary against it with a clean
//! environment: static credentials in `AWS_*`, no profile files, no endpoint variables.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::*;

#[test]
fn cp_round_trip_is_byte_exact() {
    let h = Harness::start();
    h.ok(&["mb", "s3://data"]);
    // Above the 8 MiB multipart threshold (two parts up) and not a multiple of any part size;
    // downloaded in 1 MiB ranged parts.
    let original = data(12 * 1024 * 1024 + 12_345, 1);
    let source = h.file("original.bin", &original);
    let up = h.ok(&["cp", &source, "s3://data/dir/object.bin"]);
    assert!(stdout(&up).contains("upload:"), "{}", stdout(&up));
    let target = h.path_str("copy.bin");
    h.ok(&["--part-size", "1MiB", "cp", "s3://data/dir/object.bin", &target]);
    assert!(std::fs::read(&target).unwrap() == original, "downloaded bytes differ");
    // As `aws s3 cp` does, the file takes the object's time.
    h.assert_has_object_time(Path::new(&target), "data", "dir/object.bin");
    // Nothing but the two files: no temporary file left next to the download.
    assert_eq!(entries(h.work.path()), ["copy.bin", "original.bin"]);
}

#[test]
fn cp_empty_object_round_trips() {
    let h = Harness::start();
    h.ok(&["mb", "s3://data"]);
    let source = h.file("empty", b"");
    h.ok(&["cp", &source, "s3://data/empty"]);
    let target = h.path_str("empty.out");
    h.ok(&["cp", "s3://data/empty", &target]);
    assert_eq!(std::fs::read(&target).unwrap(), b"");
}

#[test]
fn cp_to_prefix_and_directory_append_the_name() {
    let h = Harness::start();
    h.ok(&["mb", "s3://data"]);
    let source = h.file("report.csv", b"a,b\n1,2\n");
    h.ok(&["cp", &source, "s3://data/reports/"]);
    let listing = stdout(&h.ok(&["ls", "s3://data/reports/"]));
    assert!(listing.contains(" report.csv"), "{listing}");
    std::fs::create_dir(h.path("out")).unwrap();
    h.ok(&["cp", "s3://data/reports/report.csv", &h.path_str("out")]);
    assert_eq!(std::fs::read(h.path("out/report.csv")).unwrap(), b"a,b\n1,2\n");
    h.ok(&["cp", "s3://data/reports/report.csv", &format!("{}/", h.path_str("new"))]);
    assert_eq!(std::fs::read(h.path("new/report.csv")).unwrap(), b"a,b\n1,2\n");
}

#[test]
fn cp_to_stdout_and_cat_write_the_object() {
    let h = Harness::start();
    h.ok(&["mb", "s3://data"]);
    let original = data(3 * 1024 * 1024 + 7, 2);
    let source = h.file("o.bin", &original);
    h.ok(&["cp", &source, "s3://data/o.bin"]);
    let out = h.ok(&["--part-size", "1MiB", "cp", "s3://data/o.bin", "-"]);
    assert!(out.stdout == original, "cp to stdout: bytes differ");
    let out = h.ok(&["cat", "s3://data/o.bin"]);
    assert!(out.stdout == original, "cat: bytes differ");
}

#[test]
fn cp_from_stdin_uploads() {
    let h = Harness::start();
    h.ok(&["mb", "s3://data"]);
    let original = data(100_000, 3);
    let mut child = h.s3io(&["cp", "-", "s3://data/from-stdin"]).stdin(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(&original).unwrap();
    assert!(child.wait().unwrap().success());
    assert!(h.ok(&["cat", "s3://data/from-stdin"]).stdout == original);
}

#[test]
fn cp_between_buckets_is_a_server_side_copy() {
    let h = Harness::start();
    h.ok(&["mb", "s3://one"]);
    h.ok(&["mb", "s3://two"]);
    let source = h.file("f", b"copied bytes");
    h.ok(&["cp", &source, "s3://one/a/f"]);
    h.ok(&["cp", "s3://one/a/f", "s3://two/b/"]);
    assert_eq!(h.ok(&["cat", "s3://two/b/f"]).stdout, b"copied bytes");
}

#[test]
fn ls_shows_buckets_prefixes_keys_and_sizes() {
    let h = Harness::start();
    h.ok(&["mb", "s3://data"]);
    h.ok(&["cp", &h.file("a", &data(1234, 4)), "s3://data/top.bin"]);
    h.ok(&["cp", &h.file("b", &data(2048, 5)), "s3://data/dir/inner.bin"]);

    let buckets = stdout(&h.ok(&["ls"]));
    assert!(buckets.lines().any(|l| l.ends_with(" data")), "{buckets}");

    let top = stdout(&h.ok(&["ls", "s3://data"]));
    let lines: Vec<&str> = top.lines().collect();
    assert!(lines.contains(&"                           PRE dir/"), "{top}");
    let object = lines.iter().find(|l| l.ends_with(" top.bin")).unwrap_or_else(|| panic!("{top}"));
    assert_eq!(object.split_whitespace().nth(2), Some("1234"), "{object}");
    assert!(!top.contains("inner.bin"), "{top}");

    let all = stdout(&h.ok(&["ls", "--recursive", "--summarize", "s3://data"]));
    assert!(all.lines().any(|l| l.ends_with(" 2048 dir/inner.bin")), "{all}");
    assert!(all.contains("Total Objects: 2"), "{all}");
    assert!(all.contains("Total Size: 3282"), "{all}");

    let human = stdout(&h.ok(&["ls", "-H", "s3://data/dir/"]));
    assert!(human.contains("2.00 KiB inner.bin"), "{human}");
}

#[test]
fn ls_follows_every_page() {
    let h = Harness::start();
    h.ok(&["mb", "s3://many"]);
    h.put_all("many", (0..1_050).map(|i| (format!("k/{i:05}"), b"x".to_vec())));
    let listing = stdout(&h.ok(&["ls", "--recursive", "s3://many"]));
    assert_eq!(listing.lines().count(), 1_050);
    assert!(listing.lines().last().unwrap().ends_with(" k/01049"));
}

#[test]
fn rm_deletes_one_object() {
    let h = Harness::start();
    h.ok(&["mb", "s3://data"]);
    h.ok(&["cp", &h.file("a", b"x"), "s3://data/gone"]);
    h.ok(&["cp", &h.file("b", b"y"), "s3://data/kept"]);
    let out = h.ok(&["rm", "s3://data/gone"]);
    assert!(stdout(&out).contains("delete: s3://data/gone"));
    let listing = stdout(&h.ok(&["ls", "s3://data"]));
    assert!(!listing.contains("gone") && listing.contains("kept"), "{listing}");
    assert_eq!(h.run(&["cat", "s3://data/gone"]).status.code(), Some(1));
}

#[test]
fn rm_recursive_deletes_in_batches_and_dry_run_deletes_nothing() {
    let h = Harness::start();
    h.ok(&["mb", "s3://data"]);
    let keys = (0..1_003).map(|i| format!("logs/{i:04}")).chain(["logs2/keep".to_owned()]);
    h.put_all("data", keys.map(|key| (key, b"x".to_vec())));
    let dry = h.ok(&["rm", "--recursive", "--dry-run", "s3://data/logs"]);
    assert_eq!(stdout(&dry).lines().filter(|l| l.starts_with("(dryrun) delete: s3://data/logs/")).count(), 1_003);
    assert_eq!(stdout(&h.ok(&["ls", "--recursive", "s3://data"])).lines().count(), 1_004);

    let out = h.ok(&["--quiet", "rm", "--recursive", "s3://data/logs"]);
    assert!(out.stdout.is_empty(), "--quiet printed {}", stdout(&out));
    let left = stdout(&h.ok(&["ls", "--recursive", "s3://data"]));
    assert_eq!(left.lines().count(), 1, "{left}");
    assert!(left.contains("logs2/keep"), "{left}");
}

#[test]
fn mb_and_rb() {
    let h = Harness::start();
    assert!(stdout(&h.ok(&["mb", "s3://fresh"])).contains("make_bucket: fresh"));
    h.ok(&["cp", &h.file("a", b"x"), "s3://fresh/a"]);
    let not_empty = h.run(&["rb", "s3://fresh"]);
    assert_one_line_failure(&not_empty, &["DeleteBucket", "fresh"]);
    assert!(stdout(&h.ok(&["rb", "--force", "s3://fresh"])).contains("remove_bucket: fresh"));
    assert!(!stdout(&h.ok(&["ls"])).contains("fresh"));
}

#[test]
fn missing_bucket_is_exit_1_naming_the_bucket() {
    let h = Harness::start();
    let out = h.run(&["cp", "s3://no-such-bucket/key.bin", &h.path_str("out.bin")]);
    assert_one_line_failure(&out, &["no-such-bucket", "NoSuchBucket"]);
    assert!(entries(h.work.path()).is_empty(), "left behind: {:?}", entries(h.work.path()));
    let out = h.run(&["ls", "s3://no-such-bucket"]);
    assert_one_line_failure(&out, &["ListObjectsV2", "no-such-bucket"]);
}

#[test]
fn missing_key_is_exit_1_and_leaves_no_file() {
    let h = Harness::start();
    h.ok(&["mb", "s3://data"]);
    let out = h.run(&["cp", "s3://data/missing/key.bin", &h.path_str("out.bin")]);
    assert_one_line_failure(&out, &["s3://data/missing/key.bin", "NoSuchKey"]);
    assert!(entries(h.work.path()).is_empty(), "left behind: {:?}", entries(h.work.path()));
    // An existing file is left exactly as it was.
    let existing = h.file("existing.bin", b"precious");
    let out = h.run(&["cp", "s3://data/missing/key.bin", &existing]);
    assert_one_line_failure(&out, &["s3://data/missing/key.bin"]);
    assert_eq!(std::fs::read(&existing).unwrap(), b"precious");
    assert_eq!(entries(h.work.path()), ["existing.bin"]);
}

#[test]
fn bad_credentials_are_exit_1_naming_bucket_and_key() {
    let h = Harness::start();
    h.ok(&["mb", "s3://data"]);
    h.ok(&["cp", &h.file("a", b"x"), "s3://data/k"]);
    let out = h.s3io_as(DEFAULT_ACCESS_KEY, "wrong-secret", &["cp", "s3://data/k", &h.path_str("k")]).output().unwrap();
    assert_one_line_failure(&out, &["s3://data/k", "HTTP 403"]);
    assert_eq!(entries(h.work.path()), ["a"]);
    let out = h.s3io_as("unknown-key", "whatever", &["cp", &h.path_str("a"), "s3://data/k2"]).output().unwrap();
    assert_one_line_failure(&out, &["s3://data/k2", "HTTP 403"]);
}

#[test]
fn unreachable_endpoint_is_exit_1() {
    let h = Harness::start();
    // A port nothing listens on: bind one, then free it. A dead endpoint is waited for up to the
    // retry timeout (60 s by default): 1 s keeps the test short.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out =
        h.run(&["--endpoint-url", &format!("http://127.0.0.1:{port}"), "--retry-timeout", "1s", "cat", "s3://data/k"]);
    assert_one_line_failure(&out, &["s3://data/k"]);
}

#[test]
fn usage_errors_are_exit_2() {
    let h = Harness::start();
    for args in [
        &["cp", "local-a", "local-b"][..],
        &["cp", "s3://data/dir/", "out"],
        &["rm", "s3://data"],
        &["mb", "s3://data/key"],
        &["--memory-limit", "lots", "ls"],
        &["--concurrency", "0", "ls"],
        &["presign", "s3://data/k", "--expires-in", "0"],
        &["--max-attempts", "0", "ls"],
        &["--stall-timeout", "soon", "ls"],
        &["--read-timeout", "0s", "ls"],
        // Faults need the embedded server, not the endpoint S3IO_ENDPOINT_URL names.
        &["bench", "--bucket", "data", "--faults", "503=0.1"],
        &["bench", "--faults", "503=2"],
        &["frobnicate"],
    ] {
        let out = h.run(args);
        assert_eq!(out.status.code(), Some(2), "s3io {args:?}: {}", stderr(&out));
    }
}

#[test]
fn broken_pipe_exits_quietly() {
    let h = Harness::start();
    h.ok(&["mb", "s3://data"]);
    h.ok(&["cp", &h.file("big", &data(8 * 1024 * 1024, 6)), "s3://data/big"]);
    let mut child = h.s3io(&["cat", "s3://data/big"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut first = [0u8; 1024];
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert!(out.stderr.is_empty(), "stderr: {}", stderr(&out));
}

#[test]
fn presigned_get_url_works_without_credentials() {
    let h = Harness::start();
    h.ok(&["mb", "s3://data"]);
    h.ok(&["cp", &h.file("a", b"presigned body"), "s3://data/p.txt"]);
    let url = stdout(&h.ok(&["presign", "s3://data/p.txt", "--expires-in", "600"])).trim().to_owned();
    assert!(url.starts_with(&format!("{}/data/p.txt?", h.endpoint)), "{url}");
    assert!(url.contains("X-Amz-Expires=600") && url.contains("X-Amz-Signature="), "{url}");
    // A plain HTTP GET of the URL, no signing.
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("presigned body"), "{response}");
}

#[test]
fn ctrl_c_cancels_a_download_and_removes_its_temporary_file() {
    // Every GET body is held back for 30 s: the download is in flight when Ctrl-C comes.
    let h = Harness::start_with(|c| c.with_faults("stall=1,stall-for=30s,methods=GET".parse().unwrap()));
    h.ok(&["mb", "s3://data"]);
    h.ok(&["cp", &h.file("src", &data(3 * 1024 * 1024, 7)), "s3://data/slow"]);
    std::fs::remove_file(h.path("src")).unwrap();
    let before = h.requests();
    let mut child = h
        .s3io(&["--part-size", "1MiB", "cp", "s3://data/slow", &h.path_str("slow.bin")])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Ctrl-C once the download is under way: its temporary file exists and every part is asked
    // for (the first GET, then the other two parts).
    wait_until(Duration::from_secs(20), "the download's temporary file and requests", || {
        !entries(h.work.path()).is_empty() && h.requests() >= before + 3
    });
    let status = interrupt_and_wait(&mut child);
    assert_eq!(status.code(), Some(130));
    assert!(entries(h.work.path()).is_empty(), "left behind: {:?}", entries(h.work.path()));
}

#[test]
fn serve_refuses_a_bad_fault_spec_naming_it() {
    let root = tempfile::tempdir().unwrap();
    for (spec, needle) in [("503=2", "503"), ("outage-after=3", "outage"), ("frobnicate=1", "frobnicate")] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_s3io"));
        clean_env(&mut command);
        let output = command
            .args(["serve", "--root", root.path().to_str().unwrap(), "--addr", "127.0.0.1:0", "--faults", spec])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "--faults {spec}: {err}");
        assert!(err.contains(needle), "--faults {spec}: {err}");
        assert!(output.stdout.is_empty(), "--faults {spec} started a server: {}", stdout(&output));
    }
}

#[test]
fn serve_refuses_a_bad_network_spec_naming_it() {
    let root = tempfile::tempdir().unwrap();
    for (spec, needle) in [("down=40MB", "down"), ("rtt=20", "rtt"), ("latency=5ms", "latency")] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_s3io"));
        clean_env(&mut command);
        let output = command
            .args(["serve", "--root", root.path().to_str().unwrap(), "--addr", "127.0.0.1:0", "--network", spec])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "--network {spec}: {err}");
        assert!(err.contains(needle) && err.contains("--network"), "--network {spec}: {err}");
        assert!(output.stdout.is_empty(), "--network {spec} started a server: {}", stdout(&output));
    }
}

#[test]
fn serve_runs_an_endpoint_until_ctrl_c() {
    let root = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_s3io"));
    clean_env(&mut command);
    let mut server = command
        .args(["serve", "--root", root.path().to_str().unwrap(), "--addr", "127.0.0.1:0"])
        .env_remove("S3IO_ACCESS_KEY")
        .env_remove("S3IO_SECRET_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // The first line names the endpoint.
    let mut stdout = server.stdout.take().unwrap();
    let mut banner = Vec::new();
    let mut byte = [0u8; 1];
    while !banner.ends_with(b"\n") {
        assert_eq!(stdout.read(&mut byte).unwrap(), 1, "server exited before printing its endpoint");
        banner.push(byte[0]);
    }
    let banner = String::from_utf8(banner).unwrap();
    let endpoint = banner.split_whitespace().last().unwrap().to_owned();
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{banner}");

    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("f");
    std::fs::write(&file, b"served").unwrap();
    let cli = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_s3io"));
        clean_env(&mut command);
        command
            .env("AWS_ACCESS_KEY_ID", DEFAULT_ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", DEFAULT_SECRET_KEY)
            .arg("--endpoint-url")
            .arg(&endpoint)
            .args(args)
            .output()
            .unwrap()
    };
    assert!(cli(&["mb", "s3://served"]).status.success());
    assert!(cli(&["cp", file.to_str().unwrap(), "s3://served/f"]).status.success());
    assert_eq!(cli(&["cat", "s3://served/f"]).stdout, b"served");

    interrupt(&server);
    let status = wait_with_deadline(&mut server, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(rest.contains(DEFAULT_ACCESS_KEY) && rest.contains("stopped"), "{rest}");
}
