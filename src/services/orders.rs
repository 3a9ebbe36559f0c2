//! The orders service: owns orders; keeps a replica of tickets.
//! Routes: POST /api/orders (the five steps), DELETE /api/orders/:id.
//! Listeners: ticket:created, ticket:updated, expiration:complete, payment:created.

use super::{bad_request, new_id, not_authorized, not_found, InstanceEnv};
use crate::app::instance::{Emit, HttpService, Instance, Staged};
use crate::app::nats::Listener;
use crate::app::outbox::{HasOutbox, Outbox};
use crate::app::store::{Collection, Db, StoreError};
use crate::app::{BoxFut, HandlerError};
use crate::flaws::{Flaw, Flaws};
use crate::history::{OrderStatus, Snapshot};
use crate::proto::{Event, EventData, Group, HttpRequest, HttpResponse, Id, Route, Subject, TicketEvent};
use std::sync::Arc;
use std::time::Duration;

pub const GROUP: Group = "orders-service";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    pub id: Id,
    pub version: u64,
    pub status: OrderStatus,
    pub user_id: Id,
    pub ticket_id: Id,
    pub ticket_price: i64,
    pub expires_at: Duration,
}

crate::impl_doc!(Order, |o| Snapshot::Order {
    id: o.id.clone(),
    version: o.version,
    status: o.status,
    user_id: o.user_id.clone(),
    ticket_id: o.ticket_id.clone(),
    expires_at: o.expires_at,
});

/// The orders service's copy of a ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaTicket {
    pub id: Id,
    pub version: u64,
    pub title: String,
    pub price: i64,
}

crate::impl_doc!(ReplicaTicket, |r| Snapshot::TicketReplica {
    id: r.id.clone(),
    version: r.version,
    title: r.title.clone(),
    price: r.price
});

#[derive(Default)]
pub struct OrdersDb {
    pub orders: Collection<Order>,
    pub tickets: Collection<ReplicaTicket>,
    pub next_order: u64,
    pub next_replica: u64,
    pub outbox: Outbox,
}

impl OrdersDb {
    pub fn new(flaws: Flaws) -> Self {
        let mut db = OrdersDb::default();
        // Flaw::NoOrderOcc: the lesson's model had no version control.
        db.orders.occ = !flaws.has(Flaw::NoOrderOcc);
        db
    }

    fn is_reserved(&self, ticket_id: &str) -> bool {
        self.orders.values().any(|o| &*o.ticket_id == ticket_id && o.status.is_active())
    }
}

impl HasOutbox for OrdersDb {
    fn outbox(&mut self) -> &mut Outbox {
        &mut self.outbox
    }
}

pub struct Orders {
    db: Db<OrdersDb>,
    emit: Emit,
    flaws: Flaws,
    expiration_window: Duration,
}

pub fn start(env: &InstanceEnv, db: &Db<OrdersDb>) -> Arc<Instance> {
    let service = Arc::new(Orders { db: db.clone(), emit: env.emit(), flaws: env.app.flaws, expiration_window: env.app.expiration_window });
    let listeners: Vec<Arc<dyn Listener>> = vec![
        Arc::new(TicketCreatedListener(service.clone())),
        Arc::new(TicketUpdatedListener(service.clone())),
        Arc::new(ExpirationCompleteListener(service.clone())),
        Arc::new(PaymentCreatedListener(service.clone())),
    ];
    env.start(db, Some(service), listeners)
}

impl HttpService for Orders {
    fn handle(self: Arc<Self>, req: Arc<HttpRequest>) -> BoxFut<HttpResponse> {
        Box::pin(async move {
            match &req.route {
                Route::CreateOrder { ticket_id } => self.create(&req, ticket_id.as_ref()).await,
                Route::CancelOrder { id } => self.cancel(&req, id).await,
                _ => not_found(req.id),
            }
        })
    }
}

impl Orders {
    fn version(&self, order: &Order) -> Option<u64> {
        // Flaw::UnversionedOrderEvents: the lesson's events carried no version.
        (!self.flaws.has(Flaw::UnversionedOrderEvents)).then_some(order.version)
    }

    fn created_event(&self, order: &Order) -> Arc<Event> {
        Event::new(EventData::OrderCreated {
            id: order.id.clone(),
            version: self.version(order),
            status: order.status.as_str(),
            user_id: order.user_id.clone(),
            expires_at: order.expires_at,
            ticket_id: order.ticket_id.clone(),
            ticket_price: order.ticket_price,
        })
    }

    /// POST /api/orders: the five steps of ticketing.md.
    async fn create(&self, req: &HttpRequest, ticket_id: Option<&Id>) -> HttpResponse {
        let Some(user) = req.user.clone() else {
            return not_authorized(req.id);
        };
        let Some(ticket_id) = ticket_id else {
            return bad_request(req.id, "TicketId must be provided");
        };
        // 1. find the ticket the user is trying to order
        let Some(ticket) = self.db.tx("read", |s, _| s.tickets.find(ticket_id)).await else {
            return not_found(req.id);
        };
        // 3. expiration; 4. build the order
        let order_of = |id: Id| Order {
            id,
            version: 0,
            status: OrderStatus::Created,
            user_id: user.clone(),
            ticket_id: ticket.id.clone(),
            ticket_price: ticket.price,
            expires_at: crate::sim::now() + self.expiration_window,
        };
        let created = if self.flaws.has(Flaw::RacyReservation) {
            // Flaw::RacyReservation: 2. the check and 5. the save are separate round trips.
            if self.db.tx("read", |s, _| s.is_reserved(&ticket.id)).await {
                return bad_request(req.id, "Ticket is already reserved");
            }
            self.db
                .tx("create", |s, w| {
                    let order = order_of(new_id("O", &mut s.next_order));
                    self.insert(s, w, order)
                })
                .await
        } else {
            // Hardened: check and insert in one transaction.
            let result = self
                .db
                .tx("create", |s, w| {
                    if s.is_reserved(&ticket.id) {
                        return None;
                    }
                    let order = order_of(new_id("O", &mut s.next_order));
                    Some(self.insert(s, w, order))
                })
                .await;
            match result {
                Some(created) => created,
                None => return bad_request(req.id, "Ticket is already reserved"),
            }
        };
        let (order, staged) = created;
        let _ = self.emit.sent(&self.db, staged, false).await;
        HttpResponse::ok(req.id, 201, Some(order.id))
    }

    /// Sets an order cancelled, saves it and stages order:cancelled.
    /// The save is also conditional on the status read: completing an order changes
    /// its status in place (hardened), which the version alone would not reveal.
    async fn save_cancelled(&self, mut order: Order) -> Result<Staged, StoreError> {
        let read_status = order.status;
        order.status = OrderStatus::Cancelled;
        self.db
            .tx("cancel", |s, w| {
                unchanged(s, &order.id, read_status)?;
                let saved = s.orders.save(order, w)?;
                let mut staged = Staged::default();
                let event = Event::new(EventData::OrderCancelled {
                    id: saved.id.clone(),
                    version: self.version(&saved),
                    ticket_id: saved.ticket_id.clone(),
                });
                self.emit.stage(&mut s.outbox, w, &mut staged, event);
                Ok(staged)
            })
            .await
    }

    fn insert(&self, s: &mut OrdersDb, w: &mut crate::app::store::Writes, order: Order) -> (Order, Staged) {
        s.orders.insert(order.clone(), w).expect("fresh id");
        let mut staged = Staged::default();
        self.emit.stage(&mut s.outbox, w, &mut staged, self.created_event(&order));
        (order, staged)
    }

    /// DELETE /api/orders/:id: owner only; set cancelled, save, publish order:cancelled, 204.
    async fn cancel(&self, req: &HttpRequest, id: &Id) -> HttpResponse {
        let Some(user) = req.user.clone() else {
            return not_authorized(req.id);
        };
        let Some(order) = self.db.tx("read", |s, _| s.orders.find(id)).await else {
            return not_found(req.id);
        };
        if order.user_id != user {
            return not_authorized(req.id);
        }
        // Flaw::CancelPaidOrder: as built, there is no status check at all.
        if !self.flaws.has(Flaw::CancelPaidOrder) {
            match order.status {
                OrderStatus::Complete => return bad_request(req.id, "Cannot cancel a paid order"),
                OrderStatus::Cancelled => return HttpResponse::ok(req.id, 204, Some(order.id)),
                _ => {}
            }
        }
        match self.save_cancelled(order).await {
            Ok(staged) => {
                let _ = self.emit.sent(&self.db, staged, false).await;
                HttpResponse::ok(req.id, 204, Some(id.clone()))
            }
            Err(e) => bad_request(req.id, &e.to_string()),
        }
    }
}

/// Fails when the stored order's status is no longer the one read.
fn unchanged(s: &OrdersDb, id: &Id, read: OrderStatus) -> Result<(), StoreError> {
    match s.orders.find(id) {
        Some(stored) if stored.status != read => {
            Err(StoreError::Changed { id: id.clone(), what: format!("status is now {}", stored.status.as_str()) })
        }
        _ => Ok(()),
    }
}

fn replica_of(ticket: &TicketEvent, id: Id) -> ReplicaTicket {
    ReplicaTicket { id, version: ticket.version, title: ticket.title.clone(), price: ticket.price }
}

struct TicketCreatedListener(Arc<Orders>);

impl Listener for TicketCreatedListener {
    fn subject(&self) -> Subject {
        Subject::TicketCreated
    }
    fn queue_group(&self) -> Group {
        GROUP
    }
    fn on_message(self: Arc<Self>, event: Arc<Event>) -> BoxFut<Result<(), HandlerError>> {
        Box::pin(async move {
            let EventData::TicketCreated(ticket) = &event.data else {
                return Ok(());
            };
            let svc = &self.0;
            let replica_without_id = svc.flaws.has(Flaw::ReplicaWithoutId);
            let inserted = svc
                .db
                .tx("replicate", |s, w| {
                    // Flaw::ReplicaWithoutId: the lesson built the replica with a fresh id.
                    let id = if replica_without_id { new_id("R", &mut s.next_replica) } else { ticket.id.clone() };
                    s.tickets.insert(replica_of(ticket, id), w)
                })
                .await;
            // Flaw::NonIdempotentListeners: see `inserted`.
            super::inserted(inserted, svc.flaws)
        })
    }
}

struct TicketUpdatedListener(Arc<Orders>);

impl Listener for TicketUpdatedListener {
    fn subject(&self) -> Subject {
        Subject::TicketUpdated
    }
    fn queue_group(&self) -> Group {
        GROUP
    }
    fn on_message(self: Arc<Self>, event: Arc<Event>) -> BoxFut<Result<(), HandlerError>> {
        Box::pin(async move {
            let EventData::TicketUpdated(ticket) = &event.data else {
                return Ok(());
            };
            let svc = &self.0;
            // Flaw::NoVersionCheck: the lesson found the replica by id alone.
            if svc.flaws.has(Flaw::NoVersionCheck) {
                let Some(_) = svc.db.tx("read", |s, _| s.tickets.find(&ticket.id)).await else {
                    return Err(HandlerError::new("Ticket not found"));
                };
                svc.db.tx("replicate", |s, w| s.tickets.put(replica_of(ticket, ticket.id.clone()), w)).await;
                return Ok(());
            }
            let found = svc.db.tx("read", |s, _| (s.tickets.find_by_event(&ticket.id, ticket.version), s.tickets.find(&ticket.id))).await;
            match found {
                (Some(replica), _) => {
                    let applied = svc
                        .db
                        .tx("replicate", |s, w| {
                            let mut next = replica_of(ticket, replica.id.clone());
                            next.version = replica.version;
                            s.tickets.save(next, w)
                        })
                        .await;
                    applied.map(|_| ()).map_err(|e| HandlerError::new(e.to_string()))
                }
                // Hardened: an event the replica already holds is a duplicate: ack it.
                (None, Some(current)) if current.version >= ticket.version && !svc.flaws.has(Flaw::NonIdempotentListeners) => Ok(()),
                _ => Err(HandlerError::new(format!("Ticket not found: {} v{}", ticket.id, ticket.version - 1))),
            }
        })
    }
}

struct ExpirationCompleteListener(Arc<Orders>);

impl Listener for ExpirationCompleteListener {
    fn subject(&self) -> Subject {
        Subject::ExpirationComplete
    }
    fn queue_group(&self) -> Group {
        GROUP
    }
    fn on_message(self: Arc<Self>, event: Arc<Event>) -> BoxFut<Result<(), HandlerError>> {
        Box::pin(async move {
            let EventData::ExpirationComplete { order_id } = &event.data else { return Ok(()) };
            let svc = &self.0;
            let Some(order) = svc.db.tx("read", |s, _| s.orders.find(order_id)).await else {
                return Err(HandlerError::new("Order not found"));
            };
            // Flaw::ExpirationCancelsComplete: the lesson's listener cancelled paid orders too.
            if order.status == OrderStatus::Complete && !svc.flaws.has(Flaw::ExpirationCancelsComplete) {
                return Ok(());
            }
            // Flaw::CancelPaidOrder: as built, an already-cancelled order is cancelled again.
            if order.status == OrderStatus::Cancelled && !svc.flaws.has(Flaw::CancelPaidOrder) {
                return Ok(());
            }
            let staged = svc.save_cancelled(order).await.map_err(|e| HandlerError::new(e.to_string()))?;
            svc.emit.sent(&svc.db, staged, true).await
        })
    }
}

struct PaymentCreatedListener(Arc<Orders>);

impl Listener for PaymentCreatedListener {
    fn subject(&self) -> Subject {
        Subject::PaymentCreated
    }
    fn queue_group(&self) -> Group {
        GROUP
    }
    fn on_message(self: Arc<Self>, event: Arc<Event>) -> BoxFut<Result<(), HandlerError>> {
        Box::pin(async move {
            let EventData::PaymentCreated { order_id, .. } = &event.data else { return Ok(()) };
            let svc = &self.0;
            let Some(mut order) = svc.db.tx("read", |s, _| s.orders.find(order_id)).await else {
                return Err(HandlerError::new("Order not found"));
            };
            // Flaw::PayExpiredOrder: as built, a cancelled (expired) order is completed anyway.
            if !svc.flaws.has(Flaw::PayExpiredOrder) && order.status != OrderStatus::Created {
                return Ok(()); // cancelled: payments refunds; complete: a duplicate
            }
            order.status = OrderStatus::Complete;
            // Flaw::PaymentsReplicaLag: as built, completing bumps the version and publishes
            // nothing. Hardened, the status changes in place: no replica waits for a version
            // (payments marks its own replica complete when it takes the payment).
            let lag = svc.flaws.has(Flaw::PaymentsReplicaLag);
            svc.db
                .tx("complete", |s, w| {
                    unchanged(s, &order.id, OrderStatus::Created)?;
                    if lag {
                        s.orders.save(order, w).map(|_| ())
                    } else {
                        s.orders.update_in_place(order, w)
                    }
                })
                .await
                .map_err(|e| HandlerError::new(e.to_string()))
        })
    }
}
