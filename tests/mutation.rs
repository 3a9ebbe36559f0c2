//! The test cargo-mutants runs against each mutant of the services' business logic:
//! sweeps of the hardened preset over every scenario, which must stay clean. A mutant
//! is caught only if the simulator's invariants notice it (unit tests are not run), so
//! the mutation score measures the invariants. See docs/invariants.md for the command.

use std::path::Path;
use ticketsim::harness::explore::ExploreOptions;
use ticketsim::ticketing::flaws::Preset;
use ticketsim::ticketing::Scenario;

/// Seeds per scenario: enough to catch what the sweeps of `selftest` catch in a few
/// seconds per mutant.
const SEEDS: u64 = 120;

#[test]
fn hardened_sweeps_stay_clean() {
    let mut failures = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir("scenarios").unwrap().filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.retain(|p| p.extension().is_some_and(|x| x == "toml"));
    paths.sort();
    for path in paths {
        let mut scenario = Scenario::load(Path::new(&path)).unwrap();
        scenario.preset = Preset::Hardened;
        scenario.flaws.clear();
        scenario.without_flaws.clear();
        let summary = ticketsim::explore(&scenario, &ExploreOptions { jobs: 2, fail_fast: true, ..ExploreOptions::new(0..SEEDS) });
        for (invariant, seeds) in &summary.by_invariant {
            failures.push(format!("{}: {invariant} on seed {}: {}", scenario.name, seeds[0].seed, seeds[0].explanation));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
