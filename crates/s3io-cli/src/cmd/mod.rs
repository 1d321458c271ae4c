//! The commands, one module each, and the dispatcher that runs the one asked for.

mod bucket;
mod cat;
mod cp;
mod du;
mod head;
mod ls;
mod mpu;
mod presign;
mod rm;
mod run;
mod serve;
mod sync;

use crate::args::{Cli, Command};
use crate::printer::Printer;
use crate::settings;

/// Runs the parsed command line.
pub(crate) async fn run(cli: Cli) -> anyhow::Result<()> {
    let Cli { global, command } = cli;
    let mut out = Printer::new(global.quiet);
    let result = match command {
        // The server needs no client.
        Command::Serve(args) => serve::run(args, &mut out).await,
        // The benchmark builds its own client (for the embedded server it starts).
        Command::Bench(args) => crate::bench::run(&global, args, &mut out).await,
        command => {
            let client = settings::client(&global).await?;
            match command {
                Command::Cp(args) => cp::run(&client, args, cp::Mode::Copy, &mut out).await,
                Command::Mv(args) => cp::run(&client, args, cp::Mode::Move, &mut out).await,
                Command::Sync(args) => sync::run(&client, args, &mut out).await,
                Command::Ls(args) => ls::run(&client, args, &mut out).await,
                Command::Rm(args) => rm::run(&client, args, &mut out).await,
                Command::Mb(args) => bucket::make(&client, args, &mut out).await,
                Command::Rb(args) => bucket::remove(&client, args, &mut out).await,
                Command::Cat(args) => cat::run(&client, args).await,
                Command::Head(args) => head::run(&client, args, &mut out).await,
                Command::Du(args) => du::run(&client, args, &mut out).await,
                Command::Presign(args) => presign::run(&client, args, &mut out).await,
                Command::Mpu(command) => mpu::run(&client, command, &mut out).await,
                Command::Run(args) => run::run(&client, args, &mut out).await,
                Command::Serve(_) | Command::Bench(_) => unreachable!("handled above"),
            }
        }
    };
    // Whatever was printed before an error still reaches stdout.
    let flushed = out.flush().await;
    result.and(flushed)
}
