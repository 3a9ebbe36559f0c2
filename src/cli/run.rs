//! `ticketsim run`: one seed of a scenario (or a reproduction file, or a directory of
//! them): the summary table, the scripted tables, the violations and the replay command.

use super::{load, replay_of, run_scenario, Format, ScenarioArgs};
use crate::harness::run::RunOptions;
use crate::report;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
#[command(
    after_help = "SCENARIO may also be a reproduction file (its own seed and choices) or a directory of them.\n\nExamples:\n  ticketsim run walkthrough\n  ticketsim run order-race --seed 7 --preset as-built\n  ticketsim run order-race --seed 7 --preset as-built --fix racy-reservation   # the same run, fixed\n  ticketsim run failures                   # the reproductions `explore --save-failures failures` wrote: exits 1 while any still fails"
)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// The seed (default 0, or a reproduction file's own)
    #[arg(long, env = "TICKETSIM_SEED")]
    seed: Option<u64>,
    #[command(flatten)]
    branch: super::BranchArgs,
    #[command(flatten)]
    fix: super::fix::FixArgs,
    /// Print the full trace while running
    #[arg(long)]
    trace: bool,
    /// Show tables at full width instead of fitting the terminal
    #[arg(long)]
    pub(crate) wide: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub(crate) fn execute<S: super::Driven>(args: RunArgs) -> Result<i32, String> {
    if Path::new(&args.scenario.scenario).is_dir() {
        return run_corpus::<S>(&args.scenario, args.format);
    }
    let loaded = load::<S>(&args.scenario)?;
    let scenario = &loaded.scenario;
    if args.trace {
        super::init_tracing();
    }
    let branch = args.branch.get()?;
    let fixes = args.fix.flaws::<S>(scenario)?;
    let options = RunOptions {
        trace: args.trace.then(Default::default),
        keep_history: true,
        branch: branch.clone(),
        log_switches: !fixes.is_empty(),
        require_judged: true,
        ..Default::default()
    };
    let (seed, outcome) = run_scenario::<S>(scenario, args.seed, &options);
    let replay = replay_of::<S>(scenario, &loaded.path, seed, &branch, &loaded.overrides);
    let fixed = (!fixes.is_empty()).then(|| super::fix::counterpart::<S>(scenario, seed, &branch, &fixes, &outcome));
    match args.format {
        Format::Json => {
            let json = report::json::RunJson {
                scenario: S::name(scenario),
                seed,
                flaws: super::driven::switches_on::<S>(scenario),
                virtual_time: outcome.end,
                fabric: outcome.fabric,
                nemesis: outcome.nemesis,
                trace_hash: outcome.trace_hash.map_or(String::new(), |h| format!("{h:016x}")),
                events: outcome.events,
                budget_events: S::options(scenario).budget.events,
                liveness: &outcome.liveness,
                expectations: outcome.expectations,
                plan: outcome.plan.as_ref().map(|p| p.json(&outcome.nodes)),
                violations: &outcome.violations,
                replay,
                fix: fixed.as_ref().map(|c| super::fix::json(&outcome, c)),
            };
            outln!("{}", report::json::document("run", &json)?);
        }
        Format::Text => {
            outln!("{}", report::text::run_table(&outcome, scenario, S::name(scenario)));
            out!("{}", report::text::plan_text(&outcome));
            for (title, table) in S::run_tables(&outcome, scenario) {
                outln!("{title}\n{table}");
            }
            if outcome.failed() {
                outln!("{}", report::text::violations_table(&outcome.violations, 20));
                outln!("replay with  {replay}");
            } else {
                outln!("{}", crate::report::style::paint("no invariant violated", crate::report::style::Tone::Pass));
            }
            if let Some(reproduce) = S::reproduction(scenario) {
                outln!("reproduction of {}: {}", reproduce.invariant, reproduction_verdict(reproduce, &outcome.violations));
                if let Some(differs) = plan_differs(reproduce, &outcome) {
                    outln!("{differs}");
                }
            }
            if let Some(c) = &fixed {
                out!("{}", super::fix::text(&outcome, c));
            }
        }
    }
    Ok(outcome.failed() as i32)
}

/// `run DIR`: every scenario or reproduction file in a directory (a regression corpus).
/// An invalid file is reported and the others still run; the exit code is the worst:
/// 2 if a file was invalid, else 1 if one still fails, else 0. No file is an error.
fn run_corpus<S: super::Driven>(args: &ScenarioArgs, format: Format) -> Result<i32, String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&args.scenario)
        .map_err(|e| format!("{}: {e}", args.scenario))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    if paths.is_empty() {
        return Err(format!("{}: no .toml file in this directory; nothing to run", args.scenario));
    }
    paths.sort();
    let mut results = Vec::new();
    for path in &paths {
        let file = ScenarioArgs { scenario: path.display().to_string(), ..args.clone() };
        let loaded = match load::<S>(&file) {
            Ok(loaded) => loaded,
            Err(error) => {
                results.push(serde_json::json!({ "file": path.display().to_string(), "error": crate::harness::bounded(&error) }));
                continue;
            }
        };
        let (seed, outcome) = run_scenario::<S>(&loaded.scenario, None, &RunOptions { require_judged: true, ..Default::default() });
        let mut violated: Vec<&str> = outcome.violations.iter().map(|v| v.invariant).collect();
        violated.sort();
        violated.dedup();
        results.push(serde_json::json!({
            "file": path.display().to_string(),
            "seed": seed,
            "expected": S::reproduction(&loaded.scenario).map(|r| r.invariant.clone()),
            "violated": violated,
        }));
    }
    let violated = |r: &serde_json::Value| r["violated"].as_array().map(Vec::len).unwrap_or(0);
    let failing = results.iter().filter(|r| violated(r) > 0).count();
    let invalid = results.iter().filter(|r| r.get("error").is_some()).count();
    match format {
        Format::Json => {
            outln!("{}", report::json::document("corpus", serde_json::json!({"files": results, "failing": failing, "invalid": invalid}))?)
        }
        Format::Text => {
            for r in &results {
                let names: Vec<&str> = r["violated"].as_array().into_iter().flatten().filter_map(|v| v.as_str()).collect();
                let state = match r["error"].as_str() {
                    Some(error) => format!("INVALID: {error}"),
                    None if names.is_empty() => "passes".to_string(),
                    None => format!("violates {}", names.join(", ")),
                };
                outln!("{:<60} seed {:<8} {state}", r["file"].as_str().unwrap_or(""), r["seed"]);
            }
            outln!("{}, {failing} still failing, {invalid} invalid", crate::report::style::count(results.len() as u64, "file", "files"));
        }
    }
    Ok(if invalid > 0 { 2 } else { (failing > 0) as i32 })
}

/// Whether a run shows the bug its reproduction file names: the invariant and, when the
/// file records it, the same fingerprint.
/// When the file records a plan and this run drew another: the first line that differs.
fn plan_differs<S: super::Driven>(
    reproduce: &crate::harness::system::Reproduce,
    outcome: &crate::harness::run::RunOutcome<S>,
) -> Option<String> {
    let drawn = outcome.plan.as_ref().map(|p| p.lines(&outcome.nodes))?;
    if reproduce.plan.is_empty() || reproduce.plan == drawn {
        return None;
    }
    let at = reproduce.plan.iter().zip(&drawn).position(|(a, b)| a != b).unwrap_or(reproduce.plan.len().min(drawn.len()));
    let (recorded, now) = (reproduce.plan.get(at).map_or("(nothing)", String::as_str), drawn.get(at).map_or("(nothing)", String::as_str));
    Some(format!("this build draws another plan than the file records: line {} was {recorded:?}, is {now:?}", at + 1))
}

fn reproduction_verdict(reproduce: &crate::harness::system::Reproduce, violations: &[crate::harness::system::Violation]) -> String {
    let of_invariant: Vec<_> = violations.iter().filter(|v| v.invariant == reproduce.invariant).collect();
    match (&reproduce.fingerprint, of_invariant.is_empty()) {
        (_, true) => "NOT reproduced (fixed?)".into(),
        (None, false) => "reproduced".into(),
        (Some(f), false) if of_invariant.iter().any(|v| &v.fingerprint() == f) => "reproduced (the same bug)".into(),
        (Some(f), false) => format!("NOT reproduced: the invariant fails, but not as recorded ({f})"),
    }
}
