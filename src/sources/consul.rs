//! Consul's HTTP API: Patroni's keys (`/v1/kv/{ns}/{cluster}/?recurse`,
//! watched with blocking queries `?index=N&wait=…`), and the service
//! catalog with the health checks of every registered service, a third
//! opinion on which service is up.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::dcs::DcsClusterView;
use super::etcd::{b64_decode, strip_scheme};
use super::http::{ErrorKind, Http, Response, SourceError, describe};

/// A Consul endpoint: `http://127.0.0.10:8500`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsulEndpoint {
    pub base: String,
}

impl ConsulEndpoint {
    pub fn new(host: &str, port: u16) -> Self {
        ConsulEndpoint {
            base: format!("http://{}", crate::model::host_port(host, port)),
        }
    }

    /// `consul 127.0.0.10:8500`.
    pub fn source_name(&self) -> String {
        format!("consul {}", strip_scheme(&self.base))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawKv {
    key: String,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    modify_index: i64,
}

/// `X-Consul-Index` of an answer (0 when absent).
pub fn consul_index(r: &Response) -> i64 {
    r.header("x-consul-index")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Parse `/v1/kv/{scope prefix}?recurse` into each cluster's view (all
/// as of the answer's index, which they also return). A 404 (no keys) is
/// empty views, not an error.
pub fn parse_kv_scope(
    source: &str,
    scope: &super::dcs::DcsScope,
    index: i64,
    status: u16,
    body: &[u8],
) -> Result<(i64, Vec<(String, DcsClusterView)>), SourceError> {
    let (index, kvs) = parse_kv_pairs(source, index, status, body)?;
    let views = scope.views(index, kvs.iter().map(|(k, v)| (k.as_str(), v.as_slice())));
    Ok((index, views))
}

/// Keys and their values.
type KeyValues = Vec<(String, Vec<u8>)>;

/// The keys and values of a `/v1/kv/…?recurse` answer, with the highest
/// of `index` and the keys' modify indexes. A 404 is no keys.
fn parse_kv_pairs(
    source: &str,
    index: i64,
    status: u16,
    body: &[u8],
) -> Result<(i64, KeyValues), SourceError> {
    let what = "GET /v1/kv";
    if status == 404 {
        return Ok((index, Vec::new()));
    }
    let raw: Vec<RawKv> = super::http::parse_json(source, what, body)?;
    let mut kvs = Vec::with_capacity(raw.len());
    let mut max_index = index;
    for kv in raw {
        let value = match kv.value {
            Some(v) => b64_decode(&v).ok_or_else(|| {
                SourceError::new(
                    source,
                    ErrorKind::Malformed,
                    format!("{what}: value of {} is not base64", kv.key),
                )
            })?,
            None => Vec::new(),
        };
        max_index = max_index.max(kv.modify_index);
        kvs.push((kv.key, value));
    }
    Ok((max_index, kvs))
}

/// One health check (`/v1/health/state/any`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthCheck {
    pub node: String,
    #[serde(rename = "CheckID", default)]
    pub check_id: String,
    #[serde(default)]
    pub name: String,
    /// passing | warning | critical | maintenance.
    pub status: String,
    #[serde(default)]
    pub output: String,
    #[serde(rename = "ServiceID", default)]
    pub service_id: String,
    #[serde(default)]
    pub service_name: String,
}

/// One registration, flattened from `/v1/catalog/node/{node}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    pub node: String,
    /// The node's address.
    pub address: String,
    pub service_id: String,
    pub service_name: String,
    /// The service's own address (empty: the node's).
    pub service_address: String,
    pub service_port: u16,
    pub service_tags: Vec<String>,
}

/// A node of `/v1/catalog/nodes`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CatalogNode {
    pub node: String,
    #[serde(default)]
    pub address: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawNodeServices {
    node: CatalogNode,
    #[serde(default)]
    services: Option<BTreeMap<String, RawNodeService>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawNodeService {
    #[serde(rename = "ID", default)]
    id: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    address: String,
    #[serde(default)]
    port: u16,
}

pub fn parse_health(source: &str, body: &[u8]) -> Result<Vec<HealthCheck>, SourceError> {
    super::http::parse_json(source, "GET /v1/health/state/any", body)
}

pub fn parse_nodes(source: &str, body: &[u8]) -> Result<Vec<CatalogNode>, SourceError> {
    super::http::parse_json(source, "GET /v1/catalog/nodes", body)
}

/// `/v1/catalog/node/{node}`: the node's registrations (`null`: no such node).
pub fn parse_node_services(source: &str, body: &[u8]) -> Result<Vec<CatalogEntry>, SourceError> {
    let raw: Option<RawNodeServices> =
        super::http::parse_json(source, "GET /v1/catalog/node", body)?;
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    Ok(raw
        .services
        .unwrap_or_default()
        .into_values()
        .map(|s| CatalogEntry {
            node: raw.node.node.clone(),
            address: raw.node.address.clone(),
            service_id: s.id,
            service_name: s.service,
            service_address: s.address,
            service_port: s.port,
            service_tags: s.tags.unwrap_or_default(),
        })
        .collect())
}

/// A registered service instance with the verdict of its checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsulService {
    pub name: String,
    pub id: String,
    pub node: String,
    /// Service address, else the node's address.
    pub address: String,
    pub port: u16,
    pub tags: Vec<String>,
    /// Worst status of its own checks and its node's checks (passing when none).
    pub status: String,
    pub checks: Vec<HealthCheck>,
}

impl ConsulService {
    pub fn passing(&self) -> bool {
        self.status == "passing"
    }
}

fn severity(status: &str) -> u8 {
    match status {
        "passing" => 0,
        "warning" => 1,
        "maintenance" => 2,
        _ => 3,
    }
}

/// Join catalog entries with the checks: a service's own checks and its
/// node's checks (like `serfHealth`) decide its status.
pub fn join_health(entries: &[CatalogEntry], checks: &[HealthCheck]) -> Vec<ConsulService> {
    let mut out: Vec<ConsulService> = entries
        .iter()
        .map(|e| {
            let mine: Vec<HealthCheck> = checks
                .iter()
                .filter(|c| {
                    c.node == e.node && (c.service_id.is_empty() || c.service_id == e.service_id)
                })
                .cloned()
                .collect();
            let status = mine
                .iter()
                .map(|c| c.status.as_str())
                .max_by_key(|s| severity(s))
                .unwrap_or("passing")
                .to_string();
            ConsulService {
                name: e.service_name.clone(),
                id: e.service_id.clone(),
                node: e.node.clone(),
                address: if e.service_address.is_empty() {
                    e.address.clone()
                } else {
                    e.service_address.clone()
                },
                port: e.service_port,
                tags: e.service_tags.clone(),
                status,
                checks: mine,
            }
        })
        .collect();
    out.sort_by(|a, b| (&a.name, &a.node, &a.id).cmp(&(&b.name, &b.node, &b.id)));
    out
}

/// GET `path` (with query) on a Consul endpoint, any status accepted.
async fn get(http: &Http, ep: &ConsulEndpoint, path: &str) -> Result<Response, SourceError> {
    http.get(&ep.source_name(), &format!("{}{path}", ep.base), None)
        .await
}

/// A scope's keys (every cluster of the namespace) split into each
/// cluster's view, at once (`index` 0) or as a blocking query that returns
/// when the index moves past `index` or after `wait`; with the index.
pub async fn kv_scope(
    http: &Http,
    ep: &ConsulEndpoint,
    scope: &super::dcs::DcsScope,
    index: i64,
    wait: Duration,
) -> Result<(i64, Vec<(String, DcsClusterView)>), SourceError> {
    let name = ep.source_name();
    let url = format!("{}/v1/kv/{}", ep.base, scope.prefix);
    let r = if index > 0 {
        let secs = wait.as_secs().max(1);
        let req = http.client().get(&url).query(&[
            ("recurse", String::new()),
            ("index", index.to_string()),
            ("wait", format!("{secs}s")),
        ]);
        // Consul may add up to wait/16 of jitter; allow for it.
        let timeout = wait + wait / 16 + http.timeout;
        http.send(&name, &describe("GET", &url), req, timeout, false)
            .await?
    } else {
        http.get(&name, &format!("{url}?recurse"), None).await?
    };
    let idx = consul_index(&r);
    if r.status != 404 {
        r.check(&name, &describe("GET", &url))?;
    }
    parse_kv_scope(&name, scope, idx, r.status, &r.body)
}

/// The catalog (every node's registrations) and the health of every
/// registered service: `/v1/catalog/nodes`, `/v1/health/state/any`, then
/// `/v1/catalog/node/{node}` for each node.
pub async fn services(http: &Http, ep: &ConsulEndpoint) -> Result<Vec<ConsulService>, SourceError> {
    let name = ep.source_name();
    let name = name.as_str();
    let (nodes, health) = tokio::join!(
        get(http, ep, "/v1/catalog/nodes"),
        get(http, ep, "/v1/health/state/any")
    );
    let nodes = parse_nodes(
        name,
        &nodes?.require_success(name, "GET /v1/catalog/nodes")?.body,
    )?;
    let health = parse_health(
        name,
        &health?
            .require_success(name, "GET /v1/health/state/any")?
            .body,
    )?;
    let lookups = nodes.iter().map(|n| async move {
        let path = format!("/v1/catalog/node/{}", n.node);
        let r = get(http, ep, &path)
            .await?
            .require_success(name, &format!("GET {path}"))?;
        parse_node_services(name, &r.body)
    });
    let mut entries = Vec::new();
    for r in futures::future::join_all(lookups).await {
        entries.extend(r?);
    }
    Ok(join_health(&entries, &health))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::fixture;

    const SRC: &str = "consul 127.0.0.10:8500";

    /// pg-test's view (and the index) from a `/v1/kv/pg/?recurse` answer.
    fn parse_pg_test(
        index: i64,
        status: u16,
        body: &[u8],
    ) -> Result<(i64, DcsClusterView), SourceError> {
        let scope = &crate::sources::dcs::DcsScope::of("pg", &["pg-test"], false)[0];
        parse_kv_scope(SRC, scope, index, status, body).map(|(i, mut v)| (i, v.remove(0).1))
    }

    #[test]
    fn kv_of_a_cluster() {
        let (index, v) = parse_pg_test(120, 200, &fixture("consul/kv.json")).unwrap();
        assert_eq!(index, v.revision);
        assert_eq!(v.leader.as_deref(), Some("pg-test-1"));
        assert_eq!(v.members.len(), 3);
        assert_eq!(v.members["pg-test-1"].role.as_deref(), Some("master"));
        assert!(v.revision >= 120);
        assert!(v.problems.is_empty(), "{:?}", v.problems);
    }

    #[test]
    fn kv_not_found_is_empty() {
        let (_, v) = parse_pg_test(7, 404, b"").unwrap();
        assert_eq!(v.leader, None);
        assert_eq!(v.revision, 7);
    }

    #[test]
    fn kv_malformed() {
        let e = parse_pg_test(1, 200, b"[{\"Key\": ").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("consul 127.0.0.10:8500: malformed JSON"),
            "{e}"
        );
    }

    #[test]
    fn catalog_and_health() {
        let nodes = parse_nodes(SRC, &fixture("consul/catalog-nodes.json")).unwrap();
        assert_eq!(nodes.len(), 4);
        assert_eq!(nodes[1].node, "node-1");
        assert_eq!(nodes[1].address, "127.0.0.11");
        let checks = parse_health(SRC, &fixture("consul/health-state.json")).unwrap();
        assert!(checks.iter().any(|c| c.check_id == "serfHealth"));
        let entries =
            parse_node_services(SRC, &fixture("consul/catalog-node-node-1.json")).unwrap();
        let joined = join_health(&entries, &checks);
        let patroni = joined.iter().find(|s| s.name == "patroni").unwrap();
        assert_eq!(patroni.address, "127.0.0.11", "the node's address");
        assert_eq!(patroni.port, 8008);
        assert!(patroni.passing(), "{patroni:?}");
        // Patroni's own registration carries its address and role tags.
        let pg = joined.iter().find(|s| s.id == "pg-test/pg-test-1").unwrap();
        assert_eq!((pg.address.as_str(), pg.port), ("127.0.0.11", 5432));
        assert!(pg.tags.iter().any(|t| t == "primary"));
        // A failing check (the service's own, or its node's) makes it critical.
        let mut failing = checks.clone();
        for c in failing
            .iter_mut()
            .filter(|c| c.node == "node-1" && c.service_id == "patroni")
        {
            c.status = "critical".into();
        }
        let joined = join_health(&entries, &failing);
        assert_eq!(
            joined.iter().find(|s| s.name == "patroni").unwrap().status,
            "critical"
        );
        assert!(
            joined
                .iter()
                .find(|s| s.name == "pgbouncer")
                .unwrap()
                .passing()
        );
        for c in failing
            .iter_mut()
            .filter(|c| c.node == "node-1" && c.check_id == "serfHealth")
        {
            c.status = "critical".into();
        }
        let joined = join_health(&entries, &failing);
        assert!(joined.iter().all(|s| s.status == "critical"));
        assert!(parse_node_services(SRC, b"null").unwrap().is_empty());
    }
}
