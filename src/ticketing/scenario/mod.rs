//! Scenario files: TOML parsed with serde, unknown keys rejected, every value range
//! checked. An error names the file, the line, the key and what is allowed. The model's
//! top and its world queries (instances, consumers, the derived budget) are here; its
//! parts are in [`settings`], [`workload`], [`steps`] and [`expect`]; `load` reads and
//! writes files, [`validate`] checks them, [`source`] finds where a key is written, and
//! [`simplify`] lists what `shrink` may take away.

mod expect;
mod load;
mod settings;
pub mod shipped;
pub mod simplify;
pub mod source;
pub mod steps;
pub mod validate;
mod workload;

pub use crate::harness::duration::{fmt_duration, parse_duration, Dur, MAX_DURATION};
pub use expect::{AccountExpectation, Expectation};
pub use load::{ScenarioError, MAX_FILE_BYTES};
pub use settings::*;
pub use steps::{EventExpect, RecordExpectation, Step, StepExpect, StepKind};
pub use workload::{Mix, Needs, Op, OpSpec, Workload, OPS};

use super::flaws::{Flaw, Flaws, Preset};
use super::services::SERVICES;
use crate::harness::system::Reproduce;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// The default event budget (see [`Scenario::budget`]): a base, per second of the
/// phases (redeliveries, polls), and per request or step; at most [`EVENTS_CAP`]. The
/// shipped scenarios' largest seeds record about 15 events per request and under 2,000
/// in all (`explore` prints the largest seed's count).
const EVENTS_BASE: u64 = 10_000;
const EVENTS_PER_SECOND: u64 = 1_000;
const EVENTS_PER_REQUEST: u64 = 200;
/// The most events a default budget allows (a run's history takes about 200 bytes an
/// event, so a job holds at most about a gigabyte); `[limits] events` may set more.
pub const EVENTS_CAP: u64 = 5_000_000;

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "default_preset")]
    pub preset: Preset,
    /// Flaws switched on in addition to the preset.
    #[serde(default)]
    pub flaws: Vec<String>,
    /// Flaws switched off from the preset.
    #[serde(default)]
    pub without_flaws: Vec<String>,
    /// How runs choose among what the settings allow: `uniform` (the default), `swarm`,
    /// `pct` or `pct:D`, `coverage` (see the harness's strategy module).
    #[serde(default, skip_serializing_if = "is_uniform")]
    pub strategy: crate::harness::strategy::Strategy,
    /// Invariants this scenario does not judge, with a comment saying why (a script
    /// that plays another service's part by publishing its events, say).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_judged: Vec<String>,
    /// Instances per service (a service not named runs its default count).
    #[serde(default)]
    pub services: BTreeMap<String, u32>,
    #[serde(default)]
    pub app: AppSettings,
    #[serde(default)]
    pub broker: BrokerSettings,
    #[serde(default)]
    pub network: NetworkSettings,
    #[serde(default)]
    pub store: StoreSettings,
    #[serde(default)]
    pub nemesis: NemesisSettings,
    #[serde(default)]
    pub phases: Phases,
    #[serde(default)]
    pub workload: Workload,
    /// How far one run may go (default: derived from the rest, see [`Scenario::budget`]).
    #[serde(default, skip_serializing_if = "Limits::is_default")]
    pub limits: Limits,
    #[serde(default)]
    pub expect: Vec<Expectation>,
    #[serde(default)]
    pub expect_account: Vec<AccountExpectation>,
    /// The state of any record, in its owner's or a replica's store, at a virtual time.
    #[serde(default)]
    pub expect_record: Vec<RecordExpectation>,
    /// Present in a reproduction file: the seed, the invariant it shows failing, and the
    /// recorded choices to replay (see `ticketsim shrink`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reproduce: Option<Reproduce>,
    /// Test-only: a bug planted outside the flaw switches (what shrink and the checks
    /// must handle without a switch to turn it off). Never read from or written to a file.
    #[doc(hidden)]
    #[serde(skip)]
    pub planted: Option<crate::ticketing::flaws::Planted>,
}

fn is_uniform(s: &crate::harness::strategy::Strategy) -> bool {
    *s == crate::harness::strategy::Strategy::Uniform
}

fn default_preset() -> Preset {
    Preset::AsBuilt
}

impl Scenario {
    /// This scenario on the hardened preset with exactly `flaws` on (none: hardened):
    /// how the selftest, the catalogue and the deep-bug benchmark run one flaw at a time.
    pub fn hardened_with(&self, flaws: &[&str]) -> Scenario {
        Scenario {
            preset: Preset::Hardened,
            flaws: flaws.iter().map(|f| f.to_string()).collect(),
            without_flaws: Vec::new(),
            ..self.clone()
        }
    }

    /// The flaws of this scenario: its preset, plus and minus its lists (names that are
    /// not flaws are ignored here; validation rejects them).
    pub fn flaws(&self) -> Flaws {
        let mut flaws = Flaws::preset(self.preset);
        for flaw in self.flaws.iter().filter_map(|name| Flaw::from_name(name)) {
            flaws = flaws.with(flaw);
        }
        for flaw in self.without_flaws.iter().filter_map(|name| Flaw::from_name(name)) {
            flaws = flaws.without(flaw);
        }
        flaws
    }

    /// The same scenario with one flaw switched off.
    pub fn with_flaw_off(&self, flaw: Flaw) -> Scenario {
        let mut next = self.clone();
        next.flaws.retain(|f| f != flaw.name());
        if Flaws::preset(next.preset).has(flaw) && !next.without_flaws.iter().any(|f| f == flaw.name()) {
            next.without_flaws.push(flaw.name().to_string());
        }
        next
    }

    /// The run budget: `[limits]`, or derived from the phases and the workload. The
    /// virtual-time limit is twice the phases and a request timeout, plus a minute; the
    /// event limit is generous for the requests and steps the scenario makes.
    pub fn budget(&self) -> crate::harness::system::Budget {
        let (phases, w) = (self.phases.duration.0 + self.phases.quiet.0, &self.workload);
        let virtual_time = 2 * (phases + w.request_timeout.0) + Duration::from_secs(60);
        let requests = u64::from(w.users) * u64::from(w.operations) + u64::from(w.initial_tickets) + w.steps.len() as u64;
        let events = (EVENTS_BASE + EVENTS_PER_SECOND * phases.as_secs() + EVENTS_PER_REQUEST * requests).min(EVENTS_CAP);
        crate::harness::system::Budget {
            virtual_time: self.limits.virtual_time.map_or(virtual_time, |d| d.0),
            events: self.limits.events.unwrap_or(events),
        }
    }

    /// Instances of a service in this scenario.
    pub fn instances(&self, service: &str) -> u32 {
        self.services
            .get(service)
            .copied()
            .unwrap_or_else(|| SERVICES.iter().find(|s| s.name == service).map_or(0, |s| s.default_instances))
    }

    /// Whether a service runs (at least one instance).
    pub fn runs(&self, service: &str) -> bool {
        self.instances(service) > 0
    }

    /// The queue groups consuming each subject in this scenario's world.
    pub fn consumers(&self) -> BTreeMap<super::domain::Subject, Vec<super::domain::Group>> {
        let mut consumers: BTreeMap<super::domain::Subject, Vec<super::domain::Group>> = BTreeMap::new();
        for spec in SERVICES.iter().filter(|s| self.runs(s.name)) {
            for subject in spec.consumes {
                consumers.entry(*subject).or_default().push(spec.group);
            }
        }
        consumers
    }
}
