//! `s3io sync` against the embedded S3 server, over real HTTP: local → S3, S3 → local, S3 → S3,
//! second runs that copy nothing, `--delete`, `--dry-run`, filters, `--checksum` and odd keys.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::common::{data, stderr, stdout, Harness};
use futures::StreamExt as _;

impl Harness {
    /// Objects' keys under `prefix` in `bucket`, in listing order.
    fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let client = self.client();
        let mut options = s3io::types::ListObjectsOptions::default();
        options.prefix = Some(prefix.to_owned()).filter(|p| !p.is_empty());
        let page = self.runtime.block_on(client.list_objects_v2(bucket, &options)).unwrap();
        assert!(page.next_continuation_token.is_none(), "the tests list one page");
        page.objects.into_iter().map(|o| o.key).collect()
    }

    /// Creates `bucket` holding `objects` (key, bytes), through the server.
    fn bucket_with(&self, bucket: &str, objects: &[(&str, &[u8])]) {
        let client = self.client();
        self.runtime.block_on(client.create_bucket(bucket)).unwrap();
        self.put_all(bucket, objects.iter().map(|(key, bytes)| ((*key).to_owned(), bytes.to_vec())));
    }

    /// Writes the files of `tree` (relative path, bytes) under the work directory's `dir`.
    fn tree(&self, dir: &str, tree: &[(&str, &[u8])]) -> String {
        for (relative, bytes) in tree {
            let path = self.path(dir).join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
        self.path_str(dir)
    }
}

/// The status lines of a run that start with `verb:`, sorted.
fn lines(output: &std::process::Output, verb: &str) -> Vec<String> {
    let prefix = format!("{verb}: ");
    let mut found: Vec<String> = stdout(output).lines().filter(|l| l.starts_with(&prefix)).map(str::to_owned).collect();
    found.sort();
    found
}

/// Status lines (`upload: …`, `(dryrun) …`), not the summary (which goes to stderr).
fn status_lines(output: &std::process::Output) -> usize {
    stdout(output).lines().count()
}

/// Sets a file's modification time.
fn set_mtime(path: &Path, time: SystemTime) {
    std::fs::File::options().write(true).open(path).unwrap().set_modified(time).unwrap();
}

fn mtime(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

fn whole_seconds(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs()
}

#[test]
fn local_to_s3_copies_what_differs_and_nothing_the_second_time() {
    let h = Harness::start();
    h.ok(&["mb", "s3://data"]);
    // `a-b` sorts before `a/b` as keys, after the directory `a` in a walk.
    let dir = h.tree("src", &[("a-b", b"1"), ("a/b", b"22"), ("a/c/d.txt", b"333"), ("empty", b""), ("z", b"4444")]);
    let first = h.ok(&["sync", &dir, "s3://data/backup"]);
    assert_eq!(lines(&first, "upload").len(), 5, "{}", stdout(&first));
    assert!(
        lines(&first, "upload").iter().any(|l| l.ends_with(" to s3://data/backup/a/c/d.txt")),
        "{}",
        stdout(&first)
    );
    assert_eq!(h.keys("data", ""), ["backup/a-b", "backup/a/b", "backup/a/c/d.txt", "backup/empty", "backup/z"]);

    let second = h.ok(&["sync", &dir, "s3://data/backup/"]);
    assert_eq!(status_lines(&second), 0, "second sync: {}", stdout(&second));

    // A new size is uploaded; so is the same size with a later time.
    std::fs::write(h.path("src/a/b"), b"changed").unwrap();
    std::fs::write(h.path("src/z"), b"5555").unwrap();
    set_mtime(&h.path("src/z"), SystemTime::now() + Duration::from_secs(3600));
    let third = h.ok(&["sync", &dir, "s3://data/backup"]);
    let uploads = lines(&third, "upload");
    assert_eq!(uploads.len(), 2, "{uploads:?}");
    assert!(uploads[0].ends_with(" to s3://data/backup/a/b") && uploads[1].ends_with(" to s3://data/backup/z"));
    assert_eq!(h.ok(&["cat", "s3://data/backup/z"]).stdout, b"5555");
}

#[test]
fn local_to_s3_delete_and_dry_run() {
    let h = Harness::start();
    // The local files first: `keep` must not be newer than its object, which it would be (by a
    // whole second) if the object were stored before a second boundary and the file after it.
    let dir = h.tree("src", &[("keep", b"k"), ("new", b"n")]);
    h.bucket_with(
        "data",
        &[("p/keep", b"k"), ("p/extra", b"x"), ("p/old/deep", b"y"), ("p2/outside", b"o"), ("q", b"q")],
    );

    let dry = h.ok(&["sync", "--delete", "--dry-run", &dir, "s3://data/p"]);
    assert_eq!(
        lines(&dry, "(dryrun) delete"),
        ["(dryrun) delete: s3://data/p/extra", "(dryrun) delete: s3://data/p/old/deep"]
    );
    assert_eq!(lines(&dry, "(dryrun) upload").len(), 1, "{}", stdout(&dry));
    assert!(!stdout(&dry).contains("s3://data/p/keep"), "{}", stdout(&dry));
    let before = ["p/extra", "p/keep", "p/old/deep", "p2/outside", "q"];
    assert_eq!(h.keys("data", ""), before, "a dry run changed the bucket");

    // Without --delete the extra keys stay.
    h.ok(&["sync", &dir, "s3://data/p"]);
    assert_eq!(h.keys("data", "p/").len(), 4);

    let out = h.ok(&["sync", "--delete", &dir, "s3://data/p"]);
    assert_eq!(lines(&out, "delete"), ["delete: s3://data/p/extra", "delete: s3://data/p/old/deep"]);
    // Everything outside the prefix stays.
    assert_eq!(h.keys("data", ""), ["p/keep", "p/new", "p2/outside", "q"]);
}

#[test]
fn s3_to_local_sets_times_and_deletes_only_inside_the_destination() {
    let h = Harness::start();
    h.bucket_with("data", &[("p/a.txt", b"alpha"), ("p/sub/b.bin", &data(70_000, 1)), ("other", b"o")]);
    let dst = h.path("dst");
    let dst_str = h.path_str("dst");

    let first = h.ok(&["sync", "s3://data/p", &dst_str]);
    assert_eq!(lines(&first, "download").len(), 2, "{}", stdout(&first));
    assert_eq!(std::fs::read(dst.join("a.txt")).unwrap(), b"alpha");
    assert!(std::fs::read(dst.join("sub/b.bin")).unwrap() == data(70_000, 1));
    assert!(!dst.join("other").exists());
    let modified = h.head("data", "p/a.txt").last_modified.unwrap();
    assert_eq!(whole_seconds(mtime(&dst.join("a.txt"))), whole_seconds(modified));

    let second = h.ok(&["sync", "s3://data/p/", &dst_str]);
    assert_eq!(status_lines(&second), 0, "second sync: {}", stdout(&second));

    // A file changed locally (same size, other time) is restored; extra files go with --delete.
    std::fs::write(dst.join("a.txt"), b"ALPHA").unwrap();
    set_mtime(&dst.join("a.txt"), SystemTime::now() - Duration::from_secs(86_400));
    std::fs::write(dst.join("extra.txt"), b"e").unwrap();
    std::fs::create_dir_all(dst.join("sub/deeper")).unwrap();
    std::fs::write(dst.join("sub/deeper/x"), b"x").unwrap();
    // A sibling of the destination that shares its name as a prefix.
    std::fs::create_dir_all(h.path("dst2")).unwrap();
    std::fs::write(h.path("dst2/keep"), b"k").unwrap();

    let dry = h.ok(&["sync", "--delete", "--dry-run", "s3://data/p", &dst_str]);
    assert_eq!(lines(&dry, "(dryrun) delete").len(), 2, "{}", stdout(&dry));
    assert_eq!(lines(&dry, "(dryrun) download").len(), 1, "{}", stdout(&dry));
    assert!(dst.join("extra.txt").exists() && dst.join("sub/deeper/x").exists());
    assert_eq!(std::fs::read(dst.join("a.txt")).unwrap(), b"ALPHA");

    let out = h.ok(&["sync", "--delete", "s3://data/p", &dst_str]);
    assert_eq!(lines(&out, "delete").len(), 2, "{}", stdout(&out));
    assert_eq!(std::fs::read(dst.join("a.txt")).unwrap(), b"alpha");
    assert!(!dst.join("extra.txt").exists() && !dst.join("sub/deeper/x").exists());
    assert!(h.path("dst2/keep").exists());
    assert_eq!(status_lines(&h.ok(&["sync", "--delete", "s3://data/p", &dst_str])), 0);
}

#[cfg(unix)]
#[test]
fn s3_to_local_delete_never_follows_a_link_out_of_the_destination() {
    let h = Harness::start();
    h.bucket_with("data", &[("a", b"a")]);
    let outside = h.tree("outside", &[("precious", b"p")]);
    std::fs::create_dir_all(h.path("dst")).unwrap();
    std::os::unix::fs::symlink(&outside, h.path("dst/link")).unwrap();
    let out = h.run(&["sync", "--delete", "s3://data", &h.path_str("dst")]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("link/precious"), "{}", stderr(&out));
    assert!(h.path("outside/precious").exists(), "deleted through a link");
    assert_eq!(std::fs::read(h.path("dst/a")).unwrap(), b"a");
}

#[cfg(unix)]
#[test]
fn deletes_stop_when_part_of_the_source_cannot_be_read() {
    let h = Harness::start();
    h.bucket_with("data", &[("broken", b"remote copy"), ("zzz", b"z")]);
    let dir = h.tree("src", &[("a", b"a")]);
    std::os::unix::fs::symlink(h.path("nowhere"), h.path("src/broken")).unwrap();
    let out = h.run(&["sync", "--delete", &dir, "s3://data"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("broken"), "{}", stderr(&out));
    assert!(stderr(&out).contains("nothing more is deleted"), "{}", stderr(&out));
    // `broken` is unreadable, not gone: neither it nor what follows it is deleted.
    assert_eq!(h.keys("data", ""), ["a", "broken", "zzz"]);
    // An unreadable last entry is reported too.
    std::fs::create_dir_all(h.path("last")).unwrap();
    std::os::unix::fs::symlink(h.path("nowhere"), h.path("last/zz")).unwrap();
    let out = h.run(&["sync", &h.path_str("last"), "s3://data/last"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("last/zz"), "{}", stderr(&out));
}

#[test]
fn s3_to_s3_copies_then_nothing_then_deletes() {
    let h = Harness::start();
    h.bucket_with("one", &[("src/a", b"a"), ("src/b/c", b"bc")]);
    h.bucket_with("two", &[("dst/stale", b"s"), ("dst/b/c", b"old-and-longer")]);
    let first = h.ok(&["sync", "s3://one/src", "s3://two/dst"]);
    assert_eq!(
        lines(&first, "copy"),
        ["copy: s3://one/src/a to s3://two/dst/a", "copy: s3://one/src/b/c to s3://two/dst/b/c",]
    );
    assert_eq!(h.ok(&["cat", "s3://two/dst/b/c"]).stdout, b"bc");
    assert_eq!(status_lines(&h.ok(&["sync", "s3://one/src", "s3://two/dst"])), 0);
    let out = h.ok(&["sync", "--delete", "s3://one/src/", "s3://two/dst/"]);
    assert_eq!(lines(&out, "delete"), ["delete: s3://two/dst/stale"]);
    assert_eq!(h.keys("two", ""), ["dst/a", "dst/b/c"]);
}

#[test]
fn many_keys_across_listing_pages() {
    const KEYS: usize = 1_010;
    let h = Harness::start();
    let client = h.client();
    // More than one ListObjectsV2 page (1,000 keys) on each side.
    h.runtime.block_on(async {
        client.create_bucket("many").await.unwrap();
        let puts = (0..KEYS).map(|i| {
            let key = format!("k/{:02}/{i:05}", i % 7);
            let client = &client;
            async move { client.put_object("many", &key, "x".into(), &Default::default()).await.unwrap() }
        });
        futures::stream::iter(puts).buffer_unordered(16).collect::<Vec<_>>().await;
    });
    let dst = h.path_str("dst");
    let first = h.ok(&["sync", "s3://many/k", &dst]);
    assert_eq!(lines(&first, "download").len(), KEYS);
    assert_eq!(status_lines(&h.ok(&["sync", "s3://many/k", &dst])), 0);
    // The tree just downloaded holds what the prefix holds, at the objects' times: nothing to
    // upload or delete the other way either.
    assert_eq!(status_lines(&h.ok(&["sync", "--delete", &dst, "s3://many/k"])), 0);
}

#[test]
fn delete_removes_nothing_when_the_source_listing_fails_mid_way() {
    let mut h = Harness::start();
    h.ok(&["mb", "s3://many"]);
    // Two ListObjectsV2 pages (1,000 keys, then 10).
    h.put_all("many", (0..1_010).map(|i| (format!("k/{i:05}"), b"x".to_vec())));
    let dst = h.path_str("dst");
    h.ok(&["sync", "s3://many/k", &dst]);
    // The premise: with the destination up to date, a sync sends its two listing requests, nothing
    // more.
    let before = h.requests();
    assert_eq!(status_lines(&h.ok(&["sync", "--delete", "s3://many/k", &dst])), 0);
    assert_eq!(h.requests() - before, 2, "an up-to-date sync did more than list two pages");
    // Files the source does not have, sorting before and after every key.
    std::fs::write(h.path("dst/0-extra"), b"e").unwrap();
    std::fs::write(h.path("dst/zz-extra"), b"e").unwrap();
    // The first page (request 0) is answered; then the server is gone for a minute.
    h.restart_with_faults("outage=60s,outage-after=1");
    let out = h.run(&["--max-attempts", "1", "sync", "--delete", "s3://many/k", &dst]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("ListObjectsV2"), "{}", stderr(&out));
    assert!(lines(&out, "delete").is_empty(), "deleted with half a listing: {}", stdout(&out));
    assert!(h.path("dst/0-extra").exists() && h.path("dst/zz-extra").exists(), "a file was deleted");
    assert_eq!(crate::common::entries(&h.path("dst")).len(), 1_012);
}

#[test]
fn filters_apply_to_both_sides() {
    let h = Harness::start();
    h.bucket_with("data", &[("p/remote.log", b"r"), ("p/remote.txt", b"t")]);
    let dir = h.tree("src", &[("a.txt", b"a"), ("b.log", b"b"), ("keep.log", b"k"), ("sub/c.log", b"c")]);
    let out = h.ok(&["sync", "--delete", "--exclude", "*.log", "--include", "keep.log", &dir, "s3://data/p"]);
    assert_eq!(
        lines(&out, "upload").iter().map(|l| l.rsplit(' ').next().unwrap().to_owned()).collect::<Vec<_>>(),
        ["s3://data/p/a.txt", "s3://data/p/keep.log"]
    );
    // remote.log is excluded, so not deleted; remote.txt is not, so it is.
    assert_eq!(lines(&out, "delete"), ["delete: s3://data/p/remote.txt"]);
    assert_eq!(h.keys("data", ""), ["p/a.txt", "p/keep.log", "p/remote.log"]);
}

#[test]
fn odd_keys_round_trip_and_unsafe_keys_are_refused() {
    let h = Harness::start();
    let names = ["sp ace", "plus+sign", "per%cent", "é/ü", "q?uery&amp", "a-b", "a/b", "tab\there", "~tilde"];
    let tree: Vec<(&str, &[u8])> = names.iter().map(|n| (*n, n.as_bytes())).collect();
    let dir = h.tree("src", &tree);
    h.ok(&["mb", "s3://data"]);
    h.ok(&["sync", &dir, "s3://data/odd"]);
    let mut expected: Vec<String> = names.iter().map(|n| format!("odd/{n}")).collect();
    expected.sort();
    assert_eq!(h.keys("data", "odd/"), expected);
    assert_eq!(status_lines(&h.ok(&["sync", &dir, "s3://data/odd"])), 0);

    let back = h.path_str("back");
    h.ok(&["sync", "s3://data/odd", &back]);
    for name in names {
        assert_eq!(std::fs::read(h.path("back").join(name)).unwrap(), name.as_bytes(), "{name}");
    }
    assert_eq!(status_lines(&h.ok(&["sync", "--delete", "s3://data/odd", &back])), 0);

    // Keys that are no safe file name are refused by name; the rest is synced. (The embedded
    // server itself refuses `../x`, `/abs` and `a//b`; the unit tests of `cmd::sync` cover them.)
    h.bucket_with("evil", &[("back\\slash", b"b"), ("C:drive", b"c"), ("fine", b"f")]);
    let out = h.run(&["sync", "s3://evil", &h.path_str("safe")]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("s3://evil/back\\slash"), "{}", stderr(&out));
    assert!(stderr(&out).contains("s3://evil/C:drive"), "{}", stderr(&out));
    assert_eq!(crate::common::entries(&h.path("safe")), ["fine"]);
}

#[test]
fn checksum_compares_content_not_times() {
    let h = Harness::start();
    h.ok(&["mb", "s3://data"]);
    let dir = h.tree("src", &[("same", b"unchanged"), ("diff", b"version-1")]);
    h.ok(&["sync", &dir, "s3://data"]);
    // Uploads carry a full-object CRC64NVME, which --checksum compares with the file's.
    let checksums = h.head("data", "same").checksums;
    assert!(checksums.iter().any(|c| c.algorithm == s3io::config::ChecksumAlgorithm::Crc64Nvme), "{checksums:?}");
    // Same bytes, later time: the default uploads again, --checksum does not.
    set_mtime(&h.path("src/same"), SystemTime::now() + Duration::from_secs(3600));
    // Other bytes of the same size, older time: the default keeps it, --checksum uploads.
    std::fs::write(h.path("src/diff"), b"version-2").unwrap();
    set_mtime(&h.path("src/diff"), SystemTime::now() - Duration::from_secs(86_400));
    let dry = h.ok(&["sync", "--dry-run", &dir, "s3://data"]);
    assert_eq!(lines(&dry, "(dryrun) upload").len(), 1, "{}", stdout(&dry));
    assert!(stdout(&dry).contains("src/same to s3://data/same"), "{}", stdout(&dry));
    assert_eq!(status_lines(&h.ok(&["sync", "--size-only", &dir, "s3://data"])), 0);

    let out = h.ok(&["sync", "--checksum", &dir, "s3://data"]);
    assert_eq!(lines(&out, "upload").len(), 1, "{}", stdout(&out));
    assert!(stdout(&out).contains("src/diff to s3://data/diff"), "{}", stdout(&out));
    assert_eq!(status_lines(&h.ok(&["sync", "--checksum", &dir, "s3://data"])), 0);

    // Downloads and server-side copies compare checksums too.
    let back = h.path_str("back");
    h.ok(&["sync", "s3://data", &back]);
    set_mtime(&h.path("back/same"), SystemTime::now() - Duration::from_secs(86_400));
    assert_eq!(status_lines(&h.ok(&["sync", "--checksum", "s3://data", &back])), 0);
    h.ok(&["mb", "s3://copy"]);
    h.ok(&["sync", "s3://data", "s3://copy"]);
    assert_eq!(status_lines(&h.ok(&["sync", "--checksum", "s3://data", "s3://copy"])), 0);
}

#[test]
fn json_lines_and_usage_errors() {
    let h = Harness::start();
    h.ok(&["mb", "s3://data"]);
    let dir = h.tree("src", &[("a", b"abc")]);
    let out = h.ok(&["sync", "--json", &dir, "s3://data/j"]);
    let records: Vec<serde_json::Value> =
        stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"))).collect();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["operation"], "upload");
    assert_eq!(records[0]["destination"], "s3://data/j/a");
    assert_eq!(records[0]["size"], 3);

    for args in [
        vec!["sync", dir.as_str(), dir.as_str()],
        vec!["sync", "s3://data/a", "s3://data/a/b"],
        vec!["sync", "--checksum", "--size-only", dir.as_str(), "s3://data"],
        vec!["sync", "/nonexistent/s3io-sync-test", "s3://data"],
        vec!["sync", "s3://data", h.path_str("src/a").as_str()],
    ] {
        assert_eq!(h.run(&args).status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn checksum_reads_sse_c_objects_with_their_keys() {
    // `--checksum` compares content through HeadObject, which S3 refuses for an SSE-C object
    // without its key: the sync's keys go with those HEADs (the source's copy-source key in a
    // bucket-to-bucket sync), so a second run finds everything equal and copies nothing.
    let h = Harness::start();
    h.ok(&["mb", "s3://bkt"]);
    let dir = h.tree("src", &[("a", b"alpha"), ("b", b"bravo")]);
    let (key, other) = ("0123456789abcdef0123456789abcdef", "ffffffffffffffffffffffffffffffff");
    let keyed = ["--sse-c", "--sse-c-key", key];
    let synced = |args: &[&[&str]]| status_lines(&h.ok(&args.concat()));
    assert_eq!(synced(&[&["sync"], &keyed, &[&dir, "s3://bkt/s"]]), 2);
    assert_eq!(synced(&[&["sync", "--checksum"], &keyed, &[&dir, "s3://bkt/s"]]), 0);
    let back = h.path_str("back");
    assert_eq!(synced(&[&["sync"], &keyed, &["s3://bkt/s", &back]]), 2);
    assert_eq!(synced(&[&["sync", "--checksum"], &keyed, &["s3://bkt/s", &back]]), 0);
    let copy = ["--sse-c-copy-source", "--sse-c-copy-source-key", key, "--sse-c", "--sse-c-key", other];
    assert_eq!(synced(&[&["sync"], &copy, &["s3://bkt/s", "s3://bkt/t"]]), 2);
    assert_eq!(synced(&[&["sync", "--checksum"], &copy, &["s3://bkt/s", "s3://bkt/t"]]), 0);
    // Without the key, the comparison's HEAD is refused, and the sync names the object.
    let output = h.run(&["sync", "--checksum", &dir, "s3://bkt/s"]);
    assert_ne!(output.status.code(), Some(0));
    assert!(stderr(&output).contains("s3://bkt/s/a"), "{}", stderr(&output));
}
