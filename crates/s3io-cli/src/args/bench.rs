//! `s3io bench`'s flags and the scenarios it can run.

use std::path::PathBuf;

use crate::size::ByteSize;

/// `s3io bench` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct BenchArgs {
    /// Bucket to use on an external endpoint (objects go under a unique prefix, deleted
    /// afterwards). With the embedded server a bucket is created.
    #[arg(long, value_name = "BUCKET")]
    pub(crate) bucket: Option<String>,

    /// Size of the large object.
    #[arg(long, value_name = "SIZE", default_value = "1GiB")]
    pub(crate) size: ByteSize,

    /// Number of small objects.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub(crate) small_count: usize,

    /// Size of each small object.
    #[arg(long, value_name = "SIZE", default_value = "1.2MiB")]
    pub(crate) small_size: ByteSize,

    /// Small downloads in flight at once.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub(crate) small_concurrency: usize,

    /// Smallest object of the small-mixed scenario (sizes are drawn log-uniformly, seeded,
    /// between this and --mixed-max-size).
    #[arg(long, value_name = "SIZE", default_value = "100KiB")]
    pub(crate) mixed_min_size: ByteSize,

    /// Largest object of the small-mixed scenario.
    #[arg(long, value_name = "SIZE", default_value = "16MiB")]
    pub(crate) mixed_max_size: ByteSize,

    /// Scenarios to run (comma-separated). By default all but `null`.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub(crate) scenarios: Vec<Scenario>,

    /// Print the results as JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,

    /// Also draw the small-download latency distribution and, for each large transfer, its
    /// throughput, connections open and concurrency over time (sampled every 10 ms) into this
    /// SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub(crate) plot: Option<PathBuf>,

    /// Directory for the large test file. By default the system's temporary directory.
    #[arg(long, value_name = "DIR")]
    pub(crate) work_dir: Option<PathBuf>,

    /// Inject faults into the embedded server's answers, e.g.
    /// seed=1,503=0.1,reset=0.05,reset-after=1MiB,stall=0.02,stall-for=5s (the grammar of
    /// `s3io serve --faults`); the set-up uploads get them too. Not with --endpoint-url.
    #[arg(long, value_name = "SPEC")]
    pub(crate) faults: Option<s3io_server::FaultSpec>,

    /// Emulate a network in the embedded server, e.g. rtt=20ms,bw=40MB/s,link=1GB/s (the
    /// grammar of `s3io serve --network`): every connection, the set-up's included, is paced and
    /// delayed. Shown above the table, in each JSON record and in the --plot titles. Not with
    /// --endpoint-url.
    #[arg(long, value_name = "SPEC")]
    pub(crate) network: Option<s3io_server::NetworkSpec>,
}

/// Which scenario to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Scenario {
    /// Upload the large object from a file.
    LargeUpload,
    /// Upload the large object from a stream of unknown length (as `cp - s3://…` reads stdin).
    LargeUploadStream,
    /// Download the large object to a file.
    LargeDownload,
    /// Download the large object to a stream, in order (as `cp s3://… -` writes stdout).
    LargeDownloadStream,
    /// Download many small objects, several at a time, with per-request latency.
    Small,
    /// A large download, small downloads and small uploads at the same time.
    Mixed,
    /// Download objects of varied sizes (a seeded log-uniform draw between --mixed-min-size and
    /// --mixed-max-size) into memory, several at a time, as a service does: latency, and the
    /// buffer pool's reuse per size class.
    SmallMixed,
    /// No network: the small scenario's workers each copy --small-size bytes per operation, for
    /// the machine's own latency noise (what p99/p50 is without any I/O).
    Null,
}

impl Scenario {
    /// Every scenario, in the order they run.
    pub(crate) const ALL: [Scenario; 7] = [
        Scenario::LargeUpload,
        Scenario::LargeUploadStream,
        Scenario::LargeDownload,
        Scenario::LargeDownloadStream,
        Scenario::Small,
        Scenario::Mixed,
        Scenario::SmallMixed,
    ];

    /// Whether the scenario reads the large test file (to upload it, or to create the large
    /// object it downloads).
    pub(crate) fn uses_large_file(self) -> bool {
        match self {
            Scenario::LargeUpload
            | Scenario::LargeUploadStream
            | Scenario::LargeDownload
            | Scenario::LargeDownloadStream
            | Scenario::Mixed => true,
            Scenario::Small | Scenario::SmallMixed | Scenario::Null => false,
        }
    }
}
