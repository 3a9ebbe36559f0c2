//! Measures shrinking over the flaw catalogue: for each flaw, the first failing seed of
//! its target scenario (hardened plus that flaw), shrunk; prints the run's size before
//! and after (messages, events, decisions) and the wall time of the shrink.
//! `cargo run --release --example shrink_catalogue` (docs/debugging.md).

use std::time::Instant;
use ticketsim::harness::shrink::shrink;
use ticketsim::ticketing::flaws::{Preset, CATALOGUE};
use ticketsim::ticketing::selftest::first_detection;
use ticketsim::ticketing::{Scenario, Ticketing};

fn main() {
    println!("flaw\tseed\tmessages\tevents\tchoices\tmessages_after\tevents_after\tchoices_after\truns\tshrink_ms");
    let (mut total_ms, mut total_after) = (0u128, 0u64);
    for info in CATALOGUE {
        let mut s = Scenario::load(std::path::Path::new(&format!("scenarios/{}.toml", info.target))).expect("a shipped scenario");
        s.preset = Preset::Hardened;
        s.without_flaws.clear();
        s.flaws = vec![info.name.to_string()];
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
                println!(
                    "{}\t{seed}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{ms}",
                    info.name, b.messages, b.events, b.choices, a.messages, a.events, a.choices, shrunk.runs
                );
            }
            Err(e) => println!("{}\t{seed}\tshrink failed: {e}", info.name),
        }
    }
    println!("total\t\t\t\t\t{total_after}\t\t\t\t{total_ms}");
}
