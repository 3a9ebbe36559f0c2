//! `check-determinism`: runs each seed twice in a row and once more inside a parallel
//! sweep, and compares the three histories event by event. A divergence names the first
//! differing event, its node and its virtual time.

use crate::run::{run_seed, RunOptions};
use crate::scenario::Scenario;
use std::ops::Range;
use std::sync::mpsc;
use std::time::Duration;

/// One history event, as compared.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Event {
    pub index: usize,
    #[serde(serialize_with = "crate::report::ser_duration")]
    pub time: Duration,
    pub node: String,
    pub text: String,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Divergence {
    pub seed: u64,
    /// Which runs differ: "second run" or "parallel sweep".
    pub against: &'static str,
    /// The first event where the runs differ (`None`: that run ended earlier).
    pub first: Option<Event>,
    pub other: Option<Event>,
}

fn events(scenario: &Scenario, seed: u64, options: &RunOptions) -> Vec<Event> {
    let outcome = run_seed(scenario, seed, &RunOptions { keep_history: true, ..options.clone() });
    let history = outcome.history.expect("kept");
    let entries = history.entries();
    entries
        .iter()
        .map(|e| Event { index: e.index, time: e.time, node: e.node.as_deref().unwrap_or("-").to_string(), text: e.record.to_string() })
        .collect()
}

fn first_difference(a: &[Event], b: &[Event]) -> Option<(Option<Event>, Option<Event>)> {
    let n = a.len().max(b.len());
    (0..n).find(|&i| a.get(i) != b.get(i)).map(|i| (a.get(i).cloned(), b.get(i).cloned()))
}

/// Checks every seed of `seeds`; returns the divergences found.
pub fn check(scenario: &Scenario, seeds: Range<u64>, jobs: usize, options: &RunOptions) -> Vec<Divergence> {
    // The parallel sweep: `jobs` threads, one runtime per seed, histories sent back.
    let (tx, rx) = mpsc::channel();
    let all: Vec<u64> = seeds.collect();
    let chunks: Vec<Vec<u64>> = (0..jobs.max(1)).map(|j| all.iter().copied().skip(j).step_by(jobs.max(1)).collect()).collect();
    let mut divergences = Vec::new();
    std::thread::scope(|scope| {
        for chunk in chunks {
            let tx = tx.clone();
            scope.spawn(move || {
                for seed in chunk {
                    let _ = tx.send((seed, events(scenario, seed, options)));
                }
            });
        }
        drop(tx);
        for (seed, parallel) in rx {
            let first = events(scenario, seed, options);
            let second = events(scenario, seed, options);
            for (against, other) in [("second run", &second), ("parallel sweep", &parallel)] {
                if let Some((a, b)) = first_difference(&first, other) {
                    divergences.push(Divergence { seed, against, first: a, other: b });
                }
            }
        }
    });
    divergences.sort_by_key(|d| d.seed);
    divergences
}
