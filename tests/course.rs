//! The original app's test suites as scenarios (`scenarios/course/`): each passes on
//! the as-built preset and on hardened; their expectations bite (a wrong one fails,
//! naming the step, the field, the expected and the actual value); malformed scripted
//! steps are refused with the file, line and key.

use std::path::{Path, PathBuf};
use std::process::Command;
use ticketsim::harness::run::RunOptions;
use ticketsim::ticketing::flaws::Preset;
use ticketsim::ticketing::scenario::BrokerKindSetting;
use ticketsim::ticketing::Scenario;

fn course() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("scenarios/course").unwrap().map(|e| e.unwrap().path()).collect();
    files.retain(|p| p.extension().is_some_and(|x| x == "toml"));
    files.sort();
    files
}

fn violations(scenario: &Scenario) -> Vec<String> {
    let outcome = ticketsim::run_seed(scenario, 0, &RunOptions::default());
    outcome.violations.iter().map(|v| format!("{}: {}", v.invariant, v.explanation)).collect()
}

#[test]
fn every_course_scenario_passes_as_built_and_hardened_on_both_brokers() {
    let files = course();
    assert!(files.len() >= 4, "{files:?}");
    for file in files {
        for broker in [BrokerKindSetting::Streaming, BrokerKindSetting::Jetstream] {
            let mut scenario = Scenario::load(&file).unwrap();
            assert_eq!(scenario.preset, Preset::AsBuilt, "{}", file.display());
            scenario.broker.kind = broker;
            assert_eq!(violations(&scenario), Vec::<String>::new(), "{} as built on {broker:?}", file.display());
            scenario.preset = Preset::Hardened;
            assert_eq!(violations(&scenario), Vec::<String>::new(), "{} hardened on {broker:?}", file.display());
        }
    }
}

#[test]
fn a_wrong_expectation_fails_naming_the_step_the_field_and_both_values() {
    let text = std::fs::read_to_string("scenarios/course/tickets.toml").unwrap();
    let wrong = text.replacen(
        "body = { id = \"{T1}\", title = \"concert\", price = 20, userId = \"alice\", version = 0 }",
        "body = { id = \"{T1}\", title = \"concert\", price = 25, userId = \"alice\", version = 0 }",
        1,
    );
    assert_ne!(text, wrong);
    let found = violations(&Scenario::parse("wrong.toml", &wrong).unwrap());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0], "scripted-expectations: step 8 (T1: alice POST /api/tickets at 4s): body.price: expected 25, got 20");
    let no_ack = text.replacen("acked_by = [\"tickets-service\"]", "not_acked_by = [\"tickets-service\"]", 1);
    let found = violations(&Scenario::parse("no-ack.toml", &no_ack).unwrap());
    assert!(found.iter().any(|v| v.contains("expected tickets-service not to ack order:created/")), "{found:?}");
}

#[test]
fn malformed_scripted_steps_exit_2_naming_file_line_and_key() {
    let dir = std::env::temp_dir().join(format!("ticketsim-course-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let head = "name = \"x\"\n[[workload.steps]]\nat = \"1s\"\nuser = \"u\"\n";
    let cases = [
        ("route.toml", format!("{head}request = \"GET /api/nothing\"\n"), ":5", "key `workload.steps[0].request`", "no service answers GET /api/nothing"),
        ("type.toml", format!("{head}request = \"GET /api/tickets\"\nexpect = {{ status = \"ok\" }}\n"), ":6", "key `workload.steps[0].expect.status`", "expected a whole number, got string \"ok\""),
        (
            "record.toml",
            "name = \"x\"\n[[expect_record]]\nat = \"1s\"\nstore = \"tickets\"\nkind = \"ticket\"\nid = \"{NOPE}\"\nfields = { version = 0 }\n".to_string(),
            ":6",
            "key `expect_record[0].id`",
            "{NOPE} is not named by an earlier step",
        ),
        ("kind.toml", format!("{head}op = \"create-ticket\"\nrequest = \"POST /api/tickets\"\n"), ":6", "key `workload.steps[0].request`", "exactly one of"),
        ("subject.toml", "name = \"x\"\n[[workload.steps]]\nat = \"1s\"\npublish = \"ticket:deleted\"\n".to_string(), ":4", "key `workload.steps[0].publish`", "unknown subject"),
        ("session.toml", format!("{head}signed_out = true\nrequest = \"GET /api/tickets\"\n"), ":4", "key `workload.steps[0].user`", "one of them"),
    ];
    for (file, text, line, key, message) in cases {
        let path = dir.join(file);
        std::fs::write(&path, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_ticketsim")).args(["run", path.to_str().unwrap()]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {err}");
        assert!(err.contains(&format!("{file}{line}")) && err.contains(key) && err.contains(message), "{file}: {err}");
    }
    assert!(Path::new(&dir).exists());
}

/// The examples of docs/scenarios.md's scripted-steps section, run together as one
/// scenario: each is valid, and what each expects holds.
#[test]
fn the_scripted_step_examples_in_the_docs_are_valid_and_hold() {
    let doc = std::fs::read_to_string("docs/scenarios.md").unwrap();
    let section = &doc[doc.find("## Scripted steps").unwrap()..doc.find("### From Rust").unwrap()];
    let blocks: Vec<&str> = section.split("```toml\n").skip(1).map(|b| &b[..b.find("```").unwrap()]).collect();
    assert!(blocks.len() >= 6, "{blocks:?}");
    let mut text = String::from(
        "name = \"docs\"\n[services]\npayments = 1\n[phases]\nduration = \"10s\"\nquiet = \"20s\"\n[network]\nuser_links = \"reliable\"\n",
    );
    for block in blocks.iter().filter(|b| b.starts_with('[')) {
        text.push_str(block);
    }
    let top: Vec<&str> = blocks.iter().copied().filter(|b| !b.starts_with('[')).collect();
    assert_eq!(top.len(), 1, "{top:?}");
    let scenario = Scenario::parse("docs/scenarios.md", &format!("{}{text}", top[0])).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(scenario.workload.steps.len() >= 8 && scenario.expect_record.len() == 2);
    for preset in [Preset::AsBuilt, Preset::Hardened] {
        let scenario = Scenario { preset, ..scenario.clone() };
        assert_eq!(violations(&scenario), Vec::<String>::new(), "{preset:?}");
    }
}
