//! The users' side of the network, the ingress: routes a request to the service that
//! answers its method and path, sends it to one of that service's instances (picked
//! like a load balancer would) and matches responses; publishes events into the broker
//! for scripted injection steps. It records what it sent and what came back.

use super::obs::Obs;
use super::protocol::Message;
use super::protocol::{HttpRequest, HttpResponse, Method};
use super::{App, Event, Id};
use crate::harness::choices::{Choices, Site};
use crate::harness::fabric::{handled, Actor, BoxFuture, Fabric, NodeId};
use crate::harness::sync::Mutex;
use crate::harness::world::Probe;
use futures::channel::oneshot;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// A route a service answers: a method and a path pattern (`:id` matches one segment).
#[derive(Clone, Copy, Debug)]
pub struct Route {
    pub method: Method,
    pub path: &'static str,
}

impl Route {
    pub const fn new(method: Method, path: &'static str) -> Route {
        Route { method, path }
    }

    /// Whether a request's method and path are this route: the path before any `?`,
    /// segment by segment (a `:name` segment takes any one that is not empty).
    pub fn matches(&self, method: Method, path: &str) -> bool {
        self.matches_path(method, path_only(path))
    }

    /// [`Route::matches`] for a path without its query.
    fn matches_path(&self, method: Method, path: &str) -> bool {
        method == self.method && path_matches(self.path.as_bytes(), path.as_bytes())
    }
}

/// A request's path without its query.
fn path_only(path: &str) -> &str {
    path.find('?').map_or(path, |query| &path[..query])
}

/// Whether `path` has `pattern`'s segments, compared a byte at a time without splitting
/// them into string searches (every request tries every route until one matches).
fn path_matches(mut pattern: &[u8], mut path: &[u8]) -> bool {
    loop {
        let p_end = pattern.iter().position(|&b| b == b'/').unwrap_or(pattern.len());
        let g_end = path.iter().position(|&b| b == b'/').unwrap_or(path.len());
        let (p, g) = (&pattern[..p_end], &path[..g_end]);
        if !((p.first() == Some(&b':') && !g.is_empty()) || p == g) {
            return false;
        }
        match (p_end == pattern.len(), g_end == path.len()) {
            (true, true) => return true,
            (false, false) => (pattern, path) = (&pattern[p_end + 1..], &path[g_end + 1..]),
            _ => return false,
        }
    }
}

/// A service as the ingress knows it: its name, its routes and its instances' nodes.
#[derive(Clone, Debug)]
pub struct Routed {
    pub service: &'static str,
    pub routes: &'static [Route],
    pub instances: Vec<NodeId>,
}

/// The broker client id scripted injections publish with.
pub const INJECTOR: &str = "users#injector";

#[derive(Default)]
struct ClientState {
    next_request: u64,
    pending: BTreeMap<u64, (NodeId, oneshot::Sender<Arc<HttpResponse>>)>,
    /// Injections waiting for the broker: `Connected` (key 0, each waiter its own
    /// number) and publish acks (by publish id).
    broker_waiters: BTreeMap<(u64, u64), oneshot::Sender<()>>,
    next_waiter: u64,
    next_publish: u64,
}

pub struct Client<A: App> {
    pub node: NodeId,
    pub probe: Probe<Obs<A>>,
    fabric: Fabric<Message<A::Subject>>,
    broker: NodeId,
    choices: Choices,
    /// The services, in the order their routes are tried.
    services: Vec<Routed>,
    timeout: Duration,
    state: Mutex<ClientState>,
}

impl<A: App> Client<A> {
    /// The users' client on `node`, reaching `services` (and the broker, for
    /// injections); a request waits `timeout` for its response.
    pub fn new(
        node: NodeId,
        fabric: Fabric<Message<A::Subject>>,
        probe: Probe<Obs<A>>,
        choices: Choices,
        broker: NodeId,
        services: Vec<Routed>,
        timeout: Duration,
    ) -> Self {
        let probe = probe.on(&fabric.node_name(node).into());
        Client { node, probe, fabric, broker, choices, services, timeout, state: Mutex::default() }
    }

    /// The service that answers a method and path, if any.
    pub fn route(&self, method: Method, path: &str) -> Option<&Routed> {
        let path = path_only(path);
        self.services.iter().find(|s| s.routes.iter().any(|r| r.matches_path(method, path)))
    }

    /// True while a user request to `node` waits for its response.
    pub fn busy(&self, node: NodeId) -> bool {
        self.state.lock().pending.values().any(|(n, _)| *n == node)
    }

    fn next_request(&self) -> u64 {
        let mut state = self.state.lock();
        state.next_request += 1;
        state.next_request
    }

    /// One request: its number, and its response (`None` when none came within the
    /// timeout). The ingress answers a path no service routes with 404, and a request to
    /// an instance that is down with 503, at once.
    pub async fn call(&self, user: Option<Id>, method: Method, path: &str, body: Value) -> (u64, Option<Arc<HttpResponse>>) {
        let service = self.route(method, path);
        let instances = service.map(|s| s.instances.as_slice()).unwrap_or(&[]);
        let to = (!instances.is_empty())
            .then(|| instances[self.choices.pick(Site::Workload, crate::harness::choices::key(&"instance"), instances.len())]);
        let body = Arc::new(body);
        let request = |req: u64, instance: String| Obs::Request {
            req,
            user: user.clone(),
            instance,
            method: method.as_str(),
            path: path.to_string(),
            body: body.clone(),
        };
        let Some(to) = to.filter(|to| self.fabric.is_up(*to)) else {
            let id = self.next_request();
            let (instance, response) = match (service, to) {
                (None, _) => ("(ingress)".to_string(), HttpResponse::error(id, 404, "Not Found")),
                (Some(s), None) => (format!("(no {} instance)", s.service), HttpResponse::error(id, 503, "Service Unavailable")),
                (Some(_), Some(to)) => (self.fabric.node_name(to), HttpResponse::error(id, 503, "Service Unavailable")),
            };
            self.probe.observe(request(id, instance));
            self.probe.observe(Obs::Response { req: id, status: response.status, body: response.body.clone() });
            return (id, Some(Arc::new(response)));
        };
        let (tx, rx) = oneshot::channel();
        let id = {
            let mut state = self.state.lock();
            state.next_request += 1;
            let id = state.next_request;
            state.pending.insert(id, (to, tx));
            id
        };
        self.probe.observe(request(id, self.fabric.node_name(to)));
        self.fabric.send(
            self.node,
            to,
            Message::Request(Arc::new(HttpRequest { id, user: user.clone(), method, path: path.to_string(), body })),
        );
        match crate::harness::timeout(self.timeout, rx).await {
            Ok(Ok(response)) => (id, Some(response)),
            _ => {
                self.state.lock().pending.remove(&id);
                self.probe.observe(Obs::Timeout { req: id });
                (id, None)
            }
        }
    }

    /// Waits for the broker's answer to `msg` (key 0: `Connected`, else the publish id).
    async fn ask_broker(&self, key: u64, msg: Message<A::Subject>) -> bool {
        let (tx, rx) = oneshot::channel();
        let key = {
            let mut state = self.state.lock();
            state.next_waiter += 1;
            let key = (key, state.next_waiter);
            state.broker_waiters.insert(key, tx);
            key
        };
        self.fabric.send(self.node, self.broker, msg);
        let answered = matches!(crate::harness::timeout(self.timeout, rx).await, Ok(Ok(())));
        self.state.lock().broker_waiters.remove(&key);
        answered
    }

    /// Publishes `event` into the broker as the client [`INJECTOR`] (connecting first,
    /// so a broker that forgot it takes it back); true once the broker acked it.
    pub async fn inject(&self, event: Arc<Event<A>>) -> bool {
        let client: Id = INJECTOR.into();
        if !self.ask_broker(0, Message::Connect { client: client.clone() }).await {
            return false;
        }
        let publish_id = {
            let mut state = self.state.lock();
            state.next_publish += 1;
            state.next_publish
        };
        self.ask_broker(publish_id, Message::Publish { client, publish_id, event, msg_id: None, expect_last: None }).await
    }
}

impl<A: App> Actor<Message<A::Subject>> for Client<A> {
    fn receive(self: Arc<Self>, _from: NodeId, msg: Message<A::Subject>) -> BoxFuture {
        let mut state = self.state.lock();
        match msg {
            Message::Response(response) => {
                // A duplicated response finds nothing pending and is ignored.
                if let Some((_, tx)) = state.pending.remove(&response.id) {
                    drop(state);
                    self.probe.observe(Obs::Response { req: response.id, status: response.status, body: response.body.clone() });
                    let _ = tx.send(response);
                }
            }
            Message::Connected { .. } | Message::PublishAck { .. } => {
                let key = if let Message::PublishAck { publish_id, .. } = msg { publish_id } else { 0 };
                let answered: Vec<(u64, u64)> = state.broker_waiters.range((key, 0)..=(key, u64::MAX)).map(|(k, _)| *k).collect();
                for k in answered {
                    if let Some(tx) = state.broker_waiters.remove(&k) {
                        let _ = tx.send(());
                    }
                }
            }
            _ => {}
        }
        handled()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The matcher as it was, splitting the segments: the byte matcher must agree.
    fn split_matches(pattern: &str, path: &str) -> bool {
        let (mut pattern, mut given) = (pattern.split('/'), path.split('?').next().unwrap_or("").split('/'));
        loop {
            match (pattern.next(), given.next()) {
                (None, None) => return true,
                (Some(p), Some(g)) if p.starts_with(':') && !g.is_empty() || p == g => {}
                _ => return false,
            }
        }
    }

    #[test]
    fn the_byte_matcher_agrees_with_splitting_on_every_short_path() {
        let patterns = ["/api/tickets", "/api/tickets/:id", "/api/orders/:id/x", "", "/", ":id", "/api/:a/:b", "a//b"];
        // Every path of up to six characters from an alphabet that makes every case:
        // separators, empty segments, parameters' colons, queries, prefixes of the routes.
        let alphabet = ['/', 'a', 'x', ':', '?', 'i'];
        let mut paths = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..6 {
            last = last.iter().flat_map(|p| alphabet.iter().map(move |c| format!("{p}{c}"))).collect();
            paths.extend(last.iter().cloned());
        }
        paths.extend(
            ["/api/tickets", "/api/tickets/T1", "/api/tickets/T1?x=/y", "/api/tickets/", "/api/orders/O1/x", "/api/q/r", "a//b", "a/b/b"]
                .map(String::from),
        );
        let mut matched = 0;
        for pattern in patterns {
            for path in &paths {
                let expected = split_matches(pattern, path);
                assert_eq!(Route::new(Method::Get, pattern).matches(Method::Get, path), expected, "{pattern:?} against {path:?}");
                matched += usize::from(expected);
            }
        }
        assert!(matched > 100, "the cases include matches ({matched})");
    }
}
