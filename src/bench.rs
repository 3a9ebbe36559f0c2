//! `ticketsim bench`: seeds/s, delivered messages/s, simulated seconds per wall second
//! and peak memory for the reference scenarios, beside a bare madsim ping-pong (two
//! nodes, nothing of ours) run in the same process, so our message rate can be read as
//! a ratio that survives a busy machine.

use crate::ticketing::Scenario;
use std::sync::Arc;
use std::time::Instant;

/// The scenarios measured, in this order: shipped ones, built into the binary, so
/// `bench` works from any directory.
pub const REFERENCE_SCENARIOS: &[&str] =
    &["full-system", "walkthrough", "order-race", "out-of-order-updates", "tickets-orders", "accounts", "expiration-payments"];

/// Messages per wall second of a bare madsim `Endpoint` ping-pong between two nodes.
pub fn ping_pong_rate(round_trips: u64) -> f64 {
    let runtime = madsim::runtime::Runtime::with_seed_and_config(1, madsim::Config::default());
    let started = Instant::now();
    runtime.block_on(async move {
        let handle = madsim::runtime::Handle::current();
        let server = handle.create_node().name("pong").ip("10.0.0.1".parse().unwrap()).build();
        let client = handle.create_node().name("ping").ip("10.0.0.2".parse().unwrap()).build();
        server.spawn(async move {
            let ep = madsim::net::Endpoint::bind("10.0.0.1:1").await.unwrap();
            let mut buf = [0u8; 8];
            loop {
                let (_, from) = ep.recv_from(1, &mut buf).await.unwrap();
                ep.send_to(from, 2, &buf).await.unwrap();
            }
        });
        client
            .spawn(async move {
                let ep = madsim::net::Endpoint::bind("10.0.0.2:1").await.unwrap();
                let mut buf = [0u8; 8];
                for i in 0..round_trips {
                    ep.send_to("10.0.0.1:1", 1, &i.to_le_bytes()).await.unwrap();
                    ep.recv_from(2, &mut buf).await.unwrap();
                }
            })
            .await
            .unwrap();
        handle.kill(server.id());
        handle.kill(client.id());
    });
    (2 * round_trips) as f64 / started.elapsed().as_secs_f64()
}

/// Messages per wall second of the same ping-pong through the harness's own network,
/// with nothing of any app: the fabric's keyed delay decision over madsim's default 1
/// to 10 ms (no drops or duplicates, so none drawn), the delay's timer set at the send
/// and a task that runs the handler when it fires, the cause set around the handler.
/// What a message costs our network alone, against madsim's; the time includes making
/// each rally's runtime. Played as rallies of at most [`RALLY`] messages, each a run of
/// its own: a run's decision source remembers every key it drew, so one long run would
/// measure a memory that grows, where a scenario's seed is a few thousand messages.
pub fn fabric_ping_pong_rate(round_trips: u64) -> f64 {
    let started = Instant::now();
    let (mut left, mut delivered) = (2 * round_trips, 0);
    while left > 0 {
        let crossings = left.min(RALLY);
        delivered += rally(crossings).0;
        left -= crossings;
    }
    delivered as f64 / started.elapsed().as_secs_f64()
}

/// The messages of one rally of the fabric's ping-pong.
pub const RALLY: u64 = 10_000;

/// A ball hit back and forth between two nodes on a fabric, in a runtime of its own,
/// until it has crossed `crossings` times: the messages the fabric delivered, and the
/// virtual time it took.
fn rally(crossings: u64) -> (u64, std::time::Duration) {
    let runtime = madsim::runtime::Runtime::with_seed_and_config(1, madsim::Config::default());
    runtime.block_on(async move {
        crate::harness::keep_clock(Some(madsim::time::TimeHandle::current()));
        let delivered = play(crossings).await;
        let end = crate::harness::now();
        crate::harness::keep_clock(None);
        (delivered, end)
    })
}

async fn play(crossings: u64) -> u64 {
    use crate::harness::fabric::{Fabric, FabricConfig};
    let config = FabricConfig {
        drop_probability: 0.0,
        duplicate_probability: 0.0,
        delay_min: std::time::Duration::from_millis(1),
        delay_max: std::time::Duration::from_millis(10),
        user_delay: None,
    };
    let fabric = Fabric::new(config, crate::harness::choices::Choices::new(1), None);
    let handle = madsim::runtime::Handle::current();
    let (tx, over) = futures::channel::oneshot::channel();
    let done = Arc::new(std::sync::Mutex::new(Some(tx)));
    let (ping, pong) = (fabric.add_node("ping", false), fabric.add_node("pong", false));
    for (idx, name) in [(ping, "ping"), (pong, "pong")] {
        let player = Arc::new(Player { fabric: fabric.clone(), me: idx, crossings, done: done.clone() });
        fabric.attach(idx, handle.create_node().name(name).build(), player);
    }
    fabric.send(ping, pong, Ball(1));
    let _ = over.await;
    let delivered = fabric.counters().delivered;
    fabric.shutdown();
    delivered
}

#[derive(Clone)]
struct Ball(u64);

impl crate::harness::fabric::Describe for Ball {
    fn kind(&self) -> &'static str {
        "ball"
    }
    fn describe(&self) -> String {
        format!("ball {}", self.0)
    }
}

struct Player {
    fabric: crate::harness::fabric::Fabric<Ball>,
    me: crate::harness::NodeId,
    crossings: u64,
    /// Told when the last crossing arrives.
    done: Arc<std::sync::Mutex<Option<futures::channel::oneshot::Sender<()>>>>,
}

impl crate::harness::fabric::Actor<Ball> for Player {
    fn receive(self: Arc<Self>, from: crate::harness::NodeId, ball: Ball) -> crate::harness::BoxFuture {
        if ball.0 < self.crossings {
            self.fabric.send(self.me, from, Ball(ball.0 + 1));
        } else if let Some(done) = self.done.lock().unwrap().take() {
            let _ = done.send(());
        }
        crate::harness::fabric::handled()
    }
}

/// Wall nanoseconds of one bare madsim sleep (its timer, and the executor step that
/// wakes the task): a loop of `sleeps` 1 ms sleeps on one node.
pub fn sleep_cost_ns(sleeps: u64) -> f64 {
    bare_cost_ns(sleeps, async move {
        for _ in 0..sleeps {
            madsim::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    })
}

/// Nanoseconds a bare madsim executor step takes: one task on one node that wakes
/// itself and yields, `steps` times (each time madsim picks it from its ready queue,
/// polls it and moves its clock on), nothing of ours.
pub fn step_cost_ns(steps: u64) -> f64 {
    let mut left = steps;
    bare_cost_ns(
        steps,
        std::future::poll_fn(move |cx| {
            left = left.saturating_sub(1);
            if left == 0 {
                return std::task::Poll::Ready(());
            }
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }),
    )
}

/// Wall nanoseconds per iteration of `work` (`iterations` of them), run as the one task
/// of one node of a bare madsim runtime, nothing of ours.
fn bare_cost_ns(iterations: u64, work: impl std::future::Future<Output = ()> + Send + 'static) -> f64 {
    let runtime = madsim::runtime::Runtime::with_seed_and_config(1, madsim::Config::default());
    let started = Instant::now();
    runtime.block_on(async move {
        let node = madsim::runtime::Handle::current().create_node().name("bare").build();
        node.spawn(work).await.unwrap();
    });
    started.elapsed().as_nanos() as f64 / iterations as f64
}

/// Peak resident memory of this process, in MiB (Linux `VmHWM`).
pub fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

pub struct ScenarioFigures {
    pub name: String,
    pub seeds_per_second: f64,
    pub messages_per_second: f64,
    pub simulated_per_wall: f64,
    pub messages_per_seed: f64,
    /// Sleeps started per delivered message (the ping-pong's: one).
    pub timers_per_message: f64,
    /// madsim executor steps that polled our tasks, per delivered message (at least:
    /// the fault tasks' and the run's own are not counted).
    pub steps_per_message: f64,
    /// Timers madsim set for the sleeps started, per delivered message: one each time a
    /// sleep was polled and found pending.
    pub timers_set_per_message: f64,
}

/// Sweeps `seeds` seeds of a scenario on one job, as `explore --jobs 1` does (a worker
/// thread runs them, this one records them), and measures them.
pub fn measure(scenario: &Scenario, seeds: u64) -> ScenarioFigures {
    let started = Instant::now();
    let options = crate::harness::explore::ExploreOptions { jobs: 1, ..crate::harness::explore::ExploreOptions::new(0..seeds) };
    let summary = crate::explore(scenario, &options);
    let (delivered, simulated, work) = (summary.fabric.delivered, summary.virtual_time.as_secs_f64(), summary.work);
    let wall = started.elapsed().as_secs_f64();
    ScenarioFigures {
        name: scenario.name.clone(),
        seeds_per_second: seeds as f64 / wall,
        messages_per_second: delivered as f64 / wall,
        simulated_per_wall: simulated / wall,
        messages_per_seed: delivered as f64 / seeds as f64,
        timers_per_message: work.timers as f64 / delivered.max(1) as f64,
        steps_per_message: work.steps as f64 / delivered.max(1) as f64,
        timers_set_per_message: work.timers_set as f64 / delivered.max(1) as f64,
    }
}

/// What the bench is for (issue "Faster per message than madsim's own network"): the
/// ratio full-system must reach, its stretch, what every scenario must reach, and the
/// share of N jobs' ideal speed-up a sweep must keep.
pub const GOAL_FULL_SYSTEM: f64 = 1.0;
pub const STRETCH_FULL_SYSTEM: f64 = 2.0;
pub const GOAL_EVERY_SCENARIO: f64 = 0.9;
pub const GOAL_SCALING: f64 = 0.95;

/// The ratio a scenario must reach.
fn goal_of(name: &str) -> f64 {
    if name == "full-system" {
        GOAL_FULL_SYSTEM
    } else {
        GOAL_EVERY_SCENARIO
    }
}

/// Round trips of the ping-pong run again after each scenario (about 0.2 s).
const BETWEEN_ROUND_TRIPS: u64 = 100_000;

/// The cargo profile this binary was built with (see build.rs).
pub const PROFILE: &str = env!("TICKETSIM_PROFILE");

/// The profile the README installs, whose figures docs/performance.md records.
pub const INSTALLED_PROFILE: &str = "dist";

/// The allocator this binary allocates through: mimalloc with the default feature
/// `mimalloc` (src/main.rs), else the C library's.
pub const ALLOCATOR: &str = if cfg!(feature = "mimalloc") { "mimalloc" } else { "the C library's" };

pub fn run(seeds: u64, jobs: usize) -> Result<(), String> {
    if PROFILE == INSTALLED_PROFILE {
        outln!("built with cargo profile {PROFILE} (what the README installs)");
    } else {
        outln!("built with cargo profile {PROFILE}; the README installs profile {INSTALLED_PROFILE} (the whole program optimized as one unit), which docs/performance.md measures");
    }
    outln!("allocator: {ALLOCATOR} (docs/performance.md measures mimalloc, the default feature)");
    let baseline = ping_pong_rate(200_000);
    let sleep_ns = sleep_cost_ns(400_000);
    let step_ns = step_cost_ns(400_000);
    let ours = fabric_ping_pong_rate(200_000);
    outln!("bare madsim ping-pong: {baseline:.0} messages/s (one thread); a bare madsim sleep: {sleep_ns:.0} ns, a bare executor step: {step_ns:.0} ns");
    outln!(
        "the same ping-pong on our network (the fabric, no app): {ours:.0} messages/s, {:.2}x madsim's ({:.0} ns a message against {:.0})",
        ours / baseline,
        1e9 / ours,
        1e9 / baseline
    );
    outln!(
        "goal: full-system at least {GOAL_FULL_SYSTEM:.1}x the ping-pong's messages/s ({STRETCH_FULL_SYSTEM:.0}x the stretch), every other scenario at least {GOAL_EVERY_SCENARIO:.1}x; N jobs at least {GOAL_SCALING:.2} x N times one job's seeds/s"
    );
    let mut short = Vec::new();
    scenarios(seeds, (baseline, sleep_ns, step_ns), &mut short)?;
    scaling(seeds, jobs, &mut short)?;
    detection()?;
    if let Some(mib) = peak_memory_mib() {
        outln!("peak memory: {mib:.1} MiB");
    }
    outln!("(ratio = our delivered messages/s over the bare ping-pong's, the faster of those run in this run just before and after the scenario; above 1, a message costs less here than on madsim's own network; timers/msg = sleeps started per delivered message: the delivery's delay and the app's own clocks; set/msg = the madsim timers those sleeps set, one each time a sleep is found pending; steps/msg = madsim executor steps that polled our tasks per delivered message; madsim only = the ratio if a message cost only madsim's own work, its steps and the timers its sleeps set at the bare prices above: in practice an upper bound, as in a scenario that work costs more than in a bare loop)");
    if short.is_empty() {
        outln!("every goal met");
    } else {
        outln!("goal not reached: {}", short.join(", "));
    }
    Ok(())
}

/// The reference scenarios' table, each against the ping-pong run next to it (the
/// first against `baseline` too), and what a full-system message costs; the scenarios
/// short of their goal go to `short`.
fn scenarios(seeds: u64, (baseline, sleep_ns, step_ns): (f64, f64, f64), short: &mut Vec<String>) -> Result<(), String> {
    outln!(
        "{:<24} {:>8} {:>11} {:>10} {:>13} {:>11} {:>8} {:>10} {:>12} {:>7}  goal",
        "scenario",
        "seeds/s",
        "messages/s",
        "msgs/seed",
        "sim s/wall s",
        "timers/msg",
        "set/msg",
        "steps/msg",
        "madsim only",
        "ratio"
    );
    let mut full_system = None;
    // Each scenario against the faster of the ping-pongs run just before and just after
    // it: a busy moment of the machine slows a run, so it can lower a ratio (slowing
    // the scenario) but not raise it (slowing one ping-pong), and one slow ping-pong
    // at the start no longer raises every ratio.
    let (mut before, mut between) = (baseline, Vec::new());
    for name in REFERENCE_SCENARIOS {
        let scenario = Scenario::shipped(name).map_err(|e| e.to_string())?;
        let f = measure(&scenario, seeds);
        let after = ping_pong_rate(BETWEEN_ROUND_TRIPS);
        between.push(after);
        let ping_pong = before.max(after);
        before = after;
        let ratio = f.messages_per_second / ping_pong;
        let goal = goal_of(name);
        if ratio < goal {
            short.push(format!("{name} {ratio:.2}x (goal {goal:.1}x)"));
        }
        outln!(
            "{:<24} {:>8.0} {:>11.0} {:>10.0} {:>13.0} {:>11.2} {:>8.2} {:>10.2} {:>12.2} {:>7.2}  {}",
            f.name,
            f.seeds_per_second,
            f.messages_per_second,
            f.messages_per_seed,
            f.simulated_per_wall,
            f.timers_per_message,
            f.timers_set_per_message,
            f.steps_per_message,
            1e9 / ping_pong / madsim_ns(&f, sleep_ns, step_ns),
            ratio,
            if ratio >= goal { format!("met ({goal:.1}x)") } else { format!("not yet ({goal:.1}x)") }
        );
        if *name == "full-system" {
            full_system = Some((f, ping_pong));
        }
    }
    let (low, high) = between.iter().fold((f64::INFINITY, 0.0_f64), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
    outln!("the ping-pong again after each scenario: {low:.0} to {high:.0} messages/s (each ratio divides by the faster of the runs just before and after it)");
    if let Some((f, ping_pong)) = full_system {
        let (per_message, madsim) = (1e9 / f.messages_per_second, madsim_ns(&f, sleep_ns, step_ns));
        outln!(
            "full-system: {per_message:.0} ns a message, of which madsim's own work at its bare cost ({:.2} steps and the {:.2} timers its sleeps set) is {madsim:.0} ns and the rest {:.0} ns; the ping-pong's whole message: {:.0} ns",
            f.steps_per_message,
            f.timers_set_per_message,
            per_message - madsim,
            1e9 / ping_pong
        );
    }
    Ok(())
}

/// What madsim's own work for one of the scenario's messages costs at the bare prices
/// measured in the same run: its steps at a bare step's, and the timers its sleeps set
/// at what a bare sleep (one timer) costs beyond its step.
fn madsim_ns(f: &ScenarioFigures, sleep_ns: f64, step_ns: f64) -> f64 {
    f.steps_per_message * step_ns + f.timers_set_per_message * (sleep_ns - step_ns).max(0.0)
}

/// How many times `bench` sweeps on one job and on `jobs`, alternately: a sweep of the
/// default 200 seeds a thread takes about a second, which one busy moment of the machine
/// can skew, so each rate is the median of its sweeps.
pub const SCALING_ROUNDS: usize = 3;

/// Hardened full-system swept on one thread, then on `jobs` (as many seeds per
/// thread), [`SCALING_ROUNDS`] times alternately: seeds/s, per core, and the speed-up
/// of the medians (hardened: no failing seed, so no triage reruns, and both sweeps do
/// the same work per seed).
fn scaling(seeds: u64, jobs: usize, short: &mut Vec<String>) -> Result<(), String> {
    let scenario = Scenario::shipped("full-system").map_err(|e| e.to_string())?.hardened_with(&[]);
    let sweep = |threads: usize| {
        let count = seeds * threads as u64;
        let options = crate::harness::explore::ExploreOptions { jobs: threads, ..crate::harness::explore::ExploreOptions::new(0..count) };
        let started = Instant::now();
        crate::explore(&scenario, &options);
        count as f64 / started.elapsed().as_secs_f64()
    };
    let (mut ones, mut rates) = (Vec::new(), Vec::new());
    for _ in 0..SCALING_ROUNDS {
        ones.push(sweep(1));
        rates.push(sweep(jobs));
    }
    let (one_job, rate) = (median(&mut ones), median(&mut rates));
    let speedup = rate / one_job;
    outln!(
        "hardened full-system swept on {jobs} jobs: {rate:.0} seeds/s, {:.0} seeds/s per core, {speedup:.3}x one job's {one_job:.0} (medians of {SCALING_ROUNDS} sweeps each, alternately; goal at least {:.2}x)",
        rate / jobs as f64,
        GOAL_SCALING * jobs as f64
    );
    if jobs > 1 && speedup < GOAL_SCALING * jobs as f64 {
        short.push(format!("{jobs} jobs {speedup:.3}x one job (goal {:.2}x)", GOAL_SCALING * jobs as f64));
    }
    Ok(())
}

/// The middle value (the upper middle of an even count).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Seeds to first detection of the catalogue's flaws: all of the catalogue that applies
/// to a scenario's own broker, each in its target with only it on, from seed 0, on one
/// thread, and how long that took.
pub const DETECTION_BUDGET: u64 = 1000;

fn detection() -> Result<(), String> {
    use crate::ticketing::flaws::CATALOGUE;
    outln!("time to first detection (each catalogue flaw in its target scenario, hardened with only it on, from seed 0, one thread):");
    let (mut total, mut missed) = (0.0, Vec::new());
    let mut cells = Vec::new();
    for info in CATALOGUE {
        let scenario = Scenario::shipped(info.target).map_err(|e| e.to_string())?.hardened_with(&[info.name]);
        let started = Instant::now();
        let found = crate::ticketing::selftest::first_detection(&scenario, 0, DETECTION_BUDGET, info.caught_by, 1);
        let wall = started.elapsed().as_secs_f64();
        total += wall;
        match found {
            Some((seed, _)) => {
                let n = seed + 1;
                cells.push(format!("{} {n} seed{} {:.0} ms", info.name, if n == 1 { "" } else { "s" }, wall * 1000.0))
            }
            None => {
                missed.push(info.name);
                cells.push(format!("{} not in {DETECTION_BUDGET} seeds", info.name));
            }
        }
    }
    for row in cells.chunks(3) {
        outln!("  {}", row.iter().map(|c| format!("{c:<44}")).collect::<String>().trim_end());
    }
    outln!(
        "  all {} flaws: {total:.2} s{}",
        CATALOGUE.len(),
        if missed.is_empty() { String::new() } else { format!("; missed: {}", missed.join(", ")) }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_delivered_message_slept_its_delay() {
        let scenario = crate::ticketing::Scenario::shipped("order-race").unwrap();
        let f = super::measure(&scenario, 2);
        // Outside schedule mode each delivery waits its delay, so at least one sleep a
        // message; the app's own clocks (heartbeats, polls, store latencies) add more.
        assert!(f.timers_per_message > 1.0 && f.timers_per_message < 10.0, "{}", f.timers_per_message);
        // And each delivery takes a step (its task handles it when its timer fires), and
        // the nodes' own tasks more.
        assert!(f.steps_per_message > 1.0 && f.steps_per_message < 10.0, "{}", f.steps_per_message);
        // A sleep sets a timer each time it is found pending: at least once, unless it was
        // never found pending (never polled, as a deadline that ends a run).
        assert!(f.timers_set_per_message >= f.timers_per_message * 0.9, "{} {}", f.timers_set_per_message, f.timers_per_message);
        assert!(super::sleep_cost_ns(1_000) > 0.0 && super::step_cost_ns(1_000) > 0.0);
    }

    #[test]
    fn the_median_is_the_middle_rate_whatever_the_order() {
        assert_eq!(super::median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(super::median(&mut [5.0]), 5.0);
        assert_eq!(super::median(&mut [9.0, 1.0, 8.0, 7.0, 2.0]), 7.0);
    }

    #[test]
    fn the_fabric_rally_delivers_every_crossing_and_stops() {
        let (steps, set) = (crate::harness::steps_taken(), crate::harness::timers_set());
        let (delivered, end) = super::rally(500);
        // 500 messages, each slept 1 to 10 ms on the way.
        assert_eq!(delivered, 500);
        // One executor step each, counted: the delivery's timer is set at the send, and
        // when it fires a task runs the handler.
        assert_eq!(crate::harness::steps_taken() - steps, 500);
        // And each delivery's sleep is found pending once, at the send, so madsim set one
        // timer for it.
        assert_eq!(crate::harness::timers_set() - set, 500);
        assert!(end >= std::time::Duration::from_millis(500) && end <= std::time::Duration::from_millis(5_000), "{end:?}");
        assert!(super::fabric_ping_pong_rate(100) > 0.0);
    }
}
