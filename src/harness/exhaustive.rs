//! Exhaustive exploration within bounds: every schedule of a small scenario, in schedule
//! mode ([`super::schedule`]), by stateless depth-first search (each schedule is a fresh
//! run that replays a prefix of choices and then goes its own way, as Shuttle's
//! `check_dfs` and loom do). Fault levels are explored in order (no fault, then up to
//! one, ...), so a counterexample found has the fewest faults; it is then made simpler
//! pick by pick (a reordering undone is kept when the bug stays).
//!
//! Reductions ([`Reduction`]): independence from what each step touches (a node, or the
//! part of it its message names; a store's records, where two calls commute unless one
//! wrote what the other read or wrote; a drop, only the message it drops);
//! sleep sets (Godefroid): a step that commutes with the one taken stays asleep, so of
//! equivalent schedules one is run (two store calls by what each did: the one taken once
//! it has said, the one asleep where the search ran it, nothing since having touched
//! what it read or wrote); dynamic partial-order reduction (Flanagan and
//! Godefroid, the default): a choice point tries another option only where a run showed
//! a race; or state fingerprints: a state reached again with no fewer options asleep is
//! not explored again.

use super::run::{run_seed, RunOptions, RunOutcome};
use super::schedule::{dependent, independent, Call, CrashPoints, Cut, Footprint, Link, Opt, Visited, Walk};
use super::system::System;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use super::schedule::MAX_STATES;

/// What the exploration may do.
#[derive(Clone, Debug)]
pub struct Bounds {
    /// Faults (drops, duplicates, crashes) per schedule.
    pub max_faults: u32,
    /// Runs in all (complete schedules and cut ones).
    pub max_runs: u64,
    /// Wall-clock time (only how far the search goes depends on it, never a verdict).
    pub time_limit: Option<Duration>,
    /// Which reductions (none under a reordering bound, whose schedules an equivalent
    /// one beyond the bound could otherwise stand for).
    pub reduction: Reduction,
    /// At most this many steps per schedule that do not take the oldest waiting action
    /// (as CHESS bounds preemptions): explored 0, 1, ... up to it, so the fewest come first.
    pub max_reorderings: Option<u32>,
    /// The seed every run is: the workload's and handlers' decisions, madsim's ties.
    pub seed: u64,
    /// Where a crash may fall.
    pub crash_points: CrashPoints,
}

/// How the search leaves out schedules equivalent to ones it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reduction {
    /// Every schedule, equivalent ones too.
    None,
    /// Sleep sets, and state fingerprints pruning a state reached again.
    States,
    /// Sleep sets and dynamic partial-order reduction (Flanagan and Godefroid): a choice
    /// point tries another option only where the runs showed a race (two dependent steps
    /// not ordered by happens-before); fingerprints only counted.
    Dpor,
}

impl Reduction {
    pub fn parse(text: &str) -> Result<Reduction, String> {
        match text {
            "none" => Ok(Reduction::None),
            "states" => Ok(Reduction::States),
            "dpor" => Ok(Reduction::Dpor),
            _ => Err(format!("{}: allowed: dpor, states, none", super::echo(text))),
        }
    }

    /// What the reduction does, for the report.
    pub fn describe(self) -> &'static str {
        match self {
            Reduction::None => "none (every schedule, equivalent ones too)",
            Reduction::States => {
                "sleep sets (steps on different nodes, and store calls on different records, commute), state fingerprints"
            }
            Reduction::Dpor => {
                "sleep sets and dynamic partial-order reduction (other orders tried only at races seen; store calls race on a common record)"
            }
        }
    }
}

/// A schedule that violates an invariant: its picks (trailing first options left out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counterexample {
    pub picks: Vec<usize>,
    pub faults: u32,
    pub max_faults: u32,
    pub crash_points: CrashPoints,
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
    /// [`MAX_STATES`] were kept and no more were: `states` is a lower bound (the search
    /// went on: DPOR does not prune on them, the states reduction prunes less).
    pub states_full: bool,
    /// The most steps a schedule took.
    pub depth: usize,
    /// Complete schedules whose liveness (or an expectation) could not be judged.
    pub not_judged: u64,
    /// Complete schedules with a fault, where the scenario's expectations (its answers
    /// without faults) were not judged; the invariants were.
    pub expectations_off: u64,
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
    links: BTreeMap<u64, Link>,
    /// DPOR: the options this choice point must try (races seen), besides faults.
    backtrack: BTreeSet<Opt>,
    sleep: BTreeSet<Opt>,
    done: BTreeSet<Opt>,
    /// What the store calls done or asleep here did, as run from here (or from where
    /// they were put to sleep): two calls on one store commute record by record.
    calls: BTreeMap<Opt, Call>,
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
pub fn replay_walk(max_faults: u32, crash_points: CrashPoints, picks: Vec<usize>) -> Walk {
    Walk { reduce: false, crash_points, ..Walk::new(max_faults, picks, BTreeSet::new()) }
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
        crash_points: walk.crash_points,
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
            let reduction = if max_reorderings.is_some() { Reduction::None } else { bounds.reduction };
            let bounds = Bounds { reduction, max_reorderings, ..bounds.clone() };
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
            false => {
                // With a fault taken, the expectations are left unjudged on purpose (see
                // run::EXPECTATIONS_OFF): counted apart, not as a schedule not judged.
                let faulted = walk.faults > 0 && outcome.expectations.not_judged > 0;
                let judged = outcome.liveness.judged() && (faulted || outcome.expectations.not_judged == 0);
                Verdict::Passed { judged, expectations_off: faulted }
            }
        };
        (walk, verdict)
    })
}

/// What a complete schedule showed.
pub enum Verdict {
    /// `expectations_off`: a fault was taken, so the scenario's expectations were not judged.
    Passed {
        judged: bool,
        expectations_off: bool,
    },
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
    let mut next = Next::default();
    loop {
        if let Some(reason) = spent(bounds, summary.runs() + level.runs, started) {
            summary.stopped = Some(reason);
            break;
        }
        let reduce = bounds.reduction != Reduction::None;
        let walk = Walk {
            reduce,
            visited: reduce.then(|| visited.clone()),
            prune: bounds.reduction == Reduction::States,
            crash_points: bounds.crash_points,
            sleep_calls: std::mem::take(&mut next.calls),
            ..Walk::new(max_faults, next.forced.clone(), std::mem::take(&mut next.sleep))
        };
        let (walk, verdict) = run(walk);
        level.runs += 1;
        level.depth = level.depth.max(walk.steps.len());
        match (walk.cut, verdict) {
            (None, Verdict::Failed(found)) => {
                summary.counterexample = Some(found);
                break;
            }
            (None, Verdict::Passed { judged, expectations_off }) => {
                level.schedules += 1;
                level.not_judged += !judged as u64;
                level.expectations_off += expectations_off as u64;
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
        let calls = walk.calls;
        push_steps(&mut stack, next.forced.len(), walk.steps, &calls, &walk.sleep_calls);
        if bounds.reduction == Reduction::Dpor {
            races(&mut stack, &calls);
        }
        match backtrack(&mut stack, (max_faults, bounds.max_reorderings), bounds.reduction) {
            Some(found) => next = found,
            None => {
                level.complete = true;
                break;
            }
        }
    }
    level.states = visited.lock().unwrap().len() as u64;
    level.states_full = level.states >= MAX_STATES as u64;
    level
}

/// Puts the steps a run took past its forced prefix (from `first_new` on) on the stack,
/// each with what was asleep there and the call it took; the call taken at the last
/// forced step goes to that step's frame.
fn push_steps(
    stack: &mut Vec<Frame>,
    first_new: usize,
    steps: Vec<super::schedule::Step>,
    calls: &BTreeMap<u64, Call>,
    asleep_calls: &BTreeMap<Opt, Call>,
) {
    let call_of = |s: &super::schedule::Step| {
        let opt = s.options[s.chosen?].0;
        let Opt::Release(id) = opt else { return None };
        Some((opt, calls.get(&id)?.clone()))
    };
    if let Some(frame) = first_new.checked_sub(1).and_then(|top| stack.get_mut(top)) {
        frame.calls.extend(steps.get(first_new - 1).and_then(call_of));
    }
    stack.extend(steps.into_iter().skip(first_new).map(|s| Frame {
        done: s.chosen.map(|c| s.options[c].0).into_iter().collect(),
        backtrack: s.chosen.map(|c| s.options[c].0).into_iter().collect(),
        calls: s.sleep.iter().filter_map(|z| Some((*z, asleep_calls.get(z)?.clone()))).chain(call_of(&s)).collect(),
        sleep: s.sleep.into_iter().collect(),
        options: s.options,
        links: s.links,
        chosen: s.chosen,
        faults: s.faults,
    }));
}

/// DPOR (source sets, Abdulla et al.): for each step of the run on the stack, and for
/// each action still waiting where a run was cut with every option asleep, every earlier
/// step it races with (dependent, and ordered before it by nothing else: not its cause
/// or what happened before its cause, and no step between them that the earlier one
/// happens before and that happens before it). That choice point must also try a first
/// step of the reversed order: of the steps after it that do not follow from it, then
/// this one, one that nothing among them precedes (unless one was tried there already).
/// Where each is asleep there (explored elsewhere, as it did there), the other calls on
/// the store of one that is a store call are tried instead: what a call writes can
/// depend on what it read, and a call woken does something else (the theory assumes
/// steps whose footprints do not change with what they read; this rule is checked
/// against every schedule on random models of such calls, not proved).
fn races(stack: &mut [Frame], calls: &BTreeMap<u64, Call>) {
    let n = stack.len();
    let executed: Vec<Option<(Opt, Footprint, Link)>> = stack
        .iter()
        .map(|f| {
            let (opt, footprint) = f.options[f.chosen?];
            // A duplicate is a release too: its copy's cause is this step.
            let (Opt::Release(id) | Opt::Duplicate(id)) = opt else { return None };
            Some((opt, footprint, f.links.get(&id).copied().unwrap_or_default()))
        })
        .collect();
    let taken: Vec<bool> = stack.iter().map(|f| f.chosen.is_some()).collect();
    // What still waits where the run was cut (every option asleep), with what each did
    // where the search ran it.
    let last = stack.last().filter(|f| f.chosen.is_none());
    let pending: Vec<(Opt, Footprint, Link)> = last.map_or(Vec::new(), |f| {
        let released = f.options.iter().filter_map(|(o, fp)| if let Opt::Release(id) = o { Some((*o, *fp, *id)) } else { None });
        released.map(|(o, fp, id)| (o, fp, f.links.get(&id).copied().unwrap_or_default())).collect()
    });
    let asleep_calls = last.map(|f| f.calls.clone()).unwrap_or_default();
    let mut before: Vec<Vec<bool>> = Vec::with_capacity(n);
    let mut add: Vec<Reversal> = Vec::new();
    {
        let graph = Graph { stack, executed: &executed, taken: &taken, calls, asleep_calls: &asleep_calls };
        for (i, slot) in executed.iter().enumerate() {
            let Some(step) = *slot else {
                // A fault (or the last step, not taken) comes after everything before it.
                before.push((0..n).map(|p| p < i).collect());
                continue;
            };
            let (hb, cause) = graph.happens_before(&before, i, step);
            add.extend(graph.reversals(&before, (i, &hb, cause), step.0));
            before.push(hb);
        }
        for step in pending {
            let (hb, cause) = graph.happens_before(&before, n - 1, step);
            add.extend(graph.reversals(&before, (n - 1, &hb, cause), step.0));
        }
    }
    for Reversal { at, initials, all } in add {
        let frame = &mut stack[at];
        if all {
            // No first step of the reversal waited there: every option is tried.
            frame.backtrack.extend(initials);
            continue;
        }
        if initials.iter().any(|o| frame.done.contains(o)) {
            continue;
        }
        // A first step asleep there is never tried there (not even if a race put it in).
        let awake: Vec<Opt> = initials.iter().copied().filter(|o| !frame.sleep.contains(o)).collect();
        match awake.iter().find(|o| frame.backtrack.contains(o)).or(awake.first()) {
            Some(&first) => {
                frame.backtrack.insert(first);
            }
            None => {
                // Every first step is asleep: its schedules from here were explored where it
                // was put to sleep, as it did there. But a store call does what it read: once
                // another step wakes it, it may write elsewhere and race anew (which this run
                // cannot show). The other calls on its store are tried there.
                frame.backtrack.extend(wakers(frame, &initials));
            }
        }
    }
}

/// The options of `frame` that could wake one of the store calls `asleep` there: every
/// other call on its store that waits there and is not asleep. Not only those whose
/// access conflicts with what the sleeper did: the step that wakes it may be one that
/// another call asleep there does only once woken itself.
fn wakers(frame: &Frame, asleep: &[Opt]) -> Vec<Opt> {
    let footprint = |o: &Opt| frame.options.iter().find(|(w, _)| w == o).map(|(_, f)| *f);
    let stores: Vec<Footprint> = asleep.iter().filter_map(|z| footprint(z).filter(|f| f.is_store_call())).collect();
    let wakes = |(o, f): &(Opt, Footprint)| {
        matches!(o, Opt::Release(_)) && f.is_store_call() && !frame.sleep.contains(o) && stores.iter().any(|z| !independent(*z, *f))
    };
    frame.options.iter().filter(|o| wakes(o)).map(|(o, _)| *o).collect()
}

/// A race's reversal: at which choice point, and its possible first steps (or, `all`,
/// every option there, none of them having waited there).
struct Reversal {
    at: usize,
    initials: Vec<Opt>,
    all: bool,
}

/// The run on the stack, for DPOR's races.
struct Graph<'a> {
    stack: &'a [Frame],
    executed: &'a [Option<(Opt, Footprint, Link)>],
    taken: &'a [bool],
    calls: &'a BTreeMap<u64, Call>,
    asleep_calls: &'a BTreeMap<Opt, Call>,
}

impl Graph<'_> {
    fn faulted(&self, j: usize) -> bool {
        self.taken[j] && self.executed[j].is_none()
    }

    /// Dependent: see [`dependent`] (a call asleep where the run was cut, as it ran where
    /// the search put it to sleep).
    fn conflict(&self, (a, fa): (Opt, Footprint), (b, fb): (Opt, Footprint)) -> bool {
        let call = |o: Opt| match o {
            Opt::Release(id) => self.calls.get(&id).or_else(|| self.asleep_calls.get(&o)),
            _ => None,
        };
        dependent((fa, call(a)), (fb, call(b)))
    }

    /// The steps before position `i` that happen before `step` there (its cause, faults,
    /// dependent steps, and what happens before those), and its cause's position.
    fn happens_before(
        &self,
        before: &[Vec<bool>],
        i: usize,
        (opt, footprint, (parent, _)): (Opt, Footprint, Link),
    ) -> (Vec<bool>, Option<usize>) {
        let mut hb = vec![false; self.stack.len()];
        let arrival = (0..=i).find(|a| self.stack[*a].options.iter().any(|(o, _)| *o == opt)).unwrap_or(i);
        let cause = (0..arrival).rev().find(|k| self.executed[*k].is_some_and(|(_, _, (_, task))| task == parent));
        for p in 0..i {
            let dependent = self.executed[p].is_some_and(|(o, f, _)| self.conflict((o, f), (opt, footprint)));
            if Some(p) == cause || self.faulted(p) || dependent {
                hb[p] = true;
                for (q, b) in before[p].iter().enumerate() {
                    hb[q] |= *b;
                }
            }
        }
        (hb, cause)
    }

    /// The races of `opt` at position `i` (`hb`: what happens before it there) with the
    /// steps before it, each as a choice point and the first steps of its reversal (or,
    /// true, every option there, none of them having waited there).
    fn reversals(&self, before: &[Vec<bool>], (i, hb, cause): (usize, &[bool], Option<usize>), opt: Opt) -> Vec<Reversal> {
        let after_cause = |j: usize| cause.is_some_and(|c| j == c || before[c][j]);
        let footprint = |j: usize| self.executed[j].map(|(o, f, _)| (o, f));
        let this = self.stack[i].options.iter().find(|(o, _)| *o == opt).map(|(_, f)| *f).or_else(|| self.executed[i].map(|(_, f, _)| f));
        let Some(this) = this else { return Vec::new() };
        let mut found = Vec::new();
        for j in (0..i).rev() {
            let Some(earlier) = footprint(j) else { continue };
            let between = |k: usize| !self.faulted(k) && hb[k] && before[k][j];
            if earlier.0 == opt || !self.conflict(earlier, (opt, this)) || after_cause(j) || ((j + 1)..i).any(between) {
                continue;
            }
            // The reversal: the steps after j that do not follow from it, then this one.
            let rest: Vec<usize> = ((j + 1)..i).filter(|k| self.executed[*k].is_some() && !before[*k][j]).collect();
            let first = |k: usize| !rest.iter().any(|m| *m < k && before[k][*m]);
            let mut initials: Vec<Opt> = rest.iter().filter(|k| first(**k)).filter_map(|k| footprint(*k).map(|(o, _)| o)).collect();
            if !rest.iter().any(|m| hb[*m]) {
                initials.push(opt);
            }
            let waiting = |o: &Opt| self.stack[j].options.iter().any(|(w, _)| w == o);
            initials.retain(|o| waiting(o));
            let all = initials.is_empty();
            if all {
                initials = self.stack[j].options.iter().map(|(o, _)| *o).filter(|o| !o.is_fault()).collect();
            }
            found.push(Reversal { at: j, initials, all });
        }
        found
    }
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

/// The next run: its prefix (the option index of each step), and the sleep set at the
/// prefix's last step with what the calls in it did.
#[derive(Default)]
struct Next {
    forced: Vec<usize>,
    sleep: BTreeSet<Opt>,
    calls: BTreeMap<Opt, Call>,
}

/// The next schedule to run: the deepest choice point with an option not yet tried and
/// not asleep; its prefix, and the sleep set at its last step before it is taken (the
/// run applies the step to it, once a store call has said what it did) with what the
/// calls in it did. None: everything was explored.
fn backtrack(stack: &mut Vec<Frame>, (max_faults, max_reorderings): (u32, Option<u32>), reduction: Reduction) -> Option<Next> {
    let reduce = reduction != Reduction::None;
    loop {
        let below = stack.len().checked_sub(1)?;
        let reordered = stack[..below].iter().filter(|f| f.chosen.is_some_and(|c| c > 0 && !f.options[c].0.is_fault())).count() as u32;
        let frame = stack.last_mut()?;
        let allowed = |i: usize, o: &Opt| match o.is_fault() {
            true => frame.faults < max_faults,
            false => {
                (i == 0 || max_reorderings.is_none_or(|k| reordered < k)) && (reduction != Reduction::Dpor || frame.backtrack.contains(o))
            }
        };
        let next =
            frame.options.iter().enumerate().position(|(i, (o, _))| !frame.done.contains(o) && !frame.sleep.contains(o) && allowed(i, o));
        let Some(i) = next else {
            stack.pop();
            continue;
        };
        let taken = frame.options[i].0;
        frame.done.insert(taken);
        frame.chosen = Some(i);
        let (sleep, calls) = match reduce {
            false => Default::default(),
            true => (frame.sleep.union(&frame.done).copied().collect(), frame.calls.clone()),
        };
        let forced = stack.iter().map(|f| f.chosen.expect("every frame below the top was taken")).collect();
        return Some(Next { forced, sleep, calls });
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
        let (walk, outcome) = run_walk::<S>(scenario, bounds, replay_walk(best.max_faults, best.crash_points, picks));
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
    use crate::harness::NodeId;

    /// A model's action: its id, its node, and what it makes wait when taken (an id and a node).
    type Action = (u64, u64, Option<(u64, u64)>);

    /// A model with no madsim: `actions` (id, node, what it makes wait when taken: an id
    /// and a node) wait from the start; each step takes one; the run passes unless `bad`
    /// says the order taken is a bug.
    fn model(actions: &[Action], reduction: Reduction, bad: &dyn Fn(&[u64]) -> bool) -> Summary {
        model_with_faults(actions, (0, None, CrashPoints::EveryStep), reduction, bad)
    }

    /// The model with up to `max_faults` drops: a dropped action is not taken.
    fn model_with_drops(actions: &[Action], max_faults: u32, reduction: Reduction, bad: &dyn Fn(&[u64]) -> bool) -> Summary {
        model_with_faults(actions, (max_faults, None, CrashPoints::EveryStep), reduction, bad)
    }

    /// The model with up to `max_faults` faults: drops (a dropped action is not taken),
    /// or with `crash`, crashes of that node only (what waits for it is taken away; the
    /// order taken shows the crash as 0) where `crash_points` lets it fall.
    fn model_with_faults(
        actions: &[Action],
        (max_faults, crash, crash_points): (u32, Option<u64>, CrashPoints),
        reduction: Reduction,
        bad: &dyn Fn(&[u64]) -> bool,
    ) -> Summary {
        let bounds = Bounds { max_faults, max_runs: 100_000, time_limit: None, reduction, seed: 0, max_reorderings: None, crash_points };
        let mut summary = Summary::default();
        let level = search(&bounds, max_faults, Instant::now(), &mut summary, &mut |mut walk| {
            // Each action runs as its own task (cause = its id); what it makes wait has it as parent.
            let mut left: Vec<(u64, u64, u64)> = actions.iter().map(|(id, node, _)| (*id, *node, 1_000_000 + id)).collect();
            let mut taken = Vec::new();
            while !left.is_empty() {
                let at = Footprint::node;
                let mut options: Vec<_> = left.iter().map(|(id, node, _)| (Opt::Release(*id), at(*node))).collect();
                match crash {
                    _ if walk.faults >= max_faults => {}
                    None => options.extend(left.iter().map(|(id, node, _)| (Opt::Drop(*id), at(*node)))),
                    Some(node) if walk.may_crash(node) => options.push((Opt::Crash(NodeId::from_slot(node as usize)), at(node))),
                    Some(_) => {}
                }
                let links = left.iter().map(|(id, _, parent)| (*id, (*parent, *id))).collect();
                let id = match walk.choose(options, links, Duration::ZERO) {
                    Some(Opt::Release(id)) => id,
                    Some(Opt::Drop(id)) => {
                        left.retain(|(a, _, _)| *a != id);
                        continue;
                    }
                    Some(Opt::Crash(node)) => {
                        left.retain(|(_, at, _)| *at != node.slot() as u64);
                        taken.push(0);
                        continue;
                    }
                    _ => break,
                };
                left.retain(|(a, _, _)| *a != id);
                taken.push(id);
                if let Some((_, _, Some((made, node)))) = actions.iter().find(|(a, _, _)| *a == id) {
                    left.push((*made, *node, id));
                }
            }
            let failed = walk.cut.is_none() && bad(&taken);
            let found = Counterexample {
                picks: Vec::new(),
                faults: 0,
                max_faults: 0,
                crash_points: CrashPoints::EveryStep,
                reorderings: 0,
                steps: taken.len(),
                invariant: "order".into(),
                fingerprint: format!("{taken:?}"),
            };
            (walk, if failed { Verdict::Failed(found) } else { Verdict::Passed { judged: true, expectations_off: false } })
        });
        summary.levels.push(level);
        summary
    }

    fn plain(actions: &[(u64, u64)]) -> Vec<Action> {
        actions.iter().map(|(id, node)| (*id, *node, None)).collect()
    }

    #[test]
    fn every_order_of_dependent_steps_is_run_and_one_of_independent_ones() {
        let never = |_: &[u64]| false;
        for reduction in [Reduction::States, Reduction::Dpor] {
            let dependent = model(&plain(&[(1, 7), (2, 7), (3, 7)]), reduction, &never);
            assert_eq!((dependent.schedules(), dependent.levels[0].complete), (6, true), "3 steps on one node: 3! orders ({reduction:?})");
            let independent = model(&plain(&[(1, 7), (2, 8), (3, 9)]), reduction, &never);
            assert_eq!(independent.schedules(), 1, "3 nodes: one order stands for all ({reduction:?})");
            let mixed = model(&plain(&[(1, 7), (2, 7), (3, 9)]), reduction, &never);
            assert_eq!(mixed.schedules(), 2, "only the two steps on node 7 are ordered ({reduction:?})");
            assert!(mixed.proved(0));
        }
        let unreduced = model(&plain(&[(1, 7), (2, 8), (3, 9)]), Reduction::None, &never);
        assert_eq!(unreduced.schedules(), 6, "without reduction every order is run");
    }

    #[test]
    fn dpor_finds_a_race_with_a_step_that_was_not_waiting_yet() {
        // 1 goes to node 7; 2 (node 8) makes 3 wait for node 7: 1 and 3 race, though 3
        // did not exist when 1 was taken. Both orders on node 7 must be run.
        let actions = [(1, 7, None), (2, 8, Some((3, 7))), (4, 9, None)];
        let bad = |t: &[u64]| t.iter().position(|a| *a == 3) < t.iter().position(|a| *a == 1);
        for reduction in [Reduction::States, Reduction::Dpor] {
            let found = model(&actions, reduction, &bad);
            assert!(found.counterexample.is_some(), "3 before 1 is found ({reduction:?})");
            let all = model(&actions, reduction, &|_| false);
            assert_eq!(all.schedules(), 2, "two orders on node 7, nothing else ({reduction:?})");
        }
    }

    #[test]
    fn dpor_runs_fewer_schedules_than_sleep_sets_alone_where_steps_race_little() {
        // Four nodes, two steps each: 2^4 orders... of which each node's pair is ordered
        // independently; both reductions run 16, DPOR with fewer cut runs.
        let actions: Vec<_> = (0..8).map(|i| (i, 100 + i / 2, None)).collect();
        let (dpor, states) = (model(&actions, Reduction::Dpor, &|_| false), model(&actions, Reduction::States, &|_| false));
        assert_eq!((dpor.schedules(), states.schedules()), (16, 16));
        assert!(dpor.runs() <= states.runs(), "dpor {} runs, sleep sets {}", dpor.runs(), states.runs());
    }

    /// A call of the store model: it reads record `reads`, then writes `then` if that
    /// record was written before it, else `otherwise` (what it touches depends on the
    /// state, as a handler's calls do).
    #[derive(Clone, Copy)]
    struct ModelCall {
        id: u64,
        reads: Option<u64>,
        then: Option<u64>,
        otherwise: Option<u64>,
        /// The call whose step makes this one wait (its cause); None: waiting from the start.
        after: Option<u64>,
        /// Not a store call but a message to this node (7 or 8), which the node logs.
        node: Option<u64>,
    }

    /// What a complete run of the store model took and left: the order taken, and each
    /// record's writers, each node's log and what each call saw.
    type Outcome = (Vec<u64>, Vec<Vec<u64>>);

    /// Store calls on one store (9) and messages to two nodes, each waiting from the start
    /// or from its cause's step, with up to `max_faults` faults of the kinds `faults`
    /// allows (a message dropped; duplicated: delivered with a copy left in flight; a node
    /// crashed: the messages waiting for it lost, a 0 in its log): per complete run, the
    /// order taken and what it left (each record's writers in order, each node's log, what
    /// each call saw).
    fn store_model(model: &[ModelCall], reduction: Reduction, max_faults: u32, faults: ModelFaults) -> (Summary, Vec<Outcome>) {
        let bounds = Bounds {
            max_faults,
            max_runs: 100_000,
            time_limit: None,
            reduction,
            seed: 0,
            max_reorderings: None,
            crash_points: CrashPoints::EveryStep,
        };
        let (mut summary, mut runs) = (Summary::default(), Vec::new());
        let level = search(&bounds, max_faults, Instant::now(), &mut summary, &mut |mut walk| {
            let mut left = model.to_vec();
            let (mut taken, mut writers, mut saw) = (Vec::new(), vec![Vec::new(); 6], vec![0; 8]);
            while !left.is_empty() {
                let waiting: Vec<&ModelCall> = left.iter().filter(|c| c.after.is_none_or(|a| taken.contains(&a))).collect();
                let footprint = |c: &ModelCall| c.node.map_or(Footprint::store(9, 0), Footprint::node);
                let mut options: Vec<_> = waiting.iter().map(|c| (Opt::Release(c.id), footprint(c))).collect();
                if walk.faults < max_faults {
                    let messages = waiting.iter().filter(|c| c.node.is_some());
                    options.extend(messages.clone().map(|c| (Opt::Drop(c.id), footprint(c))));
                    if faults.duplicates {
                        options.extend(messages.map(|c| (Opt::Duplicate(c.id), footprint(c))));
                    }
                    if faults.crashes {
                        let nodes = [7, 8].into_iter().filter(|n| walk.may_crash(*n));
                        options.extend(nodes.map(|n| (Opt::Crash(NodeId::from_slot(n as usize)), Footprint::node(n))));
                    }
                }
                if options.is_empty() {
                    break;
                }
                let links = waiting.iter().map(|c| (c.id, (c.after.unwrap_or(0), c.id))).collect();
                let waiting: Vec<(u64, Option<u64>)> = waiting.iter().map(|c| (c.id, c.node)).collect();
                let (id, copy) = match walk.choose(options, links, Duration::ZERO) {
                    Some(Opt::Release(id)) => (id, false),
                    Some(Opt::Duplicate(id)) => (id, true),
                    Some(Opt::Drop(id)) => {
                        left.retain(|c| c.id != id);
                        continue;
                    }
                    Some(Opt::Crash(node)) => {
                        let node = node.slot() as u64;
                        left.retain(|c| !waiting.contains(&(c.id, Some(node))));
                        writers[node as usize - 3].push(0);
                        continue;
                    }
                    _ => break,
                };
                let call = *left.iter().find(|c| c.id == id).unwrap();
                if !copy {
                    left.retain(|c| c.id != id);
                }
                taken.push(id);
                if let Some(node) = call.node {
                    // Nodes 7 and 8 log after records 1 to 3, at 4 and 5.
                    writers[node as usize - 3].push(id);
                    continue;
                }
                let seen = call.reads.map_or(0, |r| writers[r as usize].len() as u64);
                let write = if seen > 0 { call.then } else { call.otherwise };
                let mut access = super::super::schedule::Access::default();
                access.reads.extend(call.reads.map(|r| (1, r)));
                access.writes.extend(write.map(|w| (1, w)));
                write.inspect(|w| writers[*w as usize].push(id));
                saw[id as usize] = call.reads.map_or(0, |r| writers[r as usize].last().copied().unwrap_or(9));
                walk.calls.insert(id, Call { wrote: write.is_some(), access: Some(access) });
            }
            if walk.cut.is_none() {
                writers.push(saw.clone());
                runs.push((taken, writers));
            }
            (walk, Verdict::Passed { judged: true, expectations_off: false })
        });
        summary.levels.push(level);
        (summary, runs)
    }

    /// Calls that each write one record (and read none).
    fn writes(records: &[(u64, u64)]) -> Vec<ModelCall> {
        records
            .iter()
            .map(|(id, r)| ModelCall { id: *id, reads: None, then: Some(*r), otherwise: Some(*r), after: None, node: None })
            .collect()
    }

    #[test]
    fn sleep_sets_order_only_store_calls_on_a_common_record() {
        for reduction in [Reduction::States, Reduction::Dpor] {
            // 1 and 3 write record 1, 2 writes record 2: 1 and 3 in both orders, 2 anywhere.
            let (summary, runs) = store_model(&writes(&[(1, 1), (2, 2), (3, 1)]), reduction, 0, ModelFaults::default());
            assert!(summary.proved(0), "{reduction:?}");
            let firsts: BTreeSet<bool> =
                runs.iter().map(|(o, _)| o.iter().position(|i| *i == 1) < o.iter().position(|i| *i == 3)).collect();
            assert_eq!((runs.len(), firsts.len()), (2, 2), "{reduction:?}: {runs:?}");
            let (all, runs) = store_model(&writes(&[(1, 1), (2, 1), (3, 1)]), reduction, 0, ModelFaults::default());
            assert_eq!((all.schedules(), runs.len()), (6, 6), "one record: every order ({reduction:?})");
        }
    }

    #[test]
    fn the_reductions_reach_every_outcome_of_store_calls_whose_writes_depend_on_what_they_read() {
        // Random models (a fixed generator): four to six calls over three records, each
        // reading one and writing one record, or one of two depending on what it read, some
        // waiting for an earlier call's step, some messages to a node instead (half the
        // models may take one fault: a drop, a duplicate, a crash). Every outcome (each
        // record's writers in order, each node's log, what each call saw) that running
        // every schedule reaches, the reduced search reaches too, mostly in fewer runs. A
        // longer sweep: TICKETSIM_RANDOM_MODELS=20000 (about 70 s).
        let models: u32 = std::env::var("TICKETSIM_RANDOM_MODELS").ok().and_then(|n| n.parse().ok()).unwrap_or(200);
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let (mut fewer, mut searches) = (0, 0);
        for _ in 0..models {
            let calls = 4 + next(3);
            // Half the models write one record whatever they read, half depend on it.
            let fixed = next(2) == 0;
            let record = |next: &mut dyn FnMut(u64) -> u64| if next(4) == 0 { None } else { Some(1 + next(3)) };
            let model: Vec<ModelCall> = (1..=calls)
                .map(|id| {
                    let (reads, then) = (record(&mut next), record(&mut next));
                    let otherwise = if fixed { then } else { record(&mut next) };
                    // A third of the calls wait for an earlier one's step (a message it sends).
                    let after = (id > 1 && next(3) == 0).then(|| 1 + next(id - 1));
                    // A fifth are messages to one of two nodes instead.
                    let node = (next(5) == 0).then(|| 7 + next(2));
                    ModelCall { id, reads, then, otherwise, after, node }
                })
                .collect();
            // Half the models may take one fault: a drop, in half of those a duplicate too,
            // and in a quarter a node's crash, checked under `states` alone (`dpor` can
            // miss a crash after a node's last step: `a_crash_needs_a_step_after_it_...`).
            let max_faults = next(2) as u32;
            let faults = ModelFaults { duplicates: next(2) == 0, crashes: next(4) == 0 };
            let reductions: &[Reduction] = if faults.crashes { &[Reduction::States] } else { &[Reduction::States, Reduction::Dpor] };
            for &reduction in reductions {
                fewer += reaches_every_outcome(&model, reduction, max_faults, faults) as u32;
                searches += 1;
            }
        }
        assert!(fewer > searches * 3 / 4, "the reductions left out schedules in only {fewer} of {searches} searches");
    }

    /// Which faults besides drops a store model may take.
    #[derive(Clone, Copy, Debug, Default)]
    struct ModelFaults {
        duplicates: bool,
        crashes: bool,
    }

    /// Every outcome that running every schedule of `model` (with up to `max_faults`
    /// faults) reaches, `reduction` reaches; whether in fewer runs.
    fn reaches_every_outcome(model: &[ModelCall], reduction: Reduction, max_faults: u32, faults: ModelFaults) -> bool {
        let outcomes = |reduction| {
            let (summary, runs) = store_model(model, reduction, max_faults, faults);
            assert!(summary.proved(max_faults), "{reduction:?}");
            (summary.runs(), runs.into_iter().map(|(_, left)| left).collect::<BTreeSet<_>>())
        };
        let ((all_runs, all), (runs, reached)) = (outcomes(Reduction::None), outcomes(reduction));
        let shown: Vec<_> = model.iter().map(|c| (c.reads, c.then, c.otherwise, c.after, c.node)).collect();
        assert_eq!(reached, all, "{reduction:?} with {max_faults} faults ({faults:?}) on {shown:?}");
        runs < all_runs
    }

    #[test]
    fn dpor_reverses_races_of_calls_that_change_what_they_write() {
        // The smallest models (of 20,000 random ones) on which DPOR missed an outcome without
        // the rule for store calls asleep: (id, reads, writes if it was written, else writes).
        let call = |(id, reads, then, otherwise)| ModelCall { id, reads, then, otherwise, after: None, node: None };
        type Call = (u64, Option<u64>, Option<u64>, Option<u64>);
        let models: [&[Call]; 3] = [
            // In 2, 3, 1, 4 the race of 3 and 1 is reversed after 2, where 1 is asleep (tried
            // first, it commutes with 2): 2, 4, 1, 3 (1 reads record 2 before 3 writes it,
            // and writes record 1 after 4) is reached only if 4, which wakes 1, is tried there.
            &[(1, Some(2), None, Some(1)), (2, None, Some(1), Some(3)), (3, Some(2), Some(1), Some(2)), (4, Some(3), Some(1), Some(2))],
            // 2 writes record 2 (which 4 reads) only before 3: where the race of 3 and 2 is
            // reversed 2 is asleep, and 4 (which wakes it) is tried there.
            &[
                (1, Some(1), Some(1), Some(3)),
                (2, Some(3), Some(3), Some(2)),
                (3, None, None, Some(3)),
                (4, Some(2), None, Some(1)),
                (5, Some(3), Some(1), Some(1)),
            ],
            // 3, 5, 1, 2, 4: after 3, 1 and 2 are asleep, and the race of 4 and 2 is reversed
            // there. 5 does not touch what 2 did, but it wakes 1, which then writes record 3
            // and wakes 2: trying only the calls that conflict with the sleeper misses it.
            &[
                (1, Some(2), Some(3), None),
                (2, Some(1), None, Some(3)),
                (3, Some(2), Some(1), None),
                (4, None, None, Some(1)),
                (5, None, Some(1), Some(2)),
            ],
        ];
        for model in models {
            let model: Vec<ModelCall> = model.iter().map(|c| call(*c)).collect();
            reaches_every_outcome(&model, Reduction::Dpor, 0, ModelFaults::default());
        }
    }

    #[test]
    fn a_message_is_dropped_at_one_place_in_each_order_of_the_rest() {
        let never = |_: &[u64]| false;
        for reduction in [Reduction::States, Reduction::Dpor] {
            // Three nodes: one order of the releases, and each of the three dropped once
            // (not at each of the steps it waits: without the rule, 13 schedules).
            let apart = model_with_drops(&plain(&[(1, 7), (2, 8), (3, 9)]), 1, reduction, &never);
            assert_eq!((apart.schedules(), apart.levels[0].complete), (4, true), "{reduction:?}");
            // 1 and 2 on node 7: their two orders, and in each a drop of 3 (before or
            // after them is the same), and each of 1 and 2 dropped.
            let shared = model_with_drops(&plain(&[(1, 7), (2, 7), (3, 9)]), 1, reduction, &never);
            assert_eq!(shared.schedules(), 6, "{reduction:?}");
            let bad = |t: &[u64]| t == [2, 1];
            let found = model_with_drops(&plain(&[(1, 7), (2, 7), (3, 9)]), 1, reduction, &bad);
            assert_eq!(found.counterexample.map(|c| c.fingerprint), Some("[2, 1]".into()), "3 dropped, 2 before 1 ({reduction:?})");
        }
        let unreduced = model_with_drops(&plain(&[(1, 7), (2, 8), (3, 9)]), 1, Reduction::None, &never);
        assert!(unreduced.schedules() > 4, "without reduction a drop is run at every step: {}", unreduced.schedules());
    }

    #[test]
    fn a_crash_is_run_at_every_step_and_a_message_it_takes_away_is_found() {
        let never = |_: &[u64]| false;
        let crash_7 = (1, Some(7), CrashPoints::EveryStep);
        // A crash commutes with nothing (docs/strategies.md says why no cheaper rule is
        // sound here): 1 and 2 on nodes 8 and 9, a crash of node 7 before 1 and before 2.
        let apart = model_with_faults(&plain(&[(1, 8), (2, 9)]), crash_7, Reduction::Dpor, &never);
        assert_eq!((apart.schedules(), apart.proved(1)), (3, true));
        // 2 (node 8) sends 4 to node 7: a crash after 2 takes 4 away, a crash before 2
        // does not; found under every reduction.
        let sends = [(1, 7, None), (2, 8, Some((4, 7)))];
        let lost = |t: &[u64]| t.contains(&0) && !t.contains(&4);
        for reduction in [Reduction::States, Reduction::Dpor, Reduction::None] {
            let found = model_with_faults(&sends, crash_7, reduction, &lost);
            assert!(found.counterexample.is_some(), "4 lost to a crash after 2 ({reduction:?})");
        }
    }

    #[test]
    fn a_crash_needs_a_step_after_it_to_have_a_place() {
        // What DPOR gives up with crashes (found by adding crashes to the random models):
        // a crash is offered only while something waits, so "node 8 crashes after its
        // message 2" needs a step after 2. Every schedule runs 2 before the independent
        // store call 1 and then crashes 8; DPOR runs 1 before 2 only (no race) and so
        // never crashes 8 after 2. Sleep sets alone keep it (the crash wakes 1 there).
        let call = ModelCall { id: 1, reads: None, then: None, otherwise: None, after: None, node: None };
        let model = [call, ModelCall { id: 2, node: Some(8), ..call }];
        let crashes = ModelFaults { duplicates: false, crashes: true };
        let crashed_after_2 = |reduction| {
            let (summary, runs) = store_model(&model, reduction, 1, crashes);
            assert!(summary.proved(1), "{reduction:?}");
            runs.iter().any(|(_, left)| left[5] == [2, 0])
        };
        assert!(crashed_after_2(Reduction::None) && crashed_after_2(Reduction::States));
        assert!(!crashed_after_2(Reduction::Dpor), "DPOR now crashes 8 after 2: say so in docs/strategies.md");
    }

    #[test]
    fn with_crash_points_at_own_steps_a_node_crashes_only_right_after_one_of_its_steps() {
        let never = |_: &[u64]| false;
        let (every, own) = ((1, Some(7), CrashPoints::EveryStep), (1, Some(7), CrashPoints::OwnSteps));
        // 1 on node 7, 2 on node 8: every step, node 7 crashes before 1 or before 2;
        // own steps, only right after 1.
        let actions = plain(&[(1, 7), (2, 8)]);
        let (a, b) =
            (model_with_faults(&actions, every, Reduction::Dpor, &never), model_with_faults(&actions, own, Reduction::Dpor, &never));
        assert!(a.proved(1) && b.proved(1));
        assert_eq!((a.schedules(), b.schedules()), (3, 2));
        // What the bound gives up: 2 (node 8) sends 4 to node 7, and a crash of 7 right
        // after 2 takes 4 away (the same loss as a drop of 4, a fault of its own).
        let sends = [(1, 7, None), (2, 8, Some((4, 7)))];
        let lost = |t: &[u64]| t.contains(&0) && !t.contains(&4);
        assert!(model_with_faults(&sends, every, Reduction::Dpor, &lost).counterexample.is_some());
        assert!(model_with_faults(&sends, own, Reduction::Dpor, &lost).proved(1));
    }

    #[test]
    fn a_bad_order_is_found_and_a_budget_spent_is_not_a_proof() {
        let found = model(&plain(&[(1, 7), (2, 7), (3, 7)]), Reduction::Dpor, &|t| t == [3, 2, 1]);
        assert_eq!(found.counterexample.map(|c| c.fingerprint), Some("[3, 2, 1]".into()));
        let bounds = Bounds {
            max_faults: 0,
            max_runs: 2,
            time_limit: None,
            reduction: Reduction::States,
            seed: 0,
            max_reorderings: None,
            crash_points: Default::default(),
        };
        let mut summary = Summary::default();
        let level = search(&bounds, 0, Instant::now(), &mut summary, &mut |mut walk| {
            for _ in 0..3 {
                walk.choose(
                    vec![(Opt::Release(1), Footprint::node(7)), (Opt::Release(2), Footprint::node(7))],
                    Default::default(),
                    Duration::ZERO,
                );
            }
            (walk, Verdict::Passed { judged: true, expectations_off: false })
        });
        summary.levels.push(level);
        assert!(!summary.proved(0) && summary.stopped.as_deref() == Some("the budget of 2 runs was spent"));
    }
}
