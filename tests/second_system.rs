//! The harness is generic: the replicated register of `examples/register.rs` runs
//! under the same explore, replay, shrink, diagram and determinism check as the
//! ticketing app, and its invariant catches its bug only when the switch is on.

#[path = "../examples/register.rs"]
mod register;

use register::{RegisterScenario, Replicated};
use ticketsim::harness::explore::{explore, ExploreOptions};
use ticketsim::harness::history::TraceFilter;
use ticketsim::harness::run::{run_seed, RunOptions};
use ticketsim::harness::shrink::{run_scenario, shrink};
use ticketsim::report::diagram::Diagram;

fn buggy() -> RegisterScenario {
    RegisterScenario { apply_stale_updates: true, ..Default::default() }
}

#[test]
fn the_invariant_catches_the_bug_with_the_switch_on_and_stays_clean_with_it_off() {
    let caught = explore::<Replicated>(&buggy(), &ExploreOptions { jobs: 2, ..ExploreOptions::new(0..100) });
    assert!(caught.counts.get("backups-never-go-back").is_some_and(|n| *n > 10), "{:?}", caught.counts);
    let clean = explore::<Replicated>(&RegisterScenario::default(), &ExploreOptions { jobs: 2, ..ExploreOptions::new(0..300) });
    assert_eq!(clean.failing, 0, "{:?}", clean.by_invariant);
    assert_eq!(clean.liveness_not_judged, 0, "every clean run settled, so convergence was judged");
}

#[test]
fn a_seed_replays_exactly_and_shrinks_to_a_reproduction_that_needs_the_bug() {
    let seed = explore::<Replicated>(&buggy(), &ExploreOptions::new(0..50)).by_invariant["backups-never-go-back"][0].seed;
    let keep = RunOptions { keep_history: true, ..Default::default() };
    let (a, b) = (run_seed::<Replicated>(&buggy(), seed, &keep), run_seed::<Replicated>(&buggy(), seed, &keep));
    assert_eq!((a.trace_hash, a.violations.clone()), (b.trace_hash, b.violations.clone()));
    let shrunk = shrink::<Replicated>(&buggy(), seed, None, 2000).unwrap();
    assert!(shrunk.after.messages < shrunk.before.messages, "{:?} -> {:?}", shrunk.before, shrunk.after);
    let again = run_scenario::<Replicated>(&shrunk.scenario, None, &RunOptions::default());
    assert!(again.violations.iter().any(|v| v.invariant == "backups-never-go-back"));
    let fixed = RegisterScenario { apply_stale_updates: false, ..shrunk.scenario };
    assert!(run_scenario::<Replicated>(&fixed, None, &RunOptions::default()).violations.is_empty());
}

#[test]
fn its_diagram_marks_the_violation_and_its_runs_are_deterministic() {
    let options = RunOptions { keep_history: true, record_messages: true, ..Default::default() };
    let outcome = run_seed::<Replicated>(&buggy(), 3, &options);
    assert!(outcome.failed());
    let history = outcome.history.as_ref().unwrap();
    let diagram = Diagram::build(&history.entries(), &outcome.violations, &outcome.nodes, &TraceFilter::default());
    let html = diagram.html("register");
    assert!(html.contains("class=\"violation\"") && html.contains("backups-never-go-back") && html.contains("replicate"));
    assert!(diagram.mermaid().contains(" as primary"), "the primary is a participant, whatever its place");
    let report = ticketsim::harness::determinism::check::<Replicated>(&buggy(), 0..10, 2, &RunOptions::default());
    assert_eq!((report.seeds, report.count), (10, 0), "{report:?}");
}
