//! What an upload or a copy sets on the new object: Content-Type (given, or guessed from the
//! key's extension with `mime_guess`), the other standard headers, user metadata, storage class,
//! server-side encryption, canned ACL, tags, and the checksum the upload computes — validated once from the raw
//! [`ObjectArgs`] into [`ObjectSettings`], then applied to every upload of the command (`cp`,
//! `cp -r`, `sync`, stdin), each object with its own guessed type. S3-to-S3 copies keep the
//! source's headers and metadata (`--metadata-directive COPY`) unless a metadata flag or
//! `REPLACE` says otherwise, as the aws CLI does; storage class, encryption, ACL and tags apply
//! to copies either way.

use std::sync::Arc;

use s3io::config::{ChecksumAlgorithm, ChecksumMode};
use s3io::types::{CopyProperties, HeadObjectOptions, PutObjectOptions, ServerSideEncryption, SseCustomerKey};
use s3io::{Client, Download, ServerCopy, Upload};

use crate::args::{ChecksumAlgorithmArg, ChecksumModeArg, CopyProps, MetadataDirective, ObjectArgs, Sse, SseCArgs};
use crate::exit::UsageError;
use crate::sse_c::SseCKeys;

/// The validated object flags, shared by every upload of a command.
#[derive(Debug, Clone)]
pub(crate) struct ObjectSettings {
    /// What every new object gets (Content-Type only when given).
    options: PutObjectOptions,
    /// Guess Content-Type from the key when none was given.
    guess_content_type: bool,
    checksum_algorithm: Option<ChecksumAlgorithm>,
    checksum_mode: Option<ChecksumMode>,
    /// S3-to-S3 copies replace the source's headers and metadata (`REPLACE`) rather than keep
    /// them (`COPY`).
    replace_on_copy: bool,
    /// S3-to-S3 copies take the source's tags (`--copy-props default`).
    copy_tags: bool,
    /// SSE-C keys: of the objects written or read, and of copy sources.
    sse_c: SseCKeys,
    /// The version of the one object a command reads (`--version-id`).
    version_id: Option<String>,
}

impl Default for ObjectSettings {
    /// No flags: copies keep the source's headers, metadata and tags, as S3 does.
    fn default() -> Self {
        Self {
            options: PutObjectOptions::default(),
            guess_content_type: false,
            checksum_algorithm: None,
            checksum_mode: None,
            replace_on_copy: false,
            copy_tags: true,
            sse_c: SseCKeys::default(),
            version_id: None,
        }
    }
}

impl ObjectSettings {
    /// Validates the flags.
    pub(crate) fn new(args: &ObjectArgs) -> Result<Arc<Self>, UsageError> {
        if args.sse_kms_key_id.is_some() && args.sse != Some(Sse::Kms) {
            return Err(UsageError::new("--sse-kms-key-id needs --sse aws:kms"));
        }
        let sets_metadata = args.content_type.is_some()
            || args.cache_control.is_some()
            || args.content_disposition.is_some()
            || args.content_encoding.is_some()
            || args.content_language.is_some()
            || args.expires.is_some()
            || args.metadata.is_some();
        // As the aws CLI: metadata flags on a copy mean REPLACE; COPY with them is a contradiction.
        let replace_on_copy = match args.metadata_directive {
            Some(MetadataDirective::Replace) => true,
            Some(MetadataDirective::Copy) if sets_metadata => {
                return Err(UsageError::new(
                    "--metadata-directive COPY keeps the source's headers and metadata: not with --content-type, \
                     --cache-control, --content-disposition, --content-encoding, --content-language, --expires or \
                     --metadata",
                ));
            }
            Some(MetadataDirective::Copy) => false,
            None => sets_metadata,
        };
        // `--copy-props none` takes nothing from the source: its headers and metadata are
        // replaced (by the flags', or by none) and its tags are not copied.
        let props = args.copy_props.unwrap_or(CopyProps::Default);
        if props == CopyProps::None && args.metadata_directive == Some(MetadataDirective::Copy) {
            return Err(UsageError::new(
                "--copy-props none copies nothing from the source: not with --metadata-directive COPY",
            ));
        }
        let replace_on_copy = replace_on_copy || props == CopyProps::None;
        let copy_tags = props == CopyProps::Default;
        let sse_c = SseCKeys::new(&args.sse_c)?;
        if sse_c.object.is_some() && args.sse.is_some() {
            return Err(UsageError::new("--sse and --sse-c are two kinds of encryption: give one"));
        }
        let mut options = PutObjectOptions::default();
        options.sse_customer_key = sse_c.object.clone();
        options.content_type = args.content_type.clone();
        options.content_encoding = args.content_encoding.clone();
        options.content_disposition = args.content_disposition.clone();
        options.content_language = args.content_language.clone();
        options.cache_control = args.cache_control.clone();
        options.expires = args.expires.as_deref().map(http_date).transpose()?;
        options.metadata = args.metadata.as_deref().map(parse_metadata).transpose()?.unwrap_or_default();
        options.storage_class = args.storage_class.clone();
        options.acl = args.acl.clone();
        options.tagging = args.tags.as_deref().map(check_tags).transpose()?;
        options.sse = args.sse.map(|sse| match sse {
            Sse::Aes256 => ServerSideEncryption::Aes256,
            Sse::Kms => ServerSideEncryption::Kms { key_id: args.sse_kms_key_id.clone() },
        });
        Ok(Arc::new(Self {
            options,
            guess_content_type: !args.no_guess_mime_type,
            checksum_algorithm: args.checksum_algorithm.map(|a| match a {
                ChecksumAlgorithmArg::Crc64Nvme => ChecksumAlgorithm::Crc64Nvme,
                ChecksumAlgorithmArg::Crc32c => ChecksumAlgorithm::Crc32c,
                ChecksumAlgorithmArg::Crc32 => ChecksumAlgorithm::Crc32,
                ChecksumAlgorithmArg::Sha256 => ChecksumAlgorithm::Sha256,
                ChecksumAlgorithmArg::Sha1 => ChecksumAlgorithm::Sha1,
            }),
            checksum_mode: args.checksum_mode.map(|m| match m {
                ChecksumModeArg::WhenSupported => ChecksumMode::WhenSupported,
                ChecksumModeArg::WhenRequired => ChecksumMode::WhenRequired,
            }),
            replace_on_copy,
            copy_tags,
            sse_c,
            version_id: None,
        }))
    }

    /// Settings for commands that only read objects (`cat`, `head`): their SSE-C key and version.
    pub(crate) fn for_reading(sse_c: &SseCArgs, version_id: Option<&str>) -> Result<Self, UsageError> {
        Ok(Self { sse_c: SseCKeys::new(sse_c)?, version_id: version_id.map(str::to_owned), ..Self::default() })
    }

    /// The same settings, reading version `version_id` of the one source object.
    pub(crate) fn with_version_id(mut self, version_id: Option<String>) -> Self {
        self.version_id = version_id;
        self
    }

    /// A download of `bucket/key` reading it with its SSE-C key and at its version, if given.
    pub(crate) fn download(&self, client: &Client, bucket: &str, key: &str) -> Download {
        let mut download = client.download(bucket, key);
        if let Some(sse_key) = &self.sse_c.object {
            download = download.sse_customer_key(sse_key.clone());
        }
        if let Some(version) = &self.version_id {
            download = download.version_id(version.clone());
        }
        download
    }

    /// HeadObject's options for an object this command reads.
    pub(crate) fn head_options(&self) -> HeadObjectOptions {
        self.head_with(self.sse_c.object.as_ref())
    }

    /// HeadObject's options for the source object of a server-side copy: its SSE-C key
    /// (`--sse-c-copy-source-key`), if one was given.
    pub(crate) fn copy_source_head_options(&self) -> HeadObjectOptions {
        self.head_with(self.sse_c.copy_source.as_ref())
    }

    /// HeadObject's options with `sse_key` and this command's version.
    fn head_with(&self, sse_key: Option<&SseCustomerKey>) -> HeadObjectOptions {
        let mut options = HeadObjectOptions::default();
        options.sse_customer_key = sse_key.cloned();
        options.version_id = self.version_id.clone();
        options
    }

    /// A server-side copy reading the source with its SSE-C key, if one was given.
    pub(crate) fn copy(&self, client: &Client, source: (&str, &str), destination: (&str, &str)) -> ServerCopy {
        let copy = client
            .copy(source.0, source.1, destination.0, destination.1)
            .properties(self.copy_properties(destination.1));
        let copy = match &self.sse_c.copy_source {
            Some(sse_key) => copy.source_sse_customer_key(sse_key.clone()),
            None => copy,
        };
        match &self.version_id {
            Some(version) => copy.source_version_id(version.clone()),
            None => copy,
        }
    }

    /// The options of the object `key`: Content-Type guessed from its extension unless given
    /// or `--no-guess-mime-type`.
    pub(crate) fn options_for(&self, key: &str) -> PutObjectOptions {
        let mut options = self.options.clone();
        if options.content_type.is_none() && self.guess_content_type {
            options.content_type = guess_content_type(key);
        }
        options
    }

    /// What a server-side copy to `key` sets on the new object: with `REPLACE` the flags'
    /// headers and metadata (Content-Type guessed from `key`), with `COPY` the source's; the
    /// storage class, encryption, ACL and tags the flags give either way.
    pub(crate) fn copy_properties(&self, key: &str) -> CopyProperties {
        let options = if self.replace_on_copy { self.options_for(key) } else { self.options.clone() };
        CopyProperties::new(options, self.replace_on_copy).with_copy_tags(self.copy_tags)
    }

    /// `upload` with the options of its object `key` and the checksum flags.
    pub(crate) fn apply(&self, mut upload: Upload, key: &str) -> Upload {
        upload = upload.options(self.options_for(key));
        if let Some(algorithm) = self.checksum_algorithm {
            upload = upload.checksum_algorithm(algorithm);
        }
        if let Some(mode) = self.checksum_mode {
            upload = upload.checksum_mode(mode);
        }
        upload
    }
}

/// The Content-Type of `key`'s extension, if it has a known one.
fn guess_content_type(key: &str) -> Option<String> {
    let name = key.rsplit('/').next().unwrap_or(key);
    if !name.contains('.') {
        return None;
    }
    mime_guess::from_path(name).first_raw().map(str::to_owned)
}

/// `--metadata a=1,b=2` as pairs.
fn parse_metadata(text: &str) -> Result<Vec<(String, String)>, UsageError> {
    text.split(',')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => Ok((name.trim().to_owned(), value.to_owned())),
            _ => Err(UsageError::new(format!("--metadata {pair:?}: expected NAME=VALUE"))),
        })
        .collect()
}

/// `--tags a=1&b=2`: sent as it is (a URL query, as `x-amz-tagging` takes it), once every pair
/// has a name.
fn check_tags(text: &str) -> Result<String, UsageError> {
    for pair in text.split('&') {
        match pair.split_once('=') {
            Some((name, _)) if !name.is_empty() => {}
            _ => return Err(UsageError::new(format!("--tags {pair:?}: expected NAME=VALUE pairs joined by &"))),
        }
    }
    Ok(text.to_owned())
}

/// `--expires`: an RFC 3339 time becomes an HTTP date; anything else must already be one.
fn http_date(text: &str) -> Result<String, UsageError> {
    use time::format_description::well_known::{Rfc2822, Rfc3339};
    const HTTP_DATE: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    if let Ok(time) = time::OffsetDateTime::parse(text, &Rfc3339) {
        let utc = time.to_offset(time::UtcOffset::UTC);
        return utc.format(HTTP_DATE).map_err(|e| UsageError::new(format!("--expires {text:?}: {e}")));
    }
    let http = text.strip_suffix(" GMT").map(|t| format!("{t} +0000"));
    match http.as_deref().map(|t| time::OffsetDateTime::parse(t, &Rfc2822)) {
        Some(Ok(_)) => Ok(text.to_owned()),
        _ => Err(UsageError::new(format!(
            "--expires {text:?}: expected an RFC 3339 time (2027-01-01T00:00:00Z) or an HTTP date \
             (Fri, 01 Jan 2027 00:00:00 GMT)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_are_guessed_from_the_extension() {
        assert_eq!(guess_content_type("www/index.html").as_deref(), Some("text/html"));
        assert_eq!(guess_content_type("app.js").as_deref(), Some("text/javascript"));
        assert_eq!(guess_content_type("a/style.css").as_deref(), Some("text/css"));
        assert_eq!(guess_content_type("a.b/README"), None);
        assert_eq!(guess_content_type("data.unknown-ext"), None);
    }

    #[test]
    fn given_type_wins_and_guessing_can_be_turned_off() {
        let given =
            ObjectSettings::new(&ObjectArgs { content_type: Some("x/y".into()), ..Default::default() }).unwrap();
        assert_eq!(given.options_for("a.html").content_type.as_deref(), Some("x/y"));
        let off = ObjectSettings::new(&ObjectArgs { no_guess_mime_type: true, ..Default::default() }).unwrap();
        assert_eq!(off.options_for("a.html").content_type, None);
    }

    #[test]
    fn metadata_pairs_parse_and_bad_ones_are_usage_errors() {
        assert_eq!(
            parse_metadata("a=1,b=x=y").unwrap(),
            vec![("a".to_owned(), "1".to_owned()), ("b".to_owned(), "x=y".to_owned())]
        );
        assert!(parse_metadata("novalue").is_err());
        assert!(parse_metadata("=v").is_err());
    }

    #[test]
    fn expires_takes_rfc3339_or_an_http_date() {
        assert_eq!(http_date("2027-01-01T00:00:00Z").unwrap(), "Fri, 01 Jan 2027 00:00:00 GMT");
        assert_eq!(http_date("Fri, 01 Jan 2027 00:00:00 GMT").unwrap(), "Fri, 01 Jan 2027 00:00:00 GMT");
        assert!(http_date("tomorrow").is_err());
    }

    #[test]
    fn metadata_flags_make_copies_replace() {
        let keep =
            ObjectSettings::new(&ObjectArgs { storage_class: Some("GLACIER".into()), ..Default::default() }).unwrap();
        let properties = keep.copy_properties("a.html");
        assert!(!properties.replace_metadata);
        assert_eq!(properties.options.content_type, None, "the source's type is kept");
        assert_eq!(properties.options.storage_class.as_deref(), Some("GLACIER"));
        let replace = ObjectSettings::new(&ObjectArgs { metadata: Some("a=1".into()), ..Default::default() }).unwrap();
        let properties = replace.copy_properties("a.html");
        assert!(properties.replace_metadata);
        assert_eq!(properties.options.content_type.as_deref(), Some("text/html"));
        let contradiction = ObjectArgs {
            metadata: Some("a=1".into()),
            metadata_directive: Some(MetadataDirective::Copy),
            ..Default::default()
        };
        assert!(ObjectSettings::new(&contradiction).is_err());
    }

    #[test]
    fn tags_need_names() {
        assert_eq!(check_tags("a=1&b=").unwrap(), "a=1&b=");
        assert!(check_tags("a=1&&b=2").is_err());
        assert!(check_tags("=1").is_err());
    }

    #[test]
    fn a_kms_key_needs_kms() {
        assert!(ObjectSettings::new(&ObjectArgs { sse_kms_key_id: Some("k".into()), ..Default::default() }).is_err());
    }
}
