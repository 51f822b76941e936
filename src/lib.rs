//! pigsty-tui: a terminal operations console for Pigsty deployments.
//!
//! Data flows one way: `inventory` reads the declared deployment into the
//! `model`; `sources` poll live services and emit observations; `snapshot`
//! merges them into one immutable picture; `ui` renders the newest snapshot.
//! Operator intents become actions run by `tasks`.

pub mod actions;
pub mod app;
pub mod cli;
pub mod config;
pub mod encoding;
pub mod inventory;
pub mod logging;
pub mod memory;
pub mod model;
pub mod net_guard;
pub mod paths;
pub mod setup;
pub mod snapshot;
pub mod sources;
pub mod tasks;
pub mod triage;
pub mod ui;
