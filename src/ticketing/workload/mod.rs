//! Simulated users: scripted steps at given virtual times ([`steps`]), and random
//! users drawing operations from the scenario's mix. Users send requests through the
//! fabric ([`client`]) and wait for the response. The users are the test's side: they
//! record what they sent and what came back.

mod crowd;
mod steps;

/// The users' client (the kit's ingress, for the ticketing app).
pub type Client = crate::kit::ingress::Client<super::domain::TicketingApp>;

use super::domain::Id;
use super::protocol::{HttpResponse, Method};
use super::scenario::{Mix, Op, Workload};
use crate::harness::cause;
use crate::harness::choices::{key, Choices, Site};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A request a user makes.
#[derive(Clone, Debug)]
pub struct Req {
    pub method: Method,
    pub path: String,
    pub body: Value,
}

impl Req {
    pub(crate) fn new(method: Method, path: impl Into<String>, body: Value) -> Req {
        Req { method, path: path.into(), body }
    }

    pub(crate) fn create_ticket(title: String, price: i64) -> Req {
        Req::new(Method::Post, "/api/tickets", json!({ "title": title, "price": price }))
    }

    /// A ticket priced `whole` and `cents` hundredths (`20.1`: 20 and 10).
    pub(crate) fn create_ticket_with_cents(title: String, whole: i64, cents: i64) -> Req {
        Req::new(Method::Post, "/api/tickets", json!({ "title": title, "price": (whole * 100 + cents) as f64 / 100.0 }))
    }

    pub(crate) fn transaction(kind: &str, amount: i64) -> Req {
        Req::new(Method::Post, "/api/transactions", json!({ "kind": kind, "amount": amount }))
    }
}

/// What users know: tickets and orders they have seen created, and step names.
#[derive(Default)]
pub(crate) struct Known {
    tickets: Vec<(Id, Id)>,
    orders: Vec<(Id, Id)>,
    names: BTreeMap<String, Id>,
}

/// Runs the whole workload (scripted steps and random users) to completion; random
/// users send no request at or after `until` (the end of the fault phase).
pub async fn run(client: Arc<Client>, mut workload: Workload, choices: Choices, until: Duration) {
    let known = Arc::new(Mutex::new(Known::default()));
    let mut tasks = Vec::new();
    // Scripted steps: each at its time; steps at the same time race each other.
    for (index, step) in std::mem::take(&mut workload.steps).into_iter().enumerate() {
        let (client, known) = (client.clone(), known.clone());
        tasks.push(cause::spawn(cause::labelled(("step", index), async move { steps::run_step(&client, &known, index, &step).await })));
    }
    // One copy the users share (each took a copy of it, its steps too).
    let workload = Arc::new(workload);
    if workload.users > 0 {
        let owner: Id = "u1".into();
        for i in 0..workload.initial_tickets {
            if crate::harness::now() >= until {
                break;
            }
            let title = format!("ticket {}", i + 1);
            // With cents: 10.1, 11.2, ... 17.8, then 0.45 (a price the app takes and the
            // payment provider, whose least charge is 50 cents, refuses), 19.1, ...
            let mut req = if workload.cents && i % 9 == 8 {
                Req::create_ticket_with_cents(title, 0, 45)
            } else if workload.cents {
                Req::create_ticket_with_cents(title, 10 + i as i64, 10 * (1 + i as i64 % 9))
            } else {
                Req::create_ticket(title, 10 + i as i64)
            };
            // The body goes with the request (remembering reads the method and path).
            let (_, response) = client.call(Some(owner.clone()), req.method, &req.path, std::mem::take(&mut req.body)).await;
            remember(&known, Some(owner.clone()), &req, response);
        }
        for u in 0..workload.users {
            let user: Id = format!("u{}", u + 1).into();
            let (client, known, choices, workload) = (client.clone(), known.clone(), choices.clone(), workload.clone());
            let label = ("user", user.clone());
            tasks.push(cause::spawn(cause::labelled(label, async move {
                random_user(&client, &known, &choices, &workload, user, until).await
            })));
        }
    }
    for task in tasks {
        let _ = task.await;
    }
}

/// Remembers a ticket or order a user created, for later operations to act on.
pub(crate) fn remember(known: &Mutex<Known>, user: Option<Id>, req: &Req, response: Option<Arc<HttpResponse>>) {
    let (Some(user), Some(response)) = (user, response) else {
        return;
    };
    let Some(id) = response.id() else {
        return;
    };
    if response.status != 201 {
        return;
    }
    let mut known = known.lock().unwrap();
    match (req.method, req.path.as_str()) {
        (Method::Post, "/api/tickets") => known.tickets.push((id, user)),
        (Method::Post, "/api/orders") => known.orders.push((id, user)),
        _ => {}
    }
}

fn pick_weighted(mix: &Mix, choices: &Choices) -> Op {
    let total: u32 = mix.weights().map(|(_, weight)| weight).sum();
    let mut roll = choices.draw(Site::Workload, key(&"operation"), total as u64) as u32;
    for (spec, weight) in mix.weights() {
        if roll < weight {
            return spec.op;
        }
        roll -= weight;
    }
    Op::ShowTicket
}

/// The request a random user makes for an operation, given what users know.
fn random_request(op: Op, known: &Known, choices: &Choices, workload: &Workload, user: &Id) -> Req {
    let hot = if workload.hot_tickets == 0 { known.tickets.len() } else { known.tickets.len().min(workload.hot_tickets as usize) };
    let ticket = (hot > 0).then(|| known.tickets[choices.pick(Site::Workload, key(&"ticket"), hot)].clone());
    let mine: Vec<&(Id, Id)> = known.orders.iter().filter(|(_, u)| u == user).collect();
    match (op, ticket) {
        (Op::UpdateTicket, Some((id, _))) => {
            let whole = 1 + choices.draw(Site::Workload, key(&"edit price"), 100);
            let price = if workload.cents { json!(price_with_cents(whole as i64, choices)) } else { json!(whole) };
            let title = format!("edit {}", choices.draw(Site::Workload, key(&"edit title"), 100));
            Req::new(Method::Put, format!("/api/tickets/{id}"), json!({ "title": title, "price": price }))
        }
        (Op::CreateOrder, Some((id, _))) => Req::new(Method::Post, "/api/orders", json!({ "ticketId": id })),
        (Op::ShowTicket, Some((id, _))) => Req::new(Method::Get, format!("/api/tickets/{id}"), Value::Null),
        (Op::CancelOrder, _) if !mine.is_empty() => Req::new(
            Method::Delete,
            format!("/api/orders/{}", mine[choices.pick(Site::Workload, key(&"order to cancel"), mine.len())].0),
            Value::Null,
        ),
        (Op::PayOrder, _) if !mine.is_empty() => {
            let order = mine[choices.pick(Site::Workload, key(&"order to pay"), mine.len())].0.clone();
            Req::new(Method::Post, "/api/payments", json!({ "orderId": order, "token": "tok_visa" }))
        }
        (Op::ListTickets, _) => Req::new(Method::Get, "/api/tickets", Value::Null),
        (Op::ListOrders, _) => Req::new(Method::Get, "/api/orders", Value::Null),
        (Op::ShowOrder | Op::CancelAnyOrder | Op::PayAnyOrder, _) if !known.orders.is_empty() => {
            let order = &known.orders[choices.pick(Site::Workload, key(&"any order"), known.orders.len())].0;
            crowd::any_order(op, order)
        }
        (Op::EditAnyTicket, _) if !known.tickets.is_empty() => {
            let ticket = &known.tickets[choices.pick(Site::Workload, key(&"any ticket"), known.tickets.len())].0;
            Req::new(Method::Put, format!("/api/tickets/{ticket}"), json!({ "title": "not yours", "price": 5 }))
        }
        (Op::SignedOut, _) => crowd::signed_out(known, choices),
        (Op::Malformed, _) => crowd::malformed(known, choices),
        (Op::UnknownId, _) => crowd::unknown_id(choices),
        (Op::Deposit, _) => Req::transaction("deposit", 1 + choices.draw(Site::Workload, key(&"amount"), 100) as i64),
        (Op::Withdraw, _) => Req::transaction("withdraw", 1 + choices.draw(Site::Workload, key(&"amount"), 100) as i64),
        // An operation with nothing to act on yet creates a ticket instead (now and
        // then an invalid one, to exercise validation).
        _ => {
            let price = choices.draw(Site::Workload, key(&"price"), 50) as i64;
            let title = format!("show {}", choices.draw(Site::Workload, key(&"title"), 1000));
            if workload.cents {
                let cents = choices.draw(Site::Workload, key(&"price cents"), 100) as i64;
                Req::create_ticket_with_cents(title, price, cents)
            } else {
                Req::create_ticket(title, price)
            }
        }
    }
}

/// With `workload.cents`: `whole` and a drawn number of cents, as a seller types it (20.1).
fn price_with_cents(whole: i64, choices: &Choices) -> f64 {
    let cents = choices.draw(Site::Workload, key(&"edit price cents"), 100) as i64;
    (whole * 100 + cents) as f64 / 100.0
}

async fn random_user(client: &Client, known: &Mutex<Known>, choices: &Choices, workload: &Workload, user: Id, until: Duration) {
    for _ in 0..workload.operations {
        let think = choices.duration(Site::Workload, key(&"think time"), workload.think_time[0].0, workload.think_time[1].0);
        crate::harness::sleep(think).await;
        if crate::harness::now() >= until {
            break;
        }
        let op = pick_weighted(&workload.mix, choices);
        let mut req = random_request(op, &known.lock().unwrap(), choices, workload, &user);
        let signed_in = (op != Op::SignedOut).then(|| user.clone());
        let (_, response) = client.call(signed_in, req.method, &req.path, std::mem::take(&mut req.body)).await;
        remember(known, Some(user.clone()), &req, response);
    }
}
