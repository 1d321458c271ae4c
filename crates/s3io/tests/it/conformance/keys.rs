//! Every key shape S3 accepts (any 1–1,024 bytes of UTF-8), through a put, head, get, list,
//! copy (as source and as destination) and delete round trip: punctuation that URLs and XML
//! treat specially, unicode, control characters, a leading `/`, `//`, `.` and `..` segments, folder markers (`dir/`),
//! a key beside a key that extends it (`a` and `a/b`) and keys up to the 1,024-byte limit.

use s3io::types::ListObjectsOptions;

use super::server::{ServerKind::Moto, Target};

/// The longest key S3 accepts, in bytes of UTF-8.
const MAX_KEY_LEN: usize = 1024;

/// Puts every key (its body is the key), then checks each with HeadObject, GetObject, a listing
/// by its own prefix and a CopyObject to `<key>.copy`, lists the whole set in S3 order, and
/// deletes everything again.
async fn round_trip(t: &Target, keys: &[&str]) {
    for key in keys {
        t.put(key, key.as_bytes()).await;
    }
    let mut expected: Vec<String> = Vec::new();
    for key in keys {
        let head = t.client.head_object(&t.bucket, key).await.unwrap_or_else(|e| panic!("head {key:?}: {e}"));
        assert_eq!(head.content_length, key.len() as u64, "head {key:?}");
        assert_eq!(&t.get(key).await[..], key.as_bytes(), "get {key:?}");
        let options = ListObjectsOptions::default().with_prefix(key.to_string()).with_max_keys(1);
        let page = t.client.list_objects_v2(&t.bucket, &options).await.unwrap_or_else(|e| panic!("list {key:?}: {e}"));
        assert_eq!(page.objects.first().map(|o| o.key.as_str()), Some(*key), "list with prefix {key:?}");
        let copy = copy_name(key);
        t.client
            .copy_object(&t.bucket, key, &t.bucket, &copy)
            .await
            .unwrap_or_else(|e| panic!("copy {key:?} to {copy:?}: {e}"));
        assert_eq!(&t.get(&copy).await[..], key.as_bytes(), "copy of {key:?}");
        expected.push(key.to_string());
        expected.push(copy);
    }
    expected.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    expected.dedup();
    assert_eq!(t.keys("").await, expected, "the whole listing, in UTF-8 byte order");
    for key in &expected {
        t.client.delete_object(&t.bucket, key).await.unwrap_or_else(|e| panic!("delete {key:?}: {e}"));
        let err = t.client.head_object(&t.bucket, key).await.unwrap_err();
        assert!(err.is_not_found(), "{key:?} still there after delete: {err}");
    }
    assert!(t.keys("").await.is_empty(), "keys left after deleting them all");
}

/// Where a copy of `key` goes: `<key>.copy`, or a plain name for keys at the length limit.
fn copy_name(key: &str) -> String {
    if key.len() + ".copy".len() <= MAX_KEY_LEN {
        format!("{key}.copy")
    } else {
        "copy-of-a-long-key".to_owned()
    }
}

pub(super) async fn punctuation_and_unicode_keys_round_trip(t: &Target) {
    round_trip(
        t,
        &[
            "a b/c+d%e.txt",
            "unicode/é中文.bin",
            "q?x=1&y#z",
            "spaces  double",
            "tilde~_-.end",
            "plus+plus",
            "percent%20not-decoded%2F",
            "hash#fragment",
            "question?mark",
            "emoji/🦀.rs",
            "xml/'quote\"<lt>&amp;",
            "marks,;:@$!*()[]{}^`|\\",
            " leading and trailing space ",
        ],
    )
    .await;
}

/// Control characters are valid in S3 keys; listings carry them URL-encoded (`encoding-type=url`,
/// which the library asks for), as XML 1.0 cannot hold most of them.
pub(super) async fn control_character_keys_round_trip(t: &Target) {
    let keys = ["tab\there", "carriage\rreturn", "bell\u{7}", "del\u{7f}", "esc\u{1b}[0m", "unit\u{1f}sep"];
    round_trip(t, &keys).await;
    if !t.skip_on(Moto, "moto's router matches no object path holding a newline (%0A): PutObject answers 404 NoSuchKey")
    {
        round_trip(t, &["new\nline", "trailing\n"]).await;
    }
}

/// A key with a `/` at the start: the request path then has `//` after the bucket.
pub(super) async fn leading_slash_keys_round_trip(t: &Target) {
    round_trip(t, &["/leading", "/dir/file", "/"]).await;
}

pub(super) async fn double_slash_keys_round_trip(t: &Target) {
    round_trip(t, &["a//b", "x//y//z", "//twice-leading", "trailing//"]).await;
}

pub(super) async fn dot_segment_keys_round_trip(t: &Target) {
    round_trip(t, &["a/../b", "./c", "d/./e", "..", ".", "../up", "f/..", "g/.", "..."]).await;
}

/// Folder markers (`dir/`, as the S3 console and Hadoop make them) live beside the keys under
/// them; a delimiter listing rolls both into the common prefix.
pub(super) async fn folder_marker_beside_its_contents(t: &Target) {
    round_trip(t, &["dir/", "dir/file", "empty-dir/", "nested/dir/"]).await;
    t.put("dir/", b"").await;
    t.put("dir/file", b"contents").await;
    let head = t.client.head_object(&t.bucket, "dir/").await.unwrap();
    assert_eq!(head.content_length, 0);
    let options = ListObjectsOptions::default().with_delimiter("/");
    let page = t.client.list_objects_v2(&t.bucket, &options).await.unwrap();
    assert_eq!(page.common_prefixes, ["dir/"]);
    assert!(page.objects.is_empty(), "{page:?}");
    assert_eq!(t.keys("dir/").await, ["dir/", "dir/file"]);
    // Deleting the marker leaves what is under it.
    t.client.delete_object(&t.bucket, "dir/").await.unwrap();
    assert_eq!(t.keys("").await, ["dir/file"]);
}

/// `a`, `a/b` and `a/b/c` are three independent objects.
pub(super) async fn key_beside_a_key_that_extends_it(t: &Target) {
    round_trip(t, &["a", "a/b", "a/b/c"]).await;
    for key in ["a", "a/b", "a/b/c"] {
        t.put(key, key.as_bytes()).await;
    }
    t.client.delete_object(&t.bucket, "a/b").await.unwrap();
    assert_eq!(&t.get("a").await[..], b"a");
    assert_eq!(&t.get("a/b/c").await[..], b"a/b/c");
    assert_eq!(t.keys("").await, ["a", "a/b/c"]);
    let options = ListObjectsOptions::default().with_delimiter("/");
    let page = t.client.list_objects_v2(&t.bucket, &options).await.unwrap();
    assert_eq!(page.objects.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), ["a"]);
    assert_eq!(page.common_prefixes, ["a/"]);
}

/// Keys up to S3's 1,024-byte limit, with path components far beyond a filesystem's 255.
pub(super) async fn long_keys_round_trip(t: &Target) {
    let no_slash = "k".repeat(1000);
    let at_limit = format!("{}/{}", "d".repeat(300), "f".repeat(MAX_KEY_LEN - 301));
    let multibyte = "é".repeat(MAX_KEY_LEN / 2);
    assert_eq!((at_limit.len(), multibyte.len()), (MAX_KEY_LEN, MAX_KEY_LEN));
    round_trip(t, &[&no_slash, &at_limit, &multibyte]).await;
}
