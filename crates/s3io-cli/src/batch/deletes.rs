//! Deletes of objects, gathered: consecutive deletes in one bucket go out as DeleteObjects
//! requests of up to [`s3io::config::MAX_DELETE_KEYS`] keys, each request one task whose per-key
//! results (from the response's `Errors`, or the request's own failure for every key) become
//! one [`Record`] per key.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::task::JoinSet;

use super::execute::Shared;
use super::report::{Record, Status};
use crate::exit;
use crate::location::S3Url;

/// Deletes gathered for one DeleteObjects request: one bucket, up to [`s3io::config::MAX_DELETE_KEYS`].
#[derive(Debug, Default)]
pub(super) struct DeleteBatch {
    bucket: String,
    keys: Vec<String>,
    /// The `run` line of each key, if any.
    lines: Vec<Option<u64>>,
}

impl DeleteBatch {
    /// Adds `target` (of the `run` line `line`); returns a full batch (or the previous bucket's)
    /// to send.
    pub(super) fn push(&mut self, target: S3Url, line: Option<u64>) -> Option<DeleteBatch> {
        let mut ready = None;
        if !self.keys.is_empty() && self.bucket != target.bucket {
            ready = self.take();
        }
        if self.keys.is_empty() {
            self.bucket = target.bucket;
        }
        self.keys.push(target.key);
        self.lines.push(line);
        if self.keys.len() >= s3io::config::MAX_DELETE_KEYS {
            debug_assert!(ready.is_none());
            ready = self.take();
        }
        ready
    }

    /// The gathered batch, if any, leaving this one empty.
    pub(super) fn take(&mut self) -> Option<DeleteBatch> {
        (!self.keys.is_empty()).then(|| std::mem::take(self))
    }
}

/// Sends `batch` as one DeleteObjects request on a task of `tasks`.
pub(super) fn spawn_deletes(tasks: &mut JoinSet<Vec<Record>>, shared: &Arc<Shared>, batch: DeleteBatch) {
    let client = shared.client.clone();
    tasks.spawn(crate::signal::track(async move {
        let started = Instant::now();
        let result = client.delete_objects(&batch.bucket, &batch.keys).await;
        let seconds = started.elapsed().as_secs_f64();
        let record = |(key, line): (&String, &Option<u64>), error: Option<String>| Record {
            line: *line,
            operation: "delete",
            source: format!("s3://{}/{}", crate::escape::text(&batch.bucket), crate::escape::text(key)),
            destination: None,
            size: 0,
            seconds,
            checksum: None,
            status: if error.is_some() { Status::Failed } else { Status::Ok },
            error,
            client: None,
        };
        match result {
            Ok(output) => {
                let mut errors: HashMap<&str, String> = output
                    .errors
                    .iter()
                    .map(|e| {
                        (
                            e.key.as_str(),
                            format!("{} {}", e.code, e.message.as_deref().unwrap_or("")).trim_end().to_owned(),
                        )
                    })
                    .collect();
                let keys = batch.keys.iter().zip(&batch.lines);
                keys.map(|key| record(key, errors.remove(key.0.as_str()))).collect()
            }
            Err(error) => {
                let text = exit::one_line(&error.into());
                batch.keys.iter().zip(&batch.lines).map(|key| record(key, Some(text.clone()))).collect()
            }
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(bucket: &str, key: &str) -> S3Url {
        S3Url { bucket: bucket.into(), key: key.into() }
    }

    #[test]
    fn deletes_are_batched_per_bucket_up_to_the_limit() {
        let mut batch = DeleteBatch::default();
        let mut sent = Vec::new();
        for i in 0..2500 {
            sent.extend(batch.push(url("a", &format!("k{i}")), None));
        }
        sent.extend(batch.push(url("b", "x"), Some(7)));
        sent.extend(batch.take());
        let sizes: Vec<(String, usize)> = sent.iter().map(|b| (b.bucket.clone(), b.keys.len())).collect();
        assert_eq!(
            sizes,
            [("a".into(), 1000), ("a".into(), 1000), ("a".into(), 500), ("b".into(), 1)] as [(String, usize); 4]
        );
        assert!(batch.take().is_none());
    }
}
