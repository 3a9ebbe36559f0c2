//! The commands shown in README.md and docs/ are run, so the docs cannot drift from the
//! tool (as ripgrep and the Rust book keep their examples honest). In a fenced block, a
//! line `$ ticketsim ARGS` (or `$ shop ARGS`, the second app of examples/shop.rs) is run and the lines after it (to the next `$` line) are
//! output it must print: each must appear in its stdout, except `...` (output left
//! out) and lines with `wall` (wall-clock timings). In a ```sh block, a line
//! `ticketsim ARGS` is run too, its output not checked. Usage synopses sit in ```text
//! blocks and are not run. A command ending in `> FILE` writes its stdout to FILE. Every
//! file's commands run in order in a fresh directory (so a file can shrink to a file, then
//! run it, or write partition reports, then merge them), with the terminal 100 columns wide.
//! A command exits 0 unless its line's comment says `exits N`: the exit code is checked
//! as documented, so a command the docs show passing cannot quietly fail.

use std::path::{Path, PathBuf};
use std::process::Command;

struct Example {
    /// `ticketsim`, or `shop` (the second app's binary, `examples/shop.rs`).
    program: &'static str,
    file: String,
    line: usize,
    args: Vec<String>,
    /// `> FILE`: where stdout goes.
    redirect: Option<String>,
    /// The exit code the docs say (`# exits 1`), else 0.
    code: i32,
    expected: Vec<String>,
}

/// Words of a command line: split on spaces, single or double quotes group, `#` ends it.
fn words(line: &str) -> Vec<String> {
    let (mut out, mut word, mut quote, mut any) = (Vec::new(), String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (None, '#') if word.is_empty() => break,
            (None, ' ') => {
                if any {
                    out.push(std::mem::take(&mut word));
                }
                any = false;
            }
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (Some(q), c) if c == q => quote = None,
            (_, c) => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(word);
    }
    out
}

fn examples(path: &Path) -> Vec<Example> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut found: Vec<Example> = Vec::new();
    let mut fence: Option<String> = None;
    let mut current: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        if let Some(lang) = line.trim_start().strip_prefix("```") {
            fence = if fence.is_some() { None } else { Some(lang.trim().to_string()) };
            current = None;
            continue;
        }
        let Some(lang) = &fence else { continue };
        if lang == "text" || lang == "toml" || lang == "rust" || lang == "xml" || lang == "json" {
            continue;
        }
        let command = line.strip_prefix("$ ").or_else(|| (lang == "sh").then_some(line).filter(|l| l.starts_with("ticketsim ")));
        match command {
            Some(command) if command.starts_with("ticketsim ") || command.starts_with("shop ") => {
                let program = if command.starts_with("shop ") { "shop" } else { "ticketsim" };
                let mut args = words(command)[1..].to_vec();
                let redirect = match args.as_slice() {
                    [.., arrow, file] if arrow == ">" => Some(file.clone()),
                    _ => None,
                };
                if redirect.is_some() {
                    args.truncate(args.len() - 2);
                }
                let code = command.split_once('#').map_or(0, |(_, comment)| documented_code(comment));
                found.push(Example { program, file: path.display().to_string(), line: i + 1, args, redirect, code, expected: Vec::new() });
                current = line.starts_with("$ ").then(|| found.len() - 1);
            }
            Some(_) => current = None,
            None => {
                if let Some(k) = current {
                    found[k].expected.push(line.to_string());
                }
            }
        }
    }
    found
}

/// The exit code a command's comment documents: `exits N` anywhere in it, else 0.
fn documented_code(comment: &str) -> i32 {
    let words: Vec<&str> = comment.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect();
    words.windows(2).find(|w| w[0] == "exits").and_then(|w| w[1].parse().ok()).unwrap_or(0)
}

fn normalized(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn documents() -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from("README.md")];
    let mut docs: Vec<PathBuf> =
        std::fs::read_dir("docs").unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "md")).collect();
    docs.sort();
    files.extend(docs);
    files
}

/// Where a documented program is built: `cargo test` builds the examples beside the binaries.
fn binary(program: &str) -> PathBuf {
    let ticketsim = PathBuf::from(env!("CARGO_BIN_EXE_ticketsim"));
    match program {
        "ticketsim" => ticketsim,
        other => ticketsim.parent().unwrap().join("examples").join(format!("{other}{}", std::env::consts::EXE_SUFFIX)),
    }
}

#[test]
fn every_command_in_the_docs_runs_and_prints_what_they_show() {
    let mut problems = Vec::new();
    let mut ran = 0;
    for doc in documents() {
        let examples = examples(&doc);
        if examples.is_empty() {
            continue;
        }
        let dir =
            std::env::temp_dir().join(format!("ticketsim-docs-{}-{}", std::process::id(), doc.file_stem().unwrap().to_string_lossy()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for example in examples {
            let program = binary(example.program);
            let out =
                Command::new(&program).args(&example.args).current_dir(&dir).env("COLUMNS", "100").env("NO_COLOR", "1").output().unwrap();
            ran += 1;
            let at = format!("{}:{} `{} {}`", example.file, example.line, example.program, example.args.join(" "));
            let code = out.status.code().unwrap_or(-1);
            let stdout = String::from_utf8_lossy(&out.stdout).replace(program.to_str().unwrap(), example.program);
            if let Some(file) = &example.redirect {
                std::fs::write(dir.join(file), &out.stdout).unwrap();
            }
            if code != example.code {
                let said = if example.code == 0 { "nothing (so 0)".to_string() } else { example.code.to_string() };
                problems.push(format!("{at}: exit {code}, the docs say {said}: {}", String::from_utf8_lossy(&out.stderr)));
                continue;
            }
            let printed = normalized(&stdout);
            for line in example.expected.iter().filter(|l| !l.trim().is_empty() && l.trim() != "..." && !l.contains("wall")) {
                if !printed.contains(&normalized(line)) {
                    problems.push(format!("{at}: does not print\n    {line}"));
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(ran >= 10, "only {ran} commands found in the docs");
    assert!(problems.is_empty(), "{} of the docs' commands drifted:\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn the_command_line_splitter_groups_quotes_and_drops_comments() {
    assert_eq!(words("ticketsim run 'a b' --x \"c d\"   # comment"), ["ticketsim", "run", "a b", "--x", "c d"]);
    assert_eq!(words("ticketsim list"), ["ticketsim", "list"]);
    assert_eq!(documented_code(" exits 1: a double reservation"), 1);
    assert_eq!(documented_code(" the same run, fixed"), 0);
}

/// The commands `ticketsim --help` lists (all but `help`).
fn commands() -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_ticketsim")).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    let listed = help.split("Commands:").nth(1).unwrap_or_default().split("Options:").next().unwrap_or_default().to_string();
    // A command's line starts two spaces in; a description wrapped to the width goes on
    // further in.
    let named = listed.lines().filter(|l| l.starts_with("  ") && !l.starts_with("   "));
    named.filter_map(|l| l.split_whitespace().next()).filter(|c| *c != "help").map(str::to_string).collect()
}

/// Every option of every command has help, and every command's help ends with examples.
#[test]
fn every_flag_has_help_and_every_command_examples() {
    let commands = commands();
    for known in ["run", "explore", "merge", "hunt", "explain", "diff", "bench"] {
        assert!(commands.iter().any(|c| c == known), "`ticketsim --help` does not list {known}: {commands:?}");
    }
    for command in &commands {
        let out = Command::new(env!("CARGO_BIN_EXE_ticketsim")).args([command.as_str(), "-h"]).output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(help.contains("\nExamples:\n  ticketsim "), "{command} -h has no examples:\n{help}");
        let options = help.split("Options:").nth(1).unwrap_or_default();
        let lines: Vec<&str> = options.lines().take_while(|l| !l.starts_with("Examples")).collect();
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            if trimmed.starts_with('-') {
                // `--flag <VALUE>  What it does`, or the description on the next line.
                let inline = trimmed.split("  ").skip(1).any(|part| !part.trim().is_empty());
                let below = lines.get(i + 1).is_some_and(|next| next.starts_with("          ") && !next.trim().is_empty());
                assert!(inline || below, "{command}: `{trimmed}` has no help");
            }
        }
    }
}

/// `.ci/run` runs exactly the README's test command (the second of its first two).
#[test]
fn ci_runs_the_readme_test_command() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let block = readme.split("```sh\n").nth(1).unwrap().split("```").next().unwrap();
    let test = block.lines().nth(1).unwrap().split('#').next().unwrap().trim();
    let ci = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/run")).unwrap();
    let last = ci.lines().rfind(|l| !l.trim().is_empty()).unwrap().trim();
    assert_eq!(test, last, "the README's test command and .ci/run's");
}
