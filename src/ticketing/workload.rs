//! Simulated users: scripted steps at given virtual times, and random users drawing
//! operations from the scenario's mix. Users send requests through the fabric to a
//! service instance (picked like a load balancer would) and wait for the response.
//! The users are the test's side: they record what they sent and what came back.

use super::domain::{Id, Obs};
use super::protocol::{HttpRequest, HttpResponse, Message, Method};
use super::scenario::{Mix, Op, Step, Workload};
use crate::harness::choices::{Choices, Site};
use crate::harness::fabric::{Actor, BoxFuture, Fabric, NodeIdx};
use crate::harness::world::Probe;
use futures::channel::oneshot;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct ClientState {
    next_request: u64,
    pending: BTreeMap<u64, (NodeIdx, oneshot::Sender<Arc<HttpResponse>>)>,
}

/// The users' side of the network: sends requests, matches responses.
pub struct Client {
    pub node: NodeIdx,
    fabric: Fabric<Message>,
    probe: Probe<Obs>,
    choices: Choices,
    /// Each service's instances, by service name.
    instances: BTreeMap<&'static str, Vec<NodeIdx>>,
    timeout: Duration,
    state: Mutex<ClientState>,
}

impl Client {
    pub fn new(
        node: NodeIdx,
        fabric: Fabric<Message>,
        probe: Probe<Obs>,
        choices: Choices,
        instances: BTreeMap<&'static str, Vec<NodeIdx>>,
        timeout: Duration,
    ) -> Self {
        let probe = probe.on(&fabric.node_name(node).into());
        Client { node, fabric, probe, choices, instances, timeout, state: Mutex::default() }
    }

    /// True while a user request to `node` waits for its response.
    pub fn busy(&self, node: NodeIdx) -> bool {
        self.state.lock().unwrap().pending.values().any(|(n, _)| *n == node)
    }

    fn next_request(&self) -> u64 {
        let mut state = self.state.lock().unwrap();
        state.next_request += 1;
        state.next_request
    }

    /// One request; `None` when no response came within the timeout. The ingress
    /// answers a path no service routes with 404, and a request to an instance that is
    /// down with 503, at once.
    pub async fn call(&self, user: Option<Id>, method: Method, path: &str, body: Value) -> Option<Arc<HttpResponse>> {
        let service = super::services::route_owner(method, path);
        let instances = service.and_then(|s| self.instances.get(s.name)).map(Vec::as_slice).unwrap_or(&[]);
        let to = (!instances.is_empty()).then(|| instances[self.choices.pick(Site::Workload, instances.len())]);
        let request = |req: u64, instance: String| Obs::Request {
            req,
            user: user.clone(),
            instance,
            method: method.as_str(),
            path: path.to_string(),
            body: Arc::new(body.clone()),
        };
        let Some(to) = to.filter(|to| self.fabric.is_up(*to)) else {
            let id = self.next_request();
            let (instance, response) = match (service, to) {
                (None, _) => ("(ingress)".to_string(), HttpResponse::error(id, 404, "Not Found")),
                (Some(s), None) => (format!("(no {} instance)", s.name), HttpResponse::error(id, 503, "Service Unavailable")),
                (Some(_), Some(to)) => (self.fabric.node_name(to), HttpResponse::error(id, 503, "Service Unavailable")),
            };
            self.probe.observe(request(id, instance));
            self.probe.observe(Obs::Response { req: id, status: response.status, body: Arc::new(response.body.clone()) });
            return Some(Arc::new(response));
        };
        let (tx, rx) = oneshot::channel();
        let id = {
            let mut state = self.state.lock().unwrap();
            state.next_request += 1;
            let id = state.next_request;
            state.pending.insert(id, (to, tx));
            id
        };
        self.probe.observe(request(id, self.fabric.node_name(to)));
        self.fabric.send(self.node, to, Message::Request(Arc::new(HttpRequest { id, user: user.clone(), method, path: path.to_string(), body })));
        match madsim::time::timeout(self.timeout, rx).await {
            Ok(Ok(response)) => Some(response),
            _ => {
                self.state.lock().unwrap().pending.remove(&id);
                self.probe.observe(Obs::Timeout { req: id });
                None
            }
        }
    }
}

impl Actor<Message> for Client {
    fn receive(self: Arc<Self>, _from: NodeIdx, msg: Message) -> BoxFuture {
        if let Message::Response(response) = msg {
            // A duplicated response finds nothing pending and is ignored.
            let pending = self.state.lock().unwrap().pending.remove(&response.id);
            if let Some((_, tx)) = pending {
                self.probe.observe(Obs::Response { req: response.id, status: response.status, body: Arc::new(response.body.clone()) });
                let _ = tx.send(response);
            }
        }
        Box::pin(std::future::ready(()))
    }
}

/// A request a user makes.
#[derive(Clone, Debug)]
pub struct Req {
    pub method: Method,
    pub path: String,
    pub body: Value,
}

impl Req {
    fn new(method: Method, path: impl Into<String>, body: Value) -> Req {
        Req { method, path: path.into(), body }
    }

    fn create_ticket(title: String, price: i64) -> Req {
        Req::new(Method::Post, "/api/tickets", json!({ "title": title, "price": price }))
    }

    fn transaction(kind: &str, amount: i64) -> Req {
        Req::new(Method::Post, "/api/transactions", json!({ "kind": kind, "amount": amount }))
    }
}

/// What users know: tickets and orders they have seen created, and step names.
#[derive(Default)]
struct Known {
    tickets: Vec<(Id, Id)>,
    orders: Vec<(Id, Id)>,
    names: BTreeMap<String, Id>,
}

/// Runs the whole workload (scripted steps and random users) to completion.
pub async fn run(client: Arc<Client>, workload: Workload, choices: Choices) {
    let known = Arc::new(Mutex::new(Known::default()));
    let mut tasks = Vec::new();
    // Scripted steps: each at its time; steps at the same time race each other.
    for step in workload.steps.clone() {
        let (client, known) = (client.clone(), known.clone());
        tasks.push(madsim::task::spawn(async move { scripted_step(&client, &known, step).await }));
    }
    if workload.users > 0 {
        let owner: Id = "u1".into();
        for i in 0..workload.initial_tickets {
            let req = Req::create_ticket(format!("ticket {}", i + 1), 10 + i as i64);
            let response = client.call(Some(owner.clone()), req.method, &req.path, req.body.clone()).await;
            remember(&known, Some(owner.clone()), &req, response);
        }
        for u in 0..workload.users {
            let user: Id = format!("u{}", u + 1).into();
            let (client, known, choices, workload) = (client.clone(), known.clone(), choices.clone(), workload.clone());
            tasks.push(madsim::task::spawn(async move { random_user(&client, &known, &choices, &workload, user).await }));
        }
    }
    for task in tasks {
        let _ = task.await;
    }
}

/// Remembers a ticket or order a user created, for later operations to act on.
fn remember(known: &Mutex<Known>, user: Option<Id>, req: &Req, response: Option<Arc<HttpResponse>>) {
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

/// Scripted steps send a request again when it was refused (503: the instance picked
/// was down), which is always safe: the request was never processed.
const SCRIPTED_ATTEMPTS: u32 = 20;

async fn scripted_step(client: &Client, known: &Mutex<Known>, step: Step) {
    madsim::time::sleep_until(madsim::time::Instant::now() + step.at.0.saturating_sub(crate::harness::now())).await;
    let resolve = |name: &Option<String>| -> String {
        let name = name.clone().unwrap_or_default();
        known.lock().unwrap().names.get(&name).map(|id| id.to_string()).unwrap_or(name)
    };
    let req = match step.op {
        Op::CreateTicket => Req::new(Method::Post, "/api/tickets", json!({ "title": step.title.clone().unwrap_or_default(), "price": step.price.unwrap_or(0) })),
        Op::UpdateTicket => Req::new(
            Method::Put,
            format!("/api/tickets/{}", resolve(&step.ticket)),
            json!({ "title": step.title.clone().unwrap_or_else(|| "concert".into()), "price": step.price.unwrap_or(0) }),
        ),
        Op::ShowTicket => Req::new(Method::Get, format!("/api/tickets/{}", resolve(&step.ticket)), Value::Null),
        Op::CreateOrder => Req::new(Method::Post, "/api/orders", json!({ "ticketId": resolve(&step.ticket) })),
        Op::CancelOrder => Req::new(Method::Delete, format!("/api/orders/{}", resolve(&step.order)), Value::Null),
        Op::PayOrder => Req::new(Method::Post, "/api/payments", json!({ "orderId": resolve(&step.order), "token": "tok_visa" })),
        Op::Deposit => Req::transaction("deposit", step.amount.unwrap_or(0)),
        Op::Withdraw => Req::transaction("withdraw", step.amount.unwrap_or(0)),
    };
    let user: Id = step.user.clone().into();
    let mut response = None;
    for _ in 0..SCRIPTED_ATTEMPTS {
        response = client.call(Some(user.clone()), req.method, &req.path, req.body.clone()).await;
        if response.as_ref().is_some_and(|r| r.status == 503) {
            madsim::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        break;
    }
    if let (Some(name), Some(r)) = (&step.name, &response) {
        if let Some(id) = r.id() {
            known.lock().unwrap().names.insert(name.clone(), id.clone());
            client.probe.observe(Obs::Named { name: name.clone(), id, req: r.id });
        }
    }
    if let Some(expected) = step.expect_status {
        let got = response.as_ref().map(|r| r.status);
        let problems = if got == Some(expected) {
            Vec::new()
        } else {
            vec![format!("expected status {expected}, got {}", got.map(|g| g.to_string()).unwrap_or_else(|| "no response".into()))]
        };
        client.probe.observe(Obs::Expected { step: step_label(&step), problems });
    }
}

pub fn step_label(step: &Step) -> String {
    let target = step.ticket.as_ref().or(step.order.as_ref()).map(|t| format!(" {t}")).unwrap_or_default();
    format!("{} {:?}{target} at {}", step.user, step.op, super::scenario::fmt_duration(step.at.0))
}

fn pick_weighted(mix: &Mix, choices: &Choices) -> Op {
    let weights = [
        (Op::CreateTicket, mix.create_ticket),
        (Op::UpdateTicket, mix.update_ticket),
        (Op::CreateOrder, mix.create_order),
        (Op::CancelOrder, mix.cancel_order),
        (Op::ShowTicket, mix.show_ticket),
        (Op::PayOrder, mix.pay_order),
        (Op::Deposit, mix.deposit),
        (Op::Withdraw, mix.withdraw),
    ];
    let total: u32 = weights.iter().map(|(_, w)| w).sum();
    let mut roll = choices.draw(Site::Workload, total as u64) as u32;
    for (op, weight) in weights {
        if roll < weight {
            return op;
        }
        roll -= weight;
    }
    Op::ShowTicket
}

/// The request a random user makes for an operation, given what users know.
fn random_request(op: Op, known: &Known, choices: &Choices, workload: &Workload, user: &Id) -> Req {
    let hot = if workload.hot_tickets == 0 { known.tickets.len() } else { known.tickets.len().min(workload.hot_tickets as usize) };
    let ticket = (hot > 0).then(|| known.tickets[choices.pick(Site::Workload, hot)].clone());
    let mine: Vec<&(Id, Id)> = known.orders.iter().filter(|(_, u)| u == user).collect();
    match (op, ticket) {
        (Op::UpdateTicket, Some((id, _))) => Req::new(
            Method::Put,
            format!("/api/tickets/{id}"),
            json!({ "title": format!("edit {}", choices.draw(Site::Workload, 100)), "price": 1 + choices.draw(Site::Workload, 100) }),
        ),
        (Op::CreateOrder, Some((id, _))) => Req::new(Method::Post, "/api/orders", json!({ "ticketId": id })),
        (Op::ShowTicket, Some((id, _))) => Req::new(Method::Get, format!("/api/tickets/{id}"), Value::Null),
        (Op::CancelOrder, _) if !mine.is_empty() => {
            Req::new(Method::Delete, format!("/api/orders/{}", mine[choices.pick(Site::Workload, mine.len())].0), Value::Null)
        }
        (Op::PayOrder, _) if !mine.is_empty() => {
            let order = mine[choices.pick(Site::Workload, mine.len())].0.clone();
            Req::new(Method::Post, "/api/payments", json!({ "orderId": order, "token": "tok_visa" }))
        }
        (Op::Deposit, _) => Req::transaction("deposit", 1 + choices.draw(Site::Workload, 100) as i64),
        (Op::Withdraw, _) => Req::transaction("withdraw", 1 + choices.draw(Site::Workload, 100) as i64),
        // An operation with nothing to act on yet creates a ticket instead (now and
        // then an invalid one, to exercise validation).
        _ => {
            let price = choices.draw(Site::Workload, 50) as i64;
            Req::create_ticket(format!("show {}", choices.draw(Site::Workload, 1000)), price)
        }
    }
}

async fn random_user(client: &Client, known: &Mutex<Known>, choices: &Choices, workload: &Workload, user: Id) {
    for _ in 0..workload.operations {
        let think = choices.duration(Site::Workload, workload.think_time[0].0, workload.think_time[1].0);
        madsim::time::sleep(think).await;
        let op = pick_weighted(&workload.mix, choices);
        let req = random_request(op, &known.lock().unwrap(), choices, workload, &user);
        let response = client.call(Some(user.clone()), req.method, &req.path, req.body.clone()).await;
        remember(known, Some(user.clone()), &req, response);
    }
}
