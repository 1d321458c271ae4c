//! `--exclude` / `--include` glob filters, with the aws s3 semantics.
//!
//! Every object is included by default. The filters are applied in the order they appear on the
//! command line and the last one that matches decides: `--exclude '*' --include '*.log'` copies
//! only `.log` files, `--include '*.log' --exclude '*'` copies nothing. Patterns match the key
//! relative to the source prefix (or the path relative to the source directory, with `/`
//! separators), never the bucket or the prefix itself.
//!
//! Patterns are [`globset`] globs: `*` and `?` also match `/` (as in aws s3, whose filters use
//! `fnmatch`), `**` works as well, `[...]` is a character class, `{a,b}` an alternation.
//!
//! clap's derive API would give two separate lists and lose the order in which `--exclude` and
//! `--include` were interleaved, so [`FilterArgs`] implements [`clap::Args`] by hand and reads
//! each value's position from the argument matches.

use clap::{Arg, ArgAction, ArgMatches, Args, FromArgMatches};
use globset::{Glob, GlobBuilder, GlobMatcher};

/// Whether a matching filter keeps or drops the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FilterKind {
    /// `--exclude`: drop matching objects.
    Exclude,
    /// `--include`: keep matching objects (undoing an earlier `--exclude`).
    Include,
}

/// One `--exclude PATTERN` or `--include PATTERN`, as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FilterRule {
    /// Exclude or include.
    pub(crate) kind: FilterKind,
    /// The glob.
    pub(crate) pattern: String,
}

/// The `--exclude` / `--include` flags of a recursive command, in command-line order.
#[derive(Debug, Clone, Default)]
pub(crate) struct FilterArgs {
    /// The rules in the order given.
    pub(crate) rules: Vec<FilterRule>,
}

const EXCLUDE: &str = "exclude";
const INCLUDE: &str = "include";

impl FilterArgs {
    /// The compiled filters; a malformed glob is a usage error naming it.
    pub(crate) fn compile(&self) -> Result<Filters, crate::exit::UsageError> {
        Filters::new(&self.rules)
    }
}

impl Args for FilterArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.arg(
            Arg::new(EXCLUDE).long(EXCLUDE).value_name("GLOB").action(ArgAction::Append).help_heading("Filters").help(
                "Skip keys (relative to the source prefix) matching GLOB; repeatable, the last matching filter wins",
            ),
        )
        .arg(
            Arg::new(INCLUDE)
                .long(INCLUDE)
                .value_name("GLOB")
                .action(ArgAction::Append)
                .help_heading("Filters")
                .help("Keep keys matching GLOB even if an earlier --exclude matched them"),
        )
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for FilterArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut positioned = Vec::new();
        for (id, kind) in [(EXCLUDE, FilterKind::Exclude), (INCLUDE, FilterKind::Include)] {
            let (Some(values), Some(indices)) = (matches.get_many::<String>(id), matches.indices_of(id)) else {
                continue;
            };
            for (pattern, index) in values.zip(indices) {
                positioned.push((index, FilterRule { kind, pattern: pattern.clone() }));
            }
        }
        positioned.sort_by_key(|(index, _)| *index);
        Ok(Self { rules: positioned.into_iter().map(|(_, rule)| rule).collect() })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

/// Compiled filters: decide whether a relative key is part of the job.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filters {
    rules: Vec<(FilterKind, GlobMatcher)>,
}

impl Filters {
    /// Compiles `rules` in order; a malformed glob is a usage error naming it.
    pub(crate) fn new(rules: &[FilterRule]) -> Result<Self, crate::exit::UsageError> {
        let rules = rules
            .iter()
            .map(|rule| {
                let flag = match rule.kind {
                    FilterKind::Exclude => "--exclude",
                    FilterKind::Include => "--include",
                };
                compile_glob(&rule.pattern)
                    .map(|glob| (rule.kind, glob.compile_matcher()))
                    .map_err(|e| crate::exit::UsageError::new(format!("{flag} {:?}: {e}", rule.pattern)))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { rules })
    }

    /// Whether `relative_key` is included: the last matching rule decides, no match includes.
    pub(crate) fn includes(&self, relative_key: &str) -> bool {
        self.rules
            .iter()
            .rev()
            .find(|(_, matcher)| matcher.is_match(relative_key))
            .is_none_or(|(kind, _)| *kind == FilterKind::Include)
    }

    /// Whether there are no rules (everything is included).
    pub(crate) fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// A glob with the s3io conventions: `*` crosses `/`, backslash escapes (`\*` is a literal `*`).
pub(crate) fn compile_glob(pattern: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(pattern).literal_separator(false).backslash_escape(true).build()
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct TestCli {
        #[command(flatten)]
        filters: FilterArgs,
    }

    fn parse(args: &[&str]) -> Filters {
        let cli = TestCli::try_parse_from(std::iter::once("t").chain(args.iter().copied())).unwrap();
        cli.filters.compile().unwrap()
    }

    #[test]
    fn everything_is_included_by_default() {
        let filters = parse(&[]);
        assert!(filters.is_empty());
        assert!(filters.includes("anything/at/all"));
    }

    #[test]
    fn the_last_matching_filter_wins() {
        let only_logs = parse(&["--exclude", "*", "--include", "*.log"]);
        assert!(only_logs.includes("a/b.log"));
        assert!(!only_logs.includes("a/b.txt"));
        let nothing = parse(&["--include", "*.log", "--exclude", "*"]);
        assert!(!nothing.includes("a/b.log"));
        let interleaved = parse(&["--exclude", "tmp/*", "--include", "tmp/keep*", "--exclude", "*.bak"]);
        assert!(!interleaved.includes("tmp/x"));
        assert!(interleaved.includes("tmp/keep.txt"));
        assert!(!interleaved.includes("tmp/keep.bak"));
        assert!(interleaved.includes("other.txt"));
    }

    #[test]
    fn star_crosses_directories_as_in_aws_s3() {
        let filters = parse(&["--exclude", "*.tmp"]);
        assert!(!filters.includes("deep/dir/x.tmp"));
        let classes = parse(&["--exclude", "log-[0-9]?.txt"]);
        assert!(!classes.includes("log-12.txt"));
        assert!(classes.includes("log-ab.txt"));
    }

    #[test]
    fn bad_globs_are_usage_errors() {
        let cli = TestCli::try_parse_from(["t", "--include", "a[b"]).unwrap();
        let err = cli.filters.compile().unwrap_err().to_string();
        assert!(err.contains("--include") && err.contains("a[b"), "{err}");
    }
}
