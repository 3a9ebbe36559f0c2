//! The orders service: owns orders; keeps a replica of tickets.
//! Routes: POST /api/orders (the five steps), GET /api/orders, GET and DELETE
//! /api/orders/:id. Listeners: ticket:created, ticket:updated, expiration:complete,
//! payment:created.

use super::{Opening, Route, ServiceSpec, Starter};
use crate::harness::BoxFuture;
use crate::ticketing::common::Listener;
use crate::ticketing::common::{bad_request, new_id, not_authorized, not_found, require_auth, validate, HandlerError};
use crate::ticketing::common::{listen, Emit, HttpService, Instance, InstanceEnv, Staged};
use crate::ticketing::common::{Collection, Db, StoreError};
use crate::ticketing::common::{HasOutbox, Outbox};
use crate::ticketing::domain::TicketingApp;
use crate::ticketing::domain::{self, js_number, micros, Event, Id, OrderStatus, Snapshot, Subject};
use crate::ticketing::flaws::{Flaw, Flaws};
use crate::ticketing::protocol::{HttpRequest, HttpResponse, Method};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// The service's name: its nodes' (`orders-1`), its store's, its scenario key's.
pub const NAME: &str = "orders";

/// Store calls the invariants read by name (`expiry-respected`): the writer and the
/// reader share these constants.
pub mod calls {
    /// Saves a new order (its `expiresAt` set from the creation time).
    pub const CREATE: &str = "create";
    /// Saves an order cancelled by its expiration.
    pub const EXPIRE: &str = "expire";
}

pub const SPEC: ServiceSpec = ServiceSpec {
    name: NAME,
    group: "orders-service",
    default_instances: 1,
    routes: &[
        Route::new(Method::Post, "/api/orders"),
        Route::new(Method::Get, "/api/orders"),
        Route::new(Method::Get, "/api/orders/:id"),
        Route::new(Method::Delete, "/api/orders/:id"),
    ],
    publishes: &[Subject::OrderCreated, Subject::OrderCancelled],
    consumes: &[Subject::TicketCreated, Subject::TicketUpdated, Subject::ExpirationComplete, Subject::PaymentCreated],
    open,
};

#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    pub id: Id,
    pub version: u64,
    pub status: OrderStatus,
    pub user_id: Id,
    pub ticket_id: Id,
    pub ticket_price: f64,
    pub expires_at: Duration,
}

crate::impl_doc!(Order: Snapshot, |o| Snapshot::Order {
    id: o.id.clone(),
    version: o.version,
    status: o.status,
    user_id: o.user_id.clone(),
    ticket_id: o.ticket_id.clone(),
    price: o.ticket_price,
    expires_at: o.expires_at,
});

/// The orders service's copy of a ticket.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicaTicket {
    pub id: Id,
    pub version: u64,
    pub title: String,
    pub price: f64,
}

crate::impl_doc!(ReplicaTicket: Snapshot, |r| Snapshot::TicketReplica {
    id: r.id.clone(),
    version: r.version,
    title: r.title.clone(),
    price: r.price
});

impl ReplicaTicket {
    fn json(&self) -> Value {
        json!({ "id": self.id, "title": self.title, "price": js_number(self.price), "version": self.version })
    }
}

#[derive(Default)]
pub struct OrdersDb {
    pub orders: Collection<Order>,
    pub tickets: Collection<ReplicaTicket>,
    pub next_order: crate::kit::store::Counter,
    pub next_replica: crate::kit::store::Counter,
    pub outbox: Outbox,
}

crate::journal!(OrdersDb: Snapshot; orders, tickets, outbox; next_order, next_replica);

impl OrdersDb {
    pub fn new(flaws: Flaws) -> Self {
        let mut db = OrdersDb::default();
        // Flaw::NoOrderOcc: the lesson's model had no version control.
        db.orders.occ = !flaws.on(Flaw::NoOrderOcc);
        db
    }

    /// Step 2: is there an order on this ticket that is not cancelled?
    fn is_reserved(&self, ticket_id: &str) -> bool {
        self.orders.scan(format!("orders on ticket {ticket_id}")).any(|o| &*o.ticket_id == ticket_id && o.status.is_active())
    }

    /// An order as the routes answer it, its ticket populated from the replica.
    fn json(&self, order: &Order) -> Value {
        let ticket = self.tickets.find(&order.ticket_id).map(|t| t.json()).unwrap_or(Value::Null);
        json!({
            "id": order.id, "userId": order.user_id, "status": order.status, "expiresAt": crate::ticketing::domain::iso_time::format(micros(order.expires_at)),
            "ticket": ticket, "version": order.version,
        })
    }
}

impl HasOutbox<TicketingApp> for OrdersDb {
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

fn open(o: &mut Opening) -> Starter {
    let db = o.store(OrdersDb::new(o.app.flaws), |s| &mut s.orders);
    Arc::new(move |env| start(env, &db.on(&env.name)))
}

pub fn start(env: &InstanceEnv, db: &Db<OrdersDb>) -> Arc<Instance> {
    let service = Arc::new(Orders { db: db.clone(), emit: env.emit(), flaws: env.app.flaws, expiration_window: env.app.expiration_window });
    env.relay(db);
    env.start(Some(service.clone()), |nats| {
        listen(nats, TicketCreatedListener(service.clone()));
        listen(nats, TicketUpdatedListener(service.clone()));
        listen(nats, ExpirationCompleteListener(service.clone()));
        listen(nats, PaymentCreatedListener(service.clone()));
    })
}

impl HttpService for Orders {
    fn handle(self: Arc<Self>, req: Arc<HttpRequest>) -> BoxFuture<HttpResponse> {
        Box::pin(async move {
            let user = match require_auth(&req) {
                Ok(user) => user,
                Err(response) => return response,
            };
            match (req.method, req.segments().as_slice()) {
                (Method::Post, ["orders"]) => self.create(&req, user).await,
                (Method::Get, ["orders"]) => self.index(&req, user).await,
                (Method::Get, ["orders", id]) => self.show(&req, user, id).await,
                (Method::Delete, ["orders", id]) => self.cancel(&req, user, id).await,
                _ => not_found(&req),
            }
        })
    }
}

impl Orders {
    fn version(&self, order: &Order) -> Option<u64> {
        // Flaw::UnversionedOrderEvents: the lesson's events carried no version.
        (!self.flaws.on(Flaw::UnversionedOrderEvents)).then_some(order.version)
    }

    fn created_event(&self, order: &Order) -> Arc<Event> {
        Event::new(&domain::OrderCreated {
            id: order.id.clone(),
            version: self.version(order),
            status: order.status,
            user_id: order.user_id.clone(),
            expires_at: micros(order.expires_at),
            ticket: domain::TicketRef { id: order.ticket_id.clone(), price: order.ticket_price },
        })
    }

    /// POST /api/orders: the five steps of ticketing.md.
    async fn create(&self, req: &HttpRequest, user: Id) -> HttpResponse {
        let Some(ticket_id) = validate::id(&req.body, "ticketId") else {
            return HttpResponse::invalid(req.id, &[("ticketId", "TicketId must be provided")]);
        };
        // 1. find the ticket the user is trying to order
        let Some(ticket) = self.db.tx("read", |s| s.tickets.find(&ticket_id)).await else {
            return not_found(req);
        };
        // 3. calculate an expiration date for this order; 4. build the order
        // Stored as the app's JSON carries it: whole microseconds.
        let expires_at = Duration::from_micros(micros(crate::harness::now() + self.expiration_window));
        let order_of = |id: Id| Order {
            id,
            version: 0,
            status: OrderStatus::Created,
            user_id: user.clone(),
            ticket_id: ticket.id.clone(),
            ticket_price: ticket.price,
            expires_at,
        };
        let created = if self.flaws.on(Flaw::RacyReservation) {
            // Flaw::RacyReservation: 2. the check and 5. the save are separate round trips.
            if self.db.tx("read", |s| s.is_reserved(&ticket.id)).await {
                return bad_request(req, "Ticket is already reserved");
            }
            self.db
                .tx(calls::CREATE, |s| {
                    let order = order_of(new_id("O", &mut s.next_order));
                    self.insert(s, order)
                })
                .await
        } else {
            // Hardened: check and insert in one transaction.
            let result = self
                .db
                .tx(calls::CREATE, |s| {
                    if s.is_reserved(&ticket.id) {
                        return None;
                    }
                    let order = order_of(new_id("O", &mut s.next_order));
                    Some(self.insert(s, order))
                })
                .await;
            match result {
                Some(created) => created,
                None => return bad_request(req, "Ticket is already reserved"),
            }
        };
        let (body, staged) = created;
        self.emit.publish(&self.db, staged);
        HttpResponse::ok(req.id, 201, body)
    }

    /// 5. save the order and stage order:created.
    fn insert(&self, s: &mut OrdersDb, order: Order) -> (Value, Staged) {
        s.orders.insert(order.clone()).expect("a fresh id");
        let mut staged = Staged::default();
        self.emit.stage(&mut s.outbox, &mut staged, self.created_event(&order));
        (s.json(&order), staged)
    }

    /// GET /api/orders: the signed-in user's orders, each with its ticket.
    async fn index(&self, req: &HttpRequest, user: Id) -> HttpResponse {
        let orders: Vec<Value> = self.db.tx("read", |s| s.orders.values().filter(|o| o.user_id == user).map(|o| s.json(o)).collect()).await;
        HttpResponse::ok(req.id, 200, Value::Array(orders))
    }

    /// GET /api/orders/:id: missing 404, another user's 401, else the order.
    async fn show(&self, req: &HttpRequest, user: Id, id: &str) -> HttpResponse {
        if !validate::is_id(id) {
            return bad_request(req, "Something went wrong");
        }
        // Flaw::ShowAnyOrder (planted): the owner check is skipped.
        let anyone = self.flaws.on(Flaw::ShowAnyOrder);
        match self.db.tx("read", |s| s.orders.find(id).map(|o| (o.user_id.clone(), s.json(&o)))).await {
            None => not_found(req),
            Some((owner, _)) if owner != user && !anyone => not_authorized(req),
            Some((_, body)) => HttpResponse::ok(req.id, 200, body),
        }
    }

    /// Sets an order cancelled, saves it and stages order:cancelled.
    /// The save is also conditional on the status read: completing an order changes
    /// its status in place (hardened), which the version alone would not reveal.
    async fn save_cancelled(&self, mut order: Order, call: &'static str) -> Result<Staged, StoreError> {
        let read_status = order.status;
        order.status = OrderStatus::Cancelled;
        // Flaw::CancelSkipsStatusRecheck (benchmark): the version alone decides.
        let recheck = !self.flaws.on(Flaw::CancelSkipsStatusRecheck);
        self.db
            .tx(call, |s| {
                if recheck {
                    unchanged(s, &order.id, read_status)?;
                }
                let saved = s.orders.save(order)?;
                let mut staged = Staged::default();
                let event = Event::new(&domain::OrderCancelled {
                    id: saved.id.clone(),
                    version: self.version(&saved),
                    ticket: domain::TicketId { id: saved.ticket_id.clone() },
                });
                self.emit.stage(&mut s.outbox, &mut staged, event);
                Ok(staged)
            })
            .await
    }

    /// DELETE /api/orders/:id: owner only; set cancelled, save, publish order:cancelled, 204.
    async fn cancel(&self, req: &HttpRequest, user: Id, id: &str) -> HttpResponse {
        if !validate::is_id(id) {
            return bad_request(req, "Something went wrong");
        }
        let Some(order) = self.db.tx("read", |s| s.orders.find(id)).await else {
            return not_found(req);
        };
        // Flaw::CancelByAnyone (planted): the owner check is skipped.
        if order.user_id != user && !self.flaws.on(Flaw::CancelByAnyone) {
            return not_authorized(req);
        }
        // Flaw::CancelPaidOrder: as built, there is no status check at all.
        if !self.flaws.on(Flaw::CancelPaidOrder) {
            match order.status {
                OrderStatus::Complete => return bad_request(req, "Cannot cancel a paid order"),
                OrderStatus::Cancelled => return HttpResponse::ok(req.id, 204, Value::Null),
                _ => {}
            }
        }
        match self.save_cancelled(order, "cancel").await {
            Ok(staged) => {
                self.emit.publish(&self.db, staged);
                HttpResponse::ok(req.id, 204, Value::Null)
            }
            Err(e) => bad_request(req, &e.to_string()),
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

struct TicketCreatedListener(Arc<Orders>);

impl Listener for TicketCreatedListener {
    type Event = domain::TicketCreated;

    fn on_message(self: Arc<Self>, data: domain::TicketCreated) -> BoxFuture<Result<(), HandlerError>> {
        Box::pin(async move {
            let svc = &self.0;
            let replica_without_id = svc.flaws.on(Flaw::ReplicaWithoutId);
            let inserted = svc
                .db
                .tx("replicate", |s| {
                    // Flaw::ReplicaWithoutId: the lesson built the replica with a fresh id.
                    let id = if replica_without_id { new_id("R", &mut s.next_replica) } else { data.id.clone() };
                    s.tickets.insert(ReplicaTicket { id, version: data.version, title: data.title.clone(), price: data.price })
                })
                .await;
            // Flaw::NonIdempotentListeners: see `inserted`.
            super::inserted(inserted, svc.flaws)
        })
    }
}

struct TicketUpdatedListener(Arc<Orders>);

impl Listener for TicketUpdatedListener {
    type Event = domain::TicketUpdated;

    fn on_message(self: Arc<Self>, data: domain::TicketUpdated) -> BoxFuture<Result<(), HandlerError>> {
        Box::pin(async move {
            let svc = &self.0;
            let replica = ReplicaTicket { id: data.id.clone(), version: data.version, title: data.title.clone(), price: data.price };
            // Flaw::NoVersionCheck: the lesson found the replica by id alone.
            if svc.flaws.on(Flaw::NoVersionCheck) {
                let Some(_) = svc.db.tx("read", |s| s.tickets.find(&data.id)).await else {
                    return Err(HandlerError::new("Ticket not found"));
                };
                svc.db.tx("replicate", |s| s.tickets.put(replica)).await;
                return Ok(());
            }
            let found = svc.db.tx("read", |s| (s.tickets.find_by_event(&data.id, data.version), s.tickets.find(&data.id))).await;
            match found {
                (Some(previous), _) => svc
                    .db
                    .tx("replicate", |s| s.tickets.save(ReplicaTicket { version: previous.version, ..replica }))
                    .await
                    .map(|_| ())
                    .map_err(|e| HandlerError::new(e.to_string())),
                // Hardened: an event the replica already holds is a duplicate: ack it.
                (None, Some(current)) if current.version >= data.version && !svc.flaws.on(Flaw::NonIdempotentListeners) => Ok(()),
                _ => Err(HandlerError::new(format!("Ticket not found: {} v{}", data.id, data.version.saturating_sub(1)))),
            }
        })
    }
}

struct ExpirationCompleteListener(Arc<Orders>);

impl Listener for ExpirationCompleteListener {
    type Event = domain::ExpirationComplete;

    fn on_message(self: Arc<Self>, data: domain::ExpirationComplete) -> BoxFuture<Result<(), HandlerError>> {
        Box::pin(async move {
            let svc = &self.0;
            let Some(order) = svc.db.tx("read", |s| s.orders.find(&data.order_id)).await else {
                return Err(HandlerError::new("Order not found"));
            };
            // Flaw::ExpirationCancelsComplete: the lesson's listener cancelled paid orders too.
            if order.status == OrderStatus::Complete && !svc.flaws.on(Flaw::ExpirationCancelsComplete) {
                return Ok(());
            }
            // Flaw::CancelPaidOrder: as built, an already-cancelled order is cancelled again.
            if order.status == OrderStatus::Cancelled && !svc.flaws.on(Flaw::CancelPaidOrder) {
                return Ok(());
            }
            let staged = svc.save_cancelled(order, calls::EXPIRE).await.map_err(|e| HandlerError::new(e.to_string()))?;
            svc.emit.publish_awaited(&svc.db, staged).await
        })
    }
}

struct PaymentCreatedListener(Arc<Orders>);

impl Listener for PaymentCreatedListener {
    type Event = domain::PaymentCreated;

    fn on_message(self: Arc<Self>, data: domain::PaymentCreated) -> BoxFuture<Result<(), HandlerError>> {
        Box::pin(async move {
            let svc = &self.0;
            let Some(mut order) = svc.db.tx("read", |s| s.orders.find(&data.order_id)).await else {
                return Err(HandlerError::new("Order not found"));
            };
            // Flaw::PayExpiredOrder: as built, a cancelled (expired) order is completed anyway.
            if !svc.flaws.on(Flaw::PayExpiredOrder) && order.status != OrderStatus::Created {
                return Ok(()); // cancelled: payments refunds; complete: a duplicate
            }
            order.status = OrderStatus::Complete;
            // Flaw::PaymentsReplicaLag: as built, completing bumps the version and publishes
            // nothing. Hardened, the status changes in place: no replica waits for a version
            // (payments marks its own replica complete when it takes the payment).
            let lag = svc.flaws.on(Flaw::PaymentsReplicaLag);
            let check_status = !svc.flaws.on(Flaw::PayExpiredOrder);
            svc.db
                .tx("complete", |s| {
                    // Hardened: still created inside the write (an in-place completion
                    // and a cancel would not conflict on the version alone).
                    if check_status {
                        unchanged(s, &order.id, OrderStatus::Created)?;
                    }
                    if lag {
                        s.orders.save(order).map(|_| ())
                    } else {
                        s.orders.update_in_place(order)
                    }
                })
                .await
                .map_err(|e| HandlerError::new(e.to_string()))
        })
    }
}
