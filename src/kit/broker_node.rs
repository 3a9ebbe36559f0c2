//! The broker on a node: [`Machine`] is whichever state machine the world runs (NATS
//! Streaming's [`super::broker`] or [`super::jetstream`]); [`BrokerNode`] runs it behind
//! the fabric, with its tick loop, and reports what it did to the history.

use super::broker::{BrokerConfig, BrokerEvent, BrokerKind, BrokerState, Output, Outstanding};
use super::jetstream::JetStreamState;
use super::obs::Obs;
use super::protocol::Message;
use super::{App, Group, Subject};
use crate::harness::alarm::{first_beat_after, Alarm};
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

    /// Until when the ticks find nothing to do: see [`BrokerState::quiet_until`]
    /// (JetStream's does not say: any tick may find work).
    pub fn quiet_until(&self, config: &BrokerConfig) -> Option<Duration> {
        match self {
            Machine::Streaming(state) => state.quiet_until(config),
            Machine::JetStream(_) => None,
        }
    }

    /// Whether a group of `subject` has messages never delivered (JetStream's: not
    /// asked, its ticks never wait).
    fn undelivered(&self, subject: S) -> bool {
        match self {
            Machine::Streaming(state) => state.undelivered(subject),
            Machine::JetStream(_) => true,
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
    /// The tick loop's wait while its ticks would find nothing to do.
    ticks: Alarm,
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
            ticks: Alarm::default(),
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

    /// The broker's own loop: redeliveries and dead-client detection, a tick every
    /// `config.tick` from the last. While the machine says its ticks find nothing to do
    /// until some instant, the loop waits for the first tick after it instead of making
    /// the ticks in between, and a step that brings work sooner ends the wait: the ticks
    /// that do something come on the loop's beat, as before. (Not quite after a pause of the
    /// broker: a tick that found nothing used to run at the resume and move the beat
    /// there; a wait that ends after the resume keeps the beat.)
    pub async fn run_ticks(self: Arc<Self>) {
        let beat = self.config.tick.max(crate::harness::MIN_SLEEP);
        let mut at = crate::harness::now() + beat;
        loop {
            // Schedule mode ticks every time: its search is counted in the runs it takes.
            let quiet = if self.fabric.scheduled() { None } else { self.state.lock().quiet_until(&self.config) };
            match quiet {
                Some(quiet) if quiet >= at => {
                    let first = first_beat_after(at, beat, quiet);
                    if self.ticks.wait(first, quiet).await {
                        // Rung: work may come sooner. Asked again, for the beats from the next.
                        at = first_beat_after(at, beat, crate::harness::now()).expect("a tick after now comes before the end of time");
                        continue;
                    }
                }
                // On the beat even when a ring came less than MIN_SLEEP before it.
                _ => crate::harness::sleep_until_beat(at).await,
            }
            self.step(|machine, out| machine.tick(&self.config, crate::harness::now(), out));
            at = crate::harness::now() + beat;
        }
    }

    /// Ends the tick loop's wait if the message just handled at `now` may bring a tick
    /// work before the loop wakes. A message can bring a client to watch (dead once silent
    /// for the dead-client timeout), a delivery to watch (due once its ack wait is over)
    /// or, on its `subject`, messages never delivered (work for any tick); a heartbeat
    /// only puts a client's death off. Nothing else changes what the wait was for.
    fn ring_if_sooner(&self, machine: &Machine<A::Subject>, now: Duration, heartbeat: bool, subject: Option<A::Subject>) {
        let Some(waited) = self.ticks.work_after() else { return };
        let watch = self.config.dead_client_timeout.min(self.config.ack_wait.saturating_sub(Duration::from_nanos(1)));
        if !heartbeat && (now + watch < waited || subject.is_some_and(|s| machine.undelivered(s))) {
            self.ticks.ring();
        }
    }
}

impl<A: App> Actor<Message<A::Subject>> for BrokerNode<A> {
    fn receive(self: Arc<Self>, from: NodeId, msg: Message<A::Subject>) -> BoxFuture {
        let heartbeat = matches!(msg, Message::Heartbeat { .. });
        let subject = match &msg {
            Message::Subscribe { subject, .. } | Message::Ack { subject, .. } => Some(*subject),
            Message::Publish { event, .. } => Some(event.subject),
            _ => None,
        };
        self.step(|machine, out| {
            let now = crate::harness::now();
            machine.handle(&self.config, now, from, msg, out);
            self.ring_if_sooner(machine, now, heartbeat, subject);
        });
        handled()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::choices::Choices;
    use crate::harness::fabric::FabricConfig;
    use crate::harness::history::History;
    use crate::kit::Id;

    /// The least app a broker can run for: channels numbered, no stores.
    #[derive(Clone, Debug)]
    struct Bare;

    #[derive(Clone, Debug)]
    struct NoDoc;

    impl std::fmt::Display for NoDoc {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("no doc")
        }
    }

    impl From<crate::kit::outbox::Sent> for NoDoc {
        fn from(_: crate::kit::outbox::Sent) -> Self {
            NoDoc
        }
    }

    impl App for Bare {
        type Subject = u8;
        type Doc = NoDoc;
        type Note = String;
        type Config = ();
        fn unsent(_: &NoDoc) -> Option<&Id> {
            None
        }
    }

    /// The client's side: when each delivery came, and whether it was a redelivery.
    struct Client(Arc<Mutex<Vec<(Duration, bool)>>>);

    impl Actor<Message<u8>> for Client {
        fn receive(self: Arc<Self>, _from: NodeId, msg: Message<u8>) -> BoxFuture {
            if let Message::Deliver { redelivered, .. } = msg {
                self.0.lock().push((crate::harness::now(), redelivered));
            }
            handled()
        }
    }

    const MS: fn(u64) -> Duration = Duration::from_millis;

    /// Sleeps until virtual time `at`, outside any node.
    async fn until(at: Duration) {
        madsim::time::sleep(at - crate::harness::now()).await;
    }

    /// A broker ticking every 500 ms from 0, with an ack wait of 1 s and a dead-client
    /// timeout of 3 s; 5 ms hops. Client `c` connects at 0 and goes silent: the broker
    /// declares it dead at the first tick after 3.005 s, with no step of the broker's
    /// in between. Client `d` connects at 4 s (the broker, with no client, waits for
    /// nothing but a message), heartbeats every second, and at 5.2 s subscribes and
    /// publishes, never acking: the delivery's ack wait ends at 6.205 s, and the
    /// redelivery comes at the tick of 6.5 s, not at 7.5 s, when `d`'s silence would
    /// have woken the broker, with no tick in between; the next comes at 7.5 s, when its
    /// ack wait is over.
    #[test]
    fn an_idle_broker_skips_the_ticks_that_find_nothing_and_a_message_brings_the_next_one_back() {
        let deliveries = Arc::new(Mutex::new(Vec::new()));
        let history = History::<Obs<Bare>>::new(None);
        let (client_log, probe) = (deliveries.clone(), Probe::new(history.clone()));
        let (quiet_steps, unacked_steps) = madsim::runtime::Runtime::with_seed_and_config(1, Default::default()).block_on(async move {
            let hop =
                FabricConfig { drop_probability: 0.0, duplicate_probability: 0.0, delay_min: MS(5), delay_max: MS(5), user_delay: None };
            let fabric = Fabric::new(hop, Choices::new(1), None);
            let handle = madsim::runtime::Handle::current();
            let (broker, client) = (fabric.add_node("broker", false), fabric.add_node("client", false));
            let config = BrokerConfig { ack_wait: MS(1_000), dead_client_timeout: MS(3_000), ..Default::default() };
            let state = Arc::new(Mutex::new(Machine::new(BrokerKind::Streaming, 1)));
            let ctx = NodeContext { idx: broker, name: "broker".into(), incarnation: 1, fabric: fabric.clone(), probe };
            let node = handle.create_node().name("broker").build();
            let actor = node.spawn(async move { BrokerNode::<Bare>::start(&ctx, &config, &state, &StoreIds::default()) }).await.unwrap();
            fabric.attach(broker, node, actor);
            fabric.attach(client, handle.create_node().name("client").build(), Arc::new(Client(client_log)));
            fabric.send(client, broker, Message::Connect { client: "c".into() });
            until(MS(600)).await;
            let steps = crate::harness::steps_taken();
            until(MS(3_400)).await;
            let quiet_steps = crate::harness::steps_taken() - steps;
            until(MS(4_000)).await;
            fabric.send(client, broker, Message::Connect { client: "d".into() });
            until(MS(5_000)).await;
            fabric.send(client, broker, Message::Heartbeat { client: "d".into() });
            until(MS(5_200)).await;
            fabric.send(client, broker, Message::Subscribe { client: "d".into(), subject: 1, group: "g" });
            let event = crate::kit::event::Event::raw("e1".into(), 1, serde_json::json!({}), Default::default());
            fabric.send(client, broker, Message::Publish { client: "d".into(), publish_id: 1, event, msg_id: None, expect_last: None });
            until(MS(5_300)).await;
            let steps = crate::harness::steps_taken();
            until(MS(5_900)).await;
            let unacked_steps = crate::harness::steps_taken() - steps;
            for beat in [6_000, 7_000] {
                until(MS(beat)).await;
                fabric.send(client, broker, Message::Heartbeat { client: "d".into() });
            }
            until(MS(7_600)).await;
            fabric.shutdown();
            (quiet_steps, unacked_steps)
        });
        let dead: Vec<Duration> =
            history.entries().iter().filter(|e| matches!(e.observed(), Some(Obs::ClientDead { .. }))).map(|e| e.time).collect();
        assert_eq!(dead, [MS(3_500)], "c is found dead at the first tick after its timeout, d never");
        assert_eq!(quiet_steps, 0, "no tick between 0.6 s and 3.4 s");
        assert_eq!(unacked_steps, 0, "no tick between 5.3 s and 5.9 s, before the ack wait is over");
        assert_eq!(*deliveries.lock(), [(MS(5_210), false), (MS(6_505), true), (MS(7_505), true)]);
    }
}
