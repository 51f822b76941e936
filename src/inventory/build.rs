//! From the indexed inventory to the [`Deployment`] model.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::catalog;
use super::defaults::{self, Defaults, Version};
use super::error::{Diagnostic, InventoryError};
use super::groups::{ALL, HostVars, Inventory, Origin, Var};
use super::yaml::{Node, Pos, Value};
use crate::model::{
    Cluster, ClusterService, Credentials, Dcs, DcsKind, DcsServer, DeclaredRole, Deployment,
    Endpoint, Generation, InfraEndpoints, InfraNode, Instance, Service, ServiceKind, SshTarget,
    Warning,
};

const ROLES: &str = "primary|replica|offline|delayed|standby";

/// The variables an instance's services depend on.
const SERVICE_VARS: &[&str] = &[
    "pg_services",
    "pg_default_services",
    "pg_services_extra",
    "pg_default_service_dest",
    "pg_port",
    "pgbouncer_enabled",
    "pgbouncer_port",
    "patroni_port",
    "haproxy_enabled",
    "haproxy_exporter_port",
    "pg_exporter_enabled",
    "pg_exporter_port",
    "pgbouncer_exporter_enabled",
    "pgbouncer_exporter_port",
    "node_exporter_enabled",
    "node_exporter_port",
    "promtail_enabled",
    "promtail_port",
];
const PORT: &str = "a port number (1-65535)";

/// Collects errors (deduplicated by place) and warnings.
struct Ctx<'f> {
    file: &'f Path,
    errors: Vec<Diagnostic>,
    reported: HashSet<(Pos, String)>,
    warnings: Vec<Warning>,
}

impl<'f> Ctx<'f> {
    fn error(&mut self, pos: Pos, key: &str, message: String) {
        if pos.is_known() && !self.reported.insert((pos, key.to_string())) {
            return;
        }
        self.errors.push(Diagnostic::at(self.file, pos, message));
    }

    /// A variable has a value of the wrong kind.
    fn bad_var(&mut self, hv: &HostVars, scope: &str, name: &str, var: Var, expected: &str) {
        let short = var.node.short();
        let mut msg = match var.origin {
            Origin::Host(_) => {
                format!(
                    "{scope}: host {} has {name} {short}; expected {expected}",
                    hv.host_name()
                )
            }
            Origin::Group(ALL) => format!("all.vars has {name} {short}; expected {expected}"),
            Origin::Group(g) => format!(
                "{}: group vars have {name} {short}; expected {expected}",
                hv.inv.groups[g].name
            ),
            Origin::Default => format!("built-in default {name} {short}; expected {expected}"),
        };
        if var.node.at != var.node.def && var.node.at.is_known() {
            msg.push_str(&format!(" (used at line {})", var.node.at.line));
        }
        self.error(var.node.def, name, msg);
    }

    fn warn(&mut self, scope: Option<&str>, message: String) {
        self.warnings.push(Warning {
            scope: scope.map(str::to_string),
            message,
        });
    }

    // ---- typed variable access ----

    fn port(&mut self, hv: &HostVars, scope: &str, name: &str) -> Option<u16> {
        let var = hv.get(name)?;
        match port_value(var.node) {
            Some(p) => Some(p),
            None => {
                self.bad_var(hv, scope, name, var, PORT);
                None
            }
        }
    }

    fn port_or(&mut self, hv: &HostVars, scope: &str, name: &str, fallback: u16) -> u16 {
        self.port(hv, scope, name).unwrap_or(fallback)
    }

    fn flag(&mut self, hv: &HostVars, scope: &str, name: &str) -> bool {
        let Some(var) = hv.get(name) else {
            return false;
        };
        match bool_value(var.node) {
            Some(b) => b,
            None => {
                self.bad_var(hv, scope, name, var, "true or false");
                false
            }
        }
    }

    fn text(&mut self, hv: &HostVars, scope: &str, name: &str) -> Option<String> {
        let var = hv.get(name)?;
        match &var.node.value {
            Value::Null => None,
            Value::Str(s) => Some(s.clone()),
            Value::Int(_) | Value::UInt(_) | Value::Float(_) => var.node.scalar_text(),
            _ => {
                self.bad_var(hv, scope, name, var, "a string");
                None
            }
        }
    }

    fn seq_num(&mut self, hv: &HostVars, scope: &str, name: &str) -> Option<Option<u32>> {
        let Some(var) = hv.get(name) else {
            return Some(None);
        };
        match u32_value(var.node) {
            Some(n) => Some(Some(n)),
            None => {
                self.bad_var(hv, scope, name, var, "a non-negative integer");
                None
            }
        }
    }
}

fn port_value(n: &Node) -> Option<u16> {
    let v: i64 = match &n.value {
        Value::Int(i) => *i,
        Value::Str(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()?
        }
        _ => return None,
    };
    u16::try_from(v).ok().filter(|p| *p > 0)
}

fn u32_value(n: &Node) -> Option<u32> {
    match &n.value {
        Value::Int(i) => u32::try_from(*i).ok(),
        Value::Str(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
        _ => None,
    }
}

/// Ansible's `bool` filter: true/false, yes/no, on/off, 1/0.
fn bool_value(n: &Node) -> Option<bool> {
    match &n.value {
        Value::Bool(b) => Some(*b),
        Value::Int(0) => Some(false),
        Value::Int(1) => Some(true),
        Value::Null => Some(false),
        Value::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" | "y" => Some(true),
            "false" | "no" | "off" | "0" | "n" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// The port of an endpoint such as `${admin_ip}:9090`, `10.10.10.10:3000`
/// or `http://10.10.10.10:3000/path`.
fn endpoint_port(s: &str) -> Option<u16> {
    let s = s.split_once("://").map(|(_, r)| r).unwrap_or(s);
    let hostport = s.split('/').next()?;
    let (_, port) = hostport.rsplit_once(':')?;
    port.parse::<u16>().ok().filter(|p| *p > 0)
}

/// The display name of a deployment read from `path`: the file stem
/// (`prod.yml` → `prod`), except for the conventional `pigsty.yml`, which is
/// named after the directory holding it (`~/pigsty/pigsty.yml` → `pigsty`,
/// `/etc/pigsty/prod/pigsty.yml` → `prod`). Falls back to `pigsty`.
pub fn deployment_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !stem.is_empty() && stem != "pigsty" {
        return stem;
    }
    let dir = |p: &Path| {
        p.parent()
            .and_then(|d| d.file_name())
            .map(|d| d.to_string_lossy().into_owned())
            .filter(|d| !d.is_empty() && d != "." && d != "..")
    };
    dir(path)
        .or_else(|| std::path::absolute(path).ok().and_then(|p| dir(&p)))
        .unwrap_or_else(|| "pigsty".to_string())
}

/// Generation from `version` when it is there, else from the layout.
fn detect_generation(
    inv: &Inventory,
    version: Option<Version>,
    version_text: Option<&str>,
    ctx: &mut Ctx,
) -> Generation {
    if let Some(v) = version {
        match v.major {
            1 => return Generation::V1,
            2 => return Generation::V2,
            3 => return Generation::V3,
            4 => return Generation::V4,
            m if m > 4 => {
                ctx.warn(
                    None,
                    format!(
                        "Pigsty version {} is newer than this console knows (v1 to v4); read as v4",
                        version_text.unwrap_or("?")
                    ),
                );
                return Generation::V4;
            }
            _ => {}
        }
    }
    if let Some(t) = version_text {
        ctx.warn(
            None,
            format!(
                "cannot read Pigsty version '{t}' (expected v1.x to v4.x); guessing from the layout"
            ),
        );
    }
    let any_var = |pred: &dyn Fn(&str) -> bool| {
        inv.groups
            .iter()
            .any(|g| g.var_order.iter().any(|k| pred(k)))
    };
    let meta_flag = inv.groups.iter().any(|g| {
        g.vars
            .get("meta_node")
            .is_some_and(|n| bool_value(n) == Some(true))
    }) || inv.hosts.iter().flat_map(|h| h.var_maps.iter()).any(|m| {
        m.get("meta_node")
            .is_some_and(|n| bool_value(n) == Some(true))
    });
    let all_vars = &inv.groups[ALL].vars;
    let v1_vars = ["dcs_servers", "pg_dcs_type", "dcs_type"]
        .iter()
        .any(|k| all_vars.contains_key(k));
    if inv.group("meta").is_some() || meta_flag || v1_vars {
        return Generation::V1;
    }
    let v4 = any_var(&|k| k.starts_with("vmetrics_") || k.starts_with("vlogs_"));
    if inv.group("infra").is_some() || inv.group("etcd").is_some() {
        return if v4 { Generation::V4 } else { Generation::V3 };
    }
    ctx.warn(
        None,
        "cannot tell the Pigsty generation (no 'version' in all.vars, no 'meta' or 'infra' group); read as v3"
            .to_string(),
    );
    Generation::V3
}

/// Duplicate mapping keys (Ansible keeps the last one): warn once per place.
fn duplicate_keys(node: &Node, seen: &mut HashSet<Pos>, ctx: &mut Ctx) {
    match &node.value {
        Value::Seq(s) => s.iter().for_each(|n| duplicate_keys(n, seen, ctx)),
        Value::Map(m) => {
            for (i, (k, v)) in m.iter().enumerate() {
                // small maps: compare in place; big ones: index once
                if i > 0
                    && m.len() <= 32
                    && let Some((first, _)) = m[..i].iter().find(|(f, _)| same_key(f, k))
                {
                    duplicate_warning(k, first.def, seen, ctx);
                }
                duplicate_keys(v, seen, ctx);
            }
            if m.len() > 32 {
                let mut firsts: HashMap<String, Pos> = HashMap::with_capacity(m.len());
                for (k, _) in m {
                    if let Some(t) = k.scalar_text() {
                        if let Some(first) = firsts.get(&t) {
                            duplicate_warning(k, *first, seen, ctx);
                        } else {
                            firsts.insert(t, k.def);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

fn same_key(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Str(_), _) | (_, Value::Str(_)) => false,
        _ => a.scalar_text().is_some() && a.scalar_text() == b.scalar_text(),
    }
}

fn duplicate_warning(k: &Node, first: Pos, seen: &mut HashSet<Pos>, ctx: &mut Ctx) {
    if seen.insert(k.def) {
        ctx.warn(
            None,
            format!(
                "duplicate key '{}' at line {} (first at line {}); the later value is used, as in Ansible",
                k.key_text(),
                k.def.line,
                first.line
            ),
        );
    }
}

struct Builder<'a, 'i, 'f> {
    inv: &'i Inventory<'a>,
    /// Materialized defaults + `all.vars`, converted once.
    all_vars: Option<crate::model::Vars>,
    /// The same plus group variables, per set of groups, converted once.
    base_vars: HashMap<Vec<usize>, crate::model::Vars>,
    /// Cluster and node services per set of groups (for hosts that do not
    /// override any of [`SERVICE_VARS`]).
    services: HashMap<Vec<usize>, (Vec<ClusterService>, Vec<Service>)>,
    defaults: &'static Defaults,
    generation: Generation,
    ctx: Ctx<'f>,
}

impl<'a, 'i, 'f> Builder<'a, 'i, 'f> {
    fn view(&self, host: usize) -> HostVars<'a, 'i> {
        HostVars::new(self.inv, host, self.defaults)
    }

    /// All resolved variables of a host, sharing the conversion of its
    /// groups' variables with other hosts of the same groups.
    ///
    /// Built-in defaults are included for [`defaults::MATERIALIZED`] only:
    /// the others (ports, `*_enabled` flags, services, credentials, DCS) are
    /// what the model's services, `Dcs` and `patroni_auth` already carry.
    fn vars_of(&mut self, hv: &HostVars) -> crate::model::Vars {
        let mut out = match self.base_vars.get(&hv.groups) {
            Some(b) => b.clone(),
            None => {
                if self.all_vars.is_none() {
                    let mut out = crate::model::Vars::new();
                    for name in defaults::MATERIALIZED {
                        if let Some(n) = self.defaults.get(*name) {
                            out.insert((*name).to_string(), n.to_json());
                        }
                    }
                    self.inv.groups[ALL].add_vars(&mut out);
                    self.all_vars = Some(out.freeze());
                }
                let mut b = self.all_vars.clone().unwrap_or_default();
                hv.add_group_vars(&mut b);
                let b = b.freeze();
                self.base_vars.insert(hv.groups.clone(), b.clone());
                b
            }
        };
        hv.add_host_vars(&mut out);
        out
    }

    fn global(&self) -> HostVars<'a, 'i> {
        HostVars::global(self.inv, self.defaults)
    }

    /// Port of a portal entry (`infra_portal` v2+, `nginx_upstream` v1).
    fn portal_port(&self, hv: &HostVars, name: &str) -> Option<u16> {
        if self.generation == Generation::V1 {
            let list = hv.get("nginx_upstream")?.node.as_seq()?;
            let entry = list
                .iter()
                .find(|e| e.get("name").and_then(Node::as_str) == Some(name))?;
            endpoint_port(entry.get("endpoint")?.as_str()?)
        } else {
            let entry = hv.get("infra_portal")?.node.get(name)?;
            endpoint_port(entry.get("endpoint")?.as_str()?)
        }
    }

    /// An infrastructure port: explicit variable > portal entry > default.
    fn infra_port(&mut self, hv: &HostVars, var: &str, portal: &str, fallback: u16) -> u16 {
        if hv.explicit(var).is_some() {
            return self.ctx.port_or(hv, "infra", var, fallback);
        }
        if let Some(p) = self.portal_port(hv, portal) {
            return p;
        }
        self.ctx.port_or(hv, "infra", var, fallback)
    }

    fn infra_services(&mut self, hv: &HostVars) -> Vec<Service> {
        let s = "infra";
        let v1 = self.generation == Generation::V1;
        let mut out = Vec::new();
        if self.ctx.flag(hv, s, "grafana_enabled") {
            let port = if v1 && hv.explicit("grafana_port").is_none() {
                hv.get("grafana_endpoint")
                    .and_then(|v| v.node.as_str().and_then(endpoint_port))
                    .or_else(|| self.portal_port(hv, "grafana"))
                    .unwrap_or(catalog::GRAFANA_PORT)
            } else {
                self.infra_port(hv, "grafana_port", "grafana", catalog::GRAFANA_PORT)
            };
            out.push(catalog::grafana(port));
        }
        if self.generation == Generation::V4 {
            if self.ctx.flag(hv, s, "vmetrics_enabled") {
                let port = self.infra_port(hv, "vmetrics_port", "vmetrics", 8428);
                out.push(catalog::victoria_metrics(port));
            }
        } else if self.ctx.flag(hv, s, "prometheus_enabled") {
            let port = self.infra_port(
                hv,
                "prometheus_port",
                "prometheus",
                catalog::PROMETHEUS_V1_PORT,
            );
            out.push(catalog::prometheus(port));
        }
        let alertmanager = if v1 {
            self.ctx.flag(hv, s, "prometheus_enabled")
        } else {
            self.ctx.flag(hv, s, "alertmanager_enabled")
        };
        if alertmanager {
            let port = self.infra_port(
                hv,
                "alertmanager_port",
                "alertmanager",
                catalog::ALERTMANAGER_V1_PORT,
            );
            out.push(catalog::alertmanager(port));
        }
        if self.ctx.flag(hv, s, "nginx_enabled") {
            out.push(catalog::nginx(self.ctx.port_or(hv, s, "nginx_port", 80)));
        }
        if self.ctx.flag(hv, s, "node_ntp_enabled") {
            out.push(catalog::ntp(catalog::NTP_PORT));
        }
        let dns = if v1 {
            self.ctx.flag(hv, s, "nameserver_enabled")
        } else {
            self.ctx.flag(hv, s, "dns_enabled")
        };
        if dns {
            let port = if v1 {
                catalog::DNS_PORT
            } else {
                self.ctx.port_or(hv, s, "dns_port", catalog::DNS_PORT)
            };
            out.push(catalog::dnsmasq(port));
        }
        if self.generation == Generation::V4 {
            if self.ctx.flag(hv, s, "vlogs_enabled") {
                out.push(catalog::victoria_logs(self.ctx.port_or(
                    hv,
                    s,
                    "vlogs_port",
                    9428,
                )));
            }
        } else if self.ctx.flag(hv, s, "loki_enabled") {
            out.push(catalog::loki(catalog::LOKI_PORT));
        }
        out
    }

    fn ssh(&mut self, hv: &HostVars, scope: &str) -> SshTarget {
        SshTarget {
            host: self
                .ctx
                .text(hv, scope, "ansible_host")
                .unwrap_or_else(|| hv.host_name().to_string()),
            port: self.ctx.port(hv, scope, "ansible_port"),
            user: self.ctx.text(hv, scope, "ansible_user"),
            key_file: self.ctx.text(hv, scope, "ansible_ssh_private_key_file"),
        }
    }

    fn infra_nodes(&mut self) -> Vec<InfraNode> {
        let v1 = self.generation == Generation::V1;
        let mut hosts: Vec<usize> = Vec::new();
        let group = if v1 { "meta" } else { "infra" };
        if let Some(g) = self.inv.group(group) {
            hosts = self.inv.group_hosts(g);
        }
        if v1 {
            for h in 0..self.inv.hosts.len() {
                if hosts.contains(&h) {
                    continue;
                }
                let hv = self.view(h);
                if hv
                    .get("meta_node")
                    .is_some_and(|v| bool_value(v.node) == Some(true))
                {
                    hosts.push(h);
                }
            }
        }
        let mut out = Vec::with_capacity(hosts.len());
        for (i, &h) in hosts.iter().enumerate() {
            let hv = self.view(h);
            let ip = hv.host_name().to_string();
            let position = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let seq = if v1 {
                position
            } else {
                match self.ctx.seq_num(&hv, group, "infra_seq") {
                    Some(Some(n)) => n,
                    Some(None) => {
                        self.ctx.warn(
                            Some(group),
                            format!("infra node {ip} has no infra_seq; numbered {position} by its position"),
                        );
                        position
                    }
                    None => position,
                }
            };
            let name = self
                .ctx
                .text(&hv, group, "nodename")
                .unwrap_or_else(|| format!("{group}-{seq}"));
            let services = self.infra_services(&hv);
            let ssh = self.ssh(&hv, group);
            out.push(InfraNode {
                ip,
                name,
                seq,
                services,
                ssh,
                vars: self.vars_of(&hv),
            });
        }
        out
    }

    fn dcs(&mut self) -> Dcs {
        let global = self.global();
        let namespace = self
            .ctx
            .text(&global, "all", "pg_namespace")
            .unwrap_or_else(|| "/pg".to_string());
        if self.generation != Generation::V1 {
            return Dcs {
                kind: DcsKind::Etcd,
                servers: self.etcd_servers(),
                namespace,
            };
        }
        let var = global
            .explicit("pg_dcs_type")
            .map(|v| ("pg_dcs_type", v))
            .or_else(|| global.explicit("dcs_type").map(|v| ("dcs_type", v)));
        let kind = match var {
            None => DcsKind::Consul,
            Some((name, v)) => match v.node.as_str().map(str::trim) {
                Some("consul") | Some("both") => DcsKind::Consul,
                Some("etcd") => DcsKind::Etcd,
                Some(other) => {
                    self.ctx.warn(
                        None,
                        format!(
                            "{name} '{other}' is not supported (consul or etcd); read as consul"
                        ),
                    );
                    DcsKind::Consul
                }
                None => {
                    self.ctx.bad_var(&global, "all", name, v, "consul or etcd");
                    DcsKind::Consul
                }
            },
        };
        let port = match kind {
            DcsKind::Consul => catalog::CONSUL_PORT,
            DcsKind::Etcd => catalog::ETCD_PORT,
        };
        let mut servers = Vec::new();
        if let Some(var) = global.get("dcs_servers") {
            match &var.node.value {
                Value::Map(m) => {
                    for (k, v) in m {
                        match v.scalar_text() {
                            Some(ip) if !ip.is_empty() => servers.push(DcsServer {
                                name: k.key_text(),
                                ip,
                                port,
                            }),
                            _ => self.ctx.error(
                                v.def,
                                "dcs_servers",
                                format!(
                                    "dcs_servers entry '{}' is {}; expected an IP address (dcs_servers maps names to IPs, e.g. 'meta-1: 10.10.10.10')",
                                    k.key_text(),
                                    v.type_name()
                                ),
                            ),
                        }
                    }
                }
                Value::Null => {}
                _ => self.ctx.bad_var(
                    &global,
                    "all",
                    "dcs_servers",
                    var,
                    "a mapping of server names to IPs (e.g. 'meta-1: 10.10.10.10')",
                ),
            }
        }
        Dcs {
            kind,
            servers,
            namespace,
        }
    }

    fn etcd_group(&self) -> Option<usize> {
        self.inv.group("etcd").or_else(|| {
            self.inv
                .groups
                .iter()
                .position(|g| g.vars.contains_key("etcd_cluster"))
        })
    }

    fn etcd_servers(&mut self) -> Vec<DcsServer> {
        let Some(g) = self.etcd_group() else {
            return Vec::new();
        };
        let hosts = self.inv.group_hosts(g);
        let mut out = Vec::with_capacity(hosts.len());
        for (i, h) in hosts.into_iter().enumerate() {
            let hv = self.view(h);
            let seq = match self.ctx.seq_num(&hv, "etcd", "etcd_seq") {
                Some(Some(n)) => n,
                _ => u32::try_from(i + 1).unwrap_or(u32::MAX),
            };
            let cluster = self
                .ctx
                .text(&hv, "etcd", "etcd_cluster")
                .unwrap_or_else(|| "etcd".to_string());
            let port = self
                .ctx
                .port_or(&hv, "etcd", "etcd_port", catalog::ETCD_PORT);
            out.push(DcsServer {
                name: format!("{cluster}-{seq}"),
                ip: hv.host_name().to_string(),
                port,
            });
        }
        out
    }

    /// `pg_services` & co of one host: v1 `pg_services` + `pg_services_extra`
    /// (`src_port`, `dst_port`, `check_url`), v2+ `pg_default_services` +
    /// `pg_services` (`port`, `dest`, `check`).
    fn cluster_services(&mut self, hv: &HostVars, scope: &str) -> Vec<ClusterService> {
        let v1 = self.generation == Generation::V1;
        let (lists, port_key, dest_key, check_key) = if v1 {
            (
                ["pg_services", "pg_services_extra"],
                "src_port",
                "dst_port",
                "check_url",
            )
        } else {
            (
                ["pg_default_services", "pg_services"],
                "port",
                "dest",
                "check",
            )
        };
        let default_dest = if v1 {
            "pgbouncer".to_string()
        } else {
            self.ctx
                .text(hv, scope, "pg_default_service_dest")
                .unwrap_or_else(|| "pgbouncer".to_string())
        };
        let mut out = Vec::new();
        for list_name in lists {
            let Some(var) = hv.get(list_name) else {
                continue;
            };
            let items = match &var.node.value {
                Value::Seq(s) => s.as_slice(),
                Value::Null => continue,
                _ => {
                    self.ctx
                        .bad_var(hv, scope, list_name, var, "a list of service definitions");
                    continue;
                }
            };
            for item in items {
                if item.as_map().is_none() {
                    self.ctx.error(
                        item.def,
                        list_name,
                        format!(
                            "{scope}: an entry of {list_name} is {}; expected a service definition \
                             (a mapping with name and {port_key})",
                            item.type_name()
                        ),
                    );
                    continue;
                }
                let Some(name) = item.get("name").and_then(Node::scalar_text) else {
                    self.ctx.error(
                        item.def,
                        list_name,
                        format!("{scope}: a service in {list_name} has no name; expected 'name: <service>'"),
                    );
                    continue;
                };
                let port = match item.get(port_key) {
                    None => {
                        self.ctx.error(
                            item.def,
                            port_key,
                            format!("{scope}: service '{name}' in {list_name} has no {port_key}; expected {PORT}"),
                        );
                        continue;
                    }
                    Some(p) => match port_value(p) {
                        Some(p) => p,
                        None => {
                            self.ctx.error(
                                p.def,
                                port_key,
                                format!(
                                    "{scope}: service '{name}' has {port_key} {}; expected {PORT}",
                                    p.short()
                                ),
                            );
                            continue;
                        }
                    },
                };
                let dest = match item.get(dest_key).and_then(Node::scalar_text) {
                    None => default_dest.clone(),
                    Some(d) if d == "default" && !v1 => default_dest.clone(),
                    Some(d) => d,
                };
                out.push(ClusterService {
                    name,
                    port,
                    dest,
                    check: item.get(check_key).and_then(Node::scalar_text),
                    selector: item.get("selector").and_then(Node::scalar_text),
                });
            }
        }
        out
    }

    fn instance_services(
        &mut self,
        hv: &HostVars,
        scope: &str,
        svcs: &[ClusterService],
    ) -> Vec<Service> {
        let c = &mut self.ctx;
        let mut out = Vec::with_capacity(10 + svcs.len());
        out.push(catalog::postgres(c.port_or(hv, scope, "pg_port", 5432)));
        if c.flag(hv, scope, "pgbouncer_enabled") {
            out.push(catalog::pgbouncer(c.port_or(
                hv,
                scope,
                "pgbouncer_port",
                6432,
            )));
        }
        out.push(catalog::patroni(c.port_or(hv, scope, "patroni_port", 8008)));
        if c.flag(hv, scope, "haproxy_enabled") {
            out.extend(svcs.iter().map(catalog::haproxy_service));
            out.push(catalog::haproxy_admin(c.port_or(
                hv,
                scope,
                "haproxy_exporter_port",
                9101,
            )));
        }
        if c.flag(hv, scope, "pg_exporter_enabled") {
            out.push(catalog::pg_exporter(c.port_or(
                hv,
                scope,
                "pg_exporter_port",
                9630,
            )));
        }
        if c.flag(hv, scope, "pgbouncer_exporter_enabled") {
            out.push(catalog::pgbouncer_exporter(c.port_or(
                hv,
                scope,
                "pgbouncer_exporter_port",
                9631,
            )));
        }
        if c.flag(hv, scope, "node_exporter_enabled") {
            out.push(catalog::node_exporter(c.port_or(
                hv,
                scope,
                "node_exporter_port",
                9100,
            )));
        }
        if c.flag(hv, scope, "promtail_enabled") {
            out.push(catalog::promtail(c.port_or(
                hv,
                scope,
                "promtail_port",
                9080,
            )));
        }
        out
    }

    fn clusters(&mut self) -> Vec<Cluster> {
        // every group whose own vars hold pg_cluster, keyed by the cluster name
        let mut order: Vec<(String, Vec<usize>)> = Vec::new();
        let mut by_name: HashMap<String, usize> = HashMap::new();
        let mut host_clusters: HashMap<usize, Vec<usize>> = HashMap::new();
        for (gid, g) in self.inv.groups.iter().enumerate() {
            let Some(&node) = g.vars.get("pg_cluster") else {
                continue;
            };
            let name = match &node.value {
                Value::Str(s) if !s.trim().is_empty() => s.trim().to_string(),
                Value::Int(_) | Value::UInt(_) => node.scalar_text().unwrap_or_default(),
                _ => {
                    let msg = format!(
                        "{}: pg_cluster is {}; expected the cluster name (a string such as 'pg-test')",
                        g.name,
                        if node.as_str().is_some() || node.is_null() {
                            "empty"
                        } else {
                            node.type_name()
                        }
                    );
                    self.ctx.error(node.def, "pg_cluster", msg);
                    continue;
                }
            };
            let idx = *by_name.entry(name.clone()).or_insert_with(|| {
                order.push((name, Vec::new()));
                order.len() - 1
            });
            for h in self.inv.group_hosts(gid) {
                if !order[idx].1.contains(&h) {
                    order[idx].1.push(h);
                }
                let cl = host_clusters.entry(h).or_default();
                if !cl.contains(&idx) {
                    cl.push(idx);
                }
            }
        }
        let mut multi: Vec<(&usize, &Vec<usize>)> =
            host_clusters.iter().filter(|(_, c)| c.len() > 1).collect();
        multi.sort();
        for (&h, cl) in multi {
            let names: Vec<&str> = cl.iter().map(|&i| order[i].0.as_str()).collect();
            self.ctx.warn(
                Some(names[0]),
                format!(
                    "host {} is in {} clusters: {} (a node runs one instance)",
                    self.inv.hosts[h].name,
                    names.len(),
                    names.join(", ")
                ),
            );
        }
        let mut out = Vec::with_capacity(order.len());
        for (name, hosts) in order {
            out.push(self.cluster(name, &hosts));
        }
        out
    }

    /// Cluster services and node services of a host, computed once per set
    /// of groups unless the host itself sets a variable they depend on.
    fn services_of(&mut self, hv: &HostVars, scope: &str) -> (Vec<ClusterService>, Vec<Service>) {
        let own = self.inv.hosts[hv.host]
            .var_maps
            .iter()
            .any(|m| SERVICE_VARS.iter().any(|v| m.get(v).is_some()));
        if !own && let Some(cached) = self.services.get(&hv.groups) {
            return cached.clone();
        }
        let svcs = self.cluster_services(hv, scope);
        let node = self.instance_services(hv, scope, &svcs);
        if !own {
            self.services
                .insert(hv.groups.clone(), (svcs.clone(), node.clone()));
        }
        (svcs, node)
    }

    fn cluster(&mut self, name: String, hosts: &[usize]) -> Cluster {
        let mut instances = Vec::with_capacity(hosts.len());
        let mut services: Option<Vec<ClusterService>> = None;
        for &h in hosts {
            if self.inv.hosts[h].broken {
                continue;
            }
            let hv = self.view(h);
            let ip = hv.host_name().to_string();
            let host_pos = self.inv.hosts[h].pos;
            let seq = match self.ctx.seq_num(&hv, &name, "pg_seq") {
                Some(Some(n)) => Some(n),
                Some(None) => {
                    self.ctx.error(
                        host_pos,
                        "pg_seq",
                        format!(
                            "{name}: host {ip} has no pg_seq; expected a non-negative integer \
                             (the instance number, unique in the cluster)"
                        ),
                    );
                    None
                }
                None => None,
            };
            let role = match hv.get("pg_role") {
                None => {
                    self.ctx.error(
                        host_pos,
                        "pg_role",
                        format!("{name}: host {ip} has no pg_role; expected {ROLES}"),
                    );
                    None
                }
                Some(var) => {
                    let parsed = var
                        .node
                        .as_str()
                        .map(str::trim)
                        .and_then(DeclaredRole::parse);
                    if parsed.is_none() {
                        self.ctx.bad_var(&hv, &name, "pg_role", var, ROLES);
                    }
                    parsed
                }
            };
            let (svcs, node_services) = self.services_of(&hv, &name);
            let (Some(seq), Some(role)) = (seq, role) else {
                continue;
            };
            let offline_query = self.ctx.flag(&hv, &name, "pg_offline_query");
            let upstream = self.ctx.text(&hv, &name, "pg_upstream");
            let nodename = self.ctx.text(&hv, &name, "nodename");
            let ssh = self.ssh(&hv, &name);
            if services.is_none() {
                services = Some(svcs);
            }
            instances.push(Instance {
                name: format!("{name}-{seq}"),
                cluster: name.clone(),
                ip,
                seq,
                role,
                offline_query,
                upstream,
                nodename,
                services: node_services,
                ssh,
                vars: self.vars_of(&hv),
            });
        }
        // warnings: primaries, duplicate pg_seq
        let primaries: Vec<&Instance> = instances
            .iter()
            .filter(|i| i.role == DeclaredRole::Primary)
            .collect();
        if primaries.len() > 1 {
            let list: Vec<String> = primaries
                .iter()
                .map(|i| format!("{} ({})", i.name, i.ip))
                .collect();
            self.ctx.warn(
                Some(&name),
                format!(
                    "{} instances are declared primary: {}; a cluster has one primary",
                    primaries.len(),
                    list.join(", ")
                ),
            );
        } else if primaries.is_empty() && !instances.is_empty() {
            self.ctx
                .warn(Some(&name), "no instance is declared primary".to_string());
        }
        let mut by_seq: HashMap<u32, Vec<&str>> = HashMap::new();
        for i in &instances {
            by_seq.entry(i.seq).or_default().push(&i.ip);
        }
        let mut dups: Vec<(u32, Vec<&str>)> =
            by_seq.into_iter().filter(|(_, v)| v.len() > 1).collect();
        dups.sort();
        for (seq, ips) in dups {
            self.ctx.warn(
                Some(&name),
                format!(
                    "pg_seq {seq} is used by {} hosts: {} (all named {name}-{seq})",
                    ips.len(),
                    ips.join(", ")
                ),
            );
        }
        Cluster {
            name,
            instances,
            services: services.unwrap_or_default(),
        }
    }

    /// DCS services (Consul, etcd) and agents go to the infra node of an IP,
    /// else to its instance(s); an infra node without instance gets a node
    /// exporter.
    fn place_node_services(
        &mut self,
        infra: &mut [InfraNode],
        clusters: &mut [Cluster],
        dcs: &Dcs,
    ) {
        let mut server_side: HashMap<String, Vec<Service>> = HashMap::new();
        let mut agents: HashSet<String> = HashSet::new();
        let global = self.global();
        match self.generation {
            Generation::V1 => {
                let consul = self.ctx.flag(&global, "all", "consul_enabled");
                for s in &dcs.servers {
                    let e = server_side.entry(s.ip.clone()).or_default();
                    if consul {
                        e.push(catalog::consul_server(catalog::CONSUL_PORT));
                        e.push(catalog::consul_dns(catalog::CONSUL_DNS_PORT));
                    }
                    if dcs.kind == DcsKind::Etcd {
                        e.push(catalog::etcd(catalog::ETCD_PORT));
                    }
                }
                if consul {
                    for ip in infra.iter().map(|n| &n.ip).chain(
                        clusters
                            .iter()
                            .flat_map(|c| c.instances.iter().map(|i| &i.ip)),
                    ) {
                        if !server_side.contains_key(ip) {
                            agents.insert(ip.clone());
                        }
                    }
                }
            }
            _ => {
                for s in &dcs.servers {
                    server_side
                        .entry(s.ip.clone())
                        .or_default()
                        .push(catalog::etcd(s.port));
                }
            }
        }
        let instance_ips: HashSet<String> = clusters
            .iter()
            .flat_map(|c| c.instances.iter().map(|i| i.ip.clone()))
            .collect();
        let infra_ips: HashSet<String> = infra.iter().map(|n| n.ip.clone()).collect();
        for node in infra.iter_mut() {
            let at = node
                .services
                .iter()
                .position(|s| {
                    !matches!(
                        s.kind,
                        ServiceKind::Grafana | ServiceKind::Prometheus | ServiceKind::Alertmanager
                    )
                })
                .unwrap_or(node.services.len());
            if let Some(svcs) = server_side.get(&node.ip) {
                node.services.splice(at..at, svcs.iter().cloned());
            }
            if !instance_ips.contains(&node.ip) {
                if agents.contains(&node.ip) {
                    node.services
                        .insert(at, catalog::consul_agent(catalog::CONSUL_PORT));
                }
                let hv = self.inv.host_index.get(&node.ip).map(|&h| self.view(h));
                let port = match hv {
                    Some(hv) => {
                        if self.ctx.flag(&hv, "infra", "node_exporter_enabled") {
                            Some(self.ctx.port_or(&hv, "infra", "node_exporter_port", 9100))
                        } else {
                            None
                        }
                    }
                    None => Some(9100),
                };
                if let Some(p) = port {
                    node.services.push(catalog::node_exporter(p));
                }
            }
        }
        for inst in clusters.iter_mut().flat_map(|c| c.instances.iter_mut()) {
            let at = inst
                .services
                .iter()
                .position(|s| s.kind == ServiceKind::Patroni)
                .map(|p| p + 1)
                .unwrap_or(inst.services.len());
            if !infra_ips.contains(&inst.ip)
                && let Some(svcs) = server_side.get(&inst.ip)
            {
                inst.services.splice(at..at, svcs.iter().cloned());
            }
            if agents.contains(&inst.ip) {
                inst.services
                    .insert(at, catalog::consul_agent(catalog::CONSUL_PORT));
            }
        }
    }

    /// Patroni REST credentials; `None` when the password is encrypted with
    /// ansible-vault (pigsty-tui cannot decrypt it, and Patroni's read
    /// endpoints need none).
    fn credentials(&mut self) -> Option<Credentials> {
        let global = self.global();
        let (u, p) = if self.generation == Generation::V1 {
            ("pg_monitor_username", "pg_monitor_password")
        } else {
            ("patroni_username", "patroni_password")
        };
        let password = self.ctx.text(&global, "all", p).unwrap_or_default();
        if super::yaml::is_vault(&password) {
            return None;
        }
        Some(Credentials {
            username: self.ctx.text(&global, "all", u).unwrap_or_default(),
            password,
        })
    }
}

fn endpoint(infra: &[InfraNode], kind: ServiceKind) -> Option<Endpoint> {
    infra.iter().find_map(|n| {
        n.services
            .iter()
            .find(|s| s.kind == kind)
            .map(|s| Endpoint {
                host: n.ip.clone(),
                port: s.port,
            })
    })
}

/// Build the deployment from a parsed inventory tree.
pub fn build(root: &Node, file: &Path) -> Result<Deployment, InventoryError> {
    let inv = Inventory::read(root, file).map_err(|d| InventoryError::Invalid(vec![d]))?;
    let mut ctx = Ctx {
        file,
        errors: inv.errors.clone(),
        reported: HashSet::new(),
        warnings: Vec::new(),
    };
    for (pos, msg) in &inv.notes {
        ctx.warn(None, format!("{msg} (line {})", pos.line));
    }
    duplicate_keys(root, &mut HashSet::new(), &mut ctx);

    // generation and version
    let all_vars = &inv.groups[ALL].vars;
    let version_text = match all_vars.get("version") {
        None => None,
        Some(n) => match n.scalar_text() {
            Some(t) => Some(t),
            None => {
                if !n.is_null() {
                    ctx.error(
                        n.def,
                        "version",
                        format!(
                            "all.vars has version {}; expected a Pigsty version string such as 'v3.6.1'",
                            n.short()
                        ),
                    );
                }
                None
            }
        },
    };
    let version = version_text.as_deref().and_then(Version::parse);
    let generation = detect_generation(&inv, version, version_text.as_deref(), &mut ctx);
    let mut b = Builder {
        inv: &inv,
        all_vars: None,
        base_vars: HashMap::new(),
        services: HashMap::new(),
        defaults: defaults::defaults(generation, version),
        generation,
        ctx,
    };

    let mut infra = b.infra_nodes();
    let dcs = b.dcs();
    let mut clusters = b.clusters();
    b.place_node_services(&mut infra, &mut clusters, &dcs);
    let patroni_auth = b.credentials();
    let endpoints = InfraEndpoints {
        prometheus: endpoint(&infra, ServiceKind::Prometheus),
        alertmanager: endpoint(&infra, ServiceKind::Alertmanager),
        grafana: endpoint(&infra, ServiceKind::Grafana),
    };
    let mut ctx = b.ctx;
    if !ctx.errors.is_empty() {
        ctx.errors.sort_by_key(|d| (d.line, d.column));
        return Err(InventoryError::Invalid(ctx.errors));
    }
    Ok(Deployment {
        name: deployment_name(file),
        source: PathBuf::from(file),
        generation,
        version: version_text,
        dcs,
        infra,
        clusters,
        endpoints,
        patroni_auth,
        warnings: ctx.warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_ports() {
        assert_eq!(endpoint_port("${admin_ip}:9090"), Some(9090));
        assert_eq!(endpoint_port("http://10.10.10.10:3000"), Some(3000));
        assert_eq!(
            endpoint_port("http://10.10.10.10:3100/loki/api/v1/push"),
            Some(3100)
        );
        assert_eq!(endpoint_port("h.pigsty"), None);
    }

    #[test]
    fn names() {
        assert_eq!(deployment_name(Path::new("/x/prod.yml")), "prod");
        assert_eq!(
            deployment_name(Path::new("/etc/pigsty/pigsty.yml")),
            "pigsty"
        );
        assert_eq!(deployment_name(Path::new("/srv/dc1/pigsty.yml")), "dc1");
        assert!(!deployment_name(Path::new("pigsty.yml")).is_empty());
    }

    #[test]
    fn bools_like_ansible() {
        let n = |v| Node::new(v, Pos::START);
        assert_eq!(bool_value(&n(Value::Str("yes".into()))), Some(true));
        assert_eq!(bool_value(&n(Value::Int(0))), Some(false));
        assert_eq!(bool_value(&n(Value::Str("maybe".into()))), None);
    }
}
