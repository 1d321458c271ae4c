//! SSE-C keys from the command line: [`SseCKeys::new`] turns the raw `--sse-c*` flags into the
//! library's [`SseCustomerKey`]s, once, before any request. A key is taken as the aws CLI takes
//! it: `fileb://PATH` reads the file's bytes; otherwise a value of exactly 32 bytes is the key
//! itself, and a value that is the base64 of 32 bytes is decoded. Anything else is a usage
//! error, and no message ever shows the key.

use base64::Engine as _;
use s3io::types::SseCustomerKey;

use crate::args::SseCArgs;
use crate::exit::UsageError;

/// The validated SSE-C keys of a command.
#[derive(Debug, Clone, Default)]
pub(crate) struct SseCKeys {
    /// The key of the object written (upload, copy destination) or read (download, cat, head).
    pub(crate) object: Option<SseCustomerKey>,
    /// The key of an S3-to-S3 copy's source.
    pub(crate) copy_source: Option<SseCustomerKey>,
}

impl SseCKeys {
    /// Validates the flags (clap has already required each key with its algorithm flag).
    pub(crate) fn new(args: &SseCArgs) -> Result<Self, UsageError> {
        Ok(Self {
            object: args.sse_c_key.as_deref().map(|k| parse_key("--sse-c-key", k)).transpose()?,
            copy_source: args
                .sse_c_copy_source_key
                .as_deref()
                .map(|k| parse_key("--sse-c-copy-source-key", k))
                .transpose()?,
        })
    }
}

/// One key flag's value: `fileb://PATH`, 32 raw bytes, or base64 of 32 bytes.
fn parse_key(flag: &str, value: &str) -> Result<SseCustomerKey, UsageError> {
    let bytes = match value.strip_prefix("fileb://") {
        // Read once while the flags are validated, before any transfer starts.
        Some(path) => std::fs::read(path).map_err(|e| {
            UsageError::new(format!("{flag}: cannot read the key file {}: {e}", crate::escape::text(path)))
        })?,
        None if value.len() == SseCustomerKey::KEY_LEN => value.as_bytes().to_vec(),
        None => base64::engine::general_purpose::STANDARD.decode(value.trim()).map_err(|_| {
            UsageError::new(format!(
                "{flag}: the key must be {} bytes, the base64 of {} bytes, or fileb://PATH (got {} characters)",
                SseCustomerKey::KEY_LEN,
                SseCustomerKey::KEY_LEN,
                value.len()
            ))
        })?,
    };
    SseCustomerKey::new(&bytes).map_err(|_| {
        UsageError::new(format!(
            "{flag}: an AES256 key is {} bytes, this one is {} bytes",
            SseCustomerKey::KEY_LEN,
            bytes.len()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(key: &str) -> SseCArgs {
        SseCArgs { sse_c: Some("AES256".into()), sse_c_key: Some(key.into()), ..SseCArgs::default() }
    }

    #[test]
    fn keys_are_raw_base64_or_files() {
        let raw = "0123456789abcdef0123456789abcdef";
        let from_raw = SseCKeys::new(&args(raw)).unwrap().object.unwrap();
        let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
        let from_base64 = SseCKeys::new(&args(&encoded)).unwrap().object.unwrap();
        assert_eq!(from_raw, from_base64);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.bin");
        std::fs::write(&path, raw).unwrap();
        let from_file = SseCKeys::new(&args(&format!("fileb://{}", path.display()))).unwrap().object.unwrap();
        assert_eq!(from_raw, from_file);
        assert_eq!(SseCKeys::new(&SseCArgs::default()).unwrap().object, None);
    }

    #[test]
    fn bad_keys_are_usage_errors_that_do_not_show_the_key() {
        for bad in ["short", "c2hvcnQ=", "fileb:///nonexistent/key"] {
            let error = SseCKeys::new(&args(bad)).unwrap_err().to_string();
            assert!(error.starts_with("--sse-c-key"), "{error}");
            assert!(!error.contains("c2hvcnQ="), "{error}");
        }
    }
}
