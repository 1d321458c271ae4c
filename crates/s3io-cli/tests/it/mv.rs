//! `s3io mv`: a copy, then the source deleted, in every direction, single and many; what is left
//! where is checked on the store (HeadObject, listings) and on disk.

use crate::common::{data, entries, stdout, Harness};

fn bucket() -> Harness {
    let h = Harness::start();
    h.ok(&["mb", "s3://bkt"]);
    h
}

fn exists(h: &Harness, key: &str) -> bool {
    let client = h.client();
    match h.runtime.block_on(client.head_object("bkt", key)) {
        Ok(_) => true,
        Err(e) if e.is_not_found() => false,
        Err(e) => panic!("head s3://bkt/{key}: {e}"),
    }
}

#[test]
fn mv_moves_a_file_up_an_object_across_and_an_object_down() {
    let h = bucket();
    let body = data(70_000, 1);
    let file = h.file("f.bin", &body);

    let output = h.ok(&["mv", &file, "s3://bkt/up/f.bin"]);
    assert!(stdout(&output).starts_with("move: "), "{}", stdout(&output));
    assert!(!h.path("f.bin").exists(), "the uploaded file is still there");
    assert_eq!(h.head("bkt", "up/f.bin").content_length, body.len() as u64);

    h.ok(&["mv", "s3://bkt/up/f.bin", "s3://bkt/across/"]);
    assert!(!exists(&h, "up/f.bin"), "the copied object is still there");
    assert_eq!(h.head("bkt", "across/f.bin").content_length, body.len() as u64);

    let output = h.ok(&["mv", "s3://bkt/across/f.bin", &h.path_str("back.bin")]);
    assert!(stdout(&output).trim_end().ends_with("(CRC64NVME verified)"), "{}", stdout(&output));
    assert!(!exists(&h, "across/f.bin"), "the downloaded object is still there");
    assert!(std::fs::read(h.path("back.bin")).unwrap() == body);
}

#[test]
fn mv_recursive_and_wildcards_delete_only_what_was_moved() {
    let h = bucket();
    let dir = h.path("tree");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("a.txt"), b"a").unwrap();
    std::fs::write(dir.join("sub/b.txt"), b"bb").unwrap();
    h.ok(&["mv", "-r", dir.to_str().unwrap(), "s3://bkt/t/"]);
    assert_eq!(h.head("bkt", "t/a.txt").content_length, 1);
    assert_eq!(h.head("bkt", "t/sub/b.txt").content_length, 2);
    assert!(!dir.join("a.txt").exists() && !dir.join("sub/b.txt").exists(), "moved files are still there");

    // Wildcard, S3 to S3: only the matching key moves (`*` crosses `/`, `a*` matches `a.txt` only).
    h.ok(&["mv", "s3://bkt/t/a*", "s3://bkt/w/"]);
    assert!(exists(&h, "w/a.txt") && !exists(&h, "t/a.txt"));
    assert!(exists(&h, "t/sub/b.txt"), "a key the wildcard does not match was moved");

    // Recursive, S3 to a directory, with --json.
    let output = h.ok(&["mv", "-r", "--json", "s3://bkt/t/", &h.path_str("down")]);
    let record: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(record["operation"], "move");
    assert_eq!(record["status"], "ok");
    assert!(record["checksum"].as_str().unwrap().starts_with("CRC64NVME:"), "{record}");
    assert_eq!(std::fs::read(h.path("down/sub/b.txt")).unwrap(), b"bb");
    assert!(!exists(&h, "t/sub/b.txt"));
    assert_eq!(entries(&h.path("down")), ["sub"]);
}

#[test]
fn mv_keeps_the_source_when_the_copy_fails_and_refuses_what_it_cannot_move() {
    let h = bucket();
    h.put_all("bkt", [("k".to_owned(), b"x".to_vec())]);
    // The destination bucket does not exist: the copy fails, the source stays.
    let output = h.run(&["mv", "s3://bkt/k", "s3://nobucket/k"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(exists(&h, "k"), "a failed move deleted its source");
    // Onto itself, stdin or stdout: usage errors, nothing touched.
    for args in [["mv", "s3://bkt/k", "s3://bkt/k"], ["mv", "s3://bkt/k", "-"], ["mv", "-", "s3://bkt/k"]] {
        let output = h.run(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", crate::common::stderr(&output));
    }
    assert_eq!(h.head("bkt", "k").content_length, 1);
}

#[test]
fn no_follow_symlinks_skips_links_in_walked_directories() {
    let h = bucket();
    let dir = h.path("tree");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("real.txt"), b"real").unwrap();
    std::fs::write(h.path("outside.txt"), b"outside").unwrap();
    std::os::unix::fs::symlink(h.path("outside.txt"), dir.join("link.txt")).unwrap();

    h.ok(&["cp", "-r", "--no-follow-symlinks", dir.to_str().unwrap(), "s3://bkt/nf/"]);
    assert!(exists(&h, "nf/real.txt"));
    assert!(!exists(&h, "nf/link.txt"), "a symbolic link was followed");
    h.ok(&["sync", "--no-follow-symlinks", dir.to_str().unwrap(), "s3://bkt/ns/"]);
    assert!(exists(&h, "ns/real.txt") && !exists(&h, "ns/link.txt"));
    // By default the link is uploaded as the file it points to.
    h.ok(&["cp", "-r", dir.to_str().unwrap(), "s3://bkt/f/"]);
    assert_eq!(h.head("bkt", "f/link.txt").content_length, 7);
}

#[test]
fn a_single_transfer_draws_a_bar_on_a_terminal_unless_no_progress() {
    let h = bucket();
    let file = h.file("big.bin", &data(2 * 1024 * 1024, 4));
    // `script` runs the command on a pseudo-terminal and copies what it wrote.
    let on_a_terminal = |extra: &str| {
        let line = format!("{} cp {extra} {file} s3://bkt/big.bin", env!("CARGO_BIN_EXE_s3io"));
        let mut command = std::process::Command::new("script");
        crate::common::clean_env(&mut command);
        command
            .env("AWS_ACCESS_KEY_ID", crate::common::DEFAULT_ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", crate::common::DEFAULT_SECRET_KEY)
            .env("S3IO_ENDPOINT_URL", &h.endpoint)
            .args(["-qec", &line, "/dev/null"])
            .stdin(std::process::Stdio::null());
        let output = command.output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let drawn = on_a_terminal("");
    assert!(drawn.contains("ETA"), "no bar drawn: {drawn:?}");
    assert!(drawn.contains("upload: "), "{drawn:?}");
    let plain = on_a_terminal("--no-progress");
    assert!(!plain.contains("ETA"), "a bar despite --no-progress: {plain:?}");
    assert!(plain.contains("upload: "), "{plain:?}");
    assert_eq!(h.head("bkt", "big.bin").content_length, 2 * 1024 * 1024);
}
