//! What the commands need of a system beyond the harness's [`System`]: how its
//! scenarios are named, read and written, which bug switches and presets it has, and
//! what it adds to a run's report. A system that implements [`Driven`] gets `run`,
//! `explore`, `replay`, `shrink`, `diagram`, `explain`, `diff`, `check-determinism` and
//! `merge` from [`super::main_for`].

use crate::harness::history::Entry;
use crate::harness::run::RunOutcome;
use crate::harness::strategy::Strategy;
use crate::harness::system::{System, Violation};

/// A system the command line can drive.
pub trait Driven: System {
    /// How `--help` and the printed commands name the program (when it was not run by a path).
    const PROGRAM: &'static str;
    /// The one line `--help` starts with.
    const ABOUT: &'static str;
    /// The largest scenario file read.
    const MAX_SCENARIO_BYTES: usize = 1 << 20;

    /// The scenarios built into the binary, by name: (name, file text).
    fn shipped() -> &'static [(&'static str, &'static str)] {
        &[]
    }

    /// Parses and validates a scenario's text; `file` names it in errors, which say the
    /// line, the key and what is allowed.
    fn parse(file: &str, text: &str) -> Result<Self::Scenario, String>;

    /// The scenario as a file [`Driven::parse`] reads back (reproductions, sweep hashes).
    fn to_file(scenario: &Self::Scenario) -> Result<String, String>;

    /// The scenario's name, as reports and default file names show it.
    fn name(scenario: &Self::Scenario) -> &str;

    /// Every bug switch the system has, by name (what `--flaw` and `--fix` accept).
    fn switches() -> Vec<&'static str>;

    /// The presets `--preset` accepts (none by default).
    fn presets() -> &'static [&'static str] {
        &[]
    }

    /// Sets one of [`Driven::presets`], replacing the scenario's own switch settings.
    fn set_preset(_scenario: &mut Self::Scenario, _preset: &str) {}

    /// Switches one of [`Driven::switches`] on or off.
    fn set_switch(scenario: &mut Self::Scenario, name: &str, on: bool);

    /// Replaces the scenario's strategy.
    fn set_strategy(scenario: &mut Self::Scenario, strategy: Strategy);

    /// Tables a run's text report shows after its summary, titled (ticketing: the
    /// scripted version and account tables). Default: none.
    fn run_tables(_outcome: &RunOutcome<Self>, _scenario: &Self::Scenario) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// The records a run's stores wrote, by id, for an error that says what `--record`
    /// can name (none by default: the error then names the nodes only).
    fn record_ids(_entries: &[Entry<Self::Obs>]) -> std::collections::BTreeSet<String> {
        std::collections::BTreeSet::new()
    }

    /// The state of a violation's records at its moment, for `replay`: by default, the
    /// latest document each store wrote that names one of them, at or before its time.
    fn involved_state(entries: &[Entry<Self::Obs>], violation: &Violation) -> Vec<String> {
        use crate::harness::history::mentions;
        let mut latest = std::collections::BTreeMap::new();
        for entry in entries.iter().take_while(|e| e.time <= violation.time) {
            let store = entry.store_call().map_or("", |(store, _)| store);
            for doc in entry.wrote() {
                let text = doc.to_string();
                for record in violation.records.iter().filter(|r| mentions(&text, r)) {
                    latest.insert((store, record.clone()), (entry.time, text.clone()));
                }
            }
        }
        latest
            .into_iter()
            .map(|((store, _), (time, text))| format!("{store:<12} {text} (written {})", crate::harness::fmt_time(time)))
            .collect()
    }
}

/// The names of the bug switches `scenario` has on.
pub fn switches_on<S: System>(scenario: &S::Scenario) -> Vec<String> {
    S::bug_switches(scenario).into_iter().map(|(name, _)| name).collect()
}

/// The scenario with those switches off.
pub fn fixed<S: Driven>(scenario: &S::Scenario, names: &[String]) -> S::Scenario {
    let mut fixed = scenario.clone();
    for name in names {
        S::set_switch(&mut fixed, name, false);
    }
    fixed
}
