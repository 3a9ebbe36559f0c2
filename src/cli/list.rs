//! `ticketsim list`: the scenarios, invariants, flaws and presets.

use super::{scenario_files, Format};
use crate::ticketing::flaws::{Flaws, Preset, CATALOGUE};
use crate::ticketing::invariants::INVARIANTS;

#[derive(clap::Args)]
pub(crate) struct ListArgs {
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

fn json(scenarios: &[(String, String)]) -> serde_json::Value {
    serde_json::json!({
        "scenarios": scenarios.iter().map(|(p, d)| serde_json::json!({"path": p, "description": d})).collect::<Vec<_>>(),
        "invariants": INVARIANTS.iter().map(|i| serde_json::json!({"name": i.name, "meaning": i.meaning, "kind": i.kind})).collect::<Vec<_>>(),
        "flaws": CATALOGUE.iter().map(|f| serde_json::json!({
            "name": f.name, "description": f.description,
            "origin": f.origin,
            "caught_by": f.caught_by, "target": f.target,
        })).collect::<Vec<_>>(),
        "presets": ["as-built", "hardened"],
    })
}

pub(crate) fn execute(args: ListArgs) -> Result<i32, String> {
    let scenarios = scenario_files();
    if args.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&json(&scenarios)).map_err(|e| e.to_string())?);
        return Ok(0);
    }
    println!("scenarios:");
    for (path, description) in &scenarios {
        println!("  {path:<40} {description}");
    }
    println!("\ninvariants:");
    for inv in INVARIANTS {
        let liveness = if inv.kind == crate::harness::InvariantKind::Liveness { "(liveness) " } else { "" };
        println!("  {:<24} {liveness}{}", inv.name, inv.meaning);
    }
    println!("\nflaws:");
    for f in CATALOGUE {
        let preset = f.origin.name();
        let target = format!("in {}", f.target);
        println!("  {:<26} [{preset:<8}] caught by {:<22} {target}\n  {:<26} {}", f.name, f.caught_by, "", f.description);
    }
    println!("\npresets:\n  as-built   the app as shipped: {}\n  hardened   no flaw", Flaws::preset(Preset::AsBuilt).names().join(", "));
    Ok(0)
}
