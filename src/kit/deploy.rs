//! Declaring an app's world from kit pieces: the broker node, one node per service
//! instance (each incarnation a new broker client), and the users' node with the
//! ingress client. `System::build` of an app on the kit calls these in order.

use super::broker::{BrokerConfig, Outstanding};
use super::broker_node::{BrokerNode, Machine, StoreIds};
use super::ingress::{Client, Routed};
use super::instance::HttpService;
use super::instance::{Instance, InstanceEnv};
use super::nats::{ClientConfig, NatsWrapper};
use super::obs::Obs;
use super::protocol::Message;
use super::remote::Outbound;
use super::{App, Group, Id};
use crate::harness::fabric::Fabric;
use crate::harness::fabric::{Actor, NodeId};
use crate::harness::sync::Mutex;
use crate::harness::world::{NodeRole, WorldBuilder};
use crate::harness::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

/// The world an app on the kit is declared in.
pub type World<A> = WorldBuilder<Message<<A as App>::Subject>, Obs<A>>;

/// A world's broker: its node, and its state (which outlives the node's incarnations).
pub struct Broker<A: App> {
    pub node: NodeId,
    pub state: Arc<Mutex<Machine<A::Subject>>>,
}

impl<A: App> Clone for Broker<A> {
    fn clone(&self) -> Self {
        Broker { node: self.node, state: self.state.clone() }
    }
}

impl<A: App> Broker<A> {
    /// Declares the broker node, named `broker`, an infrastructure node.
    pub fn declare(world: &mut World<A>, config: BrokerConfig) -> Broker<A> {
        let state = Arc::new(Mutex::new(Machine::new(config.kind, 1)));
        let store_ids = Arc::new(StoreIds::default());
        let kept = state.clone();
        let node = world.node("broker", NodeRole::Infrastructure, move |ctx| {
            BrokerNode::<A>::start(ctx, &config, &kept, &store_ids) as Arc<dyn Actor<Message<A::Subject>>>
        });
        Broker { node, state }
    }

    /// What each of `consumers`' groups has not acknowledged, by subject and group.
    pub fn outstanding(&self, consumers: &[(A::Subject, Group)]) -> Vec<Outstanding<A::Subject>> {
        let broker = self.state.lock();
        let mut outstanding = Vec::new();
        for &(subject, group) in consumers {
            outstanding.extend(broker.outstanding(subject, group));
        }
        outstanding
    }
}

/// How an instance starts on its service's opened store.
pub type Starter<A> = Arc<dyn Fn(&InstanceEnv<A>) -> Arc<Instance<A>> + Send + Sync>;

/// A service to deploy: `instances` nodes named `NAME-1`, `NAME-2`, ...
pub struct Service<A: App> {
    pub name: &'static str,
    /// Its durable queue group.
    pub group: Group,
    pub instances: u32,
    /// Whether it announces writes through the outbox.
    pub outbox: bool,
    pub config: A::Config,
    /// Its instances' broker client settings.
    pub client: ClientConfig,
    pub start: Starter<A>,
}

/// Declares one node per instance of `service`; each incarnation is a new broker
/// client (`orders-1#2` after the first restart) with the service's client settings.
pub fn instances<A: App>(world: &mut World<A>, broker: NodeId, service: Service<A>) -> Vec<NodeId> {
    let choices = world.choices();
    (0..service.instances)
        .map(|i| {
            let (start, config, choices, group, outbox, client) =
                (service.start.clone(), service.config.clone(), choices.clone(), service.group, service.outbox, service.client.clone());
            world.node(&format!("{}-{}", service.name, i + 1), NodeRole::Service, move |ctx| {
                let client_id: Id = format!("{}#{}", ctx.name, ctx.incarnation).into();
                let nats = NatsWrapper::new(client_id, ctx.idx, broker, ctx.fabric.clone(), client.clone(), group, ctx.probe.clone());
                let env = InstanceEnv {
                    node: ctx.idx,
                    name: ctx.name.clone(),
                    fabric: ctx.fabric.clone(),
                    nats: Arc::new(nats),
                    app: config.clone(),
                    outbox,
                    choices: choices.clone(),
                    outbound: Arc::new(Outbound::<A>::new(ctx.idx, ctx.incarnation, ctx.fabric.clone())),
                };
                start(&env) as Arc<dyn Actor<Message<A::Subject>>>
            })
        })
        .collect()
}

/// A remote party's node: serves every request with its HTTP handler.
pub struct Remote<A: App> {
    pub node: NodeId,
    pub fabric: Fabric<Message<A::Subject>>,
    pub http: Arc<dyn HttpService>,
}

impl<A: App> Actor<Message<A::Subject>> for Remote<A> {
    fn receive(self: Arc<Self>, from: NodeId, msg: Message<A::Subject>) -> BoxFuture {
        Box::pin(async move {
            if let Message::Request(req) = msg {
                let response = self.http.clone().handle(req).await;
                self.fabric.send(self.node, from, Message::Response(Arc::new(response)));
            }
        })
    }
}

/// Declares a remote party's node named `name` (infrastructure: restarted and cut off,
/// never paused), serving requests with what `start` builds for each incarnation.
pub fn remote<A: App>(world: &mut World<A>, name: &str, start: impl Fn() -> Arc<dyn HttpService> + Send + Sync + 'static) -> NodeId {
    world.node(name, NodeRole::Infrastructure, move |ctx| {
        Arc::new(Remote::<A> { node: ctx.idx, fabric: ctx.fabric.clone(), http: start() }) as Arc<dyn Actor<Message<A::Subject>>>
    })
}

/// Declares the users' node (`users`), with the ingress client reaching `services`;
/// returns the client, which the workload calls.
pub fn users<A: App>(world: &mut World<A>, reliable: bool, broker: NodeId, services: Vec<Routed>, timeout: Duration) -> Arc<Client<A>> {
    let (fabric, probe, choices) = (world.fabric(), world.probe(), world.choices());
    let mut client = None;
    world.users("users", reliable, |idx| {
        let c = Arc::new(Client::new(idx, fabric, probe, choices, broker, services, timeout));
        client = Some(c.clone());
        c as Arc<dyn Actor<Message<A::Subject>>>
    });
    client.expect("the users node was declared")
}

/// The longest retry period of the kit's own mechanisms under `broker`: an unacked
/// message redelivered after ack wait (found by the broker's tick), a dead
/// incarnation's messages handed to another member once it misses heartbeats, the
/// outbox sweeper re-publishing an entry left unsent; on JetStream, the longest
/// BackOff delay. An app's settle window is at least this, plus its own retry periods
/// and its slowest handler.
pub fn longest_retry_period(broker: &BrokerConfig) -> Duration {
    let client = ClientConfig::default();
    let publish = client.publish_timeout * client.publish_attempts;
    let backoff = match broker.kind {
        super::broker::BrokerKind::JetStream => broker.jetstream.backoff.iter().max().copied().unwrap_or_default(),
        super::broker::BrokerKind::Streaming => Duration::ZERO,
    };
    [
        broker.ack_wait.max(backoff) + broker.tick,
        broker.dead_client_timeout + broker.tick + client.heartbeat_interval + client.request_timeout * 2,
        super::outbox::SWEEP_INTERVAL + super::outbox::SWEEP_AGE + publish,
    ]
    .into_iter()
    .max()
    .unwrap_or_default()
}
