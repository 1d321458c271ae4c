//! Many-object commands against the embedded server, over real HTTP: `cp -r` in every direction,
//! wildcards, filters, `rm` wildcards, `--dry-run`, `--no-clobber`, `--json`, the summary and
//! exit code 1 when some objects fail, and the refusal of keys that would escape the destination.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::common::*;
use futures::StreamExt as _;

/// Every file under `root`, by its path relative to `root` (with `/`), with its bytes.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn visit(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                visit(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).unwrap().to_str().unwrap().replace('\\', "/");
                out.insert(relative, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    if root.exists() {
        visit(root, root, &mut out);
    }
    out
}

/// Writes `files` (relative path → bytes) under `root`.
fn write_tree(root: &Path, files: &BTreeMap<String, Vec<u8>>) {
    for (name, bytes) in files {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

/// The keys of `ls --recursive`, in order.
fn listed_keys(h: &Harness, url: &str) -> Vec<String> {
    let output = h.ok(&["ls", "--recursive", url]);
    // `DATE TIME SIZE KEY`: the date and time take 19 characters; keys may hold spaces.
    stdout(&output).lines().map(|line| line[19..].trim_start().split_once(' ').unwrap().1.to_owned()).collect()
}

/// Puts `count` objects of `size` bytes named `prefix{i:05}` through the library, 64 at a time.
fn put_many(h: &Harness, bucket: &str, prefix: &str, count: usize, size: usize) {
    let client = h.client();
    h.runtime.block_on(async {
        futures::stream::iter(0..count)
            .map(|i| {
                let client = client.clone();
                let body = data(size, i as u64).into();
                async move { client.put_object(bucket, &format!("{prefix}{i:05}"), body, &Default::default()).await }
            })
            .buffer_unordered(64)
            .for_each(|result| async move {
                result.unwrap();
            })
            .await;
    });
}

/// Keys with characters that need escaping somewhere: in URLs, in XML, in shells.
const ODD_NAMES: [&str; 7] =
    ["sp ace.txt", "ünïcödé/日本.txt", "plus+sign", "per%25cent%", "hash#tag", "quest?ion", "a-b"];

#[test]
fn cp_recursive_round_trips_a_tree_up_down_and_across_buckets() {
    let h = Harness::start();
    h.ok(&["mb", "s3://data"]);
    h.ok(&["mb", "s3://other"]);
    let mut files = BTreeMap::new();
    for (i, name) in ODD_NAMES.iter().enumerate() {
        files.insert((*name).to_owned(), data(100 + i * 37, i as u64));
    }
    files.insert("a/b".into(), data(5, 50));
    files.insert("deep/er/still/x.bin".into(), data(3 * 1024 * 1024 + 1, 51));
    files.insert("empty".into(), Vec::new());
    let source = h.path("src");
    write_tree(&source, &files);

    h.ok(&["cp", "-r", &format!("{}/", source.display()), "s3://data/up/"]);
    let keys = listed_keys(&h, "s3://data/up/");
    let expected: Vec<String> = files.keys().map(|k| format!("up/{k}")).collect();
    assert_eq!(keys, expected, "every file became a key, listed in byte order");

    let down = h.path("down");
    h.ok(&["cp", "-r", "s3://data/up/", down.to_str().unwrap()]);
    assert!(tree(&down) == files, "downloaded tree differs: {:?}", tree(&down).keys().collect::<Vec<_>>());
    h.assert_has_object_time(&down.join("deep/er/still/x.bin"), "data", "up/deep/er/still/x.bin");
    h.assert_has_object_time(&down.join("empty"), "data", "up/empty");

    // Server-side copy to another bucket; a destination without `/` is still a directory.
    h.ok(&["cp", "-r", "s3://data/up", "s3://other/copy"]);
    let copied: Vec<String> = files.keys().map(|k| format!("copy/{k}")).collect();
    assert_eq!(listed_keys(&h, "s3://other/"), copied);
    let again = h.path("again");
    h.ok(&["cp", "-r", "s3://other/copy/", again.to_str().unwrap()]);
    assert!(tree(&again) == files, "copied objects differ");
}

#[test]
fn wildcard_copy_of_2000_small_objects() {
    let h = Harness::start();
    h.ok(&["mb", "s3://logs"]);
    put_many(&h, "logs", "app/2026-", 2_000, 1024);
    put_many(&h, "logs", "app/2025-", 3, 10);
    let out = h.path("out");
    let output = h.ok(&["cp", "s3://logs/app/2026-*", &format!("{}/", out.display())]);
    let files = tree(&out);
    assert_eq!(files.len(), 2_000);
    // s5cmd's naming: the path after the wildcard's directory.
    assert_eq!(files["2026-00000"], data(1024, 0));
    assert_eq!(files["2026-01999"], data(1024, 1999));
    assert_eq!(stdout(&output).lines().filter(|l| l.starts_with("download: s3://logs/app/2026-")).count(), 2_000);
    let summary = stderr(&output);
    assert!(
        summary.contains("2000 objects") && summary.contains("1.95 MiB") && summary.contains("retries"),
        "{summary}"
    );
    // Nothing but the objects: no temporary files left.
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 2_000);
}

#[test]
fn wildcards_match_inside_keys_and_keep_the_matched_path() {
    let h = Harness::start();
    h.ok(&["mb", "s3://data"]);
    for key in ["d/x/part-1.csv", "d/x/part-2.csv", "d/x/part-10.csv", "d/y/part-3.csv", "d/y/other.txt"] {
        h.ok(&["cp", &h.file("f", key.as_bytes()), &format!("s3://data/{key}")]);
    }
    let out = h.path("out");
    h.ok(&["cp", "s3://data/d/*/part-?.csv", out.to_str().unwrap()]);
    assert_eq!(tree(&out).keys().collect::<Vec<_>>(), ["x/part-1.csv", "x/part-2.csv", "y/part-3.csv"]);
    // A wildcard that matches nothing is an error, for cp and rm alike.
    for args in [vec!["cp", "s3://data/d/*.parquet", out.to_str().unwrap()], vec!["rm", "s3://data/nothing-*"]] {
        let output = h.run(&args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(stderr(&output).contains("no object matches s3://data/"), "{}", stderr(&output));
    }
    // --raw: the `?` is a literal character, so nothing named that exists.
    let raw = h.run(&["cp", "--raw", "s3://data/d/x/part-?.csv", &h.path_str("raw")]);
    assert_eq!(raw.status.code(), Some(1));
}

#[test]
fn filters_apply_in_order_to_the_relative_key() {
    let h = Harness::start();
    h.ok(&["mb", "s3://data"]);
    let mut files = BTreeMap::new();
    for name in ["a.log", "b.txt", "tmp/c.log", "tmp/keep.txt", "x.bak"] {
        files.insert(name.to_owned(), name.as_bytes().to_vec());
    }
    write_tree(&h.path("src"), &files);
    let src = h.path_str("src");
    h.ok(&["cp", "-r", &src, "s3://data/p/", "--exclude", "tmp/*", "--include", "tmp/keep*", "--exclude", "*.bak"]);
    assert_eq!(listed_keys(&h, "s3://data/"), ["p/a.log", "p/b.txt", "p/tmp/keep.txt"]);
    // The long listing: storage class and ETag columns, human sizes, the summary.
    let long = stdout(&h.ok(&["ls", "-r", "-s", "-e", "-H", "--summarize", "s3://data/p/"]));
    let line = long.lines().find(|l| l.ends_with(" p/a.log")).unwrap_or_else(|| panic!("{long}"));
    let columns: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(columns[2], "STANDARD", "{line}");
    assert_eq!(&columns[3..5], ["5", "B"], "{line}");
    assert_eq!(columns[5].len(), 32, "an MD5 ETag: {line}");
    assert!(long.contains("Total Objects: 3"), "{long}");
    let out = h.path("out");
    h.ok(&["cp", "-r", "s3://data/p/", out.to_str().unwrap(), "--exclude", "*", "--include", "*.log"]);
    assert_eq!(tree(&out).keys().collect::<Vec<_>>(), ["a.log"]);
}

#[test]
fn keys_that_escape_the_destination_are_refused_by_name() {
    let h = Harness::start();
    h.ok(&["mb", "s3://evil"]);
    // The embedded server stores every key S3 accepts (`..` segments and a leading `/` too, as
    // S3 does) and keys that are traversal only on Windows; the download refuses them by name.
    for key in ["C:/windows.txt", "back\\..\\slash", "good/file.txt", "../evil", "/abs", "a/../../b"] {
        h.ok(&["cp", &h.file("f", key.as_bytes()), &format!("s3://evil/{key}")]);
    }
    let dest = h.path("dest/inner");
    let output = h.run(&["cp", "-r", "s3://evil/", dest.to_str().unwrap()]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains(r#"refusing key "C:/windows.txt""#), "{err}");
    assert!(err.contains(r#"refusing key "back\\..\\slash""#), "{err}");
    for key in ["../evil", "/abs", "a/../../b"] {
        assert!(err.contains(&format!("refusing key {key:?}")), "{key}: {err}");
    }
    assert!(err.lines().last().unwrap().contains("5 of 6 objects failed"), "{err}");
    // The good key is there; nothing was written anywhere else.
    assert_eq!(tree(&h.path("dest")).keys().collect::<Vec<_>>(), ["inner/good/file.txt"]);
    let mut work = std::fs::read_dir(h.work.path()).unwrap().map(|e| e.unwrap().file_name()).collect::<Vec<_>>();
    work.sort();
    assert_eq!(work, ["dest", "f"]);
}

#[test]
fn no_clobber_keeps_existing_files() {
    let h = Harness::start();
    h.ok(&["mb", "s3://data"]);
    h.ok(&["cp", &h.file("a", b"new a"), "s3://data/p/a"]);
    h.ok(&["cp", &h.file("b", b"new b"), "s3://data/p/b"]);
    let out = h.path("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("a"), b"old a").unwrap();
    let output = h.ok(&["cp", "-r", "--no-clobber", "s3://data/p/", out.to_str().unwrap()]);
    assert_eq!(std::fs::read(out.join("a")).unwrap(), b"old a");
    assert_eq!(std::fs::read(out.join("b")).unwrap(), b"new b");
    assert!(stderr(&output).contains("1 skipped"), "{}", stderr(&output));
    // A single-object copy honours it as well.
    h.ok(&["cp", "-n", "s3://data/p/a", out.join("a").to_str().unwrap()]);
    assert_eq!(std::fs::read(out.join("a")).unwrap(), b"old a");
    // Without it, files are replaced.
    h.ok(&["cp", "-r", "s3://data/p/", out.to_str().unwrap()]);
    assert_eq!(std::fs::read(out.join("a")).unwrap(), b"new a");
}

#[test]
fn json_lines_describe_each_object() {
    let h = Harness::start();
    h.ok(&["mb", "s3://data"]);
    put_many(&h, "data", "j/", 5, 300);
    let out = h.path("out");
    let output = h.ok(&["cp", "-r", "--json", "s3://data/j/", out.to_str().unwrap()]);
    let records: Vec<serde_json::Value> =
        stdout(&output).lines().map(|line| serde_json::from_str(line).expect("a JSON line")).collect();
    assert_eq!(records.len(), 5);
    for record in &records {
        assert_eq!(record["operation"], "download");
        assert_eq!(record["status"], "ok");
        assert_eq!(record["size"], 300);
        assert!(record["source"].as_str().unwrap().starts_with("s3://data/j/"));
        assert!(record["destination"].as_str().unwrap().starts_with(out.to_str().unwrap()));
        assert!(record["seconds"].as_f64().unwrap() >= 0.0);
    }
    // Uploads report the checksum they computed.
    let up = h.ok(&["cp", "-r", "--json", out.to_str().unwrap(), "s3://data/k/"]);
    let first: serde_json::Value = serde_json::from_str(stdout(&up).lines().next().unwrap()).unwrap();
    assert!(first["checksum"].as_str().is_some_and(|c| c.starts_with("CRC64NVME:")), "{first}");
}

#[test]
fn some_failures_are_exit_1_with_a_summary_naming_them() {
    let h = Harness::start();
    h.ok(&["mb", "s3://data"]);
    put_many(&h, "data", "f/", 4, 10);
    let out = h.path("out");
    // A directory where a file should go makes that one download fail.
    std::fs::create_dir_all(out.join("00002/blocker")).unwrap();
    let output = h.run(&["cp", "-r", "--json", "s3://data/f/", out.to_str().unwrap()]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("download s3://data/f/00002 failed"), "{err}");
    assert!(err.contains("3 objects") && err.contains("1 failed"), "summary: {err}");
    assert!(err.lines().last().unwrap().contains("1 of 4 objects failed: s3://data/f/00002"), "{err}");
    let failed: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["status"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert!(failed[0]["error"].as_str().is_some());
    // The other files arrived; no partial file beside the blocker.
    assert_eq!(tree(&out).len(), 3);
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 4);
}

#[test]
fn rm_wildcards_filters_and_dry_run() {
    let h = Harness::start();
    h.ok(&["mb", "s3://data"]);
    put_many(&h, "data", "logs/2026-", 1_005, 1);
    put_many(&h, "data", "logs/2025-", 2, 1);
    let dry = h.ok(&["rm", "--dry-run", "s3://data/logs/2026-*"]);
    assert_eq!(stdout(&dry).lines().filter(|l| l.starts_with("(dryrun) delete: s3://data/logs/2026-")).count(), 1_005);
    assert_eq!(listed_keys(&h, "s3://data/").len(), 1_007);

    h.ok(&["rm", "s3://data/logs/2026-*", "--exclude", "*0"]);
    let left = listed_keys(&h, "s3://data/");
    // 2026-00000, -00010, …, -01000 (101 keys ending in 0) and the two 2025 keys survive.
    assert_eq!(left.len(), 103, "{left:?}");
    assert!(left.iter().all(|k| k.ends_with('0') || k.starts_with("logs/2025-")), "{left:?}");
}

#[test]
fn many_object_usage_errors_are_exit_2() {
    let h = Harness::start();
    h.ok(&["mb", "s3://data"]);
    let file = h.file("plain", b"x");
    for args in [
        vec!["cp", "-r", "-", "s3://data/p/"],
        vec!["cp", "-r", "s3://data/p/", "-"],
        vec!["cp", "-r", file.as_str(), "s3://data/p/"],
        vec!["cp", "s3://data/p/[", h.work.path().to_str().unwrap()],
        vec!["cp", "-r", "s3://data/p/", h.work.path().to_str().unwrap(), "--include", "a[b"],
        vec!["cp", "-r", "--jobs", "0", "s3://data/p/", h.work.path().to_str().unwrap()],
        vec!["cp", h.work.path().to_str().unwrap(), "s3://data/p/"],
    ] {
        let output = h.run(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
    }
}

/// Starts `s3io args` with stdout read as it comes (by a thread, into the returned string).
fn spawn_reading_stdout(
    h: &Harness,
    args: &[&str],
) -> (std::process::Child, std::sync::Arc<std::sync::Mutex<String>>, std::thread::JoinHandle<()>) {
    let mut child = h.s3io(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let printed = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let printed = printed.clone();
        let mut stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n @ 1..) = std::io::Read::read(&mut stdout, &mut chunk) {
                printed.lock().unwrap().push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        })
    };
    (child, printed, reader)
}

#[test]
fn ctrl_c_stops_a_recursive_download_and_leaves_no_temporary_files() {
    // Half of the GETs (deterministically, by seed) hold their bodies back for 30 s: some objects
    // arrive, others are in flight when Ctrl-C comes.
    let h = Harness::start_with(|c| c.with_faults("seed=3,stall=0.5,stall-for=30s,methods=GET".parse().unwrap()));
    h.ok(&["mb", "s3://data"]);
    put_many(&h, "data", "p/", 16, 2048);
    let out = h.path("out");
    // Read stdout as it comes; Ctrl-C once the first object has arrived.
    let (mut child, printed, reader) = spawn_reading_stdout(&h, &["cp", "-r", "s3://data/p/", out.to_str().unwrap()]);
    // Ctrl-C once the objects that are not held back have all arrived and been reported (every
    // object GET was answered: arrived or held back; every file under its final name, five
    // digits, has its `download:` line). The held-back ones take
    // 30 s, so nothing is completing when the signal comes (objects finishing as it comes are
    // `ctrl_c_while_objects_keep_finishing_reports_every_object_that_arrived`).
    wait_until(Duration::from_secs(20), "the objects not held back, arrived and reported", || {
        let reported = printed.lock().unwrap().lines().filter(|l| l.starts_with("download: ")).count();
        let arrived = std::fs::read_dir(&out)
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .filter(|e| {
                        e.file_name().to_str().is_some_and(|n| n.len() == 5 && n.bytes().all(|b| b.is_ascii_digit()))
                    })
                    .count()
            })
            .unwrap_or(0);
        reported > 0 && reported == arrived && arrived as u64 + h.stalls() == 16
    });
    let status = interrupt_and_wait(&mut child);
    reader.join().unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(status.code(), Some(130), "{}", stderr(&output));
    let printed = printed.lock().unwrap().clone();
    let done = printed.lines().filter(|l| l.starts_with("download: ")).count();
    assert!(done > 0 && done < 16, "{done} objects arrived before Ctrl-C; the test needs some but not all");
    // Only the finished objects, each complete; no temporary file of the interrupted ones.
    let files = tree(&out);
    assert_eq!(files.len(), done, "{:?}", files.keys().collect::<Vec<_>>());
    assert!(files.values().all(|bytes| bytes.len() == 2048));
}

#[test]
fn ctrl_c_while_objects_keep_finishing_reports_every_object_that_arrived() {
    // Every GET holds its body back 100 ms, so objects finish in waves of `--jobs` while the
    // signal comes: each file under its final name must have its `download:` line, and each
    // line its complete file (an object that finished is reported, not lost on the way).
    let h = Harness::start_with(|c| c.with_faults("stall=1,stall-for=100ms,methods=GET".parse().unwrap()));
    h.ok(&["mb", "s3://data"]);
    put_many(&h, "data", "p/", 48, 1024);
    let out = h.path("out");
    let (mut child, printed, reader) =
        spawn_reading_stdout(&h, &["cp", "-r", "--jobs", "8", "s3://data/p/", out.to_str().unwrap()]);
    wait_until(Duration::from_secs(20), "a first object reported", || printed.lock().unwrap().contains("download: "));
    let status = interrupt_and_wait(&mut child);
    reader.join().unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(status.code(), Some(130), "{}", stderr(&output));
    let printed = printed.lock().unwrap().clone();
    let mut reported: Vec<String> = printed
        .lines()
        .filter_map(|l| l.strip_prefix("download: s3://data/p/"))
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect();
    reported.sort();
    let files = tree(&out);
    assert!(
        !reported.is_empty() && reported.len() < 48,
        "{} objects reported; the test needs some, not all",
        reported.len()
    );
    assert_eq!(files.keys().cloned().collect::<Vec<_>>(), reported, "files under their final names vs lines printed");
    assert!(files.values().all(|bytes| bytes.len() == 1024));
}

#[test]
fn dry_run_prints_every_object_and_changes_nothing() {
    let h = Harness::start();
    h.ok(&["mb", "s3://data"]);
    put_many(&h, "data", "p/", 3, 10);
    let out = h.path("out");
    let output = h.ok(&["cp", "-r", "--dry-run", "s3://data/p/", out.to_str().unwrap()]);
    let printed = stdout(&output);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with("(dryrun) download: s3://data/p/00000 to "), "{lines:?}");
    assert!(stderr(&output).contains("dry run: 3 objects"), "{}", stderr(&output));
    assert!(!out.exists(), "a dry run created the destination");
    h.file("local", b"x");
    let up = h.ok(&["cp", "-r", "--dry-run", h.work.path().to_str().unwrap(), "s3://data/q/"]);
    assert!(stdout(&up).contains("(dryrun) upload: "), "{}", stdout(&up));
    assert_eq!(listed_keys(&h, "s3://data/").len(), 3);
}

#[cfg(unix)]
#[test]
fn local_names_that_are_not_utf8_are_refused_by_path() {
    use std::os::unix::ffi::OsStrExt as _;
    let h = Harness::start();
    h.ok(&["mb", "s3://data"]);
    let src = h.path("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("good"), b"x").unwrap();
    if std::fs::write(src.join(std::ffi::OsStr::from_bytes(b"bad\xffname")), b"x").is_err() {
        return; // a file system that refuses such names has nothing to test
    }
    let output = h.run(&["cp", "-r", src.to_str().unwrap(), "s3://data/p/"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("bad") && err.contains("not UTF-8"), "{err}");
    assert!(err.lines().last().unwrap().contains("1 of 2 objects failed"), "{err}");
    assert_eq!(listed_keys(&h, "s3://data/"), ["p/good"]);
}

#[test]
fn retried_requests_are_counted_in_the_summary() {
    // One GET in four answers 503 SlowDown first: every object arrives, and the summary says how
    // many requests were retried.
    let h = Harness::start_with(|c| c.with_faults("seed=7,503=0.25,methods=GET".parse().unwrap()));
    h.ok(&["mb", "s3://data"]);
    put_many(&h, "data", "r/", 40, 4096);
    let out = h.path("out");
    let output = h.ok(&["cp", "-r", "s3://data/r/", out.to_str().unwrap()]);
    assert_eq!(tree(&out).len(), 40);
    let summary = stderr(&output);
    let retries: u64 = summary
        .trim()
        .split(", ")
        .find_map(|part| part.strip_suffix(" retries").and_then(|n| n.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no retry count in {summary:?}"));
    assert!(retries > 0, "{summary}");
}

#[test]
fn a_listing_that_fails_is_exit_1_naming_the_bucket() {
    let h = Harness::start();
    let output = h.run(&["cp", "-r", "s3://no-such-bucket/p/", h.path_str("out").as_str()]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    // The reason comes first, the summary of what was done (nothing) after it.
    let first = err.lines().next().unwrap();
    assert!(first.contains("ListObjectsV2 s3://no-such-bucket") && first.contains("NoSuchBucket"), "{err}");
}
