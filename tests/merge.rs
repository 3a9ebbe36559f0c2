//! A sweep split over machines and merged back is the sweep one machine runs: `explore
//! --partition M/N` on every partition, then `ticketsim merge`, gives the same counts,
//! failing seeds, bugs and JUnit cases as `explore` over the whole range. Reports that
//! do not fit together are refused with exit 2.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ticketsim(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ticketsim"));
    command
        .args(args)
        .env_remove("TICKETSIM_PARTITION")
        .env_remove("TICKETSIM_PARTITION_INDEX")
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("SLURM_ARRAY_TASK_MIN");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ticketsim-merge-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs one partition, writes its JSON report to `dir`, returns the path.
fn partition(dir: &Path, scenario: &str, seeds: &str, partition: &str, extra: &[&str]) -> String {
    let file = dir.join(format!("{}-{}-{}{}.json", scenario, seeds, partition.replace([':', '/'], "_"), extra.join("")));
    let mut args = vec!["explore", scenario, "--seeds", seeds, "--partition", partition, "--format", "json", "--quiet", "--jobs", "2"];
    args.extend_from_slice(extra);
    let out = ticketsim(&args, &[]);
    assert!(out.status.code().is_some_and(|c| c <= 1), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(&file, &out.stdout).unwrap();
    file.to_str().unwrap().to_string()
}

/// The report without what depends on the machine or on how it was split.
fn comparable(mut report: Value) -> Value {
    let object = report.as_object_mut().unwrap();
    for timing in ["wall_seconds", "check_seconds", "merged_from", "partition"] {
        object.remove(timing);
    }
    report
}

/// JUnit without timings.
fn junit_cases(xml: &str) -> String {
    strip_attribute(xml, " time=\"")
}

/// `text` with every `attribute` (written up to its opening quote) and its value removed.
fn strip_attribute(text: &str, attribute: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(attribute) {
        out.push_str(&rest[..at]);
        let after = &rest[at + attribute.len()..];
        rest = &after[after.find('"').unwrap() + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn a_sweep_split_into_partitions_and_merged_equals_the_single_machine_sweep() {
    let dir = dir("equal");
    let whole_junit = dir.join("whole.xml");
    let out = ticketsim(
        &["explore", "full-system", "--seeds", "0..240", "--format", "json", "--quiet", "--junit", whole_junit.to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let whole: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        whole["failing"].as_u64().unwrap() > 0 && whole["bugs"].as_array().unwrap().len() > 3,
        "a sweep with several bugs, or the comparison proves little"
    );
    for (kind, n) in [("hash", 3), ("range", 4), ("count", 2)] {
        let parts: Vec<String> = (1..=n).map(|m| partition(&dir, "full-system", "0..240", &format!("{kind}:{m}/{n}"), &[])).collect();
        let runs: Vec<u64> = parts
            .iter()
            .map(|p| serde_json::from_str::<Value>(&std::fs::read_to_string(p).unwrap()).unwrap()["seeds_run"].as_u64().unwrap())
            .collect();
        assert_eq!(runs.iter().sum::<u64>(), 240, "{kind}: partitions cover the range: {runs:?}");
        assert!(runs.iter().all(|&r| r > 0 && r < 240), "{kind}: each partition runs a part: {runs:?}");
        let merged_junit = dir.join(format!("merged-{kind}.xml"));
        let mut args = vec!["merge"];
        args.extend(parts.iter().map(String::as_str));
        args.extend(["--format", "json", "--junit", merged_junit.to_str().unwrap()]);
        let out = ticketsim(&args, &[]);
        assert_eq!(out.status.code(), Some(1), "{kind}: failing seeds exit 1: {}", String::from_utf8_lossy(&out.stderr));
        let merged: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(merged["merged_from"], n);
        assert_eq!(comparable(merged), comparable(whole.clone()), "{kind}: merged report differs from the single-machine sweep");
        assert_eq!(
            junit_cases(&std::fs::read_to_string(&merged_junit).unwrap()),
            junit_cases(&std::fs::read_to_string(&whole_junit).unwrap()),
            "{kind}: JUnit differs"
        );
    }
    // The text summary of a merge names what it merged.
    let parts: Vec<String> = (1..=2).map(|m| partition(&dir, "full-system", "0..240", &format!("count:{m}/2"), &[])).collect();
    let out = ticketsim(&["merge", &parts[0], &parts[1]], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("merged 2 reports of full-system 0..240\n240 seeds run"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_clean_merge_exits_0() {
    let dir = dir("clean");
    let parts: Vec<String> =
        (1..=2).map(|m| partition(&dir, "order-race", "0..30", &format!("hash:{m}/2"), &["--preset", "hardened"])).collect();
    let out = ticketsim(&["merge", &parts[0], &parts[1]], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("30 seeds run (0 failing)"));
    let _ = std::fs::remove_dir_all(&dir);
}

fn refused(args: &[String], expect: &str) {
    let out = ticketsim(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?} must be refused: {stderr}{}", String::from_utf8_lossy(&out.stdout));
    assert!(stderr.contains(expect), "{args:?}: expected {expect:?} in {stderr}");
    assert!(out.stdout.is_empty(), "a refused merge prints no report");
}

fn edited(dir: &Path, from: &str, name: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut report: Value = serde_json::from_str(&std::fs::read_to_string(from).unwrap()).unwrap();
    edit(&mut report);
    let file = dir.join(name);
    std::fs::write(&file, report.to_string()).unwrap();
    file.to_str().unwrap().to_string()
}

#[test]
fn reports_that_do_not_cover_the_range_exactly_once_or_do_not_belong_together_are_refused() {
    let dir = dir("refuse");
    let p = |part: &str| partition(&dir, "order-race", "0..30", part, &[]);
    let (a, b, c) = (p("hash:1/3"), p("hash:2/3"), p("hash:3/3"));
    let m = |files: &[&String]| std::iter::once("merge".to_string()).chain(files.iter().map(|f| f.to_string())).collect::<Vec<_>>();
    // Sanity: the three together merge.
    assert_eq!(ticketsim(&m(&[&a, &b, &c]).iter().map(String::as_str).collect::<Vec<_>>(), &[]).status.code(), Some(1));
    refused(&m(&[&a, &b]), "partitions 3 of 3 are missing");
    refused(&m(&[&a, &b, &b, &c]), "partition hash:2/3 is given twice");
    let other_scenario = partition(&dir, "tickets-orders", "0..30", "hash:3/3", &[]);
    refused(&m(&[&a, &b, &other_scenario]), "scenario");
    let other_flaws = partition(&dir, "order-race", "0..30", "hash:3/3", &["--preset", "hardened"]);
    refused(&m(&[&a, &b, &other_flaws]), "flaws");
    let other_range = partition(&dir, "order-race", "0..31", "hash:3/3", &[]);
    refused(&m(&[&a, &b, &other_range]), "seed range");
    let other_kind = partition(&dir, "order-race", "0..30", "range:3/3", &[]);
    refused(&m(&[&a, &b, &other_kind]), "partition");
    let other_build = edited(&dir, &c, "build.json", |r| r["build"] = "0.0.9+0123456789ab".into());
    refused(&m(&[&a, &b, &other_build]), "build");
    let other_strategy = edited(&dir, &c, "strategy.json", |r| r["strategy"] = "swarm".into());
    refused(&m(&[&a, &b, &other_strategy]), "strategy");
    let partial = edited(&dir, &c, "partial.json", |r| r["partial"] = true.into());
    refused(&m(&[&a, &b, &partial]), "partial");
    let whole = edited(&dir, &c, "whole.json", |r| r["partition"] = Value::Null);
    refused(&m(&[&a, &whole]), "partition");
    let run = dir.join("run.json");
    std::fs::write(&run, ticketsim(&["run", "order-race", "--format", "json"], &[]).stdout).unwrap();
    refused(&m(&[&a, &run.to_str().unwrap().to_string()]), "not an explore report");
    let garbage = dir.join("garbage.json");
    std::fs::write(&garbage, "{ not json").unwrap();
    refused(&m(&[&a, &garbage.to_str().unwrap().to_string()]), "not JSON");
    refused(&m(&[&a, &dir.join("absent.json").to_str().unwrap().to_string()]), "absent.json");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn batch_systems_pass_the_partition_through_the_environment() {
    let run = |env: &[(&str, &str)], partition: &str| {
        let out = ticketsim(&["explore", "order-race", "--seeds", "0..12", "--partition", partition, "--format", "json", "--quiet"], env);
        assert!(out.status.code().is_some_and(|c| c <= 1), "{env:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["partition"].clone()
    };
    // A Kubernetes Indexed Job counts from 0; a Slurm array as the user wrote it (here 1..N).
    assert_eq!(run(&[("JOB_COMPLETION_INDEX", "0")], "hash:auto/3")["index"], 1);
    assert_eq!(run(&[("JOB_COMPLETION_INDEX", "2")], "auto/3")["index"], 3);
    assert_eq!(run(&[("SLURM_ARRAY_TASK_ID", "2")], "range:auto/3")["index"], 2);
    assert_eq!(run(&[("SLURM_ARRAY_TASK_ID", "0"), ("SLURM_ARRAY_TASK_MIN", "0")], "range:auto/3")["index"], 1);
    assert_eq!(run(&[("SLURM_ARRAY_TASK_ID", "12"), ("SLURM_ARRAY_TASK_MIN", "10")], "range:auto/3")["index"], 3);
    assert_eq!(run(&[("TICKETSIM_PARTITION_INDEX", "3"), ("JOB_COMPLETION_INDEX", "0")], "count:auto/3")["index"], 3);
    // The whole flag from the environment (a GitHub Actions matrix sets it per job).
    let out =
        ticketsim(&["explore", "order-race", "--seeds", "0..12", "--format", "json", "--quiet"], &[("TICKETSIM_PARTITION", "hash:2/4")]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["partition"], serde_json::json!({"kind": "hash", "index": 2, "count": 4}));
    // Without an index, or out of range: exit 2 with what to set.
    let out = ticketsim(&["explore", "order-race", "--seeds", "0..12", "--partition", "hash:auto/3"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("JOB_COMPLETION_INDEX"));
    let out = ticketsim(&["explore", "order-race", "--seeds", "0..12", "--partition", "hash:auto/3"], &[("JOB_COMPLETION_INDEX", "3")]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let out = ticketsim(&["explore", "order-race", "--seeds", "random:12", "--partition", "1/3"], &[]);
    assert_eq!(out.status.code(), Some(2), "a random start differs per machine: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("same --seeds A..B"));
    let out = ticketsim(&["explore", "order-race", "--seeds", "0..12", "--partition", "0/3"], &[]);
    assert_eq!(out.status.code(), Some(2), "partitions count from 1: {}", String::from_utf8_lossy(&out.stderr));
}
