//! How a service instance calls a remote party (a payment provider, say; its node is
//! [`super::deploy::Remote`]): a request, and the response if one comes back within a timeout.
//! A call that times out leaves the outcome unknown: the party may have acted on it.

use super::protocol::{HttpRequest, HttpResponse, Message, Method};
use super::App;
use crate::harness::fabric::{Fabric, NodeId};
use crate::harness::sync::Mutex;
use futures::channel::oneshot;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// An instance's calls to remote parties, waiting for their responses.
pub struct Outbound<A: App> {
    node: NodeId,
    fabric: Fabric<Message<A::Subject>>,
    /// Request ids of this incarnation start here (see [`Outbound::new`]).
    first: u64,
    /// Calls made so far, and those waiting for their answers.
    state: Mutex<(u64, Waiting)>,
}

/// The calls waiting for their answers, by request id.
type Waiting = BTreeMap<u64, oneshot::Sender<Arc<HttpResponse>>>;

/// Most calls an incarnation makes: its request ids stay in their own block.
pub const MAX_CALLS: u64 = 1 << 24;

impl<A: App> Outbound<A> {
    /// The calls of `node`'s `incarnation`. Their request ids are a block of their own
    /// (above any the users' ingress numbers), so a response finds its call whatever
    /// other incarnation or node made calls too.
    pub fn new(node: NodeId, incarnation: u32, fabric: Fabric<Message<A::Subject>>) -> Self {
        let first = (1 << 62) | ((node.slot() as u64) << 40) | (u64::from(incarnation) << 24);
        Outbound { node, fabric, first, state: Mutex::new((0, BTreeMap::new())) }
    }

    /// Sends a request to `to` and waits at most `timeout` for its response (`None`: no
    /// response in time; the outcome is unknown).
    pub async fn call(&self, to: NodeId, method: Method, path: &str, body: Value, timeout: Duration) -> Option<Arc<HttpResponse>> {
        let (tx, rx) = oneshot::channel();
        let id = {
            let mut state = self.state.lock();
            assert!(state.0 < MAX_CALLS, "harness limit: an incarnation made more than {MAX_CALLS} remote calls");
            state.0 += 1;
            let id = self.first + state.0;
            state.1.insert(id, tx);
            id
        };
        let req = HttpRequest { id, user: None, method, path: path.to_string(), body: Arc::new(body) };
        self.fabric.send(self.node, to, Message::Request(Arc::new(req)));
        let answer = crate::harness::timeout(timeout, rx).await;
        self.state.lock().1.remove(&id);
        answer.ok().and_then(Result::ok)
    }

    /// A response arrived: hands it to its call, if that still waits.
    pub fn complete(&self, response: Arc<HttpResponse>) {
        if let Some(tx) = self.state.lock().1.remove(&response.id) {
            let _ = tx.send(response);
        }
    }
}
