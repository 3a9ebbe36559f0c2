//! The nemesis: a fault schedule drawn from the decision source within a scenario's
//! bounds (crashes and restarts of service instances, restarts of infrastructure such
//! as a broker, pauses, partitions), and its execution on the world during the fault
//! phase; everything is undone when the quiet phase begins. In swarm mode each seed
//! first draws which fault kinds are on and how hard.

use super::buggify::SiteFault;
use super::choices::{key, Choices, Site};
use super::fabric::{Describe, NodeId};
use super::history::FaultEvent;
use super::history::Observation;
use super::world::World;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How many faults of each kind a run may suffer, and how long each lasts. The default
/// inflicts none, with durations that suit a fault once asked for: set the kinds a
/// system wants (`NemesisConfig { crashes: 3, ..Default::default() }`).
#[derive(Clone, Debug, PartialEq)]
pub struct NemesisConfig {
    pub crashes: u32,
    pub crash_downtime: (Duration, Duration),
    /// Restarts of infrastructure nodes (a broker).
    pub infrastructure_restarts: u32,
    pub infrastructure_downtime: (Duration, Duration),
    pub pauses: u32,
    pub pause_duration: (Duration, Duration),
    pub partitions: u32,
    pub partition_duration: (Duration, Duration),
    pub swarm: bool,
}

impl Default for NemesisConfig {
    /// No faults; a crashed node down 1 to 3 s, a restarted broker 0.5 to 2 s, a pause
    /// 0.5 to 2 s, a partition 1 to 3 s.
    fn default() -> Self {
        let ms = Duration::from_millis;
        NemesisConfig {
            crashes: 0,
            crash_downtime: (ms(1000), ms(3000)),
            infrastructure_restarts: 0,
            infrastructure_downtime: (ms(500), ms(2000)),
            pauses: 0,
            pause_duration: (ms(500), ms(2000)),
            partitions: 0,
            partition_duration: (ms(1000), ms(3000)),
            swarm: false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PartitionShape {
    /// Both directions between two nodes.
    TwoWay(NodeId, NodeId),
    /// Only `from -> to`.
    OneWay(NodeId, NodeId),
    /// Every link to and from a node.
    Isolate(NodeId),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// A service instance dies and comes back as a new incarnation.
    Crash(NodeId),
    /// An infrastructure node (a broker) restarts.
    Restart(NodeId),
    Pause(NodeId),
    Partition(PartitionShape),
}

/// One scheduled fault: start, how long it lasts, what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub at: Duration,
    pub lasts: Duration,
    pub kind: FaultKind,
}

/// How hard a seed's network is, after the swarm draw: multipliers in [0, 1].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SwarmDraw {
    pub drop: f64,
    pub duplicate: f64,
    pub delay: f64,
}

/// Draws the per-seed intensity of each fault kind. Without swarm everything is at full strength.
pub fn draw_swarm(config: &NemesisConfig, choices: &Choices) -> (NemesisConfig, SwarmDraw) {
    if !config.swarm {
        return (config.clone(), SwarmDraw { drop: 1.0, duplicate: 1.0, delay: 1.0 });
    }
    // A kind is on with probability 3/4; when on, its strength is uniform. Each kind's
    // draw is keyed by its name.
    let strength = |kind: &str| -> f64 {
        if choices.draw(Site::Swarm, key(&(kind, "on")), 4) == 0 {
            0.0
        } else {
            (1 + choices.draw(Site::Swarm, key(&(kind, "strength")), 4)) as f64 / 4.0
        }
    };
    let count = |max: u32, kind: &str| -> u32 { (max as f64 * strength(kind)).round() as u32 };
    let mut drawn = config.clone();
    drawn.crashes = count(config.crashes, "crashes");
    drawn.infrastructure_restarts = count(config.infrastructure_restarts, "infrastructure restarts");
    drawn.pauses = count(config.pauses, "pauses");
    drawn.partitions = count(config.partitions, "partitions");
    let net = SwarmDraw { drop: strength("drops"), duplicate: strength("duplicates"), delay: 0.25 + 0.75 * strength("delays") };
    (drawn, net)
}

/// Draws the fault schedule over `0..phase` for the given service instances and
/// infrastructure nodes.
pub fn plan(config: &NemesisConfig, phase: Duration, instances: &[NodeId], infrastructure: &[NodeId], choices: &Choices) -> Vec<Fault> {
    // Each fault's draws are keyed by its kind and number: one fault fewer leaves the
    // others as they were.
    let mut faults = Vec::new();
    let at = |what: &str, i: u32| choices.duration(Site::Nemesis, key(&(what, i, "at")), Duration::ZERO, phase);
    let lasts =
        |what: &str, i: u32, range: (Duration, Duration)| choices.duration(Site::Nemesis, key(&(what, i, "lasts")), range.0, range.1);
    let pick = |what: &str, i: u32, nodes: &[NodeId]| nodes[choices.pick(Site::Nemesis, key(&(what, i, "node")), nodes.len())];
    if !instances.is_empty() {
        for i in 0..config.crashes {
            let node = pick("crash", i, instances);
            faults.push(Fault { at: at("crash", i), lasts: lasts("crash", i, config.crash_downtime), kind: FaultKind::Crash(node) });
        }
        for i in 0..config.pauses {
            let node = pick("pause", i, instances);
            faults.push(Fault { at: at("pause", i), lasts: lasts("pause", i, config.pause_duration), kind: FaultKind::Pause(node) });
        }
    }
    if !infrastructure.is_empty() {
        for i in 0..config.infrastructure_restarts {
            let node = pick("restart", i, infrastructure);
            let lasts = lasts("restart", i, config.infrastructure_downtime);
            faults.push(Fault { at: at("restart", i), lasts, kind: FaultKind::Restart(node) });
        }
    }
    let mut nodes: Vec<NodeId> = instances.to_vec();
    nodes.extend_from_slice(infrastructure);
    if nodes.len() >= 2 {
        for i in 0..config.partitions {
            let a = pick("partition", i, &nodes);
            let others: Vec<NodeId> = nodes.iter().copied().filter(|n| *n != a).collect();
            let b = pick("partition peer", i, &others);
            let shape = match choices.draw(Site::Nemesis, key(&("partition shape", i)), 3) {
                0 => PartitionShape::TwoWay(a, b),
                1 => PartitionShape::OneWay(a, b),
                _ => PartitionShape::Isolate(a),
            };
            let (at, lasts) = (at("partition", i), lasts("partition", i, config.partition_duration));
            faults.push(Fault { at, lasts, kind: FaultKind::Partition(shape) });
        }
    }
    faults.sort_by_key(|f| f.at);
    faults
}

/// What the nemesis did, counted over a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NemesisCounters {
    pub crashes: u64,
    pub restarts: u64,
    pub infrastructure_restarts: u64,
    pub pauses: u64,
    pub partitions: u64,
}

impl std::ops::AddAssign for NemesisCounters {
    fn add_assign(&mut self, c: NemesisCounters) {
        self.crashes += c.crashes;
        self.restarts += c.restarts;
        self.infrastructure_restarts += c.infrastructure_restarts;
        self.pauses += c.pauses;
        self.partitions += c.partitions;
    }
}

/// Carries out a fault plan on a world.
pub struct Executor<M, O: Observation> {
    pub(crate) world: Arc<World<M, O>>,
    /// Crashes and pauses wait until this says the node serves no user request.
    pub(crate) serving: Option<Arc<dyn Fn(NodeId) -> bool + Send + Sync>>,
    pub(crate) counters: Mutex<NemesisCounters>,
}

impl<M: Clone + Send + Describe + 'static, O: Observation> Executor<M, O> {
    async fn wait_until_spare(&self, idx: NodeId) {
        if let Some(serving) = &self.serving {
            while serving(idx) {
                super::sleep(Duration::from_millis(5)).await;
            }
        }
    }

    fn count(&self, f: impl FnOnce(&mut NemesisCounters)) {
        f(&mut self.counters.lock().unwrap());
    }

    /// Waits for the fault's time, inflicts it, waits its duration and undoes it
    /// (unless the quiet phase has undone it already).
    pub async fn inflict(self: Arc<Self>, fault: Fault) {
        super::sleep(fault.at).await;
        let world = &self.world;
        match fault.kind {
            FaultKind::Crash(idx) | FaultKind::Restart(idx) => {
                if matches!(fault.kind, FaultKind::Crash(_)) {
                    self.wait_until_spare(idx).await;
                }
                if !world.crash(idx) {
                    return;
                }
                self.count(|c| match fault.kind {
                    FaultKind::Crash(_) => c.crashes += 1,
                    _ => c.infrastructure_restarts += 1,
                });
                super::sleep(fault.lasts).await;
                if world.restart(idx) {
                    self.count(|c| c.restarts += 1);
                }
            }
            FaultKind::Pause(idx) => {
                self.wait_until_spare(idx).await;
                let text = format!("pause {} for {}", world.node_name(idx), super::fmt_time(fault.lasts));
                if !self.pause(idx, FaultEvent::Pause, text) {
                    return;
                }
                super::sleep(fault.lasts).await;
                world.resume(idx);
            }
            FaultKind::Partition(shape) => {
                if world.is_quiet() {
                    return;
                }
                let links = self.links(shape);
                for (a, b) in &links {
                    world.fabric.cut(*a, *b);
                }
                self.count(|c| c.partitions += 1);
                world.record(
                    super::history::FaultEvent::Partition,
                    format!("partition {} for {}", self.describe(shape), super::fmt_time(fault.lasts)),
                );
                super::sleep(fault.lasts).await;
                if !world.is_quiet() {
                    for (a, b) in &links {
                        world.fabric.heal(*a, *b);
                    }
                    world.record(super::history::FaultEvent::Heal, format!("heal {}", self.describe(shape)));
                }
            }
        }
    }

    /// Faults at fault sites (see [`super::buggify`]) as they are asked for: a crash,
    /// the instance down for a downtime drawn from `lasts.0` and then restarted, or a
    /// pause for a duration drawn from `lasts.1` (undone by a task of its own, so the
    /// next request is served meanwhile); answers at once whether it struck.
    pub async fn faults_at_sites(
        self: Arc<Self>,
        mut requests: futures::channel::mpsc::UnboundedReceiver<(SiteFault, Arc<str>, futures::channel::oneshot::Sender<bool>)>,
        lasts: ((Duration, Duration), (Duration, Duration)),
        choices: Choices,
    ) {
        use futures::StreamExt;
        let (downtime, pause) = lasts;
        while let Some((kind, name, answer)) = requests.next().await {
            let world = &self.world;
            let Some(idx) = world.with_role(|_| true).into_iter().find(|idx| *world.node_name(*idx) == *name) else {
                let _ = answer.send(false);
                continue;
            };
            match kind {
                SiteFault::CrashAfterWrite => {
                    let lasts = choices.duration(Site::Nemesis, key(&("site crash downtime", &*name)), downtime.0, downtime.1);
                    let crashed = world.crash(idx);
                    let _ = answer.send(crashed);
                    if crashed {
                        self.count(|c| c.crashes += 1);
                        world.record(FaultEvent::CrashAfterWrite, format!("(a crash right after {name}'s store write)"));
                        super::sleep(lasts).await;
                        if world.restart(idx) {
                            self.count(|c| c.restarts += 1);
                        }
                    }
                }
                SiteFault::PauseAfterRead | SiteFault::PauseBeforeCall(_) => {
                    let lasts = choices.duration(Site::Nemesis, key(&("site pause", &*name)), pause.0, pause.1);
                    let (event, text) = match kind {
                        SiteFault::PauseBeforeCall(call) => (
                            FaultEvent::PauseBeforeCall,
                            format!("pause {name} for {} (right before its store call {call})", super::fmt_time(lasts)),
                        ),
                        _ => (
                            FaultEvent::PauseAfterRead,
                            format!("pause {name} for {} (right after its store read)", super::fmt_time(lasts)),
                        ),
                    };
                    let paused = self.pause(idx, event, text);
                    let _ = answer.send(paused);
                    if !paused {
                        continue;
                    }
                    // Its own task: another site's request is answered meanwhile.
                    let world = world.clone();
                    madsim::task::spawn(async move {
                        super::sleep(lasts).await;
                        world.resume(idx);
                    });
                }
            }
        }
    }

    /// Pauses a node that is up, counted and recorded; false if it could not be.
    fn pause(&self, idx: NodeId, event: FaultEvent, text: String) -> bool {
        if !self.world.pause(idx) {
            return false;
        }
        self.count(|c| c.pauses += 1);
        self.world.record(event, text);
        true
    }

    /// The quiet phase begins: every fault is undone (restarts counted) and none starts.
    pub fn quiet(&self) {
        let restarted = self.world.quiet();
        self.count(|c| c.restarts += restarted);
    }

    fn links(&self, shape: PartitionShape) -> Vec<(NodeId, NodeId)> {
        match shape {
            PartitionShape::TwoWay(a, b) => vec![(a, b), (b, a)],
            PartitionShape::OneWay(a, b) => vec![(a, b)],
            PartitionShape::Isolate(a) => {
                self.world.fabric.nodes().into_iter().filter(|n| *n != a).flat_map(|n| [(a, n), (n, a)]).collect()
            }
        }
    }

    fn describe(&self, shape: PartitionShape) -> String {
        let name = |n| self.world.node_name(n);
        match shape {
            PartitionShape::TwoWay(a, b) => format!("{} <-x-> {}", name(a), name(b)),
            PartitionShape::OneWay(a, b) => format!("{} -x-> {}", name(a), name(b)),
            PartitionShape::Isolate(a) => format!("isolate {}", name(a)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> NemesisConfig {
        let r = (Duration::from_secs(1), Duration::from_secs(2));
        NemesisConfig {
            crashes: 3,
            crash_downtime: r,
            infrastructure_restarts: 1,
            infrastructure_downtime: r,
            pauses: 2,
            pause_duration: r,
            partitions: 4,
            partition_duration: r,
            swarm: false,
        }
    }

    #[test]
    fn plan_draws_every_fault_within_bounds_in_time_order() {
        madsim::runtime::Runtime::with_seed_and_config(7, Default::default()).block_on(async {
            let choices = Choices::new(7);
            let phase = Duration::from_secs(30);
            let n = |slot| NodeId::from_slot(slot);
            let faults = plan(&config(), phase, &[n(1), n(2)], &[n(0)], &choices);
            assert_eq!(faults.len(), 10);
            assert!(faults.windows(2).all(|w| w[0].at <= w[1].at));
            for f in &faults {
                assert!(f.at <= phase && f.lasts >= Duration::from_secs(1) && f.lasts <= Duration::from_secs(2));
                if let FaultKind::Crash(n) | FaultKind::Pause(n) = f.kind {
                    assert!(n.slot() == 1 || n.slot() == 2, "only service instances crash or pause");
                }
            }
        });
    }

    #[test]
    fn swarm_stays_within_the_scenario_bounds() {
        madsim::runtime::Runtime::with_seed_and_config(3, Default::default()).block_on(async {
            let choices = Choices::new(3);
            let swarm = NemesisConfig { swarm: true, ..config() };
            for _ in 0..50 {
                let (drawn, net) = draw_swarm(&swarm, &choices);
                assert!(drawn.crashes <= 3 && drawn.partitions <= 4 && drawn.pauses <= 2 && drawn.infrastructure_restarts <= 1);
                assert!((0.0..=1.0).contains(&net.drop) && (0.25..=1.0).contains(&net.delay));
            }
        });
    }

    #[test]
    fn one_fault_fewer_leaves_the_other_faults_as_they_were() {
        let phase = Duration::from_secs(30);
        let all = plan(&config(), phase, &[NodeId::from_slot(1), NodeId::from_slot(2)], &[NodeId::from_slot(0)], &Choices::new(5));
        let fewer = plan(
            &NemesisConfig { crashes: config().crashes - 1, ..config() },
            phase,
            &[NodeId::from_slot(1), NodeId::from_slot(2)],
            &[NodeId::from_slot(0)],
            &Choices::new(5),
        );
        assert_eq!(fewer.len() + 1, all.len());
        assert!(fewer.iter().all(|f| all.contains(f)), "every remaining fault is drawn as before");
    }
}
