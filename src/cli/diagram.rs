//! `ticketsim diagram`: a run's messages as Mermaid text and a self-contained HTML/SVG
//! space-time diagram, with the violating records marked.

use super::{check_dir, load, run_scenario, safe_file_name, write_file, FilterArgs, ScenarioArgs};
use crate::harness::run::RunOptions;
use crate::report::diagram::Diagram;
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  ticketsim diagram order-race --seed 7 --preset as-built     # open diagram-order-race-7/diagram.html\n  ticketsim diagram repro-order-race-7.toml --out repro-diagram\n  ticketsim diagram full-system --seed 3 --record T2 --from 5s --until 9s"
)]
pub(crate) struct DiagramArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// The seed; required unless SCENARIO is a reproduction file
    #[arg(long, env = "TICKETSIM_SEED")]
    seed: Option<u64>,
    #[command(flatten)]
    branch: super::BranchArgs,
    /// Directory for diagram.mmd and diagram.html (default: diagram-<scenario>-<seed>)
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    filter: FilterArgs,
}

pub(crate) fn execute(args: DiagramArgs) -> Result<i32, String> {
    let loaded = load(&args.scenario)?;
    let scenario = &loaded.scenario;
    if args.seed.is_none() && scenario.reproduce.is_none() {
        return Err("diagram needs --seed N (or a reproduction file)".into());
    }
    let filter = args.filter.filter()?;
    let shown_seed = args.seed.or(scenario.reproduce.as_ref().map(|r| r.seed)).unwrap_or_default();
    let dir = args.out.unwrap_or_else(|| PathBuf::from(safe_file_name(&format!("diagram-{}-{shown_seed}", scenario.name))));
    check_dir("out", &dir)?;
    let (seed, outcome) = run_scenario(
        scenario,
        args.seed,
        &RunOptions { record_messages: true, keep_history: true, branch: args.branch.get()?, ..Default::default() },
    );
    super::matched_something(&filter, &outcome)?;
    let Some(history) = outcome.history.as_ref() else {
        return Err(format!("seed {seed} panicked before a history was kept: {}", outcome.panic.unwrap_or_default()));
    };
    let diagram = Diagram::build(&history.entries(), &outcome.violations, &outcome.nodes, &filter);
    let title = format!("{} seed {seed}", scenario.name);
    write_file(&dir.join("diagram.mmd"), &diagram.mermaid())?;
    write_file(&dir.join("diagram.html"), &diagram.html(&title))?;
    let marked = crate::report::style::count(outcome.violations.len() as u64, "violation", "violations");
    println!("wrote {0}/diagram.mmd and {0}/diagram.html ({marked} marked)", dir.display());
    Ok(outcome.failed() as i32)
}
