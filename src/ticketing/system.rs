//! The ticketing app as a system under test: open this file first. It says how a
//! scenario becomes a world (a broker node, one node per service instance from the
//! registry in `services`, the users), what the users do, what state is read at the
//! end, and which invariants are judged. Everything else about a run (network, faults,
//! time, history, sweeps, shrinking) is the harness's.

use super::common::AppConfig;
use super::domain::{Obs, TicketingApp};
use super::invariants::INVARIANTS;
use super::protocol::Message;
use super::scenario::{Scenario, UserLinks};
use super::services::orders::OrdersDb;
use super::services::payments::PaymentsDb;
use super::services::tickets::TicketsDb;
use super::services::transactions::TransactionsDb;
use super::services::{accounts, orders, payments, tickets, transactions};
use super::services::{accounts::AccountsDb, Opening, Stores, SERVICES};
use super::state::{FinalState, Ticketing};
use super::workload;
use crate::harness::fabric::NodeId;
use crate::harness::nemesis::NemesisConfig;
use crate::harness::system::Reproduce;
use crate::harness::system::{Invariant, Simplification, System};
use crate::harness::system::{NetworkOptions, SimOptions};
use crate::harness::world::WorldBuilder;
use crate::harness::BoxFuture;
use crate::kit::broker::BrokerConfig;
use crate::kit::deploy::{self, Broker};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

fn range(r: &[super::scenario::Dur; 2]) -> (Duration, Duration) {
    (r[0].0, r[1].0)
}

impl Ticketing {
    fn app_config(scenario: &Scenario) -> AppConfig {
        AppConfig {
            flaws: scenario.flaws(),
            expiration_window: scenario.app.expiration_window.0,
            accounts_processing: range(&scenario.app.accounts_processing),
            planted: scenario.planted,
            provider: None,
        }
    }

    /// The broker the scenario asks for, and the client every instance starts with.
    fn broker_config(scenario: &Scenario) -> (BrokerConfig, crate::kit::nats::ClientConfig) {
        let mut broker = scenario.broker.config();
        let client = super::common::broker_client(scenario.flaws(), &mut broker);
        (broker, client)
    }

    /// Declares one node per instance of each running service; returns them by service.
    fn instances(
        scenario: &Scenario,
        world: &mut WorldBuilder<Message, Obs>,
        stores: &mut Stores,
        (broker, client): (NodeId, &crate::kit::nats::ClientConfig),
    ) -> BTreeMap<&'static str, Vec<NodeId>> {
        let mut app = Self::app_config(scenario);
        let latency = range(&scenario.store.latency);
        if scenario.app.payment_provider {
            let db = world.store(super::provider::NAME, super::provider::ProviderDb::default(), latency);
            let node = deploy::remote(world, super::provider::NAME, move || {
                Arc::new(super::provider::Provider { db: db.on(&super::provider::NAME.into()) })
                    as Arc<dyn crate::kit::instance::HttpService>
            });
            app.provider = Some(node);
        }
        let mut instances = BTreeMap::new();
        let outbox = !app.flaws.on(super::flaws::Flaw::NoOutbox);
        for spec in SERVICES.iter().filter(|s| scenario.runs(s.name)) {
            let start = (spec.open)(&mut Opening { world, app: &app, latency, stores, service: spec.name });
            let service = deploy::Service {
                name: spec.name,
                group: spec.group,
                instances: scenario.instances(spec.name),
                outbox,
                config: app.clone(),
                client: client.clone(),
                start,
            };
            instances.insert(spec.name, deploy::instances(world, broker, service));
        }
        instances
    }
}

impl System for Ticketing {
    type Scenario = Scenario;
    type Message = Message;
    type Obs = Obs;
    type Final = FinalState;

    fn options(s: &Scenario) -> SimOptions {
        let n = &s.nemesis;
        SimOptions {
            network: NetworkOptions {
                drop_probability: s.network.drop_probability,
                duplicate_probability: s.network.duplicate_probability,
                delay: range(&s.network.delay),
                user_delay: s.network.user_delay.as_ref().map(range),
            },
            nemesis: NemesisConfig {
                crashes: n.crashes,
                crash_downtime: range(&n.crash_downtime),
                infrastructure_restarts: n.broker_restarts,
                infrastructure_downtime: range(&n.broker_downtime),
                pauses: n.pauses,
                pause_duration: range(&n.pause_duration),
                partitions: n.partitions,
                partition_duration: range(&n.partition_duration),
                swarm: n.swarm,
            },
            fault_phase: s.phases.duration.0,
            quiet_phase: s.phases.quiet.0,
            settle_window: super::drain::settle_window(s),
            spare_serving_nodes: n.spare_user_requests,
            not_judged: super::invariants::not_judged(s),
            budget: s.budget(),
            strategy: s.strategy,
        }
    }

    fn build(scenario: &Scenario, world: &mut WorldBuilder<Message, Obs>) -> Arc<Ticketing> {
        let (config, client) = Self::broker_config(scenario);
        let broker = Broker::<TicketingApp>::declare(world, config);
        let mut stores = Stores::default();
        let instances = Self::instances(scenario, world, &mut stores, (broker.node, &client));
        let reliable = scenario.network.user_links == UserLinks::Reliable;
        let timeout = scenario.workload.request_timeout.0;
        let client = deploy::users(world, reliable, broker.node, super::services::routed(&instances), timeout);
        Arc::new(Ticketing { scenario: scenario.clone(), stores, broker, client, choices: world.choices(), pace: world.pace() })
    }

    fn workload(self: Arc<Self>) -> BoxFuture {
        let workload = self.scenario.workload.at_pace(self.pace);
        Box::pin(workload::run(self.client.clone(), workload, self.choices.clone(), self.scenario.phases.duration.0))
    }

    fn serving(&self, node: NodeId) -> bool {
        self.client.busy(node)
    }

    fn final_state(&self) -> FinalState {
        FinalState {
            tickets: self.rows(tickets::SPEC.name, &self.stores.tickets, |s: &TicketsDb| s.tickets.values().cloned().collect()),
            orders: self.rows(orders::SPEC.name, &self.stores.orders, |s: &OrdersDb| s.orders.values().cloned().collect()),
            ticket_replicas: self.rows(orders::SPEC.name, &self.stores.orders, |s: &OrdersDb| s.tickets.values().cloned().collect()),
            order_replicas: self.rows(payments::SPEC.name, &self.stores.payments, |s: &PaymentsDb| s.orders.values().cloned().collect()),
            payments: self.rows(payments::SPEC.name, &self.stores.payments, |s: &PaymentsDb| s.payments.values().cloned().collect()),
            charges: self.rows(payments::SPEC.name, &self.stores.payments, |s: &PaymentsDb| s.charges.values().cloned().collect()),
            transactions: self
                .rows(transactions::SPEC.name, &self.stores.transactions, |s: &TransactionsDb| s.transactions.values().cloned().collect()),
            accounts: self
                .rows(accounts::SPEC.name, &self.stores.accounts, |s: &AccountsDb| {
                    s.accounts.values().map(|a| (a.user_id.clone(), (a.balance, a.last_number))).collect()
                })
                .into_iter()
                .collect(),
            outstanding: self.outstanding(),
            consumers: self.scenario.consumers(),
        }
    }

    fn invariants() -> &'static [Invariant<Ticketing>] {
        INVARIANTS
    }

    fn expectations(check: &crate::harness::system::Check<Ticketing>) -> Vec<crate::harness::system::Judgement> {
        if super::invariants::scripted(check.scenario) {
            super::invariants::scripted_expectations::judgements(check)
        } else {
            Vec::new()
        }
    }

    fn simplifications(scenario: &Scenario, liveness: bool) -> Vec<Simplification<Scenario>> {
        super::scenario::simplify::simplifications(scenario, liveness)
    }

    fn is_valid(scenario: &Scenario) -> Result<(), String> {
        scenario.validate().map_err(|(path, message)| format!("{}: {message}", path.join(".")))
    }

    fn reproduction(scenario: &Scenario) -> Option<&Reproduce> {
        scenario.reproduce.as_ref()
    }

    fn with_reproduction(scenario: &Scenario, reproduce: Option<Reproduce>) -> Scenario {
        Scenario { reproduce, ..scenario.clone() }
    }

    fn bug_switches(scenario: &Scenario) -> Vec<(String, Scenario)> {
        scenario.flaws().iter().map(|flaw| (flaw.name().to_string(), scenario.with_flaw_off(flaw))).collect()
    }

    fn without_bugs(scenario: &Scenario) -> Scenario {
        Scenario { preset: super::flaws::Preset::Hardened, flaws: Vec::new(), without_flaws: Vec::new(), ..scenario.clone() }
    }

    fn record_states(f: &FinalState) -> BTreeMap<String, String> {
        let mut states = BTreeMap::new();
        let mut put = |what: &str, id: &str, state: String| {
            states.insert(format!("{what} {id}"), state);
        };
        f.tickets.iter().for_each(|t| put("ticket", &t.id, format!("{t:?}")));
        f.orders.iter().for_each(|o| put("order", &o.id, format!("{o:?}")));
        f.ticket_replicas.iter().for_each(|t| put("orders' replica of ticket", &t.id, format!("{t:?}")));
        f.order_replicas.iter().for_each(|o| put("payments' replica of order", &o.id, format!("{o:?}")));
        f.payments.iter().for_each(|p| put("payment", &p.id, format!("{p:?}")));
        f.charges.iter().for_each(|c| put("charge", &c.id, format!("{c:?}")));
        f.transactions.iter().for_each(|t| put("transaction", &t.id, format!("{t:?}")));
        f.accounts.iter().for_each(|(user, (balance, last))| put("account", user, format!("balance {balance}, last number {last}")));
        states
    }

    fn coverage(entries: &[crate::harness::history::Entry<Obs>], out: &mut Vec<u64>) {
        super::coverage::coverage(entries, out)
    }
}
