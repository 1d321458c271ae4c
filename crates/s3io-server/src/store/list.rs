//! Listing a bucket's keys in S3 order, one page at a time, as range scans of
//! the object index.
//!
//! The index keeps keys in byte order of their UTF-8, which is S3's order, so
//! a page is a scan from the first key that can be on it: the greater of the
//! prefix and the marker's successor (`marker` + `\0`, the least key after
//! it). The scan stops at the first key past the prefix, or at one entry more
//! than the page holds (the page is then truncated). With a delimiter, a key
//! whose rest after the prefix holds the delimiter belongs to a common prefix
//! `P`: `P` is emitted once and the scan seeks past every key starting with it
//! ([`after_prefix`]), so a prefix over a million keys costs one seek, not a
//! million steps.
//!
//! The marker (v2 `start-after` / continuation token, v1 `marker`) is the last
//! entry of the previous page: keys at or before it are skipped, and so are
//! keys whose common prefix is at or before it, so a page ending in a common
//! prefix never repeats it.

use s3s::S3Result;

use super::index::{after_prefix, Index, Scan};
use super::meta::ObjectMeta;

/// What to list.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListQuery<'a> {
    /// Only keys starting with this.
    pub(crate) prefix: &'a str,
    /// Group keys by the first occurrence of this after the prefix.
    pub(crate) delimiter: Option<&'a str>,
    /// Only entries after this.
    pub(crate) marker: Option<&'a str>,
    /// Page size.
    pub(crate) max_keys: usize,
}

/// One entry of a listing, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ListEntry {
    /// An object and its metadata.
    Object {
        /// The object key.
        key: String,
        /// Its metadata.
        meta: Box<ObjectMeta>,
    },
    /// A common prefix (ends with the delimiter).
    Prefix(String),
}

impl ListEntry {
    /// The key or the prefix.
    pub(crate) fn name(&self) -> &str {
        match self {
            ListEntry::Object { key, .. } => key,
            ListEntry::Prefix(p) => p,
        }
    }
}

/// One page of a listing.
#[derive(Debug, Default)]
pub(crate) struct ListPage {
    /// Entries in S3 order.
    pub(crate) entries: Vec<ListEntry>,
    /// Whether more entries follow.
    pub(crate) truncated: bool,
}

impl ListPage {
    /// The marker for the next page, when truncated.
    pub(crate) fn next_marker(&self) -> Option<String> {
        if self.truncated {
            self.entries.last().map(|e| e.name().to_owned())
        } else {
            None
        }
    }
}

/// Lists `bucket` (blocking).
pub(crate) fn list(index: &Index, bucket: &str, q: ListQuery<'_>) -> S3Result<ListPage> {
    let mut page = ListPage::default();
    let mut start = q.prefix.as_bytes().to_vec();
    if let Some(m) = q.marker {
        let mut after = m.as_bytes().to_vec();
        after.push(0);
        start = start.max(after);
    }
    let delimiter = q.delimiter.filter(|d| !d.is_empty());
    index.scan(bucket, start, |key, value| {
        if !key.starts_with(q.prefix.as_bytes()) {
            return Ok(Scan::Stop);
        }
        // Index keys were written from `&str`s.
        let key =
            std::str::from_utf8(key).map_err(|_| s3s::s3_error!(InternalError, "a non-UTF-8 key in the index"))?;
        let common =
            delimiter.and_then(|d| key[q.prefix.len()..].find(d).map(|pos| &key[..q.prefix.len() + pos + d.len()]));
        if let Some(common) = common {
            let past = after_prefix(common.as_bytes());
            if q.marker.is_some_and(|m| common <= m) {
                return Ok(past.map_or(Scan::Stop, Scan::SeekTo));
            }
            if !push(&mut page, q, ListEntry::Prefix(common.to_owned())) {
                return Ok(Scan::Stop);
            }
            return Ok(past.map_or(Scan::Stop, Scan::SeekTo));
        }
        let meta = ObjectMeta::from_json(value)
            .ok_or_else(|| s3s::s3_error!(InternalError, "damaged object metadata in the index"))?;
        Ok(if push(&mut page, q, ListEntry::Object { key: key.to_owned(), meta: Box::new(meta) }) {
            Scan::Next
        } else {
            Scan::Stop
        })
    })?;
    Ok(page)
}

/// Adds `entry` unless the page is full; `false` (and the page marked
/// truncated) when it is.
fn push(page: &mut ListPage, q: ListQuery<'_>, entry: ListEntry) -> bool {
    if page.entries.len() >= q.max_keys {
        page.truncated = q.max_keys > 0;
        return false;
    }
    page.entries.push(entry);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(keys: &[&str]) -> (tempfile::TempDir, Index) {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(&dir.path().join("i.redb"), dir.path().to_path_buf()).unwrap();
        index.create_bucket("b", 0, None).unwrap();
        for key in keys {
            index
                .update("b", key, |_| Ok((Some(ObjectMeta { data: (*key).to_owned(), ..Default::default() }), ())))
                .unwrap();
        }
        (dir, index)
    }

    fn names(page: &ListPage) -> Vec<&str> {
        page.entries.iter().map(ListEntry::name).collect()
    }

    fn query<'a>(
        prefix: &'a str,
        delimiter: Option<&'a str>,
        marker: Option<&'a str>,
        max_keys: usize,
    ) -> ListQuery<'a> {
        ListQuery { prefix, delimiter, marker, max_keys }
    }

    const KEYS: &[&str] = &["a-b", "a/x", "a/y/z", "a0", "b", "B", "c/d/e", "c/f", "a", "a/", "/lead", "d//e"];

    #[test]
    fn keys_come_in_byte_order() {
        let (_d, ix) = index(KEYS);
        let page = list(&ix, "b", query("", None, None, 1000)).unwrap();
        assert_eq!(names(&page), ["/lead", "B", "a", "a-b", "a/", "a/x", "a/y/z", "a0", "b", "c/d/e", "c/f", "d//e"]);
        assert!(!page.truncated);
    }

    #[test]
    fn pages_resume_after_the_marker() {
        let (_d, ix) = index(KEYS);
        for delimiter in [None, Some("/")] {
            let full: Vec<String> = names(&list(&ix, "b", query("", delimiter, None, 1000)).unwrap())
                .into_iter()
                .map(str::to_owned)
                .collect();
            let mut marker: Option<String> = None;
            let mut all = Vec::new();
            loop {
                let page = list(&ix, "b", query("", delimiter, marker.as_deref(), 2)).unwrap();
                all.extend(names(&page).into_iter().map(str::to_owned));
                match page.next_marker() {
                    Some(m) => marker = Some(m),
                    None => break,
                }
            }
            assert_eq!(all, full, "{delimiter:?}");
        }
    }

    #[test]
    fn delimiter_groups_common_prefixes() {
        let (_d, ix) = index(KEYS);
        let page = list(&ix, "b", query("", Some("/"), None, 1000)).unwrap();
        assert_eq!(names(&page), ["/", "B", "a", "a-b", "a/", "a0", "b", "c/", "d/"]);
        let page = list(&ix, "b", query("a/", Some("/"), None, 1000)).unwrap();
        assert_eq!(names(&page), ["a/", "a/x", "a/y/"]);
        let page = list(&ix, "b", query("d/", Some("/"), None, 1000)).unwrap();
        assert_eq!(names(&page), ["d//"]);
    }

    #[test]
    fn a_page_ending_in_a_common_prefix_does_not_repeat_it() {
        let (_d, ix) = index(KEYS);
        let first = list(&ix, "b", query("", Some("/"), None, 5)).unwrap();
        assert_eq!(names(&first), ["/", "B", "a", "a-b", "a/"]);
        let marker = first.next_marker().unwrap();
        let second = list(&ix, "b", query("", Some("/"), Some(&marker), 5)).unwrap();
        assert_eq!(names(&second), ["a0", "b", "c/", "d/"]);
        assert!(!second.truncated);
    }

    #[test]
    fn prefix_filters_partial_names() {
        let (_d, ix) = index(KEYS);
        let page = list(&ix, "b", query("a", None, None, 1000)).unwrap();
        assert_eq!(names(&page), ["a", "a-b", "a/", "a/x", "a/y/z", "a0"]);
        let page = list(&ix, "b", query("zzz", None, None, 1000)).unwrap();
        assert!(names(&page).is_empty());
    }

    #[test]
    fn non_slash_delimiter() {
        let (_d, ix) = index(&["x-1-a", "x-1-b", "x-2", "y"]);
        let page = list(&ix, "b", query("x-", Some("-"), None, 1000)).unwrap();
        assert_eq!(names(&page), ["x-1-", "x-2"]);
    }
}
