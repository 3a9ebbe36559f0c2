//! Exhaustive exploration within bounds: every schedule of a small scenario, in schedule
//! mode ([`super::schedule`]), by stateless depth-first search (each schedule is a fresh
//! run that replays a prefix of choices and then goes its own way, as Shuttle's
//! `check_dfs` and loom do). Fault levels are explored in order (no fault, then up to
//! one, ...), so a counterexample found has the fewest faults; it is then made simpler
//! pick by pick (a reordering undone is kept when the bug stays).
//!
//! Reductions, when on: sleep sets (Godefroid): a delivery or a store call that commutes
//! with the step taken stays asleep, so of equivalent schedules (the same order of
//! steps on every node and every store) one is run; and state fingerprints: a state
//! (what touched each node and store, in order, what waits, the faults, the time)
//! reached again with no fewer options asleep is not explored again.

use super::run::{run_seed, RunOptions, RunOutcome};
use super::schedule::{independent, Cut, Footprint, Opt, Visited, Walk};
use super::system::System;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the exploration may do.
#[derive(Clone, Debug)]
pub struct Bounds {
    /// Faults (drops, duplicates, crashes) per schedule.
    pub max_faults: u32,
    /// Runs in all (complete schedules and cut ones).
    pub max_runs: u64,
    /// Wall-clock time (only how far the search goes depends on it, never a verdict).
    pub time_limit: Option<Duration>,
    /// Sleep sets and state fingerprints (off under a reordering bound, whose schedules
    /// an equivalent one beyond the bound could otherwise stand for).
    pub reduce: bool,
    /// At most this many steps per schedule that do not take the oldest waiting action
    /// (as CHESS bounds preemptions): explored 0, 1, ... up to it, so the fewest come first.
    pub max_reorderings: Option<u32>,
    /// The seed every run is: the workload's and handlers' decisions, madsim's ties.
    pub seed: u64,
}

/// A schedule that violates an invariant: its picks (trailing first options left out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counterexample {
    pub picks: Vec<usize>,
    pub faults: u32,
    pub max_faults: u32,
    /// Steps where it did not take the oldest waiting action.
    pub reorderings: usize,
    pub steps: usize,
    pub invariant: String,
    pub fingerprint: String,
}

/// What one fault level explored.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Level {
    pub max_faults: u32,
    /// The reordering bound of this level (None: every order).
    pub max_reorderings: Option<u32>,
    /// Runs made.
    pub runs: u64,
    /// Complete schedules judged.
    pub schedules: u64,
    /// Runs cut because every option left was asleep (equivalent to one explored).
    pub asleep: u64,
    /// Runs cut at a state explored before.
    pub revisited: u64,
    /// Distinct states reached (fingerprints kept; 0 with reductions off).
    pub states: u64,
    /// The most steps a schedule took.
    pub depth: usize,
    /// Complete schedules whose liveness (or an expectation) could not be judged.
    pub not_judged: u64,
    /// Runs stopped at their step limit (not judged, not complete).
    pub too_long: u64,
    /// Every schedule within the level's bounds was explored.
    pub complete: bool,
}

/// The whole exploration.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub levels: Vec<Level>,
    pub counterexample: Option<Counterexample>,
    /// Why it stopped early: a budget ran out, or a run was not deterministic.
    pub stopped: Option<String>,
    pub elapsed: Duration,
}

impl Summary {
    pub fn schedules(&self) -> u64 {
        self.levels.iter().map(|l| l.schedules).sum()
    }
    pub fn runs(&self) -> u64 {
        self.levels.iter().map(|l| l.runs).sum()
    }
    /// Everything within the bounds was explored and judged, and nothing was violated.
    pub fn proved(&self, max_faults: u32) -> bool {
        self.counterexample.is_none()
            && self.stopped.is_none()
            && self.levels.iter().any(|l| l.max_faults == max_faults && l.complete && l.not_judged == 0 && l.too_long == 0)
    }
}

/// One choice point on the search stack.
struct Frame {
    options: Vec<(Opt, Footprint)>,
    sleep: BTreeSet<Opt>,
    done: BTreeSet<Opt>,
    chosen: Option<usize>,
    faults: u32,
}

/// One schedule run: the walk as the run left it, and its outcome.
fn run_walk<S: System>(scenario: &S::Scenario, bounds: &Bounds, walk: Walk) -> (Walk, RunOutcome<S>) {
    let walk = Arc::new(Mutex::new(walk));
    let options = RunOptions { schedule: Some(walk.clone()), ..Default::default() };
    let outcome = run_seed::<S>(scenario, bounds.seed, &options);
    let walk = std::mem::take(&mut *walk.lock().unwrap());
    (walk, outcome)
}

/// The run's picks, trailing first options left out.
fn picks(walk: &Walk) -> Vec<usize> {
    let mut picks: Vec<usize> = walk.steps.iter().map(|s| s.chosen.unwrap_or(0)).collect();
    while picks.last() == Some(&0) {
        picks.pop();
    }
    picks
}

/// The replay walk of a counterexample (or a reproduction file's schedule).
pub fn replay_walk(max_faults: u32, picks: Vec<usize>) -> Walk {
    Walk { reduce: false, ..Walk::new(max_faults, picks, BTreeSet::new()) }
}

fn counterexample<S: System>(walk: &Walk, outcome: &RunOutcome<S>, max_faults: u32) -> Counterexample {
    let v = &outcome.violations[0];
    let picks = picks(walk);
    Counterexample {
        reorderings: walk.steps.iter().filter(|s| s.chosen.is_some_and(|c| c > 0 && !s.options[c].0.is_fault())).count(),
        faults: walk.steps.iter().filter(|s| s.chosen.is_some_and(|c| s.options[c].0.is_fault())).count() as u32,
        steps: walk.steps.len(),
        picks,
        max_faults,
        invariant: v.invariant.to_string(),
        fingerprint: v.fingerprint(),
    }
}

/// Explores every schedule with at most `bounds.max_faults` faults, level by level.
pub fn explore<S: System>(scenario: &S::Scenario, bounds: &Bounds) -> Summary {
    let started = Instant::now();
    let mut summary = Summary::default();
    let reorderings: Vec<Option<u32>> = match bounds.max_reorderings {
        Some(k) => (0..=k).map(Some).collect(),
        None => vec![None],
    };
    'levels: for max_faults in 0..=bounds.max_faults {
        for &max_reorderings in &reorderings {
            let bounds = Bounds { reduce: bounds.reduce && max_reorderings.is_none(), max_reorderings, ..bounds.clone() };
            let level = explore_level::<S>(scenario, &bounds, max_faults, started, &mut summary);
            summary.levels.push(level);
            if summary.counterexample.is_some() || summary.stopped.is_some() {
                break 'levels;
            }
        }
    }
    if let Some(found) = summary.counterexample.take() {
        summary.counterexample = Some(simplify::<S>(scenario, bounds, found));
    }
    summary.elapsed = started.elapsed();
    summary
}

/// One fault level's depth-first search over real runs.
fn explore_level<S: System>(scenario: &S::Scenario, bounds: &Bounds, max_faults: u32, started: Instant, summary: &mut Summary) -> Level {
    search(bounds, max_faults, started, summary, &mut |walk| {
        let (walk, outcome) = run_walk::<S>(scenario, bounds, walk);
        let verdict = match outcome.failed() {
            true => Verdict::Failed(counterexample(&walk, &outcome, max_faults)),
            false => Verdict::Passed { judged: outcome.liveness.judged() && outcome.expectations.not_judged == 0 },
        };
        (walk, verdict)
    })
}

/// What a complete schedule showed.
pub enum Verdict {
    Passed { judged: bool },
    Failed(Counterexample),
}

/// The depth-first search of one fault level, over whatever `run` runs: each call gets
/// a walk (a prefix and its sleep set) and gives it back as the run left it.
pub fn search(
    bounds: &Bounds,
    max_faults: u32,
    started: Instant,
    summary: &mut Summary,
    run: &mut dyn FnMut(Walk) -> (Walk, Verdict),
) -> Level {
    let visited: Visited = Arc::default();
    let mut level = Level { max_faults, max_reorderings: bounds.max_reorderings, ..Default::default() };
    let mut stack: Vec<Frame> = Vec::new();
    let (mut forced, mut sleep) = (Vec::new(), BTreeSet::new());
    loop {
        if let Some(reason) = spent(bounds, summary.runs() + level.runs, started) {
            summary.stopped = Some(reason);
            break;
        }
        let walk =
            Walk { reduce: bounds.reduce, visited: bounds.reduce.then(|| visited.clone()), ..Walk::new(max_faults, forced.clone(), sleep) };
        let (walk, verdict) = run(walk);
        level.runs += 1;
        level.depth = level.depth.max(walk.steps.len());
        match (walk.cut, verdict) {
            (None, Verdict::Failed(found)) => {
                summary.counterexample = Some(found);
                break;
            }
            (None, Verdict::Passed { judged }) => {
                level.schedules += 1;
                level.not_judged += !judged as u64;
            }
            (Some(Cut::Asleep), _) => level.asleep += 1,
            (Some(Cut::Visited), _) => level.revisited += 1,
            (Some(Cut::TooLong), _) => level.too_long += 1,
            (Some(Cut::Diverged), _) => {
                summary.stopped = Some(format!(
                    "run {} did not take the steps its prefix recorded: the scenario is not deterministic in schedule mode",
                    level.runs
                ));
                break;
            }
        }
        let first_new = forced.len();
        stack.extend(walk.steps.into_iter().skip(first_new).map(|s| Frame {
            done: s.chosen.map(|c| s.options[c].0).into_iter().collect(),
            sleep: s.sleep.into_iter().collect(),
            options: s.options,
            chosen: s.chosen,
            faults: s.faults,
        }));
        match backtrack(&mut stack, (max_faults, bounds.max_reorderings), bounds.reduce) {
            Some((next_forced, next_sleep)) => (forced, sleep) = (next_forced, next_sleep),
            None => {
                level.complete = true;
                break;
            }
        }
    }
    level.states = visited.lock().unwrap().len() as u64;
    level
}

/// Why the search must stop now, if it must.
fn spent(bounds: &Bounds, runs: u64, started: Instant) -> Option<String> {
    if runs >= bounds.max_runs {
        return Some(format!("the budget of {} runs was spent", bounds.max_runs));
    }
    if super::interrupt::stop_requested() {
        return Some("interrupted".into());
    }
    bounds
        .time_limit
        .filter(|limit| started.elapsed() >= *limit)
        .map(|limit| format!("the time limit of {} was reached", super::duration::fmt_duration(limit)))
}

/// The next schedule to run: the deepest choice point with an option not yet tried and
/// not asleep; its prefix and the sleep set after it. None: everything was explored.
fn backtrack(
    stack: &mut Vec<Frame>,
    (max_faults, max_reorderings): (u32, Option<u32>),
    reduce: bool,
) -> Option<(Vec<usize>, BTreeSet<Opt>)> {
    loop {
        let below = stack.len().checked_sub(1)?;
        let reordered = stack[..below].iter().filter(|f| f.chosen.is_some_and(|c| c > 0 && !f.options[c].0.is_fault())).count() as u32;
        let frame = stack.last_mut()?;
        let allowed = |i: usize, o: &Opt| match o.is_fault() {
            true => frame.faults < max_faults,
            false => i == 0 || max_reorderings.is_none_or(|k| reordered < k),
        };
        let next =
            frame.options.iter().enumerate().position(|(i, (o, _))| !frame.done.contains(o) && !frame.sleep.contains(o) && allowed(i, o));
        let Some(i) = next else {
            stack.pop();
            continue;
        };
        let (taken, footprint) = frame.options[i];
        frame.done.insert(taken);
        frame.chosen = Some(i);
        let sleep = if taken.is_fault() || !reduce {
            BTreeSet::new()
        } else {
            let footprints: std::collections::BTreeMap<Opt, Footprint> = frame.options.iter().copied().collect();
            frame
                .sleep
                .iter()
                .chain(frame.done.iter())
                .filter(|z| !z.is_fault() && **z != taken && footprints.get(z).is_some_and(|f| independent(*f, footprint)))
                .copied()
                .collect()
        };
        let forced = stack.iter().map(|f| f.chosen.expect("every frame below the top was taken")).collect();
        return Some((forced, sleep));
    }
}

/// Undoes the counterexample's reorderings and faults one at a time, from the last,
/// keeping each change under which the same bug (invariant) still shows.
fn simplify<S: System>(scenario: &S::Scenario, bounds: &Bounds, found: Counterexample) -> Counterexample {
    let mut best = found;
    let mut i = best.picks.len();
    while i > 0 {
        i -= 1;
        if best.picks.get(i).is_none_or(|p| *p == 0) {
            continue;
        }
        let mut picks = best.picks.clone();
        picks[i] = 0;
        let (walk, outcome) = run_walk::<S>(scenario, bounds, replay_walk(best.max_faults, picks));
        if walk.cut.is_none() && outcome.violations.iter().any(|v| v.invariant == best.invariant) {
            let mut simpler = counterexample(&walk, &outcome, best.max_faults);
            if let Some(v) = outcome.violations.iter().find(|v| v.invariant == best.invariant) {
                simpler.fingerprint = v.fingerprint();
            }
            simpler.invariant = best.invariant.clone();
            best = simpler;
            i = i.min(best.picks.len());
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model with no madsim: `actions` (id, node) wait from the start; each step takes
    /// one; the run passes unless `bad` says the order taken is a bug.
    fn model(actions: &[(u64, u64)], reduce: bool, bad: &dyn Fn(&[u64]) -> bool) -> Summary {
        let bounds = Bounds { max_faults: 0, max_runs: 100_000, time_limit: None, reduce, seed: 0, max_reorderings: None };
        let mut summary = Summary::default();
        let level = search(&bounds, 0, Instant::now(), &mut summary, &mut |mut walk| {
            let mut left = actions.to_vec();
            let mut taken = Vec::new();
            while !left.is_empty() {
                let options: Vec<_> = left.iter().map(|(id, node)| (Opt::Release(*id), (*node, 0))).collect();
                let Some(Opt::Release(id)) = walk.choose(options, Duration::ZERO) else { break };
                left.retain(|(a, _)| *a != id);
                taken.push(id);
            }
            let failed = walk.cut.is_none() && bad(&taken);
            let found = Counterexample {
                picks: Vec::new(),
                faults: 0,
                max_faults: 0,
                reorderings: 0,
                steps: taken.len(),
                invariant: "order".into(),
                fingerprint: format!("{taken:?}"),
            };
            (walk, if failed { Verdict::Failed(found) } else { Verdict::Passed { judged: true } })
        });
        summary.levels.push(level);
        summary
    }

    #[test]
    fn every_order_of_dependent_steps_is_run_and_one_of_independent_ones() {
        let never = |_: &[u64]| false;
        let dependent = model(&[(1, 7), (2, 7), (3, 7)], true, &never);
        assert_eq!((dependent.schedules(), dependent.levels[0].complete), (6, true), "3 steps on one node: 3! orders");
        let independent = model(&[(1, 7), (2, 8), (3, 9)], true, &never);
        assert_eq!(independent.schedules(), 1, "3 nodes: one order stands for all");
        let unreduced = model(&[(1, 7), (2, 8), (3, 9)], false, &never);
        assert_eq!(unreduced.schedules(), 6, "without reduction every order is run");
        let mixed = model(&[(1, 7), (2, 7), (3, 9)], true, &never);
        assert_eq!(mixed.schedules(), 2, "only the two steps on node 7 are ordered");
        assert!(mixed.proved(0));
    }

    #[test]
    fn a_bad_order_is_found_and_a_budget_spent_is_not_a_proof() {
        let found = model(&[(1, 7), (2, 7), (3, 7)], true, &|t| t == [3, 2, 1]);
        assert_eq!(found.counterexample.map(|c| c.fingerprint), Some("[3, 2, 1]".into()));
        let bounds = Bounds { max_faults: 0, max_runs: 2, time_limit: None, reduce: true, seed: 0, max_reorderings: None };
        let mut summary = Summary::default();
        let level = search(&bounds, 0, Instant::now(), &mut summary, &mut |mut walk| {
            for _ in 0..3 {
                walk.choose(vec![(Opt::Release(1), (7, 0)), (Opt::Release(2), (7, 0))], Duration::ZERO);
            }
            (walk, Verdict::Passed { judged: true })
        });
        summary.levels.push(level);
        assert!(!summary.proved(0) && summary.stopped.as_deref() == Some("the budget of 2 runs was spent"));
    }
}
