//! The simulated services, one file each, reading like the original route handlers
//! and listeners. Flaw switches sit at the lines where as-built and hardened differ.

pub mod accounts;
pub mod expiration;
pub mod orders;
pub mod payments;
pub mod tickets;
pub mod transactions;

use crate::app::instance::{Emit, HttpService, Instance};
use crate::app::nats::{Listener, NatsWrapper};
use crate::app::outbox::{sweep_forever, HasOutbox};
use crate::app::store::Db;
use crate::flaws::{Flaw, Flaws};
use crate::proto::{Group, HttpResponse, Id, Message, Route, Subject};
use crate::sim::fabric::{Fabric, NodeIdx};
use std::sync::Arc;
use std::time::Duration;

/// The services of the app, in the order their nodes are built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ServiceKind {
    Tickets,
    Orders,
    Expiration,
    Payments,
    Transactions,
    Accounts,
}

impl ServiceKind {
    pub const ALL: [ServiceKind; 6] = [
        ServiceKind::Tickets,
        ServiceKind::Orders,
        ServiceKind::Expiration,
        ServiceKind::Payments,
        ServiceKind::Transactions,
        ServiceKind::Accounts,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ServiceKind::Tickets => "tickets",
            ServiceKind::Orders => "orders",
            ServiceKind::Expiration => "expiration",
            ServiceKind::Payments => "payments",
            ServiceKind::Transactions => "transactions",
            ServiceKind::Accounts => "accounts",
        }
    }

    /// The subjects this service consumes, as its durable queue group.
    pub fn consumes(self) -> (Group, &'static [Subject]) {
        match self {
            ServiceKind::Tickets => (tickets::GROUP, &[Subject::OrderCreated, Subject::OrderCancelled]),
            ServiceKind::Orders => {
                (orders::GROUP, &[Subject::TicketCreated, Subject::TicketUpdated, Subject::ExpirationComplete, Subject::PaymentCreated])
            }
            ServiceKind::Expiration => (expiration::GROUP, &[Subject::OrderCreated]),
            ServiceKind::Payments => (payments::GROUP, &[Subject::OrderCreated, Subject::OrderCancelled]),
            ServiceKind::Transactions => ("transactions-service", &[]),
            ServiceKind::Accounts => (accounts::GROUP, &[Subject::TransactionCreated]),
        }
    }

    /// The service that answers a route.
    pub fn of_route(route: &Route) -> ServiceKind {
        match route {
            Route::CreateTicket { .. } | Route::ListTickets | Route::ShowTicket { .. } | Route::UpdateTicket { .. } => ServiceKind::Tickets,
            Route::CreateOrder { .. } | Route::CancelOrder { .. } => ServiceKind::Orders,
            Route::CreatePayment { .. } => ServiceKind::Payments,
            Route::CreateTransaction { .. } => ServiceKind::Transactions,
        }
    }
}

/// Settings of the app that scenarios may change.
#[derive(Clone, Debug)]
pub struct AppConfig {
    pub flaws: Flaws,
    /// `expiresAt = now + expiration_window` for new orders.
    pub expiration_window: Duration,
    /// How long the accounts handler works on an event, drawn per event.
    pub accounts_processing: (Duration, Duration),
}

/// What an instance needs to start on its node.
pub struct InstanceEnv {
    pub node: NodeIdx,
    pub name: Arc<str>,
    pub fabric: Fabric<Message>,
    pub nats: Arc<NatsWrapper>,
    pub app: AppConfig,
}

impl InstanceEnv {
    pub fn emit(&self) -> Emit {
        Emit { nats: Arc::downgrade(&self.nats), outbox: !self.app.flaws.has(Flaw::NoOutbox) }
    }

    /// Wires listeners and the outbox relay, and returns the instance to attach.
    pub fn start<S: HasOutbox + Send + 'static>(
        &self,
        db: &Db<S>,
        http: Option<Arc<dyn HttpService>>,
        listeners: Vec<Arc<dyn Listener>>,
    ) -> Arc<Instance> {
        for listener in listeners {
            self.nats.listen(listener);
        }
        if self.emit().outbox {
            madsim::task::spawn(sweep_forever(db.clone(), self.nats.clone()));
        }
        madsim::task::spawn(self.nats.clone().run_session());
        Arc::new(Instance { node: self.node, fabric: self.fabric.clone(), nats: self.nats.clone(), http })
    }
}

pub(crate) fn not_authorized(req: u64) -> HttpResponse {
    HttpResponse::error(req, 401, "Not authorized")
}

pub(crate) fn not_found(req: u64) -> HttpResponse {
    HttpResponse::error(req, 404, "Not Found")
}

pub(crate) fn bad_request(req: u64, message: &str) -> HttpResponse {
    HttpResponse::error(req, 400, message)
}

pub(crate) fn new_id(prefix: &str, counter: &mut u64) -> Id {
    *counter += 1;
    format!("{prefix}{counter}").into()
}

/// A replica insert's outcome for a listener: a duplicate key is a duplicate event,
/// acked when hardened; as built (`non-idempotent-listeners`) it throws, forever.
pub(crate) fn inserted(result: Result<(), crate::app::store::StoreError>, flaws: Flaws) -> Result<(), crate::app::HandlerError> {
    match result {
        Err(e) if flaws.has(Flaw::NonIdempotentListeners) => Err(crate::app::HandlerError::new(e.to_string())),
        _ => Ok(()),
    }
}
