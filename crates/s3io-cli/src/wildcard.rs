//! Which keys a recursive or wildcard `s3://` source selects, and the name each one keeps.
//!
//! Two forms select many objects:
//!
//! - **A prefix as a directory** (`cp -r s3://b/logs/ dir/`, `s3://b/logs` alike): every key under
//!   `logs/`; each keeps its path relative to `logs/` (`logs/2026/a.log` → `dir/2026/a.log`).
//!   This is `aws s3 cp --recursive`'s rule.
//! - **A wildcard** in the key part (`s3://b/logs/2026-*`): `*` (any characters, `/` included),
//!   `?` (one character) and `[...]` (a class) are globs matched against the whole key. The
//!   listing asks only for the literal prefix before the first wildcard (`logs/2026-`), so the
//!   store filters most keys out. A matched key keeps its path after the directory that holds the
//!   first wildcard (`logs/2026-01/a.log` → `dir/2026-01/a.log`): s5cmd's rule, chosen because it
//!   keeps what the wildcard matched — two matches never collapse into one name — and drops the
//!   part the user typed out. A backslash escapes a wildcard character (`\*` is a literal `*`);
//!   `--raw` turns wildcard parsing off altogether, for keys that hold `*`, `?` or `[` literally.
//!   A wildcard that matches nothing makes the command fail (exit 1), as in s5cmd.

use globset::GlobMatcher;

use crate::exit::UsageError;
use crate::filter::compile_glob;

/// The characters that make a key a wildcard pattern.
const WILDCARD_CHARS: [char; 3] = ['*', '?', '['];

/// The keys a many-object source selects and the relative name of each.
#[derive(Debug, Clone)]
pub(crate) struct KeyPattern {
    /// What to list: keys starting with this.
    list_prefix: String,
    /// The part of every selected key that is dropped from its relative name.
    base: String,
    /// The glob the whole key must match; `None` selects every listed key.
    matcher: Option<GlobMatcher>,
}

/// Whether `key` holds a wildcard character.
pub(crate) fn has_wildcard(key: &str) -> bool {
    key.contains(WILDCARD_CHARS)
}

impl KeyPattern {
    /// Every key under `prefix` taken as a directory: `logs` and `logs/` both select `logs/…`
    /// (the empty prefix selects the whole bucket).
    pub(crate) fn directory(prefix: &str) -> Self {
        let mut base = prefix.to_owned();
        if !base.is_empty() && !base.ends_with('/') {
            base.push('/');
        }
        Self { list_prefix: base.clone(), base, matcher: None }
    }

    /// The keys matching the wildcard pattern `key` (see the module doc); a malformed pattern is a
    /// usage error.
    pub(crate) fn wildcard(key: &str) -> Result<Self, UsageError> {
        let list_prefix = literal_prefix(key);
        let base = list_prefix.rfind('/').map_or(String::new(), |i| list_prefix[..=i].to_owned());
        let glob = compile_glob(key).map_err(|e| UsageError::new(format!("wildcard {key:?}: {e}")))?;
        Ok(Self { list_prefix, base, matcher: Some(glob.compile_matcher()) })
    }

    /// The prefix to list.
    pub(crate) fn list_prefix(&self) -> &str {
        &self.list_prefix
    }

    /// The name `key` keeps under the destination, or `None` if the pattern does not select it.
    /// A key equal to the directory itself (`logs/`, its marker) has the empty name.
    pub(crate) fn relative<'k>(&self, key: &'k str) -> Option<&'k str> {
        if let Some(matcher) = &self.matcher {
            if !matcher.is_match(key) {
                return None;
            }
        }
        key.strip_prefix(self.base.as_str())
    }
}

/// The key's characters before its first unescaped wildcard, with escapes removed.
fn literal_prefix(pattern: &str) -> String {
    let mut literal = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) => literal.push(escaped),
                None => break,
            },
            c if WILDCARD_CHARS.contains(&c) => break,
            c => literal.push(c),
        }
    }
    literal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_keep_paths_relative_to_the_prefix() {
        for prefix in ["logs", "logs/"] {
            let pattern = KeyPattern::directory(prefix);
            assert_eq!(pattern.list_prefix(), "logs/");
            assert_eq!(pattern.relative("logs/2026/a.log"), Some("2026/a.log"));
            assert_eq!(pattern.relative("logs/"), Some(""));
        }
        let bucket = KeyPattern::directory("");
        assert_eq!(bucket.list_prefix(), "");
        assert_eq!(bucket.relative("a/b"), Some("a/b"));
    }

    #[test]
    fn wildcards_keep_the_path_after_the_wildcards_directory() {
        let pattern = KeyPattern::wildcard("logs/2026-*").unwrap();
        assert_eq!(pattern.list_prefix(), "logs/2026-");
        assert_eq!(pattern.relative("logs/2026-01.log"), Some("2026-01.log"));
        assert_eq!(pattern.relative("logs/2026-01/a.log"), Some("2026-01/a.log"));
        assert_eq!(pattern.relative("logs/2025-01.log"), None);

        let middle = KeyPattern::wildcard("data/*/part-?.csv").unwrap();
        assert_eq!(middle.list_prefix(), "data/");
        assert_eq!(middle.relative("data/x/part-1.csv"), Some("x/part-1.csv"));
        assert_eq!(middle.relative("data/x/part-10.csv"), None);

        let top = KeyPattern::wildcard("*.txt").unwrap();
        assert_eq!(top.list_prefix(), "");
        assert_eq!(top.relative("a/b.txt"), Some("a/b.txt"));

        let class = KeyPattern::wildcard("k[0-1]").unwrap();
        assert_eq!(class.relative("k1"), Some("k1"));
        assert_eq!(class.relative("k2"), None);
    }

    #[test]
    fn escaped_wildcards_are_literal() {
        let pattern = KeyPattern::wildcard(r"a\*b/*").unwrap();
        assert_eq!(pattern.list_prefix(), "a*b/");
        assert_eq!(pattern.relative("a*b/c"), Some("c"));
        assert!(pattern.relative("axb/c").is_none());
        assert!(has_wildcard("a?b") && has_wildcard("a[b") && !has_wildcard("a b+%#"));
    }

    #[test]
    fn malformed_wildcards_are_usage_errors() {
        assert!(KeyPattern::wildcard("a[").is_err());
    }
}
