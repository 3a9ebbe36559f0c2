//! A library API for a project's own `cargo test`: run one seed of a scripted scenario
//! and look at what happened ([`Run`]), or sweep seeds and fail with the command that
//! replays a failure ([`Sweep`]). A scenario comes from a file, from text, or is built
//! in Rust ([`Scenario::named`], [`Step`], [`Scenario::check`]).
//!
//! A port of one behaviour of the tickets service's Jest suite ("updates the ticket
//! provided valid inputs", then "publishes an event"), as a `cargo test`:
//!
//! ```
//! use serde_json::json;
//! use std::time::Duration;
//! use ticketsim::testing::{Run, Step};
//! use ticketsim::ticketing::domain::Subject;
//! use ticketsim::ticketing::Scenario;
//!
//! let mut scenario = Scenario::parse("inline", r#"
//!     name = "update-a-ticket"
//!     [services]
//!     orders = 0
//!     [phases]
//!     duration = "10s"
//!     quiet = "30s"   # long enough to settle: liveness is judged too
//!     [[workload.steps]]
//!     at = "1s"
//!     user = "alice"
//!     request = "POST /api/tickets"
//!     body = { title = "concert", price = 20 }
//!     name = "T"
//!     expect_status = 201
//! "#).unwrap();
//! // The same kind of step, built in Rust.
//! scenario.workload.steps.push(
//!     Step::at(Duration::from_secs(2))
//!         .user("alice")
//!         .request("PUT /api/tickets/{T}")
//!         .body(json!({ "title": "new title", "price": 100 }))
//!         .name("update"),
//! );
//! scenario.check("update-a-ticket").unwrap();
//!
//! let run = Run::of(&scenario, 1);
//! run.assert_clean();
//! assert_eq!(run.response("update").unwrap().status, 200);
//! let ticket = run.record("tickets", "ticket", &run.id("T").unwrap()).unwrap();
//! // Prices are JSON numbers, as in the app.
//! assert_eq!((ticket["title"].as_str(), ticket["price"].as_f64(), ticket["version"].as_u64()), (Some("new title"), Some(100.0), Some(1)));
//! let updated = run.published(Subject::TicketUpdated);
//! assert_eq!(updated.len(), 1);
//! assert_eq!(updated[0].data["price"], 100);
//! ```
//!
//! And a sweep, in a test of its own:
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
use crate::harness::history::{Entry, History};
use crate::harness::run::{run_seed, RunOptions, RunOutcome};
use crate::harness::system::Violation;
use crate::report::{replay_command, Overrides};
use crate::ticketing::domain::Script;
use crate::ticketing::domain::{Event, Id, Obs, Subject};
use crate::ticketing::flaws::{Flaw, Preset};
pub use crate::ticketing::scenario::steps::Step;
pub use crate::ticketing::scenario::steps::{EventExpect, StepExpect};
use crate::ticketing::{Scenario, Ticketing};
use serde_json::Value;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A sweep of one scenario, configured with chained settings.
#[derive(Clone, Debug)]
pub struct Sweep {
    path: String,
    scenario: Scenario,
    overrides: Overrides,
    seeds: Range<u64>,
    jobs: usize,
    /// A seed whose liveness could not be judged fails (the default: a test is a check).
    require_judged: bool,
}

impl Sweep {
    /// Loads a scenario file; panics with the scenario error (file, line, key) if it is malformed.
    pub fn scenario(path: &str) -> Sweep {
        Sweep::try_scenario(path).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn try_scenario(path: &str) -> Result<Sweep, crate::ticketing::scenario::ScenarioError> {
        Ok(Sweep::of(Scenario::load(Path::new(path))?, path))
    }

    /// A sweep of a scenario value (parsed from text or built in Rust; see
    /// [`Scenario::check`]); `path` is where failures say to write it to replay them.
    pub fn of(scenario: Scenario, path: &str) -> Sweep {
        Sweep {
            path: path.to_string(),
            scenario,
            overrides: Overrides::default(),
            seeds: 0..100,
            jobs: crate::harness::explore::default_jobs(),
            require_judged: true,
        }
    }

    /// Counts the seeds whose liveness could not be judged (the summary's
    /// `liveness_not_judged`) instead of failing them with `liveness-not-judged`.
    pub fn allow_unjudged(mut self) -> Sweep {
        self.require_judged = false;
        self
    }

    /// Replaces the scenario's preset (and its flaw lists).
    pub fn preset(mut self, preset: Preset) -> Sweep {
        self.scenario.preset = preset;
        self.scenario.flaws.clear();
        self.scenario.without_flaws.clear();
        self.overrides.preset = Some(preset.name().to_string());
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
    ///
    /// `TICKETSIM_SEEDS` (`A..B`, a count `N`, or `random[:N]`) replaces the seeds and
    /// `TICKETSIM_JOBS` the jobs, so CI can widen a sweep, or explore new seeds each run,
    /// without a code change; a random start is printed to stderr first. A malformed
    /// value panics (failing the test) with the reason.
    pub fn run(&self) -> ExploreSummary {
        let (seeds, jobs) = self.seeds_and_jobs().unwrap_or_else(|e| panic!("{e}"));
        explore::<Ticketing>(&self.scenario, &ExploreOptions { jobs, require_judged: self.require_judged, ..ExploreOptions::new(seeds) })
    }

    /// The seeds and jobs, after `TICKETSIM_SEEDS` and `TICKETSIM_JOBS`.
    fn seeds_and_jobs(&self) -> Result<(Range<u64>, usize), String> {
        let seeds = match std::env::var("TICKETSIM_SEEDS") {
            Ok(text) => {
                let parsed = crate::harness::explore::parse_seeds(&text).map_err(|e| format!("TICKETSIM_SEEDS: {e}"))?;
                if parsed.random {
                    eprintln!(
                        "{}: seeds {}..{} (TICKETSIM_SEEDS={text}; TICKETSIM_SEEDS={}..{} repeats them)",
                        self.scenario.name, parsed.range.start, parsed.range.end, parsed.range.start, parsed.range.end
                    );
                }
                parsed.range
            }
            Err(_) => self.seeds.clone(),
        };
        let jobs = match std::env::var("TICKETSIM_JOBS") {
            Ok(text) => text
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|j| (1..=256).contains(j))
                .ok_or_else(|| format!("TICKETSIM_JOBS={text}: allowed: 1 to 256"))?,
            Err(_) => self.jobs,
        };
        Ok((seeds, jobs))
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
                replay_command(&self.path, first.seed, &first.branch, &self.overrides)
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

/// One seed of a scenario, run with its history kept: what every step got back, what
/// was published, and the state of any record, for assertions.
pub struct Run {
    scenario: Scenario,
    outcome: RunOutcome<Ticketing>,
    history: History<Obs>,
}

/// A response to a step.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    pub status: u16,
    pub body: Value,
    /// When it arrived (virtual time).
    pub at: Duration,
}

impl Run {
    /// Runs `seed` of `scenario`. As `ticketsim run`, a run whose liveness could not be
    /// judged has the violation `liveness-not-judged` (unless the scenario declares
    /// `not_judged = ["liveness"]`): never a silent pass.
    pub fn of(scenario: &Scenario, seed: u64) -> Run {
        let options = RunOptions { keep_history: true, require_judged: true, ..RunOptions::default() };
        let outcome = run_seed::<Ticketing>(scenario, seed, &options);
        let history = outcome.history.clone().unwrap_or_else(|| History::new(None));
        Run { scenario: scenario.clone(), outcome, history }
    }

    /// What the run broke (empty when clean), including a panic in a node.
    pub fn violations(&self) -> &[Violation] {
        &self.outcome.violations
    }

    /// The outcome: counters, liveness, the run's end.
    pub fn outcome(&self) -> &RunOutcome<Ticketing> {
        &self.outcome
    }

    /// The whole history, in order.
    pub fn history(&self) -> Vec<Entry<Obs>> {
        self.history.entries().clone()
    }

    /// Panics with every violation (failing the test) unless the run is clean.
    pub fn assert_clean(&self) {
        if !self.outcome.violations.is_empty() {
            let lines: Vec<String> = self
                .outcome
                .violations
                .iter()
                .map(|v| format!("  {} at {}: {}", v.invariant, crate::harness::fmt_time(v.time), v.explanation))
                .collect();
            panic!("seed {} of {} violated invariants:\n{}", self.outcome.seed, self.scenario.name, lines.join("\n"));
        }
    }

    /// The id a step's `name` was given (the `id` of the record it created).
    pub fn id(&self, name: &str) -> Option<Id> {
        self.history.entries().iter().rev().find_map(|e| match e.observed() {
            Some(Obs::App(Script::Named { name: n, id, .. })) if n == name => Some(id.clone()),
            _ => None,
        })
    }

    /// The response to the step named `step` (by its `name`), if one came back.
    pub fn response(&self, step: &str) -> Option<Response> {
        let index = self.scenario.workload.steps.iter().position(|s| s.name.as_deref() == Some(step))?;
        self.response_to(index)
    }

    /// The response to the step at `index` in `workload.steps`.
    pub fn response_to(&self, index: usize) -> Option<Response> {
        let entries = self.history.entries();
        let req = entries.iter().find_map(|e| match e.observed() {
            Some(Obs::App(Script::Step { step, req, .. })) if *step == index => Some(*req),
            _ => None,
        })?;
        entries.iter().find_map(|e| match e.observed() {
            Some(Obs::Response { req: r, status, body }) if *r == req => {
                Some(Response { status: *status, body: Value::clone(body), at: e.time })
            }
            _ => None,
        })
    }

    /// The events the broker accepted on `subject`, in order (including events a step
    /// published; a redelivered or republished event appears once per publish).
    pub fn published(&self, subject: Subject) -> Vec<Arc<Event>> {
        self.history
            .entries()
            .iter()
            .filter_map(|e| match e.observed() {
                Some(Obs::Accepted { subject: s, event, .. }) if *s == subject => Some(event.clone()),
                _ => None,
            })
            .collect()
    }

    /// The queue groups that acked the event `event_id`.
    pub fn acked_by(&self, event_id: &str) -> Vec<&'static str> {
        self.history
            .entries()
            .iter()
            .filter_map(|e| match e.observed() {
                Some(Obs::Acked { group, event_id: id, .. }) if id.as_ref() == event_id => Some(*group),
                _ => None,
            })
            .collect()
    }

    /// The final state of a record: the last document of `kind` with this id that
    /// `store` (a service) wrote, as the app's JSON (camelCase fields).
    pub fn record(&self, store: &str, kind: &str, id: &str) -> Option<Value> {
        self.record_at(store, kind, id, Duration::MAX)
    }

    /// A record's state at virtual time `at`.
    pub fn record_at(&self, store: &str, kind: &str, id: &str, at: Duration) -> Option<Value> {
        let entries = self.history.entries();
        crate::ticketing::invariants::latest_doc(&entries, store, kind, at, |doc| doc.key() == id).map(|doc| doc.fields())
    }
}
