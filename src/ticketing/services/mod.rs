//! The services of the app, one file each, reading like the original route handlers
//! and listeners, with flaw switches at the lines where as-built and hardened differ;
//! and [`SERVICES`], the one registry that says what each service is: its name, queue
//! group, routes, the subjects it publishes and consumes, and how it opens its store
//! and starts an instance. World building, scenario validation, the invariants' event
//! coverage and the diagrams all read it.

pub mod accounts;
pub mod expiration;
pub mod orders;
pub mod payments;
pub mod tickets;
pub mod transactions;

use super::common::AppConfig;
use super::common::Db;
use super::domain::{Group, Obs, Subject};
use super::protocol::{Message, Method};
use crate::harness::store::Journal;
use crate::harness::world::WorldBuilder;
use std::time::Duration;

pub use crate::kit::ingress::Route;

/// How an instance starts on a service's opened store.
pub type Starter = crate::kit::deploy::Starter<super::domain::TicketingApp>;

/// What a service is.
pub struct ServiceSpec {
    pub name: &'static str,
    /// Its durable queue group (named after the service).
    pub group: Group,
    /// Instances when a scenario does not say.
    pub default_instances: u32,
    pub routes: &'static [Route],
    pub publishes: &'static [Subject],
    pub consumes: &'static [Subject],
    /// Opens the service's store (once per run) and returns how an instance starts on it.
    pub open: fn(&mut Opening) -> Starter,
}

/// The services, in the order their nodes are built.
pub const SERVICES: &[ServiceSpec] = &[tickets::SPEC, orders::SPEC, expiration::SPEC, payments::SPEC, transactions::SPEC, accounts::SPEC];

/// The service that answers a method and path.
pub fn route_owner(method: Method, path: &str) -> Option<&'static ServiceSpec> {
    SERVICES.iter().find(|s| s.routes.iter().any(|r| r.matches(method, path)))
}

/// The running services as the ingress routes to them, with their instances' nodes.
pub fn routed(
    instances: &std::collections::BTreeMap<&'static str, Vec<crate::harness::fabric::NodeId>>,
) -> Vec<crate::kit::ingress::Routed> {
    SERVICES
        .iter()
        .map(|s| crate::kit::ingress::Routed {
            service: s.name,
            routes: s.routes,
            instances: instances.get(s.name).cloned().unwrap_or_default(),
        })
        .collect()
}

/// Every service's store, each in its own typed slot: read through the handle the
/// service was given, never looked up by name. They belong to services and outlive
/// instances; a slot is empty when its service does not run.
#[derive(Clone, Default)]
pub struct Stores {
    pub tickets: Option<Db<tickets::TicketsDb>>,
    pub orders: Option<Db<orders::OrdersDb>>,
    pub expiration: Option<Db<expiration::ExpirationDb>>,
    pub payments: Option<Db<payments::PaymentsDb>>,
    pub transactions: Option<Db<transactions::TransactionsDb>>,
    pub accounts: Option<Db<accounts::AccountsDb>>,
}

/// What a service's `open` is given.
pub struct Opening<'a> {
    pub world: &'a mut WorldBuilder<Message, Obs>,
    pub app: &'a AppConfig,
    pub latency: (Duration, Duration),
    pub stores: &'a mut Stores,
    pub service: &'static str,
}

impl Opening<'_> {
    /// Opens the service's database, kept in its slot of [`Stores`] for the final state.
    pub fn store<S: Journal<Doc = super::domain::Snapshot> + Send + Sync>(
        &mut self,
        state: S,
        slot: fn(&mut Stores) -> &mut Option<Db<S>>,
    ) -> Db<S> {
        let db = self.world.store(self.service, state, self.latency);
        let kept = slot(self.stores);
        assert!(kept.is_none(), "harness error: the {} store was opened twice", self.service);
        *kept = Some(db.clone());
        db
    }
}

/// A replica insert's outcome for a listener: a duplicate key is a duplicate event,
/// acked when hardened; as built (`non-idempotent-listeners`) it throws, forever.
pub(crate) fn inserted(
    result: Result<(), super::common::StoreError>,
    flaws: super::flaws::Flaws,
) -> Result<(), super::common::HandlerError> {
    match result {
        Err(e) if flaws.on(super::flaws::Flaw::NonIdempotentListeners) => Err(super::common::HandlerError::new(e.to_string())),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_their_paths_and_no_other() {
        let show = Route::new(Method::Get, "/api/tickets/:id");
        assert!(show.matches(Method::Get, "/api/tickets/T1"));
        assert!(!show.matches(Method::Get, "/api/tickets"));
        assert!(!show.matches(Method::Put, "/api/tickets/T1"));
        assert!(!show.matches(Method::Get, "/api/tickets/T1/x"));
        assert!(!show.matches(Method::Get, "/api/tickets/"), "a parameter is never empty");
        assert!(show.matches(Method::Get, "/api/tickets/T1?expand=1"), "the query is not the path");
        assert!(!show.matches(Method::Get, "/api/orders/T1"));
        assert_eq!(route_owner(Method::Post, "/api/orders").map(|s| s.name), Some("orders"));
        assert_eq!(route_owner(Method::Post, "/api/payments").map(|s| s.name), Some("payments"));
        assert!(route_owner(Method::Get, "/api/nothing").is_none());
    }

    #[test]
    fn every_consumed_subject_has_a_publisher() {
        for s in SERVICES {
            for subject in s.consumes {
                assert!(SERVICES.iter().any(|p| p.publishes.contains(subject)), "{} consumes {subject}, published by none", s.name);
            }
        }
    }
}
