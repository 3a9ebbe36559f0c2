//! Which bugs cause a failure: a minimal set of bug switches, verified on the same
//! decisions (keyed, see [`super::choices`]), that is sufficient (the scenario with
//! only those switches on still shows the failure's fingerprint) and necessary (with
//! any one of them off it does not). Found by deletion: switches the run never
//! consulted go first (their lines never ran, so the run is the same without them),
//! then each remaining one is tried off, until none can go. Every claim is a run that
//! was made; where none can be established, the answer says why.

use super::run::shows;
use super::run::{RunOptions, RunOutcome};
use super::system::System;

/// Most runs one attribution makes.
pub const MAX_RUNS: usize = 64;

/// One run made to check a claim.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checked {
    /// The switches on in that run.
    pub switches: Vec<String>,
    /// Whether it showed the failure's fingerprint.
    pub shows: bool,
    /// Whether it violated nothing at all.
    pub clean: bool,
}

/// What an attribution found.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Attribution {
    /// `causes` on their own show the failure; without any one of them it is gone.
    Caused { causes: Vec<String>, sufficient: Checked, necessary: Vec<Checked> },
    /// No set could be established; `why` says what was seen.
    NotAttributed { why: String },
}

impl Attribution {
    pub fn causes(&self) -> Option<&[String]> {
        match self {
            Attribution::Caused { causes, .. } => Some(causes),
            Attribution::NotAttributed { .. } => None,
        }
    }

    /// One line: `caused by a, b (verified: ...)` or `could not attribute: ...`.
    pub fn line(&self) -> String {
        match self {
            Attribution::Caused { causes, necessary, .. } => {
                let without = if necessary.iter().all(|c| c.clean) { "passes" } else { "no longer shows it" };
                format!(
                    "caused by {} (verified on the same decisions: with only {} on it fails the same way; with any one of them off it {without})",
                    causes.join(" + "),
                    if causes.len() == 1 { "it" } else { "these" }
                )
            }
            Attribution::NotAttributed { why } => format!("could not attribute: {why}"),
        }
    }
}

/// The scenario with exactly `on` of its bug switches on (the others off).
pub fn with_only<S: System>(scenario: &S::Scenario, on: &[String]) -> S::Scenario {
    let mut current = scenario.clone();
    for name in S::bug_switches(scenario).into_iter().map(|(n, _)| n).filter(|n| !on.contains(n)) {
        if let Some((_, off)) = S::bug_switches(&current).into_iter().find(|(n, _)| *n == name) {
            current = off;
        }
    }
    current
}

/// Attributes the failure `fingerprint` (of `invariant`) of the run `run` makes of
/// `scenario` to its bug switches. `run` runs a scenario on the failure's decisions
/// (its seed, branch or recorded choices).
pub fn attribute<S: System>(
    scenario: &S::Scenario,
    invariant: &str,
    fingerprint: &str,
    run: &dyn Fn(&S::Scenario, &RunOptions) -> RunOutcome<S>,
) -> Attribution {
    let all: Vec<String> = S::bug_switches(scenario).into_iter().map(|(n, _)| n).collect();
    let not = |why: String| Attribution::NotAttributed { why };
    if all.is_empty() {
        return not("the scenario has no bug switch on: nothing to attribute it to".into());
    }
    let runs = std::cell::Cell::new(0usize);
    let check = |on: &[String]| -> Checked {
        runs.set(runs.get() + 1);
        let outcome = run(&with_only::<S>(scenario, on), &RunOptions::default());
        Checked { switches: on.to_vec(), shows: shows(&outcome, invariant, Some(fingerprint)), clean: !outcome.failed() }
    };
    let original = run(scenario, &RunOptions { log_switches: true, ..RunOptions::default() });
    if !shows(&original, invariant, Some(fingerprint)) {
        return not(format!("the run does not show {fingerprint} to begin with"));
    }
    let none = check(&[]);
    if none.shows {
        return not("with every bug switch off the run fails the same way: it needs no flaw (a bug outside the switches, or a rule this scenario cannot keep)".into());
    }
    // Switches whose line never ran cannot matter: the run is the same without them.
    let log = original.switches.unwrap_or_default();
    let mut set: Vec<String> = all.iter().filter(|s| log.iter().any(|c| c.switch == s.as_str())).cloned().collect();
    let consulted = check(&set);
    if !consulted.shows {
        return not(format!("with only the switches its run consulted ({}) on, it no longer fails the same way", set.join(", ")));
    }
    let mut changed = true;
    while changed && runs.get() < MAX_RUNS {
        changed = false;
        for s in set.clone() {
            let fewer: Vec<String> = set.iter().filter(|x| **x != s).cloned().collect();
            if runs.get() < MAX_RUNS && check(&fewer).shows {
                set = fewer;
                changed = true;
            }
        }
    }
    let sufficient = check(&set);
    let necessary: Vec<Checked> = set.iter().map(|s| check(&set.iter().filter(|x| *x != s).cloned().collect::<Vec<_>>())).collect();
    if !sufficient.shows {
        return not(format!(
            "{} on its own did not fail the same way when checked again (a tie madsim broke differently?)",
            set.join(" + ")
        ));
    }
    if let Some(still) = necessary.iter().find(|c| c.shows) {
        return not(format!("no minimal set within {MAX_RUNS} runs: {} still fails the same way", still.switches.join(" + ")));
    }
    Attribution::Caused { causes: set, sufficient, necessary }
}
