//! The broker client of one service instance, in the shape of the app's
//! `NatsWrapper` singleton: it connects, keeps the session alive with heartbeats
//! (reconnecting and resubscribing when the broker has forgotten it), subscribes the
//! service's listeners as durable members of the service's queue group, and publishes
//! with an acknowledgement, retrying a publish whose ack does not come. It reports each
//! listener's outcome through the harness's probe (the handlers report nothing).

use super::event::Payload;
use super::obs::{Obs, Outcome};
use super::protocol::ClientId;
use super::protocol::Message;
use super::{App, Event, Group, HandlerError};
use crate::harness::fabric::{Fabric, NodeId};
use crate::harness::world::Probe;
use crate::harness::BoxFuture;
use crate::kit::origin::{within, Origin};
use futures::channel::oneshot;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The Listener base class: the event type it handles (which fixes its subject) and
/// `on_message`. Returning `Ok` acks the message; an error leaves it unacked, to be
/// redelivered after ack wait. A payload that does not decode as `Event` is never
/// handed to it: that is a decode failure, not acked.
pub trait Listener: Send + Sync + 'static {
    type Event: Payload;
    fn on_message(self: Arc<Self>, data: Self::Event) -> BoxFuture<Result<(), HandlerError>>;
}

/// A listener behind its decoder.
trait Subscription<A: App>: Send + Sync + 'static {
    fn subject(&self) -> A::Subject;
    fn handle(&self, event: Arc<Event<A>>) -> BoxFuture<Outcome>;
}

struct Typed<L: Listener>(Arc<L>);

impl<A: App, L: Listener> Subscription<A> for Typed<L>
where
    L::Event: Payload<Subject = A::Subject>,
{
    fn subject(&self) -> A::Subject {
        L::Event::SUBJECT
    }

    fn handle(&self, event: Arc<Event<A>>) -> BoxFuture<Outcome> {
        match event.decode::<L::Event>() {
            Err(why) => Box::pin(std::future::ready(Outcome::Undecodable(why))),
            Ok(data) => {
                let handled = self.0.clone().on_message(data);
                Box::pin(async move {
                    match handled.await {
                        Ok(()) => Outcome::Acked,
                        Err(e) => Outcome::Failed(e.0),
                    }
                })
            }
        }
    }
}

#[derive(Clone, Debug)]
pub struct ClientConfig {
    pub heartbeat_interval: Duration,
    /// How long a publish waits for the broker's ack before it is sent again.
    pub publish_timeout: Duration,
    /// Sends of one publish before it fails.
    pub publish_attempts: u32,
    /// How long a connect or subscribe waits for its reply before it is sent again.
    pub request_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            heartbeat_interval: Duration::from_secs(1),
            publish_timeout: Duration::from_secs(2),
            publish_attempts: 3,
            request_timeout: Duration::from_secs(1),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Waiting<S> {
    Connected,
    Subscribed(S, Group),
    Publish(u64),
}

struct Session<S> {
    next_publish_id: u64,
    waiters: BTreeMap<Waiting<S>, oneshot::Sender<(u64, u64)>>,
    /// The broker store this session last saw; a new one means the broker lost its data.
    store_id: Option<u64>,
    /// Set when the broker says it does not know this client.
    forgotten: bool,
}

impl<S> Default for Session<S> {
    fn default() -> Self {
        Session { next_publish_id: 0, waiters: BTreeMap::new(), store_id: None, forgotten: false }
    }
}

/// The per-instance broker client.
pub struct NatsWrapper<A: App> {
    pub client_id: ClientId,
    node: NodeId,
    broker: NodeId,
    fabric: Fabric<Message<A::Subject>>,
    config: ClientConfig,
    /// The service's durable queue group.
    group: Group,
    probe: Probe<Obs<A>>,
    listeners: Mutex<BTreeMap<A::Subject, Arc<dyn Subscription<A>>>>,
    session: Mutex<Session<A::Subject>>,
}

/// A publish the broker acknowledged: its channel sequence and the store that holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Published {
    pub seq: u64,
    pub store_id: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishError(pub Arc<str>);

impl<A: App> NatsWrapper<A> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client_id: ClientId,
        node: NodeId,
        broker: NodeId,
        fabric: Fabric<Message<A::Subject>>,
        config: ClientConfig,
        group: Group,
        probe: Probe<Obs<A>>,
    ) -> Self {
        NatsWrapper { client_id, node, broker, fabric, config, group, probe, listeners: Mutex::default(), session: Mutex::default() }
    }

    /// Registers a listener; it is subscribed when the session (re)connects.
    pub fn listen<L: Listener>(&self, listener: Arc<L>)
    where
        L::Event: Payload<Subject = A::Subject>,
    {
        let subscription: Arc<dyn Subscription<A>> = Arc::new(Typed(listener));
        self.listeners.lock().unwrap().insert(subscription.subject(), subscription);
    }

    /// The broker store of the current session, once connected.
    pub fn store_id(&self) -> Option<u64> {
        self.session.lock().unwrap().store_id
    }

    fn send(&self, msg: Message<A::Subject>) {
        self.fabric.send(self.node, self.broker, msg);
    }

    async fn request(&self, key: Waiting<A::Subject>, msg: Message<A::Subject>, timeout: Duration) -> Option<(u64, u64)> {
        let (tx, rx) = oneshot::channel();
        self.session.lock().unwrap().waiters.insert(key, tx);
        self.send(msg);
        match crate::harness::timeout(timeout, rx).await {
            Ok(Ok(value)) => Some(value),
            _ => {
                self.session.lock().unwrap().waiters.remove(&key);
                None
            }
        }
    }

    /// The session loop: connect, subscribe every listener, then heartbeats until the
    /// broker forgets this client, and again. Runs for the life of the instance.
    pub async fn run_session(self: Arc<Self>) {
        'session: loop {
            self.session.lock().unwrap().forgotten = false;
            while self
                .request(Waiting::Connected, Message::Connect { client: self.client_id.clone() }, self.config.request_timeout)
                .await
                .is_none()
            {}
            let subscriptions: Vec<(A::Subject, Group)> = self.listeners.lock().unwrap().keys().map(|s| (*s, self.group)).collect();
            for (subject, group) in subscriptions {
                let subscribe = Message::Subscribe { client: self.client_id.clone(), subject, group };
                while self.request(Waiting::Subscribed(subject, group), subscribe.clone(), self.config.request_timeout).await.is_none() {
                    if self.forgotten() {
                        continue 'session;
                    }
                }
            }
            loop {
                crate::harness::sleep(self.config.heartbeat_interval).await;
                if self.forgotten() {
                    continue 'session;
                }
                self.send(Message::Heartbeat { client: self.client_id.clone() });
            }
        }
    }

    fn forgotten(&self) -> bool {
        self.session.lock().unwrap().forgotten
    }

    /// `Publisher.publish`: resolves once the broker acks.
    pub async fn publish(&self, event: Arc<Event<A>>) -> Result<Published, PublishError> {
        for _ in 0..self.config.publish_attempts {
            let publish_id = {
                let mut session = self.session.lock().unwrap();
                session.next_publish_id += 1;
                session.next_publish_id
            };
            let msg = Message::Publish { client: self.client_id.clone(), publish_id, event: event.clone() };
            if let Some((seq, store_id)) = self.request(Waiting::Publish(publish_id), msg, self.config.publish_timeout).await {
                return Ok(Published { seq, store_id });
            }
        }
        Err(PublishError(event.event_id.clone()))
    }

    /// Store ids only grow: a late reply from a store that is gone does not count.
    fn store_seen(&self, store_id: u64) {
        let mut session = self.session.lock().unwrap();
        session.store_id = Some(session.store_id.map_or(store_id, |seen| seen.max(store_id)));
    }

    fn wake(&self, key: Waiting<A::Subject>, value: (u64, u64)) {
        if let Some(tx) = self.session.lock().unwrap().waiters.remove(&key) {
            let _ = tx.send(value);
        }
    }

    /// Handles a broker message addressed to this client. Deliveries run the listener
    /// and ack on success.
    pub async fn on_broker_message(&self, msg: Message<A::Subject>) {
        match msg {
            Message::Connected { store_id, .. } => {
                self.store_seen(store_id);
                self.wake(Waiting::Connected, (0, store_id));
            }
            Message::Subscribed { subject, group } => self.wake(Waiting::Subscribed(subject, group), (0, 0)),
            Message::PublishAck { publish_id, seq, store_id } => self.wake(Waiting::Publish(publish_id), (seq, store_id)),
            Message::HeartbeatAck { known: true, store_id } => self.store_seen(store_id),
            Message::HeartbeatAck { known: false, .. } | Message::UnknownClient { .. } => self.session.lock().unwrap().forgotten = true,
            Message::Deliver { subject, group, seq, event, store_id, .. } => {
                let Some(listener) = self.listeners.lock().unwrap().get(&subject).cloned() else {
                    return;
                };
                let event_id = event.event_id.clone();
                let outcome = within(Origin::Event(event_id.clone()), listener.handle(event)).await;
                let acked = outcome == Outcome::Acked;
                self.probe.observe(Obs::Handled { subject, group, seq, event_id, outcome });
                if acked {
                    self.send(Message::Ack { client: self.client_id.clone(), subject, group, seq, store_id });
                }
            }
            _ => {}
        }
    }
}
