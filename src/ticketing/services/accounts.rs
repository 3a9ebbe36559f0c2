//! The accounts service (the event-ordering teaching example): per user, a balance and
//! the last transaction number applied. It applies transaction:created only when its
//! number is the last one plus one, updating balance and number atomically. Several
//! instances share one queue group and one store.

use super::{Opening, ServiceSpec, Starter};
use crate::harness::choices::{key, Site};
use crate::harness::BoxFuture;
use crate::ticketing::common::HandlerError;
use crate::ticketing::common::Listener;
use crate::ticketing::common::{listen, Instance, InstanceEnv};
use crate::ticketing::common::{Db, Row, Table};
use crate::ticketing::domain::{self, Id, Snapshot, Subject, TransactionKind};
use crate::ticketing::flaws::{Flaw, Flaws};
use std::sync::Arc;
use std::time::Duration;

/// The service's name: its nodes' (`accounts-1`), its store's, its scenario key's.
pub const NAME: &str = "accounts";

pub const SPEC: ServiceSpec = ServiceSpec {
    name: NAME,
    group: "accounts-service",
    default_instances: 0,
    routes: &[],
    publishes: &[],
    consumes: &[Subject::TransactionCreated],
    open,
};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Account {
    pub user_id: Id,
    pub balance: i64,
    pub last_number: u64,
}

impl Row for Account {
    type Key = Id;
    type Doc = Snapshot;
    fn key(&self) -> Id {
        self.user_id.clone()
    }
    fn snapshot(&self) -> Snapshot {
        Snapshot::Account { user_id: self.user_id.clone(), balance: self.balance, last_number: self.last_number }
    }
}

#[derive(Default)]
pub struct AccountsDb {
    pub accounts: Table<Account>,
}

crate::journal!(AccountsDb: Snapshot; accounts);

impl AccountsDb {
    fn account(&self, user: &Id) -> Account {
        self.accounts.get(user).unwrap_or(Account { user_id: user.clone(), balance: 0, last_number: 0 })
    }
}

pub struct Accounts {
    db: Db<AccountsDb>,
    flaws: Flaws,
    processing: (Duration, Duration),
    env_choices: crate::harness::choices::Choices,
}

fn open(o: &mut Opening) -> Starter {
    let db = o.store(AccountsDb::default(), |s| &mut s.accounts);
    Arc::new(move |env| start(env, &db.on(&env.name)))
}

pub fn start(env: &InstanceEnv, db: &Db<AccountsDb>) -> Arc<Instance> {
    let service = Arc::new(Accounts {
        db: db.clone(),
        flaws: env.app.flaws,
        processing: env.app.accounts_processing,
        env_choices: env.choices.clone(),
    });
    env.start(None, |nats| listen(nats, TransactionCreatedListener(service)))
}

impl Accounts {
    /// The handler's own work (a slow one can outlast ack wait).
    async fn work(&self) {
        let time =
            self.env_choices.duration(Site::Declared("processing time"), key(&"processing time"), self.processing.0, self.processing.1);
        crate::harness::sleep(time).await;
    }
}

struct TransactionCreatedListener(Arc<Accounts>);

impl Listener for TransactionCreatedListener {
    type Event = domain::TransactionCreated;

    fn on_message(self: Arc<Self>, data: domain::TransactionCreated) -> BoxFuture<Result<(), HandlerError>> {
        Box::pin(async move {
            let (svc, user, number) = (&self.0, &data.user_id, data.number);
            let read = svc.db.tx("read", |s| s.account(user)).await;
            // Flaw::AccountsNoSequence: the lesson's service applied events in arrival order.
            if !svc.flaws.on(Flaw::AccountsNoSequence) {
                if number <= read.last_number {
                    // Already applied. Flaw::NonIdempotentListeners: as built, never acked.
                    return if svc.flaws.on(Flaw::NonIdempotentListeners) {
                        Err(HandlerError::new(format!("transaction #{number} is not lastNumber + 1 ({})", read.last_number + 1)))
                    } else {
                        Ok(())
                    };
                }
                if number != read.last_number + 1 {
                    return Err(HandlerError::new(format!("transaction #{number} arrived before #{}", read.last_number + 1)));
                }
            }
            svc.work().await;
            let delta = match data.kind {
                TransactionKind::Deposit => data.amount,
                TransactionKind::Withdraw => -data.amount,
            };
            // Flaw::AccountsDoubleApply: the write is an increment that does not check the
            // account is still as read, so a slow handler and the redelivery to another
            // instance both apply. Hardened: set both fields only if nothing changed.
            let conditional = !svc.flaws.on(Flaw::AccountsDoubleApply);
            svc.db
                .tx("apply", |s| {
                    let current = s.account(user);
                    if conditional && current != read {
                        return Err(HandlerError::new(format!("account {user} changed while applying #{number}")));
                    }
                    let balance = current
                        .balance
                        .checked_add(delta)
                        .ok_or_else(|| HandlerError::new(format!("account {user}: balance out of range applying #{number}")))?;
                    s.accounts.upsert(Account { user_id: user.clone(), balance, last_number: number });
                    Ok(())
                })
                .await
        })
    }
}
