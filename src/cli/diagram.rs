//! `ticketsim diagram`: a run's messages as Mermaid text and a self-contained HTML/SVG
//! space-time diagram, with the violating records marked.

use super::{load, run_scenario, write_file, FilterArgs, ScenarioArgs};
use crate::harness::run::RunOptions;
use crate::report::diagram::Diagram;
use std::path::PathBuf;

#[derive(clap::Args)]
pub(crate) struct DiagramArgs {
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
}

pub(crate) fn execute(args: DiagramArgs) -> Result<i32, String> {
    let loaded = load(&args.scenario)?;
    let scenario = &loaded.scenario;
    if args.seed.is_none() && scenario.reproduce.is_none() {
        return Err("diagram needs --seed N (or a reproduction file)".into());
    }
    let filter = args.filter.filter()?;
    let (seed, outcome) = run_scenario(scenario, args.seed, &RunOptions { record_messages: true, keep_history: true, ..Default::default() });
    let Some(history) = outcome.history.as_ref() else {
        return Err(format!("seed {seed} panicked before a history was kept: {}", outcome.panic.unwrap_or_default()));
    };
    let diagram = Diagram::build(&history.entries(), &outcome.violations, &outcome.nodes, &filter);
    let dir = args.out.unwrap_or_else(|| PathBuf::from(format!("diagram-{}-{seed}", scenario.name)));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let title = format!("{} seed {seed}", scenario.name);
    write_file(&dir.join("diagram.mmd"), &diagram.mermaid())?;
    write_file(&dir.join("diagram.html"), &diagram.html(&title))?;
    println!("wrote {0}/diagram.mmd and {0}/diagram.html ({1} violations marked)", dir.display(), outcome.violations.len());
    Ok(outcome.failed() as i32)
}
