//! What a triage of a sweep found (see the triage module): each bug with what causes it,
//! each flaw with the failing seeds it explains. Data only, so that a sweep's summary can
//! hold it without the sweep importing the triage that computes it.

use super::attribute::Attribution;
use super::strategy::Branch;

/// One bug and what causes it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BugCause {
    pub fingerprint: String,
    pub invariant: String,
    /// Failing seeds that show it.
    pub seeds: u64,
    /// The seed it was judged on (its smallest), and that run's branch.
    pub judged_on: u64,
    #[serde(default, skip_serializing_if = "Branch::is_empty")]
    pub branch: Branch,
    pub attribution: Attribution,
}

/// One flaw and the failing seeds it explains.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SwitchCause {
    pub switch: String,
    /// Seeds with at least one bug whose cause includes this flaw.
    pub in_cause_of: u64,
    /// Seeds all of whose bugs have this flaw in their cause.
    pub fixes_every_bug_of: u64,
    /// The bugs whose cause includes it.
    pub bugs: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Triage {
    pub bugs: Vec<BugCause>,
    /// Flaws by the seeds they explain, most first.
    pub switches: Vec<SwitchCause>,
    pub failing: u64,
    /// Distinct bugs not judged (past the triage's MAX_TRIAGED).
    pub bugs_not_judged: u64,
    /// Judged bugs that could not be attributed.
    pub not_attributed: u64,
}
