//! Bug switches as a run consults them. A system reads each of its bug switches (a flaw,
//! say) through [`consulted`] at the line where the buggy and the fixed code part; when
//! a run asks for it, every consultation is logged with its virtual time, node and
//! source line. `--fix` uses the log to say which switch decided where two runs part,
//! and how early a flaw's code first had a say.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

/// One consultation of a switch.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Consulted {
    #[serde(rename = "virtual_time", serialize_with = "super::system::ser_duration")]
    pub time: Duration,
    pub node: Option<Arc<str>>,
    pub switch: &'static str,
    /// Whether the switch was on (the bug's line ran) at that point.
    pub on: bool,
    /// `file:line` of the consultation.
    pub location: String,
}

/// Most consultations a run logs; later ones are counted, not kept.
pub const MAX_LOGGED: usize = 100_000;

struct Log {
    kept: Vec<Consulted>,
    /// Seen past the cap.
    dropped: u64,
}

thread_local! {
    static LOG: RefCell<Option<Log>> = const { RefCell::new(None) };
}

/// Starts logging consultations on this thread (for one run).
pub(crate) fn start() {
    LOG.with(|l| *l.borrow_mut() = Some(Log { kept: Vec::new(), dropped: 0 }));
}

/// Stops logging; returns what was logged and how many were past the cap.
pub(crate) fn stop() -> (Vec<Consulted>, u64) {
    LOG.with(|l| l.borrow_mut().take()).map_or((Vec::new(), 0), |log| (log.kept, log.dropped))
}

/// Reports that `switch` was consulted here and found `on`; returns `on`. Free when
/// nothing is logging.
#[track_caller]
pub fn consulted(switch: &'static str, on: bool) -> bool {
    let location = std::panic::Location::caller();
    LOG.with(|l| {
        let mut log = l.borrow_mut();
        let Some(log) = log.as_mut() else { return };
        if log.kept.len() >= MAX_LOGGED {
            log.dropped += 1;
            return;
        }
        let time = madsim::time::TimeHandle::try_current().map_or(Duration::ZERO, |t| super::on_grid(t.elapsed()));
        let location = format!("{}:{}", location.file(), location.line());
        log.kept.push(Consulted { time, node: super::panics::current_node(), switch, on, location });
    });
    on
}

/// The first consultation of `switch` in a log.
pub fn first<'a>(log: &'a [Consulted], switch: &str) -> Option<&'a Consulted> {
    log.iter().find(|c| c.switch == switch)
}

/// The last consultation of any of `switches` at or before `time` (the line that
/// decided what happened then).
pub fn deciding<'a>(log: &'a [Consulted], switches: &[String], time: Duration) -> Option<&'a Consulted> {
    log.iter().rfind(|c| c.time <= time && switches.iter().any(|s| s == c.switch))
}
