//! Seeds to first detection: how many runs a sweep needs to show one bug, the figure
//! the deep-bug benchmark compares strategies by.

use super::explore::{explore, ExploreOptions, ExploreSummary, StopOn};
use super::system::System;
use std::time::{Duration, Instant};

/// Where trial `t` of a measurement starts (the selftest's and `hunt`'s alike): a
/// million seeds apart, so trials share no seed; trial 0 is the seeds a plain sweep
/// (`explore --seeds 0..N`) runs.
pub fn trial_start(t: u64) -> u64 {
    TRIAL_WINDOW * t
}

/// The seeds between two trials' starts.
pub const TRIAL_WINDOW: u64 = 1_000_000;

/// One sweep's hunt for a bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Hunt {
    /// Seeds run up to and including the first that showed the bug; `None` when none
    /// of `budget` seeds did.
    pub seeds: Option<u64>,
    #[serde(serialize_with = "super::system::ser_duration")]
    pub wall: Duration,
}

/// The first seed of `start..start + budget` whose run shows `stop`, with the sweep's
/// summary (what else that seed violated): a sweep that stops there, starting no larger
/// seed after. Seeds to first detection, for `hunt` and the selftest alike.
pub fn first_seed<S: System>(scenario: &S::Scenario, stop: StopOn, start: u64, budget: u64, jobs: usize) -> Option<(u64, ExploreSummary)> {
    let options = ExploreOptions { jobs, stop_on: Some(stop.clone()), ..ExploreOptions::new(start..start.saturating_add(budget)) };
    let summary = explore::<S>(scenario, &options);
    let seed = match &stop {
        StopOn::Invariant(name) => summary.by_invariant.get(name)?.first()?.seed,
        StopOn::Bug(fingerprint) => summary.groups.get(fingerprint)?.smallest.seed,
    };
    Some((seed, summary))
}

/// Sweeps `start..start + budget` of `scenario` until a run shows `fingerprint`.
pub fn hunt<S: System>(scenario: &S::Scenario, fingerprint: &str, start: u64, budget: u64, jobs: usize) -> Hunt {
    let started = Instant::now();
    let seeds = first_seed::<S>(scenario, StopOn::Bug(fingerprint.to_string()), start, budget, jobs).map(|(seed, _)| seed - start + 1);
    Hunt { seeds, wall: started.elapsed() }
}

/// The median of some seeds-to-detection figures (the upper one of an even count).
pub fn median(values: &[u64]) -> Option<u64> {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied()
}
