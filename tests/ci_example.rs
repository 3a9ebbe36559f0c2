//! How a project puts ticketsim in its own `cargo test`: sweep seeds of a scenario; a
//! failure fails the test with the command that replays it. (This file is the example
//! docs/ci.md points to.)

use ticketsim::ticketing::flaws::{Flaw, Preset};
use ticketsim::testing::Sweep;

#[test]
fn hardened_order_race_holds_every_invariant() {
    let summary = Sweep::scenario("scenarios/order-race.toml").preset(Preset::Hardened).seeds(0..200).assert_clean();
    assert_eq!(summary.seeds_run, 200);
}

#[test]
#[should_panic(expected = "replay with: ticketsim replay scenarios/order-race.toml --seed")]
fn as_built_order_race_fails_with_the_replay_command() {
    Sweep::scenario("scenarios/order-race.toml").preset(Preset::AsBuilt).seeds(0..200).assert_clean();
}

#[test]
fn a_single_flaw_is_reported_with_its_invariant() {
    let error = Sweep::scenario("scenarios/out-of-order-updates.toml")
        .preset(Preset::Hardened)
        .flaw(Flaw::NoVersionCheck)
        .seeds(0..50)
        .check()
        .expect_err("no-version-check must be caught");
    assert!(error.contains("versions-in-sequence"), "{error}");
    assert!(error.contains("--preset hardened --flaw no-version-check"), "{error}");
}
