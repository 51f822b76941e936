//! What Patroni keeps in the DCS for one cluster, independent of whether it
//! came from etcd or Consul: the leader key, member keys, history, sync
//! state, pause. Keys live under `{namespace}/{cluster}/`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::patroni::HistoryEntry;

/// `{namespace}/{cluster}/` with exactly one slash between parts, e.g.
/// `/pg/pg-test/` (etcd keeps the leading slash, Consul drops it).
pub fn cluster_prefix(namespace: &str, cluster: &str, leading_slash: bool) -> String {
    let ns = namespace.trim_matches('/');
    let mut p = String::new();
    if leading_slash {
        p.push('/');
    }
    if !ns.is_empty() {
        p.push_str(ns);
        p.push('/');
    }
    p.push_str(cluster);
    p.push('/');
    p
}

/// A member key's value (`members/{name}`), as Patroni writes it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct DcsMember {
    #[serde(default)]
    pub conn_url: Option<String>,
    #[serde(default)]
    pub api_url: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    /// `master`/`primary`/`replica`/`standby_leader` as Patroni wrote it.
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub xlog_location: Option<u64>,
    #[serde(default)]
    pub timeline: Option<u64>,
    #[serde(default)]
    pub pending_restart: bool,
}

/// The `sync` key.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
struct SyncKey {
    #[serde(default)]
    leader: Option<String>,
    #[serde(default)]
    sync_standby: Option<String>,
}

/// One cluster as the DCS holds it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DcsClusterView {
    /// Value of the `leader` key: the leader's member name.
    pub leader: Option<String>,
    pub members: BTreeMap<String, DcsMember>,
    pub history: Vec<HistoryEntry>,
    pub sync_standby: Vec<String>,
    /// `pause` of the dynamic `config` key.
    pub paused: bool,
    /// Leader's last WAL position (`status` or `optime/leader`).
    pub optime: Option<u64>,
    /// The `initialize` key (the system identifier).
    pub initialize: Option<String>,
    /// etcd revision / Consul index the view is as of.
    pub revision: i64,
    /// Keys that did not parse, with why.
    pub problems: Vec<String>,
}

impl DcsClusterView {
    /// Build from every key under the cluster prefix (`key` relative or full).
    pub fn from_kvs<'a>(
        prefix: &str,
        revision: i64,
        kvs: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Self {
        let mut v = DcsClusterView {
            revision,
            ..Default::default()
        };
        for (k, val) in kvs {
            v.set(prefix, k, Some(val));
        }
        v
    }

    /// Apply one key's new value (`None`: deleted).
    pub fn set(&mut self, prefix: &str, key: &str, value: Option<&[u8]>) {
        let rel = key.strip_prefix(prefix).unwrap_or(key);
        let text = value.map(|v| String::from_utf8_lossy(v).trim().to_string());
        match rel {
            "leader" => self.leader = text.filter(|s| !s.is_empty()),
            "history" => {
                self.history = match text {
                    Some(t) => match serde_json::from_str(&t) {
                        Ok(h) => h,
                        Err(e) => {
                            self.problems.push(format!("{key}: {e}"));
                            Vec::new()
                        }
                    },
                    None => Vec::new(),
                }
            }
            "sync" => {
                self.sync_standby = text
                    .and_then(|t| serde_json::from_str::<SyncKey>(&t).ok())
                    .and_then(|s| s.sync_standby)
                    .map(|s| {
                        s.split(',')
                            .map(|x| x.trim().to_string())
                            .filter(|x| !x.is_empty())
                            .collect()
                    })
                    .unwrap_or_default();
            }
            "config" => {
                self.paused = text
                    .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                    .and_then(|c| c.get("pause").and_then(|p| p.as_bool()))
                    .unwrap_or(false);
            }
            "status" => {
                self.optime = text
                    .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                    .and_then(|s| s.get("optime").and_then(|o| o.as_u64()));
            }
            "optime/leader" => self.optime = text.and_then(|t| t.parse().ok()),
            "initialize" => self.initialize = text,
            _ => {
                if let Some(name) = rel.strip_prefix("members/") {
                    match text {
                        None => {
                            self.members.remove(name);
                        }
                        Some(t) => match serde_json::from_str::<DcsMember>(&t) {
                            Ok(m) => {
                                self.members.insert(name.to_string(), m);
                            }
                            Err(e) => {
                                self.problems.push(format!("{key}: {e}"));
                                self.members.insert(name.to_string(), DcsMember::default());
                            }
                        },
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(cluster_prefix("/pg", "pg-test", true), "/pg/pg-test/");
        assert_eq!(cluster_prefix("/pg/", "pg-test", false), "pg/pg-test/");
        assert_eq!(cluster_prefix("", "pg-test", true), "/pg-test/");
    }

    #[test]
    fn keys_build_a_view() {
        let p = "/pg/pg-test/";
        let kvs: Vec<(&str, &[u8])> = vec![
            ("/pg/pg-test/leader", b"pg-test-1"),
            (
                "/pg/pg-test/members/pg-test-1",
                br#"{"conn_url":"postgres://127.0.0.11:5432/postgres","api_url":"http://127.0.0.11:8008/patroni","state":"running","role":"master","version":"3.0.2","xlog_location":67109432,"timeline":1}"#,
            ),
            (
                "/pg/pg-test/members/pg-test-2",
                br#"{"conn_url":"postgres://127.0.0.12:5432/postgres","api_url":"http://127.0.0.12:8008/patroni","state":"running","role":"replica","version":"3.0.2","xlog_location":67109432,"timeline":1}"#,
            ),
            ("/pg/pg-test/config", br#"{"ttl":30,"pause":true}"#),
            ("/pg/pg-test/status", br#"{"optime":67109432,"slots":{}}"#),
            (
                "/pg/pg-test/history",
                br#"[[1,50331808,"no recovery target specified","2026-11-26T05:10:11+00:00","pg-test-2"]]"#,
            ),
            ("/pg/pg-test/sync", br#"{"leader":"pg-test-1","sync_standby":"pg-test-2"}"#),
            ("/pg/pg-test/initialize", b"7441234567890123456"),
        ];
        let mut v = DcsClusterView::from_kvs(p, 42, kvs);
        assert_eq!(v.leader.as_deref(), Some("pg-test-1"));
        assert_eq!(v.members.len(), 2);
        assert_eq!(v.members["pg-test-1"].role.as_deref(), Some("master"));
        assert!(v.paused);
        assert_eq!(v.optime, Some(67_109_432));
        assert_eq!(v.history.len(), 1);
        assert_eq!(v.sync_standby, vec!["pg-test-2".to_string()]);
        assert_eq!(v.revision, 42);
        assert!(v.problems.is_empty());
        v.set(p, "/pg/pg-test/leader", None);
        v.set(p, "/pg/pg-test/members/pg-test-2", None);
        assert_eq!(v.leader, None);
        assert_eq!(v.members.len(), 1);
        v.set(p, "/pg/pg-test/members/pg-test-3", Some(b"{not json"));
        assert_eq!(v.problems.len(), 1);
    }
}
