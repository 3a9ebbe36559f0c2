//! The broker client of one service instance, in the shape of the app's
//! `NatsWrapper` singleton: it connects, keeps the session alive with heartbeats
//! (reconnecting and resubscribing when the broker has forgotten it), subscribes the
//! service's listeners as durable queue-group members, and publishes with an
//! acknowledgement, retrying a publish whose ack does not come.

use super::{BoxFut, HandlerError};
use crate::proto::{ClientId, Event, Group, Message, Subject};
use crate::sim::fabric::{Fabric, NodeIdx};
use futures::channel::oneshot;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The Listener base class: a subject, a queue group, and `on_message`. Returning
/// `Ok` acks the message; an error leaves it unacked, to be redelivered after ack wait.
pub trait Listener: Send + Sync + 'static {
    fn subject(&self) -> Subject;
    fn queue_group(&self) -> Group;
    fn on_message(self: Arc<Self>, event: Arc<Event>) -> BoxFut<Result<(), HandlerError>>;
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
enum Waiting {
    Connected,
    Subscribed(Subject, Group),
    Publish(u64),
}

#[derive(Default)]
struct Session {
    next_publish_id: u64,
    waiters: BTreeMap<Waiting, oneshot::Sender<(u64, u64)>>,
    /// The broker store this session last saw; a new one means the broker lost its data.
    store_id: Option<u64>,
    /// Set when the broker says it does not know this client.
    forgotten: bool,
}

/// The per-instance broker client.
pub struct NatsWrapper {
    pub client_id: ClientId,
    node: NodeIdx,
    broker: NodeIdx,
    fabric: Fabric<Message>,
    config: ClientConfig,
    listeners: Mutex<BTreeMap<Subject, Arc<dyn Listener>>>,
    session: Mutex<Session>,
}

/// A publish the broker acknowledged: its channel sequence and the store that holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Published {
    pub seq: u64,
    pub store_id: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishError(pub Arc<str>);

impl NatsWrapper {
    pub fn new(client_id: ClientId, node: NodeIdx, broker: NodeIdx, fabric: Fabric<Message>, config: ClientConfig) -> Self {
        NatsWrapper { client_id, node, broker, fabric, config, listeners: Mutex::default(), session: Mutex::default() }
    }

    /// Registers a listener; it is subscribed when the session (re)connects.
    pub fn listen(&self, listener: Arc<dyn Listener>) {
        self.listeners.lock().unwrap().insert(listener.subject(), listener);
    }

    /// The broker store of the current session, once connected.
    pub fn store_id(&self) -> Option<u64> {
        self.session.lock().unwrap().store_id
    }

    fn send(&self, msg: Message) {
        self.fabric.send(self.node, self.broker, msg);
    }

    async fn request(&self, key: Waiting, msg: Message, timeout: Duration) -> Option<(u64, u64)> {
        let (tx, rx) = oneshot::channel();
        self.session.lock().unwrap().waiters.insert(key, tx);
        self.send(msg);
        match madsim::time::timeout(timeout, rx).await {
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
            let subscriptions: Vec<(Subject, Group)> =
                self.listeners.lock().unwrap().values().map(|l| (l.subject(), l.queue_group())).collect();
            for (subject, group) in subscriptions {
                let subscribe = Message::Subscribe { client: self.client_id.clone(), subject, group };
                while self.request(Waiting::Subscribed(subject, group), subscribe.clone(), self.config.request_timeout).await.is_none() {
                    if self.forgotten() {
                        continue 'session;
                    }
                }
            }
            loop {
                madsim::time::sleep(self.config.heartbeat_interval).await;
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
    pub async fn publish(&self, event: Arc<Event>) -> Result<Published, PublishError> {
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

    fn wake(&self, key: Waiting, value: (u64, u64)) {
        if let Some(tx) = self.session.lock().unwrap().waiters.remove(&key) {
            let _ = tx.send(value);
        }
    }

    /// Handles a broker message addressed to this client. Deliveries run the listener
    /// and ack on success.
    pub async fn on_broker_message(&self, msg: Message) {
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
                if listener.on_message(event).await.is_ok() {
                    self.send(Message::Ack { client: self.client_id.clone(), subject, group, seq, store_id });
                }
            }
            _ => {}
        }
    }
}
