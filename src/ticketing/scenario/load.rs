//! Reading and writing scenario files: size and encoding limits, TOML parsed with
//! serde, parser errors made readable (a "did you mean", types in words), then
//! validation; every error names the file, the line and the key.

use super::{shipped, source, Scenario};
use std::fmt;
use std::path::Path;

/// serde's "unknown field `x`, expected one of `a`, `b`" with a "did you mean" added.
fn with_suggestion(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else { return message.to_string() };
    let Some((given, expected)) = rest.split_once('`') else { return message.to_string() };
    let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let hint = crate::harness::did_you_mean(given, known);
    if hint.is_empty() {
        return message.to_string();
    }
    format!("unknown field `{given}`{hint}{}", expected.trim_start_matches(',')).replacen(
        &format!("{hint} expected"),
        &format!("{hint}; expected"),
        1,
    )
}

/// A parser's type error as a person reads it: what was expected, in words, then what
/// was written (`expected a whole number, got the string "one"`).
fn plainly(message: &str) -> String {
    let Some(rest) = message.strip_prefix("invalid type: ") else { return message.to_string() };
    let Some((got, expected)) = rest.split_once(", expected ") else { return message.to_string() };
    let expected = match expected {
        "i64" | "u64" | "u32" | "u16" | "usize" => "a whole number",
        "f64" | "f32" => "a number",
        "a boolean" | "bool" => "true or false",
        "a string" => "a string (in quotes)",
        other => other,
    };
    format!("expected {expected}, got {got}")
}

/// The largest scenario file read (4 MiB: ten thousand steps fit in well under half).
pub const MAX_FILE_BYTES: usize = 4 << 20;

/// A malformed scenario: where, which key, and what is allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: String,
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{}`", crate::harness::bounded(key))?;
        }
        write!(f, ": {}", crate::harness::bounded(&self.message))
    }
}

impl std::error::Error for ScenarioError {}

impl Scenario {
    /// Reads and validates a scenario file (at most [`MAX_FILE_BYTES`], UTF-8).
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        use std::io::Read;
        let file = path.display().to_string();
        let error = |message: String| ScenarioError { file: file.clone(), line: None, key: None, message };
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_FILE_BYTES as u64 + 1).read_to_end(&mut bytes))
            .map_err(|e| error(format!("cannot read: {e}")))?;
        if bytes.len() > MAX_FILE_BYTES {
            return Err(error(format!("the file is larger than {MAX_FILE_BYTES} bytes, the most a scenario may be")));
        }
        let source = String::from_utf8(bytes).map_err(|e| error(format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to())))?;
        Scenario::parse(&file, &source)
    }

    /// A shipped scenario, by name (`order-race`, `course/tickets`): built into the
    /// binary, so it works from any directory.
    pub fn shipped(name: &str) -> Result<Scenario, ScenarioError> {
        match shipped::text(name) {
            Some(text) => Scenario::parse(&format!("{name} (shipped)"), text),
            None => Err(ScenarioError {
                file: name.to_string(),
                line: None,
                key: None,
                message: format!("no shipped scenario of that name{}", crate::harness::did_you_mean(name, shipped::names())),
            }),
        }
    }

    /// Parses and validates scenario text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
        if text.len() > MAX_FILE_BYTES {
            let message = format!("{} bytes; a scenario is at most {MAX_FILE_BYTES} bytes", text.len());
            return Err(ScenarioError { file: file.to_string(), line: None, key: None, message });
        }
        let scenario: Scenario = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|span| source::line_of(text, span.start));
            let path = e.span().and_then(|span| source::path_at(text, span.start));
            let key = path.or_else(|| line.and_then(|l| source::key_on_line(text, l)));
            ScenarioError { file: file.to_string(), line, key, message: plainly(&with_suggestion(e.message().trim())) }
        })?;
        scenario.validate().map_err(|(path, message)| ScenarioError {
            file: file.to_string(),
            line: source::locate(text, &path),
            key: Some(path.join(".")),
            message,
        })?;
        Ok(scenario)
    }

    /// A scenario with every setting at its default (as-built, one instance of each
    /// service, no users, no faults): the start of a scenario built in Rust.
    pub fn named(name: &str) -> Scenario {
        let scenario = Scenario::parse("(built in Rust)", &format!("name = {}", toml::Value::String(name.to_string())));
        scenario.unwrap_or_else(|e| unreachable!("a scenario with only a name is valid: {e}"))
    }

    /// Validates a scenario built or changed in Rust, as `parse` validates a file's;
    /// `file` names it in the error (whose `key` is the setting's path).
    pub fn check(&self, file: &str) -> Result<(), ScenarioError> {
        self.validate().map_err(|(path, message)| ScenarioError { file: file.to_string(), line: None, key: Some(path.join(".")), message })
    }

    /// The text of a scenario file; with `[reproduce]`, a reproduction that `run` replays.
    pub fn to_file(&self) -> Result<String, String> {
        let body = toml::to_string(self).map_err(|e| format!("cannot write scenario {}: {e}", self.name))?;
        Ok(format!("# A reproduction written by `ticketsim shrink`: `ticketsim run` on this file replays it.\n{body}"))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Dur;
    use super::*;
    use crate::harness::duration::parse_duration;
    use crate::ticketing::flaws::Preset;
    use std::time::Duration;

    fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse("test.toml", text)
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("2.014s"), Some(Duration::from_millis(2014)));
        assert_eq!(parse_duration("5 parsecs"), None);
    }

    #[test]
    fn minimal_scenario_takes_defaults() {
        let s = parse("name = \"x\"\n").unwrap();
        assert_eq!(s.preset, Preset::AsBuilt);
        assert_eq!(s.broker.ack_wait, Dur(Duration::from_secs(5)));
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let e = parse("name = \"x\"\n[network]\ndrop_probability = 0.1\nloss = 0.2\n").unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        assert_eq!(e.key.as_deref(), Some("loss"));
        assert!(e.message.contains("unknown field") && e.message.contains("drop_probability"), "{e}");
    }

    #[test]
    fn out_of_range_value_names_line_key_and_allowed_range() {
        let e = parse("name = \"x\"\n\n[network]\ndrop_probability = 0.9\n").unwrap_err();
        assert_eq!((e.line, e.key.as_deref()), (Some(4), Some("network.drop_probability")), "{e}");
        assert!(e.message.contains("allowed: 0.0 to 0.5"), "{e}");
    }

    #[test]
    fn jetstream_settings_are_checked_and_only_for_jetstream() {
        let e = parse("name = \"x\"\n[broker]\nmax_deliver = 3\n").unwrap_err();
        assert_eq!((e.line, e.key.as_deref()), (Some(3), Some("broker.max_deliver")), "{e}");
        assert!(e.message.contains("allowed only with kind = \"jetstream\""), "{e}");
        let js = "name = \"x\"\n[broker]\nkind = \"jetstream\"\n";
        let e = parse(&format!("{js}opt_start_seq = 4\n")).unwrap_err();
        assert!(e.message.contains("goes with deliver_policy = \"by-start-sequence\""), "{e}");
        let e = parse(&format!("{js}backoff = [\"1ms\"]\n")).unwrap_err();
        assert!(e.key.as_deref() == Some("broker.backoff") && e.message.contains("allowed: 100ms to 600s"), "{e}");
        let e = parse(&format!("{js}max_ack_pending = 0\n")).unwrap_err();
        assert!(e.message.contains("allowed: 1 to 100000"), "{e}");
        let s =
            parse(&format!("{js}deliver_policy = \"by-start-sequence\"\nopt_start_seq = 4\nmax_deliver = 5\nbackoff = [\"1s\", \"5s\"]\n"))
                .unwrap();
        let config = s.broker.config();
        assert_eq!(config.kind, crate::kit::broker::BrokerKind::JetStream);
        assert_eq!(config.jetstream.deliver_policy, crate::kit::broker::DeliverPolicy::ByStartSequence(4));
        assert_eq!((config.jetstream.max_deliver, config.jetstream.backoff.len()), (Some(5), 2));
        assert_eq!(Scenario::parse("again.toml", &s.to_file().unwrap()).unwrap().broker, s.broker, "written and read back");
    }

    #[test]
    fn unknown_flaw_lists_the_allowed_ones() {
        let e = parse("name = \"x\"\nflaws = [\"racy-reservation\", \"gremlins\"]\n").unwrap_err();
        assert_eq!((e.line, e.key.as_deref()), (Some(2), Some("flaws")), "{e}");
        assert!(e.message.contains("gremlins") && e.message.contains("no-version-check"), "{e}");
    }

    #[test]
    fn bad_toml_and_bad_enum_values_are_errors_with_lines() {
        let e = parse("name = \"x\"\npreset = \"sturdy\"\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.message.contains("as-built") && e.message.contains("hardened"), "{e}");
        let e = parse("name = \"x\"\n[broker\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
    }

    #[test]
    fn step_referring_to_an_unknown_name_is_rejected() {
        let text = "name = \"x\"\n[[workload.steps]]\nat = \"1s\"\nuser = \"u\"\nop = \"create-order\"\nticket = \"CZQ\"\n";
        let e = parse(text).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("workload.steps[0].ticket"), "{e}");
        assert_eq!(e.line, Some(6), "{e}");
    }

    #[test]
    fn a_step_naming_one_of_the_crowds_attempts_is_refused_with_what_to_write_instead() {
        let text = "name = \"x\"\n[[workload.steps]]\nat = \"1s\"\nuser = \"u\"\nop = \"edit-any-ticket\"\n";
        let e = parse(text).unwrap_err();
        assert_eq!((e.line, e.key.as_deref()), (Some(5), Some("workload.steps[0].op")), "{e}");
        assert!(e.message.contains("random users' attempts") && e.message.contains("in full"), "{e}");
        let mix = parse("name = \"x\"\n[workload]\nusers = 1\n[workload.mix]\nsigned_out = 3\nmalformed = 1\n").unwrap();
        assert_eq!((mix.workload.mix.signed_out, mix.workload.mix.malformed), (3, 1));
    }

    #[test]
    fn until_known_is_for_request_steps_and_user_delay_is_range_checked() {
        let publish = "name = \"x\"\n[[workload.steps]]\nat = \"1s\"\npublish = \"ticket:created\"\nuntil_known = true\n";
        let e = parse(publish).unwrap_err();
        assert_eq!((e.line, e.key.as_deref()), (Some(5), Some("workload.steps[0].until_known")), "{e}");
        let e = parse("name = \"x\"\n[network]\nuser_delay = [\"1ms\", \"20s\"]\n").unwrap_err();
        assert_eq!((e.line, e.key.as_deref()), (Some(3), Some("network.user_delay")), "{e}");
        assert!(parse("name = \"x\"\n[network]\nuser_delay = [\"2ms\", \"2ms\"]\n").is_ok());
    }
}
