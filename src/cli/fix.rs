//! `--fix FLAW` on `run`, `replay` and `diagram`: the same run (the same keyed
//! decisions) with those flaws off, compared with the original: where the two part,
//! which flaw's line decided it, what the fixed run does instead, and whether the
//! violation is gone.

use super::{run_scenario, Driven};
use crate::harness::diff::{diff, RunDiff};
use crate::harness::run::{RunOptions, RunOutcome};
use crate::harness::strategy::Branch;

#[derive(clap::Args, Clone, Default)]
pub(crate) struct FixArgs {
    /// Also run the same decisions with this flaw off, and show where the runs part and
    /// whether the violation is gone; repeatable
    #[arg(long = "fix", value_name = "FLAW")]
    pub fixes: Vec<String>,
}

impl FixArgs {
    /// The flaws to fix: each known and on in `scenario`.
    pub fn flaws<S: Driven>(&self, scenario: &S::Scenario) -> Result<Vec<String>, String> {
        let on = super::driven::switches_on::<S>(scenario);
        self.fixes
            .iter()
            .map(|name| {
                super::switch_name::<S>("fix", name, name)?;
                if !on.contains(name) {
                    let list = if on.is_empty() { "none".to_string() } else { on.join(", ") };
                    return Err(format!("--fix {name}: that flaw is not on in this run, so there is nothing to fix (on: {list})"));
                }
                Ok(name.clone())
            })
            .collect()
    }
}

/// The fixed counterpart of a run: the same seed, branch or recorded choices.
pub(crate) struct Counterpart<S: Driven> {
    pub names: Vec<String>,
    pub outcome: RunOutcome<S>,
    pub diff: RunDiff,
}

/// Runs the counterpart of `original` (which must have kept its history and logged
/// its switches) with `flaws` off.
pub(crate) fn counterpart<S: Driven>(
    scenario: &S::Scenario,
    seed: u64,
    branch: &Branch,
    flaws: &[String],
    original: &RunOutcome<S>,
) -> Counterpart<S> {
    let options = RunOptions { keep_history: true, branch: branch.clone(), require_judged: true, ..Default::default() };
    let seed = S::reproduction(scenario).map_or(Some(seed), |_| None);
    let (_, outcome) = run_scenario::<S>(&super::driven::fixed::<S>(scenario, flaws), seed, &options);
    let diff = diff(original, &outcome, flaws);
    Counterpart { names: flaws.to_vec(), outcome, diff }
}

/// What the fix did to the violations, in a word and a line.
pub(crate) fn verdict<S: Driven>(original: &RunOutcome<S>, fixed: &RunOutcome<S>) -> (&'static str, String) {
    let prints: std::collections::BTreeSet<String> = original.violations.iter().map(|v| v.fingerprint()).collect();
    let after: std::collections::BTreeSet<String> = fixed.violations.iter().map(|v| v.fingerprint()).collect();
    let stayed = prints.intersection(&after).count();
    let new = after.difference(&prints).count();
    match (original.failed(), stayed, new, fixed.failed()) {
        (false, _, _, false) => ("clean", "neither run violates anything".into()),
        (true, 0, _, false) => ("gone", "the violation is gone: the fixed run violates nothing".into()),
        (true, 0, n, true) => {
            ("gone", format!("the violation is gone, but the fixed run shows {} of its own", plural(n, "other bug", "other bugs")))
        }
        (true, s, _, true) => {
            ("stays", format!("{s} of the original's {} still there with the fix", plural(prints.len(), "bug is", "bugs are")))
        }
        (false, _, n, _) => ("new", format!("the original passes; the fixed run shows {}", plural(n, "bug", "bugs"))),
        (true, _, _, false) => unreachable!("stayed > 0 implies the fixed run failed"),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The `--fix` section of a text report.
pub(crate) fn text<S: Driven>(original: &RunOutcome<S>, c: &Counterpart<S>) -> String {
    let t = crate::harness::fmt_time_precise;
    let mut out = format!("with {} fixed (the same decisions):\n", c.names.join(" + "));
    let d = &c.diff;
    match &d.parting {
        None => out.push_str("  the two runs are the same, event for event: the flaw's code never changed what happened\n"),
        Some(p) => {
            let at = p.original.as_ref().or(p.other.as_ref());
            let (time, node) = at.map_or((String::new(), String::new()), |s| (t(s.time), s.node.clone()));
            out.push_str(&format!("  the runs part at {time} on {node}, after {} identical events:\n", d.common_prefix));
            let line = |s: &Option<crate::harness::diff::Step>| {
                s.as_ref().map_or("(the run had ended)".to_string(), |s| format!("{} {}: {}", t(s.time), s.node, s.text))
            };
            out.push_str(&format!("    original: {}\n", line(&p.original)));
            out.push_str(&format!("    fixed:    {}\n", line(&p.other)));
            match &p.deciding {
                Some(c) => out.push_str(&format!(
                    "  decided by {} at {} ({} on {}, switch {})\n",
                    c.switch,
                    c.location,
                    t(c.time),
                    c.node.as_deref().unwrap_or("-"),
                    if c.on { "on in the original" } else { "off" }
                )),
                None => out.push_str("  no fixed flaw's line ran before this point: the runs part on a tie madsim broke differently\n"),
            }
            out.push_str(&format!(
                "  of the original's {} events, the fixed run has {} ({}%); {} differently{}\n",
                d.original_events,
                d.shared,
                d.shared * 100 / d.original_events.max(1),
                plural(d.states_differing, "record ends", "records end"),
                if d.states.is_empty() {
                    String::new()
                } else {
                    format!(": {}", d.states.iter().take(8).map(|s| s.record.as_str()).collect::<Vec<_>>().join(", "))
                }
            ));
        }
    }
    out.push_str(&format!("  {}\n", verdict(original, &c.outcome).1));
    out
}

/// The `--fix` part of a JSON report.
pub(crate) fn json<S: Driven>(original: &RunOutcome<S>, c: &Counterpart<S>) -> serde_json::Value {
    let (verdict, line) = verdict(original, &c.outcome);
    serde_json::json!({
        "flaws": c.names,
        "verdict": verdict,
        "explanation": line,
        "violations": c.outcome.violations,
        "diff": c.diff,
    })
}
