//! A corpus of real-world inventory variants (`tests/fixtures/inventory/corpus/`,
//! written for these tests): Pigsty v1 to v4 layouts, ansible-vault values,
//! unknown keys, IPv6 hosts, DNS names instead of IPs, host ranges, anchors
//! and merge keys. Each loads into the expected clusters and instances, or
//! fails with the expected located error.

use std::path::{Path, PathBuf};

use pigsty_tui::inventory;
use pigsty_tui::model::{DcsKind, DeclaredRole, Deployment, Generation, ServiceKind, var_str};

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/inventory/corpus")
        .join(name)
}

fn load(name: &str) -> Deployment {
    inventory::load(&corpus(name)).unwrap_or_else(|e| panic!("{name}:\n{e}"))
}

/// (instance, ip, role, offline_query) of every instance, per cluster.
type Members = Vec<(String, Vec<(String, String, DeclaredRole, bool)>)>;

fn members(d: &Deployment) -> Members {
    d.clusters
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                c.instances
                    .iter()
                    .map(|i| (i.name.clone(), i.ip.clone(), i.role, i.offline_query))
                    .collect(),
            )
        })
        .collect()
}

fn m(
    cluster: &str,
    list: &[(&str, &str, DeclaredRole, bool)],
) -> (String, Vec<(String, String, DeclaredRole, bool)>) {
    (
        cluster.to_string(),
        list.iter()
            .map(|(n, ip, r, o)| (n.to_string(), ip.to_string(), *r, *o))
            .collect(),
    )
}

fn infra(d: &Deployment) -> Vec<(&str, &str)> {
    d.infra
        .iter()
        .map(|n| (n.ip.as_str(), n.ssh.host.as_str()))
        .collect()
}

fn dcs(d: &Deployment) -> Vec<(&str, &str, u16)> {
    d.dcs
        .servers
        .iter()
        .map(|s| (s.name.as_str(), s.ip.as_str(), s.port))
        .collect()
}

fn warnings(d: &Deployment) -> Vec<String> {
    d.warnings.iter().map(|w| w.to_string()).collect()
}

use DeclaredRole::{Delayed, Offline, Primary, Replica};

#[test]
fn v1_consul_with_vault_values_and_unknown_keys() {
    let d = load("v1-consul-vault.yml");
    assert_eq!(d.generation, Generation::V1);
    assert_eq!(d.version.as_deref(), Some("v1.5.1"));
    assert_eq!(d.dcs.kind, DcsKind::Consul);
    assert_eq!(d.dcs.namespace, "/service");
    assert_eq!(
        dcs(&d),
        [
            ("meta-1", "10.20.0.10", 8500),
            ("meta-2", "10.20.0.11", 8500),
            ("meta-3", "10.20.0.12", 8500)
        ]
    );
    // Meta nodes keep their IP; SSH goes to ansible_host.
    assert_eq!(
        infra(&d),
        [
            ("10.20.0.10", "meta-a.dc1.example.net"),
            ("10.20.0.11", "meta-b.dc1.example.net"),
            ("10.20.0.12", "meta-c.dc1.example.net")
        ]
    );
    assert_eq!(
        members(&d),
        [
            m(
                "pg-meta",
                &[
                    ("pg-meta-1", "10.20.0.10", Primary, false),
                    ("pg-meta-2", "10.20.0.11", Replica, false)
                ]
            ),
            m(
                "pg-orders",
                &[
                    ("pg-orders-1", "10.20.1.21", Primary, false),
                    ("pg-orders-2", "10.20.1.22", Replica, false),
                    ("pg-orders-3", "10.20.1.23", Offline, true)
                ]
            ),
        ]
    );
    assert_eq!(d.instance("pg-orders-1").unwrap().vars["pg_version"], 13);
    // The vault-encrypted monitor password is not used as a credential.
    assert!(d.patroni_auth.is_none());
    // Vault values stay opaque strings in the variables.
    let users = &d.instance("pg-meta-1").unwrap().vars["pg_users"];
    assert!(
        users[0]["password"]
            .as_str()
            .unwrap()
            .starts_with("$ANSIBLE_VAULT;1.1;AES256"),
        "{users}"
    );
    let prom = d.endpoints.prometheus.as_ref().unwrap();
    assert_eq!((prom.host.as_str(), prom.port), ("10.20.0.10", 9090));
    assert!(warnings(&d).is_empty(), "{:#?}", warnings(&d));
}

#[test]
fn v2_etcd_minio_standby_and_delayed() {
    let d = load("v2-etcd-minio-standby.yml");
    assert_eq!(d.generation, Generation::V2);
    assert_eq!(d.dcs.kind, DcsKind::Etcd);
    assert_eq!(
        dcs(&d),
        [
            ("etcd-1", "10.30.0.10", 2379),
            ("etcd-2", "10.30.0.11", 2379),
            ("etcd-3", "10.30.0.12", 2379)
        ]
    );
    assert_eq!(
        infra(&d),
        [("10.30.0.10", "10.30.0.10"), ("10.30.0.11", "10.30.0.11")]
    );
    assert_eq!(
        members(&d),
        [
            m(
                "pg-src",
                &[
                    ("pg-src-1", "10.30.1.11", Primary, false),
                    ("pg-src-2", "10.30.1.12", Replica, false),
                    ("pg-src-3", "10.30.1.13", Delayed, false)
                ]
            ),
            m(
                "pg-dst",
                &[
                    ("pg-dst-1", "10.30.2.11", Primary, false),
                    ("pg-dst-2", "10.30.2.12", Replica, false)
                ]
            ),
        ]
    );
    let src3 = d.instance("pg-src-3").unwrap();
    assert_eq!(src3.upstream.as_deref(), Some("10.30.1.11"));
    let dst1 = d.instance("pg-dst-1").unwrap();
    assert_eq!(dst1.upstream.as_deref(), Some("10.30.1.11"));
    // The merged cluster defaults, with the explicit pg_cluster winning.
    assert_eq!(dst1.vars["pg_conf"], "olap.yml");
    assert_eq!(dst1.cluster, "pg-dst");
    let names: Vec<&str> = d.clusters[0]
        .services
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["primary", "replica", "default", "offline", "standby"]
    );
    assert_eq!(
        d.patroni_auth.as_ref().map(|c| c.username.as_str()),
        Some("postgres")
    );
    assert!(warnings(&d).is_empty(), "{:#?}", warnings(&d));
}

#[test]
fn v3_dns_names_instead_of_ips() {
    let d = load("v3-hostnames.yml");
    assert_eq!(d.generation, Generation::V3);
    assert_eq!(
        infra(&d),
        [("ops-1.prod.example.net", "192.0.2.10")],
        "the infra node keeps its inventory name; SSH uses ansible_host"
    );
    assert_eq!(
        dcs(&d),
        [
            ("etcd-1", "ops-1.prod.example.net", 2379),
            ("etcd-2", "dcs-2.prod.example.net", 2379),
            ("etcd-3", "dcs-3.prod.example.net", 2379)
        ]
    );
    assert_eq!(
        members(&d),
        [
            m(
                "pg-billing",
                &[
                    (
                        "pg-billing-1",
                        "pg-billing-a.prod.example.net",
                        Primary,
                        false
                    ),
                    (
                        "pg-billing-2",
                        "pg-billing-b.prod.example.net",
                        Replica,
                        false
                    )
                ]
            ),
            m(
                "pg-reports",
                &[(
                    "pg-reports-1",
                    "PG-Reports-1.prod.example.net",
                    Primary,
                    true
                )]
            ),
        ]
    );
    let b2 = d.instance("pg-billing-2").unwrap();
    assert_eq!(b2.ssh.port, Some(2222));
    assert_eq!(
        var_str(&b2.vars, "node_cluster").as_deref(),
        Some("billing")
    );
    assert!(warnings(&d).is_empty(), "{:#?}", warnings(&d));
}

#[test]
fn v3_ipv6_hosts() {
    let d = load("v3-ipv6.yml");
    assert_eq!(infra(&d), [("fd00:10::10", "fd00:10::10")]);
    assert_eq!(dcs(&d), [("etcd-1", "fd00:10::10", 2379)]);
    assert_eq!(
        members(&d),
        [
            m(
                "pg-v6",
                &[
                    ("pg-v6-1", "fd00:10::11", Primary, false),
                    ("pg-v6-2", "fd00:10::12", Replica, false),
                    (
                        "pg-v6-3",
                        "2001:0db8:0000:0000:0000:0000:0000:0013",
                        Replica,
                        false
                    )
                ]
            ),
            m(
                "pg-mixed",
                &[
                    ("pg-mixed-1", "10.40.0.21", Primary, false),
                    ("pg-mixed-2", "::ffff:10.40.0.22", Replica, false)
                ]
            ),
        ]
    );
    // Endpoints of IPv6 nodes are written with brackets.
    let prom = d.endpoints.prometheus.as_ref().unwrap();
    assert_eq!(prom.url(), "http://[fd00:10::10]:9090");
    let node = d.node("fd00:10::11").unwrap();
    assert!(
        node.services()
            .any(|s| s.kind == ServiceKind::Patroni && s.port == 8008)
    );
    assert!(warnings(&d).is_empty(), "{:#?}", warnings(&d));
}

#[test]
fn v3_host_ranges_merge_host_vars_across_groups() {
    let d = load("v3-host-ranges.yml");
    assert_eq!(
        dcs(&d),
        [
            ("etcd-1", "10.50.0.10", 2379),
            ("etcd-2", "10.50.0.11", 2379),
            ("etcd-3", "10.50.0.12", 2379)
        ]
    );
    assert_eq!(
        members(&d),
        [m(
            "pg-grid",
            &[
                ("pg-grid-1", "10.50.1.11", Primary, false),
                ("pg-grid-2", "10.50.1.12", Replica, false),
                ("pg-grid-3", "10.50.1.13", Replica, false)
            ]
        )]
    );
    assert!(warnings(&d).is_empty(), "{:#?}", warnings(&d));
}

#[test]
fn v4_victoria_with_vault_password_and_parent_group() {
    let d = load("v4-victoria.yml");
    assert_eq!(d.generation, Generation::V4);
    assert_eq!(
        members(&d),
        [m(
            "pg-core",
            &[
                ("pg-core-1", "10.60.1.11", Primary, false),
                ("pg-core-2", "10.60.1.12", Replica, false),
                ("pg-core-3", "10.60.1.13", Replica, true)
            ]
        )]
    );
    assert_eq!(dcs(&d).len(), 3);
    let core1 = d.instance("pg-core-1").unwrap();
    assert_eq!(core1.vars["pg_max_conn"], 500, "from the parent group");
    assert_eq!(core1.vars["pg_version"], 17);
    let meta = &d.infra[0];
    let names: Vec<&str> = meta.services.iter().map(|s| &*s.name).collect();
    assert!(names.contains(&"VictoriaMetrics"), "{names:?}");
    assert!(!names.contains(&"Prometheus"), "{names:?}");
    assert!(d.patroni_auth.is_none(), "vault-encrypted password");
    assert!(warnings(&d).is_empty(), "{:#?}", warnings(&d));
}

#[test]
fn anchors_and_merge_keys() {
    let d = load("anchors-merge.yml");
    assert_eq!(
        members(&d),
        [
            m(
                "pg-small",
                &[
                    ("pg-small-1", "10.70.1.11", Primary, false),
                    ("pg-small-2", "10.70.1.12", Replica, false)
                ]
            ),
            m(
                "pg-large",
                &[
                    ("pg-large-1", "10.70.2.11", Primary, false),
                    ("pg-large-2", "10.70.2.12", Replica, false),
                    ("pg-large-3", "10.70.2.13", Replica, false)
                ]
            ),
        ]
    );
    let small = d.instance("pg-small-1").unwrap();
    assert_eq!(small.vars["pg_conf"], "tiny.yml");
    assert_eq!(small.ssh.user.as_deref(), Some("dba"));
    assert_eq!(small.ssh.port, Some(22));
    let large2 = d.instance("pg-large-2").unwrap();
    assert_eq!(large2.vars["pg_conf"], "oltp.yml", "earlier merge wins");
    assert_eq!(large2.vars["pg_max_conn"], 2000, "explicit key wins");
    let large3 = d.instance("pg-large-3").unwrap();
    assert_eq!(large3.ssh.port, Some(2200));
    assert_eq!(large3.vars["pg_version"], 16);
    assert!(warnings(&d).is_empty(), "{:#?}", warnings(&d));
}

/// (file, line, column, words the message must contain)
const ERRORS: &[(&str, u32, u32, &[&str])] = &[
    (
        "err-bad-role.yml",
        10,
        43,
        &["pg-test", "10.80.1.12", "'repilca'", "primary|replica"],
    ),
    (
        "err-vault-seq.yml",
        12,
        13,
        &[
            "pg_seq",
            "encrypted with ansible-vault",
            "non-negative integer",
        ],
    ),
    (
        "err-bad-range.yml",
        7,
        9,
        &["10.80.2.[19:11]", "range", "10.10.10.[11:13]"],
    ),
    // The YAML reader stops just after the tab.
    ("err-tab-indent.yml", 6, 2, &["invalid YAML", "tab"]),
    (
        "err-undefined-alias.yml",
        6,
        27,
        &["invalid YAML", "anchor"],
    ),
];

#[test]
fn broken_inventories_fail_at_the_right_place() {
    for (name, line, column, words) in ERRORS {
        let e = inventory::load(&corpus(name)).expect_err(name);
        let diags = e.diagnostics();
        assert_eq!(diags.len(), 1, "{name}: {e}");
        let d = &diags[0];
        let text = d.to_string();
        assert_eq!(
            (d.line, d.column),
            (Some(*line), Some(*column)),
            "{name}: {text}"
        );
        assert!(
            text.starts_with(&format!("{}:{line}:{column}: ", corpus(name).display())),
            "{text}"
        );
        for w in *words {
            assert!(text.contains(w), "{name}: {text:?} lacks {w:?}");
        }
        assert!(!text.contains('\n'), "{name}: one line: {text:?}");
        assert!(!text.contains("$ANSIBLE_VAULT"), "{name}: {text}");
    }
}

/// Every file of the corpus is covered by a test above.
#[test]
fn corpus_is_complete() {
    let mut files: Vec<String> = std::fs::read_dir(corpus(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut known: Vec<String> = [
        "v1-consul-vault.yml",
        "v2-etcd-minio-standby.yml",
        "v3-hostnames.yml",
        "v3-ipv6.yml",
        "v3-host-ranges.yml",
        "v4-victoria.yml",
        "anchors-merge.yml",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(ERRORS.iter().map(|e| e.0.to_string()))
    .collect();
    known.sort();
    assert_eq!(files, known);
}

/// An IPv6 deployment is polled at bracketed URLs: every source fails with
/// a connection error naming `[::1]:port` (nothing listens on the IPv6
/// loopback here), never with a malformed URL. (Loopback only.)
#[tokio::test]
async fn ipv6_endpoints_are_polled_at_bracketed_addresses() {
    use pigsty_tui::sources::{SourcesConfig, poll_once};
    let text = "all:\n  children:\n\
        \x20   infra: { hosts: { '::1': { infra_seq: 1 } } }\n\
        \x20   etcd: { hosts: { '::1': { etcd_seq: 1 } }, vars: { etcd_cluster: etcd } }\n\
        \x20   pg-v6: { hosts: { '::1': { pg_seq: 1, pg_role: primary } }, vars: { pg_cluster: pg-v6 } }\n\
        \x20 vars: { version: v3.6.1, admin_ip: '::1' }\n";
    let d = inventory::parse(text, Path::new("v6.yml")).unwrap_or_else(|e| panic!("{e}"));
    let cfg = SourcesConfig {
        request_timeout: std::time::Duration::from_millis(800),
        connect_timeout: std::time::Duration::from_millis(400),
        ..SourcesConfig::default()
    };
    let snap = poll_once(std::sync::Arc::new(d), cfg).await;
    let names: Vec<&str> = snap.sources.iter().map(|s| &*s.name).collect();
    for want in [
        "patroni [::1]:8008",
        "etcd [::1]:2379",
        "prometheus http://[::1]:9090",
        "haproxy [::1]:9101",
    ] {
        let s = snap
            .source(want)
            .unwrap_or_else(|| panic!("no source {want} in {names:?}"));
        assert!(!s.ok, "{want}");
        let e = s.last_error.as_deref().expect("an error");
        assert!(
            [
                "connection refused",
                "timed out",
                "unreachable",
                "not available"
            ]
            .iter()
            .any(|w| e.contains(w)),
            "{want}: {e}"
        );
        assert!(!e.contains("URL") && !e.contains("builder"), "{want}: {e}");
    }
}
