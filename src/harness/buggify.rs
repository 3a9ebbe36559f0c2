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
//!
//! The `hold` strategy puts the same pauses right before a store call of the run's
//! kinds (a store and a call name, enabled or not once per run, as BUGGIFY's sites are):
//! a run that has `payments charge` freezes payments between its read and its charge.

use super::choices::{Choices, Site};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Two reads of one record by different handlers this close are a near miss.
pub const NEAR_MISS: Duration = Duration::from_secs(1);
/// The most records whose last read a run remembers (older ones are forgotten first).
pub const NEAR_MISS_RECORDS: usize = 4096;

/// Which store calls are fault sites.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SiteCalls {
    /// Every call of the fault's kind (crashes: after a write; pauses: after a read).
    Every,
    /// Pauses: only after a read of a record another handler read just before.
    NearMiss,
    /// Pauses: right before a call of one of the run's kinds (a store and a call name,
    /// as the handler names it: `tickets lock`). A kind is the run's when a hash of it
    /// and `salt` is 0 modulo `one_in` (BUGGIFY's sites, enabled or not once per run),
    /// so the harness need not know the app's calls in advance.
    Kinds { one_in: u64, salt: u64 },
}

impl SiteCalls {
    /// Whether a call of `store` named `call` is one of the run's kinds.
    pub fn chosen(self, store: &str, call: &str) -> bool {
        match self {
            SiteCalls::Kinds { one_in, salt } => {
                super::choices::mix(super::choices::key(&(store, call)), salt).is_multiple_of(one_in.max(1))
            }
            _ => false,
        }
    }
}

/// What a fault site does to its instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SiteFault {
    /// Swarm's: the instance dies right after a store write.
    CrashAfterWrite,
    /// Stretch's: the instance is paused right after a store call that only read, the
    /// window between a handler's read and the write that depends on it.
    PauseAfterRead,
    /// Hold's: the instance is paused right before a store call of one of the run's
    /// kinds (named): before a handler's write, the same window, at a kind of call.
    PauseBeforeCall(&'static str),
}

/// A fault a site asked for: the kind and the instance (by name), to be carried out by
/// the nemesis, which answers whether it did (not once the quiet phase has begun).
pub type SiteRequest = futures::channel::mpsc::UnboundedSender<(SiteFault, Arc<str>, futures::channel::oneshot::Sender<bool>)>;

/// One kind of site's chance per call and the faults it has left (the scenario's bound).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SiteBudget {
    pub p: f64,
    pub left: u32,
    /// Which calls are sites.
    pub calls: SiteCalls,
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
    /// Asks the nemesis for `kind` at this site with its budget's chance (keyed by `key`),
    /// counting it against the budget.
    fn strike(
        &mut self,
        kind: SiteFault,
        node: Arc<str>,
        key: u64,
        choices: &Choices,
    ) -> Option<futures::channel::oneshot::Receiver<bool>> {
        let budget = match kind {
            SiteFault::CrashAfterWrite => self.crashes.as_mut()?,
            SiteFault::PauseAfterRead | SiteFault::PauseBeforeCall(_) => self.pauses.as_mut()?,
        };
        if budget.left == 0 || !choices.chance(Site::Buggify, key, budget.p) {
            return None;
        }
        budget.left -= 1;
        let (answer, answered) = futures::channel::oneshot::channel();
        self.requests.unbounded_send((kind, node, answer)).ok()?;
        Some(answered)
    }

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
            false => match a.pauses?.calls {
                SiteCalls::Kinds { .. } => return None,
                SiteCalls::NearMiss if !a.near_miss(call.store, call.read, super::cause::current(), super::now()) => return None,
                _ => (SiteFault::PauseAfterRead, "pause after read"),
            },
        };
        a.strike(kind, node.clone(), super::choices::key(&(what, node)), choices)
    }

    /// Called before a store call named `call` (hold: the run's sites are call kinds):
    /// `Some` when the instance is paused here; the caller awaits the answer and makes
    /// the call at the resume.
    pub(crate) fn before_call(
        &self,
        node: Option<&Arc<str>>,
        store: &'static str,
        call: &'static str,
        choices: &Choices,
    ) -> Option<futures::channel::oneshot::Receiver<bool>> {
        let mut armed = self.armed.lock().unwrap();
        let a = armed.as_mut()?;
        let node = node.filter(|n| a.nodes.contains(*n))?;
        if !a.pauses?.calls.chosen(store, call) {
            return None;
        }
        a.strike(SiteFault::PauseBeforeCall(call), node.clone(), super::choices::key(&("pause before", store, call, node)), choices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn armed() -> Armed {
        let (requests, _) = futures::channel::mpsc::unbounded();
        let pauses = Some(SiteBudget { p: 1.0, left: 1, calls: SiteCalls::NearMiss });
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
    fn a_pause_before_a_call_strikes_only_at_the_runs_kinds_within_its_budget() {
        let (requests, mut asked) = futures::channel::mpsc::unbounded();
        let calls = SiteCalls::Kinds { one_in: 3, salt: 5 };
        let node: Arc<str> = Arc::from("tickets-1");
        let buggify = Buggify::default();
        let pauses = Some(SiteBudget { p: 1.0, left: 1, calls });
        buggify.arm(BTreeSet::from([node.clone()]), None, pauses, requests);
        let choices = Choices::new(1);
        let names = ["read", "lock", "edit", "create", "cancel", "expire", "charge", "refund"];
        let (on, off): (Vec<&str>, Vec<&str>) = names.iter().partition(|c| calls.chosen("tickets", c));
        assert!(!on.is_empty() && !off.is_empty(), "the test needs both: {on:?} {off:?}");
        for call in &off {
            assert!(buggify.before_call(Some(&node), "tickets", call, &choices).is_none(), "{call} is not a kind of the run");
        }
        let other: Arc<str> = Arc::from("orders-1");
        assert!(buggify.before_call(Some(&other), "tickets", on[0], &choices).is_none(), "not an instance that may pause");
        assert!(buggify.before_call(Some(&node), "tickets", on[0], &choices).is_some());
        let (kind, name, _) = asked.try_recv().unwrap();
        assert_eq!((kind, &*name), (SiteFault::PauseBeforeCall(on[0]), "tickets-1"));
        assert!(buggify.before_call(Some(&node), "tickets", on[0], &choices).is_none(), "the budget is spent");
        let read = Call { node: Some(&node), store: "tickets", wrote: false, read: &[] };
        assert!(buggify.after_call(read, &choices).is_none(), "no pause after a read when the sites are kinds");
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
