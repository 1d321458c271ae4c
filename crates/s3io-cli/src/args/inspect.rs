//! The flags of the commands that describe objects without moving them: `head` (`stat`) and
//! `du`.

use clap::Args;

/// `s3io head s3://bucket/key` (also `stat`).
#[derive(Debug, Args)]
pub(crate) struct HeadArgs {
    /// s3://bucket/key.
    pub(crate) object: String,
    /// One JSON object (size, etag, last_modified, content headers, storage_class, checksums,
    /// server-side encryption, version_id, metadata) instead of `Name: value` lines.
    #[arg(long)]
    pub(crate) json: bool,
    /// Describe this version of the object.
    #[arg(long, value_name = "ID")]
    pub(crate) version_id: Option<String>,
    /// The object's SSE-C key (HEAD of an SSE-C object needs it).
    #[command(flatten)]
    pub(crate) sse_c: super::SseCArgs,
}

/// `s3io du s3://bucket[/prefix]`.
#[derive(Debug, Args)]
pub(crate) struct DuArgs {
    /// s3://bucket[/prefix]: every object whose key starts with the prefix is counted.
    pub(crate) target: String,
    /// Sizes as KiB, MiB, GiB.
    #[arg(long, short = 'H')]
    pub(crate) human_readable: bool,
    /// One JSON object (objects, bytes, and the same per storage class) instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}
