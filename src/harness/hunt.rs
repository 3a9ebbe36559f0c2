//! Seeds to first detection: how many runs a sweep needs to show one bug, the figure
//! the deep-bug benchmark compares strategies by.

use super::explore::{explore, ExploreOptions, StopOn};
use super::system::System;
use std::time::{Duration, Instant};

/// One sweep's hunt for a bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Hunt {
    /// Seeds run up to and including the first that showed the bug; `None` when none
    /// of `budget` seeds did.
    pub seeds: Option<u64>,
    #[serde(serialize_with = "super::system::ser_duration")]
    pub wall: Duration,
}

/// Sweeps `start..start + budget` of `scenario` until a run shows `fingerprint`.
pub fn hunt<S: System>(scenario: &S::Scenario, fingerprint: &str, start: u64, budget: u64, jobs: usize) -> Hunt {
    let started = Instant::now();
    let options = ExploreOptions {
        jobs,
        stop_on: Some(StopOn::Bug(fingerprint.to_string())),
        ..ExploreOptions::new(start..start.saturating_add(budget))
    };
    let summary = explore::<S>(scenario, &options);
    let seeds = summary.groups.get(fingerprint).map(|g| g.smallest.seed - start + 1);
    Hunt { seeds, wall: started.elapsed() }
}
