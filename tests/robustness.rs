//! Never panic, never run away, never lose a result: one test per case of issue 11
//! (bad durations and seeds, output paths, run budgets, panics and deadlocks as
//! findings, memory flat in the range, nothing to run, Ctrl-C, limits). The fuzz suite
//! (tests/fuzz.rs) covers the same promises with generated input.

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;
use ticketsim::harness::fabric::{Actor, BoxFuture, Describe, Discard, Fabric, NodeId};
use ticketsim::harness::history::StoresOnly;
use ticketsim::harness::run::{run_seed, RunOptions};
use ticketsim::harness::system::{Budget, Check, Invariant, NetworkOptions, Reproduce, SimOptions, Simplification, System};
use ticketsim::harness::world::{NodeRole, WorldBuilder};
use ticketsim::ticketing::Scenario;

fn ticketsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ticketsim")).args(args).output().expect("ticketsim runs")
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ticketsim-robust-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Exit 2 with an error naming `needle`, and no panic.
fn refused(args: &[&str], needle: &str) {
    let out = ticketsim(args);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stdout}{stderr}");
    assert!(stderr.starts_with("error: ") && stderr.contains(needle), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path.display().to_string()
}

#[test]
fn huge_durations_are_errors_not_panics() {
    let dir = temp_dir("durations");
    for (name, value) in
        [("float", "18446744073709551616.0s"), ("minutes", "307445734561825861m"), ("hours", "5124095576030431h"), ("tiny", "1e400s")]
    {
        let file = write(&dir, &format!("{name}.toml"), &format!("name = \"x\"\n[phases]\nduration = \"{value}\"\n"));
        refused(&["run", &file], "invalid duration");
    }
    refused(&["replay", "order-race", "--seed", "1", "--from", "18446744073709551616.5s"], "--from");
    refused(
        &["diagram", "order-race", "--seed", "1", "--until", "99999999999999999999.0s", "--out", dir.join("d").to_str().unwrap()],
        "--until",
    );
    refused(&["replay", "order-race", "--seed", "1", "--from", "5s", "--until", "2s"], "nothing can match");
}

#[test]
fn ranges_need_exactly_two_durations_and_expect_account_needs_accounts() {
    let dir = temp_dir("ranges");
    let file = write(&dir, "three.toml", "name = \"x\"\n[network]\ndelay = [\"1ms\", \"2ms\", \"3ms\"]\n");
    refused(&["run", &file], "3 durations; write a range as [low, high]");
    let file = write(&dir, "account.toml", "name = \"x\"\n[[expect_account]]\nat = \"1s\"\nuser = \"u\"\nbalance = 0\nlast_number = 0\n");
    refused(&["run", &file], "needs the accounts service");
    let file = write(&dir, "repro.toml", "name = \"x\"\n[reproduce]\nseed = 1\ninvariant = \"no-such-rule\"\n");
    refused(&["run", &file], "unknown invariant \"no-such-rule\"");
}

#[test]
fn seeds_are_full_u64_in_reproduction_files() {
    let dir = temp_dir("seeds");
    let corpus = dir.join("corpus");
    // Seeds just past i64::MAX: as built, the order race fails on some of them.
    let out = ticketsim(&[
        "explore",
        "order-race",
        "--preset",
        "as-built",
        "--seeds",
        "9223372036854775808..9223372036854775908",
        "--save-failures",
        corpus.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
    let files: Vec<PathBuf> = std::fs::read_dir(&corpus).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(!files.is_empty());
    let saved = std::fs::read_to_string(&files[0]).unwrap();
    assert!(saved.contains("seed = \"92233720368547758"), "a seed past i64::MAX is written as a string: {saved}");
    let replayed = ticketsim(&["run", corpus.to_str().unwrap()]);
    assert_eq!(replayed.status.code(), Some(1), "{:?}", text(&replayed));
    assert!(text(&replayed).0.contains("still failing, 0 invalid"), "{:?}", text(&replayed));
    // And the same file read back gives the same seed.
    let scenario = Scenario::load(&files[0]).unwrap();
    assert!(scenario.reproduce.unwrap().seed > i64::MAX as u64);
}

#[test]
fn jobs_are_bounded_everywhere() {
    refused(&["explore", "order-race", "--jobs", "5000"], "--jobs 5000: allowed: 1 to 256");
    refused(&["check-determinism", "order-race", "--jobs", "0"], "--jobs 0");
    refused(&["selftest", "--jobs", "0"], "--jobs 0");
}

#[test]
fn names_from_input_never_escape_the_output_directory() {
    let dir = temp_dir("escape");
    let text =
        std::fs::read_to_string("scenarios/order-race.toml").unwrap().replacen("name = \"order-race\"", "name = \"../../escaped\"", 1);
    let file = write(&dir, "evil.toml", &text);
    let corpus = dir.join("corpus");
    let out = ticketsim(&["explore", &file, "--seeds", "0..40", "--save-failures", corpus.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let written: Vec<String> = std::fs::read_dir(&corpus).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(!written.is_empty() && written.iter().all(|n| n.starts_with("_.._.._escaped-")), "{written:?}");
    assert!(!dir.join("escaped").exists() && !dir.parent().unwrap().join("escaped").exists());
}

#[test]
fn output_paths_are_checked_before_any_work_and_written_whole() {
    let dir = temp_dir("outputs");
    refused(&["explore", "order-race", "--seeds", "0..100000000", "--junit", "/nonexistent-dir/report.xml"], "does not exist");
    refused(&["explore", "order-race", "--seeds", "0..100000000", "--junit", dir.to_str().unwrap()], "is a directory");
    let file = write(&dir, "a-file", "x");
    refused(&["explore", "order-race", "--seeds", "0..100000000", "--save-failures", &file], "is not a directory");
    refused(&["shrink", "order-race", "--seed", "1", "--out", "/nonexistent-dir/x.toml"], "does not exist");
    // A report is renamed into place: no temporary file is left beside it.
    let junit = dir.join("report.xml");
    let out = ticketsim(&["explore", "order-race", "--seeds", "0..5", "--junit", junit.to_str().unwrap()]);
    assert!(out.status.code().is_some_and(|c| c <= 1));
    let names: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(
        names.contains(&"report.xml".to_string()) && names.iter().all(|n| !n.ends_with(".tmp") && !n.starts_with(".ticketsim-probe")),
        "{names:?}"
    );
}

#[test]
fn outputs_never_harm_what_is_there_and_follow_one_rule_for_missing_directories() {
    // A device is never replaced (as root, the atomic rename once put a file where /dev/full was).
    refused(&["explore", "walkthrough", "--seeds", "0..2", "--junit", "/dev/full"], "is not a regular file");
    refused(&["shrink", "order-race", "--seed", "1", "--out", "/dev/null"], "is not a regular file");
    assert!(std::fs::metadata("/dev/full").unwrap().file_type().is_char_device());
    // A full standard output is an error with a message, not a panic (exit 101 before).
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ticketsim")).args(["run", "walkthrough"]).stdout(full).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot write to standard output") && !stderr.contains("panicked"), "{stderr}");
    // One rule: only the last directory of a directory flag is made, and only once a
    // file is written (a command that fails first leaves nothing behind).
    let dir = temp_dir("missing-dirs");
    let deep = dir.join("a/b/c");
    refused(&["diagram", "walkthrough", "--seed", "0", "--out", deep.to_str().unwrap()], "does not exist (only the last one is made)");
    let failing = dir.join("never");
    refused(&["diagram", "full-system", "--seed", "3", "--record", "ZZ", "--out", failing.to_str().unwrap()], "nothing in seed 3 matches");
    assert!(!failing.exists(), "a diagram that failed left its directory behind");
    let made = dir.join("made");
    let out = ticketsim(&["diagram", "walkthrough", "--seed", "0", "--out", made.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(made.join("diagram.html").is_file());
}

#[test]
fn small_points_say_what_is_wrong() {
    refused(&["explore", "order-race", "--seeds", "5..1"], "the range is backwards (5 is after 1); write 1..5");
    refused(&["shrink", "order-race", "--seed", "1", "--invariant", "no-such"], "unknown invariant \"no-such\"");
    // --fail-fast on one job stops at the first failing seed, whatever the strategy
    // (a worker ran ahead of the stop before: "2 seeds run (2 failing)").
    let out = ticketsim(&[
        "explore",
        "order-race",
        "--preset",
        "as-built",
        "--strategy",
        "pct",
        "--fail-fast",
        "--jobs",
        "1",
        "--seeds",
        "0..50",
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["failing"].as_u64(), Some(1), "{report}");
    let failing = report["failures"][0]["seed"].as_u64().unwrap();
    assert_eq!(report["seeds_run"].as_u64(), Some(failing + 1), "the sweep stops at the failing seed {failing}");
    // A --record that matches nothing lists the records there are (it listed the nodes).
    refused(&["replay", "order-race", "--seed", "1", "--record", "ZZ"], "its records: O1, O2");
    // The help's examples run: diagram's record window shows the record.
    let help = text(&ticketsim(&["diagram", "--help"])).0;
    assert!(help.contains("--record T2 --from 5s --until 15s"), "{help}");
    let dir = temp_dir("help-example");
    let out = ticketsim(&[
        "diagram",
        "full-system",
        "--seed",
        "3",
        "--record",
        "T2",
        "--from",
        "5s",
        "--until",
        "15s",
        "--out",
        dir.join("d").to_str().unwrap(),
    ]);
    assert!(out.status.code().is_some_and(|c| c <= 1), "{:?}", text(&out));
}

#[test]
fn nothing_to_run_is_an_error() {
    let dir = temp_dir("empty");
    refused(&["run", dir.to_str().unwrap()], "no .toml file");
    refused(&["explore", "order-race", "--seeds", "0..10", "--shard", "15/20"], "this partition has no seeds");
    refused(&["explore", "order-race", "--seeds", "0..10", "--partition", "count:16/20"], "this partition has no seeds");
    refused(&["explore", "order-race", "--seeds", "5..5"], "the range is empty");
    refused(&["replay", "order-race", "--seed", "1", "--node", "no-such-node"], "nothing in seed 1 matches");
    refused(
        &["diagram", "order-race", "--seed", "1", "--record", "NOPE", "--out", dir.join("d").to_str().unwrap()],
        "nothing in seed 1 matches",
    );
}

#[test]
fn run_dir_runs_every_valid_file_and_reports_the_invalid_ones() {
    let dir = temp_dir("corpus-mixed");
    write(&dir, "a-broken.toml", "name = \"x\"\n[network\n");
    write(&dir, "b-good.toml", &std::fs::read_to_string("scenarios/walkthrough.toml").unwrap());
    let out = ticketsim(&["run", dir.to_str().unwrap()]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(2), "the worst status: an invalid file\n{stdout}");
    assert!(
        stdout.contains("a-broken.toml") && stdout.contains("INVALID") && stdout.contains("b-good.toml") && stdout.contains("passes"),
        "{stdout}"
    );
    assert!(stdout.contains("2 files, 0 still failing, 1 invalid"), "{stdout}");
}

/// Runs the binary with `args`, sends it `signal` 1.5 s later (its handler is installed
/// before the first seed), and waits for it.
fn signalled(args: &[&str], signal: i32) -> std::process::Output {
    let child = Command::new(env!("CARGO_BIN_EXE_ticketsim")).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: sending a signal to our own child.
    unsafe { libc::kill(child.id() as i32, signal) };
    child.wait_with_output().unwrap()
}

/// A sweep stopped by `signal` while it runs: its JSON report and JUnit file must say
/// partial, and it must exit 130 having run some of its seeds.
fn a_signal_stops_a_sweep_with_partial_reports(signal: i32, name: &str) {
    let dir = temp_dir(name);
    let junit = dir.join("report.xml");
    let explore =
        ["explore", "full-system", "--seeds", "0..100000000", "--jobs", "1", "--format", "json", "--junit", junit.to_str().unwrap()];
    let out = signalled(&explore, signal);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(130), "{name}: {stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["partial"], true);
    let (run, planned) = (report["seeds_run"].as_u64().unwrap(), report["seeds_planned"].as_u64().unwrap());
    assert!(run > 0 && run < planned, "{run} of {planned}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("name=\"partial\""), "{xml}");
}

#[test]
fn ctrl_c_stops_a_sweep_with_partial_reports_and_exit_130() {
    a_signal_stops_a_sweep_with_partial_reports(libc::SIGINT, "interrupt");
}

/// What a batch system sends at its time limit (and `timeout`, and `kill`).
#[test]
fn sigterm_stops_a_sweep_as_ctrl_c_does() {
    a_signal_stops_a_sweep_with_partial_reports(libc::SIGTERM, "terminate");
}

/// A long `hunt --count` stopped at its time limit keeps the row it was measuring: its
/// seeds per detection count the seeds it ran, and it has no median.
#[test]
fn a_stopped_hunt_keeps_its_row_in_progress_marked_partial() {
    let hunt = ["hunt", "--bug", "double-reservation", "--strategy", "uniform", "--strategy", "pct", "--trials", "3"];
    let out = signalled(&[&hunt[..], &["--budget", "1000000", "--count", "--jobs", "1", "--format", "json"]].concat(), libc::SIGTERM);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["partial"], true);
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "only the row in progress: {rows:?}");
    let row = &rows[0];
    assert_eq!((&row["strategy"], &row["partial"], &row["median_seeds"]), (&"uniform".into(), &true.into(), &serde_json::Value::Null));
    let trials = row["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 1, "the trials after the stopped one never started");
    let (run, shown) = (trials[0]["run"].as_u64().unwrap(), trials[0]["shown"].as_u64().unwrap());
    assert_eq!(trials[0]["interrupted"], true);
    assert!(run > 0 && run < 1_000_000, "{run}");
    assert!(shown <= run && trials[0]["seeds"].is_null() == (shown == 0), "{shown} of {run}: {trials:?}");
    assert_eq!((row["per_detection"]["run"].as_u64(), row["per_detection"]["shown"].as_u64()), (Some(run), Some(shown)));
}

#[test]
fn a_sweep_of_a_huge_range_is_lazy() {
    // As built, the order race fails within the first seeds: with the seeds listed up
    // front this range could not even be held in memory.
    let out = ticketsim(&[
        "explore",
        "order-race",
        "--preset",
        "as-built",
        "--seeds",
        "0..18446744073709551615",
        "--fail-fast",
        "--jobs",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&text(&out).0).unwrap();
    assert!(report["seeds_run"].as_u64().unwrap() < 1000);
}

#[test]
fn a_determinism_report_keeps_at_most_a_hundred_divergences() {
    let s = Scenario::load(Path::new("scenarios/order-race.toml")).unwrap();
    let planted = RunOptions { plant_nondeterminism: true, ..RunOptions::default() };
    let report = ticketsim::harness::determinism::check::<ticketsim::Ticketing>(&s, 0..80, 2, &planted);
    assert_eq!(report.seeds, 80);
    assert!(report.count > 100, "{}", report.count);
    assert_eq!(report.divergences.len(), ticketsim::harness::determinism::MAX_DIVERGENCES);
    assert!(report.divergences.windows(2).all(|w| w[0].seed <= w[1].seed));
}

#[test]
fn limits_are_explicit_and_validation_is_linear() {
    let dir = temp_dir("limits");
    let step = "[[workload.steps]]\nat = \"1s\"\nuser = \"u\"\nrequest = \"GET /api/tickets\"\nexpect_status = 200\n";
    let head = "name = \"many\"\n[phases]\nduration = \"10s\"\nquiet = \"5s\"\n";
    let at_limit = write(&dir, "ten-thousand.toml", &format!("{head}{}", step.repeat(10_000)));
    let scenario = Scenario::load(Path::new(&at_limit)).expect("ten thousand steps are allowed");
    assert_eq!(scenario.workload.steps.len(), 10_000);
    let over = write(&dir, "over.toml", &format!("{head}{}", step.repeat(10_001)));
    refused(&["run", &over], "10001 steps; allowed: at most 10000");
    let requests = write(&dir, "requests.toml", "name = \"x\"\n[workload]\nusers = 1000\noperations = 10000\n");
    refused(&["run", &requests], "at most 1000000 in all");
    // A file over the size limit, and a huge key: the error stays short.
    let big = write(&dir, "big.toml", &format!("name = \"x\"\n# {}\n", "x".repeat(5 << 20)));
    refused(&["run", &big], "larger than 4194304 bytes");
    let key = write(&dir, "key.toml", &format!("name = \"x\"\n{} = 1\n", "k".repeat(3 << 20)));
    let out = ticketsim(&["run", &key]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stderr.len() < 2000 && text(&out).1.contains("characters)"), "{} bytes", out.stderr.len());
}

#[test]
fn a_runaway_is_a_finding_with_its_seed_time_and_events_and_the_sweep_goes_on() {
    let dir = temp_dir("runaway");
    let base = std::fs::read_to_string("scenarios/order-race.toml").unwrap();
    let events = write(&dir, "events.toml", &format!("{base}\n[limits]\nevents = 150\n"));
    let out = ticketsim(&["explore", &events, "--seeds", "0..6", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&text(&out).0).unwrap();
    assert_eq!((report["seeds_run"].as_u64(), report["failing_by_invariant"]["runaway"].as_u64()), (Some(6), Some(6)));
    let first = &report["failures"].as_array().unwrap().iter().find(|f| f["invariant"] == "runaway").unwrap().clone();
    assert!(first["explanation"].as_str().unwrap().contains("budget of 150 events"), "{first}");
    assert!(first["replay"].as_str().unwrap().contains("--seed"));
    let time = write(&dir, "time.toml", &format!("{base}\n[limits]\nvirtual_time = \"5s\"\n"));
    let out = ticketsim(&["run", &time, "--format", "json"]);
    let run: serde_json::Value = serde_json::from_str(&text(&out).0).unwrap();
    assert_eq!(run["violations"][0]["invariant"], "runaway", "{run}");
    assert!(run["violations"][0]["explanation"].as_str().unwrap().contains("virtual-time limit of 5.000s, still busy, after"), "{run}");
    assert!(run["virtual_time"].as_f64().is_some_and(|t| (5.0..5.001).contains(&t)), "{run}");
    assert_eq!(run["liveness"]["verdict"], "stopped");
}

#[test]
fn the_workload_stops_at_the_scenarios_duration() {
    let mut s = Scenario::load(Path::new("scenarios/order-race.toml")).unwrap();
    s.workload.operations = 10_000;
    s.workload.think_time = [ticketsim::ticketing::scenario::Dur(Duration::from_millis(1)); 2];
    let outcome = ticketsim::run_seed(&s, 1, &RunOptions::default());
    let bound = s.phases.duration.0 + s.workload.request_timeout.0 + s.phases.quiet.0 + Duration::from_secs(1);
    assert!(outcome.end <= bound, "ended at {:?}", outcome.end);
    assert!(outcome.violations.iter().all(|v| v.invariant != "runaway"), "{:?}", outcome.violations);
}

#[test]
fn a_node_panic_is_a_finding_with_its_time_node_and_trace() {
    let s = Scenario::load(Path::new("scenarios/order-race.toml")).unwrap();
    let options = RunOptions { inject_panic: Some(("orders-1".into(), Duration::from_secs(3))), keep_history: true, ..Default::default() };
    let outcome = ticketsim::run_seed(&s, 5, &options);
    let v = &outcome.violations[0];
    assert_eq!((v.invariant, v.records.clone()), ("node-panic", vec!["orders-1".to_string()]));
    assert!(v.time >= Duration::from_secs(3) && v.time < Duration::from_secs(4), "{:?}", v.time);
    assert!(
        v.explanation.starts_with("orders-1 panicked at 3.") && v.explanation.contains("injected panic in orders-1"),
        "{}",
        v.explanation
    );
    assert!(outcome.trace_hash.is_some_and(|h| h != 0) && outcome.history.is_some_and(|h| h.len() > 10));
    let again = ticketsim::run_seed(&s, 5, &options);
    assert_eq!(again.trace_hash, outcome.trace_hash, "a panicking seed replays exactly");
}

// A system that gets stuck: its workload waits for an answer that never comes.

#[derive(Clone, Debug)]
struct Ping;

impl Describe for Ping {
    fn kind(&self) -> &'static str {
        "ping"
    }
    fn describe(&self) -> String {
        "ping".into()
    }
}

/// `busy`: the workload keeps pinging forever instead (a runaway, not a deadlock).
struct Stuck {
    fabric: Fabric<Ping>,
    users: NodeId,
    silent: NodeId,
    busy: bool,
}

impl System for Stuck {
    type Scenario = bool;
    type Message = Ping;
    type Obs = StoresOnly<String>;
    type Final = ();

    fn options(_: &bool) -> SimOptions {
        let s = Duration::from_secs;
        SimOptions {
            network: NetworkOptions { delay: (Duration::from_millis(1), Duration::from_millis(2)), ..Default::default() },
            fault_phase: s(1),
            quiet_phase: s(1),
            budget: Budget { virtual_time: s(30), events: 1000 },
            ..Default::default()
        }
    }

    fn build(busy: &bool, world: &mut WorldBuilder<Ping, StoresOnly<String>>) -> Arc<Self> {
        let silent = world.node("silent", NodeRole::Service, |_| Arc::new(Discard) as Arc<dyn Actor<Ping>>);
        let users = world.users("users", true, |_| Arc::new(Discard));
        Arc::new(Stuck { fabric: world.fabric(), users, silent, busy: *busy })
    }

    fn workload(self: Arc<Self>) -> BoxFuture {
        Box::pin(async move {
            self.fabric.send(self.users, self.silent, Ping);
            if self.busy {
                loop {
                    madsim::time::sleep(Duration::from_millis(100)).await;
                    self.fabric.send(self.users, self.silent, Ping);
                }
            }
            std::future::pending::<()>().await;
        })
    }

    fn final_state(&self) {}

    fn invariants() -> &'static [Invariant<Self>] {
        fn none(_: &Check<'_, Stuck>) -> Vec<ticketsim::harness::Violation> {
            vec![]
        }
        &[Invariant { name: "nothing", meaning: "", kind: ticketsim::harness::InvariantKind::Safety, applies: |_| true, check: none }]
    }

    fn simplifications(_: &bool, _: bool) -> Vec<Simplification<bool>> {
        vec![]
    }

    fn is_valid(_: &bool) -> Result<(), String> {
        Ok(())
    }

    fn reproduction(_: &bool) -> Option<&Reproduce> {
        None
    }

    fn with_reproduction(s: &bool, _: Option<Reproduce>) -> bool {
        *s
    }

    fn bug_switches(_: &bool) -> Vec<(String, bool)> {
        vec![]
    }

    fn without_bugs(s: &bool) -> bool {
        *s
    }
}

#[test]
fn a_stuck_run_is_a_deadlock_and_a_busy_one_a_runaway() {
    let stuck = run_seed::<Stuck>(&false, 1, &RunOptions::default());
    assert_eq!(stuck.violations.len(), 1, "{:?}", stuck.violations);
    let v = &stuck.violations[0];
    assert_eq!(v.invariant, "deadlock");
    // The last thing that happened: the quiet phase began at 1s.
    assert!(v.explanation.contains("did not finish by its limit of 30.000s, and nothing happened after 1.0"), "{}", v.explanation);
    let busy = run_seed::<Stuck>(&true, 1, &RunOptions::default());
    assert_eq!(busy.violations.iter().map(|v| v.invariant).collect::<Vec<_>>(), ["runaway"]);
    assert!(busy.end >= Duration::from_secs(30) && busy.end < Duration::from_millis(30_001), "{:?}", busy.end);
}

#[test]
fn runs_leave_no_world_behind_in_schedule_mode_either() {
    use ticketsim::harness::exhaustive::{explore, Bounds, Reduction};
    use ticketsim::harness::world::live_worlds;
    let s = Scenario::load(Path::new("scenarios/walkthrough.toml")).unwrap();
    let bounds = Bounds {
        max_faults: 1,
        max_runs: 30,
        time_limit: None,
        reduction: Reduction::Dpor,
        max_reorderings: None,
        seed: 0,
        crash_points: Default::default(),
    };
    let summary = explore::<ticketsim::Ticketing>(&s, &bounds);
    assert_eq!(summary.runs(), 30, "the budget ran out: {:?}", summary.stopped);
    // Each run in schedule mode has a controller task on the supervisor's node; left
    // waiting, it kept its world alive (course/payments at one fault: 2.5 GB in 20 s).
    assert_eq!(live_worlds(), 0, "worlds still alive after 30 runs");
    run_seed::<ticketsim::Ticketing>(&s, 3, &RunOptions::default());
    assert_eq!(live_worlds(), 0, "after a run of a sweep");
}
