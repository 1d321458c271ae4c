//! Exit codes and the one-line error report.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success (also: stdout closed early by a reader such as `head`, as ripgrep does) |
//! | 1 | an operation failed; stderr holds one line naming the operation, bucket, key and why. For a many-object command (`cp -r`, wildcards, `rm`): some objects failed — each is reported on stderr as it fails, then a summary line and one line naming the first 20 failed objects and counting the rest |
//! | 2 | usage error: bad flags or arguments, a setting the library refuses before any request (clap's own errors use 2 as well) |
//! | 130 | interrupted by Ctrl-C (SIGINT): the transfers were cancelled and cleaned up before the exit (no partial file, no multipart upload left in progress) |
//! | 143 | terminated by SIGTERM: cancelled and cleaned up as for Ctrl-C |
//!
//! The library's [`s3io::Error`] already says "`GetObject s3://b/k failed: NoSuchKey (HTTP 404):
//! …`", including its direct source; the report adds only the deeper causes it does not repeat,
//! all on one line.

use std::fmt;
use std::io;
use std::process::ExitCode;

/// Success.
pub(crate) const SUCCESS: u8 = 0;
/// An operation failed.
pub(crate) const FAILURE: u8 = 1;
/// Bad flags or arguments.
pub(crate) const USAGE: u8 = 2;

/// A command line that parsed but makes no sense (`s3io cp a b` with two local paths, a
/// malformed `s3://` URL, …): exit code 2.
#[derive(Debug)]
pub(crate) struct UsageError(String);

impl UsageError {
    /// A usage error with this message.
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// An error already reported on stderr (so that what follows it, such as a batch's summary,
/// comes after the reason): [`report`] prints nothing more for it but still picks the exit code
/// from the error it wraps.
#[derive(Debug)]
pub(crate) struct Reported(anyhow::Error);

impl Reported {
    /// Prints `error` as [`report`] would, and wraps it.
    pub(crate) fn print(error: anyhow::Error) -> Self {
        if !is_broken_pipe(&error) {
            eprintln!("s3io: {}", one_line(&error));
        }
        Self(error)
    }
}

impl fmt::Display for Reported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", one_line(&self.0))
    }
}

impl std::error::Error for Reported {}

/// Whether the error comes from writing to a reader that went away (`s3io cat … | head`).
pub(crate) fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| cause.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe))
}

/// The error as one line: the causes joined by `: ` (no library error repeats its source in its
/// own message, so each is printed once), with line breaks from servers' messages flattened. The
/// deeper causes stay: "client error (Connect)" alone would hide the "Connection refused" under
/// it.
pub(crate) fn one_line(err: &anyhow::Error) -> String {
    let line = err.chain().map(|cause| cause.to_string()).collect::<Vec<_>>().join(": ");
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Prints the error (unless it is a broken pipe) and picks the exit code.
pub(crate) fn report(err: &anyhow::Error) -> ExitCode {
    if let Some(Reported(inner)) = err.downcast_ref::<Reported>() {
        return code(inner);
    }
    if is_broken_pipe(err) {
        return ExitCode::from(SUCCESS);
    }
    eprintln!("s3io: {}", one_line(err));
    code(err)
}

/// The exit code of an error: success for a broken pipe, 2 for a usage error, else 1.
fn code(err: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(err) {
        return ExitCode::from(SUCCESS);
    }
    let usage = err.chain().any(|cause| {
        // The library refusing a setting before any request (a part size under S3's 5 MiB
        // multipart minimum, say) is a bad flag too.
        cause.is::<UsageError>() || matches!(cause.downcast_ref::<s3io::Error>(), Some(s3io::Error::InvalidConfig(_)))
    });
    ExitCode::from(if usage { USAGE } else { FAILURE })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_causes_on_one_line() {
        let err = anyhow::Error::new(io::Error::other("disk on fire\nreally")).context("writing out.bin");
        assert_eq!(one_line(&err), "writing out.bin: disk on fire really");
    }

    #[test]
    fn server_errors_print_their_cause_once() {
        let bind = s3io_server::ServerError::Bind {
            addr: "127.0.0.1:9000".parse().unwrap(),
            source: io::Error::other("address in use"),
        };
        let err = anyhow::Error::new(bind).context("s3io serve");
        assert_eq!(one_line(&err), "s3io serve: cannot listen on 127.0.0.1:9000: address in use");
        let root =
            s3io_server::ServerError::Root { path: "/srv/s3".into(), source: io::Error::other("permission denied") };
        assert_eq!(one_line(&anyhow::Error::new(root)), "cannot use /srv/s3 as the server root: permission denied");
    }

    #[test]
    fn an_aborted_upload_prints_why_once() {
        // The library's one wrapper error: the error that stopped the upload is its source.
        let stopped = s3io::Error::InvalidConfig("part size must be at least 1 byte".into());
        let aborted =
            s3io::Error::UploadAborted { upload_id: "u1".into(), abort_error: None, source: Box::new(stopped) };
        assert_eq!(
            one_line(&anyhow::Error::new(aborted)),
            "multipart upload u1 aborted: invalid configuration: part size must be at least 1 byte"
        );
    }

    #[test]
    fn broken_pipe_is_found_under_context() {
        let err = anyhow::Error::new(io::Error::from(io::ErrorKind::BrokenPipe)).context("writing to stdout");
        assert!(is_broken_pipe(&err));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }

    #[test]
    fn library_errors_print_as_they_are() {
        let err: anyhow::Error = s3io::Error::InvalidConfig("part size must be at least 1 byte".into()).into();
        assert_eq!(one_line(&err), "invalid configuration: part size must be at least 1 byte");
    }
}
