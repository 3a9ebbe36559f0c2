//! `ticketsim selftest`: proves the simulator catches every flaw. For each flaw, its
//! target scenario runs hardened with only that flaw on (explored with `--strategy`),
//! seed after seed, until the invariant expected to catch it is violated (in `trials`
//! independent seed windows); then every scenario runs hardened and must violate nothing.

use super::flaws::{FlawInfo, CATALOGUE};
use super::scenario::Scenario;
use super::state::Ticketing;
use crate::harness::explore::{explore, ExploreOptions, StopOn};
use crate::kit::broker::BrokerKind;
use std::collections::BTreeSet;
use std::time::Instant;

#[derive(Clone, Debug)]
pub struct SelftestOptions {
    /// Seeds tried per trial before a flaw counts as undetected.
    pub budget: u64,
    /// Independent seed windows per flaw (trial k starts at [`crate::harness::hunt::trial_start`]).
    pub trials: u64,
    /// Seeds of each scenario run hardened.
    pub hardened_seeds: u64,
    pub jobs: usize,
    /// How every sweep explores (see [`crate::harness::strategy`]).
    pub strategy: crate::harness::strategy::Strategy,
    /// Every scenario on this broker (else each on its own); a flaw of the other
    /// broker only is then not applicable.
    pub broker: Option<BrokerKind>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct FlawResult {
    pub flaw: &'static str,
    pub scenario: &'static str,
    pub expected: &'static str,
    /// Invariants violated by the first detecting seed of each trial (union).
    pub violated: Vec<String>,
    /// Seeds run until the first detection, per trial (`None`: not within the budget).
    pub seeds_to_detection: Vec<Option<u64>>,
    pub median_seeds_to_detection: Option<u64>,
    pub wall_seconds: f64,
    pub detected: bool,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct HardenedResult {
    pub scenario: String,
    pub seeds: u64,
    pub failing_seeds: u64,
    pub violated: Vec<String>,
    pub wall_seconds: f64,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct SelftestReport {
    /// The broker every scenario ran on, when `--broker` chose one.
    pub broker: Option<&'static str>,
    pub flaws: Vec<FlawResult>,
    /// Flaws of another broker only, not run (`--broker` chose this one).
    pub not_applicable: Vec<&'static str>,
    pub hardened: Vec<HardenedResult>,
    pub wall_seconds: f64,
    /// Stopped early (Ctrl-C, SIGTERM): what is listed ran; the rest did not.
    pub partial: bool,
}

impl SelftestReport {
    pub fn passed(&self) -> bool {
        self.flaws.iter().all(|f| f.detected) && self.hardened.iter().all(|h| h.failing_seeds == 0)
    }
}

fn hardened(scenario: Scenario, options: &SelftestOptions) -> Scenario {
    let mut scenario = Scenario { strategy: options.strategy, ..scenario.hardened_with(&[]) };
    if let Some(kind) = options.broker {
        scenario.broker.kind = kind.into();
    }
    scenario
}

/// A detecting seed and the invariants it violated.
type Detection = (u64, BTreeSet<String>);

/// The smallest seed in `start..start + budget` whose run violates `invariant`, and the
/// invariants that seed violated: a sweep (of the scenario's strategy) that stops at
/// the first run violating it; no larger seed is started after.
pub fn first_detection(scenario: &Scenario, start: u64, budget: u64, invariant: &str, jobs: usize) -> Option<Detection> {
    let stop = StopOn::Invariant(invariant.to_string());
    let (seed, summary) = crate::harness::hunt::first_seed::<Ticketing>(scenario, stop, start, budget, jobs)?;
    let violated =
        summary.by_invariant.iter().filter(|(_, seeds)| seeds.iter().any(|s| s.seed == seed)).map(|(name, _)| name.clone()).collect();
    Some((seed, violated))
}

pub fn selftest(options: &SelftestOptions) -> Result<SelftestReport, String> {
    let started = Instant::now();
    let load = |name: &str| Scenario::shipped(name).map_err(|e| e.to_string());
    let mut flaws = Vec::new();
    let applies = |info: &&FlawInfo| options.broker.is_none_or(|kind| info.flaw.only_on().is_none_or(|only| only == kind));
    let not_applicable = CATALOGUE.iter().filter(|i| !applies(i)).map(|i| i.name).collect();
    for info in CATALOGUE.iter().filter(applies).take_while(|_| !crate::harness::interrupt::stop_requested()) {
        let target = info.target;
        let flaw_started = Instant::now();
        let mut scenario = hardened(load(target)?, options);
        scenario.flaws = vec![info.name.to_string()];
        let mut violated = BTreeSet::new();
        let mut seeds_to_detection = Vec::new();
        for trial in 0..options.trials {
            let start = crate::harness::hunt::trial_start(trial);
            match first_detection(&scenario, start, options.budget, info.caught_by, options.jobs) {
                Some((seed, invariants)) => {
                    violated.extend(invariants);
                    seeds_to_detection.push(Some(seed - start + 1));
                }
                None => seeds_to_detection.push(None),
            }
        }
        if crate::harness::interrupt::stop_requested() {
            break; // cut short: its trials may not have run, so it is not reported
        }
        let found: Vec<u64> = seeds_to_detection.iter().flatten().copied().collect();
        flaws.push(FlawResult {
            flaw: info.name,
            scenario: target,
            expected: info.caught_by,
            violated: violated.into_iter().collect(),
            median_seeds_to_detection: crate::harness::hunt::median(&found),
            detected: found.len() == seeds_to_detection.len(),
            seeds_to_detection,
            wall_seconds: flaw_started.elapsed().as_secs_f64(),
        });
    }
    let mut hardened_results = Vec::new();
    // Every shipped scenario but the course scripts (which run without faults).
    let names = super::scenario::shipped::names().into_iter().filter(|n| !n.contains('/'));
    for name in names.take_while(|_| !crate::harness::interrupt::stop_requested()) {
        let scenario = hardened(load(name)?, options);
        let summary =
            explore::<Ticketing>(&scenario, &ExploreOptions { jobs: options.jobs, ..ExploreOptions::new(0..options.hardened_seeds) });
        if summary.partial {
            break;
        }
        hardened_results.push(HardenedResult {
            scenario: scenario.name.clone(),
            seeds: summary.seeds_run,
            failing_seeds: summary.failing,
            violated: summary.counts.keys().cloned().collect(),
            wall_seconds: summary.wall.as_secs_f64(),
        });
    }
    let partial = crate::harness::interrupt::stop_requested();
    Ok(SelftestReport {
        broker: options.broker.map(BrokerKind::name),
        flaws,
        not_applicable,
        hardened: hardened_results,
        wall_seconds: started.elapsed().as_secs_f64(),
        partial,
    })
}
