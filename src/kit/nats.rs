//! The broker client of one service instance, in the shape of the app's
//! `NatsWrapper` singleton: it connects, keeps the session alive with heartbeats
//! (reconnecting and resubscribing when the broker has forgotten it), subscribes the
//! service's listeners as durable members of the service's queue group, and publishes
//! with an acknowledgement, retrying a publish whose ack does not come. It reports each
//! listener's outcome through the harness's probe (the handlers report nothing). On a
//! JetStream broker it can use JetStream's features ([`JetStreamUsage`]): a message id
//! on every publish, a nak or term for a failed or undecodable delivery, in-progress
//! while a handler works, and a publish that expects its subject's last sequence.

use super::event::Payload;
use super::obs::{Obs, Outcome};
use super::protocol::ClientId;
use super::protocol::{Message, Reply};
use super::{App, Event, Group, HandlerError};
use crate::harness::fabric::{Fabric, NodeId};
use crate::harness::sync::Mutex;
use crate::harness::world::Probe;
use crate::harness::BoxFuture;
use crate::kit::origin::{within, Origin};
use futures::channel::oneshot;
use std::collections::BTreeMap;
use std::sync::Arc;
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
    /// What the client asks of a JetStream broker (the default asks nothing: NATS
    /// Streaming's client, or a port to JetStream that uses none of its features).
    pub jetstream: JetStreamUsage,
}

/// The JetStream features a client uses.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JetStreamUsage {
    /// Every publish carries `Nats-Msg-Id`: the event's id.
    pub msg_ids: bool,
    /// The reply to a delivery whose handler failed; `None`: none (ack wait redelivers).
    pub on_failure: Option<Reply>,
    /// The reply to a delivery that cannot be decoded; `None`: none.
    pub on_undecodable: Option<Reply>,
    /// While a handler runs, an in-progress this often (resets the ack timer).
    pub in_progress_every: Option<Duration>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            heartbeat_interval: Duration::from_secs(1),
            publish_timeout: Duration::from_secs(2),
            publish_attempts: 3,
            request_timeout: Duration::from_secs(1),
            jetstream: JetStreamUsage::default(),
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
    waiters: BTreeMap<Waiting<S>, oneshot::Sender<Answer>>,
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

/// A broker's answer to a request: `(seq, store)` (for a connect, `(0, store)`), or a refusal.
type Answer = Result<(u64, u64), Arc<str>>;

/// A delivery to this client, as [`NatsWrapper::on_reply`] hands it to
/// [`NatsWrapper::on_delivery`].
pub struct Delivery<S> {
    subject: S,
    group: Group,
    seq: u64,
    event: Arc<super::event::Event<S>>,
    store_id: u64,
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
        self.listeners.lock().insert(subscription.subject(), subscription);
    }

    /// The broker store of the current session, once connected.
    pub fn store_id(&self) -> Option<u64> {
        self.session.lock().store_id
    }

    fn send(&self, msg: Message<A::Subject>) {
        self.fabric.send(self.node, self.broker, msg);
    }

    async fn request(&self, key: Waiting<A::Subject>, msg: Message<A::Subject>, timeout: Duration) -> Option<Answer> {
        let (tx, rx) = oneshot::channel();
        self.session.lock().waiters.insert(key, tx);
        self.send(msg);
        match crate::harness::timeout(timeout, rx).await {
            Ok(Ok(value)) => Some(value),
            _ => {
                self.session.lock().waiters.remove(&key);
                None
            }
        }
    }

    /// The session loop: connect, subscribe every listener, then heartbeats until the
    /// broker forgets this client, and again. Runs for the life of the instance.
    pub async fn run_session(self: Arc<Self>) {
        'session: loop {
            self.session.lock().forgotten = false;
            while self
                .request(Waiting::Connected, Message::Connect { client: self.client_id.clone() }, self.config.request_timeout)
                .await
                .is_none()
            {}
            let subscriptions: Vec<(A::Subject, Group)> = self.listeners.lock().keys().map(|s| (*s, self.group)).collect();
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
        self.session.lock().forgotten
    }

    /// `Publisher.publish`: resolves once the broker acks.
    pub async fn publish(&self, event: Arc<Event<A>>) -> Result<Published, PublishError> {
        self.publish_expecting(event, None).await
    }

    /// A publish that JetStream stores only if `expect_last` is its subject's last
    /// sequence (`Nats-Expected-Last-Subject-Sequence`): a mismatch fails at once with
    /// the broker's words (error 10071). With message ids on, a retry the broker
    /// already stored is acked as a duplicate, not stored again.
    pub async fn publish_expecting(&self, event: Arc<Event<A>>, expect_last: Option<u64>) -> Result<Published, PublishError> {
        let msg_id = self.config.jetstream.msg_ids.then(|| event.event_id.clone());
        for _ in 0..self.config.publish_attempts {
            let publish_id = {
                let mut session = self.session.lock();
                session.next_publish_id += 1;
                session.next_publish_id
            };
            let msg =
                Message::Publish { client: self.client_id.clone(), publish_id, event: event.clone(), msg_id: msg_id.clone(), expect_last };
            match self.request(Waiting::Publish(publish_id), msg, self.config.publish_timeout).await {
                Some(Ok((seq, store_id))) => return Ok(Published { seq, store_id }),
                Some(Err(refused)) => return Err(PublishError(format!("{}: {refused}", event.event_id).into())),
                None => {}
            }
        }
        Err(PublishError(event.event_id.clone()))
    }

    /// Store ids only grow: a late reply from a store that is gone does not count.
    fn store_seen(&self, store_id: u64) {
        let mut session = self.session.lock();
        session.store_id = Some(session.store_id.map_or(store_id, |seen| seen.max(store_id)));
    }

    fn wake(&self, key: Waiting<A::Subject>, value: Answer) {
        if let Some(tx) = self.session.lock().waiters.remove(&key) {
            let _ = tx.send(value);
        }
    }

    /// Handles a broker message addressed to this client that runs no listener (session
    /// replies, publish answers) at once; a delivery is handed back, for
    /// [`NatsWrapper::on_delivery`].
    pub fn on_reply(&self, msg: Message<A::Subject>) -> Option<Delivery<A::Subject>> {
        match msg {
            Message::Connected { store_id, .. } => {
                self.store_seen(store_id);
                self.wake(Waiting::Connected, Ok((0, store_id)));
            }
            Message::Subscribed { subject, group } => self.wake(Waiting::Subscribed(subject, group), Ok((0, 0))),
            Message::PublishAck { publish_id, seq, store_id, .. } => self.wake(Waiting::Publish(publish_id), Ok((seq, store_id))),
            Message::PublishRejected { publish_id, code, description } => {
                self.wake(Waiting::Publish(publish_id), Err(format!("error {code}, {description}").into()))
            }
            Message::HeartbeatAck { known: true, store_id } => self.store_seen(store_id),
            Message::HeartbeatAck { known: false, .. } | Message::UnknownClient { .. } => self.session.lock().forgotten = true,
            Message::Deliver { subject, group, seq, event, store_id, .. } => {
                return Some(Delivery { subject, group, seq, event, store_id })
            }
            _ => {}
        }
        None
    }

    /// Runs the listener of a delivery addressed to this client and acks on success.
    pub async fn on_delivery(&self, delivery: Delivery<A::Subject>) {
        let Delivery { subject, group, seq, event, store_id } = delivery;
        let Some(listener) = self.listeners.lock().get(&subject).cloned() else {
            return;
        };
        let event_id = event.event_id.clone();
        let working = self.keep_working(subject, group, seq, store_id);
        let outcome = within(Origin::Event(event_id.clone()), listener.handle(event)).await;
        working.store(true, std::sync::atomic::Ordering::Relaxed);
        let reply = match &outcome {
            Outcome::Acked => Some(Reply::Ack),
            Outcome::Failed(_) => self.config.jetstream.on_failure,
            Outcome::Undecodable(_) => self.config.jetstream.on_undecodable,
        };
        self.probe.observe(Obs::Handled { subject, group, seq, event_id, outcome });
        if let Some(reply) = reply {
            self.send(Message::Ack { client: self.client_id.clone(), subject, group, seq, store_id, reply });
        }
    }

    /// With in-progress on, a task that tells the broker the handler still works on
    /// `seq` until the returned flag is set.
    fn keep_working(&self, subject: A::Subject, group: Group, seq: u64, store_id: u64) -> Arc<std::sync::atomic::AtomicBool> {
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        if let Some(every) = self.config.jetstream.in_progress_every {
            let (flag, fabric, node, broker, client) = (done.clone(), self.fabric.clone(), self.node, self.broker, self.client_id.clone());
            crate::harness::cause::spawn(async move {
                loop {
                    crate::harness::sleep(every).await;
                    if flag.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let reply = Reply::InProgress;
                    fabric.send(node, broker, Message::Ack { client: client.clone(), subject, group, seq, store_id, reply });
                }
            });
        }
        done
    }
}
