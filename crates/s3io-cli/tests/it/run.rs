//! `s3io run`: a file of commands (or stdin) run as one batch; what each line did is checked on
//! the store (HeadObject, GetObject) and on disk, bad and failing lines by their line numbers,
//! the exit code, and Ctrl-C in the middle of a run.

use std::io::Write as _;
use std::process::Stdio;
use std::time::Duration;

use crate::common::{data, stderr, stdout, Harness};
use crate::signals::{poll_until, send, FaultyAfterSetup};

fn exists(h: &Harness, bucket: &str, key: &str) -> bool {
    match h.runtime.block_on(h.client().head_object(bucket, key)) {
        Ok(_) => true,
        Err(e) if e.is_not_found() => false,
        Err(e) => panic!("head s3://{bucket}/{key}: {e}"),
    }
}

fn get(h: &Harness, bucket: &str, key: &str) -> Vec<u8> {
    let client = h.client();
    h.runtime.block_on(async {
        let object = client.get_object(bucket, key, &Default::default()).await.expect("get object");
        object.collect().await.expect("read object").to_vec()
    })
}

#[test]
fn a_mixed_file_runs_every_good_line_and_names_the_bad_ones() {
    let h = Harness::start();
    h.ok(&["mb", "s3://bkt"]);
    let body = data(300_000, 1);
    h.put_all("bkt", [("src/d.bin".to_owned(), body.clone()), ("src/x.log".to_owned(), b"log".to_vec())]);
    h.put_all("bkt", [("gone/x".to_owned(), b"x".to_vec())]);
    let upload = h.file("a b.txt", b"upload me");
    let moved = h.file("m.txt", b"move me");
    let tree = h.path("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("sub/t.txt"), b"tree").unwrap();
    let out = h.path("out");
    let (out, tree) = (out.to_str().unwrap(), tree.to_str().unwrap());
    let lines = [
        "# uploads, downloads, deletes, a bad line and a failing one".to_owned(),
        format!("cp '{upload}' s3://bkt/up/"),
        format!("cp s3://bkt/src/d.bin {out}/d.bin"),
        String::new(),
        "rm s3://bkt/gone/x".to_owned(),
        "cp --frobnicate s3://bkt/src/d.bin \u{1b}[31mred".to_owned(),
        format!("cp s3://bkt/missing/k {out}/k"),
        format!("mv {moved} s3://bkt/moved/m.txt"),
        format!("cp -r {tree} s3://bkt/tree/"),
        format!("cp 's3://bkt/src/*.log' {out}/logs/"),
        "cp s3://bkt/src/d.bin s3://bkt/copy/".to_owned(),
        "rm 's3://bkt/nothing/*'".to_owned(),
    ];
    let file = h.file("commands.txt", lines.join("\n").as_bytes());
    let output = h.run(&["run", &file]);
    let (out_text, err) = (stdout(&output), stderr(&output));
    assert_eq!(output.status.code(), Some(1), "{err}");

    // Every good line did its work.
    assert_eq!(get(&h, "bkt", "up/a b.txt"), b"upload me");
    assert!(std::fs::read(h.path("out/d.bin")).unwrap() == body);
    assert!(!exists(&h, "bkt", "gone/x"), "the rm line did not delete");
    assert_eq!(get(&h, "bkt", "moved/m.txt"), b"move me");
    assert!(!h.path("m.txt").exists(), "the mv line left its source");
    assert_eq!(get(&h, "bkt", "tree/sub/t.txt"), b"tree");
    assert_eq!(std::fs::read(h.path("out/logs/x.log")).unwrap(), b"log");
    assert_eq!(h.head("bkt", "copy/d.bin").content_length, body.len() as u64);
    assert!(!h.path("out/k").exists());
    assert!(out_text.contains("upload: ") && out_text.contains("copy: s3://bkt/src/d.bin to s3://bkt/copy/d.bin"));

    // The bad line, the failing one and the empty wildcard, each by its number, escaped.
    assert!(!err.contains('\u{1b}'), "a control character reached the terminal: {err:?}");
    let line = |n: u32| {
        err.lines()
            .find(|l| l.starts_with(&format!("s3io: line {n}: ")))
            .unwrap_or_else(|| panic!("no line {n}: {err}"))
    };
    assert!(line(6).contains("--frobnicate") && line(6).contains("\\u{1b}"), "{err}");
    assert!(line(7).contains("s3://bkt/missing/k") && line(7).contains("NoSuchKey"), "{err}");
    assert!(line(12).contains("no object matches s3://bkt/nothing/*"), "{err}");
    assert!(err.contains("3 failed"), "{err}");
    assert!(err.contains("line 6 (") && err.contains("line 7 (s3://bkt/missing/k)"), "{err}");
}

#[test]
fn stdin_lines_run_with_json_records_carrying_their_line() {
    let h = Harness::start();
    h.ok(&["mb", "s3://bkt"]);
    let a = h.file("a", b"aaa");
    let b = h.file("b", b"bb");
    let script = format!("cp {a} s3://bkt/a\n\ncp {b} s3://bkt/b\nrm s3://bkt/never-there\n");
    let mut child = h
        .s3io(&["run", "--json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let mut records: Vec<serde_json::Value> =
        stdout(&output).lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    records.sort_by_key(|r| r["line"].as_u64());
    let seen: Vec<(u64, &str, &str)> = records
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["operation"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(seen, [(1, "upload", "ok"), (3, "upload", "ok"), (4, "delete", "ok")]);
    assert_eq!(get(&h, "bkt", "a"), b"aaa");
    assert_eq!(get(&h, "bkt", "b"), b"bb");
}

#[test]
fn sync_lines_run_beside_the_others() {
    let h = Harness::start();
    h.ok(&["mb", "s3://bkt"]);
    h.put_all("bkt", [("s/stale".to_owned(), b"stale".to_vec())]);
    let dir = h.path("dir");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/x"), b"x").unwrap();
    let file = h.file("commands", format!("sync --delete {} s3://bkt/s/\n", dir.display()).as_bytes());
    let output = h.ok(&["run", &file]);
    assert_eq!(get(&h, "bkt", "s/sub/x"), b"x", "{}", stdout(&output));
    assert!(!exists(&h, "bkt", "s/stale"), "sync --delete kept what the source lacks");
}

#[test]
fn a_dry_run_does_nothing() {
    let h = Harness::start();
    h.ok(&["mb", "s3://bkt"]);
    let a = h.file("a", b"aaa");
    let file = h.file("commands", format!("cp {a} s3://bkt/a\nrm s3://bkt/a\n").as_bytes());
    let output = h.ok(&["run", "--dry-run", &file]);
    assert!(stdout(&output).contains("(dryrun) upload: "), "{}", stdout(&output));
    assert!(!exists(&h, "bkt", "a"));
}

#[test]
fn sigint_during_a_run_aborts_its_uploads_before_exiting_130() {
    // Every PUT's answer is held back: the multipart uploads of both lines stay in flight.
    let h = FaultyAfterSetup::start("stall=1,stall-for=60s,methods=PUT", async |client| {
        client.create_bucket("bkt").await.unwrap()
    });
    let mut lines = String::new();
    for i in 0..2 {
        let file = h.work.path().join(format!("f{i}.bin"));
        std::fs::write(&file, data(12 << 20, i)).unwrap();
        lines.push_str(&format!("cp {} s3://bkt/f{i}.bin\n", file.display()));
    }
    let commands = h.work.path().join("commands");
    std::fs::write(&commands, lines).unwrap();
    let mut child = h.spawn(&["--part-size", "5MiB", "run", commands.to_str().unwrap()]);
    poll_until("both multipart uploads to start", Duration::from_secs(30), || h.uploads("bkt").len() == 2);
    send(&child, "INT");
    let status = crate::common::wait_with_deadline(&mut child, Duration::from_secs(20));
    let output = child.wait_with_output().unwrap();
    assert_eq!(status.code(), Some(130), "{}", stderr(&output));
    assert_eq!(h.uploads("bkt"), Vec::new(), "uploads left after SIGINT: {}", stderr(&output));
}
