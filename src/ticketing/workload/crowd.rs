//! The attempts a real crowd makes besides the allowed ones: acting on others' records,
//! signing out, malformed bodies and ids, unknown ids. The routes must refuse them in
//! their rules' order, and `answers-match-the-rules` judges every answer.

use super::{Known, Req};
use crate::harness::choices::{key, Choices, Site};
use crate::ticketing::domain::Id;
use crate::ticketing::protocol::Method;
use crate::ticketing::scenario::Op;
use serde_json::{json, Value};

/// A read, cancel or payment of any known order, the caller's or not.
pub(super) fn any_order(op: Op, order: &Id) -> Req {
    match op {
        Op::ShowOrder => Req::new(Method::Get, format!("/api/orders/{order}"), Value::Null),
        Op::CancelAnyOrder => Req::new(Method::Delete, format!("/api/orders/{order}"), Value::Null),
        _ => Req::new(Method::Post, "/api/payments", json!({ "orderId": order, "token": "tok_visa" })),
    }
}

/// A known ticket and order (or made-up ids before any exist).
fn some_records(known: &Known, choices: &Choices) -> (Id, Id) {
    let ticket = match known.tickets.len() {
        0 => "T1".into(),
        n => known.tickets[choices.pick(Site::Workload, key(&"crowd ticket"), n)].0.clone(),
    };
    let order = match known.orders.len() {
        0 => "O1".into(),
        n => known.orders[choices.pick(Site::Workload, key(&"crowd order"), n)].0.clone(),
    };
    (ticket, order)
}

/// Any write or private read, sent signed out (the caller sends it without a user).
pub(super) fn signed_out(known: &Known, choices: &Choices) -> Req {
    let (ticket, order) = some_records(known, choices);
    match choices.draw(Site::Workload, key(&"signed-out route"), 7) {
        0 => Req::create_ticket("signed out".into(), 10),
        1 => Req::new(Method::Put, format!("/api/tickets/{ticket}"), json!({ "title": "signed out", "price": 10 })),
        2 => Req::new(Method::Post, "/api/orders", json!({ "ticketId": ticket })),
        3 => Req::new(Method::Get, "/api/orders", Value::Null),
        4 => any_order(Op::ShowOrder, &order),
        5 => any_order(Op::CancelAnyOrder, &order),
        _ => any_order(Op::PayAnyOrder, &order),
    }
}

/// A request with missing or malformed fields, or a malformed id in its path.
pub(super) fn malformed(known: &Known, choices: &Choices) -> Req {
    let (ticket, _) = some_records(known, choices);
    match choices.draw(Site::Workload, key(&"malformed request"), 7) {
        0 => Req::new(Method::Post, "/api/tickets", json!({ "title": "  ", "price": 10 })),
        1 => Req::new(Method::Post, "/api/tickets", json!({ "title": "no price" })),
        2 => Req::new(Method::Put, format!("/api/tickets/{ticket}"), json!({ "title": "bad price", "price": -3 })),
        3 => Req::new(Method::Post, "/api/orders", json!({})),
        4 => Req::new(Method::Get, "/api/tickets/not-an-id!", Value::Null),
        5 => Req::new(Method::Delete, "/api/orders/not-an-id!", Value::Null),
        _ => Req::new(Method::Post, "/api/payments", json!({ "orderId": "" })),
    }
}

/// A well-formed id that names no record.
pub(super) fn unknown_id(choices: &Choices) -> Req {
    match choices.draw(Site::Workload, key(&"unknown id route"), 6) {
        0 => Req::new(Method::Get, "/api/tickets/T999999", Value::Null),
        1 => Req::new(Method::Put, "/api/tickets/T999999", json!({ "title": "ghost", "price": 10 })),
        2 => Req::new(Method::Post, "/api/orders", json!({ "ticketId": "T999999" })),
        3 => Req::new(Method::Get, "/api/orders/O999999", Value::Null),
        4 => Req::new(Method::Delete, "/api/orders/O999999", Value::Null),
        _ => Req::new(Method::Post, "/api/payments", json!({ "orderId": "O999999", "token": "tok_visa" })),
    }
}
