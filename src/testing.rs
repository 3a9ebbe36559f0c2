//! A library API for a project's own `cargo test`: sweep seeds of a scenario and fail
//! with the command that replays the failure.
//!
//! ```no_run
//! use ticketsim::testing::Sweep;
//! use ticketsim::ticketing::flaws::Preset;
//!
//! #[test]
//! fn hardened_order_race_is_clean() {
//!     Sweep::scenario("scenarios/order-race.toml").preset(Preset::Hardened).seeds(0..200).assert_clean();
//! }
//! ```

use crate::harness::explore::{explore, ExploreOptions, ExploreSummary};
use crate::report::{replay_command, Overrides};
use crate::ticketing::flaws::{Flaw, Preset};
use crate::ticketing::{Scenario, Ticketing};
use std::ops::Range;
use std::path::Path;

/// A sweep of one scenario, configured with chained settings.
#[derive(Clone, Debug)]
pub struct Sweep {
    path: String,
    scenario: Scenario,
    overrides: Overrides,
    seeds: Range<u64>,
    jobs: usize,
}

impl Sweep {
    /// Loads a scenario file; panics with the scenario error (file, line, key) if it is malformed.
    pub fn scenario(path: &str) -> Sweep {
        Sweep::try_scenario(path).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn try_scenario(path: &str) -> Result<Sweep, crate::ticketing::scenario::ScenarioError> {
        let scenario = Scenario::load(Path::new(path))?;
        Ok(Sweep { path: path.to_string(), scenario, overrides: Overrides::default(), seeds: 0..100, jobs: crate::harness::explore::default_jobs() })
    }

    /// Replaces the scenario's preset (and its flaw lists).
    pub fn preset(mut self, preset: Preset) -> Sweep {
        self.scenario.preset = preset;
        self.scenario.flaws.clear();
        self.scenario.without_flaws.clear();
        self.overrides.preset = Some(preset);
        self
    }

    /// Switches one flaw on.
    pub fn flaw(mut self, flaw: Flaw) -> Sweep {
        self.scenario.flaws.push(flaw.name().to_string());
        self.overrides.flaws.push(flaw.name().to_string());
        self
    }

    pub fn seeds(mut self, seeds: Range<u64>) -> Sweep {
        self.seeds = seeds;
        self
    }

    pub fn jobs(mut self, jobs: usize) -> Sweep {
        self.jobs = jobs.max(1);
        self
    }

    /// Runs the sweep and returns its summary.
    pub fn run(&self) -> ExploreSummary {
        explore::<Ticketing>(&self.scenario, &ExploreOptions { jobs: self.jobs, ..ExploreOptions::new(self.seeds.clone()) })
    }

    /// Runs the sweep; `Err` lists every distinct failure with its replay command.
    pub fn check(&self) -> Result<ExploreSummary, String> {
        let summary = self.run();
        if summary.failing == 0 {
            return Ok(summary);
        }
        let mut message = format!("{} of {} seeds of {} violated invariants:\n", summary.failing, summary.seeds_run, self.scenario.name);
        for (invariant, seeds) in &summary.by_invariant {
            let first = &seeds[0];
            message.push_str(&format!(
                "  {invariant} on seed {} at {}: {}\n    replay with: {}\n",
                first.seed,
                crate::harness::fmt_time(first.time),
                first.explanation,
                replay_command(&self.path, first.seed, &self.overrides)
            ));
        }
        Err(message)
    }

    /// Runs the sweep and panics (failing the test) with the replay commands if any
    /// seed violated an invariant.
    pub fn assert_clean(&self) -> ExploreSummary {
        self.check().unwrap_or_else(|message| panic!("{message}"))
    }
}
