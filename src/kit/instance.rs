//! A service instance on a node: routes requests to the service's HTTP handlers and
//! broker traffic to its `NatsWrapper`; and [`Emit`], the two ways a service announces
//! a write (publish after the save, or through the outbox).

use super::event::Payload;
use super::nats::{Listener, NatsWrapper};
use super::outbox::{relay_now, sweep_forever, HasOutbox, Outbox};
use super::protocol::Message;
use super::protocol::{HttpRequest, HttpResponse};
use super::remote::Outbound;
use super::store::Db;
use super::{App, Event, HandlerError};
use crate::harness::choices::Choices;
use crate::harness::fabric::{handled, Actor, Fabric, NodeId};
use crate::harness::BoxFuture;
use crate::kit::origin::{within, Origin};
use std::sync::{Arc, Weak};

/// A service's HTTP routes.
pub trait HttpService: Send + Sync + 'static {
    fn handle(self: Arc<Self>, req: Arc<HttpRequest>) -> BoxFuture<HttpResponse>;
}

/// One incarnation of a service instance on its node.
pub struct Instance<A: App> {
    pub node: NodeId,
    pub fabric: Fabric<Message<A::Subject>>,
    pub nats: Arc<NatsWrapper<A>>,
    pub http: Option<Arc<dyn HttpService>>,
    /// Its calls to remote parties, waiting for their responses.
    pub outbound: Arc<Outbound<A>>,
}

impl<A: App> Actor<Message<A::Subject>> for Instance<A> {
    fn receive(self: Arc<Self>, from: NodeId, msg: Message<A::Subject>) -> BoxFuture {
        match msg {
            Message::Request(req) => Box::pin(async move {
                let Some(http) = self.http.clone() else {
                    return;
                };
                let response = within(Origin::Request(req.id), http.handle(req)).await;
                self.fabric.send(self.node, from, Message::Response(Arc::new(response)));
            }),
            // A remote party's response and a reply run at once (the delivery's poll is
            // this call's); only a request and a delivery await their handlers.
            Message::Response(response) => {
                self.outbound.complete(response);
                handled()
            }
            other => match self.nats.on_reply(other) {
                Some(deliver) => Box::pin(async move { self.nats.on_delivery(deliver).await }),
                None => handled(),
            },
        }
    }
}

/// What an instance needs to start on its node.
pub struct InstanceEnv<A: App> {
    pub node: NodeId,
    pub name: Arc<str>,
    pub fabric: Fabric<Message<A::Subject>>,
    pub nats: Arc<NatsWrapper<A>>,
    pub app: A::Config,
    /// Whether writes are announced through the outbox (else published after the save).
    pub outbox: bool,
    /// For handlers' own work time (not store round trips).
    pub choices: Choices,
    /// The instance's calls to remote parties.
    pub outbound: Arc<Outbound<A>>,
}

impl<A: App> InstanceEnv<A> {
    pub fn emit(&self) -> Emit<A> {
        Emit { nats: Arc::downgrade(&self.nats), outbox: self.outbox }
    }

    /// Subscribes the listeners, starts the broker session, and returns the instance to attach.
    pub fn start(&self, http: Option<Arc<dyn HttpService>>, listen: impl FnOnce(&NatsWrapper<A>)) -> Arc<Instance<A>> {
        listen(&self.nats);
        crate::harness::cause::spawn(self.nats.clone().run_session());
        Arc::new(Instance { node: self.node, fabric: self.fabric.clone(), nats: self.nats.clone(), http, outbound: self.outbound.clone() })
    }

    /// Starts this instance's outbox sweeper (hardened only).
    pub fn relay<S: HasOutbox<A>>(&self, db: &Db<S>) {
        if self.outbox {
            crate::harness::cause::spawn(sweep_forever(db.clone(), self.nats.clone()));
        }
    }
}

/// Subscribes a listener (shorthand for [`InstanceEnv::start`]'s closure).
pub fn listen<A: App, L: Listener>(nats: &NatsWrapper<A>, listener: L)
where
    L::Event: Payload<Subject = A::Subject>,
{
    nats.listen(Arc::new(listener));
}

/// How a service announces its writes: as built, it publishes after the save
/// (`no-outbox`); hardened, the event joins the save's transaction in the outbox.
/// It holds the client weakly: the client holds the listeners that hold the service.
pub struct Emit<A: App> {
    pub nats: Weak<NatsWrapper<A>>,
    pub outbox: bool,
}

impl<A: App> Clone for Emit<A> {
    fn clone(&self) -> Self {
        Emit { nats: self.nats.clone(), outbox: self.outbox }
    }
}

/// Events staged inside a transaction, to be sent once it has committed.
pub struct Staged<A: App> {
    events: Vec<Arc<Event<A>>>,
    entries: Vec<(u64, Arc<Event<A>>)>,
}

impl<A: App> Default for Staged<A> {
    fn default() -> Self {
        Staged { events: Vec::new(), entries: Vec::new() }
    }
}

impl<A: App> Emit<A> {
    /// Inside a transaction: puts `event` in the outbox when there is one.
    pub fn stage(&self, outbox: &mut Outbox<A>, staged: &mut Staged<A>, event: Arc<Event<A>>) {
        if self.outbox {
            let id = outbox.push(event.clone());
            staged.entries.push((id, event.clone()));
        }
        staged.events.push(event);
    }

    /// Publishes without waiting and without the outbox: a failure goes unnoticed.
    pub fn publish_unawaited(&self, event: Arc<Event<A>>) {
        if let Some(nats) = self.nats.upgrade() {
            crate::harness::cause::spawn(async move {
                let _ = nats.publish(event).await;
            });
        }
    }

    /// After the commit, as the app's routes do: publish without awaiting (a failure
    /// goes unnoticed), or hand the entries to the outbox relay.
    pub fn publish<S: HasOutbox<A>>(&self, db: &Db<S>, staged: Staged<A>) {
        let Some(nats) = self.nats.upgrade() else { return };
        if self.outbox {
            relay_now(db, &nats, staged.entries);
            return;
        }
        for event in staged.events {
            let nats = nats.clone();
            crate::harness::cause::spawn(async move {
                let _ = nats.publish(event).await;
            });
        }
    }

    /// After the commit, as the app's listeners do: await each publish (a failure is
    /// the handler's error, so the message is not acked), or hand them to the relay.
    pub async fn publish_awaited<S: HasOutbox<A>>(&self, db: &Db<S>, staged: Staged<A>) -> Result<(), HandlerError> {
        let Some(nats) = self.nats.upgrade() else { return Err(HandlerError::new("the instance is shutting down")) };
        if self.outbox {
            relay_now(db, &nats, staged.entries);
            return Ok(());
        }
        for event in staged.events {
            nats.publish(event).await.map_err(|e| HandlerError::new(format!("publish of {} failed", e.0)))?;
        }
        Ok(())
    }
}
