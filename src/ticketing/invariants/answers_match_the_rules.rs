//! `answers-match-the-rules`: every answer of the tickets, orders and payments routes is
//! what the route's rules (ticketing.md) give for its store as the service read it. A
//! handler reads its store at one instant between the request and the response, and the
//! store changes only at the writes the history records; so an answer is right when it
//! is the rules' answer for the store as it stood at the request or after one of the
//! writes before the response. Lists hold exactly what the rule selects; a refusal has
//! the status and message of the first failing check in the route's order; an accepted
//! write was allowed for that user. Where the two presets answer differently (a paid
//! order cancelled, a second payment), both answers are the rules' and the invariant
//! about that bug judges it.

use super::{Input, Violation};
use crate::harness::fmt_time;
use crate::harness::history::{Lookup, LookupSet};
use crate::ticketing::common::validate;
use crate::ticketing::domain::{Id, Obs, OrderStatus, Snapshot};
use crate::ticketing::services::{orders, payments, tickets};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const NAME: &str = "answers-match-the-rules";

/// What a route may answer: a status and, for an error, its first message; for a list
/// or a record, the ids it holds.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Answer {
    Status(u16),
    Error(u16, &'static str),
    Ids(BTreeSet<Id>),
    /// Any of the app's "unexpected error" answers (a write that lost a race: 400 with
    /// the store's error), besides `Status(code)` for its success.
    UnexpectedOr(u16),
    /// Hardened payments' 400 "Order has expired", right when the handler's clock (at
    /// the latest the answer's time) is within the margin of this expiry.
    Expired(Duration),
}

/// The stores the routes read, as they stood.
#[derive(Default)]
struct Stores {
    tickets: BTreeMap<Id, (Id, Option<Id>)>,
    /// Orders' tickets replica and its orders: (buyer, ticket, status).
    replicas: LookupSet<Id>,
    orders: BTreeMap<Id, (Id, Id, OrderStatus)>,
    /// The orders not cancelled, by ticket.
    reserving: Lookup<Id, usize>,
    /// Payments' orders replica: (buyer, status, expires at), and its unrefunded payments.
    payable: Lookup<Id, (Id, OrderStatus, Duration)>,
    paid: LookupSet<Id>,
    /// Payments charges through a remote provider: a charge it refused, or whose answer
    /// did not come, is answered 400 "Something went wrong".
    remote_provider: bool,
    /// Counts the written documents that changed what the routes read: the rules'
    /// answers can only differ from the ones given at the last count after another.
    generation: u64,
}

impl Stores {
    /// Applies a written document to what the routes read, counting a change.
    fn apply(&mut self, store: &str, doc: &Snapshot) {
        if self.changes(store, doc) {
            self.generation += 1;
        }
    }

    /// Applies `doc`: whether what the routes read changed.
    fn changes(&mut self, store: &str, doc: &Snapshot) -> bool {
        match (store, doc) {
            (tickets::NAME, Snapshot::Ticket { id, user_id, order_id, .. }) => {
                let row = (user_id.clone(), order_id.clone());
                self.tickets.insert(id.clone(), row.clone()).as_ref() != Some(&row)
            }
            (orders::NAME, Snapshot::TicketReplica { id, .. }) => self.replicas.insert(id.clone()),
            (orders::NAME, Snapshot::Order { id, user_id, ticket_id, status, .. }) => {
                let row = (user_id.clone(), ticket_id.clone(), *status);
                let old = self.orders.insert(id.clone(), row.clone());
                self.reserve(old.as_ref(), -1);
                self.reserve(Some(&row), 1);
                old.as_ref() != Some(&row)
            }
            (payments::NAME, Snapshot::OrderReplica { id, user_id, status, expires_at, .. }) => {
                let row = (user_id.clone(), *status, *expires_at);
                self.payable.insert(id.clone(), row.clone()).as_ref() != Some(&row)
            }
            (payments::NAME, Snapshot::Payment { order_id, refunded, .. }) => match refunded {
                true => self.paid.remove(order_id),
                false => self.paid.insert(order_id.clone()),
            },
            _ => false,
        }
    }

    /// Counts an order row in or out of its ticket's orders not cancelled.
    fn reserve(&mut self, row: Option<&(Id, Id, OrderStatus)>, by: isize) {
        let Some((_, ticket, _)) = row.filter(|(.., status)| *status != OrderStatus::Cancelled) else { return };
        let orders = self.reserving.entry(ticket.clone()).or_default();
        *orders = orders.checked_add_signed(by).expect("an order counted out was counted in");
    }
}

/// A request as the users sent it, and the route it asks for (read once).
struct Asked<'a> {
    user: Option<&'a Id>,
    method: &'static str,
    path: &'a str,
    body: &'a Value,
    route: Route<'a>,
}

/// The routes the rules answer, with the path's id (`/api/tickets/:id`) where it has one.
enum Route<'a> {
    ListTickets,
    ShowTicket(&'a str),
    CreateTicket,
    EditTicket(&'a str),
    ListOrders,
    ShowOrder(&'a str),
    CancelOrder(&'a str),
    /// POST /api/orders, with the body's ticketId when it is one.
    CreateOrder(Option<std::borrow::Cow<'a, str>>),
    /// Another method or path under /api/orders (401 signed out, else not judged).
    OtherOrders,
    Pay,
    Unknown,
}

impl<'a> Asked<'a> {
    fn new(user: Option<&'a Id>, method: &'static str, path: &'a str, body: &'a Value) -> Asked<'a> {
        let segments: Vec<&str> = path.trim_start_matches("/api/").split('/').collect();
        let route = match (method, segments.as_slice()) {
            ("GET", ["tickets"]) => Route::ListTickets,
            ("GET", ["tickets", id]) => Route::ShowTicket(id),
            ("POST", ["tickets"]) => Route::CreateTicket,
            ("PUT", ["tickets", id]) => Route::EditTicket(id),
            ("GET", ["orders"]) => Route::ListOrders,
            ("GET", ["orders", id]) => Route::ShowOrder(id),
            ("DELETE", ["orders", id]) => Route::CancelOrder(id),
            ("POST", ["orders"]) => Route::CreateOrder(validate::id_text(body, "ticketId")),
            (_, ["orders", ..]) => Route::OtherOrders,
            ("POST", ["payments"]) => Route::Pay,
            _ => Route::Unknown,
        };
        Asked { user, method, path, body, route }
    }
}

fn error(status: u16, message: &'static str) -> Vec<Answer> {
    vec![Answer::Error(status, message)]
}

fn ids<'a>(ids: impl Iterator<Item = &'a Id>) -> Vec<Answer> {
    vec![Answer::Ids(ids.cloned().collect())]
}

/// The store a request's service reads: the tickets, orders or payments one, by the
/// path's first segment. A route of it that [`expected`] does not know gives no answer
/// to compare with, and is not judged.
fn store_of(asked: &Asked) -> Option<&'static str> {
    let service = asked.path.strip_prefix("/api/")?.split('/').next()?;
    [tickets::NAME, orders::NAME, payments::NAME].into_iter().find(|name| *name == service)
}

/// The answers the rules give `asked` with the stores as they stand.
fn expected(asked: &Asked, s: &Stores) -> Vec<Answer> {
    let orders =
        matches!(asked.route, Route::ListOrders | Route::ShowOrder(_) | Route::CancelOrder(_) | Route::CreateOrder(_) | Route::OtherOrders);
    if orders && asked.user.is_none() {
        return error(401, "Not authorized");
    }
    match &asked.route {
        Route::ListTickets => ids(s.tickets.iter().filter(|(_, (_, held))| held.is_none()).map(|(id, _)| id)),
        Route::ShowTicket(id) => show_ticket(s, id),
        Route::CreateTicket => asked.user.map_or_else(|| error(401, "Not authorized"), |_| ticket_fields(asked.body, 201)),
        Route::EditTicket(id) => edit_ticket(asked, s, id),
        Route::ListOrders => ids(s.orders.iter().filter(|(_, (buyer, ..))| Some(buyer) == asked.user).map(|(id, _)| id)),
        Route::ShowOrder(id) => order_of_user(asked, s, id).unwrap_or_else(|| ids(std::iter::once(&Id::from(*id)))),
        Route::CancelOrder(id) => order_of_user(asked, s, id).unwrap_or_else(|| cancel(s, id)),
        Route::CreateOrder(ticket) => create_order(ticket.as_deref(), s),
        Route::Pay => pay(asked, s),
        Route::OtherOrders | Route::Unknown => Vec::new(),
    }
}

fn show_ticket(s: &Stores, id: &str) -> Vec<Answer> {
    if !validate::is_id(id) {
        return error(400, "Something went wrong");
    }
    match s.tickets.contains_key(id) {
        true => ids(std::iter::once(&Id::from(id))),
        false => error(404, "Not Found"),
    }
}

/// Validation of a ticket's title and price (every failing field, the first one's
/// message first), else `ok`.
fn ticket_fields(body: &Value, ok: u16) -> Vec<Answer> {
    match (validate::non_empty_text(body, "title"), validate::positive_number(body, "price")) {
        (None, _) => error(400, "Title is required"),
        (_, None) => error(400, "Price must be greater than 0"),
        _ => vec![Answer::Status(ok)],
    }
}

/// PUT /api/tickets/:id: 401, validation 400, missing 404, reserved 400, not the owner
/// 401, else 200 (or a store error, when a concurrent write won).
fn edit_ticket(asked: &Asked, s: &Stores, id: &str) -> Vec<Answer> {
    let Some(user) = asked.user else { return error(401, "Not authorized") };
    let valid = ticket_fields(asked.body, 200);
    if valid != [Answer::Status(200)] {
        return valid;
    }
    if !validate::is_id(id) {
        return error(400, "Something went wrong");
    }
    match s.tickets.get(id) {
        None => error(404, "Not Found"),
        Some((_, Some(_))) => error(400, "Cannot edit a reserved ticket"),
        Some((seller, None)) if seller != user => error(401, "Not authorized"),
        Some(_) => vec![Answer::UnexpectedOr(200)],
    }
}

/// The checks GET and DELETE /api/orders/:id share: a malformed id 400, missing 404,
/// another user's 401; `None` when the caller's own order passes them.
fn order_of_user(asked: &Asked, s: &Stores, id: &str) -> Option<Vec<Answer>> {
    if !validate::is_id(id) {
        return Some(error(400, "Something went wrong"));
    }
    match s.orders.get(id) {
        None => Some(error(404, "Not Found")),
        Some((buyer, ..)) if Some(buyer) != asked.user => Some(error(401, "Not authorized")),
        Some(_) => None,
    }
}

/// DELETE of the caller's order: 204; a paid one is refused hardened and cancelled as
/// built (payments-consistent judges that).
fn cancel(s: &Stores, id: &str) -> Vec<Answer> {
    match s.orders.get(id) {
        Some((_, _, OrderStatus::Complete)) => vec![Answer::Error(400, "Cannot cancel a paid order"), Answer::UnexpectedOr(204)],
        _ => vec![Answer::UnexpectedOr(204)],
    }
}

/// POST /api/orders: ticketId 400, unknown ticket 404, reserved 400, else 201.
fn create_order(ticket: Option<&str>, s: &Stores) -> Vec<Answer> {
    let Some(ticket) = ticket else { return error(400, "TicketId must be provided") };
    if !s.replicas.contains(ticket) {
        return error(404, "Not Found");
    }
    if s.reserving.get(ticket).is_some_and(|orders| *orders > 0) {
        error(400, "Ticket is already reserved")
    } else {
        vec![Answer::Status(201)]
    }
}

/// POST /api/payments: 401, token and orderId 400, malformed id 400, missing 404, not
/// the buyer 401, cancelled 400, else 201; hardened also refuses a paid order and one
/// about to expire (as built pays them: payments-consistent judges that).
fn pay(asked: &Asked, s: &Stores) -> Vec<Answer> {
    if asked.user.is_none() {
        return error(401, "Not authorized");
    }
    let (Some(_), Some(order_id)) = (validate::non_empty_text(asked.body, "token"), validate::non_empty_text(asked.body, "orderId")) else {
        return error(400, "Invalid value");
    };
    if !validate::is_id(&order_id) {
        return error(400, "Something went wrong");
    }
    match s.payable.get(&*order_id) {
        None => error(404, "Not Found"),
        Some((buyer, ..)) if Some(buyer) != asked.user => error(401, "Not authorized"),
        Some((_, OrderStatus::Cancelled, _)) => error(400, "Cannot pay for an cancelled order"),
        Some((_, _, expires_at)) => {
            let mut answers = vec![Answer::Status(201), Answer::Expired(*expires_at)];
            if s.paid.contains(&*order_id) {
                answers.push(Answer::Error(400, "Order already paid"));
            }
            if s.remote_provider {
                answers.push(Answer::Error(400, "Something went wrong"));
            }
            answers
        }
    }
}

/// Whether an answer given at `now` is one of the answers the rules gave at some instant.
fn matches(allowed: &BTreeSet<Answer>, now: Duration, status: u16, body: &Value) -> bool {
    let message = body.get("errors").and_then(|e| e.get(0)).and_then(|e| e.get("message")).and_then(Value::as_str);
    let held: Option<BTreeSet<&str>> = match body {
        Value::Array(items) => Some(items.iter().filter_map(|i| i.get("id")?.as_str()).collect()),
        Value::Object(o) if status < 300 => o.get("id").and_then(Value::as_str).map(|id| std::iter::once(id).collect()),
        _ => None,
    };
    allowed.iter().any(|a| match a {
        Answer::Status(s) => *s == status,
        Answer::Error(s, m) => *s == status && message == Some(*m),
        Answer::Ids(ids) => status == 200 && held.as_ref().is_some_and(|held| held.iter().copied().eq(ids.iter().map(|id| &**id))),
        Answer::UnexpectedOr(s) => *s == status || (status == 400 && message.is_some_and(is_store_error)),
        Answer::Expired(at) => status == 400 && message == Some("Order has expired") && now + payments::EXPIRY_MARGIN >= *at,
    })
}

/// The app's error handler answers an unexpected error (a store error) with 400.
fn is_store_error(message: &str) -> bool {
    ["version conflict on ", "changed since it was read", "E11000 duplicate key", " not found"].iter().any(|m| message.contains(m))
}

/// What a refusal or answer should have been, for the explanation.
fn describe(allowed: &BTreeSet<Answer>) -> String {
    let each: Vec<String> = allowed
        .iter()
        .map(|a| match a {
            Answer::Status(s) => s.to_string(),
            Answer::Error(s, m) => format!("{s} {m:?}"),
            Answer::Ids(ids) => format!("200 [{}]", ids.iter().map(|id| &**id).collect::<Vec<_>>().join(", ")),
            Answer::UnexpectedOr(s) => s.to_string(),
            Answer::Expired(at) => format!("400 \"Order has expired\" (from {})", fmt_time(at.saturating_sub(payments::EXPIRY_MARGIN))),
        })
        .collect();
    each.join(" or ")
}

/// A request waiting for its answer: what it asked and every answer the rules gave it
/// so far (at its sending and after each write to its store that came after a change).
struct Waiting<'a> {
    asked: Asked<'a>,
    store: &'static str,
    allowed: BTreeSet<Answer>,
    /// The stores' generation the rules last answered it at.
    seen: u64,
}

pub fn check(input: &Input) -> Vec<Violation> {
    let mut stores = Stores { remote_provider: input.scenario.app.payment_provider, ..Default::default() };
    // Each waiting request is answered again on its own, so the order they are visited
    // in does not show.
    let mut waiting: Lookup<u64, Waiting> = Lookup::default();
    let mut violations = Vec::new();
    for entry in input.entries {
        if let Some((store, _)) = entry.store_call() {
            for doc in entry.wrote() {
                stores.apply(store, doc);
            }
            // After a write, the rules answer the store's waiting requests again, unless
            // no store changed since they last did (the same answers).
            if !entry.wrote().is_empty() {
                for w in waiting.values_mut().filter(|w| w.store == store && w.seen != stores.generation) {
                    w.allowed.extend(expected(&w.asked, &stores));
                    w.seen = stores.generation;
                }
            }
        }
        match entry.observed() {
            Some(Obs::Request { req, user, instance, method, path, body }) if !instance.starts_with('(') => {
                let asked = Asked::new(user.as_ref(), method, path, body);
                if let Some(store) = store_of(&asked) {
                    let allowed = expected(&asked, &stores).into_iter().collect();
                    waiting.insert(*req, Waiting { asked, store, allowed, seen: stores.generation });
                }
            }
            Some(Obs::Response { req, status, body }) => {
                let Some(w) = waiting.remove(req) else { continue };
                if *status == 503 || w.allowed.is_empty() || matches(&w.allowed, entry.time, *status, body) {
                    continue;
                }
                let user = w.asked.user.map_or("signed out".to_string(), |u| format!("user {u}"));
                let why = format!(
                    "request #{req} {} {} ({user}) was answered {status} {} at {}, but for its store as it stood the rules answer {}",
                    w.asked.method,
                    w.asked.path,
                    crate::harness::echo(&body.to_string()),
                    fmt_time(entry.time),
                    describe(&w.allowed)
                );
                violations.push(Violation::new(NAME, entry.time, vec![format!("request #{req}")], why));
            }
            _ => {}
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::harness::history::Record;
    use crate::ticketing::domain::Obs;
    use crate::ticketing::state::FinalState;
    use serde_json::{json, Value};
    use std::sync::Arc;

    fn call(req: u64, user: Option<&str>, method: &'static str, path: &str, status: u16, body: Value) -> Vec<Record<Obs>> {
        vec![
            Record::Observed(Obs::Request {
                req,
                user: user.map(Into::into),
                instance: "tickets-1".into(),
                method,
                path: path.into(),
                body: Arc::new(json!({ "title": "t", "price": 5 })),
            }),
            Record::Observed(Obs::Response { req, status, body: Arc::new(body) }),
        ]
    }

    fn refusal(message: &str) -> Value {
        json!({ "errors": [{ "message": message }] })
    }

    /// With the provider a remote party, a payment it refused or left unanswered is
    /// answered 400 "Something went wrong"; with the charge in payments' own
    /// transaction, that answer is not the rules'.
    #[test]
    fn a_failed_charge_is_a_rule_only_when_the_provider_is_remote() {
        use crate::ticketing::domain::{OrderStatus, Snapshot};
        let replica = Snapshot::OrderReplica {
            id: "O1".into(),
            version: 0,
            status: OrderStatus::Created,
            price: 20.1,
            user_id: "u1".into(),
            expires_at: ms(60_000),
        };
        let h = vec![
            Record::Store { store: "payments", call: "replicate", began: ms(0), read: vec![], wrote: vec![replica] },
            Record::Observed(Obs::Request {
                req: 1,
                user: Some("u1".into()),
                instance: "payments-1".into(),
                method: "POST",
                path: "/api/payments".into(),
                body: Arc::new(json!({ "orderId": "O1", "token": "tok_visa" })),
            }),
            Record::Observed(Obs::Response { req: 1, status: 400, body: Arc::new(refusal("Something went wrong")) }),
        ];
        assert_eq!(run(h.clone(), &FinalState::default(), super::check).len(), 1, "in-store: the rules answer 201");
        let remote = crate::ticketing::scenario::Scenario::parse("t.toml", "name = \"t\"\n[app]\npayment_provider = true\n").unwrap();
        assert!(run_on(&remote, h, &FinalState::default(), super::check).is_empty());
    }

    #[test]
    fn a_list_of_the_free_tickets_passes_and_one_with_a_reserved_ticket_fails() {
        let mut h = vec![ticket("T1", 0, 20, None), ticket("T2", 1, 20, Some("O1"))];
        h.extend(call(1, None, "GET", "/api/tickets", 200, json!([{ "id": "T1" }])));
        assert!(run(h.clone(), &FinalState::default(), super::check).is_empty());
        h.extend(call(2, None, "GET", "/api/tickets", 200, json!([{ "id": "T1" }, { "id": "T2" }])));
        let v = run(h, &FinalState::default(), super::check);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].explanation.contains("request #2 GET /api/tickets") && v[0].explanation.contains("200 [T1]"), "{}", v[0].explanation);
    }

    #[test]
    fn a_refusal_must_be_the_first_failing_check_of_the_route() {
        // T1 is u1's and reserved: a stranger's edit is refused as reserved (400), not 401.
        let mut h = vec![ticket("T1", 1, 20, Some("O1"))];
        h.extend(call(1, Some("u9"), "PUT", "/api/tickets/T1", 400, refusal("Cannot edit a reserved ticket")));
        h.extend(call(2, None, "PUT", "/api/tickets/T1", 401, refusal("Not authorized")));
        assert!(run(h.clone(), &FinalState::default(), super::check).is_empty());
        h.extend(call(3, Some("u9"), "PUT", "/api/tickets/T1", 401, refusal("Not authorized")));
        let v = run(h, &FinalState::default(), super::check);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].explanation.contains("\"Cannot edit a reserved ticket\""), "{}", v[0].explanation);
    }

    #[test]
    fn an_answer_right_for_the_store_at_some_instant_of_the_window_passes() {
        // The lock lands between the request and the answer: either answer is the rules'.
        let mut h = vec![ticket("T1", 0, 20, None)];
        let [ask, answer]: [Record<Obs>; 2] = call(1, None, "GET", "/api/tickets", 200, json!([])).try_into().unwrap();
        h.extend([ask, ticket("T1", 1, 20, Some("O1")), answer]);
        assert!(run(h, &FinalState::default(), super::check).is_empty());
    }

    /// A request of `user` as the users sent it and its answer.
    fn asked(req: u64, user: &str, path: &str, ask: Value, status: u16, body: Value) -> [Record<Obs>; 2] {
        let instance = format!("{}-1", path.trim_start_matches("/api/"));
        [
            Record::Observed(Obs::Request {
                req,
                user: Some(user.into()),
                instance,
                method: "POST",
                path: path.into(),
                body: Arc::new(ask),
            }),
            Record::Observed(Obs::Response { req, status, body: Arc::new(body) }),
        ]
    }

    fn order_ticket(req: u64, ticket: &str, status: u16, body: Value) -> [Record<Obs>; 2] {
        asked(req, "u1", "/api/orders", json!({ "ticketId": ticket }), status, body)
    }

    fn violated(h: Vec<Record<Obs>>) -> Vec<String> {
        run(h, &FinalState::default(), super::check).iter().map(|v| v.records[0].clone()).collect()
    }

    /// A ticket is reserved while an order of it is not cancelled: the order counts in
    /// when written, out when written again (once, whatever its writes), cancelled or
    /// moved to another ticket.
    #[test]
    fn an_order_reserves_its_ticket_until_it_is_cancelled_or_moved() {
        use crate::ticketing::domain::OrderStatus::{Cancelled, Created};
        let prefix = vec![replica("T1", 0, 20), replica("T2", 0, 20), order("O1", 0, "T1", Created), order("O1", 1, "T1", Created)];
        let mut h = prefix.clone();
        h.extend(order_ticket(1, "T1", 400, refusal("Ticket is already reserved")));
        h.extend(order_ticket(2, "T1", 201, json!({ "id": "O2" })));
        assert_eq!(violated(h), ["request #2"]);
        let mut h = prefix.clone();
        h.push(order("O1", 2, "T1", Cancelled));
        h.extend(order_ticket(3, "T1", 201, json!({ "id": "O2" })));
        h.extend(order_ticket(4, "T1", 400, refusal("Ticket is already reserved")));
        assert_eq!(violated(h), ["request #4"]);
        let mut h = prefix;
        h.push(order("O1", 2, "T2", Created));
        h.extend(order_ticket(5, "T1", 201, json!({ "id": "O2" })));
        h.extend(order_ticket(6, "T2", 201, json!({ "id": "O3" })));
        assert_eq!(violated(h), ["request #6"]);
    }

    /// A write while a request waits counts when it changes what the routes read: the
    /// order cancelled frees its ticket, a payment makes its order paid; a write that
    /// changes nothing they read adds no answer.
    #[test]
    fn a_write_in_the_window_that_changes_the_stores_adds_its_answers() {
        use crate::ticketing::domain::OrderStatus::{Cancelled, Created};
        use crate::ticketing::domain::Snapshot;
        let [ask, answer] = order_ticket(1, "T1", 201, json!({ "id": "O2" }));
        let h = vec![replica("T1", 0, 20), order("O1", 0, "T1", Created), ask.clone(), order("O1", 1, "T1", Cancelled), answer.clone()];
        assert!(violated(h).is_empty(), "the order cancelled while the request waited");
        let h = vec![replica("T1", 0, 20), order("O1", 0, "T1", Created), ask, replica("T1", 1, 30), answer];
        assert_eq!(violated(h), ["request #1"], "a new price reserves nothing and frees nothing");
        let payable = Snapshot::OrderReplica {
            id: "O1".into(),
            version: 0,
            status: Created,
            price: 20.0,
            user_id: "u1".into(),
            expires_at: ms(60_000),
        };
        let paid = Snapshot::Payment {
            id: "P1".into(),
            order_id: "O1".into(),
            stripe_id: "ch_1".into(),
            amount: 2000,
            refunded: false,
            refund: None,
        };
        let [ask, answer] =
            asked(2, "u1", "/api/payments", json!({ "orderId": "O1", "token": "tok_visa" }), 400, refusal("Order already paid"));
        let before = vec![write("payments", "replicate", payable), ask];
        let mut h = before.clone();
        h.extend([write("payments", "charge", paid), answer.clone()]);
        assert!(violated(h).is_empty(), "paid while the request waited");
        let mut h = before;
        h.push(answer);
        assert_eq!(violated(h), ["request #2"], "never paid");
    }

    #[test]
    fn another_users_order_shown_fails_and_an_accepted_edit_by_a_stranger_fails() {
        let mut h = vec![order("O1", 0, "T1", crate::ticketing::domain::OrderStatus::Created)];
        h.extend(call(1, Some("u2"), "GET", "/api/orders/O1", 200, json!({ "id": "O1" })));
        h.extend(call(2, Some("u9"), "GET", "/api/orders/O1", 401, refusal("Not authorized")));
        assert!(run(h.clone(), &FinalState::default(), super::check).is_empty());
        h.extend(call(3, Some("u9"), "GET", "/api/orders/O1", 200, json!({ "id": "O1" })));
        h.push(ticket("T5", 0, 20, None));
        h.extend(call(4, Some("u9"), "PUT", "/api/tickets/T5", 200, json!({ "id": "T5" })));
        let v = run(h, &FinalState::default(), super::check);
        assert_eq!(v.iter().map(|v| v.records[0].as_str()).collect::<Vec<_>>(), ["request #3", "request #4"], "{v:?}");
    }
}
