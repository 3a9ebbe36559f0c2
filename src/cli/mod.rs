//! The `ticketsim` command line: each command parses into its options, calls the
//! library, and maps the result to an exit code (0 nothing violated, 1 an invariant was
//! violated, 2 bad input or usage). One module per command; shared loading here.

mod bench;
mod check;
mod determinism;
mod diagram;
mod diff;
pub mod driven;
mod explain;
mod explore;
mod fix;
mod hunt;
mod list;
mod merge;
pub(crate) mod output;
mod progress;
mod replay;
mod run;
mod selftest;
mod shrink;
mod ticketing;

use crate::harness::history::TraceFilter;
use crate::harness::run::{RunOptions, RunOutcome};
use crate::harness::strategy::{Branch, Strategy};
use crate::report::{self, Overrides};
use crate::ticketing::Ticketing;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
pub use driven::Driven;
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
    /// Tables for a terminal
    Text,
    /// One JSON document (schema: docs/report.schema.json)
    Json,
}

#[derive(clap::Args, Clone)]
pub(crate) struct ScenarioArgs {
    /// A scenario file, or the name of a shipped one from any directory (`order-race`,
    /// `course/tickets`; `ticketsim list` shows them)
    pub scenario: String,
    /// Replace the scenario's preset (and its flaw lists): as-built, hardened
    #[arg(long)]
    pub preset: Option<String>,
    /// Switch a flaw on (NAME) or off (-NAME); repeatable
    #[arg(long = "flaw", value_name = "NAME", allow_hyphen_values = true)]
    pub flaws: Vec<String>,
    /// How runs choose among what the scenario allows: uniform, swarm, pct[:D], stretch, hold, rush, coverage, portfolio
    /// (replaces the scenario's `strategy`; docs/strategies.md)
    #[arg(long, value_name = "STRATEGY", env = "TICKETSIM_STRATEGY")]
    pub strategy: Option<String>,
    /// Replace one of the scenario's settings, as its file writes it (KEY=VALUE:
    /// `broker.kind=jetstream`, `nemesis.crashes=2`); repeatable
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
}

/// A coverage sweep's run, replayed: the runs it branches from.
#[derive(clap::Args, Clone)]
pub(crate) struct BranchArgs {
    /// The runs a coverage sweep's seed branches from, as its report prints them (SEED@CUT,...)
    #[arg(long, value_name = "SEED@CUT,...")]
    branch: Option<String>,
}

impl BranchArgs {
    pub(crate) fn get(&self) -> Result<Branch, String> {
        self.branch.as_deref().map(Branch::parse).transpose().map(Option::unwrap_or_default)
    }
}

/// Which part of a run to show (replay's trace, a diagram).
#[derive(clap::Args, Clone)]
pub(crate) struct FilterArgs {
    /// Only what names this record (a ticket T1, an order O3, a user); repeatable: any of them
    #[arg(long = "record", value_name = "ID")]
    records: Vec<String>,
    /// Only what happens on this node, or names it (e.g. orders-1, broker)
    #[arg(long, value_name = "NAME")]
    node: Option<String>,
    /// Only from this virtual time (e.g. 2s, 2.014s, 1500ms)
    #[arg(long, value_name = "T")]
    from: Option<String>,
    /// Only until this virtual time
    #[arg(long, value_name = "T")]
    until: Option<String>,
}

impl FilterArgs {
    pub fn filter(self) -> Result<TraceFilter, String> {
        let filter = TraceFilter {
            from: virtual_time("from", &self.from)?,
            until: virtual_time("until", &self.until)?,
            node: self.node,
            records: self.records,
        };
        if let (Some(from), Some(until)) = (filter.from, filter.until) {
            if from > until {
                return Err(format!(
                    "--from {} is after --until {}: nothing can match",
                    crate::harness::fmt_time(from),
                    crate::harness::fmt_time(until)
                ));
            }
        }
        Ok(filter)
    }
}

/// A filter that matched nothing in a run is an error, not an empty trace.
pub(crate) fn matched_something<S: Driven>(filter: &TraceFilter, outcome: &RunOutcome<S>) -> Result<(), String> {
    let Some(history) = &outcome.history else { return Ok(()) };
    if filter.is_empty() || history.entries().iter().any(|e| filter.matches(e)) {
        return Ok(());
    }
    let what: Vec<String> = [
        filter.node.as_ref().map(|n| format!("--node {}", crate::harness::echo(n))),
        (!filter.records.is_empty())
            .then(|| filter.records.iter().map(|r| format!("--record {}", crate::harness::echo(r))).collect::<Vec<_>>().join(" ")),
        filter.from.map(|t| format!("--from {}", crate::harness::fmt_time(t))),
        filter.until.map(|t| format!("--until {}", crate::harness::fmt_time(t))),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut known = format!("its nodes: {}", outcome.nodes.join(", "));
    if !filter.records.is_empty() {
        let records = S::record_ids(&history.entries());
        let shown: Vec<&str> = records.iter().take(30).map(String::as_str).collect();
        let more = records.len().saturating_sub(shown.len());
        if !shown.is_empty() {
            known =
                format!("its records: {}{}; {known}", shown.join(", "), if more > 0 { format!(" and {more} more") } else { String::new() });
        }
    }
    Err(format!("{}: nothing in seed {} matches ({known})", what.join(" "), outcome.seed))
}

/// The commands every [`Driven`] system gets.
#[derive(Subcommand)]
pub(crate) enum Core {
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
    /// Which flaws cause a failing seed's bugs, verified on the same decisions
    Explain(explain::ExplainArgs),
    /// Where two runs of a scenario part (two flaw sets, two seeds, or a saved run of another build)
    Diff(diff::DiffArgs),
    /// Run each seed twice and once in a parallel sweep; report the first divergence
    CheckDeterminism(determinism::DeterminismArgs),
    /// Explore every schedule of a small scenario within bounds: a proof, or a counterexample
    Check(check::CheckArgs),
    /// Combine the JSON reports of a sweep's partitions into one report
    Merge(merge::MergeArgs),
}

impl Core {
    /// Whether tables are shown at full width.
    fn wide(&self) -> bool {
        match self {
            Core::Run(a) => a.wide,
            Core::Explore(a) => a.wide,
            Core::Replay(a) => a.wide,
            _ => false,
        }
    }

    fn execute<S: Driven>(self) -> Result<i32, String> {
        match self {
            Core::Run(args) => run::execute::<S>(args),
            Core::Explore(args) => explore::execute::<S>(args),
            Core::Replay(args) => replay::execute::<S>(args),
            Core::Shrink(args) => shrink::execute::<S>(args),
            Core::Diagram(args) => diagram::execute::<S>(args),
            Core::Explain(args) => explain::execute::<S>(args),
            Core::Diff(args) => diff::execute::<S>(args),
            Core::CheckDeterminism(args) => determinism::execute::<S>(args),
            Core::Merge(args) => merge::execute::<S>(args),
            Core::Check(args) => check::execute::<S>(args),
        }
    }
}

/// `ticketsim`'s commands: the core ones, and those of the ticketing app.
#[derive(Subcommand)]
enum Command {
    #[command(flatten)]
    Core(Core),
    /// List scenarios, invariants, flaws and presets
    List(list::ListArgs),
    /// Prove every flaw is caught by its invariant and the hardened preset is clean
    Selftest(selftest::SelftestArgs),
    /// Benchmark the reference scenarios against a bare madsim ping-pong
    Bench(bench::BenchArgs),
    /// The deep-bug benchmark: seeds each strategy needs to find each deep bug
    Hunt(hunt::HuntArgs),
}

/// Another system's command line: the core commands.
#[derive(Parser)]
#[command(version)]
struct CoreCli {
    #[command(subcommand)]
    command: Core,
}

/// The exit code of a command stopped by Ctrl-C or a termination signal (128 + SIGINT,
/// whichever signal it was), after it printed and wrote what it had, marked partial.
pub const INTERRUPTED: i32 = 130;

/// For the sweeps (explore, selftest, check-determinism, check, hunt): on the first
/// Ctrl-C, SIGTERM or SIGHUP (what a batch system sends at its time limit, or a closed
/// terminal) they stop starting seeds and report what ran; on the second, the process
/// exits at once. Other commands keep the default (the signal ends them).
pub(crate) fn handle_ctrl_c() {
    let _ = ctrlc::set_handler(|| {
        if crate::harness::interrupt::stop_requested() {
            std::process::exit(INTERRUPTED);
        }
        eprintln!("\ninterrupted: finishing the seeds running, then reporting what ran (Ctrl-C or the signal again to quit at once)");
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

/// Runs `ticketsim`'s command line; returns the process exit code.
pub fn main() -> i32 {
    report::text::set_program(&std::env::args().next().unwrap_or_default(), Ticketing::PROGRAM);
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage(e),
    };
    let wide = match &cli.command {
        Command::Core(core) => core.wide(),
        _ => false,
    };
    report::style::configure(wide);
    exit_code(match cli.command {
        Command::Core(core) => core.execute::<Ticketing>(),
        Command::List(args) => list::execute(args),
        Command::Selftest(args) => selftest::execute(args),
        Command::Bench(args) => bench::execute(args),
        Command::Hunt(args) => hunt::execute(args),
    })
}

/// The command line of another system `S`: `run`, `explore`, `replay`, `shrink`,
/// `diagram`, `explain`, `diff`, `check-determinism` and `merge`, as `ticketsim` has
/// them. A system's own binary is `fn main() { std::process::exit(main_for::<MySystem>()) }`.
pub fn main_for<S: Driven>() -> i32 {
    main_from::<S>(std::env::args_os())
}

/// [`main_for`] on these arguments (the first is the program).
pub fn main_from<S: Driven>(args: impl IntoIterator<Item = impl Into<std::ffi::OsString> + Clone>) -> i32 {
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    report::text::set_program(&args.first().map(|a| a.to_string_lossy().into_owned()).unwrap_or_default(), S::PROGRAM);
    // The examples in each command's help are ticketsim's: another system shows none.
    let command = CoreCli::command()
        .name(S::PROGRAM)
        .bin_name(S::PROGRAM)
        .about(S::ABOUT)
        .mut_subcommands(|c| own_help::<S>(c.after_help(None::<&str>)));
    let cli = match command.try_get_matches_from(args).and_then(|m| CoreCli::from_arg_matches(&m)) {
        Ok(cli) => cli,
        Err(e) => return usage(e),
    };
    report::style::configure(cli.command.wide());
    exit_code(cli.command.execute::<S>())
}

/// A command's help in another system's words: its shipped scenarios and presets.
fn own_help<S: Driven>(mut command: clap::Command) -> clap::Command {
    let has = |c: &clap::Command, id: &str| c.get_arguments().any(|a| a.get_id() == id);
    if has(&command, "scenario") {
        let names: Vec<&str> = S::shipped().iter().map(|(name, _)| *name).collect();
        let help =
            format!("A scenario file, or the name of a shipped one: {}", if names.is_empty() { "none".into() } else { names.join(", ") });
        command = command.mut_arg("scenario", |a| a.help(help));
    }
    if has(&command, "preset") {
        let presets = S::presets();
        command = command
            .mut_arg("preset", |a| a.help(format!("Replace the scenario's preset: {}", presets.join(", "))).hide(presets.is_empty()));
    }
    command
}

/// A usage error (exit 2) or `--help`/`--version` (exit 0), printed.
fn usage(e: clap::Error) -> i32 {
    let _ = e.print();
    if e.use_stderr() {
        2
    } else {
        0
    }
}

fn exit_code(result: Result<i32, String>) -> i32 {
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {}", crate::harness::bounded(&message));
            2
        }
    }
}

/// Where a scenario argument leads.
pub(crate) enum Source {
    /// A file: the path given, or `scenarios/NAME.toml` here (a local copy, maybe edited).
    File(PathBuf),
    /// A scenario built into the binary: its name and text.
    Shipped(&'static str, &'static str),
}

/// Resolves a scenario argument: a path; else a name, found as `scenarios/NAME.toml`
/// here, else among the shipped scenarios. Also returns how printed commands should
/// name it: the path given, or the bare name (which resolves the same way anywhere).
pub(crate) fn resolve<S: Driven>(arg: &str) -> Result<(Source, String), String> {
    let path = Path::new(arg);
    if path.is_file() {
        return Ok((Source::File(path.to_path_buf()), arg.to_string()));
    }
    let name = arg.strip_prefix("scenarios/").unwrap_or(arg);
    let name = name.strip_suffix(".toml").unwrap_or(name);
    let local = Path::new("scenarios").join(format!("{name}.toml"));
    if local.is_file() {
        return Ok((Source::File(local), name.to_string()));
    }
    if let Some((shipped, text)) = S::shipped().iter().find(|(n, _)| *n == name) {
        return Ok((Source::Shipped(shipped, text), name.to_string()));
    }
    let names: Vec<&str> = S::shipped().iter().map(|(n, _)| *n).collect();
    let listed = match names.len() {
        0 => String::new(),
        n if n > 8 => format!("; `{} list` shows them", S::PROGRAM),
        _ => format!("; shipped: {}", names.join(", ")),
    };
    Err(format!(
        "{}: no such file, and no shipped scenario of that name{}{listed}",
        crate::harness::echo(arg),
        crate::harness::did_you_mean(name, names.iter().copied())
    ))
}

/// Reads a resolved scenario: at most [`Driven::MAX_SCENARIO_BYTES`] of UTF-8 text.
pub(crate) fn read<S: Driven>(source: &Source) -> Result<S::Scenario, String> {
    use std::io::Read;
    match source {
        Source::File(path) => {
            let file = path.display().to_string();
            let mut bytes = Vec::new();
            std::fs::File::open(path)
                .and_then(|f| f.take(S::MAX_SCENARIO_BYTES as u64 + 1).read_to_end(&mut bytes))
                .map_err(|e| format!("{file}: cannot read: {e}"))?;
            if bytes.len() > S::MAX_SCENARIO_BYTES {
                return Err(format!("{file}: the file is larger than {} bytes, the most a scenario may be", S::MAX_SCENARIO_BYTES));
            }
            let text = String::from_utf8(bytes).map_err(|e| format!("{file}: not UTF-8 text (byte {})", e.utf8_error().valid_up_to()))?;
            S::parse(&file, &text)
        }
        Source::Shipped(name, text) => S::parse(&format!("{name} (shipped)"), text),
    }
}

/// A loaded scenario with the command line's overrides applied, and its path.
pub(crate) struct Loaded<S: Driven> {
    pub scenario: S::Scenario,
    pub overrides: Overrides,
    pub path: String,
}

/// Loads a scenario and applies `--preset`, `--flaw` and `--strategy`.
pub(crate) fn load<S: Driven>(args: &ScenarioArgs) -> Result<Loaded<S>, String> {
    let (source, shown) = resolve::<S>(&args.scenario)?;
    let mut scenario = with_settings::<S>(read::<S>(&source)?, &args.sets, &shown)?;
    let mut overrides = Overrides { sets: args.sets.clone(), ..Overrides::default() };
    if let Some(name) = &args.preset {
        if !S::presets().contains(&name.as_str()) {
            let allowed = if S::presets().is_empty() { "none (this system has no presets)".to_string() } else { S::presets().join(", ") };
            return Err(format!("--preset {}: allowed: {allowed}", crate::harness::echo(name)));
        }
        S::set_preset(&mut scenario, name);
        overrides.preset = Some(name.clone());
    }
    for flaw in &args.flaws {
        let (off, name) = match flaw.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, flaw.strip_prefix('+').unwrap_or(flaw)),
        };
        switch_name::<S>("flaw", flaw, name)?;
        S::set_switch(&mut scenario, name, !off);
        overrides.flaws.push(flaw.clone());
    }
    if let Some(text) = &args.strategy {
        let strategy = Strategy::parse(text).map_err(|e| format!("--strategy {e}"))?;
        S::set_strategy(&mut scenario, strategy);
        overrides.strategy = Some(strategy);
    }
    Ok(Loaded { scenario, overrides, path: shown })
}

/// The scenario with each `--set KEY=VALUE` applied to it as its file writes it, read
/// back (and validated) as a file would be: a bad key or value is the file's error.
fn with_settings<S: Driven>(scenario: S::Scenario, sets: &[String], shown: &str) -> Result<S::Scenario, String> {
    if sets.is_empty() {
        return Ok(scenario);
    }
    let mut table: toml::Table = S::to_file(&scenario)?.parse().map_err(|e| format!("{shown}: cannot apply --set: {e}"))?;
    for set in sets {
        let bad = || format!("--set {}: write KEY=VALUE with a dotted key (broker.kind=jetstream)", crate::harness::echo(set));
        let (key, text) = set.split_once('=').ok_or_else(bad)?;
        let path: Vec<&str> = key.trim().split('.').collect();
        if path.iter().any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')) {
            return Err(bad());
        }
        // A TOML value (2, 0.1, "x", ["1s", "2s"]), else the text as a string.
        let value = format!("v = {text}").parse::<toml::Table>().ok().and_then(|mut t| t.remove("v")).unwrap_or_else(|| text.into());
        let mut at = &mut table;
        for part in &path[..path.len() - 1] {
            let entry = at.entry(part.to_string()).or_insert_with(|| toml::Value::Table(Default::default()));
            at = entry.as_table_mut().ok_or_else(|| format!("--set {}: {part} is not a table", crate::harness::echo(set)))?;
        }
        at.insert(path[path.len() - 1].to_string(), value);
    }
    let text = toml::to_string(&table).map_err(|e| format!("{shown}: cannot apply --set: {e}"))?;
    let name = format!("{shown} with --set {}", sets.join(" --set "));
    // The line an error names is one of the rewritten text, not of any file: left out.
    S::parse(&name, &text).map_err(|e| match e.strip_prefix(&format!("{name}:")).and_then(|rest| rest.split_once(':')) {
        Some((line, tail)) if line.chars().all(|c| c.is_ascii_digit()) => format!("{name}:{tail}"),
        _ => e,
    })
}

/// `name` (as `--FLAG GIVEN` gave it) is one of the system's bug switches.
pub(crate) fn switch_name<S: Driven>(flag: &str, given: &str, name: &str) -> Result<(), String> {
    let known = S::switches();
    if known.contains(&name) {
        return Ok(());
    }
    let hint = crate::harness::did_you_mean(name, known.iter().copied());
    Err(format!("--{flag} {}: unknown flaw{hint}; allowed: {}", crate::harness::echo(given), known.join(", ")))
}

pub(crate) fn virtual_time(flag: &str, text: &Option<String>) -> Result<Option<std::time::Duration>, String> {
    text.as_deref()
        .map(|t| {
            crate::harness::duration::parse_duration(t).ok_or_else(|| {
                format!(
                    "--{flag} {}: write a virtual time like 2s, 2.014s or 1500ms (at most {}s)",
                    crate::harness::echo(t),
                    crate::harness::duration::MAX_DURATION.as_secs()
                )
            })
        })
        .transpose()
}

/// Runs a scenario's seed, or a reproduction file with its own seed and choices.
pub(crate) fn run_scenario<S: Driven>(scenario: &S::Scenario, seed: Option<u64>, options: &RunOptions) -> (u64, RunOutcome<S>) {
    let outcome = crate::harness::shrink::run_scenario::<S>(scenario, seed, options);
    (outcome.seed, outcome)
}

/// Whether a sweep fails the seeds whose liveness it could not judge: `--require-judged`,
/// else not with `--allow-unjudged`, else when the environment says CI (`CI=true`, as
/// CI services set it).
pub(crate) fn require_judged(require: bool, allow: bool) -> bool {
    require || (!allow && std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false")))
}

/// The command that replays this run.
pub(crate) fn replay_of<S: Driven>(scenario: &S::Scenario, path: &str, seed: u64, branch: &Branch, overrides: &Overrides) -> String {
    match S::reproduction(scenario) {
        Some(r) if r.seed == seed && branch.is_empty() => format!("{} run {}", report::text::program(), report::text::shell_word(path)),
        _ => report::replay_command(path, seed, branch, overrides),
    }
}

/// `--seeds` (or `TICKETSIM_SEEDS`): see [`crate::harness::explore::parse_seeds`]. A
/// random start is printed first (to stderr), so the sweep can be repeated.
pub(crate) fn parse_range(text: &str) -> Result<std::ops::Range<u64>, String> {
    let seeds = crate::harness::explore::parse_seeds(text).map_err(|e| format!("--{e}"))?;
    if seeds.random {
        let (a, b) = (seeds.range.start, seeds.range.end);
        eprintln!("seeds {a}..{b} (a random start; --seeds {a}..{b} repeats this sweep)");
    }
    Ok(seeds.range)
}

pub(crate) fn init_tracing() {
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        // RUST_LOG, when set, decides (e.g. `ticketsim=info,madsim=debug`).
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("ticketsim=info")),
        )
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
