//! Measures shrinking over the flaw catalogue: for each flaw, the first failing seed of
//! its target scenario (hardened plus that flaw), shrunk; prints the run's size before
//! and after (messages, events, decisions) and the wall time of the shrink; then whether
//! the reproduction with the flaw fixed parts from it no earlier than the flaw's line first
//! ran (`parts_after_flaw`), and the causes shrink verified.
//! `cargo run --release --example shrink_catalogue` (docs/debugging.md).

use std::time::Instant;
use ticketsim::harness::diff::diff;
use ticketsim::harness::run::RunOptions;
use ticketsim::harness::shrink::{run_scenario, shrink};
use ticketsim::ticketing::flaws::CATALOGUE;
use ticketsim::ticketing::selftest::first_detection;
use ticketsim::ticketing::{Scenario, Ticketing};

fn main() {
    println!(
        "flaw\tseed\tmessages\tevents\tchoices\tmessages_after\tevents_after\tchoices_after\truns\tshrink_ms\tparts_after_flaw\tcauses"
    );
    let (mut total_ms, mut total_after, mut parts_ok) = (0u128, 0u64, 0);
    for info in CATALOGUE {
        let s = Scenario::load(std::path::Path::new(&format!("scenarios/{}.toml", info.target))).expect("a shipped scenario");
        let s = s.hardened_with(&[info.name]);
        let Some((seed, _)) = first_detection(&s, 0, 500, info.caught_by, 1) else {
            println!("{}\tnot found", info.name);
            continue;
        };
        let started = Instant::now();
        match shrink::<Ticketing>(&s, seed, Some(info.caught_by), 600) {
            Ok(shrunk) => {
                let ms = started.elapsed().as_millis();
                total_ms += ms;
                total_after += shrunk.after.messages;
                let (b, a) = (shrunk.before, shrunk.after);
                let kept = RunOptions { keep_history: true, log_switches: true, ..RunOptions::default() };
                let original = run_scenario::<Ticketing>(&shrunk.scenario, None, &kept);
                let fixed = run_scenario::<Ticketing>(&shrunk.scenario.with_flaw_off(info.flaw), None, &kept);
                let d = diff(&original, &fixed, &[info.name.to_string()]);
                let first = original.switches.as_deref().unwrap_or_default().iter().find(|c| c.switch == info.name).map(|c| c.time);
                let parted = d.parting.as_ref().and_then(|p| p.original.as_ref().or(p.other.as_ref())).map(|s| s.time);
                let ok = matches!((first, parted), (Some(f), Some(p)) if p >= f);
                parts_ok += ok as u32;
                println!(
                    "{}\t{seed}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{ms}\t{ok}\t{}",
                    info.name,
                    b.messages,
                    b.events,
                    b.choices,
                    a.messages,
                    a.events,
                    a.choices,
                    shrunk.runs,
                    shrunk.verification.needs.join("+")
                );
            }
            Err(e) => println!("{}\t{seed}\tshrink failed: {e}", info.name),
        }
    }
    println!("total\t\t\t\t\t{total_after}\t\t\t\t{total_ms}\t{parts_ok} of {}", CATALOGUE.len());
}
