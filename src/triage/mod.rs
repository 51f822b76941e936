//! On-call triage: what is wrong, since when, and the evidence to paste
//! into a ticket.
//!
//! * [`health`]: one line per cluster, worst first: `HEALTHY`, `DEGRADED`
//!   or `DOWN` with the reasons in words ([`health::summarize`]); a
//!   [`health::HealthTracker`] remembers since when members are down.
//! * [`events`]: the event timeline, derived by diffing consecutive
//!   snapshots ([`events::EventRecorder`]) and kept as JSON lines in
//!   `<state_dir>/events.jsonl` ([`events::Timeline`]).
//! * [`logs`]: PostgreSQL / Patroni / pgbouncer logs of an instance over SSH
//!   (last lines, a time window, error lines, follow).
//! * [`activity`]: `pg_stat_activity` sessions over SSH, cancel / terminate.
//! * [`report`]: the Markdown incident report of one cluster.

pub mod activity;
pub mod events;
pub mod health;
pub mod logs;
pub mod report;
pub mod time;

pub use events::{
    Event, EventKind, EventRecorder, Timeline, TriageState, spawn_recorder, spawn_triage,
};
pub use health::{ClusterHealth, HealthLevel, HealthTracker, summarize};
