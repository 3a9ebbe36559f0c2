//! What the scripted users report: the kit's [`crate::kit::obs::Obs::App`] carries it.

use super::Id;
use std::fmt;

#[derive(Clone, Debug)]
pub enum Script {
    /// A scripted step named the record its request created.
    Named { name: String, id: Id, req: u64 },
    /// A scripted step sent its request (the last attempt's number).
    Step { step: usize, label: String, req: u64 },
    /// A scripted step published its event; `accepted` once the broker acked it.
    Injected { step: usize, label: String, event_id: Id, accepted: bool },
    /// A scripted step could not be sent (a name it refers to was never given).
    StepSkipped { step: usize, label: String, why: String },
}

impl fmt::Display for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Script::Named { name, id, req } => write!(f, "script: {name} = {id} (request #{req})"),
            Script::Step { step, label, req } => write!(f, "script: step {step} ({label}) is request #{req}"),
            Script::Injected { step, label, event_id, accepted } => {
                write!(
                    f,
                    "script: step {step} ({label}) published {event_id}{}",
                    if *accepted { "" } else { " (the broker never acked it)" }
                )
            }
            Script::StepSkipped { step, label, why } => write!(f, "script: step {step} ({label}) not sent: {why}"),
        }
    }
}
