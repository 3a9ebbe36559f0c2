//! Range checks of a parsed scenario. An error is the key path (`network.delay`,
//! `workload.steps[2].at`) and what is allowed; `Scenario::parse` turns the path into a
//! line of the file.

use super::{fmt_duration, Dur, Needs, Op, Scenario, Step, StepKind};
use crate::harness::{bounded, did_you_mean, echo};
use crate::ticketing::domain::{Snapshot, Subject};
use crate::ticketing::flaws::Flaw;
use crate::ticketing::protocol::Method;
use crate::ticketing::services::{route_owner, SERVICES};
use std::collections::BTreeSet;
use std::time::Duration;

/// A key path and what is wrong with its value.
pub type Invalid = (Vec<String>, String);

fn key(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

fn err<T>(parts: &[&str], message: String) -> Result<T, Invalid> {
    Err((key(parts), message))
}

/// Most requests the random users make in all (users x operations).
pub const MAX_REQUESTS: u64 = 1_000_000;
/// Most scripted steps, and most expectations of each kind.
pub const MAX_ITEMS: usize = 10_000;

const MS: fn(u64) -> Duration = Duration::from_millis;
const S: fn(u64) -> Duration = Duration::from_secs;

fn probability(parts: &[&str], p: f64) -> Result<(), Invalid> {
    if (0.0..=0.5).contains(&p) {
        Ok(())
    } else {
        err(parts, format!("{p} is out of range; allowed: 0.0 to 0.5"))
    }
}

fn range(parts: &[&str], r: &[Dur; 2], lo: Duration, hi: Duration) -> Result<(), Invalid> {
    if r[0] > r[1] {
        err(parts, format!("[{}, {}] is reversed; write [low, high]", fmt_duration(r[0].0), fmt_duration(r[1].0)))
    } else if r[0].0 < lo || r[1].0 > hi {
        err(parts, format!("allowed: between {} and {}", fmt_duration(lo), fmt_duration(hi)))
    } else {
        Ok(())
    }
}

fn single(parts: &[&str], d: Dur, lo: Duration, hi: Duration) -> Result<(), Invalid> {
    if d.0 < lo || d.0 > hi {
        err(parts, format!("{}; allowed: {} to {}", fmt_duration(d.0), fmt_duration(lo), fmt_duration(hi)))
    } else {
        Ok(())
    }
}

fn count(parts: &[&str], n: u32, max: u32) -> Result<(), Invalid> {
    if n > max {
        err(parts, format!("{n}; allowed: 0 to {max}"))
    } else {
        Ok(())
    }
}

impl Scenario {
    /// Every check; the first failing one is the error.
    pub(crate) fn validate(&self) -> Result<(), Invalid> {
        self.validate_flaws_and_services()?;
        self.validate_network_and_faults()?;
        self.validate_workload()?;
        let names = self.validate_steps()?;
        self.validate_expectations(&names)?;
        self.validate_reproduce()
    }

    fn validate_flaws_and_services(&self) -> Result<(), Invalid> {
        for (list, names) in [("flaws", &self.flaws), ("without_flaws", &self.without_flaws)] {
            for name in names {
                if Flaw::from_name(name).is_none() {
                    return err(&[list], unknown("flaw", name, Flaw::names().into_iter()));
                }
            }
        }
        for name in &self.not_judged {
            let known = crate::ticketing::invariants::names::NAMES;
            if !known.contains(&name.as_str()) && name != LIVENESS {
                return err(&["not_judged"], unknown("invariant", name, std::iter::once(LIVENESS).chain(known.iter().copied())));
            }
        }
        for (name, n) in &self.services {
            if !SERVICES.iter().any(|s| s.name == name) {
                let allowed: Vec<&str> = SERVICES.iter().map(|s| s.name).collect();
                return err(&["services", name], unknown("service", name, allowed.iter().copied()));
            }
            count(&["services", name], *n, 8)?;
        }
        Ok(())
    }

    fn validate_network_and_faults(&self) -> Result<(), Invalid> {
        probability(&["network", "drop_probability"], self.network.drop_probability)?;
        probability(&["network", "duplicate_probability"], self.network.duplicate_probability)?;
        range(&["network", "delay"], &self.network.delay, MS(1), S(10))?;
        if let Some(user_delay) = &self.network.user_delay {
            range(&["network", "user_delay"], user_delay, MS(1), S(10))?;
        }
        range(&["store", "latency"], &self.store.latency, MS(1), S(1))?;
        range(&["app", "accounts_processing"], &self.app.accounts_processing, MS(1), S(60))?;
        range(&["nemesis", "crash_downtime"], &self.nemesis.crash_downtime, MS(1), S(60))?;
        range(&["nemesis", "broker_downtime"], &self.nemesis.broker_downtime, MS(1), S(60))?;
        range(&["nemesis", "pause_duration"], &self.nemesis.pause_duration, MS(1), S(60))?;
        range(&["nemesis", "partition_duration"], &self.nemesis.partition_duration, MS(1), S(60))?;
        count(&["nemesis", "crashes"], self.nemesis.crashes, 100)?;
        count(&["nemesis", "broker_restarts"], self.nemesis.broker_restarts, 100)?;
        count(&["nemesis", "pauses"], self.nemesis.pauses, 100)?;
        count(&["nemesis", "partitions"], self.nemesis.partitions, 100)?;
        single(&["broker", "ack_wait"], self.broker.ack_wait, MS(100), S(600))?;
        single(&["broker", "dead_client_timeout"], self.broker.dead_client_timeout, MS(100), S(600))?;
        if !(1..=1_000_000).contains(&self.broker.max_in_flight) {
            return err(&["broker", "max_in_flight"], format!("{}; allowed: 1 to 1000000", self.broker.max_in_flight));
        }
        self.validate_jetstream()?;
        single(&["app", "expiration_window"], self.app.expiration_window, MS(1), S(24 * 3600))?;
        single(&["phases", "duration"], self.phases.duration, MS(1), S(3600))?;
        single(&["phases", "quiet"], self.phases.quiet, S(0), S(3600))
    }

    /// JetStream's settings: bounded, and only with `kind = "jetstream"`.
    fn validate_jetstream(&self) -> Result<(), Invalid> {
        use super::settings::{BrokerKindSetting, BrokerSettings, DeliverPolicySetting};
        let b = &self.broker;
        let defaults = BrokerSettings::default();
        let own = [
            ("max_deliver", b.max_deliver != defaults.max_deliver),
            ("backoff", b.backoff != defaults.backoff),
            ("max_ack_pending", b.max_ack_pending != defaults.max_ack_pending),
            ("deliver_policy", b.deliver_policy != defaults.deliver_policy),
            ("opt_start_seq", b.opt_start_seq.is_some()),
            ("opt_start_time", b.opt_start_time.is_some()),
            ("duplicate_window", b.duplicate_window != defaults.duplicate_window),
        ];
        if b.kind == BrokerKindSetting::Streaming {
            if let Some((key, _)) = own.iter().find(|(_, set)| *set) {
                return err(&["broker", key], "is a JetStream setting; allowed only with kind = \"jetstream\"".to_string());
            }
            return Ok(());
        }
        count(&["broker", "max_deliver"], b.max_deliver, 1000)?;
        if !(1..=100_000).contains(&b.max_ack_pending) {
            return err(&["broker", "max_ack_pending"], format!("{}; allowed: 1 to 100000", b.max_ack_pending));
        }
        if b.backoff.len() > 32 {
            return err(&["broker", "backoff"], format!("{} delays; allowed: at most 32", b.backoff.len()));
        }
        for delay in &b.backoff {
            single(&["broker", "backoff"], *delay, MS(100), S(600))?;
        }
        single(&["broker", "duplicate_window"], b.duplicate_window, MS(0), S(24 * 3600))?;
        let needs = |policy, key: &str, set: bool| {
            if (b.deliver_policy == policy) != set {
                err(
                    &["broker", key],
                    format!(
                        "goes with deliver_policy = \"{}\" (and only with it)",
                        if policy == DeliverPolicySetting::ByStartSequence { "by-start-sequence" } else { "by-start-time" }
                    ),
                )
            } else {
                Ok(())
            }
        };
        needs(DeliverPolicySetting::ByStartSequence, "opt_start_seq", b.opt_start_seq.is_some())?;
        needs(DeliverPolicySetting::ByStartTime, "opt_start_time", b.opt_start_time.is_some())
    }

    fn validate_workload(&self) -> Result<(), Invalid> {
        let w = &self.workload;
        range(&["workload", "think_time"], &w.think_time, MS(1), S(60))?;
        single(&["workload", "request_timeout"], w.request_timeout, MS(10), S(600))?;
        count(&["workload", "users"], w.users, 1000)?;
        count(&["workload", "operations"], w.operations, 10_000)?;
        count(&["workload", "initial_tickets"], w.initial_tickets, 1000)?;
        count(&["workload", "hot_tickets"], w.hot_tickets, 1000)?;
        if let Some(limit) = self.limits.virtual_time {
            single(&["limits", "virtual_time"], limit, S(1), S(30 * 24 * 3600))?;
        }
        if let Some(events) = self.limits.events.filter(|e| !(1..=1_000_000_000).contains(e)) {
            return err(&["limits", "events"], format!("{events}; allowed: 1 to 1000000000"));
        }
        if u64::from(w.users) * u64::from(w.operations) > MAX_REQUESTS {
            let message = format!(
                "{} users x {} operations = {} requests; allowed: at most {MAX_REQUESTS} in all",
                w.users,
                w.operations,
                u64::from(w.users) * u64::from(w.operations)
            );
            return err(&["workload", "operations"], message);
        }
        if w.steps.len() > MAX_ITEMS {
            return err(&["workload", "steps"], format!("{} steps; allowed: at most {MAX_ITEMS}", w.steps.len()));
        }
        for (key, n) in
            [("expect", self.expect.len()), ("expect_account", self.expect_account.len()), ("expect_record", self.expect_record.len())]
        {
            if n > MAX_ITEMS {
                return err(&[key], format!("{n} expectations; allowed: at most {MAX_ITEMS}"));
            }
        }
        for (spec, weight) in w.mix.weights() {
            count(&["workload", "mix", spec.mix_key], weight, 1000)?;
        }
        for (spec, weight) in w.mix.weights() {
            let service = spec.service;
            if weight > 0 && w.users > 0 && !self.runs(service) {
                return err(
                    &["workload", "mix", spec.mix_key],
                    format!("weight {weight} needs the {service} service; set services.{service} to 1 or more"),
                );
            }
        }
        if w.users > 0 && w.mix.weights().map(|(_, weight)| weight).sum::<u32>() == 0 {
            return err(&["workload", "mix"], "all weights are 0; give at least one operation a weight".into());
        }
        Ok(())
    }

    /// Checks each step; returns the names the steps give.
    fn validate_steps(&self) -> Result<BTreeSet<&str>, Invalid> {
        let mut names: BTreeSet<&str> = BTreeSet::new();
        for (i, step) in self.workload.steps.iter().enumerate() {
            let at = format!("steps[{i}]");
            let path = |k: &str| {
                k.split('.').fold(vec!["workload".to_string(), at.clone()], |mut p, part| {
                    p.push(part.to_string());
                    p
                })
            };
            if step.at.0 > self.phases.duration.0 {
                let message = format!(
                    "{} is after the workload phase ({}); allowed: 0s to phases.duration",
                    fmt_duration(step.at.0),
                    fmt_duration(self.phases.duration.0)
                );
                return Err((path("at"), message));
            }
            match step.kind() {
                None => {
                    let key = if step.op.is_some() || step.request.is_some() || step.publish.is_some() { "request" } else { "op" };
                    let message =
                        "a step is exactly one of `op` (with its fields), `request = \"METHOD /path\"` or `publish = \"subject\"`";
                    return Err((path(key), message.into()));
                }
                Some(StepKind::Op(op)) => self.validate_op_step(step, op, &names).map_err(|(k, m)| (path(&k), m))?,
                Some(StepKind::Request { method, path: route }) => {
                    self.validate_request_step(step, method, route, &names).map_err(|(k, m)| (path(&k), m))?
                }
                Some(StepKind::Publish(subject)) => self.validate_publish_step(step, subject, &names).map_err(|(k, m)| (path(&k), m))?,
            }
            // A step's expectations may name the record it creates.
            if let Some(name) = &step.name {
                names.insert(name);
            }
            self.validate_step_expect(step, &names).map_err(|(k, m)| (path(&k), m))?;
        }
        Ok(names)
    }

    fn validate_op_step(&self, step: &Step, op: Op, names: &BTreeSet<&str>) -> Result<(), (String, String)> {
        let need = |ok: bool, k: &str, what: &str| if ok { Ok(()) } else { Err((k.to_string(), format!("op {} needs {what}", op.name()))) };
        need(step.user.is_some(), "user", "the user it is signed in as")?;
        let Some(needed) = op.spec().needs else {
            let why =
                format!("op {} is one of the random users' attempts; a step writes such a request in full (method, path, body)", op.name());
            return Err(("op".into(), why));
        };
        for needs in needed {
            match needs {
                Needs::TitleAndPrice { why } => {
                    need(step.title.is_some(), "title", &format!("a title{why}"))?;
                    need(step.price.is_some(), "price", &format!("a price{why}"))?;
                }
                Needs::Ticket => need(step.ticket.is_some(), "ticket", "the ticket's name")?,
                Needs::Order => need(step.order.is_some(), "order", "the order's name")?,
                Needs::Amount => need(step.amount.is_some(), "amount", "an amount")?,
            }
        }
        let service = op.service();
        if !self.runs(service) {
            return Err(("op".into(), format!("op {} needs the {service} service; set services.{service} to 1 or more", op.name())));
        }
        for (k, reference) in [("ticket", &step.ticket), ("order", &step.order)] {
            if let Some(r) = reference {
                if !names.contains(r.as_str()) {
                    return Err((k.into(), format!("{} is not named by an earlier step; names so far: {}", echo(r), some(names))));
                }
            }
        }
        Ok(())
    }

    fn validate_request_step(&self, step: &Step, method: &str, route: &str, names: &BTreeSet<&str>) -> Result<(), (String, String)> {
        if step.user.is_some() == step.signed_out {
            return Err((
                "user".into(),
                "a request step is signed in as `user = \"NAME\"` or sent with `signed_out = true` (one of them)".into(),
            ));
        }
        let Some(m) = Method::from_name(method) else {
            return Err(("request".into(), format!("unknown method {method:?}; allowed: GET, POST, PUT, DELETE")));
        };
        refers_to_earlier(route, names).map_err(|m| ("request".to_string(), m))?;
        if let Some(body) = &step.body {
            no_null(body).map_err(|m| ("body".to_string(), m))?;
            refers_in(body, names).map_err(|m| ("body".to_string(), m))?;
        }
        let shape = crate::ticketing::script::resolve(route, &|_| Some("X1".into())).unwrap_or_default();
        let Some(service) = route_owner(m, &shape) else {
            let routes: Vec<String> = SERVICES.iter().flat_map(|s| s.routes).map(|r| format!("{} {}", r.method.as_str(), r.path)).collect();
            return Err(("request".into(), format!("no service answers {method} {route}; routes: {}", routes.join(", "))));
        };
        if !self.runs(service.name) {
            return Err(("request".into(), format!("{method} {route} needs the {0} service; set services.{0} to 1 or more", service.name)));
        }
        Ok(())
    }

    fn validate_publish_step(&self, step: &Step, subject: &str, names: &BTreeSet<&str>) -> Result<(), (String, String)> {
        if step.until_known {
            return Err(("until_known".into(), "a publish step gets no answer to wait on; until_known is for request steps".into()));
        }
        if Subject::from_name(subject).is_none() {
            let allowed: Vec<&str> = Subject::ALL.iter().map(|s| s.as_str()).collect();
            return Err(("publish".into(), unknown("subject", subject, allowed.iter().copied())));
        }
        if let Some(data) = &step.data {
            no_null(data).map_err(|m| ("data".to_string(), m))?;
            refers_in(data, names).map_err(|m| ("data".to_string(), m))?;
        }
        Ok(())
    }

    fn validate_step_expect(&self, step: &Step, names: &BTreeSet<&str>) -> Result<(), (String, String)> {
        let Some(e) = step.expectations() else { return Ok(()) };
        if let Some(status) = e.status {
            if !(100..=599).contains(&status) {
                let key = if step.expect_status.is_some() { "expect_status" } else { "expect.status" };
                return Err((key.into(), format!("{status}; allowed: an HTTP status, 100 to 599")));
            }
        }
        if let Some(body) = &e.body {
            refers_in(body, names).map_err(|m| ("expect.body".to_string(), m))?;
        }
        for (i, event) in e.published.iter().flatten().enumerate() {
            if let Some(data) = &event.data {
                refers_in(data, names).map_err(|m| (format!("expect.published[{i}].data"), m))?;
            }
            if Subject::from_name(&event.subject).is_none() {
                return Err((
                    format!("expect.published[{i}].subject"),
                    unknown("subject", &event.subject, Subject::ALL.iter().map(|s| s.as_str())),
                ));
            }
        }
        let is_publish = matches!(step.kind(), Some(StepKind::Publish(_)));
        for (key, groups) in [("expect.acked_by", &e.acked_by), ("expect.not_acked_by", &e.not_acked_by)] {
            if !groups.is_empty() && !is_publish {
                return Err((key.into(), "only a `publish` step's event is acked or not".into()));
            }
            for group in groups {
                let subject = step.publish.as_deref().and_then(Subject::from_name);
                let consumers = subject.map(|s| self.consumers().remove(&s).unwrap_or_default()).unwrap_or_default();
                if !consumers.contains(&group.as_str()) {
                    return Err((
                        key.into(),
                        format!("{group:?} does not consume {}; groups that do here: {consumers:?}", step.publish.as_deref().unwrap_or("")),
                    ));
                }
            }
        }
        if let Some(within) = e.within {
            if within.0 > Duration::from_secs(600) {
                return Err(("expect.within".into(), format!("{}; allowed: 0s to 600s", fmt_duration(within.0))));
            }
            let redelivery = crate::ticketing::drain::redelivery_window(self);
            if !e.not_acked_by.is_empty() && within.0 < redelivery {
                return Err((
                    "expect.within".into(),
                    format!(
                        "{} is shorter than a redelivery takes here ({}: broker.ack_wait, the broker's tick, the hops and a handler's round trips), so `not_acked_by` would pass before the event could be redelivered; allowed: {} to 600s, or leave `within` out for that default",
                        fmt_duration(within.0),
                        fmt_duration(redelivery),
                        fmt_duration(redelivery)
                    ),
                ));
            }
        }
        Ok(())
    }

    fn validate_reproduce(&self) -> Result<(), Invalid> {
        let Some(r) = &self.reproduce else { return Ok(()) };
        // A reproduction with recorded decisions or a branch replays only on its format;
        // one with only a seed (written by hand) is that seed on this build.
        let recorded = r.choices.is_some() || !r.branch.is_empty();
        if r.format != crate::harness::choices::RECORD_FORMAT && (recorded || r.format != 0) {
            return err(&["reproduce", "format"], crate::harness::system::old_format_message(r.format));
        }
        if let Some(schedule) = &r.schedule {
            if schedule.picks().is_none() {
                return err(
                    &["reproduce", "schedule", "picks"],
                    format!(
                        "each pick is [STEP, OPTION], steps increasing and below {} (as check --save writes them)",
                        crate::harness::schedule::MAX_STEPS
                    ),
                );
            }
            if schedule.max_faults > 3 {
                return err(&["reproduce", "schedule", "max_faults"], "allowed 0 to 3".into());
            }
        }
        let known = crate::ticketing::invariants::names::NAMES;
        let harness = crate::harness::run::HARNESS_FINDINGS;
        if !known.contains(&r.invariant.as_str()) && !harness.contains(&r.invariant.as_str()) {
            return err(&["reproduce", "invariant"], unknown("invariant", &r.invariant, known.iter().chain(harness.iter()).copied()));
        }
        Ok(())
    }

    fn validate_record_expectations(&self, names: &BTreeSet<&str>) -> Result<(), Invalid> {
        let end = self.phases.duration.0 + self.phases.quiet.0;
        for (i, e) in self.expect_record.iter().enumerate() {
            let path = |k: &str| vec![format!("expect_record[{i}]"), k.to_string()];
            if e.at.0 > end {
                return Err((
                    path("at"),
                    format!(
                        "{} is after the run ends ({}); allowed: 0s to phases.duration + phases.quiet",
                        fmt_duration(e.at.0),
                        fmt_duration(end)
                    ),
                ));
            }
            let provider = self.app.payment_provider.then_some(crate::ticketing::provider::NAME);
            let known = SERVICES.iter().any(|s| s.name == e.store && self.runs(s.name)) || provider == Some(e.store.as_str());
            if !known {
                let mut stores: Vec<&str> = SERVICES.iter().filter(|s| self.runs(s.name)).map(|s| s.name).collect();
                stores.extend(provider);
                return Err((path("store"), format!("{:?} is not a service running here; running: {stores:?}", e.store)));
            }
            if !Snapshot::KINDS.contains(&e.kind.as_str()) {
                return Err((path("kind"), unknown("kind", &e.kind, Snapshot::KINDS.iter().copied())));
            }
            if e.id.is_some() == e.find_where.is_some() {
                return Err((path("id"), "a record expectation finds its record by `id` or by `where` (one of them)".into()));
            }
            if e.absent == e.fields.is_some() {
                return Err((path("fields"), "a record expectation has `fields` to check, or `absent = true` (one of them)".into()));
            }
            if let Some(id) = &e.id {
                refers_to_earlier(id, names).map_err(|m| (path("id"), m))?;
            }
            for (key, value) in [("where", &e.find_where), ("fields", &e.fields)] {
                if let Some(value) = value {
                    refers_in(value, names).map_err(|m| (path(key), m))?;
                }
            }
        }
        Ok(())
    }

    fn validate_expectations(&self, names: &BTreeSet<&str>) -> Result<(), Invalid> {
        self.validate_record_expectations(names)?;
        let end = self.phases.duration.0 + self.phases.quiet.0;
        let after_end = |at: Dur| at.0 > end;
        for (i, e) in self.expect.iter().enumerate() {
            if after_end(e.at) {
                return Err((
                    vec![format!("expect[{i}]"), "at".into()],
                    format!(
                        "{} is after the run ends ({}); allowed: 0s to phases.duration + phases.quiet",
                        fmt_duration(e.at.0),
                        fmt_duration(end)
                    ),
                ));
            }
        }
        for (i, e) in self.expect_account.iter().enumerate() {
            if after_end(e.at) {
                return Err((
                    vec![format!("expect_account[{i}]"), "at".into()],
                    format!(
                        "{} is after the run ends ({}); allowed: 0s to phases.duration + phases.quiet",
                        fmt_duration(e.at.0),
                        fmt_duration(end)
                    ),
                ));
            }
        }
        for (i, e) in self.expect.iter().enumerate() {
            let path = |k: &str| vec![format!("expect[{i}]"), k.to_string()];
            if !names.contains(e.ticket.as_str()) {
                return Err((path("ticket"), format!("{} is not named by a step; names: {}", echo(&e.ticket), some(names))));
            }
            if let Some(order) = &e.order {
                if !order.is_empty() && !names.contains(order.as_str()) {
                    return Err((path("order"), format!("{} is not named by a step; names: {}", echo(order), some(names))));
                }
            }
        }
        if !self.expect_account.is_empty() && !self.runs("accounts") {
            let path = vec!["expect_account[0]".to_string(), "user".to_string()];
            return Err((path, "an account expectation needs the accounts service; set services.accounts to 1 or more".into()));
        }
        Ok(())
    }
}

/// "unknown WHAT "given" (did you mean ...?); allowed: a, b, c": one message for every
/// name a scenario may get wrong.
fn unknown<'a>(what: &str, given: &str, allowed: impl Iterator<Item = &'a str> + Clone) -> String {
    let list: Vec<&str> = allowed.clone().collect();
    format!("unknown {what} {}{}; allowed: {}", echo(given), did_you_mean(given, allowed), list.join(", "))
}

/// In `not_judged`: every liveness invariant (a scenario that does not judge liveness).
pub const LIVENESS: &str = "liveness";

/// Every `{NAME}` in `text` must be a name an earlier step gave.
fn refers_to_earlier(text: &str, names: &BTreeSet<&str>) -> Result<(), String> {
    for name in crate::ticketing::script::references(text) {
        if !names.contains(name) {
            return Err(format!("{{{}}} is not named by an earlier step; names so far: {}", bounded(name), some(names)));
        }
    }
    Ok(())
}

/// Every `{NAME}` in any string of `value` must be a name an earlier step gave.
fn refers_in(value: &toml::Value, names: &BTreeSet<&str>) -> Result<(), String> {
    crate::ticketing::script::strings(value).into_iter().try_for_each(|text| refers_to_earlier(text, names))
}

/// A step built in Rust from JSON holding `null` (see [`super::steps::Step::body`]).
fn no_null(value: &toml::Value) -> Result<(), String> {
    let has_null = match value {
        toml::Value::String(s) => s == super::steps::NULL,
        toml::Value::Array(items) => items.iter().any(|v| no_null(v).is_err()),
        toml::Value::Table(fields) => fields.values().any(|v| no_null(v).is_err()),
        _ => false,
    };
    if has_null {
        return Err("null is not allowed (TOML has none): leave the field out instead".into());
    }
    Ok(())
}

/// Names for an error message: the first ten, and how many more.
fn some(names: &BTreeSet<&str>) -> String {
    let shown: Vec<String> = names.iter().take(10).map(|n| echo(n)).collect();
    match names.len() {
        0 => "none".into(),
        n if n <= 10 => format!("[{}]", shown.join(", ")),
        n => format!("[{}, and {} more]", shown.join(", "), n - 10),
    }
}
