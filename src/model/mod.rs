//! The domain model of a Pigsty deployment, as declared by its inventory.
//!
//! A [`Deployment`] holds the infrastructure (meta / infra nodes with their
//! services) and the PostgreSQL clusters (instances on database nodes with
//! their services). Everything here is *declared* state: live state is kept
//! apart in `crate::snapshot` and refers back to these items by name / IP.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

/// Which generation of Pigsty wrote the inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Generation {
    /// v1.x: `meta` group, Consul DCS.
    V1,
    /// v2.x: `infra` + `etcd` groups.
    V2,
    /// v3.x.
    V3,
    /// v4.x.
    V4,
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Generation::V1 => "v1",
            Generation::V2 => "v2",
            Generation::V3 => "v3",
            Generation::V4 => "v4",
        })
    }
}

/// The distributed configuration store Patroni elects its leader through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DcsKind {
    Etcd,
    Consul,
}

impl fmt::Display for DcsKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DcsKind::Etcd => "etcd",
            DcsKind::Consul => "consul",
        })
    }
}

/// One DCS server (a member of the etcd cluster or a Consul server).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DcsServer {
    pub name: String,
    pub ip: String,
    pub port: u16,
}

/// DCS settings of the deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dcs {
    pub kind: DcsKind,
    pub servers: Vec<DcsServer>,
    /// Patroni key namespace (`pg_namespace`, Pigsty default `/pg`).
    pub namespace: String,
}

/// The role an instance is declared with (`pg_role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeclaredRole {
    Primary,
    Replica,
    Offline,
    Delayed,
    Standby,
}

impl DeclaredRole {
    pub const ALL: [DeclaredRole; 5] = [
        DeclaredRole::Primary,
        DeclaredRole::Replica,
        DeclaredRole::Offline,
        DeclaredRole::Delayed,
        DeclaredRole::Standby,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeclaredRole::Primary => "primary",
            DeclaredRole::Replica => "replica",
            DeclaredRole::Offline => "offline",
            DeclaredRole::Delayed => "delayed",
            DeclaredRole::Standby => "standby",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for DeclaredRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Transport a service listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

/// What a service is, independent of where it runs. Live state attaches to
/// `(node ip, port)`; the kind tells pollers how to check it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    // infrastructure (meta / infra node)
    Grafana,
    Prometheus,
    Alertmanager,
    ConsulServer,
    ConsulDns,
    Etcd,
    Nginx,
    Ntp,
    Dnsmasq,
    Loki,
    // database node
    Postgres,
    Pgbouncer,
    Patroni,
    ConsulAgent,
    /// A HAProxy service port of the cluster (5433, 5434, 5436, 5438, …).
    HaproxyService,
    HaproxyAdmin,
    PgExporter,
    PgbouncerExporter,
    NodeExporter,
    Promtail,
}

/// A named service with its port, as in the seed's two port tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    pub kind: ServiceKind,
    /// Component name as shown to the operator ("Patroni", "Haproxy Primary", …).
    /// (Its texts are shared by the copies of a cluster's service list
    /// that every instance carries.)
    pub name: Arc<str>,
    pub port: u16,
    pub proto: Proto,
    /// What it is for, one short line.
    pub purpose: Arc<str>,
    /// HTTP path answering a health check, where the service has one.
    pub http_health: Option<Arc<str>>,
}

impl Service {
    pub fn new(kind: ServiceKind, name: &str, port: u16, purpose: &str) -> Self {
        Service {
            kind,
            name: Arc::from(name),
            port,
            proto: Proto::Tcp,
            purpose: Arc::from(purpose),
            http_health: None,
        }
    }

    pub fn udp(mut self) -> Self {
        self.proto = Proto::Udp;
        self
    }

    pub fn with_health(mut self, path: &str) -> Self {
        self.http_health = Some(Arc::from(path));
        self
    }
}

/// Where and how to reach a host over SSH (`ansible_*` variables).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SshTarget {
    /// `ansible_host`, or the inventory key (the service IP) when absent.
    pub host: String,
    /// `ansible_port`, when set (otherwise ~/.ssh/config or 22 applies).
    pub port: Option<u16>,
    /// `ansible_user`, when set.
    pub user: Option<String>,
    /// `ansible_ssh_private_key_file`, when set.
    pub key_file: Option<String>,
}

/// A meta (v1) or infra (v2+) node and the infrastructure services it runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InfraNode {
    pub ip: String,
    /// `nodename`, or a derived `meta-N` / `infra-N`.
    pub name: String,
    /// `infra_seq` (v2+) or the position in the `meta` group (v1).
    pub seq: u32,
    pub services: Vec<Service>,
    #[serde(skip)]
    pub ssh: SshTarget,
    /// Resolved variables of this host (host > group > all > defaults).
    #[serde(skip)]
    pub vars: Vars,
}

/// One PostgreSQL instance (exactly one per database node).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Instance {
    /// `{pg_cluster}-{pg_seq}`.
    pub name: String,
    pub cluster: String,
    /// The inventory key: the service IP pollers use.
    pub ip: String,
    pub seq: u32,
    pub role: DeclaredRole,
    pub offline_query: bool,
    pub upstream: Option<String>,
    pub nodename: Option<String>,
    /// Per-node services (Postgres, Pgbouncer, Patroni, HAProxy ports, exporters…).
    pub services: Vec<Service>,
    #[serde(skip)]
    pub ssh: SshTarget,
    #[serde(skip)]
    pub vars: Vars,
}

impl Instance {
    /// Port of the first service of `kind` on this instance.
    pub fn port_of(&self, kind: ServiceKind) -> Option<u16> {
        self.services
            .iter()
            .find(|s| s.kind == kind)
            .map(|s| s.port)
    }

    pub fn patroni_port(&self) -> u16 {
        self.port_of(ServiceKind::Patroni).unwrap_or(8008)
    }

    pub fn pg_port(&self) -> u16 {
        self.port_of(ServiceKind::Postgres).unwrap_or(5432)
    }
}

/// A HAProxy service a cluster exposes on every member (`pg_services`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterService {
    /// Service name (`primary`, `replica`, `default`, `offline`, …).
    pub name: String,
    /// Port HAProxy listens on (v1 `src_port`, v2+ `port`).
    pub port: u16,
    /// Destination: `postgres`, `pgbouncer` or a port number.
    pub dest: String,
    /// Patroni health check path (`/primary`, `/read-only`, `/replica`, …).
    pub check: Option<String>,
    /// Instance selector expression, as written.
    pub selector: Option<String>,
}

/// A PostgreSQL cluster: every inventory group whose vars hold `pg_cluster`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    pub name: String,
    pub instances: Vec<Instance>,
    pub services: Vec<ClusterService>,
}

impl Cluster {
    pub fn declared_primary(&self) -> Option<&Instance> {
        self.instances
            .iter()
            .find(|i| i.role == DeclaredRole::Primary)
    }
}

/// Credentials for Patroni's REST API (v1 `pg_monitor_*`, v2+ `patroni_*`).
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Credentials {
    pub username: String,
    #[serde(skip)]
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print secrets, even in debug logs.
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

/// An HTTP endpoint of the infrastructure (host and port).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    pub fn url(&self) -> String {
        format!("http://{}", host_port(&self.host, self.port))
    }
}

/// `host:port`, with an IPv6 address in brackets (`[fd00::10]:8008`), as
/// URLs and socket addresses need it.
pub fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Infrastructure endpoints the console talks to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InfraEndpoints {
    pub prometheus: Option<Endpoint>,
    pub alertmanager: Option<Endpoint>,
    pub grafana: Option<Endpoint>,
}

/// Something questionable in the inventory that is not an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// Cluster or group concerned, when there is one.
    pub scope: Option<String>,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.scope {
            Some(s) => write!(f, "{s}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Resolved variables of one host, as a generic tree.
///
/// Two layers: a `shared` map (defaults, `all.vars` and group vars, shared
/// by every host of the same groups through an `Arc`) and the host's `own`
/// variables, which win. Building 1,000 hosts thus copies no group layer.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    shared: std::sync::Arc<BTreeMap<String, serde_json::Value>>,
    own: BTreeMap<String, serde_json::Value>,
}

impl Vars {
    pub fn new() -> Self {
        Self::default()
    }

    /// Set a variable of this host (it wins over the shared layer).
    pub fn insert(&mut self, name: String, value: serde_json::Value) {
        self.own.insert(name, value);
    }

    pub fn get(&self, name: &str) -> Option<&serde_json::Value> {
        self.own.get(name).or_else(|| self.shared.get(name))
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Fold this host's own variables into a new shared layer, so clones
    /// of the result share it.
    pub fn freeze(self) -> Self {
        if self.own.is_empty() {
            return self;
        }
        let mut shared = std::sync::Arc::unwrap_or_clone(self.shared);
        shared.extend(self.own);
        Vars {
            shared: std::sync::Arc::new(shared),
            own: BTreeMap::new(),
        }
    }

    /// Every variable, by name, with the host's own winning.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &serde_json::Value)> {
        let shared = self
            .shared
            .iter()
            .filter(|(k, _)| !self.own.contains_key(k.as_str()));
        let mut all: Vec<_> = self.own.iter().chain(shared).collect();
        all.sort_by(|a, b| a.0.cmp(b.0));
        all.into_iter()
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.own.is_empty() && self.shared.is_empty()
    }
}

/// `vars["name"]`: the value, or `null` when unset (as `serde_json` does).
impl std::ops::Index<&str> for Vars {
    type Output = serde_json::Value;

    fn index(&self, name: &str) -> &serde_json::Value {
        static NULL: serde_json::Value = serde_json::Value::Null;
        self.get(name).unwrap_or(&NULL)
    }
}

impl PartialEq for Vars {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

/// Read a string variable (numbers and booleans are rendered as text).
pub fn var_str<'a>(vars: &'a Vars, name: &str) -> Option<std::borrow::Cow<'a, str>> {
    match vars.get(name)? {
        serde_json::Value::String(s) => Some(std::borrow::Cow::Borrowed(s.as_str())),
        serde_json::Value::Number(n) => Some(std::borrow::Cow::Owned(n.to_string())),
        serde_json::Value::Bool(b) => Some(std::borrow::Cow::Owned(b.to_string())),
        _ => None,
    }
}

/// A whole Pigsty deployment as declared by one inventory file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deployment {
    /// A display name: the inventory file's stem, or for `pigsty.yml` the
    /// name of its directory (see `inventory::deployment_name`).
    pub name: String,
    /// The inventory file it was read from.
    pub source: PathBuf,
    pub generation: Generation,
    /// `version` from `all.vars`, when present.
    pub version: Option<String>,
    pub dcs: Dcs,
    pub infra: Vec<InfraNode>,
    pub clusters: Vec<Cluster>,
    pub endpoints: InfraEndpoints,
    #[serde(skip)]
    pub patroni_auth: Option<Credentials>,
    pub warnings: Vec<Warning>,
}

/// Every service of one node (an IP): infra services if it is a meta/infra
/// node, and the services of the instance it hosts.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeServices<'a> {
    pub ip: &'a str,
    pub infra: Option<&'a InfraNode>,
    pub instance: Option<&'a Instance>,
}

impl<'a> NodeServices<'a> {
    /// Services in display order: infrastructure first, then the instance's.
    pub fn services(&self) -> impl Iterator<Item = &'a Service> + 'a {
        let infra = self.infra.map(|n| n.services.iter());
        let inst = self.instance.map(|i| i.services.iter());
        infra
            .into_iter()
            .flatten()
            .chain(inst.into_iter().flatten())
    }

    /// Node name: nodename, else instance name, else infra node name.
    pub fn name(&self) -> String {
        if let Some(n) = self.instance.and_then(|i| i.nodename.clone()) {
            return n;
        }
        if let Some(i) = self.infra {
            return i.name.clone();
        }
        self.instance
            .map(|i| i.name.clone())
            .unwrap_or_else(|| self.ip.to_string())
    }
}

impl Deployment {
    pub fn cluster(&self, name: &str) -> Option<&Cluster> {
        self.clusters.iter().find(|c| c.name == name)
    }

    pub fn instance(&self, name: &str) -> Option<&Instance> {
        self.clusters
            .iter()
            .flat_map(|c| c.instances.iter())
            .find(|i| i.name == name)
    }

    pub fn instances(&self) -> impl Iterator<Item = &Instance> {
        self.clusters.iter().flat_map(|c| c.instances.iter())
    }

    /// Every distinct node IP, infra nodes first, in inventory order.
    pub fn node_ips(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for ip in self
            .infra
            .iter()
            .map(|n| n.ip.as_str())
            .chain(self.instances().map(|i| i.ip.as_str()))
        {
            if !out.contains(&ip) {
                out.push(ip);
            }
        }
        out
    }

    /// The services of the node with this IP (or nodename / instance name).
    pub fn node(&self, key: &str) -> Option<NodeServices<'_>> {
        let ip = self
            .infra
            .iter()
            .find(|n| n.ip == key || n.name == key)
            .map(|n| n.ip.as_str())
            .or_else(|| {
                self.instances()
                    .find(|i| i.ip == key || i.name == key || i.nodename.as_deref() == Some(key))
                    .map(|i| i.ip.as_str())
            })?;
        Some(NodeServices {
            ip,
            infra: self.infra.iter().find(|n| n.ip == ip),
            instance: self.instances().find(|i| i.ip == ip),
        })
    }

    pub fn instance_count(&self) -> usize {
        self.clusters.iter().map(|c| c.instances.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_round_trip() {
        for r in DeclaredRole::ALL {
            assert_eq!(DeclaredRole::parse(r.as_str()), Some(r));
        }
        assert_eq!(DeclaredRole::parse("primay"), None);
    }

    #[test]
    fn credentials_debug_hides_password() {
        let c = Credentials {
            username: "postgres".into(),
            password: "Patroni.API".into(),
        };
        let s = format!("{c:?}");
        assert!(!s.contains("Patroni.API"), "{s}");
    }
}
