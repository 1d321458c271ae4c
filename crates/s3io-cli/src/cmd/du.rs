//! `s3io du s3://bucket[/prefix]`: how many objects and bytes lie under a prefix, in all and by
//! storage class, from one recursive listing (pages fetched one ahead, constant memory whatever
//! the number of keys). Text as s5cmd's `du` (`BYTES bytes in N objects: URL`, then one line per
//! storage class), or one JSON object.

use std::collections::BTreeMap;

use futures::TryStreamExt as _;
use s3io::Client;
use serde::Serialize;

use crate::args::DuArgs;
use crate::location::S3Url;
use crate::printer::Printer;

/// Runs `s3io du`.
pub(crate) async fn run(client: &Client, args: DuArgs, out: &mut Printer) -> anyhow::Result<()> {
    let url = S3Url::parse(&args.target)?;
    let mut usage = Usage::default();
    let mut objects = std::pin::pin!(crate::listing::list_objects(client, &url.bucket, &url.key));
    while let Some(object) = objects.try_next().await? {
        usage.add(object.storage_class.as_deref().unwrap_or("STANDARD"), object.size);
    }
    if args.json {
        let report = Report { url: url.to_string(), usage: &usage };
        return out.data(&serde_json::to_string(&report)?).await;
    }
    let size = |bytes: u64| crate::cmd::ls::format_size(bytes, args.human_readable);
    out.data(&format!("{} bytes in {} objects: {url}", size(usage.total.bytes), usage.total.objects)).await?;
    for (class, count) in &usage.by_storage_class {
        out.data(&format!("  {class:<19} {} bytes in {} objects", size(count.bytes), count.objects)).await?;
    }
    Ok(())
}

/// Objects and bytes.
#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
struct Count {
    objects: u64,
    bytes: u64,
}

/// What lies under the prefix.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
struct Usage {
    #[serde(flatten)]
    total: Count,
    by_storage_class: BTreeMap<String, Count>,
}

impl Usage {
    fn add(&mut self, storage_class: &str, size: u64) {
        for count in [&mut self.total, self.by_storage_class.entry(storage_class.to_owned()).or_default()] {
            count.objects += 1;
            count.bytes += size;
        }
    }
}

/// The JSON form.
#[derive(Serialize)]
struct Report<'u> {
    url: String,
    #[serde(flatten)]
    usage: &'u Usage,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_counts_in_all_and_by_class() {
        let mut usage = Usage::default();
        usage.add("STANDARD", 10);
        usage.add("GLACIER", 5);
        usage.add("STANDARD", 1);
        assert_eq!(usage.total, Count { objects: 3, bytes: 16 });
        assert_eq!(usage.by_storage_class["STANDARD"], Count { objects: 2, bytes: 11 });
        let json = serde_json::to_string(&Report { url: "s3://b/p".into(), usage: &usage }).unwrap();
        assert_eq!(
            json,
            r#"{"url":"s3://b/p","objects":3,"bytes":16,"by_storage_class":{"GLACIER":{"objects":1,"bytes":5},"STANDARD":{"objects":2,"bytes":11}}}"#
        );
    }
}
