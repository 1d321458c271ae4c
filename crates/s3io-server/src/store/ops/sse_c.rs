//! SSE-C, server-side encryption with keys the client provides
//! (`x-amz-server-side-encryption-customer-{algorithm,key,key-MD5}`, and the
//! `x-amz-copy-source-…` variants naming the key of a copy's source).
//!
//! The store does **not** encrypt: it keeps the bytes as sent, as it does for
//! SSE-S3 and SSE-KMS. What it does is what a client can observe of S3: it
//! checks the headers of a write ([`given_key`]: algorithm `AES256`, a base64
//! 256-bit key, the key's MD5 matching), records the algorithm and the key's
//! MD5 with the object, answers with both, and refuses every read — GET, HEAD,
//! the source of a copy — that does not bring the same key ([`check_read`]):
//! 400 `InvalidRequest` without a key (or with a key for an object that has
//! none), 403 `AccessDenied` with another key, as S3 answers.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use md5::{Digest as _, Md5};
use s3s::{s3_error, S3Result};

use crate::store::meta::Sse;

/// Bytes of an AES-256 key.
const KEY_LEN: usize = 32;

/// A key a request gave, checked: its algorithm and the base64 MD5 of the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GivenKey {
    pub(crate) algorithm: String,
    pub(crate) key_md5: String,
}

/// The SSE-C key of a request's three headers, checked; `None` when none of them is set.
///
/// # Errors
/// `InvalidArgument` for a partial set, a key that is not the base64 of 32 bytes, or an MD5 that
/// is not the key's; `InvalidEncryptionAlgorithmError` for an algorithm other than `AES256`.
pub(crate) fn given_key(
    algorithm: Option<&str>,
    key: Option<&str>,
    key_md5: Option<&str>,
) -> S3Result<Option<GivenKey>> {
    let (algorithm, key) = match (algorithm, key) {
        (None, None) if key_md5.is_none() => return Ok(None),
        (Some(algorithm), Some(key)) => (algorithm, key),
        _ => {
            return Err(s3_error!(
                InvalidArgument,
                "Requests specifying Server Side Encryption with Customer provided keys must provide both the \
                 algorithm and the key"
            ))
        }
    };
    if algorithm != "AES256" {
        return Err(s3_error!(
            InvalidEncryptionAlgorithmError,
            "The encryption request you specified is not valid. The valid value is AES256."
        ));
    }
    let raw = BASE64
        .decode(key.trim())
        .ok()
        .filter(|raw| raw.len() == KEY_LEN)
        .ok_or_else(|| s3_error!(InvalidArgument, "The secret key was invalid for the specified algorithm."))?;
    let computed = BASE64.encode(Md5::digest(&raw));
    if key_md5.is_some_and(|sent| sent.trim() != computed) {
        return Err(s3_error!(
            InvalidArgument,
            "The calculated MD5 hash of the key did not match the hash that was provided."
        ));
    }
    Ok(Some(GivenKey { algorithm: algorithm.to_owned(), key_md5: computed }))
}

/// Checks that a read of an object encrypted as `stored` brings the right key (see the module doc).
///
/// # Errors
/// `InvalidRequest` (400) without a key for an SSE-C object or with one for another object;
/// `AccessDenied` (403) with a key that is not the object's.
pub(crate) fn check_read(stored: &Sse, given: Option<&GivenKey>) -> S3Result<()> {
    match (stored.customer_key_md5.as_deref(), given) {
        (None, None) => Ok(()),
        (Some(_), None) => Err(s3_error!(
            InvalidRequest,
            "The object was stored using a form of Server Side Encryption. The correct parameters must be provided \
             to retrieve the object."
        )),
        (None, Some(_)) => {
            Err(s3_error!(InvalidRequest, "The encryption parameters are not applicable to this object."))
        }
        (Some(md5), Some(given)) if md5 == given.key_md5 => Ok(()),
        (Some(_), Some(_)) => Err(s3_error!(
            AccessDenied,
            "The SSE-C key provided does not match the key the object was stored with (its MD5 differs)"
        )),
    }
}

/// The [`Sse`] record's SSE-C fields for `given`.
pub(crate) fn record(given: Option<GivenKey>) -> (Option<String>, Option<String>) {
    match given {
        Some(GivenKey { algorithm, key_md5 }) => (Some(algorithm), Some(key_md5)),
        None => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 32 bytes of 0x01, base64, and the base64 MD5 of those bytes (Python:
    /// `base64.b64encode(hashlib.md5(b"\x01" * 32).digest())`).
    const KEY: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
    const KEY_MD5: &str = "4Funlf7OsLF0HL+vKU+fkg==";

    #[test]
    fn a_write_key_is_checked() {
        let given = given_key(Some("AES256"), Some(KEY), Some(KEY_MD5)).unwrap().unwrap();
        assert_eq!(given.key_md5, KEY_MD5);
        assert_eq!(given_key(None, None, None).unwrap(), None);
        let code = |a, k, m| given_key(a, k, m).unwrap_err().code().clone();
        assert_eq!(code(Some("AES256"), None, None), s3s::S3ErrorCode::InvalidArgument);
        assert_eq!(code(Some("AES128"), Some(KEY), None), s3s::S3ErrorCode::InvalidEncryptionAlgorithmError);
        assert_eq!(code(Some("AES256"), Some("c2hvcnQ="), None), s3s::S3ErrorCode::InvalidArgument);
        assert_eq!(
            code(Some("AES256"), Some(KEY), Some("AAAAAAAAAAAAAAAAAAAAAA==")),
            s3s::S3ErrorCode::InvalidArgument
        );
    }

    #[test]
    fn a_read_needs_the_objects_key() {
        let given = given_key(Some("AES256"), Some(KEY), None).unwrap().unwrap();
        let stored =
            Sse { customer_algorithm: Some("AES256".into()), customer_key_md5: Some(KEY_MD5.into()), ..Sse::default() };
        assert!(check_read(&stored, Some(&given)).is_ok());
        assert!(check_read(&Sse::default(), None).is_ok());
        assert_eq!(check_read(&stored, None).unwrap_err().code(), &s3s::S3ErrorCode::InvalidRequest);
        assert_eq!(check_read(&Sse::default(), Some(&given)).unwrap_err().code(), &s3s::S3ErrorCode::InvalidRequest);
        let other = GivenKey { algorithm: "AES256".into(), key_md5: "AAAAAAAAAAAAAAAAAAAAAA==".into() };
        assert_eq!(check_read(&stored, Some(&other)).unwrap_err().code(), &s3s::S3ErrorCode::AccessDenied);
    }
}
