//! `s3io`: the command line of the s3io transfer engine.
//!
//! `main` only parses the arguments (clap exits with code 2 on a usage error) and hands over to
//! [`app::main`], which runs the command on a tokio runtime and turns its outcome into the exit
//! code documented in [`exit`].

mod app;
mod args;
mod cmd;
mod exit;
mod location;
mod settings;
mod size;
mod transfer;

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    app::main(args::Cli::parse())
}
