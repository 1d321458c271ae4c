//! The plan of a batch: one [`Action`] per object, as a command's planner (a listing joined
//! with filters, a directory walk, a sync diff) produces them and the runner consumes them. An
//! action names what to touch and where, and carries what the planner already knows (the listed
//! size, the listing's modification time); it holds no state of its own execution.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use crate::location::S3Url;
use crate::object::ObjectSettings;

/// One thing to do to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Download an object into a file (created or replaced).
    Download {
        /// The object.
        source: S3Url,
        /// The file.
        destination: PathBuf,
        /// The object's size as listed, for the progress bar.
        size: u64,
        /// Set the file's modification time to this once it is in place (`sync` gives the
        /// listing's LastModified, so that the next sync compares equal times). By default the
        /// file takes the `Last-Modified` of the object's GET.
        modified: Option<SystemTime>,
    },
    /// Create a local directory for a directory marker (a key ending in `/`).
    MakeDirectory {
        /// The marker object.
        source: S3Url,
        /// The directory.
        destination: PathBuf,
    },
    /// Upload a file.
    Upload {
        /// The file.
        source: PathBuf,
        /// The object.
        destination: S3Url,
        /// The file's size as walked.
        size: u64,
    },
    /// Copy an object inside the store.
    Copy {
        /// The object.
        source: S3Url,
        /// The new object.
        destination: S3Url,
        /// The source's size as listed.
        size: u64,
    },
    /// Delete an object (batched with neighbouring deletes in the same bucket).
    Delete {
        /// The object.
        target: S3Url,
    },
    /// Delete a local file (`sync --delete` into a directory). Refused unless the file's
    /// directory, with every symbolic link resolved, lies under `root`: a link inside the
    /// destination to a directory elsewhere is never deleted through.
    DeleteFile {
        /// The file.
        path: PathBuf,
        /// The directory the file must lie under.
        root: PathBuf,
    },
    /// An object the command refuses to touch (an unsafe key, an unreadable file): counted and
    /// reported as a failure, naming `object`.
    Refuse {
        /// What was refused: the key or path.
        object: String,
        /// Why.
        reason: String,
    },
}

impl Action {
    /// The operation's name in status lines and JSON records.
    pub(super) fn verb(&self) -> &'static str {
        match self {
            Action::Download { .. } => "download",
            Action::MakeDirectory { .. } => "mkdir",
            Action::Upload { .. } => "upload",
            Action::Copy { .. } => "copy",
            Action::Delete { .. } | Action::DeleteFile { .. } => "delete",
            Action::Refuse { .. } => "refuse",
        }
    }

    /// Whether the action is a transfer (download, upload or copy): what `mv` moves.
    pub(super) fn is_transfer(&self) -> bool {
        matches!(self, Action::Download { .. } | Action::Upload { .. } | Action::Copy { .. })
    }

    /// Bytes the action moves, as far as known up front.
    pub(super) fn size(&self) -> u64 {
        match self {
            Action::Download { size, .. } | Action::Upload { size, .. } | Action::Copy { size, .. } => *size,
            Action::MakeDirectory { .. }
            | Action::Delete { .. }
            | Action::DeleteFile { .. }
            | Action::Refuse { .. } => 0,
        }
    }

    /// Source and destination as printed.
    pub(super) fn names(&self) -> (String, Option<String>) {
        match self {
            Action::Download { source, destination, .. } | Action::MakeDirectory { source, destination } => {
                (source.to_string(), Some(crate::escape::path(destination)))
            }
            Action::Upload { source, destination, .. } => (crate::escape::path(source), Some(destination.to_string())),
            Action::Copy { source, destination, .. } => (source.to_string(), Some(destination.to_string())),
            Action::Delete { target } => (target.to_string(), None),
            Action::DeleteFile { path, .. } => (crate::escape::path(path), None),
            Action::Refuse { object, .. } => (object.clone(), None),
        }
    }
}

/// An action as the runner takes it: with, for a line of `s3io run`, that line's number and the
/// flags that shape how its actions run (a command's own actions run with the batch's flags).
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    /// What to do.
    pub(crate) action: Action,
    /// The `run` line it comes from, if any.
    pub(crate) line: Option<Arc<Line>>,
}

impl From<Action> for Planned {
    fn from(action: Action) -> Self {
        Self { action, line: None }
    }
}

/// A line of `s3io run`: its number (from 1) and the flags of its command that apply to each of
/// its actions.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    /// The line's number in its file, from 1.
    pub(crate) number: u64,
    /// `--no-clobber`: skip what exists at the destination.
    pub(crate) no_clobber: bool,
    /// `mv`: delete each source once its copy succeeded.
    pub(crate) move_sources: bool,
    /// The line's object flags (uploads and copies).
    pub(crate) object: Arc<ObjectSettings>,
}
