//! Fault sites in the harness's own boundaries, as FoundationDB's BUGGIFY puts them in
//! code: under the `swarm` strategy a run may move its crash budget from random times
//! to a site, "right after a store write", enabled for some instances. The instance
//! then dies between writing and whatever it meant to do next (publish the event, ack
//! the message), the window a lost-event bug needs, which a crash at a random time hits
//! only by luck. Armed for the fault phase only; every crash counts against the
//! scenario's crash bound.
//!
//! The `stretch` strategy moves the scenario's pauses the same way, to "right after a
//! store call that only read": the instance freezes between its handler's read and the
//! write that depends on it, while other handlers (on other instances) go on and write
//! the record, the interleaving a read-check-write race needs. In half of the runs only
//! a read of a record another handler read within the last [`NEAR_MISS`] is a site: two
//! accesses to one record from different threads close in time are what TSVD calls a
//! near miss and injects its delays at (here the second reader waits, so the first
//! one's write lands in its window). Every pause counts against the scenario's pause
//! bound and lasts one of its pause durations.

use super::choices::{Choices, Site};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Two reads of one record by different handlers this close are a near miss.
pub const NEAR_MISS: Duration = Duration::from_secs(1);
/// The most records whose last read a run remembers (older ones are forgotten first).
pub const NEAR_MISS_RECORDS: usize = 4096;

/// What a fault site does to its instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SiteFault {
    /// Swarm's: the instance dies right after a store write.
    CrashAfterWrite,
    /// Stretch's: the instance is paused right after a store call that only read, the
    /// window between a handler's read and the write that depends on it.
    PauseAfterRead,
}

/// A fault a site asked for: the kind and the instance (by name), to be carried out by
/// the nemesis, which answers whether it did (not once the quiet phase has begun).
pub type SiteRequest = futures::channel::mpsc::UnboundedSender<(SiteFault, Arc<str>, futures::channel::oneshot::Sender<bool>)>;

/// One kind of site's chance per call and the faults it has left (the scenario's bound).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SiteBudget {
    pub p: f64,
    pub left: u32,
    /// Only near-miss reads are sites (pauses).
    pub near_miss: bool,
}

struct Armed {
    /// Instances whose calls are sites.
    nodes: BTreeSet<Arc<str>>,
    crashes: Option<SiteBudget>,
    pauses: Option<SiteBudget>,
    requests: SiteRequest,
    /// Stretch: per (store, record read), the handler (its cause) that last read it and when.
    last_read: BTreeMap<(&'static str, String), (u64, Duration)>,
}

impl Armed {
    /// Remembers this call's reads; says whether one of them is a near miss (the record
    /// was read by another handler within [`NEAR_MISS`]).
    fn near_miss(&mut self, store: &'static str, read: &[String], task: u64, now: Duration) -> bool {
        let mut near = false;
        for key in read {
            let last = self.last_read.insert((store, key.clone()), (task, now));
            near |= last.is_some_and(|(other, at)| other != task && now.saturating_sub(at) <= NEAR_MISS);
        }
        if self.last_read.len() > NEAR_MISS_RECORDS {
            // Bounded: forget the records read longest ago.
            let mut by_age: Vec<((&'static str, String), Duration)> = self.last_read.iter().map(|(k, (_, at))| (k.clone(), *at)).collect();
            by_age.sort_by_key(|(_, at)| *at);
            for (key, _) in by_age.into_iter().take(NEAR_MISS_RECORDS / 2) {
                self.last_read.remove(&key);
            }
        }
        near
    }
}

/// A store call as a fault site sees it.
pub(crate) struct Call<'a> {
    pub node: Option<&'a Arc<str>>,
    pub store: &'static str,
    pub wrote: bool,
    /// What it read (keys found, tables scanned).
    pub read: &'a [String],
}

/// The run's sites; shared by every store handle. Disarmed unless a swarm or stretch
/// run arms it.
#[derive(Default)]
pub struct Buggify {
    armed: Mutex<Option<Armed>>,
}

impl Buggify {
    pub(crate) fn arm(&self, nodes: BTreeSet<Arc<str>>, crashes: Option<SiteBudget>, pauses: Option<SiteBudget>, requests: SiteRequest) {
        *self.armed.lock().unwrap() = Some(Armed { nodes, crashes, pauses, requests, last_read: BTreeMap::new() });
    }

    pub(crate) fn disarm(&self) {
        *self.armed.lock().unwrap() = None;
    }

    /// Called after a store call, which wrote or only read: `Some` when the instance
    /// dies (after a write) or is paused (after a near-miss read) here. The caller awaits
    /// the answer: when the nemesis crashed the instance, the caller is dropped with it
    /// before the answer comes; when it paused it, the answer comes at once and the
    /// caller runs again at the resume; when it did neither (the quiet phase had begun),
    /// the caller goes on at once.
    pub(crate) fn after_call(&self, call: Call<'_>, choices: &Choices) -> Option<futures::channel::oneshot::Receiver<bool>> {
        let mut armed = self.armed.lock().unwrap();
        let a = armed.as_mut()?;
        let node = call.node.filter(|n| a.nodes.contains(*n))?;
        let (kind, what) = match call.wrote {
            true => (SiteFault::CrashAfterWrite, "crash after write"),
            false if a.pauses?.near_miss && !a.near_miss(call.store, call.read, super::cause::current(), super::now()) => return None,
            false => (SiteFault::PauseAfterRead, "pause after read"),
        };
        let budget = match kind {
            SiteFault::CrashAfterWrite => a.crashes.as_mut()?,
            SiteFault::PauseAfterRead => a.pauses.as_mut()?,
        };
        if budget.left == 0 || !choices.chance(Site::Buggify, super::choices::key(&(what, node)), budget.p) {
            return None;
        }
        budget.left -= 1;
        let (answer, answered) = futures::channel::oneshot::channel();
        a.requests.unbounded_send((kind, node.clone(), answer)).ok()?;
        Some(answered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn armed() -> Armed {
        let (requests, _) = futures::channel::mpsc::unbounded();
        let pauses = Some(SiteBudget { p: 1.0, left: 1, near_miss: true });
        Armed { nodes: BTreeSet::new(), crashes: None, pauses, requests, last_read: BTreeMap::new() }
    }

    #[test]
    fn a_near_miss_is_a_record_another_handler_read_within_the_window() {
        let mut a = armed();
        let (t, ms) = (|k: &str| vec![k.to_string()], Duration::from_millis);
        assert!(!a.near_miss("tickets", &t("T1"), 1, ms(0)), "the first read of a record");
        assert!(!a.near_miss("tickets", &t("T1"), 1, ms(10)), "the same handler again");
        assert!(a.near_miss("tickets", &t("T1"), 2, ms(20)), "another handler, 10 ms later");
        assert!(!a.near_miss("orders", &t("T1"), 3, ms(30)), "another store's record of the same name");
        assert!(!a.near_miss("tickets", &t("T1"), 4, ms(20) + NEAR_MISS + ms(1)), "too late");
    }

    #[test]
    fn the_records_remembered_are_bounded() {
        let mut a = armed();
        for i in 0..(NEAR_MISS_RECORDS as u64 * 3) {
            a.near_miss("tickets", &[format!("T{i}")], i, Duration::from_millis(i));
        }
        assert!(a.last_read.len() <= NEAR_MISS_RECORDS + 1);
        assert!(a.near_miss("tickets", &[format!("T{}", NEAR_MISS_RECORDS as u64 * 3 - 1)], 0, Duration::from_secs(13)), "the latest stay");
    }
}
