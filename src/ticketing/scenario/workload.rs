//! The workload a scenario describes: random users and their operation mix, and the
//! scripted steps (see [`super::steps`]).

use super::Step;
use crate::harness::duration::{pair, Dur};
use serde::{Deserialize, Serialize};
use std::time::Duration;

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
    /// Ticket prices with cents (`20.1`), as sellers type them; else whole numbers.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cents: bool,
    pub mix: Mix,
    pub steps: Vec<Step>,
}

impl Workload {
    /// The workload with its random users `pace` times faster: the longest think time
    /// divided by `pace`, never below the shortest (the rush strategy's draw; see
    /// `WorldBuilder::pace`). Scripted steps keep their times.
    pub fn at_pace(&self, pace: u32) -> Workload {
        let [shortest, longest] = self.think_time;
        let longest = Dur((longest.0 / pace.max(1)).max(shortest.0));
        Workload { think_time: [shortest, longest], ..self.clone() }
    }
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
            cents: false,
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
    /// What a real crowd also tries (0 by default): reads of every GET route, ...
    pub list_tickets: u32,
    pub list_orders: u32,
    pub show_order: u32,
    /// ... edits of any known ticket (others', reserved ones), cancels and payments of
    /// any known order (others', cancelled, paid), ...
    pub edit_any_ticket: u32,
    pub cancel_any_order: u32,
    pub pay_any_order: u32,
    /// ... requests signed out, with malformed or missing fields, or naming unknown ids.
    pub signed_out: u32,
    pub malformed: u32,
    pub unknown_id: u32,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            create_ticket: 2,
            update_ticket: 3,
            create_order: 3,
            cancel_order: 2,
            show_ticket: 1,
            pay_order: 0,
            deposit: 0,
            withdraw: 0,
            list_tickets: 0,
            list_orders: 0,
            show_order: 0,
            edit_any_ticket: 0,
            cancel_any_order: 0,
            pay_any_order: 0,
            signed_out: 0,
            malformed: 0,
            unknown_id: 0,
        }
    }
}

impl Mix {
    /// The weight of one operation.
    pub fn weight(&self, op: Op) -> u32 {
        match op {
            Op::CreateTicket => self.create_ticket,
            Op::UpdateTicket => self.update_ticket,
            Op::CreateOrder => self.create_order,
            Op::CancelOrder => self.cancel_order,
            Op::ShowTicket => self.show_ticket,
            Op::PayOrder => self.pay_order,
            Op::Deposit => self.deposit,
            Op::Withdraw => self.withdraw,
            Op::ListTickets => self.list_tickets,
            Op::ListOrders => self.list_orders,
            Op::ShowOrder => self.show_order,
            Op::EditAnyTicket => self.edit_any_ticket,
            Op::CancelAnyOrder => self.cancel_any_order,
            Op::PayAnyOrder => self.pay_any_order,
            Op::SignedOut => self.signed_out,
            Op::Malformed => self.malformed,
            Op::UnknownId => self.unknown_id,
        }
    }

    /// Each operation with its weight, in [`OPS`]' order (the order a user's draw
    /// walks).
    pub fn weights(&self) -> impl Iterator<Item = (&'static OpSpec, u32)> + '_ {
        OPS.iter().map(|spec| (spec, self.weight(spec.op)))
    }
}

/// What a scripted `op` step must name, besides the user it is signed in as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// `title` and `price` (`why` says what for).
    TitleAndPrice { why: &'static str },
    /// `ticket` (a name an earlier step gave).
    Ticket,
    /// `order` (a name an earlier step gave).
    Order,
    /// `amount`.
    Amount,
}

/// One operation, as every part of the simulator knows it: its name in scenario files
/// (`op = "create-order"`), its key in `[workload.mix]`, the service it needs, and what
/// a scripted step of it must name (`ticket` with `title` and `price`); `None` for the
/// crowd's attempts, which only random users make (a script writes such a request in
/// full: method, path, body).
/// A new operation is a variant, a row here, a `Mix` weight, and its request in
/// `workload::random_request` and `workload::steps::op_request`.
#[derive(Clone, Copy, Debug)]
pub struct OpSpec {
    pub op: Op,
    pub name: &'static str,
    pub mix_key: &'static str,
    pub service: &'static str,
    pub needs: Option<&'static [Needs]>,
}

/// Every operation, in the order the random users' draw walks their weights (new ones
/// go last: a draw over the same weights must walk them as before).
pub const OPS: [OpSpec; 17] = [
    OpSpec {
        op: Op::CreateTicket,
        name: "create-ticket",
        mix_key: "create_ticket",
        service: "tickets",
        needs: Some(&[Needs::TitleAndPrice { why: "" }]),
    },
    OpSpec {
        op: Op::UpdateTicket,
        name: "update-ticket",
        mix_key: "update_ticket",
        service: "tickets",
        // The route requires both (a request with one of them is written in full).
        needs: Some(&[Needs::Ticket, Needs::TitleAndPrice { why: " (the route requires title and price)" }]),
    },
    OpSpec { op: Op::CreateOrder, name: "create-order", mix_key: "create_order", service: "orders", needs: Some(&[Needs::Ticket]) },
    OpSpec { op: Op::CancelOrder, name: "cancel-order", mix_key: "cancel_order", service: "orders", needs: Some(&[Needs::Order]) },
    OpSpec { op: Op::ShowTicket, name: "show-ticket", mix_key: "show_ticket", service: "tickets", needs: Some(&[Needs::Ticket]) },
    OpSpec { op: Op::PayOrder, name: "pay-order", mix_key: "pay_order", service: "payments", needs: Some(&[Needs::Order]) },
    OpSpec { op: Op::Deposit, name: "deposit", mix_key: "deposit", service: "transactions", needs: Some(&[Needs::Amount]) },
    OpSpec { op: Op::Withdraw, name: "withdraw", mix_key: "withdraw", service: "transactions", needs: Some(&[Needs::Amount]) },
    OpSpec { op: Op::ListTickets, name: "list-tickets", mix_key: "list_tickets", service: "tickets", needs: None },
    OpSpec { op: Op::ListOrders, name: "list-orders", mix_key: "list_orders", service: "orders", needs: None },
    OpSpec { op: Op::ShowOrder, name: "show-order", mix_key: "show_order", service: "orders", needs: None },
    OpSpec { op: Op::EditAnyTicket, name: "edit-any-ticket", mix_key: "edit_any_ticket", service: "tickets", needs: None },
    OpSpec { op: Op::CancelAnyOrder, name: "cancel-any-order", mix_key: "cancel_any_order", service: "orders", needs: None },
    OpSpec { op: Op::PayAnyOrder, name: "pay-any-order", mix_key: "pay_any_order", service: "payments", needs: None },
    OpSpec { op: Op::SignedOut, name: "signed-out", mix_key: "signed_out", service: "tickets", needs: None },
    OpSpec { op: Op::Malformed, name: "malformed", mix_key: "malformed", service: "tickets", needs: None },
    OpSpec { op: Op::UnknownId, name: "unknown-id", mix_key: "unknown_id", service: "tickets", needs: None },
];

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
    ListTickets,
    ListOrders,
    ShowOrder,
    EditAnyTicket,
    CancelAnyOrder,
    PayAnyOrder,
    SignedOut,
    Malformed,
    UnknownId,
}

impl Op {
    /// The operation's row in [`OPS`].
    pub fn spec(self) -> &'static OpSpec {
        OPS.iter().find(|spec| spec.op == self).unwrap_or_else(|| unreachable!("every operation has a row in OPS: {self:?}"))
    }

    /// The operation as a scenario writes it (`create-order`).
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The service that must be running for this operation.
    pub fn service(self) -> &'static str {
        self.spec().service
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_one_row_whose_names_match_serde() {
        for spec in &OPS {
            assert_eq!(OPS.iter().filter(|s| s.op == spec.op).count(), 1, "{:?}", spec.op);
            assert_eq!(serde_json::to_value(spec.op).unwrap(), spec.name, "the scenario name is serde's");
            assert_eq!(spec.mix_key, spec.name.replace('-', "_"), "the mix key is the name in snake case");
            let mix = toml::from_str::<Mix>(&format!("{} = 7", spec.mix_key)).unwrap();
            assert_eq!(mix.weight(spec.op), 7, "{} is the mix field of {:?}", spec.mix_key, spec.op);
        }
    }

    #[test]
    fn a_faster_pace_shortens_the_longest_think_time_but_not_below_the_shortest() {
        let ms = |n| Dur(Duration::from_millis(n));
        let w = Workload { think_time: [ms(1), ms(8000)], users: 3, ..Workload::default() };
        assert_eq!(w.at_pace(1), w);
        assert_eq!(w.at_pace(16).think_time, [ms(1), ms(500)]);
        assert_eq!(w.at_pace(256).think_time, [ms(1), Dur(Duration::from_micros(31_250))]);
        assert_eq!(w.at_pace(100_000).think_time, [ms(1), ms(1)], "never below the shortest");
        assert_eq!(Workload { think_time: [ms(1), ms(8000)], ..w.at_pace(64) }, w, "only the think time changes");
    }
}
