//! One seed of one scenario: builds the world on a fresh madsim runtime (broker,
//! service instances, users), runs the fault phase and the quiet phase, collects the
//! final states and runs every checker.

use crate::app::instance::Instance;
use crate::app::nats::{ClientConfig, NatsWrapper};
use crate::app::store::Db;
use crate::broker::{BrokerConfig, BrokerEvent, BrokerNode, BrokerState};
use crate::checkers::{self, Violation};
use crate::history::{History, NetWhat, Record};
use crate::proto::{Group, Message, Subject};
use crate::scenario::{Scenario, StoreKind, UserLinks};
use crate::services::accounts::{self, AccountsDb};
use crate::services::expiration::{self, ExpirationDb};
use crate::services::orders::{self, Order, OrdersDb, ReplicaTicket};
use crate::services::payments::{self, Payment, PaymentsDb, ReplicaOrder};
use crate::services::tickets::{self, Ticket, TicketsDb};
use crate::services::transactions::{self, Transaction, TransactionsDb};
use crate::services::{AppConfig, InstanceEnv, ServiceKind};
use crate::sim::choices::Choices;
use crate::sim::fabric::{Fabric, FabricConfig, FabricCounters, NetEvent, NodeIdx};
use crate::sim::nemesis::{self, Fault, FaultKind, NemesisConfig, NemesisCounters, PartitionShape};
use crate::workload::{self, Client};
use madsim::runtime::{Handle, Runtime};
use madsim::task::NodeId;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// How a single run is carried out.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Emit history records matching this filter as tracing events while running.
    pub trace: Option<crate::history::TraceFilter>,
    /// Also record every network message (sent, dropped, duplicated, delivered).
    pub record_messages: bool,
    /// Keep the history in the outcome.
    pub keep_history: bool,
    /// Test-only: make the named node panic at this virtual time, to show that a
    /// panic inside a simulated node is reported as a finding.
    pub inject_panic: Option<(String, Duration)>,
    /// Test-only: the orders store's latency leaks state between runs (see
    /// `check-determinism`).
    pub plant_nondeterminism: bool,
    /// Record every decision the run makes (returned in the outcome).
    pub record_choices: bool,
    /// Answer decisions from this record instead of the RNG.
    pub replay_choices: Option<crate::sim::choices::Record>,
}

/// A message still unacknowledged by a group at the end of the run.
#[derive(Clone, Debug)]
pub struct Outstanding {
    pub subject: Subject,
    pub group: Group,
    pub seq: u64,
    pub event_id: Arc<str>,
    pub deliveries: u32,
}

/// The final states that liveness checkers judge.
#[derive(Clone, Debug, Default)]
pub struct FinalState {
    pub tickets: Vec<Ticket>,
    pub orders: Vec<Order>,
    /// The orders service's replica of tickets.
    pub ticket_replicas: Vec<ReplicaTicket>,
    /// The payments service's replica of orders.
    pub order_replicas: Vec<ReplicaOrder>,
    pub payments: Vec<Payment>,
    pub transactions: Vec<Transaction>,
    /// Per user: (balance, last number applied).
    pub accounts: BTreeMap<Arc<str>, (i64, u64)>,
    pub outstanding: Vec<Outstanding>,
    /// Which groups consume each subject in this world.
    pub consumers: BTreeMap<Subject, Vec<Group>>,
    /// When the quiet phase began.
    pub quiet_start: Duration,
    pub end: Duration,
}

impl FinalState {
    /// Whether `group` consumes `subject` in this world (its service runs).
    pub fn consumes(&self, subject: Subject, group: Group) -> bool {
        self.consumers.get(&subject).is_some_and(|groups| groups.contains(&group))
    }
}

/// Every service's store: they belong to services and outlive instance crashes.
#[derive(Clone)]
struct Stores {
    tickets: Db<TicketsDb>,
    orders: Db<OrdersDb>,
    expiration: Db<ExpirationDb>,
    payments: Db<PaymentsDb>,
    transactions: Db<TransactionsDb>,
    accounts: Db<AccountsDb>,
}

impl Stores {
    fn start(&self, kind: ServiceKind, env: &InstanceEnv) -> Arc<Instance> {
        match kind {
            ServiceKind::Tickets => tickets::start(env, &self.tickets.on(&env.name)),
            ServiceKind::Orders => orders::start(env, &self.orders.on(&env.name)),
            ServiceKind::Expiration => expiration::start(env, &self.expiration.on(&env.name)),
            ServiceKind::Payments => payments::start(env, &self.payments.on(&env.name)),
            ServiceKind::Transactions => transactions::start(env, &self.transactions.on(&env.name)),
            ServiceKind::Accounts => accounts::start(env, &self.accounts.on(&env.name)),
        }
    }
}

/// Everything a run produced.
#[derive(Clone, Debug)]
pub struct RunOutcome {
    pub seed: u64,
    pub violations: Vec<Violation>,
    pub fabric: FabricCounters,
    pub nemesis: NemesisCounters,
    pub end: Duration,
    pub history_len: usize,
    pub trace_hash: u64,
    pub history: Option<History>,
    pub final_state: Option<FinalState>,
    /// Set when a simulated node panicked: a finding, not a crash of the tool.
    pub panic: Option<String>,
    /// The run's decisions, when they were recorded.
    pub choices: Option<Vec<crate::sim::choices::Choice>>,
    /// The nodes of the run, in fabric order.
    pub nodes: Vec<String>,
}

impl RunOutcome {
    pub fn failed(&self) -> bool {
        !self.violations.is_empty()
    }
}

/// Runs one seed. Never panics because a simulated node panicked: that becomes a
/// `node-panic` violation.
pub fn run_seed(scenario: &Scenario, seed: u64, options: &RunOptions) -> RunOutcome {
    let scenario = scenario.clone();
    let opts = options.clone();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let runtime = Runtime::with_seed_and_config(seed, madsim::Config::default());
        runtime.block_on(world(scenario, seed, opts))
    }));
    match result {
        Ok(outcome) => outcome,
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            RunOutcome {
                seed,
                violations: vec![Violation {
                    invariant: "node-panic",
                    time: Duration::ZERO,
                    records: vec![],
                    explanation: format!("a simulated node panicked: {message}"),
                }],
                fabric: FabricCounters::default(),
                nemesis: NemesisCounters::default(),
                end: Duration::ZERO,
                history_len: 0,
                trace_hash: 0,
                history: None,
                final_state: None,
                panic: Some(message),
                choices: None,
                nodes: Vec::new(),
            }
        }
    }
}

fn range(r: &[crate::scenario::Dur; 2]) -> (Duration, Duration) {
    (r[0].0, r[1].0)
}

/// A madsim node whose id is known once it is built.
struct SimNode {
    idx: NodeIdx,
    id: Arc<OnceLock<NodeId>>,
}

struct World {
    handle: Handle,
    fabric: Fabric<Message>,
    history: History,
    broker: SimNode,
    broker_state: Arc<Mutex<BrokerState>>,
    memory_store: bool,
    next_store_id: AtomicU32,
    instances: Vec<SimNode>,
    client: Arc<Client>,
    spare_user_requests: bool,
    faults: Mutex<FaultState>,
    counters: Mutex<NemesisCounters>,
}

#[derive(Default)]
struct FaultState {
    quiet: bool,
    down: BTreeSet<NodeIdx>,
    paused: BTreeSet<NodeIdx>,
}

async fn world(scenario: Scenario, seed: u64, options: RunOptions) -> RunOutcome {
    let handle = Handle::current();
    let choices = Choices::from_runtime();
    if options.record_choices {
        choices.start_recording();
    }
    if let Some(record) = &options.replay_choices {
        choices.replay(record);
    }
    let history = History::new(options.trace.clone());
    let flaws = scenario.flaws();

    let nemesis_config = NemesisConfig {
        crashes: scenario.nemesis.crashes,
        crash_downtime: range(&scenario.nemesis.crash_downtime),
        broker_restarts: scenario.nemesis.broker_restarts,
        broker_downtime: range(&scenario.nemesis.broker_downtime),
        pauses: scenario.nemesis.pauses,
        pause_duration: range(&scenario.nemesis.pause_duration),
        partitions: scenario.nemesis.partitions,
        partition_duration: range(&scenario.nemesis.partition_duration),
        swarm: scenario.nemesis.swarm,
    };
    let (nemesis_config, swarm) = nemesis::draw_swarm(&nemesis_config, &choices);
    let net = &scenario.network;
    let delay = range(&net.delay);
    let spread = (delay.1 - delay.0).mul_f64(swarm.delay);
    let fabric_config = FabricConfig {
        drop_probability: net.drop_probability * swarm.drop,
        duplicate_probability: net.duplicate_probability * swarm.duplicate,
        delay_min: delay.0,
        delay_max: delay.0 + spread,
    };
    let node_names: Arc<OnceLock<Vec<Arc<str>>>> = Arc::default();
    let observer = options.record_messages.then(|| {
        let history = history.clone();
        let names = node_names.clone();
        Arc::new(move |event: &NetEvent| {
            let names = names.get().expect("nodes are named before any message");
            let name = |idx: NodeIdx| names[idx as usize].clone();
            let (id, from, to, kind, what) = match event {
                NetEvent::Sent { id, from, to, kind, text } => (*id, *from, *to, *kind, NetWhat::Sent(text.clone())),
                NetEvent::Duplicated { id, from, to, kind } => (*id, *from, *to, *kind, NetWhat::Duplicated),
                NetEvent::Dropped { id, from, to, kind, reason } => (*id, *from, *to, *kind, NetWhat::Dropped(reason)),
                NetEvent::Delivered { id, from, to, kind } => (*id, *from, *to, *kind, NetWhat::Delivered),
            };
            history.push_on(
                Some(&name(if matches!(what, NetWhat::Delivered) { to } else { from })),
                Record::Net { id, from: name(from), to: name(to), kind, what },
            );
        }) as crate::sim::fabric::Observer
    });
    let fabric: Fabric<Message> = Fabric::new(fabric_config.clone(), choices.clone(), observer);

    // Nodes of the fabric, in a fixed order.
    let broker_idx = fabric.add_node("broker", false);
    let mut instance_specs = Vec::new();
    for kind in ServiceKind::ALL {
        for i in 0..scenario.services.count(kind) {
            instance_specs.push((kind, fabric.add_node(&format!("{}-{}", kind.name(), i + 1), false)));
        }
    }
    let users_idx = fabric.add_node("users", scenario.network.user_links == UserLinks::Reliable);
    let _ = node_names.set(fabric.node_names().into_iter().map(Arc::from).collect());

    // Stores belong to services and outlive instance crashes.
    let latency = range(&scenario.store.latency);
    let stores = Stores {
        tickets: Db::new("tickets", TicketsDb::default(), choices.clone(), latency, history.clone()),
        orders: {
            let db = Db::new("orders", OrdersDb::new(flaws), choices.clone(), latency, history.clone());
            if options.plant_nondeterminism {
                db.plant_nondeterminism()
            } else {
                db
            }
        },
        expiration: Db::new("expiration", ExpirationDb::default(), choices.clone(), latency, history.clone()),
        payments: Db::new("payments", PaymentsDb::default(), choices.clone(), latency, history.clone()),
        transactions: Db::new("transactions", TransactionsDb::default(), choices.clone(), latency, history.clone()),
        accounts: Db::new("accounts", AccountsDb::default(), choices.clone(), latency, history.clone()),
    };
    let app = AppConfig {
        flaws,
        expiration_window: scenario.app.expiration_window.0,
        accounts_processing: range(&scenario.app.accounts_processing),
    };

    // The broker.
    let broker_config = BrokerConfig {
        ack_wait: scenario.broker.ack_wait.0,
        max_in_flight: scenario.broker.max_in_flight as usize,
        dead_client_timeout: scenario.broker.dead_client_timeout.0,
        durable: scenario.broker.store == StoreKind::Durable,
        ..Default::default()
    };
    let broker_state = Arc::new(Mutex::new(BrokerState::new(1)));
    let broker = SimNode { idx: broker_idx, id: Arc::default() };
    {
        let (fabric, state, history, id, config) =
            (fabric.clone(), broker_state.clone(), history.clone(), broker.id.clone(), broker_config.clone());
        let node = handle
            .create_node()
            .name("broker")
            .init(move || {
                let node = BrokerNode {
                    idx: broker_idx,
                    config: config.clone(),
                    state: state.clone(),
                    fabric: fabric.clone(),
                    on_event: broker_recorder(history.clone()),
                };
                let (fabric, id) = (fabric.clone(), id.clone());
                async move {
                    let node = Arc::new(node);
                    let me = Handle::current().get_node(*id.get().expect("node id set at build")).expect("node exists");
                    fabric.attach(broker_idx, me, node.clone());
                    node.run_ticks().await;
                }
            })
            .build();
        broker.id.set(node.id()).unwrap();
    }

    // Service instances.
    let mut instances = Vec::new();
    let mut by_service: BTreeMap<ServiceKind, Vec<NodeIdx>> = BTreeMap::new();
    for (service, idx) in instance_specs {
        by_service.entry(service).or_default().push(idx);
        let sim_node = SimNode { idx, id: Arc::default() };
        let name = fabric.node_name(idx);
        let incarnation = Arc::new(AtomicU32::new(0));
        let (fabric, app, id, stores) = (fabric.clone(), app.clone(), sim_node.id.clone(), stores.clone());
        let node = handle
            .create_node()
            .name(name.clone())
            .init(move || {
                let n = incarnation.fetch_add(1, Ordering::Relaxed) + 1;
                let client_id: Arc<str> = format!("{name}#{n}").into();
                let (fabric, app, id, stores) = (fabric.clone(), app.clone(), id.clone(), stores.clone());
                let name: Arc<str> = name.as_str().into();
                async move {
                    let nats = Arc::new(NatsWrapper::new(client_id, idx, broker_idx, fabric.clone(), ClientConfig::default()));
                    let env = InstanceEnv { node: idx, name, fabric: fabric.clone(), nats, app };
                    let instance = stores.start(service, &env);
                    let me = Handle::current().get_node(*id.get().expect("node id set at build")).expect("node exists");
                    fabric.attach(idx, me, instance);
                    std::future::pending::<()>().await;
                }
            })
            .build();
        sim_node.id.set(node.id()).unwrap();
        instances.push(sim_node);
    }

    // Users.
    let client =
        Arc::new(Client::new(users_idx, fabric.clone(), history.clone(), choices.clone(), by_service, scenario.workload.request_timeout.0));
    let users_node = handle.create_node().name("users").build();
    fabric.attach(users_idx, users_node.clone(), client.clone());
    // Boot: every instance attaches to the fabric before users and faults begin.
    let all: Vec<NodeIdx> = std::iter::once(broker_idx).chain(instances.iter().map(|n: &SimNode| n.idx)).collect();
    while !all.iter().all(|idx| fabric.is_up(*idx)) {
        madsim::time::sleep(Duration::from_millis(1)).await;
    }
    let workload_done = users_node.spawn(workload::run(client.clone(), scenario.workload.clone(), history.clone(), choices.clone()));

    let world = Arc::new(World {
        handle: handle.clone(),
        fabric: fabric.clone(),
        history: history.clone(),
        broker,
        broker_state: broker_state.clone(),
        memory_store: scenario.broker.store == StoreKind::Memory,
        next_store_id: AtomicU32::new(2),
        instances,
        client,
        spare_user_requests: scenario.nemesis.spare_user_requests,
        faults: Mutex::default(),
        counters: Mutex::default(),
    });

    if let Some((name, at)) = options.inject_panic.clone() {
        if let Some(node) = world.instances.iter().chain(std::iter::once(&world.broker)).find(|n| fabric.node_name(n.idx) == name) {
            let node = handle.get_node(*node.id.get().unwrap()).expect("node exists");
            node.spawn(async move {
                madsim::time::sleep(at).await;
                panic!("injected panic in {name}");
            });
        }
    }

    // The fault phase.
    let phase = scenario.phases.duration.0;
    let instance_idxs: Vec<NodeIdx> = world.instances.iter().map(|n| n.idx).collect();
    let plan = nemesis::plan(&nemesis_config, phase, &instance_idxs, broker_idx, &choices);
    let mut fault_tasks = Vec::new();
    for fault in plan {
        let world = world.clone();
        fault_tasks.push(madsim::task::spawn(async move { world.inflict(fault).await }));
    }
    madsim::time::sleep(phase).await;

    // The quiet phase: undo every fault, stop dropping and duplicating.
    let quiet_start = crate::sim::now();
    world.quiet();
    fabric.set_config(FabricConfig { drop_probability: 0.0, duplicate_probability: 0.0, ..fabric_config });
    let _ = workload_done.await;
    madsim::time::sleep(scenario.phases.quiet.0).await;

    let end = crate::sim::now();
    let final_state = collect_final(&stores, &broker_state, &scenario, quiet_start, end);
    // Kill every node so no task outlives the runtime.
    for node in world.instances.iter().chain(std::iter::once(&world.broker)) {
        handle.kill(*node.id.get().unwrap());
    }
    handle.kill(users_node.id());
    for task in fault_tasks {
        task.abort();
    }
    fabric.shutdown();

    let violations = checkers::check_all(&history, &final_state, &scenario);
    let history_len = history.len();
    let trace_hash = history.fingerprint();
    let nemesis_counters = *world.counters.lock().unwrap();
    RunOutcome {
        seed,
        violations,
        fabric: fabric.counters(),
        nemesis: nemesis_counters,
        end,
        history_len,
        trace_hash,
        history: options.keep_history.then_some(history),
        final_state: options.keep_history.then_some(final_state),
        panic: None,
        choices: options.record_choices.then(|| choices.take_record()),
        nodes: fabric.node_names(),
    }
}

fn broker_recorder(history: History) -> Arc<dyn Fn(&BrokerEvent) + Send + Sync> {
    let broker: Arc<str> = "broker".into();
    Arc::new(move |event: &BrokerEvent| {
        let record = match event {
            BrokerEvent::Accepted { subject, seq, event } => Record::Accepted { subject: *subject, seq: *seq, event: event.clone() },
            BrokerEvent::Delivered { subject, group, seq, client, event_id, redelivery } => Record::Delivered {
                subject: *subject,
                group,
                seq: *seq,
                client: client.clone(),
                event_id: event_id.clone(),
                redelivery: *redelivery,
            },
            BrokerEvent::Acked { subject, group, seq, client, event_id } => {
                Record::Acked { subject: *subject, group, seq: *seq, client: client.clone(), event_id: event_id.clone() }
            }
            BrokerEvent::ClientDead { client } => {
                Record::Fault { text: format!("broker declares client {client} dead (missed heartbeats)") }
            }
        };
        history.push_on(Some(&broker), record);
    })
}

fn collect_final(stores: &Stores, broker: &Mutex<BrokerState>, scenario: &Scenario, quiet_start: Duration, end: Duration) -> FinalState {
    let mut consumers: BTreeMap<Subject, Vec<Group>> = BTreeMap::new();
    for kind in ServiceKind::ALL {
        if scenario.services.count(kind) > 0 {
            let (group, subjects) = kind.consumes();
            for subject in subjects {
                consumers.entry(*subject).or_default().push(group);
            }
        }
    }
    let broker = broker.lock().unwrap();
    let mut outstanding = Vec::new();
    for (subject, groups) in &consumers {
        for group in groups {
            for (seq, event, deliveries) in broker.outstanding(*subject, group) {
                outstanding.push(Outstanding { subject: *subject, group, seq, event_id: event.event_id.clone(), deliveries });
            }
        }
    }
    FinalState {
        tickets: stores.tickets.read(|s| s.tickets.values().cloned().collect()),
        orders: stores.orders.read(|s| s.orders.values().cloned().collect()),
        ticket_replicas: stores.orders.read(|s| s.tickets.values().cloned().collect()),
        order_replicas: stores.payments.read(|s| s.orders.values().cloned().collect()),
        payments: stores.payments.read(|s| s.payments.clone()),
        transactions: stores.transactions.read(|s| s.transactions.clone()),
        accounts: stores.accounts.read(|s| s.accounts.iter().map(|(u, a)| (u.clone(), (a.balance, a.last_number))).collect()),
        outstanding,
        consumers,
        quiet_start,
        end,
    }
}

impl World {
    fn node_id(&self, idx: NodeIdx) -> NodeId {
        let node = if idx == self.broker.idx { &self.broker } else { self.instances.iter().find(|n| n.idx == idx).expect("known node") };
        *node.id.get().unwrap()
    }

    fn record(&self, text: String) {
        self.history.push(Record::Fault { text });
    }

    async fn wait_until_spare(&self, idx: NodeIdx) {
        if self.spare_user_requests {
            while self.client.busy(idx) {
                madsim::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }

    async fn inflict(self: Arc<Self>, fault: Fault) {
        madsim::time::sleep(fault.at).await;
        match fault.kind {
            FaultKind::Crash(idx) => {
                self.wait_until_spare(idx).await;
                if !self.crash(idx) {
                    return;
                }
                madsim::time::sleep(fault.lasts).await;
                self.restart(idx);
            }
            FaultKind::BrokerRestart => {
                let idx = self.broker.idx;
                if !self.crash(idx) {
                    return;
                }
                self.counters.lock().unwrap().broker_restarts += 1;
                madsim::time::sleep(fault.lasts).await;
                self.restart(idx);
            }
            FaultKind::Pause(idx) => {
                self.wait_until_spare(idx).await;
                {
                    let mut faults = self.faults.lock().unwrap();
                    if faults.quiet || faults.down.contains(&idx) || !faults.paused.insert(idx) {
                        return;
                    }
                }
                self.handle.pause(self.node_id(idx));
                self.counters.lock().unwrap().pauses += 1;
                self.record(format!("pause {} for {}", self.fabric.node_name(idx), crate::sim::fmt_time(fault.lasts)));
                madsim::time::sleep(fault.lasts).await;
                self.resume(idx);
            }
            FaultKind::Partition(shape) => {
                if self.faults.lock().unwrap().quiet {
                    return;
                }
                let links = self.links(shape);
                for (a, b) in &links {
                    self.fabric.cut(*a, *b);
                }
                self.counters.lock().unwrap().partitions += 1;
                self.record(format!("partition {} for {}", self.describe(shape), crate::sim::fmt_time(fault.lasts)));
                madsim::time::sleep(fault.lasts).await;
                if !self.faults.lock().unwrap().quiet {
                    for (a, b) in &links {
                        self.fabric.heal(*a, *b);
                    }
                    self.record(format!("heal {}", self.describe(shape)));
                }
            }
        }
    }

    fn links(&self, shape: PartitionShape) -> Vec<(NodeIdx, NodeIdx)> {
        match shape {
            PartitionShape::TwoWay(a, b) => vec![(a, b), (b, a)],
            PartitionShape::OneWay(a, b) => vec![(a, b)],
            PartitionShape::Isolate(a) => {
                let all = self.fabric.node_names().len() as NodeIdx;
                (0..all).filter(|n| *n != a).flat_map(|n| [(a, n), (n, a)]).collect()
            }
        }
    }

    fn describe(&self, shape: PartitionShape) -> String {
        let name = |n| self.fabric.node_name(n);
        match shape {
            PartitionShape::TwoWay(a, b) => format!("{} <-x-> {}", name(a), name(b)),
            PartitionShape::OneWay(a, b) => format!("{} -x-> {}", name(a), name(b)),
            PartitionShape::Isolate(a) => format!("isolate {}", name(a)),
        }
    }

    /// Kills a node; false if it was already down or the quiet phase has begun.
    fn crash(&self, idx: NodeIdx) -> bool {
        {
            let mut faults = self.faults.lock().unwrap();
            if faults.quiet || !faults.down.insert(idx) {
                return false;
            }
            if faults.paused.remove(&idx) {
                self.handle.resume(self.node_id(idx));
            }
        }
        self.handle.kill(self.node_id(idx));
        self.fabric.detach(idx);
        if idx != self.broker.idx {
            self.counters.lock().unwrap().crashes += 1;
        }
        self.record(format!("crash {}", self.fabric.node_name(idx)));
        true
    }

    fn restart(&self, idx: NodeIdx) {
        if !self.faults.lock().unwrap().down.remove(&idx) {
            return;
        }
        if idx == self.broker.idx && self.memory_store {
            let store_id = self.next_store_id.fetch_add(1, Ordering::Relaxed) as u64;
            *self.broker_state.lock().unwrap() = BrokerState::new(store_id);
            self.record(format!("broker memory store lost; new store {store_id}"));
        }
        self.handle.restart(self.node_id(idx));
        self.counters.lock().unwrap().restarts += 1;
        self.record(format!("restart {}", self.fabric.node_name(idx)));
    }

    fn resume(&self, idx: NodeIdx) {
        if !self.faults.lock().unwrap().paused.remove(&idx) {
            return;
        }
        self.handle.resume(self.node_id(idx));
        self.record(format!("resume {}", self.fabric.node_name(idx)));
    }

    /// The quiet phase begins: every fault is undone and no new one starts.
    fn quiet(&self) {
        let (down, paused) = {
            let mut faults = self.faults.lock().unwrap();
            faults.quiet = true;
            (faults.down.clone(), faults.paused.clone())
        };
        self.fabric.heal_all();
        for idx in paused {
            self.resume(idx);
        }
        for idx in down {
            self.restart(idx);
        }
        self.record("quiet phase: faults stop".into());
    }
}
