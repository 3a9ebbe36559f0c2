//! Fault sites in the harness's own boundaries, as FoundationDB's BUGGIFY puts them in
//! code: under the `swarm` strategy a run may move its crash budget from random times
//! to a site, "right after a store write", enabled for some instances. The instance
//! then dies between writing and whatever it meant to do next (publish the event, ack
//! the message), the window a lost-event bug needs, which a crash at a random time hits
//! only by luck. Armed for the fault phase only; every crash counts against the
//! scenario's crash bound.

use super::choices::{Choices, Site};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// A crash a site asked for: the instance (by name), to be carried out by the nemesis,
/// which answers whether it did (not once the quiet phase has begun).
pub type CrashRequest = futures::channel::mpsc::UnboundedSender<(Arc<str>, futures::channel::oneshot::Sender<bool>)>;

struct Armed {
    /// Instances whose writes are a site.
    nodes: BTreeSet<Arc<str>>,
    /// Chance that a write at a site crashes its instance.
    p: f64,
    /// Crashes left (the scenario's crash bound).
    left: u32,
    requests: CrashRequest,
}

/// The run's sites; shared by every store handle. Disarmed unless a swarm run arms it.
#[derive(Default)]
pub struct Buggify {
    armed: Mutex<Option<Armed>>,
}

impl Buggify {
    pub(crate) fn arm(&self, nodes: BTreeSet<Arc<str>>, p: f64, left: u32, requests: CrashRequest) {
        *self.armed.lock().unwrap() = Some(Armed { nodes, p, left, requests });
    }

    pub(crate) fn disarm(&self) {
        *self.armed.lock().unwrap() = None;
    }

    /// Called after a store call on `node` wrote: `Some` when the instance dies here.
    /// The caller awaits the answer: when the nemesis crashed the instance, the caller
    /// is dropped with it before the answer comes; when it did not (the quiet phase had
    /// begun), the caller goes on as if nothing happened.
    pub(crate) fn crash_after_write(
        &self,
        node: Option<&Arc<str>>,
        choices: &Choices,
    ) -> Option<futures::channel::oneshot::Receiver<bool>> {
        let mut armed = self.armed.lock().unwrap();
        let a = armed.as_mut()?;
        let node = node.filter(|n| a.nodes.contains(*n))?;
        if a.left == 0 || !choices.chance(Site::Buggify, super::choices::key(&("crash after write", node)), a.p) {
            return None;
        }
        a.left -= 1;
        let (answer, answered) = futures::channel::oneshot::channel();
        a.requests.unbounded_send((node.clone(), answer)).ok()?;
        Some(answered)
    }
}
