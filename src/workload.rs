//! Simulated users: scripted steps at given virtual times, and random users drawing
//! operations from the scenario's mix. Users send requests through the fabric to a
//! service instance (picked like a load balancer would) and wait for the response.

use crate::history::{History, Record};
use crate::proto::{HttpRequest, HttpResponse, Id, Message, Route, TransactionKind};
use crate::scenario::{Mix, Op, Step, Workload};
use crate::services::ServiceKind;
use crate::sim::choices::{Choices, Site};
use crate::sim::fabric::{Actor, BoxFuture, Fabric, NodeIdx};
use futures::channel::oneshot;
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
    name: Arc<str>,
    fabric: Fabric<Message>,
    history: History,
    choices: Choices,
    instances: BTreeMap<ServiceKind, Vec<NodeIdx>>,
    timeout: Duration,
    state: Mutex<ClientState>,
}

impl Client {
    pub fn new(
        node: NodeIdx,
        fabric: Fabric<Message>,
        history: History,
        choices: Choices,
        instances: BTreeMap<ServiceKind, Vec<NodeIdx>>,
        timeout: Duration,
    ) -> Self {
        Client { node, name: fabric.node_name(node).into(), fabric, history, choices, instances, timeout, state: Mutex::default() }
    }

    /// True while a user request to `node` waits for its response.
    pub fn busy(&self, node: NodeIdx) -> bool {
        self.state.lock().unwrap().pending.values().any(|(n, _)| *n == node)
    }

    /// One request; `None` when no response came within the timeout. A request to an
    /// instance that is down is refused at once with 503, as an ingress would answer.
    pub async fn call(&self, user: Option<Id>, route: Route) -> Option<Arc<HttpResponse>> {
        let instances = self.instances.get(&ServiceKind::of_route(&route)).map(Vec::as_slice).unwrap_or(&[]);
        let to = (!instances.is_empty()).then(|| instances[self.choices.pick(Site::Workload, instances.len())]);
        let Some(to) = to.filter(|to| self.fabric.is_up(*to)) else {
            let id = {
                let mut state = self.state.lock().unwrap();
                state.next_request += 1;
                state.next_request
            };
            let instance = to.map(|to| self.fabric.node_name(to)).unwrap_or_else(|| "(no instance)".into());
            self.history.push_on(Some(&self.name), Record::Request { req: id, user, instance, route });
            let response = Arc::new(HttpResponse::error(id, 503, "Service Unavailable"));
            self.history
                .push_on(Some(&self.name), Record::Response { req: id, status: 503, record: None, message: response.message.clone() });
            return Some(response);
        };
        let (tx, rx) = oneshot::channel();
        let id = {
            let mut state = self.state.lock().unwrap();
            state.next_request += 1;
            let id = state.next_request;
            state.pending.insert(id, (to, tx));
            id
        };
        let instance = self.fabric.node_name(to);
        self.history.push_on(Some(&self.name), Record::Request { req: id, user: user.clone(), instance, route: route.clone() });
        self.fabric.send(self.node, to, Message::Request(Arc::new(HttpRequest { id, user, route })));
        match madsim::time::timeout(self.timeout, rx).await {
            Ok(Ok(response)) => Some(response),
            _ => {
                self.state.lock().unwrap().pending.remove(&id);
                self.history.push_on(Some(&self.name), Record::Timeout { req: id });
                None
            }
        }
    }
}

impl Actor<Message> for Client {
    fn receive(self: Arc<Self>, _from: NodeIdx, msg: Message) -> BoxFuture {
        if let Message::Response(response) = msg {
            // A duplicated response finds nothing pending and is ignored.
            if let Some((_, tx)) = self.state.lock().unwrap().pending.remove(&response.id) {
                self.history.push_on(
                    Some(&self.name),
                    Record::Response {
                        req: response.id,
                        status: response.status,
                        record: response.record.clone(),
                        message: response.message.clone(),
                    },
                );
                let _ = tx.send(response);
            }
        }
        Box::pin(std::future::ready(()))
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
pub async fn run(client: Arc<Client>, workload: Workload, history: History, choices: Choices) {
    let known = Arc::new(Mutex::new(Known::default()));
    let mut tasks = Vec::new();
    // Scripted steps: each at its time; steps at the same time race each other.
    for step in workload.steps.clone() {
        let (client, known, history) = (client.clone(), known.clone(), history.clone());
        tasks.push(madsim::task::spawn(async move { scripted_step(&client, &known, &history, step).await }));
    }
    if workload.users > 0 {
        let owner: Id = "u1".into();
        for i in 0..workload.initial_tickets {
            let route = Route::CreateTicket { title: format!("ticket {}", i + 1), price: 10 + i as i64 };
            remember(&known, Some(owner.clone()), &route, client.call(Some(owner.clone()), route.clone()).await);
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

fn remember(known: &Mutex<Known>, user: Option<Id>, route: &Route, response: Option<Arc<HttpResponse>>) {
    let (Some(user), Some(response)) = (user, response) else {
        return;
    };
    let Some(id) = response.record.clone() else {
        return;
    };
    if response.status != 201 {
        return;
    }
    let mut known = known.lock().unwrap();
    match route {
        Route::CreateTicket { .. } => known.tickets.push((id, user)),
        Route::CreateOrder { .. } => known.orders.push((id, user)),
        _ => {}
    }
}

/// Scripted steps send a request again when it was refused (503: the instance picked
/// was down), which is always safe: the request was never processed.
const SCRIPTED_ATTEMPTS: u32 = 20;

async fn scripted_step(client: &Client, known: &Mutex<Known>, history: &History, step: Step) {
    madsim::time::sleep_until(madsim::time::Instant::now() + step.at.0.saturating_sub(crate::sim::now())).await;
    let resolve = |name: &Option<String>| -> Id {
        let name = name.clone().unwrap_or_default();
        known.lock().unwrap().names.get(&name).cloned().unwrap_or_else(|| name.into())
    };
    let route = match step.op {
        Op::CreateTicket => Route::CreateTicket { title: step.title.clone().unwrap_or_default(), price: step.price.unwrap_or(0) },
        Op::UpdateTicket => Route::UpdateTicket {
            id: resolve(&step.ticket),
            title: step.title.clone().unwrap_or_else(|| "concert".into()),
            price: step.price.unwrap_or(0),
        },
        Op::ShowTicket => Route::ShowTicket { id: resolve(&step.ticket) },
        Op::CreateOrder => Route::CreateOrder { ticket_id: Some(resolve(&step.ticket)) },
        Op::CancelOrder => Route::CancelOrder { id: resolve(&step.order) },
        Op::PayOrder => Route::CreatePayment { order_id: Some(resolve(&step.order)), token: Some("tok_visa".into()) },
        Op::Deposit => Route::CreateTransaction { kind: TransactionKind::Deposit, amount: step.amount.unwrap_or(0) },
        Op::Withdraw => Route::CreateTransaction { kind: TransactionKind::Withdraw, amount: step.amount.unwrap_or(0) },
    };
    let user: Id = step.user.clone().into();
    let mut response = None;
    for _ in 0..SCRIPTED_ATTEMPTS {
        response = client.call(Some(user.clone()), route.clone()).await;
        if response.as_ref().is_some_and(|r| r.status == 503) {
            madsim::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        break;
    }
    if let (Some(name), Some(r)) = (&step.name, &response) {
        if let Some(id) = &r.record {
            known.lock().unwrap().names.insert(name.clone(), id.clone());
            history.push_on(Some(&client.name), Record::Named { name: name.clone(), id: id.clone(), req: r.id });
        }
    }
    if let Some(expected) = step.expect_status {
        history.push_on(
            Some(&client.name),
            Record::Expected { step: step_label(&step), status: expected, got: response.as_ref().map(|r| r.status) },
        );
    }
}

pub fn step_label(step: &Step) -> String {
    let target = step.ticket.as_ref().or(step.order.as_ref()).map(|t| format!(" {t}")).unwrap_or_default();
    format!("{} {:?}{target} at {}", step.user, step.op, crate::scenario::fmt_duration(step.at.0))
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

async fn random_user(client: &Client, known: &Mutex<Known>, choices: &Choices, workload: &Workload, user: Id) {
    for _ in 0..workload.operations {
        let think = choices.duration(Site::Workload, workload.think_time[0].0, workload.think_time[1].0);
        madsim::time::sleep(think).await;
        let op = pick_weighted(&workload.mix, choices);
        let route = {
            let known = known.lock().unwrap();
            let hot = if workload.hot_tickets == 0 { known.tickets.len() } else { known.tickets.len().min(workload.hot_tickets as usize) };
            let ticket = (hot > 0).then(|| known.tickets[choices.pick(Site::Workload, hot)].clone());
            let mine: Vec<&(Id, Id)> = known.orders.iter().filter(|(_, u)| *u == user).collect();
            match (op, ticket) {
                (Op::UpdateTicket, Some((id, _))) => Route::UpdateTicket {
                    id,
                    title: format!("edit {}", choices.draw(Site::Workload, 100)),
                    price: 1 + choices.draw(Site::Workload, 100) as i64,
                },
                (Op::CreateOrder, Some((id, _))) => Route::CreateOrder { ticket_id: Some(id) },
                (Op::ShowTicket, Some((id, _))) => Route::ShowTicket { id },
                (Op::CancelOrder, _) if !mine.is_empty() => {
                    Route::CancelOrder { id: mine[choices.pick(Site::Workload, mine.len())].0.clone() }
                }
                (Op::PayOrder, _) if !mine.is_empty() => {
                    let order = mine[choices.pick(Site::Workload, mine.len())].0.clone();
                    Route::CreatePayment { order_id: Some(order), token: Some("tok_visa".into()) }
                }
                (Op::Deposit, _) => {
                    Route::CreateTransaction { kind: TransactionKind::Deposit, amount: 1 + choices.draw(Site::Workload, 100) as i64 }
                }
                (Op::Withdraw, _) => {
                    Route::CreateTransaction { kind: TransactionKind::Withdraw, amount: 1 + choices.draw(Site::Workload, 100) as i64 }
                }
                // An operation with nothing to act on yet creates a ticket instead (now and
                // then an invalid one, to exercise validation).
                _ => {
                    let price = choices.draw(Site::Workload, 50) as i64;
                    Route::CreateTicket { title: format!("show {}", choices.draw(Site::Workload, 1000)), price }
                }
            }
        };
        let response = client.call(Some(user.clone()), route.clone()).await;
        remember(known, Some(user.clone()), &route, response);
    }
}
