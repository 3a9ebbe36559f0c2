//! How reports look on a terminal: tables fitted to its width, colour for pass and fail,
//! plurals. The command line sets it once; a library user gets plain, full-width text.
//! No colour when `NO_COLOR` is set, `TERM` is `dumb`, or the output is not a terminal.

use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, Default)]
struct Settings {
    colour: bool,
    width: Option<usize>,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Width of tables written to a pipe or a file when `COLUMNS` does not say: what a
/// pager or an editor shows without wrapping mid-cell.
pub const PIPED_WIDTH: usize = 100;

/// Sets colour and width from the environment: stdout a terminal, `NO_COLOR`, `TERM`,
/// `COLUMNS` (a pipe or a file gets [`PIPED_WIDTH`]); `wide` keeps tables at full width.
pub fn configure(wide: bool) {
    use std::io::IsTerminal;
    let terminal = std::io::stdout().is_terminal();
    let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) || std::env::var("TERM").is_ok_and(|t| t == "dumb");
    let columns = std::env::var("COLUMNS").ok().and_then(|c| c.parse::<usize>().ok());
    let measured = terminal_size::terminal_size().map(|(w, _)| w.0 as usize);
    let width = if wide { None } else { columns.or(if terminal { measured } else { Some(PIPED_WIDTH) }) };
    let _ = SETTINGS.set(Settings { colour: terminal && !no_colour, width: width.map(|w| w.max(40)) });
}

fn settings() -> Settings {
    SETTINGS.get().copied().unwrap_or_default()
}

/// The width tables must fit, if any.
pub fn width() -> Option<usize> {
    settings().width
}

/// Prose after a `lead` (a name column), wrapped at word boundaries to the terminal's
/// width ([`PIPED_WIDTH`] when the output is not a terminal), continuation lines indented
/// under the prose: `  name        what it means ...`.
pub fn hanging(lead: &str, text: &str) -> String {
    let width = width().unwrap_or(PIPED_WIDTH).max(lead.chars().count() + 20);
    let indent = " ".repeat(lead.chars().count());
    let options = textwrap::Options::new(width).initial_indent(lead).subsequent_indent(&indent);
    textwrap::fill(text, options)
}

/// What a piece of text says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Pass,
    Fail,
    Warn,
}

/// `text` in its tone's colour, when colour is on.
pub fn paint(text: &str, tone: Tone) -> String {
    if !settings().colour {
        return text.to_string();
    }
    let code = match tone {
        Tone::Pass => "32",
        Tone::Fail => "1;31",
        Tone::Warn => "33",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// `1 seed`, `2 seeds`.
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A table fitted to the terminal: the widest columns (explanations, commands) wrap at
/// spaces. A word is never split: a table whose longest words alone are wider than the
/// terminal is as narrow as they allow.
pub fn fit(table: tabled::Table) -> String {
    match width() {
        Some(width) => fit_to(table, width),
        None => table.to_string(),
    }
}

fn fit_to(mut table: tabled::Table, width: usize) -> String {
    use tabled::settings::{peaker::PriorityMax, Width};
    table.with(Width::wrap(width.max(narrowest(&table))).keep_words(true).priority(PriorityMax));
    table.to_string()
}

/// The width of a table whose every column is as wide as its longest word, with the
/// borders and padding (`│ a │ b │`).
fn narrowest(table: &tabled::Table) -> usize {
    use tabled::grid::records::{ExactRecords, Records};
    let records = table.get_records();
    let mut columns: Vec<usize> = Vec::new();
    for row in records.iter_rows() {
        for (c, cell) in row.iter().enumerate() {
            let longest = cell.as_ref().split_whitespace().map(|w| w.chars().count()).max().unwrap_or(0);
            if columns.len() <= c {
                columns.resize(c + 1, 0);
            }
            columns[c] = columns[c].max(longest);
        }
    }
    let _ = records.count_rows();
    columns.iter().map(|w| w + 3).sum::<usize>() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_and_plain_text_by_default() {
        assert_eq!(count(1u64, "violation", "violations"), "1 violation");
        assert_eq!(count(0u64, "violation", "violations"), "0 violations");
        assert_eq!(paint("ok", Tone::Pass), "ok");
    }

    #[test]
    fn prose_hangs_under_its_lead_within_the_width() {
        let text = super::hanging("  lead  ", &"word ".repeat(40));
        assert!(text.lines().count() > 1 && text.lines().all(|l| l.chars().count() <= 100), "{text}");
        assert!(text.lines().skip(1).all(|l| l.starts_with("        word")), "{text}");
    }

    #[test]
    fn a_fitted_table_never_splits_a_word() {
        let mut builder = tabled::builder::Builder::default();
        builder.push_record(["flaw", "scenario", "caught by"]);
        builder.push_record(["charge-in-dollars", "expiration-payments", &"charges-match-prices, ".repeat(6)]);
        let table = builder.build();
        assert_eq!(narrowest(&table), 17 + 19 + 21 + 9 + 1);
        let text = fit_to(table, 40);
        assert!(text.contains("charge-in-dollars") && text.contains("expiration-payments"), "{text}");
    }

    #[test]
    fn a_fitted_table_wraps_to_the_width() {
        let mut builder = tabled::builder::Builder::default();
        builder.push_record(["seed", "explanation"]);
        builder.push_record(["1", &"a long explanation ".repeat(20)]);
        let table = builder.build();
        let full = table.to_string();
        assert!(full.lines().any(|l| l.chars().count() > 300));
        let mut narrow = table.clone();
        narrow.with(tabled::settings::Width::wrap(60).priority(tabled::settings::peaker::PriorityMax));
        assert!(narrow.to_string().lines().all(|l| l.chars().count() <= 60), "{narrow}");
    }
}
