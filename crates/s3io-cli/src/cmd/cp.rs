//! `s3io cp SRC DST`: one object up, down, to stdout, from stdin, or server-side between buckets.
//!
//! Destinations follow `aws s3 cp`: a local destination that ends in `/` or is an existing
//! directory gets the key's last segment appended; an `s3://` destination whose key is empty or
//! ends in `/` gets the source file's (or object's) name appended. The bytes move through
//! [`crate::transfer`], the one place the library's engines plug in.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use s3io::Client;

use super::Printer;
use crate::args::CpArgs;
use crate::exit::UsageError;
use crate::location::{ends_with_separator, Location, S3Url};
use crate::transfer;

/// Runs `s3io cp`.
pub(crate) async fn run(client: &Client, args: CpArgs, out: &mut Printer) -> anyhow::Result<()> {
    let source = Location::parse(&args.source)?;
    let destination = Location::parse(&args.destination)?;
    match (source, destination) {
        (Location::Local(path), Location::S3(prefix)) => {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| UsageError::new(format!("{} has no file name to use as the key", path.display())))?;
            let destination = key_under(prefix, name);
            transfer::upload_file(client, &path, &destination).await?;
            out.status(&format!("upload: {} to {destination}", path.display())).await
        }
        (Location::Stdio, Location::S3(destination)) => {
            if destination.basename().is_none() {
                return Err(UsageError::new(format!("uploading stdin needs a full key, not {destination}")).into());
            }
            transfer::upload_reader(client, tokio::io::stdin(), &destination).await?;
            out.status(&format!("upload: - to {destination}")).await
        }
        (Location::S3(source), Location::Local(path)) => {
            let name = object_name(&source)?;
            let path = local_destination(&path, name).await?;
            transfer::download_to_file(client, &source, &path).await?;
            out.status(&format!("download: {source} to {}", path.display())).await
        }
        (Location::S3(source), Location::Stdio) => {
            object_name(&source)?;
            transfer::download_to_writer(client, &source, &mut tokio::io::stdout()).await?;
            Ok(())
        }
        (Location::S3(source), Location::S3(prefix)) => {
            let destination = key_under(prefix, object_name(&source)?);
            client.copy_object(&source.bucket, &source.key, &destination.bucket, &destination.key).await?;
            out.status(&format!("copy: {source} to {destination}")).await
        }
        (Location::Local(_) | Location::Stdio, Location::Local(_) | Location::Stdio) => {
            Err(UsageError::new("cp copies to or from S3: one of SRC and DST must be an s3:// URL").into())
        }
    }
}

/// The source object's name (last key segment); a prefix needs a recursive copy.
fn object_name(source: &S3Url) -> Result<&str, UsageError> {
    source.basename().ok_or_else(|| {
        UsageError::new(format!("{source} is a prefix, not an object (recursive copies are not supported yet)"))
    })
}

/// `prefix` itself, or `prefix` + `name` when it is a bucket or ends in `/`.
fn key_under(mut prefix: S3Url, name: &str) -> S3Url {
    if prefix.key.is_empty() || prefix.key.ends_with('/') {
        prefix.key.push_str(name);
    }
    prefix
}

/// The file a download writes: `path`, or `path/name` when `path` ends in a separator (created
/// if missing) or is an existing directory.
async fn local_destination(path: &Path, name: &str) -> anyhow::Result<PathBuf> {
    if ends_with_separator(path) {
        tokio::fs::create_dir_all(path).await.with_context(|| format!("creating directory {}", path.display()))?;
        return Ok(path.join(name));
    }
    match tokio::fs::metadata(path).await {
        Ok(metadata) if metadata.is_dir() => Ok(path.join(name)),
        _ => Ok(path.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> S3Url {
        S3Url::parse(text).unwrap()
    }

    #[test]
    fn uploads_to_a_prefix_append_the_file_name() {
        assert_eq!(key_under(url("s3://b"), "f.bin").key, "f.bin");
        assert_eq!(key_under(url("s3://b/dir/"), "f.bin").key, "dir/f.bin");
        assert_eq!(key_under(url("s3://b/exact.bin"), "f.bin").key, "exact.bin");
    }

    #[tokio::test]
    async fn downloads_into_directories_append_the_key_name() {
        let dir = tempfile::tempdir().unwrap();
        let existing = dir.path().to_owned();
        assert_eq!(local_destination(&existing, "k.bin").await.unwrap(), existing.join("k.bin"));
        let file = dir.path().join("named.bin");
        assert_eq!(local_destination(&file, "k.bin").await.unwrap(), file);
        let new_dir = PathBuf::from(format!("{}/new/", dir.path().display()));
        assert_eq!(local_destination(&new_dir, "k.bin").await.unwrap(), new_dir.join("k.bin"));
        assert!(dir.path().join("new").is_dir());
    }

    #[test]
    fn prefixes_are_not_objects() {
        assert!(object_name(&url("s3://b/dir/")).is_err());
        assert_eq!(object_name(&url("s3://b/dir/k")).unwrap(), "k");
    }
}
