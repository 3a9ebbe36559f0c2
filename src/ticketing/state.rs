//! What one run of the ticketing world holds ([`Ticketing`]) and what it leaves behind
//! ([`FinalState`]): the types the invariants judge. `system.rs` plugs them into the
//! harness.

use super::domain::{Group, Id, Subject, TicketingApp};
use super::scenario::Scenario;
use super::services::orders::{Order, ReplicaTicket};
use super::services::payments::{Charge, Payment, ReplicaOrder};
use super::services::tickets::Ticket;
use super::services::transactions::Transaction;
use super::services::Stores;
use super::workload::Client;
use crate::harness::choices::Choices;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One run's ticketing world.
pub struct Ticketing {
    pub(crate) scenario: Scenario,
    pub(crate) stores: Stores,
    pub(crate) broker: crate::kit::deploy::Broker<TicketingApp>,
    pub(crate) client: Arc<Client>,
    pub(crate) choices: Choices,
    /// How many times faster than the scenario's the random users act (rush's pace).
    pub(crate) pace: u32,
}

/// A message still unacknowledged by a group at the end of the run.
pub type Outstanding = crate::kit::broker::Outstanding<Subject>;

/// The final states that liveness invariants judge.
#[derive(Clone, Debug, Default)]
pub struct FinalState {
    pub tickets: Vec<Ticket>,
    pub orders: Vec<Order>,
    /// The orders service's replica of tickets.
    pub ticket_replicas: Vec<ReplicaTicket>,
    /// The payments service's replica of orders.
    pub order_replicas: Vec<ReplicaOrder>,
    pub payments: Vec<Payment>,
    pub charges: Vec<Charge>,
    pub transactions: Vec<Transaction>,
    /// Per user: (balance, last number applied).
    pub accounts: BTreeMap<Id, (i64, u64)>,
    pub outstanding: Vec<Outstanding>,
    /// Which groups consume each subject in this world.
    pub consumers: BTreeMap<Subject, Vec<Group>>,
}

impl FinalState {
    /// Whether `group` consumes `subject` in this world (its service runs).
    pub fn consumes(&self, subject: Subject, group: Group) -> bool {
        self.consumers.get(&subject).is_some_and(|groups| groups.contains(&group))
    }
}

impl Ticketing {
    /// Rows of a service's store, read through the handle the service was given: none
    /// when the service does not run; a service that runs without its store is a
    /// harness error, never an empty final state that every liveness invariant passes on.
    pub(crate) fn rows<S: crate::harness::store::Journal, T>(
        &self,
        service: &str,
        db: &Option<crate::ticketing::common::Db<S>>,
        f: impl FnOnce(&S) -> Vec<T>,
    ) -> Vec<T> {
        match db {
            Some(db) => db.read(f),
            None if self.scenario.runs(service) => panic!("harness error: the {service} service runs but its store was never opened"),
            None => Vec::new(),
        }
    }

    pub(crate) fn outstanding(&self) -> Vec<Outstanding> {
        let consumers = self.scenario.consumers();
        let pairs: Vec<(Subject, Group)> = consumers.iter().flat_map(|(s, groups)| groups.iter().map(move |g| (*s, *g))).collect();
        self.broker.outstanding(&pairs)
    }
}
