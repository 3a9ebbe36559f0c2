//! The tickets service: owns tickets; locks a ticket while an order holds it.
//! Routes: POST/GET/PUT /api/tickets. Listeners: order:created, order:cancelled.

use super::{bad_request, new_id, not_authorized, not_found, InstanceEnv};
use crate::app::instance::{Emit, HttpService, Instance, Staged};
use crate::app::nats::Listener;
use crate::app::outbox::{HasOutbox, Outbox};
use crate::app::store::{Collection, Db};
use crate::app::{BoxFut, HandlerError};
use crate::flaws::{Flaw, Flaws};
use crate::history::Snapshot;
use crate::proto::{Event, EventData, Group, HttpRequest, HttpResponse, Id, Route, Subject, TicketEvent};
use std::collections::BTreeMap;
use std::sync::Arc;

pub const GROUP: Group = "tickets-service";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub id: Id,
    pub version: u64,
    pub title: String,
    pub price: i64,
    pub user_id: Id,
    pub order_id: Option<Id>,
}

crate::impl_doc!(Ticket, |t| Snapshot::Ticket {
    id: t.id.clone(),
    version: t.version,
    title: t.title.clone(),
    price: t.price,
    user_id: t.user_id.clone(),
    order_id: t.order_id.clone(),
});

impl Ticket {
    fn event(&self) -> TicketEvent {
        TicketEvent {
            id: self.id.clone(),
            version: self.version,
            title: self.title.clone(),
            price: self.price,
            user_id: self.user_id.clone(),
            order_id: self.order_id.clone(),
        }
    }
}

/// Which order events the hardened listeners have already applied (their inbox).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OrderSeen {
    pub created: bool,
    pub cancelled: bool,
}

#[derive(Default)]
pub struct TicketsDb {
    pub tickets: Collection<Ticket>,
    pub next_id: u64,
    pub orders_seen: BTreeMap<Id, OrderSeen>,
    pub outbox: Outbox,
}

impl HasOutbox for TicketsDb {
    fn outbox(&mut self) -> &mut Outbox {
        &mut self.outbox
    }
}

pub struct Tickets {
    db: Db<TicketsDb>,
    emit: Emit,
    flaws: Flaws,
}

/// Starts one tickets instance on the calling node.
pub fn start(env: &InstanceEnv, db: &Db<TicketsDb>) -> Arc<Instance> {
    let service = Arc::new(Tickets { db: db.clone(), emit: env.emit(), flaws: env.app.flaws });
    let listeners: Vec<Arc<dyn Listener>> =
        vec![Arc::new(OrderCreatedListener(service.clone())), Arc::new(OrderCancelledListener(service.clone()))];
    env.start(db, Some(service), listeners)
}

impl HttpService for Tickets {
    fn handle(self: Arc<Self>, req: Arc<HttpRequest>) -> BoxFut<HttpResponse> {
        Box::pin(async move {
            match &req.route {
                Route::CreateTicket { title, price } => self.create(&req, title, *price).await,
                Route::ListTickets => {
                    let count = self.db.tx("read", |s, _| s.tickets.values().filter(|t| t.order_id.is_none()).count()).await;
                    HttpResponse::ok(req.id, 200, Some(format!("{count} tickets").into()))
                }
                Route::ShowTicket { id } => match self.db.tx("read", |s, _| s.tickets.find(id)).await {
                    Some(t) => HttpResponse::ok(req.id, 200, Some(t.id)),
                    None => not_found(req.id),
                },
                Route::UpdateTicket { id, title, price } => self.update(&req, id, title, *price).await,
                _ => not_found(req.id),
            }
        })
    }
}

fn validate(title: &str, price: i64) -> Option<&'static str> {
    if title.is_empty() {
        Some("Title is required")
    } else if price <= 0 {
        Some("Price must be greater than 0")
    } else {
        None
    }
}

impl Tickets {
    /// POST /api/tickets: save at v0, publish ticket:created (not awaited), 201.
    async fn create(&self, req: &HttpRequest, title: &str, price: i64) -> HttpResponse {
        let Some(user) = req.user.clone() else {
            return not_authorized(req.id);
        };
        if let Some(message) = validate(title, price) {
            return bad_request(req.id, message);
        }
        let (ticket, staged) = self
            .db
            .tx("create", |s, w| {
                let id = new_id("T", &mut s.next_id);
                let ticket = Ticket { id, version: 0, title: title.to_string(), price, user_id: user, order_id: None };
                s.tickets.insert(ticket.clone(), w).expect("fresh id");
                let mut staged = Staged::default();
                self.emit.stage(&mut s.outbox, w, &mut staged, Event::new(EventData::TicketCreated(ticket.event())));
                (ticket, staged)
            })
            .await;
        let _ = self.emit.sent(&self.db, staged, false).await;
        HttpResponse::ok(req.id, 201, Some(ticket.id))
    }

    /// PUT /api/tickets/:id: validation 400, missing 404, reserved 400, not owner 401,
    /// then save (v+1) and publish ticket:updated (not awaited), 200.
    async fn update(&self, req: &HttpRequest, id: &Id, title: &str, price: i64) -> HttpResponse {
        let Some(user) = req.user.clone() else {
            return not_authorized(req.id);
        };
        if let Some(message) = validate(title, price) {
            return bad_request(req.id, message);
        }
        let Some(mut ticket) = self.db.tx("read", |s, _| s.tickets.find(id)).await else {
            return not_found(req.id);
        };
        if ticket.order_id.is_some() {
            return bad_request(req.id, "Cannot edit a reserved ticket");
        }
        if ticket.user_id != user {
            return not_authorized(req.id);
        }
        ticket.title = title.to_string();
        ticket.price = price;
        let saved = self
            .db
            .tx("edit", |s, w| {
                let saved = s.tickets.save(ticket, w)?;
                let mut staged = Staged::default();
                self.emit.stage(&mut s.outbox, w, &mut staged, Event::new(EventData::TicketUpdated(saved.event())));
                Ok::<_, crate::app::store::StoreError>(staged)
            })
            .await;
        match saved {
            Ok(staged) => {
                let _ = self.emit.sent(&self.db, staged, false).await;
                HttpResponse::ok(req.id, 200, Some(id.clone()))
            }
            // An unexpected error: the app's error handler answers 400.
            Err(e) => bad_request(req.id, &e.to_string()),
        }
    }

    /// Saves a changed ticket, records the order event as applied, and publishes
    /// ticket:updated (awaited: the listener acks only after the publish). Hardened, the
    /// transaction re-checks the inbox so two handlers of one order cannot both apply.
    async fn save_and_announce(&self, ticket: Ticket, order: &Id, seen: OrderSeen) -> Result<(), HandlerError> {
        let silent = self.flaws.has(Flaw::SilentVersionBump);
        let idempotent = !self.flaws.has(Flaw::NonIdempotentListeners);
        let staged = self
            .db
            .tx("lock", |s, w| {
                let before = s.orders_seen.get(order).copied().unwrap_or_default();
                if idempotent && (before.cancelled || (before.created && !seen.cancelled)) {
                    return Ok(Staged::default());
                }
                let saved = s.tickets.save(ticket, w)?;
                s.orders_seen.insert(order.clone(), seen);
                let mut staged = Staged::default();
                // Flaw::SilentVersionBump: the lesson's listener saved without publishing.
                if !silent || seen.cancelled {
                    self.emit.stage(&mut s.outbox, w, &mut staged, Event::new(EventData::TicketUpdated(saved.event())));
                }
                Ok::<_, crate::app::store::StoreError>(staged)
            })
            .await
            .map_err(|e| HandlerError::new(e.to_string()))?;
        self.emit.sent(&self.db, staged, true).await
    }

    /// A listener's first step: find the ticket (missing: fail, no ack).
    async fn find_ticket(&self, id: &Id) -> Result<Ticket, HandlerError> {
        self.db.tx("read", |s, _| s.tickets.find(id)).await.ok_or_else(|| HandlerError::new("Ticket not found"))
    }

    fn seen(&self, order: &Id) -> impl FnOnce(&mut TicketsDb, &mut crate::app::store::Writes) -> OrderSeen + '_ {
        let order = order.clone();
        move |s, _| s.orders_seen.get(&order).copied().unwrap_or_default()
    }
}

struct OrderCreatedListener(Arc<Tickets>);

impl Listener for OrderCreatedListener {
    fn subject(&self) -> Subject {
        Subject::OrderCreated
    }
    fn queue_group(&self) -> Group {
        GROUP
    }
    fn on_message(self: Arc<Self>, event: Arc<Event>) -> BoxFut<Result<(), HandlerError>> {
        Box::pin(async move {
            let EventData::OrderCreated { id: order, ticket_id, .. } = &event.data else {
                return Ok(());
            };
            let svc = &self.0;
            let mut ticket = svc.find_ticket(ticket_id).await?;
            // Flaw::NonIdempotentListeners: as built, a duplicate is applied again.
            if !svc.flaws.has(Flaw::NonIdempotentListeners) {
                let seen = svc.db.tx("read", svc.seen(order)).await;
                if seen.created || seen.cancelled {
                    return Ok(());
                }
            }
            // Flaw::UnguardedUnlock: as built, the lock is taken even if another order holds it.
            if !svc.flaws.has(Flaw::UnguardedUnlock) {
                if let Some(holder) = &ticket.order_id {
                    if holder != order {
                        return Err(HandlerError::new(format!("ticket {ticket_id} is still held by {holder}")));
                    }
                }
            }
            ticket.order_id = Some(order.clone());
            svc.save_and_announce(ticket, order, OrderSeen { created: true, cancelled: false }).await
        })
    }
}

struct OrderCancelledListener(Arc<Tickets>);

impl Listener for OrderCancelledListener {
    fn subject(&self) -> Subject {
        Subject::OrderCancelled
    }
    fn queue_group(&self) -> Group {
        GROUP
    }
    fn on_message(self: Arc<Self>, event: Arc<Event>) -> BoxFut<Result<(), HandlerError>> {
        Box::pin(async move {
            let EventData::OrderCancelled { id: order, ticket_id, .. } = &event.data else {
                return Ok(());
            };
            let svc = &self.0;
            let mut ticket = svc.find_ticket(ticket_id).await?;
            if !svc.flaws.has(Flaw::NonIdempotentListeners) && svc.db.tx("read", svc.seen(order)).await.cancelled {
                return Ok(());
            }
            let done = OrderSeen { created: true, cancelled: true };
            // Flaw::UnguardedUnlock: as built, the lock is cleared whoever holds it.
            if svc.flaws.has(Flaw::UnguardedUnlock) || ticket.order_id.as_ref() == Some(order) {
                ticket.order_id = None;
                return svc.save_and_announce(ticket, order, done).await;
            }
            // Hardened: this order never held the ticket (or no longer does); remember
            // that it is cancelled so a late order:created for it is not applied.
            let read_version = ticket.version;
            svc.db
                .tx("unlock-skip", |s, _| {
                    // The ticket must not have moved since it was read (it may have been
                    // locked by this very order meanwhile): else retry on redelivery.
                    match s.tickets.find(ticket_id) {
                        Some(t) if t.version == read_version => {
                            s.orders_seen.insert(order.clone(), done);
                            Ok(())
                        }
                        _ => Err(HandlerError::new(format!("ticket {ticket_id} changed while cancelling {order}"))),
                    }
                })
                .await
        })
    }
}
