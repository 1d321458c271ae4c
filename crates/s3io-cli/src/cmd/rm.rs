//! `s3io rm`: delete one object, or (`--recursive`) every object under a prefix.
//!
//! A recursive delete lists the prefix page by page (ListObjectsV2 pages hold up to 1,000 keys,
//! DeleteObjects takes up to 1,000) and deletes each page with one DeleteObjects request, so it
//! runs in constant memory. `s3://b/dir` (no trailing `/`) deletes `dir` itself and keys under
//! `dir/`, never `dir2/…`: a prefix is treated as a directory, the safe reading of a delete.

use futures::TryStreamExt as _;
use s3io::{Client, ListObjectsOptions};

use super::Printer;
use crate::args::RmArgs;
use crate::location::S3Url;

/// Runs `s3io rm`.
pub(crate) async fn run(client: &Client, args: RmArgs, out: &mut Printer) -> anyhow::Result<()> {
    if args.recursive {
        let prefix = S3Url::parse(&args.target)?;
        return delete_prefix(client, &prefix, args.dry_run, out).await.map(drop);
    }
    let object = S3Url::parse_object(&args.target)?;
    if args.dry_run {
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

/// Deletes every object under `prefix` (the whole bucket for an empty key); returns how many.
/// Keys the store refuses to delete are printed to stderr and make the whole call fail.
pub(crate) async fn delete_prefix(
    client: &Client,
    prefix: &S3Url,
    dry_run: bool,
    out: &mut Printer,
) -> anyhow::Result<u64> {
    let options = ListObjectsOptions {
        prefix: Some(prefix.key.clone()).filter(|p| !p.is_empty()),
        max_keys: Some(s3io::MAX_DELETE_KEYS as u32),
        ..Default::default()
    };
    let mut pages = std::pin::pin!(client.list_objects_v2_pages(&prefix.bucket, options));
    let (mut deleted, mut failed) = (0u64, 0u64);
    while let Some(page) = pages.try_next().await? {
        let keys: Vec<String> =
            page.objects.into_iter().map(|o| o.key).filter(|key| is_under(key, &prefix.key)).collect();
        // A page may hold more keys than one request takes if a store ignores max-keys.
        for batch in keys.chunks(s3io::MAX_DELETE_KEYS) {
            if dry_run {
                for key in batch {
                    out.status(&format!("(dryrun) delete: s3://{}/{key}", prefix.bucket)).await?;
                }
                continue;
            }
            let result = client.delete_objects(&prefix.bucket, batch).await?;
            for error in &result.errors {
                failed += 1;
                let message = error.message.as_deref().unwrap_or("");
                eprintln!("s3io: DeleteObjects s3://{}/{} failed: {} {message}", prefix.bucket, error.key, error.code);
            }
            for key in batch.iter().filter(|key| !result.errors.iter().any(|e| &e.key == *key)) {
                deleted += 1;
                out.status(&format!("delete: s3://{}/{key}", prefix.bucket)).await?;
            }
        }
    }
    if failed > 0 {
        anyhow::bail!(
            "rm s3://{}/{}: {failed} objects could not be deleted ({deleted} deleted)",
            prefix.bucket,
            prefix.key
        );
    }
    Ok(deleted)
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
