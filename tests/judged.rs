//! Never a silent pass (issue 24): an expectation that could not be judged fails the
//! run unless marked optional, and every report counts them; placeholders are checked
//! at load time; a step's published events are the ones its request caused; a run
//! whose liveness could not be judged says so with its exit code; windows and
//! applicability come from the protocol and the services that run.

use std::path::PathBuf;
use std::process::{Command, Output};

fn ticketsim(args: &[&str], ci: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ticketsim"));
    command.args(args).env_remove("CI").env_remove("TICKETSIM_SEEDS").env_remove("TICKETSIM_SEED");
    // These tests read what the tables say, not how they fit: a wide terminal.
    command.env("COLUMNS", "1000");
    if let Some(ci) = ci {
        command.env("CI", ci);
    }
    command.output().expect("ticketsim runs")
}

fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = ticketsim(args, None);
    (out.status.code(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn scenario(name: &str, body: &str) -> String {
    let dir = std::env::temp_dir().join(format!("ticketsim-judged-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path: PathBuf = dir.join(format!("{name}.toml"));
    std::fs::write(&path, format!("name = \"{name}\"\n{body}")).unwrap();
    path.display().to_string()
}

const ORDERS: &str = r#"
[services]
tickets = 1
orders = 1
[network]
user_links = "reliable"
[phases]
duration = "10s"
quiet = "60s"
"#;

/// Step 1 names the order step 0 was to create; step 0 gets 404 (no such ticket).
fn unjudged(optional: bool) -> String {
    let optional = if optional { "optional = true\n" } else { "" };
    format!(
        r#"{ORDERS}
[[workload.steps]]
at = "1s"
user = "bob"
request = "POST /api/orders"
body = {{ ticketId = "{{unknown}}" }}
name = "ord1"

[[workload.steps]]
at = "2s"
user = "bob"
request = "GET /api/orders/{{ord1}}"
expect = {{ status = 200 }}
{optional}"#
    )
}

#[test]
fn an_expectation_that_could_not_be_judged_fails_the_run_unless_optional() {
    let path = scenario("unjudged", &unjudged(false));
    let (code, out) = run(&["run", &path]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("expectation not judged: step 1 (bob GET /api/orders/{ord1} at 2s) names {ord1}, which step 0 (ord1: bob POST /api/orders at 1s) was to create; it got 404 and no id"),
        "{out}"
    );
    assert!(out.contains("0 judged (0 passed, 0 failed), 1 not judged"), "{out}");
    assert!(!out.contains("no invariant violated"), "{out}");

    let optional = scenario("optional", &unjudged(true));
    let (code, out) = run(&["run", &optional]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("1 not judged"), "an optional expectation is still counted: {out}");
    let (code, json) = run(&["run", &optional, "--format", "json"]);
    assert_eq!(code, Some(0), "{json}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["expectations"], serde_json::json!({"judged": 0, "passed": 0, "failed": 0, "not_judged": 1}));

    // A sweep counts them over every seed, in text, JSON and JUnit.
    let junit = std::env::temp_dir().join(format!("ticketsim-judged-{}/u.xml", std::process::id()));
    let (code, out) = run(&["explore", &optional, "--seeds", "0..3", "--quiet", "--junit", junit.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("expectations over every seed: 0 judged (0 passed, 0 failed), 3 not judged"), "{out}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains(r#"<property name="expectations_not_judged" value="3"/>"#), "{xml}");
}

#[test]
fn a_placeholder_anywhere_in_an_expectation_is_checked_at_load_time() {
    for (key, line) in [
        (
            "expect.published[0].data",
            r#"expect = { status = 201, published = [{ subject = "ticket:created", data = { id = "{NOPE}" } }] }"#,
        ),
        ("expect.body", r#"expect = { status = 201, body = { nested = { id = "{NOPE}" } } }"#),
    ] {
        let body = format!(
            "[services]\ntickets = 1\n[[workload.steps]]\nat = \"1s\"\nuser = \"alice\"\nrequest = \"POST /api/tickets\"\nbody = {{ title = \"concert\", price = 20 }}\n{line}\n"
        );
        let path = scenario("nope", &body);
        let (code, out) = run(&["run", &path]);
        assert_eq!(code, Some(2), "{out}");
        assert!(out.contains(&format!("nope.toml:9: key `workload.steps[0].{key}`: {{NOPE}} is not named by an earlier step")), "{out}");
    }
}

#[test]
fn a_step_sees_the_events_its_own_request_caused_not_its_neighbours() {
    // Two requests at once on the one tickets instance: the create publishes
    // ticket:created; the list publishes nothing. Matched by instance and time window,
    // the list "saw" the create's event.
    let body = r#"
[services]
tickets = 1
[network]
user_links = "reliable"
[[workload.steps]]
at = "1s"
user = "alice"
request = "POST /api/tickets"
body = { title = "concert", price = 20 }
name = "T"
expect = { status = 201, published = [{ subject = "ticket:created", data = { id = "{T}", version = 0 } }] }

[[workload.steps]]
at = "1s"
user = "bob"
request = "GET /api/tickets"
expect = { status = 200, published = [] }
"#;
    let path = scenario("neighbours", body);
    let (code, out) = run(&["run", &path]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("2 judged (2 passed, 0 failed), 0 not judged"), "{out}");
}

#[test]
fn not_acked_by_looks_past_a_redelivery_by_default() {
    // v2 arrives before v1: orders does not ack it. Once v1 has been applied, the
    // redelivery of v2 (after the ack wait) is acked: `not_acked_by` must see that.
    let steps = |within: &str| {
        format!(
            r#"
[services]
tickets = 0
orders = 1
[network]
delay = ["1ms", "1ms"]
user_links = "reliable"
[[workload.steps]]
at = "1s"
publish = "ticket:created"
data = {{ id = "{{id:t}}", version = 0, title = "a", price = 1, userId = "s" }}
[[workload.steps]]
at = "2s"
publish = "ticket:updated"
data = {{ id = "{{id:t}}", version = 2, title = "c", price = 3, userId = "s" }}
expect = {{ not_acked_by = ["orders-service"]{within} }}
[[workload.steps]]
at = "2500ms"
publish = "ticket:updated"
data = {{ id = "{{id:t}}", version = 1, title = "b", price = 2, userId = "s" }}
"#
        )
    };
    let path = scenario("redelivered", &steps(""));
    let (code, out) = run(&["run", &path, "--preset", "hardened"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("expected orders-service not to ack ticket:updated/"), "{out}");
    // A window shorter than a redelivery is refused: it could only pass.
    let short = scenario("short-window", &steps(r#", within = "1s""#));
    let (code, out) = run(&["run", &short]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("key `workload.steps[1].expect.within`: 1s is shorter than a redelivery takes here (5522ms"), "{out}");
}

/// A small fault-free script whose quiet phase is shorter than the settle window.
const SHORT_QUIET: &str = r#"
[services]
tickets = 1
orders = 1
[network]
user_links = "reliable"
[phases]
duration = "3s"
quiet = "20s"
[[workload.steps]]
at = "1s"
user = "alice"
request = "POST /api/tickets"
body = { title = "concert", price = 20 }
expect = { status = 201 }
"#;

#[test]
fn liveness_not_judged_is_a_result_of_its_own() {
    let path = scenario("short-quiet", SHORT_QUIET);
    let (code, out) = run(&["run", &path]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("liveness-not-judged") && out.contains("lengthen phases.quiet, or declare not_judged = [\"liveness\"]"), "{out}");
    // Declared: nothing left unjudged that should have been.
    let declared = scenario("declared", &format!("not_judged = [\"liveness\"]\n{SHORT_QUIET}"));
    let (code, out) = run(&["run", &declared]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("none applies"), "{out}");

    // A sweep counts such seeds; --require-judged (the default under CI=true) fails them.
    let sweep = |extra: &[&str], ci: Option<&str>| {
        let mut args = vec!["explore", path.as_str(), "--seeds", "0..2", "--quiet", "--no-causes"];
        args.extend(extra);
        let out = ticketsim(&args, ci);
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, out) = sweep(&[], None);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("liveness not judged on 2 seeds"), "{out}");
    let (code, out) = sweep(&["--require-judged"], None);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("liveness-not-judged"), "{out}");
    assert_eq!(sweep(&[], Some("true")).0, Some(1), "CI=true requires judged runs");
    assert_eq!(sweep(&["--allow-unjudged"], Some("true")).0, Some(0));
}

#[test]
fn a_script_for_the_orders_service_alone_needs_no_not_judged_list() {
    // Orders replicas of tickets whose owner does not run, and expirations with no
    // expiration service: those rules do not apply here.
    let body = r#"
[services]
tickets = 0
orders = 1
[network]
user_links = "reliable"
[[workload.steps]]
at = "1s"
publish = "ticket:created"
data = { id = "{id:t}", version = 0, title = "a", price = 1, userId = "s" }
expect = { acked_by = ["orders-service"] }
[[workload.steps]]
at = "2s"
user = "bob"
request = "POST /api/orders"
body = { ticketId = "{id:t}" }
name = "O"
expect = { status = 201 }
[[workload.steps]]
at = "3s"
publish = "expiration:complete"
data = { orderId = "{O}" }
expect = { acked_by = ["orders-service"] }
"#;
    let path = scenario("orders-alone", body);
    let (code, out) = run(&["run", &path]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("3 judged (3 passed, 0 failed)"), "{out}");
}

#[test]
fn type_errors_name_the_step_the_key_and_what_is_expected_in_words() {
    let body = "[services]\ntickets = 1\n[[workload.steps]]\nat = \"1s\"\nop = \"create-ticket\"\ntitle = \"x\"\nprice = 1\n[[workload.steps]]\nat = 5\nuser = \"a\"\nop = \"create-ticket\"\ntitle = \"x\"\nprice = 1\n";
    let (code, out) = run(&["run", &scenario("typed", body)]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("typed.toml:10: key `workload.steps[1].at`: expected a duration like \"1s\" or \"250ms\""), "{out}");
    let body = "[services]\ntickets = 1\n[[workload.steps]]\nat = \"1s\"\nop = \"create-ticket\"\ntitle = \"x\"\nprice = 1\n";
    let (code, out) = run(&["run", &scenario("signed", body)]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("key `workload.steps[0].user`: op create-ticket needs the user it is signed in as"), "no Rust names: {out}");
    let body = "[[workload.steps]]\nat = \"1s\"\nuser = \"a\"\nop = \"create-ticket\"\ntitle = \"x\"\nprice = \"one\"\n";
    let (code, out) = run(&["run", &scenario("price", body)]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("key `workload.steps[0].price`: expected a whole number, got string \"one\""), "{out}");
}

#[test]
fn replay_defaults_to_seed_zero_like_run_and_bench_works_from_any_directory() {
    let (run_code, run_out) = run(&["run", "walkthrough", "--format", "json"]);
    let (replay_code, replay_out) = run(&["replay", "walkthrough"]);
    assert_eq!((run_code, replay_code), (Some(0), Some(0)), "{replay_out}");
    let hash = serde_json::from_str::<serde_json::Value>(&run_out).unwrap()["trace_hash"].as_str().unwrap().to_string();
    assert!(replay_out.contains(&hash), "replay without --seed is seed 0, the run `run` makes: {replay_out}");

    let elsewhere = std::env::temp_dir().join(format!("ticketsim-judged-{}-bench", std::process::id()));
    std::fs::create_dir_all(&elsewhere).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ticketsim")).args(["bench", "--seeds", "1"]).current_dir(&elsewhere).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("full-system") && text.contains("expiration-payments"), "{text}");
    assert!(!text.contains("target >= 0.5") && text.contains("madsim's own network"), "{text}");
    // It names the profile it was built with (the tests' own, not the installed dist).
    let profile = ticketsim::bench::PROFILE;
    assert!(profile != "unknown" && text.starts_with(&format!("built with cargo profile {profile}")), "{text}");
    // And the allocator: mimalloc with the default feature, which the tests build with.
    let allocator = if cfg!(feature = "mimalloc") { "mimalloc" } else { "the C library's" };
    assert!(text.contains(&format!("\nallocator: {allocator} (")), "{text}");
    // It prints the goal, says which figures reach it, and times the first detection of every flaw.
    assert!(
        text.contains("goal: full-system at least 1.0x") && (text.contains("goal not reached: ") || text.contains("every goal met")),
        "{text}"
    );
    assert!(text.contains("seeds/s per core") && text.contains("time to first detection"), "{text}");
    assert!(text.contains("(medians of 3 sweeps each, alternately; goal at least "), "{text}");
    // Each ratio against the ping-pong run again next to its scenario.
    assert!(
        text.contains("the ping-pong again after each scenario: ")
            && text.contains("the faster of those run in this run just before and after the scenario"),
        "{text}"
    );
    // What a message costs madsim: the timers and steps per message, a bare sleep's and
    // a bare step's cost, and the ratio if a message cost only that.
    assert!(
        text.contains("timers/msg") && text.contains("a bare madsim sleep: ") && text.contains("the ping-pong's whole message"),
        "{text}"
    );
    assert!(
        text.contains("steps/msg")
            && text.contains("madsim only")
            && text.contains("a bare executor step: ")
            && text.contains("madsim's own work at its bare cost"),
        "{text}"
    );
    // And what a message costs our own network, with no app: the same ping-pong on the fabric.
    assert!(text.contains("the same ping-pong on our network (the fabric, no app): ") && text.contains("x madsim's ("), "{text}");
    for info in ticketsim::ticketing::flaws::CATALOGUE {
        assert!(text.contains(&format!("{} ", info.name)), "{} timed: {text}", info.name);
    }
}

#[test]
fn run_and_replay_print_the_drawn_plan_and_run_json_keeps_it() {
    let (code, json) = run(&["run", "tickets-orders", "--seed", "3", "--format", "json"]);
    assert!(code.is_some(), "{json}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let faults = report["plan"]["faults"].as_array().unwrap();
    assert!(!faults.is_empty(), "tickets-orders schedules faults: {json}");
    for (_, text) in [run(&["run", "tickets-orders", "--seed", "3"]), run(&["replay", "tickets-orders", "--seed", "3"])] {
        assert!(text.contains("plan (drawn before the run)"), "{text}");
        for f in faults {
            let nodes: Vec<&str> = f["nodes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
            let micros = (f["at"].as_f64().unwrap() * 1e6).round() as u64;
            let line = format!("{}.{:03}s {} {}", micros / 1_000_000, micros / 1000 % 1000, f["kind"].as_str().unwrap(), nodes.join(" "));
            assert!(text.contains(&line), "{line} not in\n{text}");
        }
    }
}

#[test]
fn a_shrunk_reproduction_keeps_its_plan_and_run_says_when_a_build_draws_another() {
    let dir = std::env::temp_dir().join(format!("ticketsim-judged-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("repro-plan.toml");
    let (code, out) = run(&["shrink", "tickets-orders", "--seed", "6", "--out", file.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    let text = std::fs::read_to_string(&file).unwrap();
    let doc: toml::Value = toml::from_str(&text).unwrap();
    let plan = doc["reproduce"]["plan"].as_array().expect("the file keeps the plan");
    assert!(!plan.is_empty(), "{text}");
    let (code, out) = run(&["run", file.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{out}");
    assert!(!out.contains("draws another plan"), "{out}");
    // A file whose recorded plan is not what this build draws says so.
    let first = plan[0].as_str().unwrap();
    let edited = text.replacen(&format!("{first:?}"), "\"3.000s crash nowhere for 1.000s\"", 1);
    assert_ne!(edited, text);
    std::fs::write(&file, edited).unwrap();
    let (_, out) = run(&["run", file.to_str().unwrap()]);
    assert!(
        out.contains(&format!(
            "this build draws another plan than the file records: line 1 was \"3.000s crash nowhere for 1.000s\", is {first:?}"
        )),
        "{out}"
    );
}
