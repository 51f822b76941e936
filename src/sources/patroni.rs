//! Patroni's REST API, one source per member: `GET /patroni` (the member's
//! own truth), `GET /cluster` (the cluster as the member sees it through the
//! DCS) and, when the timeline moved, `GET /history`.
//!
//! When the DCS is down `/cluster` fails while `/patroni` still answers: the
//! report then carries the `/cluster` error and the member's own data.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use super::http::{Http, SourceError};
use crate::model::Credentials;

/// Where one member's REST API listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatroniEndpoint {
    pub cluster: String,
    /// The instance (Patroni member) name, `{cluster}-{seq}`.
    pub member: String,
    pub ip: String,
    pub port: u16,
}

impl PatroniEndpoint {
    /// `patroni 127.0.0.11:8008`.
    pub fn source_name(&self) -> String {
        format!("patroni {}", crate::model::host_port(&self.ip, self.port))
    }

    pub fn url(&self, path: &str) -> String {
        format!(
            "http://{}{path}",
            crate::model::host_port(&self.ip, self.port)
        )
    }
}

/// Replication lag as Patroni reports it: bytes, or `"unknown"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Lag {
    Bytes(u64),
    Unknown,
}

impl Lag {
    pub fn bytes(self) -> Option<u64> {
        match self {
            Lag::Bytes(b) => Some(b),
            Lag::Unknown => None,
        }
    }
}

impl<'de> Deserialize<'de> for Lag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Ok(match v {
            serde_json::Value::Number(n) => n
                .as_u64()
                .or_else(|| n.as_f64().map(|f| f.max(0.0) as u64))
                .map_or(Lag::Unknown, Lag::Bytes),
            serde_json::Value::String(s) => s.parse().map_or(Lag::Unknown, Lag::Bytes),
            _ => Lag::Unknown,
        })
    }
}

/// One member as `GET /cluster` lists it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct ClusterMember {
    pub name: String,
    /// leader | standby_leader | sync_standby | replica | … (`/cluster` wording).
    pub role: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub api_url: Option<String>,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub timeline: Option<u64>,
    /// Bytes behind the leader (Patroni < 4: the only lag field).
    #[serde(default)]
    pub lag: Option<Lag>,
    /// Patroni 4+: lag of received / replayed WAL.
    #[serde(default)]
    pub receive_lag: Option<Lag>,
    #[serde(default)]
    pub replay_lag: Option<Lag>,
    #[serde(default)]
    pub pending_restart: bool,
    #[serde(default)]
    pub tags: Option<serde_json::Value>,
}

impl ClusterMember {
    /// Bytes of replay lag, preferring the newer `replay_lag`.
    pub fn lag_bytes(&self) -> Option<u64> {
        self.replay_lag
            .and_then(Lag::bytes)
            .or_else(|| self.lag.and_then(Lag::bytes))
            .or_else(|| self.receive_lag.and_then(Lag::bytes))
    }
}

/// `GET /cluster`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct ClusterView {
    #[serde(default)]
    pub members: Vec<ClusterMember>,
    #[serde(default)]
    pub pause: bool,
    #[serde(default)]
    pub scope: Option<String>,
}

impl ClusterView {
    /// The member `/cluster` calls leader (or standby_leader).
    pub fn leader(&self) -> Option<&ClusterMember> {
        self.members
            .iter()
            .find(|m| m.role == "leader" || m.role == "standby_leader" || m.role == "master")
    }
}

/// `xlog` of `GET /patroni`: `location` on a primary, the others on replicas.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Xlog {
    #[serde(default)]
    pub location: Option<u64>,
    #[serde(default)]
    pub received_location: Option<u64>,
    #[serde(default)]
    pub replayed_location: Option<u64>,
    #[serde(default)]
    pub replayed_timestamp: Option<String>,
    #[serde(default)]
    pub paused: Option<bool>,
}

/// One row of `replication` in `GET /patroni` (pg_stat_replication).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Replication {
    #[serde(default)]
    pub usename: Option<String>,
    pub application_name: String,
    #[serde(default)]
    pub client_addr: Option<String>,
    /// streaming | catchup | startup | backup | stopping.
    #[serde(default)]
    pub state: Option<String>,
    /// async | sync | potential | quorum.
    #[serde(default)]
    pub sync_state: Option<String>,
    #[serde(default)]
    pub sync_priority: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct PatroniInfo {
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// `GET /patroni`: the member's own view of itself.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct MemberStatus {
    /// running | starting | stopped | crashed | restarting | unknown | …
    #[serde(default)]
    pub state: String,
    /// As sent: `master` (Patroni < 4), `primary` (4+), `replica`,
    /// `standby_leader`, … Use [`MemberStatus::role`] for the `/cluster` wording.
    #[serde(rename = "role", default)]
    pub raw_role: String,
    #[serde(default)]
    pub server_version: Option<u64>,
    #[serde(default)]
    pub postmaster_start_time: Option<String>,
    #[serde(default)]
    pub timeline: Option<u64>,
    #[serde(default)]
    pub xlog: Xlog,
    #[serde(default)]
    pub replication: Vec<Replication>,
    #[serde(default)]
    pub dcs_last_seen: Option<i64>,
    #[serde(default)]
    pub pending_restart: bool,
    #[serde(default)]
    pub pause: bool,
    #[serde(default)]
    pub cluster_unlocked: bool,
    #[serde(default)]
    pub sync_standby: bool,
    #[serde(default)]
    pub database_system_identifier: Option<String>,
    #[serde(default)]
    pub patroni: PatroniInfo,
}

impl MemberStatus {
    /// The role in `/cluster`'s words: leader | standby_leader |
    /// sync_standby | replica | … (`master`/`primary` become `leader`).
    pub fn role(&self) -> String {
        map_role(&self.raw_role, self.sync_standby)
    }

    /// Whether the member says it is the (standby) leader.
    pub fn claims_leader(&self) -> bool {
        // `role()` without its allocation: master/primary map to leader.
        matches!(
            self.raw_role.as_str(),
            "master" | "primary" | "leader" | "standby_leader"
        )
    }

    /// The WAL position: `location` on a primary, replayed on a replica.
    pub fn wal_position(&self) -> Option<u64> {
        self.xlog
            .location
            .or(self.xlog.replayed_location)
            .or(self.xlog.received_location)
    }
}

/// `/patroni`'s role in `/cluster`'s words.
pub fn map_role(raw: &str, sync_standby: bool) -> String {
    match raw {
        "master" | "primary" => "leader".into(),
        "replica" if sync_standby => "sync_standby".into(),
        "" => "unknown".into(),
        other => other.into(),
    }
}

/// One row of `GET /history`: `[timeline, lsn, reason, timestamp, new_leader]`
/// (older Patroni versions send only the first three or four).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    pub timeline: u64,
    pub lsn: u64,
    pub reason: String,
    pub timestamp: Option<String>,
    pub new_leader: Option<String>,
}

impl<'de> Deserialize<'de> for HistoryEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let row = Vec::<serde_json::Value>::deserialize(d)?;
        let num = |i: usize| -> Option<u64> {
            let v = row.get(i)?;
            v.as_u64()
                .or_else(|| v.as_f64().map(|f| f as u64))
                .or_else(|| v.as_str()?.parse().ok())
        };
        let text = |i: usize| row.get(i).and_then(|v| v.as_str()).map(str::to_string);
        Ok(HistoryEntry {
            timeline: num(0).ok_or_else(|| D::Error::custom("history row without a timeline"))?,
            lsn: num(1).unwrap_or(0),
            reason: text(2).unwrap_or_default(),
            timestamp: text(3),
            new_leader: text(4),
        })
    }
}

pub fn parse_cluster(source: &str, body: &[u8]) -> Result<ClusterView, SourceError> {
    super::http::parse_json(source, "GET /cluster", body)
}

pub fn parse_patroni(source: &str, body: &[u8]) -> Result<MemberStatus, SourceError> {
    super::http::parse_json(source, "GET /patroni", body)
}

pub fn parse_history(source: &str, body: &[u8]) -> Result<Vec<HistoryEntry>, SourceError> {
    super::http::parse_json(source, "GET /history", body)
}

/// Everything one poll of one member learnt.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberReport {
    pub endpoint: PatroniEndpoint,
    pub status: MemberStatus,
    /// `/cluster` as this member sees it, or why it failed (DCS down, …).
    pub cluster: Result<ClusterView, SourceError>,
    /// `/history`, when it was fetched this time.
    pub history: Option<Result<Vec<HistoryEntry>, SourceError>>,
}

/// The poller of one member; remembers the timeline its history is for.
#[derive(Debug)]
pub struct PatroniPoller {
    pub endpoint: PatroniEndpoint,
    name: String,
    http: Http,
    auth: Option<Credentials>,
    history_for: Option<u64>,
    last_timeline: Option<u64>,
    polls_since_history: u32,
    /// Whether `/history` is read at all.
    history: bool,
    /// The last poll failed: ask `/patroni` alone first (a dead member
    /// then costs one request, not two or three).
    failed: bool,
}

/// Re-read `/history` at least this often even when the timeline is steady.
const HISTORY_EVERY: u32 = 30;

impl PatroniPoller {
    pub fn new(endpoint: PatroniEndpoint, http: Http, auth: Option<Credentials>) -> Self {
        PatroniPoller {
            name: endpoint.source_name(),
            endpoint,
            http,
            auth,
            history_for: None,
            last_timeline: None,
            polls_since_history: 0,
            history: true,
            failed: false,
        }
    }

    /// Read `/history` (the default) or not (the DCS key has the same rows).
    pub fn with_history(mut self, history: bool) -> Self {
        self.history = history;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    async fn get(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        let url = self.endpoint.url(path);
        let r = self.http.get(&self.name, &url, self.auth.as_ref()).await?;
        Ok(r.require_success(&self.name, &format!("GET {path}"))?.body)
    }

    pub async fn poll(&mut self) -> Result<MemberReport, SourceError> {
        let r = self.poll_inner().await;
        self.failed = r.is_err();
        r
    }

    async fn poll_inner(&mut self) -> Result<MemberReport, SourceError> {
        if self.failed {
            // Down last time: check it answers before asking for the rest.
            let status = self.get("/patroni").await?;
            let status = parse_patroni(&self.name, &status)?;
            let cluster = self
                .get("/cluster")
                .await
                .and_then(|b| parse_cluster(&self.name, &b));
            return Ok(self.report(status, cluster, None));
        }
        let want_history = self.history
            && (self.history_for.is_none()
                || self.history_for != self.last_timeline
                || self.polls_since_history >= HISTORY_EVERY);
        let history = async {
            if want_history {
                Some(self.get("/history").await)
            } else {
                None
            }
        };
        let (status, cluster, history) =
            tokio::join!(self.get("/patroni"), self.get("/cluster"), history);
        let status = parse_patroni(&self.name, &status?)?;
        let cluster = cluster.and_then(|b| parse_cluster(&self.name, &b));
        let history = history.map(|h| h.and_then(|b| parse_history(&self.name, &b)));
        Ok(self.report(status, cluster, history))
    }

    fn report(
        &mut self,
        status: MemberStatus,
        cluster: Result<ClusterView, SourceError>,
        history: Option<Result<Vec<HistoryEntry>, SourceError>>,
    ) -> MemberReport {
        self.last_timeline = status.timeline;
        match &history {
            Some(Ok(_)) => {
                self.history_for = status.timeline;
                self.polls_since_history = 0;
            }
            _ => self.polls_since_history += 1,
        }
        MemberReport {
            endpoint: self.endpoint.clone(),
            status,
            cluster,
            history,
        }
    }
}

/// Default timeout of one Patroni request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::fixture;

    const SRC: &str = "patroni 127.0.0.11:8008";

    #[test]
    fn cluster_of_patroni_3_0_2() {
        let c = parse_cluster(SRC, &fixture("patroni/cluster.json")).unwrap();
        assert_eq!(c.members.len(), 3);
        let leader = c.leader().unwrap();
        assert_eq!(leader.name, "pg-test-1");
        assert_eq!(leader.timeline, Some(5));
        assert_eq!(leader.lag, None);
        assert_eq!(leader.host.as_deref(), Some("127.0.0.11"));
        let r = &c.members[1];
        assert_eq!(r.role, "replica");
        assert_eq!(r.state, "running");
        assert_eq!(r.lag_bytes(), Some(0));
        assert!(!c.pause);
    }

    #[test]
    fn cluster_lag_unknown_and_new_fields() {
        let c = parse_cluster(SRC, &fixture("patroni/cluster-v4-lag.json")).unwrap();
        let m = |n: &str| c.members.iter().find(|m| m.name == n).unwrap();
        assert_eq!(m("pg-test-2").role, "sync_standby");
        assert_eq!(m("pg-test-2").lag_bytes(), Some(16));
        assert_eq!(m("pg-test-2").receive_lag, Some(Lag::Bytes(0)));
        assert_eq!(m("pg-test-3").lag, Some(Lag::Unknown));
        assert_eq!(m("pg-test-3").lag_bytes(), None);
        assert!(m("pg-test-3").pending_restart);
        assert!(c.pause);
    }

    #[test]
    fn patroni_primary_3_0_2_says_master() {
        let s = parse_patroni(SRC, &fixture("patroni/patroni-primary.json")).unwrap();
        assert_eq!(s.raw_role, "master");
        assert_eq!(s.role(), "leader");
        assert!(s.claims_leader());
        assert_eq!(s.state, "running");
        assert_eq!(s.timeline, Some(5));
        assert_eq!(s.xlog.location, Some(201_327_032));
        assert_eq!(s.wal_position(), Some(201_327_032));
        let mut apps: Vec<&str> = s
            .replication
            .iter()
            .map(|r| r.application_name.as_str())
            .collect();
        apps.sort_unstable();
        assert_eq!(apps, ["pg-test-2", "pg-test-3"]);
        assert!(
            s.replication
                .iter()
                .all(|r| r.state.as_deref() == Some("streaming"))
        );
        assert_eq!(s.patroni.version.as_deref(), Some("3.0.2"));
        assert_eq!(s.patroni.scope.as_deref(), Some("pg-test"));
        assert!(s.dcs_last_seen.is_some());
        assert!(!s.pause && !s.pending_restart && !s.cluster_unlocked);
    }

    #[test]
    fn patroni_replica() {
        let s = parse_patroni(SRC, &fixture("patroni/patroni-replica.json")).unwrap();
        assert_eq!(s.role(), "replica");
        assert!(!s.claims_leader());
        assert_eq!(s.xlog.replayed_location, Some(201_327_032));
        assert_eq!(s.xlog.location, None);
        assert_eq!(s.wal_position(), Some(201_327_032));
        assert!(s.xlog.replayed_timestamp.is_some());
        assert!(s.replication.is_empty());
        // The optional flags Patroni adds only when set.
        let mut v: serde_json::Value =
            serde_json::from_slice(&fixture("patroni/patroni-replica.json")).unwrap();
        v["pending_restart"] = true.into();
        v["pause"] = true.into();
        v["sync_standby"] = true.into();
        v["cluster_unlocked"] = true.into();
        let s = parse_patroni(SRC, v.to_string().as_bytes()).unwrap();
        assert!(s.pending_restart && s.pause && s.cluster_unlocked);
        assert_eq!(s.role(), "sync_standby");
    }

    #[test]
    fn role_mapping() {
        assert_eq!(map_role("master", false), "leader");
        assert_eq!(map_role("primary", false), "leader");
        assert_eq!(map_role("replica", true), "sync_standby");
        assert_eq!(map_role("standby_leader", false), "standby_leader");
        assert_eq!(map_role("", false), "unknown");
    }

    #[test]
    fn history_rows() {
        let h = parse_history(SRC, &fixture("patroni/history.json")).unwrap();
        assert_eq!(h.len(), 4);
        assert_eq!(h[0].timeline, 1);
        assert_eq!(h[0].reason, "no recovery target specified");
        assert_eq!(h[0].new_leader.as_deref(), Some("pg-test-2"));
        assert_eq!(h[3].timeline, 4);
        assert_eq!(h[3].new_leader.as_deref(), Some("pg-test-1"));
        assert!(h.windows(2).all(|w| w[0].lsn < w[1].lsn));
        assert!(h[3].timestamp.as_deref().unwrap().starts_with("20"));
        // Old three-column rows.
        let h = parse_history(SRC, br#"[[1, 25623960, "no recovery target specified"]]"#).unwrap();
        assert_eq!(h[0].timestamp, None);
        assert_eq!(h[0].new_leader, None);
    }

    #[test]
    fn malformed_json_names_the_member() {
        let e = parse_cluster(SRC, br#"{"members": [{"name": "pg-test-1", "#).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("patroni 127.0.0.11:8008: malformed JSON at line 1 column"),
            "{e}"
        );
        assert!(e.to_string().contains("GET /cluster"), "{e}");
    }
}
