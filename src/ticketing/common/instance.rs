//! A service instance on a node: routes requests to the service's HTTP handlers and
//! broker traffic to its `NatsWrapper`; and [`Emit`], the two ways a service announces
//! a write (publish after the save, or through the outbox).

use super::nats::{Listener, NatsWrapper};
use super::outbox::{relay_now, sweep_forever, HasOutbox, Outbox};
use super::store::Db;
use super::HandlerError;
use crate::harness::choices::Choices;
use crate::harness::fabric::{Actor, Fabric, NodeIdx};
use crate::harness::BoxFuture;
use crate::ticketing::domain::Event;
use crate::ticketing::flaws::Flaws;
use crate::ticketing::protocol::{HttpRequest, HttpResponse, Message};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// A service's HTTP routes.
pub trait HttpService: Send + Sync + 'static {
    fn handle(self: Arc<Self>, req: Arc<HttpRequest>) -> BoxFuture<HttpResponse>;
}

/// One incarnation of a service instance on its node.
pub struct Instance {
    pub node: NodeIdx,
    pub fabric: Fabric<Message>,
    pub nats: Arc<NatsWrapper>,
    pub http: Option<Arc<dyn HttpService>>,
}

impl Actor<Message> for Instance {
    fn receive(self: Arc<Self>, from: NodeIdx, msg: Message) -> BoxFuture {
        match msg {
            Message::Request(req) => Box::pin(async move {
                let Some(http) = self.http.clone() else {
                    return;
                };
                let origin = crate::ticketing::origin::Origin::Request(req.id);
                let response = crate::ticketing::origin::within(origin, http.handle(req)).await;
                self.fabric.send(self.node, from, Message::Response(Arc::new(response)));
            }),
            other => Box::pin(async move { self.nats.on_broker_message(other).await }),
        }
    }
}

/// Settings of the app that scenarios may change.
#[derive(Clone, Debug)]
pub struct AppConfig {
    pub flaws: Flaws,
    /// `expiresAt = now + expiration_window` for new orders.
    pub expiration_window: Duration,
    /// How long the accounts handler works on an event, drawn per event.
    pub accounts_processing: (Duration, Duration),
    /// Test-only: a bug planted outside the switches (see [`crate::ticketing::flaws::Planted`]).
    pub planted: Option<crate::ticketing::flaws::Planted>,
}

/// What an instance needs to start on its node.
pub struct InstanceEnv {
    pub node: NodeIdx,
    pub name: Arc<str>,
    pub fabric: Fabric<Message>,
    pub nats: Arc<NatsWrapper>,
    pub app: AppConfig,
    /// For handlers' own work time (not store round trips).
    pub choices: Choices,
}

impl InstanceEnv {
    pub fn emit(&self) -> Emit {
        Emit { nats: Arc::downgrade(&self.nats), outbox: !self.app.flaws.on(crate::ticketing::flaws::Flaw::NoOutbox) }
    }

    /// Subscribes the listeners, starts the broker session, and returns the instance to attach.
    pub fn start(&self, http: Option<Arc<dyn HttpService>>, listen: impl FnOnce(&NatsWrapper)) -> Arc<Instance> {
        listen(&self.nats);
        crate::harness::cause::spawn(self.nats.clone().run_session());
        Arc::new(Instance { node: self.node, fabric: self.fabric.clone(), nats: self.nats.clone(), http })
    }

    /// Starts this instance's outbox sweeper (hardened only).
    pub fn relay<S: HasOutbox>(&self, db: &Db<S>) {
        if self.emit().outbox {
            crate::harness::cause::spawn(sweep_forever(db.clone(), self.nats.clone()));
        }
    }
}

/// Subscribes a listener (shorthand for [`InstanceEnv::start`]'s closure).
pub fn listen<L: Listener>(nats: &NatsWrapper, listener: L) {
    nats.listen(Arc::new(listener));
}

/// How a service announces its writes: as built, it publishes after the save
/// (`no-outbox`); hardened, the event joins the save's transaction in the outbox.
/// It holds the client weakly: the client holds the listeners that hold the service.
#[derive(Clone)]
pub struct Emit {
    pub nats: Weak<NatsWrapper>,
    pub outbox: bool,
}

/// Events staged inside a transaction, to be sent once it has committed.
#[derive(Default)]
pub struct Staged {
    events: Vec<Arc<Event>>,
    entries: Vec<(u64, Arc<Event>)>,
}

impl Emit {
    /// Inside a transaction: puts `event` in the outbox when there is one.
    pub fn stage(&self, outbox: &mut Outbox, staged: &mut Staged, event: Arc<Event>) {
        if self.outbox {
            let id = outbox.push(event.clone());
            staged.entries.push((id, event.clone()));
        }
        staged.events.push(event);
    }

    /// Publishes without waiting and without the outbox: a failure goes unnoticed.
    pub fn publish_unawaited(&self, event: Arc<Event>) {
        if let Some(nats) = self.nats.upgrade() {
            crate::harness::cause::spawn(async move {
                let _ = nats.publish(event).await;
            });
        }
    }

    /// After the commit, as the app's routes do: publish without awaiting (a failure
    /// goes unnoticed), or hand the entries to the outbox relay.
    pub fn publish<S: HasOutbox>(&self, db: &Db<S>, staged: Staged) {
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
    pub async fn publish_awaited<S: HasOutbox>(&self, db: &Db<S>, staged: Staged) -> Result<(), HandlerError> {
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
