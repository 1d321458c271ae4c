//! Safe mapping between S3 keys and local paths.
//!
//! A recursive download turns keys chosen by whoever wrote the bucket into file names on this
//! machine, so every key is checked before it becomes a path: the result must lie under the
//! destination root, whatever the key says. [`key_to_path`] splits the key (relative to the copied
//! prefix) on `/` and refuses, with an error naming the key:
//!
//! - an absolute key (`/abs`) and any `..` segment (`../evil`, `a/../../b`, even `a/../b`, which
//!   would stay inside: a key that needs normalising is suspicious, and refusing all of them keeps
//!   the rule simple to audit);
//! - a backslash anywhere or a drive prefix (`C:`) in the first segment: harmless on Unix, but a
//!   tree copied with them would escape on Windows, so they are refused on every platform;
//! - a NUL byte (no file system takes it);
//! - a key that leaves no name at all (empty, `.`, `/` only).
//!
//! Empty and `.` segments (`a//b`, `a/./b`) are dropped, as a file system would read them. A key
//! that ends in `/` is a directory marker: it maps to a [`LocalTarget::Directory`] (the caller
//! creates the directory and downloads nothing).
//!
//! [`path_to_key`] is the reverse, for uploads: a path relative to the walked root becomes a key
//! with `/` separators. S3 keys are UTF-8, so a file name that is not UTF-8 is an error naming the
//! path rather than a lossy key that would not round-trip.

use std::path::{Component, Path, PathBuf};

/// Why a key cannot become a local path, or a local path a key.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeyPathError {
    /// The key would write outside the destination directory, or names nothing.
    #[error("refusing key {key:?}: {reason}")]
    Unsafe {
        /// The key as listed (relative to the copied prefix).
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A local path that cannot be an S3 key.
    #[error("{path}: {reason}", path = crate::escape::path(path))]
    BadPath {
        /// The local path.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Where a key goes under the destination root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LocalTarget {
    /// A file to download the object into.
    File(PathBuf),
    /// A directory marker (a key ending in `/`): create the directory, download nothing.
    Directory(PathBuf),
}

/// Maps `key` (relative to the copied prefix) to a path under `root`, refusing any key that would
/// escape `root` (see the module doc for the rules).
pub(crate) fn key_to_path(root: &Path, key: &str) -> Result<LocalTarget, KeyPathError> {
    let unsafe_key = |reason| KeyPathError::Unsafe { key: key.to_owned(), reason };
    if key.starts_with('/') {
        return Err(unsafe_key("absolute keys are not written to local paths"));
    }
    if key.contains('\\') {
        return Err(unsafe_key("backslashes are path separators on Windows"));
    }
    if key.contains('\0') {
        return Err(unsafe_key("file names cannot hold NUL bytes"));
    }
    let mut path = root.to_owned();
    let mut named = false;
    for (index, segment) in key.split('/').enumerate() {
        match segment {
            "" | "." => continue,
            ".." => return Err(unsafe_key("`..` segments could leave the destination directory")),
            _ if index == 0 && is_drive_prefix(segment) => {
                return Err(unsafe_key("a drive prefix is an absolute path on Windows"));
            }
            _ => {
                path.push(segment);
                named = true;
            }
        }
    }
    if !named {
        return Err(unsafe_key("the key names no file under the destination"));
    }
    Ok(if key.ends_with('/') { LocalTarget::Directory(path) } else { LocalTarget::File(path) })
}

/// `C:` or `C:anything`: what Windows reads as a drive.
fn is_drive_prefix(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':'
}

/// The key of `relative` (a path relative to the uploaded directory): its components joined with
/// `/`. A component that is not UTF-8, or anything but a plain name, is an error naming the path.
pub(crate) fn path_to_key(relative: &Path) -> Result<String, KeyPathError> {
    let bad = |reason| KeyPathError::BadPath { path: relative.to_owned(), reason };
    let mut key = String::new();
    for component in relative.components() {
        match component {
            Component::Normal(name) => {
                let name = name.to_str().ok_or_else(|| bad("the file name is not UTF-8, and S3 keys are"))?;
                if !key.is_empty() {
                    key.push('/');
                }
                key.push_str(name);
            }
            Component::CurDir => {}
            _ => return Err(bad("not a path relative to the uploaded directory")),
        }
    }
    if key.is_empty() {
        return Err(bad("the path names no file"));
    }
    Ok(key)
}

/// Appends one file name to a key prefix, for walks that build keys level by level. A name that
/// is not UTF-8 is an error naming `path`.
pub(crate) fn push_name(key: &mut String, name: &std::ffi::OsStr, path: &Path) -> Result<(), KeyPathError> {
    let name = name.to_str().ok_or_else(|| KeyPathError::BadPath {
        path: path.to_owned(),
        reason: "the file name is not UTF-8, and S3 keys are",
    })?;
    key.push_str(name);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(key: &str) -> PathBuf {
        match key_to_path(Path::new("/dst"), key).unwrap() {
            LocalTarget::File(path) => path,
            other => panic!("{key:?} mapped to {other:?}"),
        }
    }

    fn refused(key: &str) -> String {
        let err = key_to_path(Path::new("/dst"), key).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&format!("{key:?}")), "the error names the key: {text}");
        text
    }

    #[test]
    fn plain_keys_map_under_the_root() {
        assert_eq!(file("a"), Path::new("/dst/a"));
        assert_eq!(file("a/b/c.txt"), Path::new("/dst/a/b/c.txt"));
        assert_eq!(file("a//b"), Path::new("/dst/a/b"));
        assert_eq!(file("./a/./b"), Path::new("/dst/a/b"));
        assert_eq!(file("sp ace/ünï+%#?.txt"), Path::new("/dst/sp ace/ünï+%#?.txt"));
        assert_eq!(file("2026-01-01T10:00:00.log"), Path::new("/dst/2026-01-01T10:00:00.log"));
        assert_eq!(file("...."), Path::new("/dst/...."));
        assert_eq!(file("a..b"), Path::new("/dst/a..b"));
    }

    #[test]
    fn directory_markers_are_directories() {
        assert_eq!(key_to_path(Path::new("/dst"), "a/b/").unwrap(), LocalTarget::Directory("/dst/a/b".into()));
    }

    #[test]
    fn traversal_is_refused() {
        for key in ["../evil", "..", "a/../../b", "a/../b", "a/..", "/abs", "//abs", "/", "", ".", "./", "a\\..\\b"] {
            refused(key);
        }
        assert!(refused("C:/Windows").contains("drive"));
        assert!(refused("c:evil").contains("drive"));
        assert!(refused("a\0b").contains("NUL"));
        // A colon later in the key is an ordinary character.
        assert_eq!(file("a/C:x"), Path::new("/dst/a/C:x"));
    }

    #[test]
    fn results_never_leave_the_root() {
        // Every key built from these segments either maps under the root or is refused.
        let segments = ["a", "..", ".", "", "/", "\\", "C:", "b/"];
        for x in segments {
            for y in segments {
                for z in segments {
                    let key = format!("{x}/{y}{z}");
                    if let Ok(LocalTarget::File(path) | LocalTarget::Directory(path)) =
                        key_to_path(Path::new("/dst"), &key)
                    {
                        assert!(path.starts_with("/dst") && path != Path::new("/dst"), "{key:?} → {path:?}");
                        assert!(!path.components().any(|c| c == Component::ParentDir), "{key:?} → {path:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn paths_become_keys() {
        assert_eq!(path_to_key(Path::new("a/b/c.txt")).unwrap(), "a/b/c.txt");
        assert_eq!(path_to_key(Path::new("./a")).unwrap(), "a");
        assert!(path_to_key(Path::new("../a")).is_err());
        assert!(path_to_key(Path::new("/a")).is_err());
        assert!(path_to_key(Path::new("")).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_names_are_errors_naming_the_path() {
        use std::os::unix::ffi::OsStrExt as _;
        let name = std::ffi::OsStr::from_bytes(b"bad\xffname");
        let path = Path::new("dir").join(name);
        let err = path_to_key(&path).unwrap_err().to_string();
        assert!(err.contains("bad") && err.contains("not UTF-8"), "{err}");
        let mut key = String::new();
        assert!(push_name(&mut key, name, &path).is_err());
    }
}
