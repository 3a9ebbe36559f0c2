//! Schedules as choices: the mode in which a run's delays are reduced to orderings, for
//! exhaustive exploration ([`super::exhaustive`]). Every message in flight and every
//! store call waits at the gate instead of sleeping its drawn delay or latency; a
//! controller lets one of them through at a time, once everything else that can run
//! has run (a step takes madsim's shortest sleep, 1.01 ms), and a [`Walk`] says which: a forced prefix,
//! then the first option that is not asleep. With a fault budget left, an option may
//! also drop or duplicate a message in flight, or crash (and at once restart) a node.
//! Timers (retries, ack waits, expirations) fire at their times as in any run; they
//! are not reordered against the steps. The controller runs in [`super::run`], which
//! knows the world; this file knows only the gate and the walk.

use super::choices::{key, mix};
use super::NodeId;
use futures::channel::oneshot;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

/// The virtual time one step takes: everything a release makes runnable runs first
/// (madsim makes every sleep last at least this; see [`super::MIN_SLEEP`]).
pub const STEP: Duration = super::MIN_SLEEP;
/// The most steps one run may take before it stops (a run that keeps the gate busy).
/// The search's happens-before relation is quadratic in a run's steps: 5,000 keeps it
/// within 25 MB (the shipped scenarios take at most a few hundred).
pub const MAX_STEPS: usize = 5_000;

/// The most state fingerprints one fault level keeps (about 100 bytes each): memory stays
/// bounded whatever the run budget. Past it no new state is kept; the search goes on
/// (pruning on fewer states is still sound) and reports the count as a lower bound.
pub const MAX_STATES: usize = 4_000_000;

/// What may happen at a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Opt {
    /// Let a waiting message be delivered, or a store call run.
    Release(u64),
    /// Drop a message in flight (a fault).
    Drop(u64),
    /// Deliver a message in flight and keep a copy in flight (a fault).
    Duplicate(u64),
    /// Crash a node and restart it at once (a fault): what it was doing is lost.
    Crash(NodeId),
}

impl Opt {
    pub fn is_fault(self) -> bool {
        !matches!(self, Opt::Release(_))
    }
}

/// Where a crash may fall: a bound of the search, stated in its report and kept in a
/// reproduction file (the options of each step depend on it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrashPoints {
    /// Before any step: any node may crash, whatever step comes next.
    #[default]
    EveryStep,
    /// Right after one of the node's own steps (a delivery to it, a store call it made):
    /// the node's program between two of its actions. Not after other nodes' steps in
    /// between (a message lost in flight to it is a drop, another fault).
    OwnSteps,
}

impl CrashPoints {
    pub fn name(self) -> &'static str {
        match self {
            CrashPoints::EveryStep => "every-step",
            CrashPoints::OwnSteps => "own-steps",
        }
    }

    pub fn parse(text: &str) -> Result<CrashPoints, String> {
        [CrashPoints::EveryStep, CrashPoints::OwnSteps]
            .into_iter()
            .find(|c| c.name() == text.trim())
            .ok_or_else(|| format!("{}: allowed every-step, own-steps", super::echo(text)))
    }

    pub fn is_every_step(&self) -> bool {
        *self == CrashPoints::EveryStep
    }
}

/// What a waiting message or call is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Go {
    Run,
    Drop,
    Duplicate,
}

/// An action's parent task's cause and its own task's cause (see [`Gate::pass`]).
pub type Link = (u64, u64);

/// Which state an action touches: a delivery, its receiving node's memory (all of it,
/// or the part its message names: see [`super::fabric::Describe::partition`]); a store
/// call, its store. 0 is "none".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Footprint {
    pub node: u64,
    /// 0: the whole node.
    pub part: u64,
    pub store: u64,
    /// The node whose step it is: a delivery's receiver, a store call's caller (0:
    /// unknown). Not a state it touches: where [`CrashPoints::OwnSteps`] lets it crash.
    pub owner: u64,
}

impl Footprint {
    pub fn node(node: u64) -> Footprint {
        Footprint { node, part: 0, store: 0, owner: node }
    }
    pub fn part(node: u64, part: Option<u64>) -> Footprint {
        Footprint { part: part.map_or(0, |p| p | 1), ..Footprint::node(node) }
    }
    /// A call on `store` made by a task of node `owner` (0: unknown).
    pub fn store(store: u64, owner: u64) -> Footprint {
        Footprint { node: 0, part: 0, store, owner }
    }
    /// A call on a store (and on no node's memory).
    pub fn is_store_call(self) -> bool {
        self.node == 0 && self.store != 0
    }
    /// The states it touches, as keys (for the fingerprints).
    fn states(self) -> impl Iterator<Item = u64> {
        [if self.node == 0 { 0 } else { mix(self.node, self.part) }, self.store].into_iter().filter(|s| *s != 0)
    }
}

/// Two actions commute when they touch no common state: not the same store, and not
/// the same node unless each names a part of it and the parts differ.
pub fn independent(a: Footprint, b: Footprint) -> bool {
    let same_node = a.node != 0 && a.node == b.node && (a.part == 0 || b.part == 0 || a.part == b.part);
    let same_store = a.store != 0 && a.store == b.store;
    !(same_node || same_store)
}

/// Whether two steps are dependent: touching common state, where two calls on one store
/// are dependent only if what they did (their [`Call`]s, when both are known) conflicts.
pub(crate) fn dependent((fa, call_a): (Footprint, Option<&Call>), (fb, call_b): (Footprint, Option<&Call>)) -> bool {
    !independent(fa, fb)
        && match (fa.is_store_call() && fb.is_store_call(), call_a, call_b) {
            (true, Some(a), Some(b)) => a.conflicts(b),
            _ => true,
        }
}

/// Whether two options commute: taken in either order they leave the same state, and
/// neither takes the other away. A drop changes no node's or store's state, only what
/// waits: it commutes with every option on another message (so a message is dropped at
/// one place in each order of the rest, not at every step it waits). A duplicate is a
/// release that leaves a copy waiting: as a release. A crash commutes with nothing (its
/// restart reconnects at once, and it takes away what its node's tasks wait for).
pub fn commute((a, fa): (Opt, Footprint), (b, fb): (Opt, Footprint)) -> bool {
    let on = |o: Opt| match o {
        Opt::Release(id) | Opt::Drop(id) | Opt::Duplicate(id) => Some(id),
        Opt::Crash(_) => None,
    };
    match (a, b) {
        (Opt::Crash(_), _) | (_, Opt::Crash(_)) => false,
        (Opt::Drop(_), _) | (_, Opt::Drop(_)) => on(a) != on(b),
        _ => independent(fa, fb),
    }
}

struct Waiting {
    arrival: u64,
    footprint: Footprint,
    /// The cause of the task that made it wait (the sender's, the caller's) and the
    /// cause its own task runs under: how the search tells what happened before what.
    link: Link,
    /// A message on a link that may fail (not a store call, not a reliable node's link).
    faulty: bool,
    go: oneshot::Sender<Go>,
}

#[derive(Default)]
struct GateState {
    waiting: BTreeMap<u64, Waiting>,
    arrivals: u64,
    occurrences: std::collections::HashMap<u64, u32>,
    controller: Option<Waker>,
    halted: bool,
    halt_waker: Option<Waker>,
}

/// Where messages and store calls wait for their turn; cheap to clone.
#[derive(Clone, Default)]
pub struct Gate {
    state: Arc<Mutex<GateState>>,
    /// The run's walk, told what each store call did (see [`Gate::called`]).
    walk: Option<Arc<Mutex<Walk>>>,
}

impl Gate {
    /// Waits for this action's turn. `base` names it stably (its cause and what it is);
    /// the n-th action with the same base in a run gets the n-th id.
    /// `link`: the cause of the task that made this action (a message's sender, a store
    /// call's handler) and the cause the action's own task runs under.
    pub fn new(walk: Arc<Mutex<Walk>>) -> Gate {
        Gate { state: Arc::default(), walk: Some(walk) }
    }

    /// A released store call says whether it wrote and, if its store knows, which
    /// records it touched: two calls that only read, or touch no common record, commute.
    pub fn called(&self, id: u64, wrote: bool, access: Option<Access>) {
        if let Some(walk) = &self.walk {
            walk.lock().unwrap().calls.insert(id, Call { wrote, access });
        }
    }

    /// Returns what the action was told, and its id.
    pub async fn pass(&self, base: u64, footprint: Footprint, faulty: bool, link: Link) -> (Go, u64) {
        let receiver = {
            let mut state = self.state.lock().unwrap();
            let n = state.occurrences.entry(base).or_insert(0);
            *n += 1;
            let id = mix(base, *n as u64);
            let (go, receiver) = oneshot::channel();
            state.arrivals += 1;
            let arrival = state.arrivals;
            state.waiting.insert(id, Waiting { arrival, footprint, link, faulty, go });
            if let Some(waker) = state.controller.take() {
                waker.wake();
            }
            (receiver, id)
        };
        let (receiver, id) = receiver;
        match receiver.await {
            Ok(go) => (go, id),
            // The gate went with the run: wait until the task is dropped too.
            Err(_) => futures::future::pending().await,
        }
    }

    /// Resolves when something waits.
    pub(crate) fn something_waits(&self) -> impl std::future::Future<Output = ()> + '_ {
        futures::future::poll_fn(move |cx| {
            let mut state = self.state.lock().unwrap();
            if state.waiting.values().any(|w| !w.go.is_canceled()) {
                Poll::Ready(())
            } else {
                state.controller = Some(cx.waker().clone());
                Poll::Pending
            }
        })
    }

    /// Resolves once the walk has stopped the run.
    pub fn halted(&self) -> impl std::future::Future<Output = ()> + '_ {
        futures::future::poll_fn(move |cx| {
            let mut state = self.state.lock().unwrap();
            if state.halted {
                Poll::Ready(())
            } else {
                state.halt_waker = Some(cx.waker().clone());
                Poll::Pending
            }
        })
    }

    pub(crate) fn halt(&self) {
        let mut state = self.state.lock().unwrap();
        state.halted = true;
        if let Some(waker) = state.halt_waker.take() {
            waker.wake();
        }
    }

    /// What waits now (actions whose task was lost to a crash are forgotten), oldest first.
    pub(crate) fn waiting(&self) -> Vec<(u64, Footprint, bool, Link)> {
        let mut state = self.state.lock().unwrap();
        state.waiting.retain(|_, w| !w.go.is_canceled());
        let mut waiting: Vec<_> = state.waiting.iter().map(|(id, w)| (w.arrival, (*id, w.footprint, w.faulty, w.link))).collect();
        waiting.sort_by_key(|(arrival, _)| *arrival);
        waiting.into_iter().map(|(_, action)| action).collect()
    }

    pub(crate) fn answer(&self, id: u64, go: Go) {
        if let Some(waiting) = self.state.lock().unwrap().waiting.remove(&id) {
            let _ = waiting.go.send(go);
        }
    }
}

/// One step of a run: what could happen, what did, and what was asleep.
#[derive(Clone, Debug)]
pub struct Step {
    /// Every option, in the order the walk tries them: releases oldest first, then faults.
    pub options: Vec<(Opt, Footprint)>,
    /// The option taken (None: every option was asleep or the state was explored
    /// already, and the run stopped here).
    pub chosen: Option<usize>,
    /// The options asleep at this step (their schedules are explored elsewhere).
    pub sleep: Vec<Opt>,
    /// Faults taken before this step.
    pub faults: u32,
    /// Each waiting action's link, by id (see [`Gate::pass`]).
    pub links: BTreeMap<u64, Link>,
}

/// Why a run stopped before its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// Every option here is asleep: this schedule is equivalent to one explored.
    Asleep,
    /// This state was reached before with no more asleep: explored from there.
    Visited,
    /// The forced prefix asked an option the run does not have: not deterministic.
    Diverged,
    /// [`MAX_STEPS`] reached.
    TooLong,
}

/// The records a store call read and wrote, as keys: `(part, record)`, a part being a
/// table or a counter of the store; a scan reads a whole part.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Access {
    pub reads: BTreeSet<(u64, u64)>,
    pub scans: BTreeSet<u64>,
    pub writes: BTreeSet<(u64, u64)>,
}

impl Access {
    /// Whether two calls on one store conflict: one wrote what the other read, scanned
    /// or wrote.
    pub fn conflicts(&self, other: &Access) -> bool {
        let wrote_what_read =
            |a: &Access, b: &Access| a.writes.iter().any(|w| b.reads.contains(w) || b.writes.contains(w) || b.scans.contains(&w.0));
        wrote_what_read(self, other) || wrote_what_read(other, self)
    }
}

/// What a released store call did.
#[derive(Clone, Debug, Default)]
pub struct Call {
    pub wrote: bool,
    /// The records it touched, if its store knows.
    pub access: Option<Access>,
}

impl Call {
    /// Whether two calls on one store conflict: record by record where both stores
    /// know, else unless both only read.
    pub fn conflicts(&self, other: &Call) -> bool {
        match (&self.access, &other.access) {
            (Some(a), Some(b)) => a.conflicts(b),
            _ => self.wrote || other.wrote,
        }
    }
}

/// The states visited, with the sleep set each was explored with (shared by the runs
/// of one exploration).
pub type Visited = Arc<Mutex<BTreeMap<u64, BTreeSet<Opt>>>>;

/// The decisions of one run in schedule mode.
#[derive(Debug, Default)]
pub struct Walk {
    pub max_faults: u32,
    /// The option index of each step of the prefix.
    pub forced: Vec<usize>,
    /// The sleep set at the prefix's last step, before it is taken (what commutes with
    /// that step stays asleep after it); with no prefix, at the first step.
    pub sleep: BTreeSet<Opt>,
    /// What the store calls asleep did where the search ran them (see [`still_asleep`]).
    pub sleep_calls: BTreeMap<Opt, Call>,
    /// A store call taken whose effect on the sleep set waits for what it did: its
    /// option, footprint and step.
    pub(crate) pending: Option<(Opt, Footprint, usize)>,
    /// Sleep sets on (off: every schedule, equivalent ones too).
    pub reduce: bool,
    /// State fingerprints, counted; with `prune`, a state explored with a smaller sleep
    /// set is not explored again.
    pub visited: Option<Visited>,
    pub prune: bool,
    /// How many fingerprints `visited` may hold ([`MAX_STATES`]).
    pub max_states: usize,
    /// Where a crash may fall.
    pub crash_points: CrashPoints,
    /// The node whose step the last step was (its footprint's owner).
    pub(crate) last_owner: u64,
    /// What happened, step by step.
    pub steps: Vec<Step>,
    pub cut: Option<Cut>,
    pub(crate) faults: u32,
    /// Per state (a node's, a store's): a hash of the actions that touched it, in order.
    pub(crate) touched: BTreeMap<u64, u64>,
    /// Per store call released: what it did (a call not told is taken to have written
    /// the whole store).
    pub calls: BTreeMap<u64, Call>,
}

impl Walk {
    pub fn new(max_faults: u32, forced: Vec<usize>, sleep: BTreeSet<Opt>) -> Walk {
        Walk { max_faults, forced, sleep, reduce: true, max_states: MAX_STATES, ..Default::default() }
    }

    /// The state here: what touched each node and store, in order, what waits, the
    /// faults taken and the time (equivalent schedules of the same length meet here).
    fn fingerprint(&self, options: &[(Opt, Footprint)], now: Duration) -> u64 {
        let mut h = mix(self.faults as u64, now.as_nanos() as u64);
        for (state, hash) in &self.touched {
            h = mix(h, mix(*state, *hash));
        }
        for (opt, _) in options.iter().filter(|(o, _)| matches!(o, Opt::Release(_))) {
            h = mix(h, key(opt));
        }
        h
    }

    /// Chooses this step's option among `options`; None stops the run (see [`Cut`]).
    pub(crate) fn choose(&mut self, options: Vec<(Opt, Footprint)>, links: BTreeMap<u64, Link>, now: Duration) -> Option<Opt> {
        self.settle();
        let n = self.steps.len();
        if n >= MAX_STEPS {
            self.cut = Some(Cut::TooLong);
            return None;
        }
        let chosen = if let Some(&index) = self.forced.get(n) {
            if index >= options.len() {
                self.cut = Some(Cut::Diverged);
                return None;
            }
            Some(index)
        } else {
            self.free_choice(&options, now)
        };
        let sleep = if n < self.forced.len() { Vec::new() } else { self.sleep.iter().copied().collect() };
        self.steps.push(Step { options: options.clone(), chosen, sleep, faults: self.faults, links });
        let (opt, footprint) = options[chosen?];
        self.took(opt, footprint, n + 1 >= self.forced.len());
        Some(opt)
    }

    /// Past the prefix: the first release not asleep, unless this state was explored.
    fn free_choice(&mut self, options: &[(Opt, Footprint)], now: Duration) -> Option<usize> {
        self.sleep.retain(|z| options.iter().any(|(o, _)| o == z));
        if let Some(visited) = &self.visited {
            let state = self.fingerprint(options, now);
            let mut visited = visited.lock().unwrap();
            let room = visited.len() < self.max_states;
            match visited.get_mut(&state) {
                Some(before) if self.prune && before.is_subset(&self.sleep) => {
                    self.cut = Some(Cut::Visited);
                    return None;
                }
                Some(before) => *before = before.intersection(&self.sleep).copied().collect(),
                None if room => {
                    visited.insert(state, self.sleep.clone());
                }
                None => {}
            }
        }
        let free = options.iter().position(|(o, _)| !o.is_fault() && !self.sleep.contains(o));
        if free.is_none() {
            self.cut = Some(Cut::Asleep);
        }
        free
    }

    /// Whether the node named `node` (its key) may crash before the next step.
    pub(crate) fn may_crash(&self, node: u64) -> bool {
        match self.crash_points {
            CrashPoints::EveryStep => true,
            CrashPoints::OwnSteps => node == self.last_owner,
        }
    }

    /// Records what the chosen option touched, and (at the prefix's last step and past
    /// it) what stays asleep after it: at once, or for a store call once it has said
    /// what it did.
    fn took(&mut self, opt: Opt, footprint: Footprint, update: bool) {
        self.last_owner = footprint.owner;
        for state in footprint.states() {
            let hash = self.touched.entry(state).or_insert(0);
            *hash = mix(*hash, key(&opt));
        }
        if opt.is_fault() {
            self.faults += 1;
        }
        if update {
            if !self.reduce {
                self.sleep.clear();
            } else {
                self.pending = Some((opt, footprint, self.steps.len() - 1));
                if !footprint.is_store_call() {
                    self.settle();
                }
            }
        }
    }

    /// Applies the last step taken to the sleep set, with what it did if it was a store
    /// call (a call that never said is taken to conflict with every call on its store).
    fn settle(&mut self) {
        let Some((opt, footprint, step)) = self.pending.take() else { return };
        let own = match opt {
            Opt::Release(id) => self.calls.get(&id),
            _ => None,
        };
        self.sleep = still_asleep(&self.sleep, &self.steps[step].options, (opt, footprint, own), &self.sleep_calls);
    }
}

/// What stays asleep once `taken` is taken: of `asleep`, the options of this step that
/// commute with it (the walk's step past a prefix). Two calls on one store commute when
/// what each did (the one taken: as it ran; those asleep, in `calls`: where they were
/// put to sleep, nothing between having touched what they read or wrote) shows no
/// conflict, record by record.
pub(crate) fn still_asleep<'a>(
    asleep: impl IntoIterator<Item = &'a Opt>,
    options: &[(Opt, Footprint)],
    (taken, footprint, call): (Opt, Footprint, Option<&Call>),
    calls: &BTreeMap<Opt, Call>,
) -> BTreeSet<Opt> {
    let calls_commute =
        |z: Opt, f: Footprint| f.is_store_call() && footprint.is_store_call() && !dependent((f, calls.get(&z)), (footprint, call));
    let commutes = |z: Opt| {
        z != taken
            && options.iter().find(|(o, _)| *o == z).is_some_and(|(_, f)| commute((z, *f), (taken, footprint)) || calls_commute(z, *f))
    };
    asleep.into_iter().copied().filter(|z| commutes(*z)).collect()
}

/// The options of a step: every waiting action's release (oldest first), then, with a
/// fault budget left, each droppable message's drop and duplicate and each crash.
pub(crate) fn options(waiting: &[(u64, Footprint, bool, Link)], crashable: &[(NodeId, u64)], faults_left: bool) -> Vec<(Opt, Footprint)> {
    let mut options: Vec<(Opt, Footprint)> = waiting.iter().map(|(id, f, _, _)| (Opt::Release(*id), *f)).collect();
    if faults_left {
        let faulty: Vec<_> = waiting.iter().filter(|(_, _, faulty, _)| *faulty).collect();
        options.extend(faulty.iter().map(|(id, f, _, _)| (Opt::Drop(*id), *f)));
        options.extend(faulty.iter().map(|(id, f, _, _)| (Opt::Duplicate(*id), *f)));
        options.extend(crashable.iter().map(|(node, state)| (Opt::Crash(*node), Footprint::node(*state))));
    }
    options
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_on_different_states_commute_and_on_a_common_one_do_not() {
        let (n1, n2, store) = (1, 2, 9);
        let node = Footprint::node;
        assert!(independent(node(n1), node(n2)), "messages to two nodes");
        assert!(!independent(node(n1), node(n1)), "two messages to one node");
        assert!(!independent(Footprint::store(store, 0), Footprint::store(store, 0)), "two calls on one store");
        assert!(independent(Footprint::store(store, 0), node(n1)));
        let (a, b) = (Footprint::part(n1, Some(10)), Footprint::part(n1, Some(12)));
        assert!(independent(a, b), "two parts of one node");
        assert!(!independent(a, a), "one part of one node");
        assert!(!independent(a, node(n1)), "a part and the whole node");
    }

    #[test]
    fn a_drop_commutes_with_every_option_on_another_message_and_a_crash_with_none() {
        let (a, b) = (Footprint::node(7), Footprint::node(8));
        assert!(commute((Opt::Drop(1), a), (Opt::Release(2), a)), "a drop changes no node: even on the same node");
        assert!(commute((Opt::Drop(1), a), (Opt::Duplicate(2), a)));
        assert!(!commute((Opt::Drop(1), a), (Opt::Release(1), a)), "a message is dropped or released, not both");
        assert!(!commute((Opt::Duplicate(1), a), (Opt::Release(2), a)), "a duplicate is a release");
        assert!(commute((Opt::Duplicate(1), a), (Opt::Release(2), b)));
        assert!(!commute((Opt::Crash(NodeId::from_slot(0)), b), (Opt::Release(2), a)), "a crash commutes with nothing");
    }

    #[test]
    fn past_the_prefix_the_walk_takes_the_first_release_awake_and_faults_only_when_forced() {
        let opts = |ids: &[u64]| {
            ids.iter().map(|i| (Opt::Release(*i), Footprint::node(*i))).chain([(Opt::Drop(1), Footprint::node(1))]).collect::<Vec<_>>()
        };
        let mut walk = Walk::new(1, vec![], [Opt::Release(1)].into());
        assert_eq!(walk.choose(opts(&[1, 2]), BTreeMap::new(), Duration::ZERO), Some(Opt::Release(2)), "1 asleep");
        assert_eq!(walk.sleep, [Opt::Release(1)].into(), "2 touched another node: 1 sleeps on");
        assert_eq!(walk.choose(opts(&[1, 3]), BTreeMap::new(), Duration::ZERO), Some(Opt::Release(3)));
        let mut blocked = Walk::new(1, vec![], [Opt::Release(1)].into());
        assert_eq!(
            blocked.choose(opts(&[1]), BTreeMap::new(), Duration::ZERO),
            None,
            "only 1, asleep, and a fault the walk never takes by itself"
        );
        assert_eq!(blocked.cut, Some(Cut::Asleep));
        let mut forced = Walk::new(1, vec![1], BTreeSet::new());
        assert_eq!(forced.choose(opts(&[1]), BTreeMap::new(), Duration::ZERO), Some(Opt::Drop(1)));
        assert_eq!(forced.faults, 1);
        let mut diverged = Walk::new(1, vec![5], BTreeSet::new());
        assert_eq!(diverged.choose(opts(&[1]), BTreeMap::new(), Duration::ZERO), None);
        assert_eq!(diverged.cut, Some(Cut::Diverged));
    }

    #[test]
    fn past_the_limit_no_new_state_is_kept_and_the_walk_goes_on() {
        let visited: Visited = Arc::default();
        let mut walk = Walk { visited: Some(visited.clone()), prune: true, max_states: 2, ..Walk::new(0, vec![], BTreeSet::new()) };
        for step in 0..4u64 {
            let options = vec![(Opt::Release(step), Footprint::node(7))];
            assert_eq!(walk.choose(options, BTreeMap::new(), Duration::from_millis(step)), Some(Opt::Release(step)));
        }
        assert_eq!(visited.lock().unwrap().len(), 2, "two kept, the other two states not");
        assert_eq!(walk.cut, None);
    }

    #[test]
    fn a_store_call_keeps_asleep_a_call_on_other_records_of_its_store_once_it_has_said_what_it_did() {
        let store = Footprint::store(9, 0);
        let writes = |record: u64| Call { wrote: true, access: Some(Access { writes: [(1, record)].into(), ..Default::default() }) };
        let options = || vec![(Opt::Release(1), store), (Opt::Release(2), store), (Opt::Release(3), Footprint::node(7))];
        for (takes, sleeps_on) in [(2, true), (1, false)] {
            // 1, asleep, wrote record 1 where it ran; 2 then writes record `takes`.
            let mut walk = Walk { sleep_calls: [(Opt::Release(1), writes(1))].into(), ..Walk::new(0, vec![], [Opt::Release(1)].into()) };
            assert_eq!(walk.choose(options(), BTreeMap::new(), Duration::ZERO), Some(Opt::Release(2)));
            assert_eq!(walk.sleep, [Opt::Release(1)].into(), "not settled before 2 has said what it did");
            walk.calls.insert(2, writes(takes));
            walk.choose(options(), BTreeMap::new(), Duration::ZERO);
            assert_eq!(walk.steps[1].sleep.contains(&Opt::Release(1)), sleeps_on, "2 wrote record {takes}");
        }
        // A call that never says what it did conflicts with every call on its store.
        let mut silent = Walk { sleep_calls: [(Opt::Release(1), writes(1))].into(), ..Walk::new(0, vec![], [Opt::Release(1)].into()) };
        silent.choose(options(), BTreeMap::new(), Duration::ZERO);
        silent.choose(options(), BTreeMap::new(), Duration::ZERO);
        assert!(silent.steps[1].sleep.is_empty());
    }

    #[test]
    fn a_release_that_touches_a_sleeping_option_s_state_wakes_it() {
        let mut walk = Walk::new(0, vec![], [Opt::Release(1)].into());
        let options = vec![(Opt::Release(1), Footprint::node(7)), (Opt::Release(2), Footprint::node(7))];
        assert_eq!(walk.choose(options, BTreeMap::new(), Duration::ZERO), Some(Opt::Release(2)));
        assert!(walk.sleep.is_empty(), "2 touched node 7, where 1 goes");
    }
}
