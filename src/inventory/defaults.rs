//! Pigsty's built-in defaults (the lowest precedence layer), per generation.
//!
//! Taken from Pigsty's role defaults (`roles/*/defaults/main.yml`) and the
//! `all.vars` sections of the reference configs: v1.0.0 / v1.5.1
//! `pigsty.yml`, v2.0.0 / v2.7.0, v3.0.0, v3.6.1 and v3.7.0, v4.0.0.
//! Only variables the console reads are listed. Notable changes:
//!
//! * v1 has no `prometheus_port` / `alertmanager_port` / `grafana_port`
//!   variables: 9090 / 9093 / 3000 are fixed (Consul 8500, Consul DNS 8600,
//!   Loki 3100 too). Patroni's REST API uses `pg_monitor_username/password`.
//! * v2 introduced `patroni_username/password` (`postgres` / `Patroni.API`),
//!   `etcd_port` (2379) and `pg_default_services` + `pg_services`.
//! * v3.7 moved Prometheus to `prometheus_port: 9058` and Alertmanager to
//!   `alertmanager_port: 9059` (v3.6 had `alertmanager_port: 9093`).
//! * v4 replaced Prometheus with VictoriaMetrics (`vmetrics_port: 8428`,
//!   Prometheus-compatible API) and Loki with VictoriaLogs (`vlogs_port: 9428`).
//!
//! `pg_log_dir` is not a v1 variable; v1 logs to `/pg/data/log`, which is
//! given as its default so later features can read one variable everywhere.

use std::sync::LazyLock;

use super::yaml::{self, Node, Pos};
use crate::model::Generation;

const COMMON: &str = r#"
pg_port: 5432
pgbouncer_port: 6432
patroni_port: 8008
pg_exporter_port: 9630
pgbouncer_exporter_port: 9631
node_exporter_port: 9100
haproxy_exporter_port: 9101
nginx_port: 80
grafana_port: 3000
pg_namespace: /pg
pg_dbsu: postgres
pg_dbsu_home: /var/lib/pgsql
pg_data: /pg/data
pg_bin_dir: /usr/pgsql/bin
pg_localhost: /var/run/postgresql
pg_offline_query: false
pg_weight: 100
pg_admin_username: dbuser_dba
pg_admin_password: DBUser.DBA
pg_monitor_username: dbuser_monitor
pg_monitor_password: DBUser.Monitor
pg_replication_username: replicator
pg_replication_password: DBUser.Replicator
patroni_enabled: true
pgbouncer_enabled: true
pg_exporter_enabled: true
pgbouncer_exporter_enabled: true
node_exporter_enabled: true
haproxy_enabled: true
nginx_enabled: true
grafana_enabled: true
node_ntp_enabled: true
"#;

const V1: &str = r#"
pg_dcs_type: consul
dcs_servers: {}
consul_enabled: true
meta_node: false
prometheus_enabled: true
nameserver_enabled: true
loki_enabled: false
promtail_enabled: false
promtail_port: 9080
pg_log_dir: /pg/data/log
pg_services_extra: []
pg_services:
  - { name: primary ,src_ip: "*" ,src_port: 5433 ,dst_port: pgbouncer ,check_url: /primary   ,selector: "[]" }
  - { name: replica ,src_ip: "*" ,src_port: 5434 ,dst_port: pgbouncer ,check_url: /read-only ,selector: "[]" ,selector_backup: "[? pg_role == `primary` || pg_role == `offline` ]" }
  - { name: default ,src_ip: "*" ,src_port: 5436 ,dst_port: postgres  ,check_url: /primary   ,selector: "[]" }
  - { name: offline ,src_ip: "*" ,src_port: 5438 ,dst_port: postgres  ,check_url: /replica   ,selector: "[? pg_role == `offline` || pg_offline_query ]" ,selector_backup: "[? pg_role == `replica` && !pg_offline_query]" }
"#;

/// v2.x and v3.x (before v3.7).
const V2: &str = r#"
etcd_port: 2379
patroni_username: postgres
patroni_password: Patroni.API
patroni_ssl_enabled: false
dns_enabled: true
dns_port: 53
prometheus_enabled: true
prometheus_port: 9090
alertmanager_enabled: true
alertmanager_port: 9093
loki_enabled: true
promtail_enabled: true
promtail_port: 9080
pg_log_dir: /pg/log/postgres
patroni_log_dir: /pg/log/patroni
pgbouncer_log_dir: /pg/log/pgbouncer
pgbackrest_enabled: true
pgbackrest_method: local
pgbackrest_log_dir: /pg/log/pgbackrest
pg_default_service_dest: pgbouncer
pg_services: []
pg_default_services:
  - { name: primary ,port: 5433 ,dest: default  ,check: /primary   ,selector: "[]" }
  - { name: replica ,port: 5434 ,dest: default  ,check: /read-only ,selector: "[]" , backup: "[? pg_role == `primary` || pg_role == `offline` ]" }
  - { name: default ,port: 5436 ,dest: postgres ,check: /primary   ,selector: "[]" }
  - { name: offline ,port: 5438 ,dest: postgres ,check: /replica   ,selector: "[? pg_role == `offline` || pg_offline_query ]" , backup: "[? pg_role == `replica` && !pg_offline_query]"}
"#;

/// v3.7 changes over [`V2`].
const V3_7: &str = r#"
prometheus_port: 9058
alertmanager_port: 9059
"#;

/// v4 changes over [`V2`]: VictoriaMetrics / VictoriaLogs, no Prometheus,
/// Loki or Promtail.
const V4: &str = r#"
prometheus_enabled: false
loki_enabled: false
promtail_enabled: false
vmetrics_enabled: true
vmetrics_port: 8428
vlogs_enabled: true
vlogs_port: 9428
alertmanager_port: 9059
"#;

/// The built-in defaults copied into every host's resolved `vars`
/// (`Instance.vars`, `InfraNode.vars`): paths and settings that later
/// features (logs, backups, patronictl) read and that the model does not
/// carry otherwise. The other defaults are reflected in the model (service
/// ports and `*_enabled` flags in `services`, `pg_namespace` in `Dcs`,
/// credentials in `patroni_auth`) and can be read with [`default_var`]; they
/// are not copied into every host to keep large inventories fast. Variables
/// set in the inventory are always in `vars`.
pub const MATERIALIZED: &[&str] = &[
    "pg_dbsu",
    "pg_dbsu_home",
    "pg_data",
    "pg_bin_dir",
    "pg_localhost",
    "pg_log_dir",
    "patroni_log_dir",
    "pgbouncer_log_dir",
    "pgbackrest_log_dir",
    "pgbackrest_method",
    "patroni_ssl_enabled",
];

/// Variable name → default value.
pub type Defaults = super::groups::FastMap<String, Node>;

fn build(layers: &[&str]) -> Defaults {
    let mut out = Defaults::default();
    for text in layers {
        let root = yaml::parse(text).expect("built-in defaults are valid YAML");
        for (k, v) in root.as_map().expect("built-in defaults are a mapping") {
            let mut v = v.clone();
            unknown_pos(&mut v);
            out.insert(k.key_text(), v);
        }
    }
    out
}

/// Defaults have no place in the user's file.
fn unknown_pos(n: &mut Node) {
    n.at = Pos::default();
    n.def = Pos::default();
    match &mut n.value {
        yaml::Value::Seq(s) => s.iter_mut().for_each(unknown_pos),
        yaml::Value::Map(m) => m.iter_mut().for_each(|(k, v)| {
            unknown_pos(k);
            unknown_pos(v);
        }),
        _ => {}
    }
}

static D_V1: LazyLock<Defaults> = LazyLock::new(|| build(&[COMMON, V1]));
static D_V2: LazyLock<Defaults> = LazyLock::new(|| build(&[COMMON, V2]));
static D_V3_7: LazyLock<Defaults> = LazyLock::new(|| build(&[COMMON, V2, V3_7]));
static D_V4: LazyLock<Defaults> = LazyLock::new(|| build(&[COMMON, V2, V4]));

/// A parsed `version` (`v3.7.0` → 3, 7, 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    /// Parse `v3.7.0`, `3.7`, `v4` (a leading `v` is optional; anything
    /// after the numbers, like `-rc2`, is ignored).
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.trim();
        let s = s
            .strip_prefix('v')
            .or_else(|| s.strip_prefix('V'))
            .unwrap_or(s);
        let mut nums = s
            .split(['.', '-', '+'])
            .map(|p| p.trim().parse::<u32>().ok());
        let major = nums.next()??;
        let minor = nums.next().flatten().unwrap_or(0);
        let patch = nums.next().flatten().unwrap_or(0);
        Some(Version {
            major,
            minor,
            patch,
        })
    }
}

/// The defaults for a generation (and, within v3, a version).
pub fn defaults(generation: Generation, version: Option<Version>) -> &'static Defaults {
    match generation {
        Generation::V1 => &D_V1,
        Generation::V2 => &D_V2,
        Generation::V3 => match version {
            Some(v) if (v.major, v.minor) >= (3, 7) => &D_V3_7,
            _ => &D_V2,
        },
        Generation::V4 => &D_V4,
    }
}

/// Pigsty's built-in default of a variable, as JSON (`None` when Pigsty has
/// none for that generation). `version` is `all.vars.version`, if any.
pub fn default_var(
    generation: Generation,
    version: Option<&str>,
    name: &str,
) -> Option<serde_json::Value> {
    defaults(generation, version.and_then(Version::parse))
        .get(name)
        .map(Node::to_json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        let v = |s| Version::parse(s);
        assert_eq!(
            v("v3.7.0"),
            Some(Version {
                major: 3,
                minor: 7,
                patch: 0
            })
        );
        assert_eq!(v("4").map(|v| v.major), Some(4));
        assert_eq!(v("v4.0.0-rc2").map(|v| (v.major, v.minor)), Some((4, 0)));
        assert_eq!(v("latest"), None);
    }

    #[test]
    fn prometheus_port_by_version() {
        let port = |g, v: Option<&str>| {
            let d = defaults(g, v.and_then(Version::parse));
            d.get("prometheus_port").map(|n| n.scalar_text().unwrap())
        };
        assert_eq!(
            port(Generation::V3, Some("v3.6.1")).as_deref(),
            Some("9090")
        );
        assert_eq!(
            port(Generation::V3, Some("v3.7.0")).as_deref(),
            Some("9058")
        );
        assert_eq!(
            port(Generation::V2, Some("v2.7.0")).as_deref(),
            Some("9090")
        );
        assert_eq!(port(Generation::V1, None), None);
    }

    #[test]
    fn default_var_reads_the_right_generation() {
        assert_eq!(
            default_var(Generation::V3, Some("v3.7.0"), "alertmanager_port"),
            Some(serde_json::json!(9059))
        );
        assert_eq!(
            default_var(Generation::V1, None, "pg_log_dir"),
            Some(serde_json::json!("/pg/data/log"))
        );
        assert_eq!(default_var(Generation::V1, None, "patroni_username"), None);
    }

    #[test]
    fn all_layers_parse() {
        for g in [
            Generation::V1,
            Generation::V2,
            Generation::V3,
            Generation::V4,
        ] {
            assert!(defaults(g, None).contains_key("pg_port"));
        }
    }
}
