//! `ticketsim check-determinism`: each seed run twice (the second checked draw for draw
//! against the first) and once in a parallel sweep; the first divergence, if any.

use super::{load, parse_range, Format, ScenarioArgs};
use crate::harness::determinism::{self, Divergence, Event};
use crate::harness::explore::default_jobs;
use crate::harness::run::RunOptions;
use crate::ticketing::Ticketing;

#[derive(clap::Args)]
pub(crate) struct DeterminismArgs {
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
}

fn show(e: &Option<Event>) -> String {
    match e {
        Some(e) => format!("event {} at {} on {}: {}", e.index, crate::harness::fmt_time_precise(e.time), e.node, e.text),
        None => "(the run had already ended)".into(),
    }
}

fn print(count: u64, divergences: &[Divergence]) {
    if divergences.is_empty() {
        println!("{count} seeds, each run twice and once in a parallel sweep: no divergence");
    }
    for d in divergences.iter().take(10) {
        let label = if d.against == "second run" { "second" } else { "parallel" };
        println!("seed {} diverges from the {}:\n  first run: {}\n  {label:<9}: {}", d.seed, d.against, show(&d.first), show(&d.other));
    }
    if divergences.len() > 10 {
        println!("... and {} more divergences", divergences.len() - 10);
    }
}

pub(crate) fn execute(args: DeterminismArgs) -> Result<i32, String> {
    let loaded = load(&args.scenario)?;
    let seeds = parse_range(&args.seeds)?;
    let count = seeds.end - seeds.start;
    let options = RunOptions { plant_nondeterminism: args.plant_nondeterminism, ..Default::default() };
    let divergences = determinism::check::<Ticketing>(&loaded.scenario, seeds, args.jobs.unwrap_or_else(default_jobs), &options);
    match args.format {
        Format::Json => println!("{}", serde_json::json!({"seeds": count, "divergences": divergences})),
        Format::Text => print(count, &divergences),
    }
    Ok((!divergences.is_empty()) as i32)
}
