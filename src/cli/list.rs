//! `ticketsim list`: the scenarios, invariants, flaws and presets.

use super::{write_file, Format};
use crate::ticketing::flaws::{FlawInfo, Flaws, Preset, BENCHMARK, CATALOGUE};
use crate::ticketing::invariants::INVARIANTS;
use crate::ticketing::scenario::shipped::SHIPPED;
use crate::ticketing::Scenario;
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  ticketsim list\n  ticketsim list --format json\n  ticketsim list --write my-scenarios    # then edit and run my-scenarios/order-race.toml"
)]
pub(crate) struct ListArgs {
    /// Write the shipped scenarios into this directory, for editing (existing files are kept)
    #[arg(long, value_name = "DIR")]
    write: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// The shipped scenarios, with their descriptions.
fn scenario_list() -> Vec<(String, String)> {
    SHIPPED
        .iter()
        .map(|(name, text)| {
            let description = Scenario::parse(name, text).map(|s| s.description).unwrap_or_else(|e| format!("(invalid: {e})"));
            (name.to_string(), description)
        })
        .collect()
}

/// `list --write DIR`: each shipped scenario as DIR/NAME.toml, keeping files already there.
fn write_out(dir: &std::path::Path) -> Result<i32, String> {
    super::check_dir("write", dir)?;
    let (mut written, mut kept) = (0, 0);
    for (name, text) in SHIPPED {
        let path = dir.join(format!("{name}.toml"));
        if path.exists() {
            kept += 1;
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        write_file(&path, text)?;
        written += 1;
    }
    outln!(
        "wrote {} into {}{}",
        crate::report::style::count(written as u64, "scenario file", "scenario files"),
        dir.display(),
        if kept > 0 { format!(" ({kept} already there, kept)") } else { String::new() }
    );
    Ok(0)
}

fn flaw_json(f: &FlawInfo) -> serde_json::Value {
    serde_json::json!({ "name": f.name, "description": f.description, "origin": f.origin, "caught_by": f.caught_by, "target": f.target })
}

fn json(scenarios: &[(String, String)]) -> serde_json::Value {
    serde_json::json!({
        "scenarios": scenarios.iter().map(|(n, d)| serde_json::json!({"name": n, "description": d})).collect::<Vec<_>>(),
        "invariants": INVARIANTS.iter().map(|i| serde_json::json!({"name": i.name, "meaning": i.meaning, "kind": i.kind})).collect::<Vec<_>>(),
        "flaws": CATALOGUE.iter().map(flaw_json).collect::<Vec<_>>(),
        "benchmark_switches": BENCHMARK.iter().map(flaw_json).collect::<Vec<_>>(),
        "presets": ["as-built", "hardened"],
    })
}

pub(crate) fn execute(args: ListArgs) -> Result<i32, String> {
    if let Some(dir) = &args.write {
        return write_out(dir);
    }
    let scenarios = scenario_list();
    if args.format == Format::Json {
        outln!("{}", crate::report::json::document("list", json(&scenarios))?);
        return Ok(0);
    }
    outln!("scenarios (shipped; run one by name from any directory):");
    let hanging = crate::report::style::hanging;
    for (name, description) in &scenarios {
        outln!("{}", hanging(&format!("  {name:<22} "), description));
    }
    outln!("\ninvariants:");
    for inv in INVARIANTS {
        let liveness = if inv.kind == crate::harness::InvariantKind::Liveness { "(liveness) " } else { "" };
        outln!("{}", hanging(&format!("  {:<24} ", inv.name), &format!("{liveness}{}", inv.meaning)));
    }
    outln!("\nflaws:");
    print_flaws(CATALOGUE);
    outln!("\nbenchmark switches (`ticketsim hunt`'s deep bugs; not in the selftest or a preset):");
    print_flaws(BENCHMARK);
    outln!(
        "\npresets:\n{}",
        hanging("  as-built   ", &format!("the app as shipped: {}", Flaws::preset(Preset::AsBuilt).names().join(", ")))
    );
    outln!("  hardened   no flaw");
    Ok(0)
}

fn print_flaws(flaws: &[FlawInfo]) {
    for f in flaws {
        let preset = f.origin.name();
        let target = format!("in {}", f.target);
        outln!("  {:<26} [{preset:<8}] caught by {:<22} {target}", f.name, f.caught_by);
        outln!("{}", crate::report::style::hanging(&format!("  {:<26} ", ""), f.description));
    }
}
