//! JUnit XML for CI: `explore --junit` (one test case per invariant of the scenario)
//! and `selftest --junit` (one per flaw and one per hardened scenario). Failures carry
//! the seeds and the command that replays them.

use crate::harness::explore::ExploreSummary;
use crate::report::{replay_command, Overrides};
use crate::ticketing::selftest::SelftestReport;
use std::fmt::Write;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

struct Case {
    name: String,
    failure: Option<(String, String)>,
    seconds: f64,
}

/// The suite; a partial one (stopped by Ctrl-C) says so in a property.
fn suite(name: &str, cases: &[Case], seconds: f64, partial: bool) -> String {
    let failures = cases.iter().filter(|c| c.failure.is_some()).count();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(xml, r#"<testsuites name="ticketsim" tests="{}" failures="{failures}" time="{seconds:.3}">"#, cases.len());
    let _ = writeln!(
        xml,
        r#"  <testsuite name="{}" tests="{}" failures="{failures}" errors="0" skipped="0" time="{seconds:.3}">"#,
        escape(name),
        cases.len()
    );
    if partial {
        xml.push_str("    <properties>\n      <property name=\"partial\" value=\"true: interrupted before every seed ran\"/>\n    </properties>\n");
    }
    for case in cases {
        let _ = write!(xml, r#"    <testcase classname="{}" name="{}" time="{:.3}""#, escape(name), escape(&case.name), case.seconds);
        match &case.failure {
            None => xml.push_str("/>\n"),
            Some((message, body)) => {
                let _ = writeln!(
                    xml,
                    ">\n      <failure message=\"{}\" type=\"invariant-violated\">{}</failure>\n    </testcase>",
                    escape(message),
                    escape(body)
                );
            }
        }
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

/// A sweep as a test suite: one case per invariant, failed with its seeds and replay commands.
pub fn explore_xml(scenario: &str, path: &str, summary: &ExploreSummary, overrides: &Overrides) -> String {
    let mut names: Vec<String> = crate::ticketing::invariants::names().into_iter().map(String::from).collect();
    names.extend(crate::harness::run::HARNESS_FINDINGS.iter().map(|n| n.to_string()));
    let cases: Vec<Case> = names
        .into_iter()
        .map(|invariant| {
            let failure = summary.by_invariant.get(&invariant).map(|seeds| {
                let count = summary.counts.get(&invariant).copied().unwrap_or(seeds.len() as u64);
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
                            replay_command(path, s.seed, overrides)
                        )
                    })
                    .collect();
                (message, body.join("\n"))
            });
            Case { name: invariant, failure, seconds: 0.0 }
        })
        .collect();
    suite(scenario, &cases, summary.wall.as_secs_f64(), summary.partial)
}

/// The selftest as a test suite: one case per flaw and per hardened scenario.
pub fn selftest_xml(report: &SelftestReport) -> String {
    let mut cases: Vec<Case> = report
        .flaws
        .iter()
        .map(|f| Case {
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
        name: format!("hardened {} is clean", h.scenario),
        failure: (h.failing_seeds > 0).then(|| {
            (
                format!("hardened {} violated {} on {} of {} seeds", h.scenario, h.violated.join(", "), h.failing_seeds, h.seeds),
                format!("explore: ticketsim explore {} --preset hardened --seeds 0..{}", h.scenario, h.seeds),
            )
        }),
        seconds: h.wall_seconds,
    }));
    suite("selftest", &cases, report.wall_seconds, report.partial)
}
