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

/// Keys read in one request: `prefix` holds the keys of `clusters` (each
/// with its own prefix under it). Every cluster of a deployment shares the
/// namespace's scope, so the console reads and watches the DCS once,
/// whatever the number of clusters; without a namespace (keys right under
/// the root, among whatever else the DCS keeps) each cluster is a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcsScope {
    pub prefix: String,
    /// (cluster, its prefix)
    pub clusters: Vec<(String, String)>,
}

impl DcsScope {
    /// The scopes of these clusters under `namespace`.
    pub fn of(namespace: &str, clusters: &[&str], leading_slash: bool) -> Vec<DcsScope> {
        let with_prefix = |c: &str| (c.to_string(), cluster_prefix(namespace, c, leading_slash));
        let ns = namespace.trim_matches('/');
        if ns.is_empty() {
            return clusters
                .iter()
                .map(|c| {
                    let (name, prefix) = with_prefix(c);
                    DcsScope {
                        prefix: prefix.clone(),
                        clusters: vec![(name, prefix)],
                    }
                })
                .collect();
        }
        if clusters.is_empty() {
            return Vec::new();
        }
        let prefix = format!("{}{ns}/", if leading_slash { "/" } else { "" });
        vec![DcsScope {
            prefix,
            clusters: clusters.iter().map(|c| with_prefix(c)).collect(),
        }]
    }

    /// Which cluster a key belongs to (index into `clusters`).
    pub fn cluster_of(&self, key: &str) -> Option<usize> {
        self.clusters
            .iter()
            .position(|(_, prefix)| key.starts_with(prefix.as_str()))
    }

    /// Every cluster's view from the keys read under `prefix` (a cluster
    /// without keys gets an empty view); keys of other clusters are left out.
    pub fn views<'a>(
        &self,
        revision: i64,
        kvs: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Vec<(String, DcsClusterView)> {
        let by_name: std::collections::HashMap<&str, usize> = self
            .clusters
            .iter()
            .enumerate()
            .map(|(i, (c, _))| (c.as_str(), i))
            .collect();
        let mut views: Vec<DcsClusterView> = self
            .clusters
            .iter()
            .map(|_| DcsClusterView {
                revision,
                ..Default::default()
            })
            .collect();
        for (key, value) in kvs {
            // `{prefix}{cluster}/…`: found by name, else by prefix.
            let i = key
                .strip_prefix(self.prefix.as_str())
                .and_then(|rest| rest.split('/').next())
                .and_then(|c| by_name.get(c).copied())
                .filter(|&i| key.starts_with(self.clusters[i].1.as_str()))
                .or_else(|| self.cluster_of(key));
            if let Some(i) = i {
                views[i].set(&self.clusters[i].1, key, Some(value));
            }
        }
        self.clusters
            .iter()
            .map(|(c, _)| c.clone())
            .zip(views)
            .collect()
    }
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

#[cfg(test)]
mod scope_tests {
    use super::*;

    #[test]
    fn one_scope_per_namespace_else_per_cluster() {
        let s = DcsScope::of("/pg", &["pg-meta", "pg-test"], true);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].prefix, "/pg/");
        assert_eq!(s[0].clusters[1], ("pg-test".into(), "/pg/pg-test/".into()));
        let s = DcsScope::of("pg/", &["pg-test"], false);
        assert_eq!(s[0].prefix, "pg/");
        let s = DcsScope::of("", &["a", "b"], true);
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].prefix, "/b/");
        assert!(DcsScope::of("/pg", &[], true).is_empty());
    }

    #[test]
    fn views_split_keys_by_cluster() {
        let scope = &DcsScope::of("/pg", &["pg-test", "pg-test2", "pg-none"], true)[0];
        let kvs: Vec<(&str, &[u8])> = vec![
            ("/pg/pg-test/leader", b"pg-test-1"),
            ("/pg/pg-test2/leader", b"pg-test2-2"),
            ("/pg/pg-test2/config", br#"{"pause": true}"#),
            ("/pg/other/leader", b"x"),
        ];
        let v = scope.views(42, kvs);
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].0, "pg-test");
        assert_eq!(v[0].1.leader.as_deref(), Some("pg-test-1"));
        assert!(!v[0].1.paused);
        assert_eq!(v[1].1.leader.as_deref(), Some("pg-test2-2"));
        assert!(v[1].1.paused);
        assert_eq!(v[2].1.leader, None);
        assert!(v.iter().all(|(_, v)| v.revision == 42));
        assert_eq!(scope.cluster_of("/pg/pg-test2/sync"), Some(1));
        assert_eq!(scope.cluster_of("/pg/other/sync"), None);
    }
}
