//! The payments service: keeps a replica of orders; owns payments; charges through a
//! simulated payment provider (its charges are recorded so double charges show).
//! Route: POST /api/payments. Listeners: order:created, order:cancelled.

use super::{bad_request, new_id, not_authorized, not_found, InstanceEnv};
use crate::app::instance::{Emit, HttpService, Instance, Staged};
use crate::app::nats::Listener;
use crate::app::outbox::{HasOutbox, Outbox};
use crate::app::store::{Collection, Db, StoreError};
use crate::app::{BoxFut, HandlerError};
use crate::flaws::{Flaw, Flaws};
use crate::history::{OrderStatus, Snapshot};
use crate::proto::{Event, EventData, Group, HttpRequest, HttpResponse, Id, Route, Subject};
use std::sync::Arc;
use std::time::Duration;

pub const GROUP: Group = "payments-service";

/// The payments service's copy of an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaOrder {
    pub id: Id,
    pub version: u64,
    pub user_id: Id,
    pub price: i64,
    pub status: OrderStatus,
    /// Kept by the hardened service to refuse payments for expired orders.
    pub expires_at: Duration,
}

crate::impl_doc!(ReplicaOrder, |r| Snapshot::OrderReplica { id: r.id.clone(), version: r.version, status: r.status });

/// A payment and the provider's charge behind it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payment {
    pub id: Id,
    pub order_id: Id,
    pub stripe_id: Id,
    pub amount: i64,
    pub refunded: bool,
}

impl Payment {
    fn snapshot(&self) -> Snapshot {
        Snapshot::Payment { id: self.id.clone(), order_id: self.order_id.clone(), amount: self.amount, refunded: self.refunded }
    }
}

#[derive(Default)]
pub struct PaymentsDb {
    pub orders: Collection<ReplicaOrder>,
    pub payments: Vec<Payment>,
    pub next_payment: u64,
    pub outbox: Outbox,
}

impl HasOutbox for PaymentsDb {
    fn outbox(&mut self) -> &mut Outbox {
        &mut self.outbox
    }
}

pub struct Payments {
    db: Db<PaymentsDb>,
    emit: Emit,
    flaws: Flaws,
}

pub fn start(env: &InstanceEnv, db: &Db<PaymentsDb>) -> Arc<Instance> {
    let service = Arc::new(Payments { db: db.clone(), emit: env.emit(), flaws: env.app.flaws });
    let listeners: Vec<Arc<dyn Listener>> =
        vec![Arc::new(OrderCreatedListener(service.clone())), Arc::new(OrderCancelledListener(service.clone()))];
    env.start(db, Some(service), listeners)
}

impl HttpService for Payments {
    fn handle(self: Arc<Self>, req: Arc<HttpRequest>) -> BoxFut<HttpResponse> {
        Box::pin(async move {
            match &req.route {
                Route::CreatePayment { order_id, token } => self.pay(&req, order_id.as_ref(), token.as_deref()).await,
                _ => not_found(req.id),
            }
        })
    }
}

enum Refused {
    Paid,
    Cancelled,
    Expired,
}

impl Payments {
    /// POST /api/payments: token and orderId required 400, missing 404, not the owner
    /// 401, cancelled 400; charge, save the payment, publish payment:created, 201.
    async fn pay(&self, req: &HttpRequest, order_id: Option<&Id>, token: Option<&str>) -> HttpResponse {
        let Some(user) = req.user.clone() else { return not_authorized(req.id) };
        let (Some(order_id), Some(_token)) = (order_id, token) else { return bad_request(req.id, "token and orderId are required") };
        let Some(order) = self.db.tx("read", |s, _| s.orders.find(order_id)).await else { return not_found(req.id) };
        if order.user_id != user {
            return not_authorized(req.id);
        }
        if order.status == OrderStatus::Cancelled {
            return bad_request(req.id, "Cannot pay for an cancelled order");
        }
        // Flaw::PayExpiredOrder: as built, an order past its expiry is still payable
        // while its cancel has not arrived.
        if !self.flaws.has(Flaw::PayExpiredOrder) && crate::sim::now() + EXPIRY_MARGIN >= order.expires_at {
            return bad_request(req.id, "Order has expired");
        }
        let double_payment = self.flaws.has(Flaw::DoublePayment);
        let replica_lag = self.flaws.has(Flaw::PaymentsReplicaLag);
        let check_again = !self.flaws.has(Flaw::PayExpiredOrder);
        let result = self
            .db
            .tx("charge", |s, w| {
                // Flaw::DoublePayment: as built, nothing stops a second payment.
                if !double_payment && s.payments.iter().any(|p| p.order_id == order.id && !p.refunded) {
                    return Err(Refused::Paid);
                }
                // Flaw::PayExpiredOrder: as built, the order's status and expiry are not
                // checked again in the transaction that charges, so a cancel that lands
                // meanwhile, or a pause that carries the request past the expiry, is missed.
                if check_again && s.orders.find(&order.id).is_some_and(|o| o.status == OrderStatus::Cancelled) {
                    return Err(Refused::Cancelled);
                }
                if check_again && crate::sim::now() + EXPIRY_MARGIN >= order.expires_at {
                    return Err(Refused::Expired);
                }
                let id = new_id("P", &mut s.next_payment);
                let payment = Payment {
                    id: id.clone(),
                    order_id: order.id.clone(),
                    stripe_id: format!("ch_{id}").into(),
                    amount: order.price,
                    refunded: false,
                };
                w.snapshots.push(payment.snapshot());
                s.payments.push(payment.clone());
                if !replica_lag {
                    // Hardened: payments knows the order is paid without waiting for orders.
                    if let Some(mut replica) = s.orders.find(&order.id) {
                        replica.status = OrderStatus::Complete;
                        s.orders.put(replica, w);
                    }
                }
                let mut staged = Staged::default();
                let event = Event::new(EventData::PaymentCreated {
                    id: payment.id.clone(),
                    order_id: payment.order_id.clone(),
                    stripe_id: payment.stripe_id.clone(),
                });
                self.emit.stage(&mut s.outbox, w, &mut staged, event);
                Ok((payment, staged))
            })
            .await;
        match result {
            Ok((payment, staged)) => {
                let _ = self.emit.sent(&self.db, staged, false).await;
                HttpResponse::ok(req.id, 201, Some(payment.id))
            }
            Err(Refused::Paid) => bad_request(req.id, "Order already paid"),
            Err(Refused::Cancelled) => bad_request(req.id, "Cannot pay for an cancelled order"),
            Err(Refused::Expired) => bad_request(req.id, "Order has expired"),
        }
    }
}

/// The hardened service refuses payment this close to expiry, so a payment it takes
/// has been charged and saved before the expiration job can run.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(1);

struct OrderCreatedListener(Arc<Payments>);

impl Listener for OrderCreatedListener {
    fn subject(&self) -> Subject {
        Subject::OrderCreated
    }
    fn queue_group(&self) -> Group {
        GROUP
    }
    fn on_message(self: Arc<Self>, event: Arc<Event>) -> BoxFut<Result<(), HandlerError>> {
        Box::pin(async move {
            let EventData::OrderCreated { id, version, user_id, expires_at, ticket_price, .. } = &event.data else { return Ok(()) };
            let svc = &self.0;
            let replica = ReplicaOrder {
                id: id.clone(),
                version: version.unwrap_or(0),
                user_id: user_id.clone(),
                price: *ticket_price,
                status: OrderStatus::Created,
                expires_at: *expires_at,
            };
            // Flaw::NonIdempotentListeners: see `inserted`.
            super::inserted(svc.db.tx("replicate", |s, w| s.orders.insert(replica, w)).await, svc.flaws)
        })
    }
}

struct OrderCancelledListener(Arc<Payments>);

impl Listener for OrderCancelledListener {
    fn subject(&self) -> Subject {
        Subject::OrderCancelled
    }
    fn queue_group(&self) -> Group {
        GROUP
    }
    fn on_message(self: Arc<Self>, event: Arc<Event>) -> BoxFut<Result<(), HandlerError>> {
        Box::pin(async move {
            let EventData::OrderCancelled { id, version, .. } = &event.data else { return Ok(()) };
            let svc = &self.0;
            // Without a version the event cannot be found by event: the lesson's bug.
            let Some(version) = version else { return Err(HandlerError::new(format!("Order not found: {id} without a version"))) };
            let (found, current) = svc.db.tx("read", |s, _| (s.orders.find_by_event(id, *version), s.orders.find(id))).await;
            let Some(mut replica) = found else {
                return match current {
                    // Hardened: an event the replica already holds is a duplicate: ack it.
                    Some(c) if c.version >= *version && !svc.flaws.has(Flaw::NonIdempotentListeners) => Ok(()),
                    _ => Err(HandlerError::new(format!("Order not found: {id} v{}", version.saturating_sub(1)))),
                };
            };
            // The owner cancelled the order: the replica follows, even if a payment marked
            // it complete since it was read (that payment is refunded just below).
            replica.status = OrderStatus::Cancelled;
            // Hardened: a cancelled order's payment is refunded (the pay/expire race).
            let refund = !svc.flaws.has(Flaw::PayExpiredOrder);
            svc.db
                .tx("cancel", |s, w| {
                    s.orders.save(replica, w)?;
                    if refund {
                        for payment in s.payments.iter_mut().filter(|p| p.order_id == *id && !p.refunded) {
                            payment.refunded = true;
                            w.snapshots.push(payment.snapshot());
                        }
                    }
                    Ok::<_, StoreError>(())
                })
                .await
                .map_err(|e| HandlerError::new(e.to_string()))
        })
    }
}
