//! A second system under test, to show the harness knows nothing of tickets: a primary
//! counts increments and replicates its value to backups over the lossy fabric, and
//! re-sends it every half second until they catch up. With `apply_stale_updates` (the
//! bug switch) a backup takes whatever value arrives, so a late, reordered update moves
//! it backwards. Run it: `cargo run --release --example register`.

use std::sync::Arc;
use std::time::Duration;
use ticketsim::harness::explore::{explore, ExploreOptions};
use ticketsim::harness::fabric::{Actor, BoxFuture, Describe, Fabric, NodeIdx};
use ticketsim::harness::history::Observation;
use ticketsim::harness::nemesis::NemesisConfig;
use ticketsim::harness::system::{NetworkOptions, SimOptions};
use ticketsim::harness::system::Reproduce;
use ticketsim::harness::store::{Journal, Store};
use ticketsim::harness::system::{Check, Invariant, InvariantKind, Simplification, System, Violation};
use ticketsim::harness::world::{NodeRole, WorldBuilder};

#[derive(Clone, Debug)]
pub struct RegisterScenario {
    pub backups: u32,
    pub increments: u32,
    pub crashes: u32,
    pub drop_probability: f64,
    /// The bug switch.
    pub apply_stale_updates: bool,
    pub reproduce: Option<Reproduce>,
}

impl Default for RegisterScenario {
    fn default() -> Self {
        RegisterScenario { backups: 2, increments: 20, crashes: 1, drop_probability: 0.1, apply_stale_updates: false, reproduce: None }
    }
}

#[derive(Clone, Debug)]
pub enum Msg {
    Increment,
    Replicate(u64),
}

impl Describe for Msg {
    fn kind(&self) -> &'static str {
        match self {
            Msg::Increment => "increment",
            Msg::Replicate(_) => "replicate",
        }
    }
    fn describe(&self) -> String {
        format!("{self:?}")
    }
}

/// A register's value as its node's store wrote it.
#[derive(Clone, Debug)]
pub struct Value(pub Arc<str>, pub u64);

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "register {} = {}", self.0, self.1)
    }
}

/// This system reports nothing beyond its stores' writes.
#[derive(Clone, Debug)]
pub enum Nothing {}

impl std::fmt::Display for Nothing {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {}
    }
}

impl Observation for Nothing {
    type Doc = Value;
    fn is_progress(&self) -> bool {
        match *self {}
    }
}

/// One node's register, with its change stream.
pub struct Register {
    node: Arc<str>,
    value: u64,
    changes: Vec<Value>,
}

impl Register {
    fn set(&mut self, value: u64) {
        self.value = value;
        self.changes.push(Value(self.node.clone(), value));
    }
}

impl Journal for Register {
    type Doc = Value;
    fn take_changes(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.changes)
    }
}

struct Node {
    idx: NodeIdx,
    store: Store<Register>,
    backups: Vec<NodeIdx>,
    fabric: Fabric<Msg>,
    apply_stale_updates: bool,
}

impl Actor<Msg> for Node {
    fn receive(self: Arc<Self>, _from: NodeIdx, msg: Msg) -> BoxFuture {
        Box::pin(async move {
            match msg {
                Msg::Increment => {
                    let value = self.store.tx("increment", |r| {
                        r.set(r.value + 1);
                        r.value
                    });
                    let value = value.await;
                    for backup in &self.backups {
                        self.fabric.send(self.idx, *backup, Msg::Replicate(value));
                    }
                }
                Msg::Replicate(value) => {
                    let stale_too = self.apply_stale_updates;
                    self.store.tx("apply", |r| if stale_too || value > r.value { r.set(value) }).await;
                }
            }
        })
    }
}

/// The primary re-sends its value every half second (anti-entropy).
async fn resend(node: Arc<Node>) {
    loop {
        madsim::time::sleep(Duration::from_millis(500)).await;
        let value = node.store.read(|r| r.value);
        for backup in &node.backups {
            node.fabric.send(node.idx, *backup, Msg::Replicate(value));
        }
    }
}

pub struct Replicated {
    scenario: RegisterScenario,
    primary: NodeIdx,
    users: NodeIdx,
    fabric: Fabric<Msg>,
    stores: Vec<Store<Register>>,
}

struct Users;

impl Actor<Msg> for Users {
    fn receive(self: Arc<Self>, _: NodeIdx, _: Msg) -> BoxFuture {
        Box::pin(async {})
    }
}

impl System for Replicated {
    type Scenario = RegisterScenario;
    type Message = Msg;
    type Obs = Nothing;
    type Final = Vec<u64>;

    fn options(s: &RegisterScenario) -> SimOptions {
        let none = (Duration::from_millis(1), Duration::from_millis(1));
        SimOptions {
            network: NetworkOptions { drop_probability: s.drop_probability, duplicate_probability: 0.1, delay: (Duration::from_millis(1), Duration::from_millis(300)) },
            nemesis: NemesisConfig {
                crashes: s.crashes,
                crash_downtime: (Duration::from_millis(100), Duration::from_secs(2)),
                infrastructure_restarts: 0,
                infrastructure_downtime: none,
                pauses: 0,
                pause_duration: none,
                partitions: 0,
                partition_duration: none,
                swarm: false,
            },
            fault_phase: Duration::from_secs(10),
            quiet_phase: Duration::from_secs(5),
            settle_window: Duration::from_secs(2),
            spare_serving_nodes: false,
        }
    }

    fn build(s: &RegisterScenario, world: &mut WorldBuilder<Msg, Nothing>) -> Arc<Self> {
        let names: Vec<Arc<str>> = std::iter::once("primary".into()).chain((1..=s.backups).map(|i| format!("backup-{i}").into())).collect();
        let latency = (Duration::from_millis(1), Duration::from_millis(3));
        let stores: Vec<Store<Register>> = names.iter().map(|n| world.store("register", Register { node: n.clone(), value: 0, changes: vec![] }, latency).on(n)).collect();
        let backups: Vec<NodeIdx> = (1..=s.backups as NodeIdx).collect();
        let bug = s.apply_stale_updates;
        for (i, name) in names.iter().enumerate() {
            let (store, backups) = (stores[i].clone(), if i == 0 { backups.clone() } else { vec![] });
            // Nodes are numbered in declaration order: the primary is 0, backup-i is i.
            world.node(name, NodeRole::Service, move |ctx| {
                let node = Arc::new(Node { idx: ctx.idx, store: store.clone(), backups: backups.clone(), fabric: ctx.fabric.clone(), apply_stale_updates: bug });
                if ctx.idx == 0 {
                    madsim::task::spawn(resend(node.clone()));
                }
                node as Arc<dyn Actor<Msg>>
            });
        }
        let users = world.users("users", true, |_| Arc::new(Users));
        Arc::new(Replicated { scenario: s.clone(), primary: 0, users, fabric: world.fabric(), stores })
    }

    fn workload(self: Arc<Self>) -> BoxFuture {
        Box::pin(async move {
            for _ in 0..self.scenario.increments {
                madsim::time::sleep(Duration::from_millis(200)).await;
                self.fabric.send(self.users, self.primary, Msg::Increment);
            }
        })
    }

    fn final_state(&self) -> Vec<u64> {
        self.stores.iter().map(|s| s.read(|r| r.value)).collect()
    }

    fn invariants() -> &'static [Invariant<Self>] {
        &[
            Invariant { name: "backups-never-go-back", meaning: "a backup's value never decreases", kind: InvariantKind::Safety, applies: |_| true, check: never_back },
            Invariant { name: "backups-converge", meaning: "after the quiet phase every backup holds the primary's value", kind: InvariantKind::Liveness, applies: |_| true, check: converge },
        ]
    }

    fn simplifications(_: &RegisterScenario) -> Vec<Simplification<RegisterScenario>> {
        let edit = |f: fn(&mut RegisterScenario) -> bool| -> Simplification<RegisterScenario> {
            Box::new(move |s| {
                let mut next = s.clone();
                f(&mut next).then_some(next)
            })
        };
        vec![
            edit(|s| std::mem::replace(&mut s.crashes, 0) > 0),
            edit(|s| std::mem::replace(&mut s.drop_probability, 0.0) > 0.0),
            edit(|s| std::mem::replace(&mut s.backups, 1) > 1),
            edit(|s| {
                let before = s.increments;
                s.increments /= 2;
                s.increments < before
            }),
        ]
    }

    fn is_valid(s: &RegisterScenario) -> Result<(), String> {
        if s.backups == 0 { Err("needs a backup".into()) } else { Ok(()) }
    }

    fn reproduction(s: &RegisterScenario) -> Option<&Reproduce> {
        s.reproduce.as_ref()
    }

    fn with_reproduction(s: &RegisterScenario, reproduce: Option<Reproduce>) -> RegisterScenario {
        RegisterScenario { reproduce, ..s.clone() }
    }
}

fn never_back(c: &Check<Replicated>) -> Vec<Violation> {
    let mut last: std::collections::BTreeMap<Arc<str>, u64> = Default::default();
    for entry in c.entries {
        for Value(node, value) in entry.wrote() {
            let before = last.insert(node.clone(), *value).unwrap_or(0);
            if *value < before {
                let why = format!("{node} went back from {before} to {value}");
                return vec![Violation::new("backups-never-go-back", entry.time, vec![node.to_string()], why)];
            }
        }
    }
    vec![]
}

fn converge(c: &Check<Replicated>) -> Vec<Violation> {
    let primary = c.final_state[0];
    let behind = c.final_state.iter().enumerate().skip(1).filter(|(_, v)| **v != primary);
    behind.map(|(i, v)| Violation::new("backups-converge", c.end, vec![format!("backup-{i}")], format!("backup-{i} holds {v}, the primary {primary}"))).collect()
}

#[allow(dead_code)]
fn main() {
    let buggy = RegisterScenario { apply_stale_updates: true, ..Default::default() };
    let summary = explore::<Replicated>(&buggy, &ExploreOptions::new(0..200));
    println!("with apply_stale_updates: {} of {} seeds fail: {:?}", summary.failing, summary.seeds_run, summary.counts);
    let fixed = explore::<Replicated>(&RegisterScenario::default(), &ExploreOptions::new(0..200));
    println!("without it: {} of {} seeds fail", fixed.failing, fixed.seeds_run);
    if let Some(seeds) = summary.by_invariant.get("backups-never-go-back") {
        let shrunk = ticketsim::harness::shrink::shrink::<Replicated>(&buggy, seeds[0].seed, None, 2000).expect("shrinks");
        println!("seed {} shrunk from {} to {} messages: {:?}", seeds[0].seed, shrunk.before.messages, shrunk.after.messages, shrunk.scenario);
    }
    let divergences = ticketsim::harness::determinism::check::<Replicated>(&buggy, 0..20, 2, &Default::default());
    println!("determinism over seeds 0..20: {} divergences", divergences.len());
}
