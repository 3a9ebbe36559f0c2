//! Scenario files: TOML parsed with serde, unknown keys rejected, every value range
//! checked. An error names the file, the line, the key and what is allowed. The model
//! is here; [`validate`] checks it, [`source`] finds where a key is written, and
//! [`simplify`] lists what `shrink` may take away.

pub mod shipped;
pub mod simplify;
pub mod source;
pub mod steps;
pub mod validate;

use crate::harness::duration::pair;
pub use crate::harness::duration::{fmt_duration, parse_duration, Dur, MAX_DURATION};
pub use steps::{EventExpect, RecordExpectation, Step, StepExpect, StepKind};

use super::flaws::{Flaw, Flaws, Preset};
use super::services::SERVICES;
use crate::harness::system::Reproduce;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
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

/// serde's "unknown field `x`, expected one of `a`, `b`" with a "did you mean" added.
fn with_suggestion(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else { return message.to_string() };
    let Some((given, expected)) = rest.split_once('`') else { return message.to_string() };
    let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let hint = crate::harness::did_you_mean(given, known);
    if hint.is_empty() {
        return message.to_string();
    }
    format!("unknown field `{given}`{hint}{}", expected.trim_start_matches(',')).replacen(
        &format!("{hint} expected"),
        &format!("{hint}; expected"),
        1,
    )
}

/// A parser's type error as a person reads it: what was expected, in words, then what
/// was written (`expected a whole number, got the string "one"`).
fn plainly(message: &str) -> String {
    let Some(rest) = message.strip_prefix("invalid type: ") else { return message.to_string() };
    let Some((got, expected)) = rest.split_once(", expected ") else { return message.to_string() };
    let expected = match expected {
        "i64" | "u64" | "u32" | "u16" | "usize" => "a whole number",
        "f64" | "f32" => "a number",
        "a boolean" | "bool" => "true or false",
        "a string" => "a string (in quotes)",
        other => other,
    };
    format!("expected {expected}, got {got}")
}

/// The largest scenario file read (4 MiB: ten thousand steps fit in well under half).
pub const MAX_FILE_BYTES: usize = 4 << 20;

/// A malformed scenario: where, which key, and what is allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: String,
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{}`", crate::harness::bounded(key))?;
        }
        write!(f, ": {}", crate::harness::bounded(&self.message))
    }
}

impl std::error::Error for ScenarioError {}

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

/// A run's budget, when the scenario sets it; past either limit the run stops and is
/// reported as `runaway`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// The virtual time a run may reach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_time: Option<Dur>,
    /// The events (store round trips that wrote, observations) a run may record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<u64>,
}

impl Limits {
    fn is_default(&self) -> bool {
        *self == Limits::default()
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AppSettings {
    pub expiration_window: Dur,
    /// How long the accounts handler works on an event before writing (a slow handler
    /// can outlast ack wait).
    #[serde(deserialize_with = "pair")]
    pub accounts_processing: [Dur; 2],
}

impl Default for AppSettings {
    fn default() -> Self {
        AppSettings { expiration_window: Dur(Duration::from_secs(15 * 60)), accounts_processing: [Dur(Duration::from_millis(1)); 2] }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum StoreKind {
    Durable,
    Memory,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BrokerSettings {
    pub ack_wait: Dur,
    pub max_in_flight: u32,
    pub dead_client_timeout: Dur,
    pub store: StoreKind,
}

impl Default for BrokerSettings {
    /// The broker's own defaults ([`crate::kit::broker::BrokerConfig`]), stated once.
    fn default() -> Self {
        let broker = crate::kit::broker::BrokerConfig::default();
        BrokerSettings {
            ack_wait: Dur(broker.ack_wait),
            max_in_flight: broker.max_in_flight as u32,
            dead_client_timeout: Dur(broker.dead_client_timeout),
            store: if broker.durable { StoreKind::Durable } else { StoreKind::Memory },
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum UserLinks {
    /// User requests and responses suffer the same faults as everything else.
    Faulty,
    /// Users' links are never dropped, duplicated or cut (only delayed).
    Reliable,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSettings {
    pub drop_probability: f64,
    pub duplicate_probability: f64,
    #[serde(deserialize_with = "pair")]
    pub delay: [Dur; 2],
    pub user_links: UserLinks,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        NetworkSettings {
            drop_probability: 0.0,
            duplicate_probability: 0.0,
            delay: [Dur(Duration::from_millis(1)), Dur(Duration::from_millis(10))],
            user_links: UserLinks::Faulty,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSettings {
    #[serde(deserialize_with = "pair")]
    pub latency: [Dur; 2],
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings { latency: [Dur(Duration::from_millis(1)), Dur(Duration::from_millis(3))] }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NemesisSettings {
    /// Most crashes of service instances per run.
    pub crashes: u32,
    #[serde(deserialize_with = "pair")]
    pub crash_downtime: [Dur; 2],
    pub broker_restarts: u32,
    #[serde(deserialize_with = "pair")]
    pub broker_downtime: [Dur; 2],
    /// Most pauses of service instances (longer than ack wait to matter).
    pub pauses: u32,
    #[serde(deserialize_with = "pair")]
    pub pause_duration: [Dur; 2],
    pub partitions: u32,
    #[serde(deserialize_with = "pair")]
    pub partition_duration: [Dur; 2],
    /// Each seed draws which fault kinds are on and how hard, within these bounds.
    pub swarm: bool,
    /// Crashes and pauses wait until the node has no user request in progress.
    pub spare_user_requests: bool,
}

impl Default for NemesisSettings {
    fn default() -> Self {
        let s = |a: u64, b: u64| [Dur(Duration::from_secs(a)), Dur(Duration::from_secs(b))];
        NemesisSettings {
            crashes: 0,
            crash_downtime: s(1, 5),
            broker_restarts: 0,
            broker_downtime: s(1, 5),
            pauses: 0,
            pause_duration: s(6, 12),
            partitions: 0,
            partition_duration: s(1, 8),
            swarm: false,
            spare_user_requests: false,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Phases {
    /// Workload and faults run this long; then the quiet phase.
    pub duration: Dur,
    /// No faults: the system drains so liveness can be judged.
    pub quiet: Dur,
}

impl Default for Phases {
    fn default() -> Self {
        Phases { duration: Dur(Duration::from_secs(30)), quiet: Dur(Duration::from_secs(90)) }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Workload {
    /// Simulated users issuing requests from the mix.
    pub users: u32,
    /// Requests per user.
    pub operations: u32,
    #[serde(deserialize_with = "pair")]
    pub think_time: [Dur; 2],
    /// Orders and edits pick among the first this many tickets (0: any ticket).
    pub hot_tickets: u32,
    /// Tickets created before the random users start, owned by the first user.
    pub initial_tickets: u32,
    pub request_timeout: Dur,
    pub mix: Mix,
    pub steps: Vec<Step>,
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            users: 0,
            operations: 10,
            think_time: [Dur(Duration::from_millis(10)), Dur(Duration::from_secs(2))],
            hot_tickets: 0,
            initial_tickets: 0,
            request_timeout: Dur(Duration::from_secs(10)),
            mix: Mix::default(),
            steps: Vec::new(),
        }
    }
}

/// Relative weights of the random users' operations.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Mix {
    pub create_ticket: u32,
    pub update_ticket: u32,
    pub create_order: u32,
    pub cancel_order: u32,
    pub show_ticket: u32,
    pub pay_order: u32,
    pub deposit: u32,
    pub withdraw: u32,
}

impl Default for Mix {
    fn default() -> Self {
        Mix { create_ticket: 2, update_ticket: 3, create_order: 3, cancel_order: 2, show_ticket: 1, pay_order: 0, deposit: 0, withdraw: 0 }
    }
}

impl Mix {
    /// Each operation's key, weight, and the service it needs.
    pub fn weights(&self) -> [(&'static str, u32, &'static str); 8] {
        [
            ("create_ticket", self.create_ticket, Op::CreateTicket.service()),
            ("update_ticket", self.update_ticket, Op::UpdateTicket.service()),
            ("create_order", self.create_order, Op::CreateOrder.service()),
            ("cancel_order", self.cancel_order, Op::CancelOrder.service()),
            ("show_ticket", self.show_ticket, Op::ShowTicket.service()),
            ("pay_order", self.pay_order, Op::PayOrder.service()),
            ("deposit", self.deposit, Op::Deposit.service()),
            ("withdraw", self.withdraw, Op::Withdraw.service()),
        ]
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    CreateTicket,
    UpdateTicket,
    ShowTicket,
    CreateOrder,
    CancelOrder,
    PayOrder,
    Deposit,
    Withdraw,
}

impl Op {
    /// The operation as a scenario writes it (`create-order`).
    pub fn name(self) -> &'static str {
        match self {
            Op::CreateTicket => "create-ticket",
            Op::UpdateTicket => "update-ticket",
            Op::ShowTicket => "show-ticket",
            Op::CreateOrder => "create-order",
            Op::CancelOrder => "cancel-order",
            Op::PayOrder => "pay-order",
            Op::Deposit => "deposit",
            Op::Withdraw => "withdraw",
        }
    }

    /// The service that must be running for this operation.
    pub fn service(self) -> &'static str {
        match self {
            Op::CreateTicket | Op::UpdateTicket | Op::ShowTicket => "tickets",
            Op::CreateOrder | Op::CancelOrder => "orders",
            Op::PayOrder => "payments",
            Op::Deposit | Op::Withdraw => "transactions",
        }
    }
}

/// The state a named ticket and its orders replica must be in at a virtual time.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    pub at: Dur,
    /// Shown in the version table.
    #[serde(default)]
    pub label: String,
    pub ticket: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<i64>,
    /// The order name that must hold the ticket; `""` for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_version: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_price: Option<i64>,
}

/// The state a user's account must be in at a virtual time.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AccountExpectation {
    pub at: Dur,
    #[serde(default)]
    pub label: String,
    pub user: String,
    pub balance: i64,
    pub last_number: u64,
}

impl Scenario {
    /// Reads and validates a scenario file (at most [`MAX_FILE_BYTES`], UTF-8).
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        use std::io::Read;
        let file = path.display().to_string();
        let error = |message: String| ScenarioError { file: file.clone(), line: None, key: None, message };
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_FILE_BYTES as u64 + 1).read_to_end(&mut bytes))
            .map_err(|e| error(format!("cannot read: {e}")))?;
        if bytes.len() > MAX_FILE_BYTES {
            return Err(error(format!("the file is larger than {MAX_FILE_BYTES} bytes, the most a scenario may be")));
        }
        let source = String::from_utf8(bytes).map_err(|e| error(format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to())))?;
        Scenario::parse(&file, &source)
    }

    /// A shipped scenario, by name (`order-race`, `course/tickets`): built into the
    /// binary, so it works from any directory.
    pub fn shipped(name: &str) -> Result<Scenario, ScenarioError> {
        match shipped::text(name) {
            Some(text) => Scenario::parse(&format!("{name} (shipped)"), text),
            None => Err(ScenarioError {
                file: name.to_string(),
                line: None,
                key: None,
                message: format!("no shipped scenario of that name{}", crate::harness::did_you_mean(name, shipped::names())),
            }),
        }
    }

    /// Parses and validates scenario text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
        if text.len() > MAX_FILE_BYTES {
            let message = format!("{} bytes; a scenario is at most {MAX_FILE_BYTES} bytes", text.len());
            return Err(ScenarioError { file: file.to_string(), line: None, key: None, message });
        }
        let scenario: Scenario = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|span| source::line_of(text, span.start));
            let path = e.span().and_then(|span| source::path_at(text, span.start));
            let key = path.or_else(|| line.and_then(|l| source::key_on_line(text, l)));
            ScenarioError { file: file.to_string(), line, key, message: plainly(&with_suggestion(e.message().trim())) }
        })?;
        scenario.validate().map_err(|(path, message)| ScenarioError {
            file: file.to_string(),
            line: source::locate(text, &path),
            key: Some(path.join(".")),
            message,
        })?;
        Ok(scenario)
    }

    /// A scenario with every setting at its default (as-built, one instance of each
    /// service, no users, no faults): the start of a scenario built in Rust.
    pub fn named(name: &str) -> Scenario {
        let scenario = Scenario::parse("(built in Rust)", &format!("name = {}", toml::Value::String(name.to_string())));
        scenario.unwrap_or_else(|e| unreachable!("a scenario with only a name is valid: {e}"))
    }

    /// Validates a scenario built or changed in Rust, as `parse` validates a file's;
    /// `file` names it in the error (whose `key` is the setting's path).
    pub fn check(&self, file: &str) -> Result<(), ScenarioError> {
        self.validate().map_err(|(path, message)| ScenarioError { file: file.to_string(), line: None, key: Some(path.join(".")), message })
    }

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

    /// The text of a scenario file; with `[reproduce]`, a reproduction that `run` replays.
    pub fn to_file(&self) -> Result<String, String> {
        let body = toml::to_string(self).map_err(|e| format!("cannot write scenario {}: {e}", self.name))?;
        Ok(format!("# A reproduction written by `ticketsim shrink`: `ticketsim run` on this file replays it.\n{body}"))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse("test.toml", text)
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("2.014s"), Some(Duration::from_millis(2014)));
        assert_eq!(parse_duration("5 parsecs"), None);
    }

    #[test]
    fn minimal_scenario_takes_defaults() {
        let s = parse("name = \"x\"\n").unwrap();
        assert_eq!(s.preset, Preset::AsBuilt);
        assert_eq!(s.broker.ack_wait, Dur(Duration::from_secs(5)));
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let e = parse("name = \"x\"\n[network]\ndrop_probability = 0.1\nloss = 0.2\n").unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        assert_eq!(e.key.as_deref(), Some("loss"));
        assert!(e.message.contains("unknown field") && e.message.contains("drop_probability"), "{e}");
    }

    #[test]
    fn out_of_range_value_names_line_key_and_allowed_range() {
        let e = parse("name = \"x\"\n\n[network]\ndrop_probability = 0.9\n").unwrap_err();
        assert_eq!((e.line, e.key.as_deref()), (Some(4), Some("network.drop_probability")), "{e}");
        assert!(e.message.contains("allowed: 0.0 to 0.5"), "{e}");
    }

    #[test]
    fn unknown_flaw_lists_the_allowed_ones() {
        let e = parse("name = \"x\"\nflaws = [\"racy-reservation\", \"gremlins\"]\n").unwrap_err();
        assert_eq!((e.line, e.key.as_deref()), (Some(2), Some("flaws")), "{e}");
        assert!(e.message.contains("gremlins") && e.message.contains("no-version-check"), "{e}");
    }

    #[test]
    fn bad_toml_and_bad_enum_values_are_errors_with_lines() {
        let e = parse("name = \"x\"\npreset = \"sturdy\"\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.message.contains("as-built") && e.message.contains("hardened"), "{e}");
        let e = parse("name = \"x\"\n[broker\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
    }

    #[test]
    fn step_referring_to_an_unknown_name_is_rejected() {
        let text = "name = \"x\"\n[[workload.steps]]\nat = \"1s\"\nuser = \"u\"\nop = \"create-order\"\nticket = \"CZQ\"\n";
        let e = parse(text).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("workload.steps[0].ticket"), "{e}");
        assert_eq!(e.line, Some(6), "{e}");
    }
}
