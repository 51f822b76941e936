//! Live state merged from every source into one immutable picture.
//!
//! Until pollers exist every live fact is unknown.

use std::time::SystemTime;

/// Live health of one service on one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    #[default]
    Unknown,
    Up,
    Down,
}

/// What is known live about one service (node IP + port).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceObservation {
    pub health: Health,
    /// Round-trip latency of the last successful probe.
    pub latency: Option<std::time::Duration>,
    /// When it was observed.
    pub observed_at: Option<SystemTime>,
    /// The error of the last failed probe.
    pub error: Option<String>,
}

/// The newest merged picture of the deployment's live state.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub services: std::collections::HashMap<(String, u16), ServiceObservation>,
}

impl Snapshot {
    /// A snapshot that knows nothing yet.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Live state of the service on `ip:port`, `Unknown` when never observed.
    pub fn service(&self, ip: &str, port: u16) -> ServiceObservation {
        self.services
            .get(&(ip.to_string(), port))
            .cloned()
            .unwrap_or_default()
    }
}
