//! The fuzz suite: the shipped scenarios mutated (bytes flipped or deleted, keys
//! duplicated, huge and negative numbers, odd durations, wrong types, deep nesting,
//! huge strings) and odd command lines, each run through the real binary. Every case
//! must exit 0, 1 or 2, never panic, say what is wrong on exit 2 (naming the file for a
//! scenario), keep its messages short, and write nothing outside the directories given.
//!
//! CI runs a fixed number of cases from a fixed seed. A long run (see docs/robustness.md):
//! `TICKETSIM_FUZZ_CASES=5000 TICKETSIM_FUZZ_SEED=7 cargo test --release --test fuzz`

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn cases(default: u32) -> u32 {
    std::env::var("TICKETSIM_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A deterministic runner: the same cases on every CI run unless asked otherwise.
fn runner(default_cases: u32) -> TestRunner {
    let seed: u64 = std::env::var("TICKETSIM_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(20261129);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases: cases(default_cases),
        failure_persistence: None,
        max_shrink_iters: 100,
        max_shrink_time: 120_000,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

fn shipped() -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for dir in ["scenarios", "scenarios/course"] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|x| x == "toml") {
                files.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

#[derive(Clone, Debug)]
enum Mutation {
    FlipByte(usize, u8),
    Delete(usize, usize),
    Truncate(usize),
    DuplicateLine(usize),
    Number(usize, &'static str),
    Duration(usize, &'static str),
    WrongType(usize, &'static str),
    Nest(usize, bool),
    LongString(usize),
}

const NUMBERS: &[&str] = &[
    "18446744073709551616",
    "18446744073709551615",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-1",
    "0",
    "1e308",
    "-1e308",
    "nan",
    "inf",
    "4294967296",
    "340282366920938463463374607431768211456",
    "0.0000001",
];
const DURATIONS: &[&str] = &[
    "\"1e400s\"",
    "\"18446744073709551616s\"",
    "\"18446744073709551615s\"",
    "\"307445734561825861m\"",
    "\"5124095576030431h\"",
    "\"-1s\"",
    "\"0.5m\"",
    "\"1.5.5s\"",
    "\"s\"",
    "\"99999999999999999999ms\"",
    "\"1000000000.1s\"",
    "\"NaNs\"",
    "\"infs\"",
    "\"18446744073709551615us\"",
    "\"0s\"",
    "\"1h\"",
    "[\"1ms\", \"2ms\", \"3ms\"]",
    "[\"5s\"]",
    "[]",
];
const WRONG: &[&str] = &["\"text\"", "12", "true", "[1, 2]", "{ a = 1 }", "[]", "1.5", "\"\"", "{}", "[[]]", "-7"];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::FlipByte(p, b)),
        (any::<usize>(), 1..200usize).prop_map(|(p, n)| Mutation::Delete(p, n)),
        any::<usize>().prop_map(Mutation::Truncate),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), proptest::sample::select(NUMBERS)).prop_map(|(i, n)| Mutation::Number(i, n)),
        (any::<usize>(), proptest::sample::select(DURATIONS)).prop_map(|(i, d)| Mutation::Duration(i, d)),
        (any::<usize>(), proptest::sample::select(WRONG)).prop_map(|(i, w)| Mutation::WrongType(i, w)),
        (1..5000usize, any::<bool>()).prop_map(|(d, table)| Mutation::Nest(d, table)),
        (1..300_000usize).prop_map(Mutation::LongString),
    ]
}

/// The byte offsets where a match of `is_start` begins a run of `is_part` bytes.
fn spans(text: &[u8], is_start: impl Fn(&[u8], usize) -> bool, is_part: impl Fn(u8) -> bool) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if is_start(text, i) {
            let mut j = i + 1;
            while j < text.len() && is_part(text[j]) {
                j += 1;
            }
            out.push((i, j));
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

fn replace_nth(text: &mut Vec<u8>, found: &[(usize, usize)], n: usize, with: &str) {
    if let Some(&(a, b)) = found.get(n % found.len().max(1)) {
        text.splice(a..b, with.bytes());
    }
}

fn apply(text: &mut Vec<u8>, m: &Mutation) {
    let len = text.len().max(1);
    match *m {
        Mutation::FlipByte(p, b) => {
            if !text.is_empty() {
                text[p % len] = b;
            }
        }
        Mutation::Delete(p, n) => {
            let a = p % len;
            text.drain(a..(a + n).min(text.len()));
        }
        Mutation::Truncate(p) => text.truncate(p % len),
        Mutation::DuplicateLine(n) => {
            let lines: Vec<Vec<u8>> = text.split(|b| *b == b'\n').map(|l| l.to_vec()).collect();
            let i = n % lines.len();
            let mut out = Vec::new();
            for (k, line) in lines.iter().enumerate() {
                out.extend_from_slice(line);
                out.push(b'\n');
                if k == i {
                    out.extend_from_slice(line);
                    out.push(b'\n');
                }
            }
            *text = out;
        }
        Mutation::Number(n, with) => {
            let numbers = spans(
                text,
                |t, i| t[i].is_ascii_digit() && (i == 0 || !t[i - 1].is_ascii_alphanumeric() && t[i - 1] != b'"'),
                |b| b.is_ascii_digit() || b == b'.',
            );
            replace_nth(text, &numbers, n, with);
        }
        Mutation::Duration(n, with) => {
            let quoted = spans(text, |t, i| t[i] == b'"' && t.get(i + 1).is_some_and(|c| c.is_ascii_digit()), |b| b != b'"');
            let quoted: Vec<(usize, usize)> = quoted.into_iter().map(|(a, b)| (a, (b + 1).min(text.len()))).collect();
            replace_nth(text, &quoted, n, with);
        }
        Mutation::WrongType(n, with) => {
            let values = spans(text, |t, i| i >= 2 && &t[i - 2..i] == b"= ", |b| b != b'\n');
            replace_nth(text, &values, n, with);
        }
        Mutation::Nest(depth, table) => {
            let (open, close) = if table { ("{ a = ", " }") } else { ("[", "]") };
            let nested = format!("x = {}1{}\n", open.repeat(depth), close.repeat(depth));
            let at = text.iter().position(|b| *b == b'[').unwrap_or(text.len());
            text.splice(at..at, nested.bytes());
        }
        Mutation::LongString(n) => {
            let long = "k".repeat(n);
            if n % 2 == 0 {
                text.extend_from_slice(format!("\n{long} = 1\n").as_bytes());
            } else {
                let names = spans(text, |t, i| t[i..].starts_with(b"name = \""), |b| b != b'\n');
                replace_nth(text, &names, 0, &format!("name = \"{long}\""));
            }
        }
    }
}

/// Runs the binary in `cwd`; fails the case if it runs longer than a minute (a hang).
/// Its output is read as it comes (a full pipe must not stall it).
fn ticketsim(args: &[&str], cwd: &Path) -> Result<(i32, String, String), TestCaseError> {
    let bin = env!("CARGO_BIN_EXE_ticketsim");
    let mut child = Command::new(bin).args(args).current_dir(cwd).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let read = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(TestCaseError::fail(format!("ticketsim {args:?} still running after a minute")));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ok((status.code().unwrap_or(-1), stdout.join().unwrap(), stderr.join().unwrap()))
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_in(&path));
        }
        found.push(path);
    }
    found.sort();
    found
}

/// A fresh directory: `input/` holds the case's files, `out/` is the only place it may
/// write to, and the working directory must stay empty.
struct Sandbox(PathBuf);

impl Sandbox {
    fn new(name: &str) -> Sandbox {
        let root = std::env::temp_dir().join(format!("ticketsim-fuzz-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for d in ["input", "out", "work"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        Sandbox(root)
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.0.join(sub)
    }

    /// Empties `sub` (the working directory, `out/`) before a case, so that nothing a
    /// case left there (a default output, or anything, when a case failed) is blamed on
    /// the next one.
    fn fresh(&self, sub: &str) -> PathBuf {
        let dir = self.path(sub);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Checks the common promises of a finished case. `defaults`: what the command may
    /// write into the working directory when no output flag names a place (`shrink`'s
    /// `repro-<scenario>-<seed>.toml`, `diagram`'s `diagram-<scenario>-<seed>/`), as
    /// the start of a path under it.
    fn check(&self, what: &str, (code, stdout, stderr): (i32, &str, &str), defaults: &[String]) -> Result<(), TestCaseError> {
        prop_assert!([0, 1, 2].contains(&code), "{what}: exit {code}\nstderr: {}", &stderr[..stderr.len().min(2000)]);
        prop_assert!(
            !stderr.contains("panicked at") && !stderr.contains("RUST_BACKTRACE"),
            "{what}: a panic\n{}",
            &stderr[..stderr.len().min(2000)]
        );
        if code == 2 {
            prop_assert!(stderr.starts_with("error"), "{what}: exit 2 without an error message: {stderr:?}");
            prop_assert!(stderr.len() < 20_000, "{what}: an error message of {} bytes", stderr.len());
        }
        prop_assert!(stdout.len() < 50_000_000, "{what}: {} bytes of output", stdout.len());
        let work = self.path("work");
        let stray: Vec<PathBuf> = files_in(&work)
            .into_iter()
            .filter(|p| !defaults.iter().any(|d| p.strip_prefix(&work).is_ok_and(|rel| rel.to_string_lossy().starts_with(d.as_str()))))
            .collect();
        prop_assert!(stray.is_empty(), "{what}: wrote into the working directory: {stray:?}");
        let outside: Vec<PathBuf> = files_in(&self.0)
            .into_iter()
            .filter(|p| !p.starts_with(self.path("input")) && !p.starts_with(self.path("out")) && !p.starts_with(self.path("work")))
            .collect();
        prop_assert!(outside.is_empty(), "{what}: wrote outside the directories given: {outside:?}");
        Ok(())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn mutated_scenarios_never_panic_and_exit_2_naming_the_file() {
    let files = shipped();
    let sandbox = Sandbox::new("scenarios");
    let strategy = (0..files.len(), proptest::collection::vec(mutation(), 1..4));
    let tally = std::cell::RefCell::new([0u32; 3]);
    let result = runner(120).run(&strategy, |(which, mutations)| {
        let (name, original) = &files[which];
        let mut text = original.clone();
        for m in &mutations {
            apply(&mut text, m);
        }
        let file = sandbox.path("input").join("case.toml");
        std::fs::write(&file, &text).unwrap();
        let args = ["run", file.to_str().unwrap(), "--format", "json"];
        let (code, stdout, stderr) = ticketsim(&args, &sandbox.fresh("work"))?;
        let what = format!("{name} with {mutations:?}");
        sandbox.check(&what, (code, &stdout, &stderr), &[])?;
        if code == 2 {
            prop_assert!(stderr.contains("case.toml"), "{what}: the error does not name the file: {stderr}");
        }
        tally.borrow_mut()[code as usize] += 1;
        Ok(())
    });
    result.unwrap();
    let tally = tally.into_inner();
    println!("mutated scenarios: {} exit 0, {} exit 1, {} exit 2", tally[0], tally[1], tally[2]);
    assert!(tally[2] > 0, "some mutations must be refused");
}

fn arg_value() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(
        &[
            "0",
            "1",
            "2",
            "-1",
            "5000",
            "18446744073709551615",
            "18446744073709551616",
            "9223372036854775808",
            "abc",
            "",
            "0..0",
            "5..1",
            "0..3",
            "18446744073709551613..18446744073709551615",
            "a..b",
            "1..",
            "..",
            "0/0",
            "3/2",
            "1/2",
            "15/20",
            "2.5s",
            "1e400s",
            "18446744073709551616s",
            "99999999999h",
            "-3s",
            "../escape",
            "/nonexistent/dir/file",
            "order-race",
            "no-such-scenario",
            "as-built",
            "hardened",
            "racy-reservation",
            "-racy-reservation",
            "nope",
        ][..],
    )
}

/// A case's command line: the command, the scenario (by path, or a name that is not
/// shipped), the flags drawn, outputs put under out/, and every sweep and shrink kept short.
fn command_line(sandbox: &Sandbox, command: &str, by_path: bool, pairs: &[(&str, &str)]) -> Vec<String> {
    let scenario = if by_path { sandbox.path("input/order-race.toml").display().to_string() } else { "no-such-scenario".into() };
    let mut args: Vec<String> = vec![command.to_string()];
    if command != "list" {
        args.push(scenario);
    }
    let mut explore_seeds = false;
    for (flag, value) in pairs {
        let value = match *flag {
            // Outputs only ever into out/ (what a user gives is where we may write).
            "--out" | "--junit" | "--save-failures" => sandbox.path("out").join(value.trim_start_matches(['/', '.'])).display().to_string(),
            _ => value.to_string(),
        };
        explore_seeds |= *flag == "--seeds";
        args.push(flag.to_string());
        args.push(value);
    }
    // Keep every case short: sweeps get a small range (a later --seeds wins), shrinks a small budget.
    match command {
        "explore" | "check-determinism" if !explore_seeds => args.extend(["--seeds".into(), "0..3".into()]),
        "shrink" => args.extend(["--budget".into(), "20".into()]),
        _ => {}
    }
    if args.iter().any(|a| a == "--seeds") && (command == "explore" || command == "check-determinism") {
        let i = args.iter().rposition(|a| a == "--seeds").unwrap();
        if let Some(range) = args.get(i + 1) {
            // A..B, or a count N (0..N): a long run found `--seeds 9223372036854775808` running for ever.
            let width = match range.split_once("..") {
                Some((a, b)) => (|| Some(b.parse::<u64>().ok()?.saturating_sub(a.parse::<u64>().ok()?)))(),
                None => range.parse::<u64>().ok(),
            };
            let wide = width.is_some_and(|n| n > 5);
            if wide {
                args[i + 1] = "0..3".into();
            }
        }
    }
    args
}

/// Odd command lines: a command, a scenario, and flags with odd values; outputs go to
/// `out/`, so nothing may appear anywhere else.
#[test]
fn odd_command_lines_never_panic() {
    let sandbox = Sandbox::new("cli");
    let root = std::fs::canonicalize(".").unwrap();
    std::fs::copy(root.join("scenarios/order-race.toml"), sandbox.path("input/order-race.toml")).unwrap();
    let commands = &["run", "explore", "replay", "shrink", "diagram", "check-determinism", "list", "bogus"][..];
    let flags = &[
        "--seed",
        "--seeds",
        "--jobs",
        "--shard",
        "--from",
        "--until",
        "--node",
        "--record",
        "--preset",
        "--flaw",
        "--budget",
        "--invariant",
        "--out",
        "--junit",
        "--save-failures",
        "--format",
    ][..];
    let strategy = (
        proptest::sample::select(commands),
        any::<bool>(),
        proptest::collection::vec((proptest::sample::select(flags), arg_value()), 0..4),
    );
    let tally = std::cell::RefCell::new([0u32; 3]);
    let result = runner(100).run(&strategy, |(command, by_path, pairs)| {
        let args = command_line(&sandbox, command, by_path, &pairs);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        sandbox.fresh("out");
        let (code, stdout, stderr) = ticketsim(&refs, &sandbox.fresh("work"))?;
        // With no --out, shrink and diagram write to their documented default names.
        let defaults = match command {
            "shrink" | "diagram" if !args.iter().any(|a| a == "--out") => {
                vec![format!("{}-order-race-", if command == "shrink" { "repro" } else { "diagram" })]
            }
            _ => Vec::new(),
        };
        sandbox.check(&format!("{args:?}"), (code, &stdout, &stderr), &defaults)?;
        tally.borrow_mut()[code as usize] += 1;
        Ok(())
    });
    result.unwrap();
    let tally = tally.into_inner();
    println!("odd command lines: {} exit 0, {} exit 1, {} exit 2", tally[0], tally[1], tally[2]);
    assert!(tally[2] > 0);
}
