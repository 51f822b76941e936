//! Inventory loader: Pigsty v1 and v3/v4 layouts, variable precedence,
//! services, errors with file:line:column, warnings, discovery, and the real
//! Pigsty configs when they are around.

use std::path::{Path, PathBuf};

use pigsty_tui::inventory::{self, DiscoverEnv, InventoryError, discover_in, generate_inventory};
use pigsty_tui::model::{
    DcsKind, DeclaredRole, Deployment, Generation, Proto, ServiceKind, var_str,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/inventory")
        .join(name)
}

fn load(name: &str) -> Deployment {
    let path = fixture(name);
    inventory::load(&path).unwrap_or_else(|e| panic!("{name} should load:\n{e}"))
}

/// Parse `text` as `pigsty.yml`, expecting an error; its full message.
fn error(text: &str) -> String {
    match inventory::parse(text, Path::new("pigsty.yml")) {
        Ok(d) => panic!("expected an error, got a deployment: {d:#?}"),
        Err(e) => e.to_string(),
    }
}

/// Cluster names with their instance names.
type Clusters = Vec<(String, Vec<String>)>;

fn names(d: &Deployment) -> Clusters {
    d.clusters
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                c.instances.iter().map(|i| i.name.clone()).collect(),
            )
        })
        .collect()
}

fn ports(svcs: &[pigsty_tui::model::Service]) -> Vec<(String, u16)> {
    svcs.iter().map(|s| (s.name.to_string(), s.port)).collect()
}

// ---------------------------------------------------------------- v1 --

#[test]
fn v1_layout_with_consul() {
    let d = load("v1.yml");
    assert_eq!(d.generation, Generation::V1);
    assert_eq!(d.version.as_deref(), Some("v1.5.1"));
    assert_eq!(d.name, "v1");
    assert_eq!(d.dcs.kind, DcsKind::Consul);
    assert_eq!(d.dcs.namespace, "/pg");
    assert_eq!(d.dcs.servers.len(), 1);
    assert_eq!(d.dcs.servers[0].name, "meta-1");
    assert_eq!(d.dcs.servers[0].ip, "10.10.10.10");
    assert_eq!(d.dcs.servers[0].port, 8500);

    // redis-test is not a postgres cluster
    assert_eq!(
        names(&d),
        [
            ("pg-meta".to_string(), vec!["pg-meta-1".to_string()]),
            (
                "pg-test".to_string(),
                vec!["pg-test-1".into(), "pg-test-2".into(), "pg-test-3".into()]
            ),
        ]
    );

    // meta node: infra services of the v1 table
    assert_eq!(d.infra.len(), 1);
    let meta = &d.infra[0];
    assert_eq!(
        (meta.ip.as_str(), meta.name.as_str(), meta.seq),
        ("10.10.10.10", "meta-1", 1)
    );
    assert_eq!(
        ports(&meta.services),
        [
            ("Grafana".to_string(), 3000),
            ("Prometheus".into(), 9090),
            ("Alertmanager".into(), 9093),
            ("Consul".into(), 8500),
            ("Consul DNS".into(), 8600),
            ("Nginx".into(), 80),
            ("NTP".into(), 123),
            ("Loki".into(), 3100), // loki_enabled: true; nameserver_enabled: false
        ]
    );
    let dns = meta
        .services
        .iter()
        .find(|s| s.kind == ServiceKind::ConsulDns)
        .unwrap();
    assert_eq!(dns.proto, Proto::Udp);
    assert_eq!(meta.ssh.host, "meta");
    assert_eq!(meta.ssh.port, Some(2222));

    // credentials: v1 uses the monitor user for Patroni's REST API
    let auth = d.patroni_auth.as_ref().unwrap();
    assert_eq!(auth.username, "dbuser_monitor");
    assert_eq!(auth.password, "Monitor.Secret");

    let ep = &d.endpoints;
    assert_eq!(
        ep.prometheus.as_ref().unwrap().url(),
        "http://10.10.10.10:9090"
    );
    assert_eq!(ep.alertmanager.as_ref().unwrap().port, 9093);
    assert_eq!(ep.grafana.as_ref().unwrap().port, 3000);
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
}

#[test]
fn v1_instances_services_and_merge_keys() {
    let d = load("v1.yml");
    let meta1 = d.instance("pg-meta-1").unwrap();
    assert!(meta1.offline_query);
    // the consul server node runs no separate agent
    assert!(meta1.port_of(ServiceKind::ConsulAgent).is_none());

    let t1 = d.instance("pg-test-1").unwrap();
    assert_eq!(t1.role, DeclaredRole::Primary);
    assert_eq!(t1.ip, "10.10.10.11");
    assert_eq!(t1.ssh.host, "10.10.10.11"); // no ansible_host: the key IP
    assert_eq!(t1.ssh.user.as_deref(), Some("vagrant")); // from <<: *ssh
    assert_eq!(t1.ssh.port, Some(2222));
    assert_eq!(
        ports(&t1.services),
        [
            ("Postgres".to_string(), 5432),
            ("Pgbouncer".into(), 6432),
            ("Patroni".into(), 8008),
            ("Consul Agent".into(), 8500),
            ("Haproxy Primary".into(), 5433),
            ("Haproxy Replica".into(), 5434),
            ("Haproxy Default".into(), 5436),
            ("Haproxy Offline".into(), 5438),
            ("Haproxy Standby".into(), 5435),
            ("Haproxy Admin".into(), 9101),
            ("PG Exporter".into(), 9630),
            ("PGBouncer Exporter".into(), 9631),
            ("Node Exporter".into(), 9100),
        ]
    );
    let patroni = t1
        .services
        .iter()
        .find(|s| s.kind == ServiceKind::Patroni)
        .unwrap();
    assert_eq!(patroni.http_health.as_deref(), Some("/health"));

    // explicit keys win over merged ones, merged ones over all.vars
    let t3 = d.instance("pg-test-3").unwrap();
    assert_eq!(t3.role, DeclaredRole::Offline);
    assert_eq!(t3.ssh.port, Some(2223));
    assert_eq!(t3.vars["pg_version"], 13);
    assert_eq!(t3.vars["node_tune"], "tiny");
    assert_eq!(d.instance("pg-meta-1").unwrap().vars["pg_version"], 14);

    // v1 service fields: src_port / dst_port / check_url
    let c = d.cluster("pg-test").unwrap();
    let standby = c.services.iter().find(|s| s.name == "standby").unwrap();
    assert_eq!(standby.port, 5435);
    assert_eq!(standby.dest, "pgbouncer");
    assert_eq!(standby.check.as_deref(), Some("/sync"));
    assert_eq!(standby.selector.as_deref(), Some("[]"));
    let offline = c.services.iter().find(|s| s.name == "offline").unwrap();
    assert_eq!((offline.port, offline.dest.as_str()), (5438, "postgres"));
    assert_eq!(offline.check.as_deref(), Some("/replica"));
}

#[test]
fn v1_without_version_and_etcd_dcs() {
    let d = load("v1-etcd.yml");
    assert_eq!(d.generation, Generation::V1);
    assert_eq!(d.version, None);
    assert_eq!(d.dcs.kind, DcsKind::Etcd);
    let servers: Vec<_> = d
        .dcs
        .servers
        .iter()
        .map(|s| (s.name.as_str(), s.ip.as_str(), s.port))
        .collect();
    assert_eq!(
        servers,
        [
            ("meta-1", "10.10.10.10", 2379),
            ("meta-2", "10.10.10.11", 2379)
        ]
    );
    assert_eq!(d.infra.len(), 2);
    assert_eq!(d.infra[1].name, "meta-2");
    assert!(
        d.infra[1]
            .services
            .iter()
            .any(|s| s.kind == ServiceKind::Etcd && s.port == 2379)
    );
    // a meta node without an instance still runs a node exporter
    assert!(
        d.infra[0]
            .services
            .iter()
            .any(|s| s.kind == ServiceKind::NodeExporter)
    );
    // built-in v1 services (pg_services not set): the four default ports
    let svc: Vec<u16> = d
        .cluster("pg-test")
        .unwrap()
        .services
        .iter()
        .map(|s| s.port)
        .collect();
    assert_eq!(svc, [5433, 5434, 5436, 5438]);
    // v1 defaults materialized in vars
    assert_eq!(
        d.instance("pg-test-1").unwrap().vars["pg_log_dir"],
        "/pg/data/log"
    );
}

// ---------------------------------------------------------------- v3 --

#[test]
fn v3_layout_with_etcd() {
    let d = load("v3.yml");
    assert_eq!(d.generation, Generation::V3);
    assert_eq!(d.dcs.kind, DcsKind::Etcd);
    assert_eq!(d.dcs.namespace, "/service");
    let servers: Vec<_> = d
        .dcs
        .servers
        .iter()
        .map(|s| (s.name.as_str(), s.ip.as_str(), s.port))
        .collect();
    assert_eq!(
        servers,
        [
            ("etcd-1", "10.10.10.10", 2389),
            ("etcd-2", "10.10.10.11", 2389),
            ("etcd-3", "10.10.10.12", 2389)
        ]
    );
    assert_eq!(
        names(&d),
        [
            ("pg-meta".to_string(), vec!["pg-meta-1".to_string()]),
            (
                "pg-test".to_string(),
                vec!["pg-test-1".into(), "pg-test-2".into(), "pg-test-3".into()]
            ),
        ]
    );
    let infra = &d.infra[0];
    assert_eq!((infra.name.as_str(), infra.seq), ("admin", 1)); // nodename
    assert_eq!(
        ports(&infra.services),
        [
            ("Grafana".to_string(), 3000),
            ("Prometheus".into(), 9090),
            ("Alertmanager".into(), 9093),
            ("etcd".into(), 2389),
            ("Nginx".into(), 80),
            ("NTP".into(), 123),
            ("Loki".into(), 3100), // dns_enabled: false
        ]
    );
    let health = |k| {
        infra
            .services
            .iter()
            .find(|s| s.kind == k)
            .unwrap()
            .http_health
            .clone()
    };
    assert_eq!(health(ServiceKind::Prometheus).as_deref(), Some("/-/ready"));
    assert_eq!(
        health(ServiceKind::Alertmanager).as_deref(),
        Some("/-/ready")
    );
    assert_eq!(health(ServiceKind::Grafana).as_deref(), Some("/api/health"));
    assert_eq!(health(ServiceKind::Etcd).as_deref(), Some("/health"));

    let auth = d.patroni_auth.as_ref().unwrap();
    assert_eq!(
        (auth.username.as_str(), auth.password.as_str()),
        ("patroni", "Patroni.Secret")
    );
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
}

#[test]
fn v3_services_from_pg_services_and_defaults() {
    let d = load("v3.yml");
    let c = d.cluster("pg-test").unwrap();
    let svc: Vec<_> = c
        .services
        .iter()
        .map(|s| (s.name.as_str(), s.port, s.dest.as_str(), s.check.as_deref()))
        .collect();
    assert_eq!(
        svc,
        [
            ("primary", 5433, "pgbouncer", Some("/primary")),
            ("replica", 5434, "pgbouncer", Some("/read-only")),
            ("default", 5436, "postgres", Some("/primary")),
            ("offline", 5438, "postgres", Some("/replica")),
            ("standby", 5435, "pgbouncer", Some("/sync")), // dest: default
            ("direct", 5440, "5432", None),
        ]
    );
    assert_eq!(
        c.services[3].selector.as_deref(),
        Some("[? pg_role == `offline` || pg_offline_query ]")
    );
    let t1 = d.instance("pg-test-1").unwrap();
    let haproxy: Vec<u16> = t1
        .services
        .iter()
        .filter(|s| s.kind == ServiceKind::HaproxyService)
        .map(|s| s.port)
        .collect();
    assert_eq!(haproxy, [5433, 5434, 5436, 5438, 5435, 5440]);
    // an etcd member that is not an infra node carries etcd in its services
    assert_eq!(t1.port_of(ServiceKind::Etcd), Some(2389));
    assert_eq!(
        d.instance("pg-test-3").unwrap().port_of(ServiceKind::Etcd),
        None
    );
    for kind in [
        ServiceKind::PgExporter,
        ServiceKind::PgbouncerExporter,
        ServiceKind::NodeExporter,
        ServiceKind::HaproxyAdmin,
    ] {
        let s = t1.services.iter().find(|s| s.kind == kind).unwrap();
        assert_eq!(s.http_health.as_deref(), Some("/metrics"), "{kind:?}");
    }
}

#[test]
fn precedence_host_over_group_over_parent_over_all_over_defaults() {
    let d = load("v3.yml");
    let t1 = d.instance("pg-test-1").unwrap();
    let t3 = d.instance("pg-test-3").unwrap();
    // host (9731) > cluster vars via <<: *common (9700) > default (9630)
    assert_eq!(t3.port_of(ServiceKind::PgExporter), Some(9731));
    assert_eq!(t1.port_of(ServiceKind::PgExporter), Some(9700));
    assert_eq!(
        d.instance("pg-meta-1")
            .unwrap()
            .port_of(ServiceKind::PgExporter),
        Some(9630)
    );
    // child group (9300) > parent group (9200) > default (9100)
    assert_eq!(t1.port_of(ServiceKind::NodeExporter), Some(9300));
    // parent group (6543) > default (6432)
    assert_eq!(t1.port_of(ServiceKind::Pgbouncer), Some(6543));
    assert_eq!(
        d.instance("pg-meta-1")
            .unwrap()
            .port_of(ServiceKind::Pgbouncer),
        Some(6432)
    );
    // all.vars > default, and the default where nothing is set
    assert_eq!(t1.vars["pg_dbsu"], "postgres");
    assert_eq!(t1.vars["pg_log_dir"], "/pg/log/postgres");
    assert_eq!(t1.vars["pg_namespace"], "/service");
    // resolved vars keep the whole tree
    assert_eq!(t1.vars["pgbackrest_repo"]["minio"]["bundle"], "y");
    assert_eq!(t3.vars["pg_version"], 17);
    assert_eq!(var_str(&t1.vars, "pg_cluster").as_deref(), Some("pg-test"));
    assert_eq!(t1.upstream, None);
    let t2 = d.instance("pg-test-2").unwrap();
    assert_eq!(t2.upstream.as_deref(), Some("10.10.10.11"));
    assert_eq!(t1.ssh.host, "node-1");
    assert!(t3.offline_query && !t1.offline_query);
}

#[test]
fn precedence_inline() {
    let text = "
all:
  children:
    parent:
      vars: { a: parent, b: parent, pg_port: 5100 }
      children:
        pg-x:
          vars: { pg_cluster: pg-x, b: child, pg_port: 5200 }
          hosts:
            10.0.0.1: { pg_seq: 1, pg_role: primary, pg_port: 5300 }
            10.0.0.2: { pg_seq: 2, pg_role: replica }
    other:
      vars: { a: other }
      hosts:
        10.0.0.2: {}
    prio:
      vars: { c: prio, ansible_group_priority: 10 }
      hosts: { 10.0.0.2: {} }
    zz:
      vars: { c: zz }
      hosts: { 10.0.0.2: {} }
  vars:
    version: v3.6.1
    a: all
    c: all
    pg_port: 5000
";
    let d = inventory::parse(text, Path::new("prec.yml")).unwrap();
    let x1 = d.instance("pg-x-1").unwrap();
    let x2 = d.instance("pg-x-2").unwrap();
    assert_eq!(x1.pg_port(), 5300); // host
    assert_eq!(x2.pg_port(), 5200); // child group over parent and all
    assert_eq!(x1.vars["b"], "child");
    assert_eq!(x1.vars["a"], "parent"); // parent over all
    // same depth and priority: the group whose name sorts later wins
    assert_eq!(x2.vars["a"], "parent");
    // same depth: higher ansible_group_priority wins over the later name
    assert_eq!(x2.vars["c"], "prio");
    assert_eq!(x1.vars["c"], "all");
}

#[test]
fn v37_moves_prometheus_and_alertmanager() {
    let d = load("v37.yml");
    assert_eq!(d.generation, Generation::V3);
    assert_eq!(d.endpoints.prometheus.as_ref().unwrap().port, 9058);
    assert_eq!(d.endpoints.alertmanager.as_ref().unwrap().port, 9059);
    assert_eq!(d.endpoints.grafana.as_ref().unwrap().port, 3000);
    // and an explicit variable still wins
    let text = std::fs::read_to_string(fixture("v37.yml"))
        .unwrap()
        .replace(
            "admin_ip: 10.10.10.10",
            "admin_ip: 10.10.10.10\n    prometheus_port: 9090",
        );
    let d = inventory::parse(&text, Path::new("v37.yml")).unwrap();
    assert_eq!(d.endpoints.prometheus.as_ref().unwrap().port, 9090);
}

#[test]
fn portal_endpoint_gives_the_port_when_there_is_no_variable() {
    let text = "
all:
  children:
    infra: { hosts: { 10.10.10.10: { infra_seq: 1 } } }
  vars:
    infra_portal:
      prometheus: { domain: p.pigsty, endpoint: '${admin_ip}:9058' }
";
    let d = inventory::parse(text, Path::new("pigsty.yml")).unwrap();
    assert_eq!(d.generation, Generation::V3);
    assert_eq!(d.endpoints.prometheus.as_ref().unwrap().port, 9058);
}

#[test]
fn v4_uses_victoria_metrics() {
    let d = load("v4.yml");
    assert_eq!(d.generation, Generation::V4);
    let prom = d.endpoints.prometheus.as_ref().unwrap();
    assert_eq!(prom.port, 8428);
    assert_eq!(d.endpoints.alertmanager.as_ref().unwrap().port, 9059);
    let vm = d.infra[0]
        .services
        .iter()
        .find(|s| s.kind == ServiceKind::Prometheus)
        .unwrap();
    assert_eq!(&*vm.name, "VictoriaMetrics");
    assert_eq!(vm.http_health.as_deref(), Some("/health"));
}

#[test]
fn generation_from_layout() {
    let v3 = "all:\n  children:\n    infra: { hosts: { 10.0.0.1: { infra_seq: 1 } } }\n";
    let d = inventory::parse(v3, Path::new("x.yml")).unwrap();
    assert_eq!(d.generation, Generation::V3);
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    let v1 =
        "all:\n  children:\n    meta: { hosts: { 10.0.0.1: {} }, vars: { meta_node: true } }\n";
    let d = inventory::parse(v1, Path::new("x.yml")).unwrap();
    assert_eq!(d.generation, Generation::V1);
    assert_eq!(d.dcs.kind, DcsKind::Consul);
    let v2 = "all:\n  vars: { version: v2.7.0 }\n";
    assert_eq!(
        inventory::parse(v2, Path::new("x.yml")).unwrap().generation,
        Generation::V2
    );
    let none = "all:\n  vars: { region: default }\n";
    let d = inventory::parse(none, Path::new("x.yml")).unwrap();
    assert_eq!(d.generation, Generation::V3);
    assert!(
        d.warnings[0]
            .message
            .contains("cannot tell the Pigsty generation")
    );
}

#[test]
fn host_values_may_be_empty_null_or_maps() {
    let text = "
all:
  children:
    pg-x:
      vars: { pg_cluster: pg-x, pg_role: replica }
      hosts:
        10.0.0.1: { pg_seq: 1, pg_role: primary }
    seqs:
      hosts:
        10.0.0.2: { pg_seq: 2 }
        10.0.0.3: { pg_seq: 3 }
    pg-y:
      vars: { pg_cluster: pg-x, pg_role: replica }
      hosts:
        10.0.0.2: ~
        10.0.0.3:
  vars: { version: v3.6.1 }
";
    let d = inventory::parse(text, Path::new("x.yml")).unwrap();
    // two groups with the same pg_cluster are one cluster
    assert_eq!(
        names(&d),
        [(
            "pg-x".to_string(),
            vec!["pg-x-1".into(), "pg-x-2".into(), "pg-x-3".into()]
        )]
    );
    assert_eq!(d.instance("pg-x-2").unwrap().role, DeclaredRole::Replica);
}

#[test]
fn sandbox_inventory_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("inventory/sandbox.yml");
    let d = inventory::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.generation, Generation::V3);
    assert_eq!(d.name, "sandbox");
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    assert_eq!(d.infra.len(), 1);
    assert_eq!(d.infra[0].ip, "10.10.10.10");
    assert_eq!(d.dcs.servers.len(), 1);
    assert_eq!(
        names(&d),
        [
            ("pg-meta".to_string(), vec!["pg-meta-1".to_string()]),
            (
                "pg-test".to_string(),
                vec!["pg-test-1".into(), "pg-test-2".into(), "pg-test-3".into()]
            ),
        ]
    );
    let roles: Vec<_> = d
        .cluster("pg-test")
        .unwrap()
        .instances
        .iter()
        .map(|i| (i.ip.as_str(), i.role, i.offline_query))
        .collect();
    assert_eq!(
        roles,
        [
            ("10.10.10.11", DeclaredRole::Primary, false),
            ("10.10.10.12", DeclaredRole::Replica, false),
            ("10.10.10.13", DeclaredRole::Replica, true),
        ]
    );
    assert_eq!(
        d.node_ips(),
        ["10.10.10.10", "10.10.10.11", "10.10.10.12", "10.10.10.13"]
    );
}

#[test]
fn local_sandbox_inventories_load() {
    for name in ["local.yml", "local-v1.yml"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("inventory")
            .join(name);
        if !path.exists() {
            eprintln!("note: {} is absent; skipped", path.display());
            continue;
        }
        let d = inventory::load(&path).unwrap_or_else(|e| panic!("{name}:\n{e}"));
        assert!(d.warnings.is_empty(), "{name}: {:?}", d.warnings);
        assert!(d.instance_count() > 0, "{name}");
        assert!(!d.infra.is_empty(), "{name}");
        let want = if name == "local-v1.yml" {
            Generation::V1
        } else {
            Generation::V3
        };
        assert_eq!(d.generation, want, "{name}");
    }
}

// ------------------------------------------------------------ errors --

#[test]
fn error_broken_yaml_syntax() {
    let e = error(
        "all:\n  children:\n    pg-test:\n      hosts:\n        10.10.10.11: { pg_seq: 1, pg_role: primary\n        10.10.10.12: {}\n",
    );
    assert!(e.starts_with("pigsty.yml:6:20: invalid YAML: "), "{e}");
    assert!(e.contains("flow mapping"), "{e}");
    let e = error("all:\n\tchildren: {}\n");
    assert!(e.starts_with("pigsty.yml:2:2: invalid YAML: "), "{e}");
    assert!(e.contains("tab"), "{e}");
    let e = error("all:\n  vars: { a: *nope }\n");
    assert!(e.starts_with("pigsty.yml:2:14: invalid YAML: "), "{e}");
    assert!(e.contains("anchor"), "{e}");
}

#[test]
fn error_missing_all() {
    let e = error("children:\n  pg-test: {}\n");
    assert_eq!(
        e,
        "pigsty.yml:1:1: no top-level 'all' group; expected an Ansible YAML inventory \
         starting with 'all:' (holding 'children' groups and 'vars')"
    );
    assert!(error("").starts_with("pigsty.yml:1:1: no top-level 'all' group"));
    let e = error("- all\n");
    assert!(
        e.starts_with("pigsty.yml:1:1: the inventory is a list; expected a mapping"),
        "{e}"
    );
    let e = error("all: 5\n");
    assert_eq!(
        e,
        "pigsty.yml:1:6: 'all' is an integer; expected a mapping with 'children', 'hosts' and 'vars'"
    );
}

const PG_TEST: &str = "all:\n  children:\n    pg-test:\n      hosts:\n";

#[test]
fn error_pg_seq_not_an_integer() {
    let e = error(&format!(
        "{PG_TEST}        10.10.10.11: {{ pg_seq: one, pg_role: primary }}\n      vars: {{ pg_cluster: pg-test }}\n"
    ));
    assert_eq!(
        e,
        "pigsty.yml:5:32: pg-test: host 10.10.10.11 has pg_seq 'one'; expected a non-negative integer"
    );
    let e = error(&format!(
        "{PG_TEST}        10.10.10.11: {{ pg_seq: 1.5, pg_role: primary }}\n      vars: {{ pg_cluster: pg-test }}\n"
    ));
    assert!(
        e.starts_with("pigsty.yml:5:32: pg-test: host 10.10.10.11 has pg_seq '1.5'"),
        "{e}"
    );
}

#[test]
fn error_missing_pg_seq_or_pg_role() {
    let e = error(&format!(
        "{PG_TEST}        10.10.10.11: {{ pg_role: primary }}\n      vars: {{ pg_cluster: pg-test }}\n"
    ));
    assert_eq!(
        e,
        "pigsty.yml:5:9: pg-test: host 10.10.10.11 has no pg_seq; expected a non-negative integer \
         (the instance number, unique in the cluster)"
    );
    let e = error(&format!(
        "{PG_TEST}        10.10.10.11: {{ pg_seq: 1 }}\n      vars: {{ pg_cluster: pg-test }}\n"
    ));
    assert_eq!(
        e,
        "pigsty.yml:5:9: pg-test: host 10.10.10.11 has no pg_role; expected primary|replica|offline|delayed|standby"
    );
}

#[test]
fn error_bad_pg_role() {
    let e = error(&format!(
        "{PG_TEST}        10.10.10.11: {{ pg_seq: 1, pg_role: primary }}\n        10.10.10.13: {{ pg_seq: 3, pg_role: primay }}\n      vars: {{ pg_cluster: pg-test }}\n"
    ));
    assert_eq!(
        e,
        "pigsty.yml:6:44: pg-test: host 10.10.10.13 has pg_role 'primay'; expected primary|replica|offline|delayed|standby"
    );
}

#[test]
fn error_bad_ports_everywhere_reported_together() {
    let e = error(&format!(
        "{PG_TEST}        10.10.10.11: {{ pg_seq: 1, pg_role: primary, ansible_port: ssh }}\n      vars:\n        pg_cluster: pg-test\n        pg_port: 70000\n  vars:\n    patroni_port: 0\n"
    ));
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(
        lines,
        [
            "pigsty.yml:5:67: pg-test: host 10.10.10.11 has ansible_port 'ssh'; expected a port number (1-65535)",
            "pigsty.yml:8:18: pg-test: group vars have pg_port '70000'; expected a port number (1-65535)",
            "pigsty.yml:10:19: all.vars has patroni_port '0'; expected a port number (1-65535)",
        ]
    );
}

#[test]
fn error_bad_infra_ports() {
    let e = error(
        "all:\n  children:\n    infra: { hosts: { 10.0.0.1: { infra_seq: 1 } } }\n  vars:\n    version: v3.7.0\n    prometheus_port: '9o90'\n    etcd_port: -1\n",
    );
    assert!(
        e.contains(
            "pigsty.yml:6:22: all.vars has prometheus_port '9o90'; expected a port number (1-65535)"
        ),
        "{e}"
    );
}

#[test]
fn error_pg_cluster_value_type() {
    let e = error(&format!(
        "{PG_TEST}        10.10.10.11: {{ pg_seq: 1, pg_role: primary }}\n      vars:\n        pg_cluster:\n    pg-x:\n      vars: {{ pg_cluster: [a, b] }}\n"
    ));
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(
        lines,
        [
            "pigsty.yml:7:19: pg-test: pg_cluster is empty; expected the cluster name (a string such as 'pg-test')",
            "pigsty.yml:9:27: pg-x: pg_cluster is a list; expected the cluster name (a string such as 'pg-test')",
        ]
    );
}

#[test]
fn error_bad_service_definitions() {
    let e = error(&format!(
        "{PG_TEST}        10.10.10.11: {{ pg_seq: 1, pg_role: primary }}\n      vars:\n        pg_cluster: pg-test\n        pg_services:\n          - {{ name: standby, port: 99999 }}\n          - {{ port: 5440 }}\n          - just-a-string\n          - {{ name: nop }}\n"
    ));
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(
        lines,
        [
            "pigsty.yml:9:36: pg-test: service 'standby' has port '99999'; expected a port number (1-65535)",
            "pigsty.yml:10:13: pg-test: a service in pg_services has no name; expected 'name: <service>'",
            "pigsty.yml:11:13: pg-test: an entry of pg_services is a string; expected a service definition (a mapping with name and port)",
            "pigsty.yml:12:13: pg-test: service 'nop' in pg_services has no port; expected a port number (1-65535)",
        ]
    );
    // v1 names the port src_port
    let e = error(
        "all:\n  children:\n    meta: { hosts: { 10.0.0.1: {} }, vars: { meta_node: true } }\n    pg-v1:\n      hosts: { 10.0.0.1: { pg_seq: 1, pg_role: primary } }\n      vars:\n        pg_cluster: pg-v1\n        pg_services_extra: [ { name: standby, src_port: http } ]\n",
    );
    assert_eq!(
        e,
        "pigsty.yml:8:57: pg-v1: service 'standby' has src_port 'http'; expected a port number (1-65535)"
    );
}

#[test]
fn error_structure() {
    let e = error(&format!(
        "{PG_TEST}        - 10.10.10.11\n      vars: {{ pg_cluster: pg-test }}\n"
    ));
    assert!(
        e.starts_with(
            "pigsty.yml:5:9: 'hosts' of group 'pg-test' is a list; expected a mapping of hosts"
        ),
        "{e}"
    );
    let e = error(&format!(
        "{PG_TEST}        10.10.10.11: primary\n      vars: {{ pg_cluster: pg-test }}\n"
    ));
    // one error, no follow-up about the missing pg_seq / pg_role
    assert_eq!(
        e,
        "pigsty.yml:5:22: host 10.10.10.11 in group 'pg-test' has a string as its value; \
         expected host variables (a mapping such as '{ pg_seq: 1, pg_role: primary }') or nothing"
    );
    let e = error("all:\n  vars: [ a ]\n");
    assert!(
        e.starts_with("pigsty.yml:2:9: 'vars' of group 'all' is a list"),
        "{e}"
    );
    let e = error("all:\n  vars:\n    version: [3]\n");
    assert_eq!(
        e,
        "pigsty.yml:3:14: all.vars has version set to a list; expected a Pigsty version string such as 'v3.6.1'"
    );
    let e = error("all: {}\n---\nall: {}\n");
    assert!(
        e.starts_with("pigsty.yml:2:1: invalid YAML: a second YAML document"),
        "{e}"
    );
}

#[test]
fn error_in_an_anchor_points_at_its_definition() {
    let e = error(
        "x-bad: &bad\n  pg_seq: first\nall:\n  children:\n    pg-test:\n      hosts:\n        10.10.10.11: { <<: *bad, pg_role: primary }\n      vars: { pg_cluster: pg-test }\n",
    );
    assert_eq!(
        e,
        "pigsty.yml:2:11: pg-test: host 10.10.10.11 has pg_seq 'first'; expected a non-negative integer (used at line 7)"
    );
}

#[test]
fn error_bad_flags_and_dcs() {
    let e = error(&format!(
        "{PG_TEST}        10.10.10.11: {{ pg_seq: 1, pg_role: primary, pg_offline_query: maybe }}\n      vars: {{ pg_cluster: pg-test }}\n"
    ));
    assert_eq!(
        e,
        "pigsty.yml:5:71: pg-test: host 10.10.10.11 has pg_offline_query 'maybe'; expected true or false"
    );
    let e = error(
        "all:\n  children:\n    meta: { hosts: { 10.10.10.10: {} }, vars: { meta_node: true } }\n  vars:\n    pg_dcs_type: 5\n    dcs_servers: { meta-1: [1] }\n",
    );
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(
        lines,
        [
            "pigsty.yml:5:18: all.vars has pg_dcs_type '5'; expected consul or etcd",
            "pigsty.yml:6:28: dcs_servers entry 'meta-1' is a list; expected an IP address (dcs_servers maps names to IPs, e.g. 'meta-1: 10.10.10.10')",
        ]
    );
}

#[test]
fn error_type_is_a_std_error_with_diagnostics() {
    let err = inventory::parse(
        &format!("{PG_TEST}        10.10.10.13: {{ pg_seq: 3, pg_role: primay }}\n      vars: {{ pg_cluster: pg-test }}\n"),
        Path::new("/etc/pigsty/pigsty.yml"),
    )
    .unwrap_err();
    let d = &err.diagnostics()[0];
    assert_eq!((d.line, d.column), (Some(5), Some(44)));
    assert_eq!(d.file, Path::new("/etc/pigsty/pigsty.yml"));
    let as_error: &dyn std::error::Error = &err;
    assert!(
        as_error
            .to_string()
            .starts_with("/etc/pigsty/pigsty.yml:5:44: ")
    );
    // load() reports unreadable files
    let missing = inventory::load(Path::new("/nonexistent/pigsty.yml")).unwrap_err();
    assert!(matches!(missing, InventoryError::Io { .. }));
    assert!(
        missing.to_string().contains("/nonexistent/pigsty.yml"),
        "{missing}"
    );
    assert!(as_error.source().is_none());
}

/// Truncated and mangled inventories give located errors (or load), never a
/// panic.
#[test]
fn never_panics_on_truncated_or_mangled_input() {
    let check = |text: &str, what: &str| {
        if let Err(e) = inventory::parse(text, Path::new("m.yml")) {
            for d in e.diagnostics() {
                assert!(d.line.is_some() && d.column.is_some(), "{what}: {d}");
            }
            assert!(!e.to_string().is_empty());
        }
    };
    for name in ["v1.yml", "v3.yml", "warnings.yml"] {
        let text = std::fs::read_to_string(fixture(name)).unwrap();
        for (i, _) in text.char_indices().step_by(11) {
            check(&text[..i], &format!("{name} cut at {i}"));
        }
        let lines: Vec<&str> = text.lines().collect();
        for n in 0..lines.len() {
            for junk in [
                "[", "{", " *x", " &a", "- x", ": :", "\t", " !!int x", " <<: 1",
            ] {
                let mut mangled = lines.clone();
                let line = format!("{}{junk}", lines[n]);
                mangled[n] = &line;
                check(&mangled.join("\n"), &format!("{name} line {n} + {junk:?}"));
            }
        }
    }
}

// ---------------------------------------------------------- warnings --

#[test]
fn warnings_not_errors() {
    let d = load("warnings.yml");
    let w: Vec<String> = d.warnings.iter().map(|w| w.to_string()).collect();
    let has = |needle: &str| w.iter().any(|m| m.contains(needle));
    assert!(
        has(
            "pg-test: 2 instances are declared primary: pg-test-1 (10.10.10.11), pg-test-2 (10.10.10.12)"
        ),
        "{w:#?}"
    );
    assert!(
        has("pg-test: pg_seq 2 is used by 2 hosts: 10.10.10.12, 10.10.10.13"),
        "{w:#?}"
    );
    assert!(
        has("host 10.10.10.13 is in 2 clusters: pg-test, pg-other"),
        "{w:#?}"
    );
    assert!(
        has("duplicate key 'pg_cluster' at line 16 (first at line 15)"),
        "{w:#?}"
    );
    assert!(has("unexpected key 'extra'"), "{w:#?}");
    assert!(has("pg-other: no instance is declared primary"), "{w:#?}");
    let primary_warning = d
        .warnings
        .iter()
        .find(|w| w.message.contains("declared primary:"))
        .unwrap();
    assert_eq!(primary_warning.scope.as_deref(), Some("pg-test"));
    // the declarations are still there
    assert_eq!(d.cluster("pg-test").unwrap().instances.len(), 3);
    assert_eq!(d.cluster("pg-other").unwrap().instances.len(), 1);
}

// --------------------------------------------------------- discovery --

#[test]
fn discovery_order_and_message() {
    let t = tempfile::tempdir().unwrap();
    let env = DiscoverEnv {
        pigsty_home: Some(t.path().join("home/custom")),
        home: Some(t.path().join("home")),
        cwd: t.path().join("work"),
    };
    let err = discover_in(None, &env).unwrap_err();
    let msg = err.to_string();
    let tried = [
        t.path().join("home/custom/pigsty.yml"),
        t.path().join("home/pigsty/pigsty.yml"),
        t.path().join("work/pigsty.yml"),
    ];
    let mut at = 0;
    for p in &tried {
        let i = msg[at..]
            .find(&p.display().to_string())
            .unwrap_or_else(|| panic!("{msg}"));
        at += i;
    }
    assert!(
        msg.contains("-i FILE") && msg.contains("PIGSTY_HOME"),
        "{msg}"
    );

    let put = |p: &Path| {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::copy(fixture("v37.yml"), p).unwrap();
    };
    put(&tried[2]);
    assert_eq!(discover_in(None, &env).unwrap(), tried[2]);
    put(&tried[1]);
    assert_eq!(discover_in(None, &env).unwrap(), tried[1]);
    put(&tried[0]);
    assert_eq!(discover_in(None, &env).unwrap(), tried[0]);
    // without PIGSTY_HOME and home, only ./pigsty.yml is tried
    let bare = DiscoverEnv {
        pigsty_home: None,
        home: None,
        cwd: t.path().join("nowhere"),
    };
    match discover_in(None, &bare).unwrap_err() {
        InventoryError::NotFound { tried } => {
            assert_eq!(tried, [t.path().join("nowhere/pigsty.yml")])
        }
        e => panic!("{e}"),
    }
    // an explicit path is returned as is, or named in the error
    let explicit = t.path().join("prod.yml");
    let err = discover_in(Some(&explicit), &env).unwrap_err();
    assert!(
        err.to_string().contains(&explicit.display().to_string()),
        "{err}"
    );
    put(&explicit);
    assert_eq!(discover_in(Some(&explicit), &env).unwrap(), explicit);
    assert_eq!(inventory::discover(Some(&explicit)).unwrap(), explicit);
}

// --------------------------------------------------- synthetic & real --

#[test]
fn generated_inventory_parses() {
    let text = generate_inventory(334, 3);
    let t = std::time::Instant::now();
    let d = inventory::parse(&text, Path::new("generated.yml")).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "note: parsed a {}-host inventory in {:?} (unoptimized builds are slower)",
        d.instance_count(),
        t.elapsed()
    );
    assert_eq!(d.instance_count(), 1002);
    assert_eq!(d.clusters.len(), 334);
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    assert_eq!(d.dcs.servers.len(), 3);
    let last = d.instance("pg-c334-3").unwrap();
    assert!(last.offline_query);
    assert_eq!(last.vars["pg_version"], 17); // merged from the shared anchor
    let ips: std::collections::HashSet<_> = d.instances().map(|i| i.ip.as_str()).collect();
    assert_eq!(ips.len(), 1002);
    // degenerate sizes
    assert_eq!(
        inventory::parse(&generate_inventory(0, 0), Path::new("g.yml"))
            .unwrap()
            .instance_count(),
        0
    );
    assert_eq!(
        inventory::parse(&generate_inventory(2, 1), Path::new("g.yml"))
            .unwrap()
            .instance_count(),
        2
    );
}

/// Pigsty's own configs, when the research copies are next to the repo
/// (`../shared/pigsty-configs`, as in CI).
#[test]
fn real_pigsty_configs_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/pigsty-configs");
    if !dir.is_dir() {
        eprintln!(
            "note: {} is absent; real-config test skipped",
            dir.display()
        );
        return;
    }
    let sandbox = || {
        vec![
            ("pg-meta".to_string(), vec!["pg-meta-1".to_string()]),
            (
                "pg-test".to_string(),
                vec!["pg-test-1".into(), "pg-test-2".into(), "pg-test-3".into()],
            ),
        ]
    };
    let single = || vec![("pg-meta".to_string(), vec!["pg-meta-1".to_string()])];
    let expected: Vec<(&str, Generation, Clusters, u16)> = vec![
        ("v1.0.0/pigsty.yml", Generation::V1, sandbox(), 9090),
        ("v1.5.1/pigsty.yml", Generation::V1, sandbox(), 9090),
        ("v2.0.0/pigsty.yml", Generation::V2, sandbox(), 9090),
        (
            "v2.0.0/files/pigsty/full.yml",
            Generation::V2,
            sandbox(),
            9090,
        ),
        ("v2.7.0/pigsty.yml", Generation::V2, sandbox(), 9090),
        ("v3.0.0/pigsty.yml", Generation::V3, single(), 9090),
        (
            "v3.0.0/conf/sandbox/full.yml",
            Generation::V3,
            sandbox(),
            9090,
        ),
        ("v3.6.1/pigsty.yml", Generation::V3, single(), 9090),
        ("v3.6.1/conf/ha/full.yml", Generation::V3, sandbox(), 9090),
        ("v3.7.0/pigsty.yml", Generation::V3, single(), 9058),
        ("v3.7.0/conf/ha/full.yml", Generation::V3, sandbox(), 9058),
    ];
    let mut checked = 0;
    for (rel, generation, clusters, prometheus) in expected {
        let path = dir.join(rel);
        if !path.exists() {
            eprintln!("note: {} is absent; skipped", path.display());
            continue;
        }
        let d = inventory::load(&path).unwrap_or_else(|e| panic!("{rel}:\n{e}"));
        assert_eq!(d.generation, generation, "{rel}");
        assert_eq!(names(&d), clusters, "{rel}");
        assert!(d.warnings.is_empty(), "{rel}: {:?}", d.warnings);
        assert_eq!(d.infra.len(), 1, "{rel}");
        assert_eq!(
            d.endpoints.prometheus.as_ref().map(|e| e.port),
            Some(prometheus),
            "{rel}"
        );
        let dcs = if generation == Generation::V1 {
            DcsKind::Consul
        } else {
            DcsKind::Etcd
        };
        assert_eq!(d.dcs.kind, dcs, "{rel}");
        assert_eq!(d.dcs.servers.len(), 1, "{rel}");
        checked += 1;
    }
    // and every other inventory-looking file there loads too
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "yml")
                && !p.file_name().unwrap().to_string_lossy().contains("rules")
            {
                inventory::load(&p).unwrap_or_else(|e| panic!("{}:\n{e}", p.display()));
            }
        }
    }
    eprintln!(
        "note: checked {checked} real Pigsty configs in {}",
        dir.display()
    );
}
