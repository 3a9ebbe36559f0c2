//! One seed of one scenario: a fresh madsim runtime, the system's world built on it,
//! the fault phase (workload and faults), the quiet phase (faults undone, the system
//! drains), the final states, and every invariant judged.

use super::choices::{self, Choice, Choices, Site};
use super::fabric::{Fabric, FabricConfig, FabricCounters, NetEvent, NodeId};
use super::history::{History, NetWhat, Record, TraceFilter};
use super::nemesis::{self, Executor, NemesisConfig, NemesisCounters};
use super::schedule::{options as step_options, Gate, Go, Opt, Walk, STEP};
use super::strategy::Strategy;
use super::system::{Check, InvariantKind, NetworkOptions, SimOptions, System, Violation};
use super::world::{NodeRole, WorldBuilder};
use madsim::runtime::Runtime;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// How a single run is carried out.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Emit history records matching this filter as tracing events while running.
    pub trace: Option<TraceFilter>,
    /// Also record every network message (sent, dropped, duplicated, delivered).
    pub record_messages: bool,
    /// Keep the history and the final state in the outcome.
    pub keep_history: bool,
    /// Test-only: make the named node panic at this virtual time, to show that a
    /// panic inside a simulated node is reported as a finding.
    pub inject_panic: Option<(String, Duration)>,
    /// Test-only: store latencies leak state between runs (see `check-determinism`).
    pub plant_nondeterminism: bool,
    /// Record every decision the run makes (returned in the outcome).
    pub record_choices: bool,
    /// Answer decisions from this record, per site, instead of the RNG (shrinking).
    pub replay_choices: Option<choices::Record>,
    /// Check every decision against this recording, draw for draw.
    pub replay_exactly: Option<Arc<Vec<Choice>>>,
    /// Coverage: the runs this one branches from (see [`super::strategy::Branch`]); its
    /// first decisions are its ancestors', its madsim seed the branch's first run's.
    pub branch: super::strategy::Branch,
    /// Run madsim's scheduler on this seed instead of the run's (the decisions stay the
    /// run's): how often a tie madsim breaks changes a run (`check-determinism --ties`).
    pub scheduler_seed: Option<u64>,
    /// Log every consultation of a bug switch (see [`super::switches`]).
    pub log_switches: bool,
    /// Collect the abstract states the run reached ([`System::coverage`]).
    pub coverage: bool,
    /// Hash the whole trace even when the run passes (it always is when the run fails
    /// or its history is kept, unless [`Self::hash_if_kept`] says otherwise; hashing
    /// every passing run of a sweep would cost time).
    pub hash_trace: bool,
    /// In a sweep: a failing run's trace is hashed only if the sweep keeps its seed (see
    /// [`super::kept`]); `None` hashes every failing run.
    pub hash_if_kept: Option<Arc<super::kept::KeptSeeds>>,
    /// A run whose liveness could not be judged fails with [`LIVENESS_NOT_JUDGED`]
    /// (`run` always; sweeps with `--require-judged`, the default under `CI=true`).
    pub require_judged: bool,
    /// Schedule mode (see [`super::schedule`]): delays reduced to orderings, this walk
    /// choosing each step; the workload's decisions are the seed's, every other one its
    /// simplest, and the scenario's random faults and nemesis are off (the walk's fault
    /// budget replaces them).
    pub schedule: Option<Arc<Mutex<super::schedule::Walk>>>,
}

/// Whether liveness invariants were judged.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Liveness {
    /// Nothing made progress for a settle window before the end: judged.
    Judged,
    /// The system was still working too close to the end: liveness says nothing.
    NotJudged {
        #[serde(serialize_with = "super::system::ser_duration")]
        last_progress: Duration,
        #[serde(serialize_with = "super::system::ser_duration")]
        settle_window: Duration,
    },
    /// The run did not reach its end (a panic, a deadlock, its budget spent).
    Stopped,
}

impl Liveness {
    pub fn judged(&self) -> bool {
        *self == Liveness::Judged
    }
}

/// Everything a run produced.
pub struct RunOutcome<S: System> {
    pub seed: u64,
    pub violations: Vec<Violation>,
    pub liveness: Liveness,
    pub fabric: FabricCounters,
    pub nemesis: NemesisCounters,
    pub end: Duration,
    pub history_len: usize,
    /// Events recorded (see [`History::events`]), what the event budget counts.
    pub events: u64,
    /// How long each invariant judged took (wall clock; for reports only).
    pub check_times: Vec<(&'static str, Duration)>,
    /// The scenario's own expectations: judged, passed, failed, not judged.
    pub expectations: super::system::Tally,
    /// A hash of the whole trace: the same seed gives the same hash (see `hash_trace`).
    pub trace_hash: Option<u64>,
    pub history: Option<History<S::Obs>>,
    pub final_state: Option<S::Final>,
    /// Set when a simulated node panicked: a finding, not a crash of the tool.
    pub panic: Option<String>,
    /// The run's decisions, when they were recorded.
    pub choices: Option<Vec<Choice>>,
    /// The nodes of the run, in fabric order.
    pub nodes: Vec<String>,
    /// The abstract states reached, when asked for (`RunOptions::coverage`).
    pub coverage: Option<std::collections::BTreeSet<u64>>,
    /// Every consultation of a bug switch, when asked for (`RunOptions::log_switches`).
    pub switches: Option<Vec<super::switches::Consulted>>,
    /// Decisions drawn.
    pub drawn: u64,
    /// The madsim work the run asked for on its thread (sleeps, timers, steps).
    pub work: super::Work,
    /// What the run drew before it started (see [`super::plan`]).
    pub plan: Option<super::plan::Plan>,
}

impl<S: System> RunOutcome<S> {
    pub fn failed(&self) -> bool {
        !self.violations.is_empty()
    }
}

/// Whether a run shows the bug: a violation of `invariant` with `fingerprint`.
pub fn shows<S: System>(outcome: &RunOutcome<S>, invariant: &str, fingerprint: Option<&str>) -> bool {
    outcome.violations.iter().any(|v| v.invariant == invariant && fingerprint.is_none_or(|f| v.fingerprint() == f))
}

/// The finding a panic inside a simulated node is reported as.
pub const NODE_PANIC: &str = "node-panic";
/// The finding when a run stops at its time limit having done nothing for a settle
/// window: every task waits for something that never comes.
pub const DEADLOCK: &str = "deadlock";
/// The finding when a run goes past its budget of virtual time or events.
pub const RUNAWAY: &str = "runaway";
/// The finding when a run that must judge liveness could not: the system was still
/// working too close to the end (see [`RunOptions::require_judged`]).
pub const LIVENESS_NOT_JUDGED: &str = "liveness-not-judged";
/// Findings the harness reports itself, whatever the system.
pub const HARNESS_FINDINGS: [&str; 4] = [NODE_PANIC, DEADLOCK, RUNAWAY, LIVENESS_NOT_JUDGED];

/// Runs one seed. Never panics because a simulated node panicked, the run got stuck or
/// ran away: each is a finding (`node-panic`, `deadlock`, `runaway`) with its virtual
/// time, and the history up to it.
pub fn run_seed<S: System>(scenario: &S::Scenario, seed: u64, options: &RunOptions) -> RunOutcome<S> {
    // A branched run runs on its branch's madsim seed; it is still reported as `seed`.
    let runtime_seed = options.scheduler_seed.or(options.branch.root()).unwrap_or(seed);
    let work = super::Work::so_far();
    let history: History<S::Obs> = History::new(options.trace.clone());
    let (opts, kept) = (options.clone(), history.clone());
    super::panics::arm();
    super::cause::reset();
    if options.log_switches {
        super::switches::start();
    }
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let ran = {
            let runtime = Runtime::with_seed_and_config(runtime_seed, madsim::Config::default());
            let (opts, kept) = (opts.clone(), kept.clone());
            runtime.block_on(async move {
                super::keep_clock(Some(madsim::time::TimeHandle::current()));
                run_world::<S>(scenario, seed, opts, kept).await
            })
        };
        super::keep_clock(None);
        judged::<S>(scenario, ran, &kept, &opts)
    }));
    super::keep_clock(None);
    let caught = super::panics::disarm();
    let (switches, _) = super::switches::stop();
    let mut outcome = match result {
        Ok(outcome) => outcome,
        Err(_) => crashed(seed, history, caught, options),
    };
    outcome.switches = options.log_switches.then_some(switches);
    outcome.work = super::Work::since(work);
    outcome
}

/// The outcome of a run that panicked or deadlocked: the finding, and what was
/// recorded until then.
fn crashed<S: System>(seed: u64, history: History<S::Obs>, caught: Option<super::panics::Caught>, options: &RunOptions) -> RunOutcome<S> {
    let caught =
        caught.unwrap_or(super::panics::Caught { message: "a panic with no message".into(), location: None, time: None, node: None });
    let at = caught.time.unwrap_or_else(|| history.entries().last().map_or(Duration::ZERO, |e| e.time));
    let node = caught.node.as_deref().unwrap_or("the harness");
    let location = caught.location.as_deref().map(|l| format!(" ({l})")).unwrap_or_default();
    let records = caught.node.iter().map(|n| n.to_string()).collect();
    let explanation = format!("{node} panicked at {}: {}{location}", super::fmt_time(at), caught.message);
    RunOutcome {
        seed,
        violations: vec![Violation::new(NODE_PANIC, at, records, explanation)],
        liveness: Liveness::Stopped,
        fabric: FabricCounters::default(),
        nemesis: NemesisCounters::default(),
        end: at,
        history_len: history.len(),
        events: history.events(),
        check_times: Vec::new(),
        expectations: Default::default(),
        trace_hash: Some(history.fingerprint()),
        history: options.keep_history.then(|| history.clone()),
        final_state: None,
        panic: Some(caught.message),
        choices: None,
        nodes: Vec::new(),
        coverage: None,
        switches: None,
        drawn: 0,
        work: super::Work::default(),
        plan: None,
    }
}

/// Records network events in the history, naming nodes.
fn net_observer<O: super::history::Observation>(history: History<O>, names: Arc<OnceLock<Vec<Arc<str>>>>) -> super::fabric::Observer {
    Arc::new(move |event: &NetEvent| {
        let names = names.get().expect("nodes are named before any message");
        let name = |idx: NodeId| names[idx.slot()].clone();
        let (id, from, to, kind, what) = match event {
            NetEvent::Sent { id, from, to, kind, text } => (*id, *from, *to, *kind, NetWhat::Sent(text.clone())),
            NetEvent::Duplicated { id, from, to, kind } => (*id, *from, *to, *kind, NetWhat::Duplicated),
            NetEvent::Dropped { id, from, to, kind, reason } => (*id, *from, *to, *kind, NetWhat::Dropped(reason)),
            NetEvent::Delivered { id, from, to, kind } => (*id, *from, *to, *kind, NetWhat::Delivered),
        };
        let on = name(if matches!(what, NetWhat::Delivered) { to } else { from });
        history.push_on(Some(&on), Record::Net { id, from: name(from), to: name(to), kind, what });
    })
}

/// The controller of a run in schedule mode: one option per step, as the walk says,
/// until the walk stops the run. Faults are options only in the fault phase; a crash
/// kills a service instance or an infrastructure node and restarts it at once.
async fn control_schedule<M, O>(gate: Gate, walk: Arc<Mutex<Walk>>, world: Arc<super::world::World<M, O>>)
where
    M: Clone + Send + super::fabric::Describe + 'static,
    O: super::history::Observation,
{
    let nodes = world.with_role(|r| matches!(r, NodeRole::Service | NodeRole::Infrastructure));
    loop {
        gate.something_waits().await;
        super::sleep(STEP).await;
        let waiting = gate.waiting();
        if waiting.is_empty() {
            continue;
        }
        // The nodes that may crash now, only while a fault may be taken.
        let (faults_left, crashable) = {
            let walk = walk.lock().unwrap();
            let faults_left = !world.is_quiet() && walk.faults < walk.max_faults;
            let up = nodes.iter().filter(|n| faults_left && world.fabric.is_up(**n));
            let crashable: Vec<(NodeId, u64)> =
                up.map(|n| (*n, world.fabric.name_key(*n))).filter(|(_, key)| walk.may_crash(*key)).collect();
            (faults_left, crashable)
        };
        let links = waiting.iter().map(|(id, _, _, link)| (*id, *link)).collect();
        let chosen = walk.lock().unwrap().choose(step_options(&waiting, &crashable, faults_left), links, super::now());
        match chosen {
            None => {
                gate.halt();
                return;
            }
            Some(Opt::Release(id)) => gate.answer(id, Go::Run),
            Some(Opt::Drop(id)) => gate.answer(id, Go::Drop),
            Some(Opt::Duplicate(id)) => gate.answer(id, Go::Duplicate),
            Some(Opt::Crash(node)) => {
                world.crash(node);
                world.restart(node);
            }
        }
    }
}

/// A run's settings in schedule mode: no random drop or duplicate, no nemesis, no
/// strategy; the walk's fault budget is the only source of faults.
fn scheduled(sim: SimOptions, options: &RunOptions) -> SimOptions {
    if options.schedule.is_none() {
        return sim;
    }
    let network = NetworkOptions { drop_probability: 0.0, duplicate_probability: 0.0, ..sim.network };
    let nemesis = NemesisConfig { crash_downtime: sim.nemesis.crash_downtime, ..NemesisConfig::default() };
    SimOptions { network, nemesis, strategy: Strategy::Uniform, ..sim }
}

/// The fabric's settings for this seed, after the swarm draw.
fn fabric_config(network: &NetworkOptions, swarm: nemesis::SwarmDraw) -> FabricConfig {
    let spread = (network.delay.1 - network.delay.0).mul_f64(swarm.delay);
    FabricConfig {
        drop_probability: network.drop_probability * swarm.drop,
        duplicate_probability: network.duplicate_probability * swarm.duplicate,
        delay_min: network.delay.0,
        delay_max: network.delay.0 + spread,
        user_delay: network.user_delay,
    }
}

/// How many runs this process has made with planted nondeterminism. Test-only, and on
/// purpose process-wide: it is state that outlives a run and leaks into the next one,
/// which is exactly what `check-determinism` must locate.
static PLANTED_RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A new planted run: store latencies will depend on this number.
fn planted_run() -> u64 {
    PLANTED_RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The decision source of a run, recording or replaying as asked.
fn choices(options: &RunOptions, seed: u64) -> Choices {
    let choices = Choices::new(seed);
    if options.record_choices {
        choices.start_recording();
    }
    if let Some(record) = &options.replay_choices {
        choices.replay(record);
    }
    if options.schedule.is_some() {
        // Schedule mode: every decision but the workload's is its simplest (the schedule
        // is the walk's); the users still do what the seed has them do.
        if options.replay_choices.is_none() {
            choices.replay(&choices::Record::new());
        }
        choices.seed_sites(&[Site::Workload]);
    }
    if let Some(recording) = &options.replay_exactly {
        choices.replay_exactly(recording);
    }
    if !options.branch.is_empty() {
        choices.branch(&options.branch.0.iter().map(|(seed, cut)| (*seed, *cut as u64)).collect::<Vec<_>>());
    }
    choices
}

/// Test-only: a task that panics on a named node at a virtual time.
fn inject_panic<M: Clone + Send + super::fabric::Describe + 'static, O: super::history::Observation>(
    world: &super::world::World<M, O>,
    options: &RunOptions,
) {
    let Some((name, at)) = options.inject_panic.clone() else { return };
    if let Some(idx) = world.with_role(|_| true).into_iter().find(|idx| world.node_name(*idx) == name) {
        world.spawn_on(idx, async move {
            super::sleep(at).await;
            panic!("injected panic in {name}");
        });
    }
}

/// A run as the simulation leaves it, before it is judged (outside the runtime, where
/// the clock is the real one, so judging can be timed).
struct Ran<S: System> {
    outcome: RunOutcome<S>,
    final_state: S::Final,
    quiet_start: Duration,
    sim: SimOptions,
    stop: Option<Violation>,
}

async fn run_world<S: System>(scenario: &S::Scenario, seed: u64, options: RunOptions, history: History<S::Obs>) -> Ran<S> {
    let choices = choices(&options, seed);
    let sim = scheduled(S::options(scenario), &options);
    history.set_event_budget(sim.budget.events);
    let per_run = sim.strategy.per_run(seed);
    let swarm_config = NemesisConfig { swarm: sim.nemesis.swarm || per_run == Strategy::Swarm, ..sim.nemesis.clone() };
    let (nemesis_config, swarm) = nemesis::draw_swarm(&swarm_config, &choices);
    let fabric_config = fabric_config(&sim.network, swarm);
    let names: Arc<OnceLock<Vec<Arc<str>>>> = Arc::default();
    let observer = options.record_messages.then(|| net_observer(history.clone(), names.clone()));
    let gate = options.schedule.clone().map(Gate::new);
    let fabric: Fabric<S::Message> = Fabric::new(fabric_config.clone(), choices.clone(), observer).gated(gate.clone());

    let planted = options.plant_nondeterminism.then(planted_run);
    let pace = super::strategy::pace(per_run, &choices);
    let mut builder = WorldBuilder::new(fabric.clone(), choices.clone(), history.clone(), planted, pace);
    let buggify = builder.buggify.clone();
    let system = S::build(scenario, &mut builder);
    let _ = names.set(fabric.node_names().into_iter().map(Arc::from).collect());
    let world = Arc::new(builder.build());
    let plan = draw_plan(&sim, (per_run, pace), &choices, &world, (nemesis_config, swarm));
    if let Some(priorities) = &plan.priorities {
        fabric.set_priorities(priorities.clone());
    }
    if let Some(sites) = &plan.sites {
        fabric.set_flaky(sites.flaky.clone());
    }
    world.boot().await;
    let controller = match (&gate, &options.schedule) {
        (Some(gate), Some(walk)) => Some(madsim::task::spawn(control_schedule(gate.clone(), walk.clone(), world.clone()))),
        _ => None,
    };
    let workload = world.users.spawn(super::cause::within(choices::key(&"users"), system.clone().workload()));
    inject_panic(&world, &options);

    // The fault phase.
    let (executor, fault_tasks) = execute_plan::<S>(&plan, &world, &buggify, &system, &sim, &choices);
    let quiet_start = std::cell::Cell::new(None);
    let phases = async {
        super::sleep(sim.fault_phase).await;
        // The quiet phase: undo every fault, stop dropping and duplicating, let it drain.
        quiet_start.set(Some(super::now()));
        buggify.disarm();
        executor.quiet();
        fabric.set_config(FabricConfig { drop_probability: 0.0, duplicate_probability: 0.0, ..fabric_config });
        let _ = workload.await;
        super::sleep(sim.quiet_phase).await;
    };
    let stop = until_the_end(phases, gate.as_ref(), &history, &fabric, &sim).await;

    let end = super::now();
    let final_state = system.final_state();
    world.shutdown();
    // The controller waits at the gate forever, on the supervisor's node, which no
    // shutdown kills: left pending it kept each run's world alive (course/payments at
    // one fault grew 2.5 GB in 20 s; with it aborted, 10 MB).
    if let Some(controller) = controller {
        controller.abort();
    }
    for task in fault_tasks {
        task.abort();
    }
    drop(system);
    let liveness = if stop.is_some() { Liveness::Stopped } else { liveness(history.last_progress(), end, sim.settle_window) };
    let nemesis_counters = *executor.counters.lock().unwrap();
    let outcome = outcome_of((seed, liveness, end), &fabric, nemesis_counters, &history, &choices, &options, plan);
    Ran { outcome, final_state, quiet_start: quiet_start.get().unwrap_or(end), sim, stop }
}

/// Runs `phases` to their end, unless the schedule's gate halts the run first or the
/// watchdog stops it (a budget reached: the violation that says so).
async fn until_the_end<M: Clone + Send + super::fabric::Describe + 'static, O: super::history::Observation>(
    phases: impl std::future::Future<Output = ()>,
    gate: Option<&Gate>,
    history: &History<O>,
    fabric: &Fabric<M>,
    sim: &SimOptions,
) -> Option<Violation> {
    let halted = async {
        match gate {
            Some(gate) => gate.halted().await,
            None => futures::future::pending().await,
        }
    };
    let (phases, halted) = (std::pin::pin!(phases), std::pin::pin!(halted));
    let ends = futures::future::select(phases, halted);
    match futures::future::select(ends, std::pin::pin!(watchdog(history, sim.budget))).await {
        futures::future::Either::Left(_) => None,
        futures::future::Either::Right((stop, _)) => Some(stopped(stop, history, fabric.last_send(), sim)),
    }
}

/// What the simulation left of a run, before it is judged.
fn outcome_of<S: System>(
    (seed, liveness, end): (u64, Liveness, Duration),
    fabric: &Fabric<S::Message>,
    nemesis: NemesisCounters,
    history: &History<S::Obs>,
    choices: &Choices,
    options: &RunOptions,
    plan: super::plan::Plan,
) -> RunOutcome<S> {
    RunOutcome {
        seed,
        violations: Vec::new(),
        liveness,
        fabric: fabric.counters(),
        nemesis,
        end,
        history_len: history.len(),
        events: history.events(),
        check_times: Vec::new(),
        expectations: Default::default(),
        trace_hash: None,
        history: None,
        final_state: None,
        panic: None,
        choices: options.record_choices.then(|| choices.take_record()),
        nodes: fabric.node_names(),
        coverage: None,
        switches: None,
        drawn: choices.drawn(),
        work: super::Work::default(),
        plan: Some(plan),
    }
}

/// Starts the plan's faults (and swarm's crashes at fault sites, when armed): the
/// executor that inflicts and undoes them, and its tasks.
#[allow(clippy::type_complexity)]
fn execute_plan<S: System>(
    plan: &super::plan::Plan,
    world: &Arc<super::world::World<S::Message, S::Obs>>,
    buggify: &super::buggify::Buggify,
    system: &Arc<S>,
    sim: &SimOptions,
    choices: &Choices,
) -> (Arc<Executor<S::Message, S::Obs>>, Vec<madsim::task::JoinHandle<()>>) {
    let budget = |sites: &Option<super::plan::AtSites>| {
        sites.as_ref().map(|c| super::buggify::SiteBudget { p: c.probability, left: c.count, calls: c.calls })
    };
    let site_faults = (plan.site_crashes.is_some() || plan.site_pauses.is_some()).then(|| {
        let nodes = plan.may_crash.iter().map(|idx| Arc::from(world.node_name(*idx))).collect();
        let (requests, faults) = futures::channel::mpsc::unbounded();
        buggify.arm(nodes, budget(&plan.site_crashes), budget(&plan.site_pauses), requests);
        faults
    });
    let serving: Option<Arc<dyn Fn(NodeId) -> bool + Send + Sync>> = sim.spare_serving_nodes.then(|| {
        let system = system.clone();
        Arc::new(move |idx| system.serving(idx)) as Arc<dyn Fn(NodeId) -> bool + Send + Sync>
    });
    let executor = Arc::new(Executor { world: world.clone(), serving, counters: Mutex::default() });
    let mut fault_tasks: Vec<_> = plan.faults.iter().map(|fault| madsim::task::spawn(executor.clone().inflict(fault.clone()))).collect();
    // Only when armed: one more task would change how madsim schedules every other run.
    if let Some(requests) = site_faults {
        let lasts = (sim.nemesis.crash_downtime, sim.nemesis.pause_duration);
        fault_tasks.push(madsim::task::spawn(executor.clone().faults_at_sites(requests, lasts, choices.clone())));
    }
    (executor, fault_tasks)
}

/// Everything the run decides before it starts, drawn in one place: the strategy's
/// per-run draws (none for uniform: swarm's fault sites, PCT's priorities; rush's pace,
/// drawn before the system was built, which needed it), whether swarm moves the crashes
/// to fault sites, and the fault schedule.
fn draw_plan<M, O: super::history::Observation>(
    sim: &SimOptions,
    (per_run, pace): (Strategy, u32),
    choices: &Choices,
    world: &super::world::World<M, O>,
    (nemesis_config, swarm): (NemesisConfig, super::nemesis::SwarmDraw),
) -> super::plan::Plan
where
    M: Clone + Send + super::fabric::Describe + 'static,
{
    let nodes = world.fabric.node_names();
    let sites = (per_run == Strategy::Swarm).then(|| super::strategy::draw_sites(&nodes, choices));
    let priorities = match per_run {
        Strategy::Pct { depth } => Some(super::priority::Priorities::draw(&nodes, depth, sim.fault_phase, choices)),
        _ => None,
    };
    let mut instances = world.with_role(|r| r == NodeRole::Service);
    if let Some(sites) = &sites {
        instances.retain(|idx| sites.faulty[idx.slot()]);
    }
    let infrastructure = world.with_role(|r| r == NodeRole::Infrastructure);
    // Swarm: half of the runs move their crashes to a fault site, right after a store
    // write of the instances that may crash (not where crashes must spare user requests).
    let mut nemesis = nemesis_config;
    let mut site_crashes = None;
    if sites.is_some()
        && !sim.spare_serving_nodes
        && nemesis.crashes > 0
        && choices.draw(Site::Buggify, choices::key(&"crashes at fault sites"), 2) == 1
    {
        let probability = [1.0 / 16.0, 1.0 / 64.0, 1.0 / 256.0][choices.pick(Site::Buggify, choices::key(&"fault site probability"), 3)];
        site_crashes = Some(super::plan::AtSites { probability, count: nemesis.crashes, calls: super::plan::SiteCalls::Every });
        nemesis.crashes = 0;
    }
    // Stretch, hold and rush: every pause the scenario allows (whatever a swarm draw left)
    // moves to a fault site (see [`pause_sites`]).
    let mut site_pauses = None;
    if (per_run == Strategy::Stretch || per_run.holds()) && !sim.spare_serving_nodes && sim.nemesis.pauses > 0 {
        site_pauses = Some(pause_sites(per_run, sim.nemesis.pauses, choices));
        nemesis.pauses = 0;
    }
    let faults = nemesis::plan(&nemesis, sim.fault_phase, &instances, &infrastructure, choices);
    super::plan::Plan { swarm, nemesis, sites, priorities, site_crashes, site_pauses, faults, may_crash: instances, pace }
}

/// Where the pauses go, drawn per run. Stretch: right after a store call that only read
/// (in half of the runs any read, in the other half a near miss: a record another
/// handler read just before). Hold: right before a call of the run's kinds (a store and
/// a call name; 1 in 2, 4 or 8 kinds).
fn pause_sites(strategy: Strategy, count: u32, choices: &Choices) -> super::plan::AtSites {
    use super::plan::SiteCalls;
    let (calls, chances): (SiteCalls, &[f64]) = if strategy.holds() {
        let one_in = [2, 4, 8][choices.pick(Site::Buggify, choices::key(&"pause site kinds"), 3)];
        let salt = choices.draw(Site::Buggify, choices::key(&"pause site kinds salt"), u64::MAX);
        (SiteCalls::Kinds { one_in, salt }, &HOLD_CHANCES)
    } else if choices.draw(Site::Buggify, choices::key(&"pauses at near misses"), 2) == 1 {
        (SiteCalls::NearMiss, &STRETCH_NEAR_MISS)
    } else {
        (SiteCalls::Every, &STRETCH_ANY_READ)
    };
    let probability = chances[choices.pick(Site::Buggify, choices::key(&"pause site probability"), chances.len())];
    super::plan::AtSites { probability, count, calls }
}

/// The chances that a site is paused, one drawn per run: the pauses at the first sites,
/// or spread over later ones. Near misses are rarer than reads, and the calls of a run's
/// kinds (hold) rarer still.
const STRETCH_ANY_READ: [f64; 4] = [1.0 / 16.0, 1.0 / 64.0, 1.0 / 256.0, 1.0 / 1024.0];
const STRETCH_NEAR_MISS: [f64; 4] = [1.0 / 2.0, 1.0 / 4.0, 1.0 / 8.0, 1.0 / 16.0];
const HOLD_CHANCES: [f64; 3] = [1.0 / 2.0, 1.0 / 8.0, 1.0 / 32.0];

/// Judges a finished run: its invariants, then the stop finding if the watchdog stopped it.
fn judged<S: System>(scenario: &S::Scenario, ran: Ran<S>, history: &History<S::Obs>, options: &RunOptions) -> RunOutcome<S> {
    let Ran { mut outcome, final_state, quiet_start, sim, stop } = ran;
    // A schedule with an explored fault does not judge the scenario's expectations: they
    // describe its answers without faults (counted as not judged, with this reason).
    let faulted = options.schedule.as_ref().is_some_and(|walk| walk.lock().unwrap().faults > 0);
    let expectations_off = faulted.then_some(EXPECTATIONS_OFF);
    let judged =
        judge::<S>(scenario, history, &final_state, (quiet_start, outcome.end), &sim, (outcome.liveness.judged(), expectations_off));
    let (mut violations, check_times) = (judged.violations, judged.times);
    if options.require_judged && judged.liveness_needed {
        if let Liveness::NotJudged { last_progress, settle_window } = outcome.liveness {
            violations.push(liveness_not_judged(last_progress, settle_window, outcome.end));
        }
    }
    violations.extend(stop);
    outcome.expectations = judged.expectations;
    let sweep_keeps = |seeds: &Arc<super::kept::KeptSeeds>| seeds.keeps(outcome.seed, &violations);
    let failing_shown = !violations.is_empty() && options.hash_if_kept.as_ref().is_none_or(sweep_keeps);
    outcome.trace_hash = (options.hash_trace || options.keep_history || failing_shown).then(|| history.fingerprint());
    outcome.violations = violations;
    outcome.check_times = check_times;
    outcome.history = options.keep_history.then(|| history.clone());
    outcome.final_state = options.keep_history.then_some(final_state);
    if options.coverage {
        let mut reached = Vec::new();
        S::coverage(&history.entries(), &mut reached);
        outcome.coverage = Some(super::strategy::bucketed(reached));
    }
    outcome
}

/// Why a run was stopped before its end.
enum Stop {
    /// It reached its virtual-time limit.
    Time,
    /// It recorded its budget of events.
    Events,
}

/// Resolves when the run reaches its virtual-time limit or has recorded its budget of
/// events.
async fn watchdog<O: super::history::Observation>(history: &History<O>, budget: super::system::Budget) -> Stop {
    let time = super::sleep(budget.virtual_time.saturating_sub(super::now()));
    match futures::future::select(std::pin::pin!(time), std::pin::pin!(history.budget_spent())).await {
        futures::future::Either::Left(_) => Stop::Time,
        futures::future::Either::Right(_) => Stop::Events,
    }
}

/// The finding of a run the watchdog stopped. Stopped at its time limit with nothing
/// happening for a settle window (no message, no event): every task waits for
/// something that never comes, a deadlock. Otherwise it was busy: a runaway.
fn stopped<O: super::history::Observation>(stop: Stop, history: &History<O>, last_send: Duration, sim: &SimOptions) -> Violation {
    let (end, events) = (super::now(), history.events());
    let last = history.last_event().max(last_send);
    match stop {
        Stop::Time if end.saturating_sub(last) >= sim.settle_window => {
            let explanation = format!(
                "the run did not finish by its limit of {}, and nothing happened after {} (no message, no event): every task waits for something that never comes",
                super::fmt_time(sim.budget.virtual_time),
                super::fmt_time(last)
            );
            Violation::new(DEADLOCK, last, vec![], explanation)
        }
        Stop::Time => {
            let limit = super::fmt_time(sim.budget.virtual_time);
            Violation::new(RUNAWAY, end, vec![], format!("the run went past its virtual-time limit of {limit}, still busy, after {events} events (raise [limits] virtual_time to allow more)"))
        }
        Stop::Events => {
            let explanation = format!(
                "the run recorded its budget of {} events by {} (raise [limits] events to allow more)",
                sim.budget.events,
                super::fmt_time(end)
            );
            Violation::new(RUNAWAY, end, vec![], explanation)
        }
    }
}

/// Liveness is judged when nothing made progress for a settle window before the end.
fn liveness(last_progress: Duration, end: Duration, settle_window: Duration) -> Liveness {
    if end.saturating_sub(last_progress) >= settle_window {
        Liveness::Judged
    } else {
        Liveness::NotJudged { last_progress, settle_window }
    }
}

/// The finding of a run that had to judge liveness and could not.
fn liveness_not_judged(last_progress: Duration, settle_window: Duration, end: Duration) -> Violation {
    let explanation = format!(
        "liveness not judged: the system was still working at {} ({} before the end; settling takes {}): lengthen phases.quiet, or declare not_judged = [\"liveness\"] if this scenario does not judge it",
        super::fmt_time(last_progress),
        super::fmt_time(end.saturating_sub(last_progress)),
        super::fmt_time(settle_window)
    );
    Violation::new(LIVENESS_NOT_JUDGED, end, vec![], explanation)
}

/// Why a schedule with an explored fault does not judge the scenario's expectations.
pub const EXPECTATIONS_OFF: &str = "a fault was explored in this schedule: the expectations describe the answers without faults";

/// What judging a run gave: the violations, how long each invariant took (wall clock,
/// for reports only: it decides nothing), the expectations' tally, and whether any
/// liveness invariant applies (so that liveness not judged leaves something unchecked).
pub struct Judged {
    pub violations: Vec<Violation>,
    pub times: Vec<(&'static str, Duration)>,
    pub expectations: super::system::Tally,
    pub liveness_needed: bool,
}

/// The invariants a scenario is judged on: those that apply to it and that it does
/// not declare `not_judged`.
pub fn applicable<S: System>(scenario: &S::Scenario, sim: &SimOptions) -> Vec<&'static super::system::Invariant<S>> {
    S::invariants().iter().filter(|inv| !sim.not_judged.iter().any(|n| n == inv.name) && (inv.applies)(scenario)).collect()
}

/// Runs the invariants that apply to the scenario: safety always, liveness when judged.
pub fn judge<S: System>(
    scenario: &S::Scenario,
    history: &History<S::Obs>,
    final_state: &S::Final,
    (quiet_start, end): (Duration, Duration),
    sim: &SimOptions,
    (liveness_judged, expectations_off): (bool, Option<&str>),
) -> Judged {
    let entries = history.entries();
    let written = Check::<S>::written_in(&entries);
    let unjudged = Check {
        entries: &entries,
        written: &written,
        final_state,
        scenario,
        quiet_start,
        end,
        settle_window: sim.settle_window,
        expectations: &[],
    };
    let mut judgements = S::expectations(&unjudged);
    if let Some(why) = expectations_off {
        for j in judgements.iter_mut() {
            j.verdict = super::system::Verdict::NotJudged(why.to_string());
            j.optional = true;
        }
    }
    let check = Check { expectations: &judgements, ..unjudged };
    let mut violations = Vec::new();
    let mut times = Vec::new();
    let invariants = applicable::<S>(scenario, sim);
    let liveness_needed = invariants.iter().any(|inv| inv.kind == InvariantKind::Liveness);
    for inv in invariants.into_iter().filter(|inv| inv.kind == InvariantKind::Safety || liveness_judged) {
        let started = std::time::Instant::now();
        violations.extend((inv.check)(&check));
        times.push((inv.name, started.elapsed()));
    }
    let expectations = super::system::Tally::of(&judgements);
    Judged { violations, times, expectations, liveness_needed }
}
