//! The `ticketsim` command line: each command parses into its options, calls the
//! library, and maps the result to an exit code (0 nothing violated, 1 an invariant was
//! violated, 2 bad input or usage). One module per command; shared loading here.

mod bench;
mod determinism;
mod diagram;
mod explore;
mod list;
mod output;
mod replay;
mod run;
mod selftest;
mod shrink;

use crate::harness::history::TraceFilter;
use crate::harness::run::{RunOptions, RunOutcome};
use crate::report::{self, Overrides};
use crate::ticketing::flaws::{Flaw, Preset};
use crate::ticketing::{Scenario, Ticketing};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};

pub(crate) use output::{check_dir, check_file, jobs, safe_file_name, write_file};

#[derive(Parser)]
#[command(name = "ticketsim", version, about = "Deterministic simulator of the event-driven ticketing microservices")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum Format {
    Text,
    Json,
}

#[derive(clap::Args, Clone)]
pub(crate) struct ScenarioArgs {
    /// Scenario file (or the name of one under scenarios/, e.g. `order-race`)
    pub scenario: String,
    /// Replace the scenario's preset
    #[arg(long, value_parser = ["as-built", "hardened"])]
    pub preset: Option<String>,
    /// Switch a flaw on (NAME) or off (-NAME); repeatable
    #[arg(long = "flaw", value_name = "NAME", allow_hyphen_values = true)]
    pub flaws: Vec<String>,
}

/// Which part of a run to show (replay's trace, a diagram).
#[derive(clap::Args, Clone)]
pub(crate) struct FilterArgs {
    /// Only what names this record (e.g. a ticket T1, an order O3, a user)
    #[arg(long)]
    record: Option<String>,
    /// Only what happens on this node, or names it
    #[arg(long)]
    node: Option<String>,
    /// Only from this virtual time (e.g. 2s, 2.014s)
    #[arg(long)]
    from: Option<String>,
    /// Only until this virtual time
    #[arg(long)]
    until: Option<String>,
}

impl FilterArgs {
    pub fn filter(self) -> Result<TraceFilter, String> {
        let filter = TraceFilter { from: virtual_time("from", &self.from)?, until: virtual_time("until", &self.until)?, node: self.node, record: self.record };
        if let (Some(from), Some(until)) = (filter.from, filter.until) {
            if from > until {
                return Err(format!("--from {} is after --until {}: nothing can match", crate::harness::fmt_time(from), crate::harness::fmt_time(until)));
            }
        }
        Ok(filter)
    }
}

/// A filter that matched nothing in a run is an error, not an empty trace.
pub(crate) fn matched_something(filter: &TraceFilter, outcome: &RunOutcome<Ticketing>) -> Result<(), String> {
    let Some(history) = &outcome.history else { return Ok(()) };
    if filter.is_empty() || history.entries().iter().any(|e| filter.matches(e)) {
        return Ok(());
    }
    let what: Vec<String> = [
        filter.node.as_ref().map(|n| format!("--node {}", crate::harness::echo(n))),
        filter.record.as_ref().map(|r| format!("--record {}", crate::harness::echo(r))),
        filter.from.map(|t| format!("--from {}", crate::harness::fmt_time(t))),
        filter.until.map(|t| format!("--until {}", crate::harness::fmt_time(t))),
    ]
    .into_iter()
    .flatten()
    .collect();
    Err(format!("{}: nothing in seed {} matches (its nodes: {})", what.join(" "), outcome.seed, outcome.nodes.join(", ")))
}

#[derive(Subcommand)]
enum Command {
    /// Run one seed: summary table and violations
    Run(run::RunArgs),
    /// Sweep many seeds; failing seeds grouped by invariant
    Explore(explore::ExploreArgs),
    /// Replay one seed with its full trace (virtual timestamps)
    Replay(replay::ReplayArgs),
    /// Shrink a failing seed to a small reproduction file that `run` replays
    Shrink(shrink::ShrinkArgs),
    /// Draw a run's messages: Mermaid text and a self-contained HTML/SVG page
    Diagram(diagram::DiagramArgs),
    /// Run each seed twice and once in a parallel sweep; report the first divergence
    CheckDeterminism(determinism::DeterminismArgs),
    /// List scenarios, invariants, flaws and presets
    List(list::ListArgs),
    /// Prove every flaw is caught by its invariant and the hardened preset is clean
    Selftest(selftest::SelftestArgs),
    /// Benchmark the reference scenarios against a bare madsim ping-pong
    Bench(bench::BenchArgs),
}

/// The exit code of a command stopped by Ctrl-C (128 + SIGINT), after it printed and
/// wrote what it had, marked partial.
pub const INTERRUPTED: i32 = 130;

/// For the sweeps (explore, selftest, check-determinism): on the first Ctrl-C they
/// stop starting seeds and report what ran; on the second, the process exits at once.
/// Other commands keep the default (Ctrl-C ends them).
pub(crate) fn handle_ctrl_c() {
    let _ = ctrlc::set_handler(|| {
        if crate::harness::interrupt::stop_requested() {
            std::process::exit(INTERRUPTED);
        }
        eprintln!("\ninterrupted: finishing the seeds running, then reporting what ran (Ctrl-C again to quit at once)");
        crate::harness::interrupt::request_stop();
    });
}

/// The exit code of a sweep: [`INTERRUPTED`] when it was stopped early.
pub(crate) fn sweep_code(code: i32) -> i32 {
    if crate::harness::interrupt::stop_requested() {
        INTERRUPTED
    } else {
        code
    }
}

/// Runs the CLI; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let result = match cli.command {
        Command::Run(args) => run::execute(args),
        Command::Explore(args) => explore::execute(args),
        Command::Replay(args) => replay::execute(args),
        Command::Shrink(args) => shrink::execute(args),
        Command::Diagram(args) => diagram::execute(args),
        Command::CheckDeterminism(args) => determinism::execute(args),
        Command::List(args) => list::execute(args),
        Command::Selftest(args) => selftest::execute(args),
        Command::Bench(args) => bench::execute(args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {}", crate::harness::bounded(&message));
            2
        }
    }
}

/// Resolves a scenario argument: a path, or a name under `scenarios/`.
pub fn scenario_path(arg: &str) -> PathBuf {
    let path = Path::new(arg);
    if path.exists() {
        return path.to_path_buf();
    }
    let named = Path::new("scenarios").join(format!("{arg}.toml"));
    if named.exists() {
        named
    } else {
        path.to_path_buf()
    }
}

/// A loaded scenario with the command line's overrides applied, and its path.
pub(crate) struct Loaded {
    pub scenario: Scenario,
    pub overrides: Overrides,
    pub path: String,
}

/// Loads a scenario and applies `--preset` and `--flaw` overrides.
pub(crate) fn load(args: &ScenarioArgs) -> Result<Loaded, String> {
    let path = scenario_path(&args.scenario);
    let mut scenario = Scenario::load(&path).map_err(|e| e.to_string())?;
    let mut overrides = Overrides::default();
    if let Some(name) = &args.preset {
        let preset = Preset::from_name(name).ok_or_else(|| format!("--preset {name}: allowed: as-built, hardened"))?;
        scenario.preset = preset;
        scenario.flaws.clear();
        scenario.without_flaws.clear();
        overrides.preset = Some(preset);
    }
    for flaw in &args.flaws {
        let (off, name) = match flaw.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, flaw.strip_prefix('+').unwrap_or(flaw)),
        };
        if Flaw::from_name(name).is_none() {
            return Err(format!("--flaw {flaw}: unknown flaw {name:?}; allowed: {}", Flaw::names().join(", ")));
        }
        scenario.flaws.retain(|f| f != name);
        scenario.without_flaws.retain(|f| f != name);
        if off {
            scenario.without_flaws.push(name.to_string());
        } else {
            scenario.flaws.push(name.to_string());
        }
        overrides.flaws.push(flaw.clone());
    }
    Ok(Loaded { scenario, overrides, path: path.display().to_string() })
}

pub(crate) fn virtual_time(flag: &str, text: &Option<String>) -> Result<Option<std::time::Duration>, String> {
    text.as_deref()
        .map(|t| crate::ticketing::scenario::parse_duration(t).ok_or_else(|| format!("--{flag} {}: write a virtual time like 2s, 2.014s or 1500ms (at most {}s)", crate::harness::echo(t), crate::ticketing::scenario::MAX_DURATION.as_secs())))
        .transpose()
}

/// Runs a scenario's seed, or a reproduction file with its own seed and choices.
pub(crate) fn run_scenario(scenario: &Scenario, seed: Option<u64>, options: &RunOptions) -> (u64, RunOutcome<Ticketing>) {
    let outcome = crate::harness::shrink::run_scenario::<Ticketing>(scenario, seed, options);
    (outcome.seed, outcome)
}

/// The command that replays this run.
pub(crate) fn replay_of(scenario: &Scenario, path: &str, seed: u64, overrides: &Overrides) -> String {
    match &scenario.reproduce {
        Some(r) if r.seed == seed => format!("ticketsim run {path}"),
        _ => report::replay_command(path, seed, overrides),
    }
}

pub(crate) fn parse_range(text: &str) -> Result<std::ops::Range<u64>, String> {
    let (a, b) = text.split_once("..").ok_or_else(|| format!("--seeds {text}: write a range A..B, e.g. 0..1000"))?;
    let a: u64 = a.trim().parse().map_err(|_| format!("--seeds {text}: {a:?} is not a whole number"))?;
    let b: u64 = b.trim().parse().map_err(|_| format!("--seeds {text}: {b:?} is not a whole number"))?;
    if a >= b {
        return Err(format!("--seeds {text}: the range is empty; write A..B with A < B"));
    }
    Ok(a..b)
}

pub(crate) fn init_tracing() {
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("ticketsim=info"))
        .with_ansi(std::io::stdout().is_terminal())
        .with_timer(VirtualTime)
        .with_target(false)
        .with_level(false)
        .with_writer(std::io::stdout)
        .try_init();
}

/// Prints the virtual time of the simulation, not the wall clock.
struct VirtualTime;

impl tracing_subscriber::fmt::time::FormatTime for VirtualTime {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        match madsim::time::TimeHandle::try_current() {
            Some(time) => write!(w, "{:>11}", crate::harness::fmt_time(time.elapsed())),
            None => write!(w, "{:>11}", "-"),
        }
    }
}

/// The scenario files under `scenarios/`, with their descriptions.
pub(crate) fn scenario_files() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir("scenarios")
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .map(|p| {
                    let description = Scenario::load(&p).map(|s| s.description).unwrap_or_else(|e| format!("(invalid: {e})"));
                    (p.display().to_string(), description)
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}
