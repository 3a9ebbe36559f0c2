//! A service instance on a node: routes requests to the service's HTTP handlers and
//! broker traffic to its `NatsWrapper`; and [`Emit`], the two ways a service
//! announces a write (publish after the save, or through the outbox).

use super::nats::NatsWrapper;
use super::outbox::{relay_now, HasOutbox, Outbox};
use super::store::{Db, Writes};
use super::{BoxFut, HandlerError};
use crate::proto::{Event, HttpRequest, HttpResponse, Message};
use crate::sim::fabric::{Actor, BoxFuture, Fabric, NodeIdx};
use std::sync::{Arc, Weak};

/// A service's HTTP routes.
pub trait HttpService: Send + Sync + 'static {
    fn handle(self: Arc<Self>, req: Arc<HttpRequest>) -> BoxFut<HttpResponse>;
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
                let response = http.handle(req).await;
                self.fabric.send(self.node, from, Message::Response(Arc::new(response)));
            }),
            other => Box::pin(async move { self.nats.on_broker_message(other).await }),
        }
    }
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
    pub fn stage(&self, outbox: &mut Outbox, w: &mut Writes, staged: &mut Staged, event: Arc<Event>) {
        if self.outbox {
            let id = outbox.push(event.clone(), w);
            staged.entries.push((id, event.clone()));
        }
        staged.events.push(event);
    }

    /// Publishes without waiting and without the outbox: a failure goes unnoticed.
    pub fn publish_unawaited(&self, event: Arc<Event>) {
        if let Some(nats) = self.nats.upgrade() {
            madsim::task::spawn(async move {
                let _ = nats.publish(event).await;
            });
        }
    }

    /// After the commit. With the outbox: hand the entries to the relay. Without:
    /// publish now, awaited (a failure is the handler's error) or not (fire and forget,
    /// as the app's routes do).
    pub async fn sent<S: HasOutbox + Send + 'static>(&self, db: &Db<S>, staged: Staged, awaited: bool) -> Result<(), HandlerError> {
        let Some(nats) = self.nats.upgrade() else { return Err(HandlerError::new("the instance is shutting down")) };
        if self.outbox {
            relay_now(db, &nats, staged.entries);
            return Ok(());
        }
        for event in staged.events {
            if awaited {
                nats.publish(event).await.map_err(|e| HandlerError::new(format!("publish of {} failed", e.0)))?;
            } else {
                let nats = nats.clone();
                madsim::task::spawn(async move {
                    let _ = nats.publish(event).await;
                });
            }
        }
        Ok(())
    }
}
