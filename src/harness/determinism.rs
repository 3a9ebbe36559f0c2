//! `check-determinism`: runs each seed twice in a row and once more inside a parallel
//! sweep, and compares the three histories event by event; the second run also replays
//! the first one's decisions draw for draw, so a run that asks for a different decision
//! stops at that very draw. A divergence names the first differing event, its node and
//! its virtual time.

use super::run::{run_seed, RunOptions, RunOutcome};
use super::system::System;
use std::ops::Range;
use std::sync::atomic::AtomicU64;
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// One history event, as compared (the same as a diff's).
pub use super::diff::Step as Event;

#[derive(Clone, Debug, serde::Serialize)]
pub struct Divergence {
    pub seed: u64,
    /// Which runs differ: "second run" or "parallel sweep".
    pub against: &'static str,
    /// The first event where the runs differ (`None`: that run ended earlier).
    pub first: Option<Event>,
    pub other: Option<Event>,
}

fn events<S: System>(outcome: RunOutcome<S>) -> Vec<Event> {
    let Some(history) = outcome.history else {
        let message = outcome.panic.unwrap_or_default();
        return vec![Event { index: 0, time: Duration::ZERO, node: "-".into(), text: format!("the run panicked: {message}") }];
    };
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

/// The seed's first run (its decisions recorded) and its second (checked against them).
fn twice<S: System>(scenario: &S::Scenario, seed: u64, options: &RunOptions) -> (Vec<Event>, Vec<Event>) {
    let first = run_seed::<S>(scenario, seed, &RunOptions { keep_history: true, record_choices: true, ..options.clone() });
    let recording = Arc::new(first.choices.clone().unwrap_or_default());
    let second = run_seed::<S>(scenario, seed, &RunOptions { keep_history: true, replay_exactly: Some(recording), ..options.clone() });
    (events(first), events(second))
}

/// Most divergences kept (the smallest seeds'); the rest are counted.
pub const MAX_DIVERGENCES: usize = 100;

/// What a determinism check found.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Report {
    /// The seeds checked.
    pub seeds: u64,
    /// The first divergences, by seed (at most [`MAX_DIVERGENCES`]).
    pub divergences: Vec<Divergence>,
    /// How many divergences there were in all.
    pub count: u64,
    /// Stopped early (see [`super::interrupt`]).
    pub partial: bool,
}

/// Checks every seed of `seeds`; see [`check_with`].
pub fn check<S: System>(scenario: &S::Scenario, seeds: Range<u64>, jobs: usize, options: &RunOptions) -> Report {
    check_with::<S>(scenario, seeds, jobs, options, &mut |_| {})
}

/// Checks every seed of `seeds`; after each, `progress` sees the report so far. Memory
/// stays flat: seeds are handed out lazily, and a seed's histories are compared and
/// dropped before the next seed's are made.
pub fn check_with<S: System>(
    scenario: &S::Scenario,
    seeds: Range<u64>,
    jobs: usize,
    options: &RunOptions,
    progress: &mut dyn FnMut(&Report),
) -> Report {
    let plan = super::explore::SeedPlan::of(&super::explore::ExploreOptions::new(seeds));
    let jobs = jobs.clamp(1, plan.len().max(1) as usize);
    let next = AtomicU64::new(0);
    let (tx, rx) = mpsc::sync_channel::<(u64, Vec<Event>)>(jobs);
    let mut kept: std::collections::BTreeMap<(u64, &'static str), Divergence> = Default::default();
    let mut report = Report::default();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let (tx, next) = (tx.clone(), &next);
            scope.spawn(move || {
                while !super::interrupt::stop_requested() {
                    let Some(seed) = plan.next(next) else { break };
                    let outcome = run_seed::<S>(scenario, seed, &RunOptions { keep_history: true, ..options.clone() });
                    if tx.send((seed, events(outcome))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (seed, parallel) in rx {
            report.seeds += 1;
            let (first, second) = twice::<S>(scenario, seed, options);
            for (against, other) in [("second run", &second), ("parallel sweep", &parallel)] {
                if let Some((a, b)) = first_difference(&first, other) {
                    report.count += 1;
                    kept.insert((seed, against), Divergence { seed, against, first: a, other: b });
                    if kept.len() > MAX_DIVERGENCES {
                        kept.pop_last();
                    }
                }
            }
            progress(&report);
        }
    });
    report.divergences = kept.into_values().collect();
    report.partial = report.seeds < plan.len() && super::interrupt::stop_requested();
    report
}

/// How often a tie madsim breaks changes a run: each seed run as usual and again with
/// madsim's scheduler on another seed, its own decisions unchanged. madsim picks among
/// the tasks ready at one instant, and advances its clock 50-100 ns per poll, with its
/// own RNG: where two runs part, a tie (or that drift) decided it, not a decision of ours.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Ties {
    pub seeds: u64,
    /// Runs whose events differ at all from their re-scheduled twin.
    pub changed: u64,
    /// Runs whose set of bugs (fingerprints) differs.
    pub verdict_changed: u64,
    /// Of the changed runs, the share of events before they part (mean, 0 to 1).
    pub mean_common_prefix: f64,
    /// The first seeds that changed, with where.
    pub examples: Vec<(u64, Option<super::diff::Step>)>,
}

/// Measures [`Ties`] over `seeds` on `jobs` threads.
pub fn ties<S: System>(scenario: &S::Scenario, seeds: Range<u64>, jobs: usize, progress: &mut dyn FnMut(&Ties)) -> Ties {
    let plan = super::explore::SeedPlan::of(&super::explore::ExploreOptions::new(seeds));
    let next = AtomicU64::new(0);
    let (tx, rx) = mpsc::sync_channel::<(u64, super::diff::RunDiff, bool)>(jobs.max(1));
    let mut ties = Ties::default();
    let mut prefix_sum = 0.0;
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            let (tx, next) = (tx.clone(), &next);
            scope.spawn(move || {
                while !super::interrupt::stop_requested() {
                    let Some(seed) = plan.next(next) else { break };
                    let kept = RunOptions { keep_history: true, ..RunOptions::default() };
                    let a = run_seed::<S>(scenario, seed, &kept);
                    let b = run_seed::<S>(scenario, seed, &RunOptions { scheduler_seed: Some(super::choices::splitmix64(!seed)), ..kept });
                    let prints =
                        |o: &RunOutcome<S>| o.violations.iter().map(|v| v.fingerprint()).collect::<std::collections::BTreeSet<_>>();
                    let verdict = prints(&a) != prints(&b);
                    if tx.send((seed, super::diff::diff(&a, &b, &[]), verdict)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (seed, diff, verdict) in rx {
            ties.seeds += 1;
            if let Some(parting) = diff.parting {
                ties.changed += 1;
                prefix_sum += diff.common_prefix as f64 / diff.original_events.max(1) as f64;
                if ties.examples.len() < 10 {
                    ties.examples.push((seed, parting.original));
                }
            }
            ties.verdict_changed += verdict as u64;
            progress(&ties);
        }
    });
    ties.examples.sort_by_key(|(seed, _)| *seed);
    ties.mean_common_prefix = if ties.changed > 0 { prefix_sum / ties.changed as f64 } else { 1.0 };
    ties
}
