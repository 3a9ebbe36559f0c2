//! The accounts service (the event-ordering teaching example): per user, a balance and
//! the last transaction number applied. It applies transaction:created only when its
//! number is the last one plus one, updating balance and number atomically. Several
//! instances share one queue group and one store.

use super::InstanceEnv;
use crate::app::instance::Instance;
use crate::app::nats::Listener;
use crate::app::outbox::{HasOutbox, Outbox};
use crate::app::store::Db;
use crate::app::{BoxFut, HandlerError};
use crate::flaws::{Flaw, Flaws};
use crate::history::Snapshot;
use crate::proto::{Event, EventData, Group, Id, Subject, TransactionKind};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub const GROUP: Group = "accounts-service";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Account {
    pub balance: i64,
    pub last_number: u64,
}

#[derive(Default)]
pub struct AccountsDb {
    pub accounts: BTreeMap<Id, Account>,
    /// Unused (accounts publishes nothing); kept so the service shares the instance plumbing.
    pub outbox: Outbox,
}

impl HasOutbox for AccountsDb {
    fn outbox(&mut self) -> &mut Outbox {
        &mut self.outbox
    }
}

pub struct Accounts {
    db: Db<AccountsDb>,
    flaws: Flaws,
    processing: (Duration, Duration),
}

pub fn start(env: &InstanceEnv, db: &Db<AccountsDb>) -> Arc<Instance> {
    let service = Arc::new(Accounts { db: db.clone(), flaws: env.app.flaws, processing: env.app.accounts_processing });
    env.start(db, None, vec![Arc::new(TransactionCreatedListener(service))])
}

struct TransactionCreatedListener(Arc<Accounts>);

impl Listener for TransactionCreatedListener {
    fn subject(&self) -> Subject {
        Subject::TransactionCreated
    }
    fn queue_group(&self) -> Group {
        GROUP
    }
    fn on_message(self: Arc<Self>, event: Arc<Event>) -> BoxFut<Result<(), HandlerError>> {
        Box::pin(async move {
            let EventData::TransactionCreated { user_id, kind, amount, number, .. } = &event.data else { return Ok(()) };
            let svc = &self.0;
            let read = svc.db.tx("read", |s, _| s.accounts.get(user_id).copied().unwrap_or_default()).await;
            // Flaw::AccountsNoSequence: the lesson's service applied events in arrival order.
            if !svc.flaws.has(Flaw::AccountsNoSequence) {
                if *number <= read.last_number {
                    // Already applied. Flaw::NonIdempotentListeners: as built, never acked.
                    return if svc.flaws.has(Flaw::NonIdempotentListeners) {
                        Err(HandlerError::new(format!("transaction #{number} is not lastNumber + 1 ({})", read.last_number + 1)))
                    } else {
                        Ok(())
                    };
                }
                if *number != read.last_number + 1 {
                    return Err(HandlerError::new(format!("transaction #{number} arrived before #{}", read.last_number + 1)));
                }
            }
            // The handler's own work (a slow one can outlast ack wait).
            svc.db.work(svc.processing).await;
            let delta = match kind {
                TransactionKind::Deposit => *amount,
                TransactionKind::Withdraw => -*amount,
            };
            // Flaw::AccountsDoubleApply: the write is an increment that does not check the
            // account is still as read, so a slow handler and the redelivery to another
            // instance both apply. Hardened: set both fields only if nothing changed.
            let conditional = !svc.flaws.has(Flaw::AccountsDoubleApply);
            svc.db
                .tx("apply", |s, w| {
                    let current = s.accounts.get(user_id).copied().unwrap_or_default();
                    if conditional && current != read {
                        return Err(HandlerError::new(format!("account {user_id} changed while applying #{number}")));
                    }
                    let next = Account { balance: current.balance + delta, last_number: *number };
                    s.accounts.insert(user_id.clone(), next);
                    w.snapshots.push(Snapshot::Account { user_id: user_id.clone(), balance: next.balance, last_number: next.last_number });
                    Ok(())
                })
                .await
        })
    }
}
