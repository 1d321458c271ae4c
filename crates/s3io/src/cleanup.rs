//! Clean-up that outlives the transfer that owed it.
//!
//! A transfer future dropped midway (Ctrl-C, a timeout around it, an aborted task) cannot await
//! anything in its `Drop`. What it still owes the store — the abort of its multipart upload or
//! multipart copy — is spawned on the runtime and registered here, process-wide, until it has
//! been answered. A transfer dropped while its CreateMultipartUpload is unanswered owes the
//! abort of an upload whose id it does not know yet: that wait is registered too (without an
//! id), and hands over to the abort once the answer names the upload. A program about to exit
//! waits for it with [`finish`]; one that cannot wait (a second Ctrl-C) says what it leaves
//! behind with [`pending`]. Without the wait the clean-up is lost: a runtime shutting down drops
//! its spawned tasks.
//!
//! The registry is a map of the aborts in flight and a [`watch`] channel of their count, so
//! [`finish`] wakes when the count reaches zero, whichever task finished last.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};

use tokio::sync::watch;

use crate::client::Client;

/// A multipart upload whose abort has been sent (or is about to be) but not yet answered, or
/// whose CreateMultipartUpload is still unanswered (the upload may exist; it is aborted once the
/// answer names it).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PendingAbort {
    /// The bucket.
    pub bucket: String,
    /// The key of the upload.
    pub key: String,
    /// The upload id; `None` while the CreateMultipartUpload that makes it is unanswered.
    pub upload_id: Option<String>,
}

/// The aborts in flight in this process.
struct Registry {
    next_id: AtomicU64,
    pending: Mutex<BTreeMap<u64, PendingAbort>>,
    count: watch::Sender<usize>,
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(|| Registry {
    next_id: AtomicU64::new(0),
    pending: Mutex::new(BTreeMap::new()),
    count: watch::Sender::new(0),
});

impl Registry {
    fn insert(&self, abort: PendingAbort) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut pending = self.pending.lock().expect("not poisoned");
        pending.insert(id, abort);
        self.count.send_replace(pending.len());
        id
    }

    fn remove(&self, id: u64) {
        let mut pending = self.pending.lock().expect("not poisoned");
        pending.remove(&id);
        self.count.send_replace(pending.len());
    }
}

/// Removes its entry from the registry when dropped: when the abort task ends, or when a
/// shutting-down runtime drops it unfinished (then [`pending`] no longer lists it either, but
/// nobody is left to ask).
pub(crate) struct Registered(u64);

impl Drop for Registered {
    fn drop(&mut self) {
        REGISTRY.remove(self.0);
    }
}

/// Spawns the abort of `upload_id` on `runtime` and registers it until it has been answered.
pub(crate) fn spawn_abort(
    runtime: &tokio::runtime::Handle,
    client: Client,
    bucket: String,
    key: String,
    upload_id: String,
) {
    let registered = Registered(REGISTRY.insert(PendingAbort {
        bucket: bucket.clone(),
        key: key.clone(),
        upload_id: Some(upload_id.clone()),
    }));
    runtime.spawn(async move {
        let _registered = registered;
        match client.abort_multipart_upload(&bucket, &key, &upload_id).await {
            Ok(()) => tracing::debug!(bucket, key, upload_id, "dropped upload aborted"),
            Err(error) => {
                tracing::warn!(error = %crate::error::Chain(&error), upload_id, "aborting a dropped upload failed")
            }
        }
    });
}

/// Registers the wait of a dropped transfer for its CreateMultipartUpload's answer, until the
/// returned guard is dropped: the task holding it spawns the upload's abort ([`spawn_abort`],
/// which registers the abort before the guard goes) or learns that no upload was made.
pub(crate) fn awaiting_create(bucket: &str, key: &str) -> Registered {
    Registered(REGISTRY.insert(PendingAbort { bucket: bucket.to_owned(), key: key.to_owned(), upload_id: None }))
}

/// The aborts of dropped multipart uploads (and copies) still in flight in this process.
pub fn pending() -> Vec<PendingAbort> {
    REGISTRY.pending.lock().expect("not poisoned").values().cloned().collect()
}

/// Waits until every abort of a dropped multipart upload (or copy) in this process has been
/// answered (successfully or not: a failure is logged), and every CreateMultipartUpload of a
/// dropped transfer has been answered and its upload aborted. Each abort (and create) is one
/// request through the client's retries, so the wait is bounded by its attempts and timeouts;
/// put a timeout around it to bound it further.
pub async fn finish() {
    let mut count = REGISTRY.count.subscribe();
    // The sender lives in a static: the channel never closes.
    let _ = count.wait_for(|&n| n == 0).await;
}
