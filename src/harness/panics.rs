//! What a panic inside a run was: its message, where in the code, at which virtual
//! time and on which node. A process-wide panic hook, installed once, records the first panic of
//! the run armed on this thread (a run is one thread) instead of printing it; on any
//! other thread, or when no run is armed, the previous hook runs as before.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::sync::{Arc, Once};
use std::time::Duration;

/// A panic caught in a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caught {
    pub message: String,
    /// `file:line` of the panic.
    pub location: Option<String>,
    /// The virtual time of the panic.
    pub time: Option<Duration>,
    /// The node whose task panicked (`None` when it was not a node's task).
    pub node: Option<Arc<str>>,
}

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static CAUGHT: RefCell<Option<Caught>> = const { RefCell::new(None) };
    /// madsim node ids of the run armed on this thread, to their names.
    static NODES: RefCell<BTreeMap<String, Arc<str>>> = const { RefCell::new(BTreeMap::new()) };
}

static HOOK: Once = Once::new();

/// Starts recording panics on this thread for one run (installs the hook once).
pub fn arm() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if ARMED.with(Cell::get) {
                record(info);
            } else {
                previous(info);
            }
        }));
    });
    CAUGHT.with(|c| c.borrow_mut().take());
    NODES.with(|n| n.borrow_mut().clear());
    ARMED.with(|a| a.set(true));
}

/// Stops recording; returns the first panic of the run, if there was one.
pub fn disarm() -> Option<Caught> {
    ARMED.with(|a| a.set(false));
    NODES.with(|n| n.borrow_mut().clear());
    CAUGHT.with(|c| c.borrow_mut().take())
}

/// Names a madsim node of the run armed on this thread.
pub fn name_node(id: madsim::task::NodeId, name: &Arc<str>) {
    NODES.with(|n| n.borrow_mut().insert(id.to_string(), name.clone()));
}

/// The name of the node whose task is running (from a task of the armed run).
pub fn current_node() -> Option<Arc<str>> {
    let id = madsim::plugin::node().to_string();
    NODES.with(|n| n.borrow().get(&id).cloned())
}

fn record(info: &std::panic::PanicHookInfo<'_>) {
    if CAUGHT.with(|c| c.borrow().is_some()) {
        return;
    }
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with no message".into());
    let location = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
    let time = madsim::time::TimeHandle::try_current().map(|t| t.elapsed());
    // The current node is asked for only from a task: madsim's own panics may be raised
    // outside any (where asking would panic again, inside this hook).
    let in_madsim = info.location().is_some_and(|l| l.file().contains("madsim-"));
    let node = (time.is_some() && !in_madsim)
        .then(|| madsim::plugin::node().to_string())
        .and_then(|id| NODES.with(|n| n.borrow().get(&id).cloned()));
    CAUGHT.with(|c| *c.borrow_mut() = Some(Caught { message, location, time, node }));
}
