//! `s3io ls`: buckets, or one level (or, `--recursive`, all) of the keys under a prefix.
//!
//! The output is `aws s3 ls`'s: `PRE name/` lines for common prefixes and `DATE TIME SIZE NAME`
//! lines for objects, names relative to the listed "directory" unless recursive. Times are UTC.
//! `--storage-class` adds the storage class before the size (`STANDARD` when the store names
//! none), `--etag` the ETag after it, as s5cmd's `ls -s` and `-e` do; `--human-readable` prints
//! binary units (KiB, MiB, …).
//! `--json` prints one JSON object per line instead (full keys, RFC 3339 times).
//! Every page of the listing is followed (continuation tokens), printed as it arrives, so a
//! listing of millions of keys runs in constant memory.

use std::time::SystemTime;

use futures::TryStreamExt as _;
use s3io::types::{ListObjectVersionsOptions, ListObjectsOptions, ObjectSummary};
use s3io::Client;

use crate::args::LsArgs;
use crate::location::S3Url;
use crate::printer::Printer;

/// `2026-11-23 10:00:00`.
const DATE_FORMAT: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

/// Runs `s3io ls`.
pub(crate) async fn run(client: &Client, args: LsArgs, out: &mut Printer) -> anyhow::Result<()> {
    let Some(target) = &args.target else {
        for bucket in client.list_buckets().await? {
            let line = if args.json {
                let date = bucket.creation_date.map(crate::cmd::head::rfc3339);
                serde_json::json!({ "name": bucket.name, "creation_date": date }).to_string()
            } else {
                format!("{} {}", format_date(bucket.creation_date), bucket.name)
            };
            out.data(&line).await?;
        }
        return Ok(());
    };
    let url = S3Url::parse(target)?;
    if args.all_versions {
        return list_versions(client, &url, &args, out).await;
    }
    // Names are shown relative to the last `/` of the prefix, as aws s3 ls does.
    let base_len = if args.recursive { 0 } else { url.key.rfind('/').map_or(0, |i| i + 1) };
    let mut options = ListObjectsOptions::default();
    options.prefix = Some(url.key.clone()).filter(|p| !p.is_empty());
    options.delimiter = (!args.recursive).then(|| "/".to_owned());
    let columns = Columns { human: args.human_readable, storage_class: args.storage_class, etag: args.etag };
    let (mut objects, mut total) = (0u64, 0u64);
    let mut pages = std::pin::pin!(client.list_objects_v2_pages(&url.bucket, options));
    while let Some(page) = pages.try_next().await? {
        for prefix in &page.common_prefixes {
            if args.json {
                out.data(&serde_json::json!({ "prefix": prefix }).to_string()).await?;
            } else {
                out.data(&format!("{:>30} {}", "PRE", relative(prefix, base_len))).await?;
            }
        }
        for object in &page.objects {
            objects += 1;
            total += object.size;
            if args.json {
                out.data(&object_json(object)).await?;
            } else {
                out.data(&object_line(object, base_len, &columns)).await?;
            }
        }
    }
    if args.summarize && args.json {
        out.data(&serde_json::json!({ "total_objects": objects, "total_size": total }).to_string()).await?;
    } else if args.summarize {
        out.data("").await?;
        out.data(&format!("Total Objects: {objects}")).await?;
        out.data(&format!("   Total Size: {}", format_size(total, args.human_readable))).await?;
    }
    Ok(())
}

/// Most pages `ls --all-versions` follows: a store that keeps answering "truncated" without
/// moving its marker is stopped by the marker check, one that moves it forever by this bound
/// (a billion versions at S3's 1,000 per page).
const MAX_VERSION_PAGES: u64 = 1_000_000;

/// `ls --all-versions`: every version and delete marker under the prefix (recursively, full
/// keys), one line each — date, size (`DELETE` for a delete marker), version id, key, and
/// `(latest)` for the current version — or one JSON object each.
async fn list_versions(client: &Client, url: &S3Url, args: &LsArgs, out: &mut Printer) -> anyhow::Result<()> {
    let mut options = ListObjectVersionsOptions::default();
    options.prefix = Some(url.key.clone()).filter(|p| !p.is_empty());
    let (mut versions, mut total) = (0u64, 0u64);
    for _ in 0..MAX_VERSION_PAGES {
        let page = client.list_object_versions(&url.bucket, &options).await?;
        for version in &page.versions {
            versions += 1;
            total += version.size;
            let line = if args.json {
                serde_json::json!({
                    "key": version.key,
                    "version_id": version.version_id,
                    "is_latest": version.is_latest,
                    "delete_marker": version.delete_marker,
                    "size": version.size,
                    "last_modified": version.last_modified.map(crate::cmd::head::rfc3339),
                    "etag": version.etag.as_deref().map(|e| e.trim_matches('"')),
                    "storage_class": version.storage_class.as_deref().unwrap_or("STANDARD"),
                })
                .to_string()
            } else {
                let size = if version.delete_marker {
                    "DELETE".to_owned()
                } else {
                    format_size(version.size, args.human_readable)
                };
                let latest = if version.is_latest { " (latest)" } else { "" };
                let id = crate::escape::text(&version.version_id);
                format!("{} {size:>10} {id} {}{latest}", format_date(version.last_modified), relative(&version.key, 0))
            };
            out.data(&line).await?;
        }
        match page.next_marker {
            Some(next) if Some(&next) != options.marker.as_ref() => options.marker = Some(next),
            _ => break,
        }
    }
    if args.summarize {
        out.data("").await?;
        out.data(&format!("Total Versions: {versions}")).await?;
        out.data(&format!("    Total Size: {}", format_size(total, args.human_readable))).await?;
    }
    Ok(())
}

/// The name relative to the listed "directory", control characters escaped.
fn relative(name: &str, base_len: usize) -> std::borrow::Cow<'_, str> {
    crate::escape::text(name.get(base_len..).unwrap_or(name))
}

/// The optional columns of an object line.
#[derive(Debug, Clone, Copy, Default)]
struct Columns {
    /// Sizes in KiB, MiB, …
    human: bool,
    /// The storage class before the size.
    storage_class: bool,
    /// The ETag after the size.
    etag: bool,
}

/// An object as one JSON line: full key (control characters escaped by JSON itself), size, time,
/// ETag without quotes, storage class.
fn object_json(object: &ObjectSummary) -> String {
    serde_json::json!({
        "key": object.key,
        "size": object.size,
        "last_modified": object.last_modified.map(crate::cmd::head::rfc3339),
        "etag": object.etag.as_deref().map(|e| e.trim_matches('"')),
        "storage_class": object.storage_class.as_deref().unwrap_or("STANDARD"),
    })
    .to_string()
}

fn object_line(object: &ObjectSummary, base_len: usize, columns: &Columns) -> String {
    let mut line = format_date(object.last_modified);
    if columns.storage_class {
        line.push_str(&format!(" {:<19}", object.storage_class.as_deref().unwrap_or("STANDARD")));
    }
    line.push_str(&format!(" {:>10}", format_size(object.size, columns.human)));
    if columns.etag {
        line.push_str(&format!(" {}", object.etag.as_deref().unwrap_or("-").trim_matches('"')));
    }
    line.push(' ');
    line.push_str(&relative(&object.key, base_len));
    line
}

pub(crate) fn format_size(size: u64, human: bool) -> String {
    if human {
        indicatif::HumanBytes(size).to_string()
    } else {
        size.to_string()
    }
}

pub(crate) fn format_date(date: Option<SystemTime>) -> String {
    date.and_then(|d| time::OffsetDateTime::from(d).format(DATE_FORMAT).ok()).unwrap_or_else(|| format!("{:>19}", "-"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn object_lines_look_like_aws_s3_ls() {
        let mut object = ObjectSummary::default();
        object.key = "logs/2026/app.log".into();
        object.size = 1234;
        object.etag = Some("\"abc\"".into());
        object.last_modified = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_428_000));
        let plain = Columns::default();
        assert_eq!(object_line(&object, 5, &plain), "2026-11-23 10:00:00       1234 2026/app.log");
        let human = Columns { human: true, ..plain };
        assert_eq!(object_line(&object, 0, &human), "2026-11-23 10:00:00   1.21 KiB logs/2026/app.log");
        let long = Columns { storage_class: true, etag: true, ..plain };
        assert_eq!(
            object_line(&object, 5, &long),
            "2026-11-23 10:00:00 STANDARD                  1234 abc 2026/app.log"
        );
        assert_eq!(format!("{:>30} {}", "PRE", relative("logs/2026/", 5)), format!("{}PRE 2026/", " ".repeat(27)));
    }

    #[test]
    fn missing_dates_keep_the_columns() {
        assert_eq!(format_date(None).len(), 19);
    }
}
