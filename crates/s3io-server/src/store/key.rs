//! Object keys as filesystem paths, and the checks that keep them inside the root.
//!
//! An object `key` of bucket `b` lives at `root/b/key`: every `/` of the key is a
//! directory separator. That mapping is only safe for keys whose components are
//! plain names, so [`ObjectKey::parse`] rejects, with an S3 error the client can
//! read, every key that could name something else than a file below its bucket:
//!
//! - an empty key, or one starting with `/` (absolute);
//! - a component that is `.` or `..` (would walk up or stay in place);
//! - an empty component in the middle (`a//b`), and a trailing `/` (`dir/`: a
//!   "folder marker" object, which a file cannot be);
//! - a NUL byte, or a component longer than the filesystem's 255-byte limit
//!   (253 bytes: the filesystem's 255 less the sidecar's suffix; `KeyTooLongError`).
//!
//! S3 itself accepts all of these, so the rejections are documented limits of this
//! backend, never silent rewrites.

use std::path::{Path, PathBuf};

use s3s::{s3_error, S3Error};

/// The longest key component, in bytes: Linux's 255-byte file-name limit less the
/// 2-byte suffix the metadata sidecar adds (see `meta`).
const NAME_MAX: usize = 253;

/// A key checked by [`ObjectKey::parse`]: safe to join below a bucket directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ObjectKey<'a>(&'a str);

impl<'a> ObjectKey<'a> {
    /// Checks `key`; see the module doc for what is rejected.
    pub(crate) fn parse(key: &'a str) -> Result<Self, S3Error> {
        if key.is_empty() {
            return Err(s3_error!(InvalidArgument, "the object key is empty"));
        }
        if key.starts_with('/') {
            return Err(s3_error!(InvalidArgument, "object keys starting with '/' are not supported by this server"));
        }
        if key.ends_with('/') {
            return Err(s3_error!(
                InvalidArgument,
                "object keys ending with '/' (folder markers) are not supported by this server"
            ));
        }
        if key.contains('\0') {
            return Err(s3_error!(InvalidArgument, "object keys containing NUL are not supported"));
        }
        for component in key.split('/') {
            match component {
                "" => {
                    return Err(s3_error!(
                        InvalidArgument,
                        "object keys with an empty path component ('//') are not supported"
                    ))
                }
                "." | ".." => {
                    return Err(s3_error!(
                        InvalidArgument,
                        "object keys with a '.' or '..' path component are not supported"
                    ))
                }
                c if c.len() > NAME_MAX => {
                    return Err(s3_error!(
                        KeyTooLongError,
                        "a path component of the key is longer than {NAME_MAX} bytes"
                    ))
                }
                _ => {}
            }
        }
        Ok(Self(key))
    }

    /// The key as sent.
    pub(crate) fn as_str(self) -> &'a str {
        self.0
    }

    /// The key's path below `dir` (a bucket's data or metadata directory).
    pub(crate) fn join_to(self, dir: &Path) -> PathBuf {
        dir.join(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3s::S3ErrorCode;

    fn code(key: &str) -> Option<S3ErrorCode> {
        ObjectKey::parse(key).err().map(|e| e.code().clone())
    }

    #[test]
    fn accepts_plain_and_nested_keys() {
        for key in ["a", "a/b/c.txt", "with space", "ünïcødé/ключ", ".hidden", "a/.b", "..a", "a..", "a/b.."] {
            assert!(ObjectKey::parse(key).is_ok(), "{key}");
        }
    }

    #[test]
    fn rejects_keys_that_would_escape_or_alias() {
        for key in ["", "/abs", "../x", "a/../../x", "a/./b", ".", "..", "a//b", "a/", "a/b/", "a\0b"] {
            assert_eq!(code(key), Some(S3ErrorCode::InvalidArgument), "{key:?}");
        }
    }

    #[test]
    fn rejects_overlong_components() {
        let long = "x".repeat(254);
        assert_eq!(code(&long), Some(S3ErrorCode::KeyTooLongError));
        assert!(ObjectKey::parse(&"x".repeat(253)).is_ok());
    }

    #[test]
    fn joins_below_the_directory() {
        let key = ObjectKey::parse("a/b").unwrap();
        assert_eq!(key.join_to(Path::new("/r/bkt")), PathBuf::from("/r/bkt/a/b"));
        assert_eq!(key.as_str(), "a/b");
    }
}
