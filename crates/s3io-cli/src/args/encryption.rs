//! The SSE-C flags (customer-provided encryption keys), as the aws CLI spells them: the key of
//! the object a command writes or reads (`--sse-c`, `--sse-c-key`) and, for S3-to-S3 copies, the
//! key of the source (`--sse-c-copy-source`, `--sse-c-copy-source-key`). [`crate::sse_c`]
//! validates them.

use clap::Args;

/// SSE-C flags of `cp`, `mv`, `sync`, `cat` and `head`.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct SseCArgs {
    /// Encrypt new objects (uploads, copy destinations) with, or read objects (downloads, cat,
    /// head) with, the customer-provided key of --sse-c-key (SSE-C). AES256 is the only
    /// algorithm, and the default value.
    #[arg(
        long,
        value_name = "ALGORITHM",
        num_args = 0..=1,
        default_missing_value = "AES256",
        value_parser = ["AES256"],
        requires = "sse_c_key",
        help_heading = "Encryption (SSE-C)"
    )]
    pub(crate) sse_c: Option<String>,
    /// The SSE-C key: 32 bytes given as they are, as base64, or read from a file
    /// (fileb://PATH).
    #[arg(long, value_name = "KEY", requires = "sse_c", help_heading = "Encryption (SSE-C)")]
    pub(crate) sse_c_key: Option<String>,
    /// S3-to-S3 copies: the source object is encrypted with the customer-provided key of
    /// --sse-c-copy-source-key. AES256 is the only algorithm, and the default value.
    #[arg(
        long,
        value_name = "ALGORITHM",
        num_args = 0..=1,
        default_missing_value = "AES256",
        value_parser = ["AES256"],
        requires = "sse_c_copy_source_key",
        help_heading = "Encryption (SSE-C)"
    )]
    pub(crate) sse_c_copy_source: Option<String>,
    /// The copy source's SSE-C key: 32 bytes, base64, or fileb://PATH.
    #[arg(long, value_name = "KEY", requires = "sse_c_copy_source", help_heading = "Encryption (SSE-C)")]
    pub(crate) sse_c_copy_source_key: Option<String>,
}
