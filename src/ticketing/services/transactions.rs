//! The transactions service (the event-ordering teaching example): owns each user's
//! transaction log, numbers a user's transactions 1, 2, 3, ... and publishes
//! transaction:created. Route: POST /api/transactions.

use super::{Opening, Route, ServiceSpec, Starter};
use crate::harness::BoxFuture;
use crate::ticketing::common::{new_id, not_found, require_auth};
use crate::ticketing::common::{Db, Row, Table};
use crate::ticketing::common::{Emit, HttpService, Instance, InstanceEnv, Staged};
use crate::ticketing::common::{HasOutbox, Outbox};
use crate::ticketing::domain::TicketingApp;
use crate::ticketing::domain::{self, Event, Id, Snapshot, Subject, TransactionKind};
use crate::ticketing::protocol::{HttpRequest, HttpResponse, Method};
use serde_json::{json, Value};
use std::sync::Arc;

/// The service's name: its nodes' (`transactions-1`), its store's, its scenario key's.
pub const NAME: &str = "transactions";

pub const SPEC: ServiceSpec = ServiceSpec {
    name: NAME,
    group: "transactions-service",
    default_instances: 0,
    routes: &[Route::new(Method::Post, "/api/transactions")],
    publishes: &[Subject::TransactionCreated],
    consumes: &[],
    open,
};

/// The largest amount one transaction may move (so no balance can overflow).
pub const MAX_AMOUNT: i64 = 1_000_000_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transaction {
    pub id: Id,
    pub user_id: Id,
    pub kind: TransactionKind,
    pub amount: i64,
    pub number: u64,
}

impl Row for Transaction {
    type Key = u64;
    type Doc = Snapshot;
    fn key(&self) -> u64 {
        self.id[1..].parse().unwrap_or(0)
    }
    fn snapshot(&self) -> Snapshot {
        Snapshot::Transaction {
            id: self.id.clone(),
            user_id: self.user_id.clone(),
            kind: self.kind,
            amount: self.amount,
            number: self.number,
        }
    }
}

#[derive(Default)]
pub struct TransactionsDb {
    pub transactions: Table<Transaction>,
    pub next_id: crate::kit::store::Counter,
    pub outbox: Outbox,
}

crate::journal!(TransactionsDb: Snapshot; transactions, outbox; next_id);

impl HasOutbox<TicketingApp> for TransactionsDb {
    fn outbox(&mut self) -> &mut Outbox {
        &mut self.outbox
    }
}

pub struct Transactions {
    db: Db<TransactionsDb>,
    emit: Emit,
}

fn open(o: &mut Opening) -> Starter {
    let db = o.store(TransactionsDb::default(), |s| &mut s.transactions);
    Arc::new(move |env| start(env, &db.on(&env.name)))
}

pub fn start(env: &InstanceEnv, db: &Db<TransactionsDb>) -> Arc<Instance> {
    let service = Arc::new(Transactions { db: db.clone(), emit: env.emit() });
    env.relay(db);
    env.start(Some(service), |_| {})
}

/// The body: `kind` deposit or withdraw, `amount` a whole number from 1 to [`MAX_AMOUNT`].
fn validated(body: &Value) -> Result<(TransactionKind, i64), Vec<(&'static str, &'static str)>> {
    let kind = body.get("kind").and_then(|k| serde_json::from_value::<TransactionKind>(k.clone()).ok());
    let amount = body.get("amount").and_then(Value::as_i64).filter(|a| (1..=MAX_AMOUNT).contains(a));
    match (kind, amount) {
        (Some(kind), Some(amount)) => Ok((kind, amount)),
        (kind, amount) => {
            let mut errors = Vec::new();
            if kind.is_none() {
                errors.push(("kind", "Kind must be deposit or withdraw"));
            }
            if amount.is_none() {
                errors.push(("amount", "Amount must be a whole number from 1 to 1000000000"));
            }
            Err(errors)
        }
    }
}

impl HttpService for Transactions {
    fn handle(self: Arc<Self>, req: Arc<HttpRequest>) -> BoxFuture<HttpResponse> {
        Box::pin(async move {
            if !(req.method == Method::Post && req.segments() == ["transactions"]) {
                return not_found(&req);
            }
            let user = match require_auth(&req) {
                Ok(user) => user,
                Err(response) => return response,
            };
            let (kind, amount) = match validated(&req.body) {
                Ok(fields) => fields,
                Err(errors) => return HttpResponse::invalid(req.id, &errors),
            };
            let (transaction, staged) = self
                .db
                .tx("create", |s| {
                    // The number comes from the service's own log: one more than the user's last.
                    let number = 1 + s.transactions.values().filter(|t| t.user_id == user).count() as u64;
                    let id = new_id("X", &mut s.next_id);
                    let t = Transaction { id, user_id: user.clone(), kind, amount, number };
                    s.transactions.insert(t.clone()).expect("a fresh id");
                    let mut staged = Staged::default();
                    let event = Event::new(&domain::TransactionCreated { id: t.id.clone(), user_id: user.clone(), kind, amount, number });
                    self.emit.stage(&mut s.outbox, &mut staged, event);
                    (t, staged)
                })
                .await;
            self.emit.publish(&self.db, staged);
            HttpResponse::ok(req.id, 201, json!({ "id": transaction.id, "number": transaction.number }))
        })
    }
}
