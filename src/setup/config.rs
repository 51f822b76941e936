//! The `pigsty.yml` the wizard writes: Pigsty's current (v3) format, the
//! layout of its `conf/ha/full.yml` — infra, etcd and `pg-meta` on the admin
//! node, one HA cluster on the database nodes (first node primary, the
//! others replicas, the last of three or more serving offline queries).
//!
//! For the local sandbox ([`SetupInputs::sandbox`]) every host also gets
//! the variables that point it at its own directories on this machine, and
//! the global variables of the sandbox (`assets/setup/sandbox-vars.yml`,
//! those of `inventory/local.yml`).

use std::fmt::Write as _;
use std::path::Path;

use super::SetupInputs;
use crate::model::Deployment;

const SANDBOX_VARS: &str = include_str!("../../assets/setup/sandbox-vars.yml");

/// Pigsty's version the config is written for.
pub const PIGSTY_VERSION: &str = "v3.6.1";

fn sandbox_host_vars(out: &mut String, ip: &str, nodename: &str, inputs: &SetupInputs) {
    let d = format!("/tmp/pigsty-sandbox/{ip}");
    let _ = writeln!(out, "          nodename: {nodename}");
    let _ = writeln!(out, "          ansible_host: {ip}");
    let _ = writeln!(out, "          ansible_port: {}", inputs.ssh_port);
    let _ = writeln!(out, "          ansible_user: {}", inputs.ssh_user);
    if let Some(k) = inputs.ssh_key.as_deref().filter(|k| !k.is_empty()) {
        let _ = writeln!(out, "          ansible_ssh_private_key_file: {k}");
    }
    for (k, v) in [
        ("pg_fs_main", format!("{d}/data")),
        ("pg_fs_bkup", "/tmp/pigsty-sandbox/backups".to_string()),
        ("pg_data", format!("{d}/pg/data")),
        ("pg_localhost", format!("{d}/run/postgresql")),
        ("pg_log_dir", format!("{d}/pg/log/postgres")),
        ("patroni_log_dir", format!("{d}/pg/log/patroni")),
        ("pgbouncer_log_dir", format!("{d}/pg/log/pgbouncer")),
        ("pgbackrest_log_dir", format!("{d}/pg/log/pgbackrest")),
        ("patronictl_config", format!("{d}/pg/bin/patroni.yml")),
        (
            "pgbackrest_config",
            format!("{d}/etc/pgbackrest/pgbackrest.conf"),
        ),
    ] {
        let _ = writeln!(out, "          {k}: {v}");
    }
}

/// The config text for `inputs`.
pub fn generate(inputs: &SetupInputs) -> String {
    let admin = &inputs.admin_ip;
    let sb = inputs.sandbox;
    let mut o = String::new();
    let _ = writeln!(o, "---");
    let _ = writeln!(
        o,
        "#==============================================================#"
    );
    let _ = writeln!(
        o,
        "# File      :   pigsty.yml (written by pigsty-tui setup)"
    );
    let _ = writeln!(
        o,
        "# Desc      :   {} HA cluster on {}, infra on {admin}",
        inputs.cluster,
        inputs.nodes.join(", ")
    );
    let _ = writeln!(
        o,
        "# Layout    :   Pigsty {PIGSTY_VERSION} format, like conf/ha/full.yml{}",
        if sb { " (local loopback sandbox)" } else { "" }
    );
    let _ = writeln!(
        o,
        "#==============================================================#"
    );
    let _ = writeln!(o, "all:");
    let _ = writeln!(o, "  children:");
    let _ = writeln!(o);
    let _ = writeln!(o, "    # infra: prometheus, alertmanager (grafana, nginx…)");
    let _ = writeln!(o, "    infra:");
    let _ = writeln!(o, "      hosts:");
    let _ = writeln!(o, "        {admin}: {{ infra_seq: 1 }}");
    if sb {
        let _ = writeln!(o, "      vars:");
        for k in [
            "nginx_enabled",
            "grafana_enabled",
            "loki_enabled",
            "dns_enabled",
            "blackbox_enabled",
            "pushgateway_enabled",
            "docker_enabled",
        ] {
            let _ = writeln!(o, "        {k}: false");
        }
        let _ = writeln!(
            o,
            "        prometheus_data: /tmp/pigsty-sandbox/{admin}/data/prometheus"
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "    # etcd: the DCS of Patroni");
    let _ = writeln!(o, "    etcd:");
    let _ = writeln!(o, "      hosts:");
    if sb {
        let _ = writeln!(
            o,
            "        {admin}: {{ etcd_seq: 1, etcd_data: /tmp/pigsty-sandbox/{admin}/data/etcd }}"
        );
    } else {
        let _ = writeln!(o, "        {admin}: {{ etcd_seq: 1 }}");
    }
    let _ = writeln!(o, "      vars:");
    let _ = writeln!(o, "        etcd_cluster: etcd");
    let _ = writeln!(o);
    let _ = writeln!(o, "    # pg-meta: the admin node's own database");
    let _ = writeln!(o, "    pg-meta:");
    let _ = writeln!(o, "      hosts:");
    let _ = writeln!(o, "        {admin}:");
    let _ = writeln!(o, "          pg_seq: 1");
    let _ = writeln!(o, "          pg_role: primary");
    if sb {
        sandbox_host_vars(&mut o, admin, "meta", inputs);
    }
    let _ = writeln!(o, "      vars:");
    let _ = writeln!(o, "        pg_cluster: pg-meta");
    let _ = writeln!(o, "        pg_users:");
    let _ = writeln!(
        o,
        "          - {{ name: dbuser_meta ,password: DBUser.Meta ,pgbouncer: true ,roles: [ dbrole_admin ] ,comment: pigsty admin user }}"
    );
    let _ = writeln!(
        o,
        "          - {{ name: dbuser_view ,password: DBUser.Viewer ,pgbouncer: true ,roles: [ dbrole_readonly ] ,comment: read-only viewer }}"
    );
    let _ = writeln!(o, "        pg_databases:");
    let _ = writeln!(
        o,
        "          - {{ name: meta ,comment: pigsty meta database }}"
    );
    if sb {
        let _ = writeln!(o, "        pgbackrest_repo:");
        let _ = writeln!(
            o,
            "          local: {{ path: /tmp/pigsty-sandbox/backups/postgres/pg-meta-15/backup ,retention_full_type: count ,retention_full: 2 }}"
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "    # {}: {} node HA cluster",
        inputs.cluster,
        inputs.nodes.len()
    );
    let _ = writeln!(o, "    {}:", inputs.cluster);
    let _ = writeln!(o, "      hosts:");
    let n = inputs.nodes.len();
    for (i, ip) in inputs.nodes.iter().enumerate() {
        let _ = writeln!(o, "        {ip}:");
        let _ = writeln!(o, "          pg_seq: {}", i + 1);
        let _ = writeln!(
            o,
            "          pg_role: {}",
            if i == 0 { "primary" } else { "replica" }
        );
        if n >= 3 && i == n - 1 {
            let _ = writeln!(o, "          pg_offline_query: true");
        }
        if sb {
            sandbox_host_vars(&mut o, ip, &format!("node-{}", i + 1), inputs);
        }
    }
    let _ = writeln!(o, "      vars:");
    let _ = writeln!(o, "        pg_cluster: {}", inputs.cluster);
    let _ = writeln!(
        o,
        "        pg_users:  [{{ name: test , password: test , pgbouncer: true , roles: [ dbrole_admin ] }}]"
    );
    let _ = writeln!(o, "        pg_databases: [{{ name: test }}]");
    if sb {
        let _ = writeln!(o, "        pgbackrest_repo:");
        let _ = writeln!(
            o,
            "          local: {{ path: /tmp/pigsty-sandbox/backups/postgres/{}-15/backup ,retention_full_type: count ,retention_full: 2 }}",
            inputs.cluster
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "  #==============================================================#"
    );
    let _ = writeln!(o, "  # Global Parameters");
    let _ = writeln!(
        o,
        "  #==============================================================#"
    );
    if sb {
        o.push_str(&SANDBOX_VARS.replace("{{admin_ip}}", admin));
    } else {
        let _ = writeln!(o, "  vars:");
        let _ = writeln!(o, "    version: {PIGSTY_VERSION}");
        let _ = writeln!(o, "    admin_ip: {admin}");
        let _ = writeln!(o, "    region: default");
        let _ = writeln!(o, "    node_tune: oltp");
        let _ = writeln!(o, "    pg_conf: oltp.yml");
        let _ = writeln!(o, "    node_admin_username: {}", inputs.ssh_user);
        let _ = writeln!(o, "    ansible_user: {}", inputs.ssh_user);
        if inputs.ssh_port != 22 {
            let _ = writeln!(o, "    ansible_port: {}", inputs.ssh_port);
        }
        if let Some(k) = inputs.ssh_key.as_deref().filter(|k| !k.is_empty()) {
            let _ = writeln!(o, "    ansible_ssh_private_key_file: {k}");
        }
        if inputs.pigsty_home != "~/pigsty" {
            let _ = writeln!(o, "    pigsty_home: {}", inputs.pigsty_home);
        }
        let _ = writeln!(o, "    infra_portal:");
        let _ = writeln!(o, "      home         : {{ domain: h.pigsty }}");
        let _ = writeln!(
            o,
            "      grafana      : {{ domain: g.pigsty ,endpoint: \"${{admin_ip}}:3000\" , websocket: true }}"
        );
        let _ = writeln!(
            o,
            "      prometheus   : {{ domain: p.pigsty ,endpoint: \"${{admin_ip}}:9090\" }}"
        );
        let _ = writeln!(
            o,
            "      alertmanager : {{ domain: a.pigsty ,endpoint: \"${{admin_ip}}:9093\" }}"
        );
        let _ = writeln!(o, "    pg_version: 17");
    }
    o
}

/// Check `text` with the inventory loader (as pigsty-tui will read it):
/// the deployment, or the loader's error with line and column.
pub fn validate(text: &str, path: &Path) -> Result<Deployment, String> {
    let d = crate::inventory::parse(text, path).map_err(|e| e.to_string())?;
    if d.clusters.is_empty() {
        return Err(format!(
            "{}: no PostgreSQL cluster is declared",
            path.display()
        ));
    }
    if d.infra.is_empty() {
        return Err(format!(
            "{}: no infra node is declared (the admin node runs the playbooks)",
            path.display()
        ));
    }
    Ok(d)
}

/// Save `text` at `path`, keeping a previous file as `<path>.bak`.
pub fn save(text: &str, path: &Path) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    if path.exists() {
        let bak = path.with_extension("yml.bak");
        std::fs::copy(path, &bak).map_err(|e| format!("{}: {e}", bak.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DcsKind;

    #[test]
    fn generic_config_loads_with_the_declared_layout() {
        let inputs = SetupInputs {
            admin_ip: "10.10.10.10".into(),
            nodes: vec![
                "10.10.10.11".into(),
                "10.10.10.12".into(),
                "10.10.10.13".into(),
            ],
            ssh_key: Some("~/.ssh/id_ed25519".into()),
            ..SetupInputs::default()
        };
        let text = generate(&inputs);
        let d = validate(&text, Path::new("pigsty.yml")).unwrap();
        assert_eq!(d.dcs.kind, DcsKind::Etcd);
        assert_eq!(d.infra.len(), 1);
        assert_eq!(d.infra[0].ip, "10.10.10.10");
        let test = d.cluster("pg-test").unwrap();
        let roles: Vec<&str> = test.instances.iter().map(|i| i.role.as_str()).collect();
        assert_eq!(roles, vec!["primary", "replica", "replica"]);
        assert!(test.instances[2].offline_query);
        assert_eq!(test.instances[0].ssh.user.as_deref(), Some("dba"));
        assert!(d.cluster("pg-meta").is_some());
    }

    /// The sandbox profile describes the same deployment as
    /// inventory/local.yml (the one `sandbox up` provisions).
    #[test]
    fn sandbox_config_matches_the_local_inventory() {
        let text = generate(&SetupInputs::sandbox());
        let ours = validate(&text, Path::new("pigsty.yml")).unwrap();
        let local = crate::inventory::load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/inventory/local.yml"
        )))
        .unwrap();
        assert_eq!(ours.generation, local.generation);
        assert_eq!(ours.dcs, local.dcs);
        assert_eq!(ours.endpoints, local.endpoints);
        assert_eq!(ours.clusters.len(), local.clusters.len());
        for (a, b) in ours.clusters.iter().zip(&local.clusters) {
            assert_eq!(a.name, b.name);
            assert_eq!(a.services, b.services);
            for (x, y) in a.instances.iter().zip(&b.instances) {
                assert_eq!(
                    (&x.name, &x.ip, x.role, x.offline_query, &x.ssh),
                    (&y.name, &y.ip, y.role, y.offline_query, &y.ssh)
                );
                for (k, v) in y.vars.iter() {
                    if k == "pg_users" || k == "pg_databases" {
                        continue; // comments differ
                    }
                    assert_eq!(x.vars.get(k), Some(v), "{} var {k}", x.name);
                }
            }
        }
    }

    #[test]
    fn broken_edits_are_reported_with_their_place() {
        let text = generate(&SetupInputs::sandbox()).replace("pg_seq: 2", "pg_seq: [2");
        let e = validate(&text, Path::new("pigsty.yml")).unwrap_err();
        assert!(e.contains("pigsty.yml"), "{e}");
        assert!(e.chars().any(|c| c.is_ascii_digit()), "{e}");
    }
}
