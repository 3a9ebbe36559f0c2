//! Range checks of a parsed scenario. An error is the key path (`network.delay`,
//! `workload.steps[2].at`) and what is allowed; `Scenario::parse` turns the path into a
//! line of the file.

use super::{fmt_duration, Dur, Op, Scenario};
use crate::ticketing::flaws::Flaw;
use crate::ticketing::services::SERVICES;
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
                    return err(&[list], format!("unknown flaw {name:?}; allowed: {}", Flaw::names().join(", ")));
                }
            }
        }
        for (name, n) in &self.services {
            if !SERVICES.iter().any(|s| s.name == name) {
                let allowed: Vec<&str> = SERVICES.iter().map(|s| s.name).collect();
                return err(&["services", name], format!("unknown service {name:?}; allowed: {}", allowed.join(", ")));
            }
            count(&["services", name], *n, 8)?;
        }
        Ok(())
    }

    fn validate_network_and_faults(&self) -> Result<(), Invalid> {
        probability(&["network", "drop_probability"], self.network.drop_probability)?;
        probability(&["network", "duplicate_probability"], self.network.duplicate_probability)?;
        range(&["network", "delay"], &self.network.delay, MS(1), S(10))?;
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
        single(&["app", "expiration_window"], self.app.expiration_window, MS(1), S(24 * 3600))?;
        single(&["phases", "duration"], self.phases.duration, MS(1), S(3600))?;
        single(&["phases", "quiet"], self.phases.quiet, S(0), S(3600))
    }

    fn validate_workload(&self) -> Result<(), Invalid> {
        let w = &self.workload;
        range(&["workload", "think_time"], &w.think_time, MS(1), S(60))?;
        single(&["workload", "request_timeout"], w.request_timeout, MS(10), S(600))?;
        count(&["workload", "users"], w.users, 1000)?;
        count(&["workload", "operations"], w.operations, 10_000)?;
        count(&["workload", "initial_tickets"], w.initial_tickets, 1000)?;
        for (name, weight, service) in w.mix.weights() {
            if weight > 0 && w.users > 0 && !self.runs(service) {
                return err(
                    &["workload", "mix", name],
                    format!("weight {weight} needs the {service} service; set services.{service} to 1 or more"),
                );
            }
        }
        if w.users > 0 && w.mix.weights().iter().map(|w| w.1).sum::<u32>() == 0 {
            return err(&["workload", "mix"], "all weights are 0; give at least one operation a weight".into());
        }
        Ok(())
    }

    /// Checks each step; returns the names the steps give, in order.
    fn validate_steps(&self) -> Result<BTreeSet<&str>, Invalid> {
        let mut names: BTreeSet<&str> = BTreeSet::new();
        for (i, step) in self.workload.steps.iter().enumerate() {
            let at = format!("steps[{i}]");
            let path = |k: &str| vec!["workload".to_string(), at.clone(), k.to_string()];
            if step.at.0 > self.phases.duration.0 {
                let message = format!(
                    "{} is after the workload phase ({}); allowed: 0s to phases.duration",
                    fmt_duration(step.at.0),
                    fmt_duration(self.phases.duration.0)
                );
                return Err((path("at"), message));
            }
            let need = |ok: bool, k: &str, what: &str| if ok { Ok(()) } else { Err((path(k), format!("{:?} needs {what}", step.op))) };
            match step.op {
                Op::CreateTicket => {
                    need(step.title.is_some(), "title", "a title")?;
                    need(step.price.is_some(), "price", "a price")?;
                }
                Op::UpdateTicket => {
                    need(step.ticket.is_some(), "ticket", "the ticket's name")?;
                    need(step.price.is_some() || step.title.is_some(), "price", "a new price or title")?;
                }
                Op::ShowTicket | Op::CreateOrder => need(step.ticket.is_some(), "ticket", "the ticket's name")?,
                Op::CancelOrder | Op::PayOrder => need(step.order.is_some(), "order", "the order's name")?,
                Op::Deposit | Op::Withdraw => need(step.amount.is_some(), "amount", "an amount")?,
            }
            let service = step.op.service();
            if !self.runs(service) {
                return Err((path("op"), format!("{:?} needs the {service} service; set services.{service} to 1 or more", step.op)));
            }
            for (k, reference) in [("ticket", &step.ticket), ("order", &step.order)] {
                if let Some(r) = reference {
                    if !names.contains(r.as_str()) {
                        return Err((path(k), format!("{r:?} is not named by an earlier step; names so far: {names:?}")));
                    }
                }
            }
            if let Some(status) = step.expect_status {
                if !(100..=599).contains(&status) {
                    return Err((path("expect_status"), format!("{status}; allowed: an HTTP status, 100 to 599")));
                }
            }
            if let Some(name) = &step.name {
                names.insert(name);
            }
        }
        Ok(names)
    }

    fn validate_reproduce(&self) -> Result<(), Invalid> {
        let Some(r) = &self.reproduce else { return Ok(()) };
        let known = crate::ticketing::invariants::names::NAMES;
        if !known.contains(&r.invariant.as_str()) && r.invariant != crate::harness::run::NODE_PANIC {
            return err(&["reproduce", "invariant"], format!("unknown invariant {:?}; allowed: {}, {}", r.invariant, known.join(", "), crate::harness::run::NODE_PANIC));
        }
        Ok(())
    }

    fn validate_expectations(&self, names: &BTreeSet<&str>) -> Result<(), Invalid> {
        let end = self.phases.duration.0 + self.phases.quiet.0;
        let after_end = |at: Dur| at.0 > end;
        for (i, e) in self.expect.iter().enumerate() {
            if after_end(e.at) {
                return Err((vec![format!("expect[{i}]"), "at".into()], format!("{} is after the run ends ({}); allowed: 0s to phases.duration + phases.quiet", fmt_duration(e.at.0), fmt_duration(end))));
            }
        }
        for (i, e) in self.expect_account.iter().enumerate() {
            if after_end(e.at) {
                return Err((vec![format!("expect_account[{i}]"), "at".into()], format!("{} is after the run ends ({}); allowed: 0s to phases.duration + phases.quiet", fmt_duration(e.at.0), fmt_duration(end))));
            }
        }
        for (i, e) in self.expect.iter().enumerate() {
            let path = |k: &str| vec![format!("expect[{i}]"), k.to_string()];
            if !names.contains(e.ticket.as_str()) {
                return Err((path("ticket"), format!("{:?} is not named by a step; names: {names:?}", e.ticket)));
            }
            if let Some(order) = &e.order {
                if !order.is_empty() && !names.contains(order.as_str()) {
                    return Err((path("order"), format!("{order:?} is not named by a step; names: {names:?}")));
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
