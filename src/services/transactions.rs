//! The transactions service (the event-ordering teaching example): owns each user's
//! transaction log, numbers a user's transactions 1, 2, 3, ... and publishes
//! transaction:created. Route: POST /api/transactions.

use super::{bad_request, new_id, not_authorized, not_found, InstanceEnv};
use crate::app::instance::{Emit, HttpService, Instance, Staged};
use crate::app::outbox::{HasOutbox, Outbox};
use crate::app::store::Db;
use crate::app::BoxFut;
use crate::history::Snapshot;
use crate::proto::{Event, EventData, HttpRequest, HttpResponse, Id, Route, TransactionKind};
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transaction {
    pub id: Id,
    pub user_id: Id,
    pub kind: TransactionKind,
    pub amount: i64,
    pub number: u64,
}

#[derive(Default)]
pub struct TransactionsDb {
    pub transactions: Vec<Transaction>,
    pub next_id: u64,
    pub outbox: Outbox,
}

impl HasOutbox for TransactionsDb {
    fn outbox(&mut self) -> &mut Outbox {
        &mut self.outbox
    }
}

pub struct Transactions {
    db: Db<TransactionsDb>,
    emit: Emit,
}

pub fn start(env: &InstanceEnv, db: &Db<TransactionsDb>) -> Arc<Instance> {
    let service = Arc::new(Transactions { db: db.clone(), emit: env.emit() });
    env.start(db, Some(service), vec![])
}

impl HttpService for Transactions {
    fn handle(self: Arc<Self>, req: Arc<HttpRequest>) -> BoxFut<HttpResponse> {
        Box::pin(async move {
            let Route::CreateTransaction { kind, amount } = &req.route else { return not_found(req.id) };
            let Some(user) = req.user.clone() else { return not_authorized(req.id) };
            if *amount <= 0 {
                return bad_request(req.id, "Amount must be greater than 0");
            }
            let (transaction, staged) = self
                .db
                .tx("create", |s, w| {
                    // The number comes from the service's own log: one more than the user's last.
                    let number = 1 + s.transactions.iter().filter(|t| t.user_id == user).count() as u64;
                    let id = new_id("X", &mut s.next_id);
                    let t = Transaction { id, user_id: user.clone(), kind: *kind, amount: *amount, number };
                    w.snapshots.push(Snapshot::Transaction {
                        id: t.id.clone(),
                        user_id: user.clone(),
                        kind: *kind,
                        amount: *amount,
                        number,
                    });
                    s.transactions.push(t.clone());
                    let mut staged = Staged::default();
                    let event = Event::new(EventData::TransactionCreated {
                        id: t.id.clone(),
                        user_id: user.clone(),
                        kind: *kind,
                        amount: *amount,
                        number,
                    });
                    self.emit.stage(&mut s.outbox, w, &mut staged, event);
                    (t, staged)
                })
                .await;
            let _ = self.emit.sent(&self.db, staged, false).await;
            HttpResponse::ok(req.id, 201, Some(transaction.id))
        })
    }
}
