//! ListObjectsV2: keys in UTF-8 byte order, prefixes, delimiters (common prefixes count toward
//! MaxKeys and appear once), continuation tokens, StartAfter, and empty listings.

use s3io::types::ListObjectsOptions;

use super::server::Target;

pub(super) async fn list_objects_v2_paginates_with_prefix_and_delimiter(t: &Target) {
    let mut keys = Vec::new();
    for i in 0..25 {
        keys.push(format!("logs/2026/{i:03}.log"));
    }
    keys.push("logs/readme.txt".into());
    keys.push("other/x".into());
    for key in &keys {
        t.put(key, key.as_bytes()).await;
    }
    use futures::TryStreamExt as _;
    let options = ListObjectsOptions::default().with_prefix("logs/").with_max_keys(10);
    let pages: Vec<_> = t.client.list_objects_v2_pages(&t.bucket, options).try_collect().await.unwrap();
    assert_eq!(pages.len(), 3, "pages: {}", pages.len());
    let listed: Vec<_> = pages.iter().flat_map(|p| p.objects.iter().map(|o| o.key.clone())).collect();
    let mut expected: Vec<_> = keys.iter().filter(|k| k.starts_with("logs/")).cloned().collect();
    expected.sort();
    assert_eq!(listed, expected);
    assert!(pages[0].objects.iter().all(|o| o.size > 0 && o.etag.is_some() && o.last_modified.is_some()));

    let options = ListObjectsOptions::default().with_prefix("logs/").with_delimiter("/");
    let page = t.client.list_objects_v2(&t.bucket, &options).await.unwrap();
    assert_eq!(page.common_prefixes, vec!["logs/2026/".to_string()]);
    assert_eq!(page.objects.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), ["logs/readme.txt"]);
    assert_eq!(page.next_continuation_token, None);
}

/// S3 lists keys in the byte order of their UTF-8: upper case before lower, `/` (0x2F) before
/// digits, ASCII before any multi-byte character.
pub(super) async fn listing_is_in_utf8_byte_order(t: &Target) {
    let keys = ["a0", "Z", "a b", "~", "é", "中", "a/b", "A", "a.b", "!x", "a-b", "0", "a_b", "z", "9", "b", "ÿ", "🦀"];
    for key in keys {
        t.put(key, b"o").await;
    }
    let mut expected: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    expected.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    assert_eq!(t.keys("").await, expected);
    // Page by page, the same order.
    let mut paged = Vec::new();
    let mut token = None;
    for _ in 0..keys.len() {
        let mut options = ListObjectsOptions::default().with_max_keys(5);
        options.continuation_token = token.take();
        let page = t.client.list_objects_v2(&t.bucket, &options).await.unwrap();
        assert!(page.objects.len() <= 5, "{} keys in a page of at most 5", page.objects.len());
        paged.extend(page.objects.into_iter().map(|o| o.key));
        token = page.next_continuation_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(token, None, "more pages than keys");
    assert_eq!(paged, expected);
}

pub(super) async fn pagination_with_delimiter_and_start_after(t: &Target) {
    let keys = ["p/a/1", "p/a/2", "p/b/1", "p/c", "p/d/1", "p/e", "p/f/1", "p/f/2", "p/g", "q"];
    for key in keys {
        t.put(key, b"o").await;
    }
    // Seven entries under p/ (four common prefixes, three keys), two per page: 2, 2, 2, 1.
    let mut objects = Vec::new();
    let mut prefixes = Vec::new();
    let mut sizes = Vec::new();
    let mut token = None;
    for page_number in 0.. {
        assert!(page_number < 10, "pagination does not end");
        let mut options = ListObjectsOptions::default().with_prefix("p/").with_delimiter("/").with_max_keys(2);
        options.continuation_token = token.take();
        let page = t.client.list_objects_v2(&t.bucket, &options).await.unwrap();
        sizes.push(page.objects.len() + page.common_prefixes.len());
        objects.extend(page.objects.into_iter().map(|o| o.key));
        prefixes.extend(page.common_prefixes);
        token = page.next_continuation_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(sizes, [2, 2, 2, 1], "entries per page (common prefixes count toward MaxKeys)");
    assert_eq!(objects, ["p/c", "p/e", "p/g"]);
    assert_eq!(prefixes, ["p/a/", "p/b/", "p/d/", "p/f/"]);

    // StartAfter: strictly after, with and without a delimiter.
    let options = ListObjectsOptions::default().with_prefix("p/").with_start_after("p/c");
    let page = t.client.list_objects_v2(&t.bucket, &options).await.unwrap();
    let listed: Vec<_> = page.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(listed, ["p/d/1", "p/e", "p/f/1", "p/f/2", "p/g"]);
    let options = ListObjectsOptions::default().with_prefix("p/").with_delimiter("/").with_start_after("p/c");
    let page = t.client.list_objects_v2(&t.bucket, &options).await.unwrap();
    assert_eq!(page.objects.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), ["p/e", "p/g"]);
    assert_eq!(page.common_prefixes, ["p/d/", "p/f/"]);
    // A start after every key: an empty, complete page.
    let options = ListObjectsOptions::default().with_start_after("zzz");
    let page = t.client.list_objects_v2(&t.bucket, &options).await.unwrap();
    assert!(page.objects.is_empty() && page.next_continuation_token.is_none(), "{page:?}");
}

pub(super) async fn empty_listings_have_no_continuation(t: &Target) {
    let page = t.client.list_objects_v2(&t.bucket, &Default::default()).await.unwrap();
    assert!(page.objects.is_empty() && page.common_prefixes.is_empty(), "{page:?}");
    assert_eq!(page.next_continuation_token, None);
    t.put("present", b"x").await;
    let options = ListObjectsOptions::default().with_prefix("absent/").with_delimiter("/");
    let page = t.client.list_objects_v2(&t.bucket, &options).await.unwrap();
    assert!(page.objects.is_empty() && page.common_prefixes.is_empty(), "{page:?}");
    assert_eq!(page.next_continuation_token, None);
}
