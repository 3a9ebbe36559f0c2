//! Shrinking a failing run to a small reproduction while the same bug still fails. Two
//! passes: first the system's simplifications of the scenario (fewer users, requests,
//! steps, instances, fault kinds, shorter faults and phases), re-running the seed each
//! time; then delta debugging over the run's recorded choices (zeroing them: no drop,
//! no duplicate, the shortest delay, the first option). The result is the reduced
//! scenario carrying a [`Reproduce`] (seed, invariant, choices) that a run replays exactly.

use super::choices::{by_site, Record, Site};
use super::run::{run_seed, RunOptions, RunOutcome};
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

pub struct Shrunk<Sc> {
    pub scenario: Sc,
    pub invariant: String,
    pub before: Figures,
    pub after: Figures,
    pub runs: usize,
}

fn figures<S: System>(outcome: &RunOutcome<S>, choices: usize) -> Figures {
    Figures { messages: outcome.fabric.sent, events: outcome.history_len, virtual_time: outcome.end, choices }
}

/// Runs a scenario: a reproduction's own seed with its recorded choices, or `seed`.
pub fn run_scenario<S: System>(scenario: &S::Scenario, seed: Option<u64>, options: &RunOptions) -> RunOutcome<S> {
    match (S::reproduction(scenario), seed) {
        (Some(reproduce), None) => {
            let options = RunOptions { replay_choices: reproduce.choices.clone(), ..options.clone() };
            run_seed::<S>(scenario, reproduce.seed, &options)
        }
        (_, seed) => run_seed::<S>(scenario, seed.unwrap_or(0), options),
    }
}

struct Search {
    seed: u64,
    invariant: String,
    runs: usize,
    budget: usize,
}

/// Seeds tried per scenario edit: an edit that loses the failure on this seed is kept
/// if a nearby seed still shows it (the reproduction records the seed it ends with).
const SEEDS_PER_EDIT: u64 = 8;

impl Search {
    /// Whether the candidate still fails the invariant (and the budget lasts).
    fn fails<S: System>(&mut self, scenario: &S::Scenario, record: Option<&Record>) -> bool {
        self.fails_with::<S>(scenario, self.seed, record)
    }

    fn fails_with<S: System>(&mut self, scenario: &S::Scenario, seed: u64, record: Option<&Record>) -> bool {
        if self.runs >= self.budget {
            return false;
        }
        self.runs += 1;
        let options = RunOptions { replay_choices: record.cloned(), ..Default::default() };
        run_seed::<S>(scenario, seed, &options).violations.iter().any(|v| v.invariant == self.invariant)
    }

    /// Whether the candidate fails on this seed or one of the next few; moves to that seed.
    fn fails_nearby<S: System>(&mut self, scenario: &S::Scenario) -> bool {
        for seed in self.seed..self.seed.saturating_add(SEEDS_PER_EDIT) {
            if self.fails_with::<S>(scenario, seed, None) {
                self.seed = seed;
                return true;
            }
        }
        false
    }
}

/// Delta debugging (ddmin) over the positions of non-zero choices: finds a small set of
/// choices that must keep their recorded values; all others are zeroed.
fn minimize_choices<S: System>(search: &mut Search, scenario: &S::Scenario, record: &Record) -> Record {
    let positions: Vec<(Site, usize)> = record
        .iter()
        .flat_map(|(site, values)| values.iter().enumerate().filter(|(_, v)| **v != 0).map(move |(i, _)| (*site, i)))
        .collect();
    let build = |kept: &[(Site, usize)]| -> Record {
        let mut out: Record = record.iter().map(|(site, values)| (*site, vec![0; values.len()])).collect();
        for (site, i) in kept {
            out.get_mut(site).expect("a recorded site")[*i] = record[site][*i];
        }
        out
    };
    // First whole sites: often all drops, or all delays, can go at once.
    let mut kept = positions;
    for site in Site::ALL {
        let without: Vec<(Site, usize)> = kept.iter().copied().filter(|(s, _)| *s != site).collect();
        if without.len() < kept.len() && search.fails::<S>(scenario, Some(&build(&without))) {
            kept = without;
        }
    }
    let mut n = 2usize;
    while kept.len() >= 2 {
        let chunk = kept.len().div_ceil(n);
        let mut reduced = false;
        for start in (0..kept.len()).step_by(chunk) {
            let complement: Vec<(Site, usize)> =
                kept[..start].iter().chain(kept[(start + chunk).min(kept.len())..].iter()).copied().collect();
            if search.fails::<S>(scenario, Some(&build(&complement))) {
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
    if kept.len() == 1 && search.fails::<S>(scenario, Some(&build(&[]))) {
        kept.clear();
    }
    trim(build(&kept))
}

/// Drops trailing zeros (they are what replay answers past the end anyway).
fn trim(mut record: Record) -> Record {
    for values in record.values_mut() {
        while values.last() == Some(&0) {
            values.pop();
        }
    }
    record.retain(|_, values| !values.is_empty());
    record
}

/// Shrinks `seed` of `scenario` while `invariant` (default: the first one violated)
/// still fails. `budget` bounds the number of runs.
pub fn shrink<S: System>(scenario: &S::Scenario, seed: u64, invariant: Option<&str>, budget: usize) -> Result<Shrunk<S::Scenario>, String> {
    let original = run_seed::<S>(scenario, seed, &RunOptions { record_choices: true, ..Default::default() });
    let invariant = match invariant {
        Some(name) => {
            if !original.violations.iter().any(|v| v.invariant == name) {
                return Err(format!("seed {seed} does not violate {name}; it violates: {}", names(&original)));
            }
            name.to_string()
        }
        None => original
            .violations
            .first()
            .map(|v| v.invariant.to_string())
            .ok_or_else(|| format!("seed {seed} violates nothing: there is nothing to shrink"))?,
    };
    let before = figures(&original, original.choices.as_ref().map_or(0, Vec::len));
    let mut search = Search { seed, invariant: invariant.clone(), runs: 1, budget };
    // Pass 1: the scenario's parameters, until no edit helps.
    let mut current = S::with_reproduction(scenario, None);
    loop {
        let mut changed = false;
        for edit in S::simplifications(&current) {
            if let Some(candidate) = edit(&current) {
                if S::is_valid(&candidate).is_ok() && search.fails_nearby::<S>(&candidate) {
                    current = candidate;
                    changed = true;
                }
            }
        }
        if !changed || search.runs >= search.budget {
            break;
        }
    }
    // Pass 2: the recorded choices of the reduced run.
    let seed = search.seed;
    let live = run_seed::<S>(&current, seed, &RunOptions { record_choices: true, ..Default::default() });
    search.runs += 1;
    let record = by_site(live.choices.as_deref().unwrap_or_default());
    let record = minimize_choices::<S>(&mut search, &current, &record);
    current = S::with_reproduction(&current, Some(Reproduce { seed, invariant: invariant.clone(), choices: Some(record.clone()) }));
    let last = run_scenario::<S>(&current, None, &RunOptions::default());
    if !last.violations.iter().any(|v| v.invariant == invariant) {
        return Err(format!("internal error: the shrunk reproduction no longer violates {invariant}"));
    }
    let after = figures(&last, record.values().map(Vec::len).sum());
    Ok(Shrunk { scenario: current, invariant, before, after, runs: search.runs })
}

fn names<S: System>(outcome: &RunOutcome<S>) -> String {
    let names: Vec<&str> = outcome.violations.iter().map(|v| v.invariant).collect();
    if names.is_empty() {
        "nothing".into()
    } else {
        names.join(", ")
    }
}
