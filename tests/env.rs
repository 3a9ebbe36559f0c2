//! The environment variables (docs/ci.md): `TICKETSIM_SEED`, `TICKETSIM_SEEDS`,
//! `TICKETSIM_JOBS`, read by the command line and by `testing::Sweep`. In a test binary
//! of its own, because it sets this process's environment.

use std::process::Command;
use ticketsim::testing::Sweep;
use ticketsim::ticketing::flaws::Preset;

fn ticketsim(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ticketsim")).args(args).envs(env.iter().copied()).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn the_command_line_and_sweep_read_the_environment() {
    // The command line: a count, a random start printed first, a seed, the jobs.
    let (code, stdout, _) = ticketsim(&["explore", "order-race", "--preset", "hardened", "--format", "json"], &[("TICKETSIM_SEEDS", "7")]);
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["seeds_run"], 7);
    let (code, _, stderr) = ticketsim(&["explore", "order-race", "--preset", "hardened", "--quiet"], &[("TICKETSIM_SEEDS", "random:5")]);
    assert_eq!(code, 0);
    let printed = stderr.lines().next().unwrap_or_default().to_string();
    assert!(printed.starts_with("seeds ") && printed.contains("(a random start; --seeds "), "{stderr}");
    let (_, a, _) = ticketsim(&["run", "order-race", "--format", "json"], &[("TICKETSIM_SEED", "12")]);
    let run: serde_json::Value = serde_json::from_str(&a).unwrap();
    assert_eq!(run["seed"], 12);
    let (code, _, stderr) = ticketsim(&["explore", "order-race"], &[("TICKETSIM_JOBS", "0")]);
    assert_eq!(code, 2, "{stderr}");
    // The flag wins over the environment.
    let (_, stdout, _) =
        ticketsim(&["explore", "order-race", "--preset", "hardened", "--seeds", "0..3", "--format", "json"], &[("TICKETSIM_SEEDS", "50")]);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&stdout).unwrap()["seeds_run"], 3);

    // Sweep: the environment replaces the seeds the test wrote.
    std::env::set_var("TICKETSIM_SEEDS", "20..26");
    std::env::set_var("TICKETSIM_JOBS", "1");
    let summary = Sweep::scenario("scenarios/order-race.toml").preset(Preset::Hardened).seeds(0..1000).assert_clean();
    assert_eq!(summary.seeds_run, 6);
    std::env::set_var("TICKETSIM_SEEDS", "nonsense");
    let refused = std::panic::catch_unwind(|| Sweep::scenario("scenarios/order-race.toml").run());
    std::env::remove_var("TICKETSIM_SEEDS");
    std::env::remove_var("TICKETSIM_JOBS");
    let message = refused.unwrap_err().downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("TICKETSIM_SEEDS"), "{message}");
}
