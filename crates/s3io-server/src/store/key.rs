//! Object keys: what S3 accepts, checked once.
//!
//! S3 accepts any key of 1 to 1,024 bytes of UTF-8, and so does this store:
//! keys are entries of the object index (see `index`), never file names, so
//! folder markers (`dir/`), a key beside keys that extend it (`a`, `a/b`),
//! components of any length, a leading `/`, `//`, `.` and `..` segments and
//! control characters are all stored and served exactly, and none of them can
//! name a file outside the root. A longer key gets S3's `KeyTooLongError`.

use s3s::{s3_error, S3Error};

/// S3's longest key, in bytes of UTF-8.
pub(crate) const MAX_KEY_LEN: usize = 1024;

/// A key checked by [`ObjectKey::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ObjectKey<'a>(&'a str);

impl<'a> ObjectKey<'a> {
    /// Checks `key`: not empty, at most [`MAX_KEY_LEN`] bytes.
    pub(crate) fn parse(key: &'a str) -> Result<Self, S3Error> {
        if key.is_empty() {
            return Err(s3_error!(InvalidArgument, "the object key is empty"));
        }
        if key.len() > MAX_KEY_LEN {
            return Err(s3_error!(
                KeyTooLongError,
                "Your key is too long: {} bytes, the maximum is {MAX_KEY_LEN}",
                key.len()
            ));
        }
        Ok(Self(key))
    }

    /// The key as sent.
    pub(crate) fn as_str(self) -> &'a str {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3s::S3ErrorCode;

    #[test]
    fn accepts_every_shape_s3_accepts() {
        let long = "x".repeat(1000);
        for key in
            ["a", "a/b/c.txt", "dir/", "/abs", "a//b", "./x", "../x", "a/../b", ".", "..", "tab\there", "\u{1}", &long]
        {
            assert_eq!(ObjectKey::parse(key).unwrap().as_str(), key);
        }
    }

    #[test]
    fn rejects_empty_and_overlong_keys() {
        assert_eq!(ObjectKey::parse("").unwrap_err().code(), &S3ErrorCode::InvalidArgument);
        assert_eq!(ObjectKey::parse(&"é".repeat(513)).unwrap_err().code(), &S3ErrorCode::KeyTooLongError);
        assert!(ObjectKey::parse(&"x".repeat(1024)).is_ok());
    }
}
