//! Every `--format json` report matches docs/report.schema.json: its kind's shape, no
//! field left out of the schema, none missing. (A small validator for the subset of
//! JSON Schema the file uses: type, const, enum, properties, required,
//! additionalProperties, items, anyOf, $ref.)

use serde_json::Value;
use std::process::Command;

fn schema() -> Value {
    serde_json::from_str(&std::fs::read_to_string("docs/report.schema.json").unwrap()).unwrap()
}

fn type_ok(value: &Value, name: &str) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_u64() || value.is_i64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        other => panic!("schema uses type {other}"),
    }
}

fn check(root: &Value, rule: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
    if let Some(reference) = rule.get("$ref").and_then(Value::as_str) {
        let name = reference.trim_start_matches("#/$defs/");
        return check(root, &root["$defs"][name], value, at, problems);
    }
    if let Some(options) = rule.get("anyOf").and_then(Value::as_array) {
        if !options.iter().any(|o| {
            let mut p = Vec::new();
            check(root, o, value, at, &mut p);
            p.is_empty()
        }) {
            problems.push(format!("{at}: matches none of anyOf"));
        }
        return;
    }
    if let Some(expected) = rule.get("const") {
        if expected != value {
            problems.push(format!("{at}: expected {expected}, got {value}"));
        }
    }
    if let Some(allowed) = rule.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            problems.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
    }
    match rule.get("type") {
        Some(Value::String(t)) if !type_ok(value, t) => problems.push(format!("{at}: expected {t}, got {value}")),
        Some(Value::Array(ts)) if !ts.iter().any(|t| type_ok(value, t.as_str().unwrap())) => {
            problems.push(format!("{at}: expected one of {ts:?}, got {value}"))
        }
        _ => {}
    }
    if let (Some(fields), Some(object)) = (rule.get("properties").and_then(Value::as_object), value.as_object()) {
        for name in rule.get("required").and_then(Value::as_array).into_iter().flatten() {
            if !object.contains_key(name.as_str().unwrap()) {
                problems.push(format!("{at}: missing {name}"));
            }
        }
        for (key, item) in object {
            match fields.get(key) {
                Some(sub) => check(root, sub, item, &format!("{at}.{key}"), problems),
                None if rule.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    problems.push(format!("{at}: {key} is not in the schema"))
                }
                None => {}
            }
        }
    } else if let (Some(values), Some(object)) = (rule.get("additionalProperties").filter(|r| r.is_object()), value.as_object()) {
        for (key, item) in object {
            check(root, values, item, &format!("{at}.{key}"), problems);
        }
    }
    if let (Some(items), Some(array)) = (rule.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            check(root, items, item, &format!("{at}[{i}]"), problems);
        }
    }
}

fn report(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_ticketsim")).args(args).output().unwrap();
    assert!(out.status.code().is_some_and(|c| c <= 1), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// A report of every kind (some in more than one form), made in `dir`.
fn reports_of_every_kind(dir: &std::path::Path) -> Vec<Value> {
    let repro = dir.join("repro.toml");
    let corpus = dir.join("corpus");
    let mut parts = Vec::new();
    for m in 1..=2 {
        let part = dir.join(format!("part-{m}.json"));
        let value =
            report(&["explore", "order-race", "--seeds", "0..20", "--partition", &format!("hash:{m}/2"), "--format", "json", "--quiet"]);
        std::fs::write(&part, value.to_string()).unwrap();
        parts.push(part.to_str().unwrap().to_string());
    }
    vec![
        report(&["run", "order-race", "--format", "json"]),
        report(&["run", "walkthrough", "--format", "json"]),
        report(&["explore", "order-race", "--seeds", "0..40", "--format", "json", "--quiet", "--save-failures", corpus.to_str().unwrap()]),
        report(&["shrink", "order-race", "--seed", "1", "--budget", "200", "--out", repro.to_str().unwrap(), "--format", "json"]),
        report(&["check-determinism", "order-race", "--seeds", "0..2", "--plant-nondeterminism", "--quiet", "--format", "json"]),
        report(&["selftest", "--seeds", "3", "--trials", "1", "--hardened-seeds", "2", "--format", "json"]),
        report(&["run", corpus.to_str().unwrap(), "--format", "json"]),
        report(&["list", "--format", "json"]),
        report(&["merge", &parts[0], &parts[1], "--format", "json"]),
        report(&["hunt", "--bug", "double-reservation", "--strategy", "pct", "--trials", "1", "--budget", "20", "--format", "json"]),
        report(&[
            "hunt",
            "--bug",
            "double-reservation",
            "--strategy",
            "pct",
            "--trials",
            "1",
            "--budget",
            "20",
            "--count",
            "--format",
            "json",
        ]),
        report(&["explore", "order-race", "--seeds", "0..100", "--strategy", "coverage", "--format", "json", "--quiet"]),
        report(&["run", "order-race", "--seed", "6", "--preset", "as-built", "--fix", "racy-reservation", "--format", "json"]),
        report(&["explain", "order-race", "--seed", "6", "--preset", "as-built", "--format", "json"]),
        report(&["diff", "order-race", "--seed", "6", "--preset", "as-built", "--fix", "racy-reservation", "--format", "json"]),
        report(&["check-determinism", "order-race", "--seeds", "0..3", "--ties", "--quiet", "--format", "json"]),
        report(&["check", "course/expiration", "--exhaustive", "--format", "json"]),
        report(&[
            "check",
            "walkthrough",
            "--exhaustive",
            "--preset",
            "as-built",
            "--max-faults",
            "1",
            "--crash-points",
            "own-steps",
            "--save",
            dir.join("check.toml").to_str().unwrap(),
            "--format",
            "json",
        ]),
    ]
}

#[test]
fn every_json_report_matches_the_documented_schema() {
    let root = schema();
    let dir = std::env::temp_dir().join(format!("ticketsim-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let reports = reports_of_every_kind(&dir);
    let mut kinds = Vec::new();
    for value in &reports {
        assert_eq!(value["schema_version"], 1);
        let kind = value["kind"].as_str().unwrap().to_string();
        let mut problems = Vec::new();
        check(&root, &root["$defs"][&kind], value, &kind, &mut problems);
        assert!(problems.is_empty(), "{kind}: {problems:#?}");
        kinds.push(kind);
    }
    kinds.sort();
    kinds.dedup();
    let documented: Vec<String> =
        root["oneOf"].as_array().unwrap().iter().map(|r| r["$ref"].as_str().unwrap().trim_start_matches("#/$defs/").to_string()).collect();
    let mut documented_sorted = documented.clone();
    documented_sorted.sort();
    assert_eq!(kinds, documented_sorted, "every kind is tested and documented");
    // The validator bites: a renamed field is refused.
    let mut renamed = reports[0].clone();
    let time = renamed.as_object_mut().unwrap().remove("virtual_time").unwrap();
    renamed["time"] = time;
    let mut problems = Vec::new();
    check(&root, &root["$defs"]["run"], &renamed, "run", &mut problems);
    assert!(
        problems.iter().any(|p| p.contains("time is not in the schema")) && problems.iter().any(|p| p.contains("missing \"virtual_time\"")),
        "{problems:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
