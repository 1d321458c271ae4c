//! Listing a bucket's keys in S3 order straight off the directory tree.
//!
//! S3 lists keys in lexicographic byte order. A depth-first walk that sorts
//! each directory's entries by name — with `/` appended to directory names —
//! visits keys in exactly that order: every key below directory `d` starts
//! with `d/`, so comparing `d/` against a sibling file name orders the whole
//! subtree correctly (`a-b` < `a/x` < `a0`). The walk therefore stops as soon
//! as it has one entry more than the page holds, and skips whole directories
//! that cannot contain a wanted key: those outside the prefix, those entirely
//! before the marker, and those inside a common prefix already emitted.
//!
//! The marker (v2 `start-after` / continuation token, v1 `marker`) is the last
//! entry of the previous page: keys at or before it are skipped, and so are
//! keys whose common prefix is at or before it, so a page ending in a common
//! prefix never repeats it.

use std::fs;
use std::io;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListEntry {
    /// An object and its data file.
    Object {
        /// The object key.
        key: String,
        /// The data file.
        path: PathBuf,
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

/// Lists `bucket_dir` (blocking).
pub(crate) fn list(bucket_dir: &Path, query: ListQuery<'_>) -> io::Result<ListPage> {
    let mut walk = Walk { query, page: ListPage::default(), last_prefix: None };
    let _ = walk.visit(bucket_dir, "")?;
    Ok(walk.page)
}

struct Walk<'a> {
    query: ListQuery<'a>,
    page: ListPage,
    last_prefix: Option<String>,
}

impl Walk<'_> {
    fn visit(&mut self, dir: &Path, key_prefix: &str) -> io::Result<ControlFlow<()>> {
        let mut entries = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            // Keys are UTF-8; a name that is not cannot have been written through S3.
            let Ok(name) = entry.file_name().into_string() else { continue };
            let mut file_type = entry.file_type()?;
            if file_type.is_symlink() {
                match fs::metadata(entry.path()) {
                    Ok(meta) => file_type = meta.file_type(),
                    Err(_) => continue,
                }
            }
            if file_type.is_dir() {
                entries.push((format!("{name}/"), true));
            } else if file_type.is_file() {
                entries.push((name, false));
            }
        }
        entries.sort_unstable();

        let q = self.query;
        for (name, is_dir) in entries {
            let key = format!("{key_prefix}{name}");
            if is_dir {
                if !(key.starts_with(q.prefix) || q.prefix.starts_with(&key)) {
                    continue;
                }
                if q.marker.is_some_and(|m| m > key.as_str() && !m.starts_with(&key)) {
                    continue;
                }
                if self.last_prefix.as_deref().is_some_and(|p| key.starts_with(p)) {
                    continue;
                }
                if self.visit(&dir.join(&name[..name.len() - 1]), &key)?.is_break() {
                    return Ok(ControlFlow::Break(()));
                }
                continue;
            }
            if !key.starts_with(q.prefix) || q.marker.is_some_and(|m| key.as_str() <= m) {
                continue;
            }
            let delimited = q
                .delimiter
                .filter(|d| !d.is_empty())
                .and_then(|d| key[q.prefix.len()..].find(d).map(|pos| q.prefix.len() + pos + d.len()));
            if let Some(end) = delimited {
                let common = &key[..end];
                if self.last_prefix.as_deref() == Some(common) || q.marker.is_some_and(|m| common <= m) {
                    continue;
                }
                let common = common.to_owned();
                self.last_prefix = Some(common.clone());
                if self.emit(ListEntry::Prefix(common)).is_break() {
                    return Ok(ControlFlow::Break(()));
                }
                continue;
            }
            let path = dir.join(&name);
            if self.emit(ListEntry::Object { key, path }).is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(ControlFlow::Continue(()))
    }

    fn emit(&mut self, entry: ListEntry) -> ControlFlow<()> {
        if self.page.entries.len() >= self.query.max_keys {
            self.page.truncated = self.query.max_keys > 0;
            return ControlFlow::Break(());
        }
        self.page.entries.push(entry);
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(keys: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for key in keys {
            let path = dir.path().join(key);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, b"x").unwrap();
        }
        dir
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

    const KEYS: &[&str] = &["a-b", "a/x", "a/y/z", "a0", "b", "B", "c/d/e", "c/f"];

    #[test]
    fn keys_come_in_byte_order() {
        let dir = tree(KEYS);
        let page = list(dir.path(), query("", None, None, 1000)).unwrap();
        assert_eq!(names(&page), ["B", "a-b", "a/x", "a/y/z", "a0", "b", "c/d/e", "c/f"]);
        assert!(!page.truncated);
    }

    #[test]
    fn pages_resume_after_the_marker() {
        let dir = tree(KEYS);
        let mut marker: Option<String> = None;
        let mut all = Vec::new();
        loop {
            let page = list(dir.path(), query("", None, marker.as_deref(), 3)).unwrap();
            all.extend(names(&page).into_iter().map(str::to_owned));
            match page.next_marker() {
                Some(m) => marker = Some(m),
                None => break,
            }
        }
        assert_eq!(all, ["B", "a-b", "a/x", "a/y/z", "a0", "b", "c/d/e", "c/f"]);
    }

    #[test]
    fn delimiter_groups_common_prefixes() {
        let dir = tree(KEYS);
        let page = list(dir.path(), query("", Some("/"), None, 1000)).unwrap();
        assert_eq!(names(&page), ["B", "a-b", "a/", "a0", "b", "c/"]);
        let page = list(dir.path(), query("a/", Some("/"), None, 1000)).unwrap();
        assert_eq!(names(&page), ["a/x", "a/y/"]);
        let page = list(dir.path(), query("c", Some("/"), None, 1000)).unwrap();
        assert_eq!(names(&page), ["c/"]);
    }

    #[test]
    fn a_page_ending_in_a_common_prefix_does_not_repeat_it() {
        let dir = tree(KEYS);
        let first = list(dir.path(), query("", Some("/"), None, 3)).unwrap();
        assert_eq!(names(&first), ["B", "a-b", "a/"]);
        let marker = first.next_marker().unwrap();
        let second = list(dir.path(), query("", Some("/"), Some(&marker), 3)).unwrap();
        assert_eq!(names(&second), ["a0", "b", "c/"]);
        assert!(!second.truncated);
    }

    #[test]
    fn prefix_filters_partial_names() {
        let dir = tree(KEYS);
        let page = list(dir.path(), query("a", None, None, 1000)).unwrap();
        assert_eq!(names(&page), ["a-b", "a/x", "a/y/z", "a0"]);
        let page = list(dir.path(), query("a/y", None, None, 1000)).unwrap();
        assert_eq!(names(&page), ["a/y/z"]);
        let page = list(dir.path(), query("zzz", None, None, 1000)).unwrap();
        assert!(names(&page).is_empty());
    }

    #[test]
    fn non_slash_delimiter() {
        let dir = tree(&["x-1-a", "x-1-b", "x-2", "y"]);
        let page = list(dir.path(), query("x-", Some("-"), None, 1000)).unwrap();
        assert_eq!(names(&page), ["x-1-", "x-2"]);
    }
}
