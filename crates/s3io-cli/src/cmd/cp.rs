//! `s3io cp SRC DST`: one object up, down, to stdout, from stdin, or server-side between buckets;
//! or, with `--recursive` or a wildcard, many.
//!
//! Single objects follow `aws s3 cp`: a local destination that ends in `/` or is an existing
//! directory gets the key's last segment appended; an `s3://` destination whose key is empty or
//! ends in `/` gets the source file's (or object's) name appended. The bytes move through
//! [`crate::transfer`], the one place the library's engines plug in.
//!
//! Many objects (`cp -r s3://b/p/ dir/`, `cp 's3://b/logs/2026-*' dir/`, `cp -r dir/ s3://b/p/`,
//! `cp -r s3://b/a/ s3://b2/a/`) are a stream of [`Action`]s run by [`crate::batch`]: the source
//! is listed (or walked) lazily, filtered by `--exclude`/`--include` on each key's relative name,
//! and each selected object keeps that relative name under the destination — relative to the
//! source prefix for `-r`, to the wildcard's directory for wildcards ([`crate::wildcard`] has the
//! rule). A destination prefix is always a directory: `s3://b2/x` and `s3://b2/x/` both put keys
//! under `x/`. Keys become local paths only through [`crate::keypath`], which refuses any key
//! that would land outside the destination directory.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use futures::{future, Stream, StreamExt as _};
use s3io::Client;

use crate::args::{BatchArgs, CpArgs};
use crate::batch::{self, Action, BatchConfig};
use crate::exit::UsageError;
use crate::filter::Filters;
use crate::keypath::{key_to_path, path_to_key, LocalTarget};
use crate::location::{ends_with_separator, Location, S3Url};
use crate::printer::Printer;
use crate::wildcard::{has_wildcard, KeyPattern};
use crate::{listing, transfer, walk};

/// Runs `s3io cp`.
pub(crate) async fn run(client: &Client, args: CpArgs, out: &mut Printer) -> anyhow::Result<()> {
    let source = Location::parse(&args.source)?;
    let destination = Location::parse(&args.destination)?;
    let many = match &source {
        Location::S3(url) => args.recursive || (!args.raw && has_wildcard(&url.key)),
        Location::Local(_) => args.recursive,
        Location::Stdio => false,
    };
    if many {
        return copy_many(client, &args, source, destination, out).await;
    }
    if !args.batch.filters.rules.is_empty() {
        return Err(UsageError::new("--exclude and --include apply to --recursive or wildcard copies").into());
    }
    match (source, destination) {
        (Location::Local(path), Location::S3(prefix)) => {
            if tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_dir()) {
                return Err(UsageError::new(format!(
                    "{} is a directory: copy it with --recursive",
                    crate::escape::path(&path)
                ))
                .into());
            }
            let name = path.file_name().ok_or_else(|| {
                UsageError::new(format!("{} has no file name to use as the key", crate::escape::path(&path)))
            })?;
            let name = path_to_key(Path::new(name)).map_err(|e| UsageError::new(e.to_string()))?;
            let destination = key_under(prefix, &name);
            transfer::upload_file(client, &path, &destination, None).await?;
            out.status(&format!("upload: {} to {destination}", crate::escape::path(&path))).await
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
            if args.no_clobber && tokio::fs::symlink_metadata(&path).await.is_ok() {
                return out.status(&format!("skip: {source} (exists: {})", crate::escape::path(&path))).await;
            }
            transfer::download_to_file(client, &source, &path, None, None).await?;
            out.status(&format!("download: {source} to {}", crate::escape::path(&path))).await
        }
        (Location::S3(source), Location::Stdio) => {
            object_name(&source)?;
            transfer::download_to_writer(client, &source, &mut tokio::io::stdout()).await?;
            Ok(())
        }
        (Location::S3(source), Location::S3(prefix)) => {
            let destination = key_under(prefix, object_name(&source)?);
            transfer::copy_object(client, &source, &destination).await?;
            out.status(&format!("copy: {source} to {destination}")).await
        }
        (Location::Local(_) | Location::Stdio, Location::Local(_) | Location::Stdio) => {
            Err(UsageError::new("cp copies to or from S3: one of SRC and DST must be an s3:// URL").into())
        }
    }
}

/// The batch settings of a many-object command.
pub(crate) fn batch_config(args: &BatchArgs, no_clobber: bool, quiet: bool) -> BatchConfig {
    BatchConfig { jobs: args.jobs, dry_run: args.dry_run, no_clobber, json: args.json, quiet }
}

/// The keys a many-object S3 source selects: a wildcard, or the prefix as a directory.
pub(crate) fn source_pattern(source: &S3Url, raw: bool) -> Result<KeyPattern, UsageError> {
    if !raw && has_wildcard(&source.key) {
        KeyPattern::wildcard(&source.key)
    } else {
        Ok(KeyPattern::directory(&source.key))
    }
}

/// The relative name of a listed key if the pattern and the filters select it. The directory's
/// own marker (an empty name) is never selected.
pub(crate) fn select<'k>(pattern: &KeyPattern, filters: &Filters, key: &'k str) -> Option<&'k str> {
    pattern.relative(key).filter(|name| !name.is_empty() && filters.includes(name))
}

/// `prefix` as a directory of keys: empty, or ending in `/`.
pub(crate) fn directory_prefix(prefix: &str) -> String {
    let mut prefix = prefix.to_owned();
    if !prefix.is_empty() && !prefix.ends_with('/') {
        prefix.push('/');
    }
    prefix
}

/// The download of the listed key `key`, named `name` under `root`: a file, a directory for a
/// marker, or a refusal naming the key when it would escape `root`.
pub(crate) fn download_action(bucket: &str, key: &str, name: &str, size: u64, root: &Path) -> Action {
    let source = S3Url { bucket: bucket.to_owned(), key: key.to_owned() };
    match key_to_path(root, name) {
        Ok(LocalTarget::File(destination)) => Action::Download { source, destination, size, modified: None },
        Ok(LocalTarget::Directory(destination)) => Action::MakeDirectory { source, destination },
        Err(error) => Action::Refuse { object: source.to_string(), reason: error.to_string() },
    }
}

/// `cp -r` and wildcard copies.
async fn copy_many(
    client: &Client,
    args: &CpArgs,
    source: Location,
    destination: Location,
    out: &mut Printer,
) -> anyhow::Result<()> {
    let filters = args.batch.filters.compile()?;
    let config = batch_config(&args.batch, args.no_clobber, out.is_quiet());
    let wildcard = match &source {
        Location::S3(url) if !args.raw && has_wildcard(&url.key) => Some(url.to_string()),
        _ => None,
    };
    let actions: std::pin::Pin<Box<dyn Stream<Item = anyhow::Result<Action>> + Send>> = match (source, destination) {
        (Location::S3(source), Location::Local(root)) => {
            let pattern = source_pattern(&source, args.raw)?;
            prepare_directory(&root, args.batch.dry_run).await?;
            let bucket = source.bucket.clone();
            Box::pin(listing::list_objects(client, &source.bucket, pattern.list_prefix()).filter_map(move |item| {
                future::ready(match item {
                    Err(error) => Some(Err(error.into())),
                    Ok(object) => select(&pattern, &filters, &object.key)
                        .map(|name| Ok(download_action(&bucket, &object.key, name, object.size, &root))),
                })
            }))
        }
        (Location::S3(source), Location::S3(destination)) => {
            let pattern = source_pattern(&source, args.raw)?;
            let target = directory_prefix(&destination.key);
            Box::pin(listing::list_objects(client, &source.bucket, pattern.list_prefix()).filter_map(move |item| {
                future::ready(match item {
                    Err(error) => Some(Err(error.into())),
                    Ok(object) => select(&pattern, &filters, &object.key).map(|name| {
                        Ok(Action::Copy {
                            destination: S3Url { bucket: destination.bucket.clone(), key: format!("{target}{name}") },
                            source: S3Url { bucket: source.bucket.clone(), key: object.key.clone() },
                            size: object.size,
                        })
                    }),
                })
            }))
        }
        (Location::Local(root), Location::S3(destination)) => {
            if !tokio::fs::metadata(&root).await.is_ok_and(|m| m.is_dir()) {
                return Err(UsageError::new(format!("{} is not a directory", crate::escape::path(&root))).into());
            }
            let target = directory_prefix(&destination.key);
            Box::pin(walk::walk(root).filter_map(move |item| {
                future::ready(match item {
                    Err(error) => Some(Ok(Action::Refuse {
                        object: crate::escape::path(error.path()),
                        reason: error.to_string(),
                    })),
                    Ok(entry) => filters.includes(&entry.key).then(|| {
                        Ok(Action::Upload {
                            destination: S3Url {
                                bucket: destination.bucket.clone(),
                                key: format!("{target}{}", entry.key),
                            },
                            source: entry.path,
                            size: entry.size,
                        })
                    }),
                })
            }))
        }
        (Location::Stdio, _) | (_, Location::Stdio) => {
            return Err(UsageError::new("recursive and wildcard copies cannot use stdin or stdout").into());
        }
        (Location::Local(_), Location::Local(_)) => {
            return Err(UsageError::new("cp copies to or from S3: one of SRC and DST must be an s3:// URL").into());
        }
    };
    let summary = batch::run(client, actions, &config, out).await?;
    match wildcard {
        Some(pattern) if summary.objects() == 0 => Err(nothing_matched(&pattern)),
        _ => Ok(()),
    }
}

/// A wildcard that selected nothing is an error (exit 1), as in s5cmd: a script that expected
/// files learns that none came.
pub(crate) fn nothing_matched(pattern: &str) -> anyhow::Error {
    anyhow::anyhow!("no object matches {pattern}")
}

/// Makes sure the destination directory of a recursive download exists (not in a dry run).
async fn prepare_directory(root: &Path, dry_run: bool) -> anyhow::Result<()> {
    match tokio::fs::metadata(root).await {
        Ok(metadata) if metadata.is_dir() => Ok(()),
        Ok(_) => Err(UsageError::new(format!("{} exists and is not a directory", crate::escape::path(&root))).into()),
        Err(_) if dry_run => Ok(()),
        Err(_) => tokio::fs::create_dir_all(root)
            .await
            .with_context(|| format!("creating directory {}", crate::escape::path(&root))),
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
        tokio::fs::create_dir_all(path)
            .await
            .with_context(|| format!("creating directory {}", crate::escape::path(&path)))?;
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
    fn listed_keys_become_downloads_markers_directories_and_escapes_refusals() {
        let root = Path::new("/dst");
        assert_eq!(
            download_action("b", "p/a/f", "a/f", 7, root),
            Action::Download { source: url("s3://b/p/a/f"), destination: "/dst/a/f".into(), size: 7, modified: None }
        );
        assert_eq!(
            download_action("b", "p/dir/", "dir/", 0, root),
            Action::MakeDirectory { source: url("s3://b/p/dir/"), destination: "/dst/dir".into() }
        );
        let Action::Refuse { object, reason } = download_action("b", "p/../evil", "../evil", 1, root) else {
            panic!("not refused")
        };
        assert_eq!(object, "s3://b/p/../evil");
        assert!(reason.contains(r#""../evil""#), "{reason}");
    }

    #[test]
    fn the_directory_itself_is_never_selected() {
        let filters = Filters::default();
        let pattern = KeyPattern::directory("p");
        assert_eq!(select(&pattern, &filters, "p/"), None);
        assert_eq!(select(&pattern, &filters, "p/x"), Some("x"));
        assert_eq!(directory_prefix("x"), "x/");
        assert_eq!(directory_prefix(""), "");
    }

    #[test]
    fn prefixes_are_not_objects() {
        assert!(object_name(&url("s3://b/dir/")).is_err());
        assert_eq!(object_name(&url("s3://b/dir/k")).unwrap(), "k");
    }
}
