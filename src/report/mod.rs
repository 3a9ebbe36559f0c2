//! Reports over runs and sweeps: terminal tables ([`text`]), JUnit XML ([`junit`]),
//! and message diagrams ([`diagram`]). JSON is serde over the same values.

pub mod diagram;
pub mod json;
pub mod junit;
pub mod merge;
pub mod style;
pub mod text;

pub use text::{replay_command, Overrides};
