//! Sweeps: run many seeds of a scenario on `jobs` threads (one fresh madsim runtime
//! per seed, nothing shared between seeds), optionally one shard of the range, and
//! group failing seeds by invariant.

use crate::run::{run_seed, RunOptions};
use crate::scenario::Scenario;
use crate::sim::fabric::FabricCounters;
use crate::sim::nemesis::NemesisCounters;
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
}

/// One failing seed, as grouped under an invariant.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FailingSeed {
    pub seed: u64,
    #[serde(serialize_with = "crate::report::ser_duration")]
    pub time: Duration,
    pub explanation: String,
    pub trace_hash: String,
}

#[derive(Clone, Debug, Default)]
pub struct ExploreSummary {
    pub seeds_run: u64,
    pub failing_seeds: Vec<u64>,
    /// Invariant name to failing seeds (ascending), first violation of each.
    pub by_invariant: BTreeMap<String, Vec<FailingSeed>>,
    pub fabric: FabricCounters,
    pub nemesis: NemesisCounters,
    pub virtual_time: Duration,
    pub wall: Duration,
    /// Trace hash of every seed run, by seed.
    pub trace_hashes: BTreeMap<u64, u64>,
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

pub fn explore(scenario: &Scenario, options: &ExploreOptions) -> ExploreSummary {
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
            let outcome = run_seed(&scenario, seed, &RunOptions::default());
            if tx.send(outcome).is_err() {
                break;
            }
        }));
    }
    drop(tx);
    let show_progress = options.progress && std::io::stderr().is_terminal();
    let mut summary = ExploreSummary::default();
    let mut outcomes = Vec::new();
    for outcome in rx {
        summary.seeds_run += 1;
        if outcome.failed() && options.fail_fast {
            stop.store(true, Ordering::Relaxed);
        }
        if show_progress && (summary.seeds_run % 50 == 0 || summary.seeds_run == seeds.len() as u64) {
            let failing = outcomes.iter().filter(|o: &&crate::run::RunOutcome| o.failed()).count() + outcome.failed() as usize;
            eprint!("\r{} / {} seeds, {} failing", summary.seeds_run, seeds.len(), failing);
        }
        outcomes.push(outcome);
    }
    if show_progress {
        eprintln!();
    }
    for worker in workers {
        let _ = worker.join();
    }
    outcomes.sort_by_key(|o| o.seed);
    for outcome in &outcomes {
        add(&mut summary.fabric, &outcome.fabric);
        add_nemesis(&mut summary.nemesis, &outcome.nemesis);
        summary.virtual_time += outcome.end;
        summary.trace_hashes.insert(outcome.seed, outcome.trace_hash);
        if outcome.failed() {
            summary.failing_seeds.push(outcome.seed);
            let mut seen = Vec::new();
            for v in &outcome.violations {
                if seen.contains(&v.invariant) {
                    continue;
                }
                seen.push(v.invariant);
                summary.by_invariant.entry(v.invariant.to_string()).or_default().push(FailingSeed {
                    seed: outcome.seed,
                    time: v.time,
                    explanation: v.explanation.clone(),
                    trace_hash: format!("{:016x}", outcome.trace_hash),
                });
            }
        }
    }
    summary.wall = started.elapsed();
    summary
}

fn add(total: &mut FabricCounters, c: &FabricCounters) {
    total.sent += c.sent;
    total.delivered += c.delivered;
    total.dropped_random += c.dropped_random;
    total.dropped_partition += c.dropped_partition;
    total.dropped_node_down += c.dropped_node_down;
    total.duplicated += c.duplicated;
}

fn add_nemesis(total: &mut NemesisCounters, c: &NemesisCounters) {
    total.crashes += c.crashes;
    total.restarts += c.restarts;
    total.broker_restarts += c.broker_restarts;
    total.pauses += c.pauses;
    total.partitions += c.partitions;
}
