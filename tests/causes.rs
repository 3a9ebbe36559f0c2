//! Why it fails: decisions keyed by what they decide make the same seed with a flaw
//! fixed the same run up to the flaw's first line; every catalogue flaw is attributed to
//! exactly itself on a failing seed of its target; madsim's tie-breaks do not change
//! runs; a reproduction of the old positional format is refused with a clear error.

use std::path::Path;
use std::process::Command;
use ticketsim::harness::attribute::{attribute, Attribution};
use ticketsim::harness::diff::diff;
use ticketsim::harness::run::{run_seed, RunOptions};
use ticketsim::harness::shrink::shows;
use ticketsim::harness::switches::first;
use ticketsim::kit::broker::BrokerKind;
use ticketsim::ticketing::flaws::{Flaw, Preset, CATALOGUE};
use ticketsim::ticketing::selftest::first_detection;
use ticketsim::ticketing::{Scenario, Ticketing};

fn scenario(name: &str) -> Scenario {
    Scenario::load(Path::new(&format!("scenarios/{name}.toml"))).unwrap()
}

fn with_flaw(target: &str, flaw: &str) -> Scenario {
    scenario(target).hardened_with(&[flaw])
}

#[test]
fn the_same_seed_with_a_flaw_fixed_is_the_same_run_until_the_flaw_s_line_decides() {
    let mut s = scenario("order-race");
    s.preset = Preset::AsBuilt;
    let kept = RunOptions { keep_history: true, log_switches: true, ..RunOptions::default() };
    let original = run_seed::<Ticketing>(&s, 6, &kept);
    assert!(original.violations.iter().any(|v| v.invariant == "no-double-reservation"), "{:?}", original.violations);
    let fixed = run_seed::<Ticketing>(&s.with_flaw_off(Flaw::RacyReservation), 6, &kept);
    let d = diff(&original, &fixed, &["racy-reservation".to_string()]);
    let parting = d.parting.expect("the fix changes the run");
    let log = original.switches.as_deref().unwrap();
    let decided = first(log, "racy-reservation").expect("the flaw's line ran").time;
    let at = parting.original.as_ref().or(parting.other.as_ref()).unwrap().time;
    assert!(at >= decided, "the runs part at {at:?}, before the flaw's line first ran at {decided:?}");
    assert!(d.common_prefix > 10, "{} events in common", d.common_prefix);
    assert_eq!(parting.deciding.unwrap().switch, "racy-reservation");
    assert!(!fixed.violations.iter().any(|v| v.invariant == "no-double-reservation"), "the race is gone: {:?}", fixed.violations);
    // A flaw the run never consulted leaves it the same, event for event.
    let untouched = run_seed::<Ticketing>(&s.with_flaw_off(Flaw::AccountsNoSequence), 6, &kept);
    assert!(diff(&original, &untouched, &[]).parting.is_none());
}

#[test]
fn every_catalogue_flaw_is_attributed_to_exactly_itself_on_both_brokers() {
    for (kind, info) in BrokerKind::ALL.into_iter().flat_map(|b| CATALOGUE.iter().map(move |i| (b, i))) {
        if info.flaw.only_on().is_some_and(|only| only != kind) {
            continue;
        }
        let mut s = with_flaw(info.target, info.name);
        s.broker.kind = kind.into();
        let (seed, _) =
            first_detection(&s, 0, 500, info.caught_by, 2).unwrap_or_else(|| panic!("{} is found on {}", info.name, kind.name()));
        let outcome = run_seed::<Ticketing>(&s, seed, &RunOptions::default());
        let v = outcome.violations.iter().find(|v| v.invariant == info.caught_by).unwrap();
        let rerun = |sc: &Scenario, o: &RunOptions| run_seed::<Ticketing>(sc, seed, o);
        match attribute::<Ticketing>(&s, v.invariant, &v.fingerprint(), &rerun) {
            Attribution::Caused { causes, sufficient, necessary } => {
                assert_eq!(causes, vec![info.name.to_string()], "{} seed {seed} on {}", info.name, kind.name());
                assert!(sufficient.shows && necessary.iter().all(|c| !c.shows), "{}", info.name);
            }
            other => panic!("{} seed {seed}: {other:?}", info.name),
        }
    }
}

#[test]
fn a_failure_with_no_flaw_on_is_not_attributed_and_says_why() {
    let s = with_flaw("order-race", "racy-reservation");
    let outcome = run_seed::<Ticketing>(&s, 0, &RunOptions::default());
    let hardened = Scenario { flaws: vec![], ..s };
    let rerun = |sc: &Scenario, o: &RunOptions| run_seed::<Ticketing>(sc, 0, o);
    let fp = outcome.violations.first().map(|v| v.fingerprint()).unwrap_or_else(|| "no-double-reservation: x".into());
    match attribute::<Ticketing>(&hardened, "no-double-reservation", &fp, &rerun) {
        Attribution::NotAttributed { why } => assert!(why.contains("no bug switch"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(!shows(&outcome, "nothing", None));
}

#[test]
fn madsim_s_tie_breaks_do_not_change_runs() {
    let s = scenario("walkthrough");
    for seed in 0..20 {
        let kept = RunOptions { keep_history: true, ..RunOptions::default() };
        let a = run_seed::<Ticketing>(&s, seed, &kept);
        let b = run_seed::<Ticketing>(&s, seed, &RunOptions { scheduler_seed: Some(seed ^ 0xdead_beef), ..kept });
        assert!(diff(&a, &b, &[]).parting.is_none(), "seed {seed} changes with madsim's scheduler seed");
    }
}

#[test]
fn a_reproduction_of_the_positional_format_is_refused_naming_the_version() {
    let dir = std::env::temp_dir().join(format!("ticketsim-old-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("old.toml");
    let text =
        "name = \"order-race\"\npreset = \"as-built\"\n[reproduce]\nseed = 9\ninvariant = \"no-double-reservation\"\nbranch = \"3@10\"\n";
    std::fs::write(&file, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ticketsim")).args(["run", file.to_str().unwrap()]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("ticketsim 0.1") && stderr.contains("format 1") && stderr.contains("shrink the original"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn explore_names_the_flaw_to_fix_first_and_fix_shows_the_violation_gone() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_ticketsim")).args(args).env("NO_COLOR", "1").output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, text) = run(&["explore", "order-race", "--preset", "hardened", "--flaw", "racy-reservation", "--seeds", "0..60", "--quiet"]);
    assert_eq!(code, Some(1));
    assert!(text.contains("fix racy-reservation first"), "{text}");
    let (code, text) =
        run(&["run", "order-race", "--seed", "6", "--preset", "hardened", "--flaw", "racy-reservation", "--fix", "racy-reservation"]);
    assert_eq!(code, Some(1), "the exit code is the original run's");
    assert!(text.contains("decided by racy-reservation at src/ticketing/services/orders.rs"), "{text}");
    assert!(text.contains("the violation is gone"), "{text}");
    let (code, _) = run(&["run", "order-race", "--preset", "hardened", "--fix", "racy-reservation"]);
    assert_eq!(code, Some(2), "a flaw that is not on cannot be fixed: a usage error");
}
