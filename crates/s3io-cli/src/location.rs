//! Where bytes come from or go to: `s3://bucket/key`, a local path, or `-` (stdin/stdout).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::exit::UsageError;

/// An `s3://bucket[/key]` URL, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct S3Url {
    /// The bucket.
    pub(crate) bucket: String,
    /// The key or key prefix; empty for the bucket itself.
    pub(crate) key: String,
}

impl S3Url {
    /// Parses `s3://bucket[/key]`; the key is taken verbatim (it may contain `//`, spaces, …).
    pub(crate) fn parse(text: &str) -> Result<Self, UsageError> {
        let rest = text
            .strip_prefix("s3://")
            .ok_or_else(|| UsageError::new(format!("{text:?} is not an S3 URL (s3://bucket/key)")))?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(UsageError::new(format!("{text:?} names no bucket")));
        }
        Ok(Self { bucket: bucket.to_owned(), key: key.to_owned() })
    }

    /// Parses an URL that must name an object: a non-empty key not ending in `/`.
    pub(crate) fn parse_object(text: &str) -> Result<Self, UsageError> {
        let url = Self::parse(text)?;
        if url.key.is_empty() || url.key.ends_with('/') {
            return Err(UsageError::new(format!("{text:?} names no object (s3://bucket/key)")));
        }
        Ok(url)
    }

    /// Parses an URL that must name a bucket only.
    pub(crate) fn parse_bucket(text: &str) -> Result<String, UsageError> {
        let url = Self::parse(text)?;
        if !url.key.is_empty() {
            return Err(UsageError::new(format!("{text:?} is an object URL; expected s3://bucket")));
        }
        Ok(url.bucket)
    }

    /// The last segment of the key (what a download names its file), `None` for a prefix.
    pub(crate) fn basename(&self) -> Option<&str> {
        self.key.rsplit('/').next().filter(|name| !name.is_empty())
    }
}

impl fmt::Display for S3Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Control characters escaped: a key is printed in status lines and messages.
        write!(f, "s3://{}/{}", crate::escape::text(&self.bucket), crate::escape::text(&self.key))
    }
}

/// One side of a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// An object (or, as a destination, a key prefix ending in `/`).
    S3(S3Url),
    /// A local file or directory.
    Local(PathBuf),
    /// `-`: stdin as a source, stdout as a destination.
    Stdio,
}

impl Location {
    /// Classifies a command-line argument. A local path may be any bytes (file names need not be
    /// UTF-8); an `s3://` URL must be UTF-8, as keys are.
    pub(crate) fn parse(arg: impl AsRef<std::ffi::OsStr>) -> Result<Self, UsageError> {
        use std::os::unix::ffi::OsStrExt as _;
        let arg = arg.as_ref();
        let Some(text) = arg.to_str() else {
            if arg.as_bytes().starts_with(b"s3://") {
                return Err(UsageError::new(format!(
                    "{} is not UTF-8: S3 keys are",
                    crate::escape::path(Path::new(arg))
                )));
            }
            return Ok(Location::Local(PathBuf::from(arg)));
        };
        if text == "-" {
            Ok(Location::Stdio)
        } else if text.starts_with("s3://") {
            S3Url::parse(text).map(Location::S3)
        } else if text.is_empty() {
            Err(UsageError::new("empty path"))
        } else {
            Ok(Location::Local(PathBuf::from(text)))
        }
    }
}

/// Whether a path as typed names a directory (ends with a separator).
pub(crate) fn ends_with_separator(path: &Path) -> bool {
    let text = path.as_os_str().to_string_lossy();
    text.ends_with('/') || text.ends_with(std::path::MAIN_SEPARATOR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_s3_urls() {
        assert_eq!(S3Url::parse("s3://b").unwrap(), S3Url { bucket: "b".into(), key: String::new() });
        assert_eq!(S3Url::parse("s3://b/").unwrap(), S3Url { bucket: "b".into(), key: String::new() });
        assert_eq!(S3Url::parse("s3://b/a//c d").unwrap(), S3Url { bucket: "b".into(), key: "a//c d".into() });
        assert!(S3Url::parse("s3:///k").is_err());
        assert!(S3Url::parse("http://b/k").is_err());
    }

    #[test]
    fn object_and_bucket_urls() {
        assert_eq!(S3Url::parse_object("s3://b/dir/f.txt").unwrap().basename(), Some("f.txt"));
        assert!(S3Url::parse_object("s3://b/dir/").is_err());
        assert!(S3Url::parse_object("s3://b").is_err());
        assert_eq!(S3Url::parse_bucket("s3://b/").unwrap(), "b");
        assert!(S3Url::parse_bucket("s3://b/k").is_err());
    }

    #[test]
    fn classifies_locations() {
        assert_eq!(Location::parse("-").unwrap(), Location::Stdio);
        assert!(matches!(Location::parse("s3://b/k").unwrap(), Location::S3(_)));
        assert_eq!(Location::parse("./x").unwrap(), Location::Local("./x".into()));
        assert!(ends_with_separator(Path::new("dir/")));
        assert!(!ends_with_separator(Path::new("dir")));
    }
}
