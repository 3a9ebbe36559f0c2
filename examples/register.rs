//! A second system under test, to show the harness knows nothing of tickets: a primary
//! counts increments and replicates its value to backups over the lossy fabric, and
//! re-sends it every half second until they catch up. With `apply_stale_updates` (the
//! bug switch) a backup takes whatever value arrives, so a late, reordered update moves
//! it backwards. Run it: `cargo run --release --example register`.

use std::sync::Arc;
use std::time::Duration;
use ticketsim::harness::explore::{explore, ExploreOptions};
use ticketsim::harness::fabric::{Actor, BoxFuture, Describe, Discard, Fabric, NodeId};
use ticketsim::harness::history::StoresOnly;
use ticketsim::harness::nemesis::NemesisConfig;
use ticketsim::harness::store::{Journal, Store};
use ticketsim::harness::system::{
    Budget, Check, Invariant, InvariantKind, NetworkOptions, Reproduce, SimOptions, Simplification, System, Violation,
};
use ticketsim::harness::world::{NodeContext, NodeRole, WorldBuilder};

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
        if matches!(self, Msg::Increment) {
            "increment"
        } else {
            "replicate"
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

/// One node's register, with its change stream.
pub struct Register(Arc<str>, u64, Vec<Value>);

impl Register {
    fn set(&mut self, value: u64) {
        self.1 = value;
        self.2.push(Value(self.0.clone(), value));
    }
}

impl Journal for Register {
    type Doc = Value;
    fn take_changes(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.2)
    }
}

struct Node {
    idx: NodeId,
    store: Store<Register>,
    backups: Vec<NodeId>,
    fabric: Fabric<Msg>,
    apply_stale_updates: bool,
}

impl Actor<Msg> for Node {
    fn receive(self: Arc<Self>, _from: NodeId, msg: Msg) -> BoxFuture {
        Box::pin(async move {
            match msg {
                Msg::Increment => {
                    self.store.tx("increment", |r| r.set(r.1 + 1)).await;
                    self.replicate();
                }
                Msg::Replicate(value) => {
                    let stale_too = self.apply_stale_updates;
                    self.store
                        .tx("apply", |r| {
                            if stale_too || value > r.1 {
                                r.set(value)
                            }
                        })
                        .await;
                }
            }
        })
    }
}

impl Node {
    fn replicate(&self) {
        let value = self.store.read(|r| r.1);
        for backup in &self.backups {
            self.fabric.send(self.idx, *backup, Msg::Replicate(value));
        }
    }
}

/// How a register node starts, in every incarnation: its actor, and an anti-entropy
/// task that re-sends the value to its backups (none on a backup).
fn register_node(
    store: Store<Register>,
    backups: Vec<NodeId>,
    bug: bool,
) -> impl Fn(&NodeContext<Msg, StoresOnly<Value>>) -> Arc<dyn Actor<Msg>> + Send + Sync + 'static {
    move |ctx| {
        let node = Arc::new(Node {
            idx: ctx.idx,
            store: store.clone(),
            backups: backups.clone(),
            fabric: ctx.fabric.clone(),
            apply_stale_updates: bug,
        });
        let resend = node.clone();
        madsim::task::spawn(async move {
            loop {
                madsim::time::sleep(Duration::from_millis(500)).await;
                resend.replicate(); // anti-entropy: backups catch up after losses
            }
        });
        node
    }
}

pub struct Replicated {
    scenario: RegisterScenario,
    users: NodeId,
    primary: NodeId,
    fabric: Fabric<Msg>,
    stores: Vec<Store<Register>>,
}

fn never_back(c: &Check<Replicated>) -> Vec<Violation> {
    let mut last: std::collections::BTreeMap<Arc<str>, u64> = Default::default();
    for entry in c.entries {
        for Value(node, value) in entry.wrote() {
            let before = last.insert(node.clone(), *value).unwrap_or(0);
            if *value < before {
                return vec![Violation::new(
                    "backups-never-go-back",
                    entry.time,
                    vec![node.to_string()],
                    format!("{node} went back from {before} to {value}"),
                )];
            }
        }
    }
    vec![]
}

fn converge(c: &Check<Replicated>) -> Vec<Violation> {
    let primary = c.final_state[0];
    let behind = c.final_state.iter().enumerate().skip(1).filter(|(_, v)| **v != primary);
    behind
        .map(|(i, v)| {
            Violation::new("backups-converge", c.end, vec![format!("backup-{i}")], format!("backup-{i} holds {v}, the primary {primary}"))
        })
        .collect()
}

impl System for Replicated {
    type Scenario = RegisterScenario;
    type Message = Msg;
    type Obs = StoresOnly<Value>;
    type Final = Vec<u64>;

    fn options(s: &RegisterScenario) -> SimOptions {
        let ms = Duration::from_millis;
        SimOptions {
            nemesis: NemesisConfig { crashes: s.crashes, crash_downtime: (ms(100), ms(2000)), ..Default::default() },
            network: NetworkOptions {
                drop_probability: s.drop_probability,
                duplicate_probability: 0.1,
                delay: (ms(1), ms(300)),
                ..Default::default()
            },
            quiet_phase: ms(5000),
            budget: Budget { virtual_time: ms(60_000), events: 1_000_000 },
            ..Default::default()
        }
    }

    fn build(s: &RegisterScenario, world: &mut WorldBuilder<Msg, StoresOnly<Value>>) -> Arc<Self> {
        let names: Vec<Arc<str>> = std::iter::once("primary".into()).chain((1..=s.backups).map(|i| format!("backup-{i}").into())).collect();
        let latency = (Duration::from_millis(1), Duration::from_millis(3));
        let stores: Vec<Store<Register>> =
            names.iter().map(|n| world.store("register", Register(n.clone(), 0, vec![]), latency).on(n)).collect();
        let bug = s.apply_stale_updates;
        // Backups first: the primary is started with their handles.
        let mut backups = Vec::new();
        for (name, store) in names.iter().zip(&stores).skip(1) {
            backups.push(world.node(name, NodeRole::Service, register_node(store.clone(), vec![], bug)));
        }
        let primary = world.node(&names[0], NodeRole::Service, register_node(stores[0].clone(), backups, bug));
        let fabric = world.fabric();
        let users = world.users("users", true, |_| Arc::new(Discard)); // users ignore replies
        Arc::new(Replicated { scenario: s.clone(), users, primary, fabric, stores })
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
        self.stores.iter().map(|s| s.read(|r| r.1)).collect()
    }

    fn invariants() -> &'static [Invariant<Self>] {
        &[
            Invariant {
                name: "backups-never-go-back",
                meaning: "a backup's value never decreases",
                kind: InvariantKind::Safety,
                applies: |_| true,
                check: never_back,
            },
            Invariant {
                name: "backups-converge",
                meaning: "after the quiet phase every backup holds the primary's value",
                kind: InvariantKind::Liveness,
                applies: |_| true,
                check: converge,
            },
        ]
    }

    fn simplifications(_: &RegisterScenario, _liveness: bool) -> Vec<Simplification<RegisterScenario>> {
        let edit = |f: fn(&mut RegisterScenario) -> bool| -> Simplification<RegisterScenario> {
            Box::new(move |s| Some(s.clone()).and_then(|mut n| f(&mut n).then_some(n)))
        };
        vec![
            edit(|s| std::mem::replace(&mut s.crashes, 0) > 0),
            edit(|s| std::mem::replace(&mut s.drop_probability, 0.0) > 0.0),
            edit(|s| std::mem::replace(&mut s.backups, 1) > 1),
            edit(|s| {
                s.increments /= 2;
                s.increments > 0
            }),
        ]
    }

    fn is_valid(s: &RegisterScenario) -> Result<(), String> {
        if s.backups == 0 {
            Err("needs a backup".into())
        } else {
            Ok(())
        }
    }

    fn reproduction(s: &RegisterScenario) -> Option<&Reproduce> {
        s.reproduce.as_ref()
    }

    fn with_reproduction(s: &RegisterScenario, reproduce: Option<Reproduce>) -> RegisterScenario {
        RegisterScenario { reproduce, ..s.clone() }
    }

    fn bug_switches(s: &RegisterScenario) -> Vec<(String, RegisterScenario)> {
        let off = RegisterScenario { apply_stale_updates: false, ..s.clone() };
        if s.apply_stale_updates {
            vec![("apply_stale_updates".into(), off)]
        } else {
            vec![]
        }
    }

    fn without_bugs(s: &RegisterScenario) -> RegisterScenario {
        RegisterScenario { apply_stale_updates: false, ..s.clone() }
    }
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
        println!(
            "seed {} shrunk from {} to {} messages: {:?}",
            seeds[0].seed, shrunk.before.messages, shrunk.after.messages, shrunk.scenario
        );
    }
    let divergences = ticketsim::harness::determinism::check::<Replicated>(&buggy, 0..20, 2, &Default::default());
    println!("determinism over seeds 0..20: {} divergences", divergences.count);
}
