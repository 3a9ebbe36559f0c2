//! The world runtime: the madsim nodes of a run and their incarnations. A system
//! declares its nodes on a [`WorldBuilder`] (a name, a role, and how the node starts,
//! which runs again in every incarnation after a crash); the harness builds them,
//! attaches each incarnation's actor to the fabric, and kills, restarts, pauses and
//! resumes them when the nemesis says so.

use super::choices::Choices;
use super::fabric::{Actor, Fabric, NodeId};
use super::history::{History, Observation, Record};
use super::store::{Journal, Store};
use madsim::runtime::{Handle, NodeHandle};
use madsim::task::NodeId as SimNodeId;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// What faults a node can suffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeRole {
    /// A service instance: crashes (and restarts), pauses, partitions.
    Service,
    /// Shared infrastructure (a broker): restarts and partitions, never paused.
    Infrastructure,
    /// Where the users' requests come from: never faulted; `reliable` links are only
    /// ever delayed (never dropped, duplicated or cut).
    Users { reliable: bool },
}

/// A way for a system's infrastructure (a broker, a broker client) to report what it
/// observes into the history. Services' handlers are never given one.
pub struct Probe<O: Observation> {
    history: History<O>,
    node: Option<Arc<str>>,
}

impl<O: Observation> Clone for Probe<O> {
    fn clone(&self) -> Self {
        Probe { history: self.history.clone(), node: self.node.clone() }
    }
}

impl<O: Observation> Probe<O> {
    /// A probe reporting into `history` as happening on no node (a test's own).
    pub fn new(history: History<O>) -> Self {
        Probe { history, node: None }
    }

    /// The same probe, reporting as happening on `node`.
    pub fn on(&self, node: &Arc<str>) -> Self {
        Probe { history: self.history.clone(), node: Some(node.clone()) }
    }

    pub fn observe(&self, observation: O) {
        self.history.push_on(self.node.as_ref(), Record::Observed(observation));
    }
}

/// What a node's start function is given, in each incarnation.
pub struct NodeContext<M, O: Observation> {
    pub idx: NodeId,
    pub name: Arc<str>,
    /// 1 for the first start, 2 after the first restart, ...
    pub incarnation: u32,
    pub fabric: Fabric<M>,
    pub probe: Probe<O>,
}

type Start<M, O> = Arc<dyn Fn(&NodeContext<M, O>) -> Arc<dyn Actor<M>> + Send + Sync>;

struct Declared<M, O: Observation> {
    idx: NodeId,
    name: Arc<str>,
    role: NodeRole,
    start: Option<Start<M, O>>,
    users: Option<Arc<dyn Actor<M>>>,
}

/// Where a system declares its nodes and opens its stores (see `System::build`).
pub struct WorldBuilder<M, O: Observation> {
    fabric: Fabric<M>,
    choices: Choices,
    history: History<O>,
    planted: Option<u64>,
    pace: u32,
    pub(crate) buggify: Arc<super::buggify::Buggify>,
    nodes: Vec<Declared<M, O>>,
}

impl<M: Clone + Send + super::fabric::Describe + 'static, O: Observation> WorldBuilder<M, O> {
    pub(crate) fn new(fabric: Fabric<M>, choices: Choices, history: History<O>, planted: Option<u64>, pace: u32) -> Self {
        WorldBuilder { fabric, choices, history, planted, pace, nodes: Vec::new(), buggify: Arc::default() }
    }

    /// Declares a node; `start` runs on it in every incarnation and returns what receives
    /// its messages (it may spawn the node's background tasks).
    pub fn node(
        &mut self,
        name: &str,
        role: NodeRole,
        start: impl Fn(&NodeContext<M, O>) -> Arc<dyn Actor<M>> + Send + Sync + 'static,
    ) -> NodeId {
        assert!(!matches!(role, NodeRole::Users { .. }), "users are declared with WorldBuilder::users");
        let idx = self.fabric.add_node(name, false);
        self.nodes.push(Declared { idx, name: name.into(), role, start: Some(Arc::new(start)), users: None });
        idx
    }

    /// Declares the users' node; the workload runs there.
    pub fn users(&mut self, name: &str, reliable: bool, actor: impl FnOnce(NodeId) -> Arc<dyn Actor<M>>) -> NodeId {
        let idx = self.fabric.add_node(name, reliable);
        self.fabric.mark_users(idx);
        let actor = actor(idx);
        self.nodes.push(Declared { idx, name: name.into(), role: NodeRole::Users { reliable }, start: None, users: Some(actor) });
        idx
    }

    /// Opens a service's database: one state shared by every instance, outliving crashes.
    pub fn store<St: Journal<Doc = O::Doc>>(&self, name: &'static str, state: St, latency: (Duration, Duration)) -> Store<St> {
        let history = self.history.clone();
        Store {
            name,
            node: None,
            state: Arc::new(super::sync::Mutex::new(state)),
            choices: self.choices.clone(),
            latency,
            recorder: Arc::new(move |node, call, began, read, wrote| {
                history.push_on(node, Record::Store { store: name, call, began, read, wrote });
            }),
            planted: self.planted,
            buggify: self.buggify.clone(),
            gate: self.fabric.gate().cloned(),
        }
    }

    pub fn fabric(&self) -> Fabric<M> {
        self.fabric.clone()
    }

    pub fn choices(&self) -> Choices {
        self.choices.clone()
    }

    /// How many times faster than the scenario says the system's simulated users act in
    /// this run (1 for every strategy but rush, [`super::strategy::pace`]): a workload
    /// divides the longest pause between a user's requests by it (never below the
    /// shortest), so that the same requests crowd together. Scripted steps keep their times.
    pub fn pace(&self) -> u32 {
        self.pace
    }

    /// A probe for the system's infrastructure (see [`Probe`]).
    pub fn probe(&self) -> Probe<O> {
        Probe { history: self.history.clone(), node: None }
    }

    /// Builds the madsim nodes and starts their first incarnations.
    pub(crate) fn build(self) -> World<M, O> {
        let handle = Handle::current();
        let mut nodes = Vec::new();
        let mut users = None;
        for declared in self.nodes {
            match declared.start {
                Some(start) => {
                    let id: Arc<OnceLock<SimNodeId>> = Arc::default();
                    let shown = declared.name.clone();
                    let incarnation = Arc::new(AtomicU32::new(0));
                    let (fabric, probe, name, idx) = (
                        self.fabric.clone(),
                        Probe { history: self.history.clone(), node: Some(declared.name.clone()) },
                        declared.name,
                        declared.idx,
                    );
                    let node_id = id.clone();
                    // Nodes first start one after another, in declaration order, the
                    // k-th at k ticks of MIN_SLEEP: no tie at instant 0 decides whether a
                    // client's first message finds its broker up.
                    let boot_at = super::MIN_SLEEP * nodes.len() as u32;
                    let node = handle
                        .create_node()
                        .name(name.to_string())
                        .init(move || {
                            let ctx = NodeContext {
                                idx,
                                name: name.clone(),
                                incarnation: incarnation.fetch_add(1, Ordering::Relaxed) + 1,
                                fabric: fabric.clone(),
                                probe: probe.clone(),
                            };
                            let (start, id) = (start.clone(), node_id.clone());
                            // What a node does on its own (its start, its background
                            // loops) is keyed by its name and incarnation.
                            let cause = super::choices::key(&(&*ctx.name, ctx.incarnation));
                            super::cause::within(cause, async move {
                                if ctx.incarnation == 1 && boot_at > Duration::ZERO {
                                    super::sleep_until(boot_at).await;
                                }
                                let actor = start(&ctx);
                                let me = Handle::current().get_node(*id.get().expect("node id set at build")).expect("node exists");
                                ctx.fabric.attach(ctx.idx, me, actor);
                                std::future::pending::<()>().await;
                            })
                        })
                        .build();
                    id.set(node.id()).expect("set once");
                    super::panics::name_node(node.id(), &shown);
                    nodes.push(SimNode { idx: declared.idx, role: declared.role, id: node.id() });
                }
                None => {
                    let node = handle.create_node().name(declared.name.to_string()).build();
                    super::panics::name_node(node.id(), &declared.name);
                    self.fabric.attach(declared.idx, node.clone(), declared.users.expect("users declare their actor"));
                    users = Some(node);
                }
            }
        }
        LIVE.with(|live| live.set(live.get() + 1));
        World {
            handle,
            fabric: self.fabric,
            history: self.history,
            nodes,
            users: users.expect("a system declares its users node"),
            faults: Mutex::default(),
        }
    }
}

thread_local! {
    static LIVE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many worlds built on this thread are still alive: a finished run leaves none
/// (a task left waiting on a node no shutdown kills would keep its world, and memory
/// would grow with every run).
pub fn live_worlds() -> usize {
    LIVE.with(|live| live.get())
}

impl<M, O: Observation> Drop for World<M, O> {
    fn drop(&mut self) {
        LIVE.with(|live| live.set(live.get().saturating_sub(1)));
    }
}

/// A built node.
pub(crate) struct SimNode {
    pub idx: NodeId,
    pub role: NodeRole,
    pub id: SimNodeId,
}

/// Which nodes are down or paused, and whether the quiet phase has begun.
#[derive(Default)]
struct FaultState {
    quiet: bool,
    down: BTreeSet<NodeId>,
    paused: BTreeSet<NodeId>,
}

/// The running world: its nodes and what is done to them.
pub struct World<M, O: Observation> {
    handle: Handle,
    pub(crate) fabric: Fabric<M>,
    pub(crate) history: History<O>,
    pub(crate) nodes: Vec<SimNode>,
    pub(crate) users: NodeHandle,
    faults: Mutex<FaultState>,
}

impl<M: Clone + Send + super::fabric::Describe + 'static, O: Observation> World<M, O> {
    fn node_id(&self, idx: NodeId) -> SimNodeId {
        self.nodes.iter().find(|n| n.idx == idx).expect("a declared node").id
    }

    /// The nodes of a role, in declaration order.
    pub fn with_role(&self, role: impl Fn(NodeRole) -> bool) -> Vec<NodeId> {
        self.nodes.iter().filter(|n| role(n.role)).map(|n| n.idx).collect()
    }

    pub fn node_name(&self, idx: NodeId) -> String {
        self.fabric.node_name(idx)
    }

    pub(crate) fn record(&self, event: super::history::FaultEvent, text: String) {
        self.history.push(Record::Fault { event, text });
    }

    /// Waits until every node's first incarnation is attached to the fabric.
    pub(crate) async fn boot(&self) {
        // The last node starts at (nodes - 1) ticks (see `build`); the run goes on one after.
        super::sleep_until(super::MIN_SLEEP * self.nodes.len() as u32).await;
        while !self.nodes.iter().all(|n| self.fabric.is_up(n.idx)) {
            super::sleep(Duration::from_millis(1)).await;
        }
    }

    pub(crate) fn is_quiet(&self) -> bool {
        self.faults.lock().unwrap().quiet
    }

    /// Kills a node; false if it was already down or the quiet phase has begun.
    pub(crate) fn crash(&self, idx: NodeId) -> bool {
        {
            let mut faults = self.faults.lock().unwrap();
            if faults.quiet || !faults.down.insert(idx) {
                return false;
            }
            if faults.paused.remove(&idx) {
                self.handle.resume(self.node_id(idx));
            }
        }
        self.handle.kill(self.node_id(idx));
        self.fabric.detach(idx);
        self.record(super::history::FaultEvent::Crash, format!("crash {}", self.fabric.node_name(idx)));
        true
    }

    /// Starts a new incarnation of a node that is down; false if it was not down.
    pub(crate) fn restart(&self, idx: NodeId) -> bool {
        if !self.faults.lock().unwrap().down.remove(&idx) {
            return false;
        }
        self.handle.restart(self.node_id(idx));
        self.record(super::history::FaultEvent::Restart, format!("restart {}", self.fabric.node_name(idx)));
        true
    }

    /// Pauses a node that is up; false if it is down or paused, or the quiet phase began.
    pub(crate) fn pause(&self, idx: NodeId) -> bool {
        {
            let mut faults = self.faults.lock().unwrap();
            if faults.quiet || faults.down.contains(&idx) || !faults.paused.insert(idx) {
                return false;
            }
        }
        self.handle.pause(self.node_id(idx));
        self.fabric.set_paused(idx, true);
        true
    }

    pub(crate) fn resume(&self, idx: NodeId) {
        if !self.faults.lock().unwrap().paused.remove(&idx) {
            return;
        }
        self.handle.resume(self.node_id(idx));
        self.fabric.set_paused(idx, false);
        self.record(super::history::FaultEvent::Resume, format!("resume {}", self.fabric.node_name(idx)));
    }

    /// The quiet phase begins: links heal, paused nodes resume, crashed ones restart,
    /// and no new fault starts. Returns how many nodes were restarted.
    pub(crate) fn quiet(&self) -> u64 {
        let (down, paused) = {
            let mut faults = self.faults.lock().unwrap();
            faults.quiet = true;
            (faults.down.clone(), faults.paused.clone())
        };
        self.fabric.heal_all();
        for idx in paused {
            self.resume(idx);
        }
        let restarted = down.into_iter().filter(|idx| self.restart(*idx)).count() as u64;
        self.record(super::history::FaultEvent::Quiet, "quiet phase: faults stop".into());
        restarted
    }

    /// Spawns a task on a node's current incarnation (test-only panics).
    pub(crate) fn spawn_on(&self, idx: NodeId, task: impl std::future::Future<Output = ()> + Send + 'static) {
        if let Some(node) = self.handle.get_node(self.node_id(idx)) {
            node.spawn(task);
        }
    }

    /// Kills every node so no task outlives the runtime, and frees the fabric's actors.
    pub(crate) fn shutdown(&self) {
        for node in &self.nodes {
            self.handle.kill(node.id);
        }
        self.handle.kill(self.users.id());
        self.fabric.shutdown();
    }
}
