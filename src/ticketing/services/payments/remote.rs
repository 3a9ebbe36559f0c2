//! Payments with the payment provider as a remote party, as the app does it: await
//! `stripe.charges.create`, then save the payment, then publish. As built the amount is
//! `price * 100` unrounded (`float-amount`), the request has no idempotency key
//! (`charge-without-key`), and nothing is written before the charge (`charge-without-
//! record`): a lost answer, or a crash between the charge and the save, leaves money
//! taken that no payment records. Hardened: the amount in whole cents, a key per
//! order's payment, an intent saved before the charge, retries with the same key, and
//! a reconciler that settles intents a request left behind.

use super::*;
use crate::harness::fabric::NodeId;
use crate::ticketing::provider as provider_limits;

/// How long payments waits for the provider's answer.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(2);
/// Tries per charge, hardened (as built: one).
pub const ATTEMPTS: u32 = 3;
/// How long a request may still be charging: the reconciler leaves younger intents to it.
pub const CALL_WINDOW: Duration = Duration::from_secs(8);
/// How often each instance's reconciler looks for intents left behind.
pub const RECONCILE_INTERVAL: Duration = Duration::from_secs(5);

impl Payments {
    /// POST /api/payments once the order is known payable: charge through the provider,
    /// then save the payment and publish payment:created.
    pub(super) async fn pay_remotely(&self, req: &HttpRequest, order: &ReplicaOrder, token: String, provider: NodeId) -> HttpResponse {
        // amount: order.price * 100. Flaw::FloatAmount: as built the product goes as it
        // is, and 20.1 * 100 is 2010.0000000000002, which the provider refuses.
        let cents = order.price * 100.0;
        let amount = if self.flaws.on(Flaw::FloatAmount) { json!(cents) } else { json!(cents.round() as i64) };
        // Flaw::ChargeBelowMinimum: as built any price the app took is sent (tickets takes
        // any price above 0); hardened, an amount outside the provider's documented
        // limits is refused here, as the provider would refuse it, and never sent.
        let chargeable = (provider_limits::MIN_AMOUNT..=provider_limits::MAX_AMOUNT).contains(&cents.round());
        if !chargeable && !self.flaws.on(Flaw::ChargeBelowMinimum) {
            return bad_request(req, "Something went wrong");
        }
        let mut body = json!({ "currency": "usd", "amount": amount, "source": token, "metadata": { "orderId": order.id } });
        // Flaw::ChargeWithoutKey: as built no idempotency key; hardened, one per order's payment.
        let key = (!self.flaws.on(Flaw::ChargeWithoutKey)).then(|| format!("pay-{}", order.id));
        if let Some(key) = &key {
            body["idempotencyKey"] = json!(key);
        }
        // Flaw::ChargeWithoutRecord: as built nothing is written before the charge, and
        // it is tried once. Hardened: the intent first. Flaw::DoublePayment: as built a
        // paid order is charged again; hardened refuses it, in the same transaction.
        let hardened = !self.flaws.on(Flaw::ChargeWithoutRecord);
        let refuse_paid = !self.flaws.on(Flaw::DoublePayment);
        if hardened || refuse_paid {
            let intent = hardened.then(|| Intent {
                order_id: order.id.clone(),
                key,
                body: body.clone(),
                since: crate::harness::now(),
                settled: false,
            });
            let paid = self
                .db
                .tx("intend", |s| {
                    let paid = refuse_paid && s.payments.values().any(|p| p.order_id == order.id && !p.refunded);
                    if let Some(intent) = intent.filter(|_| !paid) {
                        s.intents.upsert(intent);
                    }
                    paid
                })
                .await;
            if paid {
                return bad_request(req, "Order already paid");
            }
        }
        let answer = self.ask(provider, &body, if hardened { ATTEMPTS } else { 1 }).await;
        // No answer: as built, the library throws and the error handler answers 400;
        // hardened, the intent stays for the reconciler.
        let Some(answer) = answer else { return bad_request(req, "Something went wrong") };
        if answer.status != 200 {
            self.settle(&order.id).await;
            return bad_request(req, "Something went wrong");
        }
        match self.record_charge(&order.id, &answer.body).await {
            Some(payment) => HttpResponse::ok(req.id, 201, json!({ "id": payment })),
            None => bad_request(req, "Something went wrong"),
        }
    }

    /// Asks the provider to charge, up to `attempts` times while no answer comes.
    async fn ask(&self, provider: NodeId, body: &serde_json::Value, attempts: u32) -> Option<Arc<HttpResponse>> {
        for _ in 0..attempts {
            let answer = self.outbound.call(provider, Method::Post, "/v1/charges", body.clone(), CALL_TIMEOUT).await;
            if answer.is_some() {
                return answer;
            }
        }
        None
    }

    /// Saves the payment for a charge the provider made (once per charge), settles the
    /// order's intent and publishes payment:created; the payment's id.
    async fn record_charge(&self, order_id: &Id, charge: &serde_json::Value) -> Option<Id> {
        let stripe_id: Id = charge["id"].as_str()?.into();
        let amount = charge["amount"].as_i64().unwrap_or_default();
        let (payment, staged) = self.db.tx("charge", |s| self.record(s, order_id, &stripe_id, amount)).await;
        if let Some(staged) = staged {
            self.emit.publish(&self.db, staged);
        }
        Some(payment)
    }

    /// The saving transaction: the charge's payment (an existing one if the charge is
    /// recorded already), refunded at once if the order was cancelled meanwhile.
    fn record(&self, s: &mut PaymentsDb, order_id: &Id, stripe_id: &Id, amount: i64) -> (Id, Option<Staged>) {
        if let Some(mut intent) = s.intents.get(order_id).filter(|i| !i.settled) {
            intent.settled = true;
            s.intents.upsert(intent);
        }
        if let Some(existing) = s.payments.values().find(|p| p.stripe_id == *stripe_id) {
            return (existing.id.clone(), None);
        }
        let replica = s.orders.find(order_id);
        let cancelled = replica.as_ref().is_some_and(|o| o.status == OrderStatus::Cancelled);
        let payment = Payment {
            id: new_id("P", &mut s.next_payment),
            order_id: order_id.clone(),
            stripe_id: stripe_id.clone(),
            amount,
            refunded: cancelled && !self.flaws.on(Flaw::NoRefund),
            refund: None,
        };
        s.payments.insert(payment.clone()).expect("a fresh payment id");
        // Flaw::PaymentsReplicaLag: see `charge`.
        if let Some(mut replica) = replica.filter(|_| !self.flaws.on(Flaw::PaymentsReplicaLag) && !cancelled) {
            replica.status = OrderStatus::Complete;
            s.orders.put(replica);
        }
        let staged = self.announce(s, &payment);
        (payment.id, Some(staged))
    }

    /// Marks the order's intent settled (the provider refused the charge).
    async fn settle(&self, order_id: &Id) {
        self.db
            .tx("settle", |s| {
                if let Some(mut intent) = s.intents.get(order_id).filter(|i| !i.settled) {
                    intent.settled = true;
                    s.intents.upsert(intent);
                }
            })
            .await;
    }

    /// Every [`RECONCILE_INTERVAL`], the payments marked refunded that the provider has
    /// not paid back yet are refunded there, each with its own key (`refund-PAYMENT`): a
    /// lost answer or a crash is asked again, and the provider refunds once.
    pub(super) async fn refund_forever(self: Arc<Self>) {
        let Some(provider) = self.provider else { return };
        // Flaw::RefundInBooksOnly (planted): the refund stays in payments' own books.
        if self.flaws.on(Flaw::RefundInBooksOnly) {
            return;
        }
        loop {
            crate::harness::sleep(RECONCILE_INTERVAL).await;
            let due: Vec<Payment> =
                self.db.poll("due refunds", |s| s.payments.values().filter(|p| p.refunded && p.refund.is_none()).cloned().collect()).await;
            for payment in due {
                let body = json!({ "charge": payment.stripe_id, "metadata": { "orderId": payment.order_id }, "idempotencyKey": format!("refund-{}", payment.id) });
                let answer = self.outbound.call(provider, Method::Post, "/v1/refunds", body, CALL_TIMEOUT).await;
                let Some(refund) = answer.filter(|a| a.status == 200).and_then(|a| a.body["id"].as_str().map(Id::from)) else { continue };
                self.db
                    .tx("refunded", |s| {
                        if let Some(mut p) = s.payments.get(&payment.id).filter(|p| p.refund.is_none()) {
                            p.refund = Some(refund.clone());
                            s.payments.upsert(p);
                        }
                    })
                    .await;
            }
        }
    }

    /// Hardened: every [`RECONCILE_INTERVAL`], the intents their requests left behind
    /// are asked again, with the same request and key: the provider answers with the
    /// charge it made (or makes it), and the payment is saved.
    pub(super) async fn reconcile_forever(self: Arc<Self>) {
        let Some(provider) = self.provider else { return };
        loop {
            crate::harness::sleep(RECONCILE_INTERVAL).await;
            let now = crate::harness::now();
            let due: Vec<Intent> = self
                .db
                .tx("due intents", |s| s.intents.values().filter(|i| !i.settled && i.since + CALL_WINDOW <= now).cloned().collect())
                .await;
            for intent in due {
                match self.ask(provider, &intent.body, 1).await {
                    Some(answer) if answer.status == 200 => {
                        self.record_charge(&intent.order_id, &answer.body).await;
                    }
                    Some(_) => self.settle(&intent.order_id).await,
                    None => {}
                }
            }
        }
    }
}
