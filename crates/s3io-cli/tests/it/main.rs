//! The `s3io` binary's integration tests, in one test binary (one link, one process to
//! schedule): the commands against the embedded S3 server, over real HTTP.

mod bench;
mod checksums;
mod cli;
mod clobber;
mod common;
mod environment;
mod inspect;
mod integrity;
mod many;
mod messages;
mod mpu;
mod mv;
mod objects;
mod objopts;
mod resume;
mod run;
mod signals;
mod sse_c;
mod sync;
