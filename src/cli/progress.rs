//! Progress of a sweep, on stderr: a bar with the rate, the failures so far and the
//! time left on a terminal; a plain line every few seconds otherwise (a CI log shows the
//! sweep moving); nothing with `--quiet`. Wall-clock time here only paces the display.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// How often a plain progress line is printed when stderr is not a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    total: u64,
    started: Instant,
    last_line: Instant,
}

impl Progress {
    pub fn new(total: u64, quiet: bool) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        let bar = (!quiet && terminal).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            // The rate in whole seeds a second (indicatif's {per_sec} prints "157.7912/s").
            let style = ProgressStyle::with_template("{bar:30} {pos}/{len} seeds  {rate}  {msg}  ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .with_key("rate", |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0} seeds/s", state.per_sec());
                });
            bar.set_style(style);
            bar
        });
        let now = Instant::now();
        Progress { bar, plain: !quiet && !terminal, total, started: now, last_line: now }
    }

    /// After each seed: how many ran, how many failed.
    pub fn update(&mut self, done: u64, failing: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            bar.set_message(format!("{failing} failing"));
        } else if self.plain && (self.last_line.elapsed() >= PLAIN_EVERY || done == self.total) {
            self.last_line = Instant::now();
            eprintln!("{}", plain_line(done, self.total, failing, self.started.elapsed()));
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `900 / 100000 seeds, 3 failing, 310 seeds/s, about 5m20s left`.
fn plain_line(done: u64, total: u64, failing: u64, elapsed: Duration) -> String {
    let rate = done as f64 / elapsed.as_secs_f64().max(1e-9);
    let left = if rate > 0.0 { (total.saturating_sub(done)) as f64 / rate } else { 0.0 };
    let left = if left.is_finite() && left < 1e9 { left as u64 } else { 0 };
    format!("{done} / {total} seeds, {failing} failing, {rate:.0} seeds/s, about {}m{:02}s left", left / 60, left % 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_plain_line_has_the_rate_the_failures_and_the_time_left() {
        let line = super::plain_line(900, 100_000, 3, std::time::Duration::from_secs(3));
        assert_eq!(line, "900 / 100000 seeds, 3 failing, 300 seeds/s, about 5m30s left");
    }
}
