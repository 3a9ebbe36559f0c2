//! What a scenario expects of named records at given times: a ticket and its orders
//! replica, a user's account.

use crate::harness::duration::Dur;
use serde::{Deserialize, Serialize};

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
