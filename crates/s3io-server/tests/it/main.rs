//! The server's integration tests, one binary (one link, one process start per test under
//! nextest): each module a concern, all over real HTTP against the server on `127.0.0.1:0`.
//!
//! - `smoke`: put, get, ranges, multipart and listing end to end;
//! - `answers`: S3's error answers and limits;
//! - `atomic`: concurrent writers and readers on one key;
//! - `keys`: every key shape S3 allows, and nothing stored beside the index;
//! - `network`: the emulated network's rates, link and round trips, as a client sees them.

mod answers;
mod atomic;
mod common;
mod keys;
mod network;
mod smoke;
