//! `s3io`: the command line of the s3io transfer engine.
//!
//! `main` only parses the arguments (clap exits with code 2 on a usage error) and hands over to
//! [`app::main`], which runs the command on a tokio runtime and turns its outcome into the exit
//! code documented in [`exit`].

mod alloc_counter;
mod app;
mod args;
mod bar;
mod batch;
mod bench;
mod clobber;
mod cmd;
mod duration;
mod escape;
mod exit;
mod filter;
mod keypath;
mod listing;
mod location;
mod object;
mod printer;
mod settings;
mod signal;
mod size;
mod sse_c;
mod sync;
mod transfer;
mod walk;
mod wildcard;

use clap::Parser as _;

/// Counts heap allocations for `s3io bench`'s allocations-per-operation figures; only in builds
/// with the `alloc-count` feature.
#[cfg(feature = "alloc-count")]
#[global_allocator]
static ALLOCATOR: alloc_counter::CountingAllocator = alloc_counter::CountingAllocator;

fn main() -> std::process::ExitCode {
    app::main(args::Cli::parse())
}
