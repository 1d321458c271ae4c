//! What `s3io` says when something goes wrong: one clear line per failure, keys escaped, the
//! reason before the summary, the right exit code.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::os::unix::ffi::OsStrExt as _;
use std::process::Command;

use crate::common::{assert_one_line_failure, clean_env, data, stderr, stdout, Harness};

/// A plain web server on loopback answering every request with `response` before reading any
/// request body, then closing the connection: a thread per test, ended with the process.
fn web_server(response: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            // Read up to the end of the request headers; leave any body unread.
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
                match stream.read(&mut byte) {
                    Ok(1) => head.push(byte[0]),
                    _ => break,
                }
            }
            let _ = stream.write_all(response.as_bytes());
            let _ = stream.flush();
            // A lingering close, as web servers do: no more writes, the unread request body
            // drained and dropped (bounded in time), so the client reads the answer rather than
            // a reset.
            let _ = stream.shutdown(std::net::Shutdown::Write);
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            let mut sink = [0u8; 64 * 1024];
            while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
        }
    });
    endpoint
}

/// `s3io ARGS` against `endpoint`.
fn s3io_at(endpoint: &str, args: &[&str]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_s3io"));
    clean_env(&mut command);
    command
        .env("AWS_ACCESS_KEY_ID", "k")
        .env("AWS_SECRET_ACCESS_KEY", "s")
        .env("S3IO_ENDPOINT_URL", endpoint)
        // One attempt: the answers here do not change.
        .args(["--max-attempts", "1"])
        .args(args)
        .stdin(std::process::Stdio::null());
    command.output().unwrap()
}

#[test]
fn control_characters_in_keys_are_escaped_in_every_message() {
    let h = Harness::start();
    h.ok(&["mb", "s3://bkt"]);
    let client = h.client();
    let key = "dir/evil\nforged: line\u{1b}[2J";
    h.runtime.block_on(client.put_object("bkt", key, "x".into(), &Default::default())).unwrap();
    let escaped = "evil\\nforged: line\\u{1b}[2J";
    // A listing: one line, the key escaped.
    let listing = stdout(&h.ok(&["ls", "-r", "s3://bkt/"]));
    assert_eq!(listing.lines().count(), 1, "{listing:?}");
    assert!(listing.contains(escaped), "{listing:?}");
    // Status lines of a recursive download.
    let out = h.path("out");
    let copied = stdout(&h.ok(&["cp", "-r", "s3://bkt/dir/", out.to_str().unwrap()]));
    assert_eq!(copied.lines().count(), 1, "{copied:?}");
    assert!(copied.contains(escaped), "{copied:?}");
    // An error naming a missing key with a line break: one line on stderr.
    let missing = h.run(&["cp", "s3://bkt/missing\nkey", h.path_str("m.bin").as_str()]);
    assert_one_line_failure(&missing, &["missing\\nkey", "NoSuchKey"]);
    // A failure inside a batch.
    let failed = h.run(&["rm", "s3://bkt/dir/evil\nforged: line\u{1b}[2J", "s3://bkt/nothing-here"]);
    assert!(!stderr(&failed).contains('\u{1b}'), "{:?}", stderr(&failed));
}

#[test]
fn a_web_server_is_reported_as_not_an_s3_endpoint() {
    let endpoint = web_server(
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 48\r\nConnection: close\r\n\r\n\
         <html><body><h1>Not Found</h1></body></html>\r\n\r\n",
    );
    let work = tempfile::tempdir().unwrap();
    let target = work.path().join("k");
    let output = s3io_at(&endpoint, &["cp", "s3://bkt/k", target.to_str().unwrap()]);
    assert_one_line_failure(&output, &["s3://bkt/k", "not an S3 endpoint (HTTP 404, body \"<html><body><h1>Not Found"]);
    assert!(!stderr(&output).contains("NoSuchKey"), "{}", stderr(&output));
    let listing = s3io_at(&endpoint, &["ls", "s3://bkt/"]);
    assert_one_line_failure(&listing, &["not an S3 endpoint (HTTP 404"]);
    assert!(!stderr(&listing).contains("NoSuchBucket"), "{}", stderr(&listing));
}

#[test]
fn a_put_refused_before_its_body_is_read_reports_the_s3_error() {
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>\
                <Message>Uploads are closed</Message><RequestId>r1</RequestId></Error>";
    let response: &'static str = Box::leak(
        format!(
            "HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_boxed_str(),
    );
    let endpoint = web_server(response);
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("big.bin");
    std::fs::write(&file, data(4 << 20, 1)).unwrap();
    let output = s3io_at(&endpoint, &["cp", file.to_str().unwrap(), "s3://bkt/big.bin"]);
    assert_one_line_failure(&output, &["s3://bkt/big.bin", "AccessDenied", "Uploads are closed"]);
    assert!(!stderr(&output).to_lowercase().contains("broken pipe"), "{}", stderr(&output));
}

#[test]
fn the_reason_comes_before_the_summary() {
    let h = Harness::start();
    let output = h.run(&["cp", "-r", "s3://no-such-bucket/p/", h.path_str("out").as_str()]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(lines[0].contains("NoSuchBucket"), "{err}");
    assert!(lines[1].starts_with("s3io: 0 objects"), "{err}");
}

#[test]
fn a_failed_object_is_not_reported_twice_over() {
    let h = Harness::start();
    h.ok(&["mb", "s3://bkt"]);
    let output = h.run(&["cp", "s3://bkt/nothing*", h.path_str("out/").as_str()]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let output = h.run(&["rm", "s3://no-such-bucket/k"]);
    let err = stderr(&output);
    for line in err.lines() {
        let first = line.find(" failed: ").map(|i| &line[..i]);
        if let Some(prefix) = first {
            let name = prefix.trim_start_matches("s3io: ");
            assert!(!line[prefix.len()..].contains(&format!("{name} failed")), "doubled: {line}");
        }
    }
}

#[test]
fn unsafe_names_of_single_downloads_are_refused_by_name() {
    let h = Harness::start();
    h.ok(&["mb", "s3://bkt"]);
    let client = h.client();
    let dir = h.path("dl");
    std::fs::create_dir(&dir).unwrap();
    for key in ["a/..", "a/.", "a\\b", "C:evil"] {
        h.runtime.block_on(client.put_object("bkt", key, "x".into(), &Default::default())).unwrap();
        let output = h.run(&["cp", &format!("s3://bkt/{key}"), &format!("{}/", dir.display())]);
        assert_eq!(output.status.code(), Some(1), "{key}: {}", stderr(&output));
        let err = stderr(&output);
        assert!(err.contains(&format!("s3://bkt/{key}")) && err.contains("refusing key"), "{key}: {err}");
    }
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "nothing written");
}

#[test]
fn a_file_name_that_is_not_utf8_is_named() {
    let h = Harness::start();
    h.ok(&["mb", "s3://bkt"]);
    let dir = h.path("up");
    std::fs::create_dir(&dir).unwrap();
    let bad = dir.join(std::ffi::OsStr::from_bytes(b"bad\xff.txt"));
    std::fs::write(&bad, b"x").unwrap();
    // One file: refused by name, as a usage error.
    let single = h.s3io(&["cp"]).arg(&bad).arg("s3://bkt/").output().unwrap();
    assert_eq!(single.status.code(), Some(2), "{}", stderr(&single));
    assert!(stderr(&single).contains("bad\\xff.txt") && stderr(&single).contains("not UTF-8"), "{}", stderr(&single));
    // A directory: that file fails, named; the others go.
    std::fs::write(dir.join("good.txt"), b"y").unwrap();
    let many = h.run(&["cp", "-r", dir.to_str().unwrap(), "s3://bkt/up/"]);
    assert_eq!(many.status.code(), Some(1), "{}", stderr(&many));
    assert!(stderr(&many).contains("bad\\xff.txt"), "{}", stderr(&many));
    assert_eq!(h.head("bkt", "up/good.txt").content_length, 1);
}

#[test]
fn small_upload_part_sizes_and_negative_durations_are_usage_errors() {
    let h = Harness::start();
    h.ok(&["mb", "s3://bkt"]);
    let file = h.file("f.bin", &data(3 << 20, 2));
    let output = h.run(&["--part-size", "1KiB", "cp", &file, "s3://bkt/f.bin"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("part size"), "{}", stderr(&output));
    let output = h.run(&["--stall-timeout", "-1s", "ls"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("negative durations are invalid"), "{}", stderr(&output));
}
