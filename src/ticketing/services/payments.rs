//! The payments service: keeps a replica of orders; owns payments; charges through a
//! simulated payment provider (amount in cents, currency, the request's token as the
//! source; its charges are kept so double charges show). Route: POST /api/payments.
//! Listeners: order:created, order:cancelled.

use super::{Opening, Route, ServiceSpec, Starter};
use crate::harness::BoxFuture;
use crate::ticketing::common::Listener;
use crate::ticketing::common::{bad_request, new_id, not_authorized, not_found, require_auth, validate, HandlerError};
use crate::ticketing::common::{listen, Emit, HttpService, Instance, InstanceEnv, Staged};
use crate::ticketing::common::{Collection, Db, Row, StoreError, Table};
use crate::ticketing::common::{HasOutbox, Outbox};
use crate::ticketing::domain::TicketingApp;
use crate::ticketing::domain::{self, Event, Id, OrderStatus, Snapshot, Subject};
use crate::ticketing::flaws::{Flaw, Flaws};
use crate::ticketing::protocol::{HttpRequest, HttpResponse, Method};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

mod remote;
pub use remote::{ATTEMPTS, CALL_TIMEOUT, CALL_WINDOW, RECONCILE_INTERVAL};

/// The service's name: its nodes' (`payments-1`), its store's, its scenario key's.
pub const NAME: &str = "payments";

pub const SPEC: ServiceSpec = ServiceSpec {
    name: NAME,
    group: "payments-service",
    default_instances: 0,
    routes: &[Route::new(Method::Post, "/api/payments")],
    publishes: &[Subject::PaymentCreated],
    consumes: &[Subject::OrderCreated, Subject::OrderCancelled],
    open,
};

/// The payments service's copy of an order.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicaOrder {
    pub id: Id,
    pub version: u64,
    pub user_id: Id,
    pub price: f64,
    pub status: OrderStatus,
    /// Kept by the hardened service to refuse payments for expired orders.
    pub expires_at: Duration,
}

crate::impl_doc!(ReplicaOrder: Snapshot, |r| Snapshot::OrderReplica {
    id: r.id.clone(),
    version: r.version,
    status: r.status,
    price: r.price,
    user_id: r.user_id.clone(),
    expires_at: r.expires_at,
});

/// A payment and the provider's charge behind it.
#[derive(Clone, Debug, PartialEq)]
pub struct Payment {
    pub id: Id,
    pub order_id: Id,
    pub stripe_id: Id,
    pub amount: i64,
    pub refunded: bool,
    /// The remote provider's refund of the charge, once it paid it back.
    pub refund: Option<Id>,
}

impl Row for Payment {
    type Key = Id;
    type Doc = Snapshot;
    fn key(&self) -> Id {
        self.id.clone()
    }
    fn snapshot(&self) -> Snapshot {
        Snapshot::Payment {
            id: self.id.clone(),
            order_id: self.order_id.clone(),
            stripe_id: self.stripe_id.clone(),
            amount: self.amount,
            refunded: self.refunded,
            refund: self.refund.clone(),
        }
    }
}

/// A charge made by the simulated payment provider.
#[derive(Clone, Debug, PartialEq)]
pub struct Charge {
    pub id: Id,
    /// In cents.
    pub amount: i64,
    pub currency: String,
    pub source: String,
    /// The order its metadata names (the remote provider's charges).
    pub order_id: Option<Id>,
}

impl Row for Charge {
    type Key = Id;
    type Doc = Snapshot;
    fn key(&self) -> Id {
        self.id.clone()
    }
    fn snapshot(&self) -> Snapshot {
        Snapshot::Charge {
            id: self.id.clone(),
            amount: self.amount,
            currency: self.currency.clone(),
            source: self.source.clone(),
            order_id: self.order_id.clone(),
        }
    }
}

#[derive(Default)]
pub struct PaymentsDb {
    pub orders: Collection<ReplicaOrder>,
    pub payments: Table<Payment>,
    pub next_payment: crate::kit::store::Counter,
    /// The payment provider's side: its charges.
    pub charges: Table<Charge>,
    pub next_charge: crate::kit::store::Counter,
    pub outbox: Outbox,
    /// Hardened, with a remote provider: the charges asked for and not yet settled.
    pub intents: Table<Intent>,
}

crate::journal!(PaymentsDb: Snapshot; charges, payments, orders, outbox, intents; next_payment, next_charge);

/// The hardened service's note that it asks the provider to charge for an order.
#[derive(Clone, Debug, PartialEq)]
pub struct Intent {
    pub order_id: Id,
    pub key: Option<String>,
    /// The request to the provider, as sent (a retry sends it again).
    pub body: serde_json::Value,
    /// When it was written: the reconciler leaves it to its request until then + [`CALL_WINDOW`].
    pub since: Duration,
    /// Settled: the payment is saved, or the provider refused the charge.
    pub settled: bool,
}

impl Row for Intent {
    type Key = Id;
    type Doc = Snapshot;
    fn key(&self) -> Id {
        self.order_id.clone()
    }
    fn snapshot(&self) -> Snapshot {
        Snapshot::Intent {
            order_id: self.order_id.clone(),
            key: self.key.clone(),
            amount: self.body["amount"].as_f64().unwrap_or_default().round() as i64,
            settled: self.settled,
        }
    }
}

impl HasOutbox<TicketingApp> for PaymentsDb {
    fn outbox(&mut self) -> &mut Outbox {
        &mut self.outbox
    }
}

pub struct Payments {
    db: Db<PaymentsDb>,
    emit: Emit,
    flaws: Flaws,
    /// The payment provider's node, when it is a remote party (see `remote`).
    provider: Option<crate::harness::fabric::NodeId>,
    outbound: Arc<crate::kit::remote::Outbound<TicketingApp>>,
}

fn open(o: &mut Opening) -> Starter {
    let db = o.store(PaymentsDb::default(), |s| &mut s.payments);
    Arc::new(move |env| start(env, &db.on(&env.name)))
}

pub fn start(env: &InstanceEnv, db: &Db<PaymentsDb>) -> Arc<Instance> {
    let (provider, outbound) = (env.app.provider, env.outbound.clone());
    let service = Arc::new(Payments { db: db.clone(), emit: env.emit(), flaws: env.app.flaws, provider, outbound });
    env.relay(db);
    if provider.is_some() && !service.flaws.on(Flaw::ChargeWithoutRecord) {
        crate::harness::cause::spawn(service.clone().reconcile_forever());
    }
    if provider.is_some() {
        crate::harness::cause::spawn(service.clone().refund_forever());
    }
    env.start(Some(service.clone()), |nats| {
        listen(nats, OrderCreatedListener(service.clone()));
        listen(nats, OrderCancelledListener(service.clone()));
    })
}

impl HttpService for Payments {
    fn handle(self: Arc<Self>, req: Arc<HttpRequest>) -> BoxFuture<HttpResponse> {
        Box::pin(async move {
            match (req.method, req.segments().as_slice()) {
                (Method::Post, ["payments"]) => self.pay(&req).await,
                _ => not_found(&req),
            }
        })
    }
}

enum Refused {
    Paid,
    Cancelled,
    Expired,
}

/// The hardened service refuses payment this close to expiry, so a payment it takes
/// has been charged and saved before the expiration job can run.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(1);

impl Payments {
    /// POST /api/payments: token and orderId required 400, missing 404, not the owner
    /// 401, cancelled 400; charge, save the payment, publish payment:created, 201.
    async fn pay(&self, req: &HttpRequest) -> HttpResponse {
        let user = match require_auth(req) {
            Ok(user) => user,
            Err(response) => return response,
        };
        let token = validate::non_empty_string(&req.body, "token");
        let order_id = validate::non_empty_string(&req.body, "orderId");
        let (Some(token), Some(order_id)) = (token, order_id) else {
            let mut errors = Vec::new();
            if validate::non_empty_string(&req.body, "token").is_none() {
                errors.push(("token", "Invalid value"));
            }
            if validate::non_empty_string(&req.body, "orderId").is_none() {
                errors.push(("orderId", "Invalid value"));
            }
            return HttpResponse::invalid(req.id, &errors);
        };
        if !validate::is_id(&order_id) {
            return bad_request(req, "Something went wrong");
        }
        let Some(order) = self.db.tx("read", |s| s.orders.find(&order_id)).await else { return not_found(req) };
        if order.user_id != user {
            return not_authorized(req);
        }
        if order.status == OrderStatus::Cancelled {
            return bad_request(req, "Cannot pay for an cancelled order");
        }
        // Flaw::PayExpiredOrder: as built, an order past its expiry is still payable
        // while its cancel has not arrived.
        if !self.flaws.on(Flaw::PayExpiredOrder) && crate::harness::now() + EXPIRY_MARGIN >= order.expires_at {
            return bad_request(req, "Order has expired");
        }
        if let Some(provider) = self.provider {
            return self.pay_remotely(req, &order, token, provider).await;
        }
        let result = self.db.tx("charge", |s| self.charge(s, &order, token)).await;
        match result {
            Ok((payment, staged)) => {
                self.emit.publish(&self.db, staged);
                HttpResponse::ok(req.id, 201, json!({ "id": payment.id }))
            }
            Err(Refused::Paid) => bad_request(req, "Order already paid"),
            Err(Refused::Cancelled) => bad_request(req, "Cannot pay for an cancelled order"),
            Err(Refused::Expired) => bad_request(req, "Order has expired"),
        }
    }
}

impl Payments {
    /// The charging transaction: refuse (as hardened does) or charge through the
    /// provider, save the payment, and stage payment:created.
    fn charge(&self, s: &mut PaymentsDb, order: &ReplicaOrder, token: String) -> Result<(Payment, Staged), Refused> {
        // Flaw::DoublePayment: as built, nothing stops a second payment.
        if !self.flaws.on(Flaw::DoublePayment) && s.payments.values().any(|p| p.order_id == order.id && !p.refunded) {
            return Err(Refused::Paid);
        }
        // Flaw::PayExpiredOrder: as built, the order's status and expiry are not
        // checked again in the transaction that charges, so a cancel that lands
        // meanwhile, or a pause that carries the request past the expiry, is missed.
        // Flaw::ChargeSkipsRechecks (benchmark): only these two re-checks are gone.
        let check_again = !self.flaws.on(Flaw::PayExpiredOrder) && !self.flaws.on(Flaw::ChargeSkipsRechecks);
        if check_again && s.orders.find(&order.id).is_some_and(|o| o.status == OrderStatus::Cancelled) {
            return Err(Refused::Cancelled);
        }
        if check_again && crate::harness::now() + EXPIRY_MARGIN >= order.expires_at {
            return Err(Refused::Expired);
        }
        // stripe.charges.create({ currency: 'usd', amount: price * 100, source: token })
        // Flaw::ChargeInDollars (planted): the price is charged as is, not in cents.
        let cents = if self.flaws.on(Flaw::ChargeInDollars) { order.price } else { order.price * 100.0 };
        let charge = Charge {
            id: new_id("ch_", &mut s.next_charge),
            amount: cents.round() as i64,
            currency: "usd".into(),
            source: token,
            order_id: None,
        };
        s.charges.insert(charge.clone()).expect("a fresh charge id");
        let payment = Payment {
            id: new_id("P", &mut s.next_payment),
            order_id: order.id.clone(),
            stripe_id: charge.id.clone(),
            amount: charge.amount,
            refunded: false,
            refund: None,
        };
        s.payments.insert(payment.clone()).expect("a fresh payment id");
        // Flaw::PaymentsReplicaLag: as built, payments waits for orders to tell it the
        // order is complete (which, as built, it never does). Hardened: payments marks
        // its own replica complete when it takes the payment.
        if !self.flaws.on(Flaw::PaymentsReplicaLag) {
            if let Some(mut replica) = s.orders.find(&order.id) {
                replica.status = OrderStatus::Complete;
                s.orders.put(replica);
            }
        }
        let staged = self.announce(s, &payment);
        Ok((payment, staged))
    }

    /// Stages payment:created for a payment saved in this transaction.
    fn announce(&self, s: &mut PaymentsDb, payment: &Payment) -> Staged {
        let mut staged = Staged::default();
        let event = Event::new(&domain::PaymentCreated {
            id: payment.id.clone(),
            order_id: payment.order_id.clone(),
            stripe_id: payment.stripe_id.clone(),
        });
        self.emit.stage(&mut s.outbox, &mut staged, event);
        staged
    }
}

struct OrderCreatedListener(Arc<Payments>);

impl Listener for OrderCreatedListener {
    type Event = domain::OrderCreated;

    fn on_message(self: Arc<Self>, data: domain::OrderCreated) -> BoxFuture<Result<(), HandlerError>> {
        Box::pin(async move {
            let svc = &self.0;
            let replica = ReplicaOrder {
                id: data.id.clone(),
                version: data.version.unwrap_or(0),
                user_id: data.user_id.clone(),
                price: data.ticket.price,
                status: OrderStatus::Created,
                // Flaw::ReplicaWithoutExpiry (planted): the expiry is not copied.
                expires_at: if svc.flaws.on(Flaw::ReplicaWithoutExpiry) { Duration::ZERO } else { Duration::from_micros(data.expires_at) },
            };
            // Flaw::NonIdempotentListeners: see `inserted`.
            super::inserted(svc.db.tx("replicate", |s| s.orders.insert(replica)).await, svc.flaws)
        })
    }
}

struct OrderCancelledListener(Arc<Payments>);

impl Listener for OrderCancelledListener {
    type Event = domain::OrderCancelled;

    fn on_message(self: Arc<Self>, data: domain::OrderCancelled) -> BoxFuture<Result<(), HandlerError>> {
        Box::pin(async move {
            let (svc, id) = (&self.0, &data.id);
            // Without a version the event cannot be found by event: the lesson's bug.
            let Some(version) = data.version else { return Err(HandlerError::new(format!("Order not found: {id} without a version"))) };
            // Flaw::RefundListReadEarly (benchmark): the payments to refund are found here,
            // before the write, instead of inside it.
            let early = svc.flaws.on(Flaw::RefundListReadEarly);
            let (found, current, read_early) =
                svc.db.tx("read", |s| (s.orders.find_by_event(id, version), s.orders.find(id), early.then(|| charged(s, id)))).await;
            let Some(mut replica) = found else {
                return match current {
                    // Hardened: an event the replica already holds is a duplicate: ack it.
                    Some(c) if c.version >= version && !svc.flaws.on(Flaw::NonIdempotentListeners) => Ok(()),
                    _ => Err(HandlerError::new(format!("Order not found: {id} v{}", version.saturating_sub(1)))),
                };
            };
            // The owner cancelled the order: the replica follows, even if a payment marked
            // it complete since it was read (that payment is refunded just below).
            replica.status = OrderStatus::Cancelled;
            // Hardened: a cancelled order's payment is refunded (the pay/expire race).
            // Flaw::NoRefund (planted): it is not.
            let refund = !svc.flaws.on(Flaw::PayExpiredOrder) && !svc.flaws.on(Flaw::NoRefund);
            svc.db
                .tx("cancel", |s| {
                    s.orders.save(replica)?;
                    if refund {
                        for payment in read_early.unwrap_or_else(|| charged(s, id)) {
                            s.payments.upsert(Payment { refunded: true, ..payment });
                        }
                    }
                    Ok::<_, StoreError>(())
                })
                .await
                .map_err(|e| HandlerError::new(e.to_string()))
        })
    }
}

/// An order's payments not refunded yet.
fn charged(s: &PaymentsDb, order: &Id) -> Vec<Payment> {
    s.payments.values().filter(|p| p.order_id == *order && !p.refunded).cloned().collect()
}
