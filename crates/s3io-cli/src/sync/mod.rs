//! The machinery of `s3io sync` (the command itself is [`crate::cmd`]'s `sync`): the merge-join
//! of the two sides' sorted entries and the comparison rules ([`diff`]), and the content
//! comparison of `--checksum` ([`content`]).

pub(crate) mod content;
pub(crate) mod diff;
