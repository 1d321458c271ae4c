//! `s3io rm`: delete one object, every object under a prefix (`--recursive`), or every object a
//! wildcard matches (`s3io rm 's3://b/logs/2026-*'`).
//!
//! Many-object deletes are a stream of [`Action::Delete`]s run by [`crate::batch`], which sends
//! them as DeleteObjects requests of up to 1,000 keys while the listing goes on, so the command
//! runs in constant memory. `--exclude`/`--include` filter on the key relative to the prefix (or
//! to the wildcard's directory), `--dry-run` prints what would be deleted. `s3://b/dir` (no
//! trailing `/`) deletes `dir` itself and keys under `dir/`, never `dir2/…`: a prefix is treated
//! as a directory, the safe reading of a delete.

use futures::{future, Stream, StreamExt as _};
use s3io::Client;

use super::cp::{batch_config, nothing_matched, select};
use crate::args::RmArgs;
use crate::batch::{self, Action, BatchConfig, Summary};
use crate::exit::UsageError;
use crate::filter::Filters;
use crate::listing;
use crate::location::S3Url;
use crate::printer::Printer;
use crate::wildcard::{has_wildcard, KeyPattern};

/// Runs `s3io rm`.
pub(crate) async fn run(client: &Client, args: RmArgs, out: &mut Printer) -> anyhow::Result<()> {
    let target = S3Url::parse(&args.target)?;
    let config = batch_config(&args.batch, false, out.is_quiet());
    let filters = args.batch.filters.compile()?;
    if let Some(version) = &args.version_id {
        if args.recursive || (!args.raw && has_wildcard(&target.key)) {
            return Err(
                UsageError::new("--version-id deletes one version of one object: not with -r or wildcards").into()
            );
        }
        let object = S3Url::parse_object(&args.target)?;
        let shown = crate::escape::text(version);
        if args.batch.dry_run {
            return out.status(&format!("(dryrun) delete: {object} (version {shown})")).await;
        }
        client.delete_object_version(&object.bucket, &object.key, version).await?;
        return out.status(&format!("delete: {object} (version {shown})")).await;
    }
    if !args.raw && has_wildcard(&target.key) {
        let pattern = KeyPattern::wildcard(&target.key)?;
        let summary = delete_matching(client, &target.bucket, pattern, filters, &config, out).await?;
        return match summary.objects() {
            0 => Err(nothing_matched(&target.to_string())),
            _ => Ok(()),
        };
    }
    if args.recursive {
        return delete_under(client, &target, filters, &config, out).await.map(drop);
    }
    if !filters.is_empty() {
        return Err(UsageError::new("--exclude and --include apply to --recursive or wildcard deletes").into());
    }
    let object = S3Url::parse_object(&args.target)?;
    if args.batch.dry_run {
        return out.status(&format!("(dryrun) delete: {object}")).await;
    }
    client.delete_object(&object.bucket, &object.key).await?;
    out.status(&format!("delete: {object}")).await
}

/// Whether `key` is `prefix` itself or lies under it as under a directory.
fn is_under(key: &str, prefix: &str) -> bool {
    prefix.is_empty()
        || prefix.ends_with('/')
        || key.len() == prefix.len()
        || key.as_bytes().get(prefix.len()) == Some(&b'/')
}

/// Deletes every object under `prefix` (the whole bucket for an empty key) that the filters
/// keep; returns how many were deleted.
async fn delete_under(
    client: &Client,
    prefix: &S3Url,
    filters: Filters,
    config: &BatchConfig,
    out: &mut Printer,
) -> anyhow::Result<u64> {
    let actions = deletes_under(client, prefix, filters);
    Ok(batch::run(client, actions, config, out).await?.succeeded)
}

/// The deletes of every object under `prefix` that the filters keep, listed lazily.
pub(crate) fn deletes_under(
    client: &Client,
    prefix: &S3Url,
    filters: Filters,
) -> impl Stream<Item = anyhow::Result<Action>> + Send + 'static {
    let bucket = prefix.bucket.clone();
    let base = prefix.key.clone();
    listing::list_objects(client, &prefix.bucket, &prefix.key).filter_map(move |item| {
        future::ready(match item {
            Err(error) => Some(Err(error.into())),
            Ok(object) => {
                let name = object.key[base.len()..].trim_start_matches('/');
                (is_under(&object.key, &base) && filters.includes(name))
                    .then(|| Ok(Action::Delete { target: S3Url { bucket: bucket.clone(), key: object.key.clone() } }))
            }
        })
    })
}

/// Deletes every object a wildcard selects.
async fn delete_matching(
    client: &Client,
    bucket: &str,
    pattern: KeyPattern,
    filters: Filters,
    config: &BatchConfig,
    out: &mut Printer,
) -> anyhow::Result<Summary> {
    let actions = deletes_matching(client, bucket, pattern, filters);
    batch::run(client, actions, config, out).await
}

/// The deletes of every object a wildcard selects, listed lazily.
pub(crate) fn deletes_matching(
    client: &Client,
    bucket: &str,
    pattern: KeyPattern,
    filters: Filters,
) -> impl Stream<Item = anyhow::Result<Action>> + Send + 'static {
    let owned_bucket = bucket.to_owned();
    listing::list_objects(client, bucket, pattern.list_prefix()).filter_map(move |item| {
        future::ready(match item {
            Err(error) => Some(Err(error.into())),
            Ok(object) => select(&pattern, &filters, &object.key).is_some().then(|| {
                Ok(Action::Delete { target: S3Url { bucket: owned_bucket.clone(), key: object.key.clone() } })
            }),
        })
    })
}

/// Deletes every object in `bucket` (for `rb --force`); returns how many.
pub(crate) async fn delete_all(client: &Client, bucket: &str, out: &mut Printer) -> anyhow::Result<u64> {
    let config = BatchConfig { quiet: out.is_quiet(), ..BatchConfig::default() };
    let everything = S3Url { bucket: bucket.to_owned(), key: String::new() };
    delete_under(client, &everything, Filters::default(), &config, out).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_is_a_directory() {
        assert!(is_under("dir", "dir"));
        assert!(is_under("dir/a", "dir"));
        assert!(!is_under("dir2/a", "dir"));
        assert!(is_under("dir2/a", "dir2/"));
        assert!(is_under("anything", ""));
    }
}
