//! The `ticketsim` command line: parses arguments, calls the library, maps results to
//! exit codes (0 nothing violated, 1 an invariant was violated, 2 bad input or usage).

use crate::explore::{default_jobs, explore, ExploreOptions};
use crate::flaws::{Flaw, Preset, CATALOGUE};
use crate::report::{self, Overrides};
use crate::run::{run_seed, RunOptions};
use crate::scenario::Scenario;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(name = "ticketsim", version, about = "Deterministic simulator of the event-driven ticketing microservices")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

#[derive(clap::Args, Clone)]
struct ScenarioArgs {
    /// Scenario file (or the name of one under scenarios/, e.g. `order-race`)
    scenario: String,
    /// Replace the scenario's preset
    #[arg(long, value_parser = ["as-built", "hardened"])]
    preset: Option<String>,
    /// Switch a flaw on (NAME) or off (-NAME); repeatable
    #[arg(long = "flaw", value_name = "NAME", allow_hyphen_values = true)]
    flaws: Vec<String>,
}

/// Which part of a run to show (replay's trace, a diagram).
#[derive(clap::Args, Clone)]
struct FilterArgs {
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
    fn filter(self) -> Result<crate::history::TraceFilter, String> {
        Ok(crate::history::TraceFilter {
            from: virtual_time("from", &self.from)?,
            until: virtual_time("until", &self.until)?,
            node: self.node,
            record: self.record,
        })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run one seed: summary table and violations
    Run {
        /// A scenario, a reproduction file (its seed and choices), or a directory of them
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// Default 0, or a reproduction file's own seed
        #[arg(long)]
        seed: Option<u64>,
        /// Print the full trace while running
        #[arg(long)]
        trace: bool,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Sweep many seeds; failing seeds grouped by invariant
    Explore {
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// Seed range A..B (B excluded)
        #[arg(long, default_value = "0..100")]
        seeds: String,
        /// Worker threads (default: the core count)
        #[arg(long)]
        jobs: Option<usize>,
        /// Run one shard I/N of the range (seeds whose position is I mod N)
        #[arg(long)]
        shard: Option<String>,
        /// Stop at the first failing seed
        #[arg(long)]
        fail_fast: bool,
        /// Also write a JUnit XML report here
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Write a reproduction file per distinct bug (its smallest seed) into this directory
        #[arg(long)]
        save_failures: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Replay one seed with its full trace (virtual timestamps)
    Replay {
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// Required, unless SCENARIO is a reproduction file
        #[arg(long)]
        seed: Option<u64>,
        /// Also trace every network message (sent, dropped, duplicated, delivered)
        #[arg(long)]
        messages: bool,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Shrink a failing seed to a small reproduction file that `run` replays
    Shrink {
        #[command(flatten)]
        scenario: ScenarioArgs,
        #[arg(long)]
        seed: u64,
        /// The invariant to keep failing (default: the first one the seed violates)
        #[arg(long)]
        invariant: Option<String>,
        /// Where to write the reproduction (default: repro-<scenario>-<seed>.toml)
        #[arg(long)]
        out: Option<PathBuf>,
        /// Most runs to spend
        #[arg(long, default_value_t = 20000)]
        budget: usize,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Draw a run's messages: Mermaid text and a self-contained HTML/SVG page
    Diagram {
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// Required, unless SCENARIO is a reproduction file
        #[arg(long)]
        seed: Option<u64>,
        /// Directory for diagram.mmd and diagram.html (default: diagram-<scenario>-<seed>)
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Run each seed twice and once in a parallel sweep; report the first divergence
    CheckDeterminism {
        #[command(flatten)]
        scenario: ScenarioArgs,
        #[arg(long, default_value = "0..50")]
        seeds: String,
        #[arg(long)]
        jobs: Option<usize>,
        /// Test-only: plant a nondeterminism (state leaking between runs) to be located
        #[arg(long, hide = true)]
        plant_nondeterminism: bool,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// List scenarios, invariants, flaws and presets
    List {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Prove every flaw is caught by its invariant and the hardened preset is clean
    Selftest {
        /// Seeds tried per flaw and trial before it counts as missed
        #[arg(long, default_value_t = 500)]
        seeds: u64,
        /// Independent seed windows per flaw (the median is reported)
        #[arg(long, default_value_t = 3)]
        trials: u64,
        /// Seeds of each scenario run with the hardened preset
        #[arg(long, default_value_t = 200)]
        hardened_seeds: u64,
        #[arg(long)]
        jobs: Option<usize>,
        /// Also write a JUnit XML report here
        #[arg(long)]
        junit: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Benchmark the reference scenarios against a bare madsim ping-pong
    Bench {
        /// Seeds per scenario
        #[arg(long, default_value_t = 200)]
        seeds: u64,
    },
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
    match execute(cli.command) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
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

/// Loads a scenario and applies `--preset` and `--flaw` overrides.
fn load(args: &ScenarioArgs) -> Result<(Scenario, Overrides, String), String> {
    let path = scenario_path(&args.scenario);
    let mut scenario = Scenario::load(&path).map_err(|e| e.to_string())?;
    let mut overrides = Overrides::default();
    if let Some(preset) = &args.preset {
        let preset = Preset::from_name(preset).expect("clap checked the value");
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
    Ok((scenario, overrides, path.display().to_string()))
}

fn virtual_time(flag: &str, text: &Option<String>) -> Result<Option<std::time::Duration>, String> {
    text.as_deref()
        .map(|t| crate::scenario::parse_duration(t).ok_or_else(|| format!("--{flag} {t}: write a virtual time like 2s, 2.014s or 1500ms")))
        .transpose()
}

/// Runs a scenario's seed, or a reproduction file with its own seed and choices.
fn run_scenario(scenario: &Scenario, seed: Option<u64>, options: &RunOptions) -> (u64, crate::run::RunOutcome) {
    match (&scenario.reproduce, seed) {
        (Some(reproduce), None) => (reproduce.seed, crate::shrink::run_reproduction(scenario, options)),
        (_, seed) => {
            let seed = seed.unwrap_or(0);
            (seed, run_seed(scenario, seed, options))
        }
    }
}

/// The command that replays this run.
fn replay_of(scenario: &Scenario, path: &str, seed: u64, overrides: &Overrides) -> String {
    match &scenario.reproduce {
        Some(r) if r.seed == seed => format!("ticketsim run {path}"),
        _ => report::replay_command(path, seed, overrides),
    }
}

/// `explore --save-failures DIR`: a reproduction file for the smallest seed of each
/// distinct bug, for a regression corpus that `ticketsim run DIR` replays.
fn save_reproductions(dir: &Path, scenario: &Scenario, summary: &crate::explore::ExploreSummary) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut written = std::collections::BTreeSet::new();
    for group in summary.groups.values() {
        let key = (group.invariant.clone(), group.smallest.seed);
        if !written.insert(key) {
            continue;
        }
        let mut repro = scenario.clone();
        repro.reproduce = Some(crate::scenario::Reproduce { seed: group.smallest.seed, invariant: group.invariant.clone(), choices: None });
        let file = dir.join(format!("{}-{}-seed{}.toml", scenario.name, group.invariant, group.smallest.seed));
        std::fs::write(&file, crate::shrink::to_file(&repro)).map_err(|e| format!("{}: {e}", file.display()))?;
    }
    Ok(())
}

/// `run DIR`: every scenario or reproduction file in a directory (a regression corpus).
fn run_corpus(args: &ScenarioArgs, format: Format) -> Result<i32, String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&args.scenario)
        .map_err(|e| format!("{}: {e}", args.scenario))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let mut results = Vec::new();
    for path in &paths {
        let file = ScenarioArgs { scenario: path.display().to_string(), ..args.clone() };
        let (scenario, _, _) = load(&file)?;
        let (seed, outcome) = run_scenario(&scenario, None, &RunOptions::default());
        let mut violated: Vec<&str> = outcome.violations.iter().map(|v| v.invariant).collect();
        violated.sort();
        violated.dedup();
        results.push(serde_json::json!({
            "file": path.display().to_string(),
            "seed": seed,
            "expected": scenario.reproduce.as_ref().map(|r| r.invariant.clone()),
            "violated": violated,
        }));
    }
    let failing = results.iter().filter(|r| !r["violated"].as_array().unwrap().is_empty()).count();
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&serde_json::json!({"files": results, "failing": failing})).unwrap()),
        Format::Text => {
            for r in &results {
                let violated = r["violated"].as_array().unwrap();
                let state = if violated.is_empty() {
                    "passes".to_string()
                } else {
                    format!("violates {}", violated.iter().map(|v| v.as_str().unwrap()).collect::<Vec<_>>().join(", "))
                };
                println!("{:<60} seed {:<8} {state}", r["file"].as_str().unwrap(), r["seed"]);
            }
            println!("{} files, {failing} still failing", results.len());
        }
    }
    Ok((failing > 0) as i32)
}

fn parse_range(text: &str) -> Result<std::ops::Range<u64>, String> {
    let (a, b) = text.split_once("..").ok_or_else(|| format!("--seeds {text}: write a range A..B, e.g. 0..1000"))?;
    let a: u64 = a.trim().parse().map_err(|_| format!("--seeds {text}: {a:?} is not a whole number"))?;
    let b: u64 = b.trim().parse().map_err(|_| format!("--seeds {text}: {b:?} is not a whole number"))?;
    if a >= b {
        return Err(format!("--seeds {text}: the range is empty; write A..B with A < B"));
    }
    Ok(a..b)
}

fn parse_shard(text: &str) -> Result<(u64, u64), String> {
    let bad = || format!("--shard {text}: write I/N with 0 <= I < N, e.g. 0/4");
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let (i, n): (u64, u64) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

fn init_tracing() {
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
            Some(time) => write!(w, "{:>11}", crate::sim::fmt_time(time.elapsed())),
            None => write!(w, "{:>11}", "-"),
        }
    }
}

fn execute(command: Command) -> Result<i32, String> {
    match command {
        Command::Run { scenario, seed, trace, format } => {
            if Path::new(&scenario.scenario).is_dir() {
                return run_corpus(&scenario, format);
            }
            let (scenario, overrides, path) = load(&scenario)?;
            if trace {
                init_tracing();
            }
            let (seed, outcome) = run_scenario(
                &scenario,
                seed,
                &RunOptions { trace: trace.then(Default::default), keep_history: true, ..Default::default() },
            );
            let replay = replay_of(&scenario, &path, seed, &overrides);
            match format {
                Format::Json => {
                    let json = report::RunJson {
                        scenario: &scenario.name,
                        seed,
                        flaws: scenario.flaws().names(),
                        virtual_time: outcome.end,
                        fabric: outcome.fabric,
                        nemesis: outcome.nemesis,
                        trace_hash: format!("{:016x}", outcome.trace_hash),
                        violations: &outcome.violations,
                        replay,
                    };
                    println!("{}", serde_json::to_string_pretty(&json).unwrap());
                }
                Format::Text => {
                    println!("{}", report::run_table(&outcome, &scenario));
                    if let Some(history) = &outcome.history {
                        if let Some(table) = report::version_table(&history.entries(), &scenario) {
                            println!("version table\n{table}");
                        }
                        if let Some(table) = report::account_table(&history.entries(), &scenario) {
                            println!("accounts\n{table}");
                        }
                    }
                    if outcome.failed() {
                        println!("{}", report::violations_table(&outcome.violations, 20));
                        println!("replay with  {replay}");
                    } else {
                        println!("no invariant violated");
                    }
                    if let Some(reproduce) = &scenario.reproduce {
                        let again = outcome.violations.iter().any(|v| v.invariant == reproduce.invariant);
                        println!(
                            "reproduction of {}: {}",
                            reproduce.invariant,
                            if again { "reproduced" } else { "NOT reproduced (fixed?)" }
                        );
                    }
                }
            }
            Ok(outcome.failed() as i32)
        }
        Command::Explore { scenario, seeds, jobs, shard, fail_fast, junit, save_failures, format } => {
            let (scenario, overrides, path) = load(&scenario)?;
            let options = ExploreOptions {
                seeds: parse_range(&seeds)?,
                jobs: jobs.unwrap_or_else(default_jobs),
                shard: shard.as_deref().map(parse_shard).transpose()?,
                fail_fast,
                progress: format == Format::Text,
                keep_trace_hashes: false,
            };
            if options.jobs == 0 {
                return Err("--jobs 0: at least one job is needed".into());
            }
            let summary = explore(&scenario, &options);
            if let Some(file) = &junit {
                std::fs::write(file, crate::junit::explore_xml(&scenario.name, &path, &summary, &overrides))
                    .map_err(|e| format!("{}: {e}", file.display()))?;
            }
            if let Some(dir) = &save_failures {
                save_reproductions(dir, &scenario, &summary)?;
            }
            match format {
                Format::Json => {
                    let failures: Vec<serde_json::Value> = summary
                        .by_invariant
                        .iter()
                        .flat_map(|(invariant, seeds)| {
                            let path = path.clone();
                            let overrides = overrides.clone();
                            seeds.iter().map(move |s| {
                                serde_json::json!({
                                    "seed": s.seed,
                                    "invariant": invariant,
                                    "virtual_time": s.time.as_secs_f64(),
                                    "explanation": s.explanation,
                                    "trace_hash": s.trace_hash,
                                    "replay": report::replay_command(&path, s.seed, &overrides),
                                })
                            })
                        })
                        .collect();
                    let json = serde_json::json!({
                        "scenario": scenario.name,
                        "flaws": scenario.flaws().names(),
                        "seeds_run": summary.seeds_run,
                        "failing": summary.failing,
                        "failing_by_invariant": summary.counts,
                        "failing_seeds": summary.failing_seeds,
                        "fabric": summary.fabric,
                        "nemesis": summary.nemesis,
                        "wall_seconds": summary.wall.as_secs_f64(),
                        "failures": failures,
                        "bugs": summary.groups.values().map(|g| serde_json::json!({
                            "fingerprint": g.fingerprint, "invariant": g.invariant, "seeds": g.seeds,
                            "smallest_seed": g.smallest.seed, "replay": report::replay_command(&path, g.smallest.seed, &overrides),
                        })).collect::<Vec<_>>(),
                    });
                    println!("{}", serde_json::to_string_pretty(&json).unwrap());
                }
                Format::Text => print!("{}", report::explore_text(&summary, &path, &overrides)),
            }
            Ok((summary.failing > 0) as i32)
        }
        Command::Replay { scenario, seed, messages, filter } => {
            let (scenario, overrides, path) = load(&scenario)?;
            let filter = filter.filter()?;
            init_tracing();
            if seed.is_none() && scenario.reproduce.is_none() {
                return Err("replay needs --seed N (or a reproduction file)".into());
            }
            let options = RunOptions { trace: Some(filter), record_messages: messages, keep_history: true, ..Default::default() };
            let (seed, outcome) = run_scenario(&scenario, seed, &options);
            println!("{}", report::run_table(&outcome, &scenario));
            if outcome.failed() {
                println!("{}", report::violations_table(&outcome.violations, 50));
                if let Some(history) = &outcome.history {
                    let entries = history.entries();
                    for v in outcome.violations.iter().take(5) {
                        println!("state of {} at {} ({}):", v.records.join(", "), crate::sim::fmt_time(v.time), v.invariant);
                        for line in report::involved_state(&entries, v) {
                            println!("  {line}");
                        }
                    }
                }
            } else {
                println!("no invariant violated");
            }
            println!("replayed with  {}", replay_of(&scenario, &path, seed, &overrides));
            Ok(outcome.failed() as i32)
        }
        Command::Shrink { scenario, seed, invariant, out, budget, format } => {
            let (scenario, _, _) = load(&scenario)?;
            let shrunk = crate::shrink::shrink(&scenario, seed, invariant.as_deref(), budget)?;
            let out = out.unwrap_or_else(|| PathBuf::from(format!("repro-{}-{seed}.toml", scenario.name)));
            std::fs::write(&out, crate::shrink::to_file(&shrunk.scenario)).map_err(|e| format!("{}: {e}", out.display()))?;
            match format {
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "invariant": shrunk.invariant, "before": shrunk.before, "after": shrunk.after,
                        "runs": shrunk.runs, "file": out.display().to_string(),
                        "replay": format!("ticketsim run {}", out.display()),
                    }))
                    .unwrap()
                ),
                Format::Text => {
                    let (b, a) = (shrunk.before, shrunk.after);
                    println!("shrunk seed {seed} of {} keeping {} failing ({} runs)", scenario.name, shrunk.invariant, shrunk.runs);
                    println!("                 before      after");
                    println!("messages     {:>10} {:>10}", b.messages, a.messages);
                    println!("events       {:>10} {:>10}", b.events, a.events);
                    println!("virtual time {:>10} {:>10}", crate::sim::fmt_time(b.virtual_time), crate::sim::fmt_time(a.virtual_time));
                    println!("choices      {:>10} {:>10}", b.choices, a.choices);
                    println!("wrote {}; replay with  ticketsim run {}", out.display(), out.display());
                }
            }
            Ok(0)
        }
        Command::Diagram { scenario, seed, out, filter } => {
            let (scenario, _, _) = load(&scenario)?;
            if seed.is_none() && scenario.reproduce.is_none() {
                return Err("diagram needs --seed N (or a reproduction file)".into());
            }
            let filter = filter.filter()?;
            let (seed, outcome) =
                run_scenario(&scenario, seed, &RunOptions { record_messages: true, keep_history: true, ..Default::default() });
            let history = outcome.history.as_ref().expect("kept");
            let diagram = crate::diagram::Diagram::build(&history.entries(), &outcome.violations, &outcome.nodes, &filter);
            let dir = out.unwrap_or_else(|| PathBuf::from(format!("diagram-{}-{seed}", scenario.name)));
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let title = format!("{} seed {seed}", scenario.name);
            for (file, text) in [("diagram.mmd", diagram.mermaid()), ("diagram.html", diagram.html(&title))] {
                std::fs::write(dir.join(file), text).map_err(|e| format!("{}: {e}", dir.join(file).display()))?;
            }
            println!("wrote {0}/diagram.mmd and {0}/diagram.html ({1} violations marked)", dir.display(), outcome.violations.len());
            Ok(outcome.failed() as i32)
        }
        Command::CheckDeterminism { scenario, seeds, jobs, plant_nondeterminism, format } => {
            let (scenario, _, _) = load(&scenario)?;
            let seeds = parse_range(&seeds)?;
            let count = seeds.end - seeds.start;
            let options = RunOptions { plant_nondeterminism, ..Default::default() };
            let divergences = crate::determinism::check(&scenario, seeds, jobs.unwrap_or_else(default_jobs), &options);
            match format {
                Format::Json => {
                    println!("{}", serde_json::to_string_pretty(&serde_json::json!({"seeds": count, "divergences": divergences})).unwrap())
                }
                Format::Text => {
                    if divergences.is_empty() {
                        println!("{count} seeds, each run twice and once in a parallel sweep: no divergence");
                    }
                    for d in divergences.iter().take(10) {
                        let show = |e: &Option<crate::determinism::Event>| match e {
                            Some(e) => format!("event {} at {} on {}: {}", e.index, crate::sim::fmt_time_precise(e.time), e.node, e.text),
                            None => "(the run had already ended)".into(),
                        };
                        println!(
                            "seed {} diverges from the {}:
  first run: {}
  {:<9}: {}",
                            d.seed,
                            d.against,
                            show(&d.first),
                            if d.against == "second run" { "second" } else { "parallel" },
                            show(&d.other)
                        );
                    }
                    if divergences.len() > 10 {
                        println!("... and {} more divergences", divergences.len() - 10);
                    }
                }
            }
            Ok((!divergences.is_empty()) as i32)
        }
        Command::List { format } => {
            print_list(format);
            Ok(0)
        }
        Command::Selftest { seeds, trials, hardened_seeds, jobs, junit, format } => {
            if seeds == 0 || trials == 0 {
                return Err("--seeds and --trials must be at least 1".into());
            }
            let options = crate::selftest::SelftestOptions {
                budget: seeds,
                trials,
                hardened_seeds,
                jobs: jobs.unwrap_or_else(default_jobs).max(1),
                scenarios_dir: "scenarios".into(),
            };
            let report = crate::selftest::selftest(&options)?;
            if let Some(file) = &junit {
                std::fs::write(file, crate::junit::selftest_xml(&report)).map_err(|e| format!("{}: {e}", file.display()))?;
            }
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&report).unwrap()),
                Format::Text => print!("{}", crate::selftest::render(&report)),
            }
            Ok((!report.passed()) as i32)
        }
        Command::Bench { seeds } => crate::bench::run(seeds).map(|_| 0),
    }
}

fn scenario_files() -> Vec<(String, String)> {
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

fn print_list(format: Format) {
    let scenarios = scenario_files();
    if format == Format::Json {
        let json = serde_json::json!({
            "scenarios": scenarios.iter().map(|(p, d)| serde_json::json!({"path": p, "description": d})).collect::<Vec<_>>(),
            "invariants": crate::checkers::INVARIANTS.iter().map(|i| serde_json::json!({"name": i.name, "meaning": i.meaning, "liveness": i.liveness})).collect::<Vec<_>>(),
            "flaws": CATALOGUE.iter().map(|f| serde_json::json!({
                "name": f.name, "description": f.description,
                "preset": if f.as_built { "as-built" } else { "lesson bug (no preset)" },
                "caught_by": f.caught_by, "target": f.target,
            })).collect::<Vec<_>>(),
            "presets": ["as-built", "hardened"],
        });
        println!("{}", serde_json::to_string_pretty(&json).unwrap());
        return;
    }
    println!("scenarios:");
    for (path, description) in &scenarios {
        println!("  {path:<40} {description}");
    }
    println!("\ninvariants:");
    for inv in crate::checkers::INVARIANTS {
        println!("  {:<24} {}{}", inv.name, if inv.liveness { "(liveness) " } else { "" }, inv.meaning);
    }
    println!("\nflaws:");
    for f in CATALOGUE {
        let preset = if f.as_built { "as-built" } else { "lesson" };
        let target = format!("in {}", f.target);
        println!("  {:<26} [{preset:<8}] caught by {:<22} {target}\n  {:<26} {}", f.name, f.caught_by, "", f.description);
    }
    println!(
        "\npresets:\n  as-built   the app as shipped: {}\n  hardened   no flaw",
        crate::flaws::Flaws::preset(Preset::AsBuilt).names().join(", ")
    );
}
