//! The network fabric: every message between nodes crosses it. Per message, from the
//! decision source: drop with `drop_probability`, duplicate with
//! `duplicate_probability` (each copy gets its own delay), and a delay drawn from
//! `delay_min..=delay_max` (reordering follows). Partitions cut directed links.
//!
//! Delivery runs the receiving actor's handler in a task of the destination madsim node
//! after the delay (a reused one, [`super::workers`]; the delay's timer is set at the
//! send), so a crash of the destination loses what was in flight to it, and a paused
//! destination holds its messages until it resumes (a copy sent to it while it is
//! paused waits its delay from the resume, in a task of its own).

use super::choices::{Choices, Drawing, Site};
use super::sync::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub use super::NodeId;

pub use super::BoxFuture;

/// What a node runs when a message reaches it.
pub trait Actor<M>: Send + Sync + 'static {
    fn receive(self: Arc<Self>, from: NodeId, msg: M) -> BoxFuture;
}

/// What a handler that did all its work in `receive` returns: a finished future. It has
/// no size, so boxing it allocates nothing (`Box::pin(std::future::ready(()))` would
/// allocate a byte for every such message).
pub fn handled() -> BoxFuture {
    Box::pin(Handled)
}

struct Handled;

impl std::future::Future for Handled {
    type Output = ();

    fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        std::task::Poll::Ready(())
    }
}

/// An actor that ignores every message: the users' node of a system whose users
/// send and never read a reply.
pub struct Discard;

impl<M: Send + 'static> Actor<M> for Discard {
    fn receive(self: Arc<Self>, _from: NodeId, _msg: M) -> BoxFuture {
        handled()
    }
}

/// How a message's description ends when the message is a redelivery (a broker's
/// resend of what was not acked): written by [`Describe::describe`], read by diagrams.
pub const REDELIVERY: &str = " (redelivery)";

/// A one-line description of a message, for traces and diagrams, and its identity
/// for the decisions about it. A redelivery's description ends with [`REDELIVERY`].
pub trait Describe {
    fn kind(&self) -> &'static str;
    fn describe(&self) -> String;
    /// What the message is, stably across runs, for keying its drop, duplicate and delay
    /// (with its endpoints, the sender's cause and the occurrence): its kind and the
    /// records it carries, not positional numbers (request or sequence numbers) that
    /// shift when another part of the run changes. Default: its kind.
    fn identity(&self) -> u64 {
        super::choices::key(&self.kind())
    }
    /// Housekeeping (a session's heartbeats): in schedule mode such a message is not a
    /// step; it arrives after the shortest delay, unordered against the steps, as timers
    /// fire. Default: no.
    fn housekeeping(&self) -> bool {
        false
    }
    /// The part of the receiver's memory the message touches, for the exhaustive search's
    /// independence (two messages to one node naming different parts commute); None: all
    /// of it. The system vouches that what its handler does outside its part commutes.
    fn partition(&self) -> Option<u64> {
        None
    }
}

/// Per-message fault settings of the fabric.
#[derive(Clone, Debug)]
pub struct FabricConfig {
    pub drop_probability: f64,
    pub duplicate_probability: f64,
    pub delay_min: Duration,
    pub delay_max: Duration,
    /// The delay range of links touching the users' node, if it is their own.
    pub user_delay: Option<(Duration, Duration)>,
}

/// What the fabric did, counted over a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FabricCounters {
    pub sent: u64,
    pub delivered: u64,
    pub dropped_random: u64,
    pub dropped_partition: u64,
    pub dropped_node_down: u64,
    pub duplicated: u64,
}

impl std::ops::AddAssign for FabricCounters {
    fn add_assign(&mut self, c: FabricCounters) {
        self.sent += c.sent;
        self.delivered += c.delivered;
        self.dropped_random += c.dropped_random;
        self.dropped_partition += c.dropped_partition;
        self.dropped_node_down += c.dropped_node_down;
        self.duplicated += c.duplicated;
    }
}

impl FabricCounters {
    pub fn dropped(&self) -> u64 {
        self.dropped_random + self.dropped_partition + self.dropped_node_down
    }
}

/// A network event, handed to the observer when one is set (tracing, diagrams).
#[derive(Clone, Debug)]
pub enum NetEvent {
    Sent { id: u64, from: NodeId, to: NodeId, kind: &'static str, text: String },
    Duplicated { id: u64, from: NodeId, to: NodeId, kind: &'static str },
    Dropped { id: u64, from: NodeId, to: NodeId, kind: &'static str, reason: &'static str },
    Delivered { id: u64, from: NodeId, to: NodeId, kind: &'static str },
}

pub type Observer = Arc<dyn Fn(&NetEvent) + Send + Sync>;

struct Slot<M> {
    name: String,
    /// The name as a key (decisions are keyed by names, not indices).
    name_key: u64,
    /// The current incarnation's tasks for deliveries (none while it is down).
    workers: Option<Arc<super::workers::Workers>>,
    actor: Option<Arc<dyn Actor<M>>>,
    /// Links touching a reliable node are never dropped, duplicated or cut.
    reliable: bool,
    /// The users' node: its links take `FabricConfig::user_delay` when set.
    users: bool,
}

struct State<M> {
    slots: Vec<Slot<M>>,
    cuts: BTreeMap<(NodeId, NodeId), u32>,
    config: FabricConfig,
    counters: FabricCounters,
    next_message_id: u64,
    last_send: std::time::Duration,
    /// Swarm: per node, whether its links drop and duplicate (all, when unset).
    flaky: Option<Vec<bool>>,
    /// PCT: delays by sender priority instead of uniform (see [`super::strategy`]).
    priorities: Option<super::priority::Priorities>,
}

/// The fabric; cheap to clone (one shared record: a delivery's job holds a clone).
pub struct Fabric<M>(Arc<Shared<M>>);

pub struct Shared<M> {
    state: Mutex<State<M>>,
    choices: Choices,
    observer: Option<Observer>,
    /// Schedule mode: messages wait at the gate instead of sleeping a delay.
    gate: Option<super::schedule::Gate>,
}

impl<M> Clone for Fabric<M> {
    fn clone(&self) -> Self {
        Fabric(self.0.clone())
    }
}

impl<M> std::ops::Deref for Fabric<M> {
    type Target = Shared<M>;

    fn deref(&self) -> &Shared<M> {
        &self.0
    }
}

impl<M: Clone + Send + Describe + 'static> Fabric<M> {
    pub fn new(config: FabricConfig, choices: Choices, observer: Option<Observer>) -> Self {
        let state = State {
            slots: Vec::new(),
            cuts: BTreeMap::new(),
            config,
            counters: FabricCounters::default(),
            next_message_id: 0,
            last_send: std::time::Duration::ZERO,
            flaky: None,
            priorities: None,
        };
        Fabric(Arc::new(Shared { state: Mutex::new(state), choices, observer, gate: None }))
    }

    /// Schedule mode (see [`super::schedule`]): every copy waits at `gate` for its turn.
    pub(crate) fn gated(self, gate: Option<super::schedule::Gate>) -> Self {
        let shared = Arc::try_unwrap(self.0).unwrap_or_else(|_| panic!("harness assumption broken: a fabric is gated before it is shared"));
        Fabric(Arc::new(Shared { gate, ..shared }))
    }

    /// Whether the run is in schedule mode (the exhaustive search's).
    pub fn scheduled(&self) -> bool {
        self.gate.is_some()
    }

    pub(crate) fn gate(&self) -> Option<&super::schedule::Gate> {
        self.gate.as_ref()
    }

    /// A node's name as a key (the state a message to it touches, in schedule mode).
    pub(crate) fn name_key(&self, idx: NodeId) -> u64 {
        self.state.lock().slots[idx.slot()].name_key
    }

    /// Declares a node; it receives nothing until [`Fabric::attach`] is called.
    pub fn add_node(&self, name: &str, reliable: bool) -> NodeId {
        let mut state = self.state.lock();
        state.slots.push(Slot {
            name: name.to_string(),
            name_key: super::choices::key(&name),
            workers: None,
            actor: None,
            reliable,
            users: false,
        });
        NodeId::from_slot(state.slots.len() - 1)
    }

    /// Marks the users' node (see [`FabricConfig::user_delay`]).
    pub(crate) fn mark_users(&self, idx: NodeId) {
        self.state.lock().slots[idx.slot()].users = true;
    }

    pub fn node_name(&self, idx: NodeId) -> String {
        self.state.lock().slots[idx.slot()].name.clone()
    }

    /// Every node declared so far, in declaration order.
    pub fn nodes(&self) -> Vec<NodeId> {
        (0..self.state.lock().slots.len()).map(NodeId::from_slot).collect()
    }

    pub fn node_names(&self) -> Vec<String> {
        self.state.lock().slots.iter().map(|s| s.name.clone()).collect()
    }

    /// Called by a node's init task in each incarnation: from now on messages to
    /// `idx` run `actor` on the node that called.
    pub fn attach(&self, idx: NodeId, madsim_node: madsim::runtime::NodeHandle, actor: Arc<dyn Actor<M>>) {
        let mut state = self.state.lock();
        let slot = &mut state.slots[idx.slot()];
        slot.workers = Some(super::workers::Workers::new(madsim_node));
        slot.actor = Some(actor);
    }

    /// Called by the harness when it pauses or resumes a node's current incarnation.
    pub(crate) fn set_paused(&self, idx: NodeId, paused: bool) {
        if let Some(workers) = &self.state.lock().slots[idx.slot()].workers {
            workers.set_paused(paused);
        }
    }

    /// Called by the harness when it kills a node: messages to it are dropped.
    pub fn detach(&self, idx: NodeId) {
        let mut state = self.state.lock();
        let slot = &mut state.slots[idx.slot()];
        slot.workers = None;
        slot.actor = None;
    }

    /// Forgets every node's actor: actors hold the fabric, so this breaks the cycle
    /// and lets a finished run's world be freed.
    pub fn shutdown(&self) {
        for slot in self.state.lock().slots.iter_mut() {
            slot.workers = None;
            slot.actor = None;
        }
    }

    pub fn is_up(&self, idx: NodeId) -> bool {
        self.state.lock().slots[idx.slot()].actor.is_some()
    }

    /// Cuts the directed link `from -> to` until a matching [`Fabric::heal`].
    pub fn cut(&self, from: NodeId, to: NodeId) {
        *self.state.lock().cuts.entry((from, to)).or_insert(0) += 1;
    }

    pub fn heal(&self, from: NodeId, to: NodeId) {
        let mut state = self.state.lock();
        if let Some(count) = state.cuts.get_mut(&(from, to)) {
            *count -= 1;
            if *count == 0 {
                state.cuts.remove(&(from, to));
            }
        }
    }

    pub fn heal_all(&self) {
        self.state.lock().cuts.clear();
    }

    pub fn counters(&self) -> FabricCounters {
        self.state.lock().counters
    }

    /// When the last message was sent.
    pub fn last_send(&self) -> std::time::Duration {
        self.state.lock().last_send
    }

    pub fn set_config(&self, config: FabricConfig) {
        self.state.lock().config = config;
    }

    /// Swarm: only messages to or from a node marked here may be dropped or duplicated.
    pub fn set_flaky(&self, flaky: Vec<bool>) {
        self.state.lock().flaky = Some(flaky);
    }

    /// PCT: from now on a message's delay is its sender's priority band.
    pub fn set_priorities(&self, priorities: super::priority::Priorities) {
        self.state.lock().priorities = Some(priorities);
    }

    /// One copy's delay: uniform, or by the sender's priority band under PCT.
    fn delay(&self, draws: &mut Drawing, from: NodeId, key: u64, config: &FabricConfig, prioritized: bool, users_link: bool) -> Duration {
        if self.gate.is_some() {
            // Schedule mode: only a housekeeping message sleeps (the shortest delay).
            return config.delay_min;
        }
        if let Some((lo, hi)) = config.user_delay.filter(|_| users_link) {
            return draws.duration(Site::NetDelay, key, lo, hi);
        }
        if !prioritized {
            return draws.duration(Site::NetDelay, key, config.delay_min, config.delay_max);
        }
        let jitter = draws.draw(Site::NetDelay, key, 1000);
        let state = self.state.lock();
        state.priorities.as_ref().map_or(config.delay_min, |p| p.delay(from, config.delay_min, config.delay_max, jitter))
    }

    fn observe(&self, event: NetEvent) {
        if let Some(observer) = &self.observer {
            observer(&event);
        }
    }

    /// Sends `msg` from `from` to `to`. Never blocks; the message may be dropped,
    /// duplicated and delayed, each decision keyed by the endpoints' names and the
    /// message's identity (and, through the decision source, the sender's cause).
    pub fn send(&self, from: NodeId, to: NodeId, msg: M) {
        let (id, config, faulty, prioritized, flaky, key, users_link, route) = {
            let mut state = self.state.lock();
            state.counters.sent += 1;
            state.last_send = super::now();
            state.next_message_id += 1;
            let id = state.next_message_id;
            let faulty = !(state.slots[from.slot()].reliable || state.slots[to.slot()].reliable);
            let now = state.last_send;
            let prioritized = match state.priorities.as_mut() {
                Some(p) => {
                    p.on_send(from, now);
                    true
                }
                None => false,
            };
            let key = super::choices::mix(mix_names(&state.slots, from, to), msg.identity());
            let flaky = state.flaky.as_ref().is_none_or(|f| f[from.slot()] || f[to.slot()]);
            let users_link = state.slots[from.slot()].users || state.slots[to.slot()].users;
            (id, state.config.clone(), faulty, prioritized, flaky, key, users_link, route(&state, from, to, faulty))
        };
        if self.observer.is_some() {
            self.observe(NetEvent::Sent { id, from, to, kind: msg.kind(), text: msg.describe() });
        }
        // The message's draws under one hold of the decision source, in the order they
        // were always drawn: drop, duplicate, the duplicate's delay, the delay.
        let mut draws = self.choices.drawing();
        if faulty && flaky && draws.chance(Site::NetDrop, key, config.drop_probability) {
            drop(draws);
            self.state.lock().counters.dropped_random += 1;
            self.observe(NetEvent::Dropped { id, from, to, kind: msg.kind(), reason: "random" });
            return;
        }
        let duplicated = faulty && flaky && draws.chance(Site::NetDuplicate, key, config.duplicate_probability);
        let copy_delay = duplicated.then(|| self.delay(&mut draws, from, super::choices::mix(key, 1), &config, prioritized, users_link));
        let delay = self.delay(&mut draws, from, key, &config, prioritized, users_link);
        drop(draws);
        // Each copy's handler runs under a cause that names the message and the copy.
        let cause = super::choices::mix(key, super::cause::current());
        if let Some(copy_delay) = copy_delay {
            self.state.lock().counters.duplicated += 1;
            self.observe(NetEvent::Duplicated { id, from, to, kind: msg.kind() });
            self.deliver_later(route.clone(), id, from, to, msg.clone(), copy_delay, faulty, super::choices::mix(cause, 1));
        }
        self.deliver_later(route, id, from, to, msg, delay, faulty, cause);
    }

    /// Hands a copy to a task of the destination, along `route` (as the link was when the
    /// copy was sent): when its delay has passed; at once in schedule mode, or to a paused
    /// destination, where the task waits for the copy's turn or its delay.
    #[allow(clippy::too_many_arguments)]
    fn deliver_later(&self, route: Route, id: u64, from: NodeId, to: NodeId, msg: M, delay: Duration, faulty: bool, cause: u64) {
        let kind = msg.kind();
        let workers = match route {
            Ok(workers) => workers,
            Err(unroutable) => {
                let mut state = self.state.lock();
                match unroutable {
                    Unroutable::Cut => state.counters.dropped_partition += 1,
                    Unroutable::Down => state.counters.dropped_node_down += 1,
                }
                drop(state);
                self.observe(NetEvent::Dropped { id, from, to, kind, reason: "down or cut" });
                return;
            }
        };
        // The sender's cause: what the delivery happens after, for the exhaustive search.
        let parent = super::cause::current();
        let fabric = self.clone();
        // Outside schedule mode the delay is a timer set now, and the job starts when it
        // fires. To a paused destination the copy's task waits its delay from the resume
        // instead, so that what was sent during a pause does not arrive at one instant,
        // in an order left to madsim's scheduler.
        let timer_at_send = self.gate.is_none() && !workers.is_paused();
        let job: super::workers::Job = Box::pin(super::cause::within(cause, async move {
            let msg = if timer_at_send {
                msg
            } else {
                let Some(msg) = fabric.wait_turn(id, from, to, msg, delay, faulty, (parent, cause)).await else {
                    return;
                };
                msg
            };
            match fabric.arrive(from, to, faulty) {
                Some(actor) => {
                    fabric.observe(NetEvent::Delivered { id, from, to, kind });
                    actor.receive(from, msg).await
                }
                None => fabric.observe(NetEvent::Dropped { id, from, to, kind, reason: "cut on arrival" }),
            }
        }));
        if timer_at_send {
            workers.run_after(delay, job);
        } else {
            workers.run(job);
        }
    }

    /// A copy arrives: the actor to run it, counted delivered, or None, counted dropped,
    /// when its link is cut now or the destination's incarnation has gone.
    fn arrive(&self, from: NodeId, to: NodeId, faulty: bool) -> Option<Arc<dyn Actor<M>>> {
        let mut state = self.state.lock();
        if faulty && state.cuts.contains_key(&(from, to)) {
            state.counters.dropped_partition += 1;
            return None;
        }
        // The task runs only while the incarnation it was started on lives.
        let actor = state.slots[to.slot()].actor.clone();
        if actor.is_some() {
            state.counters.delivered += 1;
            let c = state.counters;
            assert!(
                c.delivered + c.dropped() <= c.sent + c.duplicated,
                "harness assumption broken: more messages delivered or dropped than sent ({c:?})"
            );
        } else {
            state.counters.dropped_node_down += 1;
        }
        actor
    }
}

impl<M: Clone + Send + Describe + 'static> Fabric<M> {
    /// Waits the copy's turn at the gate in schedule mode, where it may be dropped (None)
    /// or duplicated (the other copy waits for a turn of its own); a housekeeping message,
    /// which takes no turn, and a copy sent to a paused destination wait their delay.
    #[allow(clippy::too_many_arguments)]
    async fn wait_turn(&self, id: u64, from: NodeId, to: NodeId, msg: M, delay: Duration, faulty: bool, link: (u64, u64)) -> Option<M> {
        let cause = link.1;
        let Some(gate) = self.gate.as_ref().filter(|_| !msg.housekeeping()) else {
            super::sleep(delay).await;
            return Some(msg);
        };
        let footprint = super::schedule::Footprint::part(self.name_key(to), msg.partition());
        match gate.pass(cause, footprint, faulty, link).await.0 {
            super::schedule::Go::Run => Some(msg),
            super::schedule::Go::Drop => {
                self.state.lock().counters.dropped_random += 1;
                self.observe(NetEvent::Dropped { id, from, to, kind: msg.kind(), reason: "explored" });
                None
            }
            super::schedule::Go::Duplicate => {
                self.state.lock().counters.duplicated += 1;
                self.observe(NetEvent::Duplicated { id, from, to, kind: msg.kind() });
                let route = route(&self.state.lock(), from, to, faulty);
                self.deliver_later(route, id, from, to, msg.clone(), Duration::ZERO, faulty, super::choices::mix(cause, 2));
                Some(msg)
            }
        }
    }
}

/// Where a copy sent now goes: the destination's delivery tasks, unless the link is cut
/// (links touching a reliable node never are) or the destination is down.
type Route = Result<Arc<super::workers::Workers>, Unroutable>;

#[derive(Clone, Copy)]
enum Unroutable {
    Cut,
    Down,
}

fn route<M>(state: &State<M>, from: NodeId, to: NodeId, faulty: bool) -> Route {
    if faulty && state.cuts.contains_key(&(from, to)) {
        Err(Unroutable::Cut)
    } else {
        state.slots[to.slot()].workers.clone().ok_or(Unroutable::Down)
    }
}

/// The directed link `from -> to` as a key, by the nodes' names.
fn mix_names<M>(slots: &[Slot<M>], from: NodeId, to: NodeId) -> u64 {
    super::choices::mix(slots[from.slot()].name_key, slots[to.slot()].name_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone)]
    struct Note(u64);

    impl Describe for Note {
        fn kind(&self) -> &'static str {
            "note"
        }
        fn describe(&self) -> String {
            format!("note {}", self.0)
        }
    }

    /// Writes down each note and when it arrived.
    struct Reader(Arc<Mutex<Vec<(u64, Duration)>>>);

    impl Actor<Note> for Reader {
        fn receive(self: Arc<Self>, _from: NodeId, note: Note) -> BoxFuture {
            self.0.lock().push((note.0, super::super::now()));
            handled()
        }
    }

    #[test]
    fn a_copy_sent_to_a_paused_node_waits_its_delay_from_the_resume() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let reader = Arc::new(Reader(log.clone()));
        madsim::runtime::Runtime::with_seed_and_config(1, Default::default()).block_on(async move {
            let five = Duration::from_millis(5);
            let config =
                FabricConfig { drop_probability: 0.0, duplicate_probability: 0.0, delay_min: five, delay_max: five, user_delay: None };
            let fabric = Fabric::new(config, Choices::new(1), None);
            let handle = madsim::runtime::Handle::current();
            let (a, b) = (fabric.add_node("a", false), fabric.add_node("b", false));
            fabric.attach(a, handle.create_node().name("a").build(), reader.clone());
            let node_b = handle.create_node().name("b").build();
            fabric.attach(b, node_b.clone(), reader);
            // Sent at 0 to a running node: its timer is set now, for 5ms, with no step of
            // a task of b's until it fires.
            let steps = super::super::steps_taken();
            fabric.send(a, b, Note(1));
            madsim::time::sleep(Duration::from_millis(1)).await;
            assert_eq!(super::super::steps_taken(), steps);
            handle.pause(node_b.id());
            fabric.set_paused(b, true);
            // Sent at 1ms to the paused node: it waits its 5ms from the resume.
            fabric.send(a, b, Note(2));
            madsim::time::sleep(Duration::from_millis(19)).await;
            handle.resume(node_b.id());
            fabric.set_paused(b, false);
            madsim::time::sleep(Duration::from_millis(20)).await;
            fabric.shutdown();
        });
        // The first, due at 5ms, waited for the resume at 20ms; the second came 5ms after.
        assert_eq!(*log.lock(), vec![(1, Duration::from_millis(20)), (2, Duration::from_millis(25))]);
    }

    #[test]
    fn a_handled_message_boxes_nothing_and_is_done() {
        let mut done = super::handled();
        assert_eq!(std::mem::size_of_val(&*done), 0, "of no size: its box allocates nothing");
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(done.as_mut().poll(&mut cx).is_ready());
    }
}
