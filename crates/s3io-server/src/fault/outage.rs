//! One outage of the whole server: what it is ([`Outage`], parsed from `outage=…` items) and
//! its clock ([`OutageClock`]), which knows when the outage begins and whether a moment falls
//! inside it. The accept loop acts on the clock (closing or pausing the listener) and the
//! service and bodies consult it per request; see "Outage" in the
//! [module documentation](super).

use std::sync::OnceLock;
use std::time::Duration;

/// What a server in an outage does to its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutageMode {
    /// A server restarting: connections refused, open ones closed.
    #[default]
    Refuse,
    /// A network dropping packets: nothing answered, nothing closed.
    Drop,
}

/// When an outage begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutageStart {
    /// This long after the server starts.
    At(Duration),
    /// With the arrival of request number N (0-based): the N requests before it are served.
    AfterRequests(u64),
}

/// One outage of the whole server; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outage {
    /// How long it lasts.
    pub duration: Duration,
    /// When it begins.
    pub start: OutageStart,
    /// What clients see.
    pub mode: OutageMode,
}

/// The clock of a spec's outage: when it begins (known at start for `outage-at`, set by the
/// request that opens it for `outage-after`) and whether a moment falls inside it.
#[derive(Debug)]
pub(crate) struct OutageClock {
    outage: Outage,
    /// When it began (or will begin); set once.
    begins: OnceLock<tokio::time::Instant>,
    /// Woken when an `outage-after` outage begins.
    begun: tokio::sync::Notify,
}

impl OutageClock {
    /// The clock of `outage` for a server started at `epoch`.
    pub(super) fn new(outage: Outage, epoch: tokio::time::Instant) -> Self {
        let begins = OnceLock::new();
        if let OutageStart::At(at) = outage.start {
            let _ = begins.set(epoch + at);
        }
        Self { outage, begins, begun: tokio::sync::Notify::new() }
    }

    /// What clients see.
    pub(crate) fn mode(&self) -> OutageMode {
        self.outage.mode
    }

    /// Notes the arrival of request `n` (which opens an `outage-after` outage) and returns when
    /// the outage ends if the request falls inside it.
    pub(super) fn on_request(&self, n: u64) -> Option<tokio::time::Instant> {
        if let OutageStart::AfterRequests(first) = self.outage.start {
            if n >= first && self.begins.set(tokio::time::Instant::now()).is_ok() {
                self.begun.notify_waiters();
            }
        }
        self.ends_if_active()
    }

    /// When the outage ends, if it is under way now.
    pub(super) fn ends_if_active(&self) -> Option<tokio::time::Instant> {
        let begins = *self.begins.get()?;
        let ends = begins + self.outage.duration;
        let now = tokio::time::Instant::now();
        (begins <= now && now < ends).then_some(ends)
    }

    /// Waits until the outage begins; returns when it ends.
    pub(crate) async fn begun(&self) -> tokio::time::Instant {
        loop {
            let notified = self.begun.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(begins) = self.begins.get() {
                tokio::time::sleep_until(*begins).await;
                return *begins + self.outage.duration;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn outage_clock_opens_with_its_request_and_closes_after_its_duration() {
        let length = Duration::from_millis(200);
        let outage = Outage { duration: length, start: OutageStart::AfterRequests(3), mode: OutageMode::Refuse };
        let epoch = tokio::time::Instant::now();
        let clock = OutageClock::new(outage, epoch);
        assert_eq!(clock.on_request(0), None);
        assert_eq!(clock.on_request(2), None);
        let ends = clock.on_request(3).expect("request 3 opens the outage");
        assert!(ends >= epoch + length, "{ends:?}");
        assert_eq!(clock.on_request(4), Some(ends), "requests after it fall inside");
        assert_eq!(clock.begun().await, ends);
        tokio::time::sleep_until(ends).await;
        assert_eq!(clock.on_request(5), None, "the outage is over");
        // A timed outage: nothing before its time, then the same window.
        let timed = Outage { duration: Duration::from_secs(60), start: OutageStart::At(length), ..outage };
        let at = OutageClock::new(timed, tokio::time::Instant::now());
        assert_eq!(at.ends_if_active(), None, "not begun yet");
        let ends = at.begun().await;
        assert!(at.on_request(0).is_some_and(|e| e == ends), "inside the outage once begun");
    }
}
