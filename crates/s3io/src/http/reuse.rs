//! Connection reuse: a new connection is dialed only when the requests to a host outnumber its
//! connections.
//!
//! hyper-util's pool takes an HTTP/1.1 connection back from a task of its own, once the
//! connection has read its response to the end, and a request that finds no idle connection
//! races a pool checkout against a new connect. So a request sent a few microseconds after
//! another one's body ended could find that connection still on its way back and open a second
//! one (3 in 50 sequential downloads did, on a loaded machine), which the pool then keeps: a
//! connection, a handshake and a read buffer nobody needed.
//!
//! Each host (scheme and authority: hyper-util's pool key) has a [`HostLoad`] counting the
//! requests that hold or wait for one of its connections ([`Claim`]: from the moment a request is
//! sent until its response body ends or is dropped), its open connections, and those being
//! dialed. The connector ([`HostLoad::dial_permit`]) dials at once while claims outnumber open
//! and dialing connections. Otherwise a connection is idle or on its way back, and the connect
//! waits for the counts to change (a new claim, a connection closed, a dial given up), at most
//! [`REUSE_WAIT`], after which it dials anyway (a count that is off costs that wait, never a
//! request). When the request takes a pooled connection meanwhile, hyper-util moves the connect
//! into a task of its own to finish it; the connect notices that it runs in another task than
//! the one that started it, and gives up unless another request needs it now.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};

/// How long a connect waits for a connection that the counts say is idle or on its way back,
/// before it dials anyway: 20 ms, hundreds of times what a connection's way back to the pool
/// takes, and less than a new TCP and TLS handshake to a distant store.
pub(crate) const REUSE_WAIT: Duration = Duration::from_millis(20);

/// A client that has seen this many hosts forgets those with no request or connection left
/// before it adds another.
const PRUNE_AT: usize = 64;

/// The per-host loads of one client.
#[derive(Debug)]
pub(crate) struct Hosts {
    /// The optional cap on connections per host.
    cap: Option<usize>,
    hosts: Mutex<HashMap<u64, Arc<HostLoad>>>,
}

impl Hosts {
    pub(crate) fn new(cap: Option<usize>) -> Self {
        Self { cap, hosts: Mutex::new(HashMap::new()) }
    }

    /// The load of the URI's host (its scheme and authority), kept under a hash of them, so
    /// that looking it up allocates nothing.
    pub(crate) fn load(&self, uri: &http::Uri) -> Arc<HostLoad> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        uri.scheme_str().unwrap_or("http").hash(&mut hasher);
        uri.authority().map_or("", |a| a.as_str()).hash(&mut hasher);
        let key = hasher.finish();
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(load) = hosts.get(&key) {
            return load.clone();
        }
        if hosts.len() >= PRUNE_AT {
            // Hosts with no request or connection left (virtual-hosted buckets come and go).
            hosts.retain(|_, load| Arc::strong_count(load) > 1);
        }
        hosts.entry(key).or_insert_with(|| Arc::new(HostLoad::new(self.cap))).clone()
    }

    /// A claim on a connection to the URI's host, for one request.
    pub(crate) fn claim(&self, uri: &http::Uri) -> Claim {
        let load = self.load(uri);
        let mut counts = load.counts();
        counts.claims += 1;
        let wake = counts.waiting > 0;
        drop(counts);
        if wake {
            load.changed.notify_waiters();
        }
        Claim { load }
    }
}

/// What one host's connections are doing.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    /// Requests holding or waiting for a connection.
    claims: usize,
    /// Connections open.
    open: usize,
    /// Connections being dialed (or waiting for the cap).
    dialing: usize,
    /// Connects waiting for the counts to change.
    waiting: usize,
}

impl Counts {
    /// Whether the requests outnumber the connections open and coming.
    fn need(&self) -> bool {
        self.claims > self.open + self.dialing
    }
}

/// The load of one host.
#[derive(Debug)]
pub(crate) struct HostLoad {
    counts: Mutex<Counts>,
    changed: Notify,
    /// The cap on connections open at once, when there is one: a connection holds a permit from
    /// its connect to its close.
    cap: Option<Arc<Semaphore>>,
}

impl HostLoad {
    fn new(cap: Option<usize>) -> Self {
        Self {
            counts: Mutex::new(Counts::default()),
            changed: Notify::new(),
            cap: cap.map(|n| Arc::new(Semaphore::new(n))),
        }
    }

    fn counts(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn cap(&self) -> Option<&Arc<Semaphore>> {
        self.cap.as_ref()
    }

    /// Waits until a new connection is needed ([module docs](self)); `None` when the connect
    /// was moved off the task `origin` that started it (its request took a pooled connection)
    /// and no other request needs it.
    pub(crate) async fn dial_permit(self: &Arc<Self>, origin: Option<tokio::task::Id>) -> Option<Dialing> {
        let deadline = tokio::time::Instant::now() + REUSE_WAIT;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut counts = self.counts();
                let moved = tokio::task::try_id() != origin;
                if counts.need() || (!moved && tokio::time::Instant::now() >= deadline) {
                    counts.dialing += 1;
                    return Some(Dialing { load: self.clone(), done: false });
                }
                if moved {
                    return None;
                }
                counts.waiting += 1;
            }
            let _waiting = Waiting(self);
            let sleep = tokio::time::sleep_until(deadline);
            tokio::pin!(sleep);
            // Looks again when the counts change, at the deadline, or as soon as the connect runs
            // in another task.
            std::future::poll_fn(|cx| {
                if tokio::task::try_id() != origin
                    || changed.as_mut().poll(cx).is_ready()
                    || sleep.as_mut().poll(cx).is_ready()
                {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
            .await;
        }
    }

    /// Counts a connection closed.
    fn closed(&self) {
        let mut counts = self.counts();
        counts.open = counts.open.saturating_sub(1);
        let wake = counts.waiting > 0;
        drop(counts);
        if wake {
            self.changed.notify_waiters();
        }
    }
}

/// A connect counted as waiting, until dropped.
struct Waiting<'a>(&'a HostLoad);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut counts = self.0.counts();
        counts.waiting = counts.waiting.saturating_sub(1);
    }
}

/// A connection being dialed: counted as coming until it is [opened](Self::opened) or dropped
/// (the dial failed or was abandoned).
#[derive(Debug)]
pub(crate) struct Dialing {
    load: Arc<HostLoad>,
    done: bool,
}

impl Dialing {
    /// The connection is open: it counts as open until the returned [`Open`] is dropped.
    pub(crate) fn opened(mut self) -> Open {
        self.done = true;
        let mut counts = self.load.counts();
        counts.dialing = counts.dialing.saturating_sub(1);
        counts.open += 1;
        drop(counts);
        Open { load: self.load.clone() }
    }
}

impl Drop for Dialing {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut counts = self.load.counts();
        counts.dialing = counts.dialing.saturating_sub(1);
        let wake = counts.waiting > 0;
        drop(counts);
        if wake {
            self.load.changed.notify_waiters();
        }
    }
}

/// An open connection, counted until dropped.
#[derive(Debug)]
pub(crate) struct Open {
    load: Arc<HostLoad>,
}

impl Drop for Open {
    fn drop(&mut self) {
        self.load.closed();
    }
}

/// One request's claim on a connection to its host, from its sending until its response body
/// ends or is dropped (then its connection goes back to the pool).
#[derive(Debug)]
pub(crate) struct Claim {
    load: Arc<HostLoad>,
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut counts = self.load.counts();
        counts.claims = counts.claims.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri() -> http::Uri {
        "http://127.0.0.1:9000/b/k".parse().unwrap()
    }

    #[tokio::test]
    async fn a_connect_goes_ahead_while_requests_outnumber_connections() {
        let hosts = Hosts::new(None);
        let _first = hosts.claim(&uri());
        let load = hosts.load(&uri());
        let origin = tokio::task::try_id();
        let dialing = load.dial_permit(origin).await.expect("needed");
        let _open = dialing.opened();
        let _second = hosts.claim(&uri());
        // Two requests, one connection: the second dials at once.
        let started = std::time::Instant::now();
        let _also = load.dial_permit(origin).await.expect("needed");
        assert!(started.elapsed() < REUSE_WAIT, "waited {:?}", started.elapsed());
        assert_eq!(load.counts().dialing, 1);
    }

    #[tokio::test]
    async fn a_connect_waits_for_a_connection_on_its_way_back_then_dials_anyway() {
        let hosts = Hosts::new(None);
        let load = hosts.load(&uri());
        let first = hosts.claim(&uri());
        let open = load.dial_permit(tokio::task::try_id()).await.expect("needed").opened();
        drop(first);
        // The first request's body ended; its connection is on its way back to the pool.
        let _second = hosts.claim(&uri());
        let started = std::time::Instant::now();
        let late = load.dial_permit(tokio::task::try_id()).await;
        assert!(late.is_some(), "a connect in its own request's task dials after the wait");
        assert!(started.elapsed() >= REUSE_WAIT, "dialed after {:?}", started.elapsed());
        drop(open);
        assert_eq!(load.counts().open, 0);
    }

    #[tokio::test]
    async fn a_connect_waiting_is_woken_when_a_connection_closes() {
        let hosts = Hosts::new(None);
        let load = hosts.load(&uri());
        let _first = hosts.claim(&uri());
        let open = load.dial_permit(tokio::task::try_id()).await.expect("needed").opened();
        let waiter = {
            let load = load.clone();
            tokio::spawn(async move {
                let origin = tokio::task::try_id();
                let started = std::time::Instant::now();
                let permit = load.dial_permit(origin).await;
                (permit.is_some(), started.elapsed())
            })
        };
        while load.counts().waiting == 0 {
            tokio::task::yield_now().await;
        }
        drop(open);
        let (dialed, after) = waiter.await.unwrap();
        assert!(dialed);
        assert!(after < REUSE_WAIT, "woke after {after:?}");
    }

    #[tokio::test]
    async fn a_connect_moved_to_another_task_gives_up_unless_needed() {
        let hosts = Hosts::new(None);
        let load = hosts.load(&uri());
        let _first = hosts.claim(&uri());
        let _open = load.dial_permit(tokio::task::try_id()).await.expect("needed").opened();
        // Started in this task (the request's), finished in another (hyper-util's background
        // connect) while the one connection serves the one request: abandoned.
        let origin = tokio::task::try_id();
        let moved = tokio::spawn({
            let load = load.clone();
            async move { load.dial_permit(origin).await.is_some() }
        });
        assert!(!moved.await.unwrap());
        // A second request came: the moved connect is needed and goes ahead.
        let _second = hosts.claim(&uri());
        let needed = tokio::spawn({
            let load = load.clone();
            async move { load.dial_permit(origin).await.is_some() }
        });
        assert!(needed.await.unwrap());
        assert_eq!(*load.counts(), Counts { claims: 2, open: 1, dialing: 0, waiting: 0 });
    }

    #[test]
    fn idle_hosts_are_forgotten() {
        let hosts = Hosts::new(None);
        let busy = hosts.claim(&uri());
        for n in 0..PRUNE_AT * 2 {
            drop(hosts.claim(&format!("http://bucket-{n}.127.0.0.1:9000/k").parse().unwrap()));
        }
        let kept = hosts.hosts.lock().unwrap().len();
        assert!(kept <= PRUNE_AT, "{kept} hosts kept");
        assert!(Arc::ptr_eq(&busy.load, &hosts.load(&uri())), "a host in use was forgotten");
    }

    #[test]
    fn hosts_are_told_apart_by_scheme_and_authority() {
        let hosts = Hosts::new(Some(2));
        let a = hosts.load(&"http://127.0.0.1:9000/x".parse().unwrap());
        let b = hosts.load(&"https://127.0.0.1:9000/x".parse().unwrap());
        let c = hosts.load(&"http://127.0.0.1:9000/y?z".parse().unwrap());
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(Arc::ptr_eq(&a, &c));
        assert_eq!(a.cap().map(|s| s.available_permits()), Some(2));
    }
}
