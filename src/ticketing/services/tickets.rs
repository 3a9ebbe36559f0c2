//! The tickets service: owns tickets; locks a ticket while an order holds it.
//! Routes: POST/GET/PUT /api/tickets. Listeners: order:created, order:cancelled.

use super::{Opening, Route, ServiceSpec, Starter};
use crate::harness::BoxFuture;
use crate::ticketing::common::Listener;
use crate::ticketing::common::{bad_request, new_id, not_authorized, not_found, require_auth, validate, HandlerError};
use crate::ticketing::common::{listen, Emit, HttpService, InstanceEnv, Staged};
use crate::ticketing::common::{Collection, Db, Row, StoreError, Table};
use crate::ticketing::common::{HasOutbox, Outbox};
use crate::ticketing::domain::TicketingApp;
use crate::ticketing::domain::{self, js_number, Event, Id, Snapshot, Subject};
use crate::ticketing::flaws::{Flaw, Flaws};
use crate::ticketing::protocol::{HttpRequest, HttpResponse, Method};
use serde_json::{json, Value};
use std::sync::Arc;

/// The service's name: its nodes' (`tickets-1`), its store's, its scenario key's.
pub const NAME: &str = "tickets";

/// Store calls the invariants read by name (`no-edit-while-reserved`): the writer and
/// the reader share these constants.
pub mod calls {
    /// A seller's edit of a ticket (PUT /api/tickets/:id).
    pub const EDIT: &str = "edit";
}

pub const SPEC: ServiceSpec = ServiceSpec {
    name: NAME,
    group: "tickets-service",
    default_instances: 1,
    routes: &[
        Route::new(Method::Post, "/api/tickets"),
        Route::new(Method::Get, "/api/tickets"),
        Route::new(Method::Get, "/api/tickets/:id"),
        Route::new(Method::Put, "/api/tickets/:id"),
    ],
    publishes: &[Subject::TicketCreated, Subject::TicketUpdated],
    consumes: &[Subject::OrderCreated, Subject::OrderCancelled],
    open,
};

#[derive(Clone, Debug, PartialEq)]
pub struct Ticket {
    pub id: Id,
    pub version: u64,
    pub title: String,
    pub price: f64,
    pub user_id: Id,
    pub order_id: Option<Id>,
}

crate::impl_doc!(Ticket: Snapshot, |t| Snapshot::Ticket {
    id: t.id.clone(),
    version: t.version,
    title: t.title.clone(),
    price: t.price,
    user_id: t.user_id.clone(),
    order_id: t.order_id.clone(),
});

impl Ticket {
    /// The ticket as the routes answer it (`ticket.toJSON()`).
    pub fn json(&self) -> Value {
        let mut body =
            json!({ "id": self.id, "title": self.title, "price": js_number(self.price), "userId": self.user_id, "version": self.version });
        if let Some(order) = &self.order_id {
            body["orderId"] = json!(order);
        }
        body
    }

    fn created(&self) -> domain::TicketCreated {
        domain::TicketCreated {
            id: self.id.clone(),
            version: self.version,
            title: self.title.clone(),
            price: self.price,
            user_id: self.user_id.clone(),
        }
    }

    fn updated(&self) -> domain::TicketUpdated {
        domain::TicketUpdated {
            id: self.id.clone(),
            version: self.version,
            title: self.title.clone(),
            price: self.price,
            user_id: self.user_id.clone(),
            order_id: self.order_id.clone(),
        }
    }
}

/// Which events of an order the hardened listeners have already applied (their inbox).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OrderSeen {
    pub created: bool,
    pub cancelled: bool,
}

#[derive(Clone, Debug)]
pub struct Seen {
    pub order_id: Id,
    pub seen: OrderSeen,
}

impl Row for Seen {
    type Key = Id;
    type Doc = Snapshot;
    fn key(&self) -> Id {
        self.order_id.clone()
    }
    fn snapshot(&self) -> Snapshot {
        Snapshot::Seen { order_id: self.order_id.clone(), created: self.seen.created, cancelled: self.seen.cancelled }
    }
}

#[derive(Default)]
pub struct TicketsDb {
    pub tickets: Collection<Ticket>,
    pub next_id: crate::kit::store::Counter,
    pub seen: Table<Seen>,
    pub outbox: Outbox,
}

crate::journal!(TicketsDb: Snapshot; tickets, seen, outbox; next_id);

impl TicketsDb {
    fn seen(&self, order: &Id) -> OrderSeen {
        self.seen.get(order).map(|s| s.seen).unwrap_or_default()
    }
}

impl HasOutbox<TicketingApp> for TicketsDb {
    fn outbox(&mut self) -> &mut Outbox {
        &mut self.outbox
    }
}

pub struct Tickets {
    db: Db<TicketsDb>,
    emit: Emit,
    flaws: Flaws,
}

fn open(o: &mut Opening) -> Starter {
    let db = o.store(TicketsDb::default(), |s| &mut s.tickets);
    Arc::new(move |env| start(env, &db.on(&env.name)))
}

/// Starts one tickets instance on the calling node.
pub fn start(env: &InstanceEnv, db: &Db<TicketsDb>) -> Arc<crate::ticketing::common::Instance> {
    let service = Arc::new(Tickets { db: db.clone(), emit: env.emit(), flaws: env.app.flaws });
    env.relay(db);
    env.start(Some(service.clone()), |nats| {
        listen(nats, OrderCreatedListener(service.clone()));
        listen(nats, OrderCancelledListener(service.clone()));
    })
}

impl HttpService for Tickets {
    fn handle(self: Arc<Self>, req: Arc<HttpRequest>) -> BoxFuture<HttpResponse> {
        Box::pin(async move {
            match (req.method, req.segments().as_slice()) {
                (Method::Post, ["tickets"]) => self.create(&req).await,
                (Method::Get, ["tickets"]) => self.index(&req).await,
                (Method::Get, ["tickets", id]) => self.show(&req, id).await,
                (Method::Put, ["tickets", id]) => self.update(&req, id).await,
                _ => not_found(&req),
            }
        })
    }
}

/// The routes' validation: title non-empty, price a number above 0; every failing
/// field is reported, as express-validator does.
fn validated(req: &HttpRequest) -> Result<(String, f64), HttpResponse> {
    let title = validate::non_empty_string(&req.body, "title");
    let price = validate::positive_number(&req.body, "price");
    match (title, price) {
        (Some(title), Some(price)) => Ok((title, price)),
        (title, price) => {
            let mut errors = Vec::new();
            if title.is_none() {
                errors.push(("title", "Title is required"));
            }
            if price.is_none() {
                errors.push(("price", "Price must be greater than 0"));
            }
            Err(HttpResponse::invalid(req.id, &errors))
        }
    }
}

impl Tickets {
    /// POST /api/tickets: save at v0, publish ticket:created (not awaited), 201.
    async fn create(&self, req: &HttpRequest) -> HttpResponse {
        let user = match require_auth(req) {
            Ok(user) => user,
            Err(response) => return response,
        };
        let (title, price) = match validated(req) {
            Ok(fields) => fields,
            Err(response) => return response,
        };
        let (ticket, staged) = self
            .db
            .tx("create", |s| {
                let id = new_id("T", &mut s.next_id);
                let ticket = Ticket { id, version: 0, title, price, user_id: user, order_id: None };
                s.tickets.insert(ticket.clone()).expect("a fresh id");
                let mut staged = Staged::default();
                self.emit.stage(&mut s.outbox, &mut staged, Event::new(&ticket.created()));
                (ticket, staged)
            })
            .await;
        self.emit.publish(&self.db, staged);
        HttpResponse::ok(req.id, 201, ticket.json())
    }

    /// GET /api/tickets: the tickets no order holds.
    async fn index(&self, req: &HttpRequest) -> HttpResponse {
        // Flaw::ListAllTickets (planted): the filter is forgotten.
        let all = self.flaws.on(Flaw::ListAllTickets);
        let tickets: Vec<Value> =
            self.db.tx("read", |s| s.tickets.values().filter(|t| all || t.order_id.is_none()).map(Ticket::json).collect()).await;
        HttpResponse::ok(req.id, 200, Value::Array(tickets))
    }

    /// GET /api/tickets/:id: 404 if missing.
    async fn show(&self, req: &HttpRequest, id: &str) -> HttpResponse {
        if !validate::is_id(id) {
            // Ticket.findById throws a CastError: the error handler answers 400.
            return bad_request(req, "Something went wrong");
        }
        match self.db.tx("read", |s| s.tickets.find(id)).await {
            Some(t) => HttpResponse::ok(req.id, 200, t.json()),
            None => not_found(req),
        }
    }

    /// PUT /api/tickets/:id: validation 400, missing 404, reserved 400, not owner 401,
    /// then save (v+1) and publish ticket:updated (not awaited), 200.
    async fn update(&self, req: &HttpRequest, id: &str) -> HttpResponse {
        let user = match require_auth(req) {
            Ok(user) => user,
            Err(response) => return response,
        };
        let (title, price) = match validated(req) {
            Ok(fields) => fields,
            Err(response) => return response,
        };
        if !validate::is_id(id) {
            return bad_request(req, "Something went wrong");
        }
        let Some(mut ticket) = self.db.tx("read", |s| s.tickets.find(id)).await else {
            return not_found(req);
        };
        // Flaw::OwnerBeforeReserved (planted): the owner check comes first.
        let owner_first = self.flaws.on(Flaw::OwnerBeforeReserved);
        if owner_first && ticket.user_id != user {
            return not_authorized(req);
        }
        if ticket.order_id.is_some() {
            return bad_request(req, "Cannot edit a reserved ticket");
        }
        // Flaw::EditByAnyone (planted): the owner check is skipped.
        if ticket.user_id != user && !self.flaws.on(Flaw::EditByAnyone) {
            return not_authorized(req);
        }
        ticket.title = title;
        ticket.price = price;
        // Flaw::EditLastWriterWins (benchmark): the ticket read is stored whatever changed since.
        let overwrite = self.flaws.on(Flaw::EditLastWriterWins);
        let saved = self
            .db
            .tx(calls::EDIT, |s| {
                let saved = if overwrite { put_next(&mut s.tickets, ticket) } else { s.tickets.save(ticket)? };
                let mut staged = Staged::default();
                self.emit.stage(&mut s.outbox, &mut staged, Event::new(&saved.updated()));
                Ok::<_, StoreError>((saved, staged))
            })
            .await;
        match saved {
            Ok((saved, staged)) => {
                self.emit.publish(&self.db, staged);
                HttpResponse::ok(req.id, 200, saved.json())
            }
            // An unexpected error: the app's error handler answers 400.
            Err(e) => bad_request(req, &e.to_string()),
        }
    }

    /// Saves a changed ticket, records the order event as applied, and publishes
    /// ticket:updated (awaited: the listener acks only after the publish). Hardened, the
    /// transaction re-checks the inbox so two handlers of one order cannot both apply.
    async fn save_and_announce(&self, ticket: Ticket, order: &Id, seen: OrderSeen) -> Result<(), HandlerError> {
        let silent = self.flaws.on(Flaw::SilentVersionBump);
        // Flaw::LockSkipsInboxRecheck (benchmark): the listener's own inbox read decides alone.
        let idempotent = !self.flaws.on(Flaw::NonIdempotentListeners) && !self.flaws.on(Flaw::LockSkipsInboxRecheck);
        let unversioned = self.flaws.on(Flaw::LockSavesUnversioned);
        let staged = self
            .db
            .tx("lock", |s| {
                let before = s.seen(order);
                if idempotent && (before.cancelled || (before.created && !seen.cancelled)) {
                    return Ok(Staged::default());
                }
                // Flaw::LockSavesUnversioned (benchmark): the version read is not checked.
                let saved = if unversioned { put_next(&mut s.tickets, ticket) } else { s.tickets.save(ticket)? };
                s.seen.upsert(Seen { order_id: order.clone(), seen });
                let mut staged = Staged::default();
                // Flaw::SilentVersionBump: the lesson's listener saved without publishing.
                if !silent || seen.cancelled {
                    self.emit.stage(&mut s.outbox, &mut staged, Event::new(&saved.updated()));
                }
                Ok::<_, StoreError>(staged)
            })
            .await
            .map_err(|e| HandlerError::new(e.to_string()))?;
        self.emit.publish_awaited(&self.db, staged).await
    }

    /// A listener's first step: find the ticket (missing: fail, no ack).
    async fn find_ticket(&self, id: &Id) -> Result<Ticket, HandlerError> {
        self.db.tx("read", |s| s.tickets.find(id)).await.ok_or_else(|| HandlerError::new("Ticket not found"))
    }
}

/// A benchmark bug's write: a save without the version check, `ticket` at the version
/// it was read at + 1, over whatever is stored.
fn put_next(tickets: &mut crate::kit::store::Collection<Ticket>, mut ticket: Ticket) -> Ticket {
    ticket.version += 1;
    tickets.put(ticket.clone());
    ticket
}

struct OrderCreatedListener(Arc<Tickets>);

impl Listener for OrderCreatedListener {
    type Event = domain::OrderCreated;

    fn on_message(self: Arc<Self>, data: domain::OrderCreated) -> BoxFuture<Result<(), HandlerError>> {
        Box::pin(async move {
            let (svc, order) = (&self.0, &data.id);
            let mut ticket = svc.find_ticket(&data.ticket.id).await?;
            // Flaw::NonIdempotentListeners: as built, a duplicate is applied again.
            if !svc.flaws.on(Flaw::NonIdempotentListeners) {
                let seen = svc.db.tx("read", |s| s.seen(order)).await;
                if seen.created || seen.cancelled {
                    return Ok(());
                }
            }
            // Flaw::UnguardedUnlock: as built, the lock is taken even if another order holds it.
            if !svc.flaws.on(Flaw::UnguardedUnlock) {
                if let Some(holder) = &ticket.order_id {
                    if holder != order {
                        return Err(HandlerError::new(format!("ticket {} is still held by {holder}", ticket.id)));
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
    type Event = domain::OrderCancelled;

    fn on_message(self: Arc<Self>, data: domain::OrderCancelled) -> BoxFuture<Result<(), HandlerError>> {
        Box::pin(async move {
            let (svc, order, ticket_id) = (&self.0, &data.id, &data.ticket.id);
            let mut ticket = svc.find_ticket(ticket_id).await?;
            if !svc.flaws.on(Flaw::NonIdempotentListeners) && svc.db.tx("read", |s| s.seen(order)).await.cancelled {
                return Ok(());
            }
            let done = OrderSeen { created: true, cancelled: true };
            // Flaw::UnguardedUnlock: as built, the lock is cleared whoever holds it.
            if svc.flaws.on(Flaw::UnguardedUnlock) || ticket.order_id.as_ref() == Some(order) {
                ticket.order_id = None;
                return svc.save_and_announce(ticket, order, done).await;
            }
            // Hardened: this order never held the ticket (or no longer does); remember
            // that it is cancelled so a late order:created for it is not applied.
            let read_version = ticket.version;
            // Flaw::UnlockSkipIgnoresVersion (benchmark): the version read is not checked.
            let check_version = !svc.flaws.on(Flaw::UnlockSkipIgnoresVersion);
            svc.db
                .tx("unlock-skip", |s| {
                    // The ticket must not have moved since it was read (it may have been
                    // locked by this very order meanwhile): else retry on redelivery.
                    match s.tickets.find(ticket_id) {
                        Some(t) if t.version == read_version || !check_version => {
                            s.seen.upsert(Seen { order_id: order.clone(), seen: done });
                            Ok(())
                        }
                        _ => Err(HandlerError::new(format!("ticket {ticket_id} changed while cancelling {order}"))),
                    }
                })
                .await
        })
    }
}
