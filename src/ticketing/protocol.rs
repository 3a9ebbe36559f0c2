//! What crosses the ticketing app's network: the kit's HTTP-like requests and
//! responses and its broker protocol, carrying ticketing events.

pub use crate::kit::protocol::{ClientId, HttpRequest, HttpResponse, Method};

/// Everything that crosses the fabric.
pub type Message = crate::kit::Message<super::domain::TicketingApp>;
