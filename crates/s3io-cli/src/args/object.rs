//! The object-property flags of uploads and copies (`--content-type`, `--metadata`,
//! `--storage-class`, `--sse`, …), raw; [`crate::object`] validates them.

use clap::{Args, ValueEnum};

/// Server-side encryption of new objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Sse {
    /// SSE-S3: keys managed by the store.
    #[value(name = "AES256")]
    Aes256,
    /// SSE-KMS: a KMS key (--sse-kms-key-id, else the account's default).
    #[value(name = "aws:kms")]
    Kms,
}

/// The checksum an upload computes per part and has the store verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ChecksumAlgorithmArg {
    /// CRC-64/NVME (full-object, combinable across parts): the default.
    #[value(name = "CRC64NVME")]
    Crc64Nvme,
    /// CRC-32C (Castagnoli); multipart objects carry S3's composite checksum.
    #[value(name = "CRC32C")]
    Crc32c,
    /// CRC-32 (ISO-HDLC, zlib's); multipart objects carry S3's composite checksum.
    #[value(name = "CRC32")]
    Crc32,
    /// SHA-256; multipart objects carry S3's composite checksum (of the part SHA-256s, "-N").
    #[value(name = "SHA256")]
    Sha256,
    /// SHA-1; multipart objects carry S3's composite checksum (of the part SHA-1s, "-N").
    #[value(name = "SHA1")]
    Sha1,
}

/// When uploads send checksums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ChecksumModeArg {
    /// Send a checksum with every upload (the default).
    WhenSupported,
    /// Send checksums only where the store requires one (stores that reject the newer
    /// checksum headers).
    WhenRequired,
}

/// Whether an S3-to-S3 copy keeps the source's metadata or takes the flags'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum MetadataDirective {
    /// Keep the source object's metadata and headers (the default).
    #[value(name = "COPY")]
    Copy,
    /// Replace them with the ones these flags give.
    #[value(name = "REPLACE")]
    Replace,
}

/// What an S3-to-S3 copy takes from its source, as the aws CLI's `--copy-props`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CopyProps {
    /// Nothing: the new object gets only what the flags give (no source headers, metadata or
    /// tags).
    None,
    /// The headers and metadata (as --metadata-directive says), not the tags.
    MetadataDirective,
    /// The headers, metadata and tags (the default).
    Default,
}

/// What an upload or copy sets on the new object (`cp`, `cp -r`, `sync`, stdin).
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct ObjectArgs {
    /// Content-Type of new objects. By default guessed from the key's extension
    /// (index.html: text/html), else none (the store's application/octet-stream).
    #[arg(long, value_name = "TYPE", help_heading = "Object properties")]
    pub(crate) content_type: Option<String>,
    /// Do not guess Content-Type from the extension.
    #[arg(long, help_heading = "Object properties")]
    pub(crate) no_guess_mime_type: bool,
    /// Cache-Control of new objects, e.g. "max-age=3600".
    #[arg(long, value_name = "VALUE", help_heading = "Object properties")]
    pub(crate) cache_control: Option<String>,
    /// Content-Disposition of new objects, e.g. "attachment; filename=report.pdf".
    #[arg(long, value_name = "VALUE", help_heading = "Object properties")]
    pub(crate) content_disposition: Option<String>,
    /// Content-Encoding of new objects, e.g. gzip.
    #[arg(long, value_name = "VALUE", help_heading = "Object properties")]
    pub(crate) content_encoding: Option<String>,
    /// Content-Language of new objects, e.g. en-GB.
    #[arg(long, value_name = "VALUE", help_heading = "Object properties")]
    pub(crate) content_language: Option<String>,
    /// Expires of new objects: an RFC 3339 time (2027-01-01T00:00:00Z) or an HTTP date.
    #[arg(long, value_name = "TIME", help_heading = "Object properties")]
    pub(crate) expires: Option<String>,
    /// User metadata of new objects: NAME=VALUE pairs separated by commas.
    #[arg(long, value_name = "K=V,…", help_heading = "Object properties")]
    pub(crate) metadata: Option<String>,
    /// S3-to-S3 copies: keep the source's metadata (COPY) or set the flags' (REPLACE). By
    /// default COPY, or REPLACE when a metadata or header flag is given.
    #[arg(long, value_enum, value_name = "DIRECTIVE", help_heading = "Object properties")]
    pub(crate) metadata_directive: Option<MetadataDirective>,
    /// S3-to-S3 copies: what is taken from the source. By default `default` (headers, metadata
    /// and tags).
    #[arg(long, value_enum, value_name = "PROPS", help_heading = "Object properties")]
    pub(crate) copy_props: Option<CopyProps>,
    /// Storage class of new objects, e.g. STANDARD_IA, GLACIER_IR.
    #[arg(long, value_name = "CLASS", help_heading = "Object properties")]
    pub(crate) storage_class: Option<String>,
    /// Server-side encryption of new objects.
    #[arg(long, value_enum, value_name = "ALGORITHM", help_heading = "Object properties")]
    pub(crate) sse: Option<Sse>,
    /// The KMS key of --sse aws:kms.
    #[arg(long, value_name = "KEY_ID", help_heading = "Object properties")]
    pub(crate) sse_kms_key_id: Option<String>,
    /// A canned ACL for new objects, e.g. private, public-read, bucket-owner-full-control.
    #[arg(long, value_name = "CANNED_ACL", help_heading = "Object properties")]
    pub(crate) acl: Option<String>,
    /// Tags of new objects as a URL query: "team=data&tier=hot".
    #[arg(long, value_name = "K=V&…", help_heading = "Object properties")]
    pub(crate) tags: Option<String>,
    /// The checksum uploads compute and the store verifies. By default CRC64NVME.
    #[arg(long, value_enum, value_name = "ALGORITHM", help_heading = "Object properties")]
    pub(crate) checksum_algorithm: Option<ChecksumAlgorithmArg>,
    /// When uploads send checksums. By default when-supported.
    #[arg(long, value_enum, value_name = "MODE", help_heading = "Object properties")]
    pub(crate) checksum_mode: Option<ChecksumModeArg>,
    /// SSE-C keys of the objects written and read.
    #[command(flatten)]
    pub(crate) sse_c: super::SseCArgs,
}
