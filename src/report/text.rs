//! Reporting: terminal tables (tabled) and JSON (serde_json) for `run`, `explore`
//! and `list`; the replay command printed with every failure.

use super::style::{count, paint, Tone};
use crate::harness::explore::ExploreSummary;
use crate::harness::fmt_time;
use crate::harness::history::Entry;
use crate::harness::run::RunOutcome;
use crate::harness::strategy::Branch;
use crate::harness::system::System;
use crate::harness::system::Violation;
use crate::ticketing::domain::Obs;
use crate::ticketing::invariants::scripted_expectations;
use crate::ticketing::Scenario;
use std::time::Duration;
use tabled::settings::Style;
use tabled::{Table, Tabled};

/// Command-line overrides of a scenario, repeated in every replay command.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Overrides {
    pub preset: Option<String>,
    pub flaws: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<crate::harness::strategy::Strategy>,
    /// `--set KEY=VALUE`, each as given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sets: Vec<String>,
}

impl Overrides {
    pub fn args(&self) -> String {
        let mut args = String::new();
        if let Some(p) = &self.preset {
            args.push_str(&format!(" --preset {p}"));
        }
        for f in &self.flaws {
            args.push_str(&format!(" --flaw {f}"));
        }
        if let Some(s) = self.strategy {
            args.push_str(&format!(" --strategy {s}"));
        }
        for set in &self.sets {
            args.push_str(&format!(" --set {}", shell_word(set)));
        }
        args
    }
}

static PROGRAM: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// How printed commands start: the program as the user invoked it (`name` when it was
/// found on the PATH, else the path they typed), so each works as printed.
pub fn set_program(invoked_as: &str, name: &str) {
    let program = if invoked_as.contains('/') { shell_word(invoked_as) } else { name.to_string() };
    let _ = PROGRAM.set(program);
}

/// The program printed commands start with (`ticketsim` unless [`set_program`] said otherwise).
pub fn program() -> &'static str {
    PROGRAM.get().map_or("ticketsim", String::as_str)
}

/// A word as a shell reads it: quoted when it holds anything but safe characters.
pub fn shell_word(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=+@%,".contains(c)) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The command that replays `seed` (of a coverage sweep's `branch`, when not empty).
pub fn replay_command(scenario_path: &str, seed: u64, branch: &Branch, overrides: &Overrides) -> String {
    let branch = if branch.is_empty() { String::new() } else { format!(" --branch {branch}") };
    format!("{} replay {} --seed {seed}{branch}{}", program(), shell_word(scenario_path), overrides.args())
}

/// A table with rounded borders, fitted to the terminal.
pub fn rounded(mut table: Table) -> String {
    table.with(Style::rounded());
    super::style::fit(table)
}

fn row(name: &str, value: impl ToString) -> [String; 2] {
    [name.to_string(), value.to_string()]
}

/// The summary of one run of the scenario `name` as a table.
pub fn run_table<S: System>(outcome: &RunOutcome<S>, scenario: &S::Scenario, name: &str) -> String {
    let f = &outcome.fabric;
    let n = &outcome.nemesis;
    let sim = S::options(scenario);
    let rows = vec![
        row("scenario", name),
        row("flaws", {
            let names: Vec<String> = S::bug_switches(scenario).into_iter().map(|(name, _)| name).collect();
            if names.is_empty() {
                "none (hardened)".to_string()
            } else {
                names.join(", ")
            }
        }),
        row("seed", outcome.seed),
        row("virtual time", fmt_time(outcome.end)),
        row("messages sent / delivered", format!("{} / {}", f.sent, f.delivered)),
        row(
            "dropped (random / partition / node down)",
            format!("{} / {} / {}", f.dropped_random, f.dropped_partition, f.dropped_node_down),
        ),
        row("duplicated", f.duplicated),
        row("crashes / restarts", format!("{} / {}", n.crashes, n.restarts)),
        row("broker restarts", n.infrastructure_restarts),
        row("pauses / partitions", format!("{} / {}", n.pauses, n.partitions)),
        row("history records", outcome.history_len),
        row("events (budget)", {
            let budget = sim.budget;
            format!("{} of {} (virtual time limit {})", outcome.events, budget.events, fmt_time(budget.virtual_time))
        }),
        row("trace hash", outcome.trace_hash.map_or("-".into(), |h| format!("{h:016x}"))),
        row("liveness", {
            let applies = crate::harness::run::applicable::<S>(scenario, &sim);
            if applies.iter().any(|i| i.kind == crate::harness::system::InvariantKind::Liveness) {
                liveness_text(&outcome.liveness, outcome.end)
            } else {
                "none applies (not judged by this scenario's declaration or services)".to_string()
            }
        }),
    ];
    let mut rows = rows;
    if !outcome.expectations.is_empty() {
        rows.push(row("expectations", outcome.expectations));
    }
    rows.push(row("violations", outcome.violations.len()));
    let mut builder = tabled::builder::Builder::default();
    for r in rows {
        builder.push_record(r);
    }
    rounded(builder.build())
}

/// What the run drew before it started (see `harness::plan`), as `run` and `replay` print it.
pub fn plan_text<S: System>(outcome: &RunOutcome<S>) -> String {
    outcome.plan.as_ref().map_or(String::new(), |plan| format!("plan (drawn before the run)\n{}", plan.text(&outcome.nodes)))
}

/// Whether liveness was judged, and why not.
pub fn liveness_text(liveness: &crate::harness::run::Liveness, end: Duration) -> String {
    match liveness {
        crate::harness::run::Liveness::Judged => "judged (settled before the end)".into(),
        crate::harness::run::Liveness::NotJudged { last_progress, settle_window } => format!(
            "NOT JUDGED: still working at {} ({} before the end; settling takes {}): lengthen phases.quiet",
            fmt_time(*last_progress),
            fmt_time(end.saturating_sub(*last_progress)),
            fmt_time(*settle_window)
        ),
        crate::harness::run::Liveness::Stopped => "not judged: the run stopped before its end (see the finding)".into(),
    }
}

/// The state of a violation's records at its moment: the latest store write of each
/// record that names one of them, per service, at or before the violation's time.
pub fn involved_state(entries: &[Entry<Obs>], violation: &Violation) -> Vec<String> {
    use crate::harness::history::mentions;
    let mut latest: std::collections::BTreeMap<(&'static str, String), (std::time::Duration, String)> = std::collections::BTreeMap::new();
    for entry in entries.iter().take_while(|e| e.time <= violation.time) {
        let service = entry.store_call().map_or("", |(store, _)| store);
        for snapshot in entry.wrote() {
            let text = snapshot.to_string();
            if violation.records.iter().any(|r| mentions(&text, r)) {
                latest.insert((service, snapshot.key().to_string()), (entry.time, text));
            }
        }
    }
    latest.into_iter().map(|((service, _), (time, text))| format!("{service:<12} {} (written {})", text, fmt_time(time))).collect()
}

#[derive(Tabled)]
struct ViolationRow {
    invariant: &'static str,
    time: String,
    records: String,
    explanation: String,
}

pub fn violations_table(violations: &[Violation], limit: usize) -> String {
    let rows: Vec<ViolationRow> = violations
        .iter()
        .take(limit)
        .map(|v| ViolationRow {
            invariant: v.invariant,
            time: fmt_time(v.time),
            records: v.records.join(", "),
            explanation: v.explanation.clone(),
        })
        .collect();
    let mut text = rounded(Table::new(rows));
    if violations.len() > limit {
        text.push_str(&format!("\n... and {} more", count((violations.len() - limit) as u64, "violation", "violations")));
    }
    text
}

#[derive(Tabled)]
struct VersionRow {
    at: String,
    step: String,
    ticket: String,
    #[tabled(rename = "tickets service")]
    owner: String,
    #[tabled(rename = "orders replica")]
    replica: String,
    #[tabled(rename = "as expected")]
    ok: String,
}

/// The version table of a scripted scenario: each expectation, observed vs expected.
pub fn version_table(entries: &[Entry<Obs>], scenario: &Scenario) -> Option<String> {
    if scenario.expect.is_empty() {
        return None;
    }
    let names = scripted_expectations::names(entries);
    let rows: Vec<VersionRow> = scenario
        .expect
        .iter()
        .map(|e| {
            let id = names.get(&e.ticket).cloned().unwrap_or_else(|| e.ticket.as_str().into());
            let observed = scripted_expectations::observe(entries, &id, e);
            let problems = scripted_expectations::mismatches(e, &observed, &names);
            let alias = |order: &Option<crate::ticketing::domain::Id>| -> String {
                match order {
                    None => "-".into(),
                    Some(o) => names.iter().find(|(_, id)| *id == o).map(|(n, _)| n.clone()).unwrap_or_else(|| o.to_string()),
                }
            };
            VersionRow {
                at: crate::ticketing::scenario::fmt_duration(e.at.0),
                step: e.label.clone(),
                ticket: e.ticket.clone(),
                owner: observed
                    .ticket
                    .as_ref()
                    .map(|(v, p, o)| format!("v{v} price {p} orderId {}", alias(o)))
                    .unwrap_or_else(|| "-".into()),
                replica: observed.replica.as_ref().map(|(v, t, p)| format!("{} {t} {p} v{v}", e.ticket)).unwrap_or_else(|| "-".into()),
                ok: if problems.is_empty() { "yes".into() } else { format!("NO: {}", problems.join("; ")) },
            }
        })
        .collect();
    Some(rounded(Table::new(rows)))
}

#[derive(Tabled)]
struct AccountRow {
    at: String,
    step: String,
    user: String,
    observed: String,
    expected: String,
    #[tabled(rename = "as expected")]
    ok: String,
}

/// The accounts table of a scripted scenario: each account expectation, observed vs expected.
pub fn account_table(entries: &[Entry<Obs>], scenario: &Scenario) -> Option<String> {
    if scenario.expect_account.is_empty() {
        return None;
    }
    let rows: Vec<AccountRow> = scenario
        .expect_account
        .iter()
        .map(|e| {
            let observed = scripted_expectations::observe_account(entries, &e.user, e.at.0);
            AccountRow {
                at: crate::ticketing::scenario::fmt_duration(e.at.0),
                step: e.label.clone(),
                user: e.user.clone(),
                observed: observed.map(|(b, n)| format!("balance {b} lastNumber {n}")).unwrap_or_else(|| "-".into()),
                expected: format!("balance {} lastNumber {}", e.balance, e.last_number),
                ok: if observed == Some((e.balance, e.last_number)) { "yes".into() } else { "NO".into() },
            }
        })
        .collect();
    Some(rounded(Table::new(rows)))
}

#[derive(Tabled)]
struct GroupRow {
    invariant: String,
    #[tabled(rename = "failing seeds")]
    count: usize,
    #[tabled(rename = "first seed")]
    first: u64,
    #[tabled(rename = "at")]
    time: String,
    example: String,
}

/// What a sweep left unjudged, and how its expectations fared.
fn unjudged_lines(summary: &ExploreSummary) -> String {
    let mut out = String::new();
    if summary.liveness_not_judged > 0 {
        let message = format!(
            "liveness not judged on {}: still working too close to the end (lengthen phases.quiet; --require-judged, the default under CI=true, fails such seeds)",
            count(summary.liveness_not_judged, "seed", "seeds")
        );
        out.push_str(&format!("{}\n", paint(&message, Tone::Warn)));
    }
    if !summary.expectations.is_empty() {
        let tone = if summary.expectations.failed + summary.expectations.not_judged > 0 { Tone::Warn } else { Tone::Pass };
        out.push_str(&format!("{}\n", paint(&format!("expectations over every seed: {}", summary.expectations), tone)));
    }
    out
}

/// A sweep's figures: seeds and their rate, the fabric's and the nemesis's totals, the
/// largest seed, the coverage reached.
fn sweep_figures(summary: &ExploreSummary) -> String {
    let mut out = String::new();
    let f = &summary.fabric;
    let n = &summary.nemesis;
    if summary.partial {
        out.push_str(&format!(
            "{}\n",
            paint(&format!("PARTIAL: interrupted after {} of {} seeds", summary.seeds_run, summary.planned), Tone::Warn)
        ));
    }
    let failing = format!("{} failing", summary.failing);
    out.push_str(&format!(
        "{} run ({}) in {:.2}s wall: {:.0} seeds/s\n",
        count(summary.seeds_run, "seed", "seeds"),
        paint(&failing, if summary.failing > 0 { Tone::Fail } else { Tone::Pass }),
        summary.wall.as_secs_f64(),
        summary.seeds_run as f64 / summary.wall.as_secs_f64().max(1e-9)
    ));
    out.push_str(&format!(
        "fabric: {} sent, {} delivered, {} dropped ({} random, {} partition, {} node down), {} duplicated\n",
        f.sent,
        f.delivered,
        f.dropped(),
        f.dropped_random,
        f.dropped_partition,
        f.dropped_node_down,
        f.duplicated
    ));
    out.push_str(&format!(
        "nemesis: {}, {}, {}, {}, {}\n",
        count(n.crashes, "crash", "crashes"),
        count(n.restarts, "restart", "restarts"),
        count(n.infrastructure_restarts, "broker restart", "broker restarts"),
        count(n.pauses, "pause", "pauses"),
        count(n.partitions, "partition", "partitions")
    ));
    let largest = count(summary.max_events, "event", "events");
    out.push_str(&format!(
        "largest seed: {largest}, {} virtual time (what a seed may reach is the scenario's [limits])\n",
        fmt_time(summary.max_virtual_time)
    ));
    if summary.corpus > 0 {
        out.push_str(&format!(
            "coverage: {} reached, a corpus of {} to branch from\n",
            count(summary.coverage, "abstract state", "abstract states"),
            count(summary.corpus, "run", "runs")
        ));
    }
    out
}

/// A sweep's failing seeds grouped by fingerprint (at most 30 rows), each with the
/// command that replays its smallest seed.
fn bug_groups_text(summary: &ExploreSummary, scenario_path: &str, overrides: &Overrides) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "\n{} (failing seeds grouped by fingerprint):\n",
        count(summary.groups.len() as u64, "distinct bug", "distinct bugs")
    ));
    let mut groups: Vec<&crate::harness::explore::BugGroup> = summary.groups.values().collect();
    groups.sort_by_key(|g| (std::cmp::Reverse(g.seeds), g.smallest.seed));
    #[derive(Tabled)]
    struct BugRow {
        bug: usize,
        seeds: u64,
        #[tabled(rename = "smallest seed")]
        smallest: u64,
        fingerprint: String,
    }
    let shown: Vec<&&crate::harness::explore::BugGroup> = groups.iter().take(30).collect();
    let rows: Vec<BugRow> = shown
        .iter()
        .enumerate()
        .map(|(i, g)| BugRow { bug: i + 1, seeds: g.seeds, smallest: g.smallest.seed, fingerprint: g.fingerprint.clone() })
        .collect();
    out.push_str(&rounded(Table::new(rows)));
    out.push('\n');
    // Outside the table, so that a narrow terminal never wraps a command inside a cell.
    for (i, g) in shown.iter().enumerate() {
        out.push_str(&format!(
            "bug {}: replay with  {}\n",
            i + 1,
            replay_command(scenario_path, g.smallest.seed, &g.smallest.branch, overrides)
        ));
    }
    if groups.len() > 30 {
        out.push_str(&format!("... and {} more fingerprints (--format json lists them all)\n", groups.len() - 30));
    }
    out
}

/// The summary of a sweep: counts, fault totals, failing seeds grouped by invariant.
pub fn explore_text(summary: &ExploreSummary, scenario_path: &str, overrides: &Overrides) -> String {
    let mut out = String::new();
    out.push_str(&sweep_figures(summary));
    out.push_str(&unjudged_lines(summary));
    if summary.by_invariant.is_empty() {
        out.push_str(&format!("{}\n", paint("no invariant violated", Tone::Pass)));
        return out;
    }
    let rows: Vec<GroupRow> = summary
        .by_invariant
        .iter()
        .map(|(invariant, seeds)| {
            let first = &seeds[0];
            GroupRow {
                invariant: invariant.clone(),
                count: summary.counts.get(invariant).copied().unwrap_or(0) as usize,
                first: first.seed,
                time: fmt_time(first.time),
                example: first.explanation.clone(),
            }
        })
        .collect();
    out.push_str(&rounded(Table::new(rows)));
    out.push('\n');
    for (invariant, seeds) in &summary.by_invariant {
        out.push_str(&format!("{invariant}: replay with  {}\n", replay_command(scenario_path, seeds[0].seed, &seeds[0].branch, overrides)));
    }
    out.push_str(&bug_groups_text(summary, scenario_path, overrides));
    if let Some(triage) = &summary.triage {
        out.push_str(&causes_text(triage));
    }
    out
}

/// The report as terminal tables.
pub fn selftest_text(report: &crate::ticketing::selftest::SelftestReport) -> String {
    use tabled::Tabled;
    #[derive(Tabled)]
    struct FlawRow {
        flaw: &'static str,
        scenario: &'static str,
        expected: &'static str,
        #[tabled(rename = "violated")]
        violated: String,
        #[tabled(rename = "seeds to detection")]
        seeds: String,
        median: String,
        wall: String,
        result: &'static str,
    }
    #[derive(Tabled)]
    struct HardenedRow {
        #[tabled(rename = "hardened scenario")]
        scenario: String,
        seeds: u64,
        #[tabled(rename = "failing seeds")]
        failing: u64,
        violated: String,
        wall: String,
    }
    let show = |s: &Option<u64>| s.map(|n| n.to_string()).unwrap_or_else(|| "-".into());
    let flaw_rows: Vec<FlawRow> = report
        .flaws
        .iter()
        .map(|f| FlawRow {
            flaw: f.flaw,
            scenario: f.scenario,
            expected: f.expected,
            violated: f.violated.join(", "),
            seeds: f.seeds_to_detection.iter().map(show).collect::<Vec<_>>().join(" "),
            median: show(&f.median_seeds_to_detection),
            wall: format!("{:.2}s", f.wall_seconds),
            result: if f.detected { "caught" } else { "MISSED" },
        })
        .collect();
    let hardened_rows: Vec<HardenedRow> = report
        .hardened
        .iter()
        .map(|h| HardenedRow {
            scenario: h.scenario.clone(),
            seeds: h.seeds,
            failing: h.failing_seeds,
            violated: if h.violated.is_empty() { "-".into() } else { h.violated.join(", ") },
            wall: format!("{:.2}s", h.wall_seconds),
        })
        .collect();
    let mut notes = String::new();
    if let Some(broker) = report.broker {
        notes += &format!("every scenario on the {broker} broker (--broker)\n");
    }
    if !report.not_applicable.is_empty() {
        notes += &format!("not run (another broker's flaws only): {}\n", report.not_applicable.join(", "));
    }
    format!(
        "{}\n{}\n{notes}selftest {} in {:.1}s\n",
        rounded(Table::new(flaw_rows)),
        rounded(Table::new(hardened_rows)),
        if report.partial {
            paint("PARTIAL (interrupted: only what is listed ran)", Tone::Warn)
        } else if report.passed() {
            paint("passed", Tone::Pass)
        } else {
            paint("FAILED", Tone::Fail)
        },
        report.wall_seconds
    )
}

/// The causes of a sweep's bugs (see [`crate::harness::triage`]).
pub fn causes_text(triage: &crate::harness::triage::Triage) -> String {
    #[derive(Tabled)]
    struct CauseRow {
        seeds: u64,
        #[tabled(rename = "judged on")]
        judged_on: u64,
        bug: String,
        #[tabled(rename = "caused by")]
        cause: String,
    }
    #[derive(Tabled)]
    struct SwitchRow {
        flaw: String,
        bugs: u64,
        #[tabled(rename = "in the causes of")]
        any: String,
        #[tabled(rename = "fixes every bug of")]
        all: String,
    }
    let mut out = String::from("\ncauses (each bug attributed on its smallest failing seed, on the same decisions):\n");
    let rows: Vec<CauseRow> = triage
        .bugs
        .iter()
        .map(|b| CauseRow {
            seeds: b.seeds,
            judged_on: b.judged_on,
            bug: b.fingerprint.clone(),
            cause: match &b.attribution {
                crate::harness::attribute::Attribution::Caused { causes, .. } => causes.join(" + "),
                crate::harness::attribute::Attribution::NotAttributed { why } => format!("could not attribute: {why}"),
            },
        })
        .collect();
    out.push_str(&rounded(Table::new(rows)));
    out.push('\n');
    if triage.bugs_not_judged > 0 {
        out.push_str(&format!(
            "({} not judged: only the {} seen on most seeds are)\n",
            count(triage.bugs_not_judged, "bug", "bugs"),
            triage.bugs.len()
        ));
    }
    if triage.switches.is_empty() {
        return out;
    }
    let seeds = |n: u64| format!("{n} of {}", triage.failing);
    let rows: Vec<SwitchRow> = triage
        .switches
        .iter()
        .map(|s| SwitchRow { flaw: s.switch.clone(), bugs: s.bugs, any: seeds(s.in_cause_of), all: seeds(s.fixes_every_bug_of) })
        .collect();
    out.push_str(&rounded(Table::new(rows)));
    out.push('\n');
    let first = &triage.switches[0];
    out.push_str(&format!(
        "fix {} first: it is in the causes of {} of {} failing seeds, and fixes every bug of {} of them\n",
        first.switch, first.in_cause_of, triage.failing, first.fixes_every_bug_of
    ));
    out
}
