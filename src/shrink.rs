//! Shrinking a failing run to a small reproduction while the *same* invariant still
//! fails. Two passes: first the scenario's parameters (fewer users, requests, steps,
//! instances, fault kinds, shorter faults and phases), re-running the seed each time;
//! then delta debugging over the run's recorded choices (zeroing them: no drop, no
//! duplicate, the shortest delay, the first option). The result is a reproduction file
//! (the reduced scenario plus `[reproduce]`: seed, invariant, choices) that `ticketsim
//! run FILE` replays exactly.

use crate::run::{run_seed, RunOptions, RunOutcome};
use crate::scenario::{Dur, Reproduce, Scenario};
use crate::sim::choices::{by_site, Record, Site};
use std::time::Duration;

/// Size of a run, before and after shrinking.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Figures {
    pub messages: u64,
    pub events: usize,
    #[serde(serialize_with = "crate::report::ser_duration")]
    pub virtual_time: Duration,
    pub choices: usize,
}

pub struct Shrunk {
    pub scenario: Scenario,
    pub invariant: String,
    pub before: Figures,
    pub after: Figures,
    pub runs: usize,
}

fn figures(outcome: &RunOutcome, choices: usize) -> Figures {
    Figures { messages: outcome.fabric.sent, events: outcome.history_len, virtual_time: outcome.end, choices }
}

/// Runs a reproduction file's seed with its recorded choices (or a plain seed).
pub fn run_reproduction(scenario: &Scenario, options: &RunOptions) -> RunOutcome {
    let reproduce = scenario.reproduce.as_ref().expect("a reproduction file");
    let options = RunOptions { replay_choices: reproduce.choices.clone(), ..options.clone() };
    run_seed(scenario, reproduce.seed, &options)
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
    fn fails(&mut self, scenario: &Scenario, record: Option<&Record>) -> bool {
        self.fails_with(scenario, self.seed, record)
    }

    fn fails_with(&mut self, scenario: &Scenario, seed: u64, record: Option<&Record>) -> bool {
        if self.runs >= self.budget {
            return false;
        }
        self.runs += 1;
        let options = RunOptions { replay_choices: record.cloned(), ..Default::default() };
        run_seed(scenario, seed, &options).violations.iter().any(|v| v.invariant == self.invariant)
    }

    /// Whether the candidate fails on this seed or one of the next few; moves to that seed.
    fn fails_nearby(&mut self, scenario: &Scenario) -> bool {
        for seed in self.seed..self.seed + SEEDS_PER_EDIT {
            if self.fails_with(scenario, seed, None) {
                self.seed = seed;
                return true;
            }
        }
        false
    }
}

/// One simplification of a scenario; `None` when it does not apply.
type Edit = Box<dyn Fn(&Scenario) -> Option<Scenario>>;

fn edits(scenario: &Scenario) -> Vec<Edit> {
    let mut edits: Vec<Edit> = Vec::new();
    let set = |f: fn(&mut Scenario) -> bool| -> Edit {
        Box::new(move |s: &Scenario| {
            let mut next = s.clone();
            f(&mut next).then_some(next)
        })
    };
    // Fault kinds off.
    edits.push(set(|s| std::mem::replace(&mut s.nemesis.crashes, 0) > 0));
    edits.push(set(|s| std::mem::replace(&mut s.nemesis.broker_restarts, 0) > 0));
    edits.push(set(|s| std::mem::replace(&mut s.nemesis.pauses, 0) > 0));
    edits.push(set(|s| std::mem::replace(&mut s.nemesis.partitions, 0) > 0));
    edits.push(set(|s| std::mem::replace(&mut s.network.drop_probability, 0.0) > 0.0));
    edits.push(set(|s| std::mem::replace(&mut s.network.duplicate_probability, 0.0) > 0.0));
    // Fewer users and requests.
    edits.push(set(|s| std::mem::replace(&mut s.workload.users, 0) > 0));
    edits.push(set(|s| halve(&mut s.workload.users)));
    edits.push(set(|s| halve(&mut s.workload.operations)));
    edits.push(set(|s| decrement(&mut s.workload.users)));
    edits.push(set(|s| decrement(&mut s.workload.operations)));
    edits.push(set(|s| std::mem::replace(&mut s.workload.initial_tickets, 0) > 0));
    edits.push(set(|s| halve(&mut s.workload.initial_tickets)));
    for i in (0..scenario.workload.steps.len()).rev() {
        edits.push(Box::new(move |s: &Scenario| {
            let mut next = s.clone();
            (i < next.workload.steps.len()).then(|| {
                next.workload.steps.remove(i);
                next
            })
        }));
    }
    edits.push(set(|s| !std::mem::take(&mut s.expect).is_empty()));
    edits.push(set(|s| !std::mem::take(&mut s.expect_account).is_empty()));
    // Fewer instances.
    for kind in crate::services::ServiceKind::ALL {
        for fewer in [1, 0] {
            edits.push(Box::new(move |s: &Scenario| {
                let mut next = s.clone();
                let count = instances(&mut next, kind);
                if *count <= fewer {
                    return None;
                }
                *count = fewer;
                Some(next)
            }));
        }
    }
    // Shorter faults, delays and phases.
    edits.push(set(|s| halve_range(&mut s.nemesis.crash_downtime)));
    edits.push(set(|s| halve_range(&mut s.nemesis.broker_downtime)));
    edits.push(set(|s| halve_range(&mut s.nemesis.pause_duration)));
    edits.push(set(|s| halve_range(&mut s.nemesis.partition_duration)));
    edits.push(set(|s| halve_range(&mut s.network.delay)));
    edits.push(set(|s| halve_dur(&mut s.phases.quiet, Duration::ZERO)));
    edits.push(set(|s| {
        let last_step = s.workload.steps.iter().map(|st| st.at.0).max().unwrap_or_default();
        halve_dur(&mut s.phases.duration, last_step + Duration::from_millis(1))
    }));
    edits
}

fn instances(s: &mut Scenario, kind: crate::services::ServiceKind) -> &mut u32 {
    use crate::services::ServiceKind::*;
    match kind {
        Tickets => &mut s.services.tickets,
        Orders => &mut s.services.orders,
        Expiration => &mut s.services.expiration,
        Payments => &mut s.services.payments,
        Transactions => &mut s.services.transactions,
        Accounts => &mut s.services.accounts,
    }
}

fn decrement(n: &mut u32) -> bool {
    let before = *n;
    *n = n.saturating_sub(1);
    *n != before
}

fn halve(n: &mut u32) -> bool {
    let before = *n;
    *n /= 2;
    *n != before
}

fn halve_dur(d: &mut Dur, floor: Duration) -> bool {
    let next = (d.0 / 2).max(floor);
    let changed = next < d.0;
    d.0 = next;
    changed
}

fn halve_range(r: &mut [Dur; 2]) -> bool {
    let high = (r[1].0 / 2).max(r[0].0);
    let changed = high < r[1].0;
    r[1].0 = high;
    changed
}

/// Whether the scenario is still valid (an edit may remove a step others refer to).
fn valid(scenario: &Scenario) -> bool {
    let text = toml::to_string(scenario).unwrap_or_default();
    Scenario::parse("candidate", &text).is_ok()
}

/// Delta debugging (ddmin) over the positions of non-zero choices: finds a small set of
/// choices that must keep their recorded values; all others are zeroed.
fn minimize_choices(search: &mut Search, scenario: &Scenario, record: &Record) -> Record {
    let positions: Vec<(Site, usize)> = record
        .iter()
        .flat_map(|(site, values)| values.iter().enumerate().filter(|(_, v)| **v != 0).map(move |(i, _)| (*site, i)))
        .collect();
    let build = |kept: &[(Site, usize)]| -> Record {
        let mut out: Record = record.iter().map(|(site, values)| (*site, vec![0; values.len()])).collect();
        for (site, i) in kept {
            out.get_mut(site).unwrap()[*i] = record[site][*i];
        }
        out
    };
    // First whole sites: often all drops, or all delays, can go at once.
    let mut kept = positions;
    for site in Site::ALL {
        let without: Vec<(Site, usize)> = kept.iter().copied().filter(|(s, _)| *s != site).collect();
        if without.len() < kept.len() && search.fails(scenario, Some(&build(&without))) {
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
            if search.fails(scenario, Some(&build(&complement))) {
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
    if kept.len() == 1 && search.fails(scenario, Some(&build(&[]))) {
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
pub fn shrink(scenario: &Scenario, seed: u64, invariant: Option<&str>, budget: usize) -> Result<Shrunk, String> {
    let original = run_seed(scenario, seed, &RunOptions { record_choices: true, ..Default::default() });
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
    let mut current = Scenario { reproduce: None, ..scenario.clone() };
    loop {
        let mut changed = false;
        for edit in edits(&current) {
            if let Some(candidate) = edit(&current) {
                if valid(&candidate) && search.fails_nearby(&candidate) {
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
    let live = run_seed(&current, seed, &RunOptions { record_choices: true, ..Default::default() });
    search.runs += 1;
    let record = by_site(live.choices.as_deref().unwrap_or_default());
    let record = minimize_choices(&mut search, &current, &record);
    current.reproduce = Some(Reproduce { seed, invariant: invariant.clone(), choices: Some(record.clone()) });
    let last = run_reproduction(&current, &RunOptions::default());
    if !last.violations.iter().any(|v| v.invariant == invariant) {
        return Err(format!("internal error: the shrunk reproduction no longer violates {invariant}"));
    }
    let after = figures(&last, record.values().map(Vec::len).sum());
    Ok(Shrunk { scenario: current, invariant, before, after, runs: search.runs })
}

fn names(outcome: &RunOutcome) -> String {
    let names: Vec<&str> = outcome.violations.iter().map(|v| v.invariant).collect();
    if names.is_empty() {
        "nothing".into()
    } else {
        names.join(", ")
    }
}

/// The reproduction file's text.
pub fn to_file(scenario: &Scenario) -> String {
    let body = toml::to_string(scenario).expect("scenarios serialize");
    format!("# A reproduction written by `ticketsim shrink`: `ticketsim run` on this file replays it.\n{body}")
}
