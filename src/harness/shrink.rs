//! Shrinking a failing run to a small reproduction that shows the same bug, and only
//! because of the bugs it needs. Two passes: first the system's simplifications of the
//! scenario (fewer users, requests, steps, instances, fault kinds, shorter faults and
//! phases), re-running the seed each time; then delta debugging over the run's
//! recorded choices (zeroing them: no drop, no duplicate, the shortest delay, the first
//! option). A candidate is kept only if it is sound: it shows the original violation's
//! fingerprint, and, when the original needs the scenario's bug switches (with every
//! switch off it passes), it still passes with every switch off. The result is verified
//! before it is returned (two runs, the same fingerprint and trace; which switches it
//! needs); if the last candidate fails a check, the last one that passes them is used.

use super::choices::{to_record, Record, Site};
use super::run::{run_seed, RunOptions, RunOutcome};
use super::strategy::Branch;
pub use super::system::Reproduce;
use super::system::System;
use std::time::Duration;

/// Size of a run, before and after shrinking.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Figures {
    pub messages: u64,
    pub events: usize,
    #[serde(serialize_with = "super::system::ser_duration")]
    pub virtual_time: Duration,
    pub choices: usize,
}

/// What shrink checked on its result before returning it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Verification {
    /// Two runs of the reproduction showed the same violation and the same trace.
    pub same_twice: bool,
    pub fingerprint: String,
    pub trace_hash: String,
    /// With every bug switch off, the reproduction passes (`None`: it has no switch on).
    pub passes_without_bugs: Option<bool>,
    /// The minimal set of switches that causes it (see [`super::attribute`]): empty when
    /// none could be established.
    pub needs: Vec<String>,
    /// The attribution, as checked on the reproduction's own decisions.
    pub causes: super::attribute::Attribution,
    /// Candidates that failed verification and were set aside for an earlier one.
    pub fallbacks: usize,
}

pub struct Shrunk<Sc> {
    pub scenario: Sc,
    pub invariant: String,
    pub fingerprint: String,
    pub before: Figures,
    pub after: Figures,
    pub runs: usize,
    pub verification: Verification,
}

fn figures<S: System>(outcome: &RunOutcome<S>, choices: usize) -> Figures {
    Figures { messages: outcome.fabric.sent, events: outcome.history_len, virtual_time: outcome.end, choices }
}

/// Runs a scenario: a reproduction's own seed with its recorded choices, or `seed`.
pub fn run_scenario<S: System>(scenario: &S::Scenario, seed: Option<u64>, options: &RunOptions) -> RunOutcome<S> {
    match (S::reproduction(scenario), seed) {
        (Some(reproduce), None) => {
            let branch = if reproduce.choices.is_some() { Default::default() } else { reproduce.branch.clone() };
            let schedule = reproduce.schedule.as_ref().map(|s| {
                // Steps out of order (a hand-edited file) replay as far as they go.
                let picks = s.picks().unwrap_or_default();
                std::sync::Arc::new(std::sync::Mutex::new(super::exhaustive::replay_walk(s.max_faults, s.crash_points, picks)))
            });
            let options = RunOptions { replay_choices: reproduce.choices.clone(), branch, schedule, ..options.clone() };
            run_seed::<S>(scenario, reproduce.seed, &options)
        }
        (_, seed) => run_seed::<S>(scenario, seed.unwrap_or(0), options),
    }
}

pub use super::run::shows;

/// The invariants a simplification must leave applying: all of them for a liveness bug,
/// the safety ones for a safety bug.
fn rules<S: System>(scenario: &S::Scenario, liveness: bool) -> Vec<&'static str> {
    let counted = |kind: super::system::InvariantKind| liveness || kind == super::system::InvariantKind::Safety;
    super::run::applicable::<S>(scenario, &S::options(scenario)).iter().filter(|i| counted(i.kind)).map(|i| i.name).collect()
}

struct Search {
    seed: u64,
    invariant: String,
    fingerprint: String,
    /// The original passes with every bug switch off: every candidate must too.
    needs_bugs: bool,
    runs: usize,
    budget: usize,
}

/// Seeds tried per scenario edit: an edit that loses the failure on this seed is kept
/// if a nearby seed still shows it (the reproduction records the seed it ends with).
const SEEDS_PER_EDIT: u64 = 8;

impl Search {
    fn run<S: System>(&mut self, scenario: &S::Scenario, seed: u64, record: Option<&Record>) -> Option<RunOutcome<S>> {
        if self.runs >= self.budget {
            return None;
        }
        self.runs += 1;
        Some(run_seed::<S>(scenario, seed, &RunOptions { replay_choices: record.cloned(), ..Default::default() }))
    }

    /// Whether the candidate shows the bug on `seed` and is sound (see the module doc).
    fn holds<S: System>(&mut self, scenario: &S::Scenario, seed: u64, record: Option<&Record>) -> bool {
        let Some(outcome) = self.run::<S>(scenario, seed, record) else { return false };
        if !shows(&outcome, &self.invariant, Some(&self.fingerprint)) {
            return false;
        }
        !self.needs_bugs || self.run::<S>(&S::without_bugs(scenario), seed, record).is_some_and(|o| !o.failed())
    }

    /// Whether the candidate holds on this seed or one of the next few; moves to that seed.
    fn holds_nearby<S: System>(&mut self, scenario: &S::Scenario) -> bool {
        for seed in self.seed..self.seed.saturating_add(SEEDS_PER_EDIT) {
            if self.holds::<S>(scenario, seed, None) {
                self.seed = seed;
                return true;
            }
        }
        false
    }
}

/// Delta debugging (ddmin) over the non-zero recorded decisions: finds a small set of
/// decisions that must keep their recorded values; every other one draws 0.
fn minimize_choices<S: System>(search: &mut Search, scenario: &S::Scenario, record: &Record) -> Record {
    let seed = search.seed;
    let build = |kept: &[(Site, u64, u32)]| -> Record { kept.iter().map(|k| (*k, record[k])).collect() };
    // First whole sites: often all drops, or all delays, can go at once.
    let mut kept: Vec<(Site, u64, u32)> = record.iter().filter(|(_, v)| **v != 0).map(|(k, _)| *k).collect();
    let sites: std::collections::BTreeSet<Site> = kept.iter().map(|(site, _, _)| *site).collect();
    for site in sites {
        let without: Vec<(Site, u64, u32)> = kept.iter().copied().filter(|(s, _, _)| *s != site).collect();
        if without.len() < kept.len() && search.holds::<S>(scenario, seed, Some(&build(&without))) {
            kept = without;
        }
    }
    let mut n = 2usize;
    while kept.len() >= 2 {
        let chunk = kept.len().div_ceil(n);
        let mut reduced = false;
        for start in (0..kept.len()).step_by(chunk) {
            let complement: Vec<(Site, u64, u32)> =
                kept[..start].iter().chain(kept[(start + chunk).min(kept.len())..].iter()).copied().collect();
            if search.holds::<S>(scenario, seed, Some(&build(&complement))) {
                kept = complement;
                n = (n - 1).max(2);
                reduced = true;
                break;
            }
        }
        if !reduced {
            if n >= kept.len() {
                break;
            }
            n = (n * 2).min(kept.len());
        }
    }
    if kept.len() == 1 && search.holds::<S>(scenario, seed, Some(&build(&[]))) {
        kept.clear();
    }
    build(&kept)
}

/// Verifies a reproduction: it shows the bug twice with the same trace, and (when the
/// bug needs switches) passes with every switch off; names the minimal set of switches
/// that causes it, verified on its own decisions.
fn verify<S: System>(repro: &S::Scenario, search: &Search) -> Option<Verification> {
    let options = RunOptions { hash_trace: true, ..Default::default() };
    let (a, b) = (run_scenario::<S>(repro, None, &options), run_scenario::<S>(repro, None, &options));
    let fingerprint = Some(search.fingerprint.as_str());
    let same_twice = shows(&a, &search.invariant, fingerprint) && shows(&b, &search.invariant, fingerprint) && a.trace_hash == b.trace_hash;
    let switches = S::bug_switches(repro);
    let passes_without_bugs = (!switches.is_empty()).then(|| !run_scenario::<S>(&S::without_bugs(repro), None, &options).failed());
    if !same_twice || (search.needs_bugs && passes_without_bugs != Some(true)) {
        return None;
    }
    let causes = super::attribute::attribute::<S>(repro, &search.invariant, &search.fingerprint, &|s, o| run_scenario::<S>(s, None, o));
    let needs = causes.causes().map(<[String]>::to_vec).unwrap_or_default();
    let trace_hash = format!("{:016x}", a.trace_hash.unwrap_or_default());
    Some(Verification { same_twice, fingerprint: search.fingerprint.clone(), trace_hash, passes_without_bugs, needs, causes, fallbacks: 0 })
}

/// The violation to keep: the first of `invariant` (default: the first of the run).
fn target<S: System>(original: &RunOutcome<S>, seed: u64, invariant: Option<&str>) -> Result<(String, String), String> {
    let names = || {
        let names: std::collections::BTreeSet<&str> = original.violations.iter().map(|v| v.invariant).collect();
        if names.is_empty() {
            "nothing".to_string()
        } else {
            names.into_iter().collect::<Vec<_>>().join(", ")
        }
    };
    let known = || S::invariants().iter().map(|i| i.name).chain(super::run::HARNESS_FINDINGS);
    if let Some(name) = invariant.filter(|name| !known().any(|k| k == *name)) {
        let all: Vec<&str> = known().collect();
        return Err(format!("unknown invariant {}{}; allowed: {}", super::echo(name), super::did_you_mean(name, known()), all.join(", ")));
    }
    let violation = match invariant {
        Some(name) => original
            .violations
            .iter()
            .find(|v| v.invariant == name)
            .ok_or_else(|| format!("seed {seed} does not violate {}; it violates: {}", super::echo(name), names()))?,
        None => original.violations.first().ok_or_else(|| format!("seed {seed} violates nothing: there is nothing to shrink"))?,
    };
    Ok((violation.invariant.to_string(), violation.fingerprint()))
}

/// Shrinks `seed` of `scenario` while its violation (of `invariant`, default the first
/// one) still shows with the same fingerprint. `budget` bounds the number of runs.
pub fn shrink<S: System>(scenario: &S::Scenario, seed: u64, invariant: Option<&str>, budget: usize) -> Result<Shrunk<S::Scenario>, String> {
    shrink_branch::<S>(scenario, seed, &Branch::default(), invariant, budget)
}

/// [`shrink`] for a run of a coverage sweep, which branches from earlier runs: it
/// starts from the run's whole record of choices (the scenario's settings are not
/// simplified, since a changed scenario would not follow the branch).
pub fn shrink_branch<S: System>(
    scenario: &S::Scenario,
    seed: u64,
    branch: &Branch,
    invariant: Option<&str>,
    budget: usize,
) -> Result<Shrunk<S::Scenario>, String> {
    let scenario = S::with_reproduction(scenario, None);
    let original = run_seed::<S>(&scenario, seed, &RunOptions { record_choices: true, branch: branch.clone(), ..Default::default() });
    let branched = !branch.is_empty();
    let original_record = branched.then(|| to_record(original.choices.as_deref().unwrap_or_default()));
    let (invariant, fingerprint) = target(&original, seed, invariant)?;
    // A branched run replays from its whole record on its branch's madsim seed.
    let seed = branch.root().unwrap_or(seed);
    let original_options = RunOptions { replay_choices: original_record.clone(), ..Default::default() };
    let needs_bugs =
        !S::bug_switches(&scenario).is_empty() && !run_seed::<S>(&S::without_bugs(&scenario), seed, &original_options).failed();
    let before = figures(&original, original.choices.as_ref().map_or(0, Vec::len));
    let mut search = Search { seed, invariant: invariant.clone(), fingerprint: fingerprint.clone(), needs_bugs, runs: 2, budget };
    let liveness = S::invariants().iter().any(|i| i.name == invariant && i.kind == super::system::InvariantKind::Liveness);
    // Every sound candidate accepted, as a reproduction, the original first.
    let as_repro = |s: &S::Scenario, seed: u64, choices: Option<Record>| {
        S::with_reproduction(
            s,
            Some(Reproduce {
                format: super::choices::RECORD_FORMAT,
                seed,
                invariant: invariant.clone(),
                fingerprint: Some(fingerprint.clone()),
                choices,
                branch: Branch::default(),
                plan: Vec::new(),
                schedule: None,
            }),
        )
    };
    let mut accepted = vec![as_repro(&scenario, seed, original_record.clone())];
    // Pass 1: the scenario's parameters, until no edit helps (not for a branched run,
    // which only follows its branch on the scenario it ran).
    let current = if branched {
        scenario.clone()
    } else {
        simplify_settings::<S>(&mut search, &scenario, liveness, |s, seed| accepted.push(as_repro(s, seed, None)))
    };
    // Pass 2: the recorded choices of the reduced run.
    let record = match original_record {
        Some(record) => record,
        None => {
            let live = run_seed::<S>(&current, search.seed, &RunOptions { record_choices: true, ..Default::default() });
            search.runs += 1;
            to_record(live.choices.as_deref().unwrap_or_default())
        }
    };
    let record = minimize_choices::<S>(&mut search, &current, &record);
    accepted.push(as_repro(&current, search.seed, Some(record)));
    let shrunk = last_verified::<S>(accepted, &search, before);
    shrunk.ok_or_else(|| format!("seed {seed} does not reproduce {invariant} reliably: even the original run failed verification"))
}

/// Pass 1 of a shrink: the scenario's settings, edit by edit, until no edit helps or the
/// budget is spent; `accept` is told each accepted scenario. A simplification that
/// changes which invariants apply is refused: removing a service an invariant relies on
/// (the expiration service, for orders-resolve) makes a scenario whose rules cannot
/// hold, and a failure found there is the shrink's own. For a safety bug only the safety
/// invariants count (a reproduction too short to settle declares that it does not judge
/// liveness).
fn simplify_settings<S: System>(
    search: &mut Search,
    scenario: &S::Scenario,
    liveness: bool,
    mut accept: impl FnMut(&S::Scenario, u64),
) -> S::Scenario {
    let applicable = |s: &S::Scenario| rules::<S>(s, liveness);
    let rules = applicable(scenario);
    let mut current = scenario.clone();
    loop {
        let mut changed = false;
        for edit in S::simplifications(&current, liveness) {
            if let Some(candidate) = edit(&current) {
                if S::is_valid(&candidate).is_ok() && applicable(&candidate) == rules && search.holds_nearby::<S>(&candidate) {
                    current = candidate;
                    accept(&current, search.seed);
                    changed = true;
                }
            }
        }
        if !changed || search.runs >= search.budget {
            return current;
        }
    }
}

/// The last accepted candidate that passes verification, as a reproduction keeping the
/// plan its run drew (`run` says when a build draws another); `None` when even the
/// original fails it.
fn last_verified<S: System>(mut accepted: Vec<S::Scenario>, search: &Search, before: Figures) -> Option<Shrunk<S::Scenario>> {
    let mut fallbacks = 0;
    while let Some(repro) = accepted.pop() {
        if let Some(verification) = verify::<S>(&repro, search) {
            let last = run_scenario::<S>(&repro, None, &RunOptions::default());
            let choices = S::reproduction(&repro).and_then(|r| r.choices.as_ref()).map_or(0, |c| c.len());
            let after = figures(&last, choices);
            let plan = last.plan.as_ref().map(|p| p.lines(&last.nodes)).unwrap_or_default();
            let repro = S::with_reproduction(&repro, S::reproduction(&repro).cloned().map(|r| Reproduce { plan, ..r }));
            let verification = Verification { fallbacks, ..verification };
            let (invariant, fingerprint, runs) = (search.invariant.clone(), search.fingerprint.clone(), search.runs);
            return Some(Shrunk { scenario: repro, invariant, fingerprint, before, after, runs, verification });
        }
        fallbacks += 1;
    }
    None
}
