//! The ticketing app as the commands drive it: its shipped scenarios, its flaws and
//! presets, and the scripted tables a run's report adds.

use super::driven::Driven;
use crate::harness::history::Entry;
use crate::harness::run::RunOutcome;
use crate::harness::strategy::Strategy;
use crate::harness::system::Violation;
use crate::report::text;
use crate::ticketing::flaws::{Flaw, Preset};
use crate::ticketing::{Scenario, Ticketing};

impl Driven for Ticketing {
    const PROGRAM: &'static str = "ticketsim";
    const ABOUT: &'static str = "Deterministic simulator of the event-driven ticketing microservices";
    const MAX_SCENARIO_BYTES: usize = crate::ticketing::scenario::MAX_FILE_BYTES;

    fn shipped() -> &'static [(&'static str, &'static str)] {
        crate::ticketing::scenario::shipped::SHIPPED
    }

    fn parse(file: &str, text: &str) -> Result<Scenario, String> {
        Scenario::parse(file, text).map_err(|e| e.to_string())
    }

    fn to_file(scenario: &Scenario) -> Result<String, String> {
        scenario.to_file()
    }

    fn name(scenario: &Scenario) -> &str {
        &scenario.name
    }

    fn switches() -> Vec<&'static str> {
        Flaw::names()
    }

    fn presets() -> &'static [&'static str] {
        &["as-built", "hardened"]
    }

    fn set_preset(scenario: &mut Scenario, preset: &str) {
        if let Some(preset) = Preset::from_name(preset) {
            scenario.preset = preset;
            scenario.flaws.clear();
            scenario.without_flaws.clear();
        }
    }

    fn set_switch(scenario: &mut Scenario, name: &str, on: bool) {
        let Some(flaw) = Flaw::from_name(name) else { return };
        if on {
            scenario.without_flaws.retain(|f| f != name);
            scenario.flaws.retain(|f| f != name);
            scenario.flaws.push(name.to_string());
        } else {
            *scenario = scenario.with_flaw_off(flaw);
        }
    }

    fn set_strategy(scenario: &mut Scenario, strategy: Strategy) {
        scenario.strategy = strategy;
    }

    fn run_tables(outcome: &RunOutcome<Ticketing>, scenario: &Scenario) -> Vec<(&'static str, String)> {
        let Some(history) = &outcome.history else { return Vec::new() };
        let entries = history.entries();
        [("version table", text::version_table(&entries, scenario)), ("accounts", text::account_table(&entries, scenario))]
            .into_iter()
            .filter_map(|(title, table)| Some((title, table?)))
            .collect()
    }

    fn record_ids(entries: &[Entry<crate::ticketing::domain::Obs>]) -> std::collections::BTreeSet<String> {
        entries.iter().flat_map(|e| e.wrote().iter().filter(|d| d.kind() != "outbox").map(|d| d.key().to_string())).collect()
    }

    fn involved_state(entries: &[Entry<crate::ticketing::domain::Obs>], violation: &Violation) -> Vec<String> {
        text::involved_state(entries, violation)
    }
}
