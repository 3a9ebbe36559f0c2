//! `accounts-settle`: after the quiet phase every user's account has reached its last
//! transaction number, with the balance the transactions add up to.

use super::{Input, Violation};
use crate::ticketing::domain::TransactionKind;
use std::collections::BTreeMap;

pub fn check(input: &Input) -> Vec<Violation> {
    let f = input.final_state;
    // Sums in i128: no amount the app can hold overflows them.
    let mut expected: BTreeMap<&str, (i128, u64)> = BTreeMap::new();
    for t in &f.transactions {
        let e = expected.entry(&t.user_id).or_default();
        e.0 += if t.kind == TransactionKind::Deposit { i128::from(t.amount) } else { -i128::from(t.amount) };
        e.1 = e.1.max(t.number);
    }
    let mut violations = Vec::new();
    for (user, (balance, last)) in expected {
        let (got_balance, got_last) = f.accounts.get(user).copied().unwrap_or((0, 0));
        if (i128::from(got_balance), got_last) != (balance, last) {
            violations.push(Violation::new(
                "accounts-settle",
                input.end,
                vec![user.to_string()],
                format!("account {user} ended at balance {got_balance}, lastNumber {got_last}; its transactions add up to {balance} through #{last}"),
            ));
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::ticketing::domain::TransactionKind::*;
    use crate::ticketing::services::transactions::Transaction;
    use crate::ticketing::state::FinalState;

    fn state(balance: i64, last: u64) -> FinalState {
        let t = |number, kind, amount| Transaction { id: format!("X{number}").into(), user_id: "CZQ".into(), kind, amount, number };
        let mut f = FinalState { transactions: vec![t(1, Deposit, 70), t(2, Deposit, 40), t(3, Withdraw, 100)], ..Default::default() };
        f.accounts.insert("CZQ".into(), (balance, last));
        f
    }

    #[test]
    fn settled_account_passes() {
        assert!(run(vec![], &state(10, 3), super::check).is_empty());
    }

    #[test]
    fn account_stuck_before_its_last_transaction_fails() {
        assert_eq!(run(vec![], &state(110, 2), super::check).len(), 1);
    }
}
