//! The tests cargo-mutants runs against each mutant of the services' business logic,
//! all through the simulator (no unit test): sweeps of the hardened preset over every
//! scenario, uniform and PCT, which must stay clean and settle; the course scenarios, which must pass as
//! built and hardened; and every flaw of the catalogue, which must still be caught by
//! its invariant. The mutation score thus measures the invariants. See
//! docs/invariants.md for the command and the figures.

use std::path::Path;
use ticketsim::harness::explore::ExploreOptions;
use ticketsim::harness::run::RunOptions;
use ticketsim::harness::strategy::Strategy;
use ticketsim::ticketing::flaws::CATALOGUE;
use ticketsim::ticketing::selftest::first_detection;
use ticketsim::ticketing::Scenario;

/// Seeds per scenario: enough to catch what the sweeps of `selftest` catch in a few
/// seconds per mutant.
const SEEDS: u64 = 120;

fn scenarios(dir: &str) -> Vec<Scenario> {
    let mut paths: Vec<_> = std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.retain(|p| p.extension().is_some_and(|x| x == "toml"));
    paths.sort();
    paths.iter().map(|p| Scenario::load(Path::new(p)).unwrap()).collect()
}

fn hardened(s: Scenario) -> Scenario {
    s.hardened_with(&[])
}

/// Uniform, and PCT, which runs into the races two handlers rarely meet (a cancel
/// between a payment's check and its charge, a status changed under a write) several
/// times as often (docs/invariants.md, mutation testing).
const STRATEGIES: [Strategy; 2] = [Strategy::Uniform, Strategy::Pct { depth: 3 }];

#[test]
fn hardened_sweeps_stay_clean_and_settle() {
    let mut failures = Vec::new();
    for scenario in scenarios("scenarios").into_iter().map(hardened) {
        for strategy in STRATEGIES {
            let scenario = Scenario { strategy, ..scenario.clone() };
            let summary = ticketsim::explore(&scenario, &ExploreOptions { jobs: 2, fail_fast: true, ..ExploreOptions::new(0..SEEDS) });
            for (invariant, seeds) in &summary.by_invariant {
                failures.push(format!("{} ({strategy}): {invariant} on seed {}: {}", scenario.name, seeds[0].seed, seeds[0].explanation));
            }
            if summary.liveness_not_judged > 0 {
                failures.push(format!(
                    "{} ({strategy}): {} seeds never settled (still working at the end)",
                    scenario.name, summary.liveness_not_judged
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn course_scenarios_pass_as_built_and_hardened() {
    for scenario in scenarios("scenarios/course") {
        for s in [scenario.clone(), hardened(scenario)] {
            let outcome = ticketsim::run_seed(&s, 0, &RunOptions::default());
            assert!(outcome.violations.is_empty(), "{} ({:?}): {:?}", s.name, s.preset, outcome.violations);
        }
    }
}

#[test]
fn every_flaw_is_still_caught_by_its_invariant() {
    let mut missed = Vec::new();
    for info in CATALOGUE {
        let mut s = hardened(Scenario::load(Path::new(&format!("scenarios/{}.toml", info.target))).unwrap());
        s.flaws = vec![info.name.to_string()];
        if first_detection(&s, 0, 300, info.caught_by, 2).is_none() {
            missed.push(info.name);
        }
    }
    assert!(missed.is_empty(), "not caught within 300 seeds: {missed:?}");
}
