//! The second app on the kit, `examples/shop.rs`, driven through its own binary (the
//! library's CLI, `cli::main_for::<Shop>()`): explore finds its planted bug and only with
//! the switch on, replay is exact, shrink writes a reproduction that `run` replays and
//! that needs the bug, diagram marks the violation, bad input exits 2, and the rush
//! strategy's pace brings its orders sooner.

use std::path::PathBuf;
use std::process::{Command, Output};

/// `cargo test` builds the examples next to the binaries: `target/<profile>/examples/shop`.
fn shop_binary() -> PathBuf {
    let ticketsim = PathBuf::from(env!("CARGO_BIN_EXE_ticketsim"));
    let path = ticketsim.parent().unwrap().join("examples").join(format!("shop{}", std::env::consts::EXE_SUFFIX));
    assert!(path.is_file(), "{} is missing: cargo test builds the examples", path.display());
    path
}

fn shop(args: &[&str]) -> Output {
    Command::new(shop_binary()).args(args).output().expect("shop runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o.stdout)))
}

/// The shipped scenario's text, as the example defines it.
fn examples_saga() -> &'static str {
    let source = include_str!("../examples/shop.rs");
    let start = source.find("pub const SAGA: &str = r#\"").unwrap() + "pub const SAGA: &str = r#\"".len();
    &source[start..start + source[start..].find("\"#;").unwrap()]
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ticketsim-shop-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One sweep with the flaw on: its smallest failing seed is what every other test uses.
fn first_failing_seed() -> String {
    let out = shop(&["explore", "saga", "--seeds", "0..40", "--flaw", "double-reserve", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report = json(&out);
    let bug = &report["bugs"][0];
    assert_eq!(bug["invariant"], "stock-conserved", "{report:#}");
    assert_eq!(report["causes"]["bugs"][0]["attribution"]["causes"][0], "double-reserve", "verified on the same decisions");
    bug["smallest_seed"].as_u64().unwrap().to_string()
}

#[test]
fn explore_finds_the_double_reservation_only_with_the_switch_on() {
    let seed = first_failing_seed();
    assert!(!seed.is_empty());
    let clean = shop(&["explore", "saga", "--seeds", "0..150", "--format", "json"]);
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean.stdout));
    let report = json(&clean);
    assert_eq!(report["failing"], 0, "{report:#}");
    assert_eq!(report["liveness_not_judged"], 0, "every hardened run settled, so every-order-settles was judged");
}

#[test]
fn replay_is_exact_and_shrink_writes_a_reproduction_that_needs_the_bug() {
    let seed = first_failing_seed();
    let replay = shop(&["replay", "saga", "--seed", &seed, "--flaw", "double-reserve"]);
    assert_eq!(replay.status.code(), Some(1));
    let trace = text(&replay.stdout);
    assert!(trace.contains("stock-conserved") && trace.contains("inventory"), "{trace}");
    let again = shop(&["replay", "saga", "--seed", &seed, "--flaw", "double-reserve"]);
    assert_eq!(trace, text(&again.stdout), "the same seed gives the same trace");

    let dir = temp_dir("shrink");
    let file = dir.join("repro.toml");
    let args = ["shrink", "saga", "--seed", &seed, "--flaw", "double-reserve", "--out", file.to_str().unwrap(), "--format", "json"];
    let shrunk = shop(&args);
    assert_eq!(shrunk.status.code(), Some(0), "{}", text(&shrunk.stderr));
    let report = json(&shrunk);
    let (before, after) = (report["before"]["messages"].as_u64().unwrap(), report["after"]["messages"].as_u64().unwrap());
    assert!(after <= before, "{before} -> {after} messages");
    let run = shop(&["run", file.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stderr));
    assert!(text(&run.stdout).contains("reproduction of stock-conserved: reproduced"), "{}", text(&run.stdout));
    let fixed = shop(&["run", file.to_str().unwrap(), "--flaw=-double-reserve"]);
    assert_eq!(fixed.status.code(), Some(0), "the reproduction passes with the bug fixed: {}", text(&fixed.stdout));
}

#[test]
fn diagram_marks_the_violation_and_bad_input_exits_2() {
    let seed = first_failing_seed();
    let dir = temp_dir("diagram");
    let out = shop(&["diagram", "saga", "--seed", &seed, "--flaw", "double-reserve", "--out", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let html = std::fs::read_to_string(dir.join("diagram.html")).unwrap();
    for part in ["<svg", "class=\"violation\"", "stock-conserved", "inventory", "shipping"] {
        assert!(html.contains(part), "html lacks {part}");
    }

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "name = \"x\"\norders = 3\nshelves = 2\n").unwrap();
    let out = shop(&["run", bad.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("bad.toml:3") && err.contains("shelves") && err.contains("expected one of"), "{err}");
    let saga = text(&shop(&["run", "saga", "--seed", "0"]).stdout);
    assert!(saga.contains("no invariant violated"), "{saga}");
    let line = examples_saga().lines().position(|l| l.starts_with("duplicate_probability")).unwrap() + 1;
    std::fs::write(&bad, examples_saga().replace("duplicate_probability = 0.05", "duplicate_probability = 1.5")).unwrap();
    let out = shop(&["run", bad.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("bad.toml:{line}: key `duplicate_probability`: 1.5; allowed: 0 to 0.5")), "{err}");
    let out = shop(&["explore", "saga", "--flaw", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("double-reserve"), "the error names the allowed switches: {}", text(&out.stderr));
    assert_eq!(shop(&["list"]).status.code(), Some(2), "ticketing's own commands are not the shop's");
}

#[test]
fn rush_brings_the_orders_at_its_pace() {
    // The time of the last request a run's trace shows.
    let last_request = |seed: &str, strategy: &str| -> f64 {
        let out = shop(&["replay", "saga", "--seed", seed, "--strategy", strategy]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let trace = text(&out.stdout);
        let times = trace.lines().filter(|l| l.contains(" request #")).filter_map(|l| l.trim().split('s').next()?.parse::<f64>().ok());
        times.fold(0.0, f64::max)
    };
    let mut rushed = 0;
    for seed in 0..6 {
        let seed = seed.to_string();
        let plan = json(&shop(&["run", "saga", "--seed", &seed, "--strategy", "rush", "--format", "json"]))["plan"].clone();
        let pace = plan["pace"].as_u64().unwrap();
        let (hold, rush) = (last_request(&seed, "hold"), last_request(&seed, "rush"));
        assert!(hold > 0.0, "seed {seed}: the trace shows the requests");
        if pace == 1 {
            assert_eq!(rush, hold, "seed {seed}: at pace 1 rush is hold");
        } else {
            assert!(rush < hold, "seed {seed} at pace {pace}: the last order at {rush} s, hold's at {hold} s");
            rushed += 1;
        }
    }
    assert!(rushed > 0, "some seeds draw a faster pace");
}
