//! `balances-match-transactions`: each account's balance equals the sum of its
//! applied transactions, applied in number order, each exactly once: every account
//! write moves lastNumber from n to n+1 and the balance by transaction n+1's amount.

use super::{written, Input, Violation};
use crate::harness::history::{Lookup, LookupSet};
use crate::ticketing::domain::{Id, Snapshot, TransactionKind};

pub fn check(input: &Input) -> Vec<Violation> {
    // Sums in i128: no amount the app can hold overflows them.
    let mut transactions: Lookup<(Id, u64), i128> = Lookup::default();
    let mut accounts: Lookup<Id, (i64, u64)> = Lookup::default();
    let mut reported: LookupSet<Id> = LookupSet::default();
    let mut violations = Vec::new();
    for (entry, _, _, doc) in written(input) {
        match doc {
            Snapshot::Transaction { user_id, kind, amount, number, .. } => {
                let delta = if *kind == TransactionKind::Deposit { i128::from(*amount) } else { -i128::from(*amount) };
                transactions.insert((user_id.clone(), *number), delta);
            }
            Snapshot::Account { user_id, balance, last_number } => {
                let (before_balance, before_number) = accounts.insert(user_id.clone(), (*balance, *last_number)).unwrap_or((0, 0));
                let problem = if before_number.checked_add(1) != Some(*last_number) {
                    Some(format!(
                        "account {user_id} applied transaction #{last_number} after #{before_number} (expected #{}): out of order or twice",
                        u128::from(before_number) + 1
                    ))
                } else {
                    match transactions.get(&(user_id.clone(), *last_number)) {
                        None => Some(format!("account {user_id} applied transaction #{last_number}, which transactions never wrote")),
                        Some(delta) if i128::from(before_balance) + delta != i128::from(*balance) => Some(format!(
                            "account {user_id} went from {before_balance} to {balance} applying #{last_number} ({delta:+}); expected {}",
                            i128::from(before_balance) + delta
                        )),
                        Some(_) => None,
                    }
                };
                if let Some(explanation) = problem {
                    if reported.insert(user_id.clone()) {
                        violations.push(Violation::new("balances-match-transactions", entry.time, vec![user_id.to_string()], explanation));
                    }
                }
            }
            _ => {}
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::harness::history::Record;
    use crate::ticketing::domain::TransactionKind::{self, *};
    use crate::ticketing::domain::{Obs, Snapshot};
    use crate::ticketing::state::FinalState;

    fn transaction(number: u64, kind: TransactionKind, amount: i64) -> Record<Obs> {
        write(
            "transactions",
            "create",
            Snapshot::Transaction { id: format!("X{number}").into(), user_id: "CZQ".into(), kind, amount, number },
        )
    }

    fn account(balance: i64, last_number: u64) -> Record<Obs> {
        write("accounts", "apply", Snapshot::Account { user_id: "CZQ".into(), balance, last_number })
    }

    fn walkthrough() -> Vec<Record<Obs>> {
        vec![transaction(1, Deposit, 70), transaction(2, Deposit, 40), transaction(3, Withdraw, 100)]
    }

    #[test]
    fn the_walkthrough_in_order_passes() {
        let mut h = walkthrough();
        h.extend([account(70, 1), account(110, 2), account(10, 3)]);
        assert!(run(h, &FinalState::default(), super::check).is_empty());
    }

    #[test]
    fn withdraw_before_deposit_fails() {
        let mut h = walkthrough();
        h.extend([account(-100, 3)]);
        assert_eq!(run(h, &FinalState::default(), super::check).len(), 1);
    }

    #[test]
    fn applying_one_transaction_twice_fails() {
        let mut h = walkthrough();
        h.extend([account(70, 1), account(140, 1)]);
        let v = run(h, &FinalState::default(), super::check);
        assert!(v[0].explanation.contains("#1 after #1"), "{v:?}");
    }
}
