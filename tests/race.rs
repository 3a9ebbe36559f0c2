//! The flagship race of the original slides (order-race): requests #1, #2 and #3 for one
//! ticket arrive together once the orders service knows the ticket. Hardened, exactly
//! one of them reserves it; as built, the double reservation of these three requests
//! (not of the random users') shows in a large share of seeds.

use std::collections::BTreeMap;
use ticketsim::kit::obs::Obs as KitObs;
use ticketsim::ticketing::domain::{Obs, Script};
use ticketsim::ticketing::flaws::Preset;
use ticketsim::ticketing::scenario::Scenario;
use ticketsim::{run_seed, RunOptions};

const SEEDS: u64 = 100;

/// The statuses the three scripted orders (steps 1, 2, 3) were answered, in step order.
fn scripted_statuses(preset: Preset, seed: u64) -> Vec<u16> {
    let s = Scenario { preset, ..Scenario::shipped("order-race").unwrap() };
    let outcome = run_seed(&s, seed, &RunOptions { keep_history: true, ..Default::default() });
    let history = outcome.history.unwrap();
    let entries = history.entries();
    let mut status_of: BTreeMap<u64, u16> = BTreeMap::new();
    let mut request_of: BTreeMap<usize, u64> = BTreeMap::new();
    for e in entries.iter() {
        match e.observed() {
            Some(Obs::Response { req, status, .. }) => {
                status_of.insert(*req, *status);
            }
            Some(KitObs::App(Script::Step { step, req, .. })) if (1..=3).contains(step) => {
                request_of.insert(*step, *req);
            }
            _ => {}
        }
    }
    request_of.values().filter_map(|req| status_of.get(req).copied()).collect()
}

#[test]
fn the_three_requests_race_exactly_one_wins_hardened_and_as_built_often_two_do() {
    let (mut as_built_double, mut all_answered) = (0, 0);
    for seed in 0..SEEDS {
        // A request routed to a paused or crashing instance may get no answer (the
        // client times out): those seeds show at most one reservation, not exactly one.
        let hardened = scripted_statuses(Preset::Hardened, seed);
        let won = hardened.iter().filter(|s| **s == 201).count();
        assert!(won <= 1, "seed {seed}, hardened: at most one reserves: {hardened:?}");
        assert!(hardened.iter().all(|s| *s == 201 || *s == 400), "seed {seed}: the others are refused as reserved: {hardened:?}");
        if hardened.len() == 3 {
            all_answered += 1;
            assert_eq!(won, 1, "seed {seed}, hardened, all three answered: exactly one reserves: {hardened:?}");
        }
        let as_built = scripted_statuses(Preset::AsBuilt, seed);
        if as_built.iter().filter(|s| **s == 201).count() >= 2 {
            as_built_double += 1;
        }
    }
    println!("hardened: all three answered in {all_answered} of {SEEDS} seeds, exactly one reserving in each");
    println!("as built, the three scripted requests double-reserved in {as_built_double} of {SEEDS} seeds");
    assert!(all_answered * 10 >= SEEDS * 9, "the race is run, not lost to timeouts: {all_answered} of {SEEDS}");
    assert!(as_built_double * 2 > SEEDS, "a large share: {as_built_double} of {SEEDS}");
}
