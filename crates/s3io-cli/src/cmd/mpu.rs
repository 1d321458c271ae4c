//! `s3io mpu`: the multipart uploads in progress under a prefix, listed or aborted.
//!
//! A multipart upload whose client died (SIGKILL, a crash, a lost machine) keeps its parts
//! stored, and billed, until it is completed or aborted; nothing lists it among the objects.
//! `s3io mpu ls` follows every page of ListMultipartUploads under the prefix and, for each
//! upload, every page of ListParts (parts and bytes stored so far): one line per upload
//! (`INITIATED PARTS BYTES UPLOAD-ID KEY`), or with `--json` one JSON object per line.
//!
//! `s3io mpu abort` aborts: one upload by `--upload-id` (the URL names its key), every upload of
//! the key the URL names, or with `--all` every upload under the prefix — `--older-than` keeps
//! those started more recently (an upload in progress elsewhere is usually young). `--dry-run`
//! prints what would be aborted. An upload gone meanwhile (NoSuchUpload) is not a failure.

use std::time::{Duration, SystemTime};

use s3io::Client;
use serde::Serialize;

use crate::args::{MpuAbortArgs, MpuCommand, MpuLsArgs};
use crate::cmd::ls::format_date;
use crate::escape;
use crate::exit::UsageError;
use crate::location::S3Url;
use crate::printer::Printer;

/// Runs `s3io mpu …`.
pub(crate) async fn run(client: &Client, command: MpuCommand, out: &mut Printer) -> anyhow::Result<()> {
    match command {
        MpuCommand::Ls(args) => list(client, args, out).await,
        MpuCommand::Abort(args) => abort(client, args, out).await,
    }
}

/// One upload in progress, as `mpu ls --json` prints it.
#[derive(Debug, Serialize)]
struct UploadRecord<'a> {
    bucket: &'a str,
    key: &'a str,
    upload_id: &'a str,
    /// RFC 3339, UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    initiated: Option<String>,
    parts: usize,
    bytes: u64,
}

async fn list(client: &Client, args: MpuLsArgs, out: &mut Printer) -> anyhow::Result<()> {
    let url = S3Url::parse(&args.target)?;
    let uploads = client.stale_uploads(&url.bucket, &url.key, Duration::ZERO).await?;
    for upload in &uploads {
        let parts = client.list_parts(&url.bucket, &upload.key, &upload.upload_id).await?;
        let bytes: u64 = parts.iter().map(|p| p.size).sum();
        if args.json {
            let record = UploadRecord {
                bucket: &url.bucket,
                key: &upload.key,
                upload_id: &upload.upload_id,
                initiated: upload.initiated.and_then(rfc3339),
                parts: parts.len(),
                bytes,
            };
            out.data(&serde_json::to_string(&record)?).await?;
        } else {
            out.data(&format!(
                "{} {:>5} {:>12} {} {}",
                format_date(upload.initiated),
                parts.len(),
                bytes,
                escape::text(&upload.upload_id),
                S3Url { bucket: url.bucket.clone(), key: upload.key.clone() }
            ))
            .await?;
        }
    }
    Ok(())
}

fn rfc3339(time: SystemTime) -> Option<String> {
    time::OffsetDateTime::from(time).format(&time::format_description::well_known::Rfc3339).ok()
}

async fn abort(client: &Client, args: MpuAbortArgs, out: &mut Printer) -> anyhow::Result<()> {
    let url = S3Url::parse(&args.target)?;
    // (key, upload id) of each upload to abort.
    let selected: Vec<(String, String)> = match (&args.upload_id, args.all || args.older_than.is_some()) {
        (Some(_), true) => {
            return Err(UsageError::new("--upload-id names one upload: not with --all or --older-than").into());
        }
        (Some(upload_id), false) => {
            if url.key.is_empty() {
                return Err(UsageError::new("--upload-id needs the upload's key: s3://bucket/key").into());
            }
            vec![(url.key.clone(), upload_id.clone())]
        }
        (None, false) => {
            if url.key.is_empty() || url.key.ends_with('/') {
                return Err(UsageError::new(format!(
                    "{url} names no key: give --all (with --older-than DURATION to spare recent uploads) to abort \
                     every upload under it"
                ))
                .into());
            }
            let uploads = client.stale_uploads(&url.bucket, &url.key, Duration::ZERO).await?;
            uploads.into_iter().filter(|upload| upload.key == url.key).map(|u| (u.key, u.upload_id)).collect()
        }
        (None, true) => {
            let older_than = args.older_than.map_or(Duration::ZERO, |d| d.get());
            client
                .stale_uploads(&url.bucket, &url.key, older_than)
                .await?
                .into_iter()
                .map(|u| (u.key, u.upload_id))
                .collect()
        }
    };
    let mut aborted = 0usize;
    for (key, upload_id) in &selected {
        let name = format!(
            "{} (upload id {})",
            S3Url { bucket: url.bucket.clone(), key: key.clone() },
            escape::text(upload_id)
        );
        if args.dry_run {
            out.status(&format!("(dryrun) abort: {name}")).await?;
            continue;
        }
        match client.abort_multipart_upload(&url.bucket, key, upload_id).await {
            Ok(()) => out.status(&format!("abort: {name}")).await?,
            // Gone meanwhile (completed or aborted elsewhere): nothing left to abort.
            Err(e) if e.is_not_found() && args.upload_id.is_none() => {
                out.status(&format!("gone: {name}")).await?;
            }
            Err(e) => return Err(e.into()),
        }
        aborted += 1;
    }
    if !out.is_quiet() {
        let verb = if args.dry_run { "would abort" } else { "aborted" };
        eprintln!("s3io: {verb} {} multipart upload(s)", if args.dry_run { selected.len() } else { aborted });
    }
    Ok(())
}
