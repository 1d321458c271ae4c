//! Exit codes and the one-line error report.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success (also: stdout closed early by a reader such as `head`, as ripgrep does) |
//! | 1 | an operation failed; stderr holds one line naming the operation, bucket, key and why |
//! | 2 | usage error: bad flags or arguments (clap's own errors use 2 as well) |
//! | 130 | interrupted by Ctrl-C; the transfer was cancelled and no partial file is left |
//!
//! The library's [`s3io::Error`] already says "`GetObject s3://b/k failed: NoSuchKey (HTTP 404):
//! …`", including its source, so the report prints it as it is instead of a chain of causes.

use std::fmt;
use std::io;
use std::process::ExitCode;

/// Success.
pub(crate) const SUCCESS: u8 = 0;
/// An operation failed.
pub(crate) const FAILURE: u8 = 1;
/// Bad flags or arguments.
pub(crate) const USAGE: u8 = 2;
/// Interrupted by SIGINT (128 + 2, the shell convention).
pub(crate) const INTERRUPTED: u8 = 130;

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

/// Whether the error comes from writing to a reader that went away (`s3io cat … | head`).
pub(crate) fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| cause.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe))
}

/// The error as one line: the causes joined by `: `, stopping after an [`s3io::Error`] (whose
/// message already includes its source), with line breaks from servers' messages flattened.
pub(crate) fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&cause.to_string());
        if cause.is::<s3io::Error>() {
            break;
        }
    }
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Prints the error (unless it is a broken pipe) and picks the exit code.
pub(crate) fn report(err: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(err) {
        return ExitCode::from(SUCCESS);
    }
    let code = if err.chain().any(|cause| cause.is::<UsageError>()) { USAGE } else { FAILURE };
    eprintln!("s3io: {}", one_line(err));
    ExitCode::from(code)
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
    fn broken_pipe_is_found_under_context() {
        let err = anyhow::Error::new(io::Error::from(io::ErrorKind::BrokenPipe)).context("writing to stdout");
        assert!(is_broken_pipe(&err));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }

    #[test]
    fn stops_after_a_library_error() {
        let err: anyhow::Error = s3io::Error::InvalidConfig("part size must be at least 1 byte".into()).into();
        assert_eq!(one_line(&err), "invalid configuration: part size must be at least 1 byte");
    }
}
