//! JUnit XML for CI: `explore --junit` (one test case per invariant of the scenario)
//! and `selftest --junit` (one per flaw and one per hardened scenario). Failures carry
//! the seeds and the command that replays them.

use crate::harness::explore::ExploreSummary;
use crate::report::replay_command;
use crate::ticketing::selftest::SelftestReport;
use std::fmt::Write;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

/// One test case: passed, failed (message and body) or skipped (why).
struct Case {
    class: String,
    name: String,
    failure: Option<(String, String)>,
    skipped: Option<String>,
    seconds: f64,
}

/// The suite, with its properties (what was run); a partial one (stopped by Ctrl-C or
/// a termination signal) says so in a property.
fn suite(name: &str, cases: &[Case], seconds: f64, partial: bool, properties: &[(&str, String)]) -> String {
    let failures = cases.iter().filter(|c| c.failure.is_some()).count();
    let skipped = cases.iter().filter(|c| c.skipped.is_some()).count();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        r#"<testsuites name="ticketsim" tests="{}" failures="{failures}" skipped="{skipped}" time="{seconds:.3}">"#,
        cases.len()
    );
    let _ = writeln!(
        xml,
        r#"  <testsuite name="{}" tests="{}" failures="{failures}" errors="0" skipped="{skipped}" time="{seconds:.3}">"#,
        escape(name),
        cases.len()
    );
    let partial = partial.then(|| ("partial", "true: interrupted before every seed ran".to_string()));
    let properties: Vec<&(&str, String)> = properties.iter().chain(partial.as_ref()).collect();
    if !properties.is_empty() {
        xml.push_str("    <properties>\n");
        for (name, value) in properties {
            let _ = writeln!(xml, r#"      <property name="{}" value="{}"/>"#, escape(name), escape(value));
        }
        xml.push_str("    </properties>\n");
    }
    for case in cases {
        let _ =
            write!(xml, r#"    <testcase classname="{}" name="{}" time="{:.6}""#, escape(&case.class), escape(&case.name), case.seconds);
        match (&case.failure, &case.skipped) {
            (Some((message, body)), _) => {
                let _ = writeln!(
                    xml,
                    ">\n      <failure message=\"{}\" type=\"invariant-violated\">{}</failure>\n    </testcase>",
                    escape(message),
                    escape(body)
                );
            }
            (None, Some(why)) => {
                let _ = writeln!(xml, ">\n      <skipped message=\"{}\"/>\n    </testcase>", escape(why));
            }
            (None, None) => xml.push_str("/>\n"),
        }
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

/// A sweep as a test suite: one case per invariant (failed with its seeds and replay
/// commands, skipped when it cannot apply to the scenario), then one failed case per
/// distinct bug (fingerprint) with its explanation and replay command. Times are the
/// wall-clock time spent judging each invariant over the sweep.
pub fn explore_xml<S: crate::harness::System>(info: &crate::report::json::SweepInfo, summary: &ExploreSummary) -> String {
    let (path, overrides, name) = (info.scenario_path.as_str(), &info.overrides, info.scenario.as_str());
    let names = S::invariants().iter().map(|i| i.name).chain(crate::harness::run::HARNESS_FINDINGS.iter().copied());
    let mut cases: Vec<Case> = names
        .map(|invariant| {
            let failure = summary.by_invariant.get(invariant).map(|seeds| {
                let count = summary.counts.get(invariant).copied().unwrap_or(seeds.len() as u64);
                let message = format!(
                    "{invariant} violated on {count} of {} seeds; first seed {}: {}",
                    summary.seeds_run, seeds[0].seed, seeds[0].explanation
                );
                let body: Vec<String> = seeds
                    .iter()
                    .take(20)
                    .map(|s| {
                        format!(
                            "seed {} at {}: {}\n  replay: {}",
                            s.seed,
                            crate::harness::fmt_time(s.time),
                            s.explanation,
                            replay_command(path, s.seed, &s.branch, overrides)
                        )
                    })
                    .collect();
                (message, body.join("\n"))
            });
            let seconds = summary.check_times.get(invariant).map_or(0.0, |d| d.as_secs_f64());
            let unjudged = (invariant == crate::harness::run::LIVENESS_NOT_JUDGED && summary.liveness_not_judged > 0).then(|| {
                format!(
                    "liveness not judged on {} of {} seeds (counted, not failed: --require-judged, the default under CI=true, fails them)",
                    summary.liveness_not_judged, summary.seeds_run
                )
            });
            let skipped = if failure.is_none() { info.not_applicable.get(invariant).cloned().or(unjudged) } else { None };
            Case { class: format!("{name}.invariants"), name: invariant.to_string(), failure, skipped, seconds }
        })
        .collect();
    cases.extend(summary.groups.values().map(|g| {
        let replay = replay_command(path, g.smallest.seed, &g.smallest.branch, overrides);
        let message = format!(
            "{} on {} (smallest seed {}): {}",
            g.invariant,
            crate::report::style::count(g.seeds, "seed", "seeds"),
            g.smallest.seed,
            g.smallest.explanation
        );
        let cause = summary.triage.as_ref().and_then(|t| t.bugs.iter().find(|b| b.fingerprint == g.fingerprint));
        let cause =
            cause.map_or("causes: not judged".to_string(), |b| format!("{} (judged on seed {})", b.attribution.line(), b.judged_on));
        let body = format!(
            "fingerprint: {}\nseed {} at {}: {}\n{cause}\nreplay: {replay}",
            g.fingerprint,
            g.smallest.seed,
            crate::harness::fmt_time(g.smallest.time),
            g.smallest.explanation
        );
        Case {
            class: format!("{name}.bugs"),
            name: format!("{}: {}", g.invariant, g.fingerprint),
            failure: Some((message, body)),
            skipped: None,
            seconds: 0.0,
        }
    }));
    let properties = properties(info, summary);
    let properties: Vec<(&str, String)> = properties.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    suite(name, &cases, summary.wall.as_secs_f64(), summary.partial, &properties)
}

/// A sweep suite's properties: what was run, what was left unjudged, the causes.
fn properties(info: &crate::report::json::SweepInfo, summary: &ExploreSummary) -> Vec<(String, String)> {
    let mut properties: Vec<(String, String)> = vec![
        ("build".into(), info.build.clone()),
        ("strategy".into(), info.strategy.clone()),
        ("seeds".into(), format!("{}..{}", info.seed_range.start, info.seed_range.end)),
        ("flaws".into(), info.flaws.join(", ")),
        ("require_judged".into(), info.require_judged.to_string()),
        ("liveness_not_judged".into(), summary.liveness_not_judged.to_string()),
    ];
    let e = summary.expectations;
    if !e.is_empty() {
        for (k, v) in [("judged", e.judged), ("passed", e.passed), ("failed", e.failed), ("not_judged", e.not_judged)] {
            properties.push((format!("expectations_{k}"), v.to_string()));
        }
    }
    if let Some(p) = info.partition {
        properties.push(("partition".into(), p.to_string()));
    }
    for s in summary.triage.iter().flat_map(|t| &t.switches) {
        let explains =
            format!("in the causes of {} of {} failing seeds; fixes every bug of {}", s.in_cause_of, summary.failing, s.fixes_every_bug_of);
        properties.push((format!("cause:{}", s.switch), explains));
    }
    properties
}

/// The selftest as a test suite: one case per flaw and per hardened scenario.
pub fn selftest_xml(report: &SelftestReport) -> String {
    let mut cases: Vec<Case> = report
        .flaws
        .iter()
        .map(|f| Case {
            class: "selftest.flaws".into(),
            skipped: None,
            name: format!("flaw {} caught by {} in {}", f.flaw, f.expected, f.scenario),
            failure: (!f.detected).then(|| {
                (
                    format!("{} was not caught by {} within the seed budget", f.flaw, f.expected),
                    format!("seeds to detection per trial: {:?}", f.seeds_to_detection),
                )
            }),
            seconds: f.wall_seconds,
        })
        .collect();
    cases.extend(report.hardened.iter().map(|h| Case {
        class: "selftest.hardened".into(),
        skipped: None,
        name: format!("hardened {} is clean", h.scenario),
        failure: (h.failing_seeds > 0).then(|| {
            (
                format!("hardened {} violated {} on {} of {} seeds", h.scenario, h.violated.join(", "), h.failing_seeds, h.seeds),
                format!("explore: ticketsim explore {} --preset hardened --seeds 0..{}", h.scenario, h.seeds),
            )
        }),
        seconds: h.wall_seconds,
    }));
    suite("selftest", &cases, report.wall_seconds, report.partial, &[])
}
