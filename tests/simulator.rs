//! Whole runs and the command line: acceptance checks of the core simulator, with
//! seed budgets small enough for CI. (Unit tests of the broker rules, the store and
//! each checker sit next to their code.)

use std::path::Path;
use std::process::{Command, Output};
use ticketsim::harness::explore::{explore, ExploreOptions, ExploreSummary};
use ticketsim::ticketing::flaws::{Preset, CATALOGUE};
use ticketsim::ticketing::scenario::{Scenario, StoreKind};
use ticketsim::ticketing::Ticketing;
use ticketsim::{run_seed, RunOptions};

const SCENARIOS: [&str; 9] = [
    "walkthrough",
    "order-race",
    "out-of-order-updates",
    "tickets-orders",
    "accounts",
    "expiration-payments",
    "full-system",
    "payment-provider",
    "jetstream",
];

fn scenario(name: &str) -> Scenario {
    Scenario::load(Path::new(&format!("scenarios/{name}.toml"))).unwrap()
}

fn hardened(name: &str) -> Scenario {
    scenario(name).hardened_with(&[])
}

fn sweep(s: &Scenario, seeds: std::ops::Range<u64>) -> ExploreSummary {
    explore::<Ticketing>(s, &ExploreOptions { jobs: 2, keep_trace_hashes: true, ..ExploreOptions::new(seeds) })
}

/// The binary, its tables as wide as they need: most tests here read what tables say.
fn ticketsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ticketsim")).args(args).env("COLUMNS", "1000").output().expect("ticketsim runs")
}

/// The binary as a pipe sees it: no `COLUMNS`, stdout not a terminal.
fn piped(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ticketsim")).args(args).env_remove("COLUMNS").output().expect("ticketsim runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn walkthrough_run_exits_0_and_shows_the_version_table() {
    let out = ticketsim(&["run", "scenarios/walkthrough.toml"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    for row in ["v0 price 20 orderId -", "v1 price 20 orderId ADS", "v2 price 20 orderId -", "v3 price 30 orderId -", "CZQ concert 30 v3"] {
        assert!(text.contains(row), "version table lacks {row:?}:\n{text}");
    }
    assert!(!text.contains("NO:"), "{text}");
}

#[test]
fn as_built_order_race_finds_a_double_reservation_and_its_replay_reproduces_it() {
    let out = ticketsim(&["explore", "scenarios/order-race.toml", "--preset", "as-built", "--seeds", "0..300", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let failure =
        report["failures"].as_array().unwrap().iter().find(|f| f["invariant"] == "no-double-reservation").expect("a double reservation");
    let replay = failure["replay"].as_str().unwrap();
    let program = env!("CARGO_BIN_EXE_ticketsim");
    assert!(
        replay.starts_with(&format!("{program} replay scenarios/order-race.toml --seed ")) && replay.ends_with("--preset as-built"),
        "{replay}"
    );
    // The printed command, run again: the same violation at the same virtual time.
    let seed = failure["seed"].to_string();
    let again = ticketsim(&["run", "scenarios/order-race.toml", "--seed", &seed, "--preset", "as-built", "--format", "json"]);
    assert_eq!(again.status.code(), Some(1));
    let run: serde_json::Value = serde_json::from_str(&stdout(&again)).unwrap();
    let violation = run["violations"].as_array().unwrap().iter().find(|v| v["invariant"] == "no-double-reservation").unwrap();
    assert_eq!(violation["virtual_time"], failure["virtual_time"]);
    assert_eq!(run["trace_hash"], failure["trace_hash"]);
    let replayed = ticketsim(&["replay", "scenarios/order-race.toml", "--seed", &seed, "--preset", "as-built"]);
    assert_eq!(replayed.status.code(), Some(1));
    assert!(stdout(&replayed).contains("non-cancelled orders at once"));
}

#[test]
fn no_version_check_is_caught_on_out_of_order_updates() {
    let out = ticketsim(&["explore", "out-of-order-updates", "--preset", "hardened", "--flaw", "no-version-check", "--seeds", "0..100"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("versions-in-sequence") || text.contains("replicas-converge"), "{text}");
}

#[test]
fn hardened_is_clean_on_every_scenario_while_every_fault_kind_happens() {
    for name in SCENARIOS {
        let summary = sweep(&hardened(name), 0..150);
        assert!(summary.by_invariant.is_empty(), "{name}: {:?}", summary.by_invariant);
        let (f, n) = (summary.fabric, summary.nemesis);
        assert!(f.dropped_random > 0 && f.duplicated > 0 && f.dropped_partition > 0, "{name}: {f:?}");
        assert!(n.crashes > 0 && n.infrastructure_restarts > 0 && n.partitions > 0 && n.pauses > 0, "{name}: {n:?}");
    }
}

#[test]
fn memory_store_restarts_lose_events_as_built_but_not_hardened() {
    let mut s = hardened("tickets-orders");
    s.broker.store = StoreKind::Memory;
    assert!(sweep(&s, 0..200).by_invariant.is_empty());
    s.preset = Preset::AsBuilt;
    let summary = sweep(&s, 0..200);
    assert!(summary.by_invariant.contains_key("no-lost-events"), "{:?}", summary.by_invariant.keys());
}

#[test]
fn selftest_catches_every_flaw_and_finds_hardened_clean() {
    let out = ticketsim(&["selftest", "--seeds", "300", "--trials", "1", "--hardened-seeds", "20", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let flaws = report["flaws"].as_array().unwrap();
    assert_eq!(flaws.len(), CATALOGUE.len());
    for f in flaws {
        assert_eq!(f["detected"], true, "{f}");
        assert!(f["violated"].as_array().unwrap().contains(&f["expected"]), "{f}");
    }
    assert_eq!(report["hardened"].as_array().unwrap().len(), SCENARIOS.len());
    // The text form prints the table.
    let text = stdout(&ticketsim(&["selftest", "--seeds", "50", "--trials", "1", "--hardened-seeds", "2"]));
    assert!(text.contains("seeds to detection") && text.contains("racy-reservation"), "{text}");
}

#[test]
fn selftest_on_jetstream_catches_every_flaw_and_finds_hardened_clean() {
    let out =
        ticketsim(&["selftest", "--broker", "jetstream", "--seeds", "300", "--trials", "1", "--hardened-seeds", "20", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["broker"], "jetstream");
    assert_eq!(report["flaws"].as_array().unwrap().len(), CATALOGUE.len(), "every flaw applies on JetStream");
    let streaming =
        ticketsim(&["selftest", "--broker", "streaming", "--seeds", "1", "--trials", "1", "--hardened-seeds", "1", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&streaming)).unwrap();
    assert_eq!(report["not_applicable"], serde_json::json!(["term-on-error", "max-deliver-parks"]));
}

#[test]
fn a_flaw_missed_within_its_budget_fails_the_selftest() {
    // unawaited-expiration-publish needs tens of seeds: one seed is not enough.
    let out = ticketsim(&["selftest", "--seeds", "1", "--trials", "1", "--hardened-seeds", "1", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let missed: Vec<&str> =
        report["flaws"].as_array().unwrap().iter().filter(|f| f["detected"] == false).map(|f| f["flaw"].as_str().unwrap()).collect();
    assert!(missed.contains(&"unawaited-expiration-publish"), "{missed:?}");
}

#[test]
fn accounts_walkthrough_ends_at_balance_10_and_the_number_rule_matters() {
    let out = ticketsim(&["run", "accounts"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("│ CZQ  │ balance 10 lastNumber 3"), "{}", stdout(&out));
    let out = ticketsim(&["explore", "accounts", "--flaw", "accounts-no-sequence", "--seeds", "0..100"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("balances-match-transactions"));
}

#[test]
fn full_system_as_built_breaks_at_least_four_invariants() {
    let summary = sweep(&scenario("full-system"), 0..200);
    assert!(summary.counts.len() >= 4, "{:?}", summary.counts);
}

#[test]
fn a_sweep_hashes_a_failing_trace_only_when_it_keeps_the_seed() {
    use std::sync::Arc;
    use ticketsim::harness::explore::KEPT_PER_INVARIANT;
    use ticketsim::harness::kept::KeptSeeds;
    let s = scenario("order-race");
    let kept = Arc::new(KeptSeeds::default());
    let in_sweep = RunOptions { hash_if_kept: Some(kept.clone()), ..Default::default() };
    let first = run_seed(&s, 150, &in_sweep);
    assert!(first.failed() && first.trace_hash.is_some(), "nothing kept yet: a failing seed is hashed");
    for v in &first.violations {
        kept.invariant_full(v.invariant, KEPT_PER_INVARIANT as u64);
        kept.bug_seen(&v.fingerprint(), 0);
    }
    let again = run_seed(&s, 150, &in_sweep);
    assert_eq!((again.violations.len(), again.trace_hash), (first.violations.len(), None), "every list full of smaller seeds");
    let asked = run_seed(&s, 150, &RunOptions { hash_trace: true, ..in_sweep });
    assert_eq!(asked.trace_hash, first.trace_hash, "asked for, the hash is made");
    // A sweep past the lists' limits: every seed it shows carries its run's hash.
    let summary = explore::<Ticketing>(&s, &ExploreOptions { jobs: 2, ..ExploreOptions::new(0..300) });
    assert!(summary.counts.values().any(|&n| n > KEPT_PER_INVARIANT as u64), "{:?}", summary.counts);
    let shown = summary.by_invariant.values().flatten().chain(summary.groups.values().map(|g| &g.smallest));
    let mut hashes = std::collections::BTreeMap::new();
    for failing in shown {
        let hash = hashes.entry(failing.seed).or_insert_with(|| {
            let alone = run_seed(&s, failing.seed, &RunOptions { hash_trace: true, ..Default::default() });
            format!("{:016x}", alone.trace_hash.unwrap())
        });
        assert_eq!(&failing.trace_hash, hash, "seed {}", failing.seed);
    }
}

#[test]
fn the_same_seed_gives_the_same_trace_alone_and_inside_a_parallel_sweep() {
    let s = scenario("tickets-orders");
    let keep = RunOptions { keep_history: true, ..Default::default() };
    let (a, b) = (run_seed(&s, 42, &keep), run_seed(&s, 42, &keep));
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.history.unwrap().len(), b.history.unwrap().len());
    assert_eq!(a.fabric, b.fabric);
    assert_ne!(a.trace_hash, run_seed(&s, 43, &keep).trace_hash, "another seed, another run");
    let summary = sweep(&s, 40..48);
    for seed in 40..48 {
        let alone = run_seed(&s, seed, &RunOptions { hash_trace: true, ..Default::default() }).trace_hash;
        assert_eq!(Some(summary.trace_hashes[&seed]), alone, "seed {seed}");
    }
}

#[test]
fn shards_partition_a_range_and_fail_fast_stops_early() {
    let s = scenario("order-race");
    let shard = |i| {
        let partition = Some(ticketsim::harness::explore::Partition::parse(&format!("count:{}/2", i + 1)).unwrap());
        explore::<Ticketing>(&s, &ExploreOptions { jobs: 2, partition, keep_trace_hashes: true, ..ExploreOptions::new(0..40) })
    };
    let (a, b) = (shard(0), shard(1));
    assert_eq!(a.seeds_run + b.seeds_run, 40);
    assert!(a.trace_hashes.keys().all(|k| k % 2 == 0) && b.trace_hashes.keys().all(|k| k % 2 == 1));
    let fast = explore::<Ticketing>(&s, &ExploreOptions { jobs: 1, fail_fast: true, ..ExploreOptions::new(0..2000) });
    assert!(fast.seeds_run < 2000 && fast.failing > 0);
}

#[test]
fn a_panic_inside_a_simulated_node_is_a_finding_not_a_crash() {
    let s = scenario("order-race");
    let options = RunOptions { inject_panic: Some(("orders-1".into(), std::time::Duration::from_secs(3))), ..Default::default() };
    let outcome = run_seed(&s, 5, &options);
    assert_eq!(outcome.violations.len(), 1);
    assert_eq!(outcome.violations[0].invariant, "node-panic");
    assert!(outcome.violations[0].explanation.contains("injected panic in orders-1"));
    // The next seed runs normally in the same process.
    assert!(run_seed(&hardened("order-race"), 6, &RunOptions::default()).violations.is_empty());
}

#[test]
fn malformed_scenarios_exit_2_naming_file_line_and_key() {
    let dir = std::env::temp_dir().join(format!("ticketsim-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        ("syntax.toml", "name = \"x\"\n[network\n", ":2", "", ""),
        ("unknown-key.toml", "name = \"x\"\n[network]\nloss = 0.1\n", ":3", "key `loss`", "unknown field"),
        (
            "range.toml",
            "name = \"x\"\n[network]\nduplicate_probability = 2.0\n",
            ":3",
            "key `network.duplicate_probability`",
            "allowed: 0.0 to 0.5",
        ),
        ("flaw.toml", "name = \"x\"\nflaws = [\"gremlins\"]\n", ":2", "key `flaws`", "unknown flaw \"gremlins\""),
        ("duration.toml", "name = \"x\"\n[broker]\nack_wait = \"5 parsecs\"\n", ":3", "key `broker.ack_wait`", "invalid duration"),
    ];
    for (file, text, line, key, message) in cases {
        let path = dir.join(file);
        std::fs::write(&path, text).unwrap();
        let out = ticketsim(&["run", path.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{file}: {err}");
        assert!(err.contains(&format!("{file}{line}")) && err.contains(key) && err.contains(message), "{file}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let bad_flag = ticketsim(&["explore", "order-race", "--flaw", "-gremlins"]);
    assert_eq!(bad_flag.status.code(), Some(2));
    assert!(stderr(&bad_flag).contains("unknown flaw"));
    assert_eq!(ticketsim(&["explore", "order-race", "--seeds", "9..3"]).status.code(), Some(2));
    assert_eq!(ticketsim(&["run", "no-such-scenario"]).status.code(), Some(2));
    assert_eq!(ticketsim(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn list_names_every_flaw_invariant_and_scenario() {
    let out = piped(&["list"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    // Descriptions are wrapped to the width: compare with the white space folded.
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for info in CATALOGUE {
        assert!(text.contains(info.name) && folded.contains(info.description), "{}", info.name);
    }
    assert!(text.lines().all(|l| l.chars().count() <= 100), "list fits 100 columns when piped:\n{text}");
    for name in ticketsim::ticketing::invariants::names() {
        assert!(text.contains(name));
    }
    for name in SCENARIOS {
        assert!(text.contains(&format!("  {name} ")), "{name}");
    }
    assert!(text.contains("course/tickets"));
}

/// Piped into a pager or a file, tables fit 100 columns (they were 220 to 250 wide);
/// `--wide` keeps them whole.
#[test]
fn piped_tables_fit_100_columns_unless_wide() {
    let out = piped(&["run", "full-system", "--seed", "3", "--preset", "as-built"]);
    let text = stdout(&out);
    assert!(text.lines().count() > 20 && text.lines().all(|l| l.chars().count() <= 100), "{text}");
    let wide = stdout(&piped(&["run", "full-system", "--seed", "3", "--preset", "as-built", "--wide"]));
    assert!(wide.lines().any(|l| l.chars().count() > 100), "{wide}");
}

/// The smallest seed of as-built order-race that shows a double reservation, and a
/// virtual time just after it.
fn double_reservation() -> (String, String) {
    let s = scenario("order-race");
    let summary = sweep(&s, 0..200);
    let first = &summary.by_invariant["no-double-reservation"][0];
    (first.seed.to_string(), format!("{}ms", first.time.as_millis() + 1))
}

fn double_reservation_seed() -> String {
    double_reservation().0
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ticketsim-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn shrink_brings_the_as_built_double_reservation_under_a_quarter_and_run_replays_it() {
    let dir = temp_dir("shrink");
    let file = dir.join("repro.toml");
    let seed = double_reservation_seed();
    let out = ticketsim(&[
        "shrink",
        "order-race",
        "--seed",
        &seed,
        "--preset",
        "as-built",
        "--invariant",
        "no-double-reservation",
        "--out",
        file.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let (before, after) = (report["before"]["messages"].as_u64().unwrap(), report["after"]["messages"].as_u64().unwrap());
    assert!(after * 4 <= before, "{before} -> {after} messages");
    let run = ticketsim(&["run", file.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1));
    let text = stdout(&run);
    assert!(text.contains("reproduction of no-double-reservation: reproduced"), "{text}");
    // Exactly: the same trace twice.
    let again = ticketsim(&["run", file.to_str().unwrap(), "--format", "json"]);
    let once = ticketsim(&["run", file.to_str().unwrap(), "--format", "json"]);
    assert_eq!(stdout(&again), stdout(&once));
}

#[test]
fn diagram_writes_mermaid_and_a_self_contained_html_page_with_the_violation_marked() {
    let dir = temp_dir("diagram");
    let (seed, until) = double_reservation();
    let out =
        ticketsim(&["diagram", "order-race", "--seed", &seed, "--preset", "as-built", "--until", &until, "--out", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let mermaid = std::fs::read_to_string(dir.join("diagram.mmd")).unwrap();
    assert!(
        mermaid.starts_with("sequenceDiagram\n") && mermaid.contains("participant N0 as broker") && mermaid.contains("->>"),
        "{mermaid}"
    );
    assert!(mermaid.contains("rect rgb(255, 215, 215)") && mermaid.contains("⚠"), "the violating records are highlighted");
    let html = std::fs::read_to_string(dir.join("diagram.html")).unwrap();
    for part in
        ["<svg", "class=\"lane\"", "class=\"message ", "class=\"message ev\"", "class=\"violation\"", "<title>", "no-double-reservation"]
    {
        assert!(html.contains(part), "html lacks {part}");
    }
    let external = html.replace("http://www.w3.org/2000/svg", "");
    assert!(!external.contains("http://") && !external.contains("https://") && !external.contains("<script"), "self-contained");
}

#[test]
fn diagram_marks_a_handler_that_did_not_ack_on_its_lane() {
    let dir = temp_dir("diagram-handler");
    let out = ticketsim(&[
        "diagram",
        "scenarios/course/tickets.toml",
        "--seed",
        "0",
        "--from",
        "21s",
        "--until",
        "24s",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = std::fs::read_to_string(dir.join("diagram.html")).unwrap();
    assert!(
        html.contains("class=\"handler\"><title>22.004s: tickets-service cannot decode order:created"),
        "the undecodable event is marked"
    );
    let mermaid = std::fs::read_to_string(dir.join("diagram.mmd")).unwrap();
    assert!(mermaid.contains("cannot decode order:created payload") && mermaid.contains("(no ack)"), "{mermaid}");
}

/// The page shows the bug: a link to the violation's own view, the race in the store
/// (the reads, then the two creating writes, tagged with the violation's words), the
/// full run behind a toggle, lane headers that stay in view, labels whole and one per
/// row; Mermaid sliced under its size limit, saying so.
#[test]
fn a_diagram_leads_to_the_violation_and_draws_the_race_in_the_store() {
    let dir = temp_dir("diagram-race");
    let (seed, _) = double_reservation();
    let out = ticketsim(&["diagram", "order-race", "--seed", &seed, "--preset", "as-built", "--out", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let html = std::fs::read_to_string(dir.join("diagram.html")).unwrap();
    assert!(html.contains("<a href=\"#v0\">⚠ ") && html.contains("class=\"violation-view\" id=\"v0\""), "a link to the violation's view");
    let listed = html.split("<ol class=\"violations\"").nth(1).unwrap().split("</ol>").next().unwrap();
    assert!(listed.contains("no-double-reservation</a>: ticket T"), "{listed}");
    for li in listed.split("<li>").skip(1) {
        let time = li.split("⚠ ").nth(1).unwrap().split(' ').next().unwrap();
        assert!(!li.contains(&format!(" at {time}")), "a violation's time is said once: {li}");
    }
    assert!(html.contains("<details class=\"full\">") && html.contains("The full run: "), "the full run behind a toggle");
    assert!(html.contains(".lanes{position:sticky;top:0"), "lane headers stay in view");
    assert!(html.contains("class=\"store ev\"") && html.contains("orders db"), "the creating writes are the evidence");
    let view = html.split("<section class=\"violation-view\" id=\"v0\"").nth(1).unwrap().split("</section>").next().unwrap();
    assert_eq!(view.matches("class=\"label ev\"").count(), 2 + 1, "the two creating writes and the violation");
    assert!(html.contains("read scan of orders on ticket"), "the reads of the race");
    assert!(html.contains("⚠ no-double-reservation · T"), "the evidence tagged with the violation's words");
    assert!(!html.contains("…"), "no label is cut");
    // One label per row: in each view, no two labels share a y.
    let views: Vec<&str> = html.split("<div class=\"view\">").skip(1).collect();
    let violations = listed.matches("<li>").count();
    assert_eq!(views.len(), violations + 1, "a view per violation and the full run");
    for view in views {
        let ys: Vec<&str> = view.split("class=\"label").skip(1).filter_map(|l| l.split("y=\"").nth(1)?.split('"').next()).collect();
        let mut unique = ys.clone();
        unique.sort();
        unique.dedup();
        assert!(ys.len() > 20 && unique.len() == ys.len(), "labels never share a row: {} of {}", unique.len(), ys.len());
    }
    let mermaid = std::fs::read_to_string(dir.join("diagram.mmd")).unwrap();
    assert!(mermaid.len() <= ticketsim::report::diagram::MERMAID_LIMIT, "{}", mermaid.len());
}

/// A full-system run is far over Mermaid's limit: the text is sliced, and says so. Its
/// page's full run is capped, says what it left out and how to draw it, and still draws
/// every violation.
#[test]
fn mermaid_is_sliced_under_its_size_limit_and_says_so() {
    let dir = temp_dir("diagram-big");
    let out = ticketsim(&["diagram", "full-system", "--seed", "0", "--preset", "as-built", "--out", dir.to_str().unwrap()]);
    assert!(out.status.code().is_some_and(|c| c <= 1), "{}", stderr(&out));
    let mermaid = std::fs::read_to_string(dir.join("diagram.mmd")).unwrap();
    assert!(mermaid.len() <= ticketsim::report::diagram::MERMAID_LIMIT, "{}", mermaid.len());
    assert!(mermaid.contains("sliced to "), "{}", &mermaid[..500]);
    let html = std::fs::read_to_string(dir.join("diagram.html")).unwrap();
    assert!(
        html.contains("events after ") && html.contains("are not drawn</b>") && html.contains("draw them with --from "),
        "the cap says so"
    );
    let violations = html.split("<ol class=\"violations\"").nth(1).unwrap().split("</ol>").next().unwrap().matches("<li>").count();
    assert!(violations > 2, "{violations}");
    for k in 0..violations {
        assert!(html.contains(&format!("id=\"full-v{k}\"")), "violation {k} is drawn in the full run past the cap");
        assert!(html.contains(&format!("id=\"v{k}\"")), "violation {k} has its view");
    }
}

#[test]
fn ties_says_where_changed_runs_part_only_when_some_changed() {
    // Walkthrough's scripted run never depends on madsim's tie-breaks.
    let none = ticketsim(&["check-determinism", "walkthrough", "--seeds", "0..3", "--ties", "--quiet"]);
    assert_eq!(none.status.code(), Some(0), "{}", stdout(&none));
    assert!(stdout(&none).contains("  0 (0.0%) changed at all\n"), "{}", stdout(&none));
    assert!(!stdout(&none).contains("where they part"), "{}", stdout(&none));
}

#[test]
fn check_determinism_finds_no_divergence_and_locates_a_planted_one() {
    let clean = ticketsim(&["check-determinism", "full-system", "--seeds", "0..40", "--jobs", "2"]);
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));
    assert!(stdout(&clean).contains("no divergence"));
    let planted = ticketsim(&["check-determinism", "order-race", "--seeds", "0..2", "--plant-nondeterminism", "--format", "json"]);
    assert_eq!(planted.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&stdout(&planted)).unwrap();
    let first = &report["divergences"][0];
    // The plant sits in the store handle's latency: the first differing event is a
    // store call, made by a service instance.
    assert!(first["first"]["node"].as_str().unwrap().contains('-'), "{first}");
    assert!(first["first"]["text"].as_str().unwrap().contains(" store "), "{first}");
    assert!(first["first"]["virtual_time"].as_f64().is_some());
}

#[test]
fn explore_writes_junit_and_a_regression_corpus_that_run_replays() {
    let dir = temp_dir("corpus");
    let junit = dir.join("report.xml");
    let corpus = dir.join("corpus");
    let out = ticketsim(&[
        "explore",
        "order-race",
        "--preset",
        "as-built",
        "--seeds",
        "0..60",
        "--junit",
        junit.to_str().unwrap(),
        "--save-failures",
        corpus.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("distinct bugs"));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    let cases = xml.matches("<testcase ").count();
    let invariants = xml.matches("classname=\"order-race.invariants\"").count();
    assert_eq!(invariants, ticketsim::ticketing::invariants::INVARIANTS.len() + ticketsim::harness::run::HARNESS_FINDINGS.len());
    let bugs = xml.matches("classname=\"order-race.bugs\"").count();
    assert!(bugs > 0 && cases == invariants + bugs, "{xml}");
    assert!(xml.contains(&format!("tests=\"{cases}\"")));
    // Invariants of services that do not run here are skipped, not passed.
    assert!(xml.contains("name=\"payments-consistent\" time=") && xml.contains("<skipped message=\"does not apply"), "{xml}");
    // Real timings: the time spent judging each invariant over the sweep.
    let judged: f64 = xml
        .split("classname=\"order-race.invariants\"")
        .skip(1)
        .filter_map(|c| c.split("time=\"").nth(1)?.split('"').next()?.parse::<f64>().ok())
        .sum();
    assert!(judged > 0.0, "{xml}");
    assert_eq!(xml.matches("<failure ").count(), xml.matches("</failure>").count());
    assert!(xml.contains(&format!("replay: {} replay order-race --seed", env!("CARGO_BIN_EXE_ticketsim"))));
    // The corpus: every file still fails as built...
    let files = std::fs::read_dir(&corpus).unwrap().count();
    assert!(files > 0);
    // One file per distinct bug (fingerprint), not per invariant and seed.
    assert!(stdout(&out).contains(&format!("{files} distinct bugs (")), "{files} files\n{}", stdout(&out));
    let replayed = ticketsim(&["run", corpus.to_str().unwrap()]);
    assert_eq!(replayed.status.code(), Some(1));
    assert!(stdout(&replayed).contains(&format!("{files} files, {files} still failing, 0 invalid")), "{}", stdout(&replayed));
    // ...and passes once the bugs are fixed (hardened).
    let fixed = ticketsim(&["run", corpus.to_str().unwrap(), "--preset", "hardened"]);
    assert_eq!(fixed.status.code(), Some(0), "{}", stdout(&fixed));
    let selftest = ticketsim(&["selftest", "--seeds", "50", "--trials", "1", "--hardened-seeds", "2", "--junit", junit.to_str().unwrap()]);
    assert_eq!(selftest.status.code(), Some(0));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), CATALOGUE.len() + SCENARIOS.len());
}

#[test]
fn replay_filters_the_trace_by_record_and_time_and_shows_the_records_state() {
    let (seed, until) = double_reservation();
    let s = scenario("order-race");
    let summary = sweep(&s, 0..200);
    let ticket = summary.by_invariant["no-double-reservation"][0].explanation.split(' ').nth(1).unwrap().to_string();
    let out = ticketsim(&["replay", "order-race", "--seed", &seed, "--preset", "as-built", "--record", &ticket, "--until", &until]);
    let text = stdout(&out);
    let trace: Vec<&str> = text.lines().take_while(|l| !l.starts_with('╭')).collect();
    assert!(!trace.is_empty());
    for line in &trace {
        assert!(line.contains(&ticket), "{line}");
        let time: f64 = line.trim_start().split('s').next().unwrap().parse().unwrap();
        let until_s = until.trim_end_matches("ms").parse::<f64>().unwrap() / 1000.0;
        assert!(time <= until_s, "{line}");
    }
    assert!(text.contains(&format!("state of {ticket}")), "{text}");
}

/// From any directory: shipped scenarios by name, and every printed command works as
/// printed (the program as invoked, the scenario as named).
#[test]
fn printed_commands_work_as_printed_from_any_directory() {
    let elsewhere = std::env::temp_dir().join(format!("ticketsim-elsewhere-{}", std::process::id()));
    std::fs::create_dir_all(&elsewhere).unwrap();
    let run_in = |dir: &Path, args: &[&str]| Command::new(env!("CARGO_BIN_EXE_ticketsim")).args(args).current_dir(dir).output().unwrap();
    let list = run_in(&elsewhere, &["list"]);
    assert!(stdout(&list).contains("order-race"), "{}", stdout(&list));
    let out = run_in(&elsewhere, &["explore", "order-race", "--preset", "as-built", "--seeds", "0..50", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let printed = report["failures"][0]["replay"].as_str().unwrap().to_string();
    let words: Vec<&str> = printed.split(' ').collect();
    let other = std::env::temp_dir();
    let replayed = Command::new(words[0]).args(&words[1..]).current_dir(&other).env("COLUMNS", "1000").output().unwrap();
    assert_eq!(replayed.status.code(), Some(1), "{printed}: {}", stderr(&replayed));
    assert!(stdout(&replayed).contains(report["failures"][0]["explanation"].as_str().unwrap()), "{printed}");
    let typo = run_in(&elsewhere, &["run", "order-rase"]);
    assert_eq!(typo.status.code(), Some(2));
    assert!(stderr(&typo).contains("did you mean \"order-race\"?"), "{}", stderr(&typo));
    let written = elsewhere.join("mine");
    let write = run_in(&elsewhere, &["list", "--write", "mine"]);
    assert_eq!(write.status.code(), Some(0), "{}", stderr(&write));
    assert!(written.join("order-race.toml").is_file() && written.join("course/tickets.toml").is_file());
    let _ = std::fs::remove_dir_all(&elsewhere);
}

/// `--set KEY=VALUE` replaces a setting as the file writes it: a bad key or value is an
/// error naming it (exit 2), and every printed replay command repeats it.
#[test]
fn set_overrides_a_setting_and_replay_commands_repeat_it() {
    for (set, says) in [
        ("broker.kind=kafka", "key `broker.kind`: unknown variant `kafka`"),
        ("broker.max_deliver=3", "key `broker.max_deliver`: is a JetStream setting"),
        ("nemesis", "write KEY=VALUE"),
        ("nemesis.crashes=500", "key `nemesis.crashes`: 500; allowed: 0 to 100"),
    ] {
        let out = ticketsim(&["run", "order-race", "--set", set]);
        assert_eq!(out.status.code(), Some(2), "{set}");
        assert!(stderr(&out).contains(says) && !stderr(&out).contains("panicked"), "{set}: {}", stderr(&out));
    }
    let out = ticketsim(&[
        "explore",
        "out-of-order-updates",
        "--preset",
        "as-built",
        "--set",
        "broker.kind=jetstream",
        "--seeds",
        "0..20",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["overrides"]["sets"], serde_json::json!(["broker.kind=jetstream"]));
    let replay = report.to_string();
    assert!(replay.contains("--set broker.kind=jetstream"), "{replay}");
}

/// On JetStream the client uses the broker's features: a retried publish is stored once
/// (its message id seen), a failed handler naks, and the trace says so; on NATS Streaming
/// the same run has none of it.
#[test]
fn on_jetstream_publishes_are_de_duplicated_and_failures_nakked() {
    let trace = |extra: &[&str]| {
        let mut args = vec!["replay", "out-of-order-updates", "--seed", "0", "--preset", "as-built"];
        args.extend(extra);
        stdout(&ticketsim(&args))
    };
    let jetstream = trace(&["--set", "broker.kind=jetstream"]);
    assert!(jetstream.contains("dropped a duplicate publish") && jetstream.contains("got nak"), "{jetstream}");
    let streaming = trace(&[]);
    assert!(!streaming.contains("dropped a duplicate publish") && !streaming.contains("got nak"));
}
