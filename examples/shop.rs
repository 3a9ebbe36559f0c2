//! A second app on the kit: a shop's order saga of three services on the broker.
//!
//! - `orders` takes `POST /api/orders {item, quantity}`, stores the order pending and
//!   announces `order:placed` through its outbox; it marks the order `shipped` on
//!   `shipment:created` and `cancelled` on `stock:rejected`.
//! - `inventory` (two instances by default) reserves the stock of each placed order
//!   and announces `stock:reserved`, or `stock:rejected` when too little is left.
//! - `shipping` ships each reserved order and announces `shipment:created`.
//!
//! Its flaw, `double-reserve`: the inventory handler does not look for the order's
//! reservation before reserving, so a redelivered `order:placed` (a lost ack, a
//! duplicated delivery, an instance that died before acking) takes the stock twice.
//! Its own invariants: `stock-conserved` (what is left plus what is reserved is what
//! was stocked, at every write) and `every-order-settles` (liveness); the kit's
//! `no-lost-events` and `no-poison-messages` come with it.
//!
//! Every command of ticketsim's core works on it, through its own small `main`:
//! `cargo run --release --example shop -- explore saga --flaw double-reserve`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use ticketsim::cli::Driven;
use ticketsim::harness::cause;
use ticketsim::harness::choices::{key, Choices, Site};
use ticketsim::harness::duration::Dur;
use ticketsim::harness::fabric::NodeId;
use ticketsim::harness::history::Entry;
use ticketsim::harness::nemesis::NemesisConfig;
use ticketsim::harness::strategy::Strategy;
use ticketsim::harness::switches::consulted;
use ticketsim::harness::system::{Budget, Check, Invariant, InvariantKind, NetworkOptions, Reproduce, SimOptions};
use ticketsim::harness::system::{Simplification, System, Violation};
use ticketsim::harness::BoxFuture;
use ticketsim::kit::broker::{BrokerConfig, Outstanding};
use ticketsim::kit::deploy::{self, Broker, World};
use ticketsim::kit::event::Payload;
use ticketsim::kit::ingress::{Client, Route, Routed};
use ticketsim::kit::instance::{listen, Emit, HttpService, InstanceEnv, Staged};
use ticketsim::kit::nats::Listener;
use ticketsim::kit::outbox::{HasOutbox, Outbox, Sent};
use ticketsim::kit::protocol::{HttpRequest, HttpResponse, Method};
use ticketsim::kit::store::{Collection, Counter, Db, Row, Table};
use ticketsim::kit::{Group, HandlerError, Id};

/// The allocator `ticketsim`'s own binary uses (docs/own-services.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(ticketsim::cli::main_for::<Shop>());
}

// ---- The scenario: what a run is configured by, as a TOML file.

/// The shipped scenario: a handful of orders for little stock, a lossy network, a crash.
pub const SAGA: &str = r#"# The shop's order saga: orders, inventory (2 instances) and shipping on the broker.
name = "saga"
flaws = []            # allowed: double-reserve
orders = 8            # users place this many orders, spread over the phase
stock = { book = 5, pen = 4 }
inventory_instances = 2
drop_probability = 0.02
duplicate_probability = 0.05
crashes = 1
duration = "6s"
quiet = "40s"
ack_wait = "2s"
"#;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopScenario {
    pub name: String,
    /// Bug switches on: `double-reserve`.
    #[serde(default)]
    pub flaws: Vec<String>,
    #[serde(default)]
    pub strategy: Strategy,
    pub orders: u32,
    /// Each item's stock at the start.
    pub stock: BTreeMap<String, u32>,
    pub inventory_instances: u32,
    pub drop_probability: f64,
    pub duplicate_probability: f64,
    pub crashes: u32,
    pub duration: Dur,
    pub quiet: Dur,
    pub ack_wait: Dur,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reproduce: Option<Reproduce>,
}

/// The one flaw: the inventory handler reserves without looking for the order's reservation.
pub const DOUBLE_RESERVE: &str = "double-reserve";

impl ShopScenario {
    pub fn shipped() -> ShopScenario {
        toml::from_str(SAGA).expect("the shipped scenario parses")
    }

    fn double_reserve(&self) -> bool {
        self.flaws.iter().any(|f| f == DOUBLE_RESERVE)
    }

    /// Every setting in its range: `Err((key, what is allowed))`.
    fn validate(&self) -> Result<(), (&'static str, String)> {
        let within = |key: &'static str, n: u32, lo: u32, hi: u32| {
            if (lo..=hi).contains(&n) {
                Ok(())
            } else {
                Err((key, format!("{n}; allowed: {lo} to {hi}")))
            }
        };
        within("orders", self.orders, 0, 200)?;
        within("inventory_instances", self.inventory_instances, 1, 4)?;
        within("crashes", self.crashes, 0, 10)?;
        if self.stock.is_empty() || self.stock.len() > 20 || self.stock.values().any(|n| *n > 1000) {
            return Err(("stock", "1 to 20 items, each with at most 1000 in stock".into()));
        }
        for (key, p) in [("drop_probability", self.drop_probability), ("duplicate_probability", self.duplicate_probability)] {
            if !(0.0..=0.5).contains(&p) {
                return Err((key, format!("{p}; allowed: 0 to 0.5")));
            }
        }
        if let Some(f) = self.flaws.iter().find(|f| *f != DOUBLE_RESERVE) {
            return Err(("flaws", format!("unknown flaw {f:?}; allowed: {DOUBLE_RESERVE}")));
        }
        for (key, d, lo, hi) in [("duration", self.duration, 1, 600), ("quiet", self.quiet, 1, 3600), ("ack_wait", self.ack_wait, 1, 60)] {
            if d.0 < Duration::from_secs(lo) || d.0 > Duration::from_secs(hi) {
                return Err((key, format!("allowed: {lo}s to {hi}s")));
            }
        }
        Ok(())
    }
}

// ---- The vocabulary: subjects, payloads, documents.

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    OrderPlaced,
    StockReserved,
    StockRejected,
    ShipmentCreated,
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Subject::OrderPlaced => "order:placed",
            Subject::StockReserved => "stock:reserved",
            Subject::StockRejected => "stock:rejected",
            Subject::ShipmentCreated => "shipment:created",
        })
    }
}

/// Declares a payload of `$subject` about the record in field `$id`.
macro_rules! payload {
    ($ty:ident, $subject:expr, $id:ident) => {
        impl Payload for $ty {
            type Subject = Subject;
            const SUBJECT: Subject = $subject;
            fn identity(&self) -> (&str, Option<u64>) {
                (&self.$id, None)
            }
        }
    };
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrderPlaced {
    pub id: Id,
    pub item: Id,
    pub quantity: u32,
}
payload!(OrderPlaced, Subject::OrderPlaced, id);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StockReserved {
    pub order_id: Id,
}
payload!(StockReserved, Subject::StockReserved, order_id);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StockRejected {
    pub order_id: Id,
}
payload!(StockRejected, Subject::StockRejected, order_id);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ShipmentCreated {
    pub order_id: Id,
}
payload!(ShipmentCreated, Subject::ShipmentCreated, order_id);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pending,
    Cancelled,
    Shipped,
}

/// A document as a store's change stream shows it.
#[derive(Clone, Debug)]
pub enum Doc {
    Order { id: Id, version: u64, status: Status, item: Id, quantity: u32 },
    Stock { item: Id, left: u32 },
    Reservation { order: Id, item: Id, quantity: u32 },
    Shipment { order: Id },
    Outbox(Sent),
}

impl From<Sent> for Doc {
    fn from(sent: Sent) -> Doc {
        Doc::Outbox(sent)
    }
}

impl std::fmt::Display for Doc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Doc::Order { id, version, status, item, quantity } => write!(f, "order {id} v{version} {status:?} {quantity} x {item}"),
            Doc::Stock { item, left } => write!(f, "stock of {item}: {left} left"),
            Doc::Reservation { order, item, quantity } => write!(f, "reservation of {quantity} x {item} for {order}"),
            Doc::Shipment { order } => write!(f, "shipment of {order}"),
            Doc::Outbox(sent) => write!(f, "{sent}"),
        }
    }
}

/// The app's types, for the kit.
#[derive(Clone, Debug)]
pub struct ShopApp;

impl ticketsim::kit::App for ShopApp {
    type Subject = Subject;
    type Doc = Doc;
    type Note = std::convert::Infallible;
    type Config = bool;

    fn unsent(doc: &Doc) -> Option<&Id> {
        match doc {
            Doc::Outbox(Sent { event_id, sent_to: None, .. }) => Some(event_id),
            _ => None,
        }
    }
}

type Event = ticketsim::kit::Event<ShopApp>;
type Obs = ticketsim::kit::obs::Obs<ShopApp>;
type Message = ticketsim::kit::Message<ShopApp>;

// ---- The orders service.

#[derive(Clone, Debug)]
pub struct Order {
    pub id: Id,
    pub version: u64,
    pub status: Status,
    pub item: Id,
    pub quantity: u32,
}
ticketsim::impl_doc!(Order: Doc, |o| Doc::Order {
    id: o.id.clone(),
    version: o.version,
    status: o.status,
    item: o.item.clone(),
    quantity: o.quantity
});

#[derive(Default)]
pub struct OrdersDb {
    pub orders: Collection<Order>,
    next_id: Counter,
    outbox: Outbox<ShopApp>,
}
ticketsim::journal!(OrdersDb: Doc; orders, outbox; next_id);

impl HasOutbox<ShopApp> for OrdersDb {
    fn outbox(&mut self) -> &mut Outbox<ShopApp> {
        &mut self.outbox
    }
}

struct Orders {
    db: Db<OrdersDb>,
    emit: Emit<ShopApp>,
}

impl HttpService for Orders {
    fn handle(self: Arc<Self>, req: Arc<HttpRequest>) -> BoxFuture<HttpResponse> {
        Box::pin(async move {
            let item = req.field("item").and_then(|i| i.as_str()).filter(|i| !i.is_empty()).map(Id::from);
            let quantity = req.field("quantity").and_then(|q| q.as_u64()).filter(|q| (1..=5).contains(q));
            let (Some(item), Some(quantity)) = (item, quantity) else {
                return HttpResponse::invalid(req.id, &[("item", "an item and a quantity of 1 to 5 are required")]);
            };
            let (id, staged) = self
                .db
                .tx("place", |s| {
                    let id: Id = format!("O{}", s.next_id.next_value()).into();
                    let order =
                        Order { id: id.clone(), version: 0, status: Status::Pending, item: item.clone(), quantity: quantity as u32 };
                    s.orders.insert(order).expect("a fresh id");
                    let mut staged = Staged::default();
                    let placed = Event::new(&OrderPlaced { id: id.clone(), item, quantity: quantity as u32 });
                    self.emit.stage(&mut s.outbox, &mut staged, placed);
                    (id, staged)
                })
                .await;
            self.emit.publish(&self.db, staged);
            HttpResponse::ok(req.id, 201, serde_json::json!({ "id": id }))
        })
    }
}

/// Moves a pending order to `to`; an order already settled is left as it is (the
/// event was handled before).
async fn settle(db: &Db<OrdersDb>, order: &str, to: Status) -> Result<(), HandlerError> {
    db.tx("settle", |s| match s.orders.find(order) {
        None => Err(HandlerError::new(format!("order {order} not found"))),
        Some(o) if o.status != Status::Pending => Ok(()),
        Some(o) => s.orders.save(Order { status: to, ..o }).map(|_| ()).map_err(|e| HandlerError::new(e.to_string())),
    })
    .await
}

struct ShipmentCreatedListener(Db<OrdersDb>);

impl Listener for ShipmentCreatedListener {
    type Event = ShipmentCreated;
    fn on_message(self: Arc<Self>, data: ShipmentCreated) -> BoxFuture<Result<(), HandlerError>> {
        Box::pin(async move { settle(&self.0, &data.order_id, Status::Shipped).await })
    }
}

struct StockRejectedListener(Db<OrdersDb>);

impl Listener for StockRejectedListener {
    type Event = StockRejected;
    fn on_message(self: Arc<Self>, data: StockRejected) -> BoxFuture<Result<(), HandlerError>> {
        Box::pin(async move { settle(&self.0, &data.order_id, Status::Cancelled).await })
    }
}

// ---- The inventory service.

#[derive(Clone, Debug)]
pub struct Stock {
    pub item: Id,
    pub left: u32,
}

impl Row for Stock {
    type Key = Id;
    type Doc = Doc;
    fn key(&self) -> Id {
        self.item.clone()
    }
    fn snapshot(&self) -> Doc {
        Doc::Stock { item: self.item.clone(), left: self.left }
    }
}

#[derive(Clone, Debug)]
pub struct Reservation {
    pub order: Id,
    pub item: Id,
    pub quantity: u32,
}

impl Row for Reservation {
    type Key = Id;
    type Doc = Doc;
    fn key(&self) -> Id {
        self.order.clone()
    }
    fn snapshot(&self) -> Doc {
        Doc::Reservation { order: self.order.clone(), item: self.item.clone(), quantity: self.quantity }
    }
}

#[derive(Default)]
pub struct InventoryDb {
    pub stock: Table<Stock>,
    pub reservations: Table<Reservation>,
    outbox: Outbox<ShopApp>,
}
ticketsim::journal!(InventoryDb: Doc; stock, reservations, outbox);

impl HasOutbox<ShopApp> for InventoryDb {
    fn outbox(&mut self) -> &mut Outbox<ShopApp> {
        &mut self.outbox
    }
}

impl InventoryDb {
    /// The shop's stock at the start (not a write of the run).
    fn stocked(stock: &BTreeMap<String, u32>) -> InventoryDb {
        let mut db = InventoryDb::default();
        for (item, left) in stock {
            db.stock.upsert(Stock { item: item.as_str().into(), left: *left });
        }
        let _ = ticketsim::harness::store::Journal::take_changes(&mut db);
        db
    }
}

struct OrderPlacedListener {
    db: Db<InventoryDb>,
    emit: Emit<ShopApp>,
    double_reserve: bool,
}

impl Listener for OrderPlacedListener {
    type Event = OrderPlaced;
    fn on_message(self: Arc<Self>, data: OrderPlaced) -> BoxFuture<Result<(), HandlerError>> {
        Box::pin(async move {
            let staged = self
                .db
                .tx("reserve", |s| {
                    let mut staged = Staged::default();
                    // Flaw double-reserve: as built, a redelivered order takes its stock again.
                    if !consulted(DOUBLE_RESERVE, self.double_reserve) && s.reservations.get(&data.id).is_some() {
                        return staged;
                    }
                    let left = s.stock.get(&data.item).map_or(0, |stock| stock.left);
                    let event = if left >= data.quantity {
                        s.stock.upsert(Stock { item: data.item.clone(), left: left - data.quantity });
                        s.reservations.upsert(Reservation { order: data.id.clone(), item: data.item.clone(), quantity: data.quantity });
                        Event::new(&StockReserved { order_id: data.id.clone() })
                    } else {
                        Event::new(&StockRejected { order_id: data.id.clone() })
                    };
                    self.emit.stage(&mut s.outbox, &mut staged, event);
                    staged
                })
                .await;
            self.emit.publish_awaited(&self.db, staged).await
        })
    }
}

// ---- The shipping service.

#[derive(Clone, Debug)]
pub struct Shipment {
    pub order: Id,
}

impl Row for Shipment {
    type Key = Id;
    type Doc = Doc;
    fn key(&self) -> Id {
        self.order.clone()
    }
    fn snapshot(&self) -> Doc {
        Doc::Shipment { order: self.order.clone() }
    }
}

#[derive(Default)]
pub struct ShippingDb {
    pub shipments: Table<Shipment>,
    outbox: Outbox<ShopApp>,
}
ticketsim::journal!(ShippingDb: Doc; shipments, outbox);

impl HasOutbox<ShopApp> for ShippingDb {
    fn outbox(&mut self) -> &mut Outbox<ShopApp> {
        &mut self.outbox
    }
}

struct StockReservedListener {
    db: Db<ShippingDb>,
    emit: Emit<ShopApp>,
}

impl Listener for StockReservedListener {
    type Event = StockReserved;
    fn on_message(self: Arc<Self>, data: StockReserved) -> BoxFuture<Result<(), HandlerError>> {
        Box::pin(async move {
            let staged = self
                .db
                .tx("ship", |s| {
                    let mut staged = Staged::default();
                    if s.shipments.get(&data.order_id).is_none() {
                        s.shipments.upsert(Shipment { order: data.order_id.clone() });
                        self.emit.stage(&mut s.outbox, &mut staged, Event::new(&ShipmentCreated { order_id: data.order_id.clone() }));
                    }
                    staged
                })
                .await;
            self.emit.publish_awaited(&self.db, staged).await
        })
    }
}

// ---- The system: the world, the workload, the final state, the invariants.

/// Who consumes what: each subject's queue groups.
const CONSUMERS: &[(Subject, Group)] = &[
    (Subject::OrderPlaced, "inventory-service"),
    (Subject::StockReserved, "shipping-service"),
    (Subject::StockRejected, "orders-service"),
    (Subject::ShipmentCreated, "orders-service"),
];

const STORE_LATENCY: (Duration, Duration) = (Duration::from_millis(1), Duration::from_millis(5));

pub struct Shop {
    scenario: ShopScenario,
    broker: Broker<ShopApp>,
    client: Arc<Client<ShopApp>>,
    choices: Choices,
    stores: Stores,
    /// How many times faster than the scenario's the orders come (the rush strategy's pace).
    pace: u32,
}

/// The three services' stores, read for the final state.
struct Stores {
    orders: Db<OrdersDb>,
    inventory: Db<InventoryDb>,
    shipping: Db<ShippingDb>,
}

/// What a run leaves: each order's status, the stock left, what the broker still owes.
pub struct Final {
    pub orders: Vec<(Id, Status)>,
    pub stock: BTreeMap<Id, u32>,
    pub shipments: Vec<Id>,
    pub outstanding: Vec<Outstanding<Subject>>,
}

fn service(name: &'static str, group: Group, instances: u32, flaw: bool, start: deploy::Starter<ShopApp>) -> deploy::Service<ShopApp> {
    deploy::Service { name, group, instances, outbox: true, config: flaw, client: Default::default(), start }
}

impl Shop {
    /// Declares the three services; returns the orders service's nodes (the only one
    /// users reach) and the stores.
    fn services(s: &ShopScenario, world: &mut World<ShopApp>, broker: NodeId) -> (Vec<NodeId>, Stores) {
        let orders = world.store("orders", OrdersDb::default(), STORE_LATENCY);
        let inventory = world.store("inventory", InventoryDb::stocked(&s.stock), STORE_LATENCY);
        let shipping = world.store("shipping", ShippingDb::default(), STORE_LATENCY);
        let db = orders.clone();
        let start: deploy::Starter<ShopApp> = Arc::new(move |env: &InstanceEnv<ShopApp>| {
            let db = db.on(&env.name);
            env.relay(&db);
            let http = Arc::new(Orders { db: db.clone(), emit: env.emit() });
            env.start(Some(http), |nats| {
                listen(nats, ShipmentCreatedListener(db.clone()));
                listen(nats, StockRejectedListener(db.clone()));
            })
        });
        let nodes = deploy::instances(world, broker, service("orders", "orders-service", 1, false, start));
        let db = inventory.clone();
        let start: deploy::Starter<ShopApp> = Arc::new(move |env: &InstanceEnv<ShopApp>| {
            let db = db.on(&env.name);
            env.relay(&db);
            let listener = OrderPlacedListener { db: db.clone(), emit: env.emit(), double_reserve: env.app };
            env.start(None, |nats| listen(nats, listener))
        });
        deploy::instances(world, broker, service("inventory", "inventory-service", s.inventory_instances, s.double_reserve(), start));
        let db = shipping.clone();
        let start: deploy::Starter<ShopApp> = Arc::new(move |env: &InstanceEnv<ShopApp>| {
            let db = db.on(&env.name);
            env.relay(&db);
            env.start(None, |nats| listen(nats, StockReservedListener { db: db.clone(), emit: env.emit() }))
        });
        deploy::instances(world, broker, service("shipping", "shipping-service", 1, false, start));
        (nodes, Stores { orders, inventory, shipping })
    }
}

/// The users: order `i` is placed at `i / orders` of the phase (of its first 1/`pace` at
/// the rush strategy's pace; plus up to 100 ms), for an item and a quantity (1 or 2) the
/// seed picks.
async fn workload(client: Arc<Client<ShopApp>>, s: ShopScenario, choices: Choices, pace: u32) {
    let items: Vec<String> = s.stock.keys().cloned().collect();
    let mut tasks = Vec::new();
    for i in 0..s.orders {
        let (client, choices, items) = (client.clone(), choices.clone(), items.clone());
        let at = s.duration.0 * i / s.orders.max(1) / pace.max(1);
        tasks.push(cause::spawn(cause::labelled(("order", i), async move {
            let jitter = choices.duration(Site::Workload, key(&"jitter"), Duration::ZERO, Duration::from_millis(100));
            ticketsim::harness::sleep_until(at + jitter).await;
            let item = &items[choices.pick(Site::Workload, key(&"item"), items.len())];
            let quantity = 1 + choices.pick(Site::Workload, key(&"quantity"), 2);
            let body = serde_json::json!({ "item": item, "quantity": quantity });
            client.call(Some(format!("u{}", i + 1).into()), Method::Post, "/api/orders", body).await;
        })));
    }
    for task in tasks {
        let _ = task.await;
    }
}

impl System for Shop {
    type Scenario = ShopScenario;
    type Message = Message;
    type Obs = Obs;
    type Final = Final;

    fn options(s: &ShopScenario) -> SimOptions {
        let broker = BrokerConfig { ack_wait: s.ack_wait.0, ..Default::default() };
        SimOptions {
            network: NetworkOptions {
                drop_probability: s.drop_probability,
                duplicate_probability: s.duplicate_probability,
                ..Default::default()
            },
            nemesis: NemesisConfig { crashes: s.crashes, ..Default::default() },
            fault_phase: s.duration.0,
            quiet_phase: s.quiet.0,
            settle_window: deploy::longest_retry_period(&broker) + Duration::from_secs(1),
            budget: Budget { virtual_time: (s.duration.0 + s.quiet.0) * 2 + Duration::from_secs(60), events: 1_000_000 },
            strategy: s.strategy,
            ..Default::default()
        }
    }

    fn build(s: &ShopScenario, world: &mut World<ShopApp>) -> Arc<Shop> {
        let broker = Broker::<ShopApp>::declare(world, BrokerConfig { ack_wait: s.ack_wait.0, ..Default::default() });
        let (nodes, stores) = Shop::services(s, world, broker.node);
        const ROUTES: &[Route] = &[Route::new(Method::Post, "/api/orders")];
        let routed = vec![Routed { service: "orders", routes: ROUTES, instances: nodes }];
        let client = deploy::users(world, true, broker.node, routed, Duration::from_secs(5));
        Arc::new(Shop { scenario: s.clone(), broker, client, choices: world.choices(), stores, pace: world.pace() })
    }

    fn workload(self: Arc<Self>) -> BoxFuture {
        Box::pin(workload(self.client.clone(), self.scenario.clone(), self.choices.clone(), self.pace))
    }

    fn serving(&self, node: NodeId) -> bool {
        self.client.busy(node)
    }

    fn final_state(&self) -> Final {
        Final {
            orders: self.stores.orders.read(|s| s.orders.values().map(|o| (o.id.clone(), o.status)).collect()),
            stock: self.stores.inventory.read(|s| s.stock.values().map(|st| (st.item.clone(), st.left)).collect()),
            shipments: self.stores.shipping.read(|s| s.shipments.values().map(|sh| sh.order.clone()).collect()),
            outstanding: self.broker.outstanding(CONSUMERS),
        }
    }

    fn invariants() -> &'static [Invariant<Shop>] {
        INVARIANTS
    }

    fn simplifications(_: &ShopScenario, _liveness: bool) -> Vec<Simplification<ShopScenario>> {
        let fewer = |f: fn(&mut ShopScenario) -> bool| -> Simplification<ShopScenario> {
            Box::new(move |s: &ShopScenario| {
                let mut next = s.clone();
                f(&mut next).then_some(next)
            })
        };
        vec![
            fewer(|s| {
                s.orders > 1 && {
                    s.orders /= 2;
                    true
                }
            }),
            fewer(|s| {
                s.orders > 1 && {
                    s.orders -= 1;
                    true
                }
            }),
            fewer(|s| {
                s.crashes > 0 && {
                    s.crashes -= 1;
                    true
                }
            }),
            fewer(|s| {
                s.inventory_instances > 1 && {
                    s.inventory_instances -= 1;
                    true
                }
            }),
            fewer(|s| {
                s.drop_probability > 0.0 && {
                    s.drop_probability = 0.0;
                    true
                }
            }),
            fewer(|s| {
                s.duplicate_probability > 0.0 && {
                    s.duplicate_probability = 0.0;
                    true
                }
            }),
            fewer(|s| {
                s.duration.0 > Duration::from_secs(1) && {
                    s.duration.0 /= 2;
                    true
                }
            }),
        ]
    }

    fn is_valid(s: &ShopScenario) -> Result<(), String> {
        s.validate().map_err(|(key, message)| format!("{key}: {message}"))
    }

    fn reproduction(s: &ShopScenario) -> Option<&Reproduce> {
        s.reproduce.as_ref()
    }

    fn with_reproduction(s: &ShopScenario, reproduce: Option<Reproduce>) -> ShopScenario {
        ShopScenario { reproduce, ..s.clone() }
    }

    fn bug_switches(s: &ShopScenario) -> Vec<(String, ShopScenario)> {
        s.flaws
            .iter()
            .map(|f| (f.clone(), ShopScenario { flaws: s.flaws.iter().filter(|g| *g != f).cloned().collect(), ..s.clone() }))
            .collect()
    }

    fn without_bugs(s: &ShopScenario) -> ShopScenario {
        ShopScenario { flaws: Vec::new(), ..s.clone() }
    }

    fn record_states(f: &Final) -> BTreeMap<String, String> {
        let mut states = BTreeMap::new();
        f.orders.iter().for_each(|(id, status)| drop(states.insert(format!("order {id}"), format!("{status:?}"))));
        f.stock.iter().for_each(|(item, left)| drop(states.insert(format!("stock {item}"), format!("{left} left"))));
        f.shipments.iter().for_each(|order| drop(states.insert(format!("shipment {order}"), "shipped".into())));
        states
    }
}

// ---- The invariants.

const INVARIANTS: &[Invariant<Shop>] = &[
    Invariant {
        name: "stock-conserved",
        meaning: "at every inventory write, an item's stock left plus what is reserved of it is what was stocked",
        kind: InvariantKind::Safety,
        applies: |_| true,
        check: stock_conserved,
    },
    Invariant {
        name: "every-order-settles",
        meaning: "once the shop has settled, every order is shipped or cancelled",
        kind: InvariantKind::Liveness,
        applies: |_| true,
        check: every_order_settles,
    },
    Invariant {
        name: "no-lost-events",
        meaning: "every event written to an outbox reaches the broker, and every consumer processes it",
        kind: InvariantKind::Liveness,
        applies: |_| true,
        check: |c| ticketsim::kit::invariants::no_lost_events::<ShopApp>(c.entries, |_, _| None, &consumers()),
    },
    Invariant {
        name: "no-poison-messages",
        meaning: "no message is left unacknowledged, redelivered for ever",
        kind: InvariantKind::Liveness,
        applies: |_| true,
        check: |c| ticketsim::kit::invariants::no_poison_messages::<ShopApp>(c.entries, &c.final_state.outstanding, c.end),
    },
];

fn consumers() -> BTreeMap<Subject, Vec<Group>> {
    let mut by_subject: BTreeMap<Subject, Vec<Group>> = BTreeMap::new();
    CONSUMERS.iter().for_each(|(subject, group)| by_subject.entry(*subject).or_default().push(group));
    by_subject
}

fn stock_conserved(c: &Check<Shop>) -> Vec<Violation> {
    let stocked: BTreeMap<Id, u32> = c.scenario.stock.iter().map(|(item, n)| (Id::from(item.as_str()), *n)).collect();
    let mut left = stocked.clone();
    let mut reserved: BTreeMap<Id, (Id, u32)> = BTreeMap::new();
    let mut violations = Vec::new();
    let mut reported = std::collections::BTreeSet::new();
    for entry in c.entries.iter().filter(|e: &&Entry<Obs>| e.store_call().is_some_and(|(store, _)| store == "inventory")) {
        for doc in entry.wrote() {
            match doc {
                Doc::Stock { item, left: n } => drop(left.insert(item.clone(), *n)),
                Doc::Reservation { order, item, quantity } => drop(reserved.insert(order.clone(), (item.clone(), *quantity))),
                _ => {}
            }
        }
        for (item, stocked) in &stocked {
            let holders: Vec<(&Id, u32)> = reserved.iter().filter(|(_, (i, _))| i == item).map(|(o, (_, q))| (o, *q)).collect();
            let held: u32 = holders.iter().map(|(_, q)| q).sum();
            let now = left.get(item).copied().unwrap_or(0);
            if now + held != *stocked && reported.insert(item.clone()) {
                // The item is quoted, so that one bug on any item has one fingerprint.
                violations.push(Violation::new(
                    "stock-conserved",
                    entry.time,
                    std::iter::once(item.to_string()).chain(holders.iter().map(|(o, _)| o.to_string())).collect(),
                    format!("\"{item}\": {now} left and {held} reserved make {}, but {stocked} were stocked", now + held),
                ));
            }
        }
    }
    violations
}

fn every_order_settles(c: &Check<Shop>) -> Vec<Violation> {
    c.final_state
        .orders
        .iter()
        .filter(|(_, status)| *status == Status::Pending)
        .map(|(id, _)| {
            Violation::new("every-order-settles", c.end, vec![id.to_string()], format!("order {id} is still pending at the end"))
        })
        .collect()
}

// ---- The command line: how scenario files are read and written, and the flaw switch.

impl Driven for Shop {
    const PROGRAM: &'static str = "shop";
    const ABOUT: &'static str = "The shop's order saga (orders, inventory, shipping) on ticketsim's kit";

    fn shipped() -> &'static [(&'static str, &'static str)] {
        &[("saga", SAGA)]
    }

    fn parse(file: &str, text: &str) -> Result<ShopScenario, String> {
        let line_of = |at: usize| text[..at.min(text.len())].matches('\n').count() + 1;
        let scenario: ShopScenario = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(String::new(), |span| format!(":{}", line_of(span.start)));
            format!("{file}{line}: {}", e.message().trim())
        })?;
        scenario.validate().map_err(|(key, message)| {
            let line = text.lines().position(|l| l.trim_start().starts_with(key)).map_or(String::new(), |n| format!(":{}", n + 1));
            format!("{file}{line}: key `{key}`: {message}")
        })?;
        Ok(scenario)
    }

    fn to_file(s: &ShopScenario) -> Result<String, String> {
        toml::to_string(s).map_err(|e| format!("cannot write scenario {}: {e}", s.name))
    }

    fn name(s: &ShopScenario) -> &str {
        &s.name
    }

    fn switches() -> Vec<&'static str> {
        vec![DOUBLE_RESERVE]
    }

    fn set_switch(s: &mut ShopScenario, name: &str, on: bool) {
        s.flaws.retain(|f| f != name);
        if on {
            s.flaws.push(name.to_string());
        }
    }

    fn set_strategy(s: &mut ShopScenario, strategy: Strategy) {
        s.strategy = strategy;
    }
}
