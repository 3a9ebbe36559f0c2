//! The payment provider as a remote party: its own node behind the faulty network, with
//! the contract of `stripe.charges.create` that the app relies on. An amount must be a
//! positive integer of cents, at least 50 and at most eight digits (else
//! `invalid_request_error`, `parameter_invalid_integer`, "Invalid integer: 2010.0000000000002");
//! a charge is stored; a request with an idempotency key returns the first request's
//! saved result (also its error), and the same key with other parameters is an
//! `idempotency_error`; a validation error saves nothing under its key. Every request
//! is kept in the provider's request log (its store's `provider-request` documents),
//! which the invariants read. Routes: POST /v1/charges, POST /v1/refunds (a whole
//! charge paid back: an unknown charge is `resource_missing`, a second refund of one
//! `charge_already_refunded`; keys as for charges).

use super::common::{Db, HttpService, Row, Table};
use super::domain::{Id, Snapshot};
use super::protocol::{HttpRequest, HttpResponse};
use super::services::payments::Charge;
use crate::harness::BoxFuture;
use serde_json::{json, Value};
use std::sync::Arc;

/// The provider's node, and its store's name.
pub const NAME: &str = "provider";
/// The smallest and largest amounts it charges, in cents.
pub const MIN_AMOUNT: f64 = 50.0;
pub const MAX_AMOUNT: f64 = 99_999_999.0;

/// One request in the provider's log.
#[derive(Clone, Debug, PartialEq)]
pub struct LoggedRequest {
    pub id: Id,
    pub key: Option<String>,
    pub order_id: Id,
    /// The request's parameters, without its key, as canonical JSON.
    pub params: String,
    pub status: u16,
    pub outcome: String,
    pub charge: Option<Id>,
    /// The answer's body, replayed for a retry with the same key.
    pub body: Value,
    /// Whether this is its key's saved result (not a validation error, not a replay).
    pub saved: bool,
}

impl Row for LoggedRequest {
    type Key = Id;
    type Doc = Snapshot;
    fn key(&self) -> Id {
        self.id.clone()
    }
    fn snapshot(&self) -> Snapshot {
        Snapshot::ProviderRequest {
            id: self.id.clone(),
            key: self.key.clone(),
            order_id: self.order_id.clone(),
            status: self.status,
            outcome: self.outcome.clone(),
            charge: self.charge.clone(),
        }
    }
}

/// A refund the provider made: a whole charge paid back.
#[derive(Clone, Debug, PartialEq)]
pub struct Refund {
    pub id: Id,
    pub charge: Id,
    pub amount: i64,
    pub order_id: Option<Id>,
}

impl Row for Refund {
    type Key = Id;
    type Doc = Snapshot;
    fn key(&self) -> Id {
        self.id.clone()
    }
    fn snapshot(&self) -> Snapshot {
        Snapshot::Refund { id: self.id.clone(), charge: self.charge.clone(), amount: self.amount, order_id: self.order_id.clone() }
    }
}

#[derive(Default)]
pub struct ProviderDb {
    pub charges: Table<Charge>,
    pub refunds: Table<Refund>,
    pub requests: Table<LoggedRequest>,
    pub next_charge: crate::kit::store::Counter,
    pub next_refund: crate::kit::store::Counter,
    pub next_request: crate::kit::store::Counter,
}

crate::journal!(ProviderDb: Snapshot; charges, refunds, requests; next_charge, next_refund, next_request);

/// The provider's HTTP side, on its store (which outlives its node's restarts).
pub struct Provider {
    pub db: Db<ProviderDb>,
}

impl HttpService for Provider {
    fn handle(self: Arc<Self>, req: Arc<HttpRequest>) -> BoxFuture<HttpResponse> {
        Box::pin(async move {
            let (status, body) = match req.path.as_str() {
                "/v1/charges" => self.db.tx("charge", |s| charge(s, &req.body)).await,
                "/v1/refunds" => self.db.tx("refund", |s| refund(s, &req.body)).await,
                _ => {
                    return error(
                        req.id,
                        404,
                        "invalid_request_error",
                        "resource_missing",
                        &format!("Unrecognized request URL: {}", req.path),
                    )
                }
            };
            HttpResponse::ok(req.id, status, body)
        })
    }
}

fn error(id: u64, status: u16, kind: &str, code: &str, message: &str) -> HttpResponse {
    HttpResponse::ok(id, status, error_body(kind, code, message))
}

fn error_body(kind: &str, code: &str, message: &str) -> Value {
    json!({ "error": { "type": kind, "code": code, "message": message } })
}

/// What a request did: its answer, the words its log keeps, the charge it names, and
/// whether it is its key's saved result (a validation error is not).
struct Made {
    status: u16,
    answer: Value,
    outcome: String,
    charge: Option<Id>,
    saved: bool,
}

impl Made {
    fn refused(status: u16, kind: &str, code: &str, message: &str, saved: bool) -> Made {
        let outcome = format!("{kind} {code}: {message}");
        Made { status, answer: error_body(kind, code, message), outcome, charge: None, saved }
    }
}

/// Serves one request with the provider's idempotency rules: a key already saved
/// replays its first result (the same parameters) or is an `idempotency_error` (other
/// ones); else `make` answers. Every request is logged.
fn idempotent(s: &mut ProviderDb, body: &Value, make: impl FnOnce(&mut ProviderDb) -> Made) -> (u16, Value) {
    let key = body.get("idempotencyKey").and_then(Value::as_str).map(str::to_string);
    let mut params = body.clone();
    if let Some(map) = params.as_object_mut() {
        map.remove("idempotencyKey");
    }
    let params = params.to_string();
    let order_id: Id = body.pointer("/metadata/orderId").and_then(Value::as_str).unwrap_or("").into();
    let id = super::common::new_id("req_", &mut s.next_request);
    let first = key.as_ref().and_then(|k| s.requests.values().find(|r| r.key.as_ref() == Some(k) && r.saved).cloned());
    let made = match first {
        Some(first) if first.params == params => Made {
            status: first.status,
            answer: first.body.clone(),
            outcome: format!("replayed {}: {}", first.id, first.outcome),
            charge: first.charge.clone(),
            saved: false,
        },
        Some(first) => {
            let message = "Keys for idempotent requests can only be used with the same parameters they were first used with";
            Made { charge: first.charge.clone(), ..Made::refused(400, "idempotency_error", "idempotency_key_in_use", message, false) }
        }
        None => make(s),
    };
    let logged = LoggedRequest {
        id,
        key,
        order_id,
        params,
        status: made.status,
        outcome: made.outcome,
        charge: made.charge,
        body: made.answer.clone(),
        saved: made.saved,
    };
    s.requests.insert(logged).expect("a fresh request id");
    (made.status, made.answer)
}

/// `stripe.charges.create`, in one transaction of the provider's store.
pub fn charge(s: &mut ProviderDb, body: &Value) -> (u16, Value) {
    idempotent(s, body, |s| {
        if let Err((code, message)) = valid_amount(body.get("amount")) {
            return Made::refused(400, "invalid_request_error", code, &message, false);
        }
        let amount = body["amount"].as_f64().unwrap_or_default() as i64;
        let order_id = body.pointer("/metadata/orderId").and_then(Value::as_str).map(Id::from);
        let charge = Charge {
            id: super::common::new_id("ch_", &mut s.next_charge),
            amount,
            currency: body.get("currency").and_then(Value::as_str).unwrap_or("usd").to_string(),
            source: body.get("source").and_then(Value::as_str).unwrap_or("").to_string(),
            order_id,
        };
        s.charges.insert(charge.clone()).expect("a fresh charge id");
        let answer = json!({ "id": charge.id, "amount": amount, "status": "succeeded" });
        Made { status: 200, answer, outcome: format!("charged {} ({amount} cents)", charge.id), charge: Some(charge.id), saved: true }
    })
}

/// `stripe.refunds.create` for a whole charge, in one transaction of the provider's
/// store: an unknown charge is `resource_missing` (404), a charge refunded already
/// `charge_already_refunded` (400, saved under the key like any executed request).
pub fn refund(s: &mut ProviderDb, body: &Value) -> (u16, Value) {
    idempotent(s, body, |s| {
        let Some(charge_id) = body.get("charge").and_then(Value::as_str) else {
            return Made::refused(400, "invalid_request_error", "parameter_missing", "Missing required param: charge.", false);
        };
        let Some(charge) = s.charges.get(&Id::from(charge_id)) else {
            return Made::refused(404, "invalid_request_error", "resource_missing", &format!("No such charge: '{charge_id}'"), false);
        };
        if s.refunds.values().any(|r| r.charge == charge.id) {
            let message = format!("Charge {charge_id} has already been refunded.");
            return Made {
                charge: Some(charge.id),
                ..Made::refused(400, "invalid_request_error", "charge_already_refunded", &message, true)
            };
        }
        let refund = Refund {
            id: super::common::new_id("re_", &mut s.next_refund),
            charge: charge.id.clone(),
            amount: charge.amount,
            order_id: charge.order_id.clone(),
        };
        s.refunds.insert(refund.clone()).expect("a fresh refund id");
        let answer = json!({ "id": refund.id, "charge": charge.id, "amount": refund.amount, "status": "succeeded" });
        Made { status: 200, answer, outcome: format!("refunded {} as {}", charge.id, refund.id), charge: Some(charge.id), saved: true }
    })
}

/// An amount must be an integer number of cents within the provider's limits.
fn valid_amount(amount: Option<&Value>) -> Result<(), (&'static str, String)> {
    let Some(n) = amount.and_then(Value::as_f64) else {
        return Err(("parameter_missing", "Missing required param: amount.".into()));
    };
    if n.fract() != 0.0 {
        return Err(("parameter_invalid_integer", format!("Invalid integer: {n}")));
    }
    if n < MIN_AMOUNT {
        return Err(("amount_too_small", "Amount must be at least 50 cents".into()));
    }
    if n > MAX_AMOUNT {
        return Err(("amount_too_large", "Amount must be no more than 99,999,999".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(amount: Value, key: Option<&str>) -> Value {
        let mut b = json!({ "amount": amount, "currency": "usd", "source": "tok_visa", "metadata": { "orderId": "O1" } });
        if let Some(k) = key {
            b["idempotencyKey"] = json!(k);
        }
        b
    }

    #[test]
    fn a_float_amount_is_refused_as_the_provider_words_it_and_saves_nothing() {
        let mut s = ProviderDb::default();
        let (status, answer) = charge(&mut s, &body(json!(20.1 * 100.0), Some("k")));
        assert_eq!(status, 400);
        assert_eq!(answer["error"]["code"], "parameter_invalid_integer");
        assert_eq!(answer["error"]["message"], "Invalid integer: 2010.0000000000002");
        assert!(s.charges.is_empty());
        // The key saved nothing: the corrected request is charged.
        assert_eq!(charge(&mut s, &body(json!(2010), Some("k"))).0, 200);
        assert_eq!(charge(&mut s, &body(json!(49), None)).1["error"]["code"], "amount_too_small");
        assert_eq!(charge(&mut s, &body(json!(100_000_000), None)).1["error"]["code"], "amount_too_large");
    }

    #[test]
    fn a_key_replays_the_first_result_and_refuses_other_parameters() {
        let mut s = ProviderDb::default();
        let (_, first) = charge(&mut s, &body(json!(2000), Some("pay-O1")));
        let (status, again) = charge(&mut s, &body(json!(2000), Some("pay-O1")));
        assert_eq!((status, &again), (200, &first), "the same charge");
        assert_eq!(s.charges.len(), 1);
        let (status, other) = charge(&mut s, &body(json!(3000), Some("pay-O1")));
        assert_eq!(status, 400);
        assert_eq!(other["error"]["type"], "idempotency_error");
        // Without a key, a retry is a second charge.
        charge(&mut s, &body(json!(2000), None));
        charge(&mut s, &body(json!(2000), None));
        assert_eq!(s.charges.len(), 3);
        assert_eq!(s.requests.len(), 5, "every request is logged");
    }

    #[test]
    fn a_refund_pays_a_charge_back_once_and_its_key_replays_it() {
        let mut s = ProviderDb::default();
        charge(&mut s, &body(json!(2000), None));
        let ask = |key: &str, charge: &str| json!({ "charge": charge, "metadata": { "orderId": "O1" }, "idempotencyKey": key });
        let (status, first) = refund(&mut s, &ask("refund-P1", "ch_1"));
        assert_eq!((status, first["amount"].as_i64()), (200, Some(2000)));
        assert_eq!(refund(&mut s, &ask("refund-P1", "ch_1")), (200, first.clone()), "a retry with the key: the same refund");
        let (status, again) = refund(&mut s, &ask("refund-P1-again", "ch_1"));
        assert_eq!((status, again["error"]["code"].as_str()), (400, Some("charge_already_refunded")));
        let (status, missing) = refund(&mut s, &ask("refund-P2", "ch_9"));
        assert_eq!((status, missing["error"]["code"].as_str()), (404, Some("resource_missing")));
        assert_eq!(s.refunds.len(), 1);
        assert_eq!(refund(&mut s, &json!({ "metadata": {} })).1["error"]["code"], "parameter_missing");
    }
}
