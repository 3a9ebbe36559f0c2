//! The broker on a node: [`Machine`] is whichever state machine the world runs (NATS
//! Streaming's [`super::broker`] or [`super::jetstream`]); [`BrokerNode`] runs it behind
//! the fabric, with its tick loop, and reports what it did to the history.

use super::broker::{BrokerConfig, BrokerEvent, BrokerKind, BrokerState, Output, Outstanding};
use super::jetstream::JetStreamState;
use super::obs::Obs;
use super::protocol::Message;
use super::{App, Group, Subject};
use crate::harness::fabric::{handled, Actor, BoxFuture, Fabric, NodeId};
use crate::harness::sync::Mutex;
use crate::harness::world::{NodeContext, Probe};
use std::sync::Arc;
use std::time::Duration;

/// The broker a world runs: NATS Streaming's state machine or JetStream's.
#[derive(Clone, Debug)]
pub enum Machine<S> {
    Streaming(BrokerState<S>),
    JetStream(JetStreamState<S>),
}

impl<S: Subject> Machine<S> {
    pub fn new(kind: BrokerKind, store_id: u64) -> Self {
        match kind {
            BrokerKind::Streaming => Machine::Streaming(BrokerState::new(store_id)),
            BrokerKind::JetStream => Machine::JetStream(JetStreamState::new(store_id)),
        }
    }

    pub fn handle(&mut self, config: &BrokerConfig, now: Duration, from: NodeId, msg: Message<S>, out: &mut Output<S>) {
        match self {
            Machine::Streaming(state) => state.handle(config, now, from, msg, out),
            Machine::JetStream(state) => state.handle(config, now, from, msg, out),
        }
    }

    pub fn tick(&mut self, config: &BrokerConfig, now: Duration, out: &mut Output<S>) {
        match self {
            Machine::Streaming(state) => state.tick(config, now, out),
            Machine::JetStream(state) => state.tick(config, now, out),
        }
    }

    pub fn outstanding(&self, subject: S, group: Group) -> Vec<Outstanding<S>> {
        match self {
            Machine::Streaming(state) => state.outstanding(subject, group),
            Machine::JetStream(state) => state.outstanding(subject, group),
        }
    }
}

/// The broker as a node: its state lives outside the node (the durable store) and
/// is replaced by an empty one on restart when the store is in memory.
pub struct BrokerNode<A: App> {
    pub idx: NodeId,
    pub config: BrokerConfig,
    pub state: Arc<Mutex<Machine<A::Subject>>>,
    pub fabric: Fabric<Message<A::Subject>>,
    pub probe: Probe<Obs<A>>,
    /// The output buffers, kept between steps for their room (a step fills and empties
    /// them; nothing awaits in between).
    spare: Mutex<Output<A::Subject>>,
}

/// Store ids of a broker's memory store: each restart on memory starts a new one.
#[derive(Default)]
pub struct StoreIds(std::sync::atomic::AtomicU64);

impl<A: App> BrokerNode<A> {
    /// Starts an incarnation of the broker: with a memory store, every restart empties
    /// it under a new store id. Spawns the broker's tick loop on the calling node.
    pub fn start(
        ctx: &NodeContext<Message<A::Subject>, Obs<A>>,
        config: &BrokerConfig,
        state: &Arc<Mutex<Machine<A::Subject>>>,
        ids: &StoreIds,
    ) -> Arc<BrokerNode<A>> {
        if ctx.incarnation > 1 && !config.durable {
            let store_id = ids.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 2;
            *state.lock() = Machine::new(config.kind, store_id);
            ctx.probe.observe(Obs::StoreLost { store_id });
        }
        let node = Arc::new(BrokerNode {
            idx: ctx.idx,
            config: config.clone(),
            state: state.clone(),
            fabric: ctx.fabric.clone(),
            probe: ctx.probe.clone(),
            spare: Mutex::default(),
        });
        crate::harness::cause::spawn(node.clone().run_ticks());
        node
    }

    /// One step of the broker's machine, and what it sends and records.
    fn step(&self, step: impl FnOnce(&mut Machine<A::Subject>, &mut Output<A::Subject>)) {
        let mut out = std::mem::take(&mut *self.spare.lock());
        step(&mut self.state.lock(), &mut out);
        self.flush(&mut out);
        *self.spare.lock() = out;
    }

    fn flush(&self, out: &mut Output<A::Subject>) {
        for event in out.events.drain(..) {
            self.probe.observe(match event {
                BrokerEvent::Accepted { subject, seq, event, store_id, client } => Obs::Accepted { subject, seq, event, store_id, client },
                BrokerEvent::Delivered { subject, group, seq, client, event_id, redelivery } => {
                    Obs::Delivered { subject, group, seq, client, event_id, redelivery }
                }
                BrokerEvent::Acked { subject, group, seq, client, event_id } => Obs::Acked { subject, group, seq, client, event_id },
                BrokerEvent::ClientDead { client } => Obs::ClientDead { client },
                BrokerEvent::Deduplicated { subject, seq, event_id, client } => Obs::Deduplicated { subject, seq, event_id, client },
                BrokerEvent::Replied { subject, group, seq, client, event_id, reply } => {
                    Obs::Replied { subject, group, seq, client, event_id, reply }
                }
                BrokerEvent::Parked { subject, group, seq, event_id, deliveries } => {
                    Obs::Parked { subject, group, seq, event_id, deliveries }
                }
            });
        }
        for (to, msg) in out.send.drain(..) {
            self.fabric.send(self.idx, to, msg);
        }
    }

    /// The broker's own loop: redeliveries and dead-client detection.
    pub async fn run_ticks(self: Arc<Self>) {
        loop {
            crate::harness::sleep(self.config.tick).await;
            self.step(|machine, out| machine.tick(&self.config, crate::harness::now(), out));
        }
    }
}

impl<A: App> Actor<Message<A::Subject>> for BrokerNode<A> {
    fn receive(self: Arc<Self>, from: NodeId, msg: Message<A::Subject>) -> BoxFuture {
        self.step(|machine, out| machine.handle(&self.config, crate::harness::now(), from, msg, out));
        handled()
    }
}
