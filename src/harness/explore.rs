//! Sweeps: run many seeds of a scenario on `jobs` threads (one fresh madsim runtime
//! per seed, nothing shared between seeds), optionally one shard of the range, and
//! group failing seeds by invariant and by bug fingerprint.

use super::fabric::FabricCounters;
use super::nemesis::NemesisCounters;
use super::run::{run_seed, RunOptions};
use super::system::System;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct ExploreOptions {
    pub seeds: Range<u64>,
    pub jobs: usize,
    /// `(index, count)`: run only seeds whose position in the range is `index` mod `count`.
    pub shard: Option<(u64, u64)>,
    pub fail_fast: bool,
    pub progress: bool,
    /// Keep every seed's trace hash in the summary (memory grows with the range).
    pub keep_trace_hashes: bool,
}

impl ExploreOptions {
    pub fn new(seeds: Range<u64>) -> Self {
        ExploreOptions { seeds, jobs: default_jobs(), shard: None, fail_fast: false, progress: false, keep_trace_hashes: false }
    }
}

/// Failing seeds kept per invariant (the smallest ones); the rest are only counted,
/// so memory stays flat however long the sweep.
pub const KEPT_PER_INVARIANT: usize = 100;

/// One failing seed, as grouped under an invariant.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FailingSeed {
    pub seed: u64,
    #[serde(serialize_with = "super::system::ser_duration")]
    pub time: Duration,
    pub explanation: String,
    pub trace_hash: String,
}

#[derive(Clone, Debug, Default)]
pub struct ExploreSummary {
    pub seeds_run: u64,
    pub failing: u64,
    /// Seeds whose liveness was not judged (still working too close to the end).
    pub liveness_not_judged: u64,
    /// The smallest failing seeds (at most [`KEPT_PER_INVARIANT`] per invariant).
    pub failing_seeds: Vec<u64>,
    /// Invariant name to its smallest failing seeds (ascending), first violation of each.
    pub by_invariant: BTreeMap<String, Vec<FailingSeed>>,
    /// Invariant name to how many seeds violated it.
    pub counts: BTreeMap<String, u64>,
    pub fabric: FabricCounters,
    pub nemesis: NemesisCounters,
    pub virtual_time: Duration,
    pub wall: Duration,
    /// Trace hash of every seed run, by seed.
    pub trace_hashes: BTreeMap<u64, u64>,
    /// Failing seeds grouped by bug fingerprint (see `Violation::fingerprint`).
    pub groups: BTreeMap<String, BugGroup>,
    /// Seeds whose fingerprints did not fit in `groups` (past [`MAX_GROUPS`]).
    pub ungrouped: u64,
}

/// One distinct bug: its fingerprint, how many seeds hit it, and the smallest of them.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BugGroup {
    pub fingerprint: String,
    pub invariant: String,
    pub seeds: u64,
    pub smallest: FailingSeed,
}

/// Most distinct fingerprints kept per sweep.
pub const MAX_GROUPS: usize = 500;

/// What a sweep keeps of one seed's run (the history stays in the worker).
struct Finished {
    seed: u64,
    violations: Vec<super::system::Violation>,
    liveness_judged: bool,
    fabric: FabricCounters,
    nemesis: NemesisCounters,
    end: Duration,
    trace_hash: u64,
}

impl Finished {
    fn of<S: System>(outcome: super::run::RunOutcome<S>) -> Self {
        Finished {
            seed: outcome.seed,
            liveness_judged: outcome.liveness.judged(),
            violations: outcome.violations,
            fabric: outcome.fabric,
            nemesis: outcome.nemesis,
            end: outcome.end,
            trace_hash: outcome.trace_hash,
        }
    }

    fn failed(&self) -> bool {
        !self.violations.is_empty()
    }
}

pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

fn seeds_of(options: &ExploreOptions) -> Vec<u64> {
    options
        .seeds
        .clone()
        .filter(|seed| match options.shard {
            Some((index, count)) => (seed - options.seeds.start) % count == index,
            None => true,
        })
        .collect()
}

pub fn explore<S: System>(scenario: &S::Scenario, options: &ExploreOptions) -> ExploreSummary {
    let started = Instant::now();
    let seeds = Arc::new(seeds_of(options));
    let next = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let jobs = options.jobs.max(1).min(seeds.len().max(1));
    let mut workers = Vec::new();
    for _ in 0..jobs {
        let (seeds, next, stop, tx, scenario) = (seeds.clone(), next.clone(), stop.clone(), tx.clone(), scenario.clone());
        workers.push(std::thread::spawn(move || loop {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let i = next.fetch_add(1, Ordering::Relaxed) as usize;
            let Some(&seed) = seeds.get(i) else { break };
            let outcome = run_seed::<S>(&scenario, seed, &RunOptions::default());
            if tx.send(Finished::of(outcome)).is_err() {
                break;
            }
        }));
    }
    drop(tx);
    let show_progress = options.progress && std::io::stderr().is_terminal();
    let mut summary = ExploreSummary::default();
    let mut kept: BTreeMap<String, BTreeMap<u64, FailingSeed>> = BTreeMap::new();
    for outcome in rx {
        summary.seeds_run += 1;
        summary.fabric += outcome.fabric;
        summary.nemesis += outcome.nemesis;
        summary.virtual_time += outcome.end;
        summary.liveness_not_judged += (!outcome.liveness_judged) as u64;
        if options.keep_trace_hashes {
            summary.trace_hashes.insert(outcome.seed, outcome.trace_hash);
        }
        if outcome.failed() {
            summary.failing += 1;
            if options.fail_fast {
                stop.store(true, Ordering::Relaxed);
            }
            let mut fingerprints = Vec::new();
            for v in &outcome.violations {
                let fingerprint = v.fingerprint();
                if fingerprints.contains(&fingerprint) {
                    continue;
                }
                fingerprints.push(fingerprint.clone());
                let failing = FailingSeed {
                    seed: outcome.seed,
                    time: v.time,
                    explanation: v.explanation.clone(),
                    trace_hash: format!("{:016x}", outcome.trace_hash),
                };
                let full = summary.groups.len() >= MAX_GROUPS;
                match summary.groups.get_mut(&fingerprint) {
                    Some(group) => {
                        group.seeds += 1;
                        if outcome.seed < group.smallest.seed {
                            group.smallest = failing;
                        }
                    }
                    None if full => summary.ungrouped += 1,
                    None => {
                        summary.groups.insert(
                            fingerprint.clone(),
                            BugGroup { fingerprint, invariant: v.invariant.to_string(), seeds: 1, smallest: failing },
                        );
                    }
                }
            }
            let mut seen = Vec::new();
            for v in &outcome.violations {
                if seen.contains(&v.invariant) {
                    continue;
                }
                seen.push(v.invariant);
                *summary.counts.entry(v.invariant.to_string()).or_default() += 1;
                let seeds = kept.entry(v.invariant.to_string()).or_default();
                seeds.insert(
                    outcome.seed,
                    FailingSeed {
                        seed: outcome.seed,
                        time: v.time,
                        explanation: v.explanation.clone(),
                        trace_hash: format!("{:016x}", outcome.trace_hash),
                    },
                );
                if seeds.len() > KEPT_PER_INVARIANT {
                    seeds.pop_last();
                }
            }
        }
        if show_progress && (summary.seeds_run % 50 == 0 || summary.seeds_run == seeds.len() as u64) {
            eprint!("\r{} / {} seeds, {} failing", summary.seeds_run, seeds.len(), summary.failing);
        }
    }
    if show_progress {
        eprintln!();
    }
    for worker in workers {
        let _ = worker.join();
    }
    let mut failing: Vec<u64> = kept.values().flat_map(|s| s.keys().copied()).collect();
    failing.sort();
    failing.dedup();
    summary.failing_seeds = failing;
    summary.by_invariant = kept.into_iter().map(|(k, v)| (k, v.into_values().collect())).collect();
    summary.wall = started.elapsed();
    summary
}
