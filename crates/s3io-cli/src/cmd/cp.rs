//! `s3io cp SRC DST`: one object up, down, to stdout, from stdin, or server-side between buckets;
//! or, with `--recursive` or a wildcard, many. `s3io mv SRC DST` is the same copy followed, for
//! each object whose copy succeeded (and was verified, for downloads), by the deletion of its
//! source: the local file, or the object. Stdin and stdout cannot be moved; nor can an object onto
//! itself.
//!
//! Single objects follow `aws s3 cp`: a local destination that ends in `/` or is an existing
//! directory gets the key's last segment appended; an `s3://` destination whose key is empty or
//! ends in `/` gets the source file's (or object's) name appended. The bytes move through
//! [`crate::transfer`], the one place the library's engines plug in.
//!
//! Many objects (`cp -r s3://b/p/ dir/`, `cp 's3://b/logs/2026-*' dir/`, `cp -r dir/ s3://b/p/`,
//! `cp -r s3://b/a/ s3://b2/a/`) are a stream of [`Action`](crate::batch::Action)s, planned in
//! [`plan`] and run by [`crate::batch`]: the source is listed (or walked) lazily, filtered by
//! `--exclude`/`--include` on each key's relative name, and each selected object keeps that
//! relative name under the destination — relative to the source prefix for `-r`, to the
//! wildcard's directory for wildcards ([`crate::wildcard`] has the rule). A destination prefix is
//! always a directory: `s3://b2/x` and `s3://b2/x/` both put keys under `x/`. Keys become local
//! paths only through [`crate::keypath`], which refuses any key that would land outside the
//! destination directory.

mod plan;

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use s3io::Client;

pub(crate) use plan::{batch_config, nothing_matched, plan_many, plan_single, select, Actions};

use crate::args::CpArgs;
use crate::batch::{self, ClientFigures, Record, Status};
use crate::exit::UsageError;
use crate::keypath::{key_to_path, path_to_key, LocalTarget};
use crate::location::{ends_with_separator, Location, S3Url};
use crate::object::ObjectSettings;
use crate::printer::Printer;
use crate::wildcard::has_wildcard;
use crate::{clobber, transfer};

/// Copy, or move (copy, then delete the source).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `s3io cp`.
    Copy,
    /// `s3io mv`.
    Move,
}

/// Runs `s3io cp` or `s3io mv`.
pub(crate) async fn run(client: &Client, args: CpArgs, mode: Mode, out: &mut Printer) -> anyhow::Result<()> {
    let source = Location::parse(&args.source)?;
    let destination = Location::parse(&args.destination)?;
    let moving = mode == Mode::Move;
    if moving && (source == Location::Stdio || destination == Location::Stdio) {
        return Err(UsageError::new("mv moves files and objects, not stdin or stdout: use cp").into());
    }
    let many = match &source {
        Location::S3(url) => args.recursive || (!args.raw && has_wildcard(&url.key)),
        Location::Local(_) => args.recursive,
        Location::Stdio => false,
    };
    if args.version_id.is_some() {
        if many || !matches!(source, Location::S3(_)) {
            return Err(UsageError::new(
                "--version-id names a version of one source object: s3://bucket/key, not -r or wildcards",
            )
            .into());
        }
        if moving {
            return Err(UsageError::new("--version-id is for cp, not mv").into());
        }
    }
    if many {
        return copy_many(client, &args, source, destination, moving, out).await;
    }
    if !args.batch.filters.rules.is_empty() {
        return Err(UsageError::new("--exclude and --include apply to --recursive or wildcard copies").into());
    }
    let object = (*ObjectSettings::new(&args.object)?).clone().with_version_id(args.version_id.clone());
    let bar = crate::bar::wanted(out.is_quiet(), args.batch.json, args.batch.dry_run, args.batch.no_progress);
    let progress = bar.then(|| std::sync::Arc::new(s3io::Progress::new()));
    let mut single =
        Single { out, client, dry_run: args.batch.dry_run, json: args.batch.json, moving, progress: progress.clone() };
    let progress = progress.as_ref();
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
            // A name that is not UTF-8 cannot be a key: refused naming the whole path.
            if name.to_str().is_none() {
                return Err(UsageError::new(format!(
                    "{}: the file name is not UTF-8, so it cannot be an S3 key",
                    crate::escape::path(&path)
                ))
                .into());
            }
            let name = path_to_key(Path::new(name)).map_err(|e| UsageError::new(e.to_string()))?;
            let destination = key_under(prefix, &name);
            let names = (crate::escape::path(&path), destination.to_string());
            single
                .run("upload", names, async {
                    let output = clobber::write(client, &destination, args.no_clobber, |condition| {
                        transfer::upload_file(client, &path, &destination, &object, progress, condition)
                    })
                    .await?;
                    if moving {
                        remove_source_file(&path).await?;
                    }
                    Ok((output.size, output.checksum.map(|c| format!("{}:{}", c.algorithm.name(), c.value))))
                })
                .await
        }
        (Location::Stdio, Location::S3(destination)) => {
            if destination.basename().is_none() {
                return Err(UsageError::new(format!("uploading stdin needs a full key, not {destination}")).into());
            }
            let names = ("-".to_owned(), destination.to_string());
            single
                .run("upload", names, async {
                    // Stdin cannot be read twice: no HEAD-first fallback (see `clobber`).
                    let upload =
                        transfer::upload_reader(client, tokio::io::stdin(), &destination, &object, args.no_clobber);
                    let size = upload.await.map_err(|e| match e.downcast_ref::<s3io::Error>() {
                        Some(e) if e.is_precondition_failed() => {
                            clobber::Exists { destination: destination.to_string() }.into()
                        }
                        _ => e,
                    })?;
                    Ok((size, None))
                })
                .await
        }
        (Location::S3(source), Location::Local(path)) => {
            let name = object_name(&source)?;
            let path = local_destination(&path, name).await.with_context(|| format!("download {source}"))?;
            if args.no_clobber && tokio::fs::symlink_metadata(&path).await.is_ok() {
                return single.out.status(&format!("skip: {source} (exists: {})", crate::escape::path(&path))).await;
            }
            let names = (source.to_string(), crate::escape::path(&path));
            single
                .run("download", names, async {
                    let output =
                        transfer::download_to_file(client, &source, &object, &path, progress, None, None).await?;
                    if moving {
                        client.delete_object(&source.bucket, &source.key).await?;
                    }
                    let checksum = output.verified_checksum.map(|c| format!("{}:{}", c.algorithm.name(), c.value));
                    Ok((output.size, checksum))
                })
                .await
        }
        (Location::S3(source), Location::Stdio) => {
            object_name(&source)?;
            if args.batch.dry_run {
                return single.out.status(&format!("(dryrun) download: {source} to -")).await;
            }
            // The object's bytes are the output: no status line, no JSON record.
            transfer::download_to_stdout(client, &source, &object).await?;
            Ok(())
        }
        (Location::S3(source), Location::S3(prefix)) => {
            let destination = key_under(prefix, object_name(&source)?);
            if moving && source == destination {
                return Err(UsageError::new(format!("cannot move {source} onto itself")).into());
            }
            let names = (source.to_string(), destination.to_string());
            single
                .run("copy", names, async {
                    let etag = clobber::write(client, &destination, args.no_clobber, |condition| {
                        transfer::copy_object(client, &source, &destination, &object, condition)
                    })
                    .await?;
                    if moving {
                        client.delete_object(&source.bucket, &source.key).await?;
                    }
                    Ok((0, etag))
                })
                .await
        }
        (Location::Local(_) | Location::Stdio, Location::Local(_) | Location::Stdio) => {
            Err(UsageError::new("cp copies to or from S3: one of SRC and DST must be an s3:// URL").into())
        }
    }
}

/// How a single-object `cp` reports, as a batch does for each object: a status line, or with
/// `--json` one [`Record`]; with `--dry-run` what would be done, doing nothing.
struct Single<'o> {
    out: &'o mut Printer,
    /// Whose figures the `--json` record carries.
    client: &'o Client,
    dry_run: bool,
    json: bool,
    /// `mv`: reported as `move`.
    moving: bool,
    /// What the bar draws, when a bar is shown (a terminal, no `--no-progress`).
    progress: Option<std::sync::Arc<s3io::Progress>>,
}

impl Single<'_> {
    /// Runs `work` (which says the bytes moved and the checksum verified, or the new ETag) as
    /// `operation` from `names.0` to `names.1`, and reports it.
    async fn run(
        &mut self,
        operation: &'static str,
        (source, destination): (String, String),
        work: impl std::future::Future<Output = anyhow::Result<(u64, Option<String>)>>,
    ) -> anyhow::Result<()> {
        let verifies = operation == "download";
        let draws = matches!(operation, "download" | "upload");
        let operation = if self.moving { "move" } else { operation };
        if self.dry_run {
            return self.out.status(&format!("(dryrun) {operation}: {source} to {destination}")).await;
        }
        let started = std::time::Instant::now();
        let bar = self.progress.clone().filter(|_| draws).map(crate::bar::TransferBar::start);
        let result = work.await;
        drop(bar);
        if result.as_ref().is_err_and(clobber::is_exists) {
            return self.skipped(operation, source, destination, started).await;
        }
        if !self.json {
            let (_, checksum) = result?;
            let verified = match checksum.as_deref().and_then(|c| c.split_once(':')) {
                Some((algorithm, _)) if verifies => format!(" ({algorithm} verified)"),
                _ => String::new(),
            };
            return self.out.status(&format!("{operation}: {source} to {destination}{verified}")).await;
        }
        let mut record = self.record(operation, source, destination, started, Status::Ok);
        match result {
            Ok((size, checksum)) => {
                record.size = size;
                record.checksum = checksum;
                self.out.data(&serde_json::to_string(&record)?).await
            }
            Err(error) => {
                record.status = Status::Failed;
                record.error = Some(crate::exit::one_line(&error));
                self.out.data(&serde_json::to_string(&record)?).await?;
                Err(error)
            }
        }
    }
}

impl Single<'_> {
    /// Reports an upload or copy that `--no-clobber` skipped: the destination exists.
    async fn skipped(
        &mut self,
        operation: &'static str,
        source: String,
        destination: String,
        started: std::time::Instant,
    ) -> anyhow::Result<()> {
        if !self.json {
            return self.out.status(&format!("skip: {source} (exists: {destination})")).await;
        }
        let record = self.record(operation, source, destination, started, Status::Skipped);
        self.out.data(&serde_json::to_string(&record)?).await
    }

    /// The `--json` record of one transfer started at `started`, no bytes counted yet.
    fn record(
        &self,
        operation: &'static str,
        source: String,
        destination: String,
        started: std::time::Instant,
        status: Status,
    ) -> Record {
        Record {
            line: None,
            operation,
            source,
            destination: Some(destination),
            size: 0,
            seconds: started.elapsed().as_secs_f64(),
            checksum: None,
            status,
            error: None,
            client: Some(ClientFigures::of(self.client)),
        }
    }
}

/// Deletes the local file a move uploaded, on the blocking pool.
async fn remove_source_file(path: &Path) -> anyhow::Result<()> {
    tokio::fs::remove_file(path).await.with_context(|| format!("deleting the moved file {}", crate::escape::path(path)))
}

/// `cp -r` and wildcard copies (and moves).
async fn copy_many(
    client: &Client,
    args: &CpArgs,
    source: Location,
    destination: Location,
    moving: bool,
    out: &mut Printer,
) -> anyhow::Result<()> {
    let mut config = batch_config(&args.batch, args.no_clobber, out.is_quiet());
    config.object = ObjectSettings::new(&args.object)?;
    config.move_sources = moving;
    let wildcard = match &source {
        Location::S3(url) if !args.raw && has_wildcard(&url.key) => Some(url.to_string()),
        _ => None,
    };
    let actions = plan_many(client, args, source, destination).await?;
    let summary = batch::run(client, actions, &config, out).await?;
    match wildcard {
        Some(pattern) if summary.objects() == 0 => Err(nothing_matched(&pattern)),
        _ => Ok(()),
    }
}

/// The source object's name (last key segment); a prefix needs a recursive copy.
fn object_name(source: &S3Url) -> Result<&str, UsageError> {
    source
        .basename()
        .ok_or_else(|| UsageError::new(format!("{source} is a prefix, not an object: copy it with --recursive")))
}

/// `prefix` itself, or `prefix` + `name` when it is a bucket or ends in `/`.
fn key_under(mut prefix: S3Url, name: &str) -> S3Url {
    if prefix.key.is_empty() || prefix.key.ends_with('/') {
        prefix.key.push_str(name);
    }
    prefix
}

/// The file a download writes: `path`, or `path/name` when `path` ends in a separator (created
/// if missing) or is an existing directory. A name taken from the key goes through the same
/// rules as `cp -r`'s keys ([`key_to_path`]): `.`, `..`, a backslash or a drive prefix is
/// refused, naming the object, rather than left to the file system.
async fn local_destination(path: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let named = |dir: &Path| match key_to_path(dir, name) {
        Ok(LocalTarget::File(file)) => Ok(file),
        Ok(LocalTarget::Directory(_)) => unreachable!("an object name has no trailing `/`"),
        Err(e) => Err(anyhow::Error::new(e)),
    };
    if ends_with_separator(path) {
        let file = named(path)?;
        tokio::fs::create_dir_all(path)
            .await
            .with_context(|| format!("creating directory {}", crate::escape::path(path)))?;
        return Ok(file);
    }
    match tokio::fs::metadata(path).await {
        Ok(metadata) if metadata.is_dir() => named(path),
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

    #[tokio::test]
    async fn single_downloads_refuse_unsafe_names_taken_from_the_key() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["..", ".", "a\\b", "C:evil"] {
            let err = local_destination(dir.path(), name).await.unwrap_err().to_string();
            assert!(err.contains("refusing key"), "{name}: {err}");
        }
        // An explicit file name is the user's choice: the key's name does not matter.
        let file = dir.path().join("named.bin");
        assert_eq!(local_destination(&file, "..").await.unwrap(), file);
    }

    #[test]
    fn prefixes_are_not_objects() {
        assert!(object_name(&url("s3://b/dir/")).is_err());
        assert_eq!(object_name(&url("s3://b/dir/k")).unwrap(), "k");
    }
}
