//! What a `cp` or `mv` does, as the [`Action`]s [`crate::batch`] runs: the lazy stream of a
//! many-object copy ([`plan_many`]: the source listed or walked, each key filtered and named under
//! the destination), the one action of a single-object line of `s3io run` ([`plan_single`]), and
//! the pieces `rm`, `sync` and `run` share with them (the batch settings, the key selection, the
//! error of a wildcard that matched nothing).
//!
//! Nothing here sends a request but the listing: the actions run later, in the batch.

use std::path::Path;

use anyhow::Context as _;
use futures::{future, Stream, StreamExt as _};
use s3io::Client;

use super::{key_under, local_destination, object_name};
use crate::args::{BatchArgs, CpArgs};
use crate::batch::{Action, BatchConfig};
use crate::exit::UsageError;
use crate::filter::Filters;
use crate::keypath::{key_to_path, path_to_key, LocalTarget};
use crate::location::{Location, S3Url};
use crate::wildcard::{has_wildcard, KeyPattern};
use crate::{listing, walk};

/// The batch settings of a many-object command.
pub(crate) fn batch_config(args: &BatchArgs, no_clobber: bool, quiet: bool) -> BatchConfig {
    BatchConfig {
        jobs: args.jobs,
        dry_run: args.dry_run,
        no_clobber,
        json: args.json,
        quiet,
        no_progress: args.no_progress,
        ..BatchConfig::default()
    }
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

/// The actions of a `cp -r` or wildcard copy (or move), listed or walked lazily.
pub(crate) async fn plan_many(
    client: &Client,
    args: &CpArgs,
    source: Location,
    destination: Location,
) -> anyhow::Result<Actions> {
    let filters = args.batch.filters.compile()?;
    let actions: Actions = match (source, destination) {
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
            Box::pin(walk::walk(root, !args.batch.no_follow_symlinks).filter_map(move |item| {
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
    Ok(actions)
}

/// A lazy stream of actions, as a planner yields them.
pub(crate) type Actions = std::pin::Pin<Box<dyn Stream<Item = anyhow::Result<Action>> + Send>>;

/// The one action of a single-object `cp` or `mv` (in `s3io run`, where it runs in the batch of
/// every line), named as the single command names its destination. Stdin and stdout are refused.
pub(crate) async fn plan_single(source: Location, destination: Location) -> anyhow::Result<Action> {
    match (source, destination) {
        (Location::Local(path), Location::S3(prefix)) => {
            let metadata =
                tokio::fs::metadata(&path).await.with_context(|| format!("reading {}", crate::escape::path(&path)))?;
            if metadata.is_dir() {
                anyhow::bail!("{} is a directory: copy it with --recursive", crate::escape::path(&path));
            }
            let name = path.file_name().and_then(|name| name.to_str()).ok_or_else(|| {
                anyhow::anyhow!("{}: no UTF-8 file name to use as the key", crate::escape::path(&path))
            })?;
            let name = path_to_key(Path::new(name))?;
            Ok(Action::Upload { destination: key_under(prefix, &name), source: path, size: metadata.len() })
        }
        (Location::S3(source), Location::Local(path)) => {
            let name = object_name(&source)?;
            let destination = local_destination(&path, name).await.with_context(|| format!("download {source}"))?;
            Ok(Action::Download { source, destination, size: 0, modified: None })
        }
        (Location::S3(source), Location::S3(prefix)) => {
            let destination = key_under(prefix, object_name(&source)?);
            Ok(Action::Copy { source, destination, size: 0 })
        }
        (Location::Stdio, _) | (_, Location::Stdio) => anyhow::bail!("stdin and stdout cannot be used in `s3io run`"),
        (Location::Local(_), Location::Local(_)) => {
            anyhow::bail!("cp copies to or from S3: one of SRC and DST must be an s3:// URL")
        }
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
        Ok(_) => Err(UsageError::new(format!("{} exists and is not a directory", crate::escape::path(root))).into()),
        Err(_) if dry_run => Ok(()),
        Err(_) => tokio::fs::create_dir_all(root)
            .await
            .with_context(|| format!("creating directory {}", crate::escape::path(root))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> S3Url {
        S3Url::parse(text).unwrap()
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
}
