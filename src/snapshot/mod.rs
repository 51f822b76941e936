//! Live state merged from every source into one immutable picture.
//!
//! The merger (`crate::sources`) owns a [`State`], applies each batch of
//! observations to it and builds a [`Snapshot`] from it, which it publishes
//! as `Arc<Snapshot>`. Every live fact carries its source and age; facts
//! older than three poll intervals are flagged `stale`. [`status_json`]
//! renders the `status --format json` document.

mod findings;
mod json;
mod merge;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Serialize, Serializer};

pub use findings::{Finding, FindingKind, Opinion, Severity, detect as detect_findings};
pub use json::status_json;
pub use merge::State;

use crate::sources::SourceKind;
use crate::sources::alertmanager::Alert;
use crate::sources::consul::ConsulService;
use crate::sources::dcs::DcsMember;
use crate::sources::haproxy::ServerStat;
use crate::sources::patroni::{HistoryEntry, Replication};
use crate::sources::prometheus::SeriesKind;

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
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ServiceObservation {
    pub health: Health,
    /// Round-trip latency of the last successful probe.
    #[serde(serialize_with = "ser_opt_ms", rename = "latency_ms")]
    pub latency: Option<Duration>,
    /// When it was observed.
    #[serde(serialize_with = "ser_opt_time")]
    pub observed_at: Option<SystemTime>,
    /// The error of the last failed probe.
    pub error: Option<Arc<str>>,
    /// The source that probed it (`probe 127.0.0.11`).
    pub source: Option<Arc<str>>,
    /// UDP services are not probed.
    pub not_probed: bool,
    /// Status of the HTTP health check, when the service has one.
    pub http_status: Option<u16>,
    /// Consul's opinion (its health checks), when Consul registers it.
    pub consul: Option<Health>,
    /// Prometheus' `up` for this `ip:port` scrape target.
    pub prometheus_up: Option<bool>,
    /// Older than three poll intervals.
    pub stale: bool,
}

impl ServiceObservation {
    /// `up`, `down`, `unknown` or `not_probed`.
    pub fn status_str(&self) -> &'static str {
        if self.not_probed {
            return "not_probed";
        }
        match self.health {
            Health::Up => "up",
            Health::Down => "down",
            Health::Unknown => "unknown",
        }
    }
}

/// A live value with where it came from and how old it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fact<T> {
    pub value: T,
    /// The source's name (`patroni 127.0.0.11:8008`, `etcd watch /pg/`, …).
    pub source: Arc<str>,
    #[serde(serialize_with = "ser_time")]
    pub observed_at: SystemTime,
    /// Age when the snapshot was built.
    pub age_ms: u64,
    /// Older than three poll intervals.
    pub stale: bool,
}

impl<T> Fact<T> {
    pub fn fresh(&self) -> Option<&T> {
        (!self.stale).then_some(&self.value)
    }
}

/// A cluster's leader in the eyes of each source.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LeaderViews {
    /// The member whose own `/patroni` says leader (standby_leader).
    pub patroni: Option<Fact<String>>,
    /// The DCS leader key.
    pub dcs: Option<Fact<String>>,
    /// Who `/cluster` (asked of a member) calls leader.
    pub cluster_api: Option<Fact<String>>,
    /// Prometheus' `pg:cls:leader` (or its fallbacks).
    pub prometheus: Option<Fact<String>>,
}

/// Prometheus' view of one instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PromInstance {
    pub pg_up: Option<f64>,
    pub in_recovery: Option<f64>,
    /// `pg:ins:status`: 3 primary up, 2 replica up, below 2 down.
    pub status: Option<f64>,
    pub lag_bytes: Option<f64>,
    pub lag_seconds: Option<f64>,
    #[serde(serialize_with = "ser_opt_time")]
    pub observed_at: Option<SystemTime>,
    pub stale: bool,
}

/// One member of a cluster, live.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MemberLive {
    pub name: String,
    pub ip: Option<String>,
    /// Declared in the inventory (else only seen live).
    pub declared: bool,
    /// Patroni's role: leader | standby_leader | sync_standby | replica | …;
    /// `None` (shown `unknown`) when Patroni is unreachable.
    pub role: Option<Fact<String>>,
    /// Patroni's state (running, starting, stopped, …), or `unreachable`.
    pub state: Option<Fact<String>>,
    pub timeline: Option<Fact<u64>>,
    pub lag_bytes: Option<Fact<u64>>,
    pub lag_seconds: Option<Fact<f64>>,
    pub pending_restart: Option<Fact<bool>>,
    pub paused: Option<Fact<bool>>,
    /// WAL position (primary: current; replica: replayed).
    pub wal_position: Option<Fact<u64>>,
    /// pg_stat_replication on this member (from `/patroni`).
    pub replication: Vec<Replication>,
    /// Whether the leader's `replication[]` shows this replica streaming
    /// (`None` for the leader, or when the leader's view is unknown).
    pub streaming: Option<bool>,
    pub dcs_last_seen: Option<i64>,
    pub patroni_version: Option<String>,
    /// Patroni's tags (`nofailover`, `noloadbalance`, `clonefrom`,
    /// `nosync`, …) as `/cluster` lists them, when known.
    pub tags: Option<serde_json::Value>,
    /// Whether its Patroni API answered last time (`None`: not polled yet).
    pub reachable: Option<bool>,
    /// Why its Patroni API did not answer.
    pub error: Option<String>,
    /// Why its `/cluster` failed while `/patroni` answered (DCS down, …).
    pub cluster_error: Option<String>,
    /// The DCS' member key.
    pub dcs: Option<DcsMember>,
    pub prometheus: PromInstance,
}

impl MemberLive {
    /// The live role, `unknown` when not known.
    pub fn role_str(&self) -> &str {
        self.role.as_ref().map_or("unknown", |f| f.value.as_str())
    }

    pub fn is_leader(&self) -> bool {
        matches!(self.role_str(), "leader" | "standby_leader")
    }
}

/// Where one HAProxy service sends its connections.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceRouting {
    /// Service name (`primary`, `replica`, …).
    pub service: String,
    pub port: Option<u16>,
    /// HAProxy proxy (`pg-test-primary`).
    pub proxy: String,
    /// IP of the HAProxy node reporting it.
    pub haproxy: String,
    pub backend_status: Option<String>,
    /// Servers taking connections.
    pub routes_to: Vec<String>,
    pub servers: Vec<ServerStat>,
    pub source: Arc<str>,
    #[serde(serialize_with = "ser_time")]
    pub observed_at: SystemTime,
    pub stale: bool,
}

/// A sparkline: one instance's series of one kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sparkline {
    pub kind: SeriesKind,
    pub instance: String,
    /// Values, oldest first, one per step; shared with the merger's state
    /// and the other snapshots.
    pub values: Arc<[f32]>,
}

/// One cluster, live.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClusterLive {
    pub name: String,
    pub leader: LeaderViews,
    /// Declared instances in order, then members only seen live.
    pub members: Vec<MemberLive>,
    /// Timeline history, oldest first (capped).
    pub history: Vec<HistoryEntry>,
    pub history_source: Option<Arc<str>>,
    pub paused: Option<Fact<bool>>,
    /// Highest timeline among members (or Prometheus' `pg:cls:timeline`).
    pub timeline: Option<Fact<u64>>,
    pub sync_standby: Vec<String>,
    pub routing: Vec<ServiceRouting>,
    pub sparklines: Vec<Sparkline>,
    pub alerts: Vec<Alert>,
}

impl ClusterLive {
    /// The leader: Patroni's view, else the DCS', else `/cluster`'s.
    pub fn leader(&self) -> Option<&str> {
        self.leader
            .patroni
            .as_ref()
            .or(self.leader.dcs.as_ref())
            .or(self.leader.cluster_api.as_ref())
            .map(|f| f.value.as_str())
    }

    pub fn member(&self, name: &str) -> Option<&MemberLive> {
        self.members.iter().find(|m| m.name == name)
    }
}

/// Health of one source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceStatus {
    pub name: Arc<str>,
    pub kind: SourceKind,
    /// Whether the last attempt succeeded.
    pub ok: bool,
    #[serde(serialize_with = "ser_opt_time")]
    pub last_success: Option<SystemTime>,
    #[serde(serialize_with = "ser_opt_time")]
    pub last_attempt: Option<SystemTime>,
    pub last_error: Option<String>,
    #[serde(serialize_with = "ser_opt_time")]
    pub last_error_at: Option<SystemTime>,
    /// Duration of the last attempt.
    #[serde(serialize_with = "ser_opt_ms", rename = "latency_ms")]
    pub latency: Option<Duration>,
    /// Consecutive failures.
    pub failures: u32,
    /// Next attempt in (longer while backing off).
    #[serde(serialize_with = "ser_opt_ms", rename = "next_in_ms")]
    pub next_in: Option<Duration>,
    /// Age of the last success when the snapshot was built.
    pub age_ms: Option<u64>,
}

/// The newest merged picture of the deployment's live state.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshot {
    /// Increases with every merge.
    pub seq: u64,
    #[serde(serialize_with = "ser_opt_time")]
    pub taken_at: Option<SystemTime>,
    #[serde(serialize_with = "ser_ms", rename = "interval_ms")]
    pub interval: Duration,
    pub services: ServiceMap,
    pub clusters: Vec<ClusterLive>,
    pub findings: Vec<Finding>,
    pub sources: Vec<SourceStatus>,
    pub alerts: Vec<Alert>,
    /// Consul's catalog with health (Consul deployments).
    pub consul_services: Vec<ConsulService>,
}

impl Snapshot {
    /// A snapshot that knows nothing yet.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Live state of the service on `ip:port`, `Unknown` when never observed.
    pub fn service(&self, ip: &str, port: u16) -> ServiceObservation {
        self.services.get(ip, port).cloned().unwrap_or_default()
    }

    pub fn cluster(&self, name: &str) -> Option<&ClusterLive> {
        self.clusters.iter().find(|c| c.name == name)
    }

    /// A member of any cluster, by instance name.
    pub fn member(&self, name: &str) -> Option<&MemberLive> {
        self.clusters.iter().find_map(|c| c.member(name))
    }

    pub fn source(&self, name: &str) -> Option<&SourceStatus> {
        self.sources.iter().find(|s| &*s.name == name)
    }

    /// Sources of one kind.
    pub fn sources_of(&self, kind: SourceKind) -> impl Iterator<Item = &SourceStatus> {
        self.sources.iter().filter(move |s| s.kind == kind)
    }
}

/// RFC 3339 UTC, e.g. `2026-11-26T05:20:33.016Z`.
pub fn rfc3339(t: SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn ser_time<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*t))
}

fn ser_opt_time<S: Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&rfc3339(*t)),
        None => s.serialize_none(),
    }
}

fn ser_ms<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

fn ser_opt_ms<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64((d.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0),
        None => s.serialize_none(),
    }
}

/// What is known of every service, by node: a node's services are a few
/// ports in a short list (no key per service: a large deployment has ten
/// thousand of them in every snapshot).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceMap(HashMap<String, Vec<(u16, ServiceObservation)>>);

impl ServiceMap {
    /// Room for `nodes` nodes.
    pub fn with_nodes(nodes: usize) -> Self {
        ServiceMap(HashMap::with_capacity(nodes))
    }

    pub fn get(&self, ip: &str, port: u16) -> Option<&ServiceObservation> {
        let ports = self.0.get(ip)?;
        ports.iter().find(|(p, _)| *p == port).map(|(_, o)| o)
    }

    pub fn get_mut(&mut self, ip: &str, port: u16) -> Option<&mut ServiceObservation> {
        let ports = self.0.get_mut(ip)?;
        ports.iter_mut().find(|(p, _)| *p == port).map(|(_, o)| o)
    }

    /// The observation of `ip:port`, made (unknown) when missing.
    pub fn entry(&mut self, ip: &str, port: u16) -> &mut ServiceObservation {
        if !self.0.contains_key(ip) {
            self.0.insert(ip.to_string(), Vec::new());
        }
        let ports = self.0.get_mut(ip).expect("inserted above");
        let i = match ports.iter().position(|(p, _)| *p == port) {
            Some(i) => i,
            None => {
                ports.push((port, ServiceObservation::default()));
                ports.len() - 1
            }
        };
        &mut ports[i].1
    }

    /// Set the observation of `ip:port` (replacing any).
    pub fn insert(&mut self, (ip, port): (String, u16), obs: ServiceObservation) {
        *self.entry(&ip, port) = obs;
    }

    /// Every `(ip, port)` with its observation, in no order.
    pub fn iter(&self) -> impl Iterator<Item = ((&str, u16), &ServiceObservation)> {
        self.0
            .iter()
            .flat_map(|(ip, ports)| ports.iter().map(move |(p, o)| ((ip.as_str(), *p), o)))
    }

    /// Every `(ip, port)` with its observation, by IP and port.
    pub fn sorted(&self) -> Vec<((&str, u16), &ServiceObservation)> {
        let mut v: Vec<_> = self.iter().collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Give back the room the lists grew into (a snapshot lives a while).
    pub fn shrink_to_fit(&mut self) {
        for ports in self.0.values_mut() {
            ports.shrink_to_fit();
        }
    }

    /// How many services.
    pub fn len(&self) -> usize {
        self.0.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.values().all(Vec::is_empty)
    }
}

impl Serialize for ServiceMap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Row<'a> {
            ip: &'a str,
            port: u16,
            status: &'static str,
            #[serde(flatten)]
            obs: &'a ServiceObservation,
        }
        s.collect_seq(self.sorted().into_iter().map(|((ip, port), obs)| Row {
            ip,
            port,
            status: obs.status_str(),
            obs,
        }))
    }
}

#[cfg(test)]
mod tests;
