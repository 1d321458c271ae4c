//! `s3io run FILE` (or `-` for stdin): a file of commands, one per line, run in parallel through
//! one client — s5cmd's `run`.
//!
//! - **Lines.** Each line holds one `cp`, `mv`, `rm` or `sync` command with its own flags (`-r`,
//!   wildcards, `--no-clobber`, object flags, `--exclude`/`--include`, `--delete`), split into words as a
//!   shell would (quotes, backslashes; `shlex`). Blank lines and lines starting with `#` are
//!   skipped. The flags of the whole run (`--jobs`, `--json`, `--dry-run`, `--no-progress`) are
//!   given to `run` itself; on a line they are refused.
//! - **One batch.** Every line becomes actions (one for a single object; a lazy listing or walk
//!   for `-r` and wildcards), and all of them, line after line, form the one stream of
//!   [`crate::batch`]'s runner: one client (connection pool, concurrency controller, memory
//!   limit), at most `--jobs` objects in flight across lines, deletes of neighbouring lines in
//!   one bucket gathered into DeleteObjects requests. The file is read as the runner takes
//!   actions, never whole, so a file of millions of lines runs in constant memory.
//! - **Each line's own flags.** An action carries its line ([`Line`]): its number, and the
//!   `--no-clobber`, move and object flags its command gave.
//! - **Failures do not stop the run.** A line that does not parse (or names stdin, a directory
//!   without `-r`, …), a listing that fails, a wildcard that matches nothing: each is one failed
//!   record naming its line (control characters escaped), and the other lines go on. Objects are
//!   reported as they finish: status lines, or `--json` records with `"line"`; a failure on
//!   stderr starts with `line N:`. At the end the batch's summary line, and exit code 1 if
//!   anything failed, naming the first failures by line.
//! - **Signals.** Ctrl-C or SIGTERM stops the run as it stops any batch: nothing new starts, the
//!   objects in flight are cancelled and cleaned up, and the exit code is 130 / 143.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser as _;
use futures::stream::{self, BoxStream};
use futures::{future, StreamExt as _};
use s3io::Client;
use tokio::io::{AsyncBufRead, AsyncBufReadExt as _, AsyncReadExt as _, BufReader};

use super::cp::{nothing_matched, plan_many, plan_single};
use super::rm::{deletes_matching, deletes_under};
use crate::args::{CpArgs, LineCommand, RmArgs, RunArgs, RunLine};
use crate::batch::{self, Action, BatchConfig, Line, Planned};
use crate::location::{Location, S3Url};
use crate::object::ObjectSettings;
use crate::printer::Printer;
use crate::wildcard::{has_wildcard, KeyPattern};

/// Flags of the whole run, refused on a line.
const RUN_FLAGS: [&str; 5] = ["--jobs", "-j", "--json", "--dry-run", "--no-progress"];

/// Runs `s3io run`.
pub(crate) async fn run(client: &Client, args: RunArgs, out: &mut Printer) -> anyhow::Result<()> {
    let reader: Box<dyn AsyncBufRead + Unpin + Send> = if args.file == "-" {
        Box::new(BufReader::new(tokio::io::stdin()))
    } else {
        let path = std::path::PathBuf::from(&args.file);
        let file = tokio::fs::File::open(&path)
            .await
            .with_context(|| format!("opening the command file {}", crate::escape::path(&path)))?;
        Box::new(BufReader::new(file))
    };
    let config = BatchConfig {
        jobs: args.jobs,
        dry_run: args.dry_run,
        json: args.json,
        quiet: out.is_quiet(),
        no_progress: args.no_progress,
        ..BatchConfig::default()
    };
    let (client_for_lines, dry_run) = (client.clone(), args.dry_run);
    let planned = lines(reader).flat_map(move |(number, line)| {
        let client = client_for_lines.clone();
        stream::once(async move {
            match line {
                Ok(bytes) => plan_line(&client, number, bytes, dry_run).await,
                Err(error) if error.kind() == std::io::ErrorKind::InvalidData => {
                    refused(number, "(skipped)".into(), error.to_string())
                }
                Err(error) => refused(number, "(unread)".into(), format!("reading the command file: {error}")),
            }
        })
        .flatten()
    });
    batch::run(client, planned, &config, out).await.map(drop)
}

/// The longest line read; a longer one is refused (its bytes skipped), so that a file without
/// line ends cannot fill memory. A command line is a few hundred bytes.
const MAX_LINE: u64 = 64 * 1024;

/// The lines of `reader`, numbered from 1, without their line ends; a read error ends them.
fn lines(reader: Box<dyn AsyncBufRead + Unpin + Send>) -> BoxStream<'static, (u64, std::io::Result<Vec<u8>>)> {
    stream::unfold(Some((reader, 0u64)), |state| async move {
        let (mut reader, number) = state?;
        let number = number + 1;
        let mut line = Vec::new();
        let read = match (&mut reader).take(MAX_LINE + 1).read_until(b'\n', &mut line).await {
            Ok(0) => return None,
            Ok(_) if line.len() as u64 > MAX_LINE && line.last() != Some(&b'\n') => skip_line(&mut reader).await,
            Ok(_) => {
                while line.last().is_some_and(|b| matches!(b, b'\n' | b'\r')) {
                    line.pop();
                }
                Ok(line)
            }
            Err(error) => Err(error),
        };
        let next = read.is_ok() || read.as_ref().is_err_and(|e| e.kind() == std::io::ErrorKind::InvalidData);
        Some(((number, read), next.then_some((reader, number))))
    })
    .boxed()
}

/// Reads past the rest of an overlong line; the line's error.
async fn skip_line(reader: &mut (dyn AsyncBufRead + Unpin + Send)) -> std::io::Result<Vec<u8>> {
    loop {
        let buffer = reader.fill_buf().await?;
        if buffer.is_empty() {
            break;
        }
        match buffer.iter().position(|&b| b == b'\n') {
            Some(end) => {
                reader.consume(end + 1);
                break;
            }
            None => {
                let len = buffer.len();
                reader.consume(len);
            }
        }
    }
    Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("a line longer than {MAX_LINE} bytes")))
}

/// The actions of one line, each carrying the line; whatever goes wrong with the line is one
/// refusal naming it.
async fn plan_line(
    client: &Client,
    number: u64,
    bytes: Vec<u8>,
    dry_run: bool,
) -> BoxStream<'static, anyhow::Result<Planned>> {
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let shown = crate::escape::text(&String::from_utf8_lossy(error.as_bytes())).into_owned();
            return refused(number, shown, "the line is not UTF-8".into());
        }
    };
    let command = text.trim();
    if command.is_empty() || command.starts_with('#') {
        return stream::empty().boxed();
    }
    let shown = crate::escape::text(command).into_owned();
    let planned = match plan_command(client, command, dry_run).await {
        Ok(planned) => planned,
        Err(error) => return refused(number, shown, crate::exit::one_line(&error)),
    };
    let LinePlan { no_clobber, move_sources, object, actions, wildcard } = planned;
    let line = Arc::new(Line { number, no_clobber, move_sources, object });
    let found = Arc::new(AtomicU64::new(0));
    let (counter, tag, refuse) = (Arc::clone(&found), Arc::clone(&line), shown.clone());
    let tagged = actions.map(move |item| {
        let action = match item {
            Ok(action) => {
                counter.fetch_add(1, Ordering::Relaxed);
                action
            }
            // A listing that failed: the line's failure, not the run's.
            Err(error) => Action::Refuse { object: refuse.clone(), reason: crate::exit::one_line(&error) },
        };
        Ok(Planned { action, line: Some(Arc::clone(&tag)) })
    });
    // A wildcard that matched nothing fails its line, as it fails the command on its own.
    let nothing = stream::once(async move {
        let pattern = wildcard.filter(|_| found.load(Ordering::Relaxed) == 0)?;
        let reason = nothing_matched(&pattern).to_string();
        Some(Ok(Planned { action: Action::Refuse { object: shown, reason }, line: Some(line) }))
    })
    .filter_map(future::ready);
    tagged.chain(nothing).boxed()
}

/// What a line's command plans: its flags and its actions.
struct LinePlan {
    no_clobber: bool,
    move_sources: bool,
    object: Arc<ObjectSettings>,
    actions: super::cp::Actions,
    /// The source wildcard, if the command has one (matching nothing fails the line).
    wildcard: Option<String>,
}

/// Parses `command` and plans it.
async fn plan_command(client: &Client, command: &str, dry_run: bool) -> anyhow::Result<LinePlan> {
    let words = shlex::split(command)
        .ok_or_else(|| anyhow::anyhow!("cannot split into words: an unclosed quote or a trailing backslash"))?;
    if let Some(flag) = words.iter().find(|w| RUN_FLAGS.iter().any(|f| w == f || w.starts_with(&format!("{f}=")))) {
        anyhow::bail!("{flag} applies to the whole run (`s3io run {flag} FILE`), not to one line");
    }
    let line = RunLine::try_parse_from(&words).map_err(|e| {
        // clap's message, its first paragraph only (the usage and tips follow it) on one line,
        // without "error: ".
        let message = e.to_string();
        let first = message.split("\n\n").next().unwrap_or_default();
        let words: Vec<&str> = first.split_whitespace().collect();
        anyhow::anyhow!("{}", words.join(" ").trim_start_matches("error: "))
    })?;
    match line.command {
        LineCommand::Cp(args) => plan_copy(client, args, false, dry_run).await,
        LineCommand::Mv(args) => plan_copy(client, args, true, dry_run).await,
        LineCommand::Rm(args) => plan_remove(client, args),
        LineCommand::Sync(mut args) => {
            // A dry run creates no destination directory.
            args.batch.dry_run = dry_run;
            let actions = super::sync::plan(client, &args).await?;
            let object = ObjectSettings::new(&args.object)?;
            Ok(LinePlan { no_clobber: false, move_sources: false, object, actions, wildcard: None })
        }
    }
}

/// A `cp` or `mv` line: as the command on its own plans it.
async fn plan_copy(client: &Client, mut args: CpArgs, moving: bool, dry_run: bool) -> anyhow::Result<LinePlan> {
    let source = Location::parse(&args.source)?;
    let destination = Location::parse(&args.destination)?;
    let object = ObjectSettings::new(&args.object)?;
    let wildcard = match &source {
        Location::S3(url) if !args.raw && has_wildcard(&url.key) => Some(url.to_string()),
        _ => None,
    };
    let many = wildcard.is_some() || (args.recursive && !matches!(source, Location::Stdio));
    let actions = if many {
        // A dry run creates no destination directory.
        args.batch.dry_run = dry_run;
        plan_many(client, &args, source, destination).await?
    } else {
        if !args.batch.filters.rules.is_empty() {
            anyhow::bail!("--exclude and --include apply to --recursive or wildcard copies");
        }
        let action = plan_single(source, destination).await?;
        if let Action::Copy { source, destination, .. } = &action {
            if moving && source == destination {
                anyhow::bail!("cannot move {source} onto itself");
            }
        }
        stream::once(future::ready(Ok(action))).boxed()
    };
    Ok(LinePlan { no_clobber: args.no_clobber, move_sources: moving, object, actions, wildcard })
}

/// An `rm` line: one object, every object under a prefix (`-r`), or what a wildcard matches.
fn plan_remove(client: &Client, args: RmArgs) -> anyhow::Result<LinePlan> {
    let target = S3Url::parse(&args.target)?;
    let filters = args.batch.filters.compile()?;
    let (actions, wildcard): (super::cp::Actions, _) = if !args.raw && has_wildcard(&target.key) {
        let pattern = KeyPattern::wildcard(&target.key)?;
        (deletes_matching(client, &target.bucket, pattern, filters).boxed(), Some(target.to_string()))
    } else if args.recursive {
        (deletes_under(client, &target, filters).boxed(), None)
    } else {
        if !filters.is_empty() {
            anyhow::bail!("--exclude and --include apply to --recursive or wildcard deletes");
        }
        let target = S3Url::parse_object(&args.target)?;
        (stream::once(future::ready(Ok(Action::Delete { target }))).boxed(), None)
    };
    let object = Arc::new(ObjectSettings::default());
    Ok(LinePlan { no_clobber: false, move_sources: false, object, actions, wildcard })
}

/// The line `number` (shown as `shown`) refused for `reason`: one failed record.
fn refused(number: u64, shown: String, reason: String) -> BoxStream<'static, anyhow::Result<Planned>> {
    let line = Line { number, no_clobber: false, move_sources: false, object: Arc::new(ObjectSettings::default()) };
    let planned = Planned { action: Action::Refuse { object: shown, reason }, line: Some(Arc::new(line)) };
    stream::once(future::ready(Ok(planned))).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn plan(text: &str) -> Vec<Planned> {
        let client = Client::builder().endpoint("http://127.0.0.1:9").build().await.unwrap();
        plan_line(&client, 7, text.as_bytes().to_vec(), false).await.map(Result::unwrap).collect().await
    }

    fn refusal(planned: Vec<Planned>) -> (String, String, u64) {
        match &planned[..] {
            [Planned { action: Action::Refuse { object, reason }, line: Some(line) }] => {
                (object.clone(), reason.clone(), line.number)
            }
            other => panic!("not one refusal: {other:?}"),
        }
    }

    #[tokio::test]
    async fn lines_are_numbered_and_an_overlong_one_is_skipped_whole() {
        let long = "x".repeat(MAX_LINE as usize + 10);
        let text = format!("a\r\n\n{long}\nb");
        let read: Vec<(u64, Result<Vec<u8>, String>)> = lines(Box::new(std::io::Cursor::new(text.into_bytes())))
            .map(|(n, line)| (n, line.map_err(|e| e.to_string())))
            .collect()
            .await;
        assert_eq!(read.len(), 4, "{:?}", read.iter().map(|(n, l)| (n, l.as_ref().map(Vec::len))).collect::<Vec<_>>());
        assert_eq!(read[0], (1, Ok(b"a".to_vec())));
        assert_eq!(read[1], (2, Ok(Vec::new())));
        assert_eq!(read[2], (3, Err(format!("a line longer than {MAX_LINE} bytes"))));
        assert_eq!(read[3], (4, Ok(b"b".to_vec())));
    }

    #[tokio::test]
    async fn blank_and_comment_lines_plan_nothing() {
        for text in ["", "   ", "# cp a b", "  # rm s3://b/k"] {
            assert!(plan(text).await.is_empty(), "{text:?}");
        }
    }

    #[tokio::test]
    async fn bad_lines_are_one_refusal_naming_the_line_with_control_characters_escaped() {
        let (object, reason, number) = refusal(plan("cp s3://b/a\u{1b}[31m").await);
        assert_eq!(number, 7);
        assert!(!object.contains('\u{1b}'), "{object:?}");
        assert!(reason.contains("DESTINATION") || reason.contains("required"), "{reason}");
        let (_, reason, _) = refusal(plan("ls s3://b").await);
        assert!(reason.contains("ls"), "{reason}");
        let (_, reason, _) = refusal(plan("cp 's3://b/unclosed x").await);
        assert!(reason.contains("quote"), "{reason}");
        let (_, reason, _) = refusal(plan("cp --jobs 4 s3://b/k x").await);
        assert!(reason.contains("--jobs applies to the whole run"), "{reason}");
        let (_, reason, _) = refusal(plan("cp - s3://b/k").await);
        assert!(reason.contains("stdin"), "{reason}");
    }

    #[tokio::test]
    async fn a_line_keeps_its_own_flags_and_quoted_words() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a b.txt");
        std::fs::write(&file, b"abc").unwrap();
        let text = format!("mv --no-clobber --content-type text/x-a '{}' s3://bkt/p/", file.display());
        let planned = plan(&text).await;
        let [Planned { action: Action::Upload { destination, size, .. }, line: Some(line) }] = &planned[..] else {
            panic!("{planned:?}")
        };
        assert_eq!((destination.key.as_str(), *size), ("p/a b.txt", 3));
        assert!(line.no_clobber && line.move_sources && line.number == 7);
        let (_, reason, _) = refusal(plan("rm --exclude '*.log' s3://bkt/k").await);
        assert!(reason.contains("--recursive"), "{reason}");
    }
}
