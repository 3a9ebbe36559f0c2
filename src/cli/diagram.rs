//! `ticketsim diagram`: a run's messages as Mermaid text and a self-contained HTML/SVG
//! space-time diagram, with the violating records marked.

use super::{check_dir, load, run_scenario, safe_file_name, write_file, FilterArgs, ScenarioArgs};
use crate::harness::run::RunOptions;
use crate::report::diagram::Diagram;
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  ticketsim diagram order-race --seed 7 --preset as-built     # open diagram-order-race-7/diagram.html\n  ticketsim diagram repro-order-race-7.toml --out repro-diagram\n  ticketsim diagram order-race --seed 7 --preset as-built --fix racy-reservation   # and fixed.html beside it\n  ticketsim diagram full-system --seed 3 --record T2 --from 5s --until 15s"
)]
pub(crate) struct DiagramArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// The seed; required unless SCENARIO is a reproduction file
    #[arg(long, env = "TICKETSIM_SEED")]
    seed: Option<u64>,
    #[command(flatten)]
    branch: super::BranchArgs,
    #[command(flatten)]
    fix: super::fix::FixArgs,
    /// Directory for diagram.mmd and diagram.html (default: diagram-<scenario>-<seed>)
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    filter: FilterArgs,
}

pub(crate) fn execute<S: super::Driven>(args: DiagramArgs) -> Result<i32, String> {
    let loaded = load::<S>(&args.scenario)?;
    let scenario = &loaded.scenario;
    if args.seed.is_none() && S::reproduction(scenario).is_none() {
        return Err("diagram needs --seed N (or a reproduction file)".into());
    }
    let filter = args.filter.filter()?;
    let shown_seed = args.seed.or(S::reproduction(scenario).map(|r| r.seed)).unwrap_or_default();
    let dir = args.out.unwrap_or_else(|| PathBuf::from(safe_file_name(&format!("diagram-{}-{shown_seed}", S::name(scenario)))));
    check_dir("out", &dir)?;
    let fixes = args.fix.flaws::<S>(scenario)?;
    let branch = args.branch.get()?;
    let options = RunOptions {
        record_messages: true,
        keep_history: true,
        branch: branch.clone(),
        log_switches: !fixes.is_empty(),
        require_judged: true,
        ..Default::default()
    };
    let (seed, outcome) = run_scenario::<S>(scenario, args.seed, &options);
    super::matched_something(&filter, &outcome)?;
    let Some(history) = outcome.history.as_ref() else {
        return Err(format!("seed {seed} panicked before a history was kept: {}", outcome.panic.unwrap_or_default()));
    };
    let diagram = Diagram::build(&history.entries(), &outcome.violations, &outcome.nodes, &filter);
    let title = format!("{} seed {seed}", S::name(scenario));
    let marked = crate::report::style::count(outcome.violations.len() as u64, "violation", "violations");
    if fixes.is_empty() {
        write_file(&dir.join("diagram.mmd"), &diagram.mermaid())?;
        write_file(&dir.join("diagram.html"), &diagram.html(&title))?;
        outln!("wrote {0}/diagram.mmd and {0}/diagram.html ({marked} marked)", dir.display());
        return Ok(outcome.failed() as i32);
    }
    // The fixed run on the same decisions, drawn beside it; each page links the other.
    let fixed_scenario = super::driven::fixed::<S>(scenario, &fixes);
    let (_, fixed) = run_scenario::<S>(&fixed_scenario, S::reproduction(scenario).map_or(Some(seed), |_| None), &options);
    let c = super::fix::Counterpart { diff: crate::harness::diff::diff(&outcome, &fixed, &fixes), names: fixes, outcome: fixed };
    let Some(fixed_history) = c.outcome.history.as_ref() else {
        return Err(format!("the run with {} fixed panicked before a history was kept", c.names.join(" + ")));
    };
    let drawn = Diagram::build(&fixed_history.entries(), &c.outcome.violations, &c.outcome.nodes, &filter)
        .with_counterpart("diagram.html", &format!("The same decisions with {} as it was", c.names.join(" + ")));
    write_file(&dir.join("diagram.mmd"), &diagram.mermaid())?;
    write_file(
        &dir.join("diagram.html"),
        &diagram.with_counterpart("fixed.html", &format!("The same decisions with {} fixed", c.names.join(" + "))).html(&title),
    )?;
    write_file(&dir.join("fixed.mmd"), &drawn.mermaid())?;
    write_file(&dir.join("fixed.html"), &drawn.html(&format!("{title}, {} fixed", c.names.join(" + "))))?;
    outln!("wrote {0}/diagram.mmd and {0}/diagram.html ({marked} marked)", dir.display());
    outln!("wrote {0}/fixed.mmd and {0}/fixed.html (the same decisions, {1} fixed)", dir.display(), c.names.join(" + "));
    out!("{}", super::fix::text(&outcome, &c));
    Ok(outcome.failed() as i32)
}
